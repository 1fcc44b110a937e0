//! Utterances: the typed list a Corpus step publishes (`utts.jsonl`), and
//! decoding one utterance's audio.

use crate::audio;
use crate::data_paths::ws_path;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One utterance. `audio` is a workspace-relative or absolute path, or
/// `store:KEY/...` for audio a step wrote into the store.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Utt {
    pub id: String,
    pub audio: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<(f64, f64)>,
    pub text: String,
    pub speaker: String,
    pub duration: f64,
}

pub fn write_utts(dir: &Path, utts: &[Utt]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let mut s = String::new();
    for u in utts {
        s.push_str(&serde_json::to_string(u).map_err(|e| e.to_string())?);
        s.push('\n');
    }
    std::fs::write(dir.join("utts.jsonl"), s).map_err(|e| e.to_string())
}

pub fn read_utts(dir: &Path) -> Result<Vec<Utt>, String> {
    let p = dir.join("utts.jsonl");
    let s = std::fs::read_to_string(&p)
        .map_err(|e| format!("corpus artifact `{}`: {e}", p.display()))?;
    s.lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| format!("`{}`: {e}", p.display())))
        .collect()
}

/// Decodes one utterance's audio at 16 kHz.
pub fn load_audio(u: &Utt, ws: &Path, objects: &Path) -> Result<Vec<f32>, String> {
    let path = match u.audio.strip_prefix("store:") {
        Some(rel) => objects.join(rel),
        None => ws_path(ws, &u.audio),
    };
    audio::load(&path, u.segment)
}

/// Total duration in hours, to three decimals (a corpus step's metric).
pub fn hours(utts: &[Utt]) -> f64 {
    (utts.iter().map(|u| u.duration).sum::<f64>() / 3600.0 * 1000.0).round() / 1000.0
}
