//! The percentile bootstrap every interval of a report uses: over seeds,
//! then over utterances. Each resample draws the seeds with replacement
//! (when there are several) and, within each drawn seed, its utterances
//! with replacement; its value is the mean over the drawn seeds of a
//! statistic of that seed's resampled utterances. With one seed it is the
//! plain utterance bootstrap (Bisani & Ney 2004). With two or three seeds
//! the seed level has only a handful of distinct draws, so it widens the
//! interval coarsely; the summary shows the standard deviation over seeds
//! beside it for that reason.

use crate::rng::Rng;
use crate::scoring::UttErrors;

/// Bootstrap resamples per interval: the 2.5% and 97.5% points rest on
/// 250 resamples each, and p-values down to 2/B = 0.0002 are resolved.
pub const RESAMPLES: usize = 10_000;

/// `RESAMPLES` values of the statistic, sorted. `sizes[s]` is the number
/// of utterances of seed `s`; `stat(s, idx)` is the statistic of seed `s`
/// on the utterances `idx` (with repeats). Draws come from `label`.
pub fn resample(sizes: &[usize], label: &str, stat: impl Fn(usize, &[usize]) -> f64) -> Vec<f64> {
    let mut rng = Rng::derive(0, label);
    let k = sizes.len();
    let mut idx: Vec<Vec<usize>> = sizes.iter().map(|&n| vec![0; n]).collect();
    let mut out: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            let mut sum = 0.0;
            for draw in idx.iter_mut() {
                let s = if k == 1 { 0 } else { rng.below(k) };
                let n = sizes[s];
                draw.resize(n, 0);
                draw.iter_mut().for_each(|i| *i = rng.below(n));
                sum += stat(s, draw);
            }
            sum / k as f64
        })
        .collect();
    out.sort_by(f64::total_cmp);
    out
}

/// The `q` quantile of sorted resamples.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((q * sorted.len() as f64) as usize).min(sorted.len() - 1)]
}

/// Pooled WER (%) of the utterances `idx` (with repeats).
pub fn wer_at(counts: &[UttErrors], idx: impl Iterator<Item = usize>) -> f64 {
    let (e, n) = idx.fold((0u64, 0u64), |(e, n), i| {
        (e + counts[i][0] as u64, n + counts[i][1] as u64)
    });
    100.0 * e as f64 / n.max(1) as f64
}

/// The 95% interval of the mean pooled WER over seeds, each seed's
/// utterances in `runs`. `None` when a seed has no per-utterance counts.
pub fn wer_interval(runs: &[&[UttErrors]], label: &str) -> Option<(f64, f64)> {
    if runs.is_empty() || runs.iter().any(|r| r.is_empty()) {
        return None;
    }
    let sizes: Vec<usize> = runs.iter().map(|r| r.len()).collect();
    let d = resample(&sizes, label, |s, idx| wer_at(runs[s], idx.iter().copied()));
    Some((quantile(&d, 0.025), quantile(&d, 0.975)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_that_errs_everywhere_and_one_that_never_does() {
        // Seed 0: every word wrong (100%); seed 1: none (0%). The mean is
        // 50; a resample draws both seeds equal with probability 1/2, so
        // the 2.5% and 97.5% points are the all-0 and all-100 draws.
        let all = vec![[5u32, 5, 0, 0]; 20];
        let none = vec![[0u32, 5, 0, 0]; 20];
        let (lo, hi) = wer_interval(&[&all, &none], "t").unwrap();
        assert_eq!((lo, hi), (0.0, 100.0));
        // Identical seeds: the interval is the one seed's.
        let mixed: Vec<UttErrors> = (0..40).map(|i| [(i % 3) as u32, 4, 0, 0]).collect();
        let one = wer_interval(&[&mixed], "t").unwrap();
        let two = wer_interval(&[&mixed, &mixed], "t").unwrap();
        assert!(one.0 < 25.0 && one.1 > 25.0, "{one:?}");
        // Two identical seeds average two independent utterance draws:
        // narrower, around the same centre.
        assert!(
            two.0 >= one.0 - 0.5 && two.1 <= one.1 + 0.5,
            "{one:?} {two:?}"
        );
        assert!(wer_interval(&[&mixed, &[]], "t").is_none());
    }

    #[test]
    fn the_utterance_bootstrap_matches_its_hand_formula() {
        // 1 error in 4 words on every utterance: every resample is 25%.
        let c = vec![[1u32, 4, 0, 0]; 9];
        assert_eq!(wer_interval(&[&c], "t"), Some((25.0, 25.0)));
        assert_eq!(wer_at(&c, [0, 0, 1].into_iter()), 25.0);
    }
}
