//! Reports: `report "results/NAME" = summary(e), plot(e)` writes a Markdown
//! summary shaped like the paper's tables (best and extreme rows marked),
//! a CSV of every number, and SVG plots of WER against remaining weights.

use crate::eval::{read_table, Row};
use crate::op::*;
use lotto_interpreter::registry::{Output, PType, RunCtx};
use lotto_interpreter::value::{StepType, Value};
use lotto_interpreter::{Param, Registry};
use std::collections::BTreeMap;
use std::fmt::Write;

fn series(rows: &[Row]) -> BTreeMap<(String, String), Vec<&Row>> {
    let mut m: BTreeMap<(String, String), Vec<&Row>> = BTreeMap::new();
    for r in rows {
        m.entry((r.model.clone(), r.corpus.clone()))
            .or_default()
            .push(r);
    }
    m
}

/// Markdown table per corpus: method, round, RW, WER, CER; the best round
/// (lowest dev WER) and the extreme ticket (sparsest with dev WER no worse
/// than dense) are marked.
pub fn summary_md(rows: &[Row]) -> String {
    let mut s = String::from("# Results\n\nRW = remaining weights (% of prunable weights, measured from the masks). WER/CER in %, greedy CTC decoding. ★ best round (lowest dev WER); ◆ extreme ticket (sparsest round whose dev WER is no worse than the dense model's). Model selection used the dev set only.\n");
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
                .min_by(|a, b| a.dev_wer.partial_cmp(&b.dev_wer).unwrap())
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

const COLORS: &[&str] = &[
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// WER (or CER) against RW on a log axis, one line per model and corpus,
/// the dense model as a dashed line.
pub fn plot_svg(rows: &[Row], metric: &str) -> String {
    let (w, h, ml, mr, mt, mb) = (760.0, 460.0, 70.0, 230.0, 50.0, 60.0);
    let val = |r: &Row| if metric == "cer" { r.cer } else { r.wer };
    let min_rw = rows.iter().map(|r| r.rw).fold(100.0f64, f64::min).max(0.1);
    let (lx0, lx1) = ((min_rw * 0.8).log10(), 100f64.log10() + 0.02);
    // A round axis top: the next multiple of 10 above the largest value.
    let ymax = ((rows.iter().map(val).fold(1.0f64, f64::max) * 1.05) / 10.0).ceil() * 10.0;
    let x = |rw: f64| ml + (lx1 - rw.max(0.1).log10()) / (lx1 - lx0) * (w - ml - mr);
    let y = |v: f64| mt + (1.0 - v / ymax) * (h - mt - mb);
    let mut s = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    let _ = writeln!(s, "<text x=\"{}\" y=\"24\" font-size=\"16\" text-anchor=\"middle\">{} vs remaining weights (lower is better)</text>", (w - mr + ml) / 2.0, metric.to_uppercase());
    let _ = writeln!(s, "<line x1=\"{ml}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/><line x1=\"{ml}\" y1=\"{mt}\" x2=\"{ml}\" y2=\"{}\" stroke=\"black\"/>", h - mb, w - mr, h - mb, h - mb);
    for rw in [100.0, 50.0, 25.0, 12.5, 5.0, 2.0, 1.0] {
        if rw >= min_rw * 0.8 {
            let _ = writeln!(s, "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#ddd\"/><text x=\"{0}\" y=\"{3}\" text-anchor=\"middle\">{rw}</text>", x(rw), mt, h - mb, h - mb + 16.0);
        }
    }
    for i in 0..=5 {
        let v = ymax * i as f64 / 5.0;
        let _ = writeln!(s, "<line x1=\"{ml}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#eee\"/><text x=\"{2}\" y=\"{3}\" text-anchor=\"end\">{v:.1}</text>", y(v), w - mr, ml - 6.0, y(v) + 4.0);
    }
    let _ = writeln!(s, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">remaining weights, % of prunable (log scale; sparser to the right)</text>", (w - mr + ml) / 2.0, h - 18.0);
    let _ = writeln!(
        s,
        "<text transform=\"translate(20,{}) rotate(-90)\" text-anchor=\"middle\">{} (%)</text>",
        (h - mb + mt) / 2.0,
        metric.to_uppercase()
    );
    for (i, ((model, corpus), rs)) in series(rows).into_iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        let mut pts: Vec<(f64, f64)> = rs.iter().map(|r| (r.rw, val(r))).collect();
        pts.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap());
        if let Some(d) = rs.iter().find(|r| r.round == 0 && r.method == "dense") {
            let _ = writeln!(s, "<line x1=\"{ml}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"{c}\" stroke-dasharray=\"5,4\" opacity=\"0.7\"/>", y(val(d)), w - mr);
        }
        let path: Vec<String> = pts
            .iter()
            .map(|(a, b)| format!("{:.1},{:.1}", x(*a), y(*b)))
            .collect();
        let _ = writeln!(
            s,
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" points=\"{}\"/>",
            path.join(" ")
        );
        for (a, b) in &pts {
            let _ = writeln!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{c}\"/>",
                x(*a),
                y(*b)
            );
        }
        let ly = mt + 10.0 + i as f64 * 20.0;
        let _ = writeln!(s, "<line x1=\"{0}\" y1=\"{ly}\" x2=\"{1}\" y2=\"{ly}\" stroke=\"{c}\" stroke-width=\"2\"/><text x=\"{2}\" y=\"{3}\">{model} on {corpus}</text>", w - mr + 12.0, w - mr + 36.0, w - mr + 42.0, ly + 4.0);
    }
    let ly = mt + 10.0 + series(rows).len() as f64 * 20.0;
    let _ = writeln!(s, "<line x1=\"{0}\" y1=\"{ly}\" x2=\"{1}\" y2=\"{ly}\" stroke=\"gray\" stroke-dasharray=\"5,4\"/><text x=\"{2}\" y=\"{3}\">dense baseline</text>", w - mr + 12.0, w - mr + 36.0, w - mr + 42.0, ly + 4.0);
    s.push_str("</svg>\n");
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
        let r = args["eval"]
            .as_ref()
            .ok_or("report parts take an eval table")?;
        let rows = read_table(ctx.input(r))?.rows;
        match op.as_str() {
            "summary" => {
                std::fs::write(export.join("summary.md"), summary_md(&rows))
                    .map_err(|e| e.to_string())?;
                std::fs::write(export.join("results.csv"), csv(&rows))
                    .map_err(|e| e.to_string())?;
            }
            "plot" => {
                let y = arg_str(args, "y");
                std::fs::write(export.join(format!("{y}_vs_rw.svg")), plot_svg(&rows, y))
                    .map_err(|e| e.to_string())?;
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
    r.add(config_op(sig("summary", "Reports", 1, Output::Config("ReportPart"), "Markdown table per test corpus (method, round, RW, WER, CER; best ★ and extreme ◆ marked) and a CSV of every number.", vec![Param::req("eval", PType::Step(eval), "an evaluation table")])));
    r.add(config_op(sig(
        "plot",
        "Reports",
        1,
        Output::Config("ReportPart"),
        "SVG plot of WER (or CER) against remaining weights on a log axis, dense baseline dashed.",
        vec![
            Param::req("eval", PType::Step(eval), "an evaluation table"),
            Param::opt("x", PType::Enum(&["rw"]), Value::Sym("rw".into()), "x axis"),
            Param::opt(
                "y",
                PType::Enum(&["wer", "cer"]),
                Value::Sym("wer".into()),
                "y axis",
            ),
        ],
    )));
    r.add(FnOp {
        sig: sig("report", "Reports", 2, Output::One(StepType::Report), "Written by `report \"DIR\" = part, part...`: the parts' files land in DIR inside the workspace.", vec![
            Param::req("path", PType::Str, "output folder, inside the workspace"),
            Param::req("parts", PType::List(Box::new(PType::Config("ReportPart"))), "summary(...) and plot(...) parts"),
        ]),
        run: run_report,
        reads: None,
        validate: None,
    });
}
