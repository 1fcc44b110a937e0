//! End-to-end runs of the real binary on real recipes and real data:
//! caching, resume, edits, reports, reproducibility, masks.

mod common;
use common::*;

#[test]
fn run_then_resume_is_all_cached_and_report_is_written() {
    let ws = Ws::with_data(4, 6);
    ws.write("r.lotto", TINY);
    let first = ws.run(&["run", "r.lotto"]);
    first.success();
    assert_eq!(first.ran().len(), 11, "{}", first.stderr());
    let summary = std::fs::read_to_string(ws.path().join("out/report/summary.md")).unwrap();
    assert!(summary.contains("| lth | imp | 2 | 25.0 |"), "{summary}");
    let svg = std::fs::read_to_string(ws.path().join("out/report/wer_vs_rw.svg")).unwrap();
    assert!(svg.contains("remaining weights") && svg.contains("dense, same test set"));
    let png = std::fs::read(ws.path().join("out/report/wer_vs_rw.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000);
    assert!(
        std::fs::read_to_string(ws.path().join("out/report/results.csv"))
            .unwrap()
            .lines()
            .count()
            > 10
    );

    // The noisy corpus is real audio: finite, and louder than nothing.
    let mixed: Vec<_> = walk(&ws.path().join(".lotto/objects"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect();
    assert!(!mixed.is_empty());
    for p in &mixed {
        let x: Vec<f32> = hound::WavReader::open(p)
            .unwrap()
            .samples::<f32>()
            .map(|s| s.unwrap())
            .collect();
        assert!(
            x.iter().all(|v| v.is_finite()),
            "{} has non-finite samples",
            p.display()
        );
        let rms = (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt();
        assert!(rms > 0.01 && rms < 1.0, "{}: rms {rms}", p.display());
    }

    let second = ws.run(&["run", "r.lotto"]);
    second.success();
    assert!(
        second.ran().is_empty(),
        "a no-op resume ran {:?}",
        second.ran()
    );
    assert!(
        second.stdout().contains("0 ran, 11 cached"),
        "{}",
        second.stdout()
    );

    // Deleting the report folder re-materialises it from the store.
    std::fs::remove_dir_all(ws.path().join("out")).unwrap();
    ws.run(&["run", "r.lotto"]).success();
    assert!(ws.path().join("out/report/summary.md").exists());

    // Raising the rounds reruns only the ticket steps (and what reads them),
    // and only the new round trains: rounds 1-2 are cached sub-steps.
    let plan = ws.run(&["plan", "r.lotto", "--set", "rounds=3"]);
    plan.success();
    let out = plan.stdout();
    assert!(out.contains("argument `rounds` changed: 2 → 3"), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("cached  dense ")),
        "{out}"
    );
    let third = ws.run(&["run", "r.lotto", "--set", "rounds=3"]);
    third.success();
    let err = third.stderr();
    assert!(
        !err.contains("lth round 1 epoch"),
        "round 1 retrained:\n{err}"
    );
    assert!(err.contains("lth round 3 epoch"), "{err}");
    let mut ran = third.ran();
    ran.sort();
    assert_eq!(ran, ["lth", "report \"out/report\"", "results", "rnd"]);
}

#[test]
fn same_recipe_and_seed_give_bit_identical_weights_and_masked_weights_are_zero() {
    let ws = Ws::with_data(4, 5);
    ws.write("r.lotto", TINY);
    ws.run(&["run", "r.lotto", "--store", "s1"]).success();
    ws.run(&["run", "r.lotto", "--store", "s2"]).success();
    let files = |store: &str| {
        let mut v: Vec<(String, Vec<u8>)> = walk(&ws.path().join(store).join("objects"))
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
            .map(|p| {
                (
                    p.strip_prefix(ws.path().join(store))
                        .unwrap()
                        .display()
                        .to_string(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let (a, b) = (files("s1"), files("s2"));
    assert!(a.len() >= 10);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.0, y.0);
        assert!(x.1 == y.1, "{} differs between two runs", x.0);
    }
    // Every round's masked weights are exactly zero.
    let mut checked = 0;
    for p in walk(&ws.path().join("s1/objects"))
        .into_iter()
        .filter(|p| p.ends_with("masks.safetensors"))
    {
        let masks = lotto_safetensors(&p);
        let best = lotto_safetensors(&p.with_file_name("best.safetensors"));
        for (name, m) in &masks {
            let w = &best[name];
            for (mv, wv) in m.iter().zip(w) {
                if *mv == 0.0 {
                    assert_eq!(*wv, 0.0, "{name} has a nonzero pruned weight");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 1000, "only {checked} pruned weights checked");
}

#[test]
fn editing_data_reruns_only_what_reads_it() {
    let ws = Ws::with_data(4, 4);
    ws.write("r.lotto", "corpus all = manifest(\"data/manifest.tsv\")\nsplit a, b = all.split(0.5, 0.5)\nnoise bank = noise_dir(\"data/noise\")\n");
    ws.run(&["run", "r.lotto"]).success();
    // Overwrite one audio file with another's content.
    let audio = ws.path().join("data/audio");
    let mut files: Vec<_> = std::fs::read_dir(&audio)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    std::fs::copy(&files[1], &files[0]).unwrap();
    let plan = ws.run(&["plan", "r.lotto"]);
    let out = plan.success().stdout();
    let name = files[0].file_name().unwrap().to_string_lossy().to_string();
    assert!(
        out.contains(&format!(
            "data changed: 1 file(s) modified, 0 added, 0 removed (e.g. audio/{name})"
        )),
        "{out}"
    );
    assert!(out.lines().any(|l| l.starts_with("cached  bank")), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("run     a,b") && l.contains("input `all` changed")),
        "{out}"
    );
}

#[test]
fn runtime_errors_name_step_and_line_and_keep_finished_work() {
    let ws = Ws::with_data(2, 3);
    ws.write(
        "data/bad.tsv",
        "path\ttranscript\naudio/missing.wav\thello\n",
    );
    ws.write(
        "r.lotto",
        "noise bank = noise_dir(\"data/noise\")\ncorpus c = manifest(\"data/bad.tsv\")\n",
    );
    let out = ws.run(&["run", "r.lotto"]);
    out.failure();
    let err = out.stderr().replace("\n  │ ", " ");
    assert!(err.contains("r.lotto:2:1"), "{err}");
    assert!(
        err.contains("data/bad.tsv:2: audio file `audio/missing.wav` does not exist"),
        "{err}"
    );
    assert!(
        err.contains("or pass `on_error: skip` to leave them out"),
        "{err}"
    );

    // A corrupt WAV fails the step at run time, naming the file and line;
    // other steps are published and a rerun does not redo them.
    ws.write("data/audio/corrupt.wav", "RIFF....WAVEjunk");
    ws.write(
        "data/bad.tsv",
        "path\ttranscript\naudio/corrupt.wav\thello\n",
    );
    let out = ws.run(&["run", "r.lotto"]);
    out.failure();
    let err = out.stderr();
    assert!(
        err.contains("step `c` (r.lotto:2:1) failed")
            && err.contains("corrupt.wav")
            && err.contains("bad.tsv:2"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let again = ws.run(&["run", "r.lotto"]);
    assert!(!again.ran().contains(&"bank".to_string()));
    // with on_error: skip the bad row is skipped and counted.
    ws.write(
        "data/bad.tsv",
        &format!(
            "path\ttranscript\naudio/corrupt.wav\thello\n{}\n",
            std::fs::read_to_string(ws.path().join("data/manifest.tsv"))
                .unwrap()
                .lines()
                .nth(1)
                .unwrap()
        ),
    );
    ws.write(
        "r.lotto",
        "corpus c = manifest(\"data/bad.tsv\", on_error: skip)\n",
    );
    ws.run(&["run", "r.lotto"]).success();
    let show = ws.run(&["show", "r.lotto", "c"]);
    assert!(
        show.success().stdout().contains("skipped: 1"),
        "{}",
        show.stdout()
    );
}

/// Copies a directory tree (the test's "move" of a workspace).
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_tree(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn a_moved_workspace_keeps_every_hit_and_gc_removes_only_unreachable_entries() {
    let ws = Ws::with_data(4, 4);
    ws.write("r.lotto", TINY);
    ws.run(&["run", "r.lotto", "--jobs", "2"]).success();
    let moved = Ws::empty();
    copy_tree(ws.path(), &moved.path().join("elsewhere"));
    let out = Out(std::process::Command::new(bin())
        .current_dir(moved.path().join("elsewhere"))
        .args(["run", "r.lotto"])
        .output()
        .unwrap());
    assert!(
        out.success().ran().is_empty(),
        "a moved workspace reran {:?}",
        out.ran()
    );

    // Nothing is unreachable yet; after an edit the old entries are.
    let gc = ws.run(&["gc", "--dry-run"]);
    assert!(
        gc.success().stdout().contains("0 entries"),
        "{}",
        gc.stdout()
    );
    ws.write(
        "r.lotto",
        &TINY.replace("param epochs = 2", "param epochs = 1"),
    );
    ws.run(&["run", "r.lotto"]).success();
    let dry = ws.run(&["gc", "--dry-run"]);
    let listed = dry.success().stdout();
    assert!(
        listed.contains("would delete") && listed.contains("dense (fit)"),
        "{listed}"
    );
    assert!(
        !listed.contains("all (manifest)"),
        "a reachable entry is listed:\n{listed}"
    );
    ws.run(&["gc"]).success();
    assert!(
        ws.run(&["run", "r.lotto"]).success().ran().is_empty(),
        "gc removed a reachable entry"
    );
    assert!(ws.run(&["gc", "--dry-run"]).stdout().contains("0 entries"));
}

#[test]
fn specaugment_and_noise_injection_change_training_and_are_recorded() {
    let ws = Ws::with_data(4, 6);
    ws.write(
        "r.lotto",
        r#"
corpus all = manifest("data/manifest.tsv")
split train, dev = all.split(0.5, 0.5, seed: 1)
features mel = fbank(mels: 24, window: 25ms, hop: 10ms)
model m = cnn_lstm(kernels: [5x5], strides: [2x2], channels: 4, lstm: 1, hidden: 24)
train plain = fit(m, train, dev, features: mel, epochs: 1, batch: 4, seed: 1)
train aug = fit(m, train, dev, features: mel, epochs: 1, batch: 4, seed: 1, augment: specaugment(freq_width: 8, time_width: 10))
noise bank = noise_dir("data/noise")
train noisy = fit(m, train, dev, features: mel, epochs: 1, batch: 4, seed: 1, noise: bank, noise_snr: [0dB, 10dB], noise_prob: 100%)
"#,
    );
    ws.run(&["run", "r.lotto"]).success();
    let dir = |step: &str| ws.artifacts(&[], "r.lotto", step);
    let info = std::fs::read_to_string(dir("aug").join("trained.yaml")).unwrap();
    assert!(
        info.contains("augment:") && info.contains("freq_width: 8"),
        "{info}"
    );
    let plain = std::fs::read_to_string(dir("plain").join("trained.yaml")).unwrap();
    assert!(!plain.contains("augment"), "{plain}");
    let weights = |step: &str| std::fs::read(dir(step).join("last.safetensors")).unwrap();
    assert_ne!(
        weights("aug"),
        weights("plain"),
        "masked batches must change the weights"
    );
    let info = std::fs::read_to_string(dir("noisy").join("trained.yaml")).unwrap();
    assert!(
        info.contains("noise:") && info.contains("prob: 1.0"),
        "{info}"
    );
    assert_ne!(
        weights("noisy"),
        weights("plain"),
        "noisy batches must change the weights"
    );
    // The injected noise is drawn from the seed: a fresh store trains the
    // same weights.
    let noisy = weights("noisy");
    ws.run(&["--store", "again", "run", "r.lotto", "--only", "noisy"])
        .success();
    let again = ws.artifacts(&["--store", "again"], "r.lotto", "noisy");
    assert_eq!(
        std::fs::read(again.join("last.safetensors")).unwrap(),
        noisy
    );
}

#[test]
fn fit_by_steps_ends_mid_epoch_and_selects_on_dev_at_the_end() {
    let ws = Ws::with_data(4, 6);
    // 12 training utterances in batches of 4: 3 steps an epoch, so 4 steps
    // are one full epoch and one step of a second.
    let head = SMALL.replace("epochs: 1,", "steps: 4, warmup: 2,");
    ws.write("r.lotto", &head);
    ws.run(&["run", "r.lotto"]).success();
    let info = std::fs::read_to_string(ws.artifacts(&[], "r.lotto", "dense").join("trained.yaml"))
        .unwrap();
    let epochs: Vec<&str> = info
        .lines()
        .filter(|l| l.trim_start().starts_with("- epoch:"))
        .collect();
    assert_eq!(epochs.len(), 2, "{info}");
    assert!(
        info.contains("steps: 4") && info.contains("warmup: 2"),
        "{info}"
    );
}

#[test]
fn export_writes_each_rounds_weights_masks_and_summary() {
    let ws = Ws::with_data(4, 6);
    ws.write(
        "r.lotto",
        &format!("{SMALL}ticket lth = imp(dense, rounds: 2, rate: 50%)\nreport \"out/export\" = export(lth), export(best(lth)), export(dense)\n"),
    );
    ws.run(&["run", "r.lotto"]).success();
    let root = ws.path().join("out/export");
    for r in 0..=2 {
        let dir = root.join(format!("lth/round_{r}"));
        let w = lotto_safetensors(&dir.join("weights.safetensors"));
        let summary = std::fs::read_to_string(dir.join("model.yaml")).unwrap();
        assert!(
            summary.contains("arch: cnn_lstm") && summary.contains(&format!("round: {r}")),
            "{summary}"
        );
        assert!(
            w.contains_key("lstm.0.fwd.weight_ih") && w.contains_key("head.weight"),
            "{:?}",
            w.keys()
        );
        if r == 0 {
            continue;
        }
        // The masks are the round's: RW 50% then 25%, and every pruned
        // weight of the exported weights is zero.
        let m = lotto_safetensors(&dir.join("masks.safetensors"));
        let (kept, all) = m
            .values()
            .flatten()
            .fold((0.0, 0), |(k, n), v| (k + v, n + 1));
        let want = if r == 1 { 0.5 } else { 0.25 };
        assert!(
            (kept as f64 / all as f64 - want).abs() < 0.01,
            "round {r}: {kept}/{all}"
        );
        for (name, mask) in &m {
            assert!(
                mask.iter()
                    .zip(&w[name])
                    .all(|(mv, wv)| *mv != 0.0 || *wv == 0.0),
                "{name}"
            );
        }
        assert!(
            summary.contains("pruned: true") && summary.contains(&format!("rw: {}", want * 100.0)),
            "{summary}"
        );
    }
    // A single model: no round, no masks; an anonymous step gets a folder
    // name that is safe on every file system.
    let dense = root.join("dense");
    assert!(
        dense.join("weights.safetensors").is_file() && !dense.join("masks.safetensors").exists()
    );
    let best = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .find(|n| n.starts_with("best"))
        .expect("an export folder for best(lth)");
    assert!(
        best.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
        "{best}"
    );
    assert!(root.join(&best).join("masks.safetensors").is_file());
}
