//! `lotto verify`: re-runs the recipe from scratch in a scratch store and
//! compares every result with its lock.

use crate::app::App;
use crate::cli::{Format, VerifyArgs};
use crate::error::{CmdResult, Fail};
use crate::lockfile;
use crate::output::print_failures;
use lotto_interpreter::exec::{self, RunOpts};
use lotto_interpreter::lock;
use lotto_interpreter::store::Store;

pub fn run(app: &App, a: &VerifyArgs) -> CmdResult {
    app.open_device()?;
    let (r, tolerance, jobs) = (&a.r, a.tolerance, a.jobs);
    let c = app.check(r, Format::Text)?;
    let store = app.open_store()?;
    let parts = app.keys(&c, &store)?;
    let locked = lockfile::enforce(app, &c, &parts, &store, &r.file)?;
    if locked.results.is_empty() {
        return Err(Fail::usage(format!(
            "the lock of `{}` holds no results to verify: run `lotto run {} --lock` first",
            r.file.display(),
            r.file.display()
        )));
    }
    let device = format!("{}/f32", app.device_kind());
    let tol = tolerance.unwrap_or(0.0);
    if device != locked.device && tolerance.is_none() {
        eprintln!(
            "note: the lock was made on {} and this run uses {device}; results are compared exactly unless you pass --tolerance",
            locked.device
        );
    }
    let tmp = match &a.scratch {
        Some(d) => tempfile::Builder::new()
            .prefix("lotto-verify-")
            .tempdir_in(d),
        None => tempfile::Builder::new().prefix("lotto-verify-").tempdir(),
    }
    .map_err(|e| Fail::usage(format!("cannot make a scratch store: {e}")))?;
    let vstore = Store::open(tmp.path()).map_err(|e| Fail::usage(format!("scratch store: {e}")))?;
    eprintln!(
        "re-running `{}` from scratch in {} ...",
        r.file.display(),
        tmp.path().display()
    );
    let t0 = std::time::Instant::now();
    let opts = RunOpts {
        jobs,
        export: false,
        ..app.run_opts(r)
    };
    let s = exec::run(&c, &parts, &app.reg, &vstore, &app.ws, &opts);
    print_failures(&s);
    if !s.failed.is_empty() {
        return Err(Fail::reported(1));
    }
    let measured = lockfile::current(app, &c, &parts, &vstore, &r.file).results;
    let rows = lock::compare(&locked.results, &measured, tol);
    let w = rows
        .iter()
        .map(|x| x.step.len() + x.metric.len() + 1)
        .max()
        .unwrap_or(10)
        .min(60);
    println!(
        "{:<w$}  {:>12}  {:>12}  {:>8}  ",
        "result", "locked", "measured", "diff"
    );
    for x in &rows {
        println!(
            "{:<w$}  {:>12}  {:>12}  {:>8}  {}",
            format!("{}.{}", x.step, x.metric),
            x.locked,
            x.measured,
            x.diff.map(|d| format!("{d:.4}")).unwrap_or_default(),
            if x.ok { "ok" } else { "DIFFERS" }
        );
    }
    let bad = rows.iter().filter(|x| !x.ok).count();
    println!(
        "{} of {} result(s) match the lock (tolerance {tol}; re-run took {:.1}s)",
        rows.len() - bad,
        rows.len(),
        t0.elapsed().as_secs_f64()
    );
    if bad > 0 {
        return Err(Fail::failed(format!(
            "{bad} result(s) differ from the lock `{}`: the recipe did not reproduce",
            app.recipe_rel(&lockfile::path(app, &r.file))
        )));
    }
    Ok(())
}
