//! Sharing recipes that reproduce: `lotto lock`, `run --locked`, `verify`
//! and `bundle`. The lock format and its comparisons live in the
//! interpreter (`lotto_interpreter::lock`); this module does the I/O.

use crate::{App, RecipeArgs};
use lotto_interpreter::check::Checked;
use lotto_interpreter::exec::{self, RunOpts};
use lotto_interpreter::key::KeyParts;
use lotto_interpreter::lock::{self, Lock};
use lotto_interpreter::paths::BUNDLE_MARKER;
use lotto_interpreter::store::Store;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

impl App {
    fn recipe_abs(&self, file: &Path) -> PathBuf {
        std::env::current_dir().unwrap().join(file)
    }

    /// The CPU numerics a lock records: on flex, the CPU's matrix-product
    /// kernels and L1 cache; nothing on GPUs.
    fn cpu_numerics(&self) -> String {
        if lotto_stdlib::device::kind(&self.device) == "flex" {
            lotto_stdlib::device::cpu_numerics()
        } else {
            String::new()
        }
    }

    /// The lock the recipe would get now, from the given store's records.
    pub(crate) fn current_lock(
        &self,
        c: &Checked,
        parts: &[KeyParts],
        store: &Store,
        file: &Path,
    ) -> Lock {
        lock::build(
            c,
            parts,
            &self.reg,
            store,
            &self.recipe_rel(file),
            lotto_stdlib::device::kind(&self.device),
            &self.cpu_numerics(),
        )
    }

    /// Writes the lock unless its bytes would not change (keeps its mtime).
    pub(crate) fn write_lock(&self, file: &Path, l: &Lock) -> Result<PathBuf, ExitCode> {
        let path = lock::lock_path(&self.recipe_abs(file));
        let text = lock::to_yaml(l);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
            return Ok(path);
        }
        let tmp = path.with_extension(format!("lock.tmp.{}", std::process::id()));
        std::fs::write(&tmp, &text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| fail(format!("cannot write `{}`: {e}", path.display())))?;
        Ok(path)
    }

    /// `--locked`: refuses (exit 1) when the inputs drifted from the lock;
    /// returns the lock it read.
    pub(crate) fn enforce_lock(
        &self,
        c: &Checked,
        parts: &[KeyParts],
        store: &Store,
        file: &Path,
    ) -> Result<Lock, ExitCode> {
        let path = lock::lock_path(&self.recipe_abs(file));
        let locked = lock::read(&path).map_err(fail)?;
        let now = self.current_lock(c, parts, store, file);
        let d = lock::drift(&locked, &now);
        for n in &d.notes {
            eprintln!("warning: {n}");
        }
        if d.refusals.is_empty() {
            return Ok(locked);
        }
        eprintln!(
            "error: the recipe's inputs differ from its lock `{}`:",
            self.recipe_rel(&path)
        );
        for r in &d.refusals {
            eprintln!("  - {r}");
        }
        eprintln!(
            "  = help: if the change is deliberate, update the lock with `lotto lock {}` (and share the new lock); otherwise restore the data or lotto version the lock names",
            file.display()
        );
        Err(ExitCode::from(1))
    }
}

pub fn lock_cmd(app: &App, r: &RecipeArgs) -> Result<(), ExitCode> {
    let c = app.check(r, crate::Format::Text)?;
    let store = app.open_store()?;
    let parts = app.keys(&c, &store)?;
    let l = app.current_lock(&c, &parts, &store, &r.file);
    let path = app.write_lock(&r.file, &l)?;
    let missing: Vec<&str> = c
        .steps
        .iter()
        .zip(&parts)
        .filter(|(_, p)| !store.is_published(&p.key()))
        .map(|(s, _)| s.name.as_str())
        .collect();
    let files: usize = l.data.values().map(|d| d.files).sum();
    println!(
        "wrote {}: {} op(s), {} param(s), {} data step(s) with {files} file(s), results of {} step(s)",
        app.recipe_rel(&path),
        l.ops.len(),
        l.params.len(),
        l.data.len(),
        l.results.len()
    );
    if !missing.is_empty() {
        println!(
            "{} step(s) have not run, so the lock has no results for them: run `lotto run {} --lock`",
            missing.len(),
            r.file.display()
        );
    }
    Ok(())
}

pub fn verify(
    app: &App,
    r: &RecipeArgs,
    tolerance: Option<f64>,
    scratch: Option<&Path>,
    jobs: usize,
) -> Result<(), ExitCode> {
    if let Err(e) = lotto_stdlib::device::open(&app.device) {
        return Err(fail(e));
    }
    let c = app.check(r, crate::Format::Text)?;
    let store = app.open_store()?;
    let parts = app.keys(&c, &store)?;
    let locked = app.enforce_lock(&c, &parts, &store, &r.file)?;
    if locked.results.is_empty() {
        return Err(fail(format!(
            "the lock of `{}` holds no results to verify: run `lotto run {} --lock` first",
            r.file.display(),
            r.file.display()
        )));
    }
    let device = format!("{}/f32", lotto_stdlib::device::kind(&app.device));
    let tol = tolerance.unwrap_or(0.0);
    if device != locked.device && tolerance.is_none() {
        eprintln!(
            "note: the lock was made on {} and this run uses {device}; results are compared exactly unless you pass --tolerance",
            locked.device
        );
    }
    let tmp = match scratch {
        Some(d) => tempfile::Builder::new()
            .prefix("lotto-verify-")
            .tempdir_in(d),
        None => tempfile::Builder::new().prefix("lotto-verify-").tempdir(),
    }
    .map_err(|e| fail(format!("cannot make a scratch store: {e}")))?;
    let vstore = Store::open(tmp.path()).map_err(|e| fail(format!("scratch store: {e}")))?;
    eprintln!(
        "re-running `{}` from scratch in {} ...",
        r.file.display(),
        tmp.path().display()
    );
    let t0 = std::time::Instant::now();
    let opts = RunOpts {
        jobs,
        export: false,
        ..app.run_opts(&r.file)
    };
    let s = exec::run(&c, &parts, &app.reg, &vstore, &app.ws, &opts);
    crate::print_failures(&s);
    if !s.failed.is_empty() {
        return Err(ExitCode::from(1));
    }
    let measured = app.current_lock(&c, &parts, &vstore, &r.file).results;
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
        eprintln!(
            "error: {bad} result(s) differ from the lock `{}`: the recipe did not reproduce",
            app.recipe_rel(&lock::lock_path(&app.recipe_abs(&r.file)))
        );
        return Err(ExitCode::from(1));
    }
    Ok(())
}

/// What `lotto bundle` writes as `lotto-bundle.yaml`: marks the unpacked
/// folder as a bundle (confined runs) and tells the colleague what to map.
#[derive(serde::Serialize)]
struct BundleInfo {
    lotto: String,
    recipe: String,
    lock: String,
    with_data: bool,
    /// The data paths the recipe names: map each with `--data NAME=PATH`
    /// when the bundle carries no data.
    data_paths: Vec<String>,
    files: Vec<String>,
}

pub fn bundle(app: &App, r: &RecipeArgs, out: &Path, with_data: bool) -> Result<(), ExitCode> {
    let c = app.check(r, crate::Format::Text)?;
    let store = app.open_store()?;
    let parts = app.keys(&c, &store)?;
    let lock_file = lock::lock_path(&app.recipe_abs(&r.file));
    if !lock_file.is_file() {
        return Err(fail(format!(
            "`{}` has no lock: run `lotto run {} --lock` (or `lotto lock`) first, so the bundle carries the results to reproduce",
            r.file.display(),
            r.file.display()
        )));
    }
    app.enforce_lock(&c, &parts, &store, &r.file)?;
    let ws = app.ws.canonicalize().unwrap_or(app.ws.clone());
    let rel = |p: &Path, what: &str| -> Result<String, ExitCode> {
        let full = if p.is_absolute() {
            p.to_path_buf()
        } else {
            ws.join(p)
        };
        let canon = full.canonicalize().unwrap_or(full.clone());
        canon
            .strip_prefix(&ws)
            .map(|x| x.display().to_string())
            .map_err(|_| {
                fail(format!(
                    "{what} `{}` is outside the workspace `{}`, so a bundle cannot carry it; move it into the workspace",
                    full.display(),
                    ws.display()
                ))
            })
    };
    let mut files: BTreeSet<String> = BTreeSet::new();
    for f in &c.files {
        files.insert(rel(f, "recipe")?);
    }
    files.insert(rel(&lock_file, "lock")?);
    let mut data_paths = BTreeSet::new();
    for s in &c.steps {
        data_paths.extend(app.data_paths(s).into_iter().map(str::to_string));
        if with_data {
            let op = app.reg.get(s.op).expect("checked op");
            let reads = op
                .reads(&s.args, &app.ws)
                .map_err(|e| fail(format!("step `{}`: {e}", s.name)))?;
            for (full, _) in reads {
                files.insert(rel(&full, &format!("data of step `{}`", s.name))?);
            }
        }
    }
    let info = BundleInfo {
        lotto: env!("CARGO_PKG_VERSION").to_string(),
        recipe: app.recipe_rel(&r.file),
        lock: rel(&lock_file, "lock")?,
        with_data,
        data_paths: data_paths.into_iter().collect(),
        files: files.iter().cloned().collect(),
    };
    let marker = serde_yaml::to_string(&info).unwrap_or_default();
    write_tar_gz(out, &ws, &files, &marker)
        .map_err(|e| fail(format!("cannot write `{}`: {e}", out.display())))?;
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    println!(
        "wrote {}: {} file(s){}, {:.1} MB",
        out.display(),
        files.len() + 1,
        if with_data {
            " with data"
        } else {
            ", no data (map it with --data NAME=PATH)"
        },
        size as f64 / 1e6
    );
    Ok(())
}

/// A deterministic tar.gz: sorted paths, mtime 0, owner 0, mode 0644, so
/// bundling the same files twice gives the same bytes.
fn write_tar_gz(
    out: &Path,
    ws: &Path,
    files: &BTreeSet<String>,
    marker: &str,
) -> std::io::Result<()> {
    let tmp = out.with_extension(format!("tmp.{}", std::process::id()));
    let f = std::fs::File::create(&tmp)?;
    let gz = flate2::write::GzEncoder::new(f, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut add = |name: &str, bytes: &[u8]| -> std::io::Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, name, bytes)
    };
    add(BUNDLE_MARKER, marker.as_bytes())?;
    for name in files {
        add(name, &std::fs::read(ws.join(name))?)?;
    }
    let gz = tar.into_inner()?;
    gz.finish()?.sync_all()?;
    std::fs::rename(&tmp, out)
}
