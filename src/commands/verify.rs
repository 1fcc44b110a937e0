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
use std::fs::File;
use std::path::Path;

/// Marks a scratch store as in use for as long as its verify runs.
const IN_USE: &str = "in-use.lock";

/// A fresh scratch store under `base` (the store's `verify/` unless
/// `--scratch`), locked while this verify runs and removed when it ends;
/// scratch stores of verifies that were killed (their lock free) are
/// removed first.
fn scratch(base: &Path) -> std::io::Result<(tempfile::TempDir, File)> {
    std::fs::create_dir_all(base)?;
    for e in std::fs::read_dir(base)?.flatten() {
        let p = e.path();
        let ours = e.file_name().to_string_lossy().starts_with("scratch-");
        // Without its lock file yet, a scratch store may be one a verify
        // is just making: only an old one is stale.
        let old = || {
            e.metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 600)
        };
        let stale = match File::open(p.join(IN_USE)) {
            Ok(f) => f.try_lock().is_ok(),
            Err(_) => old(),
        };
        if ours && p.is_dir() && stale {
            let _ = std::fs::remove_dir_all(&p);
        }
    }
    let dir = tempfile::Builder::new()
        .prefix("scratch-")
        .tempdir_in(base)?;
    let lock = File::create(dir.path().join(IN_USE))?;
    lock.lock()?;
    Ok((dir, lock))
}

pub fn run(app: &App, a: &VerifyArgs) -> CmdResult {
    app.open_device()?;
    let (r, tolerance, jobs) = (&a.r, a.tolerance, a.jobs);
    let c = app.check(r, Format::Text)?;
    lockfile::adopt_kernels(app, &r.file)?;
    let store = app.open_store()?;
    let parts = app.keys_rehashed(&c, &store)?;
    let locked = lockfile::enforce(app, &c, &parts, &store, &r.file)?;
    if locked.results.is_empty() {
        return Err(Fail::usage(format!(
            "the lock of `{}` holds no results to verify: run `lotto run {} --lock` first",
            r.file.display(),
            r.file.display()
        )));
    }
    let device = app.numerics();
    let tol = tolerance.unwrap_or(0.0);
    if device != locked.device && tolerance.is_none() {
        eprintln!(
            "note: the lock was made on {} and this run uses {device}; results are compared exactly unless you pass --tolerance",
            locked.device
        );
    }
    let (tmp, _in_use) = scratch(a.scratch.as_deref().unwrap_or(&store.root.join("verify")))
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
