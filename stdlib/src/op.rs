//! A function-backed [`Op`]: most ops are a signature plus a run function.

use lotto_interpreter::registry::{Op, OpSig, Output, Resources, RunCtx};
use lotto_interpreter::value::{Args, Value};
use std::path::{Path, PathBuf};

type ReadsFn = fn(&Args, &Path) -> Result<Vec<(PathBuf, String)>, String>;
type ValidateFn = fn(&Args) -> Result<(), (Option<&'static str>, String)>;

pub struct FnOp {
    pub sig: OpSig,
    pub run: fn(&mut RunCtx) -> Result<(), String>,
    pub reads: Option<ReadsFn>,
    pub validate: Option<ValidateFn>,
}

impl Op for FnOp {
    fn sig(&self) -> &OpSig {
        &self.sig
    }
    fn reads(&self, args: &Args, ws: &Path) -> Result<Vec<(PathBuf, String)>, String> {
        self.reads.map(|f| f(args, ws)).unwrap_or(Ok(vec![]))
    }
    fn validate(&self, args: &Args) -> Result<(), (Option<&'static str>, String)> {
        self.validate.map(|f| f(args)).unwrap_or(Ok(()))
    }
    fn run(&self, ctx: &mut RunCtx) -> Result<(), String> {
        (self.run)(ctx)
    }
}

/// Resource hints of ops that decode audio in parallel (loaders, `mix`):
/// a Slurm job gets this many CPUs for its rayon threads.
pub const DATA_RESOURCES: Resources = Resources {
    gpu: false,
    cpus: 4,
    mem_gb: 8,
    minutes: 4 * 60,
};

pub fn sig(
    name: &'static str,
    group: &'static str,
    version: u32,
    output: Output,
    doc: &'static str,
    params: Vec<lotto_interpreter::Param>,
) -> OpSig {
    OpSig {
        name,
        version,
        params,
        output,
        doc,
        numeric: false,
        resources: Resources {
            cpus: 1,
            ..Default::default()
        },
        group,
    }
}

/// A config op (`adamw(...)`): validated at check time, never run.
pub fn config_op(s: OpSig) -> FnOp {
    FnOp {
        sig: s,
        run: |_| Err("config ops are not steps".into()),
        reads: None,
        validate: None,
    }
}

pub fn arg_f64(args: &Args, k: &str) -> f64 {
    args.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN)
}
pub fn arg_usize(args: &Args, k: &str) -> usize {
    args.get(k).and_then(Value::as_i64).unwrap_or(0).max(0) as usize
}
/// The step references in a list argument, in order.
pub fn arg_refs(args: &Args, k: &str) -> Vec<lotto_interpreter::value::StepRef> {
    args.get(k)
        .and_then(Value::as_list)
        .unwrap_or(&[])
        .iter()
        .filter_map(Value::as_ref)
        .collect()
}
pub fn arg_str<'a>(args: &'a Args, k: &str) -> &'a str {
    args.get(k).and_then(Value::as_str).unwrap_or("")
}
/// Whether an optional numeric argument (defaulting to `none`) was given.
pub fn arg_given(args: &Args, k: &str) -> bool {
    args.get(k)
        .is_some_and(|v| v.as_f64().is_some() || v.as_list().is_some())
}
pub fn arg_bool(args: &Args, k: &str) -> bool {
    args.get(k).and_then(Value::as_bool).unwrap_or(false)
}

/// Resolves a user path argument: through the `--data` maps, else against
/// the workspace (see `lotto_interpreter::paths`).
pub fn ws_path(ws: &Path, p: &str) -> PathBuf {
    lotto_interpreter::paths::resolve(ws, p)
}

/// [`ws_path`] for a data file or folder an op is about to open: refused
/// when it lies outside what a confined run (a bundle) may read.
pub fn data_path(ws: &Path, p: &str) -> Result<PathBuf, String> {
    let full = ws_path(ws, p);
    lotto_interpreter::paths::check_read(&full)?;
    Ok(full)
}

/// `items.par_iter().map(f)` with a progress bar (ETA on a terminal,
/// periodic log lines otherwise): decoding, mixing and feature extraction
/// are the long CPU parts of data steps.
pub fn par_map_progress<T: Sync, R: Send>(
    progress: &lotto_interpreter::progress::Progress,
    label: &str,
    items: &[T],
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    use rayon::prelude::*;
    let bar = progress.bar(label, items.len() as u64);
    let out = items
        .par_iter()
        .map(|x| {
            let r = f(x);
            bar.inc(1);
            r
        })
        .collect();
    bar.finish();
    out
}

pub fn write_yaml<T: serde::Serialize>(path: &Path, v: &T) -> Result<(), String> {
    let s = serde_yaml::to_string(v).map_err(|e| e.to_string())?;
    std::fs::write(path, s).map_err(|e| format!("`{}`: {e}", path.display()))
}
pub fn read_yaml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let s = std::fs::read_to_string(path).map_err(|e| format!("`{}`: {e}", path.display()))?;
    serde_yaml::from_str(&s).map_err(|e| format!("`{}`: {e}", path.display()))
}
