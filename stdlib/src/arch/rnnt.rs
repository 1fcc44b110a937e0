//! The RNN-Transducer of the paper: an LSTM encoder over stacked frames,
//! an LSTM prediction network over the previous labels, and a joint network
//! (tanh of the summed projections, then a linear layer to the characters
//! and blank), trained with the transducer loss (`nn::transducer_loss`)
//! and decoded greedily.

use crate::nn::{
    bilstm, linear_params, lstm_params, param, transducer_losses, unilstm, Ctx, Joint, Kind,
    ParamInfo, Params,
};
use crate::tensor_io::TensorMap;
use crate::text;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RnntConfig {
    pub input_bins: usize,
    /// Consecutive frames concatenated into one encoder frame (the encoder
    /// runs at 1/stack of the feature rate).
    pub stack: usize,
    pub encoder_layers: usize,
    pub encoder_hidden: usize,
    /// Bidirectional encoder LSTMs (directions concatenated).
    pub bidirectional: bool,
    pub predictor_layers: usize,
    pub predictor_hidden: usize,
    /// Size of the label embedding fed to the prediction network.
    pub embedding: usize,
    /// Size of the joint network's hidden layer.
    pub joint: usize,
    /// Output classes, blank included.
    pub vocab: usize,
}

/// Most labels greedy decoding emits on one encoder frame.
const MAX_SYMBOLS_PER_FRAME: usize = 5;

impl RnntConfig {
    pub fn out_len(&self, t: usize) -> usize {
        t.div_ceil(self.stack.max(1))
    }

    fn encoder_out(&self) -> usize {
        if self.encoder_layers == 0 {
            self.input_bins * self.stack
        } else if self.bidirectional {
            2 * self.encoder_hidden
        } else {
            self.encoder_hidden
        }
    }

    pub fn layout(&self) -> (Vec<ParamInfo>, TensorMap) {
        let mut info = vec![];
        let mut d_in = self.input_bins * self.stack;
        let h = self.encoder_hidden;
        for l in 0..self.encoder_layers {
            lstm_params(&mut info, &format!("encoder.lstm.{l}.fwd"), d_in, h);
            if self.bidirectional {
                lstm_params(&mut info, &format!("encoder.lstm.{l}.bwd"), d_in, h);
            }
            d_in = self.encoder_out();
        }
        param(
            &mut info,
            "predictor.embedding.weight".into(),
            vec![self.vocab, self.embedding],
            Kind::Linear,
            1,
        );
        let mut p_in = self.embedding;
        for l in 0..self.predictor_layers {
            lstm_params(
                &mut info,
                &format!("predictor.lstm.{l}"),
                p_in,
                self.predictor_hidden,
            );
            p_in = self.predictor_hidden;
        }
        linear_params(
            &mut info,
            "joint.encoder",
            self.joint,
            self.encoder_out(),
            Kind::Linear,
            true,
        );
        linear_params(
            &mut info,
            "joint.predictor",
            self.joint,
            p_in,
            Kind::Linear,
            false,
        );
        linear_params(
            &mut info,
            "joint.out",
            self.vocab,
            self.joint,
            Kind::Linear,
            true,
        );
        (info, TensorMap::new())
    }

    /// Encoder output projected into the joint space: [B, T', J].
    fn encode(&self, cx: &mut Ctx, x: Tensor<3>, lens: &[usize]) -> Tensor<3> {
        let [b, t, f] = x.dims();
        let s = self.stack.max(1);
        let tt = t.div_ceil(s);
        let x = if tt * s > t {
            let pad = Tensor::<3>::zeros([b, tt * s - t, f], &x.device());
            Tensor::cat(vec![x, pad], 1)
        } else {
            x
        };
        let mut h = x.reshape([b, tt, s * f]);
        let out_lens: Vec<usize> = lens.iter().map(|&l| self.out_len(l).min(tt)).collect();
        for l in 0..self.encoder_layers {
            let prefix = format!("encoder.lstm.{l}");
            h = if self.bidirectional {
                let (f, b) = bilstm(cx, &prefix, h, self.encoder_hidden, &out_lens);
                Tensor::cat(vec![f, b], 2)
            } else {
                unilstm(cx, &format!("{prefix}.fwd"), h, self.encoder_hidden)
            };
        }
        let d = h.dims()[2];
        cx.p.linear("joint.encoder", h.reshape([b * tt, d]))
            .reshape([b, tt, self.joint])
    }

    /// Looks up label embeddings: ids [N] → [N, E].
    fn embed(&self, p: &Params, ids: Vec<i64>, device: &Device) -> Tensor<2> {
        let n = ids.len();
        let idx: Tensor<1, Int> =
            Tensor::from_data(TensorData::new(ids, [n]), &device.clone().inner());
        p.get2("predictor.embedding.weight")
            .select(0, idx.to_device(device))
    }

    /// Per-utterance RNN-T losses (the training loop reduces them, as the
    /// CTC models' losses).
    pub fn utterance_losses(
        &self,
        cx: &mut Ctx,
        x: Tensor<3>,
        lens: &[usize],
        targets: &[Vec<usize>],
    ) -> Tensor<1> {
        let device = x.device();
        let enc = self.encode(cx, x, lens);
        let p = cx.p;
        let [b, tt, j] = enc.dims();
        let maxu = targets.iter().map(|t| t.len()).max().unwrap_or(0).max(1);
        // Prediction network input: blank as the start symbol, then the
        // labels; padding repeats blank and is masked by the loss.
        let mut ids = vec![text::BLANK as i64; b * (maxu + 1)];
        for (i, t) in targets.iter().enumerate() {
            for (k, &c) in t.iter().enumerate() {
                ids[i * (maxu + 1) + k + 1] = c as i64;
            }
        }
        let mut g = self
            .embed(p, ids, &device)
            .reshape([b, maxu + 1, self.embedding]);
        for l in 0..self.predictor_layers {
            g = unilstm(cx, &format!("predictor.lstm.{l}"), g, self.predictor_hidden);
        }
        let g = p
            .linear(
                "joint.predictor",
                g.reshape([b * (maxu + 1), self.predictor_hidden_or_embedding()]),
            )
            .reshape([b, maxu + 1, j]);
        let out: Vec<usize> = lens.iter().map(|&l| self.out_len(l).min(tt)).collect();
        let joint = Joint {
            enc,
            pred: g,
            weight: p.get2("joint.out.weight"),
            bias: Some(p.get1("joint.out.bias")),
        };
        transducer_losses(joint, targets, &out, text::BLANK)
    }

    fn predictor_hidden_or_embedding(&self) -> usize {
        if self.predictor_layers == 0 {
            self.embedding
        } else {
            self.predictor_hidden
        }
    }

    /// Greedy transducer decoding of a batch: per encoder frame, emit the
    /// best label and advance the prediction network until blank wins (at
    /// most `MAX_SYMBOLS_PER_FRAME` labels per frame). `p` must be an
    /// inference copy.
    pub fn decode(&self, p: &Params, x: Tensor<3>, lens: &[usize]) -> Vec<String> {
        let device = x.device();
        let enc = self.encode(&mut Ctx::new(p, false), x, lens);
        let [b, tt, j] = enc.dims();
        let ph = self.predictor_hidden;
        let mut state: Vec<(Tensor<2>, Tensor<2>)> = (0..self.predictor_layers)
            .map(|_| {
                (
                    Tensor::zeros([b, ph], &device),
                    Tensor::zeros([b, ph], &device),
                )
            })
            .collect();
        let predict = |ids: Vec<i64>, state: &[(Tensor<2>, Tensor<2>)]| {
            let mut g = self.embed(p, ids, &device);
            let mut next = vec![];
            for (l, hc) in state.iter().enumerate() {
                let (h, c) = p.lstm_cell(&format!("predictor.lstm.{l}"), g, hc.clone());
                g = h.clone();
                next.push((h, c));
            }
            (p.linear("joint.predictor", g), next)
        };
        let (mut g, next) = predict(vec![text::BLANK as i64; b], &state);
        state = next;
        let out_lens: Vec<usize> = lens.iter().map(|&l| self.out_len(l).min(tt)).collect();
        let mut hyps: Vec<Vec<usize>> = vec![vec![]; b];
        for t in 0..tt {
            let e = enc.clone().slice([0..b, t..t + 1, 0..j]).reshape([b, j]);
            for _ in 0..MAX_SYMBOLS_PER_FRAME {
                let logits = p.linear("joint.out", (e.clone() + g.clone()).tanh());
                let best: Vec<i64> = logits
                    .argmax(1)
                    .into_data()
                    .convert::<i64>()
                    .try_to_vec::<i64>()
                    .expect("int tensor");
                let emit: Vec<bool> = (0..b)
                    .map(|i| t < out_lens[i] && best[i] as usize != text::BLANK)
                    .collect();
                if !emit.contains(&true) {
                    break;
                }
                for i in (0..b).filter(|&i| emit[i]) {
                    hyps[i].push(best[i] as usize);
                }
                // Advance the prediction network only where a label came
                // out; elsewhere keep the old state.
                let (g2, next) = predict(best, &state);
                let keep = Tensor::<2>::from_data(
                    TensorData::new(
                        emit.iter()
                            .map(|&e| if e { 1.0f32 } else { 0.0 })
                            .collect::<Vec<_>>(),
                        [b, 1],
                    ),
                    &device,
                );
                let mix = |new: Tensor<2>, old: Tensor<2>| old.clone() + (new - old) * keep.clone();
                g = mix(g2, g);
                state = next
                    .into_iter()
                    .zip(state)
                    .map(|((h2, c2), (h, c))| (mix(h2, h), mix(c2, c)))
                    .collect();
            }
        }
        hyps.iter().map(|h| text::labels_to_text(h)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Default size: 5 bidirectional LSTM-1024 encoder layers over 6
    /// stacked 161-bin frames, one LSTM-1024 prediction layer, joint 1024:
    /// 128.7M, 2.7% under the paper's 132.2M.
    #[test]
    fn default_rnnt_is_close_to_the_papers_132_2m() {
        let cfg = RnntConfig {
            input_bins: 161,
            stack: 6,
            encoder_layers: 5,
            encoder_hidden: 1024,
            bidirectional: true,
            predictor_layers: 1,
            predictor_hidden: 1024,
            embedding: 1024,
            joint: 1024,
            vocab: text::VOCAB,
        };
        let (info, _) = cfg.layout();
        let m = info.iter().map(|p| p.numel()).sum::<usize>() as f64 / 1e6;
        assert!((m - 132.2).abs() / 132.2 < 0.05, "{m:.2}M");
        assert!(info
            .iter()
            .any(|p| p.name == "encoder.lstm.4.bwd.weight_hh"));
        assert_eq!(cfg.out_len(13), 3);
    }
}
