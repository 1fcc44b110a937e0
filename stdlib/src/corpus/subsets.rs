//! Ops that make corpora from corpora: speaker-disjoint `split`, duration
//! `filter`, `take` and `concat`.

use super::utt::{hours, read_utts, write_utts, Utt};
use crate::op::op;
use crate::rng::Rng;
use crate::vocabulary::CORPUS;
use lotto_interpreter::registry::Invalid;
use lotto_interpreter::run_ctx::RunCtx;
use lotto_interpreter::signature::Output;
use lotto_interpreter::types::PType;
use lotto_interpreter::value::StepRef;
use lotto_interpreter::Registry;
use std::collections::BTreeMap;

const CORPORA: &[lotto_interpreter::types::StepType] = &[CORPUS];

lotto_interpreter::op_args! {
    pub struct SplitArgs {
        corpus: StepRef = req(PType::Step(CORPORA), "the corpus to split"),
        fractions: Vec<f64> = req(PType::List(Box::new(PType::Fraction)), "one fraction per part, summing to 1").range(0.0, 1.0).variadic(),
        seed: u64 = opt(PType::Int, 0, "shuffles speakers").range(0.0, crate::rng::SEED_MAX),
    }
}

lotto_interpreter::op_args! {
    pub struct FilterArgs {
        corpus: StepRef = req(PType::Step(CORPORA), "the corpus"),
        min: f64 = opt(PType::Duration, 1.0, "shortest kept").range(0.0, 3600.0),
        max: f64 = opt(PType::Duration, 15.0, "longest kept").range(0.0, 36000.0),
    }
}

lotto_interpreter::op_args! {
    pub struct TakeArgs {
        corpus: StepRef = req(PType::Step(CORPORA), "the corpus"),
        n: usize = req(PType::Int, "how many").range(1.0, 1e9),
    }
}

lotto_interpreter::op_args! {
    pub struct ConcatArgs {
        corpora: Vec<StepRef> = req(PType::List(Box::new(PType::Step(CORPORA))), "the corpora, as a list or as several arguments").variadic(),
    }
}

fn split_validate(a: &SplitArgs) -> Result<(), Invalid> {
    let sum: f64 = a.fractions.iter().sum();
    if a.fractions.len() < 2 {
        return Err(Invalid::at(
            "fractions",
            "`split` needs at least two fractions",
        ));
    }
    if (sum - 1.0).abs() > 1e-6 {
        return Err(Invalid::at(
            "fractions",
            format!("split fractions must sum to 1, they sum to {sum}"),
        ));
    }
    if let Some(i) = a.fractions.iter().position(|f| *f <= 0.0) {
        return Err(Invalid::at(
            "fractions",
            format!(
                "part {} of the split is empty (fraction 0): give every part a share, or split into fewer parts",
                i + 1
            ),
        ));
    }
    Ok(())
}

fn filter_validate(a: &FilterArgs) -> Result<(), Invalid> {
    if a.min > a.max {
        return Err(Invalid::at(
            "max",
            format!(
                "`max` ({}s) is below `min` ({}s): no utterance could be kept",
                a.max, a.min
            ),
        ));
    }
    Ok(())
}

/// Speaker-disjoint split: speakers are shuffled with the seed and assigned
/// greedily so each part's duration is closest to its fraction.
fn run_split(ctx: &mut RunCtx, a: &SplitArgs) -> Result<(), String> {
    let utts = read_utts(ctx.input(a.corpus))?;
    let fr = &a.fractions;
    let mut by_spk: BTreeMap<String, Vec<Utt>> = BTreeMap::new();
    for u in utts {
        by_spk.entry(u.speaker.clone()).or_default().push(u);
    }
    let total: f64 = by_spk.values().flatten().map(|u| u.duration).sum();
    let mut parts: Vec<Vec<Utt>> = vec![vec![]; fr.len()];
    let mut rng = Rng::new(a.seed);
    let known = !(by_spk.len() == 1 && by_spk.contains_key("unknown"));
    let mut groups: Vec<Vec<Utt>> = if known {
        by_spk.into_values().collect()
    } else {
        by_spk.into_values().flatten().map(|u| vec![u]).collect()
    };
    rng.shuffle(&mut groups);
    if groups.len() < fr.len() {
        return Err(format!(
            "cannot split {} speaker(s) into {} parts: each part needs a speaker of its own",
            groups.len(),
            fr.len()
        ));
    }
    let mut have = vec![0.0; fr.len()];
    for (gi, g) in groups.into_iter().enumerate() {
        let d: f64 = g.iter().map(|u| u.duration).sum();
        // First give each part one group, then fill the most under-served.
        let k = if gi < fr.len() {
            fr.len() - 1 - gi
        } else {
            let want = |i: usize| fr[i] * total - have[i];
            (0..fr.len())
                .max_by(|x, y| want(*x).total_cmp(&want(*y)))
                .expect("at least two parts")
        };
        have[k] += d;
        parts[k].extend(g);
    }
    for (i, p) in parts.iter().enumerate() {
        write_utts(&ctx.out.join(format!("port{i}")), p)?;
        ctx.metric(&format!("part{i}_utterances"), p.len() as u64);
    }
    Ok(())
}

fn run_filter(ctx: &mut RunCtx, a: &FilterArgs) -> Result<(), String> {
    let utts = read_utts(ctx.input(a.corpus))?;
    let n = utts.len();
    let (lo, hi) = utts.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), u| {
        (lo.min(u.duration), hi.max(u.duration))
    });
    let kept: Vec<Utt> = utts
        .into_iter()
        .filter(|u| u.duration >= a.min && u.duration <= a.max)
        .collect();
    if kept.is_empty() && n > 0 {
        return Err(format!(
            "keeps none of the {n} utterances of its corpus: they last {lo:.2}s to {hi:.2}s, the window is {}s to {}s; widen `min`/`max`",
            a.min, a.max
        ));
    }
    ctx.metric("kept", kept.len() as u64);
    ctx.metric("dropped", (n - kept.len()) as u64);
    write_utts(ctx.out, &kept)
}

fn run_take(ctx: &mut RunCtx, a: &TakeArgs) -> Result<(), String> {
    let mut utts = read_utts(ctx.input(a.corpus))?;
    utts.truncate(a.n);
    ctx.metric("utterances", utts.len() as u64);
    write_utts(ctx.out, &utts)
}

/// All utterances of several corpora, in order. An utterance id in two of
/// them would make per-utterance seeds and results ambiguous: an error.
fn run_concat(ctx: &mut RunCtx, a: &ConcatArgs) -> Result<(), String> {
    let mut out: Vec<Utt> = vec![];
    let mut seen: std::collections::HashMap<String, String> = Default::default();
    for &r in &a.corpora {
        let name = ctx.input_name(r).to_string();
        for u in read_utts(ctx.input(r))? {
            if let Some(first) = seen.insert(u.id.clone(), name.clone()) {
                return Err(format!(
                    "utterance `{}` is in both `{first}` and `{name}`: concatenate corpora with distinct utterances (e.g. different splits)",
                    u.id
                ));
            }
            out.push(u);
        }
    }
    ctx.metric("utterances", out.len() as u64);
    ctx.metric("hours", hours(&out));
    write_utts(ctx.out, &out)
}

pub fn register(r: &mut Registry) {
    r.add(
        op::<SplitArgs>("split", "Corpora", 1, Output::PerItem { param: "fractions", ty: CORPUS }, "Splits a corpus by speaker (no speaker in two parts) into parts of the given duration fractions.")
            .run(run_split)
            .validate(split_validate),
    );
    r.add(
        op::<FilterArgs>(
            "filter",
            "Corpora",
            1,
            Output::One(CORPUS),
            "Keeps utterances whose duration lies in [min, max] (the paper: 1s to 15s).",
        )
        .run(run_filter)
        .validate(filter_validate),
    );
    r.add(
        op::<TakeArgs>(
            "take",
            "Corpora",
            1,
            Output::One(CORPUS),
            "The first n utterances.",
        )
        .run(run_take),
    );
    r.add(
        op::<ConcatArgs>("concat", "Corpora", 1, Output::One(CORPUS), "All utterances of several corpora, in order (e.g. LibriSpeech train-clean-100 + train-clean-360).")
            .run(run_concat),
    );
}
