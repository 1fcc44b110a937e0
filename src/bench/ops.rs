//! `lotto bench ops`: the paper's models at full size through every op a
//! paper recipe uses, as a user runs them: `pipelines/scale/MODEL.lotto`
//! (fit, IMP global and layer-wise, 1x4 blocks, 2:4, late rewinding to a
//! step, early-bird, random pruning, random tickets, transfer, greedy and
//! beam-search WER, export) on 15 s utterances from the bundled corpus
//! (`long_utterances`). Each step runs as `lotto exec-step`, in a process
//! of its own as a Slurm job runs it: its peak resident memory is the
//! kernel's account of that process (`wait4`), the seconds of its
//! training steps and pruning rounds come from its `lotto::timing` log.
//!
//! A step that nothing later in the recipe reads is dropped from the
//! recipe and collected (`lotto gc`) once measured, so the store holds a
//! few rounds' weights at a time (an RNN-T round publishes about 2 GB).

use super::long_utterances::Bundled;
use super::rss::mib;
use lotto_stdlib::arch::Arch;
use lotto_stdlib::training::cost::{StepMemory, PLAN_SECONDS};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The environment variable that names a folder for the bench's
/// workspace, kept afterwards (the corpus, the recipes and each step's
/// log; each model's store is removed once measured, as it is several
/// GB), instead of a temporary one.
const WORKSPACE: &str = "LOTTO_BENCH_OPS_WORKSPACE";

/// The scale recipes, one per paper model (`pipelines/scale/NAME.lotto`).
pub const MODELS: [&str; 4] = ["cnn_lstm", "conformer", "efficient_conformer", "rnnt"];

/// The scale corpus's lists and the long utterances each holds
/// (`Bundled::utterance` numbers: no recording starts two of them).
const LISTS: [(&str, &[usize]); 5] = [
    ("train", &[0, 1]),
    ("dev", &[2]),
    ("test", &[3]),
    ("other", &[4, 5]),
    ("other_dev", &[6]),
];

/// Writes the corpus `pipelines/scale/data.lotto` reads into `dir`
/// (`data/scale/` of a workspace): WAV files and one manifest per list.
pub fn write_corpus(repo: &Path, dir: &Path) -> Result<(), String> {
    let corpus = Bundled::open(repo)?;
    std::fs::create_dir_all(dir.join("audio")).map_err(|e| e.to_string())?;
    for (list, ids) in LISTS {
        let mut tsv = String::from("path\ttranscript\tspeaker\n");
        for &i in ids {
            let (audio, text) = corpus.utterance(i)?;
            let name = format!("audio/long{i}.wav");
            lotto_stdlib::audio::write_wav(&dir.join(&name), &audio)?;
            tsv.push_str(&format!("{name}\t{text}\tspeaker{i}\n"));
        }
        std::fs::write(dir.join(format!("{list}.tsv")), tsv).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// One row of `lotto plan --format json`.
#[derive(serde::Deserialize)]
struct PlanRow {
    name: String,
    op: String,
    key: Option<String>,
    status: String,
}

/// What one step took.
pub struct Measured {
    pub name: String,
    pub op: String,
    pub seconds: f64,
    pub peak: u64,
    /// Seconds of each optimizer step, in order.
    pub train_steps: Vec<f64>,
    /// Seconds of each pruning (a round's mask, or an early-bird candidate).
    pub prunings: Vec<f64>,
}

/// A scale recipe in a workspace of its own, with the scale corpus.
pub struct ScaleRun {
    exe: PathBuf,
    ws: PathBuf,
    store: PathBuf,
    recipe: PathBuf,
    /// The recipe as `pipelines/scale/` has it (the copy loses bindings
    /// as they are measured).
    original: PathBuf,
    /// The command line's device and kernel options, for every step.
    options: Vec<String>,
}

impl ScaleRun {
    /// Copies `pipelines/scale/{data,MODEL}.lotto` from `repo` into the
    /// workspace `ws`, whose `data/scale/` holds the corpus.
    pub fn new(
        exe: &Path,
        repo: &Path,
        ws: &Path,
        model: &str,
        options: &[String],
    ) -> Result<ScaleRun, String> {
        let dir = ws.join("pipelines/scale");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let run = ScaleRun {
            exe: exe.to_path_buf(),
            ws: ws.to_path_buf(),
            store: ws.join(format!("store-{model}")),
            recipe: dir.join(format!("{model}.lotto")),
            original: repo.join(format!("pipelines/scale/{model}.lotto")),
            options: options.to_vec(),
        };
        let data = repo.join("pipelines/scale/data.lotto");
        std::fs::copy(&data, dir.join("data.lotto"))
            .map_err(|e| format!("{}: {e}", data.display()))?;
        run.restore()?;
        Ok(run)
    }

    /// Puts the whole recipe back in the workspace.
    pub fn restore(&self) -> Result<(), String> {
        std::fs::copy(&self.original, &self.recipe)
            .map(drop)
            .map_err(|e| format!("{}: {e}", self.original.display()))
    }

    fn lotto(&self) -> Command {
        let mut c = Command::new(&self.exe);
        c.arg("--workspace")
            .arg(&self.ws)
            .arg("--store")
            .arg(&self.store)
            .args(&self.options);
        c
    }

    /// The first step in the plan's order that is not published yet (its
    /// inputs are, as they come before it).
    fn next_step(&self) -> Result<Option<PlanRow>, String> {
        let out = self
            .lotto()
            .arg("plan")
            .arg(&self.recipe)
            .args(["--format", "json"])
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!("plan: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let rows: Vec<PlanRow> =
            serde_json::from_slice(&out.stdout).map_err(|e| format!("plan: {e}"))?;
        Ok(rows.into_iter().find(|r| r.status != "Cached"))
    }

    /// Runs every step of the recipe in order, each in a process of its
    /// own; `each` sees each step's figures as it ends.
    pub fn run(&self, mut each: impl FnMut(&Measured)) -> Result<(), String> {
        let logs = self.ws.join("logs");
        std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
        while let Some(row) = self.next_step()? {
            let key = row
                .key
                .ok_or_else(|| format!("step `{}` has no key in the plan", row.name))?;
            let log = logs.join(format!("{key}.log"));
            let file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
            let err = file.try_clone().map_err(|e| e.to_string())?;
            let mut cmd = self.lotto();
            cmd.arg("exec-step")
                .arg(&self.recipe)
                .args(["--key", &key])
                .env("RUST_LOG", "warn,lotto::timing=debug")
                .stdout(file)
                .stderr(err);
            let (ok, seconds, peak) = run_to_end(&mut cmd)?;
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if !ok {
                let tail: Vec<&str> = text.lines().rev().take(20).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                return Err(format!(
                    "step `{}` ({}) failed:\n{}",
                    row.name,
                    row.op,
                    tail.join("\n")
                ));
            }
            let m = Measured {
                name: row.name,
                op: row.op,
                seconds,
                peak,
                train_steps: timings(&text, "train step"),
                prunings: timings(&text, "pruning"),
            };
            each(&m);
            if self.drop_if_unread(&m.name)? {
                self.gc()?;
            }
        }
        Ok(())
    }

    /// Removes the binding of `name` from the recipe when it is one line
    /// and no other line reads it; true if it did.
    fn drop_if_unread(&self, name: &str) -> Result<bool, String> {
        let text = std::fs::read_to_string(&self.recipe).map_err(|e| e.to_string())?;
        let lines: Vec<&str> = text.lines().collect();
        let binds = |l: &str| {
            let mut w = l.split_whitespace();
            w.next().is_some() && w.next() == Some(name) && w.next() == Some("=")
        };
        let Some(at) = lines.iter().position(|l| binds(l)) else {
            return Ok(false);
        };
        let one_line = lines[at].matches('(').count() == lines[at].matches(')').count();
        let read = lines
            .iter()
            .enumerate()
            .any(|(i, l)| i != at && !l.trim_start().starts_with('#') && mentions(l, name));
        if !one_line || read {
            return Ok(false);
        }
        let kept: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != at)
            .map(|(_, l)| *l)
            .collect();
        std::fs::write(&self.recipe, kept.join("\n") + "\n").map_err(|e| e.to_string())?;
        Ok(true)
    }

    fn gc(&self) -> Result<(), String> {
        let out = self.lotto().arg("gc").output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!("gc: {}", String::from_utf8_lossy(&out.stderr)));
        }
        Ok(())
    }
}

/// Whether `line` names `name` as a whole word.
fn mentions(line: &str, name: &str) -> bool {
    line.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|w| w == name)
}

/// The seconds of each `lotto::timing` event `what` in a log.
fn timings(log: &str, what: &str) -> Vec<f64> {
    let tag = format!("lotto::timing: {what} ");
    log.lines()
        .filter(|l| l.contains(&tag))
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("seconds="))
                .and_then(|v| v.parse().ok())
        })
        .collect()
}

/// Runs `cmd` to its end: whether it succeeded, its wall seconds and its
/// peak resident memory in bytes (the kernel's account of the process,
/// which a child cannot report about itself once it has exited).
fn run_to_end(cmd: &mut Command) -> Result<(bool, f64, u64), String> {
    let t0 = Instant::now();
    let child = cmd.spawn().map_err(|e| e.to_string())?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain integers, for which all zeroes is valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: waits for this process's own child, writing only into
        // the two locals it is given.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("waiting for a step's process: {e}"));
        }
    }
    // Reaped above: dropping the handle neither waits nor kills.
    drop(child);
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    // Linux gives ru_maxrss in KiB.
    Ok((
        ok,
        t0.elapsed().as_secs_f64(),
        usage.ru_maxrss as u64 * 1024,
    ))
}

fn median(v: &[f64]) -> Option<f64> {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// A step's figures as one table row.
pub fn row(m: &Measured) -> String {
    let steps = match median(&m.train_steps) {
        Some(s) => format!("{:>3} × {s:6.2} s", m.train_steps.len()),
        None => "-".into(),
    };
    let prunes = match m.prunings.iter().copied().reduce(f64::max) {
        Some(p) => format!("{:>3}, ≤ {p:5.2} s", m.prunings.len()),
        None => "-".into(),
    };
    format!(
        "| {} | {} | {:.1} s | {:.0} MiB | {steps} | {prunes} |",
        m.name,
        m.op,
        m.seconds,
        mib(m.peak)
    )
}

/// `lotto bench ops`: every scale recipe of `models` in a fresh
/// workspace, one table per model; `options` (`--device`, `--kernels`)
/// go to every step.
pub fn run(exe: &Path, repo: &Path, models: &[String], options: &[String]) -> Result<(), String> {
    let models: Vec<String> = if models.is_empty() {
        MODELS.iter().map(|m| m.to_string()).collect()
    } else {
        models.to_vec()
    };
    let paper = lotto_stdlib::models::paper_models()?;
    if let Some(m) = models.iter().find(|m| !MODELS.contains(&m.as_str())) {
        return Err(format!(
            "no scale recipe for `{m}`: pick from {}",
            MODELS.join(", ")
        ));
    }
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let ws = match std::env::var_os(WORKSPACE) {
        Some(dir) => PathBuf::from(dir),
        None => tmp.path().to_path_buf(),
    };
    write_corpus(repo, &ws.join("data/scale"))?;
    println!(
        "Every op of pipelines/scale/MODEL.lotto at the paper's sizes on {PLAN_SECONDS:.0} s utterances, \
         batch 1, 2 optimizer steps per training; each step in a process of its own: \
         its time, its peak resident memory, its optimizer steps (count × median seconds) \
         and prunings (count, slowest); options: {}\nworkspace: {} ({})",
        options.join(" "),
        ws.display(),
        if ws == tmp.path() {
            "removed at the end; a bench killed midway leaves it, several GB, to remove by hand"
        } else {
            "kept"
        }
    );
    for model in &models {
        let Some((_, arch)) = paper.iter().find(|(n, _)| n == model) else {
            return Err(format!("`{model}` is not among the paper models"));
        };
        println!("\n{model}: {}", estimate(arch));
        println!(
            "| step | op | time | peak | optimizer steps | prunings |\n|---|---|---:|---:|---|---|"
        );
        let run = ScaleRun::new(exe, repo, &ws, model, options)?;
        run.run(|m| println!("{}", row(m)))?;
        run.restore()?;
        let _ = std::fs::remove_dir_all(&run.store);
    }
    Ok(())
}

/// What `lotto plan` computes for a training step of `arch` on one 15 s
/// utterance, to read the peaks against.
pub fn estimate(arch: &Arch) -> String {
    // Both paper feature sets hop 10 ms: 100 frames a second.
    let m = StepMemory::planned(arch, 1, 100.0);
    format!(
        "{:.1}M parameters; a training step on one {PLAN_SECONDS:.0} s utterance is estimated at {:.0} MiB \
         ({:.0} state + {:.0} activations)",
        arch.num_params() as f64 / 1e6,
        mib(m.total()),
        mib(m.state),
        mib(m.activations)
    )
}
