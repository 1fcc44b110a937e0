//! The portable f32 product: `dst = beta · (lhs · rhs)`, or
//! `dst = beta · (lhs · rhs) + alpha · dst` when `read_dst`, where every
//! element's sum is one fused multiply-add chain in ascending order of the
//! summed dimension (see `tiles`).
//!
//! Nothing here depends on the CPU: the tiles, the blocking and the split
//! across threads only decide which elements are computed together and
//! where, never the order of an element's sum. That is what makes a
//! recipe's numbers the same on every x86-64 CPU.

use crate::scratch::{self, PANELS, SUMS};
use crate::select::{isa, Isa};
use crate::tiles::{Tile, TileFn, Tiles, SCALAR};

/// A strided matrix operand: element (r, c) at `ptr + r * rs + c * cs`.
#[derive(Clone, Copy)]
pub(crate) struct View<T> {
    pub ptr: T,
    pub rs: isize,
    pub cs: isize,
}

impl<T: Copy> View<T> {
    fn transposed(self) -> View<T> {
        View {
            ptr: self.ptr,
            rs: self.cs,
            cs: self.rs,
        }
    }
}

/// One product, as gemm's API describes it.
#[derive(Clone, Copy)]
pub(crate) struct Product {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub dst: View<*mut f32>,
    pub read_dst: bool,
    pub lhs: View<*const f32>,
    pub rhs: View<*const f32>,
    pub alpha: f32,
    pub beta: f32,
}

impl Product {
    /// The same product transposed: dstᵀ = rhsᵀ · lhsᵀ. Each element's
    /// chain multiplies the same pairs in the same order (a fused
    /// multiply-add does not care which factor comes first), so the bits
    /// do not change.
    fn transposed(self) -> Product {
        Product {
            m: self.n,
            n: self.m,
            dst: self.dst.transposed(),
            lhs: self.rhs.transposed(),
            rhs: self.lhs.transposed(),
            ..self
        }
    }
}

/// Raw pointers shared by the threads of one product; each thread writes
/// only its own rows of `dst`.
struct Shared(Product);
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    /// The product (a method, so closures capture all of `Shared`).
    fn get(&self) -> Product {
        self.0
    }
}

/// Products smaller than this many multiply-adds run on one thread.
const THREADED_WORK: usize = 1 << 21;
/// Bytes of the left operand a block of rows keeps in the L2 cache while
/// it meets every panel of the right operand.
const ROW_BLOCK_BYTES: usize = 128 * 1024;
/// How much of the summed dimension a tile covers before the next panel:
/// a panel's slice (256 × 32 floats at most, 32 KiB) fits the L1 cache.
const DEPTH_BLOCK: usize = 256;

/// Computes the product on up to `threads` threads.
///
/// # Safety
/// Every element the views address must be valid (read for `lhs`, `rhs`,
/// read and write for `dst`), and `dst` must not overlap the operands.
pub(crate) unsafe fn gemm(p: Product, threads: usize) {
    if p.m == 0 || p.n == 0 {
        return;
    }
    // The packed operand is the narrower one; rows stream through.
    let p = if p.n > p.m { p.transposed() } else { p };
    let tiles = tiles_for(isa(), p.n);
    let two = p.n > tiles.lanes;
    let (width, rows) = if two {
        (2 * tiles.lanes, tiles.rows2)
    } else {
        (tiles.lanes, tiles.rows1)
    };
    let panels = p.n.div_ceil(width);
    let layout = Layout {
        width,
        tile_rows: rows,
        table: if two { tiles.two } else { tiles.one },
    };
    scratch::with(&PANELS, panels * p.k * width, |packed| {
        pack(&p, width, packed);
        let packed = &*packed;
        let block = (ROW_BLOCK_BYTES / (4 * p.k.clamp(1, DEPTH_BLOCK)) / rows).max(1) * rows;
        let blocks = p.m.div_ceil(block);
        let shared = Shared(p);
        let run = |b: usize| {
            let p = shared.get();
            let start = b * block;
            let rows_here = start..(start + block).min(p.m);
            scratch::with(&SUMS, rows_here.len() * panels * width, |sums| {
                rows_times_panels(&p, rows_here, packed, &layout, sums)
            });
        };
        let work = p.m.saturating_mul(p.n).saturating_mul(p.k);
        #[cfg(feature = "rayon")]
        if threads > 1 && blocks > 1 && work >= THREADED_WORK {
            use rayon::prelude::*;
            (0..blocks).into_par_iter().for_each(run);
            return;
        }
        let _ = (threads, work);
        (0..blocks).for_each(run);
    })
}

/// How a product is cut into tiles: panel width, rows per tile, and the
/// tile kernels by row count.
#[derive(Clone, Copy)]
struct Layout {
    width: usize,
    tile_rows: usize,
    table: &'static [TileFn],
}

/// The tiles for `isa`, for a product `n` columns wide. Products at most
/// 8 wide (an LSTM's recurrence over a batch of 8) take the 8-lane tiles
/// on AVX-512 too, which leave no lane empty (every instruction set gives
/// the same bits, so this choice is about speed only).
fn tiles_for(isa: Isa, n: usize) -> &'static Tiles {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 if n <= 8 => &crate::tiles::AVX2,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => &crate::tiles::AVX512,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => &crate::tiles::AVX2,
        _ => &SCALAR,
    }
}

/// The right operand in panels `width` columns wide, each `k` rows of
/// `width` contiguous values, the last panel padded with zeros, into `out`.
unsafe fn pack(p: &Product, width: usize, out: &mut [f32]) {
    if p.k == 0 {
        return;
    }
    for (j, panel) in out.chunks_exact_mut(p.k * width).enumerate() {
        let cols = (p.n - j * width).min(width);
        for (d, row) in panel.chunks_exact_mut(width).enumerate() {
            for (c, x) in row.iter_mut().enumerate() {
                *x = if c < cols {
                    let at = d as isize * p.rhs.rs + (j * width + c) as isize * p.rhs.cs;
                    *p.rhs.ptr.offset(at)
                } else {
                    0.0
                };
            }
        }
    }
}

/// Rows `rows` of the product against every panel, the summed dimension
/// in blocks of `DEPTH_BLOCK` so that a panel's slice stays in the L1
/// cache while the rows' tiles pass it; each element's chain is carried
/// from block to block in `sums`.
unsafe fn rows_times_panels(
    p: &Product,
    rows: std::ops::Range<usize>,
    packed: &[f32],
    layout: &Layout,
    sums: &mut [f32],
) {
    let Layout {
        width,
        tile_rows,
        table,
    } = *layout;
    let panels = p.n.div_ceil(width);
    // The block's sums, row-major, `panels * width` per row.
    let stride = panels * width;
    let mut k0 = 0;
    loop {
        let depth = (p.k - k0).min(DEPTH_BLOCK);
        for j in 0..panels {
            // With k = 0 the panels are empty and the tiles read nothing.
            let panel = packed[j * p.k * width + k0 * width..].as_ptr();
            let mut i = rows.start;
            while i < rows.end {
                let r = (rows.end - i).min(tile_rows);
                let a = p
                    .lhs
                    .ptr
                    .offset(i as isize * p.lhs.rs + k0 as isize * p.lhs.cs);
                let out = sums[(i - rows.start) * stride + j * width..].as_mut_ptr();
                table[r - 1](Tile {
                    k: depth,
                    a,
                    a_rs: p.lhs.rs,
                    a_cs: p.lhs.cs,
                    b: panel,
                    out,
                    out_rs: stride,
                    cont: k0 > 0,
                });
                i += r;
            }
        }
        k0 += depth;
        if k0 >= p.k {
            break;
        }
    }
    store(p, rows, sums, stride);
}

/// Writes a block of rows' sums: `beta · sum`, plus `alpha · dst` when the
/// product reads `dst` (two roundings, in this order, on every CPU).
unsafe fn store(p: &Product, rows: std::ops::Range<usize>, sums: &[f32], stride: usize) {
    for (r, row) in rows.enumerate() {
        for c in 0..p.n {
            let d = p
                .dst
                .ptr
                .offset(row as isize * p.dst.rs + c as isize * p.dst.cs);
            let v = sums[r * stride + c] * p.beta;
            *d = if p.read_dst { v + p.alpha * *d } else { v };
        }
    }
}
