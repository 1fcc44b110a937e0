//! Choosing which units a pruning step removes, in time linear in the
//! number of units and memory independent of it: the k smallest scores by
//! radix selection over their keys (a counting pass per 16 bits of key, no
//! sort, no copy of the scores; the parts, one per tensor, counted in
//! parallel and summed, so the cut does not depend on the thread count),
//! and k uniformly random units by Floyd's algorithm over a bitset (n/8
//! bytes).

use crate::rng::Rng;

/// Where the k smallest keys end: every key below `threshold`, and, of
/// the keys equal to it, the first `ties[p]` of part p (in enumeration
/// order: earlier parts take theirs first).
#[derive(Debug, PartialEq)]
pub struct Cut {
    pub threshold: u64,
    pub ties: Vec<usize>,
}

/// Keys in parts (one per tensor) that can be enumerated in parallel:
/// `keys(p, sink)` gives part p's keys in order, the same on every call.
pub struct Keys<F> {
    pub parts: usize,
    /// Key width in bits, a multiple of 16.
    pub bits: u32,
    pub keys: F,
}

impl<F: Fn(usize, &mut dyn FnMut(u64)) + Sync> Keys<F> {
    /// Per-part counts of the 16 bits at `shift` of the keys whose bits
    /// above them equal `prefix`'s (all keys in the first pass).
    fn pass(&self, shift: u32, prefix: Option<u64>) -> Vec<Vec<usize>> {
        use rayon::prelude::*;
        (0..self.parts)
            .into_par_iter()
            .map(|p| {
                let mut hist = vec![0usize; 1 << 16];
                let high = shift + 16;
                (self.keys)(p, &mut |key| {
                    if prefix.is_none_or(|x| key >> high == x >> high) {
                        hist[(key >> shift) as usize & 0xffff] += 1;
                    }
                });
                hist
            })
            .collect()
    }

    /// The first pass of `smallest`: per-part counts of the keys' top 16
    /// bits, whose sums are the parts' numbers of keys.
    pub fn top(&self) -> Vec<Vec<usize>> {
        self.pass(self.bits - 16, None)
    }

    /// The cut that selects the `k` smallest keys (1 ≤ k ≤ their number),
    /// given the first pass: one more counting pass per further 16 bits.
    pub fn smallest(&self, k: usize, top: Vec<Vec<usize>>) -> Cut {
        // Rank (0-based) of the last selected key among those still
        // matching the prefix fixed so far.
        let mut rank = k - 1;
        let mut prefix = 0u64;
        let mut per_part = top;
        let passes = self.bits / 16;
        let mut bucket = 0;
        for pass in 0..passes {
            let shift = self.bits - 16 - 16 * pass;
            if pass > 0 {
                per_part = self.pass(shift, Some(prefix));
            }
            let mut below = 0;
            for b in 0..1 << 16 {
                let n: usize = per_part.iter().map(|h| h[b]).sum();
                if below + n > rank {
                    bucket = b;
                    break;
                }
                below += n;
            }
            rank -= below;
            prefix |= (bucket as u64) << shift;
        }
        // The last pass counted, per part, the keys equal to the threshold.
        let mut left = rank + 1;
        let ties = per_part
            .iter()
            .map(|h| {
                let take = h[bucket].min(left);
                left -= take;
                take
            })
            .collect();
        Cut {
            threshold: prefix,
            ties,
        }
    }
}

/// `k` distinct positions of `0..n`, each k-subset equally likely
/// (Floyd's algorithm), as a bitset.
pub fn random_subset(n: usize, k: usize, rng: &mut Rng) -> Vec<u64> {
    let mut bits = vec![0u64; n.div_ceil(64)];
    for j in n - k.min(n)..n {
        let t = rng.below(j + 1);
        let pick = if contains(&bits, t) { j } else { t };
        bits[pick / 64] |= 1 << (pick % 64);
    }
    bits
}

/// Whether position `i` is in a `random_subset`.
pub fn contains(bits: &[u64], i: usize) -> bool {
    bits[i / 64] >> (i % 64) & 1 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cut over `keys` split in two parts (the first three keys, the
    /// rest), as the pruning of two tensors splits them.
    fn cut_of(keys: &[u64], k: usize) -> Cut {
        let k2 = Keys {
            parts: 2,
            bits: 64,
            keys: |p: usize, sink: &mut dyn FnMut(u64)| {
                let part = if p == 0 { &keys[..3] } else { &keys[3..] };
                part.iter().for_each(|&x| sink(x))
            },
        };
        k2.smallest(k, k2.top())
    }

    #[test]
    fn the_cut_takes_the_k_smallest_with_ties_in_order() {
        // Sorted: 1, 2, 5, 5, 5, 9, (1 << 40), (1 << 60); parts [5, 9, 1]
        // and [5, 1 << 60, 2, 5, 1 << 40].
        let keys = [5, 9, 1, 5, 1 << 60, 2, 5, 1 << 40];
        let cut = |threshold, ties: [usize; 2]| Cut {
            threshold,
            ties: ties.to_vec(),
        };
        assert_eq!(cut_of(&keys, 1), cut(1, [1, 0]));
        assert_eq!(cut_of(&keys, 3), cut(5, [1, 0]));
        assert_eq!(cut_of(&keys, 4), cut(5, [1, 1]));
        assert_eq!(cut_of(&keys, 5), cut(5, [1, 2]));
        assert_eq!(cut_of(&keys, 6), cut(9, [1, 0]));
        assert_eq!(cut_of(&keys, 8), cut(1 << 60, [0, 1]));
    }

    #[test]
    fn the_cut_agrees_with_a_sort_on_float_keys() {
        let mut rng = Rng::new(4);
        // Quantised magnitudes: many ties, several exponents.
        let vals: Vec<f64> = (0..5000)
            .map(|_| ((rng.f64() * 300.0).floor() / 7.0) * 10f64.powi(rng.below(4) as i32 - 2))
            .collect();
        let keys: Vec<u64> = vals.iter().map(|v| v.to_bits()).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        for k in [1, 17, 999, 2500, 4999, 5000] {
            let c = cut_of(&keys, k);
            assert_eq!(c.threshold, sorted[k - 1], "k {k}");
            let below = sorted.iter().filter(|&&x| x < c.threshold).count();
            assert_eq!(below + c.ties.iter().sum::<usize>(), k, "k {k}");
        }
    }

    #[test]
    fn random_subsets_have_k_members_and_are_uniform() {
        let (n, k) = (10, 3);
        let mut counts = [0usize; 10];
        for seed in 0..20_000 {
            let b = random_subset(n, k, &mut Rng::new(seed));
            let members: Vec<usize> = (0..n).filter(|&i| contains(&b, i)).collect();
            assert_eq!(members.len(), k);
            for i in members {
                counts[i] += 1;
            }
        }
        // Each position: 6,000 expected (20,000 · 3/10), sd ≈ 65.
        for c in counts {
            assert!((5700..6300).contains(&c), "{counts:?}");
        }
        assert_eq!(random_subset(5, 5, &mut Rng::new(1)), vec![0b11111]);
        assert_eq!(random_subset(5, 0, &mut Rng::new(1)), vec![0]);
    }
}
