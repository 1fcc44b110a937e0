//! One pruning round at the paper's model sizes: time and peak memory
//! beyond the model (weights and masks already in memory), per model and
//! pruning kind; and, at a size the peer can afford, beside pruning by
//! sorting every unit (`pruning::reference`, the definition `prune` is
//! tested against). Goal at 132M parameters: ≤ 2 s and ≤ 1 GB per round.

use super::rss::measure;
use lotto_stdlib::pruning::prune::{prune, PruneSpec};
use lotto_stdlib::pruning::reference::prune_by_sorting;
use lotto_stdlib::pruning::select::{prunable_names, Selection};
use lotto_stdlib::rng::Rng;
use lotto_stdlib::tensor_io::{HostTensor, TensorMap};
use std::path::Path;

/// The environment variable that makes `lotto bench prune` run one case
/// (`MODEL/KIND` or `peer/KIND/WHO`) and print its figures.
const CASE: &str = "LOTTO_BENCH_PRUNE_CASE";

fn spec(rate: f64, global: bool, block: (usize, usize)) -> PruneSpec {
    PruneSpec::magnitude(rate, global, block)
}

/// The number of `arch`'s prunable weights, from its layout alone.
fn prunable(arch: &lotto_stdlib::arch::Arch) -> Result<usize, String> {
    let names = prunable_names(arch, &Selection::Paper.selectors(arch))?;
    Ok(names.iter().map(|(_, s)| s.iter().product::<usize>()).sum())
}

/// Random weights and full masks for `arch`'s prunable tensors.
fn model(arch: &lotto_stdlib::arch::Arch) -> Result<(TensorMap, TensorMap, usize), String> {
    let names = prunable_names(arch, &Selection::Paper.selectors(arch))?;
    let mut rng = Rng::new(1);
    let (mut w, mut m, mut n) = (TensorMap::new(), TensorMap::new(), 0);
    for (name, shape) in names {
        let len: usize = shape.iter().product();
        n += len;
        let data = (0..len).map(|_| rng.uniform(-0.1, 0.1)).collect();
        w.insert(
            name.clone(),
            HostTensor {
                shape: shape.clone(),
                data,
            },
        );
        m.insert(
            name,
            HostTensor {
                shape,
                data: vec![1.0; len],
            },
        );
    }
    Ok((w, m, n))
}

fn kinds() -> Vec<(&'static str, PruneSpec)> {
    vec![
        ("global", spec(0.2, true, (1, 1))),
        ("layer-wise", spec(0.2, false, (1, 1))),
        ("global 1x4 blocks", spec(0.2, true, (1, 4))),
        (
            "2:4",
            PruneSpec {
                nm: Some((2, 4)),
                ..spec(0.2, true, (1, 1))
            },
        ),
        (
            "random",
            PruneSpec {
                random: true,
                ..spec(0.2, true, (1, 1))
            },
        ),
    ]
}

/// The peer's model: a DS2 with 5 BiLSTM-512 (24.5M prunable weights),
/// a size whose per-unit objects fit in memory here.
fn peer_model() -> lotto_stdlib::arch::Arch {
    lotto_stdlib::arch::Arch::CnnLstm(lotto_stdlib::arch::CnnLstmConfig::ds2(5, 512))
}

/// Runs one case in this process and prints `seconds MiB` pairs.
fn run_case(case: &str) -> Result<(), String> {
    let parts: Vec<&str> = case.split('/').collect();
    let kinds = kinds();
    let find = |k: &str| {
        kinds
            .iter()
            .find(|(l, _)| *l == k)
            .map(|(_, s)| s.clone())
            .ok_or_else(|| format!("no pruning kind `{k}`"))
    };
    match parts.as_slice() {
        ["peer", kind, who] => {
            let s = find(kind)?;
            let (w, m, _) = model(&peer_model())?;
            let (_, t, p) = if *who == "sorting" {
                measure(|| prune_by_sorting(&w, &m, &s))
            } else {
                measure(|| prune(&w, &m, &s, &mut Rng::new(0)))
            };
            println!("{t} {p}");
        }
        [name, kind] => {
            let s = find(kind)?;
            let arch = lotto_stdlib::models::paper_models()?
                .into_iter()
                .find(|(n, _)| n == name)
                .ok_or_else(|| format!("no model `{name}`"))?
                .1;
            let (w, m, _) = model(&arch)?;
            let (first, t1, p1) = measure(|| prune(&w, &m, &s, &mut Rng::new(0)));
            // The second round starts from the first's masks.
            let (_, t2, p2) = measure(|| prune(&w, &first, &s, &mut Rng::new(1)));
            println!("{t1} {p1} {t2} {p2}");
        }
        _ => return Err(format!("bad case `{case}`")),
    }
    Ok(())
}

fn figures(exe: &Path, case: &str) -> Result<Vec<f64>, String> {
    super::case_figures(exe, "prune", CASE, case)
}

pub fn run(exe: &Path) -> Result<(), String> {
    if let Ok(case) = std::env::var(CASE) {
        return run_case(&case);
    }
    println!("One pruning round (20% of the surviving prunable weights), each case in a process of its own; memory: peak beyond the model and its masks");
    for (name, arch) in lotto_stdlib::models::paper_models()? {
        // The weights themselves are built in each case's own process.
        println!("{name}: {} prunable weights", prunable(&arch)?);
        for (label, _) in kinds() {
            let f = figures(exe, &format!("{name}/{label}"))?;
            println!(
                "  {label:<18} round 1 {:6.2} s {:6.0} MiB   round 2 {:6.2} s {:6.0} MiB",
                f[0], f[1], f[2], f[3]
            );
        }
    }
    let (w, m, n) = model(&peer_model())?;
    println!("beside pruning by sorting every unit ({n} prunable weights, DS2 with 5 BiLSTM-512):");
    for (label, s) in kinds().iter().take(3) {
        if prune(&w, &m, s, &mut Rng::new(0)) != prune_by_sorting(&w, &m, s) {
            return Err(format!("{label}: prune and the sorting reference disagree"));
        }
        let ours = figures(exe, &format!("peer/{label}/lotto"))?;
        let peer = figures(exe, &format!("peer/{label}/sorting"))?;
        println!(
            "  {label:<18} lotto {:6.2} s {:6.0} MiB   sorting {:6.2} s {:6.0} MiB   same masks",
            ours[0], ours[1], peer[0], peer[1]
        );
    }
    Ok(())
}
