//! 2-D convolution on the host for the CPU device, with the backward pass
//! written out, computed one of two ways by the shapes alone (so the same
//! way on every machine): `spectral` (products of spectra) where that
//! takes fewer multiply-adds, as for DS2's 21×11 kernels over 32
//! channels, else `direct` (matrix products over shifted views).
//!
//! Why not burn's `conv2d` on flex: its weight gradient is a convolution of
//! the input by the output gradient, which flex runs by im2col over a
//! "kernel" the size of the output map. Here the weight and input
//! gradients are written out (PyTorch's formulation, or their spectra).

mod bins;
mod direct;
#[cfg(test)]
mod fixtures;
mod geom;
mod spectra;
mod spectral;

pub use geom::ConvGeom;

/// What a training forward pass keeps for its backward pass: on the
/// spectral path the input's and weights' spectra, which the backward
/// pass would otherwise compute again (nothing on the direct path, which
/// reads the input and weights again).
#[derive(Default)]
pub struct ConvSaved(Option<spectral::Saved>);

impl ConvSaved {
    /// Whether the backward pass reads the kept spectra instead of the
    /// input and the weights (which it may then be given empty).
    pub fn replaces_operands(&self) -> bool {
        self.0.is_some()
    }
}

impl ConvGeom {
    /// The convolution of `x` [b, ci, h, w] by `w` [co, ci, kh, kw]:
    /// [b, co, oh, ow].
    pub fn forward(&self, x: &[f32], w: &[f32]) -> Vec<f32> {
        self.forward_keeping(x, w, false).0
    }

    /// The convolution, and (when `keep`) what its backward pass can use.
    pub fn forward_keeping(&self, x: &[f32], w: &[f32], keep: bool) -> (Vec<f32>, ConvSaved) {
        if spectral::cheaper(self) {
            let (y, saved) = spectral::forward(self, x, w, keep);
            (y, ConvSaved(saved))
        } else {
            (self.forward_direct(x, w), ConvSaved::default())
        }
    }

    /// Multiply-adds of a training step's forward and backward passes
    /// (the input gradient only when `need_dx`) on the path these shapes
    /// take: what `lotto bench train` multiplies out into a floor.
    pub fn train_multiply_adds(&self, need_dx: bool) -> f64 {
        if spectral::cheaper(self) {
            spectral::multiply_adds(self, need_dx)
        } else {
            self.direct_multiply_adds(need_dx)
        }
    }

    /// Floats a training forward pass keeps for the backward pass (the
    /// spectra on the spectral path): per batch item, and once for the
    /// step (the weights').
    pub fn kept_floats(&self) -> (usize, usize) {
        if spectral::cheaper(self) {
            spectral::kept_floats(self)
        } else {
            (0, 0)
        }
    }

    /// Gradients of the weight and (when `need_dx`) of the input, given the
    /// output gradient `gy` [b, co, oh, ow] and what the forward pass kept
    /// (`x` and `w` are not read where it `replaces_operands`).
    pub fn backward(
        &self,
        x: &[f32],
        w: &[f32],
        gy: &[f32],
        need_dx: bool,
        saved: ConvSaved,
    ) -> (Vec<f32>, Option<Vec<f32>>) {
        if spectral::cheaper(self) {
            spectral::backward(self, x, w, gy, need_dx, saved.0)
        } else {
            self.backward_direct(x, w, gy, need_dx)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{ds2_second, operands};
    use super::*;
    use crate::cpu::on_threads::on_threads;
    use crate::rng::Rng;

    /// Both paths give the same bits on 1, 2 and 3 threads.
    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let direct = ConvGeom {
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
        let spectral = ds2_second(3, 8, 6, 23, 20);
        assert!(!spectral::cheaper(&direct) && spectral::cheaper(&spectral));
        for g in [direct, spectral] {
            let mut rng = Rng::new(3);
            let (x, w, gy) = operands(&g, &mut rng);
            let run = |threads: usize| {
                on_threads(threads, || {
                    let (y, saved) = g.forward_keeping(&x, &w, true);
                    (y, g.backward(&x, &w, &gy, true, saved))
                })
            };
            let one = run(1);
            for threads in [2, 3] {
                let other = run(threads);
                assert!(
                    one.0 == other.0 && one.1 == other.1,
                    "{threads} threads differ from 1 on {g:?}"
                );
            }
        }
    }
}
