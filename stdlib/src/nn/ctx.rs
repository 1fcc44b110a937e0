//! The forward context of a model: training or inference mode, batch-norm
//! running statistics, and the CPU paths of LSTM layers (and, in
//! `conv_blocks`, of convolution blocks), which record what their backward
//! passes need on the tape.

use super::layers::{lstm_dir, reverse_padded};
use super::params::{host_to_tensor, to_host, Params, NORM_EPS};
use super::tape::{HostDir, HostLstm, Stage, StageInput};
use crate::cpu::lstm::{LstmDims, LstmRun, LstmWeights, Order};
use burn::tensor::{Tensor, TensorData};
use rayon::prelude::*;

/// One layer of forward context: training mode updates running stats.
pub struct Ctx<'a> {
    pub p: &'a Params,
    pub train: bool,
    /// Running-stat updates produced by this forward (applied by the caller).
    pub stat_updates: Vec<(String, Vec<f32>)>,
    /// Where the training forward pass left burn's graph, in order:
    /// `gradients` runs their backward passes.
    pub tape: Vec<Stage>,
    /// Whether convolution blocks and LSTM layers take the CPU paths
    /// (`conv_blocks`, `lstm`); set for the flex device.
    pub host: bool,
    /// Draws dropout masks; `None` (inference, tests) drops nothing. The
    /// training step seeds it from the run seed and the optimizer step,
    /// so a resumed run draws the same masks.
    pub rng: Option<crate::rng::Rng>,
}

/// One direction of an LSTM layer for `Ctx::lstm`: the prefix of its four
/// parameters and the order in which it reads each sequence.
pub struct Direction {
    pub prefix: String,
    pub order: Order,
}

const BN_MOMENTUM: f32 = 0.1;

impl<'a> Ctx<'a> {
    pub fn new(p: &'a Params, train: bool) -> Ctx<'a> {
        Ctx {
            p,
            train,
            stat_updates: vec![],
            tape: vec![],
            host: crate::device::is_host(&p.device),
            rng: None,
        }
    }

    /// Inverted dropout: in training, each value zeroed with probability
    /// `p` and the rest scaled by 1 / (1 − p).
    pub fn dropout<const D: usize>(&mut self, x: Tensor<D>, p: f64) -> Tensor<D> {
        if !self.train || p <= 0.0 {
            return x;
        }
        let Some(rng) = self.rng.as_mut() else {
            return x;
        };
        let shape = x.shape();
        let keep = (1.0 / (1.0 - p)) as f32;
        let m: Vec<f32> = (0..shape.num_elements())
            .map(|_| {
                if (rng.uniform(0.0, 1.0) as f64) < p {
                    0.0
                } else {
                    keep
                }
            })
            .collect();
        let dev = x.device();
        x * Tensor::from_data(TensorData::new(m, shape), &dev)
    }

    /// The LSTM directions `dirs` over `x` [B, T, D] → one [B, T, H] per
    /// direction. On the CPU the directions run side by side on the host
    /// (`cpu::lstm`); elsewhere each is burn's `lstm_dir`.
    pub fn lstm(&mut self, x: Tensor<3>, h: usize, dirs: &[Direction]) -> Vec<Tensor<3>> {
        let p = self.p;
        if !self.host {
            return dirs
                .iter()
                .map(|dir| match &dir.order {
                    Order::Forward => lstm_dir(p, &dir.prefix, x.clone(), h),
                    Order::Reversed(lens) => reverse_padded(
                        lstm_dir(p, &dir.prefix, reverse_padded(x.clone(), lens), h),
                        lens,
                    ),
                })
                .collect();
        }
        let dev = x.device();
        let [b, t, d] = x.dims();
        let dims = LstmDims { b, t, d, h };
        let xv = to_host(&x);
        let (params, weights): (Vec<[usize; 4]>, Vec<LstmWeights>) = dirs
            .iter()
            .map(|dir| {
                let params = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
                    .map(|n| p.index(&format!("{}.{n}", dir.prefix)));
                let host = |i: usize| to_host(&p.values[i]);
                let bias = host(params[2])
                    .iter()
                    .zip(host(params[3]))
                    .map(|(a, b)| a + b)
                    .collect();
                let weights = LstmWeights {
                    w_ih: host(params[0]),
                    w_hh: host(params[1]),
                    bias,
                };
                (params, weights)
            })
            .unzip();
        let runs: Vec<(LstmRun, Vec<f32>)> = dirs
            .par_iter()
            .zip(&weights)
            .map(|(dir, w)| LstmRun::forward(dims, dir.order.clone(), &xv, w))
            .collect();
        // The backward pass reads the weights from the parameters again.
        drop(weights);
        let tracked = self.train && dev.is_autodiff();
        let mut host_dirs = vec![];
        let mut outs = vec![];
        for ((run, y), params) in runs.into_iter().zip(params) {
            let out = Tensor::<3>::from_data(TensorData::new(y, [b, t, h]), &dev);
            if !tracked {
                outs.push(out);
                continue;
            }
            let out = out.require_grad();
            host_dirs.push(HostDir {
                run,
                params,
                output: out.clone(),
            });
            outs.push(out);
        }
        if tracked {
            self.tape.push(Stage::Lstm(Box::new(HostLstm {
                dirs: host_dirs,
                input: StageInput::new(x, xv),
            })));
        }
        outs
    }

    /// Moves the running statistics of norm `prefix` towards a batch's
    /// `mean` and `var` (the caller applies the updates).
    pub(super) fn update_running(&mut self, prefix: &str, mean: &[f32], var: &[f32]) {
        for (stat, batch) in [("running_mean", mean), ("running_var", var)] {
            let name = format!("{prefix}.{stat}");
            let updated = self.p.buffers[&name]
                .data
                .iter()
                .zip(batch)
                .map(|(r, m)| (1.0 - BN_MOMENTUM) * r + BN_MOMENTUM * m)
                .collect();
            self.stat_updates.push((name, updated));
        }
    }

    fn running(&self, name: &str) -> Tensor<1> {
        let b = &self.p.buffers[name];
        host_to_tensor(&b.data, &self.p.device.clone().inner())
    }

    /// Batch norm of `x` per channel (axis 1), over all other axes: [N, C]
    /// for features, [B, C, H·W] for convolution maps, which so need no
    /// transposition into [N, C] (on the CPU the copies there and in the
    /// backward pass cost more than the norm).
    pub fn batch_norm<const D: usize>(&mut self, prefix: &str, x: Tensor<D>) -> Tensor<D> {
        let c = x.dims()[1];
        let mut per_channel = [1; D];
        per_channel[1] = c;
        let mean_over_others =
            |t: Tensor<D>| (0..D).filter(|&a| a != 1).fold(t, |t, a| t.mean_dim(a));
        let (mean, var) = if self.train {
            let mean = mean_over_others(x.clone());
            let var = mean_over_others((x.clone() - mean.clone()).powi_scalar(2));
            let m_host = mean
                .clone()
                .inner()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            let v_host = var.clone().inner().into_data().try_to_vec::<f32>().unwrap();
            self.update_running(prefix, &m_host, &v_host);
            (mean, var)
        } else {
            let dev = x.device();
            let m = Tensor::from_inner(self.running(&format!("{prefix}.running_mean")))
                .to_device(&dev)
                .reshape(per_channel);
            let v = Tensor::from_inner(self.running(&format!("{prefix}.running_var")))
                .to_device(&dev)
                .reshape(per_channel);
            (m, v)
        };
        let w = self
            .p
            .get1(&format!("{prefix}.weight"))
            .reshape(per_channel);
        let b = self.p.get1(&format!("{prefix}.bias")).reshape(per_channel);
        (x - mean) / (var + NORM_EPS).sqrt() * w + b
    }
}

/// One bidirectional LSTM layer `prefix` over [B, T, D]: the outputs
/// [B, T, H] of its `fwd` and its `bwd` direction (which reads each
/// sequence backwards within its length).
pub fn bilstm(
    cx: &mut Ctx,
    prefix: &str,
    x: Tensor<3>,
    h: usize,
    lens: &[usize],
) -> (Tensor<3>, Tensor<3>) {
    let dirs = [
        Direction {
            prefix: format!("{prefix}.fwd"),
            order: Order::Forward,
        },
        Direction {
            prefix: format!("{prefix}.bwd"),
            order: Order::Reversed(lens.to_vec()),
        },
    ];
    let mut outs = cx.lstm(x, h, &dirs).into_iter();
    let f = outs.next().expect("two directions");
    (f, outs.next().expect("two directions"))
}

/// The LSTM direction `prefix` over [B, T, D] → [B, T, H], reading
/// forwards.
pub fn unilstm(cx: &mut Ctx, prefix: &str, x: Tensor<3>, h: usize) -> Tensor<3> {
    let dir = Direction {
        prefix: prefix.to_string(),
        order: Order::Forward,
    };
    cx.lstm(x, h, &[dir]).pop().expect("one direction")
}
