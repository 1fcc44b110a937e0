//! One optimizer step: forward, loss, backward, masked gradients, global
//! gradient-norm clipping, the Adam/AdamW/SGD update on flat parameters,
//! masks re-applied so pruned weights are exactly zero after every step.
//!
//! Pruned entries get a zero gradient before clipping and before the
//! optimizer, as with `torch.nn.utils.prune` (whose mask multiplies the
//! weight inside the graph): they neither count in the clipping norm nor
//! build up Adam moments.

use super::batch::Batch;
use super::settings::FitSettings;
use crate::arch::Arch;
use crate::nn::{to_host, Ctx, Params};
use burn::tensor::{Device, Tensor, TensorData};

/// Optimizer state: first and second moments per parameter.
pub struct Opt {
    pub m: Vec<Tensor<1>>,
    pub v: Vec<Tensor<1>>,
    pub step: u64,
}

impl Opt {
    pub fn new(p: &Params) -> Opt {
        let zeros = || {
            p.values
                .iter()
                .map(|v| v.clone().inner().zeros_like())
                .collect()
        };
        Opt {
            m: zeros(),
            v: zeros(),
            step: 0,
        }
    }
}

impl Opt {
    /// Zeroes the moments of pruned weights (a late-rewound round starts
    /// from the dense run's moments, in which they were trained).
    pub fn mask_moments(&mut self, masks: &[Option<Tensor<1>>]) {
        for (i, m) in masks.iter().enumerate() {
            if let Some(m) = m {
                self.m[i] = self.m[i].clone() * m.clone();
                self.v[i] = self.v[i].clone() * m.clone();
            }
        }
    }
}

/// What every step of one training run shares.
pub struct Stepper<'a> {
    pub cfg: &'a Arch,
    pub settings: &'a FitSettings,
    /// Each parameter's mask as a tensor, if it is pruned.
    pub masks: Vec<Option<Tensor<1>>>,
    pub bins: usize,
    pub device: &'a Device,
    /// Convolutions and LSTM layers on the host where the device is the
    /// CPU (`nn::Ctx`). Off, the CPU runs burn's graph for them, the graph
    /// a GPU runs: `lotto bench scale` measures that graph's memory so.
    pub host_layers: bool,
}

/// The sum of squares of `g` in f32, summed in element order. On the CPU it
/// is taken on the host: flex sums tensors of 4M+ elements in parallel
/// chunks whose combining order depends on thread scheduling, which would
/// make clipping, and so the weights, differ from run to run.
fn squared_norm(g: &Tensor<1>, device: &Device) -> f64 {
    if crate::device::is_host(device) {
        to_host(g).iter().map(|x| x * x).sum::<f32>() as f64
    } else {
        g.clone().powi_scalar(2).sum().into_scalar::<f32>() as f64
    }
}

/// Each gradient times its parameter's mask: pruned weights get none.
fn mask_gradients(gs: Vec<Tensor<1>>, masks: &[Option<Tensor<1>>]) -> Vec<Tensor<1>> {
    gs.into_iter()
        .zip(masks)
        .map(|(g, m)| match m {
            Some(m) => g * m.clone(),
            None => g,
        })
        .collect()
}

/// The factor global gradient-norm clipping scales every gradient by, as
/// torch's `clip_grad_norm_`: clip / (norm + 1e-6) when the norm exceeds
/// `clip` (0: off), else 1.
fn clip_scale(gs: &[Tensor<1>], clip: f64, device: &Device) -> f64 {
    if clip <= 0.0 {
        return 1.0;
    }
    let norm = gs
        .iter()
        .map(|g| squared_norm(g, device))
        .sum::<f64>()
        .sqrt();
    if norm > clip {
        clip / (norm + 1e-6)
    } else {
        1.0
    }
}

/// The tensor in `slot`, leaving a one-element placeholder there (not a
/// zero-sized one, which not every backend allocates).
fn take(slot: &mut Tensor<1>) -> Tensor<1> {
    let placeholder = Tensor::empty([1], &slot.device());
    std::mem::replace(slot, placeholder)
}

impl Stepper<'_> {
    /// One optimizer step on one batch at learning rate `lr`. Returns the
    /// loss (a non-finite loss leaves the weights untouched).
    pub fn step(&self, p: &mut Params, opt: &mut Opt, bt: &Batch, lr: f64) -> Result<f64, String> {
        self.step_group(p, opt, &[bt], lr)
    }

    /// One optimizer step on the mean gradient of a group of batches
    /// (gradient accumulation: the effective batch is all of them). Returns
    /// their mean loss; a non-finite loss leaves the weights untouched and
    /// is returned at once.
    pub fn step_group(
        &self,
        p: &mut Params,
        opt: &mut Opt,
        group: &[&Batch],
        lr: f64,
    ) -> Result<f64, String> {
        let mut sum: Option<Vec<Tensor<1>>> = None;
        let mut loss = 0.0;
        for (k, bt) in group.iter().enumerate() {
            let (lv, gs) = self.gradients(p, bt, &format!("dropout{}/{k}", opt.step));
            let Some(gs) = gs else {
                return Ok(lv);
            };
            loss += lv;
            sum = Some(match sum {
                None => gs,
                Some(acc) => acc.into_iter().zip(gs).map(|(a, b)| a + b).collect(),
            });
        }
        let Some(mut gs) = sum else {
            return Ok(0.0);
        };
        let n = group.len();
        if n > 1 {
            gs = gs.into_iter().map(|g| g / n as f64).collect();
        }
        let scale = clip_scale(&gs, self.settings.clip, self.device);
        opt.step += 1;
        for (i, g) in gs.into_iter().enumerate() {
            let w = p.values[i].clone().inner();
            // A scale of 1 (no clipping) would multiply exactly.
            let g = if scale == 1.0 { g } else { g * scale };
            let neww = self.update(opt, i, w, g, lr);
            // Masked weights are exactly zero after every step.
            let neww = match &self.masks[i] {
                Some(m) => neww * m.clone(),
                None => neww,
            };
            p.values[i] = Tensor::from_inner(neww).require_grad();
        }
        Ok(loss / n as f64)
    }

    /// One batch's loss and its masked gradients (none for a non-finite
    /// loss); the forward pass's running statistics (batch norm) are kept.
    fn gradients(&self, p: &mut Params, bt: &Batch, draws: &str) -> (f64, Option<Vec<Tensor<1>>>) {
        let x: Tensor<3> = Tensor::from_data(
            TensorData::new(bt.x.clone(), [bt.b, bt.t, self.bins]),
            self.device,
        );
        let mut cx = Ctx::new(p, true);
        cx.host &= self.host_layers;
        cx.rng = Some(crate::rng::Rng::derive(self.settings.seed, draws));
        let per = self.cfg.utterance_losses(&mut cx, x, &bt.lens, &bt.targets);
        let loss = self.settings.loss.reduce(per, &bt.targets, self.device);
        let updates = std::mem::take(&mut cx.stat_updates);
        let tape = std::mem::take(&mut cx.tape);
        let lv = loss.clone().inner().into_scalar::<f32>() as f64;
        if !lv.is_finite() {
            return (lv, None);
        }
        let gs = mask_gradients(crate::nn::gradients(loss, p, tape), &self.masks);
        for (k, v) in updates {
            if let Some(b) = p.buffers.get_mut(&k) {
                b.data = v;
            }
        }
        (lv, Some(gs))
    }

    /// The updated value of parameter `i` (weights `w`, gradient `g`).
    fn update(&self, opt: &mut Opt, i: usize, w: Tensor<1>, g: Tensor<1>, lr: f64) -> Tensor<1> {
        let s = self.settings;
        let ((b1, b2), eps) = (s.betas, s.eps);
        match s.optimizer.as_str() {
            "sgd" => {
                opt.m[i] = opt.m[i].clone() * s.momentum + g;
                w.clone() - (opt.m[i].clone() + w * s.weight_decay) * lr
            }
            kind => {
                let g = if kind == "adam" && s.weight_decay > 0.0 {
                    g + w.clone() * s.weight_decay
                } else {
                    g
                };
                // The moments are taken out of `opt` while they are
                // updated: a tensor nothing else holds is updated in place
                // by flex, where a shared one is copied first (the same
                // operations either way, so the same bits).
                let m = take(&mut opt.m[i]) * b1 + g.clone() * (1.0 - b1);
                let v = take(&mut opt.v[i]) * b2 + g.powi_scalar(2) * (1.0 - b2);
                let mh = m.clone() / (1.0 - b1.powi(opt.step as i32));
                let vh = v.clone() / (1.0 - b2.powi(opt.step as i32));
                (opt.m[i], opt.v[i]) = (m, v);
                let stepped = w.clone() - mh / (vh.sqrt() + eps) * lr;
                if kind == "adamw" {
                    stepped - w * (lr * s.weight_decay)
                } else {
                    stepped
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::spec::Feats;
    use crate::nn::params::host_to_tensor;
    use crate::training::batch::make_batch;

    #[test]
    fn masked_entries_get_no_gradient_and_do_not_count_in_the_clip() {
        let device = crate::device::open("flex").unwrap();
        let inner = device.clone().inner();
        let t = |v: &[f32]| host_to_tensor(v, &device).inner();
        // Unmasked: [3, 4] (norm 5); the masked 12 would make it 13.
        let gs = vec![t(&[3.0, 4.0, 12.0]), t(&[0.0])];
        let masks = vec![
            Some(Tensor::<1>::from_data(
                TensorData::new(vec![1.0f32, 1.0, 0.0], [3]),
                &inner,
            )),
            None,
        ];
        let gs = mask_gradients(gs, &masks);
        assert_eq!(to_host(&gs[0]), vec![3.0, 4.0, 0.0]);
        let s = clip_scale(&gs, 1.0, &device);
        assert!((s - 1.0 / (5.0 + 1e-6)).abs() < 1e-12, "{s}");
        assert_eq!(clip_scale(&gs, 10.0, &device), 1.0);
        assert_eq!(clip_scale(&gs, 0.0, &device), 1.0);
    }

    fn tiny() -> Arch {
        crate::arch::tiny_cnn_lstm(8)
    }

    fn two_utterances(bins: usize) -> Vec<Feats> {
        ["go", "up no"]
            .iter()
            .enumerate()
            .map(|(i, &txt)| Feats {
                id: txt.into(),
                text: txt.into(),
                frames: 40,
                data: (0..40 * bins)
                    .map(|k| ((k * 7 + i) % 11) as f32 / 11.0)
                    .collect(),
            })
            .collect()
    }

    /// The mean of equal gradients is that gradient exactly ((g + g) / 2 =
    /// g in floating point), so a group of one batch twice takes the step
    /// the batch alone takes, and counts as one optimizer step.
    #[test]
    fn an_accumulated_step_averages_its_batches_gradients() {
        let cfg = tiny();
        let device = crate::device::open("flex").unwrap();
        let bins = 8;
        let data = two_utterances(bins);
        let bt = make_batch(
            &data.iter().collect::<Vec<_>>(),
            bins,
            crate::tokens::Tokens::Chars,
        );
        let s = FitSettings::plain_adam(1, 2, 0.01);
        let stepper = Stepper {
            cfg: &cfg,
            host_layers: true,
            settings: &s,
            masks: vec![None; cfg.init(1, &device).values.len()],
            bins,
            device: &device,
        };
        let (mut p1, mut p2) = (cfg.init(1, &device), cfg.init(1, &device));
        let (mut o1, mut o2) = (Opt::new(&p1), Opt::new(&p2));
        let l1 = stepper.step(&mut p1, &mut o1, &bt, s.lr).unwrap();
        let l2 = stepper
            .step_group(&mut p2, &mut o2, &[&bt, &bt], s.lr)
            .unwrap();
        assert_eq!(l1, l2);
        assert_eq!((o1.step, o2.step), (1, 1));
        for (a, b) in p1.values.iter().zip(&p2.values) {
            assert_eq!(to_host(a), to_host(b));
        }
    }

    #[test]
    fn adam_moments_stay_zero_at_pruned_weights() {
        let cfg = tiny();
        let device = crate::device::open("flex").unwrap();
        let mut p = cfg.init(1, &device);
        let bins = 8;
        let data = two_utterances(bins);
        let bt = make_batch(
            &data.iter().collect::<Vec<_>>(),
            bins,
            crate::tokens::Tokens::Chars,
        );
        // Prune every other entry of every parameter.
        let masks: Vec<Option<Tensor<1>>> = p
            .values
            .iter()
            .map(|v| {
                let n = v.dims()[0];
                let m: Vec<f32> = (0..n).map(|k| (k % 2) as f32).collect();
                Some(host_to_tensor(&m, &device).inner())
            })
            .collect();
        let mut s = FitSettings::plain_adam(1, 2, 0.01);
        s.clip = 0.5;
        let stepper = Stepper {
            cfg: &cfg,
            host_layers: true,
            settings: &s,
            masks,
            bins,
            device: &device,
        };
        let mut opt = Opt::new(&p);
        for _ in 0..3 {
            stepper.step(&mut p, &mut opt, &bt, s.lr).unwrap();
        }
        for (i, (m, v)) in opt.m.iter().zip(&opt.v).enumerate() {
            let (m, v, w) = (to_host(m), to_host(v), to_host(&p.values[i]));
            for k in (0..m.len()).step_by(2) {
                assert_eq!((m[k], v[k], w[k]), (0.0, 0.0, 0.0), "param {i} entry {k}");
            }
            // The surviving entries did learn.
            assert!(v.iter().skip(1).step_by(2).any(|&x| x > 0.0), "param {i}");
        }
    }

    /// Two Adam steps on one weight, gradients 1 then 2, against the
    /// formulas by hand: with β2 0.98 and ε 1e-9 (the official Conformer)
    /// the second step differs from the defaults' in the third digit.
    #[test]
    fn adam_uses_the_settings_betas_and_eps() {
        let cfg = tiny();
        let device = crate::device::open("flex").unwrap();
        let t = |x: f32| host_to_tensor(&[x], &device).inner();
        let run = |b1: f64, b2: f64, eps: f64| {
            let mut s = FitSettings::plain_adam(1, 1, 0.1);
            s.betas = (b1, b2);
            s.eps = eps;
            let stepper = Stepper {
                cfg: &cfg,
                host_layers: true,
                settings: &s,
                masks: vec![None],
                bins: 8,
                device: &device,
            };
            let mut opt = Opt {
                m: vec![t(0.0)],
                v: vec![t(0.0)],
                step: 0,
            };
            let mut w = t(1.0);
            for g in [1.0f32, 2.0] {
                opt.step += 1;
                w = stepper.update(&mut opt, 0, w, t(g), 0.1);
            }
            to_host(&w)[0] as f64
        };
        let by_hand = |b1: f64, b2: f64, eps: f64| {
            let (m1, v1) = ((1.0 - b1) * 1.0, (1.0 - b2) * 1.0);
            let w1 = 1.0 - 0.1 * (m1 / (1.0 - b1)) / ((v1 / (1.0 - b2)).sqrt() + eps);
            let (m2, v2) = (b1 * m1 + (1.0 - b1) * 2.0, b2 * v1 + (1.0 - b2) * 4.0);
            w1 - 0.1 * (m2 / (1.0 - b1 * b1)) / ((v2 / (1.0 - b2 * b2)).sqrt() + eps)
        };
        for (b1, b2, eps) in [(0.9, 0.98, 1e-9), (0.9, 0.999, 1e-8)] {
            let (got, want) = (run(b1, b2, eps), by_hand(b1, b2, eps));
            assert!((got - want).abs() < 1e-6, "β2 {b2}: {got} vs {want}");
        }
        assert!((by_hand(0.9, 0.98, 1e-9) - by_hand(0.9, 0.999, 1e-8)).abs() > 1e-4);
    }
}
