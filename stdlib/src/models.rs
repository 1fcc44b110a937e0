//! The model ops: `cnn_lstm`, `conformer` and `rnnt` publish an
//! architecture with its sizes (`model.yaml`); `fit` builds and trains it.

use crate::arch::{Arch, CnnLstmConfig, ConformerConfig, RnntConfig};
use crate::artifacts::write_yaml;
use crate::op::{op, upstream};
use crate::vocabulary::MODEL_SPEC;
use lotto_interpreter::program::Upstream;
use lotto_interpreter::registry::Invalid;
use lotto_interpreter::run_ctx::RunCtx;
use lotto_interpreter::signature::Output;
use lotto_interpreter::typed::Shape;
use lotto_interpreter::types::PType;
use lotto_interpreter::value::StepRef;
use lotto_interpreter::value::Value;
use lotto_interpreter::Registry;

fn shapes(v: &[(u32, u32)]) -> Value {
    Value::List(v.iter().map(|(a, b)| Value::Shape(*a, *b, 'x')).collect())
}

lotto_interpreter::op_args! {
    pub struct CnnLstmArgs {
        kernels: Vec<Shape> = opt(PType::List(Box::new(PType::Shape)), shapes(&[(41, 11), (21, 11)]), "conv kernels, frequency x time, one per conv layer"),
        strides: Vec<Shape> = opt(PType::List(Box::new(PType::Shape)), shapes(&[(2, 2), (2, 1)]), "conv strides, frequency x time"),
        channels: usize = opt(PType::Int, 32, "conv channels").range(1.0, 1024.0),
        lstm: usize = opt(PType::Int, 5, "LSTM layers").range(0.0, 16.0),
        hidden: usize = opt(PType::Int, 1024, "LSTM hidden size").range(1.0, 8192.0),
        bidirectional: bool = opt(PType::Bool, true, "bidirectional LSTMs (directions summed)"),
    }
}

lotto_interpreter::op_args! {
    pub struct ConformerArgs {
        blocks: usize = opt(PType::Int, 17, "Conformer blocks").range(1.0, 64.0),
        d_model: usize = opt(PType::Int, 512, "model width").range(2.0, 8192.0),
        heads: usize = opt(PType::Int, 8, "attention heads (must divide d_model)").range(1.0, 64.0),
        ff: usize = opt(PType::Int, 1024, "inner size of each feed-forward module").range(1.0, 65536.0),
        kernel: usize = opt(PType::Int, 31, "depthwise convolution kernel (odd)").range(1.0, 255.0),
        subsample_channels: usize = opt(PType::Int, 64, "channels of the two subsampling convolutions").range(1.0, 4096.0),
    }
}

lotto_interpreter::op_args! {
    pub struct RnntArgs {
        stack: usize = opt(PType::Int, 6, "feature frames concatenated into one encoder frame").range(1.0, 32.0),
        encoder_layers: usize = opt(PType::Int, 5, "encoder LSTM layers").range(0.0, 16.0),
        encoder_hidden: usize = opt(PType::Int, 1024, "encoder LSTM size").range(1.0, 8192.0),
        bidirectional: bool = opt(PType::Bool, true, "bidirectional encoder (directions concatenated)"),
        predictor_layers: usize = opt(PType::Int, 1, "prediction network LSTM layers").range(0.0, 8.0),
        predictor_hidden: usize = opt(PType::Int, 1024, "prediction network LSTM size").range(1.0, 8192.0),
        embedding: usize = opt(PType::Int, 0, "label embedding size (0: predictor_hidden)").range(0.0, 8192.0),
        joint: usize = opt(PType::Int, 1024, "joint network size").range(1.0, 8192.0),
    }
}

fn pairs(v: &[Shape]) -> Vec<(usize, usize)> {
    v.iter().map(|s| (s.first, s.second)).collect()
}

fn cnn_lstm_arch(a: &CnnLstmArgs) -> Arch {
    Arch::CnnLstm(CnnLstmConfig {
        input_bins: 161,
        channels: a.channels,
        kernels: pairs(&a.kernels),
        strides: pairs(&a.strides),
        lstm_layers: a.lstm,
        hidden: a.hidden,
        bidirectional: a.bidirectional,
        vocab: crate::text::VOCAB,
    })
}

fn conformer_arch(a: &ConformerArgs) -> Arch {
    Arch::Conformer(ConformerConfig {
        input_bins: 80,
        subsample_channels: a.subsample_channels,
        d_model: a.d_model,
        heads: a.heads,
        ff: a.ff,
        blocks: a.blocks,
        kernel: a.kernel,
        vocab: crate::text::VOCAB,
    })
}

fn rnnt_arch(a: &RnntArgs) -> Arch {
    Arch::Rnnt(RnntConfig {
        input_bins: 161,
        stack: a.stack,
        encoder_layers: a.encoder_layers,
        encoder_hidden: a.encoder_hidden,
        bidirectional: a.bidirectional,
        predictor_layers: a.predictor_layers,
        predictor_hidden: a.predictor_hidden,
        embedding: match a.embedding {
            0 => a.predictor_hidden,
            n => n,
        },
        joint: a.joint,
        vocab: crate::text::VOCAB,
    })
}

/// The paper's three models at their default (paper) sizes, as
/// `cnn_lstm()`, `conformer()` and `rnnt()` build them.
pub fn paper_models() -> Result<Vec<(&'static str, Arch)>, String> {
    use lotto_interpreter::typed::OpArgs;
    fn defaults<A: OpArgs>() -> Result<A, String> {
        let args: lotto_interpreter::value::Args = A::params()
            .into_iter()
            .filter_map(|p| Some((p.name.to_string(), p.default?)))
            .collect();
        A::from_args(&args)
    }
    Ok(vec![
        ("cnn_lstm", cnn_lstm_arch(&defaults()?)),
        ("conformer", conformer_arch(&defaults()?)),
        ("rnnt", rnnt_arch(&defaults()?)),
    ])
}

/// The architecture the model step `r` will publish, known at check time.
pub fn arch_of(up: &Upstream, r: StepRef) -> Option<Arch> {
    upstream(up, r, "cnn_lstm")
        .map(|a| cnn_lstm_arch(&a))
        .or_else(|| upstream(up, r, "conformer").map(|a| conformer_arch(&a)))
        .or_else(|| upstream(up, r, "rnnt").map(|a| rnnt_arch(&a)))
}

fn run_cnn_lstm(ctx: &mut RunCtx, a: &CnnLstmArgs) -> Result<(), String> {
    publish(ctx, cnn_lstm_arch(a), 161)
}

fn run_conformer(ctx: &mut RunCtx, a: &ConformerArgs) -> Result<(), String> {
    publish(ctx, conformer_arch(a), 80)
}

fn run_rnnt(ctx: &mut RunCtx, a: &RnntArgs) -> Result<(), String> {
    publish(ctx, rnnt_arch(a), 161)
}

/// Writes a model step's `model.yaml` and its parameter count at the
/// feature size the architecture is usually fed (the count `lotto show`
/// reports; `fit` fixes the real input size from its features).
fn publish(ctx: &mut RunCtx, arch: Arch, bins: usize) -> Result<(), String> {
    let n = arch.num_params();
    ctx.metric(&format!("params_at_{bins}_bins"), n as u64);
    ctx.metric(
        &format!("params_millions_at_{bins}_bins"),
        (n as f64 / 1e5).round() / 10.0,
    );
    write_yaml(&ctx.out.join("model.yaml"), &arch)
}

fn validate_conformer(a: &ConformerArgs) -> Result<(), Invalid> {
    if !a.d_model.is_multiple_of(a.heads) {
        Err(Invalid::at("heads", "`heads` must divide `d_model`"))
    } else if a.kernel.is_multiple_of(2) {
        Err(Invalid::at(
            "kernel",
            "use an odd kernel, so frames stay centred",
        ))
    } else {
        Ok(())
    }
}

pub fn register(r: &mut Registry) {
    // The versions count changes of the numbers a model's training gives:
    // the CPU paths' float rounding (host convolution and LSTM, gemm's
    // kernels) changed them; every step downstream of an older version
    // gets a new key instead of reusing results the code no longer makes.
    r.add(
        op::<CnnLstmArgs>("cnn_lstm", "Models", 5, Output::One(MODEL_SPEC), "DeepSpeech2-style CNN-LSTM with CTC (the paper's defaults: 2 conv layers 41x11/2x2 and 21x11/2x1 with 32 channels, BatchNorm + Hardtanh(0,20); 5 bidirectional LSTMs of 1024 with summed directions and sequence-wise BatchNorm; BatchNorm + bias-free linear to 29 characters: 86.6M parameters at 161 bins).")
            .run(run_cnn_lstm)
            .validate(|a| {
                if a.kernels.len() != a.strides.len() {
                    Err(Invalid::at("strides", "give one stride per kernel"))
                } else {
                    Ok(())
                }
            }),
    );
    r.add(
        op::<ConformerArgs>("conformer", "Models", 2, Output::One(MODEL_SPEC), "Conformer with CTC on log-mel features (`fbank`): 2 conv layers 3x3/2 subsample time and frequency by 4; each block is ½ feed-forward, multi-head self-attention, convolution module (pointwise conv, GLU, depthwise conv, BatchNorm, Swish, pointwise conv), ½ feed-forward, layer norm. Defaults: 17 blocks of 512, 8 heads, feed-forward 1024, kernel 31: 68.0M parameters at 80 bins (the paper: 65.8M). Absolute sinusoidal positions, no dropout, 29 characters (the paper: relative positions, 256 BPE tokens). Prunable by default: linear weights only, as the paper's code.")
            .run(run_conformer)
            .validate(validate_conformer),
    );
    r.add(
        op::<RnntArgs>("rnnt", "Models", 4, Output::One(MODEL_SPEC), "RNN-Transducer: LSTM encoder over stacked spectrogram frames, LSTM prediction network over the previous characters, joint network tanh(W_e·enc + W_p·pred) → 29 classes (blank included); trained with the RNN-T loss, decoded greedily. Defaults: 6 stacked 161-bin frames, 5 bidirectional LSTM-1024 encoder layers (directions concatenated), 1 LSTM-1024 prediction layer, joint 1024: 128.7M parameters at 161 bins (the paper: 132.2M).")
            .run(run_rnnt),
    );
}
