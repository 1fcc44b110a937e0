//! Refusing a training run that cannot fit in memory before it starts.
//!
//! A step's peak is estimated from the architecture (`cost::StepMemory`)
//! for the batches the run will take, the longest utterances included
//! (batches are formed by length, so the last is the largest). It is
//! compared with the memory the run may use. On the CPU (flex, and tch,
//! which opens LibTorch's CPU device): `LOTTO_MEMORY`
//! when set (e.g. `16GB`: a scheduler's limit the kernel does not show),
//! else the smaller of the kernel's `MemAvailable` and the cgroup's
//! remaining `memory.max`. On a GPU: `LOTTO_DEVICE_MEMORY` when set, else
//! the GPU's free memory as nvidia-smi reports it (`accelerator_memory`);
//! where neither answers, the run says its memory is not checked. An
//! estimate above the limit fails the step at once (after a run out of
//! memory at epoch 3 the user would have lost hours); one within 1.5× of
//! it (`lotto bench scale` measures peaks of 1.3–1.6× the estimate) is
//! a warning.

use super::accelerator_memory;
use super::cost::StepMemory;
use crate::arch::Arch;
use crate::features::spec::Feats;

/// Measured peaks exceed the estimate by up to this factor.
const MARGIN: f64 = 1.5;

/// An error when the largest step cannot fit on `device` (a `--device`
/// name); a warning when it may not, or when the device's memory is not
/// known.
pub fn check(arch: &Arch, batches: &[Vec<&Feats>], device: &str) -> Result<Option<String>, String> {
    let env = |var: &str| std::env::var(var).ok();
    let limit = available(device, &env, &accelerator_memory::find_smi)?;
    verdict(arch, batches, device, limit)
}

/// What `check` says of the largest step given the limit it found.
fn verdict(
    arch: &Arch,
    batches: &[Vec<&Feats>],
    device: &str,
    limit: Limit,
) -> Result<Option<String>, String> {
    let Some((need, batch, frames)) = batches
        .iter()
        .map(|b| {
            let frames = b.iter().map(|f| f.frames).max().unwrap_or(0);
            let labels = b.iter().map(|f| f.text.chars().count()).max().unwrap_or(0);
            (
                StepMemory::of(arch, b.len(), frames, labels),
                b.len(),
                frames,
            )
        })
        .max_by_key(|(m, _, _)| m.total())
    else {
        return Ok(None);
    };
    let what = format!(
        "a training step on {batch} utterances of up to {frames} frames holds about {} \
         ({} parameter state, {} activations)",
        gb(need.total()),
        gb(need.state),
        gb(need.activations)
    );
    let (limit, source) = match limit {
        Limit::Known(bytes, source) => (bytes, source),
        Limit::Unknown(why) => {
            return Ok(Some(format!(
                "{what}; the memory of device `{device}` is not checked ({why}): set \
                 LOTTO_DEVICE_MEMORY (e.g. `80GB`) for lotto to refuse a step that cannot fit"
            )))
        }
        Limit::None => return Ok(None),
    };
    if need.total() > limit {
        return Err(format!(
            "{what}, more than the {} {source}; lower `batch`, drop long utterances \
             (`filter(corpus, max: 10s)`), or run where more memory is free",
            gb(limit)
        ));
    }
    Ok((need.total() as f64 * MARGIN > limit as f64).then(|| {
        format!(
            "{what}; peaks measure up to {MARGIN}x that, and {} {source}: it may run out of memory",
            gb(limit)
        )
    }))
}

fn gb(bytes: u64) -> String {
    super::cost::fmt_bytes(bytes as usize)
}

/// The memory a run may use and where that figure comes from; why it is
/// not known (a GPU nvidia-smi cannot tell about); or nothing to say (a
/// host without /proc).
#[derive(Debug, PartialEq)]
enum Limit {
    Known(u64, String),
    Unknown(String),
    None,
}

/// The memory a run on `device` may use, given the environment `env` and
/// where nvidia-smi is (`smi`; asked only for a GPU).
fn available(
    device: &str,
    env: &dyn Fn(&str) -> Option<String>,
    smi: &dyn Fn() -> Option<std::path::PathBuf>,
) -> Result<Limit, String> {
    let host = crate::device::memory_is_host(device);
    let var = if host {
        "LOTTO_MEMORY"
    } else {
        "LOTTO_DEVICE_MEMORY"
    };
    if let Some(v) = env(var) {
        return match parse_size(&v) {
            Some(b) => Ok(Limit::Known(b, format!("{var} allows"))),
            None => Err(format!(
                "{var}=`{v}` is not a size: write bytes or e.g. `16GB`, `512MB`"
            )),
        };
    }
    if host {
        return Ok(host_available().map_or(Limit::None, |(b, s)| Limit::Known(b, s.into())));
    }
    let Some(smi) = smi() else {
        return Ok(Limit::Unknown("no nvidia-smi on PATH".into()));
    };
    Ok(match accelerator_memory::free_bytes(&smi, device) {
        Ok(b) => Limit::Known(b, "free on the GPU (nvidia-smi)".into()),
        Err(e) => Limit::Unknown(e),
    })
}

/// The smaller of `MemAvailable` and the cgroup's remaining limit.
fn host_available() -> Option<(u64, &'static str)> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let avail = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())?
        * 1024;
    let cgroup = || -> Option<u64> {
        let read = |f: &str| std::fs::read_to_string(format!("/sys/fs/cgroup/{f}")).ok();
        let max = read("memory.max")?.trim().parse::<u64>().ok()?;
        let current = read("memory.current")?.trim().parse::<u64>().ok()?;
        Some(max.saturating_sub(current))
    };
    Some(match cgroup() {
        Some(c) if c < avail => (c, "the cgroup's memory.max leaves"),
        _ => (avail, "this machine has available"),
    })
}

/// `16GB`, `512MB`, `2.5G` or a byte count.
fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_uppercase();
    let s = s.strip_suffix('B').unwrap_or(&s);
    let (num, scale) = match s.chars().last()? {
        'K' => (&s[..s.len() - 1], 1e3),
        'M' => (&s[..s.len() - 1], 1e6),
        'G' => (&s[..s.len() - 1], 1e9),
        'T' => (&s[..s.len() - 1], 1e12),
        _ => (s, 1.0),
    };
    let v: f64 = num.trim().parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some((v * scale) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("16GB"), Some(16_000_000_000));
        assert_eq!(parse_size("512mb"), Some(512_000_000));
        assert_eq!(parse_size("2.5G"), Some(2_500_000_000));
        assert_eq!(parse_size("1000"), Some(1000));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("-1GB"), None);
    }

    fn env_with(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |var| {
            pairs
                .iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn a_gpu_run_takes_its_limit_from_lotto_device_memory_or_nvidia_smi() {
        let no_smi = || None;
        let gpu_env = env_with(&[("LOTTO_DEVICE_MEMORY", "80GB"), ("LOTTO_MEMORY", "1GB")]);
        assert_eq!(
            available("cuda:1", &gpu_env, &no_smi).unwrap(),
            Limit::Known(80_000_000_000, "LOTTO_DEVICE_MEMORY allows".into())
        );
        let host_env = env_with(&[("LOTTO_MEMORY", "1GB")]);
        for host in ["flex", "tch"] {
            assert_eq!(
                available(host, &host_env, &no_smi).unwrap(),
                Limit::Known(1_000_000_000, "LOTTO_MEMORY allows".into())
            );
        }
        let bad = env_with(&[("LOTTO_DEVICE_MEMORY", "lots")]);
        let e = available("vulkan", &bad, &no_smi).unwrap_err();
        assert!(e.contains("LOTTO_DEVICE_MEMORY=`lots`"), "{e}");
        let none = env_with(&[]);
        assert_eq!(
            available("cuda", &none, &no_smi).unwrap(),
            Limit::Unknown("no nvidia-smi on PATH".into())
        );
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("nvidia-smi");
        std::fs::write(&fake, "#!/bin/sh\necho 1024\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let smi = || Some(fake.clone());
        assert_eq!(
            available("cuda", &none, &smi).unwrap(),
            Limit::Known(1 << 30, "free on the GPU (nvidia-smi)".into())
        );
    }

    #[test]
    fn a_step_beyond_the_limit_is_refused_and_an_unknown_limit_said() {
        let arch = crate::arch::tiny_cnn_lstm(8);
        let feats = Feats {
            id: "u".into(),
            text: "go up".into(),
            frames: 1500,
            data: vec![0.0; 1500 * 8],
        };
        let batches = vec![vec![&feats, &feats]];
        let need = StepMemory::of(&arch, 2, 1500, 5).total();
        let known = |b: u64| Limit::Known(b, "LOTTO_DEVICE_MEMORY allows".into());
        let e = verdict(&arch, &batches, "cuda", known(need - 1)).unwrap_err();
        assert!(
            e.contains("2 utterances of up to 1500 frames") && e.contains("lower `batch`"),
            "{e}"
        );
        let w = verdict(&arch, &batches, "cuda", known(need + 1))
            .unwrap()
            .unwrap();
        assert!(w.contains("may run out of memory"), "{w}");
        assert_eq!(
            verdict(&arch, &batches, "cuda", known(2 * need)).unwrap(),
            None
        );
        let w = verdict(
            &arch,
            &batches,
            "cuda",
            Limit::Unknown("no nvidia-smi on PATH".into()),
        )
        .unwrap()
        .unwrap();
        assert!(
            w.contains("device `cuda` is not checked (no nvidia-smi on PATH)"),
            "{w}"
        );
        assert_eq!(verdict(&arch, &batches, "flex", Limit::None).unwrap(), None);
    }
}
