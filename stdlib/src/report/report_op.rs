//! `report "results/NAME" = summary(e), plot(e), export(t)`: the report op
//! the `report` statement calls, and its parts. The parts' files go into
//! the step's `export/` folder, which the engine copies to the workspace
//! folder the statement names.

use super::plot;
use super::summary::{csv, summary_md};
use crate::eval::table::read_table;
use crate::op::{config_op, op};
use crate::vocabulary::{EVAL, REPORT, REPORT_PART, TICKET, TRAINED};
use lotto_interpreter::registry::Invalid;
use lotto_interpreter::run_ctx::RunCtx;
use lotto_interpreter::signature::Output;
use lotto_interpreter::typed::{config, EachSeed, FromValue, OpArgs};
use lotto_interpreter::types::PType;
use lotto_interpreter::value::Value;
use lotto_interpreter::Registry;

lotto_interpreter::sym_enum! {
    pub enum PlotX { Rw = "rw", Noise = "noise" }
}

lotto_interpreter::sym_enum! {
    pub enum PlotY { Wer = "wer", Cer = "cer" }
}

lotto_interpreter::op_args! {
    pub struct SummaryArgs {
        eval: EachSeed = req(PType::Step(&[EVAL]), "an evaluation table"),
    }
}

lotto_interpreter::op_args! {
    pub struct PlotArgs {
        eval: EachSeed = req(PType::Step(&[EVAL]), "an evaluation table"),
        x: PlotX = opt(PType::Enum(PlotX::NAMES), PlotX::Rw, "x axis: remaining weights, or the test sets"),
        y: PlotY = opt(PType::Enum(PlotY::NAMES), PlotY::Wer, "y axis"),
    }
}

lotto_interpreter::op_args! {
    pub struct ExportArgs {
        model: EachSeed = req(PType::Step(&[TRAINED, TICKET]), "a trained model, a round (`lth.round(3)`, `best(lth)`) or a whole ticket"),
    }
}

/// One part of a report.
#[derive(Clone, Debug)]
pub enum Part {
    Summary(SummaryArgs),
    Plot(PlotArgs),
    Export(ExportArgs),
}

impl FromValue for Part {
    fn from_value(v: &Value) -> Result<Self, String> {
        Ok(match config(v)? {
            ("summary", a) => Part::Summary(SummaryArgs::from_args(a)?),
            ("plot", a) => Part::Plot(PlotArgs::from_args(a)?),
            ("export", a) => Part::Export(ExportArgs::from_args(a)?),
            (other, _) => return Err(format!("`{other}` is not a report part")),
        })
    }
}

lotto_interpreter::op_args! {
    pub struct ReportArgs {
        path: String = req(PType::Str, "output folder, inside the workspace"),
        parts: Vec<Part> = req(PType::List(Box::new(PType::Config(&REPORT_PART))), "summary(...), plot(...) and export(...) parts"),
    }
}

/// The file a `summary` part writes (beside `results.csv`).
const SUMMARY_FILE: &str = "summary.md";

/// The stem of a `plot` part's files, `Y_vs_X` (`.svg` and `.png`).
fn plot_stem(p: &PlotArgs) -> String {
    format!("{}_vs_{}", p.y.as_str(), p.x.as_str())
}

/// The file of a part that another part could also write.
fn file_of(part: &Part) -> Option<(&'static str, String)> {
    match part {
        Part::Summary(_) => Some(("summary", SUMMARY_FILE.to_string())),
        Part::Plot(p) => Some(("plot", format!("{}.svg", plot_stem(p)))),
        Part::Export(_) => None,
    }
}

/// Two parts of one report may not write the same file (two `summary`
/// parts, or two plots with the same axes): the second would silently
/// replace the first.
fn distinct_files(a: &ReportArgs) -> Result<(), Invalid> {
    let mut seen = std::collections::BTreeSet::new();
    for (op, file) in a.parts.iter().filter_map(file_of) {
        if !seen.insert(file.clone()) {
            return Err(Invalid::at(
                "parts",
                format!("two `{op}` parts would both write {file}; give the second one a report of its own, or evaluate both in one `wer(...)`"),
            ));
        }
    }
    Ok(())
}

fn write(path: std::path::PathBuf, bytes: impl AsRef<[u8]>) -> Result<(), String> {
    std::fs::write(&path, bytes).map_err(|e| format!("`{}`: {e}", path.display()))
}

/// The rows of an evaluation table, or of every seed's copy of it.
fn read_tables(ctx: &RunCtx, evals: &EachSeed) -> Result<Vec<crate::eval::table::Row>, String> {
    let mut rows = vec![];
    for &e in &evals.0 {
        rows.extend(read_table(ctx.input(e))?.rows);
    }
    Ok(rows)
}

fn run(ctx: &mut RunCtx, a: &ReportArgs) -> Result<(), String> {
    let export = ctx.out.join("export");
    std::fs::create_dir_all(&export).map_err(|e| e.to_string())?;
    let mut rows = 0usize;
    for part in &a.parts {
        match part {
            Part::Export(e) => {
                for &model in &e.model.0 {
                    let name = crate::report::export::folder_name(ctx.input_name(model));
                    crate::report::export::export(
                        ctx.input(model),
                        &ctx.store.root.join("objects"),
                        &export.join(name),
                    )?;
                }
            }
            Part::Summary(s) => {
                let table = read_tables(ctx, &s.eval)?;
                write(export.join(SUMMARY_FILE), summary_md(&table))?;
                write(export.join("results.csv"), csv(&table))?;
                rows += table.len();
            }
            Part::Plot(p) => {
                let table = read_tables(ctx, &p.eval)?;
                let svg = match p.x {
                    PlotX::Noise => plot::noise_svg(&table, p.y.as_str()),
                    PlotX::Rw => plot::rw_svg(&table, p.y.as_str()),
                };
                let stem = export.join(plot_stem(p));
                write(stem.with_extension("png"), plot::png(&svg)?)?;
                write(stem.with_extension("svg"), svg)?;
                rows += table.len();
            }
        }
    }
    ctx.metric("rows", rows as u64);
    Ok(())
}

pub fn register(r: &mut Registry) {
    // summary version 2: a tie on dev WER marks the sparsest round ★ (as
    // `best` picks), not the first.
    r.add(config_op::<SummaryArgs>("summary", "Reports", 5, &REPORT_PART, "Markdown table per test corpus (method, round, RW, WER with its 95% interval, CER, dev WER, seeds; best ★ (ties: the sparsest, as `best` picks) and extreme ◆ marked), paired comparisons (each ticket round against its dense model, IMP against random pruning and random tickets at equal RW: WER difference, 95% interval and p from a paired bootstrap over utterances), and a CSV of every number. In a recipe run over several seeds (`param seeds`), rows that differ only by seed become one: mean ± standard deviation over seeds, the interval from a bootstrap over seeds and then utterances, ★/◆ on the mean dev WER (with a note when ★ is within two standard errors of the next round), comparisons paired by seed."));
    r.add(config_op::<PlotArgs>("plot", "Reports", 4, &REPORT_PART, "Plot as `Y_vs_X.svg` and `.png`. `x: rw`: WER (or CER) against remaining weights on a log axis, one line per model and test set, dense baseline dashed. `x: noise`: WER per test set in table order (clean, then noisy), one line per model and round, dense dashed. Over several seeds: one line per model at the means, bars of ± one standard deviation over seeds."));
    r.add(config_op::<ExportArgs>("export", "Reports", 1, &REPORT_PART, "A model's or every ticket round's weights (`weights.safetensors`, best epoch, PyTorch parameter names and layout) and masks (`masks.safetensors`, 1 kept / 0 pruned) with `model.yaml`: architecture, features, RW, dev WER and every parameter's shape, kind and kept count. Written under DIR/NAME/ (a ticket: DIR/NAME/round_K/)."));
    r.add(
        op::<ReportArgs>("report", "Reports", 4, Output::One(REPORT), "Written by `report \"DIR\" = part, part...`: the parts' files land in DIR inside the workspace.")
            .run(run)
            .validate(distinct_files)
            .exports_to("path")
            .names_inputs(),
    );
    r.set_report_op("report");
}

#[cfg(test)]
mod tests {
    use super::*;
    use lotto_interpreter::value::StepRef;

    fn part(op: &str, kv: &[(&str, &str)]) -> Value {
        let mut args: lotto_interpreter::value::Args = kv
            .iter()
            .map(|(k, v)| (k.to_string(), Value::sym(v)))
            .collect();
        let eval = Value::Ref(StepRef { step: 0, port: 0 });
        args.entry("eval".into()).or_insert(eval.clone());
        if op == "export" {
            args.insert("model".into(), eval);
        }
        if op == "plot" {
            args.entry("x".into()).or_insert(Value::sym("rw"));
            args.entry("y".into()).or_insert(Value::sym("wer"));
        }
        Value::Config {
            op: op.into(),
            args,
        }
    }

    fn report(parts: Vec<Value>) -> ReportArgs {
        ReportArgs {
            path: "r".into(),
            parts: parts.iter().map(|p| Part::from_value(p).unwrap()).collect(),
        }
    }

    #[test]
    fn parts_that_would_write_the_same_file_are_refused() {
        let ok = report(vec![
            part("summary", &[]),
            part("plot", &[("x", "rw"), ("y", "wer")]),
            part("plot", &[("x", "rw"), ("y", "cer")]),
            part("export", &[]),
            part("export", &[]),
        ]);
        assert!(distinct_files(&ok).is_ok());
        let two_summaries = report(vec![part("summary", &[]), part("summary", &[])]);
        let e = distinct_files(&two_summaries).unwrap_err();
        assert_eq!(e.param, Some("parts"));
        assert!(e.message.contains("summary.md"), "{}", e.message);
        let same_plot = report(vec![part("plot", &[]), part("plot", &[("y", "wer")])]);
        let e = distinct_files(&same_plot).unwrap_err();
        assert!(e.message.contains("wer_vs_rw.svg"), "{}", e.message);
    }
}
