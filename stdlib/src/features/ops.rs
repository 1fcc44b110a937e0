//! The features ops, `spectrogram` and `fbank`: each publishes its
//! settings; extraction runs where the features are used (see
//! `corpus_features`).

use super::spec::FeatureSpec;
use crate::artifacts::{read_yaml, write_yaml};
use crate::op::{op, upstream};
use crate::vocabulary::FEATURES;
use lotto_interpreter::program::Upstream;
use lotto_interpreter::run_ctx::RunCtx;
use lotto_interpreter::signature::Output;
use lotto_interpreter::types::PType;
use lotto_interpreter::value::StepRef;
use lotto_interpreter::Registry;
use std::path::Path;

lotto_interpreter::sym_enum! {
    pub enum WindowFn { Hamming = "hamming", Hann = "hann" }
}

lotto_interpreter::sym_enum! {
    pub enum Normalize { Utterance = "utterance", None = "none" }
}

lotto_interpreter::op_args! {
    pub struct SpectrogramArgs {
        window: f64 = opt(PType::Duration, 0.02, "analysis window").range(0.001, 0.2),
        hop: f64 = opt(PType::Duration, 0.01, "frame hop").range(0.001, 0.2),
        window_fn: WindowFn = opt(PType::Enum(WindowFn::NAMES), WindowFn::Hamming, "window function"),
        normalize: Normalize = opt(PType::Enum(Normalize::NAMES), Normalize::Utterance, "mean/std normalisation"),
    }
}

lotto_interpreter::op_args! {
    pub struct FbankArgs {
        mels: usize = opt(PType::Int, 80, "mel bands").range(1.0, 512.0),
        n_fft: usize = opt(PType::Int, 512, "FFT size").range(16.0, 8192.0),
        window: f64 = opt(PType::Duration, 0.025, "analysis window").range(0.001, 0.2),
        hop: f64 = opt(PType::Duration, 0.01, "frame hop").range(0.001, 0.2),
        normalize: Normalize = opt(PType::Enum(Normalize::NAMES), Normalize::Utterance, "mean/std normalisation"),
    }
}

fn publish(ctx: &mut RunCtx, spec: &FeatureSpec) -> Result<(), String> {
    ctx.metric("bins", spec.bins() as u64);
    write_yaml(&ctx.out.join("features.yaml"), spec)
}

fn spectrogram_spec(a: &SpectrogramArgs) -> FeatureSpec {
    FeatureSpec {
        kind: "spectrogram".into(),
        window_s: a.window,
        hop_s: a.hop,
        n_fft: (a.window * crate::audio::RATE as f64).round() as usize,
        mels: 0,
        window_fn: a.window_fn.as_str().into(),
        normalize: a.normalize == Normalize::Utterance,
    }
}

fn fbank_spec(a: &FbankArgs) -> FeatureSpec {
    FeatureSpec {
        kind: "fbank".into(),
        window_s: a.window,
        hop_s: a.hop,
        n_fft: a.n_fft,
        mels: a.mels,
        window_fn: "hann".into(),
        normalize: a.normalize == Normalize::Utterance,
    }
}

/// The settings the features step `r` will publish, known at check time.
pub fn spec_of(up: &Upstream, r: StepRef) -> Option<FeatureSpec> {
    upstream(up, r, "fbank")
        .map(|a| fbank_spec(&a))
        .or_else(|| upstream(up, r, "spectrogram").map(|a| spectrogram_spec(&a)))
}

fn run_spectrogram(ctx: &mut RunCtx, a: &SpectrogramArgs) -> Result<(), String> {
    publish(ctx, &spectrogram_spec(a))
}

fn run_fbank(ctx: &mut RunCtx, a: &FbankArgs) -> Result<(), String> {
    publish(ctx, &fbank_spec(a))
}

/// The settings a features step published.
pub fn read_spec(dir: &Path) -> Result<FeatureSpec, String> {
    read_yaml(&dir.join("features.yaml"))
}

pub fn register(r: &mut Registry) {
    r.add(
        op::<SpectrogramArgs>("spectrogram", "Features", 3, Output::One(FEATURES), "Log1p magnitude spectrogram (DS2: 20 ms Hamming window, 10 ms hop → 161 bins at 16 kHz), per-utterance mean/std normalisation.")
            .run(run_spectrogram),
    );
    r.add(
        op::<FbankArgs>(
            "fbank",
            "Features",
            3,
            Output::One(FEATURES),
            "Log-mel filterbank (Conformer: 80 mels, n_fft 512, 25 ms / 10 ms).",
        )
        .run(run_fbank),
    );
}
