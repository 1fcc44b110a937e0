//! Exporting models and tickets out of the store: weights and masks as
//! safetensors under their stable parameter names (PyTorch layout, loadable
//! with `safetensors.torch.load_file`), and a small YAML summary that says
//! what the tensors are.

use crate::artifacts::write_yaml;
use crate::tensor_io;
use crate::tickets::ticket::read_ticket;
use crate::training::job::load_trained;
use serde::Serialize;
use std::path::Path;

#[derive(Serialize)]
struct ParamRow {
    name: String,
    shape: Vec<usize>,
    kind: &'static str,
    /// Weights kept by the mask (all of them when the tensor has no mask).
    kept: usize,
    pruned: bool,
}

#[derive(Serialize)]
struct Summary {
    model: crate::arch::Arch,
    features: crate::features::spec::FeatureSpec,
    /// Remaining weights, % of prunable, measured from the masks.
    rw: f64,
    best_epoch: usize,
    best_dev_wer: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    round: Option<usize>,
    weights: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    masks: Option<&'static str>,
    parameters: Vec<ParamRow>,
}

/// A folder name from a step name (`lth.round(2)` → `lth.round_2_`).
pub fn folder_name(step: &str) -> String {
    step.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes the Trained artifact `dir` (or, for a ticket, every round as
/// `round_K/`) into `out`.
pub fn export(dir: &Path, objects: &Path, out: &Path) -> Result<(), String> {
    if dir.join("ticket.yaml").is_file() {
        for r in read_ticket(dir)?.rounds {
            one(
                &objects.join(&r.dir),
                &out.join(format!("round_{}", r.round)),
                Some(r.round),
            )?;
        }
        Ok(())
    } else {
        one(dir, out, None)
    }
}

fn one(dir: &Path, out: &Path, round: Option<usize>) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("`{}`: {e}", out.display()))?;
    let (info, weights, masks) = load_trained(dir)?;
    tensor_io::save(&out.join("weights.safetensors"), &weights)?;
    if let Some(m) = &masks {
        tensor_io::save(&out.join("masks.safetensors"), m)?;
    }
    let parameters = info
        .model
        .layout()
        .0
        .into_iter()
        .map(|p| {
            let mask = masks.as_ref().and_then(|m| m.get(&p.name));
            ParamRow {
                kept: mask.map_or(p.numel(), |m| m.data.iter().filter(|&&v| v != 0.0).count()),
                pruned: mask.is_some(),
                kind: p.kind.as_str(),
                shape: p.shape,
                name: p.name,
            }
        })
        .collect();
    write_yaml(
        &out.join("model.yaml"),
        &Summary {
            model: info.model,
            features: info.features,
            rw: info.rw,
            best_epoch: info.best_epoch,
            best_dev_wer: info.best_dev_wer,
            round,
            weights: "weights.safetensors",
            masks: masks.as_ref().map(|_| "masks.safetensors"),
            parameters,
        },
    )
}
