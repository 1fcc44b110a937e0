//! `lotto check`: every error of a recipe at once.

use crate::app::App;
use crate::cli::{Format, RecipeArgs};
use crate::error::CmdResult;

pub fn run(app: &App, r: &RecipeArgs, format: Format) -> CmdResult {
    let c = app.check(r, format)?;
    match format {
        Format::Json => println!("[]"),
        Format::Text => println!("ok: {} step(s), {} file(s)", c.steps.len(), c.files.len()),
    }
    Ok(())
}
