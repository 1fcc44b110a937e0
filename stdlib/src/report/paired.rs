//! Paired comparisons of two models scored on the same utterances: the
//! difference of their corpus WERs with a 95% confidence interval and a
//! p-value from a paired bootstrap over utterances (Bisani & Ney 2004:
//! resample utterances with replacement, keeping each utterance's two
//! error counts together, and recompute both pooled WERs), and over
//! training seeds when the recipe ran several (`bootstrap.rs`).

use super::bootstrap::{quantile, resample, wer_at};
use crate::scoring::UttErrors;

pub use super::bootstrap::RESAMPLES;

/// What a comparison found.
#[derive(Debug, PartialEq)]
pub struct Paired {
    /// WER of `a` minus WER of `b`, points (mean over seeds).
    pub delta: f64,
    pub low: f64,
    pub high: f64,
    /// Two-sided: twice the smaller share of resamples on either side of
    /// zero (capped at 1).
    pub p: f64,
}

impl Paired {
    /// `better` (a below b), `worse`, or `no detectable difference`: the
    /// 95% interval excludes zero, or not.
    pub fn verdict(&self) -> &'static str {
        if self.high < 0.0 {
            "better"
        } else if self.low > 0.0 {
            "worse"
        } else {
            "no detectable difference"
        }
    }
}

/// `a` against `b`, utterance by utterance (the same utterances in the
/// same order), resampled from `seed`. `None` when they were not scored on
/// the same number of utterances.
pub fn compare(a: &[UttErrors], b: &[UttErrors], seed: &str) -> Option<Paired> {
    compare_seeds(&[(a, b)], seed)
}

/// [`compare`] over several training seeds: each pair is one seed's two
/// models on that seed's test utterances. The difference is the mean over
/// seeds; the bootstrap draws seeds, then utterances within each, keeping
/// each utterance's two counts together.
pub fn compare_seeds(runs: &[(&[UttErrors], &[UttErrors])], seed: &str) -> Option<Paired> {
    if runs.is_empty() || runs.iter().any(|(a, b)| a.is_empty() || a.len() != b.len()) {
        return None;
    }
    let diff = |s: usize, idx: &[usize]| {
        let (a, b) = runs[s];
        wer_at(a, idx.iter().copied()) - wer_at(b, idx.iter().copied())
    };
    let delta = runs
        .iter()
        .enumerate()
        .map(|(s, (a, _))| diff(s, &(0..a.len()).collect::<Vec<_>>()))
        .sum::<f64>()
        / runs.len() as f64;
    let sizes: Vec<usize> = runs.iter().map(|(a, _)| a.len()).collect();
    let deltas = resample(&sizes, seed, diff);
    let n = deltas.len() as f64;
    let below = deltas.iter().filter(|d| **d <= 0.0).count() as f64 / n;
    let above = deltas.iter().filter(|d| **d >= 0.0).count() as f64 / n;
    Some(Paired {
        delta,
        low: quantile(&deltas, 0.025),
        high: quantile(&deltas, 0.975),
        p: (2.0 * below.min(above)).min(1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utts(errors: &[u32]) -> Vec<UttErrors> {
        errors.iter().map(|&e| [e, 5, e, 20]).collect()
    }

    #[test]
    fn identical_models_show_no_difference() {
        let a = utts(&[0, 1, 2, 0, 3, 1, 0, 0, 2, 1]);
        let c = compare(&a, &a, "x").unwrap();
        assert_eq!((c.delta, c.low, c.high, c.p), (0.0, 0.0, 0.0, 1.0));
        assert_eq!(c.verdict(), "no detectable difference");
    }

    #[test]
    fn a_model_that_errs_on_every_utterance_is_worse() {
        // 40 utterances of 5 words: b is right everywhere, a misses one
        // word in each: 20 points worse, on every resample.
        let a = utts(&[1; 40]);
        let b = utts(&[0; 40]);
        let c = compare(&a, &b, "x").unwrap();
        assert_eq!(c.delta, 20.0);
        assert_eq!((c.low, c.high), (20.0, 20.0));
        assert_eq!(c.p, 0.0);
        assert_eq!(c.verdict(), "worse");
        assert_eq!(compare(&b, &a, "x").unwrap().verdict(), "better");
    }

    #[test]
    fn one_differing_utterance_in_many_is_not_a_finding() {
        // a errs on one utterance of 50 more than b: 0.4 points, and about
        // a third of the resamples leave that utterance out.
        let mut errs = vec![0u32; 50];
        let b = utts(&errs);
        errs[7] = 1;
        let a = utts(&errs);
        let c = compare(&a, &b, "x").unwrap();
        assert!((c.delta - 0.4).abs() < 1e-12);
        assert_eq!(c.low, 0.0);
        assert!(c.p > 0.5, "{c:?}");
        assert_eq!(c.verdict(), "no detectable difference");
        assert!(compare(&a, &b[..49], "x").is_none());
    }

    #[test]
    fn over_seeds_the_difference_is_the_mean_and_a_split_verdict_is_no_finding() {
        // Seed 0: a is 20 points worse; seed 1: a is 20 points better. The
        // mean difference is 0, and half the resamples draw one seed twice.
        let bad = utts(&[1; 40]);
        let good = utts(&[0; 40]);
        let c = compare_seeds(&[(&bad, &good), (&good, &bad)], "x").unwrap();
        assert_eq!(c.delta, 0.0);
        assert_eq!((c.low, c.high), (-20.0, 20.0));
        assert_eq!(c.verdict(), "no detectable difference");
        // Worse on both seeds: worse.
        let c = compare_seeds(&[(&bad, &good), (&bad, &good)], "x").unwrap();
        assert_eq!((c.delta, c.low, c.high), (20.0, 20.0, 20.0));
        assert_eq!(c.verdict(), "worse");
        // One seed is the plain utterance bootstrap.
        assert_eq!(
            compare_seeds(&[(&bad, &good)], "x"),
            compare(&bad, &good, "x")
        );
    }
}
