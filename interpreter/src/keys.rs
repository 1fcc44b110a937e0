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
/// computed in parallel; errors (a missing file) name the step. `numerics`
/// names what numeric steps' results depend on besides the recipe (device,
/// dtype, CPU kernels: `flex/f32/portable`) and enters only their keys.
pub fn compute(
    checked: &Checked,
    reg: &Registry,
    workspace: &Path,
    digests: &DigestCache,
    numerics: &str,
) -> Result<Vec<KeyParts>, Vec<Diagnostic>> {
    let (parts, errors) = compute_partial(checked, reg, workspace, digests, numerics);
    if !errors.is_empty() {
        return Err(errors.into_iter().map(|(_, d)| d).collect());
    }
    Ok(parts.into_iter().map(|p| p.unwrap_or_default()).collect())
}

/// Every step's key parts (`None` where its files, or an input's, cannot
/// be read), with the read errors by step.
pub type PartialKeys = (Vec<Option<KeyParts>>, Vec<(usize, Diagnostic)>);

/// Whether every data path the step names (its path-typed arguments) is
/// there, so a read error is about a file inside them.
fn paths_exist(s: &crate::program::Step, reg: &Registry, workspace: &Path) -> bool {
    let sig = reg.get(s.op).expect("checked op exists").sig();
    sig.params
        .iter()
        .filter(|p| p.ty == crate::types::PType::Path)
        .filter_map(|p| s.args.get(p.name)?.as_str())
        .all(|p| crate::paths::resolve(workspace, p).exists())
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
    numerics: &str,
) -> PartialKeys {
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
                    } else if paths_exist(s, reg, workspace) {
                        "the recipe's paths are there: fix or restore what the message names inside them"
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
        let code = deps
            .iter()
            .flat_map(|r| {
                let up = &checked.steps[r.step];
                let own = (!reg.get(up.op).unwrap().sig().pass_through)
                    .then(|| format!("{}@{}", up.op, reg.version(up.op)));
                let inherited = parts[r.step].as_ref().map(|p| p.code.clone());
                own.into_iter().chain(inherited.into_iter().flatten())
            })
            .collect();
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
            device: sig.numeric.then(|| numerics.to_string()),
            named: sig.names_inputs,
            code,
        };
        keys[i] = p.key();
        parts[i] = Some(p);
    }
    (parts, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{check_source, CheckOpts};
    use crate::test_registry::registry;

    /// The key of every step of `text` checked and keyed in workspace `ws`.
    fn keys_in(ws: &Path, text: &str, device: &str) -> BTreeMap<String, String> {
        let reg = registry();
        let c = check_source("t.lotto", text, ws, &reg, &CheckOpts::default()).unwrap();
        let digests = DigestCache::open(&ws.join("digests.json"));
        let parts = compute(&c, &reg, ws, &digests, device).unwrap();
        c.steps
            .iter()
            .zip(parts)
            .map(|(s, p)| (s.name.clone(), p.key()))
            .collect()
    }

    fn workspace() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("f"), b"data").unwrap();
        t
    }

    const RECIPE: &str = "data a = source(\"f\")\ndata b = take(a, n: 2)\nmodel m = train(b)\n";

    #[test]
    fn arguments_files_and_inputs_enter_keys_and_reach_downstream() {
        let t = workspace();
        let base = keys_in(t.path(), RECIPE, "flex");
        let more = keys_in(t.path(), &RECIPE.replace("n: 2", "n: 3"), "flex");
        assert_eq!(base["a"], more["a"]);
        assert_ne!(base["b"], more["b"]);
        assert_ne!(base["m"], more["m"], "a changed input changes its readers");
        std::fs::write(t.path().join("f"), b"other data").unwrap();
        let edited = keys_in(t.path(), RECIPE, "flex");
        assert_ne!(base["a"], edited["a"], "the file's digest is in the key");
        assert_ne!(base["m"], edited["m"]);
    }

    #[test]
    fn names_order_defaults_and_the_workspace_path_stay_out() {
        let t = workspace();
        let base = keys_in(t.path(), RECIPE, "flex");
        // Another workspace folder, other binding names, arguments in
        // another order, a default written out, an additive parameter at
        // its default: the same keys.
        let u = workspace();
        let same = keys_in(
            u.path(),
            "data x = source(\"f\")\ndata y = take(n: 2, data: x, hop: 10ms)\nmodel z = train(y, epochs: 3, extra: 0)\n",
            "flex",
        );
        let vals = |m: &BTreeMap<String, String>| -> Vec<String> {
            let mut v: Vec<String> = m.values().cloned().collect();
            v.sort();
            v
        };
        assert_eq!(vals(&base), vals(&same));
        // The additive parameter counts once it leaves its default.
        let extra = keys_in(
            t.path(),
            &RECIPE.replace("train(b)", "train(b, extra: 1)"),
            "flex",
        );
        assert_ne!(base["m"], extra["m"]);
    }

    #[test]
    fn the_device_enters_only_numeric_keys() {
        let t = workspace();
        let (flex, vulkan) = (
            keys_in(t.path(), RECIPE, "flex"),
            keys_in(t.path(), RECIPE, "vulkan"),
        );
        assert_eq!(flex["b"], vulkan["b"]);
        assert_ne!(flex["m"], vulkan["m"], "`train` is numeric");
        let mut reg = registry();
        reg.set_version("take", 2);
        let c = check_source("t.lotto", RECIPE, t.path(), &reg, &CheckOpts::default()).unwrap();
        let digests = DigestCache::open(&t.path().join("digests.json"));
        let parts = compute(&c, &reg, t.path(), &digests, "flex").unwrap();
        assert_eq!(parts[1].op_version, 2);
        assert_ne!(parts[1].key(), keys_in(t.path(), RECIPE, "flex")["b"]);
    }

    #[test]
    fn a_missing_file_leaves_its_step_and_readers_without_a_key() {
        let t = tempfile::tempdir().unwrap();
        let reg = registry();
        let c = check_source("t.lotto", RECIPE, t.path(), &reg, &CheckOpts::default()).unwrap();
        let digests = DigestCache::open(&t.path().join("digests.json"));
        let (parts, errors) = compute_partial(&c, &reg, t.path(), &digests, "flex");
        assert!(parts.iter().all(Option::is_none));
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].1.message.contains("step `a`"),
            "{}",
            errors[0].1.message
        );
    }
}
