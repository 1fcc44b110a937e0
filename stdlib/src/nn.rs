//! Parameters and layers, written on burn tensors directly.
//!
//! Every trainable parameter is one flat `Tensor<1>` leaf with a stable path
//! name (`lstm.2.fwd.weight_ih`) and its logical shape; layers reshape on
//! use. Owning the parameters this way (rather than through burn's `Module`
//! derive) is what IMP needs: masks, rewinding, re-initialisation and
//! optimizer resets are plain operations on a named list, initialisation is
//! our own seeded RNG (bit-identical across thread counts), and checkpoints
//! are exact.

use crate::cpu::conv::ConvGeom;
use crate::cpu::lstm::{LstmDims, LstmRun, LstmWeights, Order};
use crate::rng::Rng;
use crate::tensor_io::{HostTensor, TensorMap};
use burn::tensor::activation::sigmoid;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Gradients, Int, Tensor, TensorData};
use rayon::prelude::*;

/// What a parameter is, which decides if it is prunable by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Conv,
    LstmIh,
    LstmHh,
    Linear,
    Bias,
    Norm,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Conv => "conv",
            Kind::LstmIh => "lstm_ih",
            Kind::LstmHh => "lstm_hh",
            Kind::Linear => "linear",
            Kind::Bias => "bias",
            Kind::Norm => "norm",
        }
    }
    /// The paper's prunable set: conv, LSTM and linear weights; never biases
    /// or normalisation.
    pub fn prunable(self) -> bool {
        matches!(
            self,
            Kind::Conv | Kind::LstmIh | Kind::LstmHh | Kind::Linear
        )
    }
}

#[derive(Clone, Debug)]
pub struct ParamInfo {
    pub name: String,
    /// Logical shape, PyTorch layout (`[out, in, ...]`).
    pub shape: Vec<usize>,
    pub kind: Kind,
    pub fan_in: usize,
}

impl ParamInfo {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A model's trainable parameters plus its normalisation running stats.
#[derive(Clone)]
pub struct Params {
    pub info: Vec<ParamInfo>,
    pub values: Vec<Tensor<1>>,
    /// Running mean/var of batch norms (not trained; rewound with weights).
    pub buffers: TensorMap,
    pub device: Device,
}

fn host_to_tensor(data: &[f32], device: &Device) -> Tensor<1> {
    Tensor::from_data(TensorData::new(data.to_vec(), [data.len()]), device)
}

/// A trainable leaf on autodiff devices, a plain tensor elsewhere.
fn leaf(data: &[f32], device: &Device) -> Tensor<1> {
    let t = host_to_tensor(data, device);
    if device.is_autodiff() {
        t.require_grad()
    } else {
        t
    }
}

/// The values of an f32 tensor of any rank, row-major, on the host.
pub fn to_host<const D: usize>(t: &Tensor<D>) -> Vec<f32> {
    t.clone()
        .inner()
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32 tensor")
}

impl Params {
    /// Initialises every parameter from `seed` (uniform ±1/sqrt(fan_in) for
    /// weights and biases, as PyTorch's LSTM/Linear defaults; norms 1/0).
    pub fn init(info: Vec<ParamInfo>, buffers: TensorMap, seed: u64, device: &Device) -> Params {
        let mut rng = Rng::new(seed);
        let values = info
            .iter()
            .map(|p| {
                let n = p.numel();
                let data: Vec<f32> = match p.kind {
                    Kind::Norm if p.name.ends_with(".weight") => vec![1.0; n],
                    Kind::Norm => vec![0.0; n],
                    _ => {
                        let b = 1.0 / (p.fan_in.max(1) as f32).sqrt();
                        (0..n).map(|_| rng.uniform(-b, b)).collect()
                    }
                };
                leaf(&data, device)
            })
            .collect();
        Params {
            info,
            values,
            buffers,
            device: device.clone(),
        }
    }

    pub fn index(&self, name: &str) -> usize {
        self.info
            .iter()
            .position(|p| p.name == name)
            .unwrap_or_else(|| panic!("no parameter {name}"))
    }
    /// A parameter reshaped to its logical rank.
    pub fn get2(&self, name: &str) -> Tensor<2> {
        let i = self.index(name);
        let s = &self.info[i].shape;
        self.values[i].clone().reshape([s[0], s[1]])
    }
    pub fn get1(&self, name: &str) -> Tensor<1> {
        self.values[self.index(name)].clone()
    }
    pub fn get4(&self, name: &str) -> Tensor<4> {
        let i = self.index(name);
        let s = &self.info[i].shape;
        self.values[i].clone().reshape([s[0], s[1], s[2], s[3]])
    }
    pub fn total(&self) -> usize {
        self.info.iter().map(|p| p.numel()).sum()
    }

    /// Host copy of every parameter (logical shapes) and buffer.
    pub fn to_map(&self) -> TensorMap {
        let mut m = self.buffers.clone();
        for (p, v) in self.info.iter().zip(&self.values) {
            m.insert(
                p.name.clone(),
                HostTensor {
                    shape: p.shape.clone(),
                    data: to_host(v),
                },
            );
        }
        m
    }
    /// Replaces values and buffers from a host map (rewinding, loading).
    pub fn load_map(&mut self, m: &TensorMap) -> Result<(), String> {
        for (i, p) in self.info.iter().enumerate() {
            let t = m
                .get(&p.name)
                .ok_or_else(|| format!("weights have no tensor `{}`", p.name))?;
            if t.shape != p.shape {
                return Err(format!(
                    "tensor `{}` has shape {:?}, the model expects {:?}",
                    p.name, t.shape, p.shape
                ));
            }
            self.values[i] = leaf(&t.data, &self.device);
        }
        for (k, v) in self.buffers.iter_mut() {
            if let Some(t) = m.get(k) {
                *v = t.clone();
            }
        }
        Ok(())
    }
}

/// One layer of forward context: training mode updates running stats.
pub struct Ctx<'a> {
    pub p: &'a Params,
    pub train: bool,
    /// Running-stat updates produced by this forward (applied by the caller).
    pub stat_updates: Vec<(String, Vec<f32>)>,
    /// Where the training forward pass left burn's graph, in order:
    /// `gradients` runs their backward passes.
    pub tape: Vec<Stage>,
    /// Whether convolutions and LSTM layers take the CPU paths (`conv2d`,
    /// `lstm`); set for the flex device.
    pub host: bool,
}

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
    geom: ConvGeom,
    /// Index of the weight parameter.
    weight: usize,
    x: Vec<f32>,
    w: Vec<f32>,
    /// The input as a node of the autodiff graph, when it is one (not when
    /// it is the features).
    input: Option<Tensor<4>>,
    /// The output: a fresh leaf that the rest of the forward pass uses.
    output: Tensor<4>,
}

/// The directions of an LSTM layer computed on the host during a training
/// forward pass, with what their backward passes need.
pub struct HostLstm {
    dirs: Vec<HostDir>,
    /// The input as a node of the autodiff graph, when it is one.
    input: Option<Tensor<3>>,
}

/// One direction of a `HostLstm`.
struct HostDir {
    run: LstmRun,
    weights: LstmWeights,
    /// Indices of weight_ih, weight_hh, bias_ih and bias_hh.
    params: [usize; 4],
    /// The output: a fresh leaf that the rest of the forward pass uses.
    output: Tensor<3>,
}

/// One direction of an LSTM layer for `Ctx::lstm`: the prefix of its four
/// parameters and the order in which it reads each sequence.
pub struct Direction {
    pub prefix: String,
    pub order: Order,
}

const BN_EPS: f64 = 1e-5;
const BN_MOMENTUM: f32 = 0.1;

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

impl<'a> Ctx<'a> {
    pub fn new(p: &'a Params, train: bool) -> Ctx<'a> {
        Ctx {
            p,
            train,
            stat_updates: vec![],
            tape: vec![],
            host: crate::device::is_host(&p.device),
        }
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
        let found: Vec<([usize; 4], LstmWeights)> = dirs
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
            .collect();
        let runs: Vec<LstmRun> = dirs
            .par_iter()
            .zip(&found)
            .map(|(dir, (_, w))| LstmRun::forward(dims, dir.order.clone(), &xv, w))
            .collect();
        let outs: Vec<Tensor<3>> = runs
            .iter()
            .map(|r| Tensor::from_data(TensorData::new(r.output(), [b, t, h]), &dev))
            .collect();
        if !(self.train && dev.is_autodiff()) {
            return outs;
        }
        let outs: Vec<Tensor<3>> = outs.into_iter().map(|o| o.require_grad()).collect();
        let dirs = runs
            .into_iter()
            .zip(found)
            .zip(&outs)
            .map(|((run, (params, weights)), output)| HostDir {
                run,
                weights,
                params,
                output: output.clone(),
            })
            .collect();
        self.tape.push(Stage::Lstm(Box::new(HostLstm {
            dirs,
            input: x.is_tracked().then_some(x),
        })));
        outs
    }

    /// `x` [B, Ci, H, W] convolved by the weight `name` [Co, Ci, KH, KW]
    /// with zero padding, no bias. On the CPU it runs on the host
    /// (`cpu::conv`, much faster than flex's backward there); elsewhere it
    /// is burn's conv2d.
    pub fn conv2d(
        &mut self,
        name: &str,
        x: Tensor<4>,
        stride: [usize; 2],
        pad: [usize; 2],
    ) -> Tensor<4> {
        let dev = x.device();
        if !self.host {
            let options = ConvOptions::new(stride, pad, [1, 1], 1);
            return conv2d(x, self.p.get4(name), None, options);
        }
        let i = self.p.index(name);
        let [b, ci, h, w] = x.dims();
        let s = &self.p.info[i].shape;
        let geom = ConvGeom {
            b,
            ci,
            h,
            w,
            co: s[0],
            kh: s[2],
            kw: s[3],
            sh: stride[0],
            sw: stride[1],
            ph: pad[0],
            pw: pad[1],
        };
        let xv = to_host(&x);
        let wv = to_host(&self.p.values[i]);
        let y = geom.forward(&xv, &wv);
        let y: Tensor<4> =
            Tensor::from_data(TensorData::new(y, [b, geom.co, geom.oh(), geom.ow()]), &dev);
        if !(self.train && dev.is_autodiff()) {
            return y;
        }
        let y = y.require_grad();
        self.tape.push(Stage::Conv(Box::new(HostConv {
            geom,
            weight: i,
            x: xv,
            w: wv,
            input: x.is_tracked().then_some(x),
            output: y.clone(),
        })));
        y
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
            let rm = &self.p.buffers[&format!("{prefix}.running_mean")].data;
            let rv = &self.p.buffers[&format!("{prefix}.running_var")].data;
            let nm = rm
                .iter()
                .zip(&m_host)
                .map(|(r, m)| (1.0 - BN_MOMENTUM) * r + BN_MOMENTUM * m)
                .collect();
            let nv = rv
                .iter()
                .zip(&v_host)
                .map(|(r, v)| (1.0 - BN_MOMENTUM) * r + BN_MOMENTUM * v)
                .collect();
            self.stat_updates
                .push((format!("{prefix}.running_mean"), nm));
            self.stat_updates
                .push((format!("{prefix}.running_var"), nv));
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
        (x - mean) / (var + BN_EPS).sqrt() * w + b
    }
}

/// Norm parameters and running buffers for a batch norm of `c` channels.
pub fn bn_params(prefix: &str, c: usize, info: &mut Vec<ParamInfo>, buffers: &mut TensorMap) {
    info.push(ParamInfo {
        name: format!("{prefix}.weight"),
        shape: vec![c],
        kind: Kind::Norm,
        fan_in: 1,
    });
    info.push(ParamInfo {
        name: format!("{prefix}.bias"),
        shape: vec![c],
        kind: Kind::Norm,
        fan_in: 1,
    });
    buffers.insert(
        format!("{prefix}.running_mean"),
        HostTensor {
            shape: vec![c],
            data: vec![0.0; c],
        },
    );
    buffers.insert(
        format!("{prefix}.running_var"),
        HostTensor {
            shape: vec![c],
            data: vec![1.0; c],
        },
    );
}

/// Registers a parameter (`fan_in` sets its initialisation range).
pub fn param(
    info: &mut Vec<ParamInfo>,
    name: String,
    shape: Vec<usize>,
    kind: Kind,
    fan_in: usize,
) {
    info.push(ParamInfo {
        name,
        shape,
        kind,
        fan_in,
    });
}

/// A linear layer `{prefix}.weight` [out, inp] (of `kind`), with an
/// optional `{prefix}.bias`.
pub fn linear_params(
    info: &mut Vec<ParamInfo>,
    prefix: &str,
    out: usize,
    inp: usize,
    kind: Kind,
    bias: bool,
) {
    param(info, format!("{prefix}.weight"), vec![out, inp], kind, inp);
    if bias {
        param(info, format!("{prefix}.bias"), vec![out], Kind::Bias, inp);
    }
}

/// Layer-norm scale and shift (`{prefix}.weight`, `{prefix}.bias`).
pub fn ln_params(info: &mut Vec<ParamInfo>, prefix: &str, d: usize) {
    param(info, format!("{prefix}.weight"), vec![d], Kind::Norm, 1);
    param(info, format!("{prefix}.bias"), vec![d], Kind::Norm, 1);
}

/// The four tensors of one LSTM direction, PyTorch's names and layout.
pub fn lstm_params(info: &mut Vec<ParamInfo>, prefix: &str, d_in: usize, h: usize) {
    param(
        info,
        format!("{prefix}.weight_ih"),
        vec![4 * h, d_in],
        Kind::LstmIh,
        h,
    );
    param(
        info,
        format!("{prefix}.weight_hh"),
        vec![4 * h, h],
        Kind::LstmHh,
        h,
    );
    param(
        info,
        format!("{prefix}.bias_ih"),
        vec![4 * h],
        Kind::Bias,
        h,
    );
    param(
        info,
        format!("{prefix}.bias_hh"),
        vec![4 * h],
        Kind::Bias,
        h,
    );
}

impl Params {
    /// `x` [N, in] through the linear layer `prefix` → [N, out].
    pub fn linear(&self, prefix: &str, x: Tensor<2>) -> Tensor<2> {
        let y = x.matmul(self.get2(&format!("{prefix}.weight")).transpose());
        let bias = format!("{prefix}.bias");
        match self.info.iter().position(|p| p.name == bias) {
            Some(i) => {
                let n = self.info[i].shape[0];
                y + self.values[i].clone().reshape([1, n])
            }
            None => y,
        }
    }

    /// Layer norm of `x` [N, D] over D.
    pub fn layer_norm(&self, prefix: &str, x: Tensor<2>) -> Tensor<2> {
        let [_, d] = x.dims();
        let mean = x.clone().mean_dim(1);
        let centred = x - mean;
        let var = centred.clone().powi_scalar(2).mean_dim(1);
        let w = self.get1(&format!("{prefix}.weight")).reshape([1, d]);
        let b = self.get1(&format!("{prefix}.bias")).reshape([1, d]);
        centred / (var + BN_EPS).sqrt() * w + b
    }

    /// One step of the LSTM direction `prefix`: input [B, D] and state
    /// (h, c) [B, H] → new (h, c). Used where inputs arrive one at a time
    /// (RNN-T decoding).
    pub fn lstm_cell(
        &self,
        prefix: &str,
        x: Tensor<2>,
        hc: (Tensor<2>, Tensor<2>),
    ) -> (Tensor<2>, Tensor<2>) {
        let (hs, cs) = hc;
        let [b, h] = hs.dims();
        let bias = (self.get1(&format!("{prefix}.bias_ih"))
            + self.get1(&format!("{prefix}.bias_hh")))
        .reshape([1, 4 * h]);
        let g = x.matmul(self.get2(&format!("{prefix}.weight_ih")).transpose())
            + hs.matmul(self.get2(&format!("{prefix}.weight_hh")).transpose())
            + bias;
        let i = sigmoid(g.clone().slice([0..b, 0..h]));
        let f = sigmoid(g.clone().slice([0..b, h..2 * h]));
        let gg = g.clone().slice([0..b, 2 * h..3 * h]).tanh();
        let o = sigmoid(g.slice([0..b, 3 * h..4 * h]));
        let c = f * cs + i * gg;
        (o * c.clone().tanh(), c)
    }

    /// These parameters without autodiff tracking, for decoding.
    pub fn for_inference(&self) -> Params {
        let mut p = self.clone();
        p.values = p.values.into_iter().map(|v| v.inner()).collect();
        p.device = self.device.clone().inner();
        p
    }
}

/// One LSTM direction over [B, T, D] → [B, T, H]: the input projection of
/// all time steps is one matmul; each step adds the recurrent projection.
pub fn lstm_dir(p: &Params, prefix: &str, x: Tensor<3>, h: usize) -> Tensor<3> {
    let [b, t, d] = x.dims();
    let w_ih = p.get2(&format!("{prefix}.weight_ih"));
    let w_hh_t = p.get2(&format!("{prefix}.weight_hh")).transpose();
    let bias = (p.get1(&format!("{prefix}.bias_ih")) + p.get1(&format!("{prefix}.bias_hh")))
        .reshape([1, 4 * h]);
    let xp = (x.reshape([b * t, d]).matmul(w_ih.transpose()) + bias).reshape([b, t, 4 * h]);
    let dev = xp.device();
    let mut hs: Tensor<2> = Tensor::zeros([b, h], &dev);
    let mut cs: Tensor<2> = Tensor::zeros([b, h], &dev);
    let mut outs = Vec::with_capacity(t);
    // Two-level slicing: the backward of a slice allocates a zero tensor of
    // the sliced tensor's full shape, so slicing each step straight out of
    // [B, T, 4H] costs O(T²) memory traffic. Blocks of ~√T steps first,
    // then steps within a block, cost O(T·√T).
    let block = ((t as f64).sqrt().ceil() as usize).max(1);
    for b0 in (0..t).step_by(block) {
        let b1 = (b0 + block).min(t);
        let xb = xp.clone().slice([0..b, b0..b1, 0..4 * h]);
        for step in 0..(b1 - b0) {
            let g = xb
                .clone()
                .slice([0..b, step..step + 1, 0..4 * h])
                .reshape([b, 4 * h])
                + hs.matmul(w_hh_t.clone());
            let i = sigmoid(g.clone().slice([0..b, 0..h]));
            let f = sigmoid(g.clone().slice([0..b, h..2 * h]));
            let gg = g.clone().slice([0..b, 2 * h..3 * h]).tanh();
            let o = sigmoid(g.slice([0..b, 3 * h..4 * h]));
            cs = f * cs + i * gg;
            hs = o * cs.clone().tanh();
            outs.push(hs.clone());
        }
    }
    Tensor::stack(outs, 1)
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

/// Reverses each sequence of [B, T, D] within its own length (padding
/// stays at the end), so a backward LSTM never reads padding first.
pub fn reverse_padded(x: Tensor<3>, lens: &[usize]) -> Tensor<3> {
    let [b, t, d] = x.dims();
    let mut idx = Vec::with_capacity(b * t * d);
    for &l in lens.iter().take(b) {
        let l = l.min(t);
        for s in 0..t {
            let src = if s < l { l - 1 - s } else { s };
            idx.extend(std::iter::repeat_n(src as i64, d));
        }
    }
    let dev = x.device();
    let idx: Tensor<3, Int> = Tensor::from_data(TensorData::new(idx, [b, t, d]), &dev.inner());
    x.gather(1, idx)
}
