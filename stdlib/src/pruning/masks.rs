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

/// Normalised Hamming distance: the share of mask entries that differ.
pub fn mask_distance(a: &Masks, b: &Masks) -> f64 {
    let (mut diff, mut total) = (0usize, 0usize);
    for (name, m) in a {
        if let Some(o) = b.get(name) {
            total += m.data.len();
            diff += m.data.iter().zip(&o.data).filter(|(x, y)| x != y).count();
        }
    }
    diff as f64 / total.max(1) as f64
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
    fn mask_distance_is_the_share_of_flipped_entries() {
        assert_eq!(
            mask_distance(
                &one(vec![1.0, 0.0, 1.0, 1.0]),
                &one(vec![1.0, 1.0, 1.0, 0.0])
            ),
            0.5
        );
        assert_eq!(
            mask_distance(&one(vec![1.0, 0.0]), &one(vec![1.0, 0.0])),
            0.0
        );
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
