//! The training loop: our own, because IMP needs control of masks,
//! rewinding and optimizer resets. Duration-sorted batches shuffled per
//! epoch, per-epoch lr annealing (or warm-up), SpecAugment and noise drawn
//! per batch from the seed, model selection on the dev set only, and a
//! checkpoint after every epoch from which a killed run resumes
//! bit-identically.

use super::batch::{make_batch, usable, Batch};
use super::checkpoint;
use super::epoch_log::EpochLog;
use super::optimizer::{Opt, Stepper};
use super::selection;
use super::settings::FitSettings;
use crate::arch::Arch;
use crate::decoding::decode;
use crate::features::spec::Feats;
use crate::nn::Params;
use crate::noise::injector::NoiseInjector;
use crate::pruning::masks::{masked, Masks};
use crate::rng::Rng;
use crate::scoring::score;
use crate::tensor_io::TensorMap;
use burn::tensor::{Device, Tensor, TensorData};
use lotto_interpreter::progress::Progress;
use std::path::Path;

pub struct TrainResult {
    pub best: TensorMap,
    pub last: TensorMap,
    /// The optimizer's state at the end, when asked for
    /// (`Training::keep_moments`): its moments (`adam.m.NAME`,
    /// `adam.v.NAME`) and steps taken, from which a late-rewound round
    /// continues.
    pub optimizer: Option<(TensorMap, u64)>,
    pub best_epoch: usize,
    pub best_dev_wer: f64,
    pub history: Vec<EpochLog>,
    /// Why the kept epoch is a weak choice, if it is (`selection::warning`).
    pub warning: Option<String>,
}

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

/// One training run's data and settings.
pub struct Training<'a> {
    pub cfg: &'a Arch,
    pub settings: &'a FitSettings,
    pub train: &'a [Feats],
    pub dev: &'a [Feats],
    pub bins: usize,
    pub device: &'a Device,
    /// The `--device` name `device` was opened from (`cuda:1`), whose
    /// memory the run checks before it starts.
    pub device_name: &'a str,
    pub inject: Option<&'a NoiseInjector>,
    pub progress: &'a Progress,
    /// Names the run in progress lines (`lth round 3`).
    pub label: &'a str,
    /// Return the optimizer's moments at the end (a late-rewinding
    /// point); otherwise they are never copied to the host.
    pub keep_moments: bool,
}

/// The best dev WER so far: its value, epoch and the checkpoint file of
/// its weights (read back when training ends: a paper-size run does not
/// hold a second copy of the weights while it trains).
struct Best {
    wer: f64,
    epoch: usize,
    file: String,
}

/// Where a run stands between epochs.
struct State<'h> {
    p: Params,
    opt: Opt,
    history: Vec<EpochLog>,
    best: Best,
    hook: Option<&'h mut dyn EpochHook>,
    /// The hook ended training.
    stopped: bool,
    /// Epochs the run takes in all.
    epochs: usize,
}

impl Training<'_> {
    /// Trains from `init` under `masks`, checkpointing each epoch in
    /// `ckpt_dir` and resuming from the last checkpoint there. With
    /// `from_point` (late rewinding), training continues from that optimizer
    /// state and step: the rest of the schedule, not a new one.
    pub fn run(
        &self,
        init: &TensorMap,
        masks: Option<&Masks>,
        ckpt_dir: &Path,
        hook: Option<&mut dyn EpochHook>,
        from_point: Option<&(TensorMap, u64)>,
    ) -> Result<TrainResult, String> {
        let s = self.settings;
        let batches = self.batches()?;
        if let Some(w) = super::memory_check::check(self.cfg, &batches, self.device_name)? {
            self.progress
                .println(&format!("  warning: {}: {w}", self.label));
        }
        let mut p = self.cfg.init(s.seed, self.device);
        p.load_map(&masked(init, masks))?;
        let stepper = Stepper {
            cfg: self.cfg,
            host_layers: true,
            settings: s,
            masks: mask_tensors(&p, masks),
            bins: self.bins,
            device: self.device,
        };
        let epochs = s.total_epochs(batches.len());
        let mut st = State {
            opt: Opt::new(&p),
            best: Best {
                wer: f64::INFINITY,
                epoch: 0,
                file: String::new(),
            },
            p,
            history: vec![],
            hook,
            stopped: false,
            epochs,
        };
        if !self.resume(&mut st, ckpt_dir)? {
            if let Some((moments, step)) = from_point {
                checkpoint::load_moments(&mut st.opt, &st.p, moments)?;
                st.opt.mask_moments(&stepper.masks);
                st.opt.step = *step;
            }
        }
        // Every optimizer step is one batch: the steps taken say where
        // training stands, whether it starts, resumes or continues from a
        // late-rewinding point.
        let per_epoch = s.steps_per_epoch(batches.len());
        let mut steps_done = st.opt.step as usize;
        let first_epoch = if st.stopped {
            epochs + 1
        } else {
            steps_done / per_epoch + 1
        };
        if from_point.is_some() && first_epoch > epochs {
            return Err(format!(
                "the rewinding point (step {steps_done}) is at or past the end of training ({epochs} epochs of {per_epoch} steps)"
            ));
        }
        for epoch in first_epoch..=epochs {
            let t0 = std::time::Instant::now();
            let loss = self.epoch(&stepper, &mut st, &batches, epoch, &mut steps_done)?;
            if s.stop_after_steps == Some(steps_done) {
                break;
            }
            self.end_epoch(&mut st, epoch, loss, t0, ckpt_dir)?;
            if st.stopped {
                break;
            }
        }
        if let Some(k) = s.stop_after_steps {
            if steps_done < k {
                return Err(format!(
                    "step {k} is past the end of training ({steps_done} steps: {epochs} epochs of {per_epoch} steps)"
                ));
            }
        }
        let warning = selection::warning(&st.history);
        if let Some(w) = &warning {
            self.progress
                .println(&format!("  warning: {}: {w}", self.label));
        }
        let optimizer = self
            .keep_moments
            .then(|| (checkpoint::moments(&st.p, &st.opt), st.opt.step));
        drop(st.opt);
        let last = st.p.to_map();
        drop(st.p);
        // No epoch ended (training stopped at a step inside the first):
        // the best weights are the ones it started from.
        let best = if st.best.file.is_empty() {
            masked(init, masks)
        } else {
            crate::tensor_io::load(&ckpt_dir.join(&st.best.file))?
        };
        Ok(TrainResult {
            warning,
            best,
            last,
            optimizer,
            best_epoch: st.best.epoch,
            best_dev_wer: st.best.wer,
            history: st.history,
        })
    }

    /// Picks up where a killed run's last checkpoint left off, if any
    /// (true then).
    fn resume(&self, st: &mut State, ckpt_dir: &Path) -> Result<bool, String> {
        let Some(r) = checkpoint::resume(ckpt_dir, &mut st.p, &mut st.opt)? else {
            return Ok(false);
        };
        if let Some(h) = st.hook.as_deref_mut() {
            let saved = r.state.hook.as_ref().unwrap_or(&serde_json::Value::Null);
            h.load(saved, &st.p.to_map())?;
        }
        st.stopped = r.state.stopped;
        st.history = r.state.history;
        st.best = Best {
            wer: r.state.best_wer,
            epoch: r.state.best_epoch,
            file: r.state.best_file,
        };
        self.progress.println(&format!(
            "  {}: resuming after epoch {}",
            self.label,
            st.history.last().map_or(0, |h| h.epoch)
        ));
        Ok(true)
    }

    /// After an epoch's steps: dev decoding, the best weights so far, the
    /// hook's verdict, and the checkpoint.
    fn end_epoch(
        &self,
        st: &mut State,
        epoch: usize,
        loss: f64,
        t0: std::time::Instant,
        ckpt_dir: &Path,
    ) -> Result<(), String> {
        let s = self.settings;
        let hyps = decode(self.cfg, &st.p, self.dev, self.bins, s.batch * 2);
        let refs: Vec<&str> = self.dev.iter().map(|f| f.text.as_str()).collect();
        let (wer, cer) = score(&refs, &hyps);
        let seconds = t0.elapsed().as_secs_f64();
        st.history.push(EpochLog {
            epoch,
            loss,
            dev_wer: wer,
            dev_cer: cer,
            lr: s.lr_at(epoch, 0),
            seconds,
        });
        self.progress.println(&format!(
            "  {} epoch {epoch}/{}: loss {loss:.3}, dev WER {wer:.2}%, CER {cer:.2}% ({seconds:.1}s)",
            self.label, st.epochs
        ));
        let new = st.history.last().expect("just pushed");
        let best = st.history.iter().find(|e| e.epoch == st.best.epoch);
        if st.best.epoch == 0 || selection::beats(new, best) {
            st.best.file = checkpoint::save_best(ckpt_dir, epoch, &st.p)?;
            st.best.wer = wer;
            st.best.epoch = epoch;
        }
        st.stopped = match st.hook.as_deref_mut() {
            Some(h) => h.after_epoch(epoch, &st.p.to_map()),
            None => false,
        };
        let saved = checkpoint::State {
            step: st.opt.step,
            history: st.history.clone(),
            best_wer: st.best.wer,
            best_epoch: st.best.epoch,
            file: String::new(),
            best_file: st.best.file.clone(),
            hook: st.hook.as_deref().map(|h| h.save()),
            stopped: st.stopped,
        };
        checkpoint::save(ckpt_dir, &st.p, &st.opt, saved)
    }

    /// The training utterances in duration-sorted batches.
    fn batches(&self) -> Result<Vec<Vec<&Feats>>, String> {
        if self.train.is_empty() {
            return Err("the training corpus has no utterances".into());
        }
        let mut by_len = usable(self.cfg, self.train);
        if by_len.is_empty() {
            return Err("no training utterance is long enough for its transcript after the model's time striding; use shorter strides or longer audio".into());
        }
        by_len.sort_by_key(|f| f.frames);
        Ok(by_len
            .chunks(self.settings.batch.max(1))
            .map(|c| c.to_vec())
            .collect())
    }

    /// One epoch's optimizer steps over the batches in this epoch's order,
    /// each on a group of `accumulate` batches; returns the mean loss.
    /// Stops early at the step count the settings name (`steps`, or a
    /// `step(k)` rewind point).
    fn epoch(
        &self,
        stepper: &Stepper,
        st: &mut State,
        batches: &[Vec<&Feats>],
        epoch: usize,
        steps_done: &mut usize,
    ) -> Result<f64, String> {
        let (s, label) = (self.settings, self.label);
        let epochs = st.epochs;
        let mut order: Vec<usize> = (0..batches.len()).collect();
        Rng::derive(s.seed, &format!("epoch{epoch}")).shuffle(&mut order);
        let bar = self.progress.bar(
            &format!("{label} ep {epoch}/{epochs}"),
            batches.len() as u64,
        );
        let (mut loss_sum, mut done) = (0.0, 0usize);
        let k = s.accumulate.max(1);
        // A run continuing from step n mid-epoch takes the rest of that
        // epoch's batches, in the same order.
        let skip = *steps_done % s.steps_per_epoch(batches.len());
        bar.inc((skip * k) as u64);
        let indexed: Vec<(usize, usize)> = order.into_iter().enumerate().collect();
        for group in indexed.chunks(k).skip(skip) {
            let mut bts = Vec::with_capacity(group.len());
            for &(bi, o) in group {
                bts.push(self.batch(&batches[o], epoch, bi)?);
            }
            let refs: Vec<&Batch> = bts.iter().collect();
            let lr = s.lr_at(epoch, st.opt.step + 1);
            let t0 = std::time::Instant::now();
            let lv = stepper.step_group(&mut st.p, &mut st.opt, &refs, lr)?;
            // `lotto bench ops` reads it; `-vv` shows it.
            let seconds = t0.elapsed().as_secs_f64();
            tracing::debug!(target: "lotto::timing", seconds, "train step");
            if !lv.is_finite() {
                return Err(format!("{label}: loss became {lv} in epoch {epoch}; lower the learning rate or check the data"));
            }
            loss_sum += lv;
            done += 1;
            bar.set_message(format!("loss {:.3}", loss_sum / done as f64));
            bar.inc(group.len() as u64);
            *steps_done += 1;
            if s.stop_after_steps == Some(*steps_done) || s.steps == Some(*steps_done) {
                break;
            }
        }
        bar.finish();
        Ok(loss_sum / done.max(1) as f64)
    }

    /// Batch `bi` of `epoch`'s order as the model reads it: noise injected
    /// and SpecAugment applied, drawn from the seed, the epoch and `bi`.
    fn batch(&self, items: &[&Feats], epoch: usize, bi: usize) -> Result<Batch, String> {
        let s = self.settings;
        let noisy = match self.inject {
            Some(inj) => inj.apply(items, s.seed, &format!("noise{epoch}/{bi}"))?,
            None => vec![],
        };
        let items: Vec<&Feats> = items
            .iter()
            .enumerate()
            .map(|(k, f)| noisy.get(k).and_then(|n| n.as_ref()).unwrap_or(*f))
            .collect();
        let mut bt = make_batch(&items, self.bins, self.cfg.tokens());
        if let Some(a) = &s.augment {
            let mut rng = Rng::derive(s.seed, &format!("specaugment{epoch}/{bi}"));
            a.apply(&mut bt, self.bins, &mut rng);
        }
        Ok(bt)
    }
}

/// Each parameter's mask as a tensor on the device without autodiff.
pub fn mask_tensors(p: &Params, masks: Option<&Masks>) -> Vec<Option<Tensor<1>>> {
    let inner = p.device.clone().inner();
    p.info
        .iter()
        .map(|pi| {
            masks
                .and_then(|m| m.get(&pi.name))
                .map(|m| Tensor::from_data(TensorData::new(m.data.clone(), [m.data.len()]), &inner))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::settings::FitSettings;

    fn data(n: usize, bins: usize) -> Vec<Feats> {
        let words = ["go", "up no", "yes", "no go", "sir"];
        (0..n)
            .map(|i| Feats {
                id: format!("u{i}"),
                text: words[i % words.len()].into(),
                frames: 30 + 2 * i,
                data: (0..(30 + 2 * i) * bins)
                    .map(|k| ((k * 7 + i * 3) % 13) as f32 / 13.0)
                    .collect(),
            })
            .collect()
    }

    /// A run that continues from step k with the optimizer state saved
    /// there takes the same steps, at the same learning rates, as the
    /// uninterrupted run: with nothing pruned, it ends on the same weights,
    /// bit for bit, and evaluates only the epochs after k.
    #[test]
    fn continuing_from_step_k_finishes_the_schedule_of_the_full_run() {
        let bins = 8;
        let cfg = crate::arch::tiny_cnn_lstm(bins);
        let device = crate::device::open("flex").unwrap();
        let (train, dev) = (data(6, bins), data(2, bins));
        let progress = Progress::hidden();
        // 3 batches per epoch, 3 epochs, an lr that anneals per epoch.
        let mut full = FitSettings::plain_adam(3, 2, 0.01);
        full.anneal = 2.0;
        let init = cfg.init(0, &device).to_map();
        let go = |s: &FitSettings, init: &TensorMap, from: Option<&(TensorMap, u64)>| {
            let t = Training {
                cfg: &cfg,
                settings: s,
                train: &train,
                dev: &dev,
                bins,
                device: &device,
                device_name: "flex",
                inject: None,
                progress: &progress,
                label: "t",
                keep_moments: true,
            };
            let dir = tempfile::tempdir().unwrap();
            t.run(init, None, dir.path(), None, from).unwrap()
        };
        let whole = go(&full, &init, None);
        // Step 4: one step into epoch 2.
        let mut early = full.clone();
        early.stop_after_steps = Some(4);
        let point = go(&early, &init, None);
        let point_opt = point.optimizer.clone().unwrap();
        assert_eq!(point_opt.1, 4);
        let rest = go(&full, &point.last, Some(&point_opt));
        assert_eq!(rest.last, whole.last);
        assert_eq!(rest.optimizer.unwrap().1, 9);
        let epochs: Vec<usize> = rest.history.iter().map(|h| h.epoch).collect();
        assert_eq!(epochs, [2, 3]);
        assert_eq!(rest.history[0].lr, 0.005);
        // Restarting the schedule from those weights (the former meaning)
        // does not reach them.
        let fresh = go(&full, &point.last, None);
        assert_ne!(fresh.last, whole.last);
        // Accumulating 2 batches per step: 3 batches make 2 steps an epoch
        // (the last group is one batch), and a run continued from step 3
        // (mid-epoch 2) still ends where the whole run does.
        let mut acc = full.clone();
        acc.accumulate = 2;
        let whole2 = go(&acc, &init, None);
        assert_eq!(whole2.optimizer.unwrap().1, 6);
        let mut early2 = acc.clone();
        early2.stop_after_steps = Some(3);
        let point2 = go(&early2, &init, None);
        let rest2 = go(&acc, &point2.last, Some(point2.optimizer.as_ref().unwrap()));
        assert_eq!(rest2.last, whole2.last);
        assert_ne!(whole2.last, whole.last);
    }
}
