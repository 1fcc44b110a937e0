//! `lotto bench`: benchmarks that print figures (never timed tests), each
//! side by side with its peer where one is installed.
//! - `check`: `lotto check` as a whole process on every recipe in
//!   `pipelines/` and on a generated 10,000-line recipe.
//! - `resume`: no-op resume of a fully cached 200+-step recipe.
//! - `train`: one DS2-small train step, beside PyTorch (bench/ds2_torch.py).
//! - `audio`: decode + spectrogram of the bundled WAVs, beside librosa.
//! - `kernels`: the portable matrix-product kernels beside gemm's native
//!   ones on the train step's shapes.
//! - `early-bird`: early-bird tickets against plain IMP on the toy recipe.
//! - `prune`: one pruning round at the paper's model sizes, time and peak
//!   memory, beside pruning by sorting every unit.
//! - `scale`: the paper's models at full size through training steps on
//!   15 s utterances (time per step and peak memory, beside the memory
//!   `lotto plan` estimates), decoding and export.
//! - `ops`: the paper's models at full size through every op of
//!   `pipelines/scale/`, each step in a process of its own (time, peak
//!   memory, seconds per optimizer step and per pruning).

pub mod audio;
pub mod check;
pub mod early_bird;
pub mod kernels;
pub mod long_utterances;
pub mod ops;
pub mod prune;
pub mod resume;
pub mod rss;
pub mod scale;
pub mod torch;
pub mod train;

use std::path::Path;
use std::time::{Duration, Instant};

/// Whether `python3 -c 'import MODULE'` works, so a peer benchmark can
/// run; says how to get it when it does not.
pub fn python_has(module: &str, peer: &str) -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        println!("{peer} peer skipped: `python3 -c 'import {module}'` fails (pip install {module} to compare)");
    }
    ok
}

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// `runs` runs of `exe args` in `dir`, each a new process, as a user runs
/// it: the median time and the last run's standard output. A run that
/// fails is an error carrying its standard error.
pub fn time_process(
    exe: &Path,
    dir: &Path,
    args: &[&str],
    runs: usize,
) -> Result<(Duration, String), String> {
    let mut times = vec![];
    let mut out = String::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        let o = std::process::Command::new(exe)
            .current_dir(dir)
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        times.push(t0.elapsed());
        if !o.status.success() {
            return Err(String::from_utf8_lossy(&o.stderr).to_string());
        }
        out = String::from_utf8_lossy(&o.stdout).to_string();
    }
    Ok((median(times), out))
}

/// Runs `lotto bench WHAT` as a child process with `var=case` (the
/// benchmarks that run each case in a process of its own) and returns the
/// numbers it printed.
pub fn case_figures(exe: &Path, what: &str, var: &str, case: &str) -> Result<Vec<f64>, String> {
    let out = std::process::Command::new(exe)
        .args(["bench", what])
        .env(var, case)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("{case}: {}", String::from_utf8_lossy(&out.stderr)));
    }
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|x| x.parse::<f64>().map_err(|e| format!("{case}: {e}")))
        .collect()
}
