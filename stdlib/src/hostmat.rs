//! Matrix products on host slices through the gemm crate (the kernels flex
//! itself uses), for the CPU paths of `hostconv` and `hostlstm`.
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
    /// The view, after checking it stays inside a slice of `len` elements.
    fn within(rows: usize, cols: usize, rs: usize, cs: usize, len: usize) -> Strides {
        let last = (rows.max(1) - 1) * rs + (cols.max(1) - 1) * cs;
        assert!(
            rows == 0 || cols == 0 || last < len,
            "matrix view out of bounds"
        );
        Strides { rows, cols, rs, cs }
    }
}

/// A strided view of a matrix.
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
