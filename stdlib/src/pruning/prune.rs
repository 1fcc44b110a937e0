//! One pruning step: removes a share of the remaining prunable units with
//! the lowest score (mean |w| of a 1x1 or RxC block, or a random draw),
//! globally or per tensor; or N:M sparsity in one step.

use super::masks::Masks;
use crate::rng::Rng;
use crate::tensor_io::TensorMap;

/// Settings of one pruning step.
#[derive(Clone, Debug)]
pub struct PruneSpec {
    pub rate: f64,
    pub global: bool,
    /// Block of (rows along output, cols along input); (1,1) unstructured.
    pub block: (usize, usize),
    pub random: bool,
    /// N:M sparsity: at most N of every M consecutive weights along the
    /// input dimension survive (reached in one prune; `rate` is not used).
    pub nm: Option<(usize, usize)>,
}

/// N:M pruning: in every group of M consecutive weights of a row (along
/// the input dimension), keep the N surviving ones with the highest score.
fn prune_nm(
    weights: &TensorMap,
    masks: &Masks,
    n: usize,
    m: usize,
    random: bool,
    rng: &mut Rng,
) -> Masks {
    let mut out = masks.clone();
    for (name, mask) in out.iter_mut() {
        let w = &weights[name];
        let rows = mask.shape[0];
        let cols = mask.data.len() / rows.max(1);
        for r in 0..rows {
            for c0 in (0..cols).step_by(m) {
                let mut alive: Vec<(f64, usize)> = (c0..(c0 + m).min(cols))
                    .map(|c| r * cols + c)
                    .filter(|&i| mask.data[i] > 0.0)
                    .map(|i| {
                        (
                            if random {
                                rng.f64()
                            } else {
                                w.data[i].abs() as f64
                            },
                            i,
                        )
                    })
                    .collect();
                alive.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                for &(_, i) in alive.iter().skip(n) {
                    mask.data[i] = 0.0;
                }
            }
        }
    }
    out
}

/// Removes `rate` of the remaining prunable units (blocks) with the lowest
/// score (mean |w|, or a random draw), globally or per tensor.
pub fn prune(weights: &TensorMap, masks: &Masks, spec: &PruneSpec, rng: &mut Rng) -> Masks {
    if let Some((n, m)) = spec.nm {
        return prune_nm(weights, masks, n, m, spec.random, rng);
    }
    // Units: (tensor, element indices), scored.
    struct Unit {
        t: usize,
        idx: Vec<usize>,
        score: f64,
    }
    let names: Vec<&String> = masks.keys().collect();
    let mut units: Vec<Unit> = vec![];
    for (ti, name) in names.iter().enumerate() {
        let m = &masks[*name];
        let w = &weights[*name];
        let rows = m.shape[0];
        let cols = m.data.len() / rows.max(1);
        let (br, bc) = spec.block;
        for r0 in (0..rows).step_by(br) {
            for c0 in (0..cols).step_by(bc) {
                let idx: Vec<usize> = (r0..(r0 + br).min(rows))
                    .flat_map(|r| (c0..(c0 + bc).min(cols)).map(move |c| r * cols + c))
                    .collect();
                if idx.iter().all(|&i| m.data[i] > 0.0) {
                    let score = if spec.random {
                        rng.f64()
                    } else {
                        idx.iter().map(|&i| w.data[i].abs() as f64).sum::<f64>() / idx.len() as f64
                    };
                    units.push(Unit { t: ti, idx, score });
                }
            }
        }
    }
    let mut out = masks.clone();
    let mut drop = |group: &mut Vec<&Unit>| {
        let k = (spec.rate * group.len() as f64).round() as usize;
        group.sort_by(|a, b| {
            a.score
                .total_cmp(&b.score)
                .then(a.t.cmp(&b.t))
                .then(a.idx[0].cmp(&b.idx[0]))
        });
        for u in group.iter().take(k) {
            let m = out.get_mut(names[u.t]).unwrap();
            for &i in &u.idx {
                m.data[i] = 0.0;
            }
        }
    };
    if spec.global {
        let mut all: Vec<&Unit> = units.iter().collect();
        drop(&mut all);
    } else {
        for t in 0..names.len() {
            let mut g: Vec<&Unit> = units.iter().filter(|u| u.t == t).collect();
            drop(&mut g);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pruning::masks::remaining;
    use crate::tensor_io::HostTensor;

    fn map(vals: Vec<f32>, shape: Vec<usize>) -> TensorMap {
        [("w".to_string(), HostTensor { shape, data: vals })]
            .into_iter()
            .collect()
    }

    #[test]
    fn global_magnitude_prunes_smallest_and_rw_is_measured() {
        let w = map((1..=10).map(|v| v as f32).collect(), vec![2, 5]);
        let m = map(vec![1.0; 10], vec![2, 5]);
        let spec = PruneSpec {
            rate: 0.2,
            global: true,
            block: (1, 1),
            random: false,
            nm: None,
        };
        let m1 = prune(&w, &m, &spec, &mut Rng::new(0));
        assert_eq!(m1["w"].data, vec![0., 0., 1., 1., 1., 1., 1., 1., 1., 1.]);
        assert!((remaining(&m1) - 80.0).abs() < 1e-9);
        let m2 = prune(&w, &m1, &spec, &mut Rng::new(0));
        assert!(
            (remaining(&m2) - 60.0).abs() < 1e-9,
            "20% of the 8 remaining, rounded"
        );
    }

    #[test]
    fn block_masks_have_1x4_structure() {
        let mut rng = Rng::new(5);
        let w = map(
            (0..64).map(|_| rng.uniform(-1.0, 1.0)).collect(),
            vec![4, 16],
        );
        let mut m = map(vec![1.0; 64], vec![4, 16]);
        let spec = PruneSpec {
            rate: 0.5,
            global: true,
            block: (1, 4),
            random: false,
            nm: None,
        };
        for _ in 0..2 {
            m = prune(&w, &m, &spec, &mut rng);
        }
        for block in m["w"].data.chunks(4) {
            assert!(
                block.iter().all(|v| *v == block[0]),
                "mixed block {block:?}"
            );
        }
        assert!(remaining(&m) < 100.0);
    }

    #[test]
    fn nm_masks_keep_n_largest_of_every_m() {
        let mut rng = Rng::new(9);
        let w = map(
            (0..96).map(|_| rng.uniform(-1.0, 1.0)).collect(),
            vec![4, 24],
        );
        let m = map(vec![1.0; 96], vec![4, 24]);
        let spec = PruneSpec {
            rate: 0.2,
            global: true,
            block: (1, 1),
            random: false,
            nm: Some((2, 4)),
        };
        let out = prune(&w, &m, &spec, &mut rng);
        for (g, (mask, wg)) in out["w"]
            .data
            .chunks(4)
            .zip(w["w"].data.chunks(4))
            .enumerate()
        {
            assert_eq!(
                mask.iter().filter(|v| **v > 0.0).count(),
                2,
                "group {g}: {mask:?}"
            );
            let kept_min = (0..4)
                .filter(|&i| mask[i] > 0.0)
                .map(|i| wg[i].abs())
                .fold(f32::MAX, f32::min);
            let dropped_max = (0..4)
                .filter(|&i| mask[i] == 0.0)
                .map(|i| wg[i].abs())
                .fold(0.0, f32::max);
            assert!(kept_min >= dropped_max, "group {g} kept a smaller weight");
        }
        assert!((remaining(&out) - 50.0).abs() < 1e-9);
    }
}
