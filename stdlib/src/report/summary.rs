//! The tables a `summary` part writes: Markdown per test corpus, shaped
//! like the paper's tables (best and extreme rounds marked), and a CSV of
//! every number.

use super::aggregate::{aggregate, same_seeds, Agg};
use super::paired::{compare_seeds, Paired};
use super::plot::series_by;
use crate::eval::table::Row;
use crate::stats::within_noise;
use crate::tickets::ticket::better_round;
use std::fmt::Write;

/// Markdown table per corpus: method, round, RW, WER with its 95%
/// interval, CER, dev WER; rows of several seeds as their mean (± the
/// standard deviation over seeds). The best round (lowest mean dev WER,
/// ties to the sparsest: what `best` picks) and the extreme ticket
/// (sparsest with mean dev WER no worse than dense) are marked.
pub fn summary_md(rows: &[Row]) -> String {
    let aggs = aggregate(rows);
    let seeds = aggs.iter().map(Agg::seeds).max().unwrap_or(1);
    let spread = if seeds > 1 {
        format!("Each row is the mean over {seeds} training seeds ± the standard deviation over seeds; its 95% interval comes from a bootstrap over seeds and then utterances (with so few seeds the seed level is coarse: read the ± beside it).")
    } else {
        "One training seed: the 95% interval is a bootstrap over the test utterances only, and says nothing about how another seed would do.".to_string()
    };
    let mut s = format!("# Results\n\nRW = remaining weights (% of prunable weights, measured from the masks). WER/CER in %, greedy decoding (CTC; transducer for RNN-T models). {spread} ★ best round (lowest mean dev WER; ties: the sparsest); ◆ extreme ticket (sparsest round whose mean dev WER is no worse than the dense model's). Model selection used the dev set only.\n");
    let mut corpora: Vec<&str> = vec![];
    for a in &aggs {
        if !corpora.contains(&a.mean.corpus.as_str()) {
            corpora.push(&a.mean.corpus);
        }
    }
    let groups = series_by(&aggs, |a| &a.mean);
    for c in corpora {
        let _ = write!(s, "\n## {c}\n\n| model | method | round | RW % | WER % | 95% interval | CER % | dev WER % | seeds | |\n|---|---|---:|---:|---:|---|---:|---:|---:|---|\n");
        let mut notes = vec![];
        for ((model, corpus), rs) in &groups {
            if corpus != c {
                continue;
            }
            let marks = Marks::of(rs);
            if let Some(n) = &marks.within_noise {
                notes.push(format!("`{model}`: {n}"));
            }
            for a in rs.iter() {
                let r = &a.mean;
                let mut mark = String::new();
                if rs.len() > 1 && Some(r.round) == marks.best {
                    mark.push('★');
                }
                if rs.len() > 1 && Some(r.round) == marks.extreme && r.round > 0 {
                    mark.push('◆');
                }
                let interval = a
                    .interval()
                    .map_or("".into(), |(lo, hi)| format!("[{lo:.2}, {hi:.2}]"));
                let _ = writeln!(
                    s,
                    "| {model} | {} | {} | {:.1} | {} | {interval} | {:.2} | {} | {} | {mark} |",
                    r.method,
                    r.round,
                    r.rw,
                    with_sd(r.wer, a.wer_sd, a.seeds()),
                    r.cer,
                    with_sd(r.dev_wer, a.dev_wer_sd, a.seeds()),
                    a.seeds()
                );
            }
        }
        for n in notes {
            let _ = writeln!(s, "\n★ {n}");
        }
        paired_section(&mut s, &aggs, c);
    }
    warnings_section(&mut s, &aggs);
    s
}

/// `40.00`, or `40.00 ± 3.10` over several seeds.
fn with_sd(mean: f64, sd: f64, seeds: usize) -> String {
    if seeds > 1 {
        format!("{mean:.2} ± {sd:.2}")
    } else {
        format!("{mean:.2}")
    }
}

/// The ★ and ◆ rounds of one model's series, and whether the ★ choice is
/// within the noise of the seeds.
struct Marks {
    best: Option<usize>,
    extreme: Option<usize>,
    within_noise: Option<String>,
}

impl Marks {
    fn of(rs: &[&Agg]) -> Marks {
        let mut ranked: Vec<&&Agg> = rs.iter().collect();
        ranked
            .sort_by(|a, b| better_round((a.mean.dev_wer, a.mean.rw), (b.mean.dev_wer, b.mean.rw)));
        let dense = rs
            .iter()
            .find(|a| a.mean.round == 0)
            .map(|a| a.mean.dev_wer);
        let extreme = dense.and_then(|d| {
            rs.iter()
                .filter(|a| a.mean.dev_wer <= d)
                .min_by(|a, b| a.mean.rw.total_cmp(&b.mean.rw))
                .map(|a| a.mean.round)
        });
        // Each mean dev WER with its standard error over seeds.
        let estimate = |a: &Agg| (a.mean.dev_wer, a.dev_wer_sd / (a.seeds() as f64).sqrt());
        let within_noise = match ranked.as_slice() {
            [best, next, ..] if best.seeds() > 1 && next.seeds() > 1 => {
                within_noise(estimate(best), estimate(next)).map(|two_se| {
                    let gap = next.mean.dev_wer - best.mean.dev_wer;
                    format!("the best round ({}) is within noise of round {}: their mean dev WERs differ by {gap:.2} points, less than two standard errors over seeds ({two_se:.2})", best.mean.round, next.mean.round)
                })
            }
            _ => None,
        };
        Marks {
            best: ranked.first().map(|a| a.mean.round),
            extreme,
            within_noise,
        }
    }
}

/// The training warnings of the models in the table, once per model and
/// round.
fn warnings_section(s: &mut String, aggs: &[Agg]) {
    let mut seen: Vec<(&str, usize)> = vec![];
    for a in aggs {
        let r = &a.mean;
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
/// random-pruning and random-ticket rounds at the same RW.
fn pairs<'a, 'r>(aggs: &'a [Agg<'r>], corpus: &str) -> Vec<(String, &'a Agg<'r>, &'a Agg<'r>)> {
    let on: Vec<&Agg> = aggs.iter().filter(|a| a.mean.corpus == corpus).collect();
    let mut out = vec![];
    for ((model, c), rs) in series_by(aggs, |a| &a.mean) {
        if c != corpus {
            continue;
        }
        if let Some(dense) = rs.iter().find(|a| a.mean.round == 0) {
            for a in rs.iter().filter(|a| a.mean.round > 0) {
                out.push((
                    format!("{model} round {} − dense", a.mean.round),
                    *a,
                    *dense,
                ));
            }
        }
    }
    let rounds = |method: &'static str| {
        on.iter()
            .copied()
            .filter(move |a| a.mean.method == method && a.mean.round > 0)
    };
    let baselines = || rounds("random_prune").chain(rounds("random_ticket"));
    for a in rounds("imp") {
        for b in baselines().filter(|b| (b.mean.rw - a.mean.rw).abs() < 0.05) {
            out.push((
                format!(
                    "{} round {} − {} round {}",
                    a.mean.model, a.mean.round, b.mean.model, b.mean.round
                ),
                a,
                b,
            ));
        }
    }
    out
}

/// Paired bootstrap comparisons on corpus `c` (when its rows carry
/// per-utterance counts), over utterances and seeds.
fn paired_section(s: &mut String, aggs: &[Agg], c: &str) {
    let found: Vec<(String, f64, Paired)> = pairs(aggs, c)
        .into_iter()
        .filter_map(|(name, a, b)| {
            let label = format!("{name}/{c}");
            compare_seeds(&same_seeds(a, b), &label).map(|p| (name, a.mean.rw, p))
        })
        .collect();
    if found.is_empty() {
        return;
    }
    let first = aggs.iter().find(|a| a.mean.corpus == c);
    let seeds = first.map_or(1, Agg::seeds);
    let over = if seeds > 1 {
        format!("the {seeds} seeds (each model against the other's run of the same seed) and then the {} utterances", first.map_or(0, |a| a.mean.utterances))
    } else {
        format!("the {} utterances; one seed, so the spread over training seeds is not in these intervals", first.map_or(0, |a| a.mean.utterances))
    };
    let _ = write!(
        s,
        "\n### Paired comparisons on {c}\n\nWER difference (points, mean over seeds; negative: the first is better) with its 95% interval and two-sided p from a paired bootstrap over {over} ({} resamples).\n\n| comparison | RW % | ΔWER | 95% interval | p | |\n|---|---:|---:|---|---:|---|\n",
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
            md.contains("| lth | imp | 0 | 100.0 | 50.00 |  | 20.00 | 53.73 | 1 |  |"),
            "{md}"
        );
        assert!(
            md.contains("| lth | imp | 3 | 21.6 | 50.00 |  | 20.00 | 53.73 | 1 | ★◆ |"),
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
            with("rt", "random_ticket", 1, 50.0, 0),
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
        assert!(
            md.contains("| lth round 1 − rt round 1 | 50.0 | +20.00 |"),
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
