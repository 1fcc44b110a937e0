//! Parameters and layers, written on burn tensors directly.
//!
//! Every trainable parameter is one flat `Tensor<1>` leaf with a stable path
//! name (`lstm.2.fwd.weight_ih`) and its logical shape; layers reshape on
//! use. Owning the parameters this way (rather than through burn's `Module`
//! derive) is what IMP needs: masks, rewinding, re-initialisation and
//! optimizer resets are plain operations on a named list, initialisation is
//! our own seeded RNG (bit-identical across thread counts), and checkpoints
//! are exact.

use crate::rng::Rng;
use crate::tensor_io::{HostTensor, TensorMap};
use burn::tensor::activation::{log_softmax, sigmoid};
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Int, Tensor, TensorData};

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

pub fn to_host(t: &Tensor<1>) -> Vec<f32> {
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
}

const BN_EPS: f64 = 1e-5;
const BN_MOMENTUM: f32 = 0.1;

impl Ctx<'_> {
    fn running(&self, name: &str) -> Tensor<1> {
        let b = &self.p.buffers[name];
        host_to_tensor(&b.data, &self.p.device.clone().inner())
    }

    /// Batch norm over all but the channel axis of `x` [N, C] (2-D form;
    /// callers flatten).
    pub fn batch_norm(&mut self, prefix: &str, x: Tensor<2>) -> Tensor<2> {
        let [_, c] = x.dims();
        let (mean, var) = if self.train {
            let mean = x.clone().mean_dim(0); // [1, C]
            let var = (x.clone() - mean.clone()).powi_scalar(2).mean_dim(0);
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
                .reshape([1, c]);
            let v = Tensor::from_inner(self.running(&format!("{prefix}.running_var")))
                .to_device(&dev)
                .reshape([1, c]);
            (m, v)
        };
        let w = self.p.get1(&format!("{prefix}.weight")).reshape([1, c]);
        let b = self.p.get1(&format!("{prefix}.bias")).reshape([1, c]);
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

/// The DeepSpeech2-style CNN-LSTM of the paper, sizes from the recipe.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct CnnLstmConfig {
    pub input_bins: usize,
    pub channels: usize,
    /// (freq, time) kernel and stride per conv layer.
    pub kernels: Vec<(usize, usize)>,
    pub strides: Vec<(usize, usize)>,
    pub lstm_layers: usize,
    pub hidden: usize,
    pub bidirectional: bool,
    pub vocab: usize,
}

impl CnnLstmConfig {
    /// The paper's DeepSpeech2 front end (161 spectrogram bins; 2 conv
    /// layers 41x11/2x2 and 21x11/2x1 with 32 channels; 29 characters) with
    /// `lstm` bidirectional layers of `hidden` units.
    pub fn ds2(lstm: usize, hidden: usize) -> CnnLstmConfig {
        CnnLstmConfig {
            input_bins: 161,
            channels: 32,
            kernels: vec![(41, 11), (21, 11)],
            strides: vec![(2, 2), (2, 1)],
            lstm_layers: lstm,
            hidden,
            bidirectional: true,
            vocab: crate::text::VOCAB,
        }
    }

    fn conv_out(&self) -> (usize, Vec<(usize, usize)>) {
        let mut f = self.input_bins;
        let mut pads = vec![];
        for (k, s) in self.kernels.iter().zip(&self.strides) {
            let pad = (k.0 / 2, k.1 / 2);
            f = (f + 2 * pad.0 - k.0) / s.0 + 1;
            pads.push(pad);
        }
        (f, pads)
    }
    /// Output frames for `t` input frames.
    pub fn out_len(&self, t: usize) -> usize {
        let mut t = t;
        for (k, s) in self.kernels.iter().zip(&self.strides) {
            let pad = k.1 / 2;
            t = (t + 2 * pad).saturating_sub(k.1) / s.1 + 1;
        }
        t
    }

    /// Parameter list (names, shapes, kinds) and buffers.
    pub fn layout(&self) -> (Vec<ParamInfo>, TensorMap) {
        let mut info = vec![];
        let mut buf = TensorMap::new();
        let mut cin = 1;
        for (i, k) in self.kernels.iter().enumerate() {
            info.push(ParamInfo {
                name: format!("conv.{i}.weight"),
                shape: vec![self.channels, cin, k.0, k.1],
                kind: Kind::Conv,
                fan_in: cin * k.0 * k.1,
            });
            bn_params(&format!("conv.{i}.bn"), self.channels, &mut info, &mut buf);
            cin = self.channels;
        }
        let (f, _) = self.conv_out();
        let mut d_in = if self.kernels.is_empty() {
            self.input_bins
        } else {
            self.channels * f
        };
        let h = self.hidden;
        for l in 0..self.lstm_layers {
            if l > 0 {
                bn_params(&format!("lstm.{l}.bn"), d_in, &mut info, &mut buf);
            }
            let dirs: &[&str] = if self.bidirectional {
                &["fwd", "bwd"]
            } else {
                &["fwd"]
            };
            for d in dirs {
                let p = format!("lstm.{l}.{d}");
                info.push(ParamInfo {
                    name: format!("{p}.weight_ih"),
                    shape: vec![4 * h, d_in],
                    kind: Kind::LstmIh,
                    fan_in: h,
                });
                info.push(ParamInfo {
                    name: format!("{p}.weight_hh"),
                    shape: vec![4 * h, h],
                    kind: Kind::LstmHh,
                    fan_in: h,
                });
                info.push(ParamInfo {
                    name: format!("{p}.bias_ih"),
                    shape: vec![4 * h],
                    kind: Kind::Bias,
                    fan_in: h,
                });
                info.push(ParamInfo {
                    name: format!("{p}.bias_hh"),
                    shape: vec![4 * h],
                    kind: Kind::Bias,
                    fan_in: h,
                });
            }
            d_in = h; // directions are summed
        }
        bn_params("head.bn", d_in, &mut info, &mut buf);
        info.push(ParamInfo {
            name: "head.weight".into(),
            shape: vec![self.vocab, d_in],
            kind: Kind::Linear,
            fan_in: d_in,
        });
        (info, buf)
    }

    pub fn num_params(&self) -> usize {
        self.layout().0.iter().map(|p| p.numel()).sum()
    }

    /// Log-probabilities [T', B, vocab] for features [B, T, F].
    pub fn forward(&self, cx: &mut Ctx, x: Tensor<3>, lens: &[usize]) -> Tensor<3> {
        let [b, t, f] = x.dims();
        let mut h: Tensor<3>;
        let (_, pads) = self.conv_out();
        if self.kernels.is_empty() {
            h = x;
        } else {
            let mut y: Tensor<4> = x.swap_dims(1, 2).reshape([b, 1, f, t]);
            for (i, ((_k, s), pad)) in self
                .kernels
                .iter()
                .zip(&self.strides)
                .zip(&pads)
                .enumerate()
            {
                let w = cx.p.get4(&format!("conv.{i}.weight"));
                y = conv2d(
                    y,
                    w,
                    None,
                    ConvOptions::new([s.0, s.1], [pad.0, pad.1], [1, 1], 1),
                );
                let [bb, c, ff, tt] = y.dims();
                // Batch norm per channel over (batch, freq, time).
                let flat = y.swap_dims(1, 3).reshape([bb * tt * ff, c]);
                let flat = cx.batch_norm(&format!("conv.{i}.bn"), flat);
                y = flat
                    .reshape([bb, tt, ff, c])
                    .swap_dims(1, 3)
                    .clamp(0.0, 20.0);
            }
            let [bb, c, ff, tt] = y.dims();
            h = y.reshape([bb, c * ff, tt]).swap_dims(1, 2);
        }
        let out_lens: Vec<usize> = lens
            .iter()
            .map(|l| self.out_len(*l).min(h.dims()[1]))
            .collect();
        for l in 0..self.lstm_layers {
            if l > 0 {
                let [bb, tt, d] = h.dims();
                h = cx
                    .batch_norm(&format!("lstm.{l}.bn"), h.reshape([bb * tt, d]))
                    .reshape([bb, tt, d]);
            }
            let fwd = lstm_dir(cx.p, &format!("lstm.{l}.fwd"), h.clone(), self.hidden);
            h = if self.bidirectional {
                let rev = reverse_padded(h, &out_lens);
                let bwd = lstm_dir(cx.p, &format!("lstm.{l}.bwd"), rev, self.hidden);
                fwd + reverse_padded(bwd, &out_lens)
            } else {
                fwd
            };
        }
        let [bb, tt, d] = h.dims();
        let flat = cx.batch_norm("head.bn", h.reshape([bb * tt, d]));
        let logits = flat
            .matmul(cx.p.get2("head.weight").transpose())
            .reshape([bb, tt, self.vocab]);
        log_softmax(logits, 2).swap_dims(0, 1)
    }
}

/// One LSTM direction over [B, T, D] → [B, T, H]: the input projection of
/// all time steps is one matmul; each step adds the recurrent projection.
fn lstm_dir(p: &Params, prefix: &str, x: Tensor<3>, h: usize) -> Tensor<3> {
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

/// Reverses each sequence of [B, T, D] within its own length (padding
/// stays at the end), so a backward LSTM never reads padding first.
fn reverse_padded(x: Tensor<3>, lens: &[usize]) -> Tensor<3> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The paper's DS2 (2 conv, 5 BiLSTM-1024 summed, 161 bins): 86.6M.
    #[test]
    fn paper_cnn_lstm_has_86_6m_parameters() {
        let cfg = CnnLstmConfig::ds2(5, 1024);
        let n = cfg.num_params() as f64 / 1e6;
        assert!((n - 86.6).abs() / 86.6 < 0.01, "{n:.2}M parameters");
        let (info, _) = cfg.layout();
        let prunable: usize = info
            .iter()
            .filter(|p| p.kind.prunable())
            .map(|p| p.numel())
            .sum();
        assert!(
            prunable as f64 / cfg.num_params() as f64 > 0.99,
            "biases and norms are a tiny share"
        );
        assert!(info
            .iter()
            .any(|p| p.name == "lstm.4.bwd.weight_hh" && p.shape == vec![4096, 1024]));
    }
}
