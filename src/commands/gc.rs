//! `lotto gc`: deletes store entries that no recipe in the workspace
//! reaches (with its default params), keeping the sub-steps their entries
//! reference.

use crate::app::App;
use crate::error::CmdResult;
use lotto_interpreter::check::{check_file, CheckOpts};
use lotto_interpreter::digest::DigestCache;
use lotto_interpreter::keys;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub fn run(app: &App, dry_run: bool) -> CmdResult {
    let store = app.open_store()?;
    let mut recipes = vec![];
    find_recipes(&app.ws, &store.root, &mut recipes);
    let mut keep: BTreeSet<String> = BTreeSet::new();
    for r in &recipes {
        let Ok(c) = check_file(r, &app.ws, &app.reg, &CheckOpts::default()) else {
            eprintln!(
                "warning: `{}` does not check; its entries are not protected",
                r.display()
            );
            continue;
        };
        let digests = DigestCache::open(&store.root.join("digests.json"));
        if let Ok(parts) = keys::compute(&c, &app.reg, &app.ws, &digests, app.device_kind()) {
            keep.extend(parts.iter().map(|p| p.key()));
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

fn find_recipes(dir: &Path, store: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if p == store || name.starts_with('.') || name == "target" {
            continue;
        }
        if p.is_dir() {
            find_recipes(&p, store, out);
        } else if name.ends_with(".lotto") {
            out.push(p);
        }
    }
}
