//! The local executor: runs the steps a plan marks, in dependency order,
//! independent steps in parallel, each under its per-key lock, publishing
//! through the store's atomic rename.

use crate::check::Checked;
use crate::key::KeyParts;
use crate::progress::Progress;
use crate::registry::{Registry, RunCtx};
use crate::store::{now_rfc3339, Record, Store};
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
    pub device: String,
    /// The recipe path relative to the workspace (names steps in records).
    pub recipe: String,
    pub show_bars: bool,
    /// Copy reports to their paths in the workspace (`verify` does not).
    pub export: bool,
    /// Where the step ran, for its record (`slurm job 42`), if not here.
    pub job: Option<String>,
}

#[derive(Debug, Default)]
pub struct RunSummary {
    pub ran: Vec<String>,
    pub cached: Vec<String>,
    /// Step name, its `file:line:col`, and the error.
    pub failed: Vec<(String, String, String)>,
    /// Steps not run because an input failed.
    pub skipped: Vec<String>,
}

enum Outcome {
    Ran(f64),
    Cached,
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

pub fn run(
    checked: &Checked,
    parts: &[KeyParts],
    reg: &Registry,
    store: &Store,
    workspace: &Path,
    opts: &RunOpts,
) -> RunSummary {
    let keys: Vec<String> = parts.iter().map(|p| p.key()).collect();
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
    let progress = Progress::new(opts.show_bars);
    let mut summary = RunSummary::default();
    let mut failed_steps: BTreeSet<usize> = BTreeSet::new();
    let (tx, rx) = mpsc::channel::<(usize, Outcome)>();
    std::thread::scope(|scope| {
        let mut running = 0usize;
        loop {
            while running < opts.jobs.max(1) {
                let Some(i) = ready.pop_front() else { break };
                running += 1;
                let tx = tx.clone();
                let keys = &keys;
                let progress = &progress;
                scope.spawn(move || {
                    let out = run_step(
                        checked, parts, keys, reg, store, workspace, opts, progress, i,
                    );
                    let _ = tx.send((i, out));
                });
            }
            if running == 0 {
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
    let keys: Vec<String> = parts.iter().map(|p| p.key()).collect();
    for r in checked.steps[i].deps() {
        if !store.is_published(&keys[r.step]) {
            return Err(format!(
                "input `{}` of step `{}` is not in the store (key {}); its job must finish first",
                checked.ref_name(r),
                checked.steps[i].name,
                keys[r.step]
            ));
        }
    }
    let progress = Progress::new(opts.show_bars);
    match run_step(
        checked, parts, &keys, reg, store, workspace, opts, &progress, i,
    ) {
        Outcome::Ran(secs) => Ok(OneOutcome::Ran(secs)),
        Outcome::Cached => Ok(OneOutcome::Cached),
        Outcome::Failed(e) => Err(e),
    }
}

#[allow(clippy::too_many_arguments)]
fn run_step(
    checked: &Checked,
    parts: &[KeyParts],
    keys: &[String],
    reg: &Registry,
    store: &Store,
    workspace: &Path,
    opts: &RunOpts,
    progress: &Progress,
    i: usize,
) -> Outcome {
    let s = &checked.steps[i];
    let key = &keys[i];
    // A published step (by this run or another process) is a hit: record
    // its name for `plan`, and re-materialise its exports.
    let cached = || {
        store.remember(&opts.recipe, &s.name, key, &parts[i]);
        match export(store, key, s, workspace, opts.export) {
            Ok(()) => Outcome::Cached,
            Err(e) => Outcome::Failed(e),
        }
    };
    let forced = opts.force.contains(&i);
    if !forced && store.is_published(key) {
        return cached();
    }
    let lock = match store.lock(key) {
        Ok(l) => l,
        Err(e) => return Outcome::Failed(format!("cannot lock the store entry: {e}")),
    };
    // Another process may have published it while we waited for the lock.
    if !forced && store.is_published(key) {
        drop(lock);
        return cached();
    }
    let staging = match store.prepare_staging(key) {
        Ok(d) => d,
        Err(e) => return Outcome::Failed(format!("cannot prepare staging directory: {e}")),
    };
    let inputs: BTreeMap<StepRef, PathBuf> = s
        .deps()
        .into_iter()
        .map(|r| (r, port_dir(store, keys, r)))
        .collect();
    let op = reg.get(s.op).expect("checked op exists");
    let started = now_rfc3339();
    let t0 = Instant::now();
    tracing::info!(step = %s.name, op = s.op, key = %key, "running");
    progress.println(&format!("  running {} ({})", s.name, s.op));
    let checkpoints = staging.join("checkpoints");
    let mut ctx = RunCtx {
        step_name: &s.name,
        args: &s.args,
        inputs: &inputs,
        input_names: s
            .deps()
            .into_iter()
            .map(|r| (r, checked.ref_name(r)))
            .collect(),
        out: &staging,
        checkpoints: &checkpoints,
        workspace,
        device: &opts.device,
        progress,
        metrics: BTreeMap::new(),
        exported: vec![],
        store,
        refs: vec![],
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| op.run(&mut ctx)));
    let result = match result {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!(
                "internal error in op `{}` (please report it): {msg}",
                s.op
            ))
        }
    };
    if let Err(e) = result {
        return Outcome::Failed(e);
    }
    let secs = t0.elapsed().as_secs_f64();
    if !ctx.refs.is_empty() {
        ctx.refs.sort();
        ctx.refs.dedup();
        if let Err(e) = std::fs::write(staging.join("refs.txt"), ctx.refs.join("\n")) {
            return Outcome::Failed(format!("cannot write refs: {e}"));
        }
    }
    let p = &parts[i];
    let record = Record {
        step: s.name.clone(),
        recipe: opts.recipe.clone(),
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
        metrics: ctx.metrics,
        outputs: s.outputs.iter().map(|o| o.0.clone()).collect(),
        job: opts.job.clone(),
    };
    if let Err(e) = store.publish(key, &record, forced) {
        return Outcome::Failed(format!("cannot publish the result: {e}"));
    }
    drop(lock);
    store.remember(&opts.recipe, &s.name, key, p);
    match export(store, key, s, workspace, opts.export) {
        Ok(()) => Outcome::Ran(secs),
        Err(e) => Outcome::Failed(e),
    }
}

/// Steps with an `export/` artifact (reports) are copied to their `path`
/// argument in the workspace, on every run, cached or not.
fn export(
    store: &Store,
    key: &str,
    s: &crate::check::Step,
    workspace: &Path,
    enabled: bool,
) -> Result<(), String> {
    if !enabled {
        return Ok(());
    }
    let src = store.object(key).join("export");
    let Some(dest) = s.args.get("path").and_then(|v| v.as_str()) else {
        return Ok(());
    };
    if !src.is_dir() {
        return Ok(());
    }
    let dest = workspace.join(dest);
    crate::paths::check_write(workspace, &dest)?;
    copy_dir(&src, &dest)
        .map_err(|e| format!("cannot write the report to `{}`: {e}", dest.display()))
}

fn copy_dir(src: &Path, dest: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dest)?;
    for e in std::fs::read_dir(src)? {
        let e = e?;
        let to = dest.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &to)?;
        } else {
            std::fs::copy(e.path(), &to)?;
        }
    }
    Ok(())
}
