//! The Conformer and the RNN-Transducer through the real CLI: sizes at the
//! paper's defaults, training, IMP with each architecture's prunable set,
//! decoding into the WER table, and bit-identical reruns.

mod common;
use common::*;
use std::collections::BTreeMap;

#[test]
fn paper_sized_models_report_their_parameter_counts() {
    let ws = Ws::empty();
    ws.write(
        "m.lotto",
        "model c = conformer()\nmodel r = rnnt()\nmodel d = cnn_lstm()\n",
    );
    ws.run(&["run", "m.lotto"]).success();
    let show = |step: &str| ws.run(&["show", "m.lotto", step]).success().stdout();
    assert!(show("c").contains("params_millions_at_80_bins: 68.0"));
    assert!(show("r").contains("params_millions_at_161_bins: 128.7"));
    assert!(show("d").contains("params_millions_at_161_bins: 86.6"));
}

const RECIPE: &str = r#"
corpus all = manifest("data/manifest.tsv")
split train, dev, test = all.split(0.5, 0.25, 0.25, seed: 2)
features mel = fbank(mels: 24, window: 25ms, hop: 10ms)
model conf = conformer(blocks: 1, d_model: 16, heads: 2, ff: 32, kernel: 5, subsample_channels: 4)
model tr = rnnt(stack: 4, encoder_layers: 1, encoder_hidden: 16, predictor_hidden: 16, joint: 16)
train dense_conf = fit(conf, train, dev, features: mel, epochs: 2, batch: 4, optimizer: adam(lr: 2e-3), warmup: 4, seed: 1)
train dense_rnnt = fit(tr, train, dev, features: mel, epochs: 2, batch: 4, seed: 1)
ticket conf_lth = imp(dense_conf, rounds: 1, rate: 50%)
ticket rnnt_lth = imp(dense_rnnt, rounds: 1, rate: 50%)
train conf_r1 = conf_lth.round(1)
train rnnt_r1 = rnnt_lth.round(1)
eval results = wer([dense_conf, conf_lth, dense_rnnt, rnnt_lth], on: [test])
"#;

/// Every safetensors file under a store's objects, by relative path.
fn weights(ws: &Ws, store: &str) -> BTreeMap<String, Vec<u8>> {
    let root = ws.path().join(store).join("objects");
    walk(&root)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .map(|p| {
            let k = p.strip_prefix(&root).unwrap().display().to_string();
            (k, std::fs::read(&p).unwrap())
        })
        .collect()
}

#[test]
fn conformer_and_transducer_train_prune_and_decode_reproducibly() {
    let ws = Ws::with_data(4, 6);
    ws.write("r.lotto", RECIPE);
    ws.run(&["run", "r.lotto", "--store", "s1"]).success();

    let trained = |step: &str| {
        let dir = ws.artifacts(&["--store", "s1"], "r.lotto", step);
        std::fs::read_to_string(dir.join("trained.yaml")).unwrap()
    };
    assert!(trained("dense_conf").contains("arch: conformer"));
    assert!(trained("dense_rnnt").contains("arch: rnnt"));

    // The Conformer prunes linear weights only (the paper's code); the
    // transducer its LSTM and linear weights. Never biases or norms, and
    // pruned weights are exactly zero.
    let masks_of = |step: &str| {
        let dir = ws.artifacts(&["--store", "s1"], "r.lotto", step);
        let m = lotto_safetensors(&dir.join("masks.safetensors"));
        let w = lotto_safetensors(&dir.join("best.safetensors"));
        for (name, mask) in &m {
            for (mv, wv) in mask.iter().zip(&w[name]) {
                assert!(
                    *mv != 0.0 || *wv == 0.0,
                    "{step}: {name} has a nonzero pruned weight"
                );
            }
        }
        m
    };
    let conf = masks_of("conf_r1");
    let names: Vec<&String> = conf.keys().collect();
    assert!(
        names.iter().any(|n| *n == "blocks.0.attn.q.weight"),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| *n == "blocks.0.ff1.linear1.weight"),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.contains("conv.")
            || n.starts_with("subsample.0")
            || n.contains("bias")
            || n.contains("norm")),
        "{names:?}"
    );
    let tr = masks_of("rnnt_r1");
    for want in [
        "encoder.lstm.0.fwd.weight_ih",
        "encoder.lstm.0.bwd.weight_hh",
        "predictor.lstm.0.weight_hh",
        "joint.out.weight",
    ] {
        assert!(tr.contains_key(want), "{want} not pruned: {:?}", tr.keys());
    }
    for m in [&conf, &tr] {
        let (kept, all) = m
            .values()
            .flatten()
            .fold((0.0, 0usize), |(k, n), v| (k + *v as f64, n + 1));
        let rw = 100.0 * kept / all as f64;
        assert!((rw - 50.0).abs() < 0.5, "RW {rw}");
    }

    // Both architectures decode into the WER table.
    let eval = ws.artifacts(&["--store", "s1"], "r.lotto", "results");
    let table = std::fs::read_to_string(eval.join("eval.yaml")).unwrap();
    for m in ["dense_conf", "conf_lth", "dense_rnnt", "rnnt_lth"] {
        assert!(
            table.contains(&format!("model: {m}")),
            "{m} missing:\n{table}"
        );
    }

    // Same recipe and seed: bit-identical weights and masks.
    ws.run(&["run", "r.lotto", "--store", "s2"]).success();
    let (a, b) = (weights(&ws, "s1"), weights(&ws, "s2"));
    assert!(a.len() >= 8, "{:?}", a.keys());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, v) in &a {
        assert!(*v == b[k], "{k} differs between two runs");
    }
}
