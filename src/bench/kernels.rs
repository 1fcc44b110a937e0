//! The matrix-product kernels on the shapes that make most of `lotto
//! bench train`'s step (DS2-small's convolution and LSTM products, as
//! its layers lay them out) and one large square product: one-thread
//! GFLOP/s of the portable kernels beside gemm's native ones, in one run.

use lotto_stdlib::cpu::matrix::product_gflops;
use lotto_stdlib::device::{kernels, portable_kernels, set_kernels, Kernels};

/// (m, n, k), which operands are column-major, and what the product is:
/// the products that make most of `lotto bench train`'s step, as the
/// layers pass them.
type Shape = ((usize, usize, usize), (bool, bool), &'static str);
const SHAPES: &[Shape] = &[
    ((672, 650, 352), (false, false), "conv 2 forward, one shift"),
    ((32, 640, 672), (true, false), "conv 2 weight gradient"),
    ((32, 672, 640), (false, true), "conv 2 input gradient"),
    ((1200, 1024, 1312), (false, true), "LSTM 2 input projection"),
    ((1024, 8, 256), (true, true), "LSTM recurrence, one step"),
    (
        (1024, 256, 1192),
        (true, false),
        "LSTM recurrent weight gradient",
    ),
    ((1024, 1024, 1024), (false, false), "square"),
];

pub fn run() {
    println!(
        "matrix products on one thread, GFLOP/s ({}; native: {})",
        portable_kernels(),
        lotto_stdlib::device::cpu_numerics()
    );
    println!(
        "{:>18}  {:>9}  {:>9}  {:>6}  product",
        "m x n x k", "portable", "native", "ratio"
    );
    let chosen = kernels();
    for &((m, n, k), layout, what) in SHAPES {
        set_kernels(Kernels::Portable);
        let p = product_gflops((m, n, k), layout);
        set_kernels(Kernels::Native);
        let nat = product_gflops((m, n, k), layout);
        println!(
            "{:>18}  {p:>9.1}  {nat:>9.1}  {:>5.2}x  {what}",
            format!("{m}x{n}x{k}"),
            p / nat
        );
    }
    set_kernels(chosen);
}
