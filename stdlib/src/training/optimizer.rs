//! One optimizer step: forward, loss, backward, global gradient-norm
//! clipping, the Adam/AdamW/SGD update on flat parameters, masks re-applied
//! so pruned weights are exactly zero after every step.

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

/// What every step of one training run shares.
pub struct Stepper<'a> {
    pub cfg: &'a Arch,
    pub settings: &'a FitSettings,
    /// Each parameter's mask as a tensor, if it is pruned.
    pub masks: Vec<Option<Tensor<1>>>,
    pub bins: usize,
    pub device: &'a Device,
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

impl Stepper<'_> {
    /// One optimizer step on one batch at learning rate `lr`. Returns the
    /// loss (a non-finite loss leaves the weights untouched).
    pub fn step(&self, p: &mut Params, opt: &mut Opt, bt: &Batch, lr: f64) -> Result<f64, String> {
        let s = self.settings;
        let x: Tensor<3> = Tensor::from_data(
            TensorData::new(bt.x.clone(), [bt.b, bt.t, self.bins]),
            self.device,
        );
        let mut cx = Ctx::new(p, true);
        let loss = self.cfg.loss(&mut cx, x, &bt.lens, &bt.targets);
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
            let norm2: f64 = gs.iter().map(|g| squared_norm(g, self.device)).sum();
            let norm = norm2.sqrt();
            if norm > s.clip {
                scale = s.clip / (norm + 1e-6);
            }
        }
        opt.step += 1;
        for (i, g) in gs.into_iter().enumerate() {
            let w = p.values[i].clone().inner();
            let neww = self.update(opt, i, w, g * scale, lr);
            // Masked weights are exactly zero after every step.
            let neww = match &self.masks[i] {
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

    /// The updated value of parameter `i` (weights `w`, gradient `g`).
    fn update(&self, opt: &mut Opt, i: usize, w: Tensor<1>, g: Tensor<1>, lr: f64) -> Tensor<1> {
        let s = self.settings;
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8f64);
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
        }
    }
}
