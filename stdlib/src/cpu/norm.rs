//! Batch norm per channel followed by a clamp (DS2's Hardtanh(0, 20)), on
//! the host, over a convolution's output [b, c, n], with its backward pass
//! written out.
//!
//! Why: on flex the norm and the clamp are a dozen whole-map tensor ops
//! (means, differences, squares, the division, the scale, relu, the clamp,
//! and each one's backward), each allocating a fresh map and running on
//! one thread; for the DS2-small train step's two convolution maps (4.7M
//! values) they cost about 60 ms of an 0.8 s step. Here they are two reads
//! of the map for the statistics and one pass that writes the output,
//! forward, and two passes backward, across threads.
//!
//! Results do not depend on the thread count or the vector width: every
//! channel's sums run in a fixed order (sixteen interleaved partial sums
//! per row of n values, added pairwise, then the rows in batch order), and
//! Rust never fuses or reorders float operations, so the compiler may
//! vectorize the loops to any width with the same bits.

use rayon::prelude::*;

/// The norm's ε, as `nn::params::NORM_EPS`.
const EPS: f32 = 1e-5;

/// Partial sums per row: a multiple of every vector width (4, 8 or 16
/// floats), so each lane of the vectorized loop holds whole partial sums.
const LANES: usize = 16;

/// The shape a norm runs over: `b` items, `c` channels, `n` positions per
/// item and channel, stored [b, c, n].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NormGeom {
    pub b: usize,
    pub c: usize,
    pub n: usize,
}

/// The clamp after the norm: values below `lo` become `lo`, above `hi`
/// become `hi`; the gradient passes where the value is strictly between.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clamp {
    pub lo: f32,
    pub hi: f32,
}

impl Clamp {
    /// `x` clamped, NaN staying NaN; written as two selects so that the
    /// loops around it vectorize (`f32::clamp` kept them scalar).
    #[inline(always)]
    fn apply(self, x: f32) -> f32 {
        let x = if x < self.lo { self.lo } else { x };
        if x > self.hi {
            self.hi
        } else {
            x
        }
    }
}

/// Per-channel affine parameters: the scale γ and the shift β.
pub struct Affine {
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
}

/// What a training forward pass keeps for the backward pass and reports
/// for the running statistics.
pub struct NormSaved {
    /// The normalised map (x − mean) / √(var + ε), [b, c, n].
    pub xhat: Vec<f32>,
    /// 1 / √(var + ε) per channel.
    pub inv_std: Vec<f32>,
    /// The batch mean and (biased) variance per channel.
    pub mean: Vec<f32>,
    pub var: Vec<f32>,
}

/// Gradients of a norm with its clamp: of the input map and of γ and β.
pub struct NormGrads {
    pub dx: Vec<f32>,
    pub dgamma: Vec<f32>,
    pub dbeta: Vec<f32>,
}

/// Σ f(x) over `xs` in the fixed order described in the module doc.
#[inline(always)]
fn row_sum(xs: &[f32], f: impl Fn(usize, f32) -> f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    let mut at = 0;
    for chunk in &mut chunks {
        for (j, (a, x)) in acc.iter_mut().zip(chunk).enumerate() {
            *a += f(at + j, *x);
        }
        at += LANES;
    }
    for (j, (a, x)) in acc.iter_mut().zip(chunks.remainder()).enumerate() {
        *a += f(at + j, *x);
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for j in 0..width {
            acc[j] += acc[j + width];
        }
    }
    acc[0]
}

/// 1 / √(var + ε).
fn inv_std(var: f32) -> f32 {
    1.0 / (var + EPS).sqrt()
}

/// One row of channel `ch`'s output from its normalised values `xh`:
/// scaled, shifted and clamped. `forward_train` and `output` both call it,
/// which is what makes `output`'s bits `forward_train`'s.
#[inline(always)]
fn clamped_row(xh: &[f32], affine: &Affine, ch: usize, clamp: Clamp, out: &mut [f32]) {
    let (g, b) = (affine.gamma[ch], affine.beta[ch]);
    for (o, xh) in out.iter_mut().zip(xh) {
        *o = clamp.apply(*xh * g + b);
    }
}

impl NormGeom {
    fn count(&self) -> f32 {
        (self.b * self.n) as f32
    }

    /// Σ over channel `ch`'s rows of `f(row index in the map, row)`'s row
    /// sums, in batch order.
    fn channel_sum(&self, ch: usize, f: impl Fn(usize) -> f32) -> f32 {
        (0..self.b).fold(0.0, |s, i| s + f((i * self.c + ch) * self.n))
    }

    /// The normalised, scaled and clamped map for a training step, from
    /// the batch's statistics: the output and what the backward pass keeps.
    pub fn forward_train(
        &self,
        x: Vec<f32>,
        affine: &Affine,
        clamp: Clamp,
    ) -> (Vec<f32>, NormSaved) {
        let (c, n) = (self.c, self.n);
        assert_eq!(x.len(), self.b * c * n, "norm input size");
        let stats: Vec<(f32, f32)> = (0..c)
            .into_par_iter()
            .map(|ch| {
                let mean =
                    self.channel_sum(ch, |at| row_sum(&x[at..at + n], |_, v| v)) / self.count();
                let var = self.channel_sum(ch, |at| {
                    row_sum(&x[at..at + n], |_, v| (v - mean) * (v - mean))
                }) / self.count();
                (mean, var)
            })
            .collect();
        let (mean, var): (Vec<f32>, Vec<f32>) = stats.into_iter().unzip();
        let inv_std: Vec<f32> = var.iter().map(|v| inv_std(*v)).collect();
        let mut xhat = x;
        let mut out = vec![0.0f32; xhat.len()];
        xhat.par_chunks_mut(n)
            .zip(out.par_chunks_mut(n))
            .enumerate()
            .for_each(|(row, (xh, o))| {
                let ch = row % c;
                let (m, s) = (mean[ch], inv_std[ch]);
                for xh in xh.iter_mut() {
                    *xh = (*xh - m) * s;
                }
                clamped_row(xh, affine, ch, clamp, o);
            });
        let saved = NormSaved {
            xhat,
            inv_std,
            mean,
            var,
        };
        (out, saved)
    }

    /// The map normalised by running statistics (inference), scaled and
    /// clamped, in place.
    pub fn forward_eval(
        &self,
        x: &mut [f32],
        mean: &[f32],
        var: &[f32],
        affine: &Affine,
        clamp: Clamp,
    ) {
        let (c, n) = (self.c, self.n);
        assert_eq!(x.len(), self.b * c * n, "norm input size");
        x.par_chunks_mut(n).enumerate().for_each(|(row, xs)| {
            let ch = row % c;
            let s = inv_std(var[ch]);
            let (m, g, b) = (mean[ch], affine.gamma[ch], affine.beta[ch]);
            for x in xs {
                *x = clamp.apply((*x - m) * s * g + b);
            }
        });
    }

    /// The clamped output `forward_train` returned, from what it saved
    /// (the same row kernel, so the same bits): the backward pass computes
    /// a block's output again rather than keeping it.
    pub fn output(&self, saved: &NormSaved, affine: &Affine, clamp: Clamp) -> Vec<f32> {
        let (c, n) = (self.c, self.n);
        let mut out = vec![0.0f32; saved.xhat.len()];
        out.par_chunks_mut(n)
            .zip(saved.xhat.par_chunks(n))
            .enumerate()
            .for_each(|(row, (o, xh))| clamped_row(xh, affine, row % c, clamp, o));
        out
    }

    /// Gradients given the output's gradient `gy` (overwritten by the
    /// input's gradient), the saved pass and the affine parameters.
    pub fn backward(
        &self,
        mut gy: Vec<f32>,
        saved: &NormSaved,
        affine: &Affine,
        clamp: Clamp,
    ) -> NormGrads {
        let (c, n) = (self.c, self.n);
        assert_eq!(gy.len(), self.b * c * n, "norm output gradient size");
        let xhat = &saved.xhat;
        // The clamp's gradient: the output's where the value was inside.
        gy.par_chunks_mut(n).enumerate().for_each(|(row, g)| {
            let ch = row % c;
            let (gamma, beta) = (affine.gamma[ch], affine.beta[ch]);
            let xh = &xhat[row * n..][..n];
            for (g, xh) in g.iter_mut().zip(xh) {
                let z = xh * gamma + beta;
                let inside = (z > clamp.lo) & (z < clamp.hi);
                *g = if inside { *g } else { 0.0 };
            }
        });
        let sums: Vec<(f32, f32)> = (0..c)
            .into_par_iter()
            .map(|ch| {
                let dbeta = self.channel_sum(ch, |at| row_sum(&gy[at..at + n], |_, g| g));
                let dgamma =
                    self.channel_sum(ch, |at| row_sum(&gy[at..at + n], |j, g| g * xhat[at + j]));
                (dgamma, dbeta)
            })
            .collect();
        let (dgamma, dbeta): (Vec<f32>, Vec<f32>) = sums.into_iter().unzip();
        let count = self.count();
        gy.par_chunks_mut(n).enumerate().for_each(|(row, g)| {
            let ch = row % c;
            let k = affine.gamma[ch] * saved.inv_std[ch] / count;
            let (db, dg) = (dbeta[ch], dgamma[ch]);
            let xh = &xhat[row * n..][..n];
            for (g, xh) in g.iter_mut().zip(xh) {
                *g = k * (count * *g - db - *xh * dg);
            }
        });
        NormGrads {
            dx: gy,
            dgamma,
            dbeta,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::on_threads::on_threads;
    use crate::rng::Rng;

    fn case(rng: &mut Rng) -> (NormGeom, Vec<f32>, Affine, Vec<f32>) {
        // n not a multiple of the 16 partial sums, values around the clamp.
        let g = NormGeom { b: 3, c: 4, n: 37 };
        let len = g.b * g.c * g.n;
        let x = (0..len).map(|_| rng.uniform(-3.0, 5.0)).collect();
        let affine = Affine {
            gamma: (0..g.c).map(|_| rng.uniform(0.5, 2.0)).collect(),
            beta: (0..g.c).map(|_| rng.uniform(-0.5, 0.5)).collect(),
        };
        let gy = (0..len).map(|_| rng.uniform(-1.0, 1.0)).collect();
        (g, x, affine, gy)
    }

    /// The norm, the clamp and their gradients against the formulas in
    /// f64, channel by channel; and `output` gives the forward's bits.
    #[test]
    fn matches_the_formulas_in_f64() {
        let (g, x, affine, gy) = case(&mut Rng::new(11));
        let clamp = Clamp { lo: 0.0, hi: 1.5 };
        let (out, saved) = g.forward_train(x.clone(), &affine, clamp);
        assert_eq!(g.output(&saved, &affine, clamp), out);
        let grads = g.backward(gy.clone(), &saved, &affine, clamp);
        let count = (g.b * g.n) as f64;
        for ch in 0..g.c {
            let at: Vec<usize> = (0..g.b)
                .flat_map(|i| ((i * g.c + ch) * g.n..).take(g.n))
                .collect();
            let mean = at.iter().map(|&k| x[k] as f64).sum::<f64>() / count;
            let var = at
                .iter()
                .map(|&k| (x[k] as f64 - mean).powi(2))
                .sum::<f64>()
                / count;
            let s = 1.0 / (var + EPS as f64).sqrt();
            let (ga, be) = (affine.gamma[ch] as f64, affine.beta[ch] as f64);
            let xh = |k: usize| (x[k] as f64 - mean) * s;
            let inside = |k: usize| {
                let z = xh(k) * ga + be;
                z > 0.0 && z < 1.5
            };
            let gz = |k: usize| if inside(k) { gy[k] as f64 } else { 0.0 };
            let dbeta: f64 = at.iter().map(|&k| gz(k)).sum();
            let dgamma: f64 = at.iter().map(|&k| gz(k) * xh(k)).sum();
            let near = |a: f32, b: f64, what: &str| {
                assert!(
                    (a as f64 - b).abs() <= 1e-4 * (1.0 + b.abs()),
                    "{what}: {a} vs {b}"
                );
            };
            near(saved.mean[ch], mean, "mean");
            near(saved.var[ch], var, "variance");
            near(grads.dbeta[ch], dbeta, "β gradient");
            near(grads.dgamma[ch], dgamma, "γ gradient");
            for &k in &at {
                near(out[k], (xh(k) * ga + be).clamp(0.0, 1.5), "output");
                let dx = ga * s / count * (count * gz(k) - dbeta - xh(k) * dgamma);
                near(grads.dx[k], dx, "input gradient");
            }
        }
        // Inference with the batch's statistics gives the training output.
        let mut eval = x;
        g.forward_eval(&mut eval, &saved.mean, &saved.var, &affine, clamp);
        for (a, b) in eval.iter().zip(&out) {
            assert!((a - b).abs() <= 1e-5, "inference {a} vs training {b}");
        }
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let (g, x, affine, gy) = case(&mut Rng::new(12));
        let clamp = Clamp { lo: 0.0, hi: 20.0 };
        let run = |threads: usize| {
            on_threads(threads, || {
                let (out, saved) = g.forward_train(x.clone(), &affine, clamp);
                let grads = g.backward(gy.clone(), &saved, &affine, clamp);
                (out, saved.xhat, grads.dx, grads.dgamma, grads.dbeta)
            })
        };
        let one = run(1);
        for threads in [2, 3] {
            assert!(one == run(threads), "{threads} threads differ from 1");
        }
    }
}
