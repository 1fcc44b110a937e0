//! A pruning schedule as each round's target: geometric (a fixed share of
//! the remaining weights per round, for `rounds` rounds or until RW reaches
//! `until`) or an explicit list of target sparsities.

use super::args::Schedule;
use crate::pruning::masks::{remaining, Masks};

/// How many rounds the schedule has.
pub fn rounds(s: &Schedule) -> usize {
    match (&s.sparsities, s.until) {
        (Some(l), _) => l.len(),
        (None, Some(until)) => {
            // Smallest n with (1 - rate)^n <= until.
            let n = (until.ln() / (1.0 - s.rate).ln() - 1e-9).ceil();
            (n.max(1.0) as usize).min(200)
        }
        _ => s.rounds,
    }
}

/// The share of the weights `masks` keep that one prune must remove to
/// reach `target` sparsity (share of all prunable weights removed).
pub fn rate_to_reach(target: f64, masks: &Masks) -> f64 {
    let q = remaining(masks) / 100.0;
    (1.0 - (1.0 - target) / q.max(1e-12)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor_io::HostTensor;
    use lotto_interpreter::typed::OpArgs;

    fn schedule() -> Schedule {
        let args = Schedule::params()
            .into_iter()
            .filter_map(|p| Some((p.name.to_string(), p.default?)))
            .collect();
        Schedule::from_args(&args).unwrap()
    }

    #[test]
    fn geometric_until_stops_at_the_first_round_at_or_below_the_target() {
        let mut s = schedule();
        s.rate = 0.2;
        s.until = Some(0.5);
        // 0.8^3 = 0.512 > 0.5, 0.8^4 = 0.4096.
        assert_eq!(rounds(&s), 4);
        s.until = None;
        s.sparsities = Some(vec![0.2, 0.5]);
        assert_eq!(rounds(&s), 2);
    }

    #[test]
    fn a_target_is_reached_from_what_remains() {
        let mut m = Masks::new();
        m.insert(
            "w".into(),
            HostTensor {
                shape: vec![4],
                data: vec![1.0, 1.0, 0.0, 0.0],
            },
        );
        // Half remains; 75% sparsity means removing half of what is left.
        assert!((rate_to_reach(0.75, &m) - 0.5).abs() < 1e-12);
        assert_eq!(rate_to_reach(0.25, &m), 0.0);
    }
}
