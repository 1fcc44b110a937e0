//! Values that check by type but cannot work are refused by `lotto check`,
//! pointing at the argument: an empty filter window, an empty split part,
//! a rewind epoch after the dense training, a round the ticket will not
//! have, a kernel taller than the frequency axis, an absurd model.

mod common;
use common::*;

const BASE: &str = r#"
corpus all = manifest("data/manifest.tsv")
split train, dev = all.split(0.5, 0.5, seed: 1)
features mel = fbank(mels: 24)
model m = cnn_lstm(kernels: [5x5], strides: [2x2], channels: 4, lstm: 1, hidden: 24)
train dense = fit(m, train, dev, features: mel, epochs: 2, batch: 4)
"#;

/// `lotto check` on BASE plus `extra` (with `from` replaced by `to` in
/// BASE): its stderr, which must hold `said` at `place`.
fn refused(edit: (&str, &str), extra: &str, place: &str, said: &str) {
    let ws = Ws::with_data(1, 2);
    ws.write(
        "r.lotto",
        &format!("{}{extra}", BASE.replace(edit.0, edit.1)),
    );
    let out = ws.run(&["check", "r.lotto"]);
    out.failure();
    let err = out.stderr();
    assert!(
        err.contains(&format!("r.lotto:{place}: error")) && err.contains(said),
        "want `{said}` at {place}: {err}"
    );
}

#[test]
fn the_base_recipe_checks() {
    let ws = Ws::with_data(1, 2);
    ws.write(
        "r.lotto",
        &format!(
            "{BASE}ticket lth = imp(dense, rounds: 2, rewind: epoch(1))\ntrain r2 = lth.round(2)\n"
        ),
    );
    ws.run(&["check", "r.lotto"]).success();
}

#[test]
fn an_empty_filter_window_and_an_empty_split_part() {
    refused(
        ("", ""),
        "corpus short = all.filter(min: 10s, max: 1s)\n",
        "7:37",
        "`max` (1s) is below `min` (10s)",
    );
    refused(
        ("all.split(0.5, 0.5, seed: 1)", "all.split(1, 0, seed: 1)"),
        "",
        "3:30",
        "part 2 of the split is empty",
    );
}

#[test]
fn a_rewind_point_after_the_dense_training() {
    refused(
        ("", ""),
        "ticket lth = imp(dense, rounds: 2, rewind: epoch(5))\n",
        "7:36",
        "rewind: epoch(5) must come before the end of the dense training (2 epochs)",
    );
    refused(
        ("epochs: 2", "steps: 10"),
        "ticket lth = random_prune(dense, rewind: step(10))\n",
        "7:34",
        "rewind: step(10) must come before the end of the dense training (10 steps)",
    );
}

#[test]
fn a_round_the_ticket_will_not_have() {
    refused(
        ("", ""),
        "ticket lth = imp(dense, rounds: 3)\ntrain r = lth.round(50)\n",
        "8:21",
        "the ticket has rounds 0 (dense) to 3, not 50",
    );
    // Through a random ticket, and with an explicit schedule.
    refused(
        ("", ""),
        "ticket lth = imp(dense, sparsities: [20%, 40%])\nticket rt = random_ticket(lth)\ntrain r = rt.round(3)\n",
        "9:20",
        "the ticket has rounds 0 (dense) to 2, not 3",
    );
}

#[test]
fn kernels_taller_than_the_features_and_absurd_models() {
    refused(
        ("kernels: [5x5]", "kernels: [41x11]"),
        "",
        "6:19",
        "conv layer 1's kernel is 41 bins high, but its input has 24 frequency bins",
    );
    refused(
        ("kernels: [5x5]", "kernels: [5x4294967295]"),
        "",
        "6:19",
        "parameters (about 1600 GiB to train)",
    );
    refused(
        ("kernels: [5x5]", "kernels: [99999999999999999999x1]"),
        "",
        "5:30",
        "the shape side 99999999999999999999 is too large",
    );
}
