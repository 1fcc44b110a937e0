//! `lotto run --executor slurm`: submits each step as a Slurm job with
//! `afterok` dependencies and follows the jobs. The submission logic lives
//! in the interpreter (`lotto_interpreter::slurm`); this module talks to
//! the user.

use crate::app::App;
use crate::cli::RunArgs;
use crate::error::{CmdResult, Fail};
use lotto_interpreter::key_parts::KeyParts;
use lotto_interpreter::program::Checked;
use lotto_interpreter::slurm::{self, Job, JobState, SlurmOpts};
use lotto_interpreter::store::Store;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What a job's state reads as in `run` and `status`.
pub fn label(st: &JobState, published: bool) -> (&'static str, String) {
    match st {
        JobState::Pending(r) if r == "None" || r.is_empty() => ("queued", String::new()),
        JobState::Pending(r)
            if ["PartitionConfig", "BadConstraints", "PartitionNodeLimit", "ReqNodeNotAvail"]
                .iter()
                .any(|x| r.starts_with(x)) =>
        {
            (
                "queued",
                format!("waiting: {r}: no node can give the cpus/mem/gpus it asks; lower them in RECIPE.slurm.yaml, then scancel and rerun"),
            )
        }
        JobState::Pending(r) => ("queued", format!("waiting: {r}")),
        JobState::Running => ("running", String::new()),
        JobState::Completed if published => ("done", String::new()),
        JobState::Completed => ("failed", "the job ended but published nothing".into()),
        JobState::Failed(s) => ("failed", s.clone()),
        JobState::Cancelled(r) if r.contains("Dependency") => {
            ("cancelled", "an input's job failed or was cancelled".into())
        }
        JobState::Cancelled(_) => ("cancelled", String::new()),
        JobState::Unknown if published => ("done", String::new()),
        JobState::Unknown => ("failed", "Slurm no longer knows the job; see its log".into()),
    }
}

/// Submits the selected steps (those not cached, or forced) as jobs, then
/// follows them unless `--detach`. `steps` are the selected and the forced
/// steps.
pub fn run(
    app: &App,
    a: &RunArgs,
    c: &Checked,
    parts: &[KeyParts],
    store: &Store,
    steps: (BTreeSet<usize>, BTreeSet<usize>),
) -> CmdResult {
    let r = &a.r;
    let (selected, force) = steps;
    let recipe_abs = app.recipe_abs(&r.file);
    let recipe_abs = recipe_abs.canonicalize().unwrap_or(recipe_abs);
    let overrides = slurm::read_overrides(&slurm::overrides_path(&recipe_abs), c, &app.reg)
        .map_err(Fail::usage)?;
    let exe = std::env::current_exe()
        .map_err(|e| Fail::usage(format!("cannot find the lotto binary: {e}")))?;
    let store_abs = store.root.canonicalize().unwrap_or(store.root.clone());
    let mut command = vec![
        exe.display().to_string(),
        "--workspace".into(),
        app.ws.display().to_string(),
        "--store".into(),
        store_abs.display().to_string(),
    ];
    command.extend(app.numeric_args());
    for m in lotto_interpreter::paths::map_args() {
        command.push("--data".into());
        command.push(m);
    }
    let opts = SlurmOpts {
        partition: a.partition.clone(),
        account: a.account.clone(),
        extra: a
            .slurm_opt
            .iter()
            .flat_map(|s| s.split_whitespace().map(str::to_string))
            .collect(),
        command,
        recipe: recipe_abs,
        set: r.set.clone(),
        gpu: app.device_kind() != "flex",
        overrides,
        recipe_rel: app.recipe_rel(&r.file),
        selected,
        force,
    };
    let jobs = slurm::submit(c, parts, &app.reg, store, &opts).map_err(Fail::failed)?;
    let cached = opts.selected.len() - jobs.len();
    if jobs.is_empty() {
        println!("nothing to submit: all {cached} step(s) are cached");
        return Ok(());
    }
    let fresh = jobs.iter().filter(|j| !j.reused).count();
    println!(
        "submitted {fresh} job(s) to Slurm ({} already queued or running, {cached} cached):",
        jobs.len() - fresh
    );
    for j in &jobs {
        let s = &c.steps[j.step];
        let after = if j.after.is_empty() {
            String::new()
        } else {
            format!("  after {}", j.after.join(":"))
        };
        let again = if j.reused {
            "  (submitted earlier)"
        } else {
            ""
        };
        println!("  job {:<8} {} ({}){after}{again}", j.id, s.name, s.op);
    }
    if a.detach {
        let set: String = r.set.iter().map(|kv| format!(" --set {kv}")).collect();
        println!(
            "detached: `lotto status {}{set}` shows progress; job logs are under {}",
            r.file.display(),
            store.root.join("logs").display()
        );
        return Ok(());
    }
    follow(c, parts, store, &jobs, &r.file)
}

/// Follows the jobs until each has ended, printing every change of state.
/// Ctrl-C asks whether to `scancel` what has not ended.
fn follow(c: &Checked, parts: &[KeyParts], store: &Store, jobs: &[Job], file: &Path) -> CmdResult {
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    let ids: Vec<String> = jobs.iter().map(|j| j.id.clone()).collect();
    let mut shown: BTreeMap<String, &'static str> = BTreeMap::new();
    let t0 = std::time::Instant::now();
    loop {
        let states = slurm::states(&ids).map_err(Fail::usage)?;
        let mut active = vec![];
        for j in jobs {
            let s = &c.steps[j.step];
            let key = parts[j.step].key();
            let st = &states[&j.id];
            let (l, why) = label(st, store.is_intact(&key));
            if st.is_active() {
                active.push(j.id.clone());
            }
            if shown.get(&j.id) != Some(&l) {
                shown.insert(j.id.clone(), l);
                let why = if why.is_empty() {
                    String::new()
                } else {
                    format!(" ({why})")
                };
                eprintln!("  job {:<8} {:<9} {}{why}", j.id, l, s.name);
                if l == "failed" {
                    if let Some(sub) = slurm::submission(store, &key) {
                        eprintln!("      log {}:", sub.log.display());
                        for line in slurm::log_tail(&sub.log, 6) {
                            eprintln!("      | {line}");
                        }
                    }
                }
            }
        }
        if active.is_empty() {
            break;
        }
        if stop.load(Ordering::SeqCst) {
            eprint!(
                "\ninterrupted: cancel the {} unfinished job(s) with scancel? [y/N] ",
                active.len()
            );
            let _ = std::io::stderr().flush();
            let mut answer = String::new();
            let _ = std::io::stdin().lock().read_line(&mut answer);
            if answer.trim().eq_ignore_ascii_case("y") || answer.trim().eq_ignore_ascii_case("yes")
            {
                slurm::cancel(&active).map_err(Fail::usage)?;
                eprintln!(
                    "cancelled job(s) {}; rerun to resubmit them",
                    active.join(", ")
                );
            } else {
                eprintln!(
                    "the jobs keep running; `lotto status {}` shows them",
                    file.display()
                );
            }
            return Err(Fail::reported(130));
        }
        std::thread::sleep(std::time::Duration::from_millis(400));
    }
    let count = |w: &str| shown.values().filter(|l| **l == w).count();
    let (done, failed, cancelled) = (count("done"), count("failed"), count("cancelled"));
    println!(
        "{} job(s): {done} done, {failed} failed, {cancelled} cancelled in {:.1}s",
        jobs.len(),
        t0.elapsed().as_secs_f64()
    );
    if failed + cancelled > 0 {
        eprintln!("finished steps are saved; rerun the same command to resubmit only what is not published");
        return Err(Fail::reported(1));
    }
    Ok(())
}
