//! Ticket checks that need the steps a call reads, made at check time:
//! a late-rewinding point inside the dense training it rewinds into, and a
//! round the ticket will have.

use super::args::{ImpArgs, RandomPruneArgs, Rewind, Schedule};
use super::picks::RoundArgs;
use super::random_ticket::RandomTicketArgs;
use super::rounds::Plan;
use crate::op::upstream;
use crate::training::fit::FitArgs;
use lotto_interpreter::program::Upstream;
use lotto_interpreter::registry::Invalid;
use lotto_interpreter::value::StepRef;

/// `rewind: epoch(k)` must fall before the end of the dense `fit` (by
/// epochs), `step(k)` within it when it trains by steps.
pub fn rewind_fits(plan: &Plan, up: &Upstream) -> Result<(), Invalid> {
    let Some(fit) = upstream::<FitArgs>(up, plan.trained, "fit") else {
        return Ok(());
    };
    match plan.schedule.rewind {
        Rewind::Epoch(_) if fit.steps > 0 => Err(Invalid::at(
            "rewind",
            "rewind: epoch(k) needs a dense fit trained by `epochs`; this one trains by `steps`, so use step(k)",
        )),
        Rewind::Epoch(k) if k >= fit.epochs => Err(Invalid::at(
            "rewind",
            format!(
                "rewind: epoch({k}) must come before the end of the dense training ({} epoch{})",
                fit.epochs,
                if fit.epochs == 1 { "" } else { "s" }
            ),
        )),
        Rewind::Step(k) if fit.steps > 0 && k >= fit.steps => Err(Invalid::at(
            "rewind",
            format!(
                "rewind: step({k}) must come before the end of the dense training ({} steps)",
                fit.steps
            ),
        )),
        _ => Ok(()),
    }
}

/// The number of pruning rounds the ticket step `r` will have, where the
/// recipe fixes it (`until` schedules stop on what they measure).
fn rounds_of(up: &Upstream, r: StepRef) -> Option<usize> {
    let scheduled = |s: &Schedule| match (&s.sparsities, s.until) {
        (Some(v), _) => Some(v.len()),
        (None, Some(_)) => None,
        (None, None) => Some(s.rounds),
    };
    if let Some(a) = upstream::<ImpArgs>(up, r, "imp") {
        return scheduled(&a.schedule);
    }
    if let Some(a) = upstream::<RandomPruneArgs>(up, r, "random_prune") {
        return scheduled(&a.schedule);
    }
    if up.call(r)?.0 == "oneshot" {
        return Some(1);
    }
    // A random ticket has its source ticket's rounds.
    let a = upstream::<RandomTicketArgs>(up, r, "random_ticket")?;
    rounds_of(up, a.ticket)
}

/// `t.round(k)` names a round the ticket has.
pub fn round_exists(a: &RoundArgs, up: &Upstream) -> Result<(), Invalid> {
    match rounds_of(up, a.ticket) {
        Some(n) if a.k > n => Err(Invalid::at(
            "k",
            format!("the ticket has rounds 0 (dense) to {n}, not {}", a.k),
        )),
        _ => Ok(()),
    }
}
