//! The recipe's lock file as the commands use it: build the lock the
//! recipe would get now, write it, and refuse a run whose inputs drifted
//! (`--locked`, `verify`, `bundle`). The lock format and its comparisons
//! live in the interpreter (`lotto_interpreter::lock`).

use crate::app::App;
use crate::error::Fail;
use lotto_interpreter::key_parts::KeyParts;
use lotto_interpreter::lock::{self, Lock};
use lotto_interpreter::program::Checked;
use lotto_interpreter::store::Store;
use std::path::{Path, PathBuf};

/// The CPU numerics a lock records: with native kernels on flex, the
/// CPU's kernel family and L1 cache; nothing with the portable kernels
/// (they depend on neither) or on GPUs.
fn cpu_numerics(app: &App) -> String {
    if lotto_stdlib::device::kernels_of(&app.numerics())
        == Some(lotto_stdlib::device::Kernels::Native)
    {
        lotto_stdlib::device::cpu_numerics()
    } else {
        String::new()
    }
}

/// `verify` and `run --locked` compute with the CPU kernels the lock's
/// results were computed with, so that a lock reproduces as it was made.
/// A `--kernels` that names others is refused: its numbers could not match.
/// Without a readable lock nothing changes (the command then says what is
/// missing).
pub fn adopt_kernels(app: &App, file: &Path) -> Result<(), Fail> {
    if app.device_kind() != "flex" && app.device_kind() != "cpu" {
        return Ok(());
    }
    let Ok(locked) = lock::read(&path(app, file)) else {
        return Ok(());
    };
    let Some(k) = lotto_stdlib::device::kernels_of(&locked.device) else {
        return Ok(());
    };
    if let Some(asked) = app.kernels.filter(|a| *a != k) {
        return Err(Fail::usage(format!(
            "the lock `{}` was made with the {} CPU kernels, but --kernels {} was given: its results can only be reproduced with {} kernels (leave --kernels out)",
            app.recipe_rel(&path(app, file)),
            k.name(),
            asked.name(),
            k.name()
        )));
    }
    lotto_stdlib::device::set_kernels(k);
    Ok(())
}

/// The lock the recipe would get now, from the given store's records.
pub fn current(app: &App, c: &Checked, parts: &[KeyParts], store: &Store, file: &Path) -> Lock {
    lock::build(
        c,
        parts,
        &app.reg,
        store,
        &app.recipe_rel(file),
        &app.numerics(),
        &cpu_numerics(app),
    )
}

/// The lock file of a recipe.
pub fn path(app: &App, file: &Path) -> PathBuf {
    lock::lock_path(&app.recipe_abs(file))
}

/// Writes the lock unless its bytes would not change (keeps its mtime).
pub fn write(app: &App, file: &Path, l: &Lock) -> Result<PathBuf, Fail> {
    let path = path(app, file);
    let text = lock::to_yaml(l);
    if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
        return Ok(path);
    }
    let tmp = path.with_extension(format!("lock.tmp.{}", std::process::id()));
    std::fs::write(&tmp, &text)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| Fail::usage(format!("cannot write `{}`: {e}", path.display())))?;
    Ok(path)
}

/// `--locked`: refuses (exit 1) when the inputs drifted from the lock;
/// returns the lock it read.
pub fn enforce(
    app: &App,
    c: &Checked,
    parts: &[KeyParts],
    store: &Store,
    file: &Path,
) -> Result<Lock, Fail> {
    let path = path(app, file);
    let locked = lock::read(&path).map_err(Fail::usage)?;
    let now = current(app, c, parts, store, file);
    let d = lock::drift(&locked, &now);
    for n in &d.notes {
        eprintln!("warning: {n}");
    }
    if d.refusals.is_empty() {
        return Ok(locked);
    }
    eprintln!(
        "error: the recipe's inputs differ from its lock `{}`:",
        app.recipe_rel(&path)
    );
    for r in &d.refusals {
        eprintln!("  - {r}");
    }
    eprintln!(
        "  = help: if the change is deliberate, update the lock with `lotto lock {}` (and share the new lock); otherwise restore the data or lotto version the lock names",
        file.display()
    );
    Err(Fail::reported(1))
}
