//! Device selection: the one place that names burn backends. Everything
//! else takes a `burn::tensor::Device`.

use burn::tensor::Device;

/// Device kinds this build can use.
pub fn available() -> Vec<&'static str> {
    let mut v = vec!["flex"];
    if cfg!(feature = "vulkan") {
        v.push("vulkan");
    }
    if cfg!(feature = "cuda") {
        v.push("cuda");
    }
    if cfg!(feature = "tch") {
        v.push("tch");
    }
    v
}

/// Every device kind lotto can be built for (`cpu` is `flex`).
const KNOWN: &[&str] = &["flex", "cpu", "vulkan", "cuda", "tch"];

/// The device kind a `--device` name selects (`cuda:0` → `cuda`).
pub fn kind(name: &str) -> &str {
    name.split(':').next().unwrap_or(name)
}

/// The autodiff-enabled device for `name`, or an error saying how to get it.
pub fn open(name: &str) -> Result<Device, String> {
    let base = match kind(name) {
        "flex" | "cpu" => Device::flex(),
        #[cfg(feature = "vulkan")]
        "vulkan" => Device::vulkan(Default::default()),
        #[cfg(feature = "cuda")]
        "cuda" => Device::cuda(name.split(':').nth(1).and_then(|i| i.parse::<usize>().ok()).unwrap_or(0)),
        #[cfg(feature = "tch")]
        "tch" => Device::default(),
        other if KNOWN.contains(&other) => {
            return Err(format!(
                "device `{other}` is not available in this build (available: {}); rebuild with `cargo build --release --features {other}` (see README, GPUs)",
                available().join(", ")
            ))
        }
        other => {
            return Err(format!(
                "no device `{other}`: this build has {}; lotto knows {} (`cuda:1` picks a GPU)",
                available().join(", "),
                KNOWN.join(", ")
            ))
        }
    };
    Ok(base.autodiff())
}

/// Whether a run on the device named `name` keeps its tensors in host
/// memory: flex, and tch, which opens LibTorch's CPU device (burn's
/// default `LibTorchDevice`). A GPU's memory is checked apart from it.
pub fn memory_is_host(name: &str) -> bool {
    matches!(kind(name), "flex" | "cpu" | "tch")
}

/// Whether tensors on `device` live in host memory (flex), where reading
/// them back is a cheap copy rather than a device transfer.
pub fn is_host(device: &Device) -> bool {
    device.clone().inner() == Device::flex()
}

pub use gemm::{force_isa, isa, supported_isas, Isa, Kernels};

/// Chooses the CPU's matrix-product kernels for the rest of the process:
/// portable (the same bits on every CPU) or native (gemm's, tuned to this
/// CPU). See docs/cpu.md.
pub fn set_kernels(k: Kernels) {
    gemm::set_kernels(k)
}

/// The CPU's matrix-product kernels now.
pub fn kernels() -> Kernels {
    gemm::kernels()
}

/// What numeric results depend on besides the recipe, as keys and locks
/// name it: the device kind and dtype, and on the CPU the portable kernels
/// (`flex/f32/portable`). Native CPU kernels keep the plain `flex/f32`
/// that every CPU result had before the portable kernels existed, so a
/// store's native results stay reachable with `--kernels native`.
pub fn numerics(kind: &str) -> String {
    match (kind, kernels()) {
        ("flex" | "cpu", Kernels::Portable) => "flex/f32/portable".into(),
        ("flex" | "cpu", Kernels::Native) => "flex/f32".into(),
        (other, _) => format!("{other}/f32"),
    }
}

/// The CPU kernels a lock's or key's numerics name, if they are the CPU's.
pub fn kernels_of(numerics: &str) -> Option<Kernels> {
    match numerics {
        "flex/f32/portable" => Some(Kernels::Portable),
        "flex/f32" => Some(Kernels::Native),
        _ => None,
    }
}

/// How the portable kernels run here: the instruction set (their speed
/// only; every one gives the same bits) and the threads.
pub fn portable_kernels() -> String {
    format!("portable kernels on {}", gemm::isa().name())
}

/// What decides the float rounding of the native kernels' products besides
/// our code: the kernel family gemm picks at run time (avx512f, fma, neon
/// or scalar) and the L1 data cache, from which gemm derives how deep its
/// blocks of the summed dimension are (32 KiB 8-way and 48 KiB 12-way
/// caches give different depths, so different partial sums). Two CPUs
/// that agree on this string give the native kernels' results bit for
/// bit; native locks record it so `lotto verify` can say why numbers differ
/// elsewhere. The portable kernels depend on none of it.
pub fn cpu_numerics() -> String {
    let l1 = gemm_common::cache::CACHE_INFO[0];
    format!(
        "{} {}, L1d {} KiB {}-way",
        std::env::consts::ARCH,
        gemm_family(),
        l1.cache_bytes / 1024,
        l1.associativity
    )
}

/// The kernel family gemm 0.19 dispatches native f32 products to on this
/// CPU (its `init_gemm_fn`): AVX-512 when built with the `avx512` feature
/// and the CPU has it, else FMA (AVX2), NEON or scalar.
fn gemm_family() -> &'static str {
    #[cfg(all(feature = "avx512", any(target_arch = "x86", target_arch = "x86_64")))]
    if std::arch::is_x86_feature_detected!("avx512f") {
        return "avx512f";
    }
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if std::arch::is_x86_feature_detected!("fma") {
        return "fma";
    }
    #[cfg(target_arch = "aarch64")]
    if std::arch::is_aarch64_feature_detected!("neon") {
        return "neon";
    }
    "scalar"
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_numerics_names_the_kernels_and_the_l1_cache() {
        let s = super::cpu_numerics();
        assert!(s.starts_with(std::env::consts::ARCH), "{s}");
        assert!(s.contains(", L1d ") && s.ends_with("-way"), "{s}");
    }

    #[test]
    fn numerics_name_the_cpu_kernels_and_read_back() {
        use super::{kernels_of, numerics, Kernels};
        assert_eq!(numerics("vulkan"), "vulkan/f32");
        assert_eq!(kernels_of("vulkan/f32"), None);
        // The process-wide default is portable (no test here changes it).
        assert_eq!(super::kernels(), Kernels::Portable);
        assert_eq!(numerics("flex"), "flex/f32/portable");
        assert_eq!(kernels_of("flex/f32/portable"), Some(Kernels::Portable));
        assert_eq!(kernels_of("flex/f32"), Some(Kernels::Native));
    }
}
