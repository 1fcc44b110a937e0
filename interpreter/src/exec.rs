//! The local executor: runs the steps a plan marks, in dependency order,
//! independent steps in parallel, each under its per-key lock, publishing
//! through the store's atomic rename.

use crate::integrity::{Depth, Health};
use crate::key_parts::KeyParts;
use crate::program::{Checked, Step};
use crate::progress::Progress;
use crate::record::Record;
use crate::registry::Registry;
use crate::run_ctx::RunCtx;
use crate::store::{now_rfc3339, Store};
use crate::value::StepRef;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

pub struct RunOpts {
    /// Steps run at once (at least 1).
    pub jobs: usize,
    /// Steps to rerun even if cached.
    pub force: BTreeSet<usize>,
    /// Only these steps and what they need.
    pub only: Option<BTreeSet<usize>>,
    /// The `--device` name as given (`cuda:1`): ops open this device.
    /// Keys name only its kind's numerics, so which GPU ran is not part
    /// of a result's identity.
    pub device: String,
    /// The recipe path relative to the workspace (names steps in records).
    pub recipe: String,
    pub show_bars: bool,
    /// Copy reports to their paths in the workspace (`verify` does not).
    pub export: bool,
    /// Where the step ran, for its record (`slurm job 42`), if not here.
    pub job: Option<String>,
    /// Reports may be written outside the workspace (`--allow-outside`;
    /// never in a bundle).
    pub allow_outside: bool,
}

#[derive(Debug, Default)]
pub struct RunSummary {
    pub ran: Vec<String>,
    pub cached: Vec<String>,
    /// Steps whose result was an earlier entry's, computed from equal
    /// input results under another key.
    pub reused: Vec<String>,
    /// Step name, its `file:line:col`, and the error.
    pub failed: Vec<(String, String, String)>,
    /// Steps not run because an input failed.
    pub skipped: Vec<String>,
}

enum Outcome {
    Ran(f64),
    Cached,
    Reused,
    Failed(String),
}

/// The artifact directory of one output port of a published step.
pub fn port_dir(store: &Store, keys: &[String], r: StepRef) -> PathBuf {
    let obj = store.object(&keys[r.step]);
    let p = obj.join(format!("port{}", r.port));
    if r.port > 0 || p.is_dir() {
        p
    } else {
        obj
    }
}

/// The steps `targets` need, themselves included.
pub fn upstream(checked: &Checked, targets: &BTreeSet<usize>) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    let mut stack: Vec<usize> = targets.iter().copied().collect();
    while let Some(i) = stack.pop() {
        if out.insert(i) {
            stack.extend(checked.steps[i].deps().into_iter().map(|r| r.step));
        }
    }
    out
}

/// What every step of one run shares: the program and its keys, the ops,
/// the store and the options.
struct Runner<'a> {
    checked: &'a Checked,
    parts: &'a [KeyParts],
    keys: Vec<String>,
    reg: &'a Registry,
    store: &'a Store,
    workspace: &'a Path,
    opts: &'a RunOpts,
    progress: Progress,
}

impl<'a> Runner<'a> {
    fn new(
        checked: &'a Checked,
        parts: &'a [KeyParts],
        reg: &'a Registry,
        store: &'a Store,
        workspace: &'a Path,
        opts: &'a RunOpts,
    ) -> Self {
        Runner {
            checked,
            parts,
            keys: parts.iter().map(|p| p.key()).collect(),
            reg,
            store,
            workspace,
            opts,
            progress: Progress::new(opts.show_bars),
        }
    }
}

pub fn run(
    checked: &Checked,
    parts: &[KeyParts],
    reg: &Registry,
    store: &Store,
    workspace: &Path,
    opts: &RunOpts,
) -> RunSummary {
    let runner = Runner::new(checked, parts, reg, store, workspace, opts);
    let progress = &runner.progress;
    // While steps run, `lotto gc` waits: it must not delete what they read.
    let _shared = match store.lock_shared() {
        Ok(l) => l,
        Err(e) => {
            let mut summary = RunSummary::default();
            summary.failed.push((
                "(store)".into(),
                store.root.display().to_string(),
                format!("cannot lock the store: {e}"),
            ));
            return summary;
        }
    };
    let selected: BTreeSet<usize> = match &opts.only {
        Some(only) => upstream(checked, only),
        None => (0..checked.steps.len()).collect(),
    };
    let mut waiting: BTreeMap<usize, usize> = BTreeMap::new();
    let mut readers: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &i in &selected {
        let deps: BTreeSet<usize> = checked.steps[i]
            .deps()
            .into_iter()
            .map(|r| r.step)
            .collect();
        waiting.insert(i, deps.len());
        for d in deps {
            readers.entry(d).or_default().push(i);
        }
    }
    let mut ready: VecDeque<usize> = crate::graph::topo_order(&checked.steps)
        .into_iter()
        .filter(|i| waiting.get(i) == Some(&0))
        .collect();
    let mut summary = RunSummary::default();
    let mut failed_steps: BTreeSet<usize> = BTreeSet::new();
    let (tx, rx) = mpsc::channel::<(usize, Outcome)>();
    // `jobs` workers for the whole run, not a thread per step: creating
    // a thread per cached step took about 15% of a no-op resume of 205
    // steps (`lotto bench resume`).
    let jobs = opts.jobs.max(1);
    let (work_tx, work_rx) = mpsc::channel::<usize>();
    let work_rx = std::sync::Mutex::new(work_rx);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let (tx, work_rx, runner) = (tx.clone(), &work_rx, &runner);
            scope.spawn(move || loop {
                // The queue's lock is held while taking a step, never
                // while running one.
                let next = work_rx.lock().map(|rx| rx.recv());
                let Ok(Ok(i)) = next else { return };
                let _ = tx.send((i, runner.run_step(i)));
            });
        }
        let mut running = 0usize;
        loop {
            while running < jobs {
                let Some(i) = ready.pop_front() else { break };
                running += 1;
                work_tx
                    .send(i)
                    .expect("the workers live until the run ends");
            }
            if running == 0 {
                // Closing the queue ends the workers.
                drop(work_tx);
                break;
            }
            let (i, outcome) = rx.recv().expect("a worker always reports");
            running -= 1;
            let s = &checked.steps[i];
            match outcome {
                Outcome::Ran(secs) => {
                    progress.println(&format!("  ran     {} ({}) in {:.1}s", s.name, s.op, secs));
                    summary.ran.push(s.name.clone());
                }
                Outcome::Cached => {
                    summary.cached.push(s.name.clone());
                }
                Outcome::Reused => {
                    summary.reused.push(s.name.clone());
                }
                Outcome::Failed(e) => {
                    progress.println(&format!("  FAILED  {} ({})", s.name, s.op));
                    summary
                        .failed
                        .push((s.name.clone(), checked.sources.locate(s.span), e));
                    failed_steps.insert(i);
                    continue;
                }
            }
            for &r in readers.get(&i).map(|v| v.as_slice()).unwrap_or(&[]) {
                let w = waiting.get_mut(&r).unwrap();
                *w -= 1;
                if *w == 0 {
                    ready.push_back(r);
                }
            }
        }
    });
    for &i in &selected {
        if waiting[&i] > 0 && !failed_steps.contains(&i) {
            summary.skipped.push(checked.steps[i].name.clone());
        }
    }
    summary
}

/// What became of the one step `run_one` was asked for.
pub enum OneOutcome {
    Ran(f64),
    /// Already published (by another job or process).
    Cached,
    /// Published from an earlier entry computed from equal input results.
    Reused,
}

/// Runs step `i` alone, as a Slurm job does: its inputs must already be
/// published (the scheduler ran them first); nothing upstream is run here.
pub fn run_one(
    checked: &Checked,
    parts: &[KeyParts],
    reg: &Registry,
    store: &Store,
    workspace: &Path,
    opts: &RunOpts,
    i: usize,
) -> Result<OneOutcome, String> {
    let runner = Runner::new(checked, parts, reg, store, workspace, opts);
    let _shared = store
        .lock_shared()
        .map_err(|e| format!("cannot lock the store: {e}"))?;
    let keys = &runner.keys;
    for r in checked.steps[i].deps() {
        if !store.is_intact(&keys[r.step]) {
            return Err(format!(
                "input `{}` of step `{}` is not in the store (key {}); its job must finish first",
                checked.ref_name(r),
                checked.steps[i].name,
                keys[r.step]
            ));
        }
    }
    match runner.run_step(i) {
        Outcome::Ran(secs) => Ok(OneOutcome::Ran(secs)),
        Outcome::Cached => Ok(OneOutcome::Cached),
        Outcome::Reused => Ok(OneOutcome::Reused),
        Outcome::Failed(e) => Err(e),
    }
}

impl Runner<'_> {
    /// Runs step `i` under its key's lock (or finds it published), then
    /// re-materialises its exports.
    fn run_step(&self, i: usize) -> Outcome {
        let key = &self.keys[i];
        let forced = self.opts.force.contains(&i);
        if !forced && self.store.is_intact(key) {
            return self.cached(i);
        }
        let lock = match self.store.lock(key) {
            Ok(l) => l,
            Err(e) => return Outcome::Failed(format!("cannot lock the store entry: {e}")),
        };
        // Another process may have published it while we waited for the
        // lock; a damaged entry is never reused.
        match self.store.health(key, Depth::Quick) {
            Some(Health::Intact | Health::Unverified) if !forced => {
                drop(lock);
                return self.cached(i);
            }
            Some(Health::Damaged(why)) => {
                let name = &self.checked.steps[i].name;
                self.progress.println(&format!(
                    "  store entry of {name} ({key}) is damaged: {why}; computing it again"
                ));
                if let Err(e) = self.store.discard(key) {
                    return Outcome::Failed(format!(
                        "cannot remove the damaged store entry {key}: {e}"
                    ));
                }
            }
            _ => {}
        }
        // Its inputs are published now: the same work on the same results
        // may have been done under another key (another route to equal
        // inputs, or an upstream step that re-ran to the same result).
        let content = self.parts[i].content_key(&|k| self.store.identity(k));
        let earlier = content
            .as_deref()
            .filter(|_| !forced)
            .and_then(|c| self.store.reusable(c, key));
        if let Some(earlier) = earlier {
            let reused = self.reuse(i, &earlier);
            if let (Ok(()), Some(c)) = (&reused, &content) {
                // The newest entry with this result: it outlives the
                // older one when gc removes what recipes no longer reach.
                let _ = self.store.set_content_alias(c, key);
            }
            drop(lock);
            return match reused.map(|()| self.cached(i)) {
                Ok(Outcome::Cached) => Outcome::Reused,
                Ok(other) => other,
                Err(e) => Outcome::Failed(e),
            };
        }
        let result = self.execute(i).and_then(|record| {
            self.store
                .publish(key, &record, forced)
                .map_err(|e| format!("cannot publish the result: {e}"))?;
            if let Some(c) = &content {
                // Only an optimisation for later runs: failing to write it
                // loses nothing.
                let _ = self.store.set_content_alias(c, key);
            }
            Ok(record.seconds)
        });
        drop(lock);
        match result {
            Ok(secs) => {
                self.remember(i);
                match self.export(i) {
                    Ok(()) => Outcome::Ran(secs),
                    Err(e) => Outcome::Failed(e),
                }
            }
            Err(e) => Outcome::Failed(e),
        }
    }

    /// Publishes step `i` (the caller holds its lock) with the files of the
    /// entry `earlier`, which holds the result of the same work on the
    /// same input results.
    fn reuse(&self, i: usize, earlier: &str) -> Result<(), String> {
        let (s, key) = (&self.checked.steps[i], &self.keys[i]);
        let from = self
            .store
            .record(earlier)
            .ok_or_else(|| format!("the entry {earlier} vanished while it was reused"))?;
        let staging = self
            .store
            .prepare_staging(key)
            .map_err(|e| format!("cannot prepare staging directory: {e}"))?;
        let src = self.store.object(earlier);
        for rel in from.artifacts.keys() {
            let (a, b) = (src.join(rel), staging.join(rel));
            if let Some(d) = b.parent() {
                std::fs::create_dir_all(d).map_err(|e| format!("cannot reuse {earlier}: {e}"))?;
            }
            // A hard link shares the sealed, read-only file; a copy where
            // the store spans file systems.
            std::fs::hard_link(&a, &b)
                .or_else(|_| std::fs::copy(&a, &b).map(|_| ()))
                .map_err(|e| format!("cannot reuse `{rel}` of {earlier}: {e}"))?;
        }
        self.progress.println(&format!(
            "  reused  {} ({}): its inputs' results equal those entry {earlier} was computed from",
            s.name, s.op
        ));
        let p = &self.parts[i];
        let record = Record {
            step: s.name.clone(),
            recipe: self.opts.recipe.clone(),
            key: key.clone(),
            args: p.args.clone(),
            inputs: p.inputs.clone(),
            job: self.opts.job.clone(),
            started: now_rfc3339(),
            finished: now_rfc3339(),
            seconds: 0.0,
            reused_from: Some(earlier.to_string()),
            artifacts: Default::default(),
            ..from
        };
        self.store
            .publish(key, &record, false)
            .map(|_| ())
            .map_err(|e| format!("cannot publish the result: {e}"))
    }

    /// A published step (by this run or another process) is a hit: record
    /// its name for `plan`, and re-materialise its exports.
    fn cached(&self, i: usize) -> Outcome {
        self.remember(i);
        match self.export(i) {
            Ok(()) => Outcome::Cached,
            Err(e) => Outcome::Failed(e),
        }
    }

    fn remember(&self, i: usize) {
        let name = &self.checked.steps[i].name;
        self.store
            .remember(&self.opts.recipe, name, &self.keys[i], &self.parts[i]);
    }

    /// Runs the op of step `i` in its staging directory (the caller holds
    /// the lock) and returns the record to publish it with.
    fn execute(&self, i: usize) -> Result<Record, String> {
        let (s, key) = (&self.checked.steps[i], &self.keys[i]);
        let staging = self
            .store
            .prepare_staging(key)
            .map_err(|e| format!("cannot prepare staging directory: {e}"))?;
        let inputs: BTreeMap<StepRef, PathBuf> = s
            .deps()
            .into_iter()
            .map(|r| (r, port_dir(self.store, &self.keys, r)))
            .collect();
        let op = self.reg.get(s.op).expect("checked op exists");
        let started = now_rfc3339();
        let t0 = Instant::now();
        tracing::info!(step = %s.name, op = s.op, key = %key, "running");
        self.progress
            .println(&format!("  running {} ({})", s.name, s.op));
        let checkpoints = staging.join("checkpoints");
        let mut ctx = RunCtx {
            step_name: &s.name,
            op: s.op,
            args: &s.args,
            inputs: &inputs,
            input_names: s
                .deps()
                .into_iter()
                .map(|r| (r, self.checked.ref_name(r)))
                .collect(),
            out: &staging,
            checkpoints: &checkpoints,
            workspace: self.workspace,
            device: &self.opts.device,
            progress: &self.progress,
            metrics: BTreeMap::new(),
            store: self.store,
            versions: self.reg.versions(),
            refs: vec![],
        };
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| op.run(&mut ctx)))
            .unwrap_or_else(|p| {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Err(format!(
                    "internal error in op `{}` (please report it): {msg}",
                    s.op
                ))
            })?;
        let secs = t0.elapsed().as_secs_f64();
        let mut refs = std::mem::take(&mut ctx.refs);
        let metrics = std::mem::take(&mut ctx.metrics);
        if !refs.is_empty() {
            refs.sort();
            refs.dedup();
            std::fs::write(staging.join("refs.txt"), refs.join("\n"))
                .map_err(|e| format!("cannot write refs: {e}"))?;
        }
        let p = &self.parts[i];
        let record = Record {
            step: s.name.clone(),
            recipe: self.opts.recipe.clone(),
            op: s.op.to_string(),
            op_version: p.op_version,
            key: key.clone(),
            args: p.args.clone(),
            inputs: p.inputs.clone(),
            files: p.files.len(),
            device: p.device.clone(),
            lotto_version: env!("CARGO_PKG_VERSION").to_string(),
            started,
            finished: now_rfc3339(),
            seconds: (secs * 1000.0).round() / 1000.0,
            metrics,
            outputs: s.outputs.iter().map(|o| o.0.clone()).collect(),
            job: self.opts.job.clone(),
            artifacts: Default::default(),
            reused_from: None,
        };
        Ok(record)
    }

    /// A step whose op exports (reports) has its `export/` artifact copied
    /// to the workspace folder its argument names, on every run, cached or
    /// not.
    fn export(&self, i: usize) -> Result<(), String> {
        if !self.opts.export {
            return Ok(());
        }
        let s: &Step = &self.checked.steps[i];
        let sig = self.reg.get(s.op).expect("checked op exists").sig();
        let Some(dest) = sig
            .exports_to
            .and_then(|p| s.args.get(p))
            .and_then(|v| v.as_str())
        else {
            return Ok(());
        };
        let src = self.store.object(&self.keys[i]).join("export");
        if !src.is_dir() {
            return Ok(());
        }
        let dest = self.workspace.join(dest);
        self.copy_dir(&src, &dest)
            .map_err(|e| format!("cannot write the report to `{}`: {e}", dest.display()))
    }

    /// Copies an export into the workspace, checking every folder and file
    /// it writes (`paths::check_write`) before writing it.
    fn copy_dir(&self, src: &Path, dest: &Path) -> Result<(), String> {
        let check = |p: &Path| {
            crate::paths::check_write(self.workspace, &self.store.root, p, self.opts.allow_outside)
        };
        check(dest)?;
        std::fs::create_dir_all(dest).map_err(|e| e.to_string())?;
        for e in std::fs::read_dir(src).map_err(|e| e.to_string())? {
            let e = e.map_err(|e| e.to_string())?;
            let to = dest.join(e.file_name());
            check(&to)?;
            if e.file_type().map_err(|e| e.to_string())?.is_dir() {
                self.copy_dir(&e.path(), &to)?;
            } else {
                copy_file(&e.path(), &to).map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }
}

/// Copies one file as a fresh, writable file (the store's copy is
/// read-only), replacing what was there.
fn copy_file(from: &Path, to: &Path) -> std::io::Result<()> {
    if to.symlink_metadata().is_ok() {
        std::fs::remove_file(to)?;
    }
    std::fs::write(to, std::fs::read(from)?)
}
