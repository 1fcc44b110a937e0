//! The RNN-Transducer loss by the forward–backward algorithm on the host,
//! joined to burn's graph as one product.
//!
//! burn-nn's `RNNTLoss` runs the α recursion as tensor operations, a few
//! per lattice cell: T × U small operations, each recorded for the
//! backward pass, which made a toy transducer epoch four times a
//! CNN-LSTM's. Here α and β are computed in f64 per utterance (in
//! parallel over the batch); the gradient of the negative log-likelihood
//! with respect to each log-probability follows from them in closed form
//! (Graves 2012, "Sequence Transduction with Recurrent Neural Networks",
//! eq. 16); and the graph sees `Σ lp · G`, whose gradient is G, shifted so
//! that its value is the exact loss. The gradient buffer holds only blank
//! and target-label entries; sums run in a fixed order, so the result does
//! not depend on the thread count or the CPU's vector width.

use burn::tensor::{activation::log_softmax, Tensor, TensorData};
use rayon::prelude::*;

/// Per-utterance transducer losses (negative log-likelihoods) of joint
/// logits [B, T, U+1, V]: utterance `b` has `frames[b]` ≤ T encoder frames
/// and `targets[b]` (at most U labels, none of them `blank`). An utterance
/// with no frame has no alignment: its loss is infinite (training drops
/// such utterances before they reach a batch).
pub fn transducer_losses(
    logits: Tensor<4>,
    targets: &[Vec<usize>],
    frames: &[usize],
    blank: usize,
) -> Tensor<1> {
    let [b, t, u1, v] = logits.dims();
    let device = logits.device();
    let lp = log_softmax(logits, 3);
    let host: Vec<f32> = lp
        .clone()
        .inner()
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32 tensor");
    let cell = t * u1 * v;
    let mut grad = vec![0f32; b * cell];
    let nll: Vec<f32> = grad
        .par_chunks_mut(cell.max(1))
        .enumerate()
        .map(|(i, g)| {
            let lattice = Lattice {
                lp: &host[i * cell..(i + 1) * cell],
                u1,
                v,
                labels: &targets[i],
                frames: frames[i].min(t),
                blank,
            };
            lattice.nll_and_gradient(g) as f32
        })
        .collect();
    let inner = device.clone().inner();
    let g = Tensor::<4>::from_data(TensorData::new(grad, [b, t, u1, v]), &inner).to_device(&device);
    let nll = Tensor::<1>::from_data(TensorData::new(nll, [b]), &inner).to_device(&device);
    let dot = (lp * g).reshape([b, cell]).sum_dim(1).reshape([b]);
    // `dot - dot` is exactly 0 in value and G in gradient.
    dot.clone() - dot.detach() + nll
}

/// One utterance's log-probabilities [T, U+1, V] (row-major) and labels.
struct Lattice<'a> {
    lp: &'a [f32],
    u1: usize,
    v: usize,
    labels: &'a [usize],
    frames: usize,
    blank: usize,
}

impl Lattice<'_> {
    fn blank(&self, t: usize, u: usize) -> f64 {
        self.lp[(t * self.u1 + u) * self.v + self.blank] as f64
    }

    /// Log-probability of emitting label u+1 at (t, u).
    fn label(&self, t: usize, u: usize) -> f64 {
        self.lp[(t * self.u1 + u) * self.v + self.labels[u]] as f64
    }

    /// The negative log-likelihood of the labels, and its gradient with
    /// respect to every log-probability written into `g` (zero elsewhere).
    fn nll_and_gradient(&self, g: &mut [f32]) -> f64 {
        let (tn, un) = (self.frames, self.labels.len());
        if tn == 0 {
            return f64::INFINITY;
        }
        let w = un + 1;
        let mut alpha = vec![f64::NEG_INFINITY; tn * w];
        for t in 0..tn {
            for u in 0..w {
                alpha[t * w + u] = if t == 0 && u == 0 {
                    0.0
                } else {
                    let from_blank = if t > 0 {
                        alpha[(t - 1) * w + u] + self.blank(t - 1, u)
                    } else {
                        f64::NEG_INFINITY
                    };
                    let from_label = if u > 0 {
                        alpha[t * w + u - 1] + self.label(t, u - 1)
                    } else {
                        f64::NEG_INFINITY
                    };
                    log_add(from_blank, from_label)
                };
            }
        }
        let log_p = alpha[(tn - 1) * w + un] + self.blank(tn - 1, un);
        let mut beta = vec![f64::NEG_INFINITY; tn * w];
        for t in (0..tn).rev() {
            for u in (0..w).rev() {
                beta[t * w + u] = if t == tn - 1 && u == un {
                    self.blank(t, u)
                } else {
                    let by_blank = if t + 1 < tn {
                        beta[(t + 1) * w + u] + self.blank(t, u)
                    } else {
                        f64::NEG_INFINITY
                    };
                    let by_label = if u < un {
                        beta[t * w + u + 1] + self.label(t, u)
                    } else {
                        f64::NEG_INFINITY
                    };
                    log_add(by_blank, by_label)
                };
            }
        }
        let share = |x: f64| -> f32 { -((x - log_p).exp()) as f32 };
        for t in 0..tn {
            for u in 0..w {
                let a = alpha[t * w + u];
                let at = (t * self.u1 + u) * self.v;
                if t + 1 < tn {
                    g[at + self.blank] = share(a + self.blank(t, u) + beta[(t + 1) * w + u]);
                } else if u == un {
                    g[at + self.blank] = share(a + self.blank(t, u));
                }
                if u < un {
                    g[at + self.labels[u]] = share(a + self.label(t, u) + beta[t * w + u + 1]);
                }
            }
        }
        -log_p
    }
}

/// log(e^a + e^b), exact when either is −∞.
fn log_add(a: f64, b: f64) -> f64 {
    let m = a.max(b);
    if m == f64::NEG_INFINITY {
        m
    } else {
        m + ((a - m).exp() + (b - m).exp()).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text;
    use burn::nn::loss::RNNTLossConfig;
    use burn::tensor::Int;

    fn logits(b: usize, t: usize, u1: usize, v: usize) -> Vec<f32> {
        let mut rng = crate::rng::Rng::new(9);
        (0..b * t * u1 * v)
            .map(|_| rng.uniform(-2.0, 2.0))
            .collect()
    }

    /// The textbook α recursion in f64 on log-probabilities [T][U+1][V].
    fn reference_nll(lp: &[Vec<Vec<f64>>], labels: &[usize]) -> f64 {
        let (t_n, u_n) = (lp.len(), labels.len());
        let mut alpha = vec![vec![f64::NEG_INFINITY; u_n + 1]; t_n];
        for t in 0..t_n {
            for u in 0..=u_n {
                alpha[t][u] = if t == 0 && u == 0 {
                    0.0
                } else {
                    let a = if t > 0 {
                        alpha[t - 1][u] + lp[t - 1][u][text::BLANK]
                    } else {
                        f64::NEG_INFINITY
                    };
                    let b = if u > 0 {
                        alpha[t][u - 1] + lp[t][u - 1][labels[u - 1]]
                    } else {
                        f64::NEG_INFINITY
                    };
                    log_add(a, b)
                };
            }
        }
        -(alpha[t_n - 1][u_n] + lp[t_n - 1][u_n][text::BLANK])
    }

    #[test]
    fn losses_match_the_textbook_recursion() {
        let (b, t, u1, v) = (2, 5, 4, 6);
        let x = logits(b, t, u1, v);
        let targets = [vec![3usize, 1, 3], vec![2usize, 5]];
        let frames = [5usize, 3];
        let dev = burn::tensor::Device::flex();
        let got = transducer_losses(
            Tensor::<4>::from_data(TensorData::new(x.clone(), [b, t, u1, v]), &dev),
            &targets,
            &frames,
            text::BLANK,
        )
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
        for i in 0..b {
            let lp: Vec<Vec<Vec<f64>>> = (0..frames[i])
                .map(|tt| {
                    (0..=targets[i].len())
                        .map(|u| {
                            let row = &x[((i * t + tt) * u1 + u) * v..][..v];
                            let m = row.iter().fold(f32::NEG_INFINITY, |a, &y| a.max(y)) as f64;
                            let z = row.iter().map(|&y| (y as f64 - m).exp()).sum::<f64>().ln() + m;
                            row.iter().map(|&y| y as f64 - z).collect()
                        })
                        .collect()
                })
                .collect();
            let want = reference_nll(&lp, &targets[i]);
            assert!(
                (got[i] as f64 - want).abs() < 1e-4,
                "utterance {i}: {} vs {want}",
                got[i]
            );
        }
    }

    /// Loss and gradient with respect to the logits agree with burn-nn's
    /// `RNNTLoss` (its graph differentiates the recursion itself).
    #[test]
    fn gradients_match_burns_differentiated_recursion() {
        let (b, t, u1, v) = (3, 6, 4, 5);
        let x = logits(b, t, u1, v);
        let targets = [vec![3usize, 1, 3], vec![2usize, 4], vec![1usize]];
        let frames = [6usize, 4, 2];
        let device = crate::device::open("flex").unwrap();
        let leaf = || {
            Tensor::<4>::from_data(TensorData::new(x.clone(), [b, t, u1, v]), &device)
                .require_grad()
        };
        let ours_x = leaf();
        let ours = transducer_losses(ours_x.clone(), &targets, &frames, text::BLANK);
        let burn_x = leaf();
        let int = |v: Vec<i64>, shape: Vec<usize>| {
            Tensor::<2, Int>::from_data(TensorData::new(v, shape), &device)
        };
        let mut tg = vec![text::BLANK as i64; b * 3];
        for (i, l) in targets.iter().enumerate() {
            for (k, &c) in l.iter().enumerate() {
                tg[i * 3 + k] = c as i64;
            }
        }
        let theirs = RNNTLossConfig::new()
            .with_blank(text::BLANK)
            .init()
            .forward(
                burn_x.clone(),
                int(tg, vec![b, 3]),
                int(frames.iter().map(|&f| f as i64).collect(), vec![1, b]).reshape([b]),
                int(targets.iter().map(|l| l.len() as i64).collect(), vec![1, b]).reshape([b]),
            );
        let values = |l: &Tensor<1>| l.clone().inner().into_data().try_to_vec::<f32>().unwrap();
        for (a, w) in values(&ours).iter().zip(values(&theirs)) {
            assert!((a - w).abs() < 1e-4 * w.abs().max(1.0), "loss {a} vs {w}");
        }
        let grad = |l: Tensor<1>, x: &Tensor<4>| {
            let grads = l.sum().backward();
            x.grad(&grads)
                .unwrap()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        let ga = grad(ours, &ours_x);
        let gb = grad(theirs, &burn_x);
        assert!(ga.iter().any(|g| *g != 0.0));
        for (k, (a, w)) in ga.iter().zip(&gb).enumerate() {
            assert!((a - w).abs() < 1e-4, "gradient {k}: {a} vs {w}");
        }
    }

    #[test]
    fn an_utterance_without_frames_has_no_alignment() {
        let dev = burn::tensor::Device::flex();
        let x = logits(1, 2, 2, 4);
        let got = transducer_losses(
            Tensor::<4>::from_data(TensorData::new(x, [1, 2, 2, 4]), &dev),
            &[vec![1]],
            &[0],
            text::BLANK,
        )
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
        assert_eq!(got, vec![f32::INFINITY]);
    }
}
