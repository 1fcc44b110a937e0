//! The real corpus layouts (LibriSpeech FLAC, TED-LIUM SPHERE + stm,
//! Common Voice 48 kHz MP3 + tsv) on small look-alike fixtures, through the
//! real binary; bad inputs give errors naming the file and line.

mod common;
use common::*;

fn utts(ws: &Ws, step: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(ws.artifacts(&[], "r.lotto", step).join("utts.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn fixture_ws() -> Ws {
    let ws = Ws::empty();
    let src = repo().join("tests/fixtures");
    let status = std::process::Command::new("cp")
        .args([
            "-r",
            src.to_str().unwrap(),
            ws.path().join("corpora").to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    ws
}

const RECIPE: &str = r#"
corpus libri = librispeech("corpora/librispeech", split: "train-clean-100")
corpus ted = tedlium("corpora/tedlium", split: "train")
corpus cv = commonvoice("corpora/commonvoice", split: "train")
corpus cv_test = commonvoice("corpora/commonvoice", split: "test")
features mel = fbank(mels: 40)
model m = cnn_lstm(kernels: [5x5], strides: [2x2], channels: 4, lstm: 1, hidden: 16)
train t = fit(m, libri, ted, features: mel, epochs: 1, batch: 2)
eval e = wer([t], on: [cv, cv_test])
"#;

#[test]
fn every_layout_loads_decodes_and_trains() {
    let ws = fixture_ws();
    ws.write("r.lotto", RECIPE);
    let run = ws.run(&["run", "r.lotto"]);
    run.success();
    let libri = utts(&ws, "libri");
    assert_eq!(libri.len(), 3);
    assert_eq!(libri[0]["id"], "19-198-0000");
    assert_eq!(libri[0]["speaker"], "19");
    assert_eq!(
        libri[0]["text"], "go up four",
        "upper-case transcripts are normalised to the model alphabet"
    );
    let ted = utts(&ws, "ted");
    assert_eq!(
        ted.len(),
        2,
        "the ignore_time_segment_in_scoring segment is dropped"
    );
    assert_eq!(
        ted[1]["text"], "nine seven stop",
        "<unk> markers are dropped"
    );
    let seg = ted[1]["segment"].as_array().unwrap();
    assert!((seg[0].as_f64().unwrap() - 1.03).abs() < 1e-9);
    assert!((ted[1]["duration"].as_f64().unwrap() - 1.27).abs() < 1e-6);
    let cv = utts(&ws, "cv");
    assert_eq!(cv.len(), 2);
    assert_eq!(cv[0]["speaker"], "spk_a");
    // 48 kHz MP3 resampled to 16 kHz keeps its duration (MP3 adds padding).
    let d = cv[0]["duration"].as_f64().unwrap();
    assert!(d > 0.9 && d < 1.3, "duration {d}");
}

#[test]
fn bad_corpus_files_name_file_and_line() {
    let ws = fixture_ws();
    // A segment beyond the end of its talk.
    let stm = ws.path().join("corpora/tedlium/train/stm/TalkA.stm");
    let text = std::fs::read_to_string(&stm)
        .unwrap()
        .replace("1.03 2.30", "1.03 9.50");
    std::fs::write(&stm, text).unwrap();
    ws.write(
        "r.lotto",
        "corpus ted = tedlium(\"corpora/tedlium\", split: \"train\")\n",
    );
    let out = ws.run(&["run", "r.lotto"]);
    let err = out.failure().stderr();
    assert!(
        err.contains("TalkA.stm:2: segment ends at 9.50s, beyond the end of"),
        "{err}"
    );
    // ... skipped and counted with on_error: skip.
    ws.write(
        "r.lotto",
        "corpus ted = tedlium(\"corpora/tedlium\", split: \"train\", on_error: skip)\n",
    );
    ws.run(&["run", "r.lotto"]).success();
    assert!(ws
        .run(&["show", "r.lotto", "ted"])
        .stdout()
        .contains("skipped: 1"));

    // A truncated FLAC, a missing MP3, a malformed transcript line.
    let flac = ws
        .path()
        .join("corpora/librispeech/train-clean-100/26/495/26-495-0000.flac");
    let bytes = std::fs::read(&flac).unwrap();
    std::fs::write(&flac, &bytes[..40]).unwrap();
    ws.write(
        "r.lotto",
        "corpus l = librispeech(\"corpora/librispeech\", split: \"train-clean-100\")\n",
    );
    let err = ws.run(&["run", "r.lotto"]).failure().stderr();
    assert!(
        err.contains("26-495.trans.txt:1") && err.contains("26-495-0000.flac"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    std::fs::remove_file(
        ws.path()
            .join("corpora/commonvoice/clips/common_voice_en_1.mp3"),
    )
    .unwrap();
    ws.write(
        "r.lotto",
        "corpus c = commonvoice(\"corpora/commonvoice\")\n",
    );
    let err = ws.run(&["plan", "r.lotto"]).failure().stderr();
    assert!(
        err.contains("train.tsv:3: audio file")
            && err.contains("common_voice_en_1.mp3` does not exist"),
        "{err}"
    );
    ws.write(
        "corpora/librispeech/train-clean-100/19/198/19-198.trans.txt",
        "garbage\n",
    );
    ws.write(
        "r.lotto",
        "corpus l = librispeech(\"corpora/librispeech\", split: \"train-clean-100\")\n",
    );
    let err = ws
        .run(&["plan", "r.lotto"])
        .failure()
        .stderr()
        .replace("\n  │ ", " ");
    assert!(
        err.contains("19-198.trans.txt:1: expected `ID TRANSCRIPT`"),
        "{err}"
    );
}

#[test]
fn concat_joins_corpora_and_refuses_an_utterance_twice() {
    let ws = Ws::with_data(4, 5);
    ws.write(
        "r.lotto",
        r#"
corpus all = manifest("data/manifest.tsv")
split train, dev = all.split(0.5, 0.5, seed: 1)
corpus both = concat(train, dev)
corpus listed = concat([dev, train])
"#,
    );
    ws.run(&["run", "r.lotto"]).success();
    let ids = |v: &[serde_json::Value]| -> Vec<String> {
        v.iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect()
    };
    let both = ids(&utts(&ws, "both"));
    let listed = ids(&utts(&ws, "listed"));
    assert_eq!(both.len(), 20);
    let mut a = both.clone();
    let mut b = listed.clone();
    a.sort();
    b.sort();
    a.dedup();
    assert_eq!(a, b, "same utterances, each once");
    assert_eq!(a.len(), 20);
    // Order follows the arguments: train first in `both`, dev first in `listed`.
    assert_ne!(both[0], listed[0]);
    assert_eq!(both[..10], listed[10..]);
    ws.write(
        "r.lotto",
        "corpus all = manifest(\"data/manifest.tsv\")\nsplit train, dev = all.split(0.5, 0.5)\ncorpus dup = concat(all, train)\n",
    );
    let out = ws.run(&["run", "r.lotto"]);
    out.failure();
    assert!(
        out.stderr().contains("is in both `all` and `train`"),
        "{}",
        out.stderr()
    );
}

#[test]
fn a_noise_bank_takes_any_supported_format() {
    let ws = fixture_ws();
    let flac = walk_find(&ws.path().join("corpora/librispeech"), "flac");
    let mp3 = walk_find(&ws.path().join("corpora/commonvoice"), "mp3");
    std::fs::create_dir_all(ws.path().join("noise")).unwrap();
    std::fs::copy(&flac, ws.path().join("noise/a.flac")).unwrap();
    std::fs::copy(&mp3, ws.path().join("noise/b.mp3")).unwrap();
    std::fs::write(ws.path().join("noise/readme.txt"), "not audio").unwrap();
    ws.write(
        "r.lotto",
        "noise bank = noise_dir(\"noise\")\ncorpus c = commonvoice(\"corpora/commonvoice\")\ncorpus noisy = mix(c, bank, snr: 5dB)\n",
    );
    ws.run(&["run", "r.lotto"]).success();
    let bank = utts(&ws, "bank");
    let names: Vec<&str> = bank.iter().map(|u| u["audio"].as_str().unwrap()).collect();
    assert_eq!(bank.len(), 2, "{names:?}");
    assert!(
        names[0].ends_with("a.flac") && names[1].ends_with("b.mp3"),
        "{names:?}"
    );
}

fn walk_find(dir: &std::path::Path, ext: &str) -> std::path::PathBuf {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == ext) {
                return p;
            }
        }
    }
    panic!("no .{ext} under {}", dir.display());
}

#[test]
fn every_bad_file_at_once_truncation_repeated_ids_unlisted_audio() {
    let ws = fixture_ws();
    let libri = ws.path().join("corpora/librispeech/train-clean-100");
    // A FLAC cut to two thirds: its header says longer.
    let flac = libri.join("19/198/19-198-0001.flac");
    let bytes = std::fs::read(&flac).unwrap();
    std::fs::write(&flac, &bytes[..bytes.len() * 2 / 3]).unwrap();
    // And one whose transcript line is gone.
    let trans = libri.join("26/495/26-495.trans.txt");
    std::fs::write(&trans, "").unwrap();
    ws.write(
        "r.lotto",
        "corpus l = librispeech(\"corpora/librispeech\", split: \"train-clean-100\")\n",
    );
    let err = ws.run(&["run", "r.lotto"]).failure().stderr();
    assert!(
        err.contains("2 problems with the audio files of `corpora/librispeech/train-clean-100`"),
        "{err}"
    );
    assert!(
        err.contains("26-495-0000.flac: no line of")
            && err.contains(
                "train-clean-100/19/198/19-198-0001.flac`: truncated flac file: its header says"
            ),
        "{err}"
    );
    // Skipped, both are counted.
    ws.write(
        "r.lotto",
        "corpus l = librispeech(\"corpora/librispeech\", split: \"train-clean-100\", on_error: skip)\n",
    );
    ws.run(&["run", "r.lotto"]).success();
    assert!(ws
        .run(&["show", "r.lotto", "l"])
        .stdout()
        .contains("skipped: 2"));
    // Without `split:`, the split folder is not taken for a speaker.
    ws.write(
        "r.lotto",
        "corpus l = librispeech(\"corpora/librispeech\")\n",
    );
    let err = ws.run(&["plan", "r.lotto"]).failure().stderr();
    assert!(err.contains("pass `split: \"train-clean-100\"`"), "{err}");
}

#[test]
fn a_manifest_reports_every_bad_file_and_repeated_ids() {
    let ws = Ws::with_data(1, 3);
    let m = std::fs::read_to_string(ws.path().join("data/manifest.tsv")).unwrap();
    let mut lines: Vec<String> = m.lines().map(str::to_string).collect();
    // Lines 2 and 3 name missing files; line 4 is fine.
    for l in lines.iter_mut().skip(1).take(2) {
        *l = l.replacen(".wav", "_gone.wav", 1);
    }
    ws.write("data/bad.tsv", &(lines.join("\n") + "\n"));
    ws.write("r.lotto", "corpus c = manifest(\"data/bad.tsv\")\n");
    let err = ws.run(&["plan", "r.lotto"]).failure().stderr();
    assert!(
        err.contains("2 problems with the audio files of `data/bad.tsv`")
            && err.contains("data/bad.tsv:2: audio file")
            && err.contains("data/bad.tsv:3: audio file"),
        "{err}"
    );
    // `ok.wav` and `ok.flac` would both be utterance `ok`.
    let row = m.lines().nth(1).unwrap().to_string();
    let path = row.split('\t').next().unwrap().to_string();
    let twin = row.replacen(&path, &path.replace(".wav", ".flac"), 1);
    ws.write(
        "data/dup.tsv",
        &format!("{}\n{}\n{}\n", lines[0], m.lines().nth(1).unwrap(), twin),
    );
    ws.write("r.lotto", "corpus c = manifest(\"data/dup.tsv\")\n");
    let err = ws.run(&["plan", "r.lotto"]).failure().stderr();
    assert!(
        err.contains("data/dup.tsv:3: utterance id") && err.contains("is also data/dup.tsv:2's"),
        "{err}"
    );
}

#[test]
fn a_filter_that_keeps_nothing_says_so() {
    let ws = Ws::with_data(1, 2);
    ws.write(
        "r.lotto",
        "corpus all = manifest(\"data/manifest.tsv\")\ncorpus long = all.filter(min: 100s, max: 200s)\n",
    );
    let err = ws.run(&["run", "r.lotto"]).failure().stderr();
    assert!(
        err.contains("long") && err.contains("keeps none of the 2 utterances of its corpus"),
        "{err}"
    );
}
