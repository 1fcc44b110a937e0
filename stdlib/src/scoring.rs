//! Word and character error rates of hypotheses against references.

use crate::text;

/// One utterance's counts: word errors, reference words, character
/// errors, reference characters. Kept per utterance so that two models
/// scored on the same utterances can be compared pair by pair.
pub type UttErrors = [u32; 4];

/// Each utterance's error counts, in order.
pub fn score_each(refs: &[&str], hyps: &[String]) -> Vec<UttErrors> {
    refs.iter()
        .zip(hyps)
        .map(|(r, h)| {
            let (a, b, c, d) = text::errors(r, h);
            [a as u32, b as u32, c as u32, d as u32]
        })
        .collect()
}

/// Corpus WER and CER (percent) from per-utterance counts: errors pooled
/// over utterances, not a mean of per-utterance rates.
pub fn rates(each: &[UttErrors]) -> (f64, f64) {
    let sum = |k: usize| each.iter().map(|e| e[k] as u64).sum::<u64>();
    (
        100.0 * sum(0) as f64 / sum(1).max(1) as f64,
        100.0 * sum(2) as f64 / sum(3).max(1) as f64,
    )
}

/// Corpus WER and CER (percent) of hypotheses against references.
pub fn score(refs: &[&str], hyps: &[String]) -> (f64, f64) {
    rates(&score_each(refs, hyps))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_rates_pool_errors_over_utterances() {
        // 1 word error of 3 plus 0 of 1: 25% WER, not the mean of 33% and 0%.
        let (wer, cer) = score(&["a b c", "d"], &["a x c".to_string(), "d".to_string()]);
        assert!((wer - 25.0).abs() < 1e-9, "{wer}");
        assert!(cer > 0.0 && cer < 25.0, "{cer}");
        assert_eq!(score(&["a"], &["a".to_string()]), (0.0, 0.0));
    }
}
