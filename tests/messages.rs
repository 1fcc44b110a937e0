//! Messages a new user meets: work that needs only some data runs when
//! other data is broken, errors say where lotto looked and what to type,
//! every error of a call shows at once, near misses get "did you mean".

mod common;
use common::*;

/// A recipe whose corpus `b` lists an audio file that is not there.
fn with_broken_corpus() -> Ws {
    let ws = Ws::with_data(2, 2);
    ws.write("d2/m.tsv", "path\ttranscript\nnope.wav\thello\n");
    ws.write(
        "r.lotto",
        "corpus a = manifest(\"data/manifest.tsv\")\ncorpus b = manifest(\"d2/m.tsv\")\nsplit tr, dv = a.split(0.5, 0.5)\n",
    );
    ws
}

#[test]
fn only_the_selected_steps_data_must_be_readable() {
    let ws = with_broken_corpus();
    let out = ws.run(&["run", "r.lotto", "--only", "tr"]);
    out.success();
    ws.run(&["show", "r.lotto", "tr"]).success();
    // `plan` plans everything else and reports the broken corpus after.
    let out = ws.run(&["plan", "r.lotto"]);
    out.failure();
    let plan = out.stdout();
    assert!(
        plan.contains("broken  b") && plan.contains("cached  tr,dv"),
        "{plan}"
    );
    assert!(
        out.stderr()
            .contains("d2/m.tsv:2: audio file `nope.wav` does not exist"),
        "{}",
        out.stderr()
    );
    // The help no longer blames a path that is right.
    assert!(
        out.stderr().contains("the recipe's paths are there"),
        "{}",
        out.stderr()
    );
    // A plain run needs it all.
    ws.run(&["run", "r.lotto"]).failure();
}

#[test]
fn data_not_found_says_where_it_looked_and_suggests_the_workspace() {
    let ws = Ws::with_data(1, 2);
    ws.write(
        "sub/r.lotto",
        "corpus a = manifest(\"data/manifest.tsv\")\n",
    );
    // The data lies beside the recipe (`sub/data`); planned from the
    // workspace root, `data/...` is looked for in the root.
    std::fs::create_dir_all(ws.path().join("sub")).unwrap();
    std::fs::rename(ws.path().join("data"), ws.path().join("sub/data")).unwrap();
    let out = ws.run(&["plan", "sub/r.lotto"]);
    out.success();
    assert!(
        out.stdout().contains("looked in the workspace")
            && out
                .stdout()
                .contains("it is beside the recipe: pass --workspace"),
        "{}",
        out.stdout()
    );
}

#[test]
fn every_error_of_a_call_at_once() {
    let ws = Ws::empty();
    ws.write("r.lotto", "model c = conformer(heads: 7, kernel: \"x\")\n");
    let err = ws.run(&["check", "r.lotto"]).failure().stderr();
    assert!(
        err.contains("`heads` must divide `d_model`")
            && err.contains("`kernel` takes an integer, found a string"),
        "{err}"
    );
}

#[test]
fn near_misses_get_did_you_mean() {
    let ws = Ws::with_data(1, 2);
    ws.write("r.lotto", "corpus a = manifest(\"dta/manifset.tsv\")\n");
    let out = ws.run(&["plan", "r.lotto"]);
    assert!(
        out.stdout().contains("did you mean `data/manifest.tsv`?"),
        "{}",
        out.stdout()
    );
    let out = ws.run(&["ops", "manifset"]);
    out.failure();
    assert!(
        out.stderr().contains("did you mean `manifest`?"),
        "{}",
        out.stderr()
    );
    ws.write(
        "r.lotto",
        "corpus a = manifest(\"data/manifest.tsv\")\nfor k in [1, 2] {\n  corpus moved = a.take(n: k)\n}\n",
    );
    let out = ws.run(&["show", "r.lotto", "moved"]);
    out.failure();
    assert!(
        out.stderr()
            .contains("`moved` is a sweep: name one of its steps, `moved[k=1]`, `moved[k=2]`"),
        "{}",
        out.stderr()
    );
}

#[test]
fn an_unquoted_word_with_hyphens_is_to_be_quoted() {
    let ws = Ws::empty();
    ws.write(
        "r.lotto",
        "corpus a = librispeech(\"x\", split: train-clean-100)\n",
    );
    let err = ws.run(&["check", "r.lotto"]).failure().stderr();
    assert!(
        err.contains("text is written in quotes: `\"train-clean-100\"`"),
        "{err}"
    );
}

/// A fit whose largest step cannot fit in the memory lotto may use fails
/// before its first epoch, says what the step needs and what to change;
/// a limit that is not a size is an error, not ignored.
#[test]
fn a_fit_that_cannot_fit_in_memory_says_so_before_training() {
    let ws = Ws::with_data(2, 3);
    ws.write(
        "r.lotto",
        "corpus a = manifest(\"data/manifest.tsv\")\nsplit tr, dv = a.split(0.5, 0.5)\nfeatures mel = fbank(mels: 40)\nmodel m = cnn_lstm(kernels: [11x11], strides: [2x2], channels: 8, lstm: 1, hidden: 32)\ntrain t = fit(m, tr, dv, features: mel, epochs: 1, batch: 2)\n",
    );
    let run = |limit: &str| {
        Out(ws
            .cmd(&["run", "r.lotto"])
            .env("LOTTO_MEMORY", limit)
            .output()
            .unwrap())
    };
    let out = run("1MB");
    out.failure();
    let err = out.stderr();
    assert!(
        err.contains("a training step on 2 utterances of up to")
            && err.contains("more than the 1 MB LOTTO_MEMORY allows")
            && err.contains("lower `batch`"),
        "{err}"
    );
    assert!(!out.stdout().contains("epoch 1/1"), "{}", out.stdout());
    let out = run("lots");
    out.failure();
    assert!(
        out.stderr().contains("LOTTO_MEMORY=`lots` is not a size"),
        "{}",
        out.stderr()
    );
    run("64GB").success();
}
