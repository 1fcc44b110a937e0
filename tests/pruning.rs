//! The pruning ops end to end through the CLI: N:M and block sparsity,
//! one-shot pruning, explicit and `until` schedules, selection by path
//! pattern, late rewinding, θpre tickets, early-bird rounds and transfer.

mod common;
use common::*;

#[test]
fn transfer_trains_a_rounds_mask_on_another_corpus() {
    let ws = Ws::with_data(4, 6);
    ws.write(
        "r.lotto",
        &format!(
            "{TWO_CORPORA}train dense = fit(m, atrain, adev, features: mel, epochs: 1, batch: 4, seed: 1)
ticket lth = imp(dense, rounds: 1, rate: 50%)
train moved = transfer(lth.round(1), to: btrain, dev: bdev)
eval results = wer([moved], on: [bdev])
"
        ),
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
    // The round continues the dense schedule from epoch 1: it trains and
    // evaluates epoch 2 only (Frankle et al.'s k → T).
    let r1: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(dir("r1").join("trained.yaml")).unwrap())
            .unwrap();
    let epochs: Vec<u64> = r1["history"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|h| h["epoch"].as_u64().unwrap())
        .collect();
    assert_eq!(epochs, [2]);
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
            "rewind: step(7): step 7 is past the end of training (6 steps: 2 epochs of 3 steps)"
        ),
        "{}",
        out.stderr()
    );
}

#[test]
fn a_theta_pre_ticket_rewinds_to_the_pretrained_weights() {
    let ws = Ws::with_data(4, 6);
    ws.write(
        "r.lotto",
        &format!(
            "{TWO_CORPORA}train source = fit(m, atrain, adev, features: mel, epochs: 1, batch: 4, seed: 1)
train pre = fit(m, btrain, bdev, features: mel, epochs: 1, batch: 4, seed: 1, init: pretrained(source))
ticket pre_lth = imp(pre, rounds: 1, rate: 50%, rewind: init)
train r1 = pre_lth.round(1)
"
        ),
    );
    ws.run(&["run", "r.lotto"]).success();
    let dir = |step: &str| ws.artifacts(&[], "r.lotto", step);
    // θpre: the source's best weights, which `pre` started from.
    let theta_pre = lotto_safetensors(&dir("source").join("best.safetensors"));
    let init = lotto_safetensors(&dir("r1").join("init.safetensors"));
    let masks = lotto_safetensors(&dir("r1").join("masks.safetensors"));
    for (name, w) in &init {
        let want: Vec<f32> = match masks.get(name) {
            Some(m) => theta_pre[name].iter().zip(m).map(|(a, b)| a * b).collect(),
            None => theta_pre[name].clone(),
        };
        assert_eq!(w, &want, "{name}: round 1 must start from θpre (masked)");
    }
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

/// The mask of round 1: the `rate` smallest-magnitude prunable weights of
/// `weights`, globally, ties to the earlier tensor and position.
fn global_magnitude_mask(
    weights: &std::collections::BTreeMap<String, Vec<f32>>,
    masks: &std::collections::BTreeMap<String, Vec<f32>>,
    rate: f64,
) -> std::collections::BTreeMap<String, Vec<f32>> {
    let mut all: Vec<(f32, usize, usize, String)> = vec![];
    for (t, name) in masks.keys().enumerate() {
        for (i, w) in weights[name].iter().enumerate() {
            all.push((w.abs(), t, i, name.clone()));
        }
    }
    let k = (rate * all.len() as f64).round() as usize;
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut out: std::collections::BTreeMap<String, Vec<f32>> = masks
        .iter()
        .map(|(n, m)| (n.clone(), vec![1.0; m.len()]))
        .collect();
    for (_, _, i, name) in all.into_iter().take(k) {
        out.get_mut(&name).unwrap()[i] = 0.0;
    }
    out
}

#[test]
fn masks_are_drawn_from_the_final_weights_unless_asked_for_the_best() {
    let ws = Ws::with_data(4, 6);
    // Three epochs, so that the dev-best epoch is not the last.
    let base = SMALL.replace("epochs: 1", "epochs: 3");
    ws.write(
        "r.lotto",
        &format!(
            "{base}ticket from_last = imp(dense, rounds: 1, rate: 50%, prune: [lstm_ih, lstm_hh, linear])\n\
             train l1 = from_last.round(1)\n\
             ticket from_best = imp(dense, rounds: 1, rate: 50%, prune: [lstm_ih, lstm_hh, linear], prune_from: best)\n\
             train b1 = from_best.round(1)\n"
        ),
    );
    ws.run(&["run", "r.lotto"]).success();
    let dir = |step: &str| ws.artifacts(&[], "r.lotto", step);
    let load = |step: &str, f: &str| lotto_safetensors(&dir(step).join(f));
    let masks = load("l1", "masks.safetensors");
    let last = load("dense", "last.safetensors");
    let best = load("dense", "best.safetensors");
    assert_ne!(last, best, "the dev-best epoch must not be the last here");
    assert_eq!(masks, global_magnitude_mask(&last, &masks, 0.5));
    assert_ne!(masks, load("b1", "masks.safetensors"));
    assert_eq!(
        load("b1", "masks.safetensors"),
        global_magnitude_mask(&best, &masks, 0.5)
    );
}
