//! One round of a ticket as a trained model: `t.round(k)`, `best(t)`
//! (lowest dev WER, ties to the sparsest) and `extreme(t, than: dense)`
//! (the sparsest round whose dev WER is no worse than the dense model's).
//! In a recipe run over several seeds, `best` and `extreme` choose the
//! round by the mean dev WER over seeds (every seed picks the same round)
//! and say when the choice is within noise.

use super::ticket::{better_round, copy_trained, read_ticket, RoundInfo};
use crate::stats::{mean_se, within_noise};
use crate::training::job::read_trained;
use crate::vocabulary::{TICKET, TRAINED};
use lotto_interpreter::run_ctx::RunCtx;
use lotto_interpreter::types::PType;
use lotto_interpreter::value::{StepRef, Value};

lotto_interpreter::op_args! {
    pub struct RoundArgs {
        ticket: StepRef = req(PType::Step(&[TICKET]), "the ticket"),
        k: usize = req(PType::Int, "round (0 = dense)").range(0.0, 100.0),
    }
}

/// Filled in by `param seeds`, never written in a recipe.
const OVER_SEEDS: &str = "every seed's copy of `ticket`, filled in when the recipe runs over several seeds (`param seeds`): the round is chosen by the mean dev WER over them";

fn no_refs() -> Value {
    Value::List(vec![])
}

lotto_interpreter::op_args! {
    pub struct BestArgs {
        ticket: StepRef = req(PType::Step(&[TICKET]), "the ticket"),
        over_seeds: Vec<StepRef> = opt(PType::List(Box::new(PType::Step(&[TICKET]))), no_refs(), OVER_SEEDS).additive(),
    }
}

lotto_interpreter::op_args! {
    pub struct ExtremeArgs {
        ticket: StepRef = req(PType::Step(&[TICKET]), "the ticket"),
        than: StepRef = req(PType::Step(&[TRAINED]), "the dense model"),
        over_seeds: Vec<StepRef> = opt(PType::List(Box::new(PType::Step(&[TICKET]))), no_refs(), OVER_SEEDS).additive(),
        than_over_seeds: Vec<StepRef> = opt(PType::List(Box::new(PType::Step(&[TRAINED]))), no_refs(), "every seed's copy of `than`, filled in as `over_seeds`").additive(),
    }
}

/// Each round's dev WER as the choice sees it: the mean over seeds and its
/// standard error (0 with one seed), in the order of `own`'s rounds.
fn dev_wers(ctx: &RunCtx, own: &[RoundInfo], seeds: &[StepRef]) -> Result<Vec<(f64, f64)>, String> {
    if seeds.len() < 2 {
        return Ok(own.iter().map(|r| (r.dev_wer, 0.0)).collect());
    }
    let tickets: Vec<Vec<RoundInfo>> = seeds
        .iter()
        .map(|&s| read_ticket(ctx.input(s)).map(|t| t.rounds))
        .collect::<Result<_, _>>()?;
    own.iter()
        .map(|r| {
            let per_seed: Vec<f64> = tickets
                .iter()
                .map(|t| {
                    t.iter()
                        .find(|x| x.round == r.round)
                        .map(|x| x.dev_wer)
                        .ok_or_else(|| {
                            format!("a seed's copy of the ticket has no round {}", r.round)
                        })
                })
                .collect::<Result<_, _>>()?;
            Ok(mean_se(&per_seed))
        })
        .collect()
}

/// Says (metric and run output) whether the picked round's mean dev WER is
/// within two standard errors of another candidate's.
fn note_noise(ctx: &mut RunCtx, picked: (f64, f64), next: Option<(usize, (f64, f64))>) {
    let Some((round, other)) = next else { return };
    let noise = within_noise(picked, other);
    ctx.metric("within_noise", noise.is_some());
    if let Some(two_se) = noise {
        let m = other.0;
        ctx.progress.println(&format!(
            "  note: {}: the choice is within noise of round {round} (mean dev WERs {:.2} and {m:.2}, two standard errors {two_se:.2})",
            ctx.step_name, picked.0
        ));
    }
}

/// Publishes round `r` as this step's model.
fn publish(ctx: &mut RunCtx, r: &RoundInfo, picked: bool) -> Result<(), String> {
    if picked {
        ctx.metric("round", r.round as u64);
    }
    ctx.metric("rw", r.rw);
    let dir = ctx.store.root.join("objects").join(&r.dir);
    copy_trained(&dir, ctx.out)
}

pub fn run_round(ctx: &mut RunCtx, a: &RoundArgs) -> Result<(), String> {
    let t = read_ticket(ctx.input(a.ticket))?;
    let r = t.rounds.iter().find(|r| r.round == a.k).ok_or_else(|| {
        format!(
            "the ticket has rounds 0..{}, not {}",
            t.rounds.len() - 1,
            a.k
        )
    })?;
    publish(ctx, r, false)
}

pub fn run_best(ctx: &mut RunCtx, a: &BestArgs) -> Result<(), String> {
    let t = read_ticket(ctx.input(a.ticket))?;
    let dev = dev_wers(ctx, &t.rounds, &a.over_seeds)?;
    let mut ranked: Vec<usize> = (0..t.rounds.len()).collect();
    ranked.sort_by(|&x, &y| better_round((dev[x].0, t.rounds[x].rw), (dev[y].0, t.rounds[y].rw)));
    let &best = ranked.first().ok_or("the ticket has no rounds")?;
    if a.over_seeds.len() > 1 {
        ctx.metric("mean_dev_wer", dev[best].0);
        let next = ranked.get(1).map(|&i| (t.rounds[i].round, dev[i]));
        note_noise(ctx, dev[best], next);
    }
    publish(ctx, &t.rounds[best], true)
}

pub fn run_extreme(ctx: &mut RunCtx, a: &ExtremeArgs) -> Result<(), String> {
    let t = read_ticket(ctx.input(a.ticket))?;
    let dev = dev_wers(ctx, &t.rounds, &a.over_seeds)?;
    let dense_models = if a.than_over_seeds.len() > 1 {
        a.than_over_seeds.clone()
    } else {
        vec![a.than]
    };
    let dense_wers: Vec<f64> = dense_models
        .iter()
        .map(|&d| read_trained(ctx.input(d)).map(|m| m.best_dev_wer))
        .collect::<Result<_, _>>()?;
    let dense = mean_se(&dense_wers);
    let i = (0..t.rounds.len())
        .filter(|&i| dev[i].0 <= dense.0)
        .min_by(|&x, &y| t.rounds[x].rw.total_cmp(&t.rounds[y].rw))
        .ok_or("no round is as good as the dense model")?;
    if a.over_seeds.len() > 1 {
        ctx.metric("mean_dev_wer", dev[i].0);
        ctx.metric("dense_mean_dev_wer", dense.0);
        note_noise(ctx, dev[i], Some((0, dense)));
    }
    publish(ctx, &t.rounds[i], true)
}
