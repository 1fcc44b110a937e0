//! What a model's output ids mean: the 29 characters of `text`, or the
//! BPE subwords a `bpe` step learnt. Training encodes transcripts and
//! decoding turns ids back into words through this one type, so neither
//! cares which a model uses.

use crate::bpe::Bpe;
use crate::text;

/// The space's character id.
const SPACE: usize = 1;

#[derive(Clone, Copy, Debug)]
pub enum Tokens<'a> {
    Chars,
    Bpe(&'a Bpe),
}

impl Tokens<'_> {
    /// Output ids, blank (0) included.
    pub fn vocab(self) -> usize {
        match self {
            Tokens::Chars => text::VOCAB,
            Tokens::Bpe(b) => b.vocab(),
        }
    }

    /// Label ids of a normalised transcript.
    pub fn encode(self, s: &str) -> Vec<usize> {
        match self {
            Tokens::Chars => text::encode(s),
            Tokens::Bpe(b) => b.encode(s),
        }
    }

    /// Greedy CTC output (best id per frame) as text: repeats merged,
    /// blanks dropped.
    pub fn ctc_text(self, best: &[usize]) -> String {
        self.labels_text(&text::ctc_collapse(best))
    }

    /// Whether label `c` begins a new word: a space, or a subword that
    /// starts with `▁`.
    pub fn starts_word(self, c: usize) -> bool {
        match self {
            Tokens::Chars => c == SPACE,
            Tokens::Bpe(b) => c
                .checked_sub(1)
                .and_then(|i| b.pieces.get(i))
                .is_some_and(|p| p.starts_with(crate::bpe::WORD)),
        }
    }

    /// Whether a label sequence ends inside a word (after letters, not
    /// after a word boundary alone).
    pub fn inside_word(self, labels: &[usize]) -> bool {
        match (self, labels.last()) {
            (_, None) => false,
            (Tokens::Chars, Some(&l)) => l != SPACE,
            (Tokens::Bpe(b), Some(&l)) => l
                .checked_sub(1)
                .and_then(|i| b.pieces.get(i))
                .is_some_and(|p| p.chars().any(|ch| ch != crate::bpe::WORD)),
        }
    }

    /// Emitted labels (no repeats to merge) as text.
    pub fn labels_text(self, labels: &[usize]) -> String {
        match self {
            Tokens::Chars => text::labels_to_text(labels),
            Tokens::Bpe(b) => b.decode(labels),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctc_output_merges_repeats_for_both_kinds() {
        assert_eq!(Tokens::Chars.ctc_text(&[0, 8, 8, 0, 8, 1, 2]), "gg a");
        let bpe = Bpe::train(["go up", "go"], 256);
        let t = Tokens::Bpe(&bpe);
        let go = t.encode("go");
        assert_eq!(go.len(), 1);
        let up = t.encode("up");
        let frames = [0, go[0], go[0], 0, go[0], up[0], up[0]];
        assert_eq!(t.ctc_text(&frames), "go go up");
        assert_eq!(t.labels_text(&[go[0], up[0]]), "go up");
        assert_eq!(t.vocab(), bpe.pieces.len() + 1);
        assert!(t.starts_word(go[0]) && !t.starts_word(2));
        assert!(t.inside_word(&go) && !t.inside_word(&[]));
        assert_eq!(text::encode(" "), [SPACE]);
        assert!(Tokens::Chars.starts_word(SPACE) && !Tokens::Chars.inside_word(&[2, SPACE]));
    }
}
