//! One pruning step: removes a share of the remaining prunable units with
//! the lowest score (mean |w| of a 1x1 or RxC block, or a random draw),
//! globally or per tensor; or N:M sparsity in one step. Blocks and N:M
//! groups lie along a weight's input axis (`blocks.rs`).

use super::blocks::Blocks;
use super::masks::Masks;
use super::nm::prune_nm;
use super::selection::{contains, random_subset, Cut, Keys};
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

impl PruneSpec {
    /// Magnitude pruning of `rate` of the surviving units, in `block`s.
    pub fn magnitude(rate: f64, global: bool, block: (usize, usize)) -> PruneSpec {
        PruneSpec {
            rate,
            global,
            block,
            random: false,
            nm: None,
        }
    }
}

/// Removes `rate` of the remaining prunable units (blocks) with the lowest
/// score (mean |w|), or chosen uniformly at random, globally or per tensor.
/// Ties at the cut go to the units that come first (tensors by name, then
/// rows of blocks, then along the input axis). Time linear in the number of
/// weights; memory beyond the new masks: a 64K-entry histogram, or one bit
/// per unit for random choices.
///
/// Logs its time (`lotto::timing` at debug level: `lotto bench ops` reads
/// it, `-vv` shows it).
pub fn prune(weights: &TensorMap, masks: &Masks, spec: &PruneSpec, rng: &mut Rng) -> Masks {
    let t0 = std::time::Instant::now();
    let out = match spec.nm {
        Some((n, m)) => prune_nm(weights, masks, n, m, spec.random, rng),
        None => prune_units(weights, masks, spec, rng),
    };
    let weights: usize = masks.values().map(|t| t.data.len()).sum();
    let seconds = t0.elapsed().as_secs_f64();
    tracing::debug!(target: "lotto::timing", seconds, weights, "pruning");
    out
}

/// [`prune`] by unit scores (everything but N:M).
fn prune_units(weights: &TensorMap, masks: &Masks, spec: &PruneSpec, rng: &mut Rng) -> Masks {
    use rayon::prelude::*;
    let names: Vec<&String> = masks.keys().collect();
    let blocks: Vec<Blocks> = names
        .iter()
        .map(|n| Blocks::new(&weights[*n], &masks[*n], spec.block))
        .collect();
    let mut out = masks.clone();
    // The new masks in name order, as `blocks`.
    let mut outs: Vec<&mut Vec<f32>> = out.values_mut().map(|t| &mut t.data).collect();
    let groups: Vec<Vec<usize>> = if spec.global {
        vec![(0..names.len()).collect()]
    } else {
        (0..names.len()).map(|t| vec![t]).collect()
    };
    for group in groups {
        let choice = choose(&blocks, &group, spec, rng);
        let first = group[0];
        // Each tensor of the group rewrites its own mask, in parallel.
        outs[first..first + group.len()]
            .par_iter_mut()
            .enumerate()
            .for_each(|(p, data)| {
                let b = &blocks[first + p];
                let mut visit = choice.visit(p);
                b.for_each_alive(|unit, key| {
                    if visit.prunes(key) {
                        b.zero(unit, data);
                    }
                });
            });
    }
    out
}

/// Which of a group's units go.
enum Choice {
    None,
    Smallest(Cut),
    /// Chosen units by rank in the group, and where each part's ranks
    /// start.
    Random(Vec<u64>, Vec<usize>),
}

/// The units of `group` (consecutive tensor indices) the step removes.
fn choose(blocks: &[Blocks], group: &[usize], spec: &PruneSpec, rng: &mut Rng) -> Choice {
    let keys = Keys {
        parts: group.len(),
        // Every block of a pruning run has the same shape, so one key width.
        bits: blocks[group[0]].key_bits(),
        keys: |p: usize, sink: &mut dyn FnMut(u64)| {
            blocks[group[p]].for_each_alive(|_, key| sink(key));
        },
    };
    let top = keys.top();
    let counts: Vec<usize> = top.iter().map(|h| h.iter().sum()).collect();
    let n: usize = counts.iter().sum();
    let k = (spec.rate * n as f64).round() as usize;
    if k == 0 {
        Choice::None
    } else if spec.random {
        let starts = counts
            .iter()
            .scan(0, |acc, c| {
                let start = *acc;
                *acc += c;
                Some(start)
            })
            .collect();
        Choice::Random(random_subset(n, k, rng), starts)
    } else {
        Choice::Smallest(keys.smallest(k, top))
    }
}

impl Choice {
    /// The walk over part `p`'s alive units.
    fn visit(&self, p: usize) -> Visit<'_> {
        Visit {
            choice: self,
            seen: match self {
                Choice::Random(_, starts) => starts[p],
                _ => 0,
            },
            ties: match self {
                Choice::Smallest(c) => c.ties[p],
                _ => 0,
            },
        }
    }
}

/// Walks one tensor's alive units in order, saying which the choice
/// removes.
struct Visit<'c> {
    choice: &'c Choice,
    /// The group rank of the next unit (for a random choice).
    seen: usize,
    /// This tensor's ties at the cut still to take.
    ties: usize,
}

impl Visit<'_> {
    fn prunes(&mut self, key: u64) -> bool {
        let i = self.seen;
        self.seen += 1;
        match self.choice {
            Choice::None => false,
            Choice::Random(bits, _) => contains(bits, i),
            Choice::Smallest(c) if key < c.threshold => true,
            Choice::Smallest(c) if key == c.threshold && self.ties > 0 => {
                self.ties -= 1;
                true
            }
            Choice::Smallest(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pruning::masks::remaining;
    use crate::tensor_io::HostTensor;

    fn spec(rate: f64, global: bool, block: (usize, usize)) -> PruneSpec {
        PruneSpec::magnitude(rate, global, block)
    }

    fn map(vals: Vec<f32>, shape: Vec<usize>) -> TensorMap {
        [("w".to_string(), HostTensor { shape, data: vals })]
            .into_iter()
            .collect()
    }

    #[test]
    fn global_magnitude_prunes_smallest_and_rw_is_measured() {
        let w = map((1..=10).map(|v| v as f32).collect(), vec![2, 5]);
        let m = map(vec![1.0; 10], vec![2, 5]);
        let spec = spec(0.2, true, (1, 1));
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
        let spec = spec(0.5, true, (1, 4));
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
        let spec = spec(0.5, true, (1, 4));
        let out = prune(&w, &m, &spec, &mut Rng::new(0));
        assert_eq!(out["w"].data, vec![0., 1., 0., 1., 0., 1., 0., 1.]);
    }

    #[test]
    fn a_partial_last_block_is_scored_by_the_weights_it_has() {
        // Row of 6 with 1x4 blocks: [0..4] and the partial [4..6]. The
        // partial block's mean (0.5) is below the full block's (1.0).
        let w = map(vec![1.0, 1.0, 1.0, 1.0, 0.5, 0.5], vec![1, 6]);
        let m = map(vec![1.0; 6], vec![1, 6]);
        let spec = spec(0.5, true, (1, 4));
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

    #[test]
    fn linear_time_selection_equals_sorting_every_unit() {
        let mut rng = Rng::new(11);
        // A conv, an LSTM-like and a linear weight; quantised values give
        // many ties; some weights already pruned.
        let shapes = [vec![4, 3, 3, 5], vec![16, 12], vec![7, 10]];
        let mut weights = TensorMap::new();
        let mut masks = TensorMap::new();
        for (i, sh) in shapes.iter().enumerate() {
            let n: usize = sh.iter().product();
            let w: Vec<f32> = (0..n)
                .map(|_| (rng.below(40) as f32 - 20.0) / 8.0)
                .collect();
            let m: Vec<f32> = (0..n)
                .map(|_| if rng.f64() < 0.2 { 0.0 } else { 1.0 })
                .collect();
            weights.insert(
                format!("t{i}"),
                HostTensor {
                    shape: sh.clone(),
                    data: w,
                },
            );
            masks.insert(
                format!("t{i}"),
                HostTensor {
                    shape: sh.clone(),
                    data: m,
                },
            );
        }
        for block in [(1, 1), (1, 4), (2, 2), (3, 1)] {
            for global in [true, false] {
                for rate in [0.05, 0.2, 0.5, 0.9] {
                    let spec = PruneSpec {
                        rate,
                        global,
                        block,
                        random: false,
                        nm: None,
                    };
                    assert_eq!(
                        prune(&weights, &masks, &spec, &mut Rng::new(0)),
                        crate::pruning::reference::prune_by_sorting(&weights, &masks, &spec),
                        "{block:?} global {global} rate {rate}"
                    );
                }
            }
        }
    }

    #[test]
    fn random_pruning_removes_exactly_its_share_of_surviving_units() {
        let mut m = map(vec![1.0; 400], vec![20, 20]);
        for i in (0..400).step_by(3) {
            m.get_mut("w").unwrap().data[i] = 0.0;
        }
        let w = map(vec![1.0; 400], vec![20, 20]);
        let spec = PruneSpec {
            rate: 0.25,
            global: true,
            block: (1, 1),
            random: true,
            nm: None,
        };
        let before = m["w"].data.iter().filter(|v| **v > 0.0).count();
        let out = prune(&w, &m, &spec, &mut Rng::new(3));
        let after = out["w"].data.iter().filter(|v| **v > 0.0).count();
        assert_eq!(before - after, (0.25 * before as f64).round() as usize);
        // Nothing pruned before comes back.
        assert!(m["w"]
            .data
            .iter()
            .zip(&out["w"].data)
            .all(|(a, b)| *b <= *a));
        assert_ne!(
            out,
            prune(&w, &m, &spec, &mut Rng::new(4)),
            "another seed, other units"
        );
    }
}
