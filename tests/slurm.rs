//! The Slurm executor against a real single-node Slurm on localhost
//! (`tests/slurm/local-slurm.sh`; `.ci/run` installs it). Without Slurm the
//! test says it is skipped, unless LOTTO_REQUIRE_SLURM=1 (as in CI), when
//! the missing Slurm is a failure.

mod common;

use common::{repo, Out, Ws};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A private slurmctld + slurmd, stopped when dropped.
struct Cluster {
    dir: tempfile::TempDir,
}

impl Cluster {
    fn up() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let st = Command::new(repo().join("tests/slurm/local-slurm.sh"))
            .arg("up")
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(st.success(), "local Slurm did not start");
        Cluster { dir }
    }
    fn conf(&self) -> PathBuf {
        self.dir.path().join("slurm.conf")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("tests/slurm/local-slurm.sh"))
            .arg("down")
            .arg(self.dir.path())
            .status();
    }
}

fn have_slurm() -> bool {
    ["sbatch", "slurmctld", "slurmd"].iter().all(|p| {
        Command::new("sh")
            .args(["-c", &format!("command -v {p}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    })
}

const RECIPE: &str = r#"
param epochs = 1
corpus all = manifest("data/manifest.tsv")
split train, dev, test = all.split(0.5, 0.25, 0.25, seed: 1)
features mel = fbank(mels: 24, window: 25ms, hop: 10ms)
model m = cnn_lstm(kernels: [5x5], strides: [2x2], channels: 4, lstm: 1, hidden: 24)
train a = fit(m, train, dev, features: mel, epochs: epochs, batch: 4, seed: 1)
train b = fit(m, train, dev, features: mel, epochs: epochs, batch: 4, seed: 2)
eval results = wer([a, b], on: [test])
report "out" = summary(results)
"#;

/// Recipe-level overrides: the ops' hints (4 CPUs, 8-16 GB) exceed this
/// 2-CPU node; `fit` also gets a time limit of its own.
const OVERRIDES: &str = "default: {cpus: 1, mem: 500M}\nops:\n  fit: {time: \"10\"}\n";

struct Env<'a> {
    ws: &'a Ws,
    conf: PathBuf,
}

impl Env<'_> {
    fn run(&self, args: &[&str]) -> Out {
        let mut c = self.ws.cmd(args);
        c.env("SLURM_CONF", &self.conf);
        Out(c.output().unwrap())
    }
    /// `lotto status` lines, as (state, step name, rest).
    fn status(&self, recipe: &str, set: &[&str]) -> Vec<(String, String, String)> {
        let mut args = vec!["status", recipe];
        args.extend_from_slice(set);
        let out = self.run(&args);
        out.success();
        out.stdout()
            .lines()
            .filter(|l| !l.starts_with(' ') && !l.contains(" step(s): "))
            .map(|l| {
                let (state, rest) = l.split_at(10.min(l.len()));
                let rest = rest.trim();
                let (name, more) = rest.split_once("  ").unwrap_or((rest, ""));
                (
                    state.trim().to_string(),
                    name.trim().to_string(),
                    more.trim().to_string(),
                )
            })
            .collect()
    }
    fn wait_for(&self, recipe: &str, set: &[&str], step: &str, state: &str) -> String {
        let t0 = Instant::now();
        loop {
            let st = self.status(recipe, set);
            if let Some(s) = st.iter().find(|s| s.1 == step && s.0 == state) {
                return s.2.clone();
            }
            assert!(
                t0.elapsed() < Duration::from_secs(120),
                "step `{step}` never became {state}: {st:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn job_count(conf: &Path) -> usize {
    let out = Command::new("squeue")
        .args(["-h", "-t", "all", "-o", "%i"])
        .env("SLURM_CONF", conf)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().count()
}

fn object_file(store: &Path, key_prefix: &str, name: &str) -> Vec<u8> {
    for e in std::fs::read_dir(store.join("objects")).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with(key_prefix) {
            return std::fs::read(e.path().join(name)).unwrap();
        }
    }
    panic!("no object {key_prefix} in {}", store.display());
}

fn key_of(ws: &Ws, store: &str, step: &str) -> String {
    let out = ws.run(&["--store", store, "plan", "r.lotto", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out.success().stdout()).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == step)
        .unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn steps_run_as_slurm_jobs_with_dag_dependencies_resubmit_and_cancel() {
    if !have_slurm() {
        assert!(
            std::env::var_os("LOTTO_REQUIRE_SLURM").is_none(),
            "LOTTO_REQUIRE_SLURM is set but Slurm is not installed (tests/slurm/local-slurm.sh install)"
        );
        eprintln!("skipped: Slurm is not installed (tests/slurm/local-slurm.sh install)");
        return;
    }
    let cluster = Cluster::up();
    let ws = Ws::with_data(4, 6);
    ws.write("r.lotto", RECIPE);
    ws.write("r.slurm.yaml", OVERRIDES);
    let env = Env {
        ws: &ws,
        conf: cluster.conf(),
    };

    // Fan-out (two fits) and fan-in (one eval), scheduled by Slurm.
    let out = env.run(&["run", "r.lotto", "--executor", "slurm"]);
    out.success();
    let text = out.stdout();
    assert!(text.contains("submitted 8 job(s)"), "{text}");
    let line = |step: &str| {
        text.lines()
            .find(|l| l.contains(&format!(" {step} (")))
            .unwrap_or_else(|| panic!("no job line for {step}: {text}"))
            .to_string()
    };
    let after = |step: &str| -> usize {
        line(step)
            .split("after ")
            .nth(1)
            .map(|s| s.split_whitespace().next().unwrap().split(':').count())
            .unwrap_or(0)
    };
    assert_eq!(after("all"), 0);
    assert_eq!(after("a"), 3, "{text}"); // m, mel, split
    assert_eq!(after("results"), 3, "{text}"); // split, a, b
    assert!(text.contains("8 job(s): 8 done, 0 failed"), "{text}");
    let show = ws.run(&["show", "r.lotto", "a"]);
    assert!(
        show.success().stdout().contains("job: slurm job "),
        "{}",
        show.stdout()
    );
    assert!(ws.path().join("out/summary.md").is_file());

    // The same recipe run locally gives byte-identical results.
    let local = ws.run(&["--store", "local", "run", "r.lotto"]);
    local.success();
    assert_eq!(local.ran().len(), 8);
    for (step, file) in [
        ("results", "eval.yaml"),
        ("a", "best.safetensors"),
        ("b", "best.safetensors"),
    ] {
        let k = key_of(&ws, "local", step);
        assert_eq!(k, key_of(&ws, ".lotto", step));
        assert_eq!(
            object_file(&ws.path().join(".lotto"), &k, file),
            object_file(&ws.path().join("local"), &k, file),
            "{step}/{file} differs between Slurm and local runs"
        );
    }

    // Fully cached: nothing is submitted.
    let before = job_count(&env.conf);
    let out = env.run(&["run", "r.lotto", "--executor", "slurm"]);
    assert!(out
        .success()
        .stdout()
        .contains("nothing to submit: all 8 step(s) are cached"));
    assert_eq!(job_count(&env.conf), before);

    // A job killed with scancel is finished by the rerun.
    let set = ["--set", "epochs=150"];
    let out = env.run(&[
        "run",
        "r.lotto",
        "--executor",
        "slurm",
        "--detach",
        "--only",
        "a",
        "--set",
        "epochs=150",
    ]);
    let text = out.success().stdout();
    assert!(text.contains("submitted 1 job(s)"), "{text}");
    let id = env.wait_for("r.lotto", &set, "a", "running");
    let id = id
        .split_whitespace()
        .skip_while(|w| *w != "job")
        .nth(1)
        .unwrap()
        .to_string();
    let st = Command::new("scancel")
        .arg(&id)
        .env("SLURM_CONF", &env.conf)
        .status()
        .unwrap();
    assert!(st.success());
    env.wait_for("r.lotto", &set, "a", "cancelled");
    let out = env.run(&[
        "run",
        "r.lotto",
        "--executor",
        "slurm",
        "--only",
        "a",
        "--set",
        "epochs=150",
    ]);
    let text = out.success().stdout();
    assert!(
        text.contains("submitted 1 job(s)") && text.contains("1 done"),
        "{text}"
    );
    assert!(env
        .status("r.lotto", &set)
        .iter()
        .any(|s| s.1 == "a" && s.0 == "cached"));

    // A failing step: its job fails, its dependents are cancelled, and
    // `lotto status` shows the job and the error from its log.
    let manifest = std::fs::read_to_string(ws.path().join("data/manifest.tsv")).unwrap();
    ws.write(
        "data/bad.tsv",
        &format!("{manifest}audio/broken.wav\tgo up\ts99\n"),
    );
    ws.write("data/audio/broken.wav", "this is not audio");
    ws.write(
        "r.lotto",
        &RECIPE.replace("data/manifest.tsv", "data/bad.tsv"),
    );
    let out = env.run(&["run", "r.lotto", "--executor", "slurm"]);
    out.failure();
    assert!(
        out.stdout().contains("1 failed, 5 cancelled"),
        "{}",
        out.stdout()
    );
    let st = env.status("r.lotto", &[]);
    let get = |n: &str| st.iter().find(|s| s.1 == n).unwrap().clone();
    assert_eq!(get("all").0, "failed", "{st:?}");
    assert!(get("all").2.contains("job "), "{st:?}");
    for n in ["train,dev,test", "a", "b", "results"] {
        assert_eq!(get(n).0, "cancelled", "{n}: {st:?}");
    }
    let full = env.run(&["status", "r.lotto"]).stdout();
    assert!(full.contains("not a readable WAV file"), "{full}");
}
