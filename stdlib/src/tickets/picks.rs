//! One round of a ticket as a trained model: `t.round(k)`, `best(t)`
//! (lowest dev WER, ties to the sparsest) and `extreme(t, than: dense)`
//! (the sparsest round whose dev WER is no worse than the dense model's).

use super::ticket::{better_round, copy_trained, read_ticket, RoundInfo};
use crate::training::job::read_trained;
use crate::vocabulary::{TICKET, TRAINED};
use lotto_interpreter::run_ctx::RunCtx;
use lotto_interpreter::types::PType;
use lotto_interpreter::value::StepRef;

lotto_interpreter::op_args! {
    pub struct RoundArgs {
        ticket: StepRef = req(PType::Step(&[TICKET]), "the ticket"),
        k: usize = req(PType::Int, "round (0 = dense)").range(0.0, 100.0),
    }
}

lotto_interpreter::op_args! {
    pub struct BestArgs {
        ticket: StepRef = req(PType::Step(&[TICKET]), "the ticket"),
    }
}

lotto_interpreter::op_args! {
    pub struct ExtremeArgs {
        ticket: StepRef = req(PType::Step(&[TICKET]), "the ticket"),
        than: StepRef = req(PType::Step(&[TRAINED]), "the dense model"),
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
    let r = t
        .rounds
        .iter()
        .min_by(|x, y| better_round((x.dev_wer, x.rw), (y.dev_wer, y.rw)))
        .ok_or("the ticket has no rounds")?;
    publish(ctx, r, true)
}

pub fn run_extreme(ctx: &mut RunCtx, a: &ExtremeArgs) -> Result<(), String> {
    let t = read_ticket(ctx.input(a.ticket))?;
    let dense = read_trained(ctx.input(a.than))?.best_dev_wer;
    let r = t
        .rounds
        .iter()
        .filter(|r| r.dev_wer <= dense)
        .min_by(|x, y| x.rw.total_cmp(&y.rw))
        .ok_or("no round is as good as the dense model")?;
    publish(ctx, r, true)
}
