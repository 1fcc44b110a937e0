//! `lotto check` as a user runs it, a whole process per run: on every
//! recipe in `pipelines/` (target ≤ 20 ms each) and on a generated
//! 10,000-line recipe (target ≤ 200 ms), with the in-process parse and
//! check of the big one for where its time goes.

use super::{median, ms, time_process};
use lotto_interpreter::check::{check_source, CheckOpts};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Runs of each figure: one run is milliseconds and a shared machine's
/// speed drifts within a minute; the median of 21 is steady.
const RUNS: usize = 21;

/// A recipe of `lines` lines: a corpus, sweeps and many chained steps.
pub fn big_recipe(lines: usize) -> String {
    let mut s = String::from("# generated benchmark recipe\nparam seed = 1\ncorpus c0 = manifest(\"data/tiny/manifest.tsv\")\nfeatures f = fbank(mels: 40, window: 25ms, hop: 10ms)\n");
    let mut i = 1;
    let mut n = s.lines().count();
    while n < lines {
        if i % 10 == 0 {
            s.push_str(&format!(
                "# block {i}\nsplit a{i}, b{i} = c{}.split(60%, 40%, seed: seed)\n",
                i - 1
            ));
            s.push_str(&format!("corpus c{i} = take(a{i}, n: {i})\n"));
            n += 3;
        } else {
            s.push_str(&format!(
                "corpus c{i} = filter(c{}, min: 1s, max: {}s)\n",
                i - 1,
                10 + i % 7
            ));
            n += 1;
        }
        i += 1;
    }
    s
}

/// `f` timed `RUNS` times, as its median.
fn timed<T>(mut f: impl FnMut() -> T) -> Duration {
    let times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t0 = Instant::now();
            let out = f();
            let dt = t0.elapsed();
            drop(out);
            dt
        })
        .collect();
    median(times)
}

fn recipes(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            recipes(&p, out);
        } else if p.extension().is_some_and(|e| e == "lotto") {
            out.push(p);
        }
    }
}

pub fn run(exe: &Path, ws: &Path, reg: &lotto_interpreter::Registry) -> Result<(), String> {
    let mut files = vec![];
    recipes(&ws.join("pipelines"), &mut files);
    if files.is_empty() {
        return Err("run from the repository root (no pipelines/)".into());
    }
    let mut worst = Duration::ZERO;
    for f in &files {
        let rel = f.strip_prefix(ws).unwrap_or(f).display().to_string();
        let (t, _) = time_process(exe, ws, &["check", &rel], RUNS)?;
        worst = worst.max(t);
        println!("  lotto check {rel}: median {}", ms(t));
    }
    println!(
        "lotto check of each of {} recipe(s) in pipelines/, whole process, median of {RUNS}: at most {} (target ≤ 20 ms)",
        files.len(),
        ms(worst)
    );
    let text = big_recipe(10_000);
    let dir = std::env::temp_dir().join(format!("lotto-bench-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("big.lotto"), &text).map_err(|e| e.to_string())?;
    let process = time_process(exe, &dir, &["check", "big.lotto"], RUNS);
    let _ = std::fs::remove_dir_all(&dir);
    let (t, out) = process?;
    println!(
        "lotto check of a generated {}-line recipe ({}), whole process, median of {RUNS}: {} (target ≤ 200 ms)",
        text.lines().count(),
        out.trim(),
        ms(t)
    );
    let parse = timed(|| lotto_interpreter::parse::parse(0, &text));
    let check = timed(|| check_source("big.lotto", &text, ws, reg, &CheckOpts::default()).is_ok());
    println!(
        "  of which, in process: parse {} and parse + check {}",
        ms(parse),
        ms(check)
    );
    Ok(())
}
