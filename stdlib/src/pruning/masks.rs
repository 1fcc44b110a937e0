//! Masks: per prunable tensor, 1 keeps a weight and 0 prunes it. Remaining
//! weights (RW) are always measured from the masks, never assumed.

use crate::tensor_io::TensorMap;

/// Per-tensor masks (1 keep, 0 pruned) for prunable parameters.
pub type Masks = TensorMap;

/// Applies masks to a host weight map (pruned weights become exactly 0).
pub fn apply_masks(w: &mut TensorMap, masks: &Masks) {
    for (k, m) in masks {
        if let Some(t) = w.get_mut(k) {
            for (v, mm) in t.data.iter_mut().zip(&m.data) {
                *v *= *mm;
            }
        }
    }
}

/// A copy of `w` with `masks` applied, if any (a round's initial weights).
pub fn masked(w: &TensorMap, masks: Option<&Masks>) -> TensorMap {
    let mut out = w.clone();
    if let Some(m) = masks {
        apply_masks(&mut out, m);
    }
    out
}

/// RW: remaining weights as % of prunable, measured from the masks.
pub fn remaining(m: &Masks) -> f64 {
    let (kept, total) = m.values().fold((0.0, 0usize), |(k, t), h| {
        (
            k + h.data.iter().map(|v| *v as f64).sum::<f64>(),
            t + h.data.len(),
        )
    });
    100.0 * kept / total.max(1) as f64
}

/// The distance between two candidate next masks `a` and `b` drawn from
/// the round's mask `round`: the share of the weights they prune in this
/// round on which they disagree, |A Δ B| / (|A| + |B|) over the sets A, B
/// of weights the round's mask keeps and the candidate prunes (0: the same
/// weights; 1: disjoint). Early-bird's normalised Hamming distance, over
/// the weights at stake in this round: over all prunable weights, the
/// already-pruned ones (equal in every candidate) would shrink it as RW
/// falls and loosen the threshold round after round.
pub fn round_mask_distance(round: &Masks, a: &Masks, b: &Masks) -> f64 {
    let (mut differ, mut pruned) = (0usize, 0usize);
    for (name, r) in round {
        let (Some(x), Some(y)) = (a.get(name), b.get(name)) else {
            continue;
        };
        for ((&keep, &xa), &yb) in r.data.iter().zip(&x.data).zip(&y.data) {
            if keep == 0.0 {
                continue;
            }
            let (pa, pb) = (xa == 0.0, yb == 0.0);
            pruned += pa as usize + pb as usize;
            differ += (pa != pb) as usize;
        }
    }
    differ as f64 / pruned.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor_io::HostTensor;

    fn one(d: Vec<f32>) -> Masks {
        let mut t = Masks::new();
        t.insert(
            "w".into(),
            HostTensor {
                shape: vec![d.len()],
                data: d,
            },
        );
        t
    }

    #[test]
    fn round_distance_counts_only_the_weights_this_round_prunes() {
        // Six weights, two pruned before this round; each candidate prunes
        // two of the four survivors and they share one: |A Δ B| = 2 of
        // |A| + |B| = 4.
        let round = one(vec![0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
        let a = one(vec![0.0, 0.0, 0.0, 0.0, 1.0, 1.0]);
        let b = one(vec![0.0, 0.0, 0.0, 1.0, 0.0, 1.0]);
        assert_eq!(round_mask_distance(&round, &a, &b), 0.5);
        assert_eq!(round_mask_distance(&round, &a, &a), 0.0);
        let c = one(vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
        assert_eq!(round_mask_distance(&round, &a, &c), 1.0);
        // The old denominator (all six entries) would have said 2/6.
    }

    #[test]
    fn rw_and_masking_follow_the_mask() {
        let m = one(vec![1.0, 0.0, 1.0, 0.0]);
        assert_eq!(remaining(&m), 50.0);
        let mut w = one(vec![2.0, 3.0, 4.0, 5.0]);
        apply_masks(&mut w, &m);
        assert_eq!(w["w"].data, [2.0, 0.0, 4.0, 0.0]);
    }
}
