//! Rounds of prune → rewind → retrain (IMP, random pruning, one-shot
//! pruning), each round a cached sub-step, so a run killed in round 6
//! resumes at round 6 and raising `rounds` only runs the new rounds.

use super::args::{EarlyBirdArgs, PruneFrom, Rewind, Schedule, Scope, Structure};
use super::early_bird::EarlyBird;
use super::rewind::{rewind_point, RewindPoint};
use super::schedule::{rate_to_reach, rounds};
use super::ticket::{RoundInfo, TicketInfo};
use crate::artifacts::write_yaml;
use crate::pruning::masks::Masks;
use crate::pruning::prune::{prune, PruneSpec};
use crate::pruning::select::{prunable_names, Selector};
use crate::rng::Rng;
use crate::tensor_io::{self, HostTensor, TensorMap};
use crate::training::job::{read_trained, Run, TrainJob};
use crate::training::train_loop::EpochHook;
use lotto_interpreter::run_ctx::{Metrics, RunCtx, SubStep};
use lotto_interpreter::value::StepRef;
use serde_json::json;
use std::path::PathBuf;

/// A pruning run, whichever op asked for it.
pub struct Plan {
    pub trained: StepRef,
    pub schedule: Schedule,
    pub structure: Structure,
    /// Random scores instead of magnitudes (the random-pruning baseline).
    pub random: bool,
    pub early_bird: Option<EarlyBirdArgs>,
}

/// What every round of one run shares.
struct Rounds<'j, 'a> {
    job: &'j TrainJob<'a>,
    spec: PruneSpec,
    dense_init: TensorMap,
    /// The late-rewinding point, if the rewind is one.
    rewind_to: Option<RewindPoint>,
    rewind: Rewind,
    seed: u64,
    early_bird: Option<EarlyBirdArgs>,
    /// Each round's target sparsity, for explicit schedules.
    targets: Option<Vec<f64>>,
    n_rounds: usize,
    /// Everything that decides a round, except which round it is.
    deps: serde_json::Value,
}

/// Runs every round and publishes the ticket (`ticket.yaml`).
pub fn prune_rounds(ctx: &mut RunCtx, plan: &Plan) -> Result<(), String> {
    let dense_dir = ctx.input(plan.trained).to_path_buf();
    let dense_id = ctx.artifact_id(&dense_dir);
    let info = read_trained(&dense_dir)?;
    let dense_init = tensor_io::load(&dense_dir.join("init.safetensors"))?;
    let (sch, st) = (&plan.schedule, &plan.structure);
    let spec = PruneSpec {
        rate: sch.rate,
        global: st.scope == Scope::Global,
        block: (st.block.first, st.block.second),
        random: plan.random,
        nm: st.nm.map(|s| (s.first, s.second)),
    };
    let mut job = TrainJob::from_trained(ctx, &info)?;
    let rewind_to = rewind_point(ctx, &mut job, (&dense_id, &info, &dense_init), sch.rewind)?;
    // Only rounds rewound to θ0 start from it: the others free its copy.
    let dense_init = match sch.rewind {
        Rewind::Init => dense_init,
        _ => TensorMap::new(),
    };
    if sch.epochs > 0 {
        job.settings.epochs = sch.epochs;
        job.settings.steps = None;
    }
    let selectors = st.prune.selectors(&info.model);
    let names = prunable_names(&info.model, &selectors)?;
    if names.is_empty() {
        return Err("no parameter matches `prune`; use conv, lstm_ih, lstm_hh, linear".into());
    }
    let deps = round_deps(&dense_id, &spec, plan, &selectors, job.settings.epochs);
    let all = Rounds {
        job: &job,
        spec,
        dense_init,
        rewind_to,
        rewind: sch.rewind,
        seed: st.seed,
        early_bird: plan.early_bird.clone(),
        targets: sch.sparsities.clone(),
        n_rounds: rounds(sch),
        deps,
    };
    let mut masks: Masks = names
        .iter()
        .map(|(n, s)| {
            let data = vec![1.0; s.iter().product()];
            (
                n.clone(),
                HostTensor {
                    shape: s.clone(),
                    data,
                },
            )
        })
        .collect();
    // The first mask comes from the dense model's weights, last or best.
    let from = match sch.prune_from {
        PruneFrom::Best => "best",
        PruneFrom::Last => "last",
    };
    let mut weights = tensor_io::load(&dense_dir.join(format!("{from}.safetensors")))?;
    let mut infos = vec![RoundInfo {
        round: 0,
        rw: 100.0,
        dev_wer: info.best_dev_wer,
        dir: dense_id,
    }];
    let mut train_epochs = 0usize;
    for r in 1..=all.n_rounds {
        let dir = all.round(ctx, r, masks, weights)?;
        let rinfo = read_trained(&dir)?;
        // An early-bird round's next mask comes from the weights at which
        // its mask settled (where training stopped), as in the early-bird
        // method; otherwise from the weights `prune_from` names.
        let from = match sch.prune_from {
            PruneFrom::Best if !all.stops_early(r) => "best",
            _ => "last",
        };
        weights = tensor_io::load(&dir.join(format!("{from}.safetensors")))?;
        masks = tensor_io::load(&dir.join("masks.safetensors"))?;
        ctx.progress.println(&format!(
            "  {} round {r}: RW {:.1}%, dev WER {:.2}%",
            ctx.step_name, rinfo.rw, rinfo.best_dev_wer
        ));
        infos.push(RoundInfo {
            round: r,
            rw: rinfo.rw,
            dev_wer: rinfo.best_dev_wer,
            dir: ctx.artifact_id(&dir),
        });
        train_epochs += rinfo.history.len();
    }
    publish(
        ctx,
        infos,
        plan.early_bird.is_some().then_some(train_epochs),
    )
}

/// Everything that decides a round, except which round it is.
fn round_deps(
    dense_id: &str,
    spec: &PruneSpec,
    plan: &Plan,
    selectors: &[Selector],
    epochs: usize,
) -> serde_json::Value {
    json!({
        "dense": dense_id,
        "rate": spec.rate,
        "global": spec.global,
        "block": [spec.block.0, spec.block.1],
        "nm": spec.nm.map(|(n, m)| [n, m]),
        "rewind": plan.schedule.rewind.key(),
        "prune_from": plan.schedule.prune_from.as_str(),
        "epochs": epochs,
        "prune": selectors.iter().map(Selector::key).collect::<Vec<_>>(),
        "seed": plan.structure.seed,
        "early_bird": plan.early_bird.as_ref().map(|e| json!({ "distance": e.distance, "window": e.window })),
    })
}

/// Publishes the ticket and each round's RW and dev WER; with early-bird,
/// the training epochs all rounds took (what the option saves).
fn publish(
    ctx: &mut RunCtx,
    infos: Vec<RoundInfo>,
    train_epochs: Option<usize>,
) -> Result<(), String> {
    if let Some(n) = train_epochs {
        ctx.metric("train_epochs", n as u64);
    }
    for ri in &infos {
        let round = |x: f64| (x * 100.0).round() / 100.0;
        ctx.metric(&format!("round{}_rw", ri.round), round(ri.rw));
        ctx.metric(&format!("round{}_dev_wer", ri.round), round(ri.dev_wer));
    }
    let method = ctx.op;
    write_yaml(
        &ctx.out.join("ticket.yaml"),
        &TicketInfo {
            method: method.into(),
            rounds: infos,
        },
    )
}

impl Rounds<'_, '_> {
    /// With early-bird, every round but the last stops once its mask has
    /// settled.
    fn stops_early(&self, r: usize) -> bool {
        self.early_bird.is_some() && r < self.n_rounds
    }

    /// Round `r`: prune `masks` by `weights`, rewind, retrain (cached).
    /// Both are dropped once pruned (unless training starts from
    /// `weights`): a round trains with one host copy of the weights
    /// fewer, and one of the masks.
    fn round(
        &self,
        ctx: &mut RunCtx,
        r: usize,
        masks: Masks,
        weights: TensorMap,
    ) -> Result<PathBuf, String> {
        let mut spec = self.spec.clone();
        let mut deps = self.deps.clone();
        deps["round"] = json!(r);
        // An explicit schedule names its targets so far, since each round
        // depends on the ones before.
        if let Some(l) = &self.targets {
            spec.rate = rate_to_reach(l[r - 1], &masks);
            deps["targets"] = json!(&l[..r]);
        }
        // With early-bird, whether this round is the last is part of what
        // it computes.
        if self.early_bird.is_some() {
            deps["last"] = json!(r == self.n_rounds);
        }
        let sub = SubStep {
            owner: None,
            kind: "round",
            deps,
            label: format!("round {r}"),
        };
        let label = format!("{} round {r}", ctx.step_name);
        ctx.sub_step(sub, |out, ckpt| {
            let mut rng = Rng::derive(self.seed, &format!("round{r}"));
            let new_masks = prune(&weights, &masks, &spec, &mut rng);
            drop(masks);
            let trained = match self.rewind {
                Rewind::Trained => weights,
                _ => {
                    drop(weights);
                    TensorMap::new()
                }
            };
            let (start, from_point) = match (self.rewind, &self.rewind_to) {
                (Rewind::Init, _) => (&self.dense_init, None),
                (Rewind::Trained, _) => (&trained, None),
                (_, Some(p)) => (&p.weights, Some(&p.optimizer)),
                (_, None) => return Err("the rewinding point was not computed".into()),
            };
            let mut hook = self
                .early_bird
                .as_ref()
                .filter(|_| self.stops_early(r))
                .map(|eb| {
                    let mut next = spec.clone();
                    // The next round's target: its share of what this one leaves.
                    if let Some(target) = self.targets.as_ref().and_then(|l| l.get(r)) {
                        next.rate = rate_to_reach(*target, &new_masks);
                    }
                    EarlyBird {
                        spec: next,
                        masks: &new_masks,
                        seed: self.seed,
                        next_round: r + 1,
                        distance: eb.distance,
                        window: eb.window,
                        prev: None,
                        distances: vec![],
                    }
                });
            let run = Run {
                init: start,
                masks: Some(&new_masks),
                out,
                ckpt,
                label: &label,
                from_point,
                keep_optimizer: false,
            };
            let info = self
                .job
                .run(&run, hook.as_mut().map(|h| h as &mut dyn EpochHook))?;
            let mut m = Metrics::new();
            m.insert("rw".into(), info.rw.into());
            m.insert("dev_wer".into(), info.best_dev_wer.into());
            if let Some(h) = &hook {
                m.insert("epochs".into(), (info.history.len() as u64).into());
                let d: Vec<f64> = h
                    .distances
                    .iter()
                    .map(|d| (d * 1e4).round() / 1e4)
                    .collect();
                m.insert(
                    "mask_distances".into(),
                    serde_yaml::to_value(d).unwrap_or_default(),
                );
            }
            Ok(m)
        })
    }
}
