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
    assert!(err.contains("data/bad.tsv:2: audio file `audio/missing.wav` does not exist (or pass `on_error: skip`)"), "{err}");

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
fn transfer_trains_a_rounds_mask_on_another_corpus() {
    let ws = Ws::with_data(4, 6);
    ws.write(
        "r.lotto",
        r#"
corpus all = manifest("data/manifest.tsv")
split a, b = all.split(0.5, 0.5, seed: 1)
split atrain, adev = a.split(0.5, 0.5)
split btrain, bdev = b.split(0.5, 0.5)
features mel = fbank(mels: 24, window: 25ms, hop: 10ms)
model m = cnn_lstm(kernels: [5x5], strides: [2x2], channels: 4, lstm: 1, hidden: 24)
train dense = fit(m, atrain, adev, features: mel, epochs: 1, batch: 4, seed: 1)
ticket lth = imp(dense, rounds: 1, rate: 50%)
train moved = transfer(lth.round(1), to: btrain, dev: bdev)
eval results = wer([moved], on: [bdev])
"#,
    );
    ws.run(&["run", "r.lotto"]).success();
    let dir = |step: &str| ws.artifacts(&[], "r.lotto", step);
    let show = ws.run(&["show", "r.lotto", "moved"]).success().stdout();
    assert!(show.contains("rw: 50.0"), "{show}");
    let round = dir("lth.round(1)");
    let moved = dir("moved");
    assert_eq!(
        std::fs::read(round.join("masks.safetensors")).unwrap(),
        std::fs::read(moved.join("masks.safetensors")).unwrap(),
        "the transferred model keeps the source round's mask"
    );
    assert_eq!(
        std::fs::read(round.join("init.safetensors")).unwrap(),
        std::fs::read(moved.join("init.safetensors")).unwrap(),
        "and starts from the source round's initial weights"
    );
    let info = std::fs::read_to_string(moved.join("trained.yaml")).unwrap();
    let bt = dir("btrain");
    assert!(
        info.contains(&format!(
            "train_corpus: {}",
            bt.file_name().unwrap().to_string_lossy()
        )),
        "trained on the target corpus:\n{info}"
    );
    let eval = std::fs::read_to_string(dir("results").join("eval.yaml")).unwrap();
    assert!(eval.contains("method: ticket"), "{eval}");

    ws.edit("r.lotto", &[("transfer(lth.round(1),", "transfer(dense,")]);
    let out = ws.run(&["run", "r.lotto"]);
    out.failure();
    assert!(
        out.stderr()
            .contains("`dense` is a dense model, not a ticket round"),
        "{}",
        out.stderr()
    );
}

#[test]
fn nm_sparsity_gives_2_of_every_4_and_block_refuses_a_colon_shape() {
    let ws = Ws::with_data(4, 6);
    let recipe =
        format!("{SMALL}ticket nm = imp(dense, rounds: 1, nm: 2:4)\ntrain r1 = nm.round(1)\n");
    ws.write("r.lotto", &recipe);
    ws.run(&["run", "r.lotto"]).success();
    let dir = ws.artifacts(&[], "r.lotto", "r1");
    let masks = lotto_safetensors(&dir.join("masks.safetensors"));
    assert!(!masks.is_empty());
    for (name, m) in &masks {
        // Every prunable tensor's rows have a multiple of 4 inputs here
        // except possibly the last group; check the full groups.
        let kept = m.iter().filter(|v| **v > 0.0).count() as f64 / m.len() as f64;
        assert!((kept - 0.5).abs() < 0.1, "{name}: {kept}");
    }
    let lstm = masks
        .iter()
        .find(|(n, _)| n.contains("weight_hh"))
        .unwrap()
        .1;
    for g in lstm.chunks(4) {
        assert_eq!(g.iter().filter(|v| **v > 0.0).count(), 2, "{g:?}");
    }
    ws.write(
        "r.lotto",
        &recipe.replace("rounds: 1, nm: 2:4", "rounds: 2, block: 2:4"),
    );
    let out = ws.run(&["check", "r.lotto"]);
    out.failure();
    assert!(
        out.stderr().contains("for N:M sparsity write `nm: 2:4`"),
        "{}",
        out.stderr()
    );
}

#[test]
fn oneshot_prunes_once_to_the_sparsity_and_fine_tunes() {
    let ws = Ws::with_data(4, 6);
    ws.write(
        "r.lotto",
        &format!("{SMALL}ticket std = oneshot(dense, sparsity: 80%, finetune: 1)\neval results = wer([dense, std], on: [dev])\n"),
    );
    ws.run(&["run", "r.lotto"]).success();
    let show = ws.run(&["show", "r.lotto", "std"]).success().stdout();
    assert!(show.contains("round1_rw: 20.0"), "{show}");
    assert!(!show.contains("round2_"), "{show}");
    let dir = ws.artifacts(&[], "r.lotto", "results");
    let eval = std::fs::read_to_string(dir.join("eval.yaml")).unwrap();
    assert!(eval.contains("method: oneshot"), "{eval}");
}

#[test]
fn explicit_and_until_schedules_reach_their_targets() {
    let ws = Ws::with_data(4, 6);
    let head = format!("{SMALL}ticket two = imp(dense, rounds: 2, rate: 50%)\nticket listed = imp(dense, sparsities: [30%, 60%, 90%])\n");
    ws.write("r.lotto", &head);
    ws.run(&["run", "r.lotto"]).success();
    let show = ws.run(&["show", "r.lotto", "listed"]).success().stdout();
    for want in ["round1_rw: 70.0", "round2_rw: 40.0", "round3_rw: 10.0"] {
        assert!(show.contains(want), "{want}:\n{show}");
    }
    // `until` continues the geometric schedule; its first two rounds are
    // the ones `two` already trained.
    ws.write(
        "r.lotto",
        &format!("{head}ticket deep = imp(dense, rate: 50%, until: 20%)\n"),
    );
    let out = ws.run(&["run", "r.lotto"]);
    out.success();
    let text = out.stderr();
    assert!(text.contains("deep round 3 epoch 1/1"), "{text}");
    assert!(
        !text.contains("deep round 1 epoch"),
        "round 1 is reused:\n{text}"
    );
    let show = ws.run(&["show", "r.lotto", "deep"]).success().stdout();
    assert!(
        show.contains("round3_rw: 12.5") && !show.contains("round4_"),
        "{show}"
    );
    ws.write("r.lotto", &head.replace("[30%, 60%, 90%]", "[60%, 30%]"));
    let out = ws.run(&["check", "r.lotto"]);
    out.failure();
    assert!(
        out.stderr().contains("must be increasing"),
        "{}",
        out.stderr()
    );
}

#[test]
fn prune_selects_by_path_pattern_and_never_biases() {
    let ws = Ws::with_data(4, 6);
    let recipe = format!("{SMALL}ticket hh = imp(dense, rounds: 1, rate: 50%, prune: [\"lstm.*.weight_hh\", conv])\ntrain r1 = hh.round(1)\n");
    ws.write("r.lotto", &recipe);
    ws.run(&["run", "r.lotto"]).success();
    let dir = ws.artifacts(&[], "r.lotto", "r1");
    let masks = lotto_safetensors(&dir.join("masks.safetensors"));
    let names: Vec<&String> = masks.keys().collect();
    assert!(!names.is_empty());
    assert!(
        names
            .iter()
            .all(|n| n.ends_with("weight_hh") || n.starts_with("conv")),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.ends_with("weight_hh")), "{names:?}");
    assert!(!names.iter().any(|n| n.contains("bias")), "{names:?}");
    ws.write(
        "r.lotto",
        &recipe.replace("\"lstm.*.weight_hh\", conv", "\"*.bias\""),
    );
    let out = ws.run(&["run", "r.lotto"]);
    out.failure();
    assert!(
        out.stderr()
            .contains("pattern \"*.bias\" matches no prunable parameter"),
        "{}",
        out.stderr()
    );
}

#[test]
fn late_rewinding_starts_rounds_from_the_dense_weights_after_epoch_k() {
    let ws = Ws::with_data(4, 6);
    ws.write(
        "r.lotto",
        r#"
corpus all = manifest("data/manifest.tsv")
split train, dev = all.split(0.5, 0.5, seed: 1)
features mel = fbank(mels: 24, window: 25ms, hop: 10ms)
model m = cnn_lstm(kernels: [5x5], strides: [2x2], channels: 4, lstm: 1, hidden: 24)
train dense = fit(m, train, dev, features: mel, epochs: 2, batch: 4, seed: 1)
train one = fit(m, train, dev, features: mel, epochs: 1, batch: 4, seed: 1)
ticket late = imp(dense, rounds: 1, rate: 50%, rewind: epoch(1))
train r1 = late.round(1)
ticket stepped = imp(dense, rounds: 1, rate: 50%, rewind: step(3))
train s1 = stepped.round(1)
ticket early = imp(dense, rounds: 1, rate: 50%, rewind: step(1))
train e1 = early.round(1)
"#,
    );
    ws.run(&["run", "r.lotto"]).success();
    let dir = |step: &str| ws.artifacts(&[], "r.lotto", step);
    // 12 training utterances in batches of 4: epoch 1 is steps 1-3, so
    // step(3) is the same rewind point as epoch(1), and step(1) is another.
    let history = std::fs::read_to_string(dir("one").join("trained.yaml")).unwrap();
    assert!(history.contains("epoch: 1"), "{history}");
    let r1_init = lotto_safetensors(&dir("r1").join("init.safetensors"));
    assert_eq!(
        lotto_safetensors(&dir("s1").join("init.safetensors")),
        r1_init,
        "step(3) must rewind to the epoch-1 weights"
    );
    assert_ne!(
        lotto_safetensors(&dir("e1").join("init.safetensors")),
        r1_init
    );
    let after1 = lotto_safetensors(&dir("one").join("last.safetensors"));
    let init = lotto_safetensors(&dir("r1").join("init.safetensors"));
    let masks = lotto_safetensors(&dir("r1").join("masks.safetensors"));
    let theta0 = lotto_safetensors(&dir("dense").join("init.safetensors"));
    let mut differs_from_theta0 = false;
    for (name, w) in &init {
        let want: Vec<f32> = match masks.get(name) {
            Some(m) => after1[name].iter().zip(m).map(|(a, b)| a * b).collect(),
            None => after1[name].clone(),
        };
        assert_eq!(w, &want, "{name}: not the epoch-1 weights (masked)");
        differs_from_theta0 |= theta0.get(name).is_some_and(|t| t != &after1[name]);
    }
    assert!(differs_from_theta0, "epoch-1 weights must differ from θ0");
    ws.edit("r.lotto", &[("epoch(1)", "epoch(2)")]);
    let out = ws.run(&["run", "r.lotto"]);
    out.failure();
    assert!(
        out.stderr()
            .contains("must come before the end of the dense training (2 epochs)"),
        "{}",
        out.stderr()
    );
    ws.edit(
        "r.lotto",
        &[("epoch(2)", "epoch(1)"), ("step(3)", "step(7)")],
    );
    let out = ws.run(&["run", "r.lotto"]);
    out.failure();
    assert!(
        out.stderr().contains(
            "rewind: step(7): step 7 is past the end of training (6 steps: 2 epochs of 3 batches)"
        ),
        "{}",
        out.stderr()
    );
}

#[test]
fn early_bird_rounds_stop_once_the_next_mask_settles_and_the_last_round_trains_fully() {
    let ws = Ws::with_data(4, 6);
    let head = SMALL.replace("epochs: 1", "epochs: 3");
    ws.write(
        "r.lotto",
        &format!("{head}ticket eb = imp(dense, rounds: 2, rate: 50%, early_bird: early_bird(distance: 100%, window: 1))\nticket never = imp(dense, rounds: 2, rate: 50%, early_bird: early_bird(distance: 0%, window: 1))\n"),
    );
    ws.run(&["run", "r.lotto"]).success();
    // distance 100%: the first epoch-to-epoch distance (after epoch 2)
    // settles round 1; round 2 is the last and trains all 3 epochs.
    let eb = ws.run(&["show", "r.lotto", "eb"]).success().stdout();
    assert!(eb.contains("train_epochs: 5"), "{eb}");
    // distance 0%: nothing counts as settled, every round trains fully.
    let never = ws.run(&["show", "r.lotto", "never"]).success().stdout();
    assert!(never.contains("train_epochs: 6"), "{never}");
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
