//! Kill and concurrency: SIGKILL a run at several points and rerun; run two
//! `lotto run` on one store at once. Results must equal an uninterrupted
//! run, no published step may run again, and no step may run twice.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A short run: kills land at the start, in data steps and in the last
/// steps as often as in training.
const RECIPE: &str = r#"
corpus all = manifest("data/manifest.tsv")
split train, dev, test = all.split(0.5, 0.25, 0.25, seed: 1)
features mel = fbank(mels: 24)
model m = cnn_lstm(kernels: [5x5], strides: [2x2], channels: 4, lstm: 1, hidden: 32)
train dense = fit(m, train, dev, features: mel, epochs: 4, batch: 4, optimizer: adamw(lr: 2e-3), seed: 5)
ticket lth = imp(dense, rounds: 2, rate: 50%, epochs: 3)
eval results = wer([dense, lth], on: [test])
"#;

/// Every published entry's record, by key.
fn published(ws: &Ws, store: &str) -> BTreeMap<String, String> {
    let dir = ws.path().join(store).join("objects");
    std::fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    std::fs::read_to_string(e.path().join("step.yaml"))
                        .ok()
                        .map(|r| (e.file_name().to_string_lossy().to_string(), r))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn eval_table(ws: &Ws, store: &str) -> String {
    let show = ws.run(&["show", "r.lotto", "results", "--store", store]);
    show.success();
    show.stdout()
        .lines()
        .filter(|l| l.contains("wer["))
        .collect::<Vec<_>>()
        .join("\n")
}

fn weights(ws: &Ws, store: &str) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for (k, _) in published(ws, store) {
        let p = ws
            .path()
            .join(store)
            .join("objects")
            .join(&k)
            .join("best.safetensors");
        if let Ok(b) = std::fs::read(&p) {
            out.insert(k, b);
        }
    }
    out
}

/// Long enough (some 15 s) that kills every second or two land inside
/// `fit`, inside IMP rounds and between steps.
const LONG: &str = r#"
corpus all = manifest("data/manifest.tsv")
split train, dev, test = all.split(0.6, 0.2, 0.2, seed: 1)
features mel = fbank(mels: 24)
model m = cnn_lstm(kernels: [5x5], strides: [2x2], channels: 4, lstm: 2, hidden: 64)
train dense = fit(m, train, dev, features: mel, epochs: 10, batch: 4, optimizer: adamw(lr: 2e-3), seed: 5)
ticket lth = imp(dense, rounds: 3, rate: 50%, epochs: 6)
eval results = wer([dense, lth], on: [test])
"#;

/// SIGKILL every second or two, at moments drawn from a fixed seed, and
/// rerun until the run completes: the results (every WER, every weight)
/// equal an uninterrupted run's, and nothing published is ever touched.
/// The dev set is tiny, so dev WERs tie often: a resumed run must keep the
/// first best epoch, which needs the checkpoint's numbers read back exactly.
#[test]
fn sigkill_every_second_or_two_then_resume_matches_uninterrupted_run() {
    let ws = Ws::with_data(8, 20);
    ws.write("r.lotto", LONG);
    let t0 = Instant::now();
    ws.run(&["run", "r.lotto", "--store", "ref"]).success();
    let full = t0.elapsed();
    let reference = eval_table(&ws, "ref");
    assert!(reference.contains("wer[lth/3/test]"), "{reference}");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut kills = 0;
    let mut finished = false;
    for _ in 0..80 {
        let before = published(&ws, "k");
        let mut child = ws
            .cmd(&["run", "r.lotto", "--store", "k"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let wait = Duration::from_millis(700 + state % 1300);
        let t0 = Instant::now();
        while t0.elapsed() < wait && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(20));
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        } else {
            finished = true;
        }
        child.wait().unwrap();
        let after = published(&ws, "k");
        for (k, rec) in &before {
            assert_eq!(after.get(k), Some(rec), "published entry {k} changed");
        }
        if finished {
            break;
        }
    }
    assert!(finished, "the run never finished between kills");
    assert!(
        kills >= 3,
        "only {kills} kill(s) landed in a run of {full:?}"
    );
    assert_eq!(
        eval_table(&ws, "k"),
        reference,
        "results differ from the uninterrupted run after {kills} kills"
    );
    let (a, b) = (weights(&ws, "ref"), weights(&ws, "k"));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    assert!(a == b, "weights differ from the uninterrupted run");
    assert!(ws.run(&["run", "r.lotto", "--store", "k"]).ran().is_empty());
}

#[test]
fn two_runs_at_once_on_one_store_never_run_a_step_twice() {
    let ws = Ws::with_data(4, 5);
    ws.write("r.lotto", RECIPE);
    let spawn = || {
        ws.cmd(&["run", "r.lotto", "--store", "shared"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (
        Out(a.wait_with_output().unwrap()),
        Out(b.wait_with_output().unwrap()),
    );
    a.success();
    b.success();
    let mut ran: Vec<String> = a.ran();
    ran.extend(b.ran());
    ran.sort();
    let mut dedup = ran.clone();
    dedup.dedup();
    assert_eq!(ran, dedup, "some step ran in both processes");
    assert_eq!(ran.len(), 7, "{ran:?}");
    // The store is intact: every entry has a record, every step is cached.
    for (k, rec) in published(&ws, "shared") {
        assert!(rec.contains("key: "), "{k} has a broken record");
    }
    let again = ws.run(&["run", "r.lotto", "--store", "shared"]);
    assert!(again.success().ran().is_empty());
    ws.run(&["run", "r.lotto", "--store", "solo"]).success();
    assert_eq!(eval_table(&ws, "shared"), eval_table(&ws, "solo"));
}

#[test]
fn fit_killed_after_an_epoch_resumes_from_its_checkpoint_bit_identically() {
    let ws = Ws::with_data(4, 6);
    let recipe = RECIPE.replace("epochs: 4", "epochs: 6");
    ws.write("r.lotto", &recipe);
    ws.run(&["run", "r.lotto", "--store", "ref", "--only", "dense"])
        .success();
    let mut child = ws
        .cmd(&["run", "r.lotto", "--store", "k", "--only", "dense"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the first epoch's checkpoint of `dense`, then SIGKILL.
    let staging = ws.path().join("k/staging");
    let t0 = Instant::now();
    let found = loop {
        let hit = std::fs::read_dir(&staging).ok().and_then(|rd| {
            rd.flatten()
                .find(|e| e.path().join("checkpoints/ckpt.json").is_file())
        });
        if hit.is_some()
            || t0.elapsed() > Duration::from_secs(120)
            || child.try_wait().unwrap().is_some()
        {
            break hit.is_some();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(found, "no checkpoint appeared before the run ended");
    child.kill().unwrap();
    child.wait().unwrap();
    let plan = ws.run(&["plan", "r.lotto", "--store", "k"]);
    assert!(
        plan.success()
            .stdout()
            .contains("resumes from a checkpoint of an interrupted run"),
        "{}",
        plan.stdout()
    );
    let resumed = ws.run(&["run", "r.lotto", "--store", "k", "--only", "dense"]);
    assert!(
        resumed
            .success()
            .stderr()
            .contains("dense: resuming after epoch"),
        "{}",
        resumed.stderr()
    );
    assert_eq!(weights(&ws, "ref"), weights(&ws, "k"));
}
