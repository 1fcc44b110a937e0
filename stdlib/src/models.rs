//! The model ops: `cnn_lstm`, `conformer` and `rnnt` publish an
//! architecture with its sizes (`model.yaml`); `fit` builds and trains it.

use crate::arch::{Arch, CnnLstmConfig, ConformerConfig, EfficientConformerConfig, RnntConfig};
use crate::artifacts::write_yaml;
use crate::bpe::Bpe;
use crate::op::{op, upstream};
use crate::tokenizer::{read_bpe, BpeArgs};
use crate::vocabulary::{MODEL_SPEC, TOKENIZER};
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

fn ints(v: &[i64]) -> Value {
    Value::List(v.iter().map(|&i| Value::Int(i)).collect())
}

lotto_interpreter::op_args! {
    pub struct EfficientConformerArgs {
        tokens: StepRef = req(PType::Step(&[TOKENIZER]), "the subwords it predicts (`bpe(train)`)"),
        blocks: usize = opt(PType::Int, 16, "Conformer blocks in all").range(1.0, 64.0),
        dims: Vec<usize> = opt(PType::List(Box::new(PType::Int)), ints(&[256, 384, 512]), "width of each stage").range(2.0, 8192.0),
        stage_starts: Vec<usize> = opt(PType::List(Box::new(PType::Int)), ints(&[4, 10]), "the blocks that start the next stage: stride 2 in their depthwise convolution, widened to the next width").range(0.0, 63.0),
        groups: Vec<usize> = opt(PType::List(Box::new(PType::Int)), ints(&[3, 1, 1]), "attention group size per stage (frames attended as one)").range(1.0, 16.0),
        heads: usize = opt(PType::Int, 8, "attention heads (must divide every width)").range(1.0, 64.0),
        ff_ratio: usize = opt(PType::Int, 4, "feed-forward inner size, as a multiple of the width").range(1.0, 16.0),
        kernel: usize = opt(PType::Int, 15, "depthwise convolution kernel (odd)").range(1.0, 255.0),
        dropout: f64 = opt(PType::Fraction, 0.1, "dropout in training").range(0.0, 0.9),
        stem_filters: usize = opt(PType::Int, 256, "filters of the stride-2 stem convolution").range(1.0, 4096.0),
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

fn efficient_conformer_arch(a: &EfficientConformerArgs, bpe: Bpe, vocab: usize) -> Arch {
    Arch::EfficientConformer(EfficientConformerConfig {
        input_bins: 80,
        stem_filters: a.stem_filters,
        dims: a.dims.clone(),
        blocks: a.blocks,
        stage_starts: a.stage_starts.clone(),
        heads: a.heads,
        ff_ratio: a.ff_ratio,
        kernel: a.kernel,
        groups: a.groups.clone(),
        dropout: a.dropout,
        bpe,
        vocab,
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

/// The paper's models at their default (paper) sizes, as `cnn_lstm()`,
/// `conformer()`, `efficient_conformer()` (with 256 ids) and `rnnt()`
/// build them.
pub fn paper_models() -> Result<Vec<(&'static str, Arch)>, String> {
    use lotto_interpreter::typed::OpArgs;
    fn defaults<A: OpArgs>() -> Result<A, String> {
        let mut args: lotto_interpreter::value::Args = A::params()
            .into_iter()
            .filter_map(|p| Some((p.name.to_string(), p.default?)))
            .collect();
        // The one required argument of these ops: a tokenizer step.
        args.entry("tokens".into())
            .or_insert(Value::Ref(StepRef { step: 0, port: 0 }));
        A::from_args(&args)
    }
    Ok(vec![
        ("cnn_lstm", cnn_lstm_arch(&defaults()?)),
        ("conformer", conformer_arch(&defaults()?)),
        (
            "efficient_conformer",
            efficient_conformer_arch(&defaults()?, Bpe::default(), 256),
        ),
        ("rnnt", rnnt_arch(&defaults()?)),
    ])
}

/// The architecture the model step `r` will publish, known at check time.
pub fn arch_of(up: &Upstream, r: StepRef) -> Option<Arch> {
    upstream(up, r, "cnn_lstm")
        .map(|a| cnn_lstm_arch(&a))
        .or_else(|| upstream(up, r, "conformer").map(|a| conformer_arch(&a)))
        .or_else(|| upstream(up, r, "rnnt").map(|a| rnnt_arch(&a)))
        .or_else(|| {
            // Before it runs, the tokenizer's size is the one asked for
            // (an upper bound: transcripts may give fewer).
            let a: EfficientConformerArgs = upstream(up, r, "efficient_conformer")?;
            let size = upstream::<BpeArgs>(up, a.tokens, "bpe")?.size;
            Some(efficient_conformer_arch(&a, Bpe::default(), size))
        })
}

fn run_cnn_lstm(ctx: &mut RunCtx, a: &CnnLstmArgs) -> Result<(), String> {
    publish(ctx, cnn_lstm_arch(a), 161)
}

fn run_conformer(ctx: &mut RunCtx, a: &ConformerArgs) -> Result<(), String> {
    publish(ctx, conformer_arch(a), 80)
}

fn run_efficient_conformer(ctx: &mut RunCtx, a: &EfficientConformerArgs) -> Result<(), String> {
    let bpe = read_bpe(ctx.input(a.tokens))?;
    let vocab = bpe.vocab();
    publish(ctx, efficient_conformer_arch(a, bpe, vocab), 80)
}

fn validate_efficient_conformer(a: &EfficientConformerArgs) -> Result<(), Invalid> {
    let stages = a.stage_starts.len() + 1;
    if a.dims.len() != stages {
        return Err(Invalid::at(
            "dims",
            format!(
                "give one width per stage: {} stage starts make {stages} stages",
                a.stage_starts.len()
            ),
        ));
    }
    if a.groups.len() != stages {
        return Err(Invalid::at(
            "groups",
            format!("give one group size per stage ({stages})"),
        ));
    }
    if a.stage_starts.windows(2).any(|w| w[0] >= w[1])
        || a.stage_starts.iter().any(|&s| s == 0 || s >= a.blocks)
    {
        return Err(Invalid::at(
            "stage_starts",
            format!(
                "stage starts must rise, each a block after the first and before {}",
                a.blocks
            ),
        ));
    }
    if let Some(d) = a.dims.iter().find(|d| !d.is_multiple_of(a.heads)) {
        return Err(Invalid::at(
            "heads",
            format!(
                "`heads` must divide every width; {d} is not a multiple of {}",
                a.heads
            ),
        ));
    }
    if a.kernel.is_multiple_of(2) {
        return Err(Invalid::at(
            "kernel",
            "use an odd kernel, so frames stay centred",
        ));
    }
    Ok(())
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
        op::<CnnLstmArgs>("cnn_lstm", "Models", 6, Output::One(MODEL_SPEC), "DeepSpeech2-style CNN-LSTM with CTC (the paper's defaults: 2 conv layers 41x11/2x2 and 21x11/2x1 with 32 channels, BatchNorm + Hardtanh(0,20); 5 bidirectional LSTMs of 1024 with summed directions and sequence-wise BatchNorm; BatchNorm + bias-free linear to 29 characters: 86.6M parameters at 161 bins).")
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
        op::<ConformerArgs>("conformer", "Models", 2, Output::One(MODEL_SPEC), "Conformer with CTC on log-mel features (`fbank`): 2 conv layers 3x3/2 subsample time and frequency by 4; each block is ½ feed-forward, multi-head self-attention, convolution module (pointwise conv, GLU, depthwise conv, BatchNorm, Swish, pointwise conv), ½ feed-forward, layer norm. Defaults: 17 blocks of 512, 8 heads, feed-forward 1024, kernel 31: 68.0M parameters at 80 bins (the paper: 65.8M). The vanilla Conformer (Gulati et al. 2020): absolute sinusoidal positions, no dropout, 29 characters; the paper's model is `efficient_conformer`. Prunable by default: linear weights only, as the paper's code.")
            .run(run_conformer)
            .validate(validate_conformer),
    );
    r.add(
        op::<EfficientConformerArgs>("efficient_conformer", "Models", 1, Output::One(MODEL_SPEC), "The paper's Conformer as its official config has it: an Efficient Conformer (Burchi & Vielzeuf 2021) with CTC over BPE subwords (`tokens: bpe(train)`). A 3x3 stride-2 convolution stem (256 filters, batch norm, Swish) and a linear projection; 16 blocks in stages of 256/384/512 (blocks 4 and 10 start a stage: stride-2 depthwise convolution, widening convolution module, strided pointwise residual; time ÷ 8 in all); relative positional self-attention, grouped by 3 frames in the first stage; kernel 15; dropout 0.1. 65.8M parameters at 80 bins and 256 ids, the paper's 65.8M. Prunable by default: linear weights only, as the paper's code.")
            .run(run_efficient_conformer)
            .validate(validate_efficient_conformer),
    );
    r.add(
        op::<RnntArgs>("rnnt", "Models", 6, Output::One(MODEL_SPEC), "RNN-Transducer: LSTM encoder over stacked spectrogram frames, LSTM prediction network over the previous characters, joint network tanh(W_e·enc + W_p·pred) → 29 classes (blank included); trained with the RNN-T loss, decoded greedily. Defaults: 6 stacked 161-bin frames, 5 bidirectional LSTM-1024 encoder layers (directions concatenated), 1 LSTM-1024 prediction layer, joint 1024: 128.7M parameters at 161 bins (the paper: 132.2M).")
            .run(run_rnnt),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use lotto_interpreter::typed::OpArgs;

    fn ec(edit: impl FnOnce(&mut EfficientConformerArgs)) -> Result<(), Invalid> {
        let mut args: lotto_interpreter::value::Args = EfficientConformerArgs::params()
            .into_iter()
            .filter_map(|p| Some((p.name.to_string(), p.default?)))
            .collect();
        args.insert("tokens".into(), Value::Ref(StepRef { step: 0, port: 0 }));
        let mut a = EfficientConformerArgs::from_args(&args).unwrap();
        edit(&mut a);
        validate_efficient_conformer(&a)
    }

    /// The defaults are the official config; sizes that cannot build a
    /// model are named with what to change.
    #[test]
    fn efficient_conformer_sizes_are_checked() {
        ec(|_| {}).unwrap();
        let e = ec(|a| a.dims = vec![256, 384]).unwrap_err();
        assert_eq!(e.param, Some("dims"));
        assert!(
            e.message.contains("2 stage starts make 3 stages"),
            "{}",
            e.message
        );
        assert_eq!(
            ec(|a| a.groups = vec![3]).unwrap_err().param,
            Some("groups")
        );
        assert_eq!(
            ec(|a| a.stage_starts = vec![10, 4]).unwrap_err().param,
            Some("stage_starts")
        );
        assert_eq!(
            ec(|a| a.stage_starts = vec![4, 16]).unwrap_err().param,
            Some("stage_starts")
        );
        let e = ec(|a| a.heads = 7).unwrap_err();
        assert!(
            e.message.contains("256 is not a multiple of 7"),
            "{}",
            e.message
        );
        assert_eq!(ec(|a| a.kernel = 14).unwrap_err().param, Some("kernel"));
    }
}
