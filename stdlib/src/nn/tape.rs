//! The tape of a training forward pass: where it left burn's autodiff
//! graph to compute a layer on the host (convolutions and LSTM layers on
//! the CPU), and the backward pass that joins the graphs again.

use super::params::{host_to_tensor, to_host, Params};
use crate::cpu::conv::{ConvGeom, ConvSaved};
use crate::cpu::lstm::{LstmRun, Saved};
use crate::cpu::norm::{Affine, Clamp, NormGeom, NormSaved};
use burn::tensor::{Gradients, Tensor, TensorData};
use rayon::prelude::*;
use std::borrow::Cow;

/// A place where a training forward pass leaves burn's autodiff graph to
/// compute a part of the model on the host. The part's output is a fresh
/// leaf of a new graph; `gradients` joins the graphs again with one
/// backward pass per graph.
pub enum Stage {
    /// Convolution blocks computed on the host (`Ctx::conv_blocks`).
    Convs(Box<HostConvs>),
    /// The directions of an LSTM layer computed on the host (`Ctx::lstm`).
    Lstm(Box<HostLstm>),
}

/// The input of a host stage, for its backward pass: the autodiff node it
/// was (its values read back when the backward pass needs them, so the
/// tape holds no second copy), or the values themselves when it was not a
/// node (the features).
pub enum StageInput<const D: usize> {
    Node(Box<Tensor<D>>),
    Values(Vec<f32>),
}

impl<const D: usize> StageInput<D> {
    /// `x`, whose host values `xv` the forward pass has read, kept as a
    /// node when it is one.
    pub(crate) fn new(x: Tensor<D>, xv: Vec<f32>) -> StageInput<D> {
        if x.is_tracked() {
            StageInput::Node(Box::new(x))
        } else {
            StageInput::Values(xv)
        }
    }

    fn values(&self) -> Cow<'_, [f32]> {
        match self {
            StageInput::Node(x) => Cow::Owned(to_host(x)),
            StageInput::Values(v) => Cow::Borrowed(v),
        }
    }

    fn node(self) -> Option<Tensor<D>> {
        match self {
            StageInput::Node(x) => Some(*x),
            StageInput::Values(_) => None,
        }
    }
}

/// A stack of convolution blocks computed on the host during a training
/// forward pass (`Ctx::conv_blocks`), with what its backward pass needs.
pub struct HostConvs {
    pub(crate) layers: Vec<ConvLayer>,
    /// The first block's input.
    pub(crate) input: StageInput<4>,
    /// The last block's output: a fresh leaf that the rest of the forward
    /// pass uses.
    pub(crate) output: Tensor<4>,
}

/// One block of a `HostConvs`: its convolution and norm. Its weights are
/// read from the parameters again; its input, when it is the previous
/// block's output, is computed again from that block's saved norm.
pub(crate) struct ConvLayer {
    pub(crate) geom: ConvGeom,
    /// Index of the convolution weight.
    pub(crate) weight: usize,
    /// What the convolution's forward pass kept for its backward pass.
    pub(crate) saved: ConvSaved,
    pub(crate) norm: HostNorm,
}

/// Where a block's batch norm and clamp read their parameters.
pub(crate) struct NormAt {
    pub(crate) geom: NormGeom,
    /// Indices of the norm's weight (γ) and bias (β).
    gamma: usize,
    beta: usize,
    pub(crate) clamp: Clamp,
}

impl NormAt {
    /// The norm `bn` (its `.weight` and `.bias`) over maps of `geom`.
    pub(crate) fn new(p: &Params, bn: &str, geom: NormGeom, clamp: Clamp) -> NormAt {
        NormAt {
            geom,
            gamma: p.index(&format!("{bn}.weight")),
            beta: p.index(&format!("{bn}.bias")),
            clamp,
        }
    }

    /// γ and β's current values.
    pub(crate) fn affine(&self, p: &Params) -> Affine {
        Affine {
            gamma: to_host(&p.values[self.gamma]),
            beta: to_host(&p.values[self.beta]),
        }
    }

    pub(crate) fn with(self, saved: NormSaved) -> HostNorm {
        HostNorm { at: self, saved }
    }
}

/// A block's norm with what its training forward pass saved.
pub(crate) struct HostNorm {
    at: NormAt,
    saved: NormSaved,
}

impl HostConvs {
    /// Adds the weight, γ and β gradients of every block to `host`, given
    /// the gradient `gy` of the output; returns the gradient of the
    /// stage's input when that input is a graph node.
    fn backward(
        self,
        p: &Params,
        gy: Vec<f32>,
        host: &mut [Option<Vec<f32>>],
    ) -> Option<(Tensor<4>, Vec<f32>)> {
        let HostConvs {
            mut layers, input, ..
        } = self;
        let affine: Vec<Affine> = layers.iter().map(|l| l.norm.at.affine(p)).collect();
        let need_first_dx = matches!(input, StageInput::Node(_));
        let mut g = gy;
        for k in (0..layers.len()).rev() {
            let kept = std::mem::take(&mut layers[k].saved);
            let layer = &layers[k];
            let HostNorm { at, saved } = &layer.norm;
            let grads = at.geom.backward(g, saved, &affine[k], at.clamp);
            sum_into(&mut host[at.gamma], grads.dgamma);
            sum_into(&mut host[at.beta], grads.dbeta);
            // Spectra the forward pass kept stand in for the input and the
            // weights, which are then not computed or copied again.
            let (x, w): (Cow<[f32]>, Vec<f32>) = if kept.replaces_operands() {
                (Cow::Borrowed(&[]), vec![])
            } else {
                let x = match k.checked_sub(1) {
                    None => input.values(),
                    Some(prev) => {
                        let HostNorm { at, saved } = &layers[prev].norm;
                        Cow::Owned(at.geom.output(saved, &affine[prev], at.clamp))
                    }
                };
                (x, to_host(&p.values[layer.weight]))
            };
            let (dw, dx) = layer
                .geom
                .backward(&x, &w, &grads.dx, k > 0 || need_first_dx, kept);
            sum_into(&mut host[layer.weight], dw);
            g = dx?;
        }
        input.node().map(|node| (node, g))
    }
}

/// The directions of an LSTM layer computed on the host during a training
/// forward pass, with what their backward passes need.
pub struct HostLstm {
    pub(crate) dirs: Vec<HostDir>,
    pub(crate) input: StageInput<3>,
}

/// One direction of a `HostLstm`. Its weights are read from the
/// parameters again and its outputs from `output`, so the tape holds no
/// copies of either.
pub(crate) struct HostDir {
    pub(crate) run: LstmRun,
    /// Indices of weight_ih, weight_hh, bias_ih and bias_hh.
    pub(crate) params: [usize; 4],
    /// The output: a fresh leaf that the rest of the forward pass uses.
    pub(crate) output: Tensor<3>,
}

/// The gradient burn found for `leaf` in any of the backward passes.
fn grad_in<const D: usize>(passes: &[Gradients], leaf: &Tensor<D>) -> Option<Tensor<D>> {
    passes.iter().find_map(|g| leaf.grad(g))
}

/// Host values `data` as a gradient for `node` (its shape, a plain tensor).
fn host_grad<const D: usize>(data: Vec<f32>, node: &Tensor<D>) -> Tensor<D> {
    Tensor::from_data(TensorData::new(data, node.dims()), &node.device().inner())
}

/// A backward pass that puts `grad` at `node` of its graph: the gradient
/// of `sum(node * grad)` with respect to `node` is `grad`.
fn backward_from<const D: usize>(node: Tensor<D>, grad: Tensor<D>) -> Gradients {
    let grad = Tensor::from_inner(grad).to_device(&node.device());
    (node * grad).sum().backward()
}

/// Adds `g` into `slot`, or puts it there when the slot is empty.
fn sum_into(slot: &mut Option<Vec<f32>>, g: Vec<f32>) {
    match slot {
        Some(acc) => acc.iter_mut().zip(&g).for_each(|(a, d)| *a += d),
        None => *slot = Some(g),
    }
}

/// Every parameter's gradient (plain tensors, in parameter order): burn's
/// backward pass from `loss`, then the tape's stages backwards, each
/// adding the backward passes of the graphs it started from.
pub fn gradients(loss: Tensor<1>, p: &Params, tape: Vec<Stage>) -> Vec<Tensor<1>> {
    let mut passes = vec![loss.backward()];
    let mut host: Vec<Option<Vec<f32>>> = vec![None; p.values.len()];
    for stage in tape.into_iter().rev() {
        match stage {
            Stage::Convs(op) => {
                // No gradient reached the output: the loss does not depend on it.
                let Some(gy) = grad_in(&passes, &op.output) else {
                    continue;
                };
                let gy = to_host(&gy);
                if let Some((input, dx)) = op.backward(p, gy, &mut host) {
                    let dx = host_grad(dx, &input);
                    passes.push(backward_from(input, dx));
                }
            }
            Stage::Lstm(op) => {
                let HostLstm { dirs, input } = *op;
                let work: Vec<(HostDir, Vec<f32>)> = dirs
                    .into_iter()
                    .filter_map(|d| {
                        let dy = to_host(&grad_in(&passes, &d.output)?);
                        Some((d, dy))
                    })
                    .collect();
                if work.is_empty() {
                    continue;
                }
                let need_dx = matches!(input, StageInput::Node(_));
                let x = input.values();
                let grads: Vec<_> = work
                    .into_par_iter()
                    .map(|(d, dy)| {
                        let [ih, hh, ..] = d.params;
                        let (w_ih, w_hh) = (to_host(&p.values[ih]), to_host(&p.values[hh]));
                        let y = to_host(&d.output);
                        let saved = Saved {
                            w_ih: &w_ih,
                            w_hh: &w_hh,
                            x: &x,
                            y: &y,
                        };
                        (d.params, d.run.backward(saved, &dy, need_dx))
                    })
                    .collect();
                drop(x);
                let mut dx: Option<Vec<f32>> = None;
                for (params, g) in grads {
                    let [ih, hh, b_ih, b_hh] = params;
                    sum_into(&mut host[ih], g.w_ih);
                    sum_into(&mut host[hh], g.w_hh);
                    sum_into(&mut host[b_ih], g.bias.clone());
                    sum_into(&mut host[b_hh], g.bias);
                    if let Some(gx) = g.x {
                        gx.add_to(&mut dx);
                    }
                }
                if let (Some(input), Some(dx)) = (input.node(), dx) {
                    let dx = host_grad(dx, &input);
                    passes.push(backward_from(input, dx));
                }
            }
        }
    }
    p.values
        .iter()
        .zip(host)
        .map(|(v, host)| {
            let found = passes.iter().filter_map(|pass| v.grad(pass));
            let host = host.map(|h| host_to_tensor(&h, &v.device().inner()));
            found
                .chain(host)
                .reduce(|a, b| a + b)
                .unwrap_or_else(|| v.clone().inner().zeros_like())
        })
        .collect()
}
