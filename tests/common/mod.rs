//! Test builder: a temporary workspace with a small slice of the bundled
//! corpus, recipes written into it, and the real `lotto` binary run on it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Ws {
    pub dir: tempfile::TempDir,
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_lotto")
}

impl Ws {
    /// An empty workspace.
    pub fn empty() -> Ws {
        Ws {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A workspace with `speakers` x `per` utterances of the bundled corpus
    /// in `data/manifest.tsv` and its noise bank in `data/noise`.
    pub fn with_data(speakers: usize, per: usize) -> Ws {
        let ws = Ws::empty();
        let src = repo().join("data/tiny");
        let manifest = std::fs::read_to_string(src.join("manifest.tsv")).unwrap();
        let mut out = String::from("path\ttranscript\tspeaker\n");
        std::fs::create_dir_all(ws.path().join("data/audio")).unwrap();
        // The first `speakers` speakers, `per` utterances each.
        let mut count: Vec<(String, usize)> = vec![];
        for line in manifest.lines().skip(1) {
            let f: Vec<&str> = line.split('\t').collect();
            let i = match count.iter().position(|(s, _)| s == f[2]) {
                Some(i) => i,
                None if count.len() < speakers => {
                    count.push((f[2].to_string(), 0));
                    count.len() - 1
                }
                None => continue,
            };
            if count[i].1 >= per {
                continue;
            }
            count[i].1 += 1;
            std::fs::copy(src.join(f[0]), ws.path().join("data").join(f[0])).unwrap();
            out.push_str(line);
            out.push('\n');
        }
        std::fs::write(ws.path().join("data/manifest.tsv"), out).unwrap();
        std::fs::create_dir_all(ws.path().join("data/noise")).unwrap();
        for n in ["pink.wav", "babble.wav"] {
            std::fs::copy(
                src.join("noise").join(n),
                ws.path().join("data/noise").join(n),
            )
            .unwrap();
        }
        ws
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Rewrites a workspace file with each `(from, to)` replacement applied
    /// in turn; every `from` must occur, so an edit never silently does nothing.
    pub fn edit(&self, name: &str, replacements: &[(&str, &str)]) {
        let mut text = std::fs::read_to_string(self.path().join(name)).unwrap();
        for (from, to) in replacements {
            assert!(text.contains(from), "`{from}` not in {name}:\n{text}");
            text = text.replace(from, to);
        }
        self.write(name, &text);
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join(name);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        lotto_in(self.path(), args)
    }

    pub fn run(&self, args: &[&str]) -> Out {
        Out(self.cmd(args).output().unwrap())
    }

    /// The artifact folder of a published step, as `lotto show` reports it;
    /// `global` are options before `show`, such as `--store DIR`.
    pub fn artifacts(&self, global: &[&str], recipe: &str, step: &str) -> PathBuf {
        let mut args = global.to_vec();
        args.extend(["show", recipe, step]);
        let out = self.run(&args).success().stdout();
        let dir = out
            .lines()
            .find_map(|l| l.strip_prefix("artifacts: "))
            .unwrap_or_else(|| panic!("`{step}` has not run:\n{out}"));
        self.path().join(dir)
    }
}

/// The real `lotto` binary run in `dir`, colour off and no RUST_LOG.
pub fn lotto_in(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG");
    c
}

/// The start of many ticket tests: the test corpus split in two, small
/// features and model, and a dense model trained for one epoch.
pub const SMALL: &str = r#"
corpus all = manifest("data/manifest.tsv")
split train, dev = all.split(0.5, 0.5, seed: 1)
features mel = fbank(mels: 24, window: 25ms, hop: 10ms)
model m = cnn_lstm(kernels: [5x5], strides: [2x2], channels: 4, lstm: 1, hidden: 24)
train dense = fit(m, train, dev, features: mel, epochs: 1, batch: 4, seed: 1)
"#;

/// The start of transfer tests: the test corpus split into two groups of
/// speakers, A and B, each split into training and dev halves, with the
/// small features and model of [`SMALL`].
pub const TWO_CORPORA: &str = r#"
corpus all = manifest("data/manifest.tsv")
split a, b = all.split(0.5, 0.5, seed: 1)
split atrain, adev = a.split(0.5, 0.5)
split btrain, bdev = b.split(0.5, 0.5)
features mel = fbank(mels: 24, window: 25ms, hop: 10ms)
model m = cnn_lstm(kernels: [5x5], strides: [2x2], channels: 4, lstm: 1, hidden: 24)
"#;

pub struct Out(pub Output);

impl Out {
    pub fn ok(&self) -> bool {
        self.0.status.success()
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).to_string()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).to_string()
    }
    #[track_caller]
    pub fn success(&self) -> &Self {
        assert!(
            self.ok(),
            "lotto failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
    #[track_caller]
    pub fn failure(&self) -> &Self {
        assert!(
            !self.ok(),
            "lotto unexpectedly succeeded:\n{}\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
    /// Names of steps the run executed (its `ran` lines).
    pub fn ran(&self) -> Vec<String> {
        self.stderr()
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("ran     "))
            .map(|l| l.split(" (").next().unwrap().to_string())
            .collect()
    }
}

/// A small but complete recipe: corpus, split, noise, features, a tiny
/// CNN-LSTM, training, IMP, random pruning, evaluation and a report.
pub const TINY: &str = r#"
param seed = 3
param epochs = 2
param rounds = 2
corpus all = manifest("data/manifest.tsv")
split train, dev, test = all.split(0.5, 0.25, 0.25, seed: seed)
noise bank = noise_dir("data/noise")
corpus noisy = mix(test, bank, level: 0.5, seed: seed)
features mel = fbank(mels: 24, window: 25ms, hop: 10ms)
model m = cnn_lstm(kernels: [5x5], strides: [2x2], channels: 4, lstm: 1, hidden: 24)
train dense = fit(m, train, dev, features: mel, epochs: epochs, batch: 4, optimizer: adamw(lr: 2e-3), seed: seed)
ticket lth = imp(dense, rounds: rounds, rate: 50%)
ticket rnd = random_prune(dense, rounds: rounds, rate: 50%)
eval results = wer([dense, lth, rnd], on: [test, noisy])
report "out/report" = summary(results), plot(results, x: rw, y: wer)
"#;

/// Every file under `d`, recursively.
pub fn walk(d: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(d).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Minimal safetensors reader (F32), independent of the code under test.
pub fn lotto_safetensors(p: &std::path::Path) -> std::collections::BTreeMap<String, Vec<f32>> {
    let b = std::fs::read(p).unwrap();
    let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
    let h: serde_json::Value = serde_json::from_slice(&b[8..8 + n]).unwrap();
    let data = &b[8 + n..];
    h.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let o: Vec<usize> = serde_json::from_value(v["data_offsets"].clone()).unwrap();
            (
                k.clone(),
                data[o[0]..o[1]]
                    .chunks(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                    .collect(),
            )
        })
        .collect()
}
