//! Which kernels compute f32 products: the kernel set a run chose, and the
//! instruction set the portable kernels use on this CPU.
//!
//! Both are process-wide settings, read on every product, because the
//! products are called from deep inside burn's backend where no
//! configuration can be passed.

use std::sync::atomic::{AtomicU8, Ordering};

/// The kernel set for f32 products.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernels {
    /// Each output element one fused multiply-add chain over the summed
    /// dimension in ascending order, then `beta`, then `alpha · dst`: the
    /// same bits on every CPU with FMA (or any CPU, at scalar speed),
    /// whatever its vector width, caches or thread count.
    Portable,
    /// gemm's own kernels: blocked to this CPU's caches and vector width,
    /// so their partial sums, and with them the last bits, differ
    /// between CPUs.
    Native,
}

impl Kernels {
    /// The name a lock or the command line uses.
    pub fn name(self) -> &'static str {
        match self {
            Kernels::Portable => "portable",
            Kernels::Native => "native",
        }
    }

    /// The kernel set a name gives, if it names one.
    pub fn parse(s: &str) -> Option<Kernels> {
        match s {
            "portable" => Some(Kernels::Portable),
            "native" => Some(Kernels::Native),
            _ => None,
        }
    }
}

/// The instruction set the portable kernels run on. Every one gives the
/// same bits; they differ only in speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// 16-lane fused multiply-adds (x86-64 with AVX-512F).
    Avx512,
    /// 8-lane fused multiply-adds (x86-64 with AVX2 and FMA).
    Avx2,
    /// `f32::mul_add` one element at a time: a hardware FMA where the
    /// target has one, the C library's exact `fmaf` elsewhere.
    Scalar,
}

impl Isa {
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2 => "avx2",
            Isa::Scalar => "scalar",
        }
    }

    pub fn parse(s: &str) -> Option<Isa> {
        [Isa::Avx512, Isa::Avx2, Isa::Scalar]
            .into_iter()
            .find(|i| i.name() == s)
    }

    fn code(self) -> u8 {
        match self {
            Isa::Avx512 => 1,
            Isa::Avx2 => 2,
            Isa::Scalar => 3,
        }
    }
}

static KERNELS: AtomicU8 = AtomicU8::new(0);
static FORCED_ISA: AtomicU8 = AtomicU8::new(0);

/// Chooses the kernel set for every later f32 product of this process.
pub fn set_kernels(k: Kernels) {
    KERNELS.store(matches!(k, Kernels::Native) as u8, Ordering::Relaxed);
}

/// The kernel set f32 products use now (portable unless a run chose).
pub fn kernels() -> Kernels {
    match KERNELS.load(Ordering::Relaxed) {
        0 => Kernels::Portable,
        _ => Kernels::Native,
    }
}

/// The instruction sets this CPU can run the portable kernels on, fastest
/// first (scalar is always there).
pub fn supported_isas() -> Vec<Isa> {
    let best = best_isa();
    [Isa::Avx512, Isa::Avx2, Isa::Scalar]
        .into_iter()
        .skip_while(|i| *i != best)
        .collect()
}

/// Makes the portable kernels run on `isa` (a test comparing instruction
/// sets), or on the fastest one again with `None`. An instruction set the
/// CPU lacks is refused.
pub fn force_isa(isa: Option<Isa>) -> Result<(), String> {
    match isa {
        None => FORCED_ISA.store(0, Ordering::Relaxed),
        Some(i) if supported_isas().contains(&i) => FORCED_ISA.store(i.code(), Ordering::Relaxed),
        Some(i) => return Err(format!("this CPU cannot run the {} kernels", i.name())),
    }
    Ok(())
}

/// The instruction set the portable kernels use now.
pub fn isa() -> Isa {
    let forced = FORCED_ISA.load(Ordering::Relaxed);
    [Isa::Avx512, Isa::Avx2, Isa::Scalar]
        .into_iter()
        .find(|i| i.code() == forced)
        .unwrap_or_else(best_isa)
}

/// The fastest instruction set this CPU has (std caches the detection).
fn best_isa() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Isa::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Isa::Avx2;
        }
    }
    Isa::Scalar
}
