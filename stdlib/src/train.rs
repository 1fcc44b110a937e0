//! Training: our own loop, because IMP needs control of masks, rewinding
//! and optimizer resets. Adam/AdamW/SGD on flat parameters, global
//! gradient-norm clipping, per-epoch lr annealing, duration-sorted batches
//! shuffled by batch, model selection on the dev set only, and a checkpoint
//! after every epoch from which a killed run resumes bit-identically.

use crate::arch::Arch;
use crate::features::Feats;
use crate::nn::{to_host, Ctx, Params};
use crate::rng::Rng;
use crate::tensor_io::{self, HostTensor, TensorMap};
use crate::text;
use burn::tensor::{Device, Tensor, TensorData};
use lotto_interpreter::progress::Progress;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FitSettings {
    pub epochs: usize,
    pub batch: usize,
    pub optimizer: String,
    pub lr: f64,
    pub weight_decay: f64,
    pub momentum: f64,
    /// lr is divided by this after each epoch (the paper: 1.01).
    pub anneal: f64,
    /// Global gradient-norm clip (0: off).
    pub clip: f64,
    pub seed: u64,
    /// SpecAugment on training batches (never on dev or test).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub augment: Option<SpecAugment>,
    /// Noise mixed into training utterances (never dev or test).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<crate::corpus::NoiseSettings>,
    /// Stop right after this many optimizer steps, counted from the start of
    /// training, without the rest of that epoch or its dev decoding: the
    /// rewind point of `rewind: step(k)`. The steps taken are exactly the
    /// first k of the full run (same order, lr and noise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_after_steps: Option<usize>,
    /// Train for exactly this many optimizer steps instead of `epochs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<usize>,
    /// Transformer warm-up over this many steps (0: off).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub warmup: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl FitSettings {
    /// Adam at `lr` with no weight decay, clipping, annealing, warm-up,
    /// augmentation or noise: the settings benchmarks and tests train with.
    pub fn plain_adam(epochs: usize, batch: usize, lr: f64) -> FitSettings {
        FitSettings {
            epochs,
            batch,
            optimizer: "adam".into(),
            lr,
            weight_decay: 0.0,
            momentum: 0.0,
            anneal: 1.0,
            clip: 0.0,
            seed: 0,
            augment: None,
            noise: None,
            stop_after_steps: None,
            steps: None,
            warmup: 0,
        }
    }

    /// Epochs the run takes: `epochs`, or enough to make `steps` steps.
    pub fn total_epochs(&self, batches: usize) -> usize {
        match self.steps {
            Some(n) => n.div_ceil(batches.max(1)),
            None => self.epochs,
        }
    }

    /// The lr of optimizer step `step` (1-based) in `epoch`: the base lr
    /// annealed per epoch, times the Transformer warm-up factor
    /// min(step/W, √(W/step)), which peaks at 1 at step W.
    pub fn lr_at(&self, epoch: usize, step: u64) -> f64 {
        let lr = self.lr / self.anneal.powi(epoch as i32 - 1);
        if self.warmup == 0 {
            return lr;
        }
        let (t, w) = (step.max(1) as f64, self.warmup as f64);
        lr * (t / w).min((w / t).sqrt())
    }
}

/// SpecAugment (Park et al. 2019) without time warping: per utterance,
/// `freq_masks` bands of up to `freq_width` bins and `time_masks` spans of
/// up to `time_width` frames (at most a fifth of the utterance each) are set
/// to 0, the per-utterance feature mean. Drawn from the seed, the epoch and
/// the batch, so a resumed run augments exactly as an uninterrupted one.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SpecAugment {
    pub freq_masks: usize,
    pub freq_width: usize,
    pub time_masks: usize,
    pub time_width: usize,
}

impl SpecAugment {
    pub fn apply(&self, bt: &mut Batch, bins: usize, rng: &mut Rng) {
        for (i, &len) in bt.lens.iter().enumerate() {
            let base = i * bt.t * bins;
            for _ in 0..self.freq_masks {
                let w = rng.below(self.freq_width.min(bins) + 1);
                let f0 = rng.below(bins - w + 1);
                for t in 0..len {
                    bt.x[base + t * bins + f0..base + t * bins + f0 + w].fill(0.0);
                }
            }
            let max_w = self.time_width.min(len / 5);
            for _ in 0..self.time_masks {
                let w = rng.below(max_w + 1);
                let t0 = rng.below(len - w + 1);
                bt.x[base + t0 * bins..base + (t0 + w) * bins].fill(0.0);
            }
        }
    }
}

/// Per-tensor masks (1 keep, 0 pruned) for prunable parameters.
pub type Masks = TensorMap;

#[derive(Clone, Debug, Serialize, Deserialize, Default)]
pub struct EpochLog {
    pub epoch: usize,
    pub loss: f64,
    pub dev_wer: f64,
    pub dev_cer: f64,
    pub lr: f64,
    pub seconds: f64,
}

pub struct TrainResult {
    pub best: TensorMap,
    pub last: TensorMap,
    pub best_epoch: usize,
    pub best_dev_wer: f64,
    pub history: Vec<EpochLog>,
}

pub fn make_batch(items: &[&Feats], bins: usize) -> Batch {
    let t = items.iter().map(|f| f.frames).max().unwrap_or(1);
    let mut x = vec![0.0f32; items.len() * t * bins];
    for (i, f) in items.iter().enumerate() {
        x[i * t * bins..i * t * bins + f.data.len()].copy_from_slice(&f.data);
    }
    Batch {
        x,
        b: items.len(),
        t,
        lens: items.iter().map(|f| f.frames).collect(),
        targets: items.iter().map(|f| text::encode(&f.text)).collect(),
    }
}

/// Utterances the model can train on: a transcript, and enough output
/// frames for it.
pub fn usable<'a>(cfg: &Arch, data: &'a [Feats]) -> Vec<&'a Feats> {
    data.iter()
        .filter(|f| !f.text.is_empty() && cfg.usable(f.frames, &text::encode(&f.text)))
        .collect()
}

/// Runs `f` on a set of utterances in duration-sorted batches with an
/// inference copy of `p`, and returns its transcripts in `data`'s order.
fn in_batches(
    p: &Params,
    data: &[Feats],
    bins: usize,
    batch: usize,
    mut f: impl FnMut(&Params, Tensor<3>, &[usize]) -> Result<Vec<String>, String>,
) -> Result<Vec<String>, String> {
    let eval_p = p.for_inference();
    let mut order: Vec<usize> = (0..data.len()).collect();
    order.sort_by_key(|&i| data[i].frames);
    let mut out = vec![String::new(); data.len()];
    for chunk in order.chunks(batch.max(1)) {
        let items: Vec<&Feats> = chunk.iter().map(|&i| &data[i]).collect();
        let bt = make_batch(&items, bins);
        let x: Tensor<3> =
            Tensor::from_data(TensorData::new(bt.x, [bt.b, bt.t, bins]), &eval_p.device);
        for (&i, hyp) in chunk.iter().zip(f(&eval_p, x, &bt.lens)?) {
            out[i] = hyp;
        }
    }
    Ok(out)
}

/// Greedy-decodes a set of utterances with the weights in `p` (eval mode).
pub fn decode(cfg: &Arch, p: &Params, data: &[Feats], bins: usize, batch: usize) -> Vec<String> {
    in_batches(
        p,
        data,
        bins,
        batch,
        |p, x, lens| Ok(cfg.decode(p, x, lens)),
    )
    .expect("greedy decoding does not fail")
}

/// Beam-search decodes a set of utterances (CTC models; see `beam.rs`),
/// utterances of a batch in parallel.
pub fn decode_beam(
    cfg: &Arch,
    p: &Params,
    data: &[Feats],
    bins: usize,
    batch: usize,
    s: &crate::beam::BeamSettings,
    lm: Option<&crate::lm::NgramLm>,
) -> Result<Vec<String>, String> {
    use rayon::prelude::*;
    in_batches(p, data, bins, batch, |p, x, lens| {
        let lps = cfg.ctc_log_probs(p, x, lens).ok_or_else(|| {
            format!("beam search decodes CTC models (cnn_lstm, conformer); decode `{}` models with `decoder: greedy`", cfg.name())
        })?;
        Ok(lps
            .par_iter()
            .map(|lp| crate::beam::decode(lp, lp.len() / text::VOCAB, text::VOCAB, s, lm))
            .collect())
    })
}

/// Corpus WER and CER (percent) of hypotheses against references.
pub fn score(refs: &[&str], hyps: &[String]) -> (f64, f64) {
    let (mut we, mut wn, mut ce, mut cn) = (0, 0, 0, 0);
    for (r, h) in refs.iter().zip(hyps) {
        let (a, b, c, d) = text::errors(r, h);
        we += a;
        wn += b;
        ce += c;
        cn += d;
    }
    (
        100.0 * we as f64 / wn.max(1) as f64,
        100.0 * ce as f64 / cn.max(1) as f64,
    )
}

/// Applies masks to a host weight map (pruned weights become exactly 0).
pub fn apply_masks(w: &mut TensorMap, masks: &Masks) {
    for (k, m) in masks {
        if let Some(t) = w.get_mut(k) {
            for (v, mm) in t.data.iter_mut().zip(&m.data) {
                *v *= *mm;
            }
        }
    }
}

/// Optimizer state: first and second moments per parameter.
pub struct Opt {
    pub m: Vec<Tensor<1>>,
    pub v: Vec<Tensor<1>>,
    pub step: u64,
}

impl Opt {
    pub fn new(p: &Params) -> Opt {
        Opt {
            m: p.values
                .iter()
                .map(|v| v.clone().inner().zeros_like())
                .collect(),
            v: p.values
                .iter()
                .map(|v| v.clone().inner().zeros_like())
                .collect(),
            step: 0,
        }
    }
}

/// A batch of padded features and targets.
pub struct Batch {
    pub x: Vec<f32>,
    pub b: usize,
    pub t: usize,
    pub lens: Vec<usize>,
    pub targets: Vec<Vec<usize>>,
}

/// The sum of squares of `g` in f32, summed in element order. On the CPU it
/// is taken on the host: flex sums tensors of 4M+ elements in parallel
/// chunks whose combining order depends on thread scheduling, which would
/// make clipping, and so the weights, differ from run to run. The host sum
/// is the one flex takes for smaller tensors, so results stay as they were.
fn squared_norm(g: &Tensor<1>, device: &Device) -> f64 {
    if crate::device::is_host(device) {
        to_host(g).iter().map(|x| x * x).sum::<f32>() as f64
    } else {
        g.clone().powi_scalar(2).sum().into_scalar::<f32>() as f64
    }
}

/// One optimizer step on one batch: forward, CTC loss, backward, global
/// norm clipping, Adam/AdamW/SGD update, masks re-applied. Returns the loss.
#[allow(clippy::too_many_arguments)]
pub fn train_step(
    cfg: &Arch,
    p: &mut Params,
    opt: &mut Opt,
    bt: &Batch,
    bins: usize,
    s: &FitSettings,
    lr: f64,
    mask_t: &[Option<Tensor<1>>],
    device: &Device,
) -> Result<f64, String> {
    let x: Tensor<3> = Tensor::from_data(TensorData::new(bt.x.clone(), [bt.b, bt.t, bins]), device);
    let mut cx = Ctx::new(p, true);
    let loss = cfg.loss(&mut cx, x, &bt.lens, &bt.targets);
    let updates = std::mem::take(&mut cx.stat_updates);
    let tape = std::mem::take(&mut cx.tape);
    let lv = loss.clone().inner().into_scalar::<f32>() as f64;
    if !lv.is_finite() {
        return Ok(lv);
    }
    let gs = crate::nn::gradients(loss, p, tape);
    // Global gradient-norm clipping, as torch's clip_grad_norm_.
    let mut scale = 1.0f64;
    if s.clip > 0.0 {
        let norm2: f64 = gs.iter().map(|g| squared_norm(g, device)).sum();
        let norm = norm2.sqrt();
        if norm > s.clip {
            scale = s.clip / (norm + 1e-6);
        }
    }
    opt.step += 1;
    let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8f64);
    for i in 0..p.values.len() {
        let g = gs[i].clone() * scale;
        let w = p.values[i].clone().inner();
        let neww = match s.optimizer.as_str() {
            "sgd" => {
                opt.m[i] = opt.m[i].clone() * s.momentum + g.clone();
                w.clone() - (opt.m[i].clone() + w * s.weight_decay) * lr
            }
            kind => {
                let g = if kind == "adam" && s.weight_decay > 0.0 {
                    g + w.clone() * s.weight_decay
                } else {
                    g
                };
                opt.m[i] = opt.m[i].clone() * b1 + g.clone() * (1.0 - b1);
                opt.v[i] = opt.v[i].clone() * b2 + g.powi_scalar(2) * (1.0 - b2);
                let mh = opt.m[i].clone() / (1.0 - b1.powi(opt.step as i32));
                let vh = opt.v[i].clone() / (1.0 - b2.powi(opt.step as i32));
                let decay = if kind == "adamw" {
                    w.clone() * (lr * s.weight_decay)
                } else {
                    w.zeros_like()
                };
                w - mh / (vh.sqrt() + eps) * lr - decay
            }
        };
        // Masked weights are exactly zero after every step.
        let neww = match &mask_t[i] {
            Some(m) => neww * m.clone(),
            None => neww,
        };
        p.values[i] = Tensor::from_inner(neww).require_grad();
    }
    for (k, v) in updates {
        if let Some(b) = p.buffers.get_mut(&k) {
            b.data = v;
        }
    }
    Ok(lv)
}

#[allow(clippy::too_many_arguments)]
/// Trains from `init` under `masks`; checkpoints each epoch in `ckpt_dir`.
/// Looks at the weights after each epoch and may end training early (the
/// early-bird search). Its state is saved in every checkpoint, so a resumed
/// run stops exactly where an uninterrupted one would.
pub trait EpochHook {
    /// Called after each epoch's dev decoding; true ends training there.
    fn after_epoch(&mut self, epoch: usize, weights: &TensorMap) -> bool;
    /// The state to keep in the checkpoint.
    fn save(&self) -> serde_json::Value;
    /// Restores `save`'s state on resume; `weights` are the checkpoint's.
    fn load(&mut self, state: &serde_json::Value, weights: &TensorMap) -> Result<(), String>;
}

#[allow(clippy::too_many_arguments)]
pub fn train(
    cfg: &Arch,
    init: &TensorMap,
    masks: Option<&Masks>,
    train_set: &[Feats],
    dev: &[Feats],
    bins: usize,
    s: &FitSettings,
    device: &Device,
    ckpt_dir: &Path,
    progress: &Progress,
    label: &str,
    inject: Option<&crate::corpus::NoiseInjector>,
    mut hook: Option<&mut dyn EpochHook>,
) -> Result<TrainResult, String> {
    let mut p = cfg.init(s.seed, device);
    let mut start = init.clone();
    if let Some(m) = masks {
        apply_masks(&mut start, m);
    }
    p.load_map(&start)?;
    let inner = device.clone().inner();
    let mask_t: Vec<Option<Tensor<1>>> = p
        .info
        .iter()
        .map(|pi| {
            masks
                .and_then(|m| m.get(&pi.name))
                .map(|m| Tensor::from_data(TensorData::new(m.data.clone(), [m.data.len()]), &inner))
        })
        .collect();
    let mut opt = Opt::new(&p);
    let usable_train = usable(cfg, train_set);
    if usable_train.is_empty() {
        return Err("no training utterance is long enough for its transcript after the model's time striding; use shorter strides or longer audio".into());
    }
    let mut by_len = usable_train.clone();
    by_len.sort_by_key(|f| f.frames);
    let batches: Vec<Vec<&Feats>> = by_len.chunks(s.batch.max(1)).map(|c| c.to_vec()).collect();
    let dev_refs: Vec<&str> = dev.iter().map(|f| f.text.as_str()).collect();
    let mut history: Vec<EpochLog> = vec![];
    let mut best = (f64::INFINITY, 0usize, p.to_map());
    let mut first_epoch = 1;
    // Resume from the last complete epoch of a killed run.
    // ckpt.json is written last and names the files of its own epoch, so a
    // kill at any point leaves a consistent (older) checkpoint.
    let state_file = ckpt_dir.join("ckpt.json");
    let mut best_file = String::new();
    if state_file.is_file() {
        let state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&state_file).map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
        let all = tensor_io::load(&ckpt_dir.join(state["file"].as_str().unwrap_or("")))?;
        p.load_map(&all)?;
        for (i, pi) in p.info.iter().enumerate() {
            let get = |k: String| {
                all.get(&k).map(|h| {
                    Tensor::from_data(TensorData::new(h.data.clone(), [h.data.len()]), &inner)
                })
            };
            opt.m[i] =
                get(format!("adam.m.{}", pi.name)).ok_or("checkpoint lacks optimizer state")?;
            opt.v[i] =
                get(format!("adam.v.{}", pi.name)).ok_or("checkpoint lacks optimizer state")?;
        }
        opt.step = state["step"].as_u64().unwrap_or(0);
        history = serde_json::from_value(state["history"].clone()).unwrap_or_default();
        first_epoch = history.len() + 1;
        best_file = state["best_file"].as_str().unwrap_or("").to_string();
        if let Some(h) = hook.as_deref_mut() {
            h.load(&state["hook"], &p.to_map())?;
        }
        if state["stopped"].as_bool() == Some(true) {
            first_epoch = s.total_epochs(batches.len()) + 1;
        }
        let best_map = tensor_io::load(&ckpt_dir.join(&best_file))?;
        best = (
            state["best_wer"].as_f64().unwrap_or(f64::INFINITY),
            state["best_epoch"].as_u64().unwrap_or(0) as usize,
            best_map,
        );
        progress.println(&format!(
            "  {label}: resuming after epoch {}",
            history.len()
        ));
    }
    let mut steps_done = (first_epoch - 1) * batches.len();
    let epochs = s.total_epochs(batches.len());
    for epoch in first_epoch..=epochs {
        let t0 = std::time::Instant::now();
        let lr = s.lr_at(epoch, 0);
        let mut order: Vec<usize> = (0..batches.len()).collect();
        Rng::derive(s.seed, &format!("epoch{epoch}")).shuffle(&mut order);
        let bar = progress.bar(
            &format!("{label} ep {epoch}/{epochs}"),
            batches.len() as u64,
        );
        let (mut loss_sum, mut done) = (0.0, 0usize);
        for (bi, &o) in order.iter().enumerate() {
            let noisy = match inject {
                Some(inj) => inj.apply(&batches[o], s.seed, &format!("noise{epoch}/{bi}"))?,
                None => vec![],
            };
            let items: Vec<&Feats> = batches[o]
                .iter()
                .enumerate()
                .map(|(k, f)| noisy.get(k).and_then(|n| n.as_ref()).unwrap_or(*f))
                .collect();
            let mut bt = make_batch(&items, bins);
            if let Some(a) = &s.augment {
                a.apply(
                    &mut bt,
                    bins,
                    &mut Rng::derive(s.seed, &format!("specaugment{epoch}/{bi}")),
                );
            }
            let step_lr = s.lr_at(epoch, opt.step + 1);
            let lv = train_step(
                cfg, &mut p, &mut opt, &bt, bins, s, step_lr, &mask_t, device,
            )?;
            if !lv.is_finite() {
                return Err(format!("{label}: loss became {lv} in epoch {epoch}; lower the learning rate or check the data"));
            }
            loss_sum += lv;
            done += 1;
            bar.set_message(format!("loss {:.3}", loss_sum / (bi + 1) as f64));
            bar.inc(1);
            steps_done += 1;
            if s.stop_after_steps == Some(steps_done) || s.steps == Some(steps_done) {
                break;
            }
        }
        bar.finish();
        if s.stop_after_steps == Some(steps_done) {
            break;
        }
        let hyps = decode(cfg, &p, dev, bins, s.batch * 2);
        let (wer, cer) = score(&dev_refs, &hyps);
        history.push(EpochLog {
            epoch,
            loss: loss_sum / done.max(1) as f64,
            dev_wer: wer,
            dev_cer: cer,
            lr,
            seconds: t0.elapsed().as_secs_f64(),
        });
        progress.println(&format!(
            "  {label} epoch {epoch}/{epochs}: loss {:.3}, dev WER {:.2}%, CER {:.2}% ({:.1}s)",
            loss_sum / done.max(1) as f64,
            wer,
            cer,
            t0.elapsed().as_secs_f64()
        ));
        if wer < best.0 {
            best = (wer, epoch, p.to_map());
            best_file = format!("best_e{epoch}.safetensors");
            tensor_io::save(&ckpt_dir.join(&best_file), &best.2)?;
        }
        let stop = match hook.as_deref_mut() {
            Some(h) => h.after_epoch(epoch, &p.to_map()),
            None => false,
        };
        // Checkpoint: weights, buffers and optimizer moments, then state.
        let mut all = p.to_map();
        for (i, pi) in p.info.iter().enumerate() {
            all.insert(
                format!("adam.m.{}", pi.name),
                HostTensor {
                    shape: vec![pi.numel()],
                    data: to_host(&opt.m[i]),
                },
            );
            all.insert(
                format!("adam.v.{}", pi.name),
                HostTensor {
                    shape: vec![pi.numel()],
                    data: to_host(&opt.v[i]),
                },
            );
        }
        let file = format!("ckpt_e{epoch}.safetensors");
        tensor_io::save(&ckpt_dir.join(&file), &all)?;
        let hook_state = hook.as_deref().map(|h| h.save());
        let state = serde_json::json!({ "step": opt.step, "history": history, "best_wer": best.0, "best_epoch": best.1, "file": file, "best_file": best_file, "hook": hook_state, "stopped": stop });
        let tmp = ckpt_dir.join("ckpt.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(&state).unwrap()).map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, &state_file).map_err(|e| e.to_string())?;
        // Older checkpoint files are no longer referenced.
        for e in std::fs::read_dir(ckpt_dir)
            .map_err(|e| e.to_string())?
            .flatten()
        {
            let n = e.file_name().to_string_lossy().to_string();
            if n.ends_with(".safetensors") && n != file && n != best_file {
                let _ = std::fs::remove_file(e.path());
            }
        }
        if stop {
            break;
        }
    }
    if let Some(k) = s.stop_after_steps {
        if steps_done < k {
            return Err(format!(
                "step {k} is past the end of training ({steps_done} steps: {epochs} epochs of {} batches)",
                batches.len()
            ));
        }
    }
    Ok(TrainResult {
        best: best.2,
        last: p.to_map(),
        best_epoch: best.1,
        best_dev_wer: best.0,
        history,
    })
}

#[cfg(test)]
mod augment_tests {
    use super::*;

    #[test]
    fn specaugment_masks_inside_each_utterance_and_is_seeded() {
        let (b, t, bins) = (3, 50, 20);
        let lens = vec![50, 30, 10];
        let mk = || Batch {
            x: vec![1.0; b * t * bins],
            b,
            t,
            lens: lens.clone(),
            targets: vec![vec![1]; b],
        };
        let a = SpecAugment {
            freq_masks: 2,
            freq_width: 5,
            time_masks: 2,
            time_width: 8,
        };
        let (mut x, mut y) = (mk(), mk());
        a.apply(&mut x, bins, &mut Rng::derive(7, "e1/0"));
        a.apply(&mut y, bins, &mut Rng::derive(7, "e1/0"));
        assert_eq!(x.x, y.x, "same seed, same masks");
        let mut z = mk();
        a.apply(&mut z, bins, &mut Rng::derive(7, "e2/0"));
        assert_ne!(x.x, z.x, "another batch, other masks");
        for (i, &len) in lens.iter().enumerate() {
            let u = &x.x[i * t * bins..(i + 1) * t * bins];
            // Padding frames stay as they were.
            assert!(u[len * bins..].iter().all(|&v| v == 1.0));
            let zeros = u[..len * bins].iter().filter(|&&v| v == 0.0).count();
            // At most 2 bands of 5 bins over all frames plus 2 spans of
            // min(8, len/5) frames over all bins.
            let bound = 2 * 5 * len + 2 * 8.min(len / 5) * bins;
            assert!(zeros <= bound, "{zeros} > {bound}");
        }
        assert!(x.x.contains(&0.0), "something is masked");
    }
}

#[cfg(test)]
mod schedule_tests {
    use super::*;

    fn settings(warmup: usize, anneal: f64) -> FitSettings {
        FitSettings {
            anneal,
            warmup,
            ..FitSettings::plain_adam(3, 4, 1e-3)
        }
    }

    #[test]
    fn warmup_rises_linearly_peaks_at_w_and_decays_as_inverse_sqrt() {
        let s = settings(100, 1.0);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(s.lr_at(1, 1), 1e-5));
        assert!(close(s.lr_at(1, 50), 5e-4));
        assert!(close(s.lr_at(1, 100), 1e-3));
        assert!(close(s.lr_at(2, 400), 5e-4));
        // Off: the per-epoch anneal alone.
        let plain = settings(0, 2.0);
        assert!(close(plain.lr_at(1, 7), 1e-3) && close(plain.lr_at(3, 9), 2.5e-4));
    }

    #[test]
    fn steps_decide_the_number_of_epochs() {
        let mut s = settings(0, 1.0);
        assert_eq!(s.total_epochs(3), 3);
        s.steps = Some(4);
        assert_eq!(s.total_epochs(3), 2);
        s.steps = Some(6);
        assert_eq!(s.total_epochs(3), 2);
    }
}
