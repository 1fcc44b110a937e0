//! The CPU kernels: 2-D convolution (with the batch norm and clamp that
//! follow it in DS2) and LSTM directions computed on the
//! host with their backward passes written out, over one-thread matrix
//! products. They exist because burn's flex backend spends most of a
//! DS2 train step in these layers (see docs/cpu.md for what they compute,
//! why, and how they are tested against burn's own ops). Every result is
//! independent of the thread count. `logarithm` holds the features'
//! logarithms, vectorized and independent of the C library.

pub mod conv;
pub mod dft;
pub mod gates;
pub mod logarithm;
pub mod lstm;
pub mod matrix;
pub mod norm;
#[cfg(test)]
pub(crate) mod on_threads;
