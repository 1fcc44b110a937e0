//! What training a model costs, as `lotto plan` shows it before anything
//! runs and as `fit` checks it against the machine before it starts: the
//! parameter count and the memory a training step holds (`StepMemory`:
//! the per-parameter state and the activations of a batch of the longest
//! utterances).

use crate::arch::conformer::sub;
use crate::arch::Arch;
use crate::nn::transducer_loss::CHUNK_ELEMENTS;

/// The longest utterance a plan assumes before the corpus is read: the
/// paper's (and `filter`'s) 15 s, with LibriSpeech's 15 characters per
/// second.
pub const PLAN_SECONDS: f64 = 15.0;
pub const CHARS_PER_SECOND: f64 = 15.0;

/// `86.6M parameters; a training step on 32 utterances of 15 s holds about
/// 12.3 GB (2.1 GB parameter state, 10.3 GB activations); an epoch takes
/// about 99 TFLOP per hour of audio`: `batch` is the fit's,
/// `frames_per_second` its features' frame rate.
pub fn describe(arch: &Arch, batch: usize, frames_per_second: f64) -> String {
    let (frames, labels) = planned_utterance(frames_per_second);
    let m = StepMemory::of(arch, batch, frames, labels);
    let per_hour = train_flops(arch, frames, labels) * 3600.0 / PLAN_SECONDS;
    format!(
        "{}M parameters; a training step on {batch} utterances of {PLAN_SECONDS:.0} s holds about {} \
         ({} parameter state, {} activations); an epoch takes about {} per hour of audio",
        fmt_millions(arch.num_params()),
        fmt_bytes(m.total() as usize),
        fmt_bytes(m.state as usize),
        fmt_bytes(m.activations as usize),
        fmt_flops(per_hour)
    )
}

/// The feature frames (at `frames_per_second`) and target labels of the
/// longest utterance a plan assumes.
pub fn planned_utterance(frames_per_second: f64) -> (usize, usize) {
    let frames = (PLAN_SECONDS * frames_per_second).round() as usize;
    (frames, (PLAN_SECONDS * CHARS_PER_SECOND) as usize)
}

/// Bytes per parameter held through a training step: the weights, their
/// gradients, Adam's two moments, the mask and θ0 (six 4-byte copies).
const STEP_STATE_BYTES: usize = 6 * 4;

/// The memory one training step holds at its peak, as computed from the
/// architecture (not measured): the per-parameter state, and the
/// activations the backward pass keeps for a batch of utterances of one
/// length. Activations count, per layer, the tensors its backward pass
/// reads (outputs of convolutions, normalisations and non-linearities;
/// LSTM gates and states per frame; attention scores and their softmax;
/// the output layer, its log-softmax and the loss lattice), in 4-byte
/// floats. Workspace a kernel allocates and frees inside one operation is
/// not counted; `lotto bench scale` prints this estimate beside the
/// measured peak.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepMemory {
    pub state: u64,
    pub activations: u64,
}

impl StepMemory {
    /// A step on `batch` utterances of `frames` feature frames and
    /// `labels` target labels each.
    pub fn of(arch: &Arch, batch: usize, frames: usize, labels: usize) -> StepMemory {
        let (per_utterance, per_batch) = activation_floats(arch, frames, labels);
        StepMemory {
            state: (arch.num_params() * STEP_STATE_BYTES) as u64,
            activations: ((batch * per_utterance + per_batch) * 4) as u64,
        }
    }

    /// A step on `batch` of the longest utterances a plan assumes, as
    /// `lotto plan` shows it.
    pub fn planned(arch: &Arch, batch: usize, frames_per_second: f64) -> StepMemory {
        let (frames, labels) = planned_utterance(frames_per_second);
        StepMemory::of(arch, batch, frames, labels)
    }

    pub fn total(&self) -> u64 {
        self.state + self.activations
    }
}

/// Floats one utterance's activations take, and floats the step holds once
/// whatever the batch (the transducer's joint chunk).
fn activation_floats(arch: &Arch, t: usize, u: usize) -> (usize, usize) {
    let bins = arch.input_bins();
    let input = bins * t;
    match arch {
        Arch::CnnLstm(c) => {
            let convs = c.conv_sizes(t);
            let conv: usize = convs.iter().map(|(f, n)| 3 * c.channels * f * n).sum();
            let (f, n) = convs.last().copied().unwrap_or((bins, t));
            let dirs = if c.bidirectional { 2 } else { 1 };
            // Directions are summed: each next layer reads H per frame,
            // after the sum and a batch norm (2H kept per layer).
            let (h, layers) = (c.hidden, c.lstm_layers);
            let lstm = lstm_floats(n, c.channels * f, h, layers, dirs, h) + n * layers * 2 * h;
            // The spectra a spectral convolution keeps (its path chosen
            // for one utterance: more utterances only make it likelier).
            let (spectra, weight_spectra) = (c.conv_geoms(1, t).iter())
                .map(|g| g.kept_floats())
                .fold((0, 0), |(a, b), (x, y)| (a + x, b + y));
            let per_utterance = input + conv + lstm + head_floats(n, c.vocab, u) + spectra;
            (per_utterance, weight_spectra)
        }
        Arch::Rnnt(c) => {
            let n = c.out_len(t);
            let dirs = if c.bidirectional { 2 } else { 1 };
            let h = c.encoder_hidden;
            let encoder = lstm_floats(n, c.stack * bins, dirs * h, c.encoder_layers, dirs, h);
            let u1 = u + 1;
            let predictor = u1 * c.embedding
                + lstm_floats(
                    u1,
                    c.embedding,
                    c.predictor_hidden,
                    c.predictor_layers,
                    1,
                    c.predictor_hidden,
                );
            // Both projections and their gradients; the lattice's
            // log-probabilities and gradients (one utterance at a time,
            // counted per utterance as an upper bound).
            let joint = 2 * (n + u1) * c.joint + 2 * n * u1 * c.vocab;
            (input + encoder + predictor + joint, 6 * CHUNK_ELEMENTS)
        }
        Arch::Conformer(c) => {
            let ((f1, t1), (f2, n)) = subsampled(bins, t);
            let subsampling = 3 * c.subsample_channels * (f1 * t1 + f2 * n);
            let blocks = c.blocks * n * block_floats(c.d_model, c.ff, c.heads, n);
            (input + subsampling + blocks + head_floats(n, c.vocab, u), 0)
        }
        Arch::EfficientConformer(c) => {
            let stem = 3 * c.stem_filters * bins.div_ceil(2) * t.div_ceil(2);
            let sizes = c.block_sizes(t);
            let blocks: usize = sizes
                .iter()
                .map(|&(d, n, g)| n * block_floats(d, c.ff_ratio * d, c.heads, n.div_ceil(g) / g))
                .sum();
            let n = sizes.last().map_or(t, |s| s.1);
            (input + stem + blocks + head_floats(n, c.vocab, u), 0)
        }
    }
}

/// Floating-point operations to train on one utterance of `t` frames and
/// `u` labels (forward and backward): each multiply-accumulate of the
/// matrix products and convolutions counts 2, and 3 times (forward, input
/// gradient, weight gradient). Element-wise work is not counted.
pub fn train_flops(arch: &Arch, t: usize, u: usize) -> f64 {
    let bins = arch.input_bins();
    let macs = match arch {
        Arch::CnnLstm(c) => return c.train_step_flops(1, t),
        Arch::Rnnt(c) => {
            let n = c.out_len(t);
            let (h, dirs) = (c.encoder_hidden, if c.bidirectional { 2 } else { 1 });
            let encoder: usize = (0..c.encoder_layers)
                .map(|l| {
                    let d = if l == 0 { c.stack * bins } else { dirs * h };
                    dirs * n * 4 * h * (d + h)
                })
                .sum();
            let u1 = u + 1;
            let hp = c.predictor_hidden;
            let predictor: usize = (0..c.predictor_layers)
                .map(|l| u1 * 4 * hp * (if l == 0 { c.embedding } else { hp } + hp))
                .sum();
            let joint = n * dirs * h * c.joint + u1 * hp * c.joint + n * u1 * c.joint * c.vocab;
            encoder + predictor + joint
        }
        Arch::Conformer(c) => {
            let ((f1, t1), (f2, n)) = subsampled(bins, t);
            let ch = c.subsample_channels;
            let front = ch * 9 * f1 * t1 + ch * ch * 9 * f2 * n + ch * f2 * c.d_model * n;
            front
                + c.blocks * n * block_macs(c.d_model, c.ff, c.kernel, n)
                + n * c.d_model * c.vocab
        }
        Arch::EfficientConformer(c) => {
            let stem = c.stem_filters * 9 * bins.div_ceil(2) * t.div_ceil(2);
            let sizes = c.block_sizes(t);
            let blocks: usize = sizes
                .iter()
                .map(|&(d, n, g)| n * block_macs(d, c.ff_ratio * d, c.kernel, n.div_ceil(g)))
                .sum();
            let (d, n) = sizes.last().map_or((0, t), |s| (s.0, s.1));
            stem + blocks + n * d * c.vocab
        }
    };
    6.0 * macs as f64
}

/// The Conformer's (bins, frames) after each of its two subsampling
/// convolutions.
fn subsampled(bins: usize, t: usize) -> ((usize, usize), (usize, usize)) {
    let first = (sub(bins), sub(t));
    (first, (sub(first.0), sub(first.1)))
}

/// One Conformer block's multiply-accumulates per frame: two feed-forward
/// modules, attention's four projections and its scores and context over
/// `keys` positions, and the convolution module.
fn block_macs(d: usize, ff: usize, kernel: usize, keys: usize) -> usize {
    2 * 2 * d * ff + 4 * d * d + 2 * keys * d + 3 * d * d + d * kernel
}

/// LSTM layers over `n` steps: each layer's input (`first` values per
/// step for the first layer, `next` for the others) and, per direction
/// and step, its four gates, cell, hidden state and the cell's tanh
/// (7 × H).
fn lstm_floats(n: usize, first: usize, next: usize, layers: usize, dirs: usize, h: usize) -> usize {
    (0..layers)
        .map(|l| n * (if l == 0 { first } else { next } + dirs * 7 * h))
        .sum()
}

/// One Conformer block per frame, width `d`, feed-forward `ff`, attention
/// over `keys` positions: two feed-forward modules (norm, inner, swish,
/// output: 2d + 2ff each), attention (norm, q/k/v, context, output: 6d;
/// scores and softmax per head: 2 × heads × keys), the convolution module
/// (norm, pointwise, GLU, depthwise, batch norm, swish, pointwise: 8d) and
/// the final norm.
fn block_floats(d: usize, ff: usize, heads: usize, keys: usize) -> usize {
    2 * (2 * d + 2 * ff) + 6 * d + 2 * heads * keys + 8 * d + d
}

/// A CTC head over `n` frames: logits, log-softmax and their gradient;
/// the loss's α and β over 2U + 1 states.
fn head_floats(n: usize, vocab: usize, u: usize) -> usize {
    3 * n * vocab + 2 * n * (2 * u + 1)
}

fn fmt_millions(n: usize) -> String {
    let m = n as f64 / 1e6;
    if m >= 10.0 {
        format!("{m:.1}")
    } else {
        format!("{m:.2}")
    }
}

fn fmt_flops(f: f64) -> String {
    if f >= 1e12 {
        format!("{:.0} TFLOP", f / 1e12)
    } else {
        format!("{:.0} GFLOP", f / 1e9)
    }
}

pub(crate) fn fmt_bytes(b: usize) -> String {
    let g = b as f64 / 1e9;
    if g >= 1.0 {
        format!("{g:.1} GB")
    } else {
        format!("{:.0} MB", b as f64 / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::CnnLstmConfig;

    #[test]
    fn the_paper_cnn_lstm_at_batch_32_of_15_s() {
        let arch = Arch::CnnLstm(CnnLstmConfig::ds2(5, 1024));
        let d = describe(&arch, 32, 100.0);
        // 86.6M parameters × 24 bytes; activations from `activation_floats`.
        assert!(d.starts_with("86.6M parameters; a training step on 32 utterances of 15 s holds about 12.3 GB (2.1 GB parameter state, 10.3 GB activations); an epoch takes about "), "{d}");
        assert!(
            d.ends_with("an epoch takes about 99 TFLOP per hour of audio"),
            "{d}"
        );
        assert_eq!(fmt_bytes(5_580_768 * 28), "156 MB");
        assert_eq!(fmt_flops(3.4e11), "340 GFLOP");
    }

    /// The CNN-LSTM's activations counted by hand for a small case: 161
    /// bins, 100 frames, 10 labels, DS2 convolutions (81 × 50 and 41 × 50
    /// outputs of 32 channels), one BiLSTM-8 layer. The second convolution
    /// takes the spectral path and keeps spectra of 2 × 101 × 31 floats
    /// (its padded input is 101 × 60): 32 per utterance, 32 × 32 once.
    #[test]
    fn cnn_lstm_activations_by_hand() {
        let arch = Arch::CnnLstm(CnnLstmConfig::ds2(1, 8));
        let input = 161 * 100;
        let conv = 3 * 32 * (81 * 50 + 41 * 50);
        let lstm = 50 * (32 * 41 + 2 * 7 * 8) + 50 * 2 * 8;
        let head = 3 * 50 * 29 + 2 * 50 * 21;
        let spectrum = 2 * 101 * 31;
        let (per, once) = activation_floats(&arch, 100, 10);
        assert_eq!(
            (per, once),
            (
                input + conv + lstm + head + 32 * spectrum,
                32 * 32 * spectrum
            )
        );
        let m = StepMemory::of(&arch, 3, 100, 10);
        assert_eq!(m.activations, 4 * (3 * per + once) as u64);
        assert_eq!(m.state, 24 * arch.num_params() as u64);
    }
}
