//! The paper's models at full size (86.6M to 128.7M parameters) through
//! one training step on a real 15 s utterance each, in a process of their
//! own (`lotto bench scale`'s cases): a change that blows memory at paper
//! size fails here. The bound is the estimate `lotto plan` shows and `fit`
//! checks; measured peaks are 1.28–1.55× it at batch 1 (docs/results.md),
//! so 1.65× leaves room for the allocator, not for a host copy of the
//! LSTM weights (+0.16× for the RNN-T) or another copy of the
//! activations. The CNN-LSTM also steps on 2 utterances within the
//! issue's goal of 1.5× (1.30× measured): each added utterance may cost
//! only what the estimate counts for it.

mod common;
use common::*;

const BOUND: f64 = 1.65;
const CNN_LSTM_BATCH_2_BOUND: f64 = 1.5;
/// Whole ops (a fit, IMP rounds, transfer, decoding) against the same
/// estimate, freed memory handed back: measured at 1.02–1.26× it for the
/// Conformer (docs/results.md); one more host copy of the weights (13% of
/// the estimate) takes the largest past 1.35×.
const OPS_BOUND: f64 = 1.35;

#[test]
fn paper_size_training_steps_stay_within_their_memory_estimate() {
    let cases = [
        ("cnn_lstm", 1, BOUND),
        ("cnn_lstm", 2, CNN_LSTM_BATCH_2_BOUND),
        ("conformer", 1, BOUND),
        ("efficient_conformer", 1, BOUND),
        ("rnnt", 1, BOUND),
    ];
    for (model, batch, bound) in cases {
        let out = Out(lotto_in(&repo(), &["bench", "scale"])
            .env("LOTTO_BENCH_SCALE_CASE", format!("{model}/{batch}/1"))
            .output()
            .unwrap());
        out.success();
        let f: Vec<f64> = out
            .stdout()
            .split_whitespace()
            .map(|x| x.parse().unwrap())
            .collect();
        let (params, frames, peak, estimate) = (f[0], f[1], f[3], f[4]);
        assert!(params > 60e6 && frames >= 1490.0, "{model}: {f:?}");
        assert!(
            peak <= bound * estimate,
            "{model} at batch {batch}: peak {peak:.0} MiB > {bound} x the estimate {estimate:.0} MiB"
        );
    }
}

/// One row of `lotto bench ops`'s table: step, op, peak MiB, optimizer
/// steps, prunings.
struct OpRow {
    step: String,
    op: String,
    peak: f64,
    steps: usize,
    prunings: usize,
}

fn op_rows(stdout: &str) -> Vec<OpRow> {
    let count = |cell: &str| {
        cell.split_whitespace()
            .next()
            .and_then(|n| n.trim_end_matches(',').parse().ok())
            .unwrap_or(0)
    };
    stdout
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| step "))
        .map(|l| {
            let c: Vec<&str> = l.split('|').map(str::trim).collect();
            OpRow {
                step: c[1].to_string(),
                op: c[2].to_string(),
                peak: c[4].trim_end_matches(" MiB").parse().unwrap(),
                steps: count(c[5]),
                prunings: count(c[6]),
            }
        })
        .collect()
}

/// The vanilla Conformer (68.0M parameters, the cheapest paper model to
/// train here) through every op of `pipelines/scale/conformer.lotto`, each
/// step in a process of its own as `lotto bench ops` runs it (about 5
/// minutes): every op runs what the recipe says at full size, and no op's
/// peak leaves the bound of the memory its training step is estimated at
/// plus the host copies the op keeps by design (docs/results.md).
#[test]
fn every_op_runs_at_paper_size_within_its_memory_bound() {
    // Freed memory handed back after a second (mimalloc's default, not
    // lotto's): the peaks are then what the ops hold, not what the
    // allocator kept from earlier phases, which varies with the build.
    let out = Out(lotto_in(&repo(), &["bench", "ops", "--model", "conformer"])
        .env("MIMALLOC_PURGE_DELAY", "1000")
        .output()
        .unwrap());
    out.success();
    let text = out.stdout();
    let estimate: f64 = text
        .split("is estimated at ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no estimate in:\n{text}"));
    let rows = op_rows(&text);
    let row = |step: &str| {
        rows.iter()
            .find(|r| r.step == step)
            .unwrap_or_else(|| panic!("no step `{step}` in:\n{text}"))
    };
    // (step, op, optimizer steps, prunings): 2 steps per training; two
    // rounds each, but 2:4 in one; late rewinding trains 1 step to its
    // point and the remaining step in each round; early-bird draws one
    // candidate mask after its first round's epoch.
    for (step, op, steps, prunings) in [
        ("dense", "fit", 2, 0),
        ("lth", "imp", 4, 2),
        ("layerwise", "imp", 4, 2),
        ("blocks", "imp", 4, 2),
        ("nm", "imp", 2, 1),
        ("late", "imp", 3, 2),
        ("early", "imp", 4, 3),
        ("rnd", "random_prune", 4, 2),
        ("rticket", "random_ticket", 4, 0),
        ("moved", "transfer", 2, 0),
        ("greedy", "wer", 0, 0),
        ("beam16", "wer", 0, 0),
    ] {
        let r = row(step);
        assert_eq!(
            (r.op.as_str(), r.steps, r.prunings),
            (op, steps, prunings),
            "{step}:\n{text}"
        );
    }
    assert!(rows.iter().any(|r| r.op == "report"), "{text}");
    let params: f64 = text
        .split("conformer: ")
        .nth(1)
        .and_then(|t| t.split('M').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no parameter count in:\n{text}"));
    // Late rewinding keeps its point (weights and Adam's two moments) for
    // every round to continue from.
    let point = 3.0 * params * 1e6 * 4.0 / (1u64 << 20) as f64;
    for r in &rows {
        let need = estimate + if r.step == "late" { point } else { 0.0 };
        assert!(
            r.peak <= OPS_BOUND * need,
            "{} ({}): peak {:.0} MiB > {OPS_BOUND} x {need:.0} MiB\n{text}",
            r.step,
            r.op,
            r.peak
        );
    }
}
