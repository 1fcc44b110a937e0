//! The tables a `summary` part writes: Markdown per test corpus, shaped
//! like the paper's tables (best and extreme rounds marked), and a CSV of
//! every number.

use super::paired::{compare, Paired};
use super::plot::series;
use crate::eval::table::Row;
use crate::tickets::ticket::better_round;
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
                    .min_by(|a, b| a.rw.total_cmp(&b.rw))
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
        paired_section(&mut s, rows, &c);
    }
    warnings_section(&mut s, rows);
    s
}

/// The training warnings of the models in the table, once per model and
/// round.
fn warnings_section(s: &mut String, rows: &[Row]) {
    let mut seen: Vec<(&str, usize)> = vec![];
    for r in rows {
        if let Some(w) = &r.warning {
            if !seen.contains(&(r.model.as_str(), r.round)) {
                if seen.is_empty() {
                    s.push_str("\n## Warnings\n\n");
                }
                seen.push((r.model.as_str(), r.round));
                let _ = writeln!(s, "- `{}` round {}: {w}", r.model, r.round);
            }
        }
    }
}

/// The pairs compared on one corpus: each ticket round against its dense
/// model (round 0 of the same ticket), and each IMP round against the
/// random-pruning round at the same RW.
fn pairs<'r>(rows: &'r [Row], corpus: &str) -> Vec<(String, &'r Row, &'r Row)> {
    let on: Vec<&Row> = rows.iter().filter(|r| r.corpus == corpus).collect();
    let mut out = vec![];
    for ((model, c), rs) in series(rows) {
        if c != corpus {
            continue;
        }
        if let Some(dense) = rs.iter().find(|r| r.round == 0) {
            for r in rs.iter().filter(|r| r.round > 0) {
                out.push((format!("{model} round {} − dense", r.round), *r, *dense));
            }
        }
    }
    for a in on.iter().filter(|r| r.method == "imp" && r.round > 0) {
        for b in on
            .iter()
            .filter(|r| r.method == "random_prune" && r.round > 0 && (r.rw - a.rw).abs() < 0.05)
        {
            out.push((
                format!(
                    "{} round {} − {} round {}",
                    a.model, a.round, b.model, b.round
                ),
                *a,
                *b,
            ));
        }
    }
    out
}

/// Paired bootstrap comparisons on corpus `c` (when its rows carry
/// per-utterance counts).
fn paired_section(s: &mut String, rows: &[Row], c: &str) {
    let found: Vec<(String, f64, Paired)> = pairs(rows, c)
        .into_iter()
        .filter_map(|(name, a, b)| {
            let seed = format!("{name}/{c}");
            compare(&a.per_utterance, &b.per_utterance, &seed).map(|p| (name, a.rw, p))
        })
        .collect();
    if found.is_empty() {
        return;
    }
    let _ = write!(
        s,
        "\n### Paired comparisons on {c}\n\nWER difference (points; negative: the first is better) with its 95% interval and two-sided p from a paired bootstrap over the {} utterances ({} resamples). One seed: the spread over training seeds is not in these intervals.\n\n| comparison | RW % | ΔWER | 95% interval | p | |\n|---|---:|---:|---|---:|---|\n",
        rows.iter().find(|r| r.corpus == c).map_or(0, |r| r.per_utterance.len()),
        super::paired::RESAMPLES
    );
    for (name, rw, p) in found {
        let _ = writeln!(
            s,
            "| {name} | {rw:.1} | {:+.2} | [{:+.2}, {:+.2}] | {} | {} |",
            p.delta,
            p.low,
            p.high,
            p_value(p.p),
            p.verdict()
        );
    }
}

/// A bootstrap p-value as the resamples resolve it: none of them on the
/// other side of zero means below 2/B, not 0.
fn p_value(p: f64) -> String {
    if p == 0.0 {
        format!("< {}", 2.0 / super::paired::RESAMPLES as f64)
    } else {
        format!("{p:.4}")
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
            per_utterance: vec![],
            warning: None,
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

    /// Each round against the dense model and IMP against random pruning
    /// at equal RW, with verdicts a hand can check: a round that errs on
    /// every one of 40 utterances where dense errs on none is worse; one
    /// identical to dense shows no difference.
    #[test]
    fn paired_comparisons_give_verdicts() {
        let utts = |e: u32| vec![[e, 5, e, 20]; 40];
        let with = |model: &str, method: &str, round: usize, rw: f64, e: u32| Row {
            model: model.into(),
            method: method.into(),
            per_utterance: utts(e),
            wer: 20.0 * e as f64,
            ..row(round, rw, 50.0)
        };
        let rows = [
            with("lth", "imp", 0, 100.0, 0),
            with("lth", "imp", 1, 50.0, 1),
            with("lth", "imp", 2, 25.0, 0),
            with("rnd", "random_prune", 0, 100.0, 0),
            with("rnd", "random_prune", 1, 50.0, 0),
        ];
        let md = summary_md(&rows);
        assert!(md.contains("### Paired comparisons on test"), "{md}");
        assert!(
            md.contains(
                "| lth round 1 − dense | 50.0 | +20.00 | [+20.00, +20.00] | < 0.0002 | worse |"
            ),
            "{md}"
        );
        assert!(
            md.contains("| lth round 2 − dense | 25.0 | +0.00 | [+0.00, +0.00] | 1.0000 | no detectable difference |"),
            "{md}"
        );
        assert!(
            md.contains("| lth round 1 − rnd round 1 | 50.0 | +20.00 |"),
            "{md}"
        );
        // Tables without per-utterance counts (older evaluations) get none.
        assert!(!summary_md(&[row(0, 100.0, 1.0), row(1, 50.0, 1.0)]).contains("Paired"));
    }

    #[test]
    fn training_warnings_are_listed_once_per_model_and_round() {
        let warned = Row {
            warning: Some("dev WER never improved on epoch 1's (40.0%)".into()),
            ..row(0, 100.0, 40.0)
        };
        let other_corpus = Row {
            corpus: "noisy".into(),
            ..warned.clone()
        };
        let md = summary_md(&[warned, other_corpus, row(1, 50.0, 30.0)]);
        assert_eq!(
            md.matches("- `lth` round 0: dev WER never improved")
                .count(),
            1,
            "{md}"
        );
        assert!(md.contains("## Warnings"));
        assert!(!summary_md(&[row(0, 100.0, 40.0)]).contains("Warnings"));
    }

    #[test]
    fn dense_models_come_first_then_the_recipes_order() {
        let named = |model: &str, method: &str, round: usize| Row {
            model: model.into(),
            method: method.into(),
            ..row(round, 100.0, 10.0)
        };
        let md = summary_md(&[
            named("zeta", "imp", 1),
            named("alpha", "random_prune", 1),
            named("dense", "dense", 0),
        ]);
        let at = |m: &str| md.find(&format!("| {m} |")).unwrap();
        assert!(at("dense") < at("zeta") && at("zeta") < at("alpha"), "{md}");
    }
}
