//! `lotto show STEP`: a step's record and metrics, or why it has not run.

use crate::app::App;
use crate::cli::{Format, RecipeArgs};
use crate::error::CmdResult;
use lotto_interpreter::{exec, plan};

pub fn run(app: &App, r: &RecipeArgs, step: &str) -> CmdResult {
    let c = app.check(r, Format::Text)?;
    let store = app.read_store()?;
    let selected = app.resolve_steps(&c, &[step.to_string()])?;
    let i = *selected.iter().next().expect("one name, one step");
    let parts = app.keys_for(&c, &store, &exec::upstream(&c, &selected))?;
    let k = parts[i].key();
    match store.record(&k) {
        Some(rec) => {
            print!("{}", serde_yaml::to_string(&rec).unwrap_or_default());
            let dir = store.object(&k);
            println!("artifacts: {}", dir.canonicalize().unwrap_or(dir).display());
        }
        None => {
            println!(
                "step `{}` ({}) has not run with its current inputs (key {k})",
                c.steps[i].name, c.steps[i].op
            );
            let last = store.last(&app.recipe_rel(&r.file), &c.steps[i].name);
            for w in plan::explain(&parts[i], last.map(|x| x.1).as_ref()) {
                println!("  {w}");
            }
        }
    }
    Ok(())
}
