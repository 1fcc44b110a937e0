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
        other => {
            return Err(format!(
                "device `{other}` is not available in this build (available: {}); rebuild with `cargo build --release --features {other}` (see README, GPUs)",
                available().join(", ")
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
