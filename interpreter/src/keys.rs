//! The cache key of every step of a checked program, computed in
//! topological order from its op, arguments, inputs' keys and the digests
//! of the files it reads (see [`crate::key_parts`] for what enters a key).

use crate::diag::{Code, Diagnostic};
use crate::digest::DigestCache;
use crate::key_parts::{canonical_args, key_args, port_key, KeyParts};
use crate::program::Checked;
use crate::registry::Registry;
use crate::value::StepRef;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// Computes every step's key parts in topological order. File digests are
/// computed in parallel; errors (a missing file) name the step.
pub fn compute(
    checked: &Checked,
    reg: &Registry,
    workspace: &Path,
    digests: &DigestCache,
    device: &str,
) -> Result<Vec<KeyParts>, Vec<Diagnostic>> {
    let (parts, errors) = compute_partial(checked, reg, workspace, digests, device);
    if !errors.is_empty() {
        return Err(errors.into_iter().map(|(_, d)| d).collect());
    }
    Ok(parts.into_iter().map(|p| p.unwrap_or_default()).collect())
}

/// Like [`compute`], but a step whose files cannot be read (data not on this
/// machine) gets `None`, as does everything downstream of it; the other
/// steps get their keys. `lotto plan` uses this to plan a paper-scale recipe
/// on a machine without the corpora.
pub fn compute_partial(
    checked: &Checked,
    reg: &Registry,
    workspace: &Path,
    digests: &DigestCache,
    device: &str,
) -> (Vec<Option<KeyParts>>, Vec<(usize, Diagnostic)>) {
    let order = crate::graph::topo_order(&checked.steps);
    // Reads first, in parallel: they are the only I/O.
    let reads: Vec<Result<BTreeMap<String, String>, Diagnostic>> = checked
        .steps
        .par_iter()
        .map(|s| {
            let op = reg.get(s.op).expect("checked op exists");
            let files = op.reads(&s.args, workspace).map_err(|e| {
                Diagnostic::new(Code::Io, s.span, format!("step `{}`: {e}", s.name))
                    .label("this step")
                    .help(if crate::paths::is_confined() {
                        "this bundle may not carry its data: map each data path to where it is here with --data NAME=PATH (lotto-bundle.yaml lists them)"
                    } else {
                        "fix the path in the recipe, or restore the file"
                    })
            })?;
            files
                .par_iter()
                .map(|(full, name)| {
                    crate::paths::check_read(full).map_err(|e| {
                        Diagnostic::new(Code::UnsafePath, s.span, format!("step `{}` reads {e}", s.name))
                            .label("this step reads it")
                            .help("map the data with --data NAME=PATH, or run the recipe outside a bundle if you trust it")
                    })?;
                    digests
                        .digest(full)
                        .map(|d| (name.clone(), d))
                        .map_err(|e| {
                            Diagnostic::new(
                                Code::Io,
                                s.span,
                                format!("step `{}`: cannot read `{}`: {e}", s.name, full.display()),
                            )
                            .label("this step reads it")
                            .help("restore the file or fix the path")
                        })
                })
                .collect()
        })
        .collect();
    let mut errors = vec![];
    let mut parts: Vec<Option<KeyParts>> = vec![None; checked.steps.len()];
    let mut keys: Vec<String> = vec![String::new(); checked.steps.len()];
    let mut files_of: Vec<Option<BTreeMap<String, String>>> = Vec::with_capacity(reads.len());
    for (i, r) in reads.into_iter().enumerate() {
        match r {
            Ok(f) => files_of.push(Some(f)),
            Err(d) => {
                errors.push((i, d));
                files_of.push(None);
            }
        }
    }
    for i in order {
        let s = &checked.steps[i];
        let deps = s.deps();
        // No key without its files and its inputs' keys.
        let Some(files) = files_of[i].take() else {
            continue;
        };
        if deps.iter().any(|r| parts[r.step].is_none()) {
            continue;
        }
        let sig = reg.get(s.op).unwrap().sig();
        let keyf = |r: StepRef| port_key(&keys[r.step], r.port);
        let args = canonical_args(&key_args(sig, &s.args), &keyf, reg.versions());
        let inputs = deps
            .into_iter()
            .map(|r| (checked.ref_name(r), keyf(r)))
            .collect();
        let p = KeyParts {
            op: s.op.to_string(),
            op_version: reg.version(s.op),
            args,
            inputs,
            files,
            device: sig.numeric.then(|| format!("{device}/f32")),
        };
        keys[i] = p.key();
        parts[i] = Some(p);
    }
    (parts, errors)
}
