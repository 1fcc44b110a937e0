//! Magnitude pruning by its definition: every surviving unit as an object
//! with its element indices, all sorted by (score, enumeration order), the
//! first k removed: n log n time, a heap object and an index
//! vector per unit: what `prune` computes without them. Tests check `prune`
//! against it and `lotto bench prune` runs it as the peer.

use super::blocks::input_axis;
use super::masks::Masks;
use super::prune::PruneSpec;
use crate::tensor_io::TensorMap;

/// One unit: its tensor, weights, score and place in enumeration order.
struct Unit {
    tensor: usize,
    elements: Vec<usize>,
    score: f64,
    order: usize,
}

/// `prune` for magnitude scores (not random, not N:M), by sorting.
pub fn prune_by_sorting(weights: &TensorMap, masks: &Masks, spec: &PruneSpec) -> Masks {
    let names: Vec<&String> = masks.keys().collect();
    let mut units: Vec<Unit> = vec![];
    for (tensor, name) in names.iter().enumerate() {
        let (m, w) = (&masks[*name], &weights[*name]);
        let rows = m.shape[0].max(1);
        let cols = m.data.len() / rows;
        let axis = input_axis(&m.shape);
        let (br, bc) = spec.block;
        for r0 in (0..rows).step_by(br) {
            for c0 in (0..cols).step_by(bc) {
                let elements: Vec<usize> = (r0..(r0 + br).min(rows))
                    .flat_map(|r| {
                        let axis = &axis;
                        (c0..(c0 + bc).min(cols)).map(move |c| r * cols + axis[c])
                    })
                    .collect();
                if elements.iter().all(|&i| m.data[i] > 0.0) {
                    let score = elements
                        .iter()
                        .map(|&i| w.data[i].abs() as f64)
                        .sum::<f64>()
                        / elements.len() as f64;
                    let order = units.len();
                    units.push(Unit {
                        tensor,
                        elements,
                        score,
                        order,
                    });
                }
            }
        }
    }
    let mut out = masks.clone();
    let groups: Vec<Vec<usize>> = if spec.global {
        vec![(0..names.len()).collect()]
    } else {
        (0..names.len()).map(|t| vec![t]).collect()
    };
    for g in groups {
        let mut us: Vec<&Unit> = units.iter().filter(|u| g.contains(&u.tensor)).collect();
        let k = (spec.rate * us.len() as f64).round() as usize;
        us.sort_by(|a, b| a.score.total_cmp(&b.score).then(a.order.cmp(&b.order)));
        for u in us.iter().take(k) {
            let m = &mut out.get_mut(names[u.tensor]).expect("a mask per name").data;
            for &i in &u.elements {
                m[i] = 0.0;
            }
        }
    }
    out
}
