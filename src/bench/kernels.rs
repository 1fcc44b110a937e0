//! The matrix-product kernels on the shapes that make most of `lotto
//! bench train`'s step (DS2-small's convolution and LSTM products, as
//! its layers lay them out) and one large square product: one-thread
//! GFLOP/s of the portable kernels beside gemm's native ones, in one run.

use lotto_stdlib::cpu::matrix::product_gflops;
use lotto_stdlib::device::{kernels, portable_kernels, set_kernels, Kernels};

/// (m, n, k); which of the left operand, the right operand and the
/// destination are column-major; and what the product is: the products
/// that make most of `lotto bench train`'s step, with the shapes and
/// layouts its layers pass (conv 2's spectral transforms in groups of 16
/// maps or 25 kernels; the LSTM's 150 steps of a batch of 8).
type Shape = ((usize, usize, usize), (bool, bool, bool), &'static str);
const SHAPES: &[Shape] = &[
    (
        (81, 81, 150),
        (false, false, false),
        "conv 2 map spectra, width",
    ),
    (
        (202, 1296, 162),
        (false, false, false),
        "conv 2 map spectra, height",
    ),
    (
        (5050, 81, 11),
        (false, false, false),
        "conv 2 kernel spectra, width",
    ),
    (
        (82, 1296, 202),
        (false, false, false),
        "conv 2 output synthesis, height",
    ),
    (
        (1200, 1024, 1312),
        (false, true, false),
        "LSTM 1 input projection",
    ),
    (
        (1024, 8, 256),
        (true, true, true),
        "LSTM recurrence, one step",
    ),
    (
        (1024, 256, 1192),
        (true, false, false),
        "LSTM recurrent weight gradient",
    ),
    ((1024, 1024, 1024), (false, false, false), "square"),
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
