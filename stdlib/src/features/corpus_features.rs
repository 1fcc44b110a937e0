//! The features of a whole corpus, extracted in parallel as a cached
//! sub-step owned by the features op (`fbank`, `spectrogram`): whichever
//! step needs them (`fit`, `wer`, an IMP round) reuses one extraction, and
//! bumping the features op's version extracts them anew.

use super::spec::{extract, Feats, FeatureSpec};
use crate::corpus::utt::{load_audio, read_utts};
use crate::parallel::par_map_progress;
use lotto_interpreter::run_ctx::{Metrics, RunCtx, SubStep};
use std::path::Path;

/// Extracts (or reuses) the features of a corpus artifact.
pub fn corpus_features(
    ctx: &mut RunCtx,
    corpus_dir: &Path,
    spec: &FeatureSpec,
) -> Result<Vec<Feats>, String> {
    let corpus_id = ctx.artifact_id(corpus_dir);
    let sub = SubStep {
        owner: Some(&spec.kind),
        kind: "features",
        deps: serde_json::json!({ "corpus": corpus_id, "spec": spec }),
        label: format!("features of {corpus_id}"),
    };
    let ws = ctx.workspace.to_path_buf();
    let objects = ctx.store.root.join("objects");
    let progress = ctx.progress;
    let label = format!("{} features", ctx.step_name);
    let dir = ctx.sub_step(sub, |out, _| {
        let utts = read_utts(corpus_dir)?;
        let feats: Vec<Result<(usize, Vec<f32>), String>> =
            par_map_progress(progress, &label, &utts, |u| {
                load_audio(u, &ws, &objects).map(|x| extract(&x, spec))
            });
        let mut index = String::new();
        let mut blob: Vec<u8> = vec![];
        let mut offset = 0usize;
        for (u, f) in utts.iter().zip(feats) {
            let (frames, data) = f?;
            let entry =
                serde_json::json!({"id": u.id, "text": u.text, "frames": frames, "offset": offset});
            index.push_str(&entry.to_string());
            index.push('\n');
            offset += data.len();
            for v in data {
                blob.extend_from_slice(&v.to_le_bytes());
            }
        }
        std::fs::write(out.join("feats.bin"), blob).map_err(|e| e.to_string())?;
        std::fs::write(out.join("index.jsonl"), index).map_err(|e| e.to_string())?;
        let mut m = Metrics::new();
        m.insert("utterances".into(), (utts.len() as u64).into());
        Ok(m)
    })?;
    load_features(&dir, spec.bins())
}

/// One line of `index.jsonl`: where an utterance's frames lie in the blob.
#[derive(serde::Deserialize)]
struct IndexEntry {
    id: String,
    text: String,
    frames: usize,
    offset: usize,
}

fn load_features(dir: &Path, bins: usize) -> Result<Vec<Feats>, String> {
    let bad = |what: String| format!("features in `{}`: {what}", dir.display());
    let blob = std::fs::read(dir.join("feats.bin")).map_err(|e| bad(e.to_string()))?;
    let vals: Vec<f32> = blob
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let index = std::fs::read_to_string(dir.join("index.jsonl")).map_err(|e| bad(e.to_string()))?;
    index
        .lines()
        .map(|l| {
            let e: IndexEntry = serde_json::from_str(l).map_err(|e| bad(e.to_string()))?;
            let end = e
                .frames
                .checked_mul(bins)
                .and_then(|n| n.checked_add(e.offset))
                .filter(|end| *end <= vals.len())
                .ok_or_else(|| bad(format!("`{}` lies past the end of feats.bin", e.id)))?;
            Ok(Feats {
                id: e.id,
                text: e.text,
                frames: e.frames,
                data: vals[e.offset..end].to_vec(),
            })
        })
        .collect()
}
