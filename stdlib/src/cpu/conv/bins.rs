//! Sums of products of spectra bin by bin, the spectral convolution's
//! core: each output spectrum a sum over terms of a·b or conj(a)·b, each
//! bin's sum one chain of fused multiply-adds in a fixed order, on the
//! widest vectors the CPU has (every width gives the same bits).

use rayon::prelude::*;

/// Bins per task of the products of spectra: one task's operands (every
/// spectrum's stretch of these bins) stay in a core's L2 cache.
const CHUNK: usize = 64;

/// `outs` spectra, output o being Σ over t < `terms` (in order) of
/// a[i]·b[j], or conj(a[i])·b[j] when `conj`, where (i, j) = `term(o, t)`
/// index the spectra `a` and `b`. Tasks split the bins: each first copies
/// its stretch of every spectrum side by side (read in place, stretches
/// a spectrum apart share cache sets and evict each other).
pub(super) fn products(
    bins: usize,
    (a, b): (&[f32], &[f32]),
    outs: usize,
    terms: usize,
    conj: bool,
    term: impl Fn(usize, usize) -> (usize, usize) + Sync,
) -> Vec<f32> {
    let len = 2 * bins;
    let chunks: Vec<Vec<f32>> = (0..bins.div_ceil(CHUNK))
        .into_par_iter()
        .map(|k| {
            let (lo, n) = (k * CHUNK, CHUNK.min(bins - k * CHUNK));
            // Each spectrum's stretch: real parts, then imaginary parts.
            let stretches = |spectra: &[f32]| -> Vec<f32> {
                let mut out = Vec::with_capacity(spectra.len() / len * 2 * n);
                for spec in spectra.chunks(len) {
                    out.extend_from_slice(&spec[lo..lo + n]);
                    out.extend_from_slice(&spec[bins + lo..bins + lo + n]);
                }
                out
            };
            let (a, b) = (stretches(a), stretches(b));
            let mut out = vec![0.0f32; outs * 2 * n];
            let mut operands = Vec::with_capacity(terms);
            for (o, acc) in out.chunks_mut(2 * n).enumerate() {
                let (re, im) = acc.split_at_mut(n);
                operands.clear();
                operands.extend((0..terms).map(|t| {
                    let (i, j) = term(o, t);
                    let (a, b) = (&a[i * 2 * n..][..2 * n], &b[j * 2 * n..][..2 * n]);
                    [&a[..n], &a[n..], &b[..n], &b[n..]]
                }));
                multiply_add(re, im, &operands, conj);
            }
            out
        })
        .collect();
    let mut out = vec![0.0f32; outs * len];
    out.par_chunks_mut(len).enumerate().for_each(|(o, spec)| {
        for (k, chunk) in chunks.iter().enumerate() {
            let (lo, n) = (k * CHUNK, CHUNK.min(bins - k * CHUNK));
            let src = &chunk[o * 2 * n..][..2 * n];
            spec[lo..lo + n].copy_from_slice(&src[..n]);
            spec[bins + lo..bins + lo + n].copy_from_slice(&src[n..]);
        }
    });
    out
}

/// The terms of one output's stretch of bins: a's real and imaginary
/// parts, then b's.
type Terms<'a> = [[&'a [f32]; 4]];

/// re + i·im += Σ_t a_t·b_t (or conj(a_t)·b_t) bin by bin: each part of
/// each term two fused multiply-adds in a fixed order, on the widest
/// vectors the CPU has (every width gives the same bits).
fn multiply_add(re: &mut [f32], im: &mut [f32], terms: &Terms, conj: bool) {
    #[cfg(target_arch = "x86_64")]
    match gemm::isa() {
        // SAFETY: `isa` names only instruction sets this CPU has.
        gemm::Isa::Avx512 => return unsafe { multiply_add_avx512(re, im, terms, conj) },
        gemm::Isa::Avx2 => return unsafe { multiply_add_avx2(re, im, terms, conj) },
        gemm::Isa::Scalar => {}
    }
    multiply_add_lanes(re, im, terms, conj)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn multiply_add_avx512(re: &mut [f32], im: &mut [f32], terms: &Terms, conj: bool) {
    multiply_add_lanes(re, im, terms, conj)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn multiply_add_avx2(re: &mut [f32], im: &mut [f32], terms: &Terms, conj: bool) {
    multiply_add_lanes(re, im, terms, conj)
}

/// The body, compiled once per instruction set above: blocks of 64 bins
/// (eight independent chains of fused multiply-adds, enough to hide their
/// latency), then of 16, then single bins.
#[inline(always)]
fn multiply_add_lanes(re: &mut [f32], im: &mut [f32], terms: &Terms, conj: bool) {
    let sign = if conj { 1.0f32 } else { -1.0 };
    let mut v = 0;
    v = lane_blocks::<64>(re, im, terms, sign, v);
    v = lane_blocks::<16>(re, im, terms, sign, v);
    lane_blocks::<1>(re, im, terms, sign, v);
}

/// Bins from `v` on in blocks of `L`, while whole blocks fit; returns
/// where it stopped. conj(a)·b = (ar·br + ai·bi) + i(ar·bi − ai·br) with
/// sign 1, a·b = (ar·br − ai·bi) + i(ar·bi + ai·br) with sign −1.
#[inline(always)]
fn lane_blocks<const L: usize>(
    re: &mut [f32],
    im: &mut [f32],
    terms: &Terms,
    sign: f32,
    mut v: usize,
) -> usize {
    while v + L <= re.len() {
        let mut r: [f32; L] = re[v..v + L].try_into().unwrap();
        let mut i: [f32; L] = im[v..v + L].try_into().unwrap();
        for [ar, ai, br, bi] in terms {
            let (ar, ai, br, bi) = (&ar[v..v + L], &ai[v..v + L], &br[v..v + L], &bi[v..v + L]);
            for l in 0..L {
                r[l] = ar[l].mul_add(br[l], r[l]);
                r[l] = (sign * ai[l]).mul_add(bi[l], r[l]);
                i[l] = ar[l].mul_add(bi[l], i[l]);
                i[l] = (-sign * ai[l]).mul_add(br[l], i[l]);
            }
        }
        re[v..v + L].copy_from_slice(&r);
        im[v..v + L].copy_from_slice(&i);
        v += L;
    }
    v
}
