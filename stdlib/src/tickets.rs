//! Lottery tickets: iterative magnitude pruning with rewinding, the random
//! pruning and random ticket baselines, block-structured masks, and ticket
//! rounds. Every round is its own cached sub-step, so a run killed in round
//! 6 resumes at round 6 and raising `rounds` only runs the new rounds.

use crate::models::{fresh_init, load_trained, read_trained, TrainJob, TrainedInfo};
use crate::op::*;
use crate::rng::Rng;
use crate::tensor_io::{self, HostTensor, TensorMap};
use crate::train::Masks;
use lotto_interpreter::registry::{Output, PType, Resources, RunCtx};
use lotto_interpreter::value::{Args, StepType, Value};
use lotto_interpreter::{Param, Registry};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// RW: remaining weights as % of prunable, measured from the masks.
pub fn remaining(m: &Masks) -> f64 {
    let (kept, total) = m.values().fold((0.0, 0usize), |(k, t), h| {
        (
            k + h.data.iter().map(|v| *v as f64).sum::<f64>(),
            t + h.data.len(),
        )
    });
    100.0 * kept / total.max(1) as f64
}

/// `*` matches any run of characters (`lstm.*.weight_hh`, `fc.*`).
fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            let Some(tail) = name.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| glob(rest, &tail[i..]))
        }
    }
}

/// Which parameters are prunable: selected by kind (`conv`, `lstm_ih`, ...)
/// or by a path pattern (`"lstm.*.weight_hh"`), never biases or norms.
/// A pattern that selects nothing is an error, not an empty selection.
pub fn prunable_names(
    info: &TrainedInfo,
    select: &[Value],
) -> Result<Vec<(String, Vec<usize>)>, String> {
    let layout = info.model.layout().0;
    for v in select {
        if let Value::Str(pat) = v {
            if !layout
                .iter()
                .any(|p| p.kind.prunable() && glob(pat, &p.name))
            {
                let names: Vec<&str> = layout
                    .iter()
                    .filter(|p| p.kind.prunable())
                    .map(|p| p.name.as_str())
                    .take(6)
                    .collect();
                return Err(format!("`prune` pattern \"{pat}\" matches no prunable parameter (they are named like {})", names.join(", ")));
            }
        }
    }
    Ok(layout
        .into_iter()
        .filter(|p| {
            p.kind.prunable()
                && select.iter().any(|v| match v {
                    Value::Str(pat) => glob(pat, &p.name),
                    other => other.as_str() == Some(p.kind.as_str()),
                })
        })
        .map(|p| (p.name, p.shape))
        .collect())
}

/// Settings of one pruning step.
#[derive(Clone, Debug)]
pub struct PruneSpec {
    pub rate: f64,
    pub global: bool,
    /// Block of (rows along output, cols along input); (1,1) unstructured.
    pub block: (usize, usize),
    pub random: bool,
    /// N:M sparsity: at most N of every M consecutive weights along the
    /// input dimension survive (reached in one prune; `rate` is not used).
    pub nm: Option<(usize, usize)>,
}

/// N:M pruning: in every group of M consecutive weights of a row (along
/// the input dimension), keep the N surviving ones with the highest score.
fn prune_nm(
    weights: &TensorMap,
    masks: &Masks,
    n: usize,
    m: usize,
    random: bool,
    rng: &mut Rng,
) -> Masks {
    let mut out = masks.clone();
    for (name, mask) in out.iter_mut() {
        let w = &weights[name];
        let rows = mask.shape[0];
        let cols = mask.data.len() / rows.max(1);
        for r in 0..rows {
            for c0 in (0..cols).step_by(m) {
                let mut alive: Vec<(f64, usize)> = (c0..(c0 + m).min(cols))
                    .map(|c| r * cols + c)
                    .filter(|&i| mask.data[i] > 0.0)
                    .map(|i| {
                        (
                            if random {
                                rng.f64()
                            } else {
                                w.data[i].abs() as f64
                            },
                            i,
                        )
                    })
                    .collect();
                alive.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap().then(a.1.cmp(&b.1)));
                for &(_, i) in alive.iter().skip(n) {
                    mask.data[i] = 0.0;
                }
            }
        }
    }
    out
}

/// Removes `rate` of the remaining prunable units (blocks) with the lowest
/// score (mean |w|, or a random draw), globally or per tensor.
pub fn prune(weights: &TensorMap, masks: &Masks, spec: &PruneSpec, rng: &mut Rng) -> Masks {
    if let Some((n, m)) = spec.nm {
        return prune_nm(weights, masks, n, m, spec.random, rng);
    }
    // Units: (tensor, element indices), scored.
    struct Unit {
        t: usize,
        idx: Vec<usize>,
        score: f64,
    }
    let names: Vec<&String> = masks.keys().collect();
    let mut units: Vec<Unit> = vec![];
    for (ti, name) in names.iter().enumerate() {
        let m = &masks[*name];
        let w = &weights[*name];
        let rows = m.shape[0];
        let cols = m.data.len() / rows.max(1);
        let (br, bc) = spec.block;
        for r0 in (0..rows).step_by(br) {
            for c0 in (0..cols).step_by(bc) {
                let idx: Vec<usize> = (r0..(r0 + br).min(rows))
                    .flat_map(|r| (c0..(c0 + bc).min(cols)).map(move |c| r * cols + c))
                    .collect();
                if idx.iter().all(|&i| m.data[i] > 0.0) {
                    let score = if spec.random {
                        rng.f64()
                    } else {
                        idx.iter().map(|&i| w.data[i].abs() as f64).sum::<f64>() / idx.len() as f64
                    };
                    units.push(Unit { t: ti, idx, score });
                }
            }
        }
    }
    let mut out = masks.clone();
    let mut drop = |group: &mut Vec<&Unit>| {
        let k = (spec.rate * group.len() as f64).round() as usize;
        group.sort_by(|a, b| {
            a.score
                .partial_cmp(&b.score)
                .unwrap()
                .then(a.t.cmp(&b.t))
                .then(a.idx[0].cmp(&b.idx[0]))
        });
        for u in group.iter().take(k) {
            let m = out.get_mut(names[u.t]).unwrap();
            for &i in &u.idx {
                m.data[i] = 0.0;
            }
        }
    };
    if spec.global {
        let mut all: Vec<&Unit> = units.iter().collect();
        drop(&mut all);
    } else {
        for t in 0..names.len() {
            let mut g: Vec<&Unit> = units.iter().filter(|u| u.t == t).collect();
            drop(&mut g);
        }
    }
    out
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RoundInfo {
    pub round: usize,
    pub rw: f64,
    pub dev_wer: f64,
    /// Store id of the round's Trained artifact.
    pub dir: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TicketInfo {
    pub method: String,
    pub rounds: Vec<RoundInfo>,
}

pub fn read_ticket(dir: &Path) -> Result<TicketInfo, String> {
    read_yaml(&dir.join("ticket.yaml"))
}

/// The `prune` selection: kinds (bare words) and path patterns (strings);
/// `paper` (the default) is the architecture's own set
/// (`Arch::default_prune_kinds`).
fn selection(a: &Args, info: &TrainedInfo) -> Vec<Value> {
    match a["prune"].as_list() {
        Some(l) => l.to_vec(),
        None => info
            .model
            .default_prune_kinds()
            .iter()
            .map(|k| Value::Sym(k.to_string()))
            .collect(),
    }
}

/// The selection as it enters round keys: kinds as before (`conv`), so
/// existing rounds keep their keys; patterns quoted.
fn kinds(a: &Args, info: &TrainedInfo) -> Vec<String> {
    selection(a, info)
        .iter()
        .filter_map(|v| match v {
            Value::Str(p) => Some(format!("\"{p}\"")),
            other => other.as_str().map(str::to_string),
        })
        .collect()
}

fn run_imp(ctx: &mut RunCtx, random: bool) -> Result<(), String> {
    let method = if random { "random_prune" } else { "imp" };
    let a = ctx.args.clone();
    prune_rounds(ctx, method, random, a)
}

/// Standard (one-shot) magnitude pruning: IMP's machinery with one round
/// that prunes `sparsity` of the weights and fine-tunes the trained
/// survivors (no rewinding).
fn run_oneshot(ctx: &mut RunCtx) -> Result<(), String> {
    let mut a = ctx.args.clone();
    a.insert("rounds".into(), Value::Int(1));
    a.insert("rate".into(), a["sparsity"].clone());
    a.insert("rewind".into(), Value::Sym("trained".into()));
    a.insert("epochs".into(), a["finetune"].clone());
    prune_rounds(ctx, "oneshot", false, a)
}

/// Normalised Hamming distance: the share of mask entries that differ.
pub fn mask_distance(a: &Masks, b: &Masks) -> f64 {
    let (mut diff, mut total) = (0usize, 0usize);
    for (name, m) in a {
        if let Some(o) = b.get(name) {
            total += m.data.len();
            diff += m.data.iter().zip(&o.data).filter(|(x, y)| x != y).count();
        }
    }
    diff as f64 / total.max(1) as f64
}

/// The early-bird search inside one IMP round: after each epoch, the mask
/// the next round would draw from the current weights; training stops when
/// the last `window` epoch-to-epoch distances are all below `distance`.
struct EarlyBird<'a> {
    spec: PruneSpec,
    masks: &'a Masks,
    seed: u64,
    next_round: usize,
    distance: f64,
    window: usize,
    prev: Option<Masks>,
    distances: Vec<f64>,
}

impl EarlyBird<'_> {
    fn candidate(&self, weights: &TensorMap) -> Masks {
        let mut rng = Rng::derive(self.seed, &format!("round{}", self.next_round));
        prune(weights, self.masks, &self.spec, &mut rng)
    }
}

impl crate::train::EpochHook for EarlyBird<'_> {
    fn after_epoch(&mut self, _epoch: usize, weights: &TensorMap) -> bool {
        let cand = self.candidate(weights);
        if let Some(prev) = &self.prev {
            self.distances.push(mask_distance(prev, &cand));
        }
        self.prev = Some(cand);
        let n = self.distances.len();
        n >= self.window
            && self.distances[n - self.window..]
                .iter()
                .all(|d| *d < self.distance)
    }
    fn save(&self) -> serde_json::Value {
        serde_json::json!({ "distances": self.distances })
    }
    fn load(&mut self, state: &serde_json::Value, weights: &TensorMap) -> Result<(), String> {
        self.distances = serde_json::from_value(state["distances"].clone())
            .map_err(|e| format!("checkpoint's early-bird state: {e}"))?;
        // The checkpoint's weights are those of its last epoch, whose
        // candidate mask is the one the next epoch compares against.
        self.prev = Some(self.candidate(weights));
        Ok(())
    }
}

/// The share of the weights `masks` keep that one prune must remove to
/// reach `target` sparsity (share of all prunable weights removed).
fn rate_to_reach(target: f64, masks: &Masks) -> f64 {
    let q = remaining(masks) / 100.0;
    (1.0 - (1.0 - target) / q.max(1e-12)).clamp(0.0, 1.0)
}

/// Rounds of prune → rewind (or not) → retrain, each a cached sub-step.
fn prune_rounds(ctx: &mut RunCtx, method: &str, random: bool, a: Args) -> Result<(), String> {
    let dense_dir = ctx.input_of("trained")?.to_path_buf();
    let dense_id = ctx.artifact_id(&dense_dir);
    let (info, dense_best, _) = load_trained(&dense_dir)?;
    let dense_init = tensor_io::load(&dense_dir.join("init.safetensors"))?;
    let spec = PruneSpec {
        rate: arg_f64(&a, "rate"),
        global: arg_str(&a, "scope") == "global",
        block: match a.get("block") {
            Some(Value::Shape(r, c, _)) => (*r as usize, *c as usize),
            _ => (1, 1),
        },
        random,
        nm: match a.get("nm") {
            Some(Value::Shape(n, m, _)) => Some((*n as usize, *m as usize)),
            _ => None,
        },
    };
    // Late rewinding (`rewind: epoch(k)` or `step(k)`): the dense weights
    // after epoch k (or optimizer step k), recomputed by training the dense
    // model again from θ0 for that long as a cached sub-step. Training is
    // deterministic and no step depends on the total number of epochs, so
    // these are the dense run's own weights at that point (tests compare
    // them with a k-epoch fit, and step(one epoch's batches) with epoch(1)).
    // It uses the rounds' job (same data and settings), only shortened.
    let mut job = TrainJob::from_trained(ctx, &info)?;
    let (rewind, rewind_point) = match a.get("rewind") {
        Some(Value::Config { op, args }) if op == "epoch" || op == "step" => {
            let k = arg_usize(args, "k");
            if op == "epoch" {
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
            let early = &job;
            let material = format!("rewind-{op}-v1|{dense_id}|k={k}");
            let (device, progress) = (ctx.device, ctx.progress);
            let label = format!("{} rewind point ({op} {k})", ctx.step_name);
            let init = dense_init.clone();
            let dir = ctx.cached(&format!("dense at {op} {k}"), &material, |out, ck| {
                early
                    .run(device, progress, &init, None, out, ck, &label, None)
                    .map_err(|e| format!("rewind: {op}({k}): {e}"))?;
                Ok(Default::default())
            })?;
            job.settings.epochs = info.settings.epochs;
            job.settings.stop_after_steps = None;
            (
                format!("{op}{k}"),
                Some(tensor_io::load(&dir.join("last.safetensors"))?),
            )
        }
        _ => (arg_str(&a, "rewind").to_string(), None),
    };
    let epochs = arg_usize(&a, "epochs");
    if epochs > 0 {
        job.settings.epochs = epochs;
        job.settings.steps = None;
    }
    let seed = arg_usize(&a, "seed") as u64;
    let names = prunable_names(&info, &selection(&a, &info))?;
    if names.is_empty() {
        return Err("no parameter matches `prune`; use conv, lstm_ih, lstm_hh, linear".into());
    }
    let mut masks: Masks = names
        .iter()
        .map(|(n, s)| {
            (
                n.clone(),
                HostTensor {
                    shape: s.clone(),
                    data: vec![1.0; s.iter().product()],
                },
            )
        })
        .collect();
    let mut weights = dense_best;
    let mut rounds = vec![RoundInfo {
        round: 0,
        rw: 100.0,
        dev_wer: info.best_dev_wer,
        dir: dense_id.clone(),
    }];
    // Everything that decides a round, except the total number of rounds.
    let nm = spec
        .nm
        .map(|(n, m)| format!("|nm={n}:{m}"))
        .unwrap_or_default();
    let early_bird = match a.get("early_bird") {
        Some(Value::Config { args, .. }) => {
            Some((arg_f64(args, "distance"), arg_usize(args, "window")))
        }
        _ => None,
    };
    let eb = early_bird
        .map(|(d, w)| format!("|early_bird={d}x{w}"))
        .unwrap_or_default();
    let base = format!("{method}-v1|{dense_id}|rate={}|global={}|block={:?}|rewind={rewind}|epochs={}|kinds={:?}|seed={seed}{nm}{eb}", spec.rate, spec.global, spec.block, job.settings.epochs, kinds(&a, &info));
    // The schedule as each round's target sparsity (share of the prunable
    // weights removed): geometric s_i = 1 - (1 - rate)^i for `rounds`
    // rounds or `until` RW is reached, or an explicit list.
    let explicit: Option<Vec<f64>> = a
        .get("sparsities")
        .and_then(Value::as_list)
        .map(|l| l.iter().filter_map(Value::as_f64).collect());
    let n_rounds = match (&explicit, a.get("until").and_then(Value::as_f64)) {
        (Some(l), _) => l.len(),
        (None, Some(until)) => {
            // Smallest n with (1 - rate)^n <= until.
            let n = (until.ln() / (1.0 - spec.rate).ln() - 1e-9).ceil();
            (n.max(1.0) as usize).min(200)
        }
        _ => arg_usize(&a, "rounds"),
    };
    let mut train_epochs = 0usize;
    for r in 1..=n_rounds {
        let mut spec2 = spec.clone();
        // Rounds of a geometric schedule are keyed as before (shared by
        // `rounds: n` and `until:`); an explicit schedule names its targets
        // so far, since each round depends on the ones before.
        let mut material = match &explicit {
            None => format!("{base}|round={r}"),
            Some(l) => {
                spec2.rate = rate_to_reach(l[r - 1], &masks);
                format!("{base}|round={r}|targets={:?}", &l[..r])
            }
        };
        // With early-bird, every round but the last stops early, so whether
        // this round is the last is part of what it computes. The next
        // round's target: its share of what this round leaves.
        let early = early_bird.filter(|_| r < n_rounds);
        if early_bird.is_some() {
            material.push_str(&format!("|last={}", r == n_rounds));
        }
        let next_target = explicit.as_ref().and_then(|l| l.get(r).copied());
        let prev_masks = masks.clone();
        let prev_w = weights.clone();
        let (dense_init2, rewind2) = (dense_init.clone(), rewind.clone());
        let rewind_point2 = rewind_point.clone();
        let label = format!("{} round {r}", ctx.step_name);
        let job_ref = &job;
        // Copies of the shared references, so the closure does not borrow ctx.
        let (device, progress) = (ctx.device, ctx.progress);
        let dir = ctx.cached(&format!("round {r}"), &material, |out, ck| {
            let mut rng = Rng::derive(seed, &format!("round{r}"));
            let new_masks = prune(&prev_w, &prev_masks, &spec2, &mut rng);
            let start = match (rewind2.as_str(), rewind_point2) {
                ("init", _) => dense_init2.clone(),
                ("trained", _) => prev_w.clone(),
                (_, Some(w)) => w,
                (other, None) => return Err(format!("unknown rewind `{other}`")),
            };
            let mut hook = early.map(|(distance, window)| {
                let mut spec = spec2.clone();
                if let Some(target) = next_target {
                    spec.rate = rate_to_reach(target, &new_masks);
                }
                EarlyBird {
                    spec,
                    masks: &new_masks,
                    seed,
                    next_round: r + 1,
                    distance,
                    window,
                    prev: None,
                    distances: vec![],
                }
            });
            let info = job_ref.run(
                device,
                progress,
                &start,
                Some(&new_masks),
                out,
                ck,
                &label,
                hook.as_mut().map(|h| h as &mut dyn crate::train::EpochHook),
            )?;
            let mut m = round_metrics(&info)?;
            if let Some(h) = &hook {
                m.insert("epochs".into(), serde_yaml::Value::from(info.history.len()));
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
        })?;
        let rinfo = read_trained(&dir)?;
        // An early-bird round's next mask comes from the weights at which
        // its mask settled (where training stopped), as in the early-bird
        // method; otherwise from the round's best (dev) weights.
        let from = if early.is_some() { "last" } else { "best" };
        weights = tensor_io::load(&dir.join(format!("{from}.safetensors")))?;
        masks = tensor_io::load(&dir.join("masks.safetensors"))?;
        ctx.progress.println(&format!(
            "  {} round {r}: RW {:.1}%, dev WER {:.2}%",
            ctx.step_name, rinfo.rw, rinfo.best_dev_wer
        ));
        rounds.push(RoundInfo {
            round: r,
            rw: rinfo.rw,
            dev_wer: rinfo.best_dev_wer,
            dir: ctx.artifact_id(&dir),
        });
        train_epochs += rinfo.history.len();
    }
    if early_bird.is_some() {
        // The cost the early-bird option saves, for `lotto bench early-bird`.
        ctx.metric("train_epochs", train_epochs as u64);
    }
    for ri in &rounds {
        ctx.metric(
            &format!("round{}_rw", ri.round),
            (ri.rw * 100.0).round() / 100.0,
        );
        ctx.metric(
            &format!("round{}_dev_wer", ri.round),
            (ri.dev_wer * 100.0).round() / 100.0,
        );
    }
    write_yaml(
        &ctx.out.join("ticket.yaml"),
        &TicketInfo {
            method: method.into(),
            rounds,
        },
    )
}

/// The metrics a round's sub-step record keeps.
fn round_metrics(
    info: &TrainedInfo,
) -> Result<std::collections::BTreeMap<String, serde_yaml::Value>, String> {
    let mut m = std::collections::BTreeMap::new();
    m.insert("rw".into(), serde_yaml::Value::from(info.rw));
    m.insert("dev_wer".into(), serde_yaml::Value::from(info.best_dev_wer));
    Ok(m)
}

/// The random-ticket baseline: each round's IMP mask trained from a fresh
/// random initialisation instead of θ0.
fn run_random_ticket(ctx: &mut RunCtx) -> Result<(), String> {
    let tdir = ctx.input_of("ticket")?.to_path_buf();
    let src = read_ticket(&tdir)?;
    let seed = arg_usize(ctx.args, "seed") as u64;
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
        if job.is_none() {
            job = Some(TrainJob::from_trained(ctx, &info)?);
        }
        let j = job.as_ref().unwrap();
        let masks = tensor_io::load(&rdir.join("masks.safetensors"))?;
        let init = fresh_init(&info.model, seed.wrapping_add(0x5eed));
        let material = format!("random_ticket-v1|{}|seed={seed}", ri.dir);
        let label = format!("{} round {}", ctx.step_name, ri.round);
        let (device, progress) = (ctx.device, ctx.progress);
        let dir = ctx.cached(&format!("round {}", ri.round), &material, |out, ck| {
            round_metrics(&j.run(device, progress, &init, Some(&masks), out, ck, &label, None)?)
        })?;
        let rinfo = read_trained(&dir)?;
        rounds.push(RoundInfo {
            round: ri.round,
            rw: rinfo.rw,
            dev_wer: rinfo.best_dev_wer,
            dir: ctx.artifact_id(&dir),
        });
    }
    write_yaml(
        &ctx.out.join("ticket.yaml"),
        &TicketInfo {
            method: "random_ticket".into(),
            rounds,
        },
    )
}

fn copy_trained(from: &Path, to: &Path) -> Result<(), String> {
    for f in [
        "trained.yaml",
        "init.safetensors",
        "best.safetensors",
        "last.safetensors",
        "masks.safetensors",
    ] {
        if from.join(f).is_file() {
            std::fs::copy(from.join(f), to.join(f)).map_err(|e| format!("{f}: {e}"))?;
        }
    }
    Ok(())
}

fn run_round(ctx: &mut RunCtx) -> Result<(), String> {
    let t = read_ticket(ctx.input_of("ticket")?)?;
    let k = arg_usize(ctx.args, "k");
    let r = t
        .rounds
        .iter()
        .find(|r| r.round == k)
        .ok_or_else(|| format!("the ticket has rounds 0..{}, not {k}", t.rounds.len() - 1))?;
    let dir = ctx.store.root.join("objects").join(&r.dir);
    ctx.metric("rw", r.rw);
    copy_trained(&dir, ctx.out)
}

/// Ticket transfer (RQ5): a ticket round's mask, trained from that round's
/// (rewound, masked) initial weights on another corpus, with the source's
/// model, features and training settings.
fn run_transfer(ctx: &mut RunCtx) -> Result<(), String> {
    let src = ctx.input_of("ticket")?.to_path_buf();
    let (info, _, masks) = load_trained(&src)?;
    let Some(masks) = masks else {
        return Err(format!(
            "`{}` is a dense model, not a ticket round: transfer a round such as `t.round(3)`, `best(t)` or `extreme(t, than: dense)`",
            ctx.args
                .get("ticket")
                .and_then(Value::as_ref)
                .and_then(|r| ctx.input_names.get(&r))
                .cloned()
                .unwrap_or_default()
        ));
    };
    let init = tensor_io::load(&src.join("init.safetensors"))?;
    let mut settings = info.settings.clone();
    if let Some(e) = ctx.args.get("epochs").and_then(Value::as_i64) {
        settings.epochs = e.max(1) as usize;
        settings.steps = None;
    }
    let train_dir = ctx.input_of("to")?.to_path_buf();
    let dev_dir = ctx.input_of("dev")?.to_path_buf();
    let job = TrainJob::new(
        ctx,
        info.model.clone(),
        info.features.clone(),
        settings,
        &train_dir,
        &dev_dir,
    )?;
    let r = job.run_step(ctx, &init, Some(&masks))?;
    ctx.metric("rw", (r.rw * 100.0).round() / 100.0);
    Ok(())
}

/// The order that makes the first of a ticket's rounds, given as (dev WER,
/// RW), the best one: the lowest dev WER, ties to the sparsest. `best`
/// picks by it and report summaries mark its pick with ★.
pub fn better_round(a: (f64, f64), b: (f64, f64)) -> std::cmp::Ordering {
    a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1))
}

fn run_pick(ctx: &mut RunCtx) -> Result<(), String> {
    let t = read_ticket(ctx.input_of("ticket")?)?;
    let pick = match ctx.args.get("than").and_then(Value::as_ref) {
        // extreme: the sparsest round whose dev WER is no worse than dense.
        Some(dr) => {
            let dense = read_trained(ctx.input(dr))?.best_dev_wer;
            t.rounds
                .iter()
                .filter(|r| r.dev_wer <= dense)
                .min_by(|a, b| a.rw.partial_cmp(&b.rw).unwrap())
                .ok_or("no round is as good as the dense model")?
        }
        None => t
            .rounds
            .iter()
            .min_by(|a, b| better_round((a.dev_wer, a.rw), (b.dev_wer, b.rw)))
            .unwrap(),
    };
    ctx.metric("round", pick.round as u64);
    ctx.metric("rw", pick.rw);
    let dir = ctx.store.root.join("objects").join(&pick.dir);
    copy_trained(&dir, ctx.out)
}

/// `block` is RxC (`1x4`); N:M (`2:4`) goes to `nm`, which needs one round.
fn imp_validate(a: &Args) -> Result<(), (Option<&'static str>, String)> {
    let list = a.get("sparsities").and_then(Value::as_list);
    if let Some(l) = list {
        let v: Vec<f64> = l.iter().filter_map(Value::as_f64).collect();
        if v.is_empty() || v.windows(2).any(|w| w[1] <= w[0]) || v.iter().any(|x| *x <= 0.0) {
            return Err((
                Some("sparsities"),
                "`sparsities` must be increasing targets above 0%, like `[20%, 36%, 49%]`".into(),
            ));
        }
        if a.get("until").and_then(Value::as_f64).is_some() {
            return Err((
                Some("until"),
                "give `sparsities` or `until`, not both".into(),
            ));
        }
    }
    if matches!(a.get("nm"), Some(Value::Shape(..)))
        && (list.is_some() || a.get("until").and_then(Value::as_f64).is_some())
    {
        return Err((
            Some("nm"),
            "N:M sparsity is one round: drop `sparsities` / `until`".into(),
        ));
    }
    if let Some(Value::Shape(r, c, sep)) = a.get("block") {
        if *sep == ':' {
            return Err((
                Some("block"),
                format!(
                    "`block` takes a block shape like `1x4`; for N:M sparsity write `nm: {r}:{c}`"
                ),
            ));
        }
    }
    if let Some(Value::Shape(n, m, sep)) = a.get("nm") {
        if *sep != ':' || n >= m || *n == 0 {
            return Err((
                Some("nm"),
                format!("`nm` takes N:M with 0 < N < M, like `2:4`, not `{n}{sep}{m}`"),
            ));
        }
        if a.get("rounds").and_then(Value::as_i64) != Some(1) {
            return Err((
                Some("nm"),
                "N:M sparsity is reached in one round: add `rounds: 1`".into(),
            ));
        }
        if matches!(a.get("block"), Some(Value::Shape(r, c, _)) if (*r, *c) != (1, 1)) {
            return Err((Some("nm"), "give `nm` or `block`, not both".into()));
        }
    }
    Ok(())
}

pub fn register(r: &mut Registry) {
    r.add(config_op(sig(
        "early_bird",
        "Tickets",
        1,
        Output::Config("EarlyBird"),
        "Early-bird tickets (You et al. 2020) for `imp(..., early_bird: early_bird(...))`: after each epoch of a round, the mask the next round would draw; training stops once `window` successive epochs changed it by less than `distance` (share of prunable weights whose mask bit flipped).",
        vec![
            Param::opt("distance", PType::Fraction, Value::Float(0.1), "largest normalised Hamming distance between successive masks that counts as settled").range(0.0, 1.0),
            Param::opt("window", PType::Int, Value::Int(3), "successive settled epochs needed").range(1.0, 100.0),
        ],
    )));
    // Late-rewinding points: the dense weights after epoch k or step k.
    for (name, doc, k_doc, max) in [
        ("epoch", "A late-rewinding point for `imp(..., rewind: epoch(k))`: the dense model's weights after epoch k.", "the epoch (before the last one)", 1000.0),
        ("step", "A late-rewinding point for `imp(..., rewind: step(k))`: the dense model's weights after its first k optimizer steps (finer than `epoch(k)`: the paper rewinds to θ0 or \"an early iteration\").", "the optimizer step (within the dense training)", 1e9),
    ] {
        r.add(config_op(sig(
            name,
            "Tickets",
            1,
            Output::Config("Rewind"),
            doc,
            vec![Param::req("k", PType::Int, k_doc).range(1.0, max)],
        )));
    }
    let common = || {
        vec![
            Param::req("trained", PType::Step(&[StepType::Trained]), "the trained dense model"),
            Param::opt("rounds", PType::Int, Value::Int(10), "pruning rounds").range(1.0, 100.0),
            Param::opt("rate", PType::Fraction, Value::Float(0.2), "share of the remaining weights pruned per round").range(0.01, 0.99),
            Param::opt("scope", PType::Enum(&["global", "layer"]), Value::Sym("global".into()), "rank weights across all tensors or within each"),
            Param::opt("rewind", PType::OneOf(vec![PType::Enum(&["init", "trained"]), PType::Config("Rewind")]), Value::Sym("init".into()), "`init`: rewind survivors to θ0 (LTH); `epoch(k)` / `step(k)`: to the dense weights after epoch / optimizer step k (late rewinding); `trained`: keep trained weights (fine-tuning)"),
            Param::opt("block", PType::Shape, Value::Shape(1, 1, 'x'), "prune blocks of RxC (rows along outputs, columns along inputs), scored by mean magnitude; `1x4` as in the paper"),
            Param::opt("sparsities", PType::List(Box::new(PType::Fraction)), Value::Sym("none".into()), "explicit schedule: each round's target sparsity (share of prunable weights removed), increasing; replaces `rounds` and `rate`").range(0.0, 0.999),
            Param::opt("until", PType::Fraction, Value::Sym("none".into()), "geometric schedule until RW is at most this (e.g. `5%`); replaces `rounds`").range(0.001, 0.999),
            Param::opt("nm", PType::Shape, Value::Sym("none".into()), "N:M sparsity, e.g. `2:4`: at most N of every M consecutive input weights survive, reached in one round (use `rounds: 1`)"),
            Param::opt("epochs", PType::Int, Value::Int(0), "retraining epochs per round (0: as the dense fit)").range(0.0, 1000.0),
            Param::opt("prune", PType::OneOf(vec![PType::Enum(&["paper"]), PType::List(Box::new(PType::OneOf(vec![PType::Enum(&["conv", "lstm_ih", "lstm_hh", "linear"]), PType::Str])))]), Value::Sym("paper".into()), "what is prunable: `paper`, the paper's set for the architecture (conv, LSTM and linear weights; the Conformer: linear weights only), or a list of kinds (conv, lstm_ih, lstm_hh, linear) and/or parameter-path patterns like \"lstm.*.weight_hh\" (never biases or norms)"),
            Param::opt("seed", PType::Int, Value::Int(0), "random draws"),
        ]
    };
    let mut imp = sig("imp", "Tickets", 1, Output::One(StepType::Ticket), "Iterative magnitude pruning: per round prune `rate` of the remaining smallest-magnitude weights, rewind survivors, reset optimizer and lr schedule, retrain. RW is measured from the masks.", {
        let mut p = common();
        p.push(Param::opt("early_bird", PType::OneOf(vec![PType::Enum(&["none"]), PType::Config("EarlyBird")]), Value::Sym("none".into()), "`early_bird(...)`: every round but the last stops training once the next round's mask has settled, and the next mask is drawn from those weights; the last round trains fully").additive());
        p
    });
    imp.numeric = true;
    imp.resources = Resources {
        gpu: true,
        cpus: 4,
        mem_gb: 16,
        minutes: 7 * 24 * 60,
    };
    r.add(FnOp {
        sig: imp.clone(),
        run: |ctx| run_imp(ctx, false),
        reads: None,
        validate: Some(imp_validate),
    });
    let mut rp = imp.clone();
    rp.name = "random_prune";
    rp.doc = "Random pruning baseline: same rate, schedule and rewinding as `imp`, weights chosen at random.";
    rp.params.retain(|p| p.name != "early_bird");
    r.add(FnOp {
        sig: rp,
        run: |ctx| run_imp(ctx, true),
        reads: None,
        validate: Some(imp_validate),
    });
    let mut one = sig("oneshot", "Tickets", 1, Output::One(StepType::Ticket), "Standard magnitude pruning (the paper's comparison): prune `sparsity` of the prunable weights of the trained model at once, then fine-tune the survivors from their trained values. A ticket with rounds 0 (dense) and 1.", {
        let mut p = common();
        p.retain(|p| !["rounds", "rate", "rewind", "epochs"].contains(&p.name));
        p.insert(1, Param::opt("sparsity", PType::Fraction, Value::Float(0.9), "share of the prunable weights removed").range(0.01, 0.99));
        p.insert(2, Param::opt("finetune", PType::Int, Value::Int(0), "fine-tuning epochs (0: as the dense fit)").range(0.0, 1000.0));
        p
    });
    one.numeric = true;
    one.resources = imp.resources;
    r.add(FnOp {
        sig: one,
        run: run_oneshot,
        reads: None,
        validate: Some(|a| {
            let mut b = a.clone();
            b.insert("rounds".into(), Value::Int(1));
            imp_validate(&b)
        }),
    });
    let mut rt = sig("random_ticket", "Tickets", 1, Output::One(StepType::Ticket), "Random ticket baseline: each round's mask of a ticket, trained from a random re-initialisation instead of θ0.", vec![
        Param::req("ticket", PType::Step(&[StepType::Ticket]), "the IMP ticket"),
        Param::opt("seed", PType::Int, Value::Int(1), "re-initialisation seed"),
    ]);
    rt.numeric = true;
    r.add(FnOp {
        sig: rt,
        run: run_random_ticket,
        reads: None,
        validate: None,
    });
    let mut tr = sig("transfer", "Tickets", 1, Output::One(StepType::Trained), "Ticket transfer: trains a ticket round's mask from that round's initial weights on another corpus (same model, features and training settings as the source).", vec![
        Param::req("ticket", PType::Step(&[StepType::Trained]), "a ticket round: `t.round(k)`, `best(t)` or `extreme(t, than: dense)`"),
        Param::req("to", PType::Step(&[StepType::Corpus]), "the training corpus to transfer to"),
        Param::req("dev", PType::Step(&[StepType::Corpus]), "its development corpus (model selection)"),
        Param { default: Some(Value::Sym("source".into())), ..Param::req("epochs", PType::Int, "epochs (default: the source's)").range(1.0, 1000.0) },
    ]);
    tr.numeric = true;
    tr.resources = Resources {
        gpu: true,
        cpus: 4,
        mem_gb: 16,
        minutes: 24 * 60,
    };
    r.add(FnOp {
        sig: tr,
        run: run_transfer,
        reads: None,
        validate: None,
    });
    r.add(FnOp {
        sig: sig(
            "round",
            "Tickets",
            1,
            Output::One(StepType::Trained),
            "One round of a ticket as a trained model (`imp.round(3)`).",
            vec![
                Param::req("ticket", PType::Step(&[StepType::Ticket]), "the ticket"),
                Param::req("k", PType::Int, "round (0 = dense)").range(0.0, 100.0),
            ],
        ),
        run: run_round,
        reads: None,
        validate: None,
    });
    r.add(FnOp {
        sig: sig(
            "best",
            "Tickets",
            1,
            Output::One(StepType::Trained),
            "The round with the lowest dev WER (ties: sparsest).",
            vec![Param::req(
                "ticket",
                PType::Step(&[StepType::Ticket]),
                "the ticket",
            )],
        ),
        run: run_pick,
        reads: None,
        validate: None,
    });
    r.add(FnOp {
        sig: sig(
            "extreme",
            "Tickets",
            1,
            Output::One(StepType::Trained),
            "The sparsest round whose dev WER is no worse than the dense model's.",
            vec![
                Param::req("ticket", PType::Step(&[StepType::Ticket]), "the ticket"),
                Param::req("than", PType::Step(&[StepType::Trained]), "the dense model"),
            ],
        ),
        run: run_pick,
        reads: None,
        validate: None,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(vals: Vec<f32>, shape: Vec<usize>) -> TensorMap {
        [("w".to_string(), HostTensor { shape, data: vals })]
            .into_iter()
            .collect()
    }

    #[test]
    fn global_magnitude_prunes_smallest_and_rw_is_measured() {
        let w = map((1..=10).map(|v| v as f32).collect(), vec![2, 5]);
        let m = map(vec![1.0; 10], vec![2, 5]);
        let spec = PruneSpec {
            rate: 0.2,
            global: true,
            block: (1, 1),
            random: false,
            nm: None,
        };
        let m1 = prune(&w, &m, &spec, &mut Rng::new(0));
        assert_eq!(m1["w"].data, vec![0., 0., 1., 1., 1., 1., 1., 1., 1., 1.]);
        assert!((remaining(&m1) - 80.0).abs() < 1e-9);
        let m2 = prune(&w, &m1, &spec, &mut Rng::new(0));
        assert!(
            (remaining(&m2) - 60.0).abs() < 1e-9,
            "20% of the 8 remaining, rounded"
        );
    }

    #[test]
    fn block_masks_have_1x4_structure() {
        let mut rng = Rng::new(5);
        let w = map(
            (0..64).map(|_| rng.uniform(-1.0, 1.0)).collect(),
            vec![4, 16],
        );
        let mut m = map(vec![1.0; 64], vec![4, 16]);
        let spec = PruneSpec {
            rate: 0.5,
            global: true,
            block: (1, 4),
            random: false,
            nm: None,
        };
        for _ in 0..2 {
            m = prune(&w, &m, &spec, &mut rng);
        }
        for block in m["w"].data.chunks(4) {
            assert!(
                block.iter().all(|v| *v == block[0]),
                "mixed block {block:?}"
            );
        }
        assert!(remaining(&m) < 100.0);
    }

    #[test]
    fn nm_masks_keep_n_largest_of_every_m() {
        let mut rng = Rng::new(9);
        let w = map(
            (0..96).map(|_| rng.uniform(-1.0, 1.0)).collect(),
            vec![4, 24],
        );
        let m = map(vec![1.0; 96], vec![4, 24]);
        let spec = PruneSpec {
            rate: 0.2,
            global: true,
            block: (1, 1),
            random: false,
            nm: Some((2, 4)),
        };
        let out = prune(&w, &m, &spec, &mut rng);
        for (g, (mask, wg)) in out["w"]
            .data
            .chunks(4)
            .zip(w["w"].data.chunks(4))
            .enumerate()
        {
            assert_eq!(
                mask.iter().filter(|v| **v > 0.0).count(),
                2,
                "group {g}: {mask:?}"
            );
            let kept_min = (0..4)
                .filter(|&i| mask[i] > 0.0)
                .map(|i| wg[i].abs())
                .fold(f32::MAX, f32::min);
            let dropped_max = (0..4)
                .filter(|&i| mask[i] == 0.0)
                .map(|i| wg[i].abs())
                .fold(0.0, f32::max);
            assert!(kept_min >= dropped_max, "group {g} kept a smaller weight");
        }
        assert!((remaining(&out) - 50.0).abs() < 1e-9);
    }

    #[test]
    fn glob_patterns_match_parameter_paths() {
        assert!(glob("lstm.*.weight_hh", "lstm.0.fwd.weight_hh"));
        assert!(!glob("lstm.*.weight_hh", "lstm.0.fwd.weight_ih"));
        assert!(glob("fc*", "fc.weight"));
        assert!(glob("*", "anything"));
        assert!(!glob("conv.0.weight", "conv.1.weight"));
    }
}

#[cfg(test)]
mod early_bird_tests {
    use super::*;

    #[test]
    fn mask_distance_is_the_share_of_flipped_entries() {
        let m = |d: Vec<f32>| {
            let mut t = Masks::new();
            t.insert(
                "w".into(),
                HostTensor {
                    shape: vec![d.len()],
                    data: d,
                },
            );
            t
        };
        assert_eq!(
            mask_distance(&m(vec![1.0, 0.0, 1.0, 1.0]), &m(vec![1.0, 1.0, 1.0, 0.0])),
            0.5
        );
        assert_eq!(mask_distance(&m(vec![1.0, 0.0]), &m(vec![1.0, 0.0])), 0.0);
    }
}
