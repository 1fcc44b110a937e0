//! `lotto plan`: per step, cached or to run, and why. Plans even where the
//! corpora are not (those steps and their dependents wait for data) or are
//! broken (those wait for a fix, and the errors follow the plan).

use crate::app::App;
use crate::cli::{Format, RecipeArgs};
use crate::error::{CmdResult, Fail};
use crate::output::{print_diags, print_plan};
use lotto_interpreter::diag::Diagnostics;
use lotto_interpreter::plan::{self, NoKey};
use lotto_interpreter::program::Upstream;
use std::collections::{BTreeMap, BTreeSet};

pub fn run(app: &App, r: &RecipeArgs, format: Format) -> CmdResult {
    let c = app.check(r, format)?;
    let store = app.read_store()?;
    let (parts, errors) = app.keys_partial(&c, &store);
    let mut broken = vec![];
    let mut missing = BTreeMap::new();
    for (i, d) in errors {
        let s = &c.steps[i];
        let prefix = format!("step `{}`: ", s.name);
        let m = d
            .message
            .strip_prefix(&prefix)
            .unwrap_or(&d.message)
            .to_string();
        // Only an absent data path counts as "not on this machine"; a
        // corpus that is present but broken is an error, as in `run`.
        if app.data_path_absent(s) {
            missing.insert(i, NoKey::Absent(where_it_looked(app, r, i, &c, m)));
        } else {
            // One line in the plan; the whole error follows it.
            let first = m.lines().next().unwrap_or("").trim_end_matches(':');
            missing.insert(i, NoKey::Broken(format!("{first} (below)")));
            broken.push(d);
        }
    }
    let mut planned = plan::plan_partial(
        &c,
        &parts,
        &missing,
        &store,
        &app.recipe_rel(&r.file),
        &BTreeSet::new(),
    );
    // What each training step costs, known from the recipe alone.
    let up = Upstream::new(&c.steps);
    for p in &mut planned {
        let s = &c.steps[p.index];
        if let Some(cost) = app.reg.get(s.op).and_then(|op| op.cost(&s.args, &up)) {
            p.why.push(cost);
        }
    }
    print_plan(&planned, format);
    if c.seeds.len() > 1 && matches!(format, Format::Text) {
        let seeds: Vec<String> = c.seeds.iter().map(|s| s.to_string()).collect();
        println!(
            "over {} seeds ({}): a step that draws from the run seed, or reads one that does, is made once per seed; the others are shared",
            seeds.len(),
            seeds.join(", ")
        );
    }
    if broken.is_empty() {
        return Ok(());
    }
    print_diags(&Diagnostics(broken), &c.sources, format);
    Err(Fail::reported(1))
}

/// The read error of a step whose data path is absent, with the folder
/// it was looked for in, and `--workspace` suggested where the path exists
/// beside the recipe instead.
fn where_it_looked(
    app: &App,
    r: &RecipeArgs,
    i: usize,
    c: &lotto_interpreter::program::Checked,
    message: String,
) -> String {
    let recipe_dir = app
        .recipe_abs(&r.file)
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_default();
    let ws = app.ws.canonicalize().unwrap_or(app.ws.clone());
    let beside = app
        .data_paths(&c.steps[i])
        .iter()
        .any(|p| recipe_dir.join(p).exists());
    let same = recipe_dir.canonicalize().ok().as_ref() == Some(&ws);
    if beside && !same {
        format!(
            "{message} (looked in the workspace `{}`; it is beside the recipe: pass --workspace {})",
            ws.display(),
            recipe_dir.display()
        )
    } else {
        format!("{message} (looked in the workspace `{}`)", ws.display())
    }
}
