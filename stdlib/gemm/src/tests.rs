//! The portable kernels against their definition, bit for bit, on every
//! instruction set this CPU has, one and several threads.

use super::*;
use std::sync::Mutex;

/// The kernel set and instruction set are process-wide: tests that set
/// them take turns.
static SETTINGS: Mutex<()> = Mutex::new(());

/// Deterministic values with many mantissa bits, so a changed summation
/// order shows in the last bits.
fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s as f32 / u32::MAX as f32 - 0.5) * 3.7
        })
        .collect()
}

/// A product's shape and layout: row-major or column-major operands.
#[derive(Clone, Copy, Debug)]
struct Case {
    m: usize,
    n: usize,
    k: usize,
    lhs_col_major: bool,
    rhs_col_major: bool,
    read_dst: bool,
}

/// (rs, cs) of a rows × cols matrix.
fn strides(rows: usize, cols: usize, col_major: bool) -> (isize, isize) {
    if col_major {
        (1, rows as isize)
    } else {
        (cols as isize, 1)
    }
}

/// The definition: one fused multiply-add chain per element, ascending,
/// then `beta · sum + alpha · dst`.
fn reference(c: Case, a: &[f32], b: &[f32], d: &[f32], alpha: f32, beta: f32) -> Vec<f32> {
    let (ars, acs) = strides(c.m, c.k, c.lhs_col_major);
    let (brs, bcs) = strides(c.k, c.n, c.rhs_col_major);
    let mut out = d.to_vec();
    for i in 0..c.m {
        for j in 0..c.n {
            let mut acc = 0f32;
            for p in 0..c.k {
                let x = a[(i as isize * ars + p as isize * acs) as usize];
                let y = b[(p as isize * brs + j as isize * bcs) as usize];
                acc = x.mul_add(y, acc);
            }
            let v = acc * beta;
            out[i * c.n + j] = if c.read_dst {
                v + alpha * d[i * c.n + j]
            } else {
                v
            };
        }
    }
    out
}

fn run(
    c: Case,
    a: &[f32],
    b: &[f32],
    d: &[f32],
    alpha: f32,
    beta: f32,
    par: Parallelism,
) -> Vec<f32> {
    let (ars, acs) = strides(c.m, c.k, c.lhs_col_major);
    let (brs, bcs) = strides(c.k, c.n, c.rhs_col_major);
    let mut out = d.to_vec();
    unsafe {
        gemm(
            c.m,
            c.n,
            c.k,
            out.as_mut_ptr(),
            1,
            c.n as isize,
            c.read_dst,
            a.as_ptr(),
            acs,
            ars,
            b.as_ptr(),
            bcs,
            brs,
            alpha,
            beta,
            false,
            false,
            false,
            par,
        )
    };
    out
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn portable_products_equal_their_definition_on_every_instruction_set_and_thread_count() {
    let _g = SETTINGS.lock().unwrap();
    set_kernels(Kernels::Portable);
    let shapes = [
        (1, 1, 1),
        (3, 5, 0),
        (7, 1, 9),
        (1, 40, 33),
        (8, 4096 / 16, 1024 / 8),
        (37, 29, 300),
        (300, 70, 65),
        // Depth blocks summed in a row-major destination itself.
        (300, 70, 600),
        (13, 100, 700),
        (1000, 1, 300),
        (1, 1000, 300),
        // A right operand at most two panels wide, read in place.
        (300, 32, 300),
        (200, 48, 70),
    ];
    for (si, &(m, n, k)) in shapes.iter().enumerate() {
        for layout in 0..4 {
            let c = Case {
                m,
                n,
                k,
                lhs_col_major: layout & 1 == 1,
                rhs_col_major: layout & 2 == 2,
                read_dst: layout != 1,
            };
            let a = values(m * k, si as u32 * 7 + 1);
            let b = values(k * n, si as u32 * 7 + 2);
            let d = values(m * n, si as u32 * 7 + 3);
            // beta = 1 is the layers' usual product (stored by copying).
            for (alpha, beta) in [(0.75, 1.25), (1.0, 1.0)] {
                let want = bits(&reference(c, &a, &b, &d, alpha, beta));
                for isa in supported_isas() {
                    force_isa(Some(isa)).unwrap();
                    for par in [
                        Parallelism::None,
                        Parallelism::Rayon(2),
                        Parallelism::Rayon(3),
                    ] {
                        let got = bits(&run(c, &a, &b, &d, alpha, beta, par));
                        assert!(
                            got == want,
                            "{c:?} beta {beta} differs from its definition on {isa:?}"
                        );
                    }
                }
                force_isa(None).unwrap();
            }
        }
    }
}

#[test]
fn native_kernels_are_gemms_own_and_can_be_chosen_back() {
    let _g = SETTINGS.lock().unwrap();
    let c = Case {
        m: 64,
        n: 64,
        k: 2000,
        lhs_col_major: false,
        rhs_col_major: false,
        read_dst: false,
    };
    let (a, b, d) = (
        values(64 * 2000, 1),
        values(2000 * 64, 2),
        vec![0.0; 64 * 64],
    );
    set_kernels(Kernels::Native);
    assert_eq!(kernels(), Kernels::Native);
    let native = run(c, &a, &b, &d, 0.0, 1.0, Parallelism::None);
    set_kernels(Kernels::Portable);
    let portable = run(c, &a, &b, &d, 0.0, 1.0, Parallelism::None);
    // Both are products: they agree to float precision.
    for (x, y) in native.iter().zip(&portable) {
        assert!((x - y).abs() <= 1e-3 * (1.0 + y.abs()), "{x} vs {y}");
    }
    assert_eq!(bits(&portable), bits(&reference(c, &a, &b, &d, 0.0, 1.0)));
}

#[test]
fn names_round_trip_and_unknown_instruction_sets_are_refused() {
    for k in [Kernels::Portable, Kernels::Native] {
        assert_eq!(Kernels::parse(k.name()), Some(k));
    }
    for i in [Isa::Avx512, Isa::Avx2, Isa::Scalar] {
        assert_eq!(Isa::parse(i.name()), Some(i));
    }
    assert_eq!(Kernels::parse("fast"), None);
    assert!(supported_isas().ends_with(&[Isa::Scalar]));
    if !supported_isas().contains(&Isa::Avx512) {
        let _g = SETTINGS.lock().unwrap();
        assert!(force_isa(Some(Isa::Avx512)).is_err());
    }
}
