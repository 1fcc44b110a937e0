//! `lotto graph`: the recipe's DAG as Mermaid or Graphviz text.

use crate::app::App;
use crate::cli::{Format, GraphFormat, RecipeArgs};
use crate::error::CmdResult;
use lotto_interpreter::graph::{to_dot, to_mermaid};

pub fn run(app: &App, r: &RecipeArgs, format: GraphFormat) -> CmdResult {
    let c = app.check(r, Format::Text)?;
    match format {
        GraphFormat::Dot => print!("{}", to_dot(&c.steps)),
        GraphFormat::Mermaid => print!("{}", to_mermaid(&c.steps)),
    }
    Ok(())
}
