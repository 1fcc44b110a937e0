//! One tensor's pruning units: blocks of `br` × `bc` weights along its rows
//! (outputs) and input axis, enumerated in place (no object per unit), so a
//! pruning pass over 100M+ weights allocates nothing per weight.
//!
//! The input axis of a linear or LSTM weight [out, in] is the row; a
//! convolution [co, ci, kh, kw] is read as the paper's code reads it
//! (OHWI): kernel positions, input channels innermost. A row whose length
//! is not a multiple of the block width ends in a partial block: a unit of
//! its own, scored by the mean magnitude of the weights it has.

use crate::tensor_io::HostTensor;

/// The blocks of one tensor under its mask.
pub struct Blocks<'a> {
    weights: &'a [f32],
    mask: &'a [f32],
    rows: usize,
    cols: usize,
    br: usize,
    bc: usize,
    /// The flat column of each position along the input axis.
    axis: Vec<usize>,
}

/// The flat column of each position along a row's input axis: the
/// identity for [out, in]; for a convolution [co, ci, kh, kw], positions
/// (y, x, i) in that order, i innermost (OHWI).
pub fn input_axis(shape: &[usize]) -> Vec<usize> {
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

impl<'a> Blocks<'a> {
    pub fn new(weights: &'a HostTensor, mask: &'a HostTensor, block: (usize, usize)) -> Self {
        let rows = mask.shape.first().copied().unwrap_or(1).max(1);
        Blocks {
            weights: &weights.data,
            mask: &mask.data,
            rows,
            cols: mask.data.len() / rows,
            br: block.0.max(1),
            bc: block.1.max(1),
            axis: input_axis(&mask.shape),
        }
    }

    /// The flat indices of block (r0, c0)'s weights.
    fn elements(&self, r0: usize, c0: usize) -> impl Iterator<Item = usize> + '_ {
        let (rows, cols) = (self.rows, self.cols);
        (r0..(r0 + self.br).min(rows))
            .flat_map(move |r| (c0..(c0 + self.bc).min(cols)).map(move |c| r * cols + self.axis[c]))
    }

    /// Bits of the score keys `for_each_alive` gives: single weights key on
    /// their magnitude's f32 bits, blocks on their mean's f64 bits.
    pub fn key_bits(&self) -> u32 {
        if self.br * self.bc == 1 {
            32
        } else {
            64
        }
    }

    /// Calls `f` with each block whose weights all survive, in order (rows
    /// of blocks, then along the input axis), and its score key: the mean
    /// magnitude's bits (`key_bits` of them), which order as the
    /// magnitudes do.
    pub fn for_each_alive(&self, mut f: impl FnMut(Block, u64)) {
        if self.br * self.bc == 1 && self.axis.iter().enumerate().all(|(c, &a)| a == c) {
            // Single weights in storage order: one pass over the tensor.
            for r in 0..self.rows {
                let row = r * self.cols..(r + 1) * self.cols;
                let (w, m) = (&self.weights[row.clone()], &self.mask[row]);
                for (c, (w, m)) in w.iter().zip(m).enumerate() {
                    if *m > 0.0 {
                        f(Block { r0: r, c0: c }, w.abs().to_bits() as u64);
                    }
                }
            }
            return;
        }
        if self.br * self.bc == 1 {
            // Single weights along a convolution's input axis.
            for r in 0..self.rows {
                let base = r * self.cols;
                for (c, &col) in self.axis.iter().enumerate() {
                    let i = base + col;
                    if self.mask[i] > 0.0 {
                        f(
                            Block { r0: r, c0: c },
                            self.weights[i].abs().to_bits() as u64,
                        );
                    }
                }
            }
            return;
        }
        for r0 in (0..self.rows).step_by(self.br) {
            for c0 in (0..self.cols).step_by(self.bc) {
                let (mut sum, mut n, mut alive) = (0.0f64, 0usize, true);
                for i in self.elements(r0, c0) {
                    if self.mask[i] <= 0.0 {
                        alive = false;
                        break;
                    }
                    sum += self.weights[i].abs() as f64;
                    n += 1;
                }
                if alive && n > 0 {
                    f(Block { r0, c0 }, (sum / n as f64).to_bits());
                }
            }
        }
    }

    /// Prunes block `b` in `out` (this tensor's mask being rewritten).
    pub fn zero(&self, b: Block, out: &mut [f32]) {
        for i in self.elements(b.r0, b.c0) {
            out[i] = 0.0;
        }
    }
}

/// A block's first row and first position along the input axis.
#[derive(Clone, Copy)]
pub struct Block {
    r0: usize,
    c0: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_input_axis_is_ohwi() {
        // One input channel: the row runs along kw, then the next kernel row.
        assert_eq!(input_axis(&[2, 1, 2, 3]), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(input_axis(&[2, 2, 1, 2]), vec![0, 2, 1, 3]);
        assert_eq!(input_axis(&[3, 5]), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn keys_order_as_mean_magnitudes_and_dead_blocks_are_skipped() {
        let w = HostTensor {
            shape: vec![1, 6],
            data: vec![-1.0, 1.0, 3.0, -3.0, 0.5, 0.5],
        };
        let mut m = HostTensor {
            shape: vec![1, 6],
            data: vec![1.0; 6],
        };
        let mut seen = vec![];
        Blocks::new(&w, &m, (1, 2)).for_each_alive(|b, k| seen.push((b.c0, f64::from_bits(k))));
        assert_eq!(seen, [(0, 1.0), (2, 3.0), (4, 0.5)]);
        m.data[3] = 0.0;
        let mut seen = vec![];
        Blocks::new(&w, &m, (1, 2)).for_each_alive(|b, _| seen.push(b.c0));
        assert_eq!(seen, [0, 4]);
    }
}
