//! The LSTM's gate activations and cell update for one step of one
//! sequence, in plain IEEE arithmetic. Two reasons not to call libm's
//! `expf` once per gate: the scalar calls kept the gate loop from
//! vectorizing (with them it took 9% of a DS2 inference pass), and their
//! last bits are the C library's, so LSTM outputs would depend on the
//! machine's glibc. Here `exp` is a range reduction and a polynomial
//! (Cephes' `expf`) in additions, multiplications and bit manipulation
//! in an order fixed by the source; Rust never fuses them into FMAs, so
//! the loop compiled for any vector width gives the same bits.

use gemm::Isa;

/// e^x for the gates, within 2.5e-7 relative of the true value on
/// [−87, 88]. Arguments are first clamped to that range (NaN stays NaN),
/// so the result is always a normal float: e^−87 ≈ 1.6e−38 stands for
/// anything smaller and e^88 ≈ 1.7e38 for anything larger, which leaves
/// `sigmoid` and `tanh` below within 1e−38 of their limits.
#[inline(always)]
fn exp(x: f32) -> f32 {
    // 1.5 · 2²³: adding it rounds x · log₂e to an integer in its low bits.
    const SHIFTER: f32 = 12_582_912.0;
    let x = if x < -87.0 { -87.0 } else { x };
    let x = if x > 88.0 { 88.0 } else { x };
    let t = x * std::f32::consts::LOG2_E + SHIFTER;
    let n = t - SHIFTER;
    // x − n·ln 2 in two parts (Cody and Waite): n · 0.693359375 is exact.
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let er = p * (r * r) + r + 1.0;
    // 2ⁿ from n's bits in t: n is in [−126, 127], a normal exponent.
    let n_bits = t.to_bits().wrapping_sub(SHIFTER.to_bits());
    er * f32::from_bits(n_bits.wrapping_add(127) << 23)
}

/// The logistic function.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// tanh through one `exp`: absolute error below 3e-7 (relative to tanh it
/// is larger near 0, where 1 − 2/(e^2x + 1) cancels), ±1 for large |x|.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / (exp(2.0 * x) + 1.0)
}

/// One step of one sequence: `g` holds the four gates' pre-activations
/// [input, forget, cell, output] (h each) and gets their activations;
/// `c_prev` is the previous cell state (zeros at the first step); the new
/// cell state, its tanh and the output go to `c`, `tc` and `out`.
pub struct Step<'a> {
    pub g: &'a mut [f32],
    pub c_prev: &'a [f32],
    pub c: &'a mut [f32],
    pub tc: &'a mut [f32],
    pub out: &'a mut [f32],
}

impl Step<'_> {
    /// Runs the step in the vector registers of `gemm::isa()` (the CPU's
    /// widest, or the one `LOTTO_KERNEL_ISA` names); every width gives
    /// the same bits.
    pub fn run(self) {
        self.run_on(gemm::isa())
    }

    fn run_on(self, isa: Isa) {
        match isa {
            // SAFETY: callers pass `gemm::isa()` or one of
            // `gemm::supported_isas()`: instruction sets this CPU has.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { self.run_avx2() },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { self.run_avx512() },
            _ => self.run_here(),
        }
    }

    #[inline(always)]
    fn run_here(self) {
        let Step {
            g,
            c_prev,
            c,
            tc,
            out,
        } = self;
        let h = c.len();
        assert!(
            g.len() == 4 * h && c_prev.len() == h && tc.len() == h && out.len() == h,
            "LSTM step sizes"
        );
        let (gi, rest) = g.split_at_mut(h);
        let (gf, rest) = rest.split_at_mut(h);
        let (gc, go) = rest.split_at_mut(h);
        for j in 0..h {
            let (ig, fg, cg, og) = (sigmoid(gi[j]), sigmoid(gf[j]), tanh(gc[j]), sigmoid(go[j]));
            let cell = fg * c_prev[j] + ig * cg;
            (gi[j], gf[j], gc[j], go[j]) = (ig, fg, cg, og);
            c[j] = cell;
            let t = tanh(cell);
            tc[j] = t;
            out[j] = og * t;
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn run_avx2(self) {
        self.run_here()
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn run_avx512(self) {
        self.run_here()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_sigmoid_and_tanh_are_within_3e_7_of_f64() {
        let (mut exp_rel, mut sig, mut th) = (0.0f64, 0.0f64, 0.0f64);
        for i in -870_000..=880_000 {
            let x = i as f32 * 1e-4;
            let d = x as f64;
            exp_rel = exp_rel.max(((exp(x) as f64) - d.exp()).abs() / d.exp());
            sig = sig.max((sigmoid(x) as f64 - 1.0 / (1.0 + (-d).exp())).abs());
            th = th.max((tanh(x) as f64 - d.tanh()).abs());
        }
        assert!(exp_rel < 2.5e-7, "exp: largest relative error {exp_rel}");
        assert!(sig < 3e-7, "sigmoid: largest error {sig}");
        assert!(th < 3e-7, "tanh: largest error {th}");
        assert_eq!((tanh(0.0), sigmoid(0.0)), (0.0, 0.5));
        assert_eq!((tanh(100.0), tanh(-100.0)), (1.0, -1.0));
        assert_eq!((tanh(f32::INFINITY), tanh(f32::NEG_INFINITY)), (1.0, -1.0));
        assert_eq!(sigmoid(f32::INFINITY), 1.0);
        assert!((0.0..1e-38).contains(&sigmoid(f32::NEG_INFINITY)));
        assert!(tanh(f32::NAN).is_nan() && sigmoid(f32::NAN).is_nan());
    }

    /// Every instruction set this CPU has gives the scalar loop's bits.
    #[test]
    fn every_vector_width_gives_the_same_bits() {
        let h = 37;
        let pre: Vec<f32> = (0..4 * h).map(|i| (i as f32 * 0.37).sin() * 9.0).collect();
        let c_prev: Vec<f32> = (0..h).map(|i| (i as f32 * 0.11).cos() * 3.0).collect();
        let run = |isa: Option<Isa>| {
            let (mut g, mut c, mut tc, mut out) =
                (pre.clone(), vec![0.0; h], vec![0.0; h], vec![0.0; h]);
            let step = Step {
                g: &mut g,
                c_prev: &c_prev,
                c: &mut c,
                tc: &mut tc,
                out: &mut out,
            };
            match isa {
                None => step.run_here(),
                Some(isa) => step.run_on(isa),
            }
            (g, c, tc, out)
        };
        let scalar = run(None);
        for isa in gemm::supported_isas() {
            assert!(
                run(Some(isa)) == scalar,
                "{} differs from the scalar loop",
                isa.name()
            );
        }
    }
}
