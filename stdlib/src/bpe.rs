//! Byte-pair-encoding subwords (Sennrich et al. 2016, in SentencePiece's
//! form: a word starts with `▁`), learnt from training transcripts: the
//! paper's Conformer predicts 256 BPE tokens instead of characters.
//!
//! Learning starts from the 28 symbols of normalised text (`▁`, a–z and the
//! apostrophe, so every transcript encodes) and repeatedly merges the most
//! frequent adjacent pair of symbols within words, ties to the
//! alphabetically first pair so the result depends on the transcripts
//! only, until the vocabulary (blank included) has the size asked for or
//! no pair is left. Encoding applies the merges in the order they were
//! learnt; decoding joins the pieces and turns `▁` into spaces.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The word-start marker.
pub const WORD: char = '▁';

/// A learnt subword vocabulary: id 0 is the CTC blank, id `i + 1` is
/// `pieces[i]`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Bpe {
    pub pieces: Vec<String>,
    /// The merges in the order they were learnt (earlier binds first).
    pub merges: Vec<(String, String)>,
}

/// The symbols every vocabulary starts with.
fn alphabet() -> Vec<String> {
    std::iter::once(WORD)
        .chain('a'..='z')
        .chain(std::iter::once('\''))
        .map(String::from)
        .collect()
}

/// A word as its initial symbols (`▁` then its characters); characters
/// outside the alphabet are dropped (normalised text has none).
fn symbols(word: &str) -> Vec<String> {
    std::iter::once(WORD)
        .chain(
            word.chars()
                .filter(|c| c.is_ascii_lowercase() || *c == '\''),
        )
        .map(String::from)
        .collect()
}

impl Bpe {
    /// Learns a vocabulary of at most `size` ids (blank included) from
    /// normalised transcripts.
    pub fn train<'a>(texts: impl IntoIterator<Item = &'a str>, size: usize) -> Bpe {
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        for t in texts {
            for w in t.split_whitespace() {
                *counts.entry(w).or_default() += 1;
            }
        }
        let mut words: Vec<(Vec<String>, u64)> =
            counts.into_iter().map(|(w, n)| (symbols(w), n)).collect();
        let mut bpe = Bpe {
            pieces: alphabet(),
            merges: vec![],
        };
        while bpe.pieces.len() + 1 < size {
            let mut pairs: BTreeMap<(&str, &str), u64> = BTreeMap::new();
            for (syms, n) in &words {
                for w in syms.windows(2) {
                    *pairs.entry((&w[0], &w[1])).or_default() += n;
                }
            }
            // The most frequent pair; BTreeMap order makes ties go to the
            // alphabetically first.
            let Some(((a, b), _)) = pairs.into_iter().fold(
                None,
                |best: Option<((&str, &str), u64)>, (p, n)| match best {
                    Some((_, m)) if m >= n => best,
                    _ => Some((p, n)),
                },
            ) else {
                break;
            };
            let (a, b) = (a.to_string(), b.to_string());
            for (syms, _) in &mut words {
                merge_pair(syms, &a, &b);
            }
            bpe.pieces.push(format!("{a}{b}"));
            bpe.merges.push((a, b));
        }
        bpe
    }

    /// Ids in the model's output (blank included).
    pub fn vocab(&self) -> usize {
        self.pieces.len() + 1
    }

    /// Token ids of normalised text.
    pub fn encode(&self, text: &str) -> Vec<usize> {
        let id: HashMap<&str, usize> = self
            .pieces
            .iter()
            .enumerate()
            .map(|(i, p)| (p.as_str(), i + 1))
            .collect();
        let rank: HashMap<(&str, &str), usize> = self
            .merges
            .iter()
            .enumerate()
            .map(|(i, (a, b))| ((a.as_str(), b.as_str()), i))
            .collect();
        let mut out = vec![];
        for w in text.split_whitespace() {
            let mut syms = symbols(w);
            loop {
                let best = syms
                    .windows(2)
                    .enumerate()
                    .filter_map(|(i, p)| Some((*rank.get(&(p[0].as_str(), p[1].as_str()))?, i)))
                    .min();
                let Some((_, i)) = best else { break };
                let joined = format!("{}{}", syms[i], syms[i + 1]);
                syms.splice(i..i + 2, [joined]);
            }
            out.extend(syms.iter().filter_map(|s| id.get(s.as_str()).copied()));
        }
        out
    }

    /// Text of token ids (blank and unknown ids skipped).
    pub fn decode(&self, ids: &[usize]) -> String {
        let s: String = ids
            .iter()
            .filter_map(|&i| self.pieces.get(i.checked_sub(1)?))
            .map(String::as_str)
            .collect();
        s.replace(WORD, " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Replaces each adjacent `a`, `b` in `syms` by `ab`, left to right.
fn merge_pair(syms: &mut Vec<String>, a: &str, b: &str) {
    let mut i = 0;
    while i + 1 < syms.len() {
        if syms[i] == a && syms[i + 1] == b {
            let joined = format!("{a}{b}");
            syms.splice(i..i + 2, [joined]);
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// By hand: "low" ×2 and "lower" ×1 → ▁ l o w (×3 each pair). The
    /// pairs (▁,l), (l,o), (o,w) tie at 3: the first alphabetically is
    /// (l, o) ('l' < 'o' < '▁'), then (lo, w) at 3, then (▁, low) at 3.
    #[test]
    fn merges_follow_frequency_then_the_alphabet() {
        let bpe = Bpe::train(["low low", "lower"], 28 + 1 + 3);
        let m: Vec<(&str, &str)> = bpe
            .merges
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        assert_eq!(m, [("l", "o"), ("lo", "w"), ("▁", "low")]);
        assert_eq!(bpe.vocab(), 32);
        let ids = bpe.encode("low lower");
        let shown: Vec<&str> = ids.iter().map(|&i| bpe.pieces[i - 1].as_str()).collect();
        assert_eq!(shown, ["▁low", "▁low", "e", "r"]);
        assert_eq!(bpe.decode(&ids), "low lower");
        // Unseen words still encode, character by character at worst.
        assert_eq!(bpe.decode(&bpe.encode("zebra's")), "zebra's");
    }

    #[test]
    fn learning_stops_when_no_pair_is_left() {
        let bpe = Bpe::train(["go", "go go"], 256);
        // ▁ g o → (g, o) then (▁, go): every word is one piece.
        assert_eq!(bpe.merges.len(), 2);
        assert_eq!(bpe.encode("go go").len(), 2);
        assert_eq!(bpe.decode(&[0, 30, 0]), "go");
    }
}
