//! What the commands print: diagnostics (miette text or JSON), plans and
//! failed steps.

use crate::cli::Format;
use lotto_interpreter::diag::Diagnostics;
use lotto_interpreter::exec::RunSummary;
use lotto_interpreter::plan::{PlannedStep, Status};
use lotto_interpreter::render::{render_all, to_json, RenderOpts};
use lotto_interpreter::source::Sources;
use std::io::IsTerminal;

pub fn print_diags(ds: &Diagnostics, sources: &Sources, format: Format) {
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&to_json(ds, sources)).unwrap_or_default()
        ),
        Format::Text => {
            let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            eprint!(
                "{}",
                render_all(ds, sources, RenderOpts { color, width: 100 })
            );
        }
    }
}

/// Each failed step with its place and error.
pub fn print_failures(s: &RunSummary) {
    for (name, at, e) in &s.failed {
        eprintln!("error: step `{name}` ({at}) failed:\n  {e}");
    }
}

pub fn print_plan(planned: &[PlannedStep], format: Format) {
    if let Format::Json = format {
        println!(
            "{}",
            serde_json::to_string_pretty(planned).unwrap_or_default()
        );
        return;
    }
    let w = planned
        .iter()
        .map(|p| p.name.chars().count())
        .max()
        .unwrap_or(4)
        .min(48);
    for p in planned {
        let status = match p.status {
            Status::Cached => "cached",
            Status::Run => "run",
            Status::NeedsData => "no data",
            Status::DataError => "broken",
        };
        let why = if p.why.is_empty() {
            String::new()
        } else {
            format!("  ({})", p.why.join("; "))
        };
        println!(
            "{status:<7} {:<w$}  {:<12} {}{why}",
            p.name,
            p.op,
            &p.key[..12]
        );
    }
    let n = |st: Status| planned.iter().filter(|p| p.status == st).count();
    let (no_data, broken) = (n(Status::NeedsData), n(Status::DataError));
    println!(
        "{} step(s): {} cached, {} to run{}{}",
        planned.len(),
        n(Status::Cached),
        n(Status::Run),
        if no_data > 0 {
            format!(", {no_data} waiting for data not on this machine (map it with --data NAME=PATH, or plan where the corpora are)")
        } else {
            String::new()
        },
        if broken > 0 {
            format!(", {broken} waiting for data errors to be fixed (below)")
        } else {
            String::new()
        }
    );
}
