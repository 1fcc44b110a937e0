//! 2-D convolution on the host for the CPU device: im2col in tiles and
//! gemm, with the backward pass written out.
//!
//! Why not burn's `conv2d` on flex: its weight gradient is a convolution of
//! the input by the output gradient, which flex runs by im2col over a
//! 41×150-element "kernel" — the DS2 front end took 2.3 of a 3.9 s train
//! step. Here the weight and input gradients are plain matrix products over
//! the forward's own im2col tiles (PyTorch's formulation).
//!
//! Results do not depend on the thread count: work is split by batch item,
//! each item's tiles run in a fixed order, and per-item weight gradients
//! are summed in batch order.

use crate::hostmat::{matmul, Mat, MatRef};
use rayon::prelude::*;

/// Output positions per im2col tile are chosen so a tile holds about this
/// many floats (2 MiB, about a core's L2 cache here: the tile is read back
/// by gemm right after its fill) before rounding up to `TILE_ALIGN`
/// positions (3.8 MiB for the DS2 second conv, which measured faster than
/// smaller tiles of whole vectors).
const TILE_FLOATS: usize = 1 << 19;

/// Tiles hold a multiple of this many output positions. gemm reads a
/// tile in place only when its rows are whole SIMD vectors (16 floats for
/// AVX-512, 8 for AVX2), and otherwise copies it first; and its AVX-512
/// kernels compute 64 rows at once, so a tile of 80 left a slower 16-row
/// kernel for every tail. For the DS2 second conv (70 positions per tile
/// before, 128 now) the forward pass took half the time and the backward
/// pass a third less (docs/results.md).
const TILE_ALIGN: usize = 64;

/// The shapes of one convolution: input [b, ci, h, w], weight
/// [co, ci, kh, kw], stride (sh, sw), zero padding (ph, pw), no dilation,
/// one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    pub b: usize,
    pub ci: usize,
    pub h: usize,
    pub w: usize,
    pub co: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub ph: usize,
    pub pw: usize,
}

impl ConvGeom {
    pub fn oh(&self) -> usize {
        (self.h + 2 * self.ph - self.kh) / self.sh + 1
    }
    pub fn ow(&self) -> usize {
        (self.w + 2 * self.pw - self.kw) / self.sw + 1
    }
    /// Rows of the im2col matrix: one per (input channel, ky, kx).
    fn k(&self) -> usize {
        self.ci * self.kh * self.kw
    }
    /// Output positions per image.
    fn p(&self) -> usize {
        self.oh() * self.ow()
    }
    /// Output positions per tile: about `TILE_FLOATS` floats of im2col,
    /// rounded up to a multiple of `TILE_ALIGN`.
    fn tile_size(&self) -> usize {
        (TILE_FLOATS / self.k().max(1)).next_multiple_of(TILE_ALIGN)
    }
    /// Output positions split into tiles of `size` (at least 1).
    fn tiles(&self, size: usize) -> Vec<(usize, usize)> {
        let p = self.p();
        let size = size.clamp(1, p.max(1));
        (0..p)
            .step_by(size)
            .map(|p0| (p0, (p0 + size).min(p)))
            .collect()
    }

    /// The tile's output positions p0..p1 as runs along output rows:
    /// (oy, first ox, end ox, first column of the tile).
    fn runs(&self, (p0, p1): (usize, usize)) -> Vec<(usize, usize, usize, usize)> {
        let ow = self.ow();
        let mut runs = vec![];
        let mut p = p0;
        while p < p1 {
            let (oy, ox) = (p / ow, p % ow);
            let end = (ox + p1 - p).min(ow);
            runs.push((oy, ox, end, p - p0));
            p += end - ox;
        }
        runs
    }

    /// For each kernel column kx: the output columns lo..hi whose input
    /// column ox * sw + kx - pw lies inside the image (the others read
    /// padding). Computed once per tile rather than divided out per run.
    fn inside_columns(&self) -> Vec<(usize, usize)> {
        (0..self.kw)
            .map(|kx| {
                let lo = self.pw.saturating_sub(kx).div_ceil(self.sw);
                let hi = if self.w + self.pw > kx {
                    (self.w + self.pw - kx - 1) / self.sw + 1
                } else {
                    0
                };
                (lo, hi)
            })
            .collect()
    }

    /// Calls `f` for every run of every row of a tile's im2col matrix
    /// [k × tn], in row order, then run order.
    fn spans(&self, tn: usize, runs: &[(usize, usize, usize, usize)], mut f: impl FnMut(&Span)) {
        let inside = self.inside_columns();
        for c in 0..self.ci {
            for ky in 0..self.kh {
                for (kx, &(in_lo, in_hi)) in inside.iter().enumerate() {
                    let row = ((c * self.kh + ky) * self.kw + kx) * tn;
                    for &(oy, ox0, ox1, j0) in runs {
                        let mut span = Span {
                            at: row + j0,
                            len: ox1 - ox0,
                            skip: 0,
                            n: 0,
                            src: 0,
                        };
                        let iy = (oy * self.sh + ky)
                            .checked_sub(self.ph)
                            .filter(|&iy| iy < self.h);
                        if let Some(iy) = iy {
                            let lo = in_lo.clamp(ox0, ox1);
                            let hi = in_hi.clamp(lo, ox1);
                            span.skip = lo - ox0;
                            span.n = hi - lo;
                            if hi > lo {
                                let ix = lo * self.sw + kx - self.pw;
                                span.src = (c * self.h + iy) * self.w + ix;
                            }
                        }
                        f(&span);
                    }
                }
            }
        }
    }

    /// Fills `col` [k × tn] with image `x` [ci, h, w]'s patches for the
    /// tile's output positions (zeros where the kernel overlaps padding).
    fn im2col(&self, x: &[f32], tn: usize, runs: &[(usize, usize, usize, usize)], col: &mut [f32]) {
        let sw = self.sw;
        self.spans(tn, runs, |s| {
            let run = &mut col[s.at..s.at + s.len];
            run[..s.skip].fill(0.0);
            run[s.skip + s.n..].fill(0.0);
            let out = &mut run[s.skip..s.skip + s.n];
            if sw == 1 {
                out.copy_from_slice(&x[s.src..s.src + s.n]);
            } else {
                for (o, i) in out.iter_mut().zip((s.src..).step_by(sw)) {
                    *o = x[i];
                }
            }
        });
    }

    /// Adds `col` [k × tn] back onto the image gradient `dx` [ci, h, w]
    /// (the adjoint of `im2col`).
    fn col2im(
        &self,
        col: &[f32],
        tn: usize,
        runs: &[(usize, usize, usize, usize)],
        dx: &mut [f32],
    ) {
        let sw = self.sw;
        self.spans(tn, runs, |s| {
            let src = &col[s.at + s.skip..s.at + s.skip + s.n];
            if sw == 1 {
                let dst = &mut dx[s.src..s.src + s.n];
                dst.iter_mut().zip(src).for_each(|(d, v)| *d += v);
            } else {
                for (v, i) in src.iter().zip((s.src..).step_by(sw)) {
                    dx[i] += v;
                }
            }
        });
    }

    /// The convolution of `x` [b, ci, h, w] by `w` [co, ci, kh, kw]:
    /// [b, co, oh, ow].
    pub fn forward(&self, x: &[f32], w: &[f32]) -> Vec<f32> {
        self.forward_tiled(x, w, self.tile_size())
    }

    fn forward_tiled(&self, x: &[f32], w: &[f32], tile: usize) -> Vec<f32> {
        let (k, p, co) = (self.k(), self.p(), self.co);
        assert_eq!(
            x.len(),
            self.b * self.ci * self.h * self.w,
            "conv input size"
        );
        assert_eq!(w.len(), co * k, "conv weight size");
        let mut out = vec![0.0f32; self.b * co * p];
        let tiles = self.tiles(tile);
        out.par_chunks_mut(co * p)
            .zip(x.par_chunks(self.ci * self.h * self.w))
            .for_each(|(out, x)| {
                let mut col = vec![0.0f32; k * tiles[0].1];
                for &(p0, p1) in &tiles {
                    let tn = p1 - p0;
                    let runs = self.runs((p0, p1));
                    self.im2col(x, tn, &runs, &mut col);
                    // out[:, p0..p1] = w [co × k] · col [k × tn]
                    matmul(
                        Mat::new(&mut out[p0..], co, tn, p, 1),
                        false,
                        MatRef::new(w, co, k, k, 1),
                        MatRef::new(&col, k, tn, tn, 1),
                    );
                }
            });
        out
    }

    /// Gradients of the weight and (when `need_dx`) of the input, given the
    /// output gradient `gy` [b, co, oh, ow].
    pub fn backward(
        &self,
        x: &[f32],
        w: &[f32],
        gy: &[f32],
        need_dx: bool,
    ) -> (Vec<f32>, Option<Vec<f32>>) {
        self.backward_tiled(x, w, gy, need_dx, self.tile_size())
    }

    fn backward_tiled(
        &self,
        x: &[f32],
        w: &[f32],
        gy: &[f32],
        need_dx: bool,
        tile: usize,
    ) -> (Vec<f32>, Option<Vec<f32>>) {
        let (k, p, co) = (self.k(), self.p(), self.co);
        let img = self.ci * self.h * self.w;
        assert_eq!(gy.len(), self.b * co * p, "conv output gradient size");
        let tiles = self.tiles(tile);
        let per_item: Vec<(Vec<f32>, Vec<f32>)> = (0..self.b)
            .into_par_iter()
            .map(|i| {
                let x = &x[i * img..(i + 1) * img];
                let gy = &gy[i * co * p..(i + 1) * co * p];
                let mut dw = vec![0.0f32; co * k];
                let mut dx = if need_dx { vec![0.0f32; img] } else { vec![] };
                let mut col = vec![0.0f32; k * tiles[0].1];
                for (t, &(p0, p1)) in tiles.iter().enumerate() {
                    let tn = p1 - p0;
                    let runs = self.runs((p0, p1));
                    self.im2col(x, tn, &runs, &mut col);
                    // dw [co × k] += gy[:, p0..p1] [co × tn] · colᵀ [tn × k],
                    // into dwᵀ's memory: so gemm reads the tile in place
                    // (as dw, it copied each tile first: 8% of the step).
                    matmul(
                        Mat::new(&mut dw, co, k, 1, co),
                        t > 0,
                        MatRef::new(&gy[p0..], co, tn, p, 1),
                        MatRef::new(&col, tn, k, 1, tn),
                    );
                    if need_dx {
                        // dcol [k × tn] = wᵀ [k × co] · gy[:, p0..p1] [co × tn]
                        matmul(
                            Mat::new(&mut col, k, tn, tn, 1),
                            false,
                            MatRef::new(w, k, co, 1, k),
                            MatRef::new(&gy[p0..], co, tn, p, 1),
                        );
                        self.col2im(&col, tn, &runs, &mut dx);
                    }
                }
                (dw, dx)
            })
            .collect();
        let mut dw = vec![0.0f32; co * k];
        let mut dx = Vec::with_capacity(if need_dx { self.b * img } else { 0 });
        for (dwi, dxi) in per_item {
            // dwi is dwᵀ [k × co].
            for (r, row) in dw.chunks_mut(k).enumerate() {
                for (c, a) in row.iter_mut().enumerate() {
                    *a += dwi[c * co + r];
                }
            }
            dx.extend_from_slice(&dxi);
        }
        (dw, need_dx.then_some(dx))
    }
}

/// One run of output positions in one row of an im2col tile:
/// `col[at..at + len]`, of which `col[at + skip..][..n]` holds the image
/// elements `src, src + sw, ...` (flat index into [ci, h, w]) and the rest
/// padding.
struct Span {
    at: usize,
    len: usize,
    skip: usize,
    n: usize,
    src: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use burn::tensor::module::conv2d;
    use burn::tensor::ops::ConvOptions;
    use burn::tensor::{Device, Tensor, TensorData};

    fn random(n: usize, rng: &mut Rng) -> Vec<f32> {
        (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
    }

    fn close(a: &[f32], b: &[f32], what: &str) {
        assert_eq!(a.len(), b.len(), "{what}: length");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-4 * (1.0 + y.abs()),
                "{what}[{i}]: {x} vs burn's {y}"
            );
        }
    }

    /// Forward, weight gradient and input gradient against burn's conv2d
    /// and its autodiff, on shapes with odd sizes, strides and padding
    /// (and tiles that do not divide the output).
    #[test]
    fn matches_burn_conv2d_and_its_gradients() {
        let mut rng = Rng::new(7);
        for g in [
            ConvGeom {
                b: 2,
                ci: 1,
                h: 13,
                w: 9,
                co: 3,
                kh: 5,
                kw: 3,
                sh: 2,
                sw: 2,
                ph: 2,
                pw: 1,
            },
            ConvGeom {
                b: 3,
                ci: 4,
                h: 11,
                w: 17,
                co: 5,
                kh: 3,
                kw: 5,
                sh: 2,
                sw: 1,
                ph: 1,
                pw: 2,
            },
            ConvGeom {
                b: 1,
                ci: 600,
                h: 4,
                w: 40,
                co: 2,
                kh: 3,
                kw: 3,
                sh: 1,
                sw: 1,
                ph: 0,
                pw: 0,
            },
            ConvGeom {
                b: 2,
                ci: 2,
                h: 9,
                w: 12,
                co: 3,
                kh: 3,
                kw: 7,
                sh: 3,
                sw: 3,
                ph: 1,
                pw: 5,
            },
        ] {
            let x = random(g.b * g.ci * g.h * g.w, &mut rng);
            let w = random(g.co * g.ci * g.kh * g.kw, &mut rng);
            let (oh, ow) = (g.oh(), g.ow());
            let gy = random(g.b * g.co * oh * ow, &mut rng);
            let dev = Device::flex().autodiff();
            let xt: Tensor<4> =
                Tensor::from_data(TensorData::new(x.clone(), [g.b, g.ci, g.h, g.w]), &dev)
                    .require_grad();
            let wt: Tensor<4> =
                Tensor::from_data(TensorData::new(w.clone(), [g.co, g.ci, g.kh, g.kw]), &dev)
                    .require_grad();
            let y = conv2d(
                xt.clone(),
                wt.clone(),
                None,
                ConvOptions::new([g.sh, g.sw], [g.ph, g.pw], [1, 1], 1),
            );
            let gyt: Tensor<4> =
                Tensor::from_data(TensorData::new(gy.clone(), [g.b, g.co, oh, ow]), &dev);
            let vals = |t: Tensor<4>| t.inner().into_data().try_to_vec::<f32>().unwrap();
            let y_burn = vals(y.clone());
            let grads = (y * gyt).sum().backward();
            let dw_burn = vals(wt.grad(&grads).unwrap());
            let dx_burn = vals(xt.grad(&grads).unwrap());

            // Tiles of one position, of sizes that split rows anywhere, and
            // the default (runs that start or end inside the padding).
            for tile in [1, 5, 7, g.tile_size()] {
                close(&g.forward_tiled(&x, &w, tile), &y_burn, "forward");
                let (dw, dx) = g.backward_tiled(&x, &w, &gy, true, tile);
                close(&dw, &dw_burn, "weight gradient");
                close(&dx.unwrap(), &dx_burn, "input gradient");
            }
            assert!(g.backward(&x, &w, &gy, false).1.is_none());
        }
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let g = ConvGeom {
            b: 4,
            ci: 3,
            h: 21,
            w: 30,
            co: 4,
            kh: 7,
            kw: 5,
            sh: 2,
            sw: 1,
            ph: 3,
            pw: 2,
        };
        let mut rng = Rng::new(3);
        let x = random(g.b * g.ci * g.h * g.w, &mut rng);
        let w = random(g.co * g.ci * g.kh * g.kw, &mut rng);
        let gy = random(g.b * g.co * g.oh() * g.ow(), &mut rng);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| (g.forward(&x, &w), g.backward(&x, &w, &gy, true)))
        };
        let one = run(1);
        for threads in [2, 3] {
            let other = run(threads);
            assert!(
                one.0 == other.0 && one.1 == other.1,
                "{threads} threads differ from 1"
            );
        }
    }
}
