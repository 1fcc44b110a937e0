//! The `noise_dir` op: a bank of noise recordings from a folder.

use crate::audio;
use crate::corpus::utt::{write_utts, Utt};
use crate::data_paths::{data_path, rel_to_ws};
use crate::op::op;
use crate::vocabulary::NOISE_BANK;
use lotto_interpreter::run_ctx::RunCtx;
use lotto_interpreter::signature::Output;
use lotto_interpreter::types::PType;
use lotto_interpreter::Registry;
use std::path::{Path, PathBuf};

lotto_interpreter::op_args! {
    pub struct NoiseDirArgs {
        dir: String = req(PType::Path, "the folder"),
    }
}

fn noise_files(a: &NoiseDirArgs, ws: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let dir = data_path(ws, &a.dir)?;
    let rd = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot read noise folder `{}`: {e}", dir.display()))?;
    let mut out: Vec<(PathBuf, String)> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| audio::EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
        })
        .map(|p| {
            let n = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            (p, n)
        })
        .collect();
    out.sort();
    if out.is_empty() {
        return Err(format!(
            "noise folder `{}` has no audio files (.wav, .flac, .mp3, .ogg, .sph)",
            dir.display()
        ));
    }
    Ok(out)
}

fn run(ctx: &mut RunCtx, a: &NoiseDirArgs) -> Result<(), String> {
    let mut utts = vec![];
    for (p, n) in noise_files(a, ctx.workspace)? {
        let x = audio::load(&p, None)?;
        utts.push(Utt {
            id: n,
            audio: rel_to_ws(ctx.workspace, &p),
            segment: None,
            text: String::new(),
            speaker: "noise".into(),
            duration: x.len() as f64 / audio::RATE as f64,
        });
    }
    ctx.metric("files", utts.len() as u64);
    write_utts(ctx.out, &utts)
}

pub fn register(r: &mut Registry) {
    r.add(
        op::<NoiseDirArgs>("noise_dir", "Noise", 2, Output::One(NOISE_BANK), "A bank of noise recordings: every audio file (WAV, FLAC, MP3, OGG, SPHERE) in a folder.")
            .run(run)
            .reads(noise_files),
    );
}
