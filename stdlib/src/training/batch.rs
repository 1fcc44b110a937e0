//! Batches: utterances padded to the longest one, with their label
//! sequences, and which utterances a model can train on at all.

use crate::arch::Arch;
use crate::features::spec::Feats;
use crate::tokens::Tokens;

/// A batch of padded features and targets.
pub struct Batch {
    pub x: Vec<f32>,
    pub b: usize,
    pub t: usize,
    pub lens: Vec<usize>,
    pub targets: Vec<Vec<usize>>,
}

pub fn make_batch(items: &[&Feats], bins: usize, tokens: Tokens) -> Batch {
    let t = items.iter().map(|f| f.frames).max().unwrap_or(1);
    let mut x = vec![0.0f32; items.len() * t * bins];
    for (i, f) in items.iter().enumerate() {
        x[i * t * bins..i * t * bins + f.data.len()].copy_from_slice(&f.data);
    }
    Batch {
        x,
        b: items.len(),
        t,
        lens: items.iter().map(|f| f.frames).collect(),
        targets: items.iter().map(|f| tokens.encode(&f.text)).collect(),
    }
}

/// Utterances the model can train on: a transcript, and enough output
/// frames for it.
pub fn usable<'a>(cfg: &Arch, data: &'a [Feats]) -> Vec<&'a Feats> {
    data.iter()
        .filter(|f| !f.text.is_empty() && cfg.usable(f.frames, &cfg.tokens().encode(&f.text)))
        .collect()
}
