//! The Conformer (Gulati et al. 2020) with a CTC head: a 2-layer conv
//! subsampling (time and frequency ÷4) on log-mel input, then blocks of
//! half-step feed-forward, multi-head self-attention, a convolution module
//! (pointwise conv, GLU, depthwise conv, batch norm, Swish, pointwise
//! conv) and a second half-step feed-forward, each with its own pre-norm
//! and residual, and a final layer norm per block.
//!
//! Departures from the paper's model, kept deliberately small: absolute
//! sinusoidal positions added after subsampling instead of relative
//! positional attention, no dropout, and the 29 characters instead of 256
//! BPE tokens (lotto has no tokenizer step).

use crate::nn::{bn_params, linear_params, ln_params, param, Ctx, Kind, ParamInfo, Params};
use crate::tensor_io::TensorMap;
use burn::tensor::activation::{log_softmax, relu, sigmoid, silu, softmax};
use burn::tensor::module::{conv1d, conv2d};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ConformerConfig {
    pub input_bins: usize,
    /// Channels of the two 3x3 stride-2 subsampling convolutions.
    pub subsample_channels: usize,
    pub d_model: usize,
    pub heads: usize,
    /// Inner size of each feed-forward module.
    pub ff: usize,
    pub blocks: usize,
    /// Depthwise convolution kernel (odd).
    pub kernel: usize,
    pub vocab: usize,
}

/// Frames (and feature bins) the two subsampling convolutions need to
/// produce one output.
pub const MIN_FRAMES: usize = 7;

/// One 3x3 stride-2 valid convolution: n → (n − 3) / 2 + 1.
pub(crate) fn sub(n: usize) -> usize {
    if n < 3 {
        0
    } else {
        (n - 3) / 2 + 1
    }
}

impl ConformerConfig {
    /// Output frames for `t` input frames (subsampled by about 4).
    pub fn out_len(&self, t: usize) -> usize {
        sub(sub(t))
    }

    /// Every parameter of the model, in the order of the forward pass:
    /// one list, so it reads as the architecture (two screens for the
    /// subsampling, the blocks' four modules and the head).
    pub fn layout(&self) -> (Vec<ParamInfo>, TensorMap) {
        let (mut info, mut buf) = (vec![], TensorMap::new());
        let (c, d) = (self.subsample_channels, self.d_model);
        param(
            &mut info,
            "subsample.0.weight".into(),
            vec![c, 1, 3, 3],
            Kind::Conv,
            9,
        );
        param(&mut info, "subsample.0.bias".into(), vec![c], Kind::Bias, 9);
        param(
            &mut info,
            "subsample.1.weight".into(),
            vec![c, c, 3, 3],
            Kind::Conv,
            9 * c,
        );
        param(
            &mut info,
            "subsample.1.bias".into(),
            vec![c],
            Kind::Bias,
            9 * c,
        );
        let f = sub(sub(self.input_bins));
        linear_params(&mut info, "subsample.out", d, c * f, Kind::Linear, true);
        for i in 0..self.blocks {
            let b = format!("blocks.{i}");
            for ff in ["ff1", "ff2"] {
                ln_params(&mut info, &format!("{b}.{ff}.norm"), d);
                linear_params(
                    &mut info,
                    &format!("{b}.{ff}.linear1"),
                    self.ff,
                    d,
                    Kind::Linear,
                    true,
                );
                linear_params(
                    &mut info,
                    &format!("{b}.{ff}.linear2"),
                    d,
                    self.ff,
                    Kind::Linear,
                    true,
                );
            }
            ln_params(&mut info, &format!("{b}.attn.norm"), d);
            for proj in ["q", "k", "v", "out"] {
                linear_params(
                    &mut info,
                    &format!("{b}.attn.{proj}"),
                    d,
                    d,
                    Kind::Linear,
                    true,
                );
            }
            ln_params(&mut info, &format!("{b}.conv.norm"), d);
            // Pointwise convolutions are [out, in, 1] conv weights (the
            // paper's Conformer code prunes linear layers only, not these).
            param(
                &mut info,
                format!("{b}.conv.pointwise1.weight"),
                vec![2 * d, d, 1],
                Kind::Conv,
                d,
            );
            param(
                &mut info,
                format!("{b}.conv.pointwise1.bias"),
                vec![2 * d],
                Kind::Bias,
                d,
            );
            param(
                &mut info,
                format!("{b}.conv.depthwise.weight"),
                vec![d, 1, self.kernel],
                Kind::Conv,
                self.kernel,
            );
            param(
                &mut info,
                format!("{b}.conv.depthwise.bias"),
                vec![d],
                Kind::Bias,
                self.kernel,
            );
            bn_params(&format!("{b}.conv.bn"), d, &mut info, &mut buf);
            param(
                &mut info,
                format!("{b}.conv.pointwise2.weight"),
                vec![d, d, 1],
                Kind::Conv,
                d,
            );
            param(
                &mut info,
                format!("{b}.conv.pointwise2.bias"),
                vec![d],
                Kind::Bias,
                d,
            );
            ln_params(&mut info, &format!("{b}.norm"), d);
        }
        linear_params(&mut info, "head", self.vocab, d, Kind::Linear, true);
        (info, buf)
    }

    /// Log-probabilities [T', B, vocab] for features [B, T, F].
    pub fn forward(&self, cx: &mut Ctx, x: Tensor<3>, lens: &[usize]) -> Tensor<3> {
        let [b, t, f] = x.dims();
        let dev = x.device();
        // A batch of clips shorter than the subsampling's 7-frame receptive
        // field (possible when decoding) is zero-padded to 7 frames: one
        // output frame, as `out_len` says for them (0 → nothing decoded).
        let (x, t) = if t < MIN_FRAMES {
            let pad = Tensor::<3>::zeros([b, MIN_FRAMES - t, f], &dev);
            (Tensor::cat(vec![x, pad], 1), MIN_FRAMES)
        } else {
            (x, t)
        };
        let d = self.d_model;
        let p = cx.p;
        let conv = |y: Tensor<4>, i: usize| {
            let w = p.get4(&format!("subsample.{i}.weight"));
            let bias = p.get1(&format!("subsample.{i}.bias"));
            relu(conv2d(
                y,
                w,
                Some(bias),
                ConvOptions::new([2, 2], [0, 0], [1, 1], 1),
            ))
        };
        let y = conv(conv(x.reshape([b, 1, t, f]), 0), 1);
        let [_, c, tt, ff] = y.dims();
        let y = y.swap_dims(1, 2).reshape([b * tt, c * ff]);
        let pe = Tensor::<2>::from_data(TensorData::new(positions(tt, d), [tt, d]), &dev);
        let mut h = (p.linear("subsample.out", y).reshape([b, tt, d]) + pe.reshape([1, tt, d]))
            .reshape([b * tt, d]);
        let out_lens: Vec<usize> = lens.iter().map(|&l| self.out_len(l).min(tt)).collect();
        // 1 on real frames, 0 on padding; padded keys get -1e9 before the
        // softmax so no frame attends to padding.
        let valid: Vec<f32> = out_lens
            .iter()
            .flat_map(|&l| (0..tt).map(move |s| if s < l { 1.0 } else { 0.0 }))
            .collect();
        let key_bias = Tensor::<4>::from_data(
            TensorData::new(
                valid.iter().map(|v| (v - 1.0) * 1e9).collect::<Vec<f32>>(),
                [b, 1, 1, tt],
            ),
            &dev,
        );
        let frame_mask = Tensor::<2>::from_data(TensorData::new(valid, [b * tt, 1]), &dev);
        for i in 0..self.blocks {
            let pre = format!("blocks.{i}");
            h = h.clone() + self.feed_forward(p, &format!("{pre}.ff1"), h) * 0.5;
            h = h.clone() + self.attention(p, &pre, h, b, tt, key_bias.clone());
            h = h.clone() + self.conv_module(cx, &pre, h, b, tt, frame_mask.clone());
            h = h.clone() + self.feed_forward(p, &format!("{pre}.ff2"), h) * 0.5;
            h = p.layer_norm(&format!("{pre}.norm"), h);
        }
        let logits = p.linear("head", h).reshape([b, tt, self.vocab]);
        log_softmax(logits, 2).swap_dims(0, 1)
    }

    fn feed_forward(&self, p: &Params, pre: &str, h: Tensor<2>) -> Tensor<2> {
        let y = p.layer_norm(&format!("{pre}.norm"), h);
        let y = silu(p.linear(&format!("{pre}.linear1"), y));
        p.linear(&format!("{pre}.linear2"), y)
    }

    fn attention(
        &self,
        p: &Params,
        pre: &str,
        h: Tensor<2>,
        b: usize,
        t: usize,
        key_bias: Tensor<4>,
    ) -> Tensor<2> {
        let (d, nh) = (self.d_model, self.heads);
        let dk = d / nh;
        let y = p.layer_norm(&format!("{pre}.attn.norm"), h);
        let split = |name: &str| {
            p.linear(&format!("{pre}.attn.{name}"), y.clone())
                .reshape([b, t, nh, dk])
                .swap_dims(1, 2)
        };
        let (q, k, v) = (split("q"), split("k"), split("v"));
        let scores = q.matmul(k.swap_dims(2, 3)) / (dk as f64).sqrt() + key_bias;
        let ctx = softmax(scores, 3)
            .matmul(v)
            .swap_dims(1, 2)
            .reshape([b * t, d]);
        p.linear(&format!("{pre}.attn.out"), ctx)
    }

    fn conv_module(
        &self,
        cx: &mut Ctx,
        pre: &str,
        h: Tensor<2>,
        b: usize,
        t: usize,
        frame_mask: Tensor<2>,
    ) -> Tensor<2> {
        let d = self.d_model;
        let p = cx.p;
        let pw = |name: &str, x: Tensor<2>, out: usize| {
            let w = p
                .get1(&format!("{pre}.conv.{name}.weight"))
                .reshape([out, d]);
            let bias = p.get1(&format!("{pre}.conv.{name}.bias")).reshape([1, out]);
            x.matmul(w.transpose()) + bias
        };
        let y = pw(
            "pointwise1",
            p.layer_norm(&format!("{pre}.conv.norm"), h),
            2 * d,
        );
        let y = glu_depthwise(p, pre, y, frame_mask, (b, t), (self.kernel, 1));
        let y = silu(cx.batch_norm(&format!("{pre}.conv.bn"), y));
        pw("pointwise2", y, d)
    }
}

/// The middle of a Conformer convolution module: GLU over the channels of
/// `y` [B·T, 2d], padding frames zeroed by `mask` [B·T, 1] so the
/// depthwise convolution `{pre}.conv.depthwise` (kernel, stride) never
/// reads them into real frames → [B·⌈T / stride⌉, d].
pub(crate) fn glu_depthwise(
    p: &Params,
    pre: &str,
    y: Tensor<2>,
    mask: Tensor<2>,
    (b, t): (usize, usize),
    (k, stride): (usize, usize),
) -> Tensor<2> {
    let [n, two_d] = y.dims();
    let d = two_d / 2;
    let y = y.clone().slice([0..n, 0..d]) * sigmoid(y.slice([0..n, d..2 * d])) * mask;
    let w = p
        .get1(&format!("{pre}.conv.depthwise.weight"))
        .reshape([d, 1, k]);
    let bias = p.get1(&format!("{pre}.conv.depthwise.bias"));
    let y = conv1d(
        y.reshape([b, t, d]).swap_dims(1, 2),
        w,
        Some(bias),
        ConvOptions::new([stride], [k / 2], [1], d),
    );
    let t2 = t.div_ceil(stride);
    y.swap_dims(1, 2).reshape([b * t2, d])
}

/// Sinusoidal positions [t, d], row-major (Vaswani et al. 2017).
fn positions(t: usize, d: usize) -> Vec<f32> {
    crate::nn::positions::sinusoids((0..t).map(|p| p as f64), d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default size (17 blocks of d 512, 8 heads, feed-forward 1024,
    /// kernel 31, 64 subsampling channels, 80 mel bins): 68.0M, 3.4% above
    /// the paper's 65.8M (whose exact sizes it does not give).
    #[test]
    fn default_conformer_is_close_to_the_papers_65_8m() {
        let cfg = ConformerConfig {
            input_bins: 80,
            subsample_channels: 64,
            d_model: 512,
            heads: 8,
            ff: 1024,
            blocks: 17,
            kernel: 31,
            vocab: crate::text::VOCAB,
        };
        let (info, _) = cfg.layout();
        let n: usize = info.iter().map(|p| p.numel()).sum();
        let m = n as f64 / 1e6;
        assert!((m - 65.8).abs() / 65.8 < 0.05, "{m:.2}M");
        assert!(info
            .iter()
            .any(|p| p.name == "blocks.16.attn.q.weight" && p.shape == vec![512, 512]));
        assert_eq!(cfg.out_len(100), 24);
        assert_eq!(cfg.out_len(6), 0);
    }

    /// Clips shorter than the subsampling needs decode to nothing instead
    /// of failing inside the convolution.
    #[test]
    fn a_batch_of_very_short_clips_decodes_to_nothing() {
        let arch = crate::arch::Arch::Conformer(ConformerConfig {
            input_bins: 8,
            subsample_channels: 2,
            d_model: 8,
            heads: 2,
            ff: 8,
            blocks: 1,
            kernel: 3,
            vocab: crate::text::VOCAB,
        });
        let p = arch.init(0, &burn::tensor::Device::flex());
        let x = Tensor::<3>::zeros([2, 3, 8], &p.device);
        assert_eq!(
            arch.decode(&p, x, &[3, 2]),
            vec![String::new(), String::new()]
        );
    }

    #[test]
    fn positions_are_sin_cos_pairs() {
        let pe = positions(3, 4);
        assert_eq!(&pe[0..4], &[0.0, 1.0, 0.0, 1.0]);
        assert!((pe[4] - 1f32.sin()).abs() < 1e-6 && (pe[5] - 1f32.cos()).abs() < 1e-6);
    }
}
