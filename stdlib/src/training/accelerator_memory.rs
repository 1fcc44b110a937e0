//! The free memory of the GPU a training run is about to use, so that a
//! step that cannot fit is refused before the run starts rather than
//! failing at its first batch (or, on a cluster, after hours in a queue).
//!
//! burn 0.22 has no portable query for a device's free memory, so lotto
//! asks the driver's own tool: `nvidia-smi`, for either GPU device kind
//! on an NVIDIA GPU (cuda, and vulkan on NVIDIA's driver). The GPU is the
//! one the device name picks (`cuda:1` → the second visible GPU), mapped
//! through `CUDA_VISIBLE_DEVICES` the way CUDA maps it, because nvidia-smi
//! itself lists every GPU of the machine. Where the query cannot answer
//! (another vendor, no nvidia-smi on PATH), the run says that its memory
//! is not checked and how to have it checked (`LOTTO_DEVICE_MEMORY`).

use std::path::Path;
use std::process::Command;

/// The free memory, in bytes, of the GPU that the device name `device`
/// picks, as `smi` (the nvidia-smi program) reports it; an error says why
/// there is no answer.
pub fn free_bytes(smi: &Path, device: &str) -> Result<u64, String> {
    let visible = std::env::var("CUDA_VISIBLE_DEVICES").ok();
    query(smi, &gpu_id(visible.as_deref(), gpu_index(device)?)?)
}

/// nvidia-smi's free memory of GPU `id` (an index or a UUID), in bytes.
fn query(smi: &Path, id: &str) -> Result<u64, String> {
    let out = Command::new(smi)
        .args([
            "--query-gpu=memory.free",
            "--format=csv,noheader,nounits",
            &format!("--id={id}"),
        ])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", smi.display()))?;
    if !out.status.success() {
        // The first line nvidia-smi printed on either stream says why.
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        let said = text.lines().find(|l| !l.trim().is_empty());
        return Err(format!(
            "{} --id={id} failed ({}){}",
            smi.display(),
            out.status,
            said.map(|l| format!(": {}", l.trim())).unwrap_or_default()
        ));
    }
    parse_free_mib(&String::from_utf8_lossy(&out.stdout))
        .map(|mib| mib * 1024 * 1024)
        .ok_or_else(|| {
            format!(
                "{} --id={id} printed no free memory in MiB: `{}`",
                smi.display(),
                String::from_utf8_lossy(&out.stdout).trim()
            )
        })
}

/// The GPU nvidia-smi calls what CUDA calls visible device `index`: the
/// `index`-th entry of `CUDA_VISIBLE_DEVICES` (an index or a UUID) when
/// that is set, else `index` itself.
fn gpu_id(visible: Option<&str>, index: usize) -> Result<String, String> {
    let Some(list) = visible.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(index.to_string());
    };
    let ids: Vec<&str> = list.split(',').map(str::trim).collect();
    ids.get(index).map(|id| id.to_string()).ok_or_else(|| {
        format!(
            "the run asks for GPU {index}, but CUDA_VISIBLE_DEVICES=`{list}` makes {} visible",
            ids.len()
        )
    })
}

/// nvidia-smi's `memory.free` in MiB (`csv,noheader,nounits`: one number).
fn parse_free_mib(out: &str) -> Option<u64> {
    out.lines().next()?.trim().parse().ok()
}

/// The visible GPU a device name picks: `cuda:1` → 1, `cuda` → 0.
fn gpu_index(device: &str) -> Result<usize, String> {
    match device.split_once(':') {
        None => Ok(0),
        Some((_, i)) => i
            .parse()
            .map_err(|_| format!("device `{device}`: `{i}` is not a GPU number")),
    }
}

/// nvidia-smi on PATH, if there is one.
pub fn find_smi() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("nvidia-smi"))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn visible_devices_map_to_nvidia_smi_ids() {
        assert_eq!(gpu_id(None, 1).unwrap(), "1");
        assert_eq!(gpu_id(Some(""), 0).unwrap(), "0");
        assert_eq!(gpu_id(Some("2,3"), 1).unwrap(), "3");
        assert_eq!(gpu_id(Some("GPU-5d1c, GPU-77ab"), 0).unwrap(), "GPU-5d1c");
        let e = gpu_id(Some("2"), 1).unwrap_err();
        assert!(e.contains("GPU 1") && e.contains("`2`"), "{e}");
        assert_eq!(gpu_index("cuda:1").unwrap(), 1);
        assert_eq!(gpu_index("vulkan").unwrap(), 0);
        assert!(gpu_index("cuda:x").unwrap_err().contains("`x`"));
    }

    /// A stand-in for nvidia-smi that prints `stdout` and exits `code`.
    fn fake_smi(dir: &Path, stdout: &str, code: i32) -> std::path::PathBuf {
        let p = dir.join("nvidia-smi");
        std::fs::write(
            &p,
            format!("#!/bin/sh\necho \"$@\" >&2\nprintf '{stdout}'\nexit {code}\n"),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn free_memory_is_read_from_nvidia_smi() {
        let dir = tempfile::tempdir().unwrap();
        let smi = fake_smi(dir.path(), "80512\\n", 0);
        assert_eq!(query(&smi, "0").unwrap(), 80512 * 1024 * 1024);
        let smi = fake_smi(dir.path(), "[N/A]\\n", 0);
        assert!(query(&smi, "0").unwrap_err().contains("`[N/A]`"));
        let smi = fake_smi(dir.path(), "", 6);
        let e = query(&smi, "GPU-5d1c").unwrap_err();
        assert!(
            e.contains("--id=GPU-5d1c failed") && e.contains("--query-gpu=memory.free"),
            "{e}"
        );
    }
}
