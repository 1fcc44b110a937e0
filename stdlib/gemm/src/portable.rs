//! The portable f32 product: `dst = beta · (lhs · rhs)`, or
//! `dst = beta · (lhs · rhs) + alpha · dst` when `read_dst`, where every
//! element's sum is one fused multiply-add chain in ascending order of the
//! summed dimension (see `tiles`).
//!
//! Nothing here depends on the CPU: the tiles, the blocking and the split
//! across threads only decide which elements are computed together and
//! where, never the order of an element's sum. That is what makes a
//! recipe's numbers the same on every x86-64 CPU.

use crate::scratch::{self, PANELS, ROWS, SUMS};
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
    // The packed operand is the narrower one; rows stream through. But a
    // destination is best written in rows (in place, in order): where the
    // two sides are within a factor of two, the orientation that makes it
    // row-major wins.
    let flip = if p.dst.cs == 1 && p.dst.rs != 1 {
        p.n > 2 * p.m
    } else if p.dst.rs == 1 && p.dst.cs != 1 {
        2 * p.n > p.m
    } else {
        p.n > p.m
    };
    let p = if flip { p.transposed() } else { p };
    // A product only a few columns wide (an LSTM step's recurrence, a
    // matrix times a vector) would fill few vector lanes; transposed, its
    // long dimension fills them, read in place when it is row-major.
    let p = if p.n < NARROW && reads_in_place(&p.transposed()) {
        p.transposed()
    } else {
        p
    };
    let tiles = tiles_for(isa(), p.n);
    let two = p.n > tiles.lanes;
    let (width, rows) = if two {
        (2 * tiles.lanes, tiles.rows2)
    } else {
        (tiles.lanes, tiles.rows1)
    };
    let panels = p.n.div_ceil(width);
    let streamed = reads_in_place(&p);
    let in_place = streamed || is_compact(&p, width);
    let layout = Layout {
        width,
        tile_rows: rows,
        table: if two { tiles.two } else { tiles.one },
        in_place,
        depth: if streamed && p.k * p.n > STREAMED {
            DEPTH_IN_PLACE
        } else {
            DEPTH_BLOCK
        },
    };
    scratch::with(&PANELS, layout.packed_panels(p.n) * p.k * width, |packed| {
        pack(&p, &layout, packed);
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

/// The depth block when panels are read in place: a few rows of the
/// right operand, each read whole across the panels before the next
/// rows, so a large operand (an LSTM's recurrent weights, multiplied by
/// one vector per step) streams through memory in order instead of
/// being walked down in columns.
const DEPTH_IN_PLACE: usize = 16;
/// Right operands of more floats than this (1 MiB, a core's L2 cache) are
/// streamed with `DEPTH_IN_PLACE`; smaller ones stay cached either way.
const STREAMED: usize = 1 << 18;

/// Products narrower than this many columns are transposed when that
/// lets the tiles read the long operand in place.
const NARROW: usize = 16;

/// Whether the tiles read the right operand's full panels in place rather
/// than packed: it is row-major (columns adjacent) and few rows pass each
/// panel, so packing would cost more than it saves.
fn reads_in_place(p: &Product) -> bool {
    p.rhs.cs == 1 && p.rhs.rs > 0 && p.m <= NARROW
}

/// Whether the right operand's rows are already as close together as a
/// packed panel's: row-major, at most two panels wide (a convolution's
/// weights per shift, its output gradient by position). Its full panels
/// are then read in place with the same access pattern packing would
/// give, and the copy is saved (the values, and so the bits, are the same).
fn is_compact(p: &Product, width: usize) -> bool {
    p.rhs.cs == 1 && p.rhs.rs > 0 && p.rhs.rs as usize <= 2 * width
}

/// How a product is cut into tiles: panel width, rows per tile, the tile
/// kernels by row count, and whether full panels are read in place (only
/// a last, partial panel is then packed).
#[derive(Clone, Copy)]
struct Layout {
    width: usize,
    tile_rows: usize,
    table: &'static [TileFn],
    in_place: bool,
    /// Rows of the summed dimension a tile covers before the next panel.
    depth: usize,
}

impl Layout {
    /// Whether panel `j` of a product `n` wide is read in place.
    fn is_in_place(&self, j: usize, n: usize) -> bool {
        self.in_place && (j + 1) * self.width <= n
    }

    /// How many panels are packed: all, or the partial last one.
    fn packed_panels(&self, n: usize) -> usize {
        let panels = n.div_ceil(self.width);
        (0..panels).filter(|&j| !self.is_in_place(j, n)).count()
    }

    /// Panel `j`'s first value at depth `k0` and its row stride.
    unsafe fn panel(
        &self,
        p: &Product,
        packed: &[f32],
        j: usize,
        k0: usize,
    ) -> (*const f32, usize) {
        if self.is_in_place(j, p.n) {
            let rs = p.rhs.rs as usize;
            (p.rhs.ptr.add(j * self.width + k0 * rs), rs)
        } else {
            // Packed panels are the ones not read in place, in order.
            let slot = if self.in_place { 0 } else { j };
            (
                packed[(slot * p.k + k0) * self.width..].as_ptr(),
                self.width,
            )
        }
    }
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

/// The right operand's panels that are not read in place, `width` columns
/// wide, each `k` rows of `width` contiguous values, the last panel padded
/// with zeros, into `out` one after another.
unsafe fn pack(p: &Product, layout: &Layout, out: &mut [f32]) {
    let width = layout.width;
    if p.k == 0 {
        return;
    }
    let to_pack = (0..p.n.div_ceil(width)).filter(|&j| !layout.is_in_place(j, p.n));
    for (j, panel) in to_pack.zip(out.chunks_exact_mut(p.k * width)) {
        let cols = (p.n - j * width).min(width);
        let src = View {
            ptr: p.rhs.ptr.offset((j * width) as isize * p.rhs.cs),
            ..p.rhs
        };
        copy_panel(src, p.k, cols, width, panel);
    }
}

/// Copies `rows × cols` values of `src` into `out` as `rows` rows of
/// `width` contiguous values, zero past `cols`: the packed layout both
/// operands' panels take. Packing copies values and never rounds, so its
/// loop order is free: a source with contiguous columns is copied a row
/// slice at a time, one with contiguous rows a column at a time (reading
/// memory in order either way).
unsafe fn copy_panel(
    src: View<*const f32>,
    rows: usize,
    cols: usize,
    width: usize,
    out: &mut [f32],
) {
    let (rs, cs) = (src.rs, src.cs);
    let out = &mut out[..rows * width];
    if cs == 1 {
        for (d, row) in out.chunks_exact_mut(width).enumerate() {
            let from = std::slice::from_raw_parts(src.ptr.offset(d as isize * rs), cols);
            row[..cols].copy_from_slice(from);
            row[cols..].fill(0.0);
        }
    } else if rs == 1 {
        if cols < width {
            out.fill(0.0);
        }
        for c in 0..cols {
            let from = std::slice::from_raw_parts(src.ptr.offset(c as isize * cs), rows);
            for (d, v) in from.iter().enumerate() {
                *out.get_unchecked_mut(d * width + c) = *v;
            }
        }
    } else {
        for (d, row) in out.chunks_exact_mut(width).enumerate() {
            for (c, x) in row.iter_mut().enumerate() {
                *x = if c < cols {
                    *src.ptr.offset(d as isize * rs + c as isize * cs)
                } else {
                    0.0
                };
            }
        }
    }
}

/// Rows `rows` of the product against every panel, the summed dimension
/// in blocks of the layout's depth (`DEPTH_BLOCK`, so that a panel's slice
/// stays in the L1 cache while the rows' tiles pass it, or
/// `DEPTH_IN_PLACE`); each element's chain is carried from block to block
/// in `sums`, or in `dst` itself for the full panels of a product that
/// only writes a row-major `dst` (beta = 1, no alpha · dst): storing and
/// reloading a float is exact, and those panels then need no copy after.
///
/// Rows that meet more than one panel are packed per depth block, each
/// tile's rows side by side for every step of the sum: the tiles then
/// read them in order from one short stretch of memory, where a strided
/// left operand (a transposed view) has each tile touch a cache line per
/// step, again for every panel.
unsafe fn rows_times_panels(
    p: &Product,
    rows: std::ops::Range<usize>,
    packed: &[f32],
    layout: &Layout,
    sums: &mut [f32],
) {
    let panels = p.n.div_ceil(layout.width);
    let direct = p.dst.cs == 1 && p.dst.rs >= p.n as isize && !p.read_dst && p.beta == 1.0;
    let sweep = Sweep {
        rows: rows.clone(),
        // The block's sums, row-major, `panels * width` per row.
        stride: panels * layout.width,
        direct_panels: if direct { p.n / layout.width } else { 0 },
    };
    let pack_rows = panels > 1;
    let rows_len = if pack_rows {
        rows.len().div_ceil(layout.tile_rows) * layout.tile_rows * layout.depth.min(p.k)
    } else {
        0
    };
    scratch::with(&ROWS, rows_len, |packed_rows| {
        let mut k0 = 0;
        loop {
            let depth = (p.k - k0).min(layout.depth);
            let lhs = pack_rows.then(|| {
                pack_rows_block(p, rows.clone(), k0, depth, layout.tile_rows, packed_rows);
                &*packed_rows
            });
            for j in 0..panels {
                sweep.panel(p, layout, packed, lhs, (j, k0, depth), sums);
            }
            k0 += depth;
            if k0 >= p.k {
                break;
            }
        }
    });
    store(
        p,
        rows,
        sums,
        sweep.stride,
        sweep.direct_panels * layout.width,
    );
}

/// One block of rows' pass over the panels: the rows, the row stride of
/// their sums, and how many leading panels sum in `dst` itself.
struct Sweep {
    rows: std::ops::Range<usize>,
    stride: usize,
    direct_panels: usize,
}

impl Sweep {
    /// The tiles of panel `j` over summed steps `k0..k0 + depth`, reading
    /// the rows from `lhs` when they were packed for this depth block.
    unsafe fn panel(
        &self,
        p: &Product,
        layout: &Layout,
        packed: &[f32],
        lhs: Option<&[f32]>,
        (j, k0, depth): (usize, usize, usize),
        sums: &mut [f32],
    ) {
        // With k = 0 the panels are empty and the tiles read nothing.
        let (panel, b_rs) = layout.panel(p, packed, j, k0);
        let rows = &self.rows;
        let mut i = rows.start;
        while i < rows.end {
            let r = (rows.end - i).min(layout.tile_rows);
            let (a, a_rs, a_cs) = match lhs {
                Some(lhs) => (lhs[(i - rows.start) * depth..].as_ptr(), 1, r as isize),
                None => {
                    let at = i as isize * p.lhs.rs + k0 as isize * p.lhs.cs;
                    (p.lhs.ptr.offset(at), p.lhs.rs, p.lhs.cs)
                }
            };
            let (out, out_rs) = if j < self.direct_panels {
                let at = i as isize * p.dst.rs + (j * layout.width) as isize;
                (p.dst.ptr.offset(at), p.dst.rs as usize)
            } else {
                let at = (i - rows.start) * self.stride + j * layout.width;
                (sums[at..].as_mut_ptr(), self.stride)
            };
            (layout.table[r - 1])(Tile {
                k: depth,
                a,
                a_rs,
                a_cs,
                b: panel,
                b_rs,
                out,
                out_rs,
                cont: k0 > 0,
            });
            i += r;
        }
    }
}

/// Copies the left operand's `rows`, summed-dimension steps `k0` to
/// `k0 + depth`, into `out` tile by tile (`tile_rows` rows, fewer in the
/// last): tile `t`'s `r` rows start at `t · tile_rows · depth`, step `s`
/// of its row `i` at `s · r + i` (a panel of the transposed rows, `r`
/// wide).
unsafe fn pack_rows_block(
    p: &Product,
    rows: std::ops::Range<usize>,
    k0: usize,
    depth: usize,
    tile_rows: usize,
    out: &mut [f32],
) {
    let mut i = rows.start;
    while i < rows.end {
        let r = (rows.end - i).min(tile_rows);
        let at = i as isize * p.lhs.rs + k0 as isize * p.lhs.cs;
        let src = View {
            ptr: p.lhs.ptr.offset(at),
            ..p.lhs
        };
        copy_panel(
            src.transposed(),
            depth,
            r,
            r,
            &mut out[(i - rows.start) * depth..],
        );
        i += r;
    }
}

/// Writes a block of rows' sums from column `c0` on (the columns before
/// it were summed in place): `beta · sum`, plus `alpha · dst` when the
/// product reads `dst` (two roundings, in this order, on every CPU). A
/// row-major `dst` is written a row slice at a time, which the compiler
/// vectorizes (it never fuses the multiply and the add, so the bits are
/// those of the element-wise loop); `beta = 1` without `dst` is a copy,
/// as `sum · 1` is `sum` exactly.
unsafe fn store(p: &Product, rows: std::ops::Range<usize>, sums: &[f32], stride: usize, c0: usize) {
    let (alpha, beta) = (p.alpha, p.beta);
    let cols = p.n - c0;
    if p.dst.cs != 1 {
        // Blocks of 16 columns, row after row: each column of a block is
        // written in order, so writes to a column-major `dst` fill whole
        // cache lines instead of touching one line per element.
        for cb in (c0..p.n).step_by(16) {
            for (r, row) in rows.clone().enumerate() {
                for c in cb..(cb + 16).min(p.n) {
                    let d = p
                        .dst
                        .ptr
                        .offset(row as isize * p.dst.rs + c as isize * p.dst.cs);
                    let v = sums[r * stride + c] * beta;
                    *d = if p.read_dst { v + alpha * *d } else { v };
                }
            }
        }
        return;
    }
    for (r, row) in rows.enumerate() {
        let first = p
            .dst
            .ptr
            .offset(row as isize * p.dst.rs + c0 as isize * p.dst.cs);
        let src = &sums[r * stride + c0..r * stride + p.n];
        let dst = std::slice::from_raw_parts_mut(first, cols);
        if p.read_dst {
            dst.iter_mut()
                .zip(src)
                .for_each(|(d, s)| *d = s * beta + alpha * *d);
        } else if beta == 1.0 {
            dst.copy_from_slice(src);
        } else {
            dst.iter_mut().zip(src).for_each(|(d, s)| *d = s * beta);
        }
    }
}
