//! Discrete Fourier transforms as matrices, for the spectral convolution
//! (`conv::spectral`): a transform along one axis is then a matrix
//! product, which runs through the portable gemm kernels and so gives the
//! same bits on every CPU, for any length (no power of two needed).
//!
//! A signal of one axis is a set of samples at positions t (of a
//! transform of length n); the matrices hold e^(∓2πi·f·t/n) for those
//! positions only, so zero padding, strides and cropping cost nothing.
//! The matrices' entries come from `turn`, which uses f64 arithmetic
//! only (no C library), so they are the same everywhere too.

/// cos and sin of 2π·m/n (n > 0). The angle is reduced to within π/4 of
/// a quarter turn, where Taylor series to the 17th power are exact to
/// f64 rounding; quarter turns give exact zeros and ones.
pub(crate) fn turn(m: usize, n: usize) -> (f64, f64) {
    let t = (m % n) as f64 / n as f64;
    let quarter = (4.0 * t).round();
    let x = std::f64::consts::TAU * (t - quarter / 4.0);
    let x2 = x * x;
    let (mut c, mut s) = (1.0f64, 1.0f64);
    // Horner from the highest term: cos = Σ (−x²)^k/(2k)!,
    // sin = x·Σ (−x²)^k/(2k+1)!, k ≤ 8.
    for k in (1..=8).rev() {
        let k = k as f64;
        c = 1.0 - x2 / ((2.0 * k - 1.0) * (2.0 * k)) * c;
        s = 1.0 - x2 / ((2.0 * k) * (2.0 * k + 1.0)) * s;
    }
    let s = x * s;
    match quarter as usize % 4 {
        0 => (c, s),
        1 => (-s, c),
        2 => (-c, -s),
        _ => (s, -c),
    }
}

/// Bins of a real signal's half spectrum: f = 0..=n/2.
pub(crate) fn half_bins(n: usize) -> usize {
    n / 2 + 1
}

/// The analysis of a real signal with samples at `pos` into its half
/// spectrum: (re, im), each [pos.len() × half_bins(n)] row-major, with
/// re[j][f] = cos(2π·f·t_j/n) and im[j][f] = −sin(2π·f·t_j/n), so a row
/// vector of samples times them gives the spectrum's real and imaginary
/// parts.
pub(crate) fn real_analysis(pos: &[usize], n: usize) -> (Vec<f32>, Vec<f32>) {
    let bins = half_bins(n);
    let (mut re, mut im) = (
        vec![0.0f32; pos.len() * bins],
        vec![0.0f32; pos.len() * bins],
    );
    for (j, &t) in pos.iter().enumerate() {
        for f in 0..bins {
            let (c, s) = turn(f * t, n);
            re[j * bins + f] = c as f32;
            im[j * bins + f] = -s as f32;
        }
    }
    (re, im)
}

/// The synthesis of a real signal at `pos` from its half spectrum, times
/// `scale`: (from re, from im), each [half_bins(n) × pos.len()], so that
/// re-part · first + im-part · second is the signal. Every bin but 0 and
/// n/2 stands for itself and its mirror image, so counts twice.
pub(crate) fn real_synthesis(pos: &[usize], n: usize, scale: f64) -> (Vec<f32>, Vec<f32>) {
    let bins = half_bins(n);
    let (mut re, mut im) = (
        vec![0.0f32; bins * pos.len()],
        vec![0.0f32; bins * pos.len()],
    );
    for f in 0..bins {
        let twice = if f == 0 || 2 * f == n { 1.0 } else { 2.0 };
        for (j, &t) in pos.iter().enumerate() {
            let (c, s) = turn(f * t, n);
            re[f * pos.len() + j] = (twice * scale * c) as f32;
            im[f * pos.len() + j] = (-twice * scale * s) as f32;
        }
    }
    (re, im)
}

/// The analysis of a complex signal with samples at `pos` into its full
/// spectrum, as one real matrix [2n × 2·pos.len()]: with the signal's
/// real parts stacked over its imaginary parts, the product is the
/// spectrum's real parts (rows f < n: [cos | sin]) over its imaginary
/// parts (rows n + f: [−sin | cos]).
pub(crate) fn complex_analysis(pos: &[usize], n: usize) -> Vec<f32> {
    let p = pos.len();
    let mut m = vec![0.0f32; 2 * n * 2 * p];
    for f in 0..n {
        for (j, &t) in pos.iter().enumerate() {
            let (c, s) = turn(f * t, n);
            let (c, s) = (c as f32, s as f32);
            m[f * 2 * p + j] = c;
            m[f * 2 * p + p + j] = s;
            m[(n + f) * 2 * p + j] = -s;
            m[(n + f) * 2 * p + p + j] = c;
        }
    }
    m
}

/// The synthesis of a complex signal at `pos` from its full spectrum
/// (unscaled), as one real matrix [2·pos.len() × 2n]: the spectrum's real
/// parts stacked over its imaginary parts give the signal's real parts
/// (rows j: [cos | −sin]) over its imaginary parts (rows p + j:
/// [sin | cos]).
pub(crate) fn complex_synthesis(pos: &[usize], n: usize) -> Vec<f32> {
    let p = pos.len();
    let mut m = vec![0.0f32; 2 * p * 2 * n];
    for (j, &t) in pos.iter().enumerate() {
        for f in 0..n {
            let (c, s) = turn(f * t, n);
            let (c, s) = (c as f32, s as f32);
            m[j * 2 * n + f] = c;
            m[j * 2 * n + n + f] = -s;
            m[(p + j) * 2 * n + f] = s;
            m[(p + j) * 2 * n + n + f] = c;
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within 1e-14: both round the angle, f32 needs 6e-8.
    #[test]
    fn turns_match_the_c_library_and_are_exact_at_quarters() {
        for n in [1, 2, 3, 7, 101, 160, 310] {
            for m in 0..2 * n {
                let (c, s) = turn(m, n);
                let a = std::f64::consts::TAU * (m % n) as f64 / n as f64;
                assert!(
                    (c - a.cos()).abs() < 1e-14,
                    "cos {m}/{n}: {c} vs {}",
                    a.cos()
                );
                assert!((s - a.sin()).abs() < 1e-14, "sin {m}/{n}");
            }
        }
        assert_eq!(turn(0, 8), (1.0, 0.0));
        assert_eq!(turn(2, 8), (0.0, 1.0));
        assert_eq!(turn(4, 8), (-1.0, 0.0));
        assert_eq!(turn(6, 8), (0.0, -1.0));
    }

    /// A signal through analysis and synthesis comes back, on both axes'
    /// kinds of transform, odd and even lengths, at scattered positions.
    #[test]
    fn synthesis_inverts_analysis() {
        for n in [7usize, 8] {
            let pos = [1usize, 2, 4, 5];
            let x = [0.5f32, -1.0, 2.0, 0.25];
            let bins = half_bins(n);
            let (re, im) = real_analysis(&pos, n);
            let spec_re: Vec<f32> = (0..bins)
                .map(|f| (0..4).map(|j| x[j] * re[j * bins + f]).sum())
                .collect();
            let spec_im: Vec<f32> = (0..bins)
                .map(|f| (0..4).map(|j| x[j] * im[j * bins + f]).sum())
                .collect();
            let (sr, si) = real_synthesis(&pos, n, 1.0 / n as f64);
            for j in 0..4 {
                let back: f32 = (0..bins)
                    .map(|f| spec_re[f] * sr[f * 4 + j] + spec_im[f] * si[f * 4 + j])
                    .sum();
                assert!((back - x[j]).abs() < 1e-5, "real n {n} sample {j}: {back}");
            }

            // Complex: real parts x, imaginary parts reversed x.
            let z: Vec<f32> = x.iter().chain(x.iter().rev()).copied().collect();
            let a = complex_analysis(&pos, n);
            let spec: Vec<f32> = (0..2 * n)
                .map(|r| (0..8).map(|k| a[r * 8 + k] * z[k]).sum())
                .collect();
            let s = complex_synthesis(&pos, n);
            for (r, want) in z.iter().enumerate() {
                let back: f32 =
                    (0..2 * n).map(|k| s[r * 2 * n + k] * spec[k]).sum::<f32>() / n as f32;
                assert!((back - want).abs() < 1e-5, "complex n {n} row {r}: {back}");
            }
        }
    }
}
