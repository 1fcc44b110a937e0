//! The paper's three architectures behind one type: what training,
//! decoding, pruning and reports need to know of a model (its parameter
//! layout, its loss, its decoder, its output frame rate, its default
//! prunable set), so none of them matches on the architecture.

pub mod cnn_lstm;
pub mod conformer;
pub mod efficient_conformer;
pub mod rnnt;
mod sizes;

use crate::nn::{Ctx, ParamInfo, Params};
use crate::tensor_io::TensorMap;
use crate::text;
use crate::tokens::Tokens;
use burn::tensor::{Device, Int, Tensor, TensorData};
pub use cnn_lstm::CnnLstmConfig;
pub use conformer::ConformerConfig;
pub use efficient_conformer::EfficientConformerConfig;
pub use rnnt::RnntConfig;
use serde::{Deserialize, Serialize};

/// A model architecture with its sizes. Serialized with an `arch` tag
/// (`arch: conformer`, then the fields).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "arch", rename_all = "snake_case")]
pub enum Arch {
    CnnLstm(CnnLstmConfig),
    Conformer(ConformerConfig),
    Rnnt(RnntConfig),
    EfficientConformer(EfficientConformerConfig),
}

/// Reads the tagged form, and the untagged CNN-LSTM records written before
/// there was more than one architecture (so their cached results stay
/// readable).
impl<'de> Deserialize<'de> for Arch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Arch, D::Error> {
        #[derive(Deserialize)]
        #[serde(tag = "arch", rename_all = "snake_case")]
        enum Tagged {
            CnnLstm(CnnLstmConfig),
            Conformer(ConformerConfig),
            Rnnt(RnntConfig),
            EfficientConformer(EfficientConformerConfig),
        }
        #[derive(Deserialize)]
        struct Wrapped {
            cfg: CnnLstmConfig,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Any {
            Tagged(Tagged),
            Wrapped(Wrapped),
            Bare(CnnLstmConfig),
        }
        Ok(match Any::deserialize(d)? {
            Any::Tagged(Tagged::CnnLstm(c)) | Any::Wrapped(Wrapped { cfg: c }) | Any::Bare(c) => {
                Arch::CnnLstm(c)
            }
            Any::Tagged(Tagged::Conformer(c)) => Arch::Conformer(c),
            Any::Tagged(Tagged::Rnnt(c)) => Arch::Rnnt(c),
            Any::Tagged(Tagged::EfficientConformer(c)) => Arch::EfficientConformer(c),
        })
    }
}

impl Arch {
    pub fn name(&self) -> &'static str {
        match self {
            Arch::CnnLstm(_) => "cnn_lstm",
            Arch::Conformer(_) => "conformer",
            Arch::Rnnt(_) => "rnnt",
            Arch::EfficientConformer(_) => "efficient_conformer",
        }
    }

    /// What the model's output ids are: BPE subwords for the Efficient
    /// Conformer, characters otherwise.
    pub fn tokens(&self) -> Tokens<'_> {
        match self {
            Arch::EfficientConformer(c) => Tokens::Bpe(&c.bpe),
            _ => Tokens::Chars,
        }
    }

    /// Feature bins per frame the model reads.
    pub fn input_bins(&self) -> usize {
        match self {
            Arch::CnnLstm(c) => c.input_bins,
            Arch::Conformer(c) => c.input_bins,
            Arch::Rnnt(c) => c.input_bins,
            Arch::EfficientConformer(c) => c.input_bins,
        }
    }

    /// The same model for features of `bins` bins.
    pub fn with_input_bins(mut self, bins: usize) -> Arch {
        match &mut self {
            Arch::CnnLstm(c) => c.input_bins = bins,
            Arch::Conformer(c) => c.input_bins = bins,
            Arch::Rnnt(c) => c.input_bins = bins,
            Arch::EfficientConformer(c) => c.input_bins = bins,
        }
        self
    }

    /// Parameter list (names, shapes, kinds) and running-stat buffers.
    pub fn layout(&self) -> (Vec<ParamInfo>, TensorMap) {
        match self {
            Arch::CnnLstm(c) => c.layout(),
            Arch::Conformer(c) => c.layout(),
            Arch::Rnnt(c) => c.layout(),
            Arch::EfficientConformer(c) => c.layout(),
        }
    }

    pub fn num_params(&self) -> usize {
        self.layout().0.iter().map(|p| p.numel()).sum()
    }

    /// Output frames for `t` feature frames.
    pub fn out_len(&self, t: usize) -> usize {
        match self {
            Arch::CnnLstm(c) => c.out_len(t),
            Arch::Conformer(c) => c.out_len(t),
            Arch::Rnnt(c) => c.out_len(t),
            Arch::EfficientConformer(c) => c.out_len(t),
        }
    }

    /// The paper's prunable kinds for this architecture (what `prune:
    /// paper` selects): conv, LSTM and linear weights; for the Conformer,
    /// as its code, linear weights only.
    pub fn default_prune_kinds(&self) -> &'static [&'static str] {
        match self {
            Arch::Conformer(_) | Arch::EfficientConformer(_) => &["linear"],
            _ => &["conv", "lstm_ih", "lstm_hh", "linear"],
        }
    }

    /// Whether an utterance of `frames` frames can be trained on with this
    /// transcript. CTC needs an output frame per label plus one between
    /// repeated labels; the CNN-LSTM keeps its stricter historical 2× rule
    /// (results cached under it stay valid). A transducer can emit several
    /// labels per frame and needs one frame.
    pub fn usable(&self, frames: usize, labels: &[usize]) -> bool {
        let t = self.out_len(frames);
        match self {
            Arch::CnnLstm(_) => t >= labels.len() * 2,
            Arch::Conformer(_) | Arch::EfficientConformer(_) => {
                let repeats = labels.windows(2).filter(|w| w[0] == w[1]).count();
                t >= labels.len() + repeats
            }
            Arch::Rnnt(_) => t >= 1,
        }
    }

    /// Training losses of a batch, one per utterance (summed over its
    /// labels); the training loop reduces them (`LossNorm`). Forward
    /// statistics (batch norm) go to `cx.stat_updates`.
    pub fn utterance_losses(
        &self,
        cx: &mut Ctx,
        x: Tensor<3>,
        lens: &[usize],
        targets: &[Vec<usize>],
    ) -> Tensor<1> {
        let lp = match self {
            Arch::CnnLstm(c) => c.forward(cx, x, lens),
            Arch::Conformer(c) => c.forward(cx, x, lens),
            Arch::EfficientConformer(c) => c.forward(cx, x, lens),
            Arch::Rnnt(c) => return c.utterance_losses(cx, x, lens, targets),
        };
        self.ctc(lp, lens, targets)
    }

    /// Per-utterance CTC losses of log-probabilities [T', B, V].
    fn ctc(&self, lp: Tensor<3>, lens: &[usize], targets: &[Vec<usize>]) -> Tensor<1> {
        let device = lp.device();
        let [tt, _, _] = lp.dims();
        let out: Vec<usize> = lens.iter().map(|&l| self.out_len(l).min(tt)).collect();
        let l = Labels::new(targets, &out, &device);
        burn::tensor::module::ctc_loss(lp, l.targets, l.input_lens, l.target_lens, text::BLANK)
    }

    /// Eval-mode log-probabilities [T', B, V] of a CTC model; `None` for
    /// the transducer.
    fn ctc_forward(&self, p: &Params, x: Tensor<3>, lens: &[usize]) -> Option<Tensor<3>> {
        let mut cx = Ctx::new(p, false);
        match self {
            Arch::CnnLstm(c) => Some(c.forward(&mut cx, x, lens)),
            Arch::Conformer(c) => Some(c.forward(&mut cx, x, lens)),
            Arch::EfficientConformer(c) => Some(c.forward(&mut cx, x, lens)),
            Arch::Rnnt(_) => None,
        }
    }

    /// Greedy decoding of a batch (CTC: best class per frame, repeats
    /// merged, blanks dropped; transducer: see `RnntConfig::decode`). `p`
    /// must be an inference copy (`Params::for_inference`).
    pub fn decode(&self, p: &Params, x: Tensor<3>, lens: &[usize]) -> Vec<String> {
        let lp = match self {
            Arch::Rnnt(c) => return c.decode(p, x, lens),
            _ => self.ctc_forward(p, x, lens).expect("a CTC model"),
        };
        let [tt, b, _] = lp.dims();
        let best: Vec<i64> = lp
            .argmax(2)
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .expect("int tensor");
        lens.iter()
            .enumerate()
            .map(|(j, &l)| {
                let n = self.out_len(l).min(tt);
                let seq: Vec<usize> = (0..n).map(|s| best[s * b + j] as usize).collect();
                self.tokens().ctc_text(&seq)
            })
            .collect()
    }

    /// Per-utterance CTC log-probabilities (output frames × vocab,
    /// row-major) of a batch, for beam search; `None` for the transducer,
    /// whose outputs depend on the labels emitted so far.
    pub fn ctc_log_probs(&self, p: &Params, x: Tensor<3>, lens: &[usize]) -> Option<Vec<Vec<f32>>> {
        let lp = self.ctc_forward(p, x, lens)?;
        let [tt, b, v] = lp.dims();
        // [T', B, V] → [B, T', V] on the host.
        let host = lp
            .swap_dims(0, 1)
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32 tensor");
        Some(
            lens.iter()
                .enumerate()
                .map(|(j, &l)| {
                    let n = self.out_len(l).min(tt);
                    host[j * tt * v..(j * tt + n) * v].to_vec()
                })
                .take(b)
                .collect(),
        )
    }

    /// Fresh parameters (θ0) from `seed` on `device`.
    pub fn init(&self, seed: u64, device: &Device) -> Params {
        let (info, buf) = self.layout();
        Params::init(info, buf, seed, device)
    }
}

/// A batch's padded labels and lengths as burn's losses take them (int
/// tensors made on the inner device, then moved to the training device).
pub(crate) struct Labels {
    /// [B, max label count], padded with blank.
    pub targets: Tensor<2, Int>,
    pub target_lens: Tensor<1, Int>,
    /// Output frames per utterance.
    pub input_lens: Tensor<1, Int>,
}

impl Labels {
    pub fn new(targets: &[Vec<usize>], input_lens: &[usize], device: &Device) -> Labels {
        let inner = device.clone().inner();
        let int = |v: Vec<i64>| -> Tensor<1, Int> {
            let n = v.len();
            Tensor::<1, Int>::from_data(TensorData::new(v, [n]), &inner).to_device(device)
        };
        let b = targets.len();
        let width = targets.iter().map(|t| t.len()).max().unwrap_or(0).max(1);
        let mut tg = vec![text::BLANK as i64; b * width];
        for (i, t) in targets.iter().enumerate() {
            for (j, &c) in t.iter().enumerate() {
                tg[i * width + j] = c as i64;
            }
        }
        Labels {
            targets: Tensor::<2, Int>::from_data(TensorData::new(tg, [b, width]), &inner)
                .to_device(device),
            target_lens: int(targets.iter().map(|t| t.len() as i64).collect()),
            input_lens: int(input_lens.iter().map(|&l| l as i64).collect()),
        }
    }
}

/// A CNN-LSTM small enough for unit tests of training to take
/// milliseconds: one 3x3 conv of 2 channels, one LSTM of 6.
#[cfg(test)]
pub(crate) fn tiny_cnn_lstm(bins: usize) -> Arch {
    Arch::CnnLstm(CnnLstmConfig {
        input_bins: bins,
        channels: 2,
        kernels: vec![(3, 3)],
        strides: vec![(2, 2)],
        lstm_layers: 1,
        hidden: 6,
        bidirectional: false,
        vocab: text::VOCAB,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CPU paths (host convolutions and LSTM layers, joined again to
    /// burn's graph by `nn::gradients`) give the loss and gradients of
    /// burn's single graph; `stages` is the tape they leave.
    fn cpu_paths_give_burns_loss_and_gradients(arch: Arch, bins: usize, stages: usize) {
        let device = crate::device::open("flex").unwrap();
        let p = arch.init(3, &device);
        let mut rng = crate::rng::Rng::new(5);
        let (b, t) = (3, 17);
        let x: Vec<f32> = (0..b * t * bins).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let lens = [17, 12, 9];
        let targets = [vec![1, 2, 3], vec![4, 5], vec![6]];
        let run = |host: bool| {
            let mut cx = Ctx::new(&p, true);
            cx.host = host;
            let xt = Tensor::<3>::from_data(TensorData::new(x.clone(), [b, t, bins]), &device);
            let loss = arch.utterance_losses(&mut cx, xt, &lens, &targets).sum();
            let value = loss.clone().inner().into_scalar::<f32>();
            let tape = std::mem::take(&mut cx.tape);
            assert_eq!(tape.len(), if host { stages } else { 0 });
            let grads = crate::nn::gradients(loss, &p, tape);
            let grads: Vec<Vec<f32>> = grads
                .into_iter()
                .map(|g| g.into_data().try_to_vec::<f32>().unwrap())
                .collect();
            (value, grads, cx.stat_updates)
        };
        let (loss_cpu, grads_cpu, stats_cpu) = run(true);
        let (loss_burn, grads_burn, stats_burn) = run(false);
        assert!((loss_cpu - loss_burn).abs() <= 1e-5 * loss_burn.abs());
        // The norms' running statistics move alike.
        assert_eq!(stats_cpu.len(), stats_burn.len());
        for ((name, a), (name_burn, b)) in stats_cpu.iter().zip(&stats_burn) {
            assert_eq!(name, name_burn);
            for (x, y) in a.iter().zip(b) {
                assert!(
                    (x - y).abs() <= 1e-5 + 1e-4 * y.abs(),
                    "{name}: {x} vs burn's {y}"
                );
            }
        }
        for ((info, a), b) in p.info.iter().zip(&grads_cpu).zip(&grads_burn) {
            assert!(b.iter().any(|v| *v != 0.0), "{}: no gradient", info.name);
            for (x, y) in a.iter().zip(b) {
                assert!(
                    (x - y).abs() <= 1e-5 + 1e-3 * y.abs(),
                    "{}: {x} vs burn's {y}",
                    info.name
                );
            }
        }
    }

    #[test]
    fn cnn_lstm_cpu_paths_match_burn() {
        let arch = Arch::CnnLstm(CnnLstmConfig {
            input_bins: 20,
            channels: 3,
            kernels: vec![(5, 3), (3, 3)],
            strides: vec![(2, 2), (2, 1)],
            lstm_layers: 2,
            hidden: 6,
            bidirectional: true,
            vocab: text::VOCAB,
        });
        // The two convolution blocks (one stage) and two host LSTM layers.
        cpu_paths_give_burns_loss_and_gradients(arch, 20, 1 + 2);
    }

    #[test]
    fn cnn_lstm_without_convolutions_cpu_paths_match_burn() {
        let arch = Arch::CnnLstm(CnnLstmConfig {
            input_bins: 8,
            channels: 3,
            kernels: vec![],
            strides: vec![],
            lstm_layers: 2,
            hidden: 6,
            bidirectional: true,
            vocab: text::VOCAB,
        });
        // The first LSTM layer reads the features (no input gradient).
        cpu_paths_give_burns_loss_and_gradients(arch, 8, 2);
    }

    #[test]
    fn rnnt_cpu_paths_match_burn() {
        let arch = Arch::Rnnt(RnntConfig {
            input_bins: 6,
            stack: 2,
            encoder_layers: 2,
            encoder_hidden: 5,
            bidirectional: true,
            predictor_layers: 1,
            predictor_hidden: 4,
            embedding: 4,
            joint: 7,
            vocab: text::VOCAB,
        });
        // Two encoder layers and the prediction network's layer.
        cpu_paths_give_burns_loss_and_gradients(arch, 6, 2 + 1);
    }

    #[test]
    fn reads_tagged_and_older_untagged_records() {
        let c = CnnLstmConfig::ds2(1, 8);
        let tagged = serde_yaml::to_string(&Arch::CnnLstm(c.clone())).unwrap();
        assert!(tagged.starts_with("arch: cnn_lstm"), "{tagged}");
        let back: Arch = serde_yaml::from_str(&tagged).unwrap();
        assert_eq!(back, Arch::CnnLstm(c.clone()));
        let bare: Arch = serde_yaml::from_str(&serde_yaml::to_string(&c).unwrap()).unwrap();
        assert_eq!(bare, Arch::CnnLstm(c.clone()));
        let wrapped = format!(
            "arch: cnn_lstm\ncfg:\n{}",
            serde_yaml::to_string(&c)
                .unwrap()
                .lines()
                .map(|l| format!("  {l}\n"))
                .collect::<String>()
        );
        let w: Arch = serde_yaml::from_str(&wrapped).unwrap();
        assert_eq!(w, Arch::CnnLstm(c));
    }

    /// Trains `arch` on four synthetic utterances (each character a
    /// 6-frame pattern of its own bins, plus noise) until its own greedy
    /// decoder reproduces their transcripts (CER ≤ 10%): loss, gradients,
    /// padding and decoding agree. (A transducer's last label of an
    /// utterance tends to stay spread over the final frames for a while,
    /// each below blank, so exact transcripts would need many more steps.)
    fn overfits(arch: Arch, steps: usize) {
        use crate::decoding::decode;
        use crate::features::spec::Feats;
        use crate::training::batch::make_batch;
        use crate::training::optimizer::{Opt, Stepper};
        use crate::training::settings::FitSettings;
        let bins = 12;
        let mut rng = crate::rng::Rng::new(3);
        let data: Vec<Feats> = ["go up", "no", "yes sir", "up"]
            .iter()
            .map(|&text| {
                let labels = arch.tokens().encode(text);
                let frames = 6 * labels.len() + 4;
                let mut data: Vec<f32> =
                    (0..frames * bins).map(|_| rng.uniform(-0.1, 0.1)).collect();
                for (i, &c) in labels.iter().enumerate() {
                    for f in 2 + 6 * i..8 + 6 * i {
                        data[f * bins + c % bins] += 1.0;
                        data[f * bins + (c / bins + 7) % bins] += 1.0;
                    }
                }
                Feats {
                    id: text.into(),
                    text: text.into(),
                    frames,
                    data,
                }
            })
            .collect();
        let device = crate::device::open("flex").unwrap();
        let mut p = arch.init(1, &device);
        let mut opt = Opt::new(&p);
        let s = FitSettings::plain_adam(1, 4, 0.01);
        let items: Vec<&Feats> = data.iter().collect();
        let bt = make_batch(&items, bins, arch.tokens());
        let stepper = Stepper {
            cfg: &arch,
            host_layers: true,
            settings: &s,
            masks: vec![None; p.values.len()],
            bins,
            device: &device,
        };
        let first = stepper.step(&mut p, &mut opt, &bt, s.lr).unwrap();
        let mut last = first;
        for _ in 1..steps {
            last = stepper.step(&mut p, &mut opt, &bt, s.lr).unwrap();
        }
        assert!(
            last < first / 10.0,
            "{}: loss {first} → {last}",
            arch.name()
        );
        let hyps = decode(&arch, &p, &data, bins, 4);
        let refs: Vec<&str> = data.iter().map(|f| f.text.as_str()).collect();
        let (_, cer) = crate::scoring::score(&refs, &hyps);
        assert!(cer <= 10.0, "{}: {hyps:?}", arch.name());
    }

    #[test]
    fn a_small_conformer_learns_and_decodes_its_training_set() {
        overfits(
            Arch::Conformer(ConformerConfig {
                input_bins: 12,
                subsample_channels: 4,
                d_model: 32,
                heads: 4,
                ff: 64,
                blocks: 1,
                kernel: 5,
                vocab: text::VOCAB,
            }),
            150,
        );
    }

    /// Two stages (the second strided and wider), grouped attention in the
    /// first, relative positions, dropout, over BPE subwords learnt from
    /// the transcripts.
    #[test]
    fn a_small_efficient_conformer_learns_and_decodes_its_training_set() {
        let bpe = crate::bpe::Bpe::train(["go up", "no", "yes sir", "up"], 40);
        let vocab = bpe.vocab();
        overfits(
            Arch::EfficientConformer(EfficientConformerConfig {
                input_bins: 12,
                stem_filters: 4,
                dims: vec![32, 48],
                blocks: 2,
                stage_starts: vec![1],
                heads: 4,
                ff_ratio: 2,
                kernel: 5,
                groups: vec![2, 1],
                dropout: 0.1,
                bpe,
                vocab,
            }),
            200,
        );
    }

    #[test]
    fn a_small_transducer_learns_and_decodes_its_training_set() {
        overfits(
            Arch::Rnnt(RnntConfig {
                input_bins: 12,
                stack: 2,
                encoder_layers: 1,
                encoder_hidden: 32,
                bidirectional: false,
                predictor_layers: 1,
                predictor_hidden: 32,
                embedding: 16,
                joint: 32,
                vocab: text::VOCAB,
            }),
            400,
        );
    }

    #[test]
    fn ctc_feasibility_counts_repeats() {
        let conf = Arch::Conformer(ConformerConfig {
            input_bins: 80,
            subsample_channels: 4,
            d_model: 8,
            heads: 2,
            ff: 16,
            blocks: 1,
            kernel: 3,
            vocab: text::VOCAB,
        });
        // 23 frames → 11 → 5 output frames.
        assert_eq!(conf.out_len(23), 5);
        assert!(conf.usable(23, &[2, 3, 4, 5, 6]));
        assert!(!conf.usable(23, &[2, 3, 3, 5, 6]));
    }
}
