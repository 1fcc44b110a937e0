//! The ticket ops' signatures: pruning runs (`imp`, `random_prune`,
//! `oneshot`), their config values, the random-ticket baseline, transfer,
//! and picking rounds.

use super::args::{
    validate_rounds, validate_structure, EarlyBirdArgs, EpochPointArgs, ImpArgs, OneshotArgs,
    RandomPruneArgs, Rewind, Schedule, StepPointArgs,
};
use super::picks::{run_best, run_extreme, run_round, BestArgs, ExtremeArgs, RoundArgs};
use super::random_ticket::{self, RandomTicketArgs};
use super::rounds::{prune_rounds, Plan};
use super::transfer::{self, TransferArgs};
use super::upstream_checks::{rewind_fits, round_exists};
use crate::op::{config_op, model_resources, op, TypedOp};
use crate::vocabulary::{EARLY_BIRD, REWIND, TICKET, TRAINED};
use lotto_interpreter::registry::Invalid;
use lotto_interpreter::signature::Output;
use lotto_interpreter::typed::OpArgs;
use lotto_interpreter::Registry;

impl From<&ImpArgs> for Plan {
    fn from(a: &ImpArgs) -> Plan {
        Plan {
            trained: a.trained,
            schedule: a.schedule.clone(),
            structure: a.structure.clone(),
            random: false,
            early_bird: a.early_bird.clone(),
        }
    }
}

impl From<&RandomPruneArgs> for Plan {
    fn from(a: &RandomPruneArgs) -> Plan {
        Plan {
            trained: a.trained,
            schedule: a.schedule.clone(),
            structure: a.structure.clone(),
            random: true,
            early_bird: None,
        }
    }
}

/// Standard (one-shot) magnitude pruning: one round that prunes `sparsity`
/// of the weights and fine-tunes the trained survivors (no rewinding).
impl From<&OneshotArgs> for Plan {
    fn from(a: &OneshotArgs) -> Plan {
        Plan {
            trained: a.trained,
            schedule: Schedule {
                rounds: 1,
                rate: a.sparsity,
                rewind: Rewind::Trained,
                sparsities: None,
                until: None,
                epochs: a.finetune,
            },
            structure: a.structure.clone(),
            random: false,
            early_bird: None,
        }
    }
}

/// A pruning op: its arguments make a [`Plan`] of rounds.
fn pruning<A>(
    name: &'static str,
    doc: &'static str,
    validate: fn(&A) -> Result<(), Invalid>,
) -> TypedOp<A>
where
    A: OpArgs,
    for<'a> Plan: From<&'a A>,
{
    op::<A>(name, "Tickets", 1, Output::One(TICKET), doc)
        .run(|ctx, a| prune_rounds(ctx, &a.into()))
        .validate(validate)
        .validate_inputs(|a, up| rewind_fits(&a.into(), up))
        .numeric()
        .resources(model_resources(7 * 24 * 60))
}

pub fn register(r: &mut Registry) {
    r.add(config_op::<EarlyBirdArgs>("early_bird", "Tickets", 1, &EARLY_BIRD, "Early-bird tickets (You et al. 2020) for `imp(..., early_bird: early_bird(...))`: after each epoch of a round, the mask the next round would draw; training stops once `window` successive epochs changed it by less than `distance` (share of prunable weights whose mask bit flipped)."));
    r.add(config_op::<EpochPointArgs>("epoch", "Tickets", 1, &REWIND, "A late-rewinding point for `imp(..., rewind: epoch(k))`: the dense model's weights after epoch k."));
    r.add(config_op::<StepPointArgs>("step", "Tickets", 1, &REWIND, "A late-rewinding point for `imp(..., rewind: step(k))`: the dense model's weights after its first k optimizer steps (finer than `epoch(k)`: the paper rewinds to θ0 or \"an early iteration\")."));
    r.add(pruning::<ImpArgs>("imp", "Iterative magnitude pruning: per round prune `rate` of the remaining smallest-magnitude weights, rewind survivors, reset optimizer and lr schedule, retrain. RW is measured from the masks.", |a| validate_rounds(&a.schedule, &a.structure)));
    r.add(pruning::<RandomPruneArgs>("random_prune", "Random pruning baseline: same rate, schedule and rewinding as `imp`, weights chosen at random.", |a| validate_rounds(&a.schedule, &a.structure)));
    r.add(pruning::<OneshotArgs>("oneshot", "Standard magnitude pruning (the paper's comparison): prune `sparsity` of the prunable weights of the trained model at once, then fine-tune the survivors from their trained values. A ticket with rounds 0 (dense) and 1.", |a| validate_structure(&a.structure, 1, false)));
    r.add(
        op::<RandomTicketArgs>("random_ticket", "Tickets", 1, Output::One(TICKET), "Random ticket baseline: each round's mask of a ticket, trained from a random re-initialisation instead of θ0.")
            .run(random_ticket::run)
            .numeric(),
    );
    r.add(
        op::<TransferArgs>("transfer", "Tickets", 1, Output::One(TRAINED), "Ticket transfer: trains a ticket round's mask from that round's initial weights on another corpus (same model, features and training settings as the source).")
            .run(transfer::run)
            .numeric()
            .resources(model_resources(24 * 60)),
    );
    r.add(
        op::<RoundArgs>(
            "round",
            "Tickets",
            1,
            Output::One(TRAINED),
            "One round of a ticket as a trained model (`imp.round(3)`).",
        )
        .run(run_round)
        .validate_inputs(round_exists)
        .pass_through(),
    );
    r.add(
        op::<BestArgs>(
            "best",
            "Tickets",
            1,
            Output::One(TRAINED),
            "The round with the lowest dev WER (ties: sparsest).",
        )
        .run(run_best)
        .pass_through(),
    );
    r.add(
        op::<ExtremeArgs>(
            "extreme",
            "Tickets",
            1,
            Output::One(TRAINED),
            "The sparsest round whose dev WER is no worse than the dense model's.",
        )
        .run(run_extreme)
        .pass_through(),
    );
}
