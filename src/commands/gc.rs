//! `lotto gc`: deletes store entries that no recipe in the workspace
//! reaches (with its default params), keeping the sub-steps their entries
//! reference. It never deletes what a recipe may still need: where a
//! recipe's keys cannot be computed (its data is not here) the entries its
//! records name are kept; a recipe that does not check stops gc unless
//! `--force`. It holds the store to itself, so it never races a run, and
//! its scan of the workspace follows no symbolic link.

use crate::app::App;
use crate::error::{CmdResult, Fail};
use lotto_interpreter::check::{check_file, CheckOpts};
use lotto_interpreter::digest::DigestCache;
use lotto_interpreter::keys;
use lotto_interpreter::store::Store;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub fn run(app: &App, dry_run: bool, force: bool) -> CmdResult {
    if !app.store_root.join("objects").is_dir() {
        println!(
            "no store at `{}`: nothing to collect",
            app.store_root.display()
        );
        return Ok(());
    }
    let store = app.open_store()?;
    let _excl = store
        .try_lock_exclusive()
        .map_err(|e| Fail::usage(format!("cannot lock the store: {e}")))?
        .ok_or_else(|| {
            Fail::failed("a lotto run is using the store; run gc once it has finished")
        })?;
    let mut recipes = vec![];
    find_recipes(&app.ws, &store.root, &mut recipes);
    let mut keep: BTreeSet<String> = BTreeSet::new();
    let mut broken = vec![];
    for r in &recipes {
        match reachable(app, &store, r) {
            Ok(keys) => keep.extend(keys),
            Err(why) => broken.push(format!("`{}`: {why}", app.recipe_rel(r))),
        }
    }
    if !broken.is_empty() {
        for b in &broken {
            eprintln!("warning: {b}");
        }
        if !force {
            return Err(Fail::failed(format!(
                "gc cannot tell what {} recipe(s) above still need, so it deletes nothing; fix them, or pass --force to leave their entries unprotected",
                broken.len()
            )));
        }
    }
    let mut stack: Vec<String> = keep.iter().cloned().collect();
    while let Some(k) = stack.pop() {
        if let Ok(refs) = std::fs::read_to_string(store.object(&k).join("refs.txt")) {
            for r in refs.lines() {
                if keep.insert(r.to_string()) {
                    stack.push(r.to_string());
                }
            }
        }
    }
    let dead: Vec<String> = store
        .keys()
        .into_iter()
        .filter(|k| !keep.contains(k))
        .collect();
    let mut bytes = 0;
    for k in &dead {
        let size = store.size(k);
        bytes += size;
        let what = store
            .record(k)
            .map(|r| format!("{} ({})", r.step, r.op))
            .unwrap_or_default();
        println!(
            "{} {k} {what} {:.1} MB",
            if dry_run { "would delete" } else { "delete" },
            size as f64 / 1e6
        );
        if !dry_run {
            if let Err(e) = store.remove(k) {
                eprintln!("  kept {k}: {e}");
            }
        }
    }
    if !dry_run {
        store.prune_content_aliases();
    }
    println!(
        "{} entr{} {:.1} MB, {} kept ({} recipe(s) scanned)",
        dead.len(),
        if dead.len() == 1 { "y" } else { "ies" },
        bytes as f64 / 1e6,
        keep.len(),
        recipes.len()
    );
    Ok(())
}

/// The keys a recipe reaches. Steps whose key cannot be computed (their
/// data, or an input's, is not here) keep every entry whose record names
/// this recipe and step; a recipe that does not check is an error.
fn reachable(app: &App, store: &Store, recipe: &Path) -> Result<Vec<String>, String> {
    let c = check_file(recipe, &app.ws, &app.reg, &CheckOpts::default()).map_err(|(d, _)| {
        format!(
            "it does not check ({} error(s)); `lotto check` shows them",
            d.len()
        )
    })?;
    let digests = DigestCache::open(&store.root.join("digests.json"));
    let (parts, errors) = keys::compute_partial(&c, &app.reg, &app.ws, &digests, &app.numerics());
    let mut out: Vec<String> = parts.iter().flatten().map(|p| p.key()).collect();
    let unknown: BTreeSet<&str> = c
        .steps
        .iter()
        .zip(&parts)
        .filter(|(_, p)| p.is_none())
        .map(|(s, _)| s.name.as_str())
        .collect();
    if !unknown.is_empty() {
        let rel = app.recipe_rel(recipe);
        let named: Vec<String> = store
            .keys()
            .into_iter()
            .filter(|k| {
                store
                    .record(k)
                    .is_some_and(|r| r.recipe == rel && unknown.contains(r.step.as_str()))
            })
            .collect();
        let why = errors
            .first()
            .map(|(_, d)| d.message.clone())
            .unwrap_or_default();
        eprintln!(
            "warning: `{rel}`: {} step(s) have no key here ({why}); kept the {} entr{} their records name",
            unknown.len(),
            named.len(),
            if named.len() == 1 { "y" } else { "ies" }
        );
        out.extend(named);
    }
    Ok(out)
}

/// Every `.lotto` file under `dir`, following no symbolic link (a link
/// out of the workspace or around a loop is not scanned).
fn find_recipes(dir: &Path, store: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        let Ok(ty) = e.file_type() else {
            continue;
        };
        if p == store || name.starts_with('.') || name == "target" || ty.is_symlink() {
            continue;
        }
        if ty.is_dir() {
            find_recipes(&p, store, out);
        } else if ty.is_file() && name.ends_with(".lotto") {
            out.push(p);
        }
    }
}
