//! One LSTM direction on the host for the CPU device: the recurrence and
//! its gates in one loop per step, with the backward pass written out.
//!
//! Why not burn's ops on flex: a step of burn's LSTM is a dozen small
//! tensor ops, each a graph node whose backward allocates and fills
//! tensors (slices of the gates, their zero-padded gradients). Here a step
//! is one gemm for the recurrent projection and one pass over the gates;
//! the backward pass keeps the gate gradients of every step and computes
//! the weight and input gradients as three large products at the end
//! (docs/cpu.md).
//!
//! Layout: everything is step-major, [t, b, ·], so a step's rows are
//! contiguous. The input projection of all steps is one product before the
//! loop. A direction that reads each sequence backwards within its length
//! (`Order::Reversed`) gathers its steps in that order, so the loop is the
//! same for both directions.
//!
//! Memory: between the passes a direction keeps only its gates, cell
//! states and their tanh (6 × H per frame); its input and output are the
//! autodiff graph's tensors, which the caller holds anyway and hands back
//! (`Saved`), and the weights are read from the parameters again. The
//! backward pass writes the gate gradients over the gates. The paper's
//! CNN-LSTM measures 1.30–1.33× `lotto plan`'s estimate per training step
//! at batches of 1 to 32 utterances (docs/results.md).
//!
//! Results do not depend on the thread count: a direction runs on one
//! thread (the caller runs directions side by side) and every sum has a
//! fixed order.

use super::gates::Step;
use super::matrix::{matmul, Mat, MatRef};

/// Batch size, steps, input width and hidden size of one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LstmDims {
    pub b: usize,
    pub t: usize,
    pub d: usize,
    pub h: usize,
}

/// The order in which a direction reads each sequence of the batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Order {
    Forward,
    /// Backwards within each sequence's length (one per batch item);
    /// padding stays at the end and is read last.
    Reversed(Vec<usize>),
}

impl Order {
    /// The time index that step `s` of batch item `i` reads, of `t`.
    fn source(&self, i: usize, s: usize, t: usize) -> usize {
        match self {
            Order::Forward => s,
            Order::Reversed(lens) => {
                let l = lens.get(i).copied().unwrap_or(t).min(t);
                if s < l {
                    l - 1 - s
                } else {
                    s
                }
            }
        }
    }

    /// `x` [b, t, w] → [t, b, w] with step `s` of item `i` holding the row
    /// this order reads then.
    fn gather(&self, x: &[f32], b: usize, t: usize, w: usize) -> Vec<f32> {
        assert_eq!(x.len(), b * t * w, "LSTM input size");
        let mut out = vec![0.0f32; x.len()];
        for s in 0..t {
            for i in 0..b {
                let src = (i * t + self.source(i, s, t)) * w;
                out[(s * b + i) * w..][..w].copy_from_slice(&x[src..src + w]);
            }
        }
        out
    }

    /// The inverse of `gather`: [t, b, w] in this order → [b, t, w].
    fn scatter(&self, y: &[f32], b: usize, t: usize, w: usize) -> Vec<f32> {
        let mut out = vec![0.0f32; y.len()];
        self.scatter_into(y, b, t, w, &mut out, false);
        out
    }

    /// `scatter` into `out`, or added to what `out` holds when `add`.
    fn scatter_into(&self, y: &[f32], b: usize, t: usize, w: usize, out: &mut [f32], add: bool) {
        assert_eq!(out.len(), y.len(), "LSTM scatter size");
        for s in 0..t {
            for i in 0..b {
                let dst = &mut out[(i * t + self.source(i, s, t)) * w..][..w];
                let src = &y[(s * b + i) * w..][..w];
                if add {
                    dst.iter_mut().zip(src).for_each(|(d, v)| *d += v);
                } else {
                    dst.copy_from_slice(src);
                }
            }
        }
    }
}

/// The parameters of one direction, PyTorch's layout: `w_ih` [4h, d],
/// `w_hh` [4h, h], gate order input, forget, cell, output; `bias` [4h] is
/// `bias_ih + bias_hh`.
pub struct LstmWeights {
    pub w_ih: Vec<f32>,
    pub w_hh: Vec<f32>,
    pub bias: Vec<f32>,
}

/// Gradients of one direction's parameters and (when asked) its input.
pub struct LstmGrads {
    pub w_ih: Vec<f32>,
    pub w_hh: Vec<f32>,
    /// The gradient of `bias`, so of `bias_ih` and of `bias_hh` each.
    pub bias: Vec<f32>,
    pub x: Option<InputGrad>,
}

/// The gradient of a direction's input, still in the direction's step
/// order: `add_to` puts it in the input's order, so directions sum into
/// one buffer without a copy each.
pub struct InputGrad {
    dims: LstmDims,
    order: Order,
    steps: Vec<f32>,
}

impl InputGrad {
    /// Puts this gradient, [b, t, d] in the input's order, into `acc`, or
    /// adds it to what `acc` holds.
    pub fn add_to(&self, acc: &mut Option<Vec<f32>>) {
        let LstmDims { b, t, d, .. } = self.dims;
        match acc {
            Some(acc) => self.order.scatter_into(&self.steps, b, t, d, acc, true),
            None => *acc = Some(self.order.scatter(&self.steps, b, t, d)),
        }
    }
}

/// What a direction's backward pass reads besides its run: the weights,
/// the layer's input `x` [b, t, d] and the direction's output `y`
/// [b, t, h], both in the input's order. The caller holds the input and
/// the output anyway (as tensors of the autodiff graph), so the run does
/// not keep copies of them.
pub struct Saved<'a> {
    pub w_ih: &'a [f32],
    pub w_hh: &'a [f32],
    pub x: &'a [f32],
    pub y: &'a [f32],
}

/// One direction's forward pass over a batch, with what its backward pass
/// needs beyond `Saved`: per step, the gates after their activations and
/// the cell state.
pub struct LstmRun {
    dims: LstmDims,
    order: Order,
    gates: Vec<f32>,
    cs: Vec<f32>,
    /// tanh of `cs`, kept rather than computed again backward.
    tcs: Vec<f32>,
}

impl LstmRun {
    /// Runs the direction over `x` [b, t, d] from zero state: the run and
    /// the outputs [b, t, h], in the input's own order.
    pub fn forward(
        dims: LstmDims,
        order: Order,
        x: &[f32],
        w: &LstmWeights,
    ) -> (LstmRun, Vec<f32>) {
        let LstmDims { b, t, d, h } = dims;
        let (g4, n) = (4 * h, t * b);
        assert_eq!(w.w_ih.len(), g4 * d, "LSTM weight_ih size");
        assert_eq!(w.w_hh.len(), g4 * h, "LSTM weight_hh size");
        assert_eq!(w.bias.len(), g4, "LSTM bias size");
        let xs = order.gather(x, b, t, d);
        let mut gates = vec![0.0f32; n * g4];
        // gates [n × 4h] = xs [n × d] · w_ihᵀ [d × 4h], then the bias.
        matmul(
            Mat::new(&mut gates, n, g4, g4, 1),
            false,
            MatRef::new(&xs, n, d, d, 1),
            MatRef::new(&w.w_ih, d, g4, 1, d),
        );
        for row in gates.chunks_mut(g4) {
            row.iter_mut().zip(&w.bias).for_each(|(g, b)| *g += b);
        }
        drop(xs);
        // w_hh column by column, so that gemm reads it in place, and the
        // products are transposed: a step's product is then 4h rows by b
        // columns, which fills gemm's 16-row kernels where b rows would not.
        let mut w_hh_cols = vec![0.0f32; g4 * h];
        for (r, row) in w.w_hh.chunks(h).enumerate() {
            for (k, v) in row.iter().enumerate() {
                w_hh_cols[k * g4 + r] = *v;
            }
        }
        let mut cs = vec![0.0f32; n * h];
        let mut tcs = vec![0.0f32; n * h];
        let mut hs = vec![0.0f32; n * h];
        let step = b * h;
        let zeros = vec![0.0f32; step];
        for s in 0..t {
            let g = &mut gates[s * b * g4..(s + 1) * b * g4];
            let (done, now) = hs.split_at_mut(s * step);
            let (c_done, c_now) = cs.split_at_mut(s * step);
            let c_prev = (s > 0).then(|| {
                // gates_sᵀ [4h × b] += w_hh [4h × h] · h_{s-1}ᵀ [h × b]
                matmul(
                    Mat::new(&mut *g, g4, b, 1, g4),
                    true,
                    MatRef::new(&w_hh_cols, g4, h, 1, g4),
                    MatRef::new(&done[(s - 1) * step..], h, b, 1, h),
                );
                &c_done[(s - 1) * step..]
            });
            let c_prev = c_prev.unwrap_or(&zeros);
            let tc_now = &mut tcs[s * step..(s + 1) * step];
            for i in 0..b {
                Step {
                    g: &mut g[i * g4..(i + 1) * g4],
                    c_prev: &c_prev[i * h..(i + 1) * h],
                    c: &mut c_now[i * h..(i + 1) * h],
                    tc: &mut tc_now[i * h..(i + 1) * h],
                    out: &mut now[i * h..(i + 1) * h],
                }
                .run();
            }
        }
        let y = order.scatter(&hs, b, t, h);
        let run = LstmRun {
            dims,
            order,
            gates,
            cs,
            tcs,
        };
        (run, y)
    }

    /// Gradients given the outputs' gradient `dy` [b, t, h] (input order).
    /// The gate gradients overwrite the gates, step by step, so the pass
    /// holds no second array of that size.
    pub fn backward(self, saved: Saved, dy: &[f32], need_dx: bool) -> LstmGrads {
        let LstmDims { b, t, d, h } = self.dims;
        let (g4, n, step) = (4 * h, t * b, b * h);
        let LstmRun {
            order,
            mut gates,
            cs,
            tcs,
            ..
        } = self;
        assert_eq!(dy.len(), n * h, "LSTM output gradient size");
        let dg = &mut gates;
        let mut dh_next = vec![0.0f32; step];
        let mut dc_next = vec![0.0f32; step];
        for s in (0..t).rev() {
            for i in 0..b {
                let di = &mut dg[(s * b + i) * g4..][..g4];
                let dyi = &dy[(i * t + order.source(i, s, t)) * h..][..h];
                for j in 0..h {
                    let k = s * step + i * h + j;
                    let (ig, fg, cg, og) = (di[j], di[h + j], di[2 * h + j], di[3 * h + j]);
                    let tc = tcs[k];
                    let cp = if s > 0 { cs[k - step] } else { 0.0 };
                    let dh = dyi[j] + dh_next[i * h + j];
                    let dc = dh * og * (1.0 - tc * tc) + dc_next[i * h + j];
                    di[j] = dc * cg * ig * (1.0 - ig);
                    di[h + j] = dc * cp * fg * (1.0 - fg);
                    di[2 * h + j] = dc * ig * (1.0 - cg * cg);
                    di[3 * h + j] = dh * tc * og * (1.0 - og);
                    dc_next[i * h + j] = dc * fg;
                }
            }
            if s > 0 {
                // dh_{s-1}ᵀ [h × b] = w_hhᵀ [h × 4h] · dgates_sᵀ [4h × b]
                matmul(
                    Mat::new(&mut dh_next, h, b, 1, h),
                    false,
                    MatRef::new(saved.w_hh, h, g4, 1, h),
                    MatRef::new(&dg[s * b * g4..], g4, b, 1, g4),
                );
            }
        }
        drop((cs, tcs, dh_next, dc_next));
        // d w_hh [4h × h] = Σ_{s ≥ 1} dgates_sᵀ · h_{s-1}
        let mut w_hh = vec![0.0f32; g4 * h];
        if t > 1 {
            let hs = order.gather(saved.y, b, t, h);
            let m = (t - 1) * b;
            matmul(
                Mat::new(&mut w_hh, g4, h, h, 1),
                false,
                MatRef::new(&dg[b * g4..], g4, m, 1, g4),
                MatRef::new(&hs, m, h, h, 1),
            );
        }
        // d w_ih [4h × d] = dgatesᵀ [4h × n] · xs [n × d]
        let mut w_ih = vec![0.0f32; g4 * d];
        let xs = order.gather(saved.x, b, t, d);
        matmul(
            Mat::new(&mut w_ih, g4, d, d, 1),
            false,
            MatRef::new(dg, g4, n, 1, g4),
            MatRef::new(&xs, n, d, d, 1),
        );
        drop(xs);
        let mut bias = vec![0.0f32; g4];
        for row in dg.chunks(g4) {
            bias.iter_mut().zip(row).for_each(|(a, g)| *a += g);
        }
        let x = need_dx.then(|| {
            // dxs [n × d] = dgates [n × 4h] · w_ih [4h × d]
            let mut steps = vec![0.0f32; n * d];
            matmul(
                Mat::new(&mut steps, n, d, d, 1),
                false,
                MatRef::new(dg, n, g4, g4, 1),
                MatRef::new(saved.w_ih, g4, d, d, 1),
            );
            InputGrad {
                dims: self.dims,
                order,
                steps,
            }
        });
        LstmGrads {
            w_ih,
            w_hh,
            bias,
            x,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::layers::{lstm_dir, reverse_padded};
    use crate::nn::{lstm_params, to_host, Params};
    use crate::rng::Rng;
    use crate::tensor_io::TensorMap;
    use burn::tensor::{Tensor, TensorData};

    fn close(a: &[f32], b: &[f32], what: &str) {
        assert_eq!(a.len(), b.len(), "{what}: length");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-5 + 1e-4 * y.abs(),
                "{what}[{i}]: {x} vs burn's {y}"
            );
        }
    }

    /// Output, weight gradients and input gradient against burn's LSTM
    /// (`nn::lstm_dir`) and its autodiff, reading forwards and backwards
    /// within lengths that leave padding.
    #[test]
    fn matches_burns_lstm_and_its_gradients() {
        let device = crate::device::open("flex").unwrap();
        let dims = LstmDims {
            b: 3,
            t: 6,
            d: 5,
            h: 4,
        };
        let LstmDims { b, t, d, h } = dims;
        let mut info = vec![];
        lstm_params(&mut info, "l", d, h);
        let p = Params::init(info, TensorMap::new(), 11, &device);
        let mut rng = Rng::new(3);
        let mut random =
            |n: usize| -> Vec<f32> { (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect() };
        let x = random(b * t * d);
        let dy = random(b * t * h);
        let lens = vec![6, 4, 1];
        let host = |name: &str| to_host(&p.values[p.index(name)]);
        let bias_ih = host("l.bias_ih");
        let w = LstmWeights {
            w_ih: host("l.weight_ih"),
            w_hh: host("l.weight_hh"),
            bias: bias_ih
                .iter()
                .zip(host("l.bias_hh"))
                .map(|(a, b)| a + b)
                .collect(),
        };
        for order in [Order::Forward, Order::Reversed(lens.clone())] {
            let xt = Tensor::<3>::from_data(TensorData::new(x.clone(), [b, t, d]), &device)
                .require_grad();
            let y = match &order {
                Order::Forward => lstm_dir(&p, "l", xt.clone(), h),
                Order::Reversed(l) => {
                    reverse_padded(lstm_dir(&p, "l", reverse_padded(xt.clone(), l), h), l)
                }
            };
            let dyt = Tensor::<3>::from_data(TensorData::new(dy.clone(), [b, t, h]), &device);
            let grads = (y.clone() * dyt).sum().backward();
            let (run, out) = LstmRun::forward(dims, order.clone(), &x, &w);
            close(&out, &to_host(&y), "output");
            let saved = Saved {
                w_ih: &w.w_ih,
                w_hh: &w.w_hh,
                x: &x,
                y: &out,
            };
            let g = run.backward(saved, &dy, true);
            let mut gx = None;
            g.x.unwrap().add_to(&mut gx);
            let burn = |name: &str| to_host(&p.values[p.index(name)].grad(&grads).unwrap());
            close(&g.w_ih, &burn("l.weight_ih"), "weight_ih");
            close(&g.w_hh, &burn("l.weight_hh"), "weight_hh");
            close(&g.bias, &burn("l.bias_ih"), "bias_ih");
            close(&g.bias, &burn("l.bias_hh"), "bias_hh");
            close(&gx.unwrap(), &to_host(&xt.grad(&grads).unwrap()), "input");
        }
    }

    #[test]
    fn reversed_order_gathers_within_lengths() {
        let order = Order::Reversed(vec![3, 1]);
        // [b=2, t=4, w=1]: item 0 = 0 1 2 3, item 1 = 10 11 12 13.
        let x = [0.0, 1.0, 2.0, 3.0, 10.0, 11.0, 12.0, 13.0];
        let steps = order.gather(&x, 2, 4, 1);
        assert_eq!(steps, [2.0, 10.0, 1.0, 11.0, 0.0, 12.0, 3.0, 13.0]);
        assert_eq!(order.scatter(&steps, 2, 4, 1), x);
    }
}
