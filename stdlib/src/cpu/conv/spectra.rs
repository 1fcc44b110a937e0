//! The spectra of a convolution's signals (its input maps, kernels and
//! output gradients) and the signals of spectra: the transforms, as
//! products with DFT matrices (`cpu::dft`), of length n = h + 2·ph along
//! the height (complex, every bin) and w + 2·pw along the width (real,
//! half the bins). Input samples sit at t = i + p, a kernel's at t = k,
//! an output's (and its gradient's) at t = o·s, so the padding, the
//! stride and the crop are in the matrices, not in copies.

use super::geom::ConvGeom;
use crate::cpu::dft::{
    complex_analysis, complex_synthesis, half_bins, real_analysis, real_synthesis,
};
use crate::cpu::matrix::{matmul, Mat, MatRef};
use rayon::prelude::*;

/// Columns of the height's transform products (see `Plan::group`).
const GROUP_COLUMNS: usize = 2048;

/// Groups of signals a transform is split into, at least (see
/// `Plan::group`).
const GROUPS: usize = 16;

/// Sample positions of one 2-D signal: rows along the height, columns
/// along the width.
pub(super) struct Positions {
    pub(super) rows: Vec<usize>,
    pub(super) cols: Vec<usize>,
}

/// The transform sizes of a convolution and the positions of its three
/// kinds of signal.
pub(super) struct Plan {
    /// Transform lengths along the height and width.
    pub(super) nh: usize,
    pub(super) nw: usize,
    /// Half-spectrum bins along the width.
    pub(super) fw: usize,
    pub(super) input: Positions,
    pub(super) kernel: Positions,
    pub(super) output: Positions,
}

impl Plan {
    pub(super) fn new(g: &ConvGeom) -> Plan {
        let (nh, nw) = (g.h + 2 * g.ph, g.w + 2 * g.pw);
        Plan {
            nh,
            nw,
            fw: half_bins(nw),
            input: Positions {
                rows: (g.ph..g.ph + g.h).collect(),
                cols: (g.pw..g.pw + g.w).collect(),
            },
            kernel: Positions {
                rows: (0..g.kh).collect(),
                cols: (0..g.kw).collect(),
            },
            output: Positions {
                rows: (0..g.oh()).map(|o| o * g.sh).collect(),
                cols: (0..g.ow()).map(|o| o * g.sw).collect(),
            },
        }
    }

    /// Floats of one spectrum: real parts [nh × fw] then imaginary parts.
    pub(super) fn spectrum(&self) -> usize {
        2 * self.nh * self.fw
    }

    /// Multiply-adds of analysing `count` signals at `p`.
    pub(super) fn analysis_cost(&self, count: usize, p: &Positions) -> f64 {
        let (width_first, height_first) = self.analysis_orders(p);
        count as f64 * width_first.min(height_first)
    }

    /// Multiply-adds of analysing one signal at `p` width first and
    /// height first. Width first transforms the real rows into fw bins,
    /// then each bin's column of rows×2 into nh×2 values; height first
    /// transforms the real columns into nh×2 values, then each of those
    /// rows of cols values into fw×2. A short signal (a kernel) is
    /// cheaper height first, a long one (an input map) width first.
    pub(super) fn analysis_orders(&self, p: &Positions) -> (f64, f64) {
        let (r, c) = (p.rows.len() as f64, p.cols.len() as f64);
        let (nh, fw) = (self.nh as f64, self.fw as f64);
        (
            r * c * 2.0 * fw + 2.0 * nh * 2.0 * r * fw,
            2.0 * nh * r * c + 2.0 * nh * 2.0 * c * fw,
        )
    }

    /// Multiply-adds of synthesising `count` signals at `p`.
    pub(super) fn synthesis_cost(&self, count: usize, p: &Positions) -> f64 {
        let (r, c) = (p.rows.len() as f64, p.cols.len() as f64);
        let (nh, fw) = (self.nh as f64, self.fw as f64);
        count as f64 * (2.0 * r * 2.0 * nh * fw + 2.0 * r * fw * c)
    }

    /// Signals of `count` transformed together: enough that the height's
    /// products are up to `GROUP_COLUMNS` columns wide, where gemm runs
    /// near its best (one signal's would be fw ≈ 80 columns), but at
    /// least `GROUPS` groups, so the threads' shares come out even. Each
    /// output's sum is the same whatever the grouping.
    fn group(&self, count: usize) -> usize {
        (GROUP_COLUMNS / self.fw).min(count.div_ceil(GROUPS)).max(1)
    }

    /// The spectra of `count` real signals `x` [count][rows × cols] at
    /// `p`: [count][spectrum], in the cheaper order.
    pub(super) fn analyse(&self, x: &[f32], count: usize, p: &Positions) -> Vec<f32> {
        let size = p.rows.len() * p.cols.len();
        assert_eq!(x.len(), count * size, "conv signals' size");
        let (width_first, height_first) = self.analysis_orders(p);
        if height_first < width_first {
            self.analyse_height_first(x, count, p)
        } else {
            self.analyse_width_first(x, count, p)
        }
    }

    /// `analyse` along the height first: each signal's real columns into
    /// real parts [nh × cols] over imaginary parts, then all rows of a
    /// group of signals along the width in two products (by the width's
    /// cosines and by its negated sines), whose four quarters combine
    /// into the spectrum: (ar + i·ai)·(c − i·s) has real part ar·c −
    /// ai·(−s) and imaginary part ai·c + ar·(−s).
    pub(super) fn analyse_height_first(&self, x: &[f32], count: usize, p: &Positions) -> Vec<f32> {
        let (r, c, fw, nh) = (p.rows.len(), p.cols.len(), self.fw, self.nh);
        let (wre, wim) = real_analysis(&p.cols, self.nw);
        let h = complex_analysis(&p.rows, nh);
        // A real signal's transform: the left half [cos; −sin] of the
        // complex one.
        let h = MatRef::new(&h, 2 * nh, r, 2 * r, 1);
        let group = self.group(count);
        let mut out = vec![0.0f32; count * self.spectrum()];
        out.par_chunks_mut(group * self.spectrum())
            .zip(x.par_chunks(group * r * c))
            .for_each(|(out, x)| {
                let rows = x.len() / (r * c) * 2 * nh;
                let mut a = vec![0.0f32; rows * c];
                for (a, x) in a.chunks_mut(2 * nh * c).zip(x.chunks(r * c)) {
                    matmul(
                        Mat::new(a, 2 * nh, c, c, 1),
                        false,
                        h,
                        MatRef::new(x, r, c, c, 1),
                    );
                }
                let a = MatRef::new(&a, rows, c, c, 1);
                let (mut by_cos, mut by_sin) = (vec![0.0f32; rows * fw], vec![0.0f32; rows * fw]);
                matmul(
                    Mat::new(&mut by_cos, rows, fw, fw, 1),
                    false,
                    a,
                    MatRef::new(&wre, c, fw, fw, 1),
                );
                matmul(
                    Mat::new(&mut by_sin, rows, fw, fw, 1),
                    false,
                    a,
                    MatRef::new(&wim, c, fw, fw, 1),
                );
                let half = nh * fw;
                for (k, spec) in out.chunks_mut(self.spectrum()).enumerate() {
                    let (cos, sin) = (
                        &by_cos[2 * k * half..][..2 * half],
                        &by_sin[2 * k * half..][..2 * half],
                    );
                    let (re, im) = spec.split_at_mut(half);
                    for j in 0..half {
                        re[j] = cos[j] - sin[half + j];
                        im[j] = cos[half + j] + sin[j];
                    }
                }
            });
        out
    }

    /// `analyse` along the width first (a real transform into real and
    /// imaginary parts stacked), then along the height, for a group of
    /// signals side by side in one product.
    pub(super) fn analyse_width_first(&self, x: &[f32], count: usize, p: &Positions) -> Vec<f32> {
        let (r, c, fw, nh) = (p.rows.len(), p.cols.len(), self.fw, self.nh);
        let (wre, wim) = real_analysis(&p.cols, self.nw);
        let h = complex_analysis(&p.rows, nh);
        let group = self.group(count);
        let mut out = vec![0.0f32; count * self.spectrum()];
        out.par_chunks_mut(group * self.spectrum())
            .zip(x.par_chunks(group * r * c))
            .for_each(|(out, x)| {
                let cols = x.len() / (r * c) * fw;
                // [real parts of r rows; imaginary parts] × (signal, bin).
                let mut half = vec![0.0f32; 2 * r * cols];
                for (k, x) in x.chunks(r * c).enumerate() {
                    let x = MatRef::new(x, r, c, c, 1);
                    let (re, im) = half.split_at_mut(r * cols);
                    matmul(
                        Mat::new(&mut re[k * fw..], r, fw, cols, 1),
                        false,
                        x,
                        MatRef::new(&wre, c, fw, fw, 1),
                    );
                    matmul(
                        Mat::new(&mut im[k * fw..], r, fw, cols, 1),
                        false,
                        x,
                        MatRef::new(&wim, c, fw, fw, 1),
                    );
                }
                let mut full = vec![0.0f32; 2 * nh * cols];
                matmul(
                    Mat::new(&mut full, 2 * nh, cols, cols, 1),
                    false,
                    MatRef::new(&h, 2 * nh, 2 * r, 2 * r, 1),
                    MatRef::new(&half, 2 * r, cols, cols, 1),
                );
                for (k, spec) in out.chunks_mut(self.spectrum()).enumerate() {
                    for (row, dst) in spec.chunks_mut(fw).enumerate() {
                        dst.copy_from_slice(&full[row * cols + k * fw..][..fw]);
                    }
                }
            });
        out
    }

    /// The real signals at `p` [count][rows × cols] of `count` spectra:
    /// along the height first (into real and imaginary parts stacked), a
    /// group of spectra side by side in one product, then each signal's
    /// real synthesis along the width, scaled by 1/(nh·nw).
    pub(super) fn synthesise(&self, spectra: &[f32], count: usize, p: &Positions) -> Vec<f32> {
        assert_eq!(
            spectra.len(),
            count * self.spectrum(),
            "conv spectra's size"
        );
        let (r, c, fw, nh) = (p.rows.len(), p.cols.len(), self.fw, self.nh);
        let h = complex_synthesis(&p.rows, nh);
        let scale = 1.0 / (nh as f64 * self.nw as f64);
        let (wre, wim) = real_synthesis(&p.cols, self.nw, scale);
        let group = self.group(count);
        let mut out = vec![0.0f32; count * r * c];
        out.par_chunks_mut(group * r * c)
            .zip(spectra.par_chunks(group * self.spectrum()))
            .for_each(|(y, spectra)| {
                let cols = y.len() / (r * c) * fw;
                let mut full = vec![0.0f32; 2 * nh * cols];
                for (k, spec) in spectra.chunks(self.spectrum()).enumerate() {
                    for (row, src) in spec.chunks(fw).enumerate() {
                        full[row * cols + k * fw..][..fw].copy_from_slice(src);
                    }
                }
                let mut half = vec![0.0f32; 2 * r * cols];
                matmul(
                    Mat::new(&mut half, 2 * r, cols, cols, 1),
                    false,
                    MatRef::new(&h, 2 * r, 2 * nh, 2 * nh, 1),
                    MatRef::new(&full, 2 * nh, cols, cols, 1),
                );
                let (re, im) = half.split_at(r * cols);
                for (k, y) in y.chunks_mut(r * c).enumerate() {
                    let (re, im) = (&re[k * fw..], &im[k * fw..]);
                    matmul(
                        Mat::new(y, r, c, c, 1),
                        false,
                        MatRef::new(re, r, fw, cols, 1),
                        MatRef::new(&wre, fw, c, c, 1),
                    );
                    matmul(
                        Mat::new(y, r, c, c, 1),
                        true,
                        MatRef::new(im, r, fw, cols, 1),
                        MatRef::new(&wim, fw, c, c, 1),
                    );
                }
            });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{ds2_second, operands};
    use super::*;
    use crate::rng::Rng;

    /// Both orders of analysis give the same spectra but for rounding,
    /// on a kernel and an input map.
    #[test]
    fn both_orders_of_analysis_agree() {
        let g = ds2_second(2, 3, 4, 23, 14);
        let p = Plan::new(&g);
        let (x, w, _) = operands(&g, &mut Rng::new(4));
        for (signals, count, at) in [(&w, g.co * g.ci, &p.kernel), (&x, g.b * g.ci, &p.input)] {
            let a = p.analyse_height_first(signals, count, at);
            let b = p.analyse_width_first(signals, count, at);
            let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (i, (u, v)) in a.iter().zip(&b).enumerate() {
                assert!((u - v).abs() <= 1e-5 * scale, "bin {i}: {u} vs {v}");
            }
        }
        // On DS2's bench shapes the kernel goes height first, the input
        // map width first.
        let p = Plan::new(&ConvGeom {
            b: 8,
            h: 81,
            w: 150,
            ..g
        });
        let (wf, hf) = p.analysis_orders(&p.kernel);
        assert!(hf < wf, "a kernel is cheaper height first");
        let (wf, hf) = p.analysis_orders(&p.input);
        assert!(wf < hf, "an input map is cheaper width first");
    }
}
