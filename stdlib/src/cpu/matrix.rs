//! Matrix products on host slices through the gemm crate (the kernels flex
//! itself uses), for the CPU paths of `conv` and `lstm`.
//!
//! Each product runs on one thread: the callers split independent work
//! across threads themselves, so a result never depends on how gemm would
//! split a product, and so not on the thread count.

/// Rows, columns and strides of a matrix view: element (r, c) is at
/// `r * rs + c * cs`.
#[derive(Clone, Copy)]
struct Strides {
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl Strides {
    /// The view, after checking it stays inside a slice of `len` elements
    /// (in checked arithmetic: an overflowing offset is out of bounds, not a
    /// wrapped one) and that its strides fit gemm's signed strides.
    fn within(rows: usize, cols: usize, rs: usize, cs: usize, len: usize) -> Strides {
        let last = (rows.max(1) - 1)
            .checked_mul(rs)
            .zip((cols.max(1) - 1).checked_mul(cs))
            .and_then(|(a, b)| a.checked_add(b));
        assert!(
            rows == 0 || cols == 0 || last.is_some_and(|l| l < len),
            "matrix view out of bounds"
        );
        assert!(
            isize::try_from(rs).is_ok() && isize::try_from(cs).is_ok(),
            "matrix strides out of range"
        );
        Strides { rows, cols, rs, cs }
    }
}

/// A strided view of a matrix.
#[derive(Clone, Copy)]
pub(crate) struct MatRef<'a> {
    data: &'a [f32],
    s: Strides,
}

impl<'a> MatRef<'a> {
    pub(crate) fn new(data: &'a [f32], rows: usize, cols: usize, rs: usize, cs: usize) -> Self {
        let s = Strides::within(rows, cols, rs, cs, data.len());
        MatRef { data, s }
    }
}

/// A mutable strided view.
pub(crate) struct Mat<'a> {
    data: &'a mut [f32],
    s: Strides,
}

impl<'a> Mat<'a> {
    pub(crate) fn new(data: &'a mut [f32], rows: usize, cols: usize, rs: usize, cs: usize) -> Self {
        let s = Strides::within(rows, cols, rs, cs, data.len());
        Mat { data, s }
    }
}

/// `dst = lhs · rhs`, or `dst += lhs · rhs` when `accumulate`, on one
/// thread (callers parallelise over independent work).
pub(crate) fn matmul(dst: Mat, accumulate: bool, lhs: MatRef, rhs: MatRef) {
    let (d, l, r) = (dst.s, lhs.s, rhs.s);
    assert!(
        l.rows == d.rows && r.cols == d.cols && l.cols == r.rows,
        "matrix product shapes"
    );
    // SAFETY: every view was checked against its slice's length in `new`,
    // so gemm reads and writes only inside the borrowed slices; `dst` is a
    // unique borrow, so it cannot alias `lhs` or `rhs`.
    unsafe {
        gemm::gemm(
            d.rows,
            d.cols,
            l.cols,
            dst.data.as_mut_ptr(),
            d.cs as isize,
            d.rs as isize,
            accumulate,
            lhs.data.as_ptr(),
            l.cs as isize,
            l.rs as isize,
            rhs.data.as_ptr(),
            r.cs as isize,
            r.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// This machine's rate for one large matrix product on one thread through
/// `matmul`, in GFLOP/s (best of three 1024³ products, ~0.1 s): what
/// `lotto bench train` multiplies out into a floor for a step's time.
pub fn single_thread_gflops() -> f64 {
    product_gflops((1024, 1024, 1024), (false, false, false))
}

/// The rate of an `m × k` by `k × n` product on one thread with the
/// kernels in use, in GFLOP/s: the best of three timings of enough
/// repetitions to take about 0.1 s each. `col_major` says which of the
/// left operand, the right operand and the destination are stored column
/// by column (as the layers pass transposed views).
pub fn product_gflops((m, n, k): (usize, usize, usize), col_major: (bool, bool, bool)) -> f64 {
    let a: Vec<f32> = (0..m * k).map(|i| (i % 13) as f32 * 0.1).collect();
    let b: Vec<f32> = (0..k * n).map(|i| (i % 7) as f32 * 0.1).collect();
    let mut c = vec![0.0f32; m * n];
    let lhs = if col_major.0 {
        MatRef::new(&a, m, k, 1, m)
    } else {
        MatRef::new(&a, m, k, k, 1)
    };
    let rhs = if col_major.1 {
        MatRef::new(&b, k, n, 1, k)
    } else {
        MatRef::new(&b, k, n, n, 1)
    };
    let (rs, cs) = if col_major.2 { (1, m) } else { (n, 1) };
    let flop = 2.0 * (m * n * k) as f64;
    let reps = (1e10 / flop).clamp(1.0, 1e4) as usize;
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t0 = std::time::Instant::now();
        for _ in 0..reps {
            matmul(Mat::new(&mut c, m, n, rs, cs), false, lhs, rhs);
        }
        best = best.min(t0.elapsed().as_secs_f64() / reps as f64);
    }
    flop / best / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_of_strided_views_match_the_definition() {
        // lhs 2x3 row-major, rhs 3x2 read transposed from a 2x3 buffer.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let bt = [1.0, 0.0, -1.0, 2.0, 1.0, 0.0];
        let mut c = [10.0f32; 4];
        matmul(
            Mat::new(&mut c, 2, 2, 2, 1),
            false,
            MatRef::new(&a, 2, 3, 3, 1),
            MatRef::new(&bt, 3, 2, 1, 3),
        );
        assert_eq!(c, [-2.0, 4.0, -2.0, 13.0]);
        matmul(
            Mat::new(&mut c, 2, 2, 2, 1),
            true,
            MatRef::new(&a, 2, 3, 3, 1),
            MatRef::new(&bt, 3, 2, 1, 3),
        );
        assert_eq!(c, [-4.0, 8.0, -4.0, 26.0]);
    }

    #[test]
    #[should_panic(expected = "matrix view out of bounds")]
    fn a_view_past_its_slice_is_refused() {
        MatRef::new(&[0.0; 5], 2, 3, 3, 1);
    }

    #[test]
    #[should_panic(expected = "matrix view out of bounds")]
    fn an_offset_that_overflows_is_refused_not_wrapped() {
        MatRef::new(&[0.0; 4], 3, 2, usize::MAX / 2 + 1, 1);
    }
}
