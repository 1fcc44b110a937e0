//! What a running op sees: its arguments, where its inputs live, where to
//! write, how to report progress and metrics, and cached sub-steps whose
//! keys the engine derives (ops never write a version into a key).

use crate::integrity::{Depth, Health};
use crate::key_parts::sub_key;
use crate::progress::Progress;
use crate::record::Record;
use crate::signature::OpVersions;
use crate::store::{now_rfc3339, Store};
use crate::value::{Args, StepRef};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Metrics an op or a sub-step reports; they land in its record.
pub type Metrics = BTreeMap<String, serde_yaml::Value>;

pub struct RunCtx<'a> {
    pub step_name: &'a str,
    /// The running step's op.
    pub op: &'static str,
    pub args: &'a Args,
    /// Artifact directory of each input, by step reference.
    pub inputs: &'a BTreeMap<StepRef, PathBuf>,
    /// The step name of each input (for tables and reports).
    pub input_names: BTreeMap<StepRef, String>,
    /// The op writes its artifacts here (a private staging directory).
    pub out: &'a Path,
    /// Survives a killed run of this step; deleted when the step publishes.
    pub checkpoints: &'a Path,
    /// The workspace root: relative paths in arguments resolve against it.
    pub workspace: &'a Path,
    /// Device name the run was asked for (`flex`, `vulkan`, `cuda:1`).
    pub device: &'a str,
    pub progress: &'a Progress,
    /// Metrics the op reports; they land in `step.yaml`.
    pub metrics: Metrics,
    /// The store, for cached sub-steps ([`RunCtx::sub_step`]).
    pub store: &'a Store,
    /// Every op's version, from which sub-step keys are derived.
    pub versions: &'a OpVersions,
    /// Store keys of sub-steps this step used; kept alive by `lotto gc`.
    pub refs: Vec<String>,
}

/// A cached part of a step's work with a store entry of its own (an IMP
/// round, the features of a corpus), published atomically under its own
/// lock, so it is reused across steps and resumed on its own.
pub struct SubStep<'s> {
    /// The op whose computation it is: the running step's op by default;
    /// another op where the work is that op's (features are extracted the
    /// way the features op says, whichever step needs them).
    pub owner: Option<&'s str>,
    /// What kind of sub-step (`round`, `features`): part of the key.
    pub kind: &'static str,
    /// Everything the result depends on besides the owner's code, with the
    /// store keys of the artifacts it reads.
    pub deps: serde_json::Value,
    /// How records and messages name it (`round 3`).
    pub label: String,
}

impl RunCtx<'_> {
    /// The artifact directory of an input.
    pub fn input(&self, r: StepRef) -> &Path {
        &self.inputs[&r]
    }
    /// The step name of an input.
    pub fn input_name(&self, r: StepRef) -> &str {
        self.input_names.get(&r).map(String::as_str).unwrap_or("")
    }
    /// The running op's version.
    pub fn op_version(&self) -> u32 {
        self.versions.get(self.op).copied().unwrap_or(0)
    }

    /// Runs `f(out, checkpoints)` as a cached sub-step (see [`SubStep`]) and
    /// returns its published directory; a published one is reused.
    pub fn sub_step(
        &mut self,
        sub: SubStep,
        f: impl FnOnce(&Path, &Path) -> Result<Metrics, String>,
    ) -> Result<PathBuf, String> {
        let owner = sub.owner.unwrap_or(self.op);
        let version = *self
            .versions
            .get(owner)
            .ok_or_else(|| format!("sub-step `{}`: no op `{owner}` owns it", sub.label))?;
        let key = sub_key(owner, version, sub.kind, &sub.deps);
        self.refs.push(key.clone());
        if self.store.is_intact(&key) {
            return Ok(self.store.object(&key));
        }
        let io = |e: std::io::Error| format!("store error in sub-step `{}`: {e}", sub.label);
        let _lock = self.store.lock(&key).map_err(io)?;
        match self.store.health(&key, Depth::Quick) {
            Some(Health::Intact | Health::Unverified) => return Ok(self.store.object(&key)),
            Some(Health::Damaged(why)) => {
                self.progress.println(&format!(
                    "  store entry of {} / {} ({key}) is damaged: {why}; computing it again",
                    self.step_name, sub.label
                ));
                self.store.discard(&key).map_err(io)?;
            }
            None => {}
        }
        let dir = self.store.prepare_staging(&key).map_err(io)?;
        let started = now_rfc3339();
        let t0 = std::time::Instant::now();
        let metrics = f(&dir, &dir.join("checkpoints"))?;
        let args = match &sub.deps {
            serde_json::Value::Object(m) => m.clone().into_iter().collect(),
            other => [("deps".to_string(), other.clone())].into_iter().collect(),
        };
        let record = Record {
            step: format!("{} / {}", self.step_name, sub.label),
            op: format!("{owner}/{}", sub.kind),
            op_version: version,
            key: key.clone(),
            args,
            lotto_version: env!("CARGO_PKG_VERSION").to_string(),
            started,
            finished: now_rfc3339(),
            seconds: t0.elapsed().as_secs_f64(),
            metrics,
            ..Default::default()
        };
        self.store.publish(&key, &record, false).map_err(io)
    }

    /// The store key of an input artifact directory (`KEY` or `KEY/portN`).
    pub fn artifact_id(&self, dir: &Path) -> String {
        let objects = self.store.root.join("objects");
        dir.strip_prefix(&objects)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| dir.display().to_string())
    }
    pub fn metric(&mut self, key: &str, v: impl Into<serde_yaml::Value>) {
        self.metrics.insert(key.to_string(), v.into());
    }
}
