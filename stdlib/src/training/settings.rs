//! What a training run is asked to do: epochs or steps, batch size, the
//! optimizer and its learning-rate schedule, clipping, SpecAugment and noise
//! injection. Recorded in every trained model (`trained.yaml`), so IMP
//! rounds and transfers retrain with the same settings.

use super::batch::Batch;
use super::loss_norm::LossNorm;
use crate::noise::injector::NoiseSettings;
use crate::rng::Rng;
use serde::{Deserialize, Serialize};

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
    pub noise: Option<NoiseSettings>,
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
    /// Adam/AdamW moment decay rates and denominator term.
    #[serde(default = "default_betas")]
    pub betas: (f64, f64),
    #[serde(default = "default_eps")]
    pub eps: f64,
    /// How per-utterance losses are reduced over a batch. Records written
    /// before the setting existed were trained with `labels`.
    #[serde(default = "labels_norm")]
    pub loss: LossNorm,
    /// Batches whose gradients are averaged into one optimizer step
    /// (gradient accumulation); `steps`, `step(k)`, warm-up and the
    /// optimizer count optimizer steps.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub accumulate: usize,
}

fn one() -> usize {
    1
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

fn default_betas() -> (f64, f64) {
    (0.9, 0.999)
}

fn default_eps() -> f64 {
    1e-8
}

fn labels_norm() -> LossNorm {
    LossNorm::Labels
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
            betas: default_betas(),
            eps: default_eps(),
            loss: LossNorm::Batch,
            accumulate: 1,
        }
    }

    /// Optimizer steps per epoch of `batches` batches: one per group of
    /// `accumulate` (the last group of an epoch may be smaller).
    pub fn steps_per_epoch(&self, batches: usize) -> usize {
        batches.div_ceil(self.accumulate.max(1)).max(1)
    }

    /// Epochs the run takes: `epochs`, or enough to make `steps` steps.
    pub fn total_epochs(&self, batches: usize) -> usize {
        match self.steps {
            Some(n) => n.div_ceil(self.steps_per_epoch(batches)),
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
