//! Beam-search decoding through the CLI: a language model estimated with
//! `ngram` (written as ARPA) and the same file read back with `arpa`, the
//! transducer refused with a clear message, and a broken ARPA file named.

mod common;
use common::*;

/// WER column of an eval step's table, in row order.
fn wers(ws: &Ws, recipe: &str, step: &str) -> Vec<String> {
    let dir = ws.artifacts(&[], recipe, step);
    std::fs::read_to_string(dir.join("eval.yaml"))
        .unwrap()
        .lines()
        .filter(|l| l.trim_start().starts_with("wer:"))
        .map(String::from)
        .collect()
}

#[test]
fn beam_search_with_an_estimated_and_a_read_language_model() {
    let ws = Ws::with_data(4, 6);
    let recipe = format!(
        "{SMALL}lm words = ngram([train], order: 2)
eval greedy = wer([dense], on: [dev])
eval beam = wer([dense], on: [dev], decoder: beam(width: 8, lm: words, alpha: 0.8, beta: 0.5))
"
    );
    ws.write("r.lotto", &recipe);
    ws.run(&["run", "r.lotto"]).success();
    let arpa = ws.artifacts(&[], "r.lotto", "words").join("lm.arpa");
    let text = std::fs::read_to_string(&arpa).unwrap();
    assert!(
        text.starts_with("\\data\\\nngram 1=")
            && text.contains("\\2-grams:")
            && text.ends_with("\\end\\\n"),
        "{text}"
    );
    assert_eq!(wers(&ws, "r.lotto", "greedy").len(), 1);

    // The same model read from the ARPA file decodes identically.
    std::fs::copy(&arpa, ws.path().join("ext.arpa")).unwrap();
    let read_back = format!(
        "{recipe}lm ext = arpa(\"ext.arpa\")
eval beam2 = wer([dense], on: [dev], decoder: beam(width: 8, lm: ext, alpha: 0.8, beta: 0.5))
"
    );
    ws.write("r.lotto", &read_back);
    ws.run(&["run", "r.lotto"]).success();
    assert_eq!(wers(&ws, "r.lotto", "beam"), wers(&ws, "r.lotto", "beam2"));

    // A broken ARPA file is named with its line.
    ws.write("ext.arpa", "not an arpa file\n");
    let out = ws.run(&["run", "r.lotto"]);
    out.failure();
    assert!(out.stderr().contains("ext.arpa:1:"), "{}", out.stderr());
}

#[test]
fn beam_search_refuses_a_transducer_and_says_what_to_use() {
    let ws = Ws::with_data(4, 6);
    ws.write(
        "r.lotto",
        r#"
corpus all = manifest("data/manifest.tsv")
split train, dev = all.split(0.5, 0.5, seed: 1)
features mel = fbank(mels: 24, window: 25ms, hop: 10ms)
model tr = rnnt(stack: 4, encoder_layers: 1, encoder_hidden: 8, predictor_hidden: 8, joint: 8)
train dense = fit(tr, train, dev, features: mel, epochs: 1, batch: 4)
eval beam = wer([dense], on: [dev], decoder: beam(width: 4))
"#,
    );
    let out = ws.run(&["run", "r.lotto"]);
    out.failure();
    let err = out.stderr();
    assert!(
        err.contains("beam search decodes CTC models") && err.contains("decoder: greedy"),
        "{err}"
    );
}
