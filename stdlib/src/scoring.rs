//! Word and character error rates of hypotheses against references.

use crate::text;

/// Corpus WER and CER (percent) of hypotheses against references.
pub fn score(refs: &[&str], hyps: &[String]) -> (f64, f64) {
    let (mut we, mut wn, mut ce, mut cn) = (0, 0, 0, 0);
    for (r, h) in refs.iter().zip(hyps) {
        let (a, b, c, d) = text::errors(r, h);
        we += a;
        wn += b;
        ce += c;
        cn += d;
    }
    (
        100.0 * we as f64 / wn.max(1) as f64,
        100.0 * ce as f64 / cn.max(1) as f64,
    )
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
