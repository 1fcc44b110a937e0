//! The random-ticket baseline: each round's mask of a ticket, trained from
//! a fresh random initialisation instead of θ0.

use super::round_training::{train_round, RoundStart};
use super::ticket::{read_ticket, TicketInfo};
use crate::artifacts::write_yaml;
use crate::rng::SEED_MAX;
use crate::tensor_io;
use crate::training::job::{fresh_init, read_trained, TrainJob};
use crate::vocabulary::TICKET;
use lotto_interpreter::run_ctx::RunCtx;
use lotto_interpreter::types::PType;
use lotto_interpreter::value::StepRef;

lotto_interpreter::op_args! {
    pub struct RandomTicketArgs {
        ticket: StepRef = req(PType::Step(&[TICKET]), "the IMP ticket"),
        seed: u64 = opt(PType::Int, 1, "re-initialisation seed (offset from the seed of θ0)").range(0.0, SEED_MAX).run_seed(),
    }
}

pub fn run(ctx: &mut RunCtx, a: &RandomTicketArgs) -> Result<(), String> {
    let src = read_ticket(ctx.input(a.ticket))?;
    let objects = ctx.store.root.join("objects");
    let mut rounds = vec![];
    let mut job: Option<TrainJob> = None;
    for ri in &src.rounds {
        if ri.round == 0 {
            rounds.push(ri.clone());
            continue;
        }
        let rdir = objects.join(&ri.dir);
        let info = read_trained(&rdir)?;
        let j = match &job {
            Some(j) => j,
            None => job.insert(TrainJob::from_trained(ctx, &info)?),
        };
        let masks = tensor_io::load(&rdir.join("masks.safetensors"))?;
        let init = fresh_init(&info.model, a.seed.wrapping_add(0x5eed));
        let start = RoundStart {
            round: ri.round,
            init: &init,
            masks: Some(&masks),
            deps: serde_json::json!({ "ticket_round": ri.dir, "seed": a.seed }),
        };
        rounds.push(train_round(ctx, j, start)?);
    }
    write_yaml(
        &ctx.out.join("ticket.yaml"),
        &TicketInfo {
            method: "random_ticket".into(),
            rounds,
        },
    )
}
