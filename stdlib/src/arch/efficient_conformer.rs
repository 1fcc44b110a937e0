//! The Efficient Conformer (Burchi & Vielzeuf 2021), the model the paper's
//! Conformer results come from (its official config
//! `EfficientConformerCTCLargeLTH.json`), with a CTC head over BPE tokens.
//!
//! - Stem: one 3x3 stride-2 convolution (256 filters) with batch norm and
//!   Swish over time and frequency, then a linear projection to the first
//!   stage's width: time ÷ 2.
//! - Blocks as the Conformer's (½ feed-forward, self-attention, convolution
//!   module, ½ feed-forward, layer norm), in stages of growing width
//!   (256/384/512): the first block of a new stage has a stride-2 depthwise
//!   convolution and a convolution module that widens to the next stage,
//!   its residual a strided pointwise projection (progressive downsampling:
//!   time ÷ 8 by the last stage).
//! - Relative positional self-attention (Transformer-XL's form: content and
//!   position terms with learnt biases u and v, sinusoidal offsets through
//!   a learnt projection). In the first stage attention is grouped: each
//!   head attends between groups of 3 consecutive frames (their queries,
//!   keys and values side by side), a third of the positions to attend.
//! - Dropout (0.1) after the stem, inside and after each feed-forward
//!   module, after attention and after the convolution module, drawn from
//!   the run's seed and the optimizer step.
//!
//! Departures: batch norm statistics include padded frames (as the
//! vanilla `conformer`); the grouped heads take each frame's slice of a
//! head side by side (the official code reshapes the concatenated frames).

use super::conformer::glu_depthwise;
use crate::bpe::Bpe;
use crate::nn::{bn_params, linear_params, ln_params, param, Ctx, Kind, ParamInfo, Params};
use crate::tensor_io::TensorMap;
use burn::tensor::activation::{log_softmax, silu, softmax};
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EfficientConformerConfig {
    pub input_bins: usize,
    /// Filters of the stride-2 stem convolution.
    pub stem_filters: usize,
    /// Width of each stage.
    pub dims: Vec<usize>,
    /// Blocks in all.
    pub blocks: usize,
    /// The blocks that start a new stage (strided and widening).
    pub stage_starts: Vec<usize>,
    pub heads: usize,
    /// Feed-forward inner size as a multiple of the width.
    pub ff_ratio: usize,
    /// Depthwise convolution kernel (odd).
    pub kernel: usize,
    /// Attention group size per stage (1: plain attention).
    pub groups: Vec<usize>,
    pub dropout: f64,
    /// The tokenizer the head predicts; `vocab` is its size with blank.
    pub bpe: Bpe,
    pub vocab: usize,
}

/// One block's sizes.
struct BlockDims {
    d_in: usize,
    d_out: usize,
    stride: usize,
    group: usize,
}

/// Output frames of a length-`n` input through a stride-`s` convolution
/// padded to keep frames centred (odd kernel): ⌈n / s⌉.
fn strided(n: usize, s: usize) -> usize {
    n.div_ceil(s)
}

impl EfficientConformerConfig {
    /// The paper's model (the official config) over `bpe`, for `bins`
    /// log-mel bins.
    pub fn paper(bins: usize, bpe: Bpe, vocab: usize) -> Self {
        EfficientConformerConfig {
            input_bins: bins,
            stem_filters: 256,
            dims: vec![256, 384, 512],
            blocks: 16,
            stage_starts: vec![4, 10],
            heads: 8,
            ff_ratio: 4,
            kernel: 15,
            groups: vec![3, 1, 1],
            dropout: 0.1,
            bpe,
            vocab,
        }
    }

    fn block(&self, i: usize) -> BlockDims {
        let stage = self.stage_starts.iter().filter(|&&s| s < i).count();
        let starts = self.stage_starts.contains(&i);
        let next = if starts { stage + 1 } else { stage };
        BlockDims {
            d_in: self.dims[stage],
            d_out: self.dims[next],
            stride: if starts { 2 } else { 1 },
            group: self.groups[stage],
        }
    }

    /// Each block's width, frames (after its stride, for `t` input
    /// frames) and attention group size, for memory estimates.
    pub(crate) fn block_sizes(&self, t: usize) -> Vec<(usize, usize, usize)> {
        let mut n = strided(t, 2);
        (0..self.blocks)
            .map(|i| {
                let b = self.block(i);
                n = strided(n, b.stride);
                (b.d_out, n, b.group)
            })
            .collect()
    }

    /// Output frames for `t` input frames (÷ 2 by the stem, ÷ 2 per stage).
    pub fn out_len(&self, t: usize) -> usize {
        (0..self.blocks).fold(strided(t, 2), |n, i| strided(n, self.block(i).stride))
    }

    pub fn layout(&self) -> (Vec<ParamInfo>, TensorMap) {
        let (mut info, mut buf) = (vec![], TensorMap::new());
        let c = self.stem_filters;
        param(
            &mut info,
            "stem.conv.weight".into(),
            vec![c, 1, 3, 3],
            Kind::Conv,
            9,
        );
        param(&mut info, "stem.conv.bias".into(), vec![c], Kind::Bias, 9);
        bn_params("stem.bn", c, &mut info, &mut buf);
        let f = strided(self.input_bins, 2);
        linear_params(
            &mut info,
            "stem.linear",
            self.dims[0],
            c * f,
            Kind::Linear,
            true,
        );
        for i in 0..self.blocks {
            let BlockDims { d_in, d_out, .. } = self.block(i);
            let b = format!("blocks.{i}");
            self.ff_layout(&mut info, &format!("{b}.ff1"), d_in);
            ln_params(&mut info, &format!("{b}.attn.norm"), d_in);
            for proj in ["q", "k", "v", "out"] {
                linear_params(
                    &mut info,
                    &format!("{b}.attn.{proj}"),
                    d_in,
                    d_in,
                    Kind::Linear,
                    true,
                );
            }
            linear_params(
                &mut info,
                &format!("{b}.attn.pos"),
                d_in,
                d_in,
                Kind::Linear,
                false,
            );
            let dk = d_in / self.heads;
            for u in ["pos_bias_u", "pos_bias_v"] {
                param(
                    &mut info,
                    format!("{b}.attn.{u}"),
                    vec![self.heads, dk],
                    Kind::Bias,
                    dk,
                );
            }
            ln_params(&mut info, &format!("{b}.conv.norm"), d_in);
            let pw = |info: &mut Vec<ParamInfo>, name: &str, out: usize, inp: usize| {
                param(
                    info,
                    format!("{b}.{name}.weight"),
                    vec![out, inp, 1],
                    Kind::Conv,
                    inp,
                );
                param(info, format!("{b}.{name}.bias"), vec![out], Kind::Bias, inp);
            };
            pw(&mut info, "conv.pointwise1", 2 * d_out, d_in);
            param(
                &mut info,
                format!("{b}.conv.depthwise.weight"),
                vec![d_out, 1, self.kernel],
                Kind::Conv,
                self.kernel,
            );
            param(
                &mut info,
                format!("{b}.conv.depthwise.bias"),
                vec![d_out],
                Kind::Bias,
                self.kernel,
            );
            bn_params(&format!("{b}.conv.bn"), d_out, &mut info, &mut buf);
            pw(&mut info, "conv.pointwise2", d_out, d_out);
            if d_in != d_out {
                pw(&mut info, "conv_res", d_out, d_in);
            }
            self.ff_layout(&mut info, &format!("{b}.ff2"), d_out);
            ln_params(&mut info, &format!("{b}.norm"), d_out);
        }
        let last = *self.dims.last().expect("at least one stage");
        linear_params(&mut info, "head", self.vocab, last, Kind::Linear, true);
        (info, buf)
    }

    fn ff_layout(&self, info: &mut Vec<ParamInfo>, pre: &str, d: usize) {
        ln_params(info, &format!("{pre}.norm"), d);
        let inner = d * self.ff_ratio;
        linear_params(
            info,
            &format!("{pre}.linear1"),
            inner,
            d,
            Kind::Linear,
            true,
        );
        linear_params(
            info,
            &format!("{pre}.linear2"),
            d,
            inner,
            Kind::Linear,
            true,
        );
    }

    /// Log-probabilities [T', B, vocab] for features [B, T, F].
    pub fn forward(&self, cx: &mut Ctx, x: Tensor<3>, lens: &[usize]) -> Tensor<3> {
        let [b, t, f] = x.dims();
        let p = cx.p;
        let w = p.get4("stem.conv.weight");
        let bias = p.get1("stem.conv.bias");
        let y = conv2d(
            x.reshape([b, 1, t, f]),
            w,
            Some(bias),
            ConvOptions::new([2, 2], [1, 1], [1, 1], 1),
        );
        let y = silu(cx.batch_norm("stem.bn", y));
        let [_, c, mut tt, ff] = y.dims();
        let y = y.swap_dims(1, 2).reshape([b * tt, c * ff]);
        let mut h = self.dropout(cx, p.linear("stem.linear", y));
        let mut lens: Vec<usize> = lens.iter().map(|&l| strided(l, 2).min(tt)).collect();
        for i in 0..self.blocks {
            let dims = self.block(i);
            let pre = format!("blocks.{i}");
            let mask = frame_mask(&lens, tt, &h.device());
            let ff1 = self.feed_forward(cx, &format!("{pre}.ff1"), h.clone());
            h = h + ff1 * 0.5;
            let att = self.attention(cx, &pre, h.clone(), (b, tt), &lens, dims.group);
            h = h + self.dropout(cx, att);
            let conv = self.conv_module(cx, &pre, h.clone(), (b, tt), &dims, mask);
            let res = self.conv_residual(cx.p, &pre, h, (b, tt), &dims);
            tt = strided(tt, dims.stride);
            lens = lens.iter().map(|&l| strided(l, dims.stride)).collect();
            h = res + self.dropout(cx, conv);
            let ff2 = self.feed_forward(cx, &format!("{pre}.ff2"), h.clone());
            h = h + ff2 * 0.5;
            h = cx.p.layer_norm(&format!("{pre}.norm"), h);
        }
        let logits = cx.p.linear("head", h).reshape([b, tt, self.vocab]);
        log_softmax(logits, 2).swap_dims(0, 1)
    }

    fn dropout(&self, cx: &mut Ctx, x: Tensor<2>) -> Tensor<2> {
        cx.dropout(x, self.dropout)
    }

    fn feed_forward(&self, cx: &mut Ctx, pre: &str, h: Tensor<2>) -> Tensor<2> {
        let p = cx.p;
        let y = silu(p.linear(
            &format!("{pre}.linear1"),
            p.layer_norm(&format!("{pre}.norm"), h),
        ));
        let y = self.dropout(cx, y);
        let y = cx.p.linear(&format!("{pre}.linear2"), y);
        self.dropout(cx, y)
    }

    /// Relative positional self-attention over `h` [B·T, d], grouped by
    /// `g` frames: [B·T, d].
    fn attention(
        &self,
        cx: &mut Ctx,
        pre: &str,
        h: Tensor<2>,
        (b, t): (usize, usize),
        lens: &[usize],
        g: usize,
    ) -> Tensor<2> {
        let p = cx.p;
        let [_, d] = h.dims();
        let nh = self.heads;
        let dk = d / nh;
        let dev = h.device();
        let y = p.layer_norm(&format!("{pre}.attn.norm"), h);
        // Frames padded to whole groups: L groups of g frames.
        let l = t.div_ceil(g);
        let tg = l * g;
        // [B·T, d] → [B, H, L, g·dk]: each head holds its slice of every
        // frame of a group, side by side.
        let heads = |x: Tensor<2>| {
            let x = x.reshape([b, t, d]);
            let x = if tg > t {
                Tensor::cat(vec![x, Tensor::<3>::zeros([b, tg - t, d], &dev)], 1)
            } else {
                x
            };
            x.reshape([b, l, g, nh, dk])
                .permute([0, 3, 1, 2, 4])
                .reshape([b, nh, l, g * dk])
        };
        let q = heads(p.linear(&format!("{pre}.attn.q"), y.clone()));
        let k = heads(p.linear(&format!("{pre}.attn.k"), y.clone()));
        let v = heads(p.linear(&format!("{pre}.attn.v"), y));
        // The biases and positions of one frame, repeated for each frame
        // of a group.
        let per_group = |x: Tensor<2>, n: usize| -> Tensor<3> {
            // [n, H·dk] → [H, n, g·dk]
            let x = x.reshape([n, 1, nh, dk]);
            let x = Tensor::cat(vec![x; g], 1);
            x.permute([2, 0, 1, 3]).reshape([nh, n, g * dk])
        };
        let u = per_group(p.get2(&format!("{pre}.attn.pos_bias_u")).reshape([1, d]), 1).reshape([
            1,
            nh,
            1,
            g * dk,
        ]);
        let vb = per_group(p.get2(&format!("{pre}.attn.pos_bias_v")).reshape([1, d]), 1).reshape([
            1,
            nh,
            1,
            g * dk,
        ]);
        // Offsets L−1 … −(L−1) between groups, projected.
        let n_off = 2 * l - 1;
        let pe = Tensor::<2>::from_data(TensorData::new(offsets(l, d), [n_off, d]), &dev);
        let pos = per_group(p.linear(&format!("{pre}.attn.pos"), pe), n_off)
            .reshape([1, nh, n_off, g * dk])
            .repeat_dim(0, b);
        let content = (q.clone() + u).matmul(k.swap_dims(2, 3));
        let by_offset = (q + vb).matmul(pos.swap_dims(2, 3));
        let position = by_offset.gather(3, rel_index(b, nh, l, &dev));
        let scale = ((g * dk) as f64).sqrt();
        let scores = (content + position) / scale + key_bias(lens, b, l, g, &dev);
        let ctx = softmax(scores, 3).matmul(v); // [B, H, L, g·dk]
        let ctx = ctx
            .reshape([b, nh, l, g, dk])
            .permute([0, 2, 3, 1, 4])
            .reshape([b, tg, d]);
        let ctx = if tg > t {
            ctx.slice([0..b, 0..t, 0..d])
        } else {
            ctx
        };
        cx.p.linear(&format!("{pre}.attn.out"), ctx.reshape([b * t, d]))
    }

    /// The convolution module: pointwise to 2·d_out, GLU, depthwise
    /// (strided where the stage changes), batch norm, Swish, pointwise.
    fn conv_module(
        &self,
        cx: &mut Ctx,
        pre: &str,
        h: Tensor<2>,
        (b, t): (usize, usize),
        dims: &BlockDims,
        mask: Tensor<2>,
    ) -> Tensor<2> {
        let p = cx.p;

        let y = pointwise(
            p,
            &format!("{pre}.conv.pointwise1"),
            p.layer_norm(&format!("{pre}.conv.norm"), h),
        );
        let y = glu_depthwise(p, pre, y, mask, (b, t), (self.kernel, dims.stride));
        let y = silu(cx.batch_norm(&format!("{pre}.conv.bn"), y));
        pointwise(cx.p, &format!("{pre}.conv.pointwise2"), y)
    }

    /// The residual around the convolution module: the input itself, every
    /// `stride`-th frame of it, or those frames through a pointwise
    /// projection to the wider stage.
    fn conv_residual(
        &self,
        p: &Params,
        pre: &str,
        h: Tensor<2>,
        (b, t): (usize, usize),
        dims: &BlockDims,
    ) -> Tensor<2> {
        let d = dims.d_in;
        let s = dims.stride;
        let h = if s > 1 {
            let t2 = strided(t, s);
            let x = h.reshape([b, t, d]);
            let x = if t2 * s > t {
                Tensor::cat(
                    vec![x, Tensor::<3>::zeros([b, t2 * s - t, d], &p.device)],
                    1,
                )
            } else {
                x
            };
            x.reshape([b, t2, s, d])
                .slice([0..b, 0..t2, 0..1, 0..d])
                .reshape([b * t2, d])
        } else {
            h
        };
        if dims.d_in != dims.d_out {
            pointwise(p, &format!("{pre}.conv_res"), h)
        } else {
            h
        }
    }
}

/// A pointwise convolution `name` ([out, in, 1] weight) over [N, in].
fn pointwise(p: &Params, name: &str, x: Tensor<2>) -> Tensor<2> {
    let i = p.index(&format!("{name}.weight"));
    let shape = &p.info[i].shape;
    let (out, inp) = (shape[0], shape[1]);
    let w = p.values[i].clone().reshape([out, inp]);
    let bias = p.get1(&format!("{name}.bias")).reshape([1, out]);
    x.matmul(w.transpose()) + bias
}

/// 1 on real frames, 0 on padding: [B·T, 1].
fn frame_mask(lens: &[usize], t: usize, dev: &Device) -> Tensor<2> {
    let v: Vec<f32> = lens
        .iter()
        .flat_map(|&l| (0..t).map(move |s| if s < l { 1.0 } else { 0.0 }))
        .collect();
    Tensor::from_data(TensorData::new(v, [lens.len() * t, 1]), dev)
}

/// −1e9 on keys (groups) holding no real frame: [B, 1, 1, L].
fn key_bias(lens: &[usize], b: usize, l: usize, g: usize, dev: &Device) -> Tensor<4> {
    let v: Vec<f32> = lens
        .iter()
        .flat_map(|&n| (0..l).map(move |j| if j * g < n { 0.0 } else { -1e9 }))
        .collect();
    Tensor::from_data(TensorData::new(v, [b, 1, 1, l]), dev)
}

/// For query group i and key group j, the column of offset i − j in the
/// offsets L−1 … −(L−1): L − 1 − i + j. [B, H, L, L].
fn rel_index(b: usize, h: usize, l: usize, dev: &Device) -> Tensor<4, Int> {
    let one: Vec<i64> = (0..l)
        .flat_map(|i| (0..l).map(move |j| (l - 1 - i + j) as i64))
        .collect();
    let all: Vec<i64> = std::iter::repeat_n(one, b * h).flatten().collect();
    Tensor::<4, Int>::from_data(TensorData::new(all, [b, h, l, l]), &dev.clone().inner())
        .to_device(dev)
}

/// Sinusoidal encodings of the offsets L−1 down to −(L−1): [2L−1, d].
fn offsets(l: usize, d: usize) -> Vec<f32> {
    let top = l as f64 - 1.0;
    crate::nn::positions::sinusoids((0..2 * l - 1).map(|r| top - r as f64), d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The official configuration with 256 tokens, at 80 bins: 65.84M
    /// parameters, the paper's 65.8M.
    #[test]
    fn paper_size_and_lengths() {
        let cfg = EfficientConformerConfig::paper(80, Bpe::default(), 256);
        let (info, _) = cfg.layout();
        let n: usize = info.iter().map(|p| p.numel()).sum();
        assert_eq!(n, 65_836_928);
        // Stages: blocks 0–3 at 256 (grouped by 3), 4–9 at 384, 10–15 at 512.
        assert_eq!((cfg.block(3).d_in, cfg.block(3).group), (256, 3));
        assert_eq!(
            (cfg.block(4).d_in, cfg.block(4).d_out, cfg.block(4).stride),
            (256, 384, 2)
        );
        assert_eq!((cfg.block(5).d_in, cfg.block(5).group), (384, 1));
        assert_eq!((cfg.block(10).d_out, cfg.block(15).d_out), (512, 512));
        assert!(info.iter().any(|p| p.name == "blocks.4.conv_res.weight"));
        assert!(!info.iter().any(|p| p.name == "blocks.5.conv_res.weight"));
        // 100 frames: 50 after the stem, 25, then 13.
        assert_eq!(cfg.out_len(100), 13);
        assert_eq!(cfg.out_len(1), 1);
    }

    #[test]
    fn offsets_run_from_l_minus_one_down() {
        let pe = offsets(2, 2);
        // Offsets 1, 0, −1.
        assert!((pe[0] - 1f32.sin()).abs() < 1e-6 && (pe[1] - 1f32.cos()).abs() < 1e-6);
        assert_eq!(&pe[2..4], &[0.0, 1.0]);
        assert!((pe[4] + 1f32.sin()).abs() < 1e-6);
        let dev = crate::device::open("flex").unwrap();
        let idx = rel_index(1, 1, 2, &dev)
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .unwrap();
        // (i, j) = (0,0) → offset 0 → column 1; (0,1) → −1 → 2; (1,0) → 1 → 0.
        assert_eq!(idx, [1, 2, 0, 1]);
    }
}
