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

/// Every audio file under the folder, subfolders included (DESED and
/// MUSAN keep their noise in nested folders), in path order; each named by
/// its path inside the folder (`street/001.wav`).
fn noise_files(a: &NoiseDirArgs, ws: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let dir = data_path(ws, &a.dir)?;
    let mut out = vec![];
    walk(&dir, &dir, &mut out)?;
    out.sort();
    if out.is_empty() {
        return Err(format!(
            "noise folder `{}` has no audio files (.wav, .flac, .mp3, .ogg, .sph), in it or below",
            dir.display()
        ));
    }
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, String)>) -> Result<(), String> {
    let rd = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read noise folder `{}`: {e}", dir.display()))?;
    for e in rd.filter_map(|e| e.ok()) {
        let p = e.path();
        // Symbolic links are not followed: a link cycle would never end.
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() {
            walk(root, &p, out)?;
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| audio::EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
        {
            let name = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().to_string())
                .collect::<Vec<_>>()
                .join("/");
            out.push((p, name));
        }
    }
    Ok(())
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
        op::<NoiseDirArgs>("noise_dir", "Noise", 4, Output::One(NOISE_BANK), "A bank of noise recordings: every audio file (WAV, FLAC, MP3, OGG, SPHERE) in a folder and its subfolders, each named by its path inside the folder.")
            .run(run)
            .reads(noise_files),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_folders_are_read_in_path_order() {
        let ws = tempfile::tempdir().unwrap();
        let d = ws.path().join("noise");
        for f in ["b.wav", "street/x/2.flac", "street/1.wav", "a/notes.txt"] {
            let p = d.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"").unwrap();
        }
        let a = NoiseDirArgs {
            dir: "noise".into(),
        };
        let names: Vec<String> = noise_files(&a, ws.path())
            .unwrap()
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        assert_eq!(names, ["b.wav", "street/1.wav", "street/x/2.flac"]);
    }
}
