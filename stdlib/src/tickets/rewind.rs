//! Late rewinding points (`rewind: epoch(k)` or `step(k)`): the dense
//! weights and optimizer state after epoch k (or optimizer step k), from
//! which each round trains on to the end of the dense schedule (Frankle et
//! al. 2020: rewinding to iteration k, not restarting); recomputed by
//! training the
//! dense model again from θ0 for that long, as a cached sub-step owned by
//! `fit` (it is `fit`'s computation, cut short). Training is deterministic
//! and no step depends on the total number of epochs, so these are the
//! dense run's own weights at that point (tests compare them with a
//! k-epoch fit, and `step(one epoch's batches)` with `epoch(1)`).

use super::args::Rewind;
use crate::tensor_io::{self, TensorMap};
use crate::training::job::{load_optimizer, Run, TrainJob, TrainedInfo};
use lotto_interpreter::run_ctx::{Metrics, RunCtx, SubStep};

/// Where a late-rewound round starts: the dense run's weights there, and
/// its optimizer moments and step count.
pub struct RewindPoint {
    pub weights: TensorMap,
    pub optimizer: (TensorMap, u64),
}

/// The late rewinding point, or `None` for `init` and `trained`. `job`
/// retrains the dense model (its settings are restored).
pub fn rewind_point(
    ctx: &mut RunCtx,
    job: &mut TrainJob,
    dense: (&str, &TrainedInfo, &TensorMap),
    rewind: Rewind,
) -> Result<Option<RewindPoint>, String> {
    let (dense_id, info, dense_init) = dense;
    let (point, k) = match rewind {
        Rewind::Init | Rewind::Trained => return Ok(None),
        Rewind::Epoch(k) => ("epoch", k),
        Rewind::Step(k) => ("step", k),
    };
    let saved = job.settings.clone();
    if point == "epoch" {
        if info.settings.steps.is_some() {
            return Err("rewind: epoch(k) needs a dense fit trained by `epochs`; this one was trained by `steps`, so use step(k)".into());
        }
        if k >= info.settings.epochs {
            return Err(format!(
                "rewind: epoch({k}) must come before the end of the dense training ({} epochs)",
                info.settings.epochs
            ));
        }
        job.settings.epochs = k;
    } else {
        job.settings.stop_after_steps = Some(k);
    }
    let sub = SubStep {
        owner: Some("fit"),
        kind: "rewind point",
        deps: serde_json::json!({ "dense": dense_id, "point": point, "k": k, "optimizer": true }),
        label: format!("dense at {point} {k}"),
    };
    let label = format!("{} rewind point ({point} {k})", ctx.step_name);
    let early = &*job;
    let dir = ctx.sub_step(sub, |out, ckpt| {
        let run = Run {
            init: dense_init,
            masks: None,
            out,
            ckpt,
            label: &label,
            from_point: None,
            keep_optimizer: true,
        };
        early
            .run(&run, None)
            .map_err(|e| format!("rewind: {point}({k}): {e}"))?;
        Ok(Metrics::new())
    });
    job.settings = saved;
    let dir = dir?;
    Ok(Some(RewindPoint {
        weights: tensor_io::load(&dir.join("last.safetensors"))?,
        optimizer: load_optimizer(&dir)?,
    }))
}
