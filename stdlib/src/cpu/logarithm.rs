//! Natural logarithms of f32 slices in plain IEEE arithmetic, for the
//! acoustic features. Two reasons not to call libm's `log1pf`/`logf`:
//! they take half of a spectrogram's time (one scalar call per bin), and
//! their last bits are the C library's (glibc's versions differ between
//! releases), so features, and every result trained on them, would
//! depend on the machine's glibc. Here each value is computed in f64 from
//! additions, multiplications, one division and bit manipulation, in an
//! order fixed by the source; Rust never fuses them into FMAs, so the
//! compiler may vectorize the loop to any width and every x86-64 CPU gives
//! the same bits. The f64 result is within 1e-15 (relative) of the true
//! logarithm, so the f32 it is rounded to is the correctly rounded one but
//! in cases rarer than one in ten million.

use gemm::Isa;

/// `x.ln_1p()` for every element, in place.
pub fn ln_1p_in_place(xs: &mut [f32]) {
    apply(xs, Fun::Ln1p, gemm::isa());
}

/// `x.ln()` for every element, in place.
pub fn ln_in_place(xs: &mut [f32]) {
    apply(xs, Fun::Ln, gemm::isa());
}

#[derive(Clone, Copy)]
enum Fun {
    Ln1p,
    Ln,
}

/// Runs the loop compiled for the vector registers of the instruction set
/// the portable kernels use (`gemm::isa`: the CPU's widest, or the one
/// `LOTTO_KERNEL_ISA` names). Every width computes the same IEEE
/// operations on each element, so they give the same bits; the wider ones
/// are up to 4× faster.
fn apply(xs: &mut [f32], f: Fun, isa: Isa) {
    match isa {
        // SAFETY: `gemm::isa` only names instruction sets this CPU has.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { each_avx2(xs, f) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { each_avx512(xs, f) },
        _ => each(xs, f),
    }
}

#[inline(always)]
fn each(xs: &mut [f32], f: Fun) {
    match f {
        Fun::Ln1p => xs.iter_mut().for_each(|x| *x = ln_1p(*x)),
        Fun::Ln => xs.iter_mut().for_each(|x| *x = ln(*x)),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn each_avx2(xs: &mut [f32], f: Fun) {
    each(xs, f)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn each_avx512(xs: &mut [f32], f: Fun) {
    each(xs, f)
}

/// ln(1 + x). Below 2⁻⁹ in magnitude a five-term series (its truncation
/// error is under x⁶/6, 2⁻⁵⁶ relative), above it the logarithm of
/// 1 + x formed in f64 (exact but for 2⁻⁵³ absolute, 2⁻⁴⁴ relative).
/// Both are computed and one selected, so the loop has no branches.
#[inline(always)]
pub fn ln_1p(x: f32) -> f32 {
    let d = x as f64;
    let series = d * (1.0 - d * (0.5 - d * (1.0 / 3.0 - d * (0.25 - d * 0.2))));
    let big = ln_f64(1.0 + d);
    let r = if d.abs() < 1.0 / 512.0 { series } else { big };
    special(x, x + 1.0, r)
}

/// ln(x).
#[inline(always)]
pub fn ln(x: f32) -> f32 {
    special(x, x, ln_f64(x as f64))
}

/// The IEEE cases the polynomial path does not cover, chosen by `arg`
/// (the logarithm's argument, 1 + x for `ln_1p`): NaN in, or an argument
/// below zero, gives NaN; a zero argument −∞; +∞ gives +∞.
#[inline(always)]
fn special(x: f32, arg: f32, r: f64) -> f32 {
    let r = r as f32;
    if x.is_nan() || arg < 0.0 {
        f32::NAN
    } else if arg == 0.0 {
        f32::NEG_INFINITY
    } else if x == f32::INFINITY {
        f32::INFINITY
    } else {
        r
    }
}

/// ln(u) for finite u > 0 (f32 arguments converted to f64 are normal):
/// u = m · 2ᵏ with m in [√½, √2), ln m = 2 atanh(s) with s = (m − 1)/(m + 1),
/// |s| ≤ 0.172, as the odd series to s¹⁷ (truncation error below 3e-15
/// relative to ln m).
#[inline(always)]
fn ln_f64(u: f64) -> f64 {
    const MANTISSA: u64 = (1 << 52) - 1;
    // 2⁵² + the biased exponent, as an f64 read from its bits: the
    // exponent as a float without an integer conversion (which only
    // AVX-512 has for vectors of 64-bit integers).
    const TWO_52: f64 = 4_503_599_627_370_496.0;
    let bits = u.to_bits();
    let k = f64::from_bits((bits >> 52) | (0x433 << 52)) - (TWO_52 + 1023.0);
    let m = f64::from_bits((bits & MANTISSA) | (1023 << 52));
    let high = m > std::f64::consts::SQRT_2;
    let m = if high { m * 0.5 } else { m };
    let k = if high { k + 1.0 } else { k };
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    let p = 1.0 / 15.0 + z * (1.0 / 17.0);
    let p = 1.0 / 13.0 + z * p;
    let p = 1.0 / 11.0 + z * p;
    let p = 1.0 / 9.0 + z * p;
    let p = 1.0 / 7.0 + z * p;
    let p = 1.0 / 5.0 + z * p;
    let p = 1.0 / 3.0 + z * p;
    let p = 1.0 + z * p;
    k * std::f64::consts::LN_2 + 2.0 * s * p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The f64 logarithm rounded to f32: the correctly rounded value but
    /// in the rarest cases, which these inputs do not hit.
    fn reference(x: f32) -> f32 {
        (x as f64).ln_1p() as f32
    }

    #[test]
    fn ln_1p_matches_the_f64_logarithm_across_the_range() {
        let mut xs: Vec<f32> = vec![0.0, -0.0, 1e-30, 1e-10, 1e-3, 0.5, 1.0, 2.0, 1e30, 3e38];
        // Both sides of the series switch and of every power of two.
        for e in -40..=127 {
            let p = 2f32.powi(e);
            xs.extend([p, p * 1.000_001, p * 0.999_999, p * 1.414, p * 1.415]);
        }
        // A dense sweep of a spectrogram's magnitudes.
        xs.extend((0..200_000).map(|i| i as f32 * 1e-3));
        xs.extend([-0.5, -0.9, -0.999_999, 1.0 / 512.0, -1.0 / 512.0]);
        for x in xs {
            let got = ln_1p(x);
            let want = reference(x);
            assert_eq!(
                got.to_bits(),
                want.to_bits(),
                "ln_1p({x:e}) = {got:e}, want {want:e}"
            );
        }
    }

    #[test]
    fn ln_matches_the_f64_logarithm() {
        use std::f32::consts::SQRT_2;
        for e in -149..=127 {
            for f in [1.0f32, 1.2, SQRT_2 * 0.999_9, SQRT_2 * 1.000_1, 1.9] {
                let x = 2f32.powi(e) * f;
                if x == 0.0 || !x.is_finite() {
                    continue;
                }
                let want = (x as f64).ln() as f32;
                assert_eq!(ln(x).to_bits(), want.to_bits(), "ln({x:e})");
            }
        }
    }

    #[test]
    fn special_values_follow_ieee() {
        assert!(ln_1p(f32::NAN).is_nan());
        assert!(ln_1p(-1.5).is_nan());
        assert_eq!(ln_1p(-1.0), f32::NEG_INFINITY);
        assert_eq!(ln_1p(f32::INFINITY), f32::INFINITY);
        assert!(ln(-1.0).is_nan());
        assert_eq!(ln(0.0), f32::NEG_INFINITY);
        assert_eq!(ln(f32::INFINITY), f32::INFINITY);
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(ln_1p(0.0), 0.0);
    }

    /// Every vector width this CPU has gives the scalar loop's bits.
    #[test]
    fn every_width_gives_the_same_bits() {
        let isas = gemm::supported_isas();
        if isas.len() == 1 {
            eprintln!("this CPU has neither AVX2 nor AVX-512: only the baseline loop is checked");
        }
        let xs: Vec<f32> = (0..100_003)
            .map(|i| (i as f32 * 0.731).sin() * 10f32.powi(i % 13 - 6))
            .chain([f32::NAN, f32::INFINITY, -1.0, -2.0, 0.0, -0.0])
            .collect();
        for f in [Fun::Ln1p, Fun::Ln] {
            let want: Vec<u32> = xs
                .iter()
                .map(|&x| match f {
                    Fun::Ln1p => ln_1p(x),
                    Fun::Ln => ln(x),
                })
                .map(f32::to_bits)
                .collect();
            for &isa in &isas {
                let mut got = xs.clone();
                apply(&mut got, f, isa);
                let got: Vec<u32> = got.into_iter().map(f32::to_bits).collect();
                assert!(got == want, "{isa:?} differs from the scalar values");
            }
        }
    }
}
