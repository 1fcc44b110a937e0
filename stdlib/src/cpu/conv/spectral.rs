//! 2-D convolution through spectra: for DS2's large kernels (21×11 over
//! 32 channels) a product of spectra per frequency bin replaces kh·kw
//! multiply-adds per output. A DS2-small training step's second
//! convolution then takes 5.5G multiply-adds instead of 34.9G.
//!
//! The transforms (`spectra`) are matrices (`cpu::dft`) of length n = h + 2·ph along
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
//! products over the portable kernels, and the products of spectra (`bins`) are
//! each bin's own chain of fused multiply-adds, the same on every vector
//! width. So, like the direct path, the bits do not depend on the CPU or
//! the thread count. They differ from the direct path's in the last bits
//! (other sums; the tests hold both within 1e-4 of burn's conv2d).

use super::bins::products;
use super::geom::ConvGeom;
use super::spectra::Plan;

/// The weights' spectra may hold at most this many floats (512 MiB): the
/// spectral path is not taken for larger ones. DS2's second convolution
/// stays within it up to about 2,500 input frames (25 s).
const MAX_WEIGHT_SPECTRA: usize = 1 << 27;

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

/// Floats of the spectra a training forward pass keeps: per batch item
/// (the input's), and once (the weights').
pub(super) fn kept_floats(g: &ConvGeom) -> (usize, usize) {
    let spectrum = Plan::new(g).spectrum();
    (g.ci * spectrum, g.co * g.ci * spectrum)
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
    let ys = products(p.nh * p.fw, (&ws, &xs), g.b * g.co, g.ci, true, |o, t| {
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
    let dws = products(p.nh * p.fw, (&gs, &xs), g.co * g.ci, g.b, true, |o, b| {
        let (co, ci) = (o / g.ci, o % g.ci);
        (b * g.co + co, b * g.ci + ci)
    });
    drop(xs);
    let dw = p.synthesise(&dws, g.co * g.ci, &p.kernel);
    let dx = need_dx.then(|| {
        let ws = ws.unwrap_or_else(|| p.analyse(w, g.co * g.ci, &p.kernel));
        let dxs = products(p.nh * p.fw, (&ws, &gs), g.b * g.ci, g.co, false, |o, co| {
            let (b, ci) = (o / g.ci, o % g.ci);
            (co * g.ci + ci, b * g.co + co)
        });
        p.synthesise(&dxs, g.b * g.ci, &p.input)
    });
    (dw, dx)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{burn_reference, close, ds2_second, odd_shapes, operands};
    use super::*;
    use crate::rng::Rng;

    /// Forward and both gradients against burn's conv2d and its autodiff,
    /// on the odd shapes and DS2's second convolution: strides of 1, 2
    /// and 3, odd and even transform lengths.
    #[test]
    fn matches_burn_conv2d_and_its_gradients() {
        let mut rng = Rng::new(5);
        for g in odd_shapes()
            .into_iter()
            .chain([ds2_second(2, 3, 4, 23, 14)])
        {
            let (x, w, gy) = operands(&g, &mut rng);
            let (y_ref, dw_ref, dx_ref) = burn_reference(&g, &x, &w, &gy);
            let (y, saved) = forward(&g, &x, &w, true);
            close(&y, &y_ref, "forward");
            // Kept spectra stand in for the input and weights.
            let kept = backward(&g, &[], &[], &gy, true, saved);
            let again = backward(&g, &x, &w, &gy, true, None);
            assert!(kept == again, "kept spectra give other bits");
            close(&kept.0, &dw_ref, "weight gradient");
            close(&kept.1.unwrap(), &dx_ref, "input gradient");
            assert!(backward(&g, &x, &w, &gy, false, None).1.is_none());
        }
    }

    /// DS2's second convolution on its bench shapes takes the spectral
    /// path; its first (one input channel, a large map) and a 3×3 kernel
    /// stay direct.
    #[test]
    fn the_cost_picks_spectra_for_large_kernels_over_many_channels() {
        let conv2 = ds2_second(8, 32, 32, 81, 150);
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
        let g = ds2_second(2, 3, 4, 23, 14);
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
