//! The `mix` op: a noisy copy of a corpus, its audio written into the store.

use super::mixing::{mix_random, Drawn};
use crate::audio;
use crate::corpus::utt::{load_audio, read_utts, write_utts, Utt};
use crate::op::{op, DATA_RESOURCES};
use crate::parallel::par_map_progress;
use crate::rng::{Rng, SEED_MAX};
use crate::vocabulary::{CORPUS, NOISE_BANK};
use lotto_interpreter::registry::Invalid;
use lotto_interpreter::run_ctx::RunCtx;
use lotto_interpreter::signature::Output;
use lotto_interpreter::types::PType;
use lotto_interpreter::value::StepRef;
use lotto_interpreter::Registry;

lotto_interpreter::op_args! {
    pub struct MixArgs {
        corpus: StepRef = req(PType::Step(&[CORPUS]), "the clean corpus"),
        bank: StepRef = req(PType::Step(&[NOISE_BANK]), "the noise bank"),
        level: Option<Drawn> = optional(PType::OneOf(vec![PType::Float, PType::List(Box::new(PType::Float))]), "noise amplitude factor a (paper: 0.2, 0.5), or a [low, high] range drawn per utterance; give `level` or `snr`").range(0.0, 10.0),
        snr: Option<Drawn> = optional(PType::OneOf(vec![PType::Decibel, PType::List(Box::new(PType::Decibel))]), "signal-to-noise ratio, or a [low, high] range; give `level` or `snr`").range(-30.0, 60.0),
        seed: u64 = opt(PType::Int, 0, "noise choice and crop").range(0.0, SEED_MAX),
    }
}

fn validate(a: &MixArgs) -> Result<(), Invalid> {
    Drawn::check(a.level, "level")?;
    Drawn::check(a.snr, "snr")?;
    match (a.level, a.snr) {
        (Some(_), Some(_)) => Err(Invalid::at("snr", "give `level` or `snr`, not both")),
        (None, None) => Err(Invalid::call("`mix` needs `level: 0.5` or `snr: 5dB`")),
        _ => Ok(()),
    }
}

fn run(ctx: &mut RunCtx, a: &MixArgs) -> Result<(), String> {
    let utts = read_utts(ctx.input(a.corpus))?;
    let bank = read_utts(ctx.input(a.bank))?;
    let objects = ctx.store.root.join("objects");
    let ws = ctx.workspace.to_path_buf();
    let noises: Vec<Vec<f32>> = bank
        .iter()
        .map(|n| load_audio(n, &ws, &objects))
        .collect::<Result<_, _>>()?;
    std::fs::create_dir_all(ctx.out.join("audio")).map_err(|e| e.to_string())?;
    let out_dir = ctx.out.to_path_buf();
    // The staging folder is named for this step's key: the audio's path
    // once published.
    let my_key = out_dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let label = format!("{} mix", ctx.step_name);
    let mixed: Vec<Result<(Utt, f64), String>> =
        par_map_progress(ctx.progress, &label, &utts, |u| {
            let mut x = load_audio(u, &ws, &objects)?;
            // Per-utterance stream: independent of thread count and order.
            let mut rng = Rng::derive(a.seed, &u.id);
            let snr = mix_random(&mut x, &noises, a.level, a.snr, &mut rng);
            if x.iter().any(|v| !v.is_finite()) {
                return Err(format!(
                    "mixing noise into `{}` produced non-finite samples",
                    u.id
                ));
            }
            let name = format!("audio/{}.wav", lotto_interpreter::store::sanitize(&u.id));
            audio::write_wav(&out_dir.join(&name), &x)?;
            let utt = Utt {
                audio: format!("store:{my_key}/{name}"),
                segment: None,
                ..u.clone()
            };
            Ok((utt, snr))
        });
    let mixed: Vec<(Utt, f64)> = mixed.into_iter().collect::<Result<_, _>>()?;
    ctx.metric("utterances", mixed.len() as u64);
    record_snrs(ctx, &mixed)?;
    let utts: Vec<Utt> = mixed.into_iter().map(|(u, _)| u).collect();
    write_utts(ctx.out, &utts)
}

/// The SNR each utterance's mix produced (`snr.tsv`: id, dB) and their
/// range and mean as metrics: what a `level` means in dB depends on the
/// speech and the noise file drawn.
fn record_snrs(ctx: &mut RunCtx, mixed: &[(Utt, f64)]) -> Result<(), String> {
    let mut tsv = String::from("id\tsnr_db\n");
    for (u, snr) in mixed {
        tsv.push_str(&format!("{}\t{snr:.2}\n", u.id));
    }
    std::fs::write(ctx.out.join("snr.tsv"), tsv).map_err(|e| format!("snr.tsv: {e}"))?;
    let finite: Vec<f64> = mixed
        .iter()
        .map(|m| m.1)
        .filter(|s| s.is_finite())
        .collect();
    if let (Some(lo), Some(hi)) = (
        finite.iter().copied().reduce(f64::min),
        finite.iter().copied().reduce(f64::max),
    ) {
        let r = |x: f64| (x * 100.0).round() / 100.0;
        let mean = finite.iter().sum::<f64>() / finite.len() as f64;
        ctx.metric("snr_db_min", r(lo));
        ctx.metric("snr_db_mean", r(mean));
        ctx.metric("snr_db_max", r(hi));
    }
    Ok(())
}

pub fn register(r: &mut Registry) {
    r.add(
        op::<MixArgs>("mix", "Noise", 5, Output::One(CORPUS), "Adds background noise: `level: a` gives clean + a·noise (the paper), `snr: 5dB` scales noise to that SNR, `snr: [0dB, 20dB]` or `level: [0, 0.5]` draws one per utterance. Records the SNR each utterance's mix produced (`snr.tsv`, and its min/mean/max as metrics). A random crop of a random noise file, deterministic per utterance from the seed.")
            .run(run)
            .validate(validate)
            .resources(DATA_RESOURCES),
    );
}
