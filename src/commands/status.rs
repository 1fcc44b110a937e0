//! `lotto status`: each step cached, to run, or its Slurm job's state
//! (with its log tail when it failed).

use crate::app::App;
use crate::cli::{Format, RecipeArgs};
use crate::error::{CmdResult, Fail};
use crate::slurm_run::label;
use lotto_interpreter::slurm::{self, StepStatus};
use std::collections::BTreeMap;

/// `lotto status`: each step cached, or its last job's state.
pub fn run(app: &App, r: &RecipeArgs) -> CmdResult {
    let c = app.check(r, Format::Text)?;
    let store = app.read_store()?;
    let parts = app.keys(&c, &store)?;
    let st = slurm::status(&parts, &store).map_err(Fail::usage)?;
    let w = c
        .steps
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(4)
        .min(40);
    let order = lotto_interpreter::graph::topo_order(&c.steps);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for i in order {
        let s = &c.steps[i];
        let (l, extra) = match &st[i] {
            StepStatus::Done => ("cached", String::new()),
            StepStatus::NotRun => ("to run", String::new()),
            StepStatus::Job(id, js) => {
                let (l, why) = label(js, false);
                let why = if why.is_empty() {
                    String::new()
                } else {
                    format!(" ({why})")
                };
                (l, format!("job {id}{why}"))
            }
        };
        *counts.entry(l).or_default() += 1;
        println!("{l:<9} {:<w$}  {:<12} {extra}", s.name, s.op);
        if l == "failed" {
            if let Some(sub) = slurm::submission(&store, &parts[i].key()) {
                println!("          log {}:", sub.log.display());
                for line in slurm::log_tail(&sub.log, 6) {
                    println!("          | {line}");
                }
            }
        }
    }
    println!(
        "{} step(s): {}",
        c.steps.len(),
        counts
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
