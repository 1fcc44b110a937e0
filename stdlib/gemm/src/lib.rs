//! gemm 0.19's entry point as lotto builds it: f32 products run the
//! portable kernels (the same bits on every CPU) unless the run chose the
//! native ones; every other element type runs gemm's kernels.
//!
//! burn's flex backend calls `gemm::gemm` for its matrix products, so
//! lotto patches crates.io's gemm with this crate (root Cargo.toml) to make
//! those products reproducible too, without a fork of flex.

mod portable;
mod scratch;
mod select;
mod tiles;

use core::any::TypeId;
pub use gemm_common::Parallelism;
#[cfg(feature = "f16")]
pub use gemm_f16::f16;
pub use select::{force_isa, isa, kernels, set_kernels, supported_isas, Isa, Kernels};

/// `dst := alpha · dst + beta · lhs · rhs` (the `alpha` term only when
/// `read_dst`), over strided operands: gemm 0.19's signature. The
/// conjugation flags only concern complex types, which this build does
/// not offer.
///
/// # Safety
/// As gemm's: every element the strides address must be valid to read
/// (and, for `dst`, to write), and `dst` must not overlap `lhs` or `rhs`.
/// `T` must be f32, f64 or (with the `f16` feature) f16.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm<T: 'static>(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut T,
    dst_cs: isize,
    dst_rs: isize,
    read_dst: bool,
    lhs: *const T,
    lhs_cs: isize,
    lhs_rs: isize,
    rhs: *const T,
    rhs_cs: isize,
    rhs_rs: isize,
    alpha: T,
    beta: T,
    _conj_dst: bool,
    _conj_lhs: bool,
    _conj_rhs: bool,
    parallelism: Parallelism,
) {
    macro_rules! native {
        ($t:ty, $f:expr) => {
            $f(
                m,
                n,
                k,
                dst as *mut $t,
                dst_cs,
                dst_rs,
                read_dst,
                lhs as *const $t,
                lhs_cs,
                lhs_rs,
                rhs as *const $t,
                rhs_cs,
                rhs_rs,
                *(&alpha as *const T as *const $t),
                *(&beta as *const T as *const $t),
                false,
                false,
                false,
                parallelism,
            )
        };
    }
    let t = TypeId::of::<T>();
    if t == TypeId::of::<f32>() {
        if kernels() == Kernels::Native {
            return native!(f32, gemm_f32::gemm::f32::get_gemm_fn());
        }
        let threads = match parallelism {
            Parallelism::None => 1,
            #[cfg(feature = "rayon")]
            Parallelism::Rayon(0) => rayon::current_num_threads(),
            #[cfg(feature = "rayon")]
            Parallelism::Rayon(n) => n,
        };
        let product = portable::Product {
            m,
            n,
            k,
            dst: portable::View {
                ptr: dst as *mut f32,
                rs: dst_rs,
                cs: dst_cs,
            },
            read_dst,
            lhs: portable::View {
                ptr: lhs as *const f32,
                rs: lhs_rs,
                cs: lhs_cs,
            },
            rhs: portable::View {
                ptr: rhs as *const f32,
                rs: rhs_rs,
                cs: rhs_cs,
            },
            alpha: *(&alpha as *const T as *const f32),
            beta: *(&beta as *const T as *const f32),
        };
        return portable::gemm(product, threads);
    }
    if t == TypeId::of::<f64>() {
        return native!(f64, gemm_f64::gemm::f64::get_gemm_fn());
    }
    #[cfg(feature = "f16")]
    if t == TypeId::of::<f16>() {
        return native!(f16, gemm_f16::gemm::f16::get_gemm_fn());
    }
    panic!("gemm: this build multiplies f32, f64 and f16 matrices only");
}

#[cfg(test)]
mod tests;
