//! `retrain`: every round of a ticket (its mask and its rewound initial
//! weights) trained again under new settings or on another corpus. The
//! paper's RQ4 retrains the ticket found on clean data with noise injected
//! into training; RQ5 moves every round of a ticket to another corpus, so
//! the sparsest round that still matches there can be found. Round 0 (the
//! dense model, from θ0) is retrained the same way: the dense baseline
//! under the same settings.

use super::round_training::{train_round, RoundStart};
use super::ticket::{read_ticket, TicketInfo};
use super::transfer::Epochs;
use crate::artifacts::write_yaml;
use crate::noise::injector::NoiseSettings;
use crate::noise::mixing::{check_injection, Drawn};
use crate::tensor_io;
use crate::training::job::{load_masks, read_trained, TrainJob};
use crate::training::settings::{FitSettings, SpecAugment};
use crate::vocabulary::{AUGMENT, CORPUS, NOISE_BANK, TICKET};
use lotto_interpreter::registry::Invalid;
use lotto_interpreter::run_ctx::RunCtx;
use lotto_interpreter::types::PType;
use lotto_interpreter::value::{StepRef, Value};

lotto_interpreter::op_args! {
    pub struct RetrainArgs {
        ticket: StepRef = req(PType::Step(&[TICKET]), "the ticket whose rounds are retrained"),
        to: Option<StepRef> = optional(PType::Step(&[CORPUS]), "train on this corpus instead of the source's (transfer of every round); with `dev`"),
        dev: Option<StepRef> = optional(PType::Step(&[CORPUS]), "its development corpus (model selection); with `to`"),
        epochs: Epochs = opt(PType::Int, Value::sym("source"), "epochs (default: the source's)").range(1.0, 1000.0),
        noise: Option<StepRef> = optional(PType::Step(&[NOISE_BANK]), "a noise bank mixed into training utterances, replacing the source's noise settings"),
        noise_level: Option<Drawn> = optional(PType::OneOf(vec![PType::Float, PType::List(Box::new(PType::Float))]), "with `noise`: amplitude factor a, or a [low, high] range drawn per utterance (the paper's RQ4: `[0, 0.5]`)").range(0.0, 10.0),
        noise_snr: Option<Drawn> = optional(PType::OneOf(vec![PType::Decibel, PType::List(Box::new(PType::Decibel))]), "with `noise`: SNR, or a [low, high] range drawn per utterance").range(-30.0, 60.0),
        noise_prob: f64 = opt(PType::Fraction, 1.0, "with `noise`: share of training utterances that get noise (the paper's RQ4: all)").range(0.0, 1.0),
        augment: Option<SpecAugment> = optional(PType::Config(&AUGMENT), "`specaugment(...)` on training batches, replacing the source's (absent: the source's)"),
    }
}

pub fn validate(a: &RetrainArgs) -> Result<(), Invalid> {
    if a.to.is_some() != a.dev.is_some() {
        return Err(Invalid::at(
            if a.to.is_some() { "to" } else { "dev" },
            "give `to` and `dev` together: the new training corpus and its development corpus",
        ));
    }
    check_injection(a.noise.is_some(), a.noise_level, a.noise_snr)
}

/// The source round's settings with the arguments' replacements.
fn settings(ctx: &RunCtx, a: &RetrainArgs, source: &FitSettings) -> FitSettings {
    let mut s = source.clone();
    if let Epochs(Some(e)) = a.epochs {
        s.epochs = e;
        s.steps = None;
    }
    if let Some(bank) = a.noise {
        s.noise = Some(NoiseSettings {
            bank: ctx.artifact_id(ctx.input(bank)),
            level: a.noise_level.map(|d| d.low),
            level_high: a.noise_level.and_then(|d| d.high),
            snr: a.noise_snr.map(Drawn::pair),
            prob: a.noise_prob,
        });
    }
    if let Some(aug) = &a.augment {
        s.augment = Some(aug.clone());
    }
    s
}

pub fn run(ctx: &mut RunCtx, a: &RetrainArgs) -> Result<(), String> {
    let src = read_ticket(ctx.input(a.ticket))?;
    let objects = ctx.store.root.join("objects");
    let corpora = match (a.to, a.dev) {
        (Some(t), Some(d)) => Some((ctx.input(t).to_path_buf(), ctx.input(d).to_path_buf())),
        _ => None,
    };
    let mut rounds = vec![];
    // One job per distinct source settings (rounds may retrain for other
    // epochs than the dense model did).
    let mut job: Option<(FitSettings, TrainJob)> = None;
    for ri in &src.rounds {
        let rdir = objects.join(&ri.dir);
        let info = read_trained(&rdir)?;
        let j = match &job {
            Some((source, j)) if *source == info.settings => j,
            _ => {
                let s = settings(ctx, a, &info.settings);
                let (train, dev) = match &corpora {
                    Some(c) => c.clone(),
                    None => (
                        objects.join(&info.train_corpus),
                        objects.join(&info.dev_corpus),
                    ),
                };
                let j = TrainJob::new(
                    ctx,
                    info.model.clone(),
                    info.features.clone(),
                    s,
                    (&train, &dev),
                )?;
                &job.insert((info.settings.clone(), j)).1
            }
        };
        let masks = load_masks(&rdir)?;
        let init = tensor_io::load(&rdir.join("init.safetensors"))?;
        let start = RoundStart {
            round: ri.round,
            init: &init,
            masks: masks.as_ref(),
            deps: serde_json::json!({
                "ticket_round": ri.dir,
                "settings": serde_json::to_value(&j.settings).map_err(|e| e.to_string())?,
                "train": j.train_id,
                "dev": j.dev_id,
            }),
        };
        rounds.push(train_round(ctx, j, start)?);
    }
    write_yaml(
        &ctx.out.join("ticket.yaml"),
        &TicketInfo {
            method: "retrain".into(),
            rounds,
        },
    )
}
