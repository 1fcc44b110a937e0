//! Cache keys: BLAKE3 over an op's name and version, its canonical resolved
//! arguments, the keys of its inputs, the digests of the files it reads and,
//! for numeric ops, the device kind and dtype. Never a timestamp, a session
//! id or the workspace's absolute path.

use crate::check::Checked;
use crate::diag::{Code, Diagnostic};
use crate::digest::DigestCache;
use crate::registry::Registry;
use crate::value::{Args, StepRef, Value};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Everything a key is made of, kept in the step record so `lotto plan`
/// can say what changed.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct KeyParts {
    pub op: String,
    pub op_version: u32,
    /// Arguments with step references replaced by `@<input key>`.
    pub args: BTreeMap<String, serde_json::Value>,
    /// Input keys by the input's step name (names are not hashed).
    pub inputs: BTreeMap<String, String>,
    /// File digests by the file's name relative to its data root.
    pub files: BTreeMap<String, String>,
    /// `flex/f32`, `vulkan/f32`, ... for numeric ops.
    pub device: Option<String>,
}

impl KeyParts {
    pub fn key(&self) -> String {
        let mut h = blake3::Hasher::new();
        h.update(b"lotto-key-v1\0");
        h.update(self.op.as_bytes());
        h.update(&self.op_version.to_le_bytes());
        h.update(
            serde_json::to_string(&self.args)
                .unwrap_or_default()
                .as_bytes(),
        );
        h.update(b"\0inputs");
        for k in self.inputs.values() {
            // Input keys also appear inside `args`; hashing them sorted here
            // guards ops that read inputs not named in args.
            h.update(k.as_bytes());
        }
        h.update(b"\0files");
        for (n, d) in &self.files {
            h.update(n.as_bytes());
            h.update(b"=");
            h.update(d.as_bytes());
        }
        h.update(b"\0device");
        h.update(self.device.as_deref().unwrap_or("-").as_bytes());
        h.finalize().to_hex()[..32].to_string()
    }
}

/// Canonical JSON of a value, with references replaced by input keys. With
/// a registry, a config value (`adamw(...)`, `plot(...)`) carries its op's
/// version when above 1, so bumping a config op's version reruns the steps
/// that use it (version 1 is left out: keys made before config versions
/// were hashed stay valid).
pub fn canonical(
    v: &Value,
    keys: &dyn Fn(StepRef) -> String,
    reg: Option<&Registry>,
) -> serde_json::Value {
    use serde_json::json;
    match v {
        Value::Int(i) => json!(i),
        Value::Float(f) => json!(f),
        Value::Str(s) => json!(s),
        Value::Bool(b) => json!(b),
        Value::Sym(s) => json!({ "sym": s }),
        Value::Shape(a, b, c) => json!(format!("{a}{c}{b}")),
        Value::List(l) => {
            serde_json::Value::Array(l.iter().map(|x| canonical(x, keys, reg)).collect())
        }
        Value::Ref(r) => json!(format!("@{}", keys(*r))),
        Value::Config { op, args } => {
            let args = canonical_args(args, keys, reg);
            match reg.and_then(|r| r.get(op)).map(|o| o.sig().version) {
                Some(v) if v > 1 => json!({ "config": op, "version": v, "args": args }),
                _ => json!({ "config": op, "args": args }),
            }
        }
    }
}

/// The arguments that enter the key: all of them, except additive
/// parameters left at their default (see [`crate::Param::additive`]).
pub fn key_args<'a>(sig: &crate::registry::OpSig, args: &'a Args) -> std::borrow::Cow<'a, Args> {
    let skip: Vec<&str> = sig
        .params
        .iter()
        .filter(|p| p.additive && p.default.as_ref() == args.get(p.name))
        .map(|p| p.name)
        .collect();
    if skip.is_empty() {
        return std::borrow::Cow::Borrowed(args);
    }
    let mut a = args.clone();
    for k in skip {
        a.remove(k);
    }
    std::borrow::Cow::Owned(a)
}

pub fn canonical_args(
    args: &Args,
    keys: &dyn Fn(StepRef) -> String,
    reg: Option<&Registry>,
) -> BTreeMap<String, serde_json::Value> {
    args.iter()
        .map(|(k, v)| (k.clone(), canonical(v, keys, reg)))
        .collect()
}

/// The key of a port of a step: ports of a multi-output step differ.
pub fn port_key(step_key: &str, port: usize) -> String {
    if port == 0 {
        step_key.to_string()
    } else {
        format!("{step_key}.{port}")
    }
}

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
        let args = canonical_args(&key_args(sig, &s.args), &keyf, Some(reg));
        let inputs = deps
            .into_iter()
            .map(|r| (checked.ref_name(r), keyf(r)))
            .collect();
        let p = KeyParts {
            op: s.op.to_string(),
            op_version: sig.version,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{OpSig, Output, PType, Param, Resources};
    use crate::value::StepType;

    #[test]
    fn an_additive_parameter_at_its_default_stays_out_of_the_key() {
        let sig = OpSig {
            name: "op",
            version: 1,
            params: vec![
                Param::opt("old", PType::Int, Value::Int(1), "published first"),
                Param::opt("new", PType::Int, Value::Int(0), "added later").additive(),
            ],
            output: Output::One(StepType::Corpus),
            doc: "",
            numeric: false,
            resources: Resources::default(),
            group: "",
        };
        let mut args = Args::new();
        args.insert("old".into(), Value::Int(1));
        args.insert("new".into(), Value::Int(0));
        let kept = key_args(&sig, &args);
        assert_eq!(kept.keys().collect::<Vec<_>>(), ["old"]);
        args.insert("new".into(), Value::Int(5));
        assert_eq!(key_args(&sig, &args).len(), 2);
        // A non-additive parameter at its default still counts.
        args.insert("old".into(), Value::Int(1));
        assert!(key_args(&sig, &args).contains_key("old"));
    }
}
