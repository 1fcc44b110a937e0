//! Resident memory of this process, for benchmarks that run each case in
//! a process of its own (Linux `/proc/self`).

use std::time::Instant;

/// Peak and current resident memory (VmHWM, VmRSS) in bytes.
pub fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Resets the peak (Linux: `5` to clear_refs) so the next reading is the
/// peak of what follows.
pub fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Bytes in MiB.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 20) as f64
}

/// Times `f` and the memory it took beyond what was resident before (in
/// MiB): run in a process of its own, where nothing freed earlier is kept
/// for reuse by the allocator.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, f64, f64) {
    reset_peak();
    let before = rss().1;
    let t0 = Instant::now();
    let out = f();
    let secs = t0.elapsed().as_secs_f64();
    (out, secs, mib(rss().0.saturating_sub(before)))
}
