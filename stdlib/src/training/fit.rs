//! The `fit` op: trains a model on a corpus, selecting the best epoch on a
//! development corpus.

use super::configs::{default_optimizer, Init, Optimizer};
use super::cost::describe;
use super::job::{fresh_init, TrainJob};
use super::loss_norm::LossNorm;
use super::settings::{FitSettings, SpecAugment};
use crate::arch::Arch;
use crate::artifacts::read_yaml;
use crate::features::ops::{read_spec, spec_of};
use crate::models::arch_of;
use crate::noise::injector::NoiseSettings;
use crate::noise::mixing::{check_injection, Drawn};
use crate::op::{model_resources, op};
use crate::rng::SEED_MAX;
use crate::tensor_io;
use crate::vocabulary::{
    AUGMENT, CORPUS, FEATURES, INIT, MODEL_SPEC, NOISE_BANK, OPTIMIZER, TRAINED,
};
use lotto_interpreter::program::Upstream;
use lotto_interpreter::registry::Invalid;
use lotto_interpreter::run_ctx::RunCtx;
use lotto_interpreter::signature::Output;
use lotto_interpreter::types::PType;
use lotto_interpreter::value::{StepRef, Value};
use lotto_interpreter::Registry;

lotto_interpreter::op_args! {
    pub struct FitArgs {
        model: StepRef = req(PType::Step(&[MODEL_SPEC]), "the architecture"),
        train: StepRef = req(PType::Step(&[CORPUS]), "training corpus"),
        dev: StepRef = req(PType::Step(&[CORPUS]), "development corpus for model selection"),
        features: StepRef = req(PType::Step(&[FEATURES]), "feature settings"),
        epochs: usize = opt(PType::Int, 16, "epochs (the paper: 16)").range(1.0, 1000.0),
        batch: usize = opt(PType::Int, 32, "utterances per batch").range(1.0, 4096.0),
        optimizer: Optimizer = opt(PType::Config(&OPTIMIZER), default_optimizer(), "optimizer settings"),
        anneal: f64 = opt(PType::Float, 1.01, "lr is divided by this after each epoch").range(1.0, 10.0),
        steps: usize = opt(PType::Int, 0, "train for exactly this many optimizer steps instead of `epochs` (the last epoch may be partial; dev selection after every epoch and at the end; 0: use `epochs`)").range(0.0, 1e9).additive(),
        warmup: usize = opt(PType::Int, 0, "Transformer warm-up: lr rises linearly to its value over this many optimizer steps, then decays as 1/√step (times `anneal` per epoch; set `anneal: 1` for the pure schedule); 0: off").range(0.0, 1e9).additive(),
        augment: Option<SpecAugment> = optional(PType::Config(&AUGMENT), "`specaugment(...)` on training batches, or none"),
        noise: Option<StepRef> = optional(PType::Step(&[NOISE_BANK]), "a noise bank mixed into training utterances (as `mix` does), or none"),
        noise_level: Option<Drawn> = optional(PType::OneOf(vec![PType::Float, PType::List(Box::new(PType::Float))]), "with `noise`: amplitude factor a (clean + a·noise), or a [low, high] range drawn per utterance (the paper's RQ4: `[0, 0.5]`)").range(0.0, 10.0),
        noise_snr: Option<Drawn> = optional(PType::OneOf(vec![PType::Decibel, PType::List(Box::new(PType::Decibel))]), "with `noise`: SNR, or a [low, high] range drawn per utterance").range(-30.0, 60.0),
        noise_prob: f64 = opt(PType::Fraction, 0.5, "with `noise`: share of training utterances that get noise, drawn per batch").range(0.0, 1.0),
        clip: f64 = opt(PType::Float, 400.0, "global gradient-norm clip (0: off)").range(0.0, 1e9),
        seed: u64 = opt(PType::Int, 0, "initialisation, batch order, noise and SpecAugment draws").range(0.0, SEED_MAX).run_seed(),
        init: Init = opt(PType::Config(&INIT), Value::sym("random"), "initial weights: random from the seed, or `pretrained(step)`"),
        accumulate: usize = opt(PType::Int, 1, "gradient accumulation: batches averaged into one optimizer step, for an effective batch of `batch` × this (the official Conformer: 256 utterances); `steps`, `step(k)` and `warmup` count optimizer steps").range(1.0, 4096.0).additive(),
        loss: LossNorm = opt(PType::Enum(LossNorm::NAMES), LossNorm::Batch, "how per-utterance losses are reduced over a batch: `batch`, their mean (the paper's code for all three models, for which its clip of 400 is tuned), or `labels`, each divided by its label count first"),
    }
}

fn validate(a: &FitArgs) -> Result<(), Invalid> {
    check_injection(a.noise.is_some(), a.noise_level, a.noise_snr)
}

/// The model's sizes at the features' bins (kernels that fit the
/// frequency axis, a sane parameter count).
fn model_fits_features(a: &FitArgs, up: &Upstream) -> Result<(), Invalid> {
    match (arch_of(up, a.model), spec_of(up, a.features)) {
        (Some(arch), Some(spec)) => arch
            .with_input_bins(spec.bins())
            .check_sizes()
            .map_err(|e| Invalid::at("model", e)),
        _ => Ok(()),
    }
}

/// The model `fit` trains, at its features' bins, known at check time.
pub fn fit_arch(a: &FitArgs, up: &Upstream) -> Option<Arch> {
    let arch = arch_of(up, a.model)?;
    Some(match spec_of(up, a.features) {
        Some(spec) => arch.with_input_bins(spec.bins()),
        None => arch,
    })
}

/// What `lotto plan` says a fit costs (see `cost::describe`).
fn fit_cost(a: &FitArgs, up: &Upstream) -> Option<String> {
    let arch = fit_arch(a, up)?;
    let fps = spec_of(up, a.features).map_or(100.0, |s| 1.0 / s.hop_s);
    Some(describe(&arch, a.batch, fps))
}

/// What training the model of the `fit` step `r` again costs (a ticket's
/// rounds train it with the fit's settings).
pub fn trained_cost(up: &Upstream, r: StepRef) -> Option<String> {
    fit_cost(&crate::op::upstream::<FitArgs>(up, r, "fit")?, up)
}

/// The model the `fit` step `r` trains.
pub fn trained_arch(up: &Upstream, r: StepRef) -> Option<Arch> {
    fit_arch(&crate::op::upstream::<FitArgs>(up, r, "fit")?, up)
}

/// The settings `fit` trains with; `bank` is the noise bank's artifact.
fn settings(a: &FitArgs, bank: Option<String>) -> FitSettings {
    FitSettings {
        epochs: a.epochs,
        batch: a.batch,
        lr: a.optimizer.lr,
        weight_decay: a.optimizer.weight_decay,
        momentum: a.optimizer.momentum,
        optimizer: a.optimizer.name.to_string(),
        anneal: a.anneal,
        clip: a.clip,
        seed: a.seed,
        augment: a.augment.clone(),
        noise: bank.map(|bank| NoiseSettings {
            bank,
            level: a.noise_level.map(|d| d.low),
            level_high: a.noise_level.and_then(|d| d.high),
            snr: a.noise_snr.map(Drawn::pair),
            prob: a.noise_prob,
        }),
        stop_after_steps: None,
        steps: (a.steps > 0).then_some(a.steps),
        warmup: a.warmup,
        betas: a.optimizer.betas,
        eps: a.optimizer.eps,
        loss: a.loss,
        accumulate: a.accumulate,
    }
}

fn run(ctx: &mut RunCtx, a: &FitArgs) -> Result<(), String> {
    let arch: Arch = read_yaml(&ctx.input(a.model).join("model.yaml"))?;
    let fspec = read_spec(ctx.input(a.features))?;
    if matches!(arch, Arch::Conformer(_)) && fspec.bins() < crate::arch::conformer::MIN_FRAMES {
        return Err(format!(
            "the Conformer's subsampling needs at least {} feature bins, the features have {}; use more mels (the paper: 80)",
            crate::arch::conformer::MIN_FRAMES,
            fspec.bins()
        ));
    }
    let cfg = arch.with_input_bins(fspec.bins());
    let train_dir = ctx.input(a.train).to_path_buf();
    let dev_dir = ctx.input(a.dev).to_path_buf();
    let bank = a.noise.map(|n| ctx.artifact_id(ctx.input(n)));
    let s = settings(a, bank);
    let init = match a.init {
        Init::Pretrained(from) => tensor_io::load(&ctx.input(from).join("best.safetensors"))?,
        Init::Random => fresh_init(&cfg, s.seed),
    };
    let job = TrainJob::new(ctx, cfg.clone(), fspec, s, (&train_dir, &dev_dir))?;
    ctx.metric("params", cfg.num_params() as u64);
    job.run_step(ctx, &init, None)?;
    Ok(())
}

pub fn register(r: &mut Registry) {
    r.add(
        op::<FitArgs>("fit", "Training", 3, Output::One(TRAINED), "Trains a model (CTC, or the transducer loss for `rnnt`) on `train`, selecting the best epoch on `dev` (never the test set): lowest dev WER; a WER of 100% or more counts as saturated, and saturated epochs and equal WERs are ranked by dev CER, then training loss; the run and reports warn when dev WER never went below 100% or never improved on epoch 1. Checkpoints every epoch; a killed run resumes from its last epoch.")
            .run(run)
            .validate(validate)
            .validate_inputs(model_fits_features)
            .cost(fit_cost)
            .numeric()
            .resources(model_resources(24 * 60)),
    );
}
