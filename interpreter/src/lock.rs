//! Lock files: what a recipe's results depend on and what they were.
//!
//! `RECIPE.lock` (YAML) pins the lotto version, every op version the recipe
//! uses, the device kind, each param's resolved value, one entry per step
//! that reads data (file count, a digest over names and contents, each
//! file's digest so a refusal can name the file, and the utterance count
//! and hours the step reported), and every published step's metrics. It
//! holds no timestamps and only sorted maps, so re-locking an unchanged,
//! cached recipe writes the same bytes.

use crate::key_parts::{canonical, KeyParts};
use crate::program::Checked;
use crate::registry::Registry;
use crate::store::Store;
use crate::value::Value;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub type Metrics = BTreeMap<String, serde_yaml::Value>;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Lock {
    /// The lotto that wrote the lock.
    pub lotto: String,
    /// The recipe, relative to the workspace.
    pub recipe: String,
    /// Device kind and dtype of the numeric steps, and on the CPU the
    /// kernel set: `flex/f32/portable` (the same numbers on every CPU) or
    /// `flex/f32` (gemm's native kernels).
    pub device: String,
    /// With native CPU kernels, what decides the float rounding of matrix
    /// products besides the code: the kernels the CPU runs and its L1
    /// cache, from which the kernels' blocking follows (`x86_64 fma, L1d
    /// 48 KiB 12-way`). CPUs that agree on it give the same numbers bit
    /// for bit. Empty with portable kernels, which depend on neither.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cpu: String,
    pub params: BTreeMap<String, serde_json::Value>,
    /// Every op the recipe calls, settings (`adamw`) included.
    pub ops: BTreeMap<String, u32>,
    /// Steps that read files, by step name.
    pub data: BTreeMap<String, DataLock>,
    /// Each published step's metrics, by step name.
    pub results: BTreeMap<String, Metrics>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DataLock {
    pub op: String,
    pub files: usize,
    /// BLAKE3 over the sorted `name=digest` lines.
    pub digest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utterances: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<f64>,
    /// Each file's digest by its name relative to the data root.
    pub contents: BTreeMap<String, String>,
}

/// Where the lock of `recipe` lives: beside it, `NAME.lotto.lock`.
pub fn lock_path(recipe: &Path) -> PathBuf {
    let mut s = recipe.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

fn ops_in(v: &Value, out: &mut BTreeMap<String, u32>, reg: &Registry) {
    match v {
        Value::Config { op, args } => {
            if reg.get(op).is_some() {
                out.insert(op.clone(), reg.version(op));
            }
            for a in args.values() {
                ops_in(a, out, reg);
            }
        }
        Value::List(l) => l.iter().for_each(|x| ops_in(x, out, reg)),
        _ => {}
    }
}

/// The lock of the recipe as it is now: inputs from the check and keys,
/// results from whatever of it the store has published.
pub fn build(
    checked: &Checked,
    parts: &[KeyParts],
    reg: &Registry,
    store: &Store,
    recipe: &str,
    numerics: &str,
    cpu: &str,
) -> Lock {
    let mut lock = Lock {
        lotto: env!("CARGO_PKG_VERSION").to_string(),
        recipe: recipe.to_string(),
        device: numerics.to_string(),
        cpu: cpu.to_string(),
        params: checked
            .params
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    canonical(v, &|_| String::new(), &Default::default()),
                )
            })
            .collect(),
        ..Lock::default()
    };
    for (s, p) in checked.steps.iter().zip(parts) {
        lock.ops.insert(p.op.clone(), p.op_version);
        for v in s.args.values() {
            ops_in(v, &mut lock.ops, reg);
        }
        let key = p.key();
        let record = store.is_intact(&key).then(|| store.record(&key)).flatten();
        if !p.files.is_empty() {
            let m = record.as_ref().map(|r| &r.metrics);
            let num = |k: &str| m.and_then(|m| m.get(k)).and_then(|v| v.as_f64());
            lock.data.insert(
                s.name.clone(),
                DataLock {
                    op: p.op.clone(),
                    files: p.files.len(),
                    digest: files_digest(&p.files),
                    utterances: num("utterances").map(|x| x as u64),
                    hours: num("hours"),
                    contents: p.files.clone(),
                },
            );
        }
        if let Some(r) = record {
            if !r.metrics.is_empty() {
                lock.results.insert(s.name.clone(), r.metrics);
            }
        }
    }
    lock
}

fn files_digest(files: &BTreeMap<String, String>) -> String {
    let mut h = blake3::Hasher::new();
    for (n, d) in files {
        h.update(n.as_bytes());
        h.update(b"=");
        h.update(d.as_bytes());
        h.update(b"\n");
    }
    h.finalize().to_hex()[..32].to_string()
}

const HEADER: &str = "# Written by `lotto lock` (or `lotto run --lock`). `lotto run --locked` refuses\n# to start when the data, op versions or params differ; `lotto verify` re-runs\n# the recipe from scratch and compares its results with `results`.\n";

pub fn to_yaml(lock: &Lock) -> String {
    format!(
        "{HEADER}{}",
        serde_yaml::to_string(lock).unwrap_or_default()
    )
}

pub fn read(path: &Path) -> Result<Lock, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read the lock `{}`: {e}; write it with `lotto lock` first",
            path.display()
        )
    })?;
    serde_yaml::from_str(&text).map_err(|e| {
        format!(
            "`{}` is not a lock file lotto can read: {e}; rewrite it with `lotto lock`",
            path.display()
        )
    })
}

/// What differs between a lock and the recipe's inputs now.
#[derive(Debug, Default)]
pub struct Drift {
    /// Differences that make `--locked` refuse: data, op versions, params.
    pub refusals: Vec<String>,
    /// Differences worth saying that do not refuse (lotto version, device).
    pub notes: Vec<String>,
}

fn fmt_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}

fn names(v: &[&String]) -> String {
    let mut s = v
        .iter()
        .take(5)
        .map(|x| format!("`{x}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if v.len() > 5 {
        s.push_str(&format!(" and {} more", v.len() - 5));
    }
    s
}

/// Compares the inputs of two locks (their `results` are not compared).
pub fn drift(locked: &Lock, now: &Lock) -> Drift {
    let mut d = Drift::default();
    param_drift(locked, now, &mut d.refusals);
    op_drift(locked, now, &mut d.refusals);
    for (step, l) in &locked.data {
        match now.data.get(step) {
            None => d.refusals.push(format!(
                "data step `{step}` is in the lock but not in the recipe"
            )),
            Some(n) if n.digest != l.digest => d.refusals.push(data_drift(step, l, n)),
            Some(_) => {}
        }
    }
    for step in now.data.keys().filter(|k| !locked.data.contains_key(*k)) {
        d.refusals
            .push(format!("data step `{step}` is new (not in the lock)"));
    }
    if locked.device != now.device {
        d.notes.push(format!(
            "device is {} but the lock was made on {}: numeric results may differ slightly",
            now.device, locked.device
        ));
    } else if let Some(why) = cpu_differs(locked, now) {
        d.notes.push(why);
    }
    if locked.lotto != now.lotto {
        d.notes.push(format!(
            "this is lotto {} but the lock was written by lotto {}",
            now.lotto, locked.lotto
        ));
    }
    d
}

fn param_drift(locked: &Lock, now: &Lock, out: &mut Vec<String>) {
    for (k, v) in &locked.params {
        match now.params.get(k) {
            Some(n) if n == v => {}
            Some(n) => out.push(format!(
                "param `{k}` is {} but the lock has {}",
                fmt_json(n),
                fmt_json(v)
            )),
            None => out.push(format!("param `{k}` is in the lock but not in the recipe")),
        }
    }
    for k in now
        .params
        .keys()
        .filter(|k| !locked.params.contains_key(*k))
    {
        out.push(format!("param `{k}` is new (not in the lock)"));
    }
}

fn op_drift(locked: &Lock, now: &Lock, out: &mut Vec<String>) {
    for (op, v) in &now.ops {
        match locked.ops.get(op) {
            Some(l) if l == v => {}
            Some(l) => out.push(format!(
                "op `{op}` is version {v} in this lotto but version {l} in the lock: its results may differ"
            )),
            None => out.push(format!(
                "op `{op}` is used by the recipe but not in the lock (the recipe changed)"
            )),
        }
    }
    for op in locked.ops.keys().filter(|k| !now.ops.contains_key(*k)) {
        out.push(format!(
            "op `{op}` is in the lock but the recipe no longer uses it (the recipe changed)"
        ));
    }
}

/// What differs between the locked files of a data step and today's.
fn data_drift(step: &str, l: &DataLock, n: &DataLock) -> String {
    let changed: Vec<&String> = n
        .contents
        .iter()
        .filter(|(f, dg)| l.contents.get(*f).is_some_and(|o| o != *dg))
        .map(|(f, _)| f)
        .collect();
    let added: Vec<&String> = n
        .contents
        .keys()
        .filter(|f| !l.contents.contains_key(*f))
        .collect();
    let removed: Vec<&String> = l
        .contents
        .keys()
        .filter(|f| !n.contents.contains_key(*f))
        .collect();
    let mut parts = vec![];
    for (what, files) in [
        ("changed", &changed),
        ("added", &added),
        ("removed", &removed),
    ] {
        if !files.is_empty() {
            parts.push(format!("{} {what} ({})", files.len(), names(files)));
        }
    }
    format!(
        "data of `{step}` ({}) differs from the lock: {} file(s) {}",
        n.op,
        changed.len() + added.len() + removed.len(),
        parts.join(", ")
    )
}

/// Why numeric results of `locked` may differ from a run like `now` on
/// the same device kind: with native kernels, another CPU's kernels or
/// cache (portable locks record no CPU).
/// Locks written before the field existed say nothing.
fn cpu_differs(locked: &Lock, now: &Lock) -> Option<String> {
    (!locked.cpu.is_empty() && !now.cpu.is_empty() && locked.cpu != now.cpu).then(|| {
        format!(
            "this CPU ({}) is not the lock's ({}): the lock was made with the native kernels, whose matrix products round differently here, so numeric results may differ slightly (compare with `lotto verify --tolerance`; a lock made with the portable kernels, the default, reproduces on any CPU)",
            now.cpu, locked.cpu
        )
    })
}

/// One compared result of `lotto verify`.
#[derive(Debug, Clone, PartialEq)]
pub struct Compared {
    pub step: String,
    pub metric: String,
    pub locked: String,
    pub measured: String,
    /// |measured - locked| for numbers.
    pub diff: Option<f64>,
    pub ok: bool,
}

fn show(v: Option<&serde_yaml::Value>) -> String {
    match v {
        None => "(missing)".into(),
        Some(serde_yaml::Value::String(s)) => s.clone(),
        Some(other) => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// Compares locked results with measured ones: numbers within `tolerance`
/// (absolute), everything else equal. A result missing on either side fails.
pub fn compare(
    locked: &BTreeMap<String, Metrics>,
    measured: &BTreeMap<String, Metrics>,
    tolerance: f64,
) -> Vec<Compared> {
    let mut out = vec![];
    let empty = Metrics::new();
    let steps: std::collections::BTreeSet<&String> = locked.keys().chain(measured.keys()).collect();
    for step in steps {
        let l = locked.get(step).unwrap_or(&empty);
        let m = measured.get(step).unwrap_or(&empty);
        let metrics: std::collections::BTreeSet<&String> = l.keys().chain(m.keys()).collect();
        for metric in metrics {
            let (lv, mv) = (l.get(metric), m.get(metric));
            let diff = match (lv.and_then(|v| v.as_f64()), mv.and_then(|v| v.as_f64())) {
                (Some(a), Some(b)) => Some((a - b).abs()),
                _ => None,
            };
            let ok = match (lv, mv, diff) {
                (Some(_), Some(_), Some(d)) => d <= tolerance,
                (Some(a), Some(b), None) => a == b,
                _ => false,
            };
            out.push(Compared {
                step: step.clone(),
                metric: metric.clone(),
                locked: show(lv),
                measured: show(mv),
                diff,
                ok,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock() -> Lock {
        Lock {
            lotto: "0.1.0".into(),
            recipe: "r.lotto".into(),
            device: "flex/f32".into(),
            cpu: "x86_64 fma, L1d 48 KiB 12-way".into(),
            params: [("epochs".to_string(), serde_json::json!(2))].into(),
            ops: [("fit".to_string(), 3), ("manifest".to_string(), 1)].into(),
            data: [(
                "all".to_string(),
                DataLock {
                    op: "manifest".into(),
                    files: 2,
                    digest: files_digest(
                        &[("a.wav".into(), "1".into()), ("b.wav".into(), "2".into())].into(),
                    ),
                    utterances: Some(1),
                    hours: None,
                    contents: [("a.wav".into(), "1".into()), ("b.wav".into(), "2".into())].into(),
                },
            )]
            .into(),
            results: BTreeMap::new(),
        }
    }

    #[test]
    fn same_inputs_do_not_drift_and_yaml_round_trips() {
        let l = lock();
        let d = drift(&l, &l);
        assert!(d.refusals.is_empty() && d.notes.is_empty());
        let back: Lock = serde_yaml::from_str(&to_yaml(&l)).unwrap();
        assert_eq!(back, l);
        assert_eq!(to_yaml(&back), to_yaml(&l));
    }

    #[test]
    fn drift_names_the_param_op_and_file() {
        let l = lock();
        let mut n = lock();
        n.params.insert("epochs".into(), serde_json::json!(3));
        n.ops.insert("fit".into(), 4);
        let dl = n.data.get_mut("all").unwrap();
        dl.contents.insert("b.wav".into(), "9".into());
        dl.contents.insert("c.wav".into(), "3".into());
        dl.digest = files_digest(&dl.contents);
        n.device = "vulkan/f32".into();
        let d = drift(&l, &n);
        let all = d.refusals.join("\n");
        assert!(
            all.contains("param `epochs` is 3 but the lock has 2"),
            "{all}"
        );
        assert!(all.contains("op `fit` is version 4"), "{all}");
        assert!(all.contains("1 changed (`b.wav`)"), "{all}");
        assert!(all.contains("1 added (`c.wav`)"), "{all}");
        assert_eq!(d.notes.len(), 1);
    }

    /// Another CPU on the same device kind is a note (numbers may differ
    /// in rounding), never a refusal; a lock without the field says nothing.
    #[test]
    fn another_cpu_is_noted() {
        let l = lock();
        let mut n = lock();
        n.cpu = "x86_64 fma, L1d 32 KiB 8-way".into();
        let d = drift(&l, &n);
        assert!(d.refusals.is_empty());
        assert_eq!(d.notes.len(), 1);
        assert!(d.notes[0].contains("L1d 32 KiB 8-way") && d.notes[0].contains("--tolerance"));
        let mut old = lock();
        old.cpu.clear();
        assert!(drift(&old, &n).notes.is_empty());
        assert!(!to_yaml(&old).contains("cpu:"));
    }

    #[test]
    fn compare_is_exact_by_default_and_tolerant_when_asked() {
        let y = |x: f64| serde_yaml::Value::from(x);
        let locked: BTreeMap<String, Metrics> =
            [("e".to_string(), [("wer".to_string(), y(34.05))].into())].into();
        let close: BTreeMap<String, Metrics> =
            [("e".to_string(), [("wer".to_string(), y(34.10))].into())].into();
        assert!(compare(&locked, &locked, 0.0).iter().all(|c| c.ok));
        assert!(!compare(&locked, &close, 0.0)[0].ok);
        assert!(compare(&locked, &close, 0.1)[0].ok);
        let missing = compare(&locked, &BTreeMap::new(), 1.0);
        assert!(!missing[0].ok && missing[0].measured == "(missing)");
    }
}
