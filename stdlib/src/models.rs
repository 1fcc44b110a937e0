//! Model and training ops: `cnn_lstm`, the optimizer settings, and `fit`.
//! A Trained artifact holds `init.safetensors` (θ0), `best.safetensors`
//! (lowest dev WER), `last.safetensors`, optional `masks.safetensors`, and
//! `trained.yaml` with everything needed to retrain it (IMP does).

use crate::arch::{Arch, CnnLstmConfig, ConformerConfig, RnntConfig};
use crate::features::{corpus_features, read_spec, FeatureSpec};
use crate::op::*;
use crate::tensor_io::{self, TensorMap};
use crate::train::{self, FitSettings, Masks};
use lotto_interpreter::registry::{Output, PType, Resources, RunCtx};
use lotto_interpreter::value::{Args, StepType, Value};
use lotto_interpreter::{Param, Registry};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainedInfo {
    pub model: Arch,
    pub features: FeatureSpec,
    pub settings: FitSettings,
    pub train_corpus: String,
    pub dev_corpus: String,
    pub best_epoch: usize,
    pub best_dev_wer: f64,
    /// Remaining weights, % of prunable, measured from the masks.
    pub rw: f64,
    pub history: Vec<train::EpochLog>,
}

pub fn read_trained(dir: &Path) -> Result<TrainedInfo, String> {
    read_yaml(&dir.join("trained.yaml"))
}

fn shapes(v: &Value) -> Vec<(usize, usize)> {
    v.as_list()
        .unwrap_or(&[])
        .iter()
        .filter_map(|s| {
            if let Value::Shape(a, b, _) = s {
                Some((*a as usize, *b as usize))
            } else {
                None
            }
        })
        .collect()
}

fn run_cnn_lstm(ctx: &mut RunCtx) -> Result<(), String> {
    let a = ctx.args;
    let cfg = CnnLstmConfig {
        input_bins: 161,
        channels: arg_usize(a, "channels"),
        kernels: shapes(&a["kernels"]),
        strides: shapes(&a["strides"]),
        lstm_layers: arg_usize(a, "lstm"),
        hidden: arg_usize(a, "hidden"),
        bidirectional: arg_bool(a, "bidirectional"),
        vocab: crate::text::VOCAB,
    };
    publish_model(ctx, Arch::CnnLstm(cfg), 161)
}

/// Writes a model step's `model.yaml` and its parameter count at the
/// feature size the architecture is usually fed (the count `lotto show`
/// reports; `fit` fixes the real input size from its features).
fn publish_model(ctx: &mut RunCtx, arch: Arch, bins: usize) -> Result<(), String> {
    let n = arch.num_params();
    ctx.metric(&format!("params_at_{bins}_bins"), n as u64);
    ctx.metric(
        &format!("params_millions_at_{bins}_bins"),
        (n as f64 / 1e5).round() / 10.0,
    );
    write_yaml(&ctx.out.join("model.yaml"), &arch)
}

fn run_conformer(ctx: &mut RunCtx) -> Result<(), String> {
    let a = ctx.args;
    let cfg = ConformerConfig {
        input_bins: 80,
        subsample_channels: arg_usize(a, "subsample_channels"),
        d_model: arg_usize(a, "d_model"),
        heads: arg_usize(a, "heads"),
        ff: arg_usize(a, "ff"),
        blocks: arg_usize(a, "blocks"),
        kernel: arg_usize(a, "kernel"),
        vocab: crate::text::VOCAB,
    };
    publish_model(ctx, Arch::Conformer(cfg), 80)
}

fn run_rnnt(ctx: &mut RunCtx) -> Result<(), String> {
    let a = ctx.args;
    let predictor_hidden = arg_usize(a, "predictor_hidden");
    let cfg = RnntConfig {
        input_bins: 161,
        stack: arg_usize(a, "stack"),
        encoder_layers: arg_usize(a, "encoder_layers"),
        encoder_hidden: arg_usize(a, "encoder_hidden"),
        bidirectional: arg_bool(a, "bidirectional"),
        predictor_layers: arg_usize(a, "predictor_layers"),
        predictor_hidden,
        embedding: match arg_usize(a, "embedding") {
            0 => predictor_hidden,
            n => n,
        },
        joint: arg_usize(a, "joint"),
        vocab: crate::text::VOCAB,
    };
    publish_model(ctx, Arch::Rnnt(cfg), 161)
}

fn settings(a: &Args) -> FitSettings {
    let (opt, oargs) = match &a["optimizer"] {
        Value::Config { op, args } => (op.clone(), args.clone()),
        _ => ("adamw".into(), Default::default()),
    };
    FitSettings {
        epochs: arg_usize(a, "epochs"),
        batch: arg_usize(a, "batch"),
        lr: arg_f64(&oargs, "lr"),
        weight_decay: oargs
            .get("weight_decay")
            .and_then(Value::as_f64)
            .unwrap_or(0.0),
        momentum: oargs.get("momentum").and_then(Value::as_f64).unwrap_or(0.0),
        optimizer: opt,
        anneal: arg_f64(a, "anneal"),
        clip: arg_f64(a, "clip"),
        seed: arg_usize(a, "seed") as u64,
        augment: match a.get("augment") {
            Some(Value::Config { args, .. }) => Some(train::SpecAugment {
                freq_masks: arg_usize(args, "freq_masks"),
                freq_width: arg_usize(args, "freq_width"),
                time_masks: arg_usize(args, "time_masks"),
                time_width: arg_usize(args, "time_width"),
            }),
            _ => None,
        },
        noise: a.get("noise").and_then(Value::as_ref).map(|_| {
            crate::corpus::NoiseSettings {
                // The bank's artifact id is filled in by `run_fit`.
                bank: String::new(),
                level: a.get("noise_level").and_then(Value::as_f64),
                snr: crate::corpus::arg_snr(a, "noise_snr"),
                prob: arg_f64(a, "noise_prob"),
            }
        }),
        stop_after_steps: None,
        steps: match arg_usize(a, "steps") {
            0 => None,
            n => Some(n),
        },
        warmup: arg_usize(a, "warmup"),
    }
}

/// Everything a (re)training needs, loaded from artifacts.
pub struct TrainJob {
    pub cfg: Arch,
    pub spec: FeatureSpec,
    pub settings: FitSettings,
    pub train: Vec<crate::features::Feats>,
    pub dev: Vec<crate::features::Feats>,
    pub train_id: String,
    pub dev_id: String,
    /// The store's objects and the workspace: noise injection decodes
    /// training audio again.
    pub objects: PathBuf,
    pub ws: PathBuf,
}

impl TrainJob {
    /// A job training `cfg` on the corpora in `train_dir` and `dev_dir`,
    /// their `spec` features extracted or reused (`fit`, `transfer`).
    pub fn new(
        ctx: &mut RunCtx,
        cfg: Arch,
        spec: FeatureSpec,
        settings: FitSettings,
        train_dir: &Path,
        dev_dir: &Path,
    ) -> Result<TrainJob, String> {
        let train = corpus_features(ctx, train_dir, &spec)?;
        let dev = corpus_features(ctx, dev_dir, &spec)?;
        Ok(TrainJob {
            cfg,
            spec,
            settings,
            train,
            dev,
            train_id: ctx.artifact_id(train_dir),
            dev_id: ctx.artifact_id(dev_dir),
            objects: ctx.store.root.join("objects"),
            ws: ctx.workspace.to_path_buf(),
        })
    }

    /// The job that trained `info`, for retraining (IMP rounds, baselines).
    pub fn from_trained(ctx: &mut RunCtx, info: &TrainedInfo) -> Result<TrainJob, String> {
        let objects = ctx.store.root.join("objects");
        TrainJob::new(
            ctx,
            info.model.clone(),
            info.features.clone(),
            info.settings.clone(),
            &objects.join(&info.train_corpus),
            &objects.join(&info.dev_corpus),
        )
    }

    /// Trains into the running step's own output and records the metrics
    /// every training step reports.
    pub fn run_step(
        &self,
        ctx: &mut RunCtx,
        init: &TensorMap,
        masks: Option<&Masks>,
    ) -> Result<TrainedInfo, String> {
        ctx.metric("train_utterances", self.train.len() as u64);
        let (out, ck) = (ctx.out.to_path_buf(), ctx.checkpoints.to_path_buf());
        let info = self.run(
            ctx.device,
            ctx.progress,
            init,
            masks,
            &out,
            &ck,
            ctx.step_name,
            None,
        )?;
        ctx.metric("best_epoch", info.best_epoch as u64);
        ctx.metric("best_dev_wer", info.best_dev_wer);
        Ok(info)
    }

    /// Trains from `init` under `masks`, writing a Trained artifact in `out`
    /// (`fit`, every IMP round and every random-ticket round use this). A
    /// `hook` may stop training early (early-bird rounds).
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &self,
        device: &str,
        progress: &lotto_interpreter::progress::Progress,
        init: &TensorMap,
        masks: Option<&Masks>,
        out: &Path,
        ckpt: &Path,
        label: &str,
        hook: Option<&mut dyn train::EpochHook>,
    ) -> Result<TrainedInfo, String> {
        let device = crate::device::open(device)?;
        let inject = match &self.settings.noise {
            Some(n) => Some(crate::corpus::NoiseInjector::new(
                n,
                &self.objects.join(&self.train_id),
                &self.objects,
                &self.ws,
                &self.spec,
            )?),
            None => None,
        };
        let r = train::train(
            &self.cfg,
            init,
            masks,
            &self.train,
            &self.dev,
            self.spec.bins(),
            &self.settings,
            &device,
            ckpt,
            progress,
            label,
            inject.as_ref(),
            hook,
        )?;
        let mut init_m = init.clone();
        if let Some(m) = masks {
            train::apply_masks(&mut init_m, m);
            tensor_io::save(&out.join("masks.safetensors"), m)?;
        }
        tensor_io::save(&out.join("init.safetensors"), &init_m)?;
        tensor_io::save(&out.join("best.safetensors"), &r.best)?;
        tensor_io::save(&out.join("last.safetensors"), &r.last)?;
        let info = TrainedInfo {
            model: self.cfg.clone(),
            features: self.spec.clone(),
            settings: self.settings.clone(),
            train_corpus: self.train_id.clone(),
            dev_corpus: self.dev_id.clone(),
            best_epoch: r.best_epoch,
            best_dev_wer: r.best_dev_wer,
            rw: masks.map(crate::tickets::remaining).unwrap_or(100.0),
            history: r.history,
        };
        write_yaml(&out.join("trained.yaml"), &info)?;
        Ok(info)
    }
}

/// θ0 for a model: our seeded initialisation.
pub fn fresh_init(cfg: &Arch, seed: u64) -> TensorMap {
    cfg.init(seed, &burn::tensor::Device::flex()).to_map()
}

fn run_fit(ctx: &mut RunCtx) -> Result<(), String> {
    let arch: Arch = read_yaml(&ctx.input_of("model")?.join("model.yaml"))?;
    let fspec = read_spec(ctx.input_of("features")?)?;
    if matches!(arch, Arch::Conformer(_)) && fspec.bins() < crate::arch::conformer::MIN_FRAMES {
        return Err(format!(
            "the Conformer's subsampling needs at least {} feature bins, the features have {}; use more mels (the paper: 80)",
            crate::arch::conformer::MIN_FRAMES,
            fspec.bins()
        ));
    }
    let cfg = arch.with_input_bins(fspec.bins());
    let train_dir = ctx.input_of("train")?.to_path_buf();
    let dev_dir = ctx.input_of("dev")?.to_path_buf();
    let mut s = settings(ctx.args);
    if let Some(n) = &mut s.noise {
        n.bank = ctx.artifact_id(ctx.input_of("noise")?);
    }
    let job = TrainJob::new(ctx, cfg.clone(), fspec, s.clone(), &train_dir, &dev_dir)?;
    let init = match &ctx.args["init"] {
        Value::Config { op, args } if op == "pretrained" => {
            let r = args["from"]
                .as_ref()
                .ok_or("pretrained() needs a trained step")?;
            tensor_io::load(&ctx.input(r).join("best.safetensors"))?
        }
        _ => fresh_init(&cfg, s.seed),
    };
    ctx.metric("params", cfg.num_params() as u64);
    job.run_step(ctx, &init, None)?;
    Ok(())
}

pub fn register(r: &mut Registry) {
    // cnn_lstm version 2: on the CPU the convolutions run on the host
    // (hostconv.rs) and the LSTM directions in graphs of their own, which
    // changes float rounding; every step downstream of a version-1 model
    // gets a new key instead of reusing results the code no longer makes.
    // Version 3: on the CPU the LSTM layers run on the host (hostlstm.rs).
    // Version 4: gemm's AVX-512 kernels, im2col tiles of whole vectors and
    // an exp-based tanh in the host LSTM (other rounding again).
    r.add(FnOp {
        sig: sig("cnn_lstm", "Models", 5, Output::One(StepType::ModelSpec), "DeepSpeech2-style CNN-LSTM with CTC (the paper's defaults: 2 conv layers 41x11/2x2 and 21x11/2x1 with 32 channels, BatchNorm + Hardtanh(0,20); 5 bidirectional LSTMs of 1024 with summed directions and sequence-wise BatchNorm; BatchNorm + bias-free linear to 29 characters: 86.6M parameters at 161 bins).", vec![
            Param::opt("kernels", PType::List(Box::new(PType::Shape)), Value::List(vec![Value::Shape(41, 11, 'x'), Value::Shape(21, 11, 'x')]), "conv kernels, frequency x time, one per conv layer"),
            Param::opt("strides", PType::List(Box::new(PType::Shape)), Value::List(vec![Value::Shape(2, 2, 'x'), Value::Shape(2, 1, 'x')]), "conv strides, frequency x time"),
            Param::opt("channels", PType::Int, Value::Int(32), "conv channels").range(1.0, 1024.0),
            Param::opt("lstm", PType::Int, Value::Int(5), "LSTM layers").range(0.0, 16.0),
            Param::opt("hidden", PType::Int, Value::Int(1024), "LSTM hidden size").range(1.0, 8192.0),
            Param::opt("bidirectional", PType::Bool, Value::Bool(true), "bidirectional LSTMs (directions summed)"),
        ]),
        run: run_cnn_lstm,
        reads: None,
        validate: Some(|a| if shapes(&a["kernels"]).len() != shapes(&a["strides"]).len() { Err((Some("strides"), "give one stride per kernel".into())) } else { Ok(()) }),
    });
    // conformer version 2: gemm's AVX-512 kernels round its products
    // differently on AVX-512 CPUs.
    r.add(FnOp {
        sig: sig("conformer", "Models", 2, Output::One(StepType::ModelSpec), "Conformer with CTC on log-mel features (`fbank`): 2 conv layers 3x3/2 subsample time and frequency by 4; each block is ½ feed-forward, multi-head self-attention, convolution module (pointwise conv, GLU, depthwise conv, BatchNorm, Swish, pointwise conv), ½ feed-forward, layer norm. Defaults: 17 blocks of 512, 8 heads, feed-forward 1024, kernel 31: 68.0M parameters at 80 bins (the paper: 65.8M). Absolute sinusoidal positions, no dropout, 29 characters (the paper: relative positions, 256 BPE tokens). Prunable by default: linear weights only, as the paper's code.", vec![
            Param::opt("blocks", PType::Int, Value::Int(17), "Conformer blocks").range(1.0, 64.0),
            Param::opt("d_model", PType::Int, Value::Int(512), "model width").range(2.0, 8192.0),
            Param::opt("heads", PType::Int, Value::Int(8), "attention heads (must divide d_model)").range(1.0, 64.0),
            Param::opt("ff", PType::Int, Value::Int(1024), "inner size of each feed-forward module").range(1.0, 65536.0),
            Param::opt("kernel", PType::Int, Value::Int(31), "depthwise convolution kernel (odd)").range(1.0, 255.0),
            Param::opt("subsample_channels", PType::Int, Value::Int(64), "channels of the two subsampling convolutions").range(1.0, 4096.0),
        ]),
        run: run_conformer,
        reads: None,
        validate: Some(|a| {
            if !arg_usize(a, "d_model").is_multiple_of(arg_usize(a, "heads")) {
                Err((Some("heads"), "`heads` must divide `d_model`".into()))
            } else if arg_usize(a, "kernel").is_multiple_of(2) {
                Err((Some("kernel"), "use an odd kernel, so frames stay centred".into()))
            } else {
                Ok(())
            }
        }),
    });
    // rnnt version 2: on the CPU the encoder's LSTM directions run in
    // graphs of their own, side by side (other float rounding). Version 3:
    // on the CPU its LSTM layers run on the host (hostlstm.rs). Version 4:
    // gemm's AVX-512 kernels and the host LSTM's exp-based tanh.
    r.add(FnOp {
        sig: sig("rnnt", "Models", 4, Output::One(StepType::ModelSpec), "RNN-Transducer: LSTM encoder over stacked spectrogram frames, LSTM prediction network over the previous characters, joint network tanh(W_e·enc + W_p·pred) → 29 classes (blank included); trained with the RNN-T loss, decoded greedily. Defaults: 6 stacked 161-bin frames, 5 bidirectional LSTM-1024 encoder layers (directions concatenated), 1 LSTM-1024 prediction layer, joint 1024: 128.7M parameters at 161 bins (the paper: 132.2M).", vec![
            Param::opt("stack", PType::Int, Value::Int(6), "feature frames concatenated into one encoder frame").range(1.0, 32.0),
            Param::opt("encoder_layers", PType::Int, Value::Int(5), "encoder LSTM layers").range(0.0, 16.0),
            Param::opt("encoder_hidden", PType::Int, Value::Int(1024), "encoder LSTM size").range(1.0, 8192.0),
            Param::opt("bidirectional", PType::Bool, Value::Bool(true), "bidirectional encoder (directions concatenated)"),
            Param::opt("predictor_layers", PType::Int, Value::Int(1), "prediction network LSTM layers").range(0.0, 8.0),
            Param::opt("predictor_hidden", PType::Int, Value::Int(1024), "prediction network LSTM size").range(1.0, 8192.0),
            Param::opt("embedding", PType::Int, Value::Int(0), "label embedding size (0: predictor_hidden)").range(0.0, 8192.0),
            Param::opt("joint", PType::Int, Value::Int(1024), "joint network size").range(1.0, 8192.0),
        ]),
        run: run_rnnt,
        reads: None,
        validate: None,
    });
    for (name, doc) in [
        (
            "adamw",
            "AdamW (decoupled weight decay); the paper: lr 3e-4, weight_decay 1e-5.",
        ),
        ("adam", "Adam (L2 weight decay added to the gradient)."),
        ("sgd", "SGD with momentum."),
    ] {
        let mut params = vec![
            Param::opt("lr", PType::Float, Value::Float(3e-4), "learning rate").range(0.0, 10.0),
            Param::opt(
                "weight_decay",
                PType::Float,
                Value::Float(if name == "adamw" { 1e-5 } else { 0.0 }),
                "weight decay",
            )
            .range(0.0, 1.0),
        ];
        if name == "sgd" {
            params.push(
                Param::opt("momentum", PType::Float, Value::Float(0.9), "momentum").range(0.0, 1.0),
            );
        }
        r.add(config_op(sig(
            name,
            "Training",
            1,
            Output::Config("Optimizer"),
            doc,
            params,
        )));
    }
    r.add(config_op(sig(
        "pretrained",
        "Training",
        1,
        Output::Config("Init"),
        "Start from the best weights of another trained model.",
        vec![Param::req(
            "from",
            PType::Step(&[StepType::Trained]),
            "the trained model",
        )],
    )));
    r.add(config_op(sig(
        "specaugment",
        "Training",
        1,
        Output::Config("Augment"),
        "SpecAugment masks on training batches (no time warping): frequency bands and time spans set to the feature mean, drawn per batch from the seed. The Conformer setting: 2 masks of up to 27 bins, 2 of up to 40 frames.",
        vec![
            Param::opt("freq_masks", PType::Int, Value::Int(2), "frequency masks per utterance").range(0.0, 20.0),
            Param::opt("freq_width", PType::Int, Value::Int(27), "widest frequency mask, in bins").range(0.0, 1000.0),
            Param::opt("time_masks", PType::Int, Value::Int(2), "time masks per utterance").range(0.0, 20.0),
            Param::opt("time_width", PType::Int, Value::Int(40), "longest time mask, in frames (at most 1/5 of the utterance)").range(0.0, 10000.0),
        ],
    )));
    let mut fit = sig("fit", "Training", 1, Output::One(StepType::Trained), "Trains a model (CTC, or the transducer loss for `rnnt`) on `train`, selecting the best epoch on `dev` (never the test set). Checkpoints every epoch; a killed run resumes from its last epoch.", vec![
        Param::req("model", PType::Step(&[StepType::ModelSpec]), "the architecture"),
        Param::req("train", PType::Step(&[StepType::Corpus]), "training corpus"),
        Param::req("dev", PType::Step(&[StepType::Corpus]), "development corpus for model selection"),
        Param::req("features", PType::Step(&[StepType::Features]), "feature settings"),
        Param::opt("epochs", PType::Int, Value::Int(16), "epochs (the paper: 16)").range(1.0, 1000.0),
        Param::opt("batch", PType::Int, Value::Int(32), "utterances per batch").range(1.0, 4096.0),
        Param::opt("optimizer", PType::Config("Optimizer"), Value::Config { op: "adamw".into(), args: [("lr".to_string(), Value::Float(3e-4)), ("weight_decay".to_string(), Value::Float(1e-5))].into_iter().collect() }, "optimizer settings"),
        Param::opt("anneal", PType::Float, Value::Float(1.01), "lr is divided by this after each epoch").range(1.0, 10.0),
        Param::opt("steps", PType::Int, Value::Int(0), "train for exactly this many optimizer steps instead of `epochs` (the last epoch may be partial; dev selection after every epoch and at the end; 0: use `epochs`)").range(0.0, 1e9).additive(),
        Param::opt("warmup", PType::Int, Value::Int(0), "Transformer warm-up: lr rises linearly to its value over this many optimizer steps, then decays as 1/√step (times `anneal` per epoch; set `anneal: 1` for the pure schedule); 0: off").range(0.0, 1e9).additive(),
        Param::opt("augment", PType::Config("Augment"), Value::Sym("none".into()), "`specaugment(...)` on training batches, or none"),
        Param::opt("noise", PType::Step(&[StepType::NoiseBank]), Value::Sym("none".into()), "a noise bank mixed into training utterances (as `mix` does), or none"),
        Param::opt("noise_level", PType::Float, Value::Sym("none".into()), "with `noise`: amplitude factor a (clean + a·noise)").range(0.0, 10.0),
        Param::opt("noise_snr", PType::OneOf(vec![PType::Decibel, PType::List(Box::new(PType::Decibel))]), Value::Sym("none".into()), "with `noise`: SNR, or a [low, high] range drawn per utterance").range(-30.0, 60.0),
        Param::opt("noise_prob", PType::Fraction, Value::Float(0.5), "with `noise`: share of training utterances that get noise, drawn per batch").range(0.0, 1.0),
        Param::opt("clip", PType::Float, Value::Float(400.0), "global gradient-norm clip (0: off)").range(0.0, 1e9),
        Param::opt("seed", PType::Int, Value::Int(0), "initialisation and batch order"),
        Param::opt("init", PType::Config("Init"), Value::Sym("random".into()), "initial weights: random from the seed, or `pretrained(step)`"),
    ]);
    fit.numeric = true;
    fit.resources = Resources {
        gpu: true,
        cpus: 4,
        mem_gb: 16,
        minutes: 24 * 60,
    };
    r.add(FnOp {
        sig: fit,
        run: run_fit,
        reads: None,
        validate: Some(|a| {
            let noise = a.get("noise").and_then(Value::as_ref).is_some();
            match (
                noise,
                arg_given(a, "noise_level"),
                arg_given(a, "noise_snr"),
            ) {
                (true, true, true) => Err((
                    Some("noise_snr"),
                    "give `noise_level` or `noise_snr`, not both".into(),
                )),
                (true, false, false) => Err((
                    Some("noise"),
                    "noise injection needs `noise_level: 0.2` or `noise_snr: 10dB`".into(),
                )),
                (false, true, _) => Err((
                    Some("noise_level"),
                    "`noise_level` needs a noise bank: `noise: bank`".into(),
                )),
                (false, _, true) => Err((
                    Some("noise_snr"),
                    "`noise_snr` needs a noise bank: `noise: bank`".into(),
                )),
                _ => Ok(()),
            }
        }),
    });
}

/// Loads a Trained artifact's best weights and masks.
pub fn load_trained(dir: &Path) -> Result<(TrainedInfo, TensorMap, Option<Masks>), String> {
    let info = read_trained(dir)?;
    let best = tensor_io::load(&dir.join("best.safetensors"))?;
    let mp: PathBuf = dir.join("masks.safetensors");
    let masks = if mp.is_file() {
        Some(tensor_io::load(&mp)?)
    } else {
        None
    };
    Ok((info, best, masks))
}
