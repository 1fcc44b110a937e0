//! Trainable parameters, written on burn tensors directly.
//!
//! Every trainable parameter is one flat `Tensor<1>` leaf with a stable path
//! name (`lstm.2.fwd.weight_ih`) and its logical shape; layers reshape on
//! use. Owning the parameters this way (rather than through burn's `Module`
//! derive) is what IMP needs: masks, rewinding, re-initialisation and
//! optimizer resets are plain operations on a named list, initialisation is
//! our own seeded RNG (bit-identical across thread counts), and checkpoints
//! are exact.

use crate::rng::Rng;
use crate::tensor_io::{to_host_map, LazyTensor, TensorMap};
use burn::tensor::{Device, Tensor, TensorData};
use std::collections::BTreeMap;

/// Added to variances in batch and layer norms.
pub const NORM_EPS: f64 = 1e-5;

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

pub(crate) fn host_to_tensor(data: &[f32], device: &Device) -> Tensor<1> {
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
        to_host_map(&self.lazy_map())
    }
    /// Every parameter and buffer as tensors copied to the host only when
    /// read (`tensor_io::save_lazy` writes them one at a time).
    pub fn lazy_map(&self) -> BTreeMap<String, LazyTensor<'_>> {
        let mut m: BTreeMap<String, LazyTensor> = self
            .buffers
            .iter()
            .map(|(name, t)| {
                let lazy = LazyTensor {
                    shape: t.shape.clone(),
                    values: Box::new(|| t.data.clone()),
                };
                (name.clone(), lazy)
            })
            .collect();
        for (p, v) in self.info.iter().zip(&self.values) {
            let lazy = LazyTensor {
                shape: p.shape.clone(),
                values: Box::new(|| to_host(v)),
            };
            m.insert(p.name.clone(), lazy);
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
