//! The portable kernels' inner tiles: `R` rows of the left operand times
//! one packed panel of the right operand, `V` vectors wide, over the whole
//! summed dimension.
//!
//! Every tile computes each element the same way, whatever the
//! instruction set: `acc = 0`, then `acc = fma(a[r][p], b[p][c], acc)` for
//! p = 0, 1, ..., k-1. A fused multiply-add rounds once, the same on every
//! CPU and in every lane, so the instruction sets differ only in how many
//! elements they compute at a time, never in the bits.

/// One tile's work.
#[derive(Clone, Copy)]
pub(crate) struct Tile {
    /// Length of the summed dimension (this block of it).
    pub k: usize,
    /// The tile's first left-operand element and its row and column strides.
    pub a: *const f32,
    pub a_rs: isize,
    pub a_cs: isize,
    /// The panel: `k` rows of the panel's width, `b_rs` apart (packed
    /// panels are contiguous; a row-major operand is read in place).
    pub b: *const f32,
    pub b_rs: usize,
    /// Where the `R × width` sums live, rows `out_rs` apart.
    pub out: *mut f32,
    pub out_rs: usize,
    /// Continue the chains from the sums in `out` (a later block of the
    /// summed dimension: storing and reloading a float is exact, so
    /// blocking does not change the chain) rather than start at zero.
    pub cont: bool,
}

/// A tile kernel for a fixed number of rows.
pub(crate) type TileFn = unsafe fn(Tile);

/// The tile shapes of one instruction set: `lanes` per vector, the most
/// rows of a one-vector and of a two-vector tile, and the tiles by row
/// count (index `rows - 1`).
pub(crate) struct Tiles {
    pub lanes: usize,
    pub rows1: usize,
    pub rows2: usize,
    pub one: &'static [TileFn],
    pub two: &'static [TileFn],
}

macro_rules! table {
    ($f:ident, $v:literal; $($r:literal)*) => {
        &[$($f::<$r, $v> as TileFn),*]
    };
}

/// Scalar tiles: 8 "lanes" of `f32::mul_add`.
pub(crate) static SCALAR: Tiles = Tiles {
    lanes: 8,
    rows1: 12,
    rows2: 6,
    one: table!(scalar, 1; 1 2 3 4 5 6 7 8 9 10 11 12),
    two: table!(scalar, 2; 1 2 3 4 5 6),
};

/// # Safety
/// `t.a` must be readable at `r * a_rs + p * a_cs` for r < R, p < k; `b` at
/// `p * b_rs + c` for p < k, c < V * 8; `out` readable and writable at
/// `r * out_rs + c` for r < R, c < V * 8.
unsafe fn scalar<const R: usize, const V: usize>(t: Tile) {
    let w = V * 8;
    let mut acc = [[0f32; 16]; R];
    if t.cont {
        for (r, row) in acc.iter_mut().enumerate() {
            std::ptr::copy_nonoverlapping(t.out.add(r * t.out_rs), row.as_mut_ptr(), w);
        }
    }
    for p in 0..t.k {
        let bp = t.b.add(p * t.b_rs);
        for (r, row) in acc.iter_mut().enumerate() {
            let x = *t.a.offset(r as isize * t.a_rs + p as isize * t.a_cs);
            for (c, s) in row[..w].iter_mut().enumerate() {
                *s = x.mul_add(*bp.add(c), *s);
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        std::ptr::copy_nonoverlapping(row.as_ptr(), t.out.add(r * t.out_rs), w);
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{AVX2, AVX512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Tile, TileFn, Tiles};
    use std::arch::x86_64::*;

    /// AVX2 tiles: 6 rows × 16 columns keep 12 of the 16 vector registers
    /// as sums; narrow products take 12 rows × 8.
    pub(crate) static AVX2: Tiles = Tiles {
        lanes: 8,
        rows1: 12,
        rows2: 6,
        one: table!(avx2, 1; 1 2 3 4 5 6 7 8 9 10 11 12),
        two: table!(avx2, 2; 1 2 3 4 5 6),
    };

    /// AVX-512 tiles: 12 rows × 32 columns keep 24 of the 32 vector
    /// registers as sums; narrow products take 12 rows × 16.
    pub(crate) static AVX512: Tiles = Tiles {
        lanes: 16,
        rows1: 12,
        rows2: 12,
        one: table!(avx512, 1; 1 2 3 4 5 6 7 8 9 10 11 12),
        two: table!(avx512, 2; 1 2 3 4 5 6 7 8 9 10 11 12),
    };

    /// A tile kernel over one vector type: its target features, lanes and
    /// the zero, load, store, broadcast and fused multiply-add intrinsics.
    macro_rules! vector_tile {
        ($(#[$doc:meta])* $name:ident, $feature:literal, $lanes:literal,
         $zero:ident, $load:ident, $store:ident, $set1:ident, $fma:ident) => {
            $(#[$doc])*
            #[target_feature(enable = $feature)]
            unsafe fn $name<const R: usize, const V: usize>(t: Tile) {
                let Tile {
                    k,
                    a,
                    a_rs,
                    a_cs,
                    b,
                    out,
                    out_rs,
                    cont,
                    b_rs,
                } = t;
                let mut acc = [[$zero(); V]; R];
                if cont {
                    for (r, row) in acc.iter_mut().enumerate() {
                        for (v, s) in row.iter_mut().enumerate() {
                            *s = $load(out.add(r * out_rs + v * $lanes));
                        }
                    }
                }
                let mut bp = b;
                let mut off = 0isize;
                for _ in 0..k {
                    let mut bv = [$zero(); V];
                    for (v, x) in bv.iter_mut().enumerate() {
                        *x = $load(bp.add(v * $lanes));
                    }
                    for (r, row) in acc.iter_mut().enumerate() {
                        let x = $set1(*a.offset(r as isize * a_rs + off));
                        for (s, y) in row.iter_mut().zip(&bv) {
                            *s = $fma(x, *y, *s);
                        }
                    }
                    bp = bp.add(b_rs);
                    off += a_cs;
                }
                for (r, row) in acc.iter().enumerate() {
                    for (v, s) in row.iter().enumerate() {
                        $store(out.add(r * out_rs + v * $lanes), *s);
                    }
                }
            }
        };
    }

    vector_tile!(
        /// # Safety
        /// As `scalar`, with 8-lane vectors; the CPU must have AVX2 and FMA.
        avx2, "avx2,fma", 8,
        _mm256_setzero_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps, _mm256_fmadd_ps
    );

    vector_tile!(
        /// # Safety
        /// As `scalar`, with 16-lane vectors; the CPU must have AVX-512F.
        avx512, "avx512f", 16,
        _mm512_setzero_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_fmadd_ps
    );
}
