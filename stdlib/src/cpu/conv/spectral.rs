//! 2-D convolution through spectra: for DS2's large kernels (21×11 over
//! 32 channels) a product of spectra per frequency bin replaces kh·kw
//! multiply-adds per output, which cuts the work about fourfold.
//!
//! The transforms are matrices (`cpu::dft`) of length n = h + 2·ph along
//! the height (complex, every bin) and w + 2·pw along the width (real,
//! half the bins), the padded input's size: then no product wraps around,
//! and the zero padding, the stride and the crop are in the matrices'
//! sample positions, not in copies. Input samples sit at t = i + p, the
//! kernel's at t = k, the outputs (and their gradients) at t = o·s:
//!
//! - forward: Y = conj(W)·X per bin, summed over input channels, then
//!   synthesised at the output positions;
//! - input gradient: dX = W·G, summed over output channels, synthesised
//!   at the input positions;
//! - weight gradient: dW = conj(G)·X, summed over the batch in order,
//!   synthesised at the kernel positions.
//!
//! Every sum runs in a fixed order: the transforms are one-thread gemm
//! products over the portable kernels, and the products of spectra are
//! each bin's own chain of fused multiply-adds, the same on every vector
//! width. So, like the direct path, the bits do not depend on the CPU or
//! the thread count. They do differ from the direct path's (other sums,
//! about 1e-6 relative).

use super::geom::ConvGeom;
use crate::cpu::dft::{
    complex_analysis, complex_synthesis, half_bins, real_analysis, real_synthesis,
};
use crate::cpu::matrix::{matmul, Mat, MatRef};
use rayon::prelude::*;

/// The weights' spectra may hold at most this many floats (512 MiB): the
/// spectral path is not taken for larger ones. DS2's second convolution
/// stays within it up to about 2,500 input frames (25 s).
const MAX_WEIGHT_SPECTRA: usize = 1 << 27;

/// Columns of the height's transform products (see `Plan::group`).
const GROUP_COLUMNS: usize = 2048;

/// Bins per task of the products of spectra: one task's operands (every
/// spectrum's stretch of these bins) stay in a core's L2 cache.
const CHUNK: usize = 64;

/// Sample positions of one 2-D signal: rows along the height, columns
/// along the width.
struct Positions {
    rows: Vec<usize>,
    cols: Vec<usize>,
}

/// The transform sizes of a convolution and the positions of its three
/// kinds of signal.
struct Plan {
    /// Transform lengths along the height and width.
    nh: usize,
    nw: usize,
    /// Half-spectrum bins along the width.
    fw: usize,
    input: Positions,
    kernel: Positions,
    output: Positions,
}

impl Plan {
    fn new(g: &ConvGeom) -> Plan {
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
    fn spectrum(&self) -> usize {
        2 * self.nh * self.fw
    }

    /// Multiply-adds of analysing `count` signals at `p`.
    fn analysis_cost(&self, count: usize, p: &Positions) -> f64 {
        let (width_first, height_first) = self.analysis_orders(p);
        count as f64 * width_first.min(height_first)
    }

    /// Multiply-adds of analysing one signal at `p` width first and
    /// height first. Width first transforms the real rows into fw bins,
    /// then each bin's column of rows×2 into nh×2 values; height first
    /// transforms the real columns into nh×2 values, then each of those
    /// rows of cols values into fw×2. A short signal (a kernel) is
    /// cheaper height first, a long one (an input map) width first.
    fn analysis_orders(&self, p: &Positions) -> (f64, f64) {
        let (r, c) = (p.rows.len() as f64, p.cols.len() as f64);
        let (nh, fw) = (self.nh as f64, self.fw as f64);
        (
            r * c * 2.0 * fw + 2.0 * nh * 2.0 * r * fw,
            2.0 * nh * r * c + 2.0 * nh * 2.0 * c * fw,
        )
    }

    /// Multiply-adds of synthesising `count` signals at `p`.
    fn synthesis_cost(&self, count: usize, p: &Positions) -> f64 {
        let (r, c) = (p.rows.len() as f64, p.cols.len() as f64);
        let (nh, fw) = (self.nh as f64, self.fw as f64);
        count as f64 * (2.0 * r * 2.0 * nh * fw + 2.0 * r * fw * c)
    }

    /// Signals transformed together: enough that the height's products
    /// are about `GROUP_COLUMNS` columns wide, where gemm runs near its
    /// best (one signal's would be fw ≈ 80 columns).
    fn group(&self) -> usize {
        (GROUP_COLUMNS / self.fw).max(1)
    }

    /// The spectra of `count` real signals `x` [count][rows × cols] at
    /// `p`: [count][spectrum], in the cheaper order.
    fn analyse(&self, x: &[f32], count: usize, p: &Positions) -> Vec<f32> {
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
    fn analyse_height_first(&self, x: &[f32], count: usize, p: &Positions) -> Vec<f32> {
        let (r, c, fw, nh) = (p.rows.len(), p.cols.len(), self.fw, self.nh);
        let (wre, wim) = real_analysis(&p.cols, self.nw);
        let h = complex_analysis(&p.rows, nh);
        // A real signal's transform: the left half [cos; −sin] of the
        // complex one.
        let h = MatRef::new(&h, 2 * nh, r, 2 * r, 1);
        let group = self.group();
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
    fn analyse_width_first(&self, x: &[f32], count: usize, p: &Positions) -> Vec<f32> {
        let (r, c, fw, nh) = (p.rows.len(), p.cols.len(), self.fw, self.nh);
        let (wre, wim) = real_analysis(&p.cols, self.nw);
        let h = complex_analysis(&p.rows, nh);
        let group = self.group();
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
    fn synthesise(&self, spectra: &[f32], count: usize, p: &Positions) -> Vec<f32> {
        let (r, c, fw, nh) = (p.rows.len(), p.cols.len(), self.fw, self.nh);
        let h = complex_synthesis(&p.rows, nh);
        let scale = 1.0 / (nh as f64 * self.nw as f64);
        let (wre, wim) = real_synthesis(&p.cols, self.nw, scale);
        let group = self.group();
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

/// Whether the spectral path takes fewer multiply-adds than the direct
/// one for a training step's forward and backward passes (and its
/// weights' spectra stay within `MAX_WEIGHT_SPECTRA`). A function of the
/// shapes only, so a run takes the same path on every machine.
pub(super) fn cheaper(g: &ConvGeom) -> bool {
    if [g.b, g.ci, g.co, g.h, g.w].contains(&0) {
        return false;
    }
    let p = Plan::new(g);
    g.co * g.ci * p.spectrum() <= MAX_WEIGHT_SPECTRA
        && multiply_adds(g, true) < g.direct_multiply_adds(true)
}

/// Multiply-adds of the spectral path's training step: the forward pass
/// (analysing the input and the weights, whose spectra it keeps), the
/// weight gradient and, when `need_dx`, the input gradient. A product of
/// complex numbers counts as four.
pub(super) fn multiply_adds(g: &ConvGeom, need_dx: bool) -> f64 {
    let p = Plan::new(g);
    let (b, ci, co) = (g.b, g.ci, g.co);
    let passes = if need_dx { 3.0 } else { 2.0 };
    let products = passes * (b * ci * co) as f64 * (p.nh * p.fw) as f64 * 4.0;
    let dx = if need_dx {
        p.synthesis_cost(b * ci, &p.input)
    } else {
        0.0
    };
    products
        + p.analysis_cost(b * ci, &p.input)
        + p.analysis_cost(co * ci, &p.kernel)
        + p.analysis_cost(b * co, &p.output)
        + p.synthesis_cost(b * co, &p.output)
        + p.synthesis_cost(co * ci, &p.kernel)
        + dx
}

/// The spectra a training forward pass keeps for its backward pass: the
/// input's and the weights'.
pub(super) struct Saved {
    xs: Vec<f32>,
    ws: Vec<f32>,
}

/// The convolution of `x` [b, ci, h, w] by `w` [co, ci, kh, kw]:
/// [b, co, oh, ow], and the spectra when `keep`.
pub(super) fn forward(g: &ConvGeom, x: &[f32], w: &[f32], keep: bool) -> (Vec<f32>, Option<Saved>) {
    let p = Plan::new(g);
    let xs = p.analyse(x, g.b * g.ci, &p.input);
    let ws = p.analyse(w, g.co * g.ci, &p.kernel);
    let ys = products(&p, (&ws, &xs), g.b * g.co, g.ci, true, |o, t| {
        let (b, co) = (o / g.co, o % g.co);
        (co * g.ci + t, b * g.ci + t)
    });
    let y = p.synthesise(&ys, g.b * g.co, &p.output);
    (y, keep.then_some(Saved { xs, ws }))
}

/// Gradients of the weight and (when `need_dx`) of the input, given the
/// output gradient `gy` [b, co, oh, ow], from the spectra the forward
/// pass kept (or those of `x` and `w` again).
pub(super) fn backward(
    g: &ConvGeom,
    x: &[f32],
    w: &[f32],
    gy: &[f32],
    need_dx: bool,
    saved: Option<Saved>,
) -> (Vec<f32>, Option<Vec<f32>>) {
    let p = Plan::new(g);
    let (xs, ws) = match saved {
        Some(Saved { xs, ws }) => (xs, Some(ws)),
        None => (p.analyse(x, g.b * g.ci, &p.input), None),
    };
    let gs = p.analyse(gy, g.b * g.co, &p.output);
    let dws = products(&p, (&gs, &xs), g.co * g.ci, g.b, true, |o, b| {
        let (co, ci) = (o / g.ci, o % g.ci);
        (b * g.co + co, b * g.ci + ci)
    });
    drop(xs);
    let dw = p.synthesise(&dws, g.co * g.ci, &p.kernel);
    let dx = need_dx.then(|| {
        let ws = ws.unwrap_or_else(|| p.analyse(w, g.co * g.ci, &p.kernel));
        let dxs = products(&p, (&ws, &gs), g.b * g.ci, g.co, false, |o, co| {
            let (b, ci) = (o / g.ci, o % g.ci);
            (co * g.ci + ci, b * g.co + co)
        });
        p.synthesise(&dxs, g.b * g.ci, &p.input)
    });
    (dw, dx)
}

/// `outs` spectra, output o being Σ over t < `terms` (in order) of
/// a[i]·b[j], or conj(a[i])·b[j] when `conj`, where (i, j) = `term(o, t)`
/// index the spectra `a` and `b`. Tasks split the bins: each first copies
/// its stretch of every spectrum side by side (read in place, stretches
/// a spectrum apart share cache sets and evict each other).
fn products(
    p: &Plan,
    (a, b): (&[f32], &[f32]),
    outs: usize,
    terms: usize,
    conj: bool,
    term: impl Fn(usize, usize) -> (usize, usize) + Sync,
) -> Vec<f32> {
    let (bins, len) = (p.nh * p.fw, p.spectrum());
    let chunks: Vec<Vec<f32>> = (0..bins.div_ceil(CHUNK))
        .into_par_iter()
        .map(|k| {
            let (lo, n) = (k * CHUNK, CHUNK.min(bins - k * CHUNK));
            // Each spectrum's stretch: real parts, then imaginary parts.
            let stretches = |spectra: &[f32]| -> Vec<f32> {
                let mut out = Vec::with_capacity(spectra.len() / len * 2 * n);
                for spec in spectra.chunks(len) {
                    out.extend_from_slice(&spec[lo..lo + n]);
                    out.extend_from_slice(&spec[bins + lo..bins + lo + n]);
                }
                out
            };
            let (a, b) = (stretches(a), stretches(b));
            let mut out = vec![0.0f32; outs * 2 * n];
            let mut operands = Vec::with_capacity(terms);
            for (o, acc) in out.chunks_mut(2 * n).enumerate() {
                let (re, im) = acc.split_at_mut(n);
                operands.clear();
                operands.extend((0..terms).map(|t| {
                    let (i, j) = term(o, t);
                    let (a, b) = (&a[i * 2 * n..][..2 * n], &b[j * 2 * n..][..2 * n]);
                    [&a[..n], &a[n..], &b[..n], &b[n..]]
                }));
                multiply_add(re, im, &operands, conj);
            }
            out
        })
        .collect();
    let mut out = vec![0.0f32; outs * len];
    out.par_chunks_mut(len).enumerate().for_each(|(o, spec)| {
        for (k, chunk) in chunks.iter().enumerate() {
            let (lo, n) = (k * CHUNK, CHUNK.min(bins - k * CHUNK));
            let src = &chunk[o * 2 * n..][..2 * n];
            spec[lo..lo + n].copy_from_slice(&src[..n]);
            spec[bins + lo..bins + lo + n].copy_from_slice(&src[n..]);
        }
    });
    out
}

/// The terms of one output's stretch of bins: a's real and imaginary
/// parts, then b's.
type Terms<'a> = [[&'a [f32]; 4]];

/// re + i·im += Σ_t a_t·b_t (or conj(a_t)·b_t) bin by bin: each part of
/// each term two fused multiply-adds in a fixed order, on the widest
/// vectors the CPU has (every width gives the same bits).
fn multiply_add(re: &mut [f32], im: &mut [f32], terms: &Terms, conj: bool) {
    #[cfg(target_arch = "x86_64")]
    match gemm::isa() {
        // SAFETY: `isa` names only instruction sets this CPU has.
        gemm::Isa::Avx512 => return unsafe { multiply_add_avx512(re, im, terms, conj) },
        gemm::Isa::Avx2 => return unsafe { multiply_add_avx2(re, im, terms, conj) },
        gemm::Isa::Scalar => {}
    }
    multiply_add_lanes(re, im, terms, conj)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn multiply_add_avx512(re: &mut [f32], im: &mut [f32], terms: &Terms, conj: bool) {
    multiply_add_lanes(re, im, terms, conj)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn multiply_add_avx2(re: &mut [f32], im: &mut [f32], terms: &Terms, conj: bool) {
    multiply_add_lanes(re, im, terms, conj)
}

/// The body, compiled once per instruction set above: blocks of 64 bins
/// (eight independent chains of fused multiply-adds, enough to hide their
/// latency), then of 16, then single bins.
#[inline(always)]
fn multiply_add_lanes(re: &mut [f32], im: &mut [f32], terms: &Terms, conj: bool) {
    let sign = if conj { 1.0f32 } else { -1.0 };
    let mut v = 0;
    v = lane_blocks::<64>(re, im, terms, sign, v);
    v = lane_blocks::<16>(re, im, terms, sign, v);
    lane_blocks::<1>(re, im, terms, sign, v);
}

/// Bins from `v` on in blocks of `L`, while whole blocks fit; returns
/// where it stopped. conj(a)·b = (ar·br + ai·bi) + i(ar·bi − ai·br) with
/// sign 1, a·b = (ar·br − ai·bi) + i(ar·bi + ai·br) with sign −1.
#[inline(always)]
fn lane_blocks<const L: usize>(
    re: &mut [f32],
    im: &mut [f32],
    terms: &Terms,
    sign: f32,
    mut v: usize,
) -> usize {
    while v + L <= re.len() {
        let mut r: [f32; L] = re[v..v + L].try_into().unwrap();
        let mut i: [f32; L] = im[v..v + L].try_into().unwrap();
        for [ar, ai, br, bi] in terms {
            let (ar, ai, br, bi) = (&ar[v..v + L], &ai[v..v + L], &br[v..v + L], &bi[v..v + L]);
            for l in 0..L {
                r[l] = ar[l].mul_add(br[l], r[l]);
                r[l] = (sign * ai[l]).mul_add(bi[l], r[l]);
                i[l] = ar[l].mul_add(bi[l], i[l]);
                i[l] = (-sign * ai[l]).mul_add(br[l], i[l]);
            }
        }
        re[v..v + L].copy_from_slice(&r);
        im[v..v + L].copy_from_slice(&i);
        v += L;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{burn_reference, close, operands};
    use super::*;
    use crate::rng::Rng;

    /// Forward and both gradients against burn's conv2d and its autodiff,
    /// with strides of 1, 2 and 3 and odd and even transform lengths.
    #[test]
    fn matches_burn_conv2d_and_its_gradients() {
        let mut rng = Rng::new(5);
        for g in [
            ConvGeom {
                b: 2,
                ci: 3,
                h: 23,
                w: 14,
                co: 4,
                kh: 21,
                kw: 11,
                sh: 2,
                sw: 1,
                ph: 10,
                pw: 5,
            },
            ConvGeom {
                b: 3,
                ci: 1,
                h: 13,
                w: 9,
                co: 2,
                kh: 5,
                kw: 3,
                sh: 2,
                sw: 2,
                ph: 2,
                pw: 1,
            },
            ConvGeom {
                b: 1,
                ci: 2,
                h: 9,
                w: 12,
                co: 3,
                kh: 3,
                kw: 7,
                sh: 3,
                sw: 3,
                ph: 1,
                pw: 4,
            },
        ] {
            let (x, w, gy) = operands(&g, &mut rng);
            let (y_ref, dw_ref, dx_ref) = burn_reference(&g, &x, &w, &gy);
            let (y, saved) = forward(&g, &x, &w, true);
            close(&y, &y_ref, "forward");
            let kept = backward(&g, &x, &w, &gy, true, saved);
            let again = backward(&g, &x, &w, &gy, true, None);
            assert!(kept == again, "kept spectra give other bits");
            close(&kept.0, &dw_ref, "weight gradient");
            close(&kept.1.unwrap(), &dx_ref, "input gradient");
            assert!(backward(&g, &x, &w, &gy, false, None).1.is_none());
        }
    }

    /// Both orders of analysis give the same spectra but for rounding,
    /// on a kernel and an input map.
    #[test]
    fn both_orders_of_analysis_agree() {
        let g = ConvGeom {
            b: 2,
            ci: 3,
            h: 23,
            w: 14,
            co: 4,
            kh: 21,
            kw: 11,
            sh: 2,
            sw: 1,
            ph: 10,
            pw: 5,
        };
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

    /// DS2's second convolution on its bench shapes takes the spectral
    /// path; its first (one input channel, a large map) and a 3×3 kernel
    /// stay direct.
    #[test]
    fn the_cost_picks_spectra_for_large_kernels_over_many_channels() {
        let conv2 = ConvGeom {
            b: 8,
            ci: 32,
            h: 81,
            w: 150,
            co: 32,
            kh: 21,
            kw: 11,
            sh: 2,
            sw: 1,
            ph: 10,
            pw: 5,
        };
        let conv1 = ConvGeom {
            b: 8,
            ci: 1,
            h: 161,
            w: 300,
            co: 32,
            kh: 41,
            kw: 11,
            sh: 2,
            sw: 2,
            ph: 20,
            pw: 5,
        };
        let small = ConvGeom {
            kh: 3,
            kw: 3,
            ph: 1,
            pw: 1,
            ..conv2
        };
        assert!(cheaper(&conv2));
        assert!(!cheaper(&conv1));
        assert!(!cheaper(&small));
    }

    /// Every instruction set the CPU has gives the same bits.
    #[test]
    fn bits_do_not_depend_on_the_instruction_set() {
        let g = ConvGeom {
            b: 2,
            ci: 3,
            h: 23,
            w: 14,
            co: 4,
            kh: 21,
            kw: 11,
            sh: 2,
            sw: 1,
            ph: 10,
            pw: 5,
        };
        let (x, w, gy) = operands(&g, &mut Rng::new(9));
        let run = || {
            (
                forward(&g, &x, &w, false).0,
                backward(&g, &x, &w, &gy, true, None),
            )
        };
        let mut seen = vec![];
        for isa in gemm::supported_isas() {
            gemm::force_isa(Some(isa)).unwrap();
            seen.push((isa, run()));
        }
        gemm::force_isa(None).unwrap();
        for (isa, r) in &seen[1..] {
            assert!(
                *r == seen[0].1,
                "{} differs from {}",
                isa.name(),
                seen[0].0.name()
            );
        }
    }
}
