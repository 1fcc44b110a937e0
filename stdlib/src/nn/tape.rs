//! The tape of a training forward pass: where it left burn's autodiff
//! graph to compute a layer on the host (convolutions and LSTM layers on
//! the CPU), and the backward pass that joins the graphs again.

use super::params::{host_to_tensor, to_host, Params};
use crate::cpu::conv::ConvGeom;
use crate::cpu::lstm::{LstmRun, LstmWeights};
use burn::tensor::{Gradients, Tensor, TensorData};
use rayon::prelude::*;

/// A place where a training forward pass leaves burn's autodiff graph to
/// compute a part of the model on the host. The part's output is a fresh
/// leaf of a new graph; `gradients` joins the graphs again with one
/// backward pass per graph.
pub enum Stage {
    /// A convolution computed on the host (`Ctx::conv2d`).
    Conv(Box<HostConv>),
    /// The directions of an LSTM layer computed on the host (`Ctx::lstm`).
    Lstm(Box<HostLstm>),
}

/// A convolution computed on the host during a training forward pass, with
/// what its backward pass needs.
pub struct HostConv {
    pub(crate) geom: ConvGeom,
    /// Index of the weight parameter.
    pub(crate) weight: usize,
    pub(crate) x: Vec<f32>,
    pub(crate) w: Vec<f32>,
    /// The input as a node of the autodiff graph, when it is one (not when
    /// it is the features).
    pub(crate) input: Option<Tensor<4>>,
    /// The output: a fresh leaf that the rest of the forward pass uses.
    pub(crate) output: Tensor<4>,
}

/// The directions of an LSTM layer computed on the host during a training
/// forward pass, with what their backward passes need.
pub struct HostLstm {
    pub(crate) dirs: Vec<HostDir>,
    /// The input as a node of the autodiff graph, when it is one.
    pub(crate) input: Option<Tensor<3>>,
}

/// One direction of a `HostLstm`.
pub(crate) struct HostDir {
    pub(crate) run: LstmRun,
    pub(crate) weights: LstmWeights,
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
            Stage::Conv(op) => {
                // No gradient reached the output: the loss does not depend on it.
                let Some(gy) = grad_in(&passes, &op.output) else {
                    continue;
                };
                let gy = to_host(&gy);
                let (dw, dx) = op.geom.backward(&op.x, &op.w, &gy, op.input.is_some());
                sum_into(&mut host[op.weight], dw);
                if let (Some(input), Some(dx)) = (op.input, dx) {
                    let dx = host_grad(dx, &input);
                    passes.push(backward_from(input, dx));
                }
            }
            Stage::Lstm(op) => {
                let HostLstm { dirs, input } = *op;
                let work: Vec<(&HostDir, Vec<f32>)> = dirs
                    .iter()
                    .filter_map(|d| Some((d, to_host(&grad_in(&passes, &d.output)?))))
                    .collect();
                let need_dx = input.is_some();
                let grads: Vec<_> = work
                    .par_iter()
                    .map(|(d, dy)| d.run.backward(&d.weights, dy, need_dx))
                    .collect();
                let mut dx: Option<Vec<f32>> = None;
                for ((d, _), g) in work.iter().zip(grads) {
                    let [ih, hh, b_ih, b_hh] = d.params;
                    sum_into(&mut host[ih], g.w_ih);
                    sum_into(&mut host[hh], g.w_hh);
                    sum_into(&mut host[b_ih], g.bias.clone());
                    sum_into(&mut host[b_hh], g.bias);
                    if let Some(gx) = g.x {
                        sum_into(&mut dx, gx);
                    }
                }
                if let (Some(input), Some(dx)) = (input, dx) {
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
