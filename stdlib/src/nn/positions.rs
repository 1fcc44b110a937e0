//! Sinusoidal position encodings (Vaswani et al. 2017), for absolute
//! positions (the vanilla Conformer) and relative offsets (the Efficient
//! Conformer's attention).

/// One row of `d` values per position: sin at even, cos at odd columns,
/// row-major.
pub fn sinusoids(positions: impl Iterator<Item = f64>, d: usize) -> Vec<f32> {
    let mut pe = vec![];
    for pos in positions {
        let start = pe.len();
        pe.resize(start + d, 0.0f32);
        for i in (0..d).step_by(2) {
            let angle = pos / 10000f64.powf(i as f64 / d as f64);
            pe[start + i] = angle.sin() as f32;
            if i + 1 < d {
                pe[start + i + 1] = angle.cos() as f32;
            }
        }
    }
    pe
}
