//! Audio decoders and corpus loaders on arbitrary bytes: the first byte picks
//! what the rest becomes (a WAV, SPHERE, FLAC or MP3 file; a manifest TSV /
//! CSV / JSONL; a TED-LIUM stm; a Common Voice tsv). Every input must give
//! audio or an error, never a panic or an abort.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lotto_interpreter::value::{Args, Value};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

static REG: OnceLock<lotto_interpreter::Registry> = OnceLock::new();
static DIR: OnceLock<PathBuf> = OnceLock::new();

/// A scratch folder with one valid WAV and SPHERE file for the text cases.
fn scratch() -> &'static Path {
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("lotto-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(d.join("T/stm")).unwrap();
        std::fs::create_dir_all(d.join("T/sph")).unwrap();
        std::fs::create_dir_all(d.join("cv/clips")).unwrap();
        let tone: Vec<f32> = (0..16000).map(|i| (i as f32 * 0.05).sin() * 0.3).collect();
        lotto_stdlib::audio::write_wav(&d.join("a.wav"), &tone).unwrap();
        lotto_stdlib::sphere::write(&d.join("T/sph/talk.sph"), &tone, 16000).unwrap();
        d
    })
}

/// A loader's arguments as the checker fills them: the given strings and
/// the default `on_error: error`.
fn args(pairs: &[(&str, &str)]) -> Args {
    let mut a: Args = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::Str(v.to_string())))
        .collect();
    a.insert("on_error".into(), Value::sym("error"));
    a
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, body)) = data.split_first() else { return };
    let reg = REG.get_or_init(lotto_stdlib::registry);
    let d = scratch();
    let audio = |name: &str| {
        let p = d.join(name);
        std::fs::write(&p, body).unwrap();
        let _ = lotto_stdlib::audio::load(&p, None);
        let _ = lotto_stdlib::audio::load(&p, Some((0.1, 0.3)));
    };
    let reads = |op: &str, a: Args| {
        let op = reg.get(op).unwrap();
        op.parse(&a).expect("the fuzz target's arguments fit the op");
        let _ = op.reads(&a, d);
    };
    match kind % 9 {
        0 => audio("x.wav"),
        1 => audio("x.sph"),
        2 => audio("x.flac"),
        3 => audio("x.mp3"),
        4 => audio("x.ogg"),
        5 | 6 | 7 => {
            let ext = ["tsv", "csv", "jsonl"][(kind % 9 - 5) as usize];
            let name = format!("m.{ext}");
            std::fs::write(d.join(&name), body).unwrap();
            reads("manifest", args(&[("file", &name)]));
        }
        _ => {
            if kind & 0x80 == 0 {
                std::fs::write(d.join("T/stm/talk.stm"), body).unwrap();
                reads("tedlium", args(&[("dir", "."), ("split", "T")]));
            } else {
                std::fs::write(d.join("cv/train.tsv"), body).unwrap();
                reads("commonvoice", args(&[("dir", "cv"), ("split", "train")]));
            }
        }
    }
});
