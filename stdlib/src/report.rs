//! Reports: `report "results/NAME" = summary(e), plot(e)` writes a Markdown
//! summary shaped like the paper's tables (best and extreme rows marked),
//! a CSV of every number, and plots (SVG and PNG, see [`crate::plot`]).

use crate::eval::{read_table, Row};
use crate::op::*;
use crate::plot::series;
use crate::tickets::better_round;
use lotto_interpreter::registry::{Output, PType, RunCtx};
use lotto_interpreter::value::{StepType, Value};
use lotto_interpreter::{Param, Registry};
use std::fmt::Write;

/// Markdown table per corpus: method, round, RW, WER, CER; the best round
/// (lowest dev WER, ties to the sparsest: what `best` picks) and the
/// extreme ticket (sparsest with dev WER no worse than dense) are marked.
pub fn summary_md(rows: &[Row]) -> String {
    let mut s = String::from("# Results\n\nRW = remaining weights (% of prunable weights, measured from the masks). WER/CER in %, greedy decoding (CTC; transducer for RNN-T models). ★ best round (lowest dev WER; ties: the sparsest); ◆ extreme ticket (sparsest round whose dev WER is no worse than the dense model's). Model selection used the dev set only.\n");
    let corpora: Vec<String> = rows
        .iter()
        .map(|r| r.corpus.clone())
        .fold(vec![], |mut v, c| {
            if !v.contains(&c) {
                v.push(c)
            }
            v
        });
    for c in corpora {
        let _ = write!(s, "\n## {c}\n\n| model | method | round | RW % | WER % | CER % | dev WER % | |\n|---|---|---:|---:|---:|---:|---:|---|\n");
        for ((model, corpus), rs) in series(rows) {
            if corpus != c {
                continue;
            }
            let dense = rs.iter().find(|r| r.round == 0).map(|r| r.dev_wer);
            let best = rs
                .iter()
                .min_by(|a, b| better_round((a.dev_wer, a.rw), (b.dev_wer, b.rw)))
                .map(|r| r.round);
            let extreme = dense.and_then(|d| {
                rs.iter()
                    .filter(|r| r.dev_wer <= d)
                    .min_by(|a, b| a.rw.partial_cmp(&b.rw).unwrap())
                    .map(|r| r.round)
            });
            for r in rs.iter() {
                let mut mark = String::new();
                if rs.len() > 1 && Some(r.round) == best {
                    mark.push('★');
                }
                if rs.len() > 1 && Some(r.round) == extreme && r.round > 0 {
                    mark.push('◆');
                }
                let _ = writeln!(
                    s,
                    "| {model} | {} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {mark} |",
                    r.method, r.round, r.rw, r.wer, r.cer, r.dev_wer
                );
            }
        }
    }
    s
}

pub fn csv(rows: &[Row]) -> String {
    let mut s = String::from("model,method,round,rw,corpus,wer,cer,dev_wer,utterances\n");
    for r in rows {
        let _ = writeln!(
            s,
            "{},{},{},{:.4},{},{:.4},{:.4},{:.4},{}",
            r.model, r.method, r.round, r.rw, r.corpus, r.wer, r.cer, r.dev_wer, r.utterances
        );
    }
    s
}

fn run_report(ctx: &mut RunCtx) -> Result<(), String> {
    let export = ctx.out.join("export");
    std::fs::create_dir_all(&export).map_err(|e| e.to_string())?;
    let mut all_rows = vec![];
    for part in ctx.args["parts"].as_list().unwrap_or(&[]) {
        let Value::Config { op, args } = part else {
            continue;
        };
        if op == "export" {
            let r = args["model"]
                .as_ref()
                .ok_or("export takes a trained model or a ticket")?;
            let name = ctx.input_names[&r].clone();
            crate::export::export(
                ctx.input(r),
                &ctx.store.root.join("objects"),
                &export.join(crate::export::folder_name(&name)),
            )?;
            continue;
        }
        let r = args["eval"]
            .as_ref()
            .ok_or("report parts take an eval table")?;
        let rows = read_table(ctx.input(r))?.rows;
        match op.as_str() {
            "summary" => {
                std::fs::write(export.join(SUMMARY_FILE), summary_md(&rows))
                    .map_err(|e| e.to_string())?;
                std::fs::write(export.join("results.csv"), csv(&rows))
                    .map_err(|e| e.to_string())?;
            }
            "plot" => {
                let (x, y) = plot_axes(args);
                let svg = match x {
                    "noise" => crate::plot::noise_svg(&rows, y),
                    _ => crate::plot::rw_svg(&rows, y),
                };
                let stem = export.join(plot_stem(args));
                std::fs::write(stem.with_extension("png"), crate::plot::png(&svg)?)
                    .map_err(|e| e.to_string())?;
                std::fs::write(stem.with_extension("svg"), svg).map_err(|e| e.to_string())?;
            }
            _ => {}
        }
        all_rows.extend(rows);
    }
    ctx.metric("rows", all_rows.len() as u64);
    Ok(())
}

pub fn register(r: &mut Registry) {
    let eval = &[StepType::Eval][..];
    // summary version 2: a tie on dev WER marks the sparsest round ★ (as
    // `best` picks), not the first.
    r.add(config_op(sig("summary", "Reports", 2, Output::Config("ReportPart"), "Markdown table per test corpus (method, round, RW, WER, CER; best ★ (ties: the sparsest, as `best` picks) and extreme ◆ marked) and a CSV of every number.", vec![Param::req("eval", PType::Step(eval), "an evaluation table")])));
    r.add(config_op(sig(
        "plot",
        "Reports",
        3,
        Output::Config("ReportPart"),
        "Plot as `Y_vs_X.svg` and `.png`. `x: rw`: WER (or CER) against remaining weights on a log axis, one line per model and test set, dense baseline dashed. `x: noise`: WER per test set in table order (clean, then noisy), one line per model and round, dense dashed.",
        vec![
            Param::req("eval", PType::Step(eval), "an evaluation table"),
            Param::opt("x", PType::Enum(&["rw", "noise"]), Value::Sym("rw".into()), "x axis: remaining weights, or the test sets"),
            Param::opt(
                "y",
                PType::Enum(&["wer", "cer"]),
                Value::Sym("wer".into()),
                "y axis",
            ),
        ],
    )));
    r.add(config_op(sig(
        "export",
        "Reports",
        1,
        Output::Config("ReportPart"),
        "A model's or every ticket round's weights (`weights.safetensors`, best epoch, PyTorch parameter names and layout) and masks (`masks.safetensors`, 1 kept / 0 pruned) with `model.yaml`: architecture, features, RW, dev WER and every parameter's shape, kind and kept count. Written under DIR/NAME/ (a ticket: DIR/NAME/round_K/).",
        vec![Param::req("model", PType::Step(&[StepType::Trained, StepType::Ticket]), "a trained model, a round (`lth.round(3)`, `best(lth)`) or a whole ticket")],
    )));
    r.add(FnOp {
        sig: sig("report", "Reports", 3, Output::One(StepType::Report), "Written by `report \"DIR\" = part, part...`: the parts' files land in DIR inside the workspace.", vec![
            Param::req("path", PType::Str, "output folder, inside the workspace"),
            Param::req("parts", PType::List(Box::new(PType::Config("ReportPart"))), "summary(...), plot(...) and export(...) parts"),
        ]),
        run: run_report,
        reads: None,
        validate: Some(distinct_files),
    });
}

/// The file a `summary` part writes (beside `results.csv`).
const SUMMARY_FILE: &str = "summary.md";

/// A `plot` part's axes (x, y), with the op's defaults.
fn plot_axes(args: &lotto_interpreter::value::Args) -> (&str, &str) {
    let get = |k, default| args.get(k).and_then(Value::as_str).unwrap_or(default);
    (get("x", "rw"), get("y", "wer"))
}

/// The stem of a `plot` part's files, `Y_vs_X` (`.svg` and `.png`).
fn plot_stem(args: &lotto_interpreter::value::Args) -> String {
    let (x, y) = plot_axes(args);
    format!("{y}_vs_{x}")
}

/// Two parts of one report may not write the same file (two `summary`
/// parts, or two plots with the same axes): the second would silently
/// replace the first.
fn distinct_files(
    a: &lotto_interpreter::value::Args,
) -> Result<(), (Option<&'static str>, String)> {
    let mut seen = std::collections::BTreeSet::new();
    for part in a.get("parts").and_then(Value::as_list).unwrap_or(&[]) {
        let Value::Config { op, args } = part else {
            continue;
        };
        let file = match op.as_str() {
            "summary" => SUMMARY_FILE.to_string(),
            "plot" => format!("{}.svg", plot_stem(args)),
            _ => continue,
        };
        if !seen.insert(file.clone()) {
            return Err((
                Some("parts"),
                format!("two `{op}` parts would both write {file}; give the second one a report of its own, or evaluate both in one `wer(...)`"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lotto_interpreter::value::Args;

    fn part(op: &str, kv: &[(&str, &str)]) -> Value {
        Value::Config {
            op: op.into(),
            args: kv
                .iter()
                .map(|(k, v)| (k.to_string(), Value::Sym(v.to_string())))
                .collect(),
        }
    }

    fn report(parts: Vec<Value>) -> Args {
        [("parts".to_string(), Value::List(parts))]
            .into_iter()
            .collect()
    }

    fn row(round: usize, rw: f64, dev_wer: f64) -> Row {
        Row {
            model: "lth".into(),
            method: "imp".into(),
            round,
            rw,
            corpus: "test".into(),
            wer: 50.0,
            cer: 20.0,
            utterances: 10,
            dev_wer,
        }
    }

    /// A tie on dev WER between the dense round and a pruned one marks the
    /// pruned one best, as the `best` op picks it; the extreme ticket is
    /// the sparsest round no worse than dense.
    #[test]
    fn best_round_ties_go_to_the_sparsest() {
        let rows = [
            row(0, 100.0, 53.73),
            row(1, 60.0, 59.7),
            row(2, 36.0, 55.22),
            row(3, 21.6, 53.73),
        ];
        let md = summary_md(&rows);
        assert!(
            md.contains("| lth | imp | 0 | 100.0 | 50.00 | 20.00 | 53.73 |  |"),
            "{md}"
        );
        assert!(
            md.contains("| lth | imp | 3 | 21.6 | 50.00 | 20.00 | 53.73 | ★◆ |"),
            "{md}"
        );
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
        let (arg, msg) = distinct_files(&two_summaries).unwrap_err();
        assert_eq!(arg, Some("parts"));
        assert!(msg.contains("summary.md"), "{msg}");
        let same_plot = report(vec![
            part("plot", &[]),
            part("plot", &[("x", "rw"), ("y", "wer")]),
        ]);
        let (_, msg) = distinct_files(&same_plot).unwrap_err();
        assert!(msg.contains("wer_vs_rw.svg"), "{msg}");
    }
}
