//! The checker's passes in order: load the recipe and its imports, bind
//! names and expand sweeps, resolve every call, refuse dependency cycles,
//! copy the steps that draw from the run seed once per seed, check calls
//! against the steps they read.
//! Every error found is reported at once; a recipe with none becomes the
//! [`Checked`] program.

use super::across::validate_inputs;
use super::collect::collect;
use super::load::{load_file, load_source, Loaded};
use super::options::CheckOpts;
use super::params::literal_values;
use super::resolve::resolve;
use super::seeds::expand;
use crate::diag::Diagnostics;
use crate::program::Checked;
use crate::registry::Registry;
use crate::source::Sources;
use std::path::Path;

/// Checks the recipe at `path` (relative to `workspace` or absolute).
pub fn check_file(
    path: &Path,
    workspace: &Path,
    reg: &Registry,
    opts: &CheckOpts,
) -> Result<Checked, (Diagnostics, Sources)> {
    check_loaded(load_file(path, workspace, opts), reg, opts)
}

/// Checks recipe text (tests, fuzzing). Imports resolve against `workspace`.
pub fn check_source(
    name: &str,
    text: &str,
    workspace: &Path,
    reg: &Registry,
    opts: &CheckOpts,
) -> Result<Checked, (Diagnostics, Sources)> {
    check_loaded(load_source(name, text, workspace, opts), reg, opts)
}

fn check_loaded(
    loaded: Loaded,
    reg: &Registry,
    opts: &CheckOpts,
) -> Result<Checked, (Diagnostics, Sources)> {
    let Loaded {
        stmts,
        mut sources,
        files,
        diags,
    } = loaded;
    let mut diags = Diagnostics(diags);
    let collected = collect(stmts, reg, opts, &mut sources);
    diags.0.extend(collected.diags);
    let params = literal_values(&collected.params, &mut diags.0);
    let mut steps = collected.steps;
    diags.0.extend(resolve(
        &mut steps,
        &collected.pending,
        &collected.scopes,
        reg,
        &sources,
        collected.seeds.as_deref(),
    ));
    match crate::graph::find_cycle(&steps, &sources) {
        Err(d) => diags.push(d),
        Ok(()) => {
            if let (true, Some(seeds)) = (diags.is_empty(), &collected.seeds) {
                steps = expand(steps, seeds, reg);
            }
            diags.0.extend(validate_inputs(&steps, reg))
        }
    }
    if diags.is_empty() {
        Ok(Checked {
            steps,
            seeds: collected.seeds.unwrap_or_default(),
            params,
            sources,
            files,
        })
    } else {
        diags.sort();
        Err((diags, sources))
    }
}
