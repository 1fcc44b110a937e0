//! DS2's convolution front end in a forward context: blocks of a 2-D
//! convolution, batch norm per channel and Hardtanh(0, max). On the CPU
//! the whole stack runs on the host as one tape stage (`cpu::conv` and
//! `cpu::norm`): the maps between the blocks stay host vectors and their
//! gradients pass between the blocks on the host, where flex spent a
//! dozen whole-map ops per norm and clamp plus a round trip through its
//! graph per convolution. Elsewhere each block is burn's conv2d, the
//! context's `batch_norm`, relu and `clamp_max`.

use super::ctx::Ctx;
use super::params::to_host;
use super::tape::{ConvLayer, HostConvs, NormAt, Stage, StageInput};
use crate::cpu::conv::ConvGeom;
use crate::cpu::norm::{Clamp, NormGeom};
use burn::tensor::activation::relu;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Tensor, TensorData};

/// One block: the convolution weight `weight` [Co, Ci, KH, KW] (zero
/// padding, no bias), the batch norm `bn` over its output channels, then
/// the output clamped to [0, max].
pub struct ConvBlock {
    pub weight: String,
    pub bn: String,
    pub stride: [usize; 2],
    pub pad: [usize; 2],
    pub max: f32,
}

impl Ctx<'_> {
    /// `x` [B, Ci, H, W] through `blocks` in order → [B, Co, H', W'].
    pub fn conv_blocks(&mut self, blocks: &[ConvBlock], x: Tensor<4>) -> Tensor<4> {
        if !self.host {
            return blocks.iter().fold(x, |x, blk| {
                let options = ConvOptions::new(blk.stride, blk.pad, [1, 1], 1);
                let y = conv2d(x, self.p.get4(&blk.weight), None, options);
                let [b, c, h, w] = y.dims();
                // burn's `clamp` runs the lower bound through a mask fill
                // whose branch the CPU mispredicts on half the elements;
                // relu and its backward are branch-free selects.
                relu(self.batch_norm(&blk.bn, y.reshape([b, c, h * w])))
                    .clamp_max(blk.max)
                    .reshape([b, c, h, w])
            });
        }
        let dev = x.device();
        let tracked = self.train && dev.is_autodiff();
        let [b, mut ci, mut h, mut w] = x.dims();
        let mut v = to_host(&x);
        let mut input = None;
        let mut layers = vec![];
        for blk in blocks {
            let weight = self.p.index(&blk.weight);
            let s = &self.p.info[weight].shape;
            let geom = ConvGeom {
                b,
                ci,
                h,
                w,
                co: s[0],
                kh: s[2],
                kw: s[3],
                sh: blk.stride[0],
                sw: blk.stride[1],
                ph: blk.pad[0],
                pw: blk.pad[1],
            };
            let (mut y, kept) = geom.forward_keeping(&v, &to_host(&self.p.values[weight]), tracked);
            // The first block's input is the stage's; later ones are
            // computed again from the norm the backward pass keeps.
            if input.is_none() {
                input = Some(StageInput::new(x.clone(), std::mem::take(&mut v)));
            }
            let ng = NormGeom {
                b,
                c: geom.co,
                n: geom.oh() * geom.ow(),
            };
            let norm = NormAt::new(
                self.p,
                &blk.bn,
                ng,
                Clamp {
                    lo: 0.0,
                    hi: blk.max,
                },
            );
            let affine = norm.affine(self.p);
            if self.train {
                let (out, saved) = ng.forward_train(y, &affine, norm.clamp);
                self.update_running(&blk.bn, &saved.mean, &saved.var);
                y = out;
                if tracked {
                    layers.push(ConvLayer {
                        geom,
                        weight,
                        saved: kept,
                        norm: norm.with(saved),
                    });
                }
            } else {
                let buffer = |stat: &str| &self.p.buffers[&format!("{}.{stat}", blk.bn)].data;
                let (mean, var) = (buffer("running_mean"), buffer("running_var"));
                ng.forward_eval(&mut y, mean, var, &affine, norm.clamp);
            }
            (ci, h, w) = (geom.co, geom.oh(), geom.ow());
            v = y;
        }
        let y: Tensor<4> = Tensor::from_data(TensorData::new(v, [b, ci, h, w]), &dev);
        let Some(input) = input.filter(|_| tracked) else {
            return y;
        };
        let y = y.require_grad();
        self.tape.push(Stage::Convs(Box::new(HostConvs {
            layers,
            input,
            output: y.clone(),
        })));
        y
    }
}
