//! `lotto run`: runs a recipe here (or as Slurm jobs), reusing every cached
//! step, optionally checked against or writing its lock.

use crate::app::App;
use crate::cli::{Executor, Format, RunArgs};
use crate::error::{CmdResult, Fail};
use crate::lockfile;
use crate::output::{print_failures, print_plan};
use crate::slurm_run;
use lotto_interpreter::exec::{self, RunOpts};
use lotto_interpreter::plan;

pub fn run(app: &App, a: &RunArgs) -> CmdResult {
    app.open_device()?;
    let r = &a.r;
    let c = app.check(r, Format::Text)?;
    let store = app.open_store()?;
    let force = app.resolve_steps(&c, &a.force)?;
    let only = if a.only.is_empty() {
        None
    } else {
        Some(app.resolve_steps(&c, &a.only)?)
    };
    // With --only, only the data those steps need must be readable (the
    // lock check compares every step, so it needs them all).
    let needed = match &only {
        Some(o) if !a.locked => exec::upstream(&c, o),
        _ => (0..c.steps.len()).collect(),
    };
    if a.locked {
        lockfile::adopt_kernels(app, &r.file)?;
    }
    let parts = app.keys_for(&c, &store, &needed)?;
    if a.locked {
        lockfile::enforce(app, &c, &parts, &store, &r.file)?;
    }
    let recipe = app.recipe_rel(&r.file);
    if a.dry_run {
        print_plan(
            &plan::plan(&c, &parts, &store, &recipe, &force),
            Format::Text,
        );
        return Ok(());
    }
    if a.executor == Executor::Slurm {
        if a.lock {
            return Err(Fail::usage(
                "--lock needs the results: run `lotto lock` once the jobs have finished",
            ));
        }
        let selected = match &only {
            Some(o) => exec::upstream(&c, o),
            None => (0..c.steps.len()).collect(),
        };
        return slurm_run::run(app, a, &c, &parts, &store, (selected, force));
    }
    let t0 = std::time::Instant::now();
    let opts = RunOpts {
        jobs: a.jobs,
        force,
        only,
        ..app.run_opts(r)
    };
    let s = exec::run(&c, &parts, &app.reg, &store, &app.ws, &opts);
    print_failures(&s);
    if !s.skipped.is_empty() {
        eprintln!("not run because an input failed: {}", s.skipped.join(", "));
    }
    let reused = match s.reused.len() {
        0 => String::new(),
        n => format!("{n} reused, "),
    };
    println!(
        "{} ran, {reused}{} cached, {} failed in {:.1}s",
        s.ran.len(),
        s.cached.len(),
        s.failed.len(),
        t0.elapsed().as_secs_f64()
    );
    if !s.failed.is_empty() {
        eprintln!("finished steps are saved; rerun the same command to resume");
        return Err(Fail::reported(1));
    }
    if a.lock {
        let l = lockfile::current(app, &c, &parts, &store, &r.file);
        let p = lockfile::write(app, &r.file, &l)?;
        println!("wrote {}", app.recipe_rel(&p));
    }
    Ok(())
}
