//! `lotto plan`: per step, cached or to run, and why. Plans even where the
//! corpora are not: those steps and their dependents wait for data.

use crate::app::App;
use crate::cli::{Format, RecipeArgs};
use crate::error::{CmdResult, Fail};
use crate::output::{print_diags, print_plan};
use lotto_interpreter::diag::Diagnostics;
use lotto_interpreter::plan;
use std::collections::BTreeSet;

pub fn run(app: &App, r: &RecipeArgs, format: Format) -> CmdResult {
    let c = app.check(r, format)?;
    let store = app.open_store()?;
    let (parts, errors) = app.keys_partial(&c, &store);
    // Only an absent data path counts as "not on this machine"; a corpus
    // that is present but broken is an error, as in `run`.
    let (absent, broken): (Vec<_>, Vec<_>) = errors
        .into_iter()
        .partition(|(i, _)| app.data_path_absent(&c.steps[*i]));
    if !broken.is_empty() {
        let ds = Diagnostics(broken.into_iter().map(|(_, d)| d).collect());
        print_diags(&ds, &c.sources, format);
        return Err(Fail::reported(1));
    }
    let missing = absent
        .into_iter()
        .map(|(i, d)| {
            let prefix = format!("step `{}`: ", c.steps[i].name);
            let m = d.message.strip_prefix(&prefix).unwrap_or(&d.message);
            (i, m.to_string())
        })
        .collect();
    let planned = plan::plan_partial(
        &c,
        &parts,
        &missing,
        &store,
        &app.recipe_rel(&r.file),
        &BTreeSet::new(),
    );
    print_plan(&planned, format);
    Ok(())
}
