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

/// Whether tensors on `device` live in host memory (flex), where reading
/// them back is a cheap copy rather than a device transfer.
pub fn is_host(device: &Device) -> bool {
    device.clone().inner() == Device::flex()
}

/// What decides the float rounding of matrix products on the CPU besides
/// our code: the kernel family gemm picks at run time (avx512f, fma, neon
/// or scalar) and the L1 data cache, from which gemm derives how deep its
/// blocks of the summed dimension are (32 KiB 8-way and 48 KiB 12-way
/// caches give different depths, so different partial sums). Two CPUs
/// that agree on this string give flex's results bit for bit; locks
/// record it so `lotto verify` can say why numbers differ elsewhere.
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

/// The kernel family gemm 0.19 dispatches f32 products to on this CPU
/// (its `init_gemm_fn`): AVX-512 when built with the `avx512` feature and
/// the CPU has it, else FMA (AVX2), NEON or scalar.
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
}
