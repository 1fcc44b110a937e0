//! One pruning step: removes a share of the remaining prunable units with
//! the lowest score (mean |w| of a 1x1 or RxC block, or a random draw),
//! globally or per tensor; or N:M sparsity in one step.
//!
//! Blocks and N:M groups lie along a weight's input axis. For a linear or
//! LSTM weight [out, in] that is the row. A convolution [co, ci, kh, kw]
//! is read as the paper's code reads it (OHWI): each output channel's row
//! runs over kernel positions with the input channels innermost, so a 1x4
//! block is four input channels at one kernel position, and with fewer
//! than four input channels (DS2's first layer has one) a block runs on
//! along the kernel row and across rows. A row whose length is not a
//! multiple of the block (or group) width ends in a partial block: a unit
//! of its own, scored by the mean magnitude of the weights it has.

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

/// The flat column of each position along a row's input axis: the
/// identity for [out, in]; for a convolution [co, ci, kh, kw], positions
/// (y, x, i) in that order, i innermost (OHWI).
fn input_axis(shape: &[usize]) -> Vec<usize> {
    match *shape {
        [_, ci, kh, kw] => (0..kh * kw)
            .flat_map(|pos| (0..ci).map(move |i| i * kh * kw + pos))
            .collect(),
        _ => {
            let cols: usize = shape.iter().skip(1).product();
            (0..cols).collect()
        }
    }
}

/// N:M pruning: in every group of M consecutive weights along a row's
/// input axis, keep the N surviving ones with the highest score.
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
        let axis = input_axis(&mask.shape);
        for r in 0..rows {
            for c0 in (0..cols).step_by(m) {
                let mut alive: Vec<(f64, usize)> = (c0..(c0 + m).min(cols))
                    .map(|c| r * cols + axis[c])
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
        let axis = input_axis(&m.shape);
        for r0 in (0..rows).step_by(br) {
            for c0 in (0..cols).step_by(bc) {
                let idx: Vec<usize> = (r0..(r0 + br).min(rows))
                    .flat_map(|r| {
                        let axis = &axis;
                        (c0..(c0 + bc).min(cols)).map(move |c| r * cols + axis[c])
                    })
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
    fn conv_blocks_run_over_input_channels_at_one_kernel_position() {
        // [co 1, ci 4, kh 1, kw 2]: flat index i*2 + x. Input channels at
        // x = 0 are small, at x = 1 large: the block of the four channels
        // at x = 0 (flat 0, 2, 4, 6) goes, not a run of kw.
        let w = map(
            vec![0.1, 5.0, 0.2, 6.0, 0.3, 7.0, 0.4, 8.0],
            vec![1, 4, 1, 2],
        );
        let m = map(vec![1.0; 8], vec![1, 4, 1, 2]);
        let spec = PruneSpec {
            rate: 0.5,
            global: true,
            block: (1, 4),
            random: false,
            nm: None,
        };
        let out = prune(&w, &m, &spec, &mut Rng::new(0));
        assert_eq!(out["w"].data, vec![0., 1., 0., 1., 0., 1., 0., 1.]);
        // One input channel: the row runs along kw, then the next kernel row.
        assert_eq!(input_axis(&[2, 1, 2, 3]), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(input_axis(&[2, 2, 1, 2]), vec![0, 2, 1, 3]);
    }

    #[test]
    fn a_partial_last_block_is_scored_by_the_weights_it_has() {
        // Row of 6 with 1x4 blocks: [0..4] and the partial [4..6]. The
        // partial block's mean (0.5) is below the full block's (1.0).
        let w = map(vec![1.0, 1.0, 1.0, 1.0, 0.5, 0.5], vec![1, 6]);
        let m = map(vec![1.0; 6], vec![1, 6]);
        let spec = PruneSpec {
            rate: 0.5,
            global: true,
            block: (1, 4),
            random: false,
            nm: None,
        };
        let out = prune(&w, &m, &spec, &mut Rng::new(0));
        assert_eq!(out["w"].data, vec![1., 1., 1., 1., 0., 0.]);
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
