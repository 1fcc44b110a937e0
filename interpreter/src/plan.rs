//! The planner: for each step, is it cached, and if not, why must it run —
//! which argument, input, file, op version or device changed since the last
//! record of that step.

use crate::check::fmt_num;
use crate::integrity::{Depth, Health};
use crate::key_parts::KeyParts;
use crate::program::Checked;
use crate::store::Store;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Status {
    Cached,
    Run,
    /// Its data (or an input's) is not on this machine: no key yet.
    NeedsData,
    /// Its data (or an input's) is here but cannot be used (a missing
    /// audio file, a malformed manifest): no key until it is fixed.
    DataError,
}

/// Why a step has no key in a partial plan.
#[derive(Clone, Debug)]
pub enum NoKey {
    /// A path it names is absent here.
    Absent(String),
    /// Its data is here and wrong.
    Broken(String),
}

#[derive(Clone, Debug, Serialize)]
pub struct PlannedStep {
    pub index: usize,
    pub name: String,
    pub op: String,
    pub key: String,
    pub status: Status,
    pub why: Vec<String>,
}

/// Plans every step. `force` names steps to rerun regardless.
pub fn plan(
    checked: &Checked,
    parts: &[KeyParts],
    store: &Store,
    recipe: &str,
    force: &BTreeSet<usize>,
) -> Vec<PlannedStep> {
    plan_with(
        checked,
        &|i| Some(&parts[i]),
        &BTreeMap::new(),
        store,
        recipe,
        force,
    )
}

/// Plans a recipe some of whose data is missing (`key::compute_partial`):
/// those steps, and what depends on them, are `NeedsData`, with the read
/// error (`missing`, by step) or the input that needs data as the reason.
pub fn plan_partial(
    checked: &Checked,
    parts: &[Option<KeyParts>],
    missing: &BTreeMap<usize, NoKey>,
    store: &Store,
    recipe: &str,
    force: &BTreeSet<usize>,
) -> Vec<PlannedStep> {
    plan_with(
        checked,
        &|i| parts[i].as_ref(),
        missing,
        store,
        recipe,
        force,
    )
}

/// Both plans, reading each step's parts through `part` (so a full plan
/// need not copy its parts into options).
fn plan_with<'p>(
    checked: &Checked,
    part: &dyn Fn(usize) -> Option<&'p KeyParts>,
    missing: &BTreeMap<usize, NoKey>,
    store: &Store,
    recipe: &str,
    force: &BTreeSet<usize>,
) -> Vec<PlannedStep> {
    let order = crate::graph::topo_order(&checked.steps);
    let mut out = Vec::with_capacity(order.len());
    // The steps without a key so far, by index (inputs come first).
    let mut keyless: BTreeMap<usize, Status> = BTreeMap::new();
    for i in order {
        let s = &checked.steps[i];
        let Some(p) = part(i) else {
            let (status, why) = match missing.get(&i) {
                Some(NoKey::Absent(e)) => (Status::NeedsData, vec![format!("needs data: {e}")]),
                Some(NoKey::Broken(e)) => (Status::DataError, vec![format!("data error: {e}")]),
                None => {
                    // Waits on its inputs; a broken input outranks an absent one.
                    let waits: Vec<(Status, String)> = s
                        .deps()
                        .iter()
                        .filter_map(|r| {
                            let st = keyless.get(&r.step)?;
                            let name = checked.ref_name(*r);
                            match st {
                                Status::NeedsData => {
                                    Some((Status::NeedsData, format!("input `{name}` needs data")))
                                }
                                Status::DataError => Some((
                                    Status::DataError,
                                    format!("input `{name}` has a data error"),
                                )),
                                _ => None,
                            }
                        })
                        .collect();
                    let status = if waits.iter().any(|(st, _)| *st == Status::DataError) {
                        Status::DataError
                    } else {
                        Status::NeedsData
                    };
                    (status, waits.into_iter().map(|(_, w)| w).collect())
                }
            };
            keyless.insert(i, status.clone());
            out.push(PlannedStep {
                index: i,
                name: s.name.clone(),
                op: s.op.to_string(),
                key: "-".repeat(32),
                status,
                why,
            });
            continue;
        };
        let key = p.key();
        let health = store.health(&key, Depth::Quick);
        let cached = matches!(health, Some(Health::Intact | Health::Unverified));
        let mut why = vec![];
        if force.contains(&i) {
            why.push("forced (--force)".to_string());
        } else if let Some(Health::Damaged(damage)) = health {
            why.push(format!(
                "its store entry is damaged ({damage}): it runs again"
            ));
        } else if !cached {
            let last = store.last(recipe, &s.name).map(|x| x.1);
            why = explain(p, last.as_ref());
            why.extend(content_note(p, &key, store, last.is_some()));
            if store
                .staging(&key)
                .join("checkpoints")
                .read_dir()
                .map(|mut d| d.next().is_some())
                .unwrap_or(false)
            {
                why.push("resumes from a checkpoint of an interrupted run".to_string());
            }
        }
        let status = if cached && !force.contains(&i) {
            Status::Cached
        } else {
            Status::Run
        };
        out.push(PlannedStep {
            index: i,
            name: s.name.clone(),
            op: s.op.to_string(),
            key,
            status,
            why,
        });
    }
    out
}

fn short(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Number(n) if n.is_f64() => n.as_f64().map(fmt_num).unwrap_or_default(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) if s.starts_with('@') => {
            format!("step {}", &s[1..9.min(s.len())])
        }
        other => {
            let s = other.to_string();
            if s.len() > 40 {
                format!("{}…", &s[..40])
            } else {
                s
            }
        }
    }
}

/// What the step's content key says before it runs: that it will reuse an
/// entry computed from equal input results, or, for a step that ran
/// before, that its key waits on an input's result still to come.
fn content_note(p: &KeyParts, key: &str, store: &Store, ran_before: bool) -> Option<String> {
    match p.content_key(&|k| store.identity(k)) {
        Some(c) => {
            let earlier = store.reusable(&c, key)?;
            Some(format!(
                "its inputs' results equal those entry {} was computed from: reused, not recomputed",
                &earlier[..12.min(earlier.len())]
            ))
        }
        None if ran_before => {
            let waits: Vec<String> = p
                .inputs
                .iter()
                .filter(|(_, k)| !store.is_published(k.split('.').next().unwrap_or(k)))
                .map(|(name, _)| format!("`{name}`"))
                .collect();
            let (s, it) = if waits.len() == 1 {
                ("", "it comes out")
            } else {
                ("s", "they come out")
            };
            (!waits.is_empty()).then(|| {
                format!(
                    "its key waits on the result{s} of {}: reused if {} as before",
                    waits.join(", "),
                    it
                )
            })
        }
        None => None,
    }
}

/// What differs between the last record of a step and its parts now.
pub fn explain(now: &KeyParts, last: Option<&KeyParts>) -> Vec<String> {
    let Some(last) = last else {
        return vec!["never ran".to_string()];
    };
    let mut why = vec![];
    if now.op != last.op {
        why.push(format!("op changed: `{}` → `{}`", last.op, now.op));
    } else if now.op_version != last.op_version {
        why.push(format!(
            "op `{}` version changed: {} → {}",
            now.op, last.op_version, now.op_version
        ));
    }
    if now.device != last.device {
        why.push(format!(
            "device changed: {} → {}",
            last.device.as_deref().unwrap_or("-"),
            now.device.as_deref().unwrap_or("-")
        ));
    }
    let inputs_changed: BTreeSet<&String> = now
        .inputs
        .iter()
        .filter(|(n, k)| last.inputs.get(*n) != Some(k))
        .map(|(n, _)| n)
        .collect();
    for (name, v) in &now.args {
        match last.args.get(name) {
            Some(old) if old == v => {}
            Some(old) => {
                // References change when their input's key changes: say so
                // once, as an input change, not as an argument change.
                let is_ref = |x: &serde_json::Value| x.to_string().contains("\"@");
                if !(is_ref(v) && is_ref(old)) {
                    why.push(format!(
                        "argument `{name}` changed: {} → {}",
                        short(old),
                        short(v)
                    ));
                }
            }
            None => why.push(format!("argument `{name}` is new: {}", short(v))),
        }
    }
    for n in inputs_changed {
        why.push(format!("input `{n}` changed"));
    }
    let changed = now
        .files
        .iter()
        .filter(|(n, d)| last.files.get(*n).is_some_and(|o| o != *d))
        .count();
    let added = now
        .files
        .keys()
        .filter(|n| !last.files.contains_key(*n))
        .count();
    let removed = last
        .files
        .keys()
        .filter(|n| !now.files.contains_key(*n))
        .count();
    if changed + added + removed > 0 {
        let mut names: Vec<&String> = now
            .files
            .iter()
            .filter(|(n, d)| last.files.get(*n) != Some(d))
            .map(|(n, _)| n)
            .collect();
        names.truncate(3);
        why.push(format!(
            "data changed: {changed} file(s) modified, {added} added, {removed} removed{}",
            if names.is_empty() {
                String::new()
            } else {
                format!(
                    " (e.g. {})",
                    names
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ));
    }
    if why.is_empty() {
        why.push("result missing from the store (deleted or never published)".to_string());
    }
    why
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key_parts::KeyParts;
    use serde_json::json;

    fn parts(epochs: i64, input: &str, file: &str) -> KeyParts {
        KeyParts {
            op: "fit".into(),
            op_version: 1,
            args: [
                ("epochs".to_string(), json!(epochs)),
                ("data".to_string(), json!(format!("@{input}"))),
            ]
            .into_iter()
            .collect(),
            inputs: [("train".to_string(), input.to_string())]
                .into_iter()
                .collect(),
            files: [("a.wav".to_string(), file.to_string())]
                .into_iter()
                .collect(),
            device: Some("flex/f32".into()),
            named: false,
            code: Default::default(),
        }
    }

    #[test]
    fn explain_names_what_changed_once_each() {
        let last = parts(12, "k1", "d1");
        assert_eq!(explain(&parts(12, "k1", "d1"), None), ["never ran"]);
        assert_eq!(
            explain(&parts(12, "k1", "d1"), Some(&last)),
            ["result missing from the store (deleted or never published)"]
        );
        assert_eq!(
            explain(&parts(10, "k1", "d1"), Some(&last)),
            ["argument `epochs` changed: 12 → 10"]
        );
        // A changed input is said once, as an input, not as an argument.
        assert_eq!(
            explain(&parts(12, "k2", "d1"), Some(&last)),
            ["input `train` changed"]
        );
        assert_eq!(
            explain(&parts(12, "k1", "d2"), Some(&last)),
            ["data changed: 1 file(s) modified, 0 added, 0 removed (e.g. a.wav)"]
        );
        let newer = KeyParts {
            op_version: 2,
            ..last.clone()
        };
        assert_eq!(
            explain(&newer, Some(&last)),
            ["op `fit` version changed: 1 → 2"]
        );
    }

    #[test]
    fn steps_are_cached_run_or_waiting_for_data() {
        use crate::check::{check_source, CheckOpts};
        let t = tempfile::tempdir().unwrap();
        let store = Store::open(&t.path().join("store")).unwrap();
        let reg = crate::test_registry::registry();
        let text = "data a = source(\"f\")\ndata b = take(a)\n";
        let c = check_source("t.lotto", text, t.path(), &reg, &CheckOpts::default()).unwrap();
        let p = vec![Some(parts(1, "x", "y")), Some(parts(2, "x", "y"))];
        let key0 = p[0].as_ref().unwrap().key();
        store.prepare_staging(&key0).unwrap();
        store.publish(&key0, &Default::default(), false).unwrap();
        let planned = plan_partial(
            &c,
            &p,
            &BTreeMap::new(),
            &store,
            "t.lotto",
            &BTreeSet::new(),
        );
        let status: Vec<&Status> = planned.iter().map(|s| &s.status).collect();
        assert_eq!(status, [&Status::Cached, &Status::Run]);
        let forced = plan_partial(
            &c,
            &p,
            &BTreeMap::new(),
            &store,
            "t.lotto",
            &BTreeSet::from([0]),
        );
        assert_eq!(forced[0].status, Status::Run);
        assert_eq!(forced[0].why, ["forced (--force)"]);
        let missing = BTreeMap::from([(0, NoKey::Absent("no file `f`".to_string()))]);
        let waiting = plan_partial(
            &c,
            &[None, None],
            &missing,
            &store,
            "t.lotto",
            &BTreeSet::new(),
        );
        assert_eq!(waiting[0].why, ["needs data: no file `f`"]);
        assert_eq!(waiting[1].why, ["input `a` needs data"]);
        assert!(waiting.iter().all(|s| s.status == Status::NeedsData));
        let broken = BTreeMap::from([(0, NoKey::Broken("bad line".to_string()))]);
        let planned = plan_partial(
            &c,
            &[None, None],
            &broken,
            &store,
            "t.lotto",
            &BTreeSet::new(),
        );
        assert_eq!(planned[0].why, ["data error: bad line"]);
        assert_eq!(planned[1].why, ["input `a` has a data error"]);
        assert!(planned.iter().all(|s| s.status == Status::DataError));
    }
}
