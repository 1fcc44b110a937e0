//! The direct way: matrix products over a "row matrix" of the input in
//! tiles, with the backward pass written out.
//!
//! Why not im2col: its matrix has a row per (input channel, ky, kx) and a
//! column per output position, so each input element is copied kh·kw/(sh·sw)
//! times, in the forward pass and again in the backward pass. The row
//! matrix has a row per (input channel, ky, phase r < sw) and a column per
//! (output row, phase column); kernel column kx = q·sw + r reads it shifted
//! by q columns, so the product with every kx of one q is one gemm over a
//! shifted view. ceil(kw/sw) products then sum what one im2col product did,
//! over a matrix kw/sw times smaller. Each output row is computed over the
//! full phase width (ceil((w + 2·pw)/sw) columns, ow of them kept): a few
//! more multiply-adds for far fewer copies (docs/cpu.md).
//!
//! Results do not depend on the thread count: work is split by batch item,
//! each item's tiles and shifts run in a fixed order, and per-item weight
//! gradients are summed in batch order.

use super::geom::ConvGeom;
use crate::cpu::matrix::{matmul, Mat, MatRef};
use rayon::prelude::*;

/// Output rows per tile are chosen so a tile's row matrix holds about this
/// many floats (2 MiB, about a core's L2 cache: gemm reads the tile right
/// after its fill), at least one output row.
const TILE_FLOATS: usize = 1 << 19;

/// One tile of output rows oy0..oy1 and the sizes of its row matrix.
#[derive(Clone, Copy)]
struct Tile {
    oy0: usize,
    oy1: usize,
    /// Columns computed: (oy1 - oy0) · phase width.
    n: usize,
    /// Row length of the row matrix: n plus room for the largest shift.
    ld: usize,
}

/// The kernel rows ky in lo..hi that meet the image for at least one of
/// a tile's output rows. The row matrix holds only the band's rows: the
/// others are all padding for the tile, so their terms are exact zeros,
/// and a sum that leaves them out (each element's fused multiply-add
/// chain, in the same order, minus zero terms) has the same bits (but for
/// the sign of a zero: a sum that underflowed to −0 stays −0 where adding
/// a left-out +0 term would have made it +0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Band {
    lo: usize,
    hi: usize,
}

impl Band {
    fn height(self) -> usize {
        self.hi - self.lo
    }
}

impl ConvGeom {
    /// Shifts q: kernel column kx = q·sw + r.
    fn shifts(&self) -> usize {
        self.kw.div_ceil(self.sw)
    }
    /// Columns of one output row in the row matrix: the padded input width
    /// in steps of sw. Enough for every kept output ox and shift q, since
    /// (ox + q)·sw + r ≤ (ow − 1)·sw + kw − 1 < w + 2·pw.
    fn phase_width(&self) -> usize {
        (self.w + 2 * self.pw).div_ceil(self.sw)
    }
    /// Rows of the row matrix: one per (input channel, ky, phase r).
    fn rows(&self) -> usize {
        self.band_rows(self.full_band())
    }
    /// Every kernel row.
    fn full_band(&self) -> Band {
        Band { lo: 0, hi: self.kh }
    }
    /// Rows of a row matrix over `band`'s kernel rows: (input channel,
    /// ky − lo, phase r).
    fn band_rows(&self, band: Band) -> usize {
        self.ci * band.height() * self.sw
    }
    /// The tile's band, or every kernel row when `skip` is off (the
    /// tests' reference). Input row oy·sh + ky − ph is inside the image
    /// for ky ≥ ph − oy·sh, lowest for the tile's last row, and for
    /// ky < h + ph − oy·sh, highest for its first.
    fn band(&self, t: Tile, skip: bool) -> Band {
        if !skip {
            return self.full_band();
        }
        let lo = self.ph.saturating_sub((t.oy1 - 1) * self.sh).min(self.kh);
        let hi = (self.h + self.ph)
            .saturating_sub(t.oy0 * self.sh)
            .min(self.kh);
        Band { lo, hi: hi.max(lo) }
    }
    /// (row-matrix rows, output channels, output height, output width,
    /// phase width): what the passes index by.
    fn sizes(&self) -> (usize, usize, usize, usize, usize) {
        (
            self.rows(),
            self.co,
            self.oh(),
            self.ow(),
            self.phase_width(),
        )
    }
    /// Output rows per tile: about `TILE_FLOATS` floats of row matrix.
    fn tile_rows(&self) -> usize {
        (TILE_FLOATS / (self.rows() * self.phase_width()).max(1)).max(1)
    }
    /// The output rows in tiles of `size` rows (at least 1).
    fn tiles(&self, size: usize) -> Vec<Tile> {
        let (oh, e) = (self.oh(), self.phase_width());
        let size = size.clamp(1, oh.max(1));
        (0..oh)
            .step_by(size)
            .map(|oy0| {
                let oy1 = (oy0 + size).min(oh);
                let n = (oy1 - oy0) * e;
                Tile {
                    oy0,
                    oy1,
                    n,
                    ld: n + self.shifts() - 1,
                }
            })
            .collect()
    }

    /// Calls `f(row, column, src, len)` for every stretch of a tile's row
    /// matrix that holds image elements: the `len` elements `src, src + sw,
    /// ...` (flat index into [ci, h, w]) go to `row[column..]` of row matrix
    /// row `row`. Everything else in the row matrix is padding.
    fn stretches(&self, t: Tile, band: Band, mut f: impl FnMut(usize, usize, usize, usize)) {
        let e = self.phase_width();
        for c in 0..self.ci {
            for ky in band.lo..band.hi {
                for r in 0..self.sw {
                    let row = (c * band.height() + ky - band.lo) * self.sw + r;
                    // Phase columns j whose input column j·sw + r − pw is
                    // inside the image.
                    let lo = self.pw.saturating_sub(r).div_ceil(self.sw);
                    let hi = (self.w + self.pw)
                        .checked_sub(r + 1)
                        .map_or(0, |last| last / self.sw + 1)
                        .min(e);
                    if hi <= lo {
                        continue;
                    }
                    for oy in t.oy0..t.oy1 {
                        let iy = (oy * self.sh + ky).checked_sub(self.ph);
                        if let Some(iy) = iy.filter(|&iy| iy < self.h) {
                            let src = (c * self.h + iy) * self.w + lo * self.sw + r - self.pw;
                            f(row, (oy - t.oy0) * e + lo, src, hi - lo);
                        }
                    }
                }
            }
        }
    }

    /// Fills `rm` [band rows × ld] with image `x` [ci, h, w] for the tile
    /// (zeros in the padding and in the shift room at the end of each row).
    fn fill_rows(&self, x: &[f32], t: Tile, band: Band, rm: &mut [f32]) {
        rm[..self.band_rows(band) * t.ld].fill(0.0);
        let sw = self.sw;
        self.stretches(t, band, |row, col, src, len| {
            let out = &mut rm[row * t.ld + col..][..len];
            if sw == 1 {
                out.copy_from_slice(&x[src..src + len]);
            } else {
                for (o, i) in out.iter_mut().zip((src..).step_by(sw)) {
                    *o = x[i];
                }
            }
        });
    }

    /// Adds the row matrix gradient `drm` [band rows × ld] back onto the
    /// image gradient `dx` [ci, h, w] (the adjoint of `fill_rows`).
    fn add_rows(&self, drm: &[f32], t: Tile, band: Band, dx: &mut [f32]) {
        let sw = self.sw;
        self.stretches(t, band, |row, col, src, len| {
            let v = &drm[row * t.ld + col..][..len];
            if sw == 1 {
                let d = &mut dx[src..src + len];
                d.iter_mut().zip(v).for_each(|(d, v)| *d += v);
            } else {
                for (v, i) in v.iter().zip((src..).step_by(sw)) {
                    dx[i] += v;
                }
            }
        });
    }

    /// Where row-matrix row i = (c, ky − lo, r) of `band` meets kernel
    /// column kx = q·sw + r in one output channel's weights [ci, kh, kw]:
    /// the offset of w[·, c, ky, kx], or None where kx is past kw (the
    /// shift's padding).
    fn kernel_at(&self, band: Band, q: usize, i: usize) -> Option<usize> {
        let kx = q * self.sw + i % self.sw;
        let (c, ky) = (
            i / self.sw / band.height(),
            band.lo + i / self.sw % band.height(),
        );
        (kx < self.kw).then(|| (c * self.kh + ky) * self.kw + kx)
    }

    /// The weight as one [co × band rows] matrix per shift q, stored
    /// column-major ([rows][co]): entry (o, (c, ky − lo, r)) is
    /// w[o, c, ky, q·sw + r], zero where that kernel column is past kw.
    fn shift_weights(&self, w: &[f32], band: Band) -> Vec<Vec<f32>> {
        let (rows, co, per_out) = (self.band_rows(band), self.co, self.ci * self.kh * self.kw);
        (0..self.shifts())
            .map(|q| {
                let mut m = vec![0.0f32; rows * co];
                for (i, col) in m.chunks_mut(co).enumerate() {
                    if let Some(at) = self.kernel_at(band, q, i) {
                        for (o, v) in col.iter_mut().enumerate() {
                            *v = w[o * per_out + at];
                        }
                    }
                }
                m
            })
            .collect()
    }

    /// Multiply-adds of a training step on the direct path, as the
    /// convolution's definition counts them (the forward pass, the weight
    /// gradient and, when `need_dx`, the input gradient; the shifted
    /// views' few extra columns left out).
    pub(super) fn direct_multiply_adds(&self, need_dx: bool) -> f64 {
        let passes = if need_dx { 3.0 } else { 2.0 };
        let per_output = (self.ci * self.kh * self.kw) as f64;
        passes * (self.b * self.co * self.oh() * self.ow()) as f64 * per_output
    }

    /// The convolution of `x` [b, ci, h, w] by `w` [co, ci, kh, kw]:
    /// [b, co, oh, ow], directly.
    pub(super) fn forward_direct(&self, x: &[f32], w: &[f32]) -> Vec<f32> {
        self.forward_tiled(x, w, self.tile_rows(), true)
    }

    /// The forward pass with `tile` output rows per tile, each tile's row
    /// matrix over its band when `skip` (else over every kernel row).
    fn forward_tiled(&self, x: &[f32], w: &[f32], tile: usize, skip: bool) -> Vec<f32> {
        let (rows, co, oh, ow, e) = self.sizes();
        let img = self.ci * self.h * self.w;
        assert_eq!(x.len(), self.b * img, "conv input size");
        assert_eq!(
            w.len(),
            co * self.ci * self.kh * self.kw,
            "conv weight size"
        );
        let tiles = self.tiles(tile);
        let bands: Vec<Band> = tiles.iter().map(|&t| self.band(t, skip)).collect();
        let weights = per_band(&bands, |b| self.shift_weights(w, b));
        let mut out = vec![0.0f32; self.b * co * oh * ow];
        out.par_chunks_mut(co * oh * ow)
            .zip(x.par_chunks(img))
            .for_each(|(out, x)| {
                let mut rm = vec![0.0f32; rows * tiles[0].ld];
                let mut y = vec![0.0f32; co * tiles[0].n];
                for (&t, &band) in tiles.iter().zip(&bands) {
                    let (rows, wq) = (self.band_rows(band), lookup(&weights, band));
                    self.fill_rows(x, t, band, &mut rm);
                    // y [co × n] = Σ_q wq [co × rows] · rm[:, q..q + n],
                    // y stored position-major ([n][co]): gemm then runs
                    // the co rows as its vector dimension and reads the
                    // row matrix in place (stored as [co][n], gemm turns
                    // the product around, which is slower).
                    for (q, wq) in wq.iter().enumerate() {
                        matmul(
                            Mat::new(&mut y, co, t.n, 1, co),
                            q > 0,
                            MatRef::new(wq, co, rows, 1, co),
                            MatRef::new(&rm[q..], rows, t.n, t.ld, 1),
                        );
                    }
                    // Keep the first ow of each output row's e columns.
                    for oy in t.oy0..t.oy1 {
                        for ox in 0..ow {
                            let at = ((oy - t.oy0) * e + ox) * co;
                            for (o, v) in y[at..at + co].iter().enumerate() {
                                out[(o * oh + oy) * ow + ox] = *v;
                            }
                        }
                    }
                }
            });
        out
    }

    /// Gradients of the weight and (when `need_dx`) of the input, given the
    /// output gradient `gy` [b, co, oh, ow].
    pub(super) fn backward_direct(
        &self,
        x: &[f32],
        w: &[f32],
        gy: &[f32],
        need_dx: bool,
    ) -> (Vec<f32>, Option<Vec<f32>>) {
        self.backward_tiled(x, w, gy, need_dx, self.tile_rows(), true)
    }

    /// The shift weights of `band` side by side, wcat [band rows × nq·co]:
    /// entry (i, (q, o)) is wq[q][o, i].
    fn stacked_weights(&self, w: &[f32], band: Band) -> Vec<f32> {
        let (co, nq) = (self.co, self.shifts());
        let wq = self.shift_weights(w, band);
        let mut wcat = vec![0.0f32; self.band_rows(band) * nq * co];
        for (i, wrow) in wcat.chunks_mut(nq * co).enumerate() {
            for (q, wq) in wq.iter().enumerate() {
                wrow[q * co..][..co].copy_from_slice(&wq[i * co..][..co]);
            }
        }
        wcat
    }

    /// The backward pass with `tile` output rows per tile; the input
    /// gradient's products over each tile's band when `skip`. One function
    /// of two screens: its buffers are made once per batch item and reused
    /// by every tile, and the weight gradients of all items are summed in
    /// batch order at the end (so results never depend on the threads).
    /// The weight gradient's products keep every kernel row: their sums
    /// run across tiles, so the tiles fix their bits.
    fn backward_tiled(
        &self,
        x: &[f32],
        w: &[f32],
        gy: &[f32],
        need_dx: bool,
        tile: usize,
        skip: bool,
    ) -> (Vec<f32>, Option<Vec<f32>>) {
        let (rows, co, oh, ow, e) = self.sizes();
        let (img, nq, full) = (self.ci * self.h * self.w, self.shifts(), self.full_band());
        assert_eq!(gy.len(), self.b * co * oh * ow, "conv output gradient size");
        let tiles = self.tiles(tile);
        let bands: Vec<Band> = tiles.iter().map(|&t| self.band(t, skip)).collect();
        let wcats = if need_dx {
            per_band(&bands, |b| self.stacked_weights(w, b))
        } else {
            vec![]
        };
        let per_item: Vec<(Vec<f32>, Vec<f32>)> = (0..self.b)
            .into_par_iter()
            .map(|i| {
                let x = &x[i * img..(i + 1) * img];
                let gy = &gy[i * co * oh * ow..(i + 1) * co * oh * ow];
                // One dwqᵀ [rows × co] per shift, side by side.
                let mut dwq = vec![0.0f32; nq * rows * co];
                let mut dx = if need_dx { vec![0.0f32; img] } else { vec![] };
                let mut rm = vec![0.0f32; rows * tiles[0].ld];
                let mut drm = if need_dx { rm.clone() } else { vec![] };
                // The tile's output gradient over all e columns of each
                // output row, zero in the columns past ow.
                let mut g = vec![0.0f32; co * tiles[0].n];
                let mut gs = if need_dx {
                    vec![0.0f32; nq * co * tiles[0].ld]
                } else {
                    vec![]
                };
                for (ti, (&t, &band)) in tiles.iter().zip(&bands).enumerate() {
                    self.fill_rows(x, t, full, &mut rm);
                    // g position-major ([n][co]): the products below read
                    // it in place as rows of co values, where gemm would
                    // pack a channel-major g again for every shift.
                    g[..t.n * co].fill(0.0);
                    for o in 0..co {
                        for oy in t.oy0..t.oy1 {
                            let src = &gy[(o * oh + oy) * ow..][..ow];
                            let at = (oy - t.oy0) * e;
                            for (ox, v) in src.iter().enumerate() {
                                g[(at + ox) * co + o] = *v;
                            }
                        }
                    }
                    let gt = MatRef::new(&g, co, t.n, 1, co);
                    for (q, dwq) in dwq.chunks_mut(rows * co).enumerate() {
                        // dwq [co × rows] += g [co × n] · rm[:, q..q + n]ᵀ,
                        // into dwqᵀ's memory: gemm reads the row matrix in
                        // place (as dwq, it copied each tile first).
                        matmul(
                            Mat::new(dwq, co, rows, 1, co),
                            ti > 0,
                            gt,
                            MatRef::new(&rm[q..], t.n, rows, 1, t.ld),
                        );
                    }
                    if need_dx {
                        // drm [rows × ld] = Σ_q wqᵀ · g shifted right by q:
                        // one product wcat [rows × nq·co] · gs [nq·co × ld],
                        // gs's row (q, o) being g's row o shifted by q (a
                        // sum over shifts of rank-co updates of drm read and
                        // wrote it nq times), filled from gy directly.
                        for (r, row) in gs.chunks_mut(t.ld).take(nq * co).enumerate() {
                            let (q, o) = (r / co, r % co);
                            row.fill(0.0);
                            for oy in t.oy0..t.oy1 {
                                let at = q + (oy - t.oy0) * e;
                                row[at..at + ow].copy_from_slice(&gy[(o * oh + oy) * ow..][..ow]);
                            }
                        }
                        let (rows, wcat) = (self.band_rows(band), lookup(&wcats, band));
                        matmul(
                            Mat::new(&mut drm, rows, t.ld, t.ld, 1),
                            false,
                            MatRef::new(wcat, rows, nq * co, nq * co, 1),
                            MatRef::new(&gs, nq * co, t.ld, t.ld, 1),
                        );
                        self.add_rows(&drm, t, band, &mut dx);
                    }
                }
                (dwq, dx)
            })
            .collect();
        // dw [co, ci, kh, kw] from the items' dwqᵀ, summed in batch order.
        let per_out = self.ci * self.kh * self.kw;
        let mut dw = vec![0.0f32; co * per_out];
        let mut dx = Vec::with_capacity(if need_dx { self.b * img } else { 0 });
        for (dwq, dxi) in per_item {
            for (q, dwq) in dwq.chunks(rows * co).enumerate() {
                for (i, drow) in dwq.chunks(co).enumerate() {
                    if let Some(at) = self.kernel_at(full, q, i) {
                        for (o, v) in drow.iter().enumerate() {
                            dw[o * per_out + at] += v;
                        }
                    }
                }
            }
            dx.extend_from_slice(&dxi);
        }
        (dw, need_dx.then_some(dx))
    }
}

/// `f` of each distinct band among `bands` (a pass's tiles have a few:
/// the interior's, every kernel row, and the edges').
fn per_band<T>(bands: &[Band], f: impl Fn(Band) -> T) -> Vec<(Band, T)> {
    let mut out: Vec<(Band, T)> = vec![];
    for &b in bands {
        if !out.iter().any(|(seen, _)| *seen == b) {
            out.push((b, f(b)));
        }
    }
    out
}

/// The value `per_band` made for `band`.
fn lookup<T>(values: &[(Band, T)], band: Band) -> &T {
    let found = values.iter().find(|(b, _)| *b == band);
    &found.expect("per_band saw every tile's band").1
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{burn_reference, close, ds2_second, odd_shapes, operands};
    use super::*;
    use crate::rng::Rng;

    /// Forward, weight gradient and input gradient against burn's conv2d
    /// and its autodiff, on shapes with odd sizes, strides and padding
    /// (and tiles that do not divide the output).
    #[test]
    fn matches_burn_conv2d_and_its_gradients() {
        let mut rng = Rng::new(7);
        for g in odd_shapes() {
            let (x, w, gy) = operands(&g, &mut rng);
            let (y_burn, dw_burn, dx_burn) = burn_reference(&g, &x, &w, &gy);

            // Tiles of one, two and three output rows (some not dividing the
            // output) and the default.
            for tile in [1, 2, 3, g.tile_rows()] {
                close(&g.forward_tiled(&x, &w, tile, true), &y_burn, "forward");
                let (dw, dx) = g.backward_tiled(&x, &w, &gy, true, tile, true);
                close(&dw, &dw_burn, "weight gradient");
                close(&dx.unwrap(), &dx_burn, "input gradient");
            }
            assert!(g.backward_direct(&x, &w, &gy, false).1.is_none());
        }
    }

    /// Leaving the all-padding kernel rows out of an edge tile's products
    /// changes no bit of the output or of either gradient: those terms are
    /// exact zeros. DS2's second convolution's shapes on a short input,
    /// where the edge tiles' bands are narrowest with one-row tiles.
    #[test]
    fn skipping_padding_rows_keeps_every_bit() {
        let g = ds2_second(2, 3, 4, 23, 14);
        let mut rng = Rng::new(11);
        let (x, w, gy) = operands(&g, &mut rng);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
        for tile in [1, 2, 4] {
            let bands: Vec<Band> = g.tiles(tile).iter().map(|&t| g.band(t, true)).collect();
            assert!(bands.iter().any(|&b| b != g.full_band()), "tile {tile}");
            assert_eq!(
                bits(&g.forward_tiled(&x, &w, tile, true)),
                bits(&g.forward_tiled(&x, &w, tile, false)),
                "forward, tile {tile}"
            );
            let (dw, dx) = g.backward_tiled(&x, &w, &gy, true, tile, true);
            let (dw_all, dx_all) = g.backward_tiled(&x, &w, &gy, true, tile, false);
            assert_eq!(bits(&dw), bits(&dw_all), "weight gradient, tile {tile}");
            assert_eq!(
                bits(&dx.unwrap()),
                bits(&dx_all.unwrap()),
                "input gradient, tile {tile}"
            );
        }
    }
}
