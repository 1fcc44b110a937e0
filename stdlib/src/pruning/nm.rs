//! N:M sparsity in one step: in every group of M consecutive weights along
//! a row's input axis, the N surviving ones with the highest score stay.

use super::blocks::input_axis;
use super::masks::Masks;
use crate::rng::Rng;
use crate::tensor_io::TensorMap;

/// `masks` with every group of `m` cut to its `n` best survivors (by
/// magnitude, or by random draws).
pub fn prune_nm(
    weights: &TensorMap,
    masks: &Masks,
    n: usize,
    m: usize,
    random: bool,
    rng: &mut Rng,
) -> Masks {
    let mut out = masks.clone();
    // One buffer for every group: (score, flat index) of its survivors.
    let mut alive: Vec<(f64, usize)> = Vec::with_capacity(m);
    for (name, mask) in out.iter_mut() {
        let w = &weights[name];
        let rows = mask.shape[0].max(1);
        let cols = mask.data.len() / rows;
        let axis = input_axis(&mask.shape);
        for r in 0..rows {
            for c0 in (0..cols).step_by(m) {
                alive.clear();
                for &col in &axis[c0..(c0 + m).min(cols)] {
                    let i = r * cols + col;
                    if mask.data[i] > 0.0 {
                        let score = if random {
                            rng.f64()
                        } else {
                            w.data[i].abs() as f64
                        };
                        alive.push((score, i));
                    }
                }
                alive.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                for &(_, i) in alive.iter().skip(n) {
                    mask.data[i] = 0.0;
                }
            }
        }
    }
    out
}
