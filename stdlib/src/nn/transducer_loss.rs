//! The RNN-Transducer's joint network and loss, fused and computed in
//! chunks, joined to burn's graph as one product.
//!
//! Written as burn operations, the joint network materialises
//! batch × frames × labels × joint values several times over (its sum,
//! tanh and output, each kept for the backward pass): at the paper's batch
//! of 32 utterances of 15 s that is about 8 GB per tensor. burn-nn's
//! `RNNTLoss` then runs the α recursion a few tensor operations per lattice
//! cell, T × U small recorded operations, which made a toy transducer
//! epoch four times a CNN-LSTM's.
//!
//! Here each utterance's joint is computed on the inner backend (no graph)
//! in chunks of frames holding at most `CHUNK_ELEMENTS` values: a first
//! pass keeps only the log-probabilities (frames × labels × classes); α
//! and β are computed in f64 on the host and give the gradient of the
//! negative log-likelihood with respect to each log-probability in closed
//! form (Graves 2012, "Sequence Transduction with Recurrent Neural
//! Networks", eq. 16); a second pass recomputes each chunk's hidden layer
//! (the tanh; the probabilities come from the kept log-probabilities) and
//! carries that gradient back through the log-softmax, the output layer
//! and the tanh to the encoder and prediction projections and the output
//! layer's parameters. The graph then sees `Σ input · gradient` over those four,
//! whose gradient is the true one, shifted so that its value is the exact
//! loss. Peak memory beyond the inputs is one chunk's few tensors and one
//! utterance's log-probabilities; host sums run in a fixed order.

use burn::tensor::{activation::log_softmax, Tensor, TensorData};

/// Joint values per chunk (16 MB of f32): one frame's row at the paper's
/// size (250 labels × 1,024) is 256,000, so chunks of 16 frames.
pub const CHUNK_ELEMENTS: usize = 1 << 22;

/// The joint network's inputs: the encoder and prediction outputs already
/// projected into the joint space, and its output layer (tanh of their sum,
/// then `weight`·z + `bias` → classes).
pub struct Joint {
    /// [B, T, J]
    pub enc: Tensor<3>,
    /// [B, U+1, J]: blank as the start symbol, then the labels.
    pub pred: Tensor<3>,
    /// [V, J]
    pub weight: Tensor<2>,
    /// [V]
    pub bias: Option<Tensor<1>>,
}

/// Per-utterance transducer losses (negative log-likelihoods): utterance
/// `b` has `frames[b]` ≤ T encoder frames and `targets[b]` (at most U
/// labels, none of them `blank`). An utterance with no frame has no
/// alignment: its loss is infinite (training drops such utterances before
/// they reach a batch).
pub fn transducer_losses(
    joint: Joint,
    targets: &[Vec<usize>],
    frames: &[usize],
    blank: usize,
) -> Tensor<1> {
    chunked_losses(joint, targets, frames, blank, CHUNK_ELEMENTS)
}

/// `transducer_losses` with chunks of at most `chunk_elements` joint values
/// (at least one frame).
fn chunked_losses(
    joint: Joint,
    targets: &[Vec<usize>],
    frames: &[usize],
    blank: usize,
    chunk_elements: usize,
) -> Tensor<1> {
    let [b, t, j] = joint.enc.dims();
    let u1 = joint.pred.dims()[1];
    let v = joint.weight.dims()[0];
    let inner = joint.enc.device().inner();
    let layer = OutputLayer {
        weight: joint.weight.clone().inner(),
        bias: joint.bias.clone().map(|x| x.inner()),
        chunk_elements,
    };
    let mut nll = Vec::with_capacity(b);
    let (mut de, mut dp, mut dw, mut db) = (vec![], vec![], vec![], vec![]);
    let (enc, pred) = (joint.enc.clone().inner(), joint.pred.clone().inner());
    let row = |x: &Tensor<3>, i: usize| {
        let [_, n, j] = x.dims();
        x.clone().slice([i..i + 1, 0..n, 0..j]).reshape([n, j])
    };
    for i in 0..b {
        let (e, p) = (row(&enc, i), row(&pred, i));
        let grads = layer.utterance(e, p, &targets[i], frames[i].min(t), blank);
        nll.push(grads.nll as f32);
        de.push(grads.enc.reshape([1, t, j]));
        dp.push(grads.pred.reshape([1, u1, j]));
        dw.push(grads.weight.reshape([1, v, j]));
        db.push(grads.bias.reshape([1, v]));
    }
    let nll = Tensor::<1>::from_data(TensorData::new(nll, [b]), &inner);
    let dot3 = |x: Tensor<3>, g: Vec<Tensor<3>>| {
        let n = x.dims()[1] * x.dims()[2];
        (x * Tensor::cat(g, 0))
            .reshape([b, n])
            .sum_dim(1)
            .reshape([b])
    };
    let mut dot =
        dot3(joint.enc, de) + dot3(joint.pred, dp) + dot3(joint.weight.reshape([1, v, j]), dw);
    if let Some(bias) = joint.bias {
        dot = dot
            + (bias.reshape([1, v]) * Tensor::cat(db, 0))
                .sum_dim(1)
                .reshape([b]);
    }
    // `dot - dot` is exactly 0 in value and the gradient in gradient.
    dot.clone() - dot.detach() + nll
}

/// The joint's output layer on the inner backend.
struct OutputLayer {
    weight: Tensor<2>,
    bias: Option<Tensor<1>>,
    chunk_elements: usize,
}

/// One utterance's loss and its gradients (inner backend, zero beyond the
/// utterance's frames and labels).
struct UtteranceGrads {
    nll: f64,
    enc: Tensor<2>,
    pred: Tensor<2>,
    weight: Tensor<2>,
    bias: Tensor<1>,
}

impl OutputLayer {
    /// tanh(enc[t] + pred[u]) for frames `t0..t1` and labels `..w`:
    /// [(t1 − t0)·w, J].
    fn hidden(
        &self,
        enc: &Tensor<2>,
        pred: &Tensor<2>,
        t0: usize,
        t1: usize,
        w: usize,
    ) -> Tensor<2> {
        let j = enc.dims()[1];
        let e = enc.clone().slice([t0..t1, 0..j]).reshape([t1 - t0, 1, j]);
        let p = pred.clone().slice([0..w, 0..j]).reshape([1, w, j]);
        (e + p).tanh().reshape([(t1 - t0) * w, j])
    }

    fn log_probs(&self, z: Tensor<2>) -> Tensor<2> {
        let v = self.weight.dims()[0];
        let mut logits = z.matmul(self.weight.clone().transpose());
        if let Some(b) = &self.bias {
            logits = logits + b.clone().reshape([1, v]);
        }
        log_softmax(logits, 1)
    }

    fn utterance(
        &self,
        enc: Tensor<2>,
        pred: Tensor<2>,
        labels: &[usize],
        frames: usize,
        blank: usize,
    ) -> UtteranceGrads {
        let [t, j] = enc.dims();
        let u1 = pred.dims()[0];
        let [v, _] = self.weight.dims();
        let device = enc.device();
        let w = labels.len() + 1;
        let rows = (self.chunk_elements / (w * j)).max(1);
        let chunks: Vec<(usize, usize)> = (0..frames)
            .step_by(rows)
            .map(|t0| (t0, (t0 + rows).min(frames)))
            .collect();
        let mut lp = Vec::with_capacity(frames * w * v);
        for &(t0, t1) in &chunks {
            let z = self.hidden(&enc, &pred, t0, t1, w);
            lp.extend(host(self.log_probs(z)));
        }
        let mut g = vec![0f32; frames * w * v];
        let lattice = Lattice {
            lp: &lp,
            u1: w,
            v,
            labels,
            frames,
            blank,
        };
        let nll = lattice.nll_and_gradient(&mut g);
        let mut grads = UtteranceGrads {
            nll,
            enc: Tensor::zeros([t, j], &device),
            pred: Tensor::zeros([u1, j], &device),
            weight: Tensor::zeros([v, j], &device),
            bias: Tensor::zeros([v], &device),
        };
        if !nll.is_finite() {
            return grads;
        }
        let mut d_enc = Vec::with_capacity(chunks.len());
        for &(t0, t1) in &chunks {
            let n = (t1 - t0) * w;
            let rows = |x: &[f32]| {
                let data = TensorData::new(x[t0 * w * v..t1 * w * v].to_vec(), [n, v]);
                Tensor::<2>::from_data(data, &device)
            };
            // The hidden layer again (it was not kept); the probabilities
            // from the log-probabilities the first pass kept.
            let z = self.hidden(&enc, &pred, t0, t1, w);
            let probs = rows(&lp).exp();
            let gl = rows(&g);
            // Through the log-softmax: dlogits = g − p · Σg.
            let dlogits = gl.clone() - probs * gl.sum_dim(1);
            grads.weight = grads.weight + dlogits.clone().transpose().matmul(z.clone());
            grads.bias = grads.bias + dlogits.clone().sum_dim(0).reshape([v]);
            // Through the output layer and the tanh.
            let dz = dlogits.matmul(self.weight.clone());
            let da = (dz * (z.clone() * z).neg().add_scalar(1.0)).reshape([t1 - t0, w, j]);
            d_enc.push(da.clone().sum_dim(1).reshape([t1 - t0, j]));
            let d_pred = da.sum_dim(0).reshape([w, j]);
            let sum = grads.pred.clone().slice([0..w, 0..j]) + d_pred;
            grads.pred = grads.pred.slice_assign([0..w, 0..j], sum);
        }
        if !d_enc.is_empty() {
            grads.enc = grads
                .enc
                .slice_assign([0..frames, 0..j], Tensor::cat(d_enc, 0));
        }
        grads
    }
}

fn host(x: Tensor<2>) -> Vec<f32> {
    x.into_data().try_to_vec::<f32>().expect("f32 tensor")
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

    const B: usize = 3;
    const T: usize = 6;
    const U1: usize = 4;
    const J: usize = 5;
    const V: usize = 6;

    /// Random joint inputs: enc [B, T, J], pred [B, U+1, J], weight [V, J], bias [V].
    fn inputs() -> [Vec<f32>; 4] {
        let mut rng = crate::rng::Rng::new(9);
        let mut draw = |n: usize| (0..n).map(|_| rng.uniform(-1.5, 1.5)).collect::<Vec<f32>>();
        [draw(B * T * J), draw(B * U1 * J), draw(V * J), draw(V)]
    }

    fn targets() -> ([Vec<usize>; 3], [usize; 3]) {
        ([vec![3, 1, 3], vec![2, 4], vec![1]], [6, 4, 2])
    }

    fn leaves(x: &[Vec<f32>; 4], device: &burn::tensor::Device) -> Joint {
        let data = |i: usize, shape: Vec<usize>| TensorData::new(x[i].clone(), shape);
        Joint {
            enc: Tensor::<3>::from_data(data(0, vec![B, T, J]), device).require_grad(),
            pred: Tensor::<3>::from_data(data(1, vec![B, U1, J]), device).require_grad(),
            weight: Tensor::<2>::from_data(data(2, vec![V, J]), device).require_grad(),
            bias: Some(Tensor::<1>::from_data(data(3, vec![V]), device).require_grad()),
        }
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

    /// log-softmax(W·tanh(enc[t] + pred[u]) + b) in f64 for one utterance.
    fn host_log_probs(x: &[Vec<f32>; 4], i: usize, frames: usize) -> Vec<Vec<Vec<f64>>> {
        (0..frames)
            .map(|t| {
                (0..U1)
                    .map(|u| {
                        let z: Vec<f64> = (0..J)
                            .map(|k| {
                                (x[0][(i * T + t) * J + k] as f64
                                    + x[1][(i * U1 + u) * J + k] as f64)
                                    .tanh()
                            })
                            .collect();
                        let logits: Vec<f64> = (0..V)
                            .map(|c| {
                                x[3][c] as f64
                                    + (0..J).map(|k| x[2][c * J + k] as f64 * z[k]).sum::<f64>()
                            })
                            .collect();
                        let m = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                        let lse = logits.iter().map(|l| (l - m).exp()).sum::<f64>().ln() + m;
                        logits.iter().map(|l| l - lse).collect()
                    })
                    .collect()
            })
            .collect()
    }

    fn values(l: &Tensor<1>) -> Vec<f32> {
        l.clone().inner().into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn losses_match_the_textbook_recursion() {
        let x = inputs();
        let (targets, frames) = targets();
        let device = crate::device::open("flex").unwrap();
        let got = values(&transducer_losses(
            leaves(&x, &device),
            &targets,
            &frames,
            text::BLANK,
        ));
        for i in 0..B {
            let want = reference_nll(&host_log_probs(&x, i, frames[i]), &targets[i]);
            assert!(
                (got[i] as f64 - want).abs() < 1e-4,
                "utterance {i}: {} vs {want}",
                got[i]
            );
        }
    }

    /// All four gradients: the fused joint against burn's graph of the
    /// same joint network followed by burn-nn's `RNNTLoss`, which
    /// differentiates the recursion itself; and frame-by-frame chunks
    /// against whole utterances.
    #[test]
    fn gradients_match_burns_graph_in_any_chunking() {
        let x = inputs();
        let (targets, frames) = targets();
        let device = crate::device::open("flex").unwrap();
        let grads = |joint: Joint, loss: &dyn Fn(Joint) -> Tensor<1>| {
            let (e, p, w, b) = (
                joint.enc.clone(),
                joint.pred.clone(),
                joint.weight.clone(),
                joint.bias.clone().unwrap(),
            );
            let l = loss(joint);
            let g = l.clone().sum().backward();
            let data = |d: TensorData| d.try_to_vec::<f32>().unwrap();
            let all = vec![
                data(e.grad(&g).unwrap().into_data()),
                data(p.grad(&g).unwrap().into_data()),
                data(w.grad(&g).unwrap().into_data()),
                data(b.grad(&g).unwrap().into_data()),
            ];
            (values(&l), all)
        };
        let fused = grads(leaves(&x, &device), &|j| {
            transducer_losses(j, &targets, &frames, text::BLANK)
        });
        let per_frame = grads(leaves(&x, &device), &|j| {
            chunked_losses(j, &targets, &frames, text::BLANK, 1)
        });
        let burn_graph = grads(leaves(&x, &device), &|j| {
            let z = (j.enc.reshape([B, T, 1, J]) + j.pred.reshape([B, 1, U1, J])).tanh();
            let logits = z.reshape([B * T * U1, J]).matmul(j.weight.transpose())
                + j.bias.unwrap().reshape([1, V]);
            let int = |v: Vec<i64>| {
                let n = v.len();
                Tensor::<1, Int>::from_data(TensorData::new(v, [n]), &device)
            };
            let mut tg = vec![text::BLANK as i64; B * (U1 - 1)];
            for (i, l) in targets.iter().enumerate() {
                for (k, &c) in l.iter().enumerate() {
                    tg[i * (U1 - 1) + k] = c as i64;
                }
            }
            RNNTLossConfig::new()
                .with_blank(text::BLANK)
                .init()
                .forward(
                    logits.reshape([B, T, U1, V]),
                    int(tg).reshape([B, U1 - 1]),
                    int(frames.iter().map(|&f| f as i64).collect()),
                    int(targets.iter().map(|l| l.len() as i64).collect()),
                )
        });
        for (name, other) in [
            ("burn's graph", &burn_graph),
            ("per-frame chunks", &per_frame),
        ] {
            for (a, w) in fused.0.iter().zip(&other.0) {
                assert!(
                    (a - w).abs() < 1e-4 * w.abs().max(1.0),
                    "{name}: loss {a} vs {w}"
                );
            }
            for (k, (ga, gw)) in fused.1.iter().zip(&other.1).enumerate() {
                assert!(ga.iter().any(|g| *g != 0.0), "input {k}: no gradient");
                for (a, w) in ga.iter().zip(gw) {
                    assert!(
                        (a - w).abs() < 1e-4,
                        "{name}: input {k}: gradient {a} vs {w}"
                    );
                }
            }
        }
    }

    #[test]
    fn an_utterance_without_frames_has_no_alignment() {
        let x = inputs();
        let device = crate::device::open("flex").unwrap();
        let got = values(&transducer_losses(
            leaves(&x, &device),
            &[vec![1], vec![2], vec![3]],
            &[0, 2, 2],
            text::BLANK,
        ));
        assert_eq!(got[0], f32::INFINITY);
        assert!(got[1].is_finite() && got[2].is_finite());
    }
}
