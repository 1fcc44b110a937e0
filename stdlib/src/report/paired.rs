//! Paired comparisons of two models scored on the same utterances: the
//! difference of their corpus WERs with a 95% confidence interval and a
//! p-value from a paired bootstrap over utterances (Bisani & Ney 2004:
//! resample utterances with replacement, keeping each utterance's two
//! error counts together, and recompute both pooled WERs). One seed's
//! utterance-level uncertainty only: the spread over training seeds is not
//! in it.

use crate::rng::Rng;
use crate::scoring::UttErrors;

/// Bootstrap resamples per comparison: the 2.5% and 97.5% points rest on
/// 250 resamples each, and p-values down to 2/B = 0.0002 are resolved.
pub const RESAMPLES: usize = 10_000;

/// What a comparison found.
#[derive(Debug, PartialEq)]
pub struct Paired {
    /// WER of `a` minus WER of `b`, points.
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

fn wer_of(counts: &[UttErrors], pick: impl Iterator<Item = usize>) -> (u64, u64) {
    pick.fold((0, 0), |(e, n), i| {
        (e + counts[i][0] as u64, n + counts[i][1] as u64)
    })
}

/// `a` against `b`, utterance by utterance (the same utterances in the
/// same order), resampled from `seed`. `None` when they were not scored on
/// the same number of utterances.
pub fn compare(a: &[UttErrors], b: &[UttErrors], seed: &str) -> Option<Paired> {
    let n = a.len();
    if n == 0 || n != b.len() {
        return None;
    }
    let rate = |(e, w): (u64, u64)| 100.0 * e as f64 / w.max(1) as f64;
    let delta = rate(wer_of(a, 0..n)) - rate(wer_of(b, 0..n));
    let mut rng = Rng::derive(0, seed);
    let mut idx = vec![0usize; n];
    let mut deltas: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            idx.iter_mut().for_each(|i| *i = rng.below(n));
            rate(wer_of(a, idx.iter().copied())) - rate(wer_of(b, idx.iter().copied()))
        })
        .collect();
    deltas.sort_by(f64::total_cmp);
    let at = |q: f64| deltas[((q * RESAMPLES as f64) as usize).min(RESAMPLES - 1)];
    let below = deltas.iter().filter(|d| **d <= 0.0).count() as f64 / RESAMPLES as f64;
    let above = deltas.iter().filter(|d| **d >= 0.0).count() as f64 / RESAMPLES as f64;
    Some(Paired {
        delta,
        low: at(0.025),
        high: at(0.975),
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
}
