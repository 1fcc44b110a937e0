//! Layers as burn tensor ops on named parameters: linear, layer norm, an
//! LSTM cell and an LSTM direction over a sequence (what runs where the
//! CPU kernels do not: on GPUs, and for step-by-step decoding).

use super::params::{Params, NORM_EPS};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Int, Tensor, TensorData};

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
        centred / (var + NORM_EPS).sqrt() * w + b
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
