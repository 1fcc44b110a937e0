//! Real-length utterances for the paper-size benchmarks (`scale`, `ops`):
//! bundled recordings joined to 15 s, the paper's longest utterance, their
//! transcripts repeated to 15 characters per second, LibriSpeech's rate,
//! so that a transducer's lattice (frames × labels) has the paper's size.

use lotto_stdlib::training::cost::{CHARS_PER_SECOND, PLAN_SECONDS};
use std::path::{Path, PathBuf};

/// The bundled corpus: its folder and its (audio path, transcript) rows.
pub struct Bundled {
    dir: PathBuf,
    rows: Vec<(String, String)>,
}

impl Bundled {
    pub fn open(repo: &Path) -> Result<Bundled, String> {
        let dir = repo.join("data/tiny");
        let manifest = std::fs::read_to_string(dir.join("manifest.tsv"))
            .map_err(|e| format!("{}: {e} (run from the repository root)", dir.display()))?;
        let rows: Vec<(String, String)> = manifest
            .lines()
            .skip(1)
            .filter_map(|l| {
                let mut f = l.split('\t');
                Some((f.next()?.to_string(), f.next()?.to_string()))
            })
            .collect();
        if rows.is_empty() {
            return Err(format!("{}: no utterances", dir.display()));
        }
        Ok(Bundled { dir, rows })
    }

    /// Every bundled transcript (what a tokenizer learns from).
    pub fn transcripts(&self) -> impl Iterator<Item = &str> {
        self.rows.iter().map(|(_, t)| t.as_str())
    }

    /// Long utterance `i` (16 kHz samples and transcript): the recordings
    /// from row 11·i on, joined until 15 s, so different `i` start from
    /// different recordings.
    pub fn utterance(&self, i: usize) -> Result<(Vec<f32>, String), String> {
        let want = (PLAN_SECONDS * lotto_stdlib::audio::RATE as f64) as usize;
        let chars = (PLAN_SECONDS * CHARS_PER_SECOND) as usize;
        let (mut audio, mut words) = (Vec::with_capacity(want), vec![]);
        let mut k = i * 11;
        while audio.len() < want {
            let (path, text) = &self.rows[k % self.rows.len()];
            audio.extend(lotto_stdlib::audio::load(&self.dir.join(path), None)?);
            words.push(text.as_str());
            k += 1;
        }
        audio.truncate(want);
        let once = words.join(" ");
        let mut text = once.clone();
        while text.len() < chars {
            text = format!("{text} {once}");
        }
        text.truncate(chars);
        Ok((audio, text.trim_end().to_string()))
    }
}
