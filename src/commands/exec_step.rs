//! The hidden `lotto exec-step`: what one Slurm job runs, the step with
//! this key, its inputs already published.

use crate::app::App;
use crate::cli::{Format, RecipeArgs};
use crate::error::{CmdResult, Fail};
use lotto_interpreter::exec::{self, OneOutcome, RunOpts};
use std::collections::BTreeSet;

/// The hidden `lotto exec-step`: what one Slurm job runs.
pub fn run(app: &App, r: &RecipeArgs, key: &str, force: bool) -> CmdResult {
    app.open_device()?;
    let c = app.check(r, Format::Text)?;
    let store = app.open_store()?;
    let parts = app.keys(&c, &store)?;
    let Some(i) = parts.iter().position(|p| p.key() == key) else {
        return Err(Fail::usage(format!(
            "no step of `{}` has key {key}: the recipe, its params or its data changed since this job was submitted; rerun `lotto run --executor slurm`",
            r.file.display()
        )));
    };
    let s = &c.steps[i];
    let opts = RunOpts {
        force: if force {
            BTreeSet::from([i])
        } else {
            BTreeSet::new()
        },
        show_bars: false,
        job: std::env::var("SLURM_JOB_ID")
            .ok()
            .map(|j| format!("slurm job {j}")),
        ..app.run_opts(r)
    };
    match exec::run_one(&c, &parts, &app.reg, &store, &app.ws, &opts, i) {
        Ok(OneOutcome::Ran(secs)) => {
            println!("published {} ({}) in {secs:.1}s", s.name, s.op);
            Ok(())
        }
        Ok(OneOutcome::Cached) => {
            println!("{} ({}) was already published", s.name, s.op);
            Ok(())
        }
        Ok(OneOutcome::Reused) => {
            println!(
                "published {} ({}) from an entry computed from equal inputs",
                s.name, s.op
            );
            Ok(())
        }
        Err(e) => Err(Fail::failed(format!(
            "step `{}` ({}) failed:\n  {e}",
            s.name,
            c.sources.locate(s.span)
        ))),
    }
}
