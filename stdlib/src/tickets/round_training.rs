//! One round of a ticket trained again as a cached sub-step, from given
//! initial weights under its mask: what the random-ticket baseline and
//! `retrain` do for every round they take from a ticket.

use super::ticket::RoundInfo;
use crate::pruning::masks::Masks;
use crate::tensor_io::TensorMap;
use crate::training::job::{read_trained, Run, TrainJob};
use lotto_interpreter::run_ctx::{Metrics, RunCtx, SubStep};

/// Where a retrained round starts, and what decides its result besides
/// the op (its sub-step's dependencies).
pub struct RoundStart<'a> {
    pub round: usize,
    pub init: &'a TensorMap,
    pub masks: Option<&'a Masks>,
    pub deps: serde_json::Value,
}

/// Trains round `start.round` with `job` (cached), reports it, and returns
/// its entry for the new ticket.
pub fn train_round(
    ctx: &mut RunCtx,
    job: &TrainJob,
    start: RoundStart,
) -> Result<RoundInfo, String> {
    let r = start.round;
    let sub = SubStep {
        owner: None,
        kind: "round",
        deps: start.deps,
        label: format!("round {r}"),
    };
    let label = format!("{} round {r}", ctx.step_name);
    let dir = ctx.sub_step(sub, |out, ckpt| {
        let run = Run {
            init: start.init,
            masks: start.masks,
            out,
            ckpt,
            label: &label,
            from_point: None,
            keep_optimizer: false,
        };
        let info = job.run(&run, None)?;
        let mut m = Metrics::new();
        m.insert("rw".into(), info.rw.into());
        m.insert("dev_wer".into(), info.best_dev_wer.into());
        Ok(m)
    })?;
    let info = read_trained(&dir)?;
    ctx.progress.println(&format!(
        "  {} round {r}: RW {:.1}%, dev WER {:.2}%",
        ctx.step_name, info.rw, info.best_dev_wer
    ));
    Ok(RoundInfo {
        round: r,
        rw: info.rw,
        dev_wer: info.best_dev_wer,
        dir: ctx.artifact_id(&dir),
    })
}
