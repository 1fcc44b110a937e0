//! The ticket ops' signatures: pruning runs (`imp`, `random_prune`,
//! `oneshot`), their config values, the random-ticket baseline, transfer,
//! and picking rounds.

use super::args::{
    validate_rounds, validate_structure, EarlyBirdArgs, EpochPointArgs, ImpArgs, OneshotArgs,
    PruneFrom, RandomPruneArgs, Rewind, Schedule, StepPointArgs,
};
use super::picks::{run_best, run_extreme, run_round, BestArgs, ExtremeArgs, RoundArgs};
use super::random_ticket::{self, RandomTicketArgs};
use super::retrain::{self, RetrainArgs};
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
                prune_from: PruneFrom::Last,
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
    op::<A>(name, "Tickets", 3, Output::One(TICKET), doc)
        .run(|ctx, a| prune_rounds(ctx, &a.into()))
        .validate(validate)
        .validate_inputs(|a, up| rewind_fits(&a.into(), up))
        .cost(|a, up| {
            let plan: Plan = a.into();
            crate::training::fit::trained_cost(up, plan.trained)
        })
        .numeric()
        .resources(model_resources(7 * 24 * 60))
}

pub fn register(r: &mut Registry) {
    r.add(config_op::<EarlyBirdArgs>("early_bird", "Tickets", 2, &EARLY_BIRD, "Early-bird tickets (You et al. 2020) for `imp(..., early_bird: early_bird(...))`: after each epoch of a round, the mask the next round would draw; training stops once `window` successive epochs changed it by less than `distance` (share of the weights this round prunes on which successive candidate masks disagree)."));
    r.add(config_op::<EpochPointArgs>("epoch", "Tickets", 2, &REWIND, "A late-rewinding point for `imp(..., rewind: epoch(k))`: the dense run after epoch k (weights, optimizer moments, lr schedule); each round trains from there to the end of the dense schedule."));
    r.add(config_op::<StepPointArgs>("step", "Tickets", 2, &REWIND, "A late-rewinding point for `imp(..., rewind: step(k))`: the dense run after its first k optimizer steps (weights, optimizer moments, lr schedule); each round takes the dense run's remaining steps (finer than `epoch(k)`: the paper rewinds to θ0 or \"an early iteration\")."));
    r.add(pruning::<ImpArgs>("imp", "Iterative magnitude pruning: per round prune `rate` of the remaining smallest-magnitude weights (of the weights at the end of the previous training, `prune_from`), rewind the survivors, retrain; pruned weights get no gradient. `rewind: init` / `trained` retrain the whole schedule with a fresh optimizer; `epoch(k)` / `step(k)` (late rewinding) continue from the dense run at k, its weights, optimizer moments and lr schedule, to the end of its schedule. RW is measured from the masks.", |a| validate_rounds(&a.schedule, &a.structure)));
    r.add(pruning::<RandomPruneArgs>("random_prune", "Random pruning baseline: same rate, schedule and rewinding as `imp`, weights chosen at random.", |a| validate_rounds(&a.schedule, &a.structure)));
    r.add(pruning::<OneshotArgs>("oneshot", "Standard magnitude pruning (the paper's comparison): prune `sparsity` of the prunable weights of the trained model at once, then fine-tune the survivors from their trained values. A ticket with rounds 0 (dense) and 1.", |a| validate_structure(&a.structure, 1, false)));
    r.add(
        op::<RandomTicketArgs>("random_ticket", "Tickets", 3, Output::One(TICKET), "Random ticket baseline: each round's mask of a ticket, trained from a random re-initialisation instead of θ0.")
            .run(random_ticket::run)
            .numeric(),
    );
    r.add(
        op::<RetrainArgs>("retrain", "Tickets", 2, Output::One(TICKET), "Every round of a ticket, round 0 (the dense model) included, trained again from its own initial weights (θ0 or the rewinding point, masked) under its mask, with new settings: noise injection (`noise`, `noise_level: [0, 0.5]`, `noise_prob`; the paper's RQ4 retrains the clean ticket with noise), SpecAugment, epochs, or another corpus (`to`, `dev`: transfer of every round, the paper's RQ5). Everything else is the source round's. Rounds rewound late restart the schedule from their rewinding point's weights.")
            .run(retrain::run)
            .validate(retrain::validate)
            .numeric()
            .resources(model_resources(7 * 24 * 60)),
    );
    r.add(
        op::<TransferArgs>("transfer", "Tickets", 3, Output::One(TRAINED), "Ticket transfer: trains a ticket round's mask from that round's initial weights on another corpus (same model, features and training settings as the source).")
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
            "The round with the lowest dev WER (ties: sparsest). Over several seeds (`param seeds`): the round with the lowest mean dev WER over seeds, each seed's copy of it, and a note (metric `within_noise`) when the next round's mean is within two standard errors.",
        )
        .run(run_best)
        .pools_seeds(&[("ticket", "over_seeds")])
        .pass_through(),
    );
    r.add(
        op::<ExtremeArgs>(
            "extreme",
            "Tickets",
            1,
            Output::One(TRAINED),
            "The sparsest round whose dev WER is no worse than the dense model's. Over several seeds (`param seeds`): the sparsest round whose mean dev WER over seeds is no worse than the dense models' mean, and a note (metric `within_noise`) when the two are within two standard errors.",
        )
        .run(run_extreme)
        .pools_seeds(&[("ticket", "over_seeds"), ("than", "than_over_seeds")])
        .pass_through(),
    );
}
