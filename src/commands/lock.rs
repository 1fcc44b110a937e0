//! `lotto lock`: writes RECIPE.lock (versions, params, data digests and
//! results) from what the store holds, and names the steps with no result.

use crate::app::App;
use crate::cli::{Format, RecipeArgs};
use crate::error::CmdResult;
use crate::lockfile;

pub fn run(app: &App, r: &RecipeArgs) -> CmdResult {
    let c = app.check(r, Format::Text)?;
    let store = app.open_store()?;
    let parts = app.keys_rehashed(&c, &store)?;
    let l = lockfile::current(app, &c, &parts, &store, &r.file);
    let path = lockfile::write(app, &r.file, &l)?;
    let missing: Vec<&str> = c
        .steps
        .iter()
        .zip(&parts)
        .filter(|(_, p)| !store.is_intact(&p.key()))
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
            "{} step(s) have no result in the store, so the lock has none for them: {}; run `lotto run {} --lock`",
            missing.len(),
            missing.join(", "),
            r.file.display()
        );
    }
    Ok(())
}
