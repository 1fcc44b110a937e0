//! The DeepSpeech2-style CNN-LSTM of the paper: conv front end with batch
//! norm and Hardtanh(0, 20), bidirectional LSTMs with summed directions and
//! sequence-wise batch norm, a bias-free output layer, CTC.

use crate::cpu::conv::ConvGeom;
use crate::nn::{
    bilstm, bn_params, linear_params, lstm_params, param, unilstm, ConvBlock, Ctx, Kind, ParamInfo,
};
use crate::tensor_io::TensorMap;
use burn::tensor::activation::log_softmax;
use burn::tensor::Tensor;

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

    /// Frequency bins and frames after each conv layer, for `frames`
    /// input frames (zero padding of half the kernel on each side).
    pub(crate) fn conv_sizes(&self, frames: usize) -> Vec<(usize, usize)> {
        let (mut f, mut t) = (self.input_bins, frames);
        self.kernels
            .iter()
            .zip(&self.strides)
            .map(|(k, s)| {
                f = (f + 2 * (k.0 / 2)).saturating_sub(k.0) / s.0 + 1;
                t = (t + 2 * (k.1 / 2)).saturating_sub(k.1) / s.1 + 1;
                (f, t)
            })
            .collect()
    }

    /// The shapes of the convolutions on `batch` utterances of `frames`
    /// frames.
    pub(crate) fn conv_geoms(&self, batch: usize, frames: usize) -> Vec<ConvGeom> {
        let (mut ci, mut h, mut w) = (1, self.input_bins, frames);
        let sizes = self.conv_sizes(frames);
        (self.kernels.iter().zip(&self.strides).zip(sizes))
            .map(|((k, s), (f, t))| {
                let g = ConvGeom {
                    b: batch,
                    ci,
                    h,
                    w,
                    co: self.channels,
                    kh: k.0,
                    kw: k.1,
                    sh: s.0,
                    sw: s.1,
                    ph: k.0 / 2,
                    pw: k.1 / 2,
                };
                (ci, h, w) = (self.channels, f, t);
                g
            })
            .collect()
    }

    /// Width of the first LSTM layer's input: the features, or the
    /// channels times the frequency bins the convolutions leave.
    fn lstm_input(&self) -> usize {
        match self.conv_sizes(0).last() {
            Some(&(f, _)) => self.channels * f,
            None => self.input_bins,
        }
    }

    /// Output frames for `t` input frames.
    pub fn out_len(&self, t: usize) -> usize {
        self.conv_sizes(t).last().map_or(t, |&(_, t)| t)
    }

    /// Floating-point operations of the matrix products of one training
    /// step (forward and backward, two per multiply-add) on `batch`
    /// utterances of `frames` frames: with the CPU's matrix-product rate,
    /// the floor under a step's time (`lotto bench train`). Each product
    /// counts three times (forward, weight gradient, input gradient), but
    /// twice where the input is the features, which need no gradient. A
    /// convolution counts on the path its shapes take (on the spectral
    /// path, its transforms and products of spectra).
    pub fn train_step_flops(&self, batch: usize, frames: usize) -> f64 {
        let mut macs: f64 = (self.conv_geoms(batch, frames).iter().enumerate())
            .map(|(i, g)| g.train_multiply_adds(i > 0))
            .sum();
        let t = self.out_len(frames);
        let mut d = self.lstm_input();
        let (h, dirs) = (self.hidden, if self.bidirectional { 2.0 } else { 1.0 });
        for l in 0..self.lstm_layers {
            let ih = (batch * t * d * 4 * h) as f64;
            let hh = (batch * t * h * 4 * h) as f64;
            let ih_times = if l == 0 && self.kernels.is_empty() {
                2.0
            } else {
                3.0
            };
            macs += dirs * (ih * ih_times + hh * 3.0);
            d = h;
        }
        macs += (batch * t * d * self.vocab) as f64 * 3.0;
        2.0 * macs
    }

    /// Parameter list (names, shapes, kinds) and buffers.
    pub fn layout(&self) -> (Vec<ParamInfo>, TensorMap) {
        let mut info = vec![];
        let mut buf = TensorMap::new();
        let mut cin = 1;
        for (i, k) in self.kernels.iter().enumerate() {
            param(
                &mut info,
                format!("conv.{i}.weight"),
                vec![self.channels, cin, k.0, k.1],
                Kind::Conv,
                cin * k.0 * k.1,
            );
            bn_params(&format!("conv.{i}.bn"), self.channels, &mut info, &mut buf);
            cin = self.channels;
        }
        let mut d_in = self.lstm_input();
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
                lstm_params(&mut info, &format!("lstm.{l}.{d}"), d_in, h);
            }
            d_in = h; // directions are summed
        }
        bn_params("head.bn", d_in, &mut info, &mut buf);
        linear_params(&mut info, "head", self.vocab, d_in, Kind::Linear, false);
        (info, buf)
    }

    pub fn num_params(&self) -> usize {
        self.layout().0.iter().map(|p| p.numel()).sum()
    }

    /// Log-probabilities [T', B, vocab] for features [B, T, F].
    pub fn forward(&self, cx: &mut Ctx, x: Tensor<3>, lens: &[usize]) -> Tensor<3> {
        let [b, t, f] = x.dims();
        let mut h: Tensor<3>;
        if self.kernels.is_empty() {
            h = x;
        } else {
            let mut y: Tensor<4> = x.swap_dims(1, 2).reshape([b, 1, f, t]);
            // Each convolution: batch norm per channel over (batch, freq,
            // time), then Hardtanh(0, 20).
            let blocks: Vec<ConvBlock> = (self.kernels.iter().zip(&self.strides).enumerate())
                .map(|(i, (k, s))| ConvBlock {
                    weight: format!("conv.{i}.weight"),
                    bn: format!("conv.{i}.bn"),
                    stride: [s.0, s.1],
                    pad: [k.0 / 2, k.1 / 2],
                    max: 20.0,
                })
                .collect();
            y = cx.conv_blocks(&blocks, y);
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
            let prefix = format!("lstm.{l}");
            h = if self.bidirectional {
                let (f, b) = bilstm(cx, &prefix, h, self.hidden, &out_lens);
                f + b
            } else {
                unilstm(cx, &format!("{prefix}.fwd"), h, self.hidden)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The matrix-product count by hand: one forward LSTM direction of 1
    /// unit over 2 features, 3 characters, one frame. The input projection
    /// (8 multiply-adds) counts twice, the recurrence (4) and the output
    /// layer (3) three times each; and the DS2-small step of `lotto bench
    /// train` (conv 2.81G + 5.52G, the second on the spectral path where
    /// it would be 34.91G direct; LSTM 11.56G + 2 × 3.78G multiply-adds).
    #[test]
    fn matrix_product_work_of_a_step() {
        let tiny = CnnLstmConfig {
            input_bins: 2,
            channels: 1,
            kernels: vec![],
            strides: vec![],
            lstm_layers: 1,
            hidden: 1,
            bidirectional: false,
            vocab: 3,
        };
        assert_eq!(tiny.train_step_flops(1, 1), 2.0 * (16.0 + 12.0 + 9.0));
        let gflop = CnnLstmConfig::ds2(3, 256).train_step_flops(8, 300) / 1e9;
        assert!((gflop - 54.96).abs() < 0.1, "{gflop:.2} GFLOP");
    }

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
