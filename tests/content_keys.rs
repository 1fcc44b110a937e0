//! The same work, computed once: a step whose inputs published the same
//! results as an earlier computation's reuses that result, however the
//! recipe reached them (early cutoff after an upstream rerun included),
//! and ops that print their inputs' names key on those names.

mod common;
use common::*;

const RECIPE: &str = r#"
corpus all = manifest("data/manifest.tsv")
corpus a = all.filter(min: 0s, max: 100s)
corpus b = all.filter(min: 0s, max: 200s)
split train, dev = all.split(0.5, 0.5, seed: 1)
features mel = fbank(mels: 24)
model m = cnn_lstm(kernels: [5x5], strides: [2x2], channels: 4, lstm: 1, hidden: 24)
train ta = fit(m, a, dev, features: mel, epochs: 1, batch: 4)
train tb = fit(m, b, dev, features: mel, epochs: 1, batch: 4)
eval e = wer([ta, tb], on: [dev])
"#;

fn labels(ws: &Ws) -> String {
    std::fs::read_to_string(ws.artifacts(&[], "r.lotto", "e").join("eval.yaml")).unwrap()
}

#[test]
fn equal_input_results_reuse_the_earlier_result() {
    let ws = Ws::with_data(2, 4);
    ws.write("r.lotto", RECIPE);
    let out = ws.run(&["run", "r.lotto"]);
    out.success();
    // `a` and `b` keep every utterance: `tb` trains on the same data.
    let err = out.stderr();
    assert!(err.contains("running ta (fit)"), "{err}");
    assert!(
        err.contains("reused  tb (fit): its inputs' results equal those entry"),
        "{err}"
    );
    assert!(!err.contains("running tb"), "{err}");
    let show = ws.run(&["show", "r.lotto", "tb"]).stdout();
    assert!(show.contains("reused_from:"), "{show}");
    let same = |f: &str| {
        std::fs::read(ws.artifacts(&[], "r.lotto", "ta").join(f)).unwrap()
            == std::fs::read(ws.artifacts(&[], "r.lotto", "tb").join(f)).unwrap()
    };
    assert!(same("best.safetensors"));
}

#[test]
fn an_upstream_rerun_to_the_same_result_stops_there() {
    let ws = Ws::with_data(2, 4);
    ws.write("r.lotto", RECIPE);
    ws.run(&["run", "r.lotto"]).success();
    ws.edit("r.lotto", &[("max: 100s", "max: 150s")]);
    let plan = ws.run(&["plan", "r.lotto"]).stdout();
    assert!(
        plan.contains("its key waits on the result of `a`: reused if it comes out as before"),
        "{plan}"
    );
    let out = ws.run(&["run", "r.lotto"]);
    out.success();
    assert_eq!(out.ran(), ["a"], "{}", out.stderr());
    assert!(
        out.stderr().contains("reused  ta (fit)"),
        "{}",
        out.stderr()
    );
    assert!(out.stderr().contains("reused  e (wer)"), "{}", out.stderr());
}

#[test]
fn renaming_a_model_relabels_the_table() {
    let ws = Ws::with_data(2, 4);
    ws.write("r.lotto", RECIPE);
    ws.run(&["run", "r.lotto"]).success();
    assert!(labels(&ws).contains("model: tb"));
    ws.edit(
        "r.lotto",
        &[("train tb", "train tc"), ("[ta, tb]", "[ta, tc]")],
    );
    let out = ws.run(&["run", "r.lotto"]);
    out.success();
    assert_eq!(out.ran(), ["e"], "{}", out.stderr());
    let t = labels(&ws);
    assert!(t.contains("model: tc") && !t.contains("model: tb"), "{t}");
}

#[test]
fn a_round_chosen_two_ways_trains_once() {
    let ws = Ws::with_data(3, 4);
    let recipe = r#"
corpus all = manifest("data/manifest.tsv")
split train, dev, b = all.split(0.4, 0.3, 0.3, seed: 1)
features mel = fbank(mels: 24)
model m = cnn_lstm(kernels: [5x5], strides: [2x2], channels: 4, lstm: 1, hidden: 24)
train d = fit(m, train, dev, features: mel, epochs: 1, batch: 4)
ticket lth = imp(d, rounds: 2, rate: 50%, rewind: init)
train top = best(lth)
train t1 = transfer(top, to: b, dev: dev)
"#;
    ws.write("r.lotto", recipe);
    ws.run(&["run", "r.lotto"]).success();
    let show = ws.run(&["show", "r.lotto", "top"]).stdout();
    let round = show
        .lines()
        .find_map(|l| l.trim().strip_prefix("round: "))
        .unwrap_or_else(|| panic!("{show}"))
        .to_string();
    ws.write(
        "r.lotto",
        &format!("{recipe}train t2 = transfer(lth.round({round}), to: b, dev: dev)\n"),
    );
    let out = ws.run(&["run", "r.lotto"]);
    out.success();
    assert!(
        out.stderr().contains("reused  t2 (transfer)"),
        "{}",
        out.stderr()
    );
    assert!(out.stdout().contains("1 reused"), "{}", out.stdout());
}
