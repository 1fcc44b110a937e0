//! `retrain` end to end: every round of a ticket trained again with noise
//! injected (RQ4's protocol) or on another corpus (RQ5's transfer of every
//! round), and `mix` recording the SNRs its levels produced.

mod common;
use common::*;

/// Two corpora, a noise bank, and a 2-round ticket found on A.
fn base() -> String {
    format!(
        "{TWO_CORPORA}noise bank = noise_dir(\"data/noise\")
train dense = fit(m, atrain, adev, features: mel, epochs: 1, batch: 4, seed: 1)
ticket lth = imp(dense, rounds: 2, rate: 50%)
"
    )
}

fn ticket_rounds(ws: &Ws, step: &str) -> Vec<(u64, f64)> {
    let t =
        std::fs::read_to_string(ws.artifacts(&[], "r.lotto", step).join("ticket.yaml")).unwrap();
    let v: serde_yaml::Value = serde_yaml::from_str(&t).unwrap();
    v["rounds"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| (r["round"].as_u64().unwrap(), r["rw"].as_f64().unwrap()))
        .collect()
}

#[test]
fn every_round_retrains_with_noise_and_moves_to_another_corpus() {
    let ws = Ws::with_data(4, 6);
    let recipe = format!(
        "{}ticket noisy = retrain(lth, noise: bank, noise_level: [0, 0.5])\n\
         ticket moved = retrain(lth, to: btrain, dev: bdev)\n\
         train sparse = extreme(moved, than: dense)\n\
         corpus bnoisy = mix(bdev, bank, level: [0, 0.5], seed: 2)\n\
         eval results = wer([noisy, moved], on: [bdev, bnoisy])\n",
        base()
    );
    ws.write("r.lotto", &recipe);
    let out = ws.run(&["run", "r.lotto"]);
    out.success();
    let rounds = [(0, 100.0), (1, 50.0), (2, 25.0)];
    assert_eq!(ticket_rounds(&ws, "noisy"), rounds);
    assert_eq!(ticket_rounds(&ws, "moved"), rounds);
    let err = out.stderr();
    for r in 0..3 {
        assert!(err.contains(&format!("noisy round {r}:")), "{err}");
        assert!(err.contains(&format!("moved round {r}:")), "{err}");
    }
    // The noisy rounds carry their injection settings; the moved rounds
    // trained on `btrain`.
    let noisy = ws.run(&["show", "r.lotto", "noisy"]).success().stdout();
    assert!(noisy.contains("op: retrain"), "{noisy}");
    let snr =
        std::fs::read_to_string(ws.artifacts(&[], "r.lotto", "bnoisy").join("snr.tsv")).unwrap();
    let values: Vec<f64> = snr
        .lines()
        .skip(1)
        .map(|l| l.split('\t').nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(!values.is_empty());
    // Levels drawn from U(0, 0.5) give different SNRs per utterance.
    assert!(
        values.iter().any(|v| (v - values[0]).abs() > 0.5),
        "{values:?}"
    );
    let show = ws.run(&["show", "r.lotto", "bnoisy"]).success().stdout();
    assert!(show.contains("snr_db_mean"), "{show}");
}

#[test]
fn retrain_needs_to_and_dev_together_and_a_level_range_low_to_high() {
    let ws = Ws::with_data(2, 2);
    ws.write(
        "r.lotto",
        &format!("{}ticket t = retrain(lth, to: btrain)\n", base()),
    );
    let out = ws.run(&["check", "r.lotto"]);
    out.failure();
    assert!(
        out.stderr().contains("give `to` and `dev` together"),
        "{}",
        out.stderr()
    );
    ws.write(
        "r.lotto",
        &format!(
            "{}ticket t = retrain(lth, noise: bank, noise_level: [0.5, 0])\n",
            base()
        ),
    );
    let out = ws.run(&["check", "r.lotto"]);
    out.failure();
    assert!(
        out.stderr().contains("write the range low to high"),
        "{}",
        out.stderr()
    );
}
