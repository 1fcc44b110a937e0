//! Rows that differ only by seed, as one: a recipe run over several seeds
//! (`param seeds`) evaluates every seed's copy of a model, named
//! `lth[seed=2]`; the report groups them by model, method, round and test
//! set with the `seed=` entry taken out of the names, and gives the mean,
//! the standard deviation over seeds and a 95% interval from the bootstrap
//! over seeds and utterances (`bootstrap.rs`).

use super::bootstrap::wer_interval;
use crate::eval::table::Row;
use crate::scoring::UttErrors;
use crate::stats::mean_sd;
use lotto_interpreter::check::{sweep_values, without_seed};

/// One model, method, round and test set over its seeds.
#[derive(Debug)]
pub struct Agg<'r> {
    /// The means over seeds, under the names without `seed=`; no
    /// per-utterance counts (those are in `runs`).
    pub mean: Row,
    /// Each seed's row, in table order.
    pub runs: Vec<&'r Row>,
    /// Sample standard deviations over seeds (0 with one seed).
    pub wer_sd: f64,
    pub cer_sd: f64,
    pub dev_wer_sd: f64,
}

impl Agg<'_> {
    pub fn seeds(&self) -> usize {
        self.runs.len()
    }
    /// 95% interval of the mean WER (`None` without per-utterance counts):
    /// 10,000 resamples, so only the summary, which shows it, asks.
    pub fn interval(&self) -> Option<(f64, f64)> {
        let counts: Vec<&[UttErrors]> = self
            .runs
            .iter()
            .map(|r| r.per_utterance.as_slice())
            .collect();
        // Drawn per test set, so rows with the same counts (a ticket's
        // round 0 and its dense model) get the same interval.
        wer_interval(&counts, &self.mean.corpus)
    }
    /// The standard deviation over seeds of `wer` or `cer`.
    pub fn sd(&self, metric: &str) -> f64 {
        if metric == "cer" {
            self.cer_sd
        } else {
            self.wer_sd
        }
    }
}

/// The groups of `rows` in the order their first row appears.
pub fn aggregate(rows: &[Row]) -> Vec<Agg<'_>> {
    let mut groups: Vec<(Key, Vec<&Row>)> = vec![];
    for r in rows {
        let k = key(r);
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, rs)) => rs.push(r),
            None => groups.push((k, vec![r])),
        }
    }
    groups
        .into_iter()
        .map(|((model, method, round, corpus), runs)| {
            let mean_of =
                |f: fn(&Row) -> f64| runs.iter().map(|r| f(r)).sum::<f64>() / runs.len() as f64;
            Agg {
                mean: Row {
                    model,
                    method,
                    round,
                    rw: mean_of(|r| r.rw),
                    corpus,
                    wer: mean_of(|r| r.wer),
                    cer: mean_of(|r| r.cer),
                    utterances: runs[0].utterances,
                    dev_wer: mean_of(|r| r.dev_wer),
                    per_utterance: vec![],
                    warning: runs.iter().find_map(|r| {
                        let w = r.warning.as_ref()?;
                        Some(if runs.len() > 1 {
                            format!("{w} ({})", r.model)
                        } else {
                            w.clone()
                        })
                    }),
                },
                wer_sd: sd(&runs, |r| r.wer),
                cer_sd: sd(&runs, |r| r.cer),
                dev_wer_sd: sd(&runs, |r| r.dev_wer),
                runs,
            }
        })
        .collect()
}

type Key = (String, String, usize, String);

fn key(r: &Row) -> Key {
    (
        without_seed(&r.model),
        r.method.clone(),
        r.round,
        without_seed(&r.corpus),
    )
}

/// The sample standard deviation of `f` over `runs`.
fn sd(runs: &[&Row], f: fn(&Row) -> f64) -> f64 {
    mean_sd(&runs.iter().map(|r| f(r)).collect::<Vec<_>>()).1
}

/// The `seed=` value in a name's sweep suffix (`lth[seed=2]` → `2`).
pub fn seed_of(name: &str) -> Option<&str> {
    let (_, pairs) = sweep_values(name)?;
    pairs
        .into_iter()
        .find_map(|(k, v)| (k == "seed").then_some(v))
}

/// The runs of `a` and `b` from the same seeds, paired (a single run each
/// pairs as it is).
pub fn same_seeds<'r>(a: &Agg<'r>, b: &Agg<'r>) -> Vec<(&'r [UttErrors], &'r [UttErrors])> {
    let id = |r: &Row| seed_of(&r.model).or(seed_of(&r.corpus)).map(str::to_string);
    a.runs
        .iter()
        .filter_map(|ra| {
            let rb = b.runs.iter().find(|rb| id(rb) == id(ra))?;
            Some((ra.per_utterance.as_slice(), rb.per_utterance.as_slice()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(model: &str, round: usize, wer: f64, dev: f64, errs: u32) -> Row {
        Row {
            model: model.into(),
            method: "imp".into(),
            round,
            rw: 100.0 / (round + 1) as f64,
            corpus: "test".into(),
            wer,
            cer: wer / 2.0,
            utterances: 10,
            dev_wer: dev,
            per_utterance: vec![[errs, 5, 0, 20]; 10],
            warning: None,
        }
    }

    #[test]
    fn rows_that_differ_only_by_seed_become_mean_sd_and_interval() {
        let rows = [
            row("lth[seed=1]", 0, 20.0, 30.0, 1),
            row("lth[seed=1]", 1, 40.0, 35.0, 2),
            row("lth[seed=2]", 0, 40.0, 34.0, 2),
            row("lth[seed=2]", 1, 40.0, 33.0, 2),
            row("lth[seed=3]", 0, 60.0, 38.0, 3),
            row("lth[seed=3]", 1, 40.0, 37.0, 2),
        ];
        let a = aggregate(&rows);
        assert_eq!(a.len(), 2);
        let dense = &a[0];
        assert_eq!((dense.mean.model.as_str(), dense.mean.round), ("lth", 0));
        assert_eq!(dense.seeds(), 3);
        // Hand values: mean 40, sd sqrt(((−20)² + 0 + 20²) / 2) = 20.
        assert_eq!(dense.mean.wer, 40.0);
        assert_eq!(dense.wer_sd, 20.0);
        assert_eq!(dense.mean.dev_wer, 34.0);
        assert_eq!(dense.dev_wer_sd, 4.0);
        // Each seed errs the same on every utterance, so only the seed
        // draw varies: a resample is all seed 1 (mean 20%) or all seed 3
        // (60%) with probability 1/27 = 3.7% each, more than 2.5%, so
        // those are the interval's ends.
        assert_eq!(dense.interval(), Some((20.0, 60.0)));
        // Round 1 is 40% on every seed and utterance: no spread at all.
        assert_eq!(a[1].wer_sd, 0.0);
        assert_eq!(a[1].interval(), Some((40.0, 40.0)));
        assert_eq!(same_seeds(&a[1], &a[0]).len(), 3);
    }

    #[test]
    fn one_seed_keeps_its_names_and_values() {
        let rows = [row("dense", 0, 25.0, 30.0, 1)];
        let a = aggregate(&rows);
        assert_eq!(a[0].mean.model, "dense");
        assert_eq!((a[0].mean.wer, a[0].wer_sd), (25.0, 0.0));
        assert_eq!(a[0].interval(), Some((20.0, 20.0)));
        assert_eq!(seed_of("noisy[level=0.2,seed=3]"), Some("3"));
        assert_eq!(seed_of("dense"), None);
    }
}
