//! Sharing recipes that reproduce: lock files, `--locked`, `verify` and
//! bundles, driven through the real CLI on a slice of the bundled corpus.

mod common;

use common::Ws;
use std::path::Path;
use std::process::Command;

/// Small enough to train in about a second, large enough to exercise a
/// data step, training, IMP, evaluation and a report.
const RECIPE: &str = r#"
import "lib/corpus.lotto"
param epochs = 1
features mel = fbank(mels: 24, window: 25ms, hop: 10ms)
model m = cnn_lstm(kernels: [5x5], strides: [2x2], channels: 4, lstm: 1, hidden: 24)
train dense = fit(m, train, dev, features: mel, epochs: epochs, batch: 4, optimizer: adamw(lr: 2e-3), seed: seed)
ticket lth = imp(dense, rounds: 1, rate: 50%)
eval results = wer([dense, lth], on: [test])
report "out/report" = summary(results)
"#;

/// Imported by [`RECIPE`]: a bundle must carry it.
const CORPUS: &str = r#"
param seed = 3
corpus all = manifest("data/manifest.tsv")
split train, dev, test = all.split(0.5, 0.25, 0.25, seed: seed)
"#;

fn locked_ws() -> Ws {
    let ws = Ws::with_data(4, 6);
    ws.write("r.lotto", RECIPE);
    ws.write("lib/corpus.lotto", CORPUS);
    ws.run(&["run", "r.lotto", "--lock"]).success();
    ws
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

fn untar(archive: &Path, into: &Path) {
    std::fs::create_dir_all(into).unwrap();
    let st = Command::new("tar")
        .arg("xzf")
        .arg(archive)
        .arg("-C")
        .arg(into)
        .status()
        .unwrap();
    assert!(st.success());
}

/// `lotto` run in `dir` (an unpacked bundle) instead of the workspace.
fn run_in(dir: &Path, args: &[&str]) -> common::Out {
    common::Out(common::lotto_in(dir, args).output().unwrap())
}

#[test]
fn lock_is_stable_and_locked_refuses_changed_data_params_and_op_versions() {
    let ws = locked_ws();
    let lock_file = ws.path().join("r.lotto.lock");
    let first = read(&lock_file);
    assert!(
        !first.contains("\ncpu: "),
        "a portable lock names no CPU:\n{first}"
    );
    for want in [
        "device: flex/f32/portable",
        "epochs: 1",
        "fit: ",
        "adamw: ",
        "audio/",
        "utterances: 24",
        "wer[lth/1/test]",
        "round1_rw: 50.0",
    ] {
        assert!(first.contains(want), "lock lacks `{want}`:\n{first}");
    }
    // Re-locking an unchanged, cached recipe gives the same bytes.
    ws.run(&["lock", "r.lotto"]).success();
    assert_eq!(read(&lock_file), first);
    let ok = ws.run(&["run", "r.lotto", "--locked"]);
    ok.success();
    assert!(ok.ran().is_empty());

    // One audio file changed: refused, naming the step and the file.
    let manifest = read(&ws.path().join("data/manifest.tsv"));
    let audio = manifest.lines().nth(3).unwrap().split('\t').next().unwrap();
    let wav = ws.path().join("data").join(audio);
    let orig = std::fs::read(&wav).unwrap();
    let mut changed = orig.clone();
    let n = changed.len();
    changed[n - 1] ^= 0x10;
    std::fs::write(&wav, &changed).unwrap();
    let out = ws.run(&["run", "r.lotto", "--locked"]);
    out.failure();
    let err = out.stderr();
    assert!(
        err.contains("data of `all` (manifest) differs from the lock: 1 file(s) 1 changed")
            && err.contains(&format!("`{audio}`")),
        "{err}"
    );
    assert!(err.contains("lotto lock r.lotto"), "{err}");
    assert!(out.ran().is_empty(), "nothing may run: {err}");
    std::fs::write(&wav, &orig).unwrap();

    // A param differs.
    let out = ws.run(&["run", "r.lotto", "--locked", "--set", "epochs=2"]);
    out.failure();
    assert!(
        out.stderr()
            .contains("param `epochs` is 2 but the lock has 1"),
        "{}",
        out.stderr()
    );

    // The lock names another version of an op than this lotto has.
    let fit_line = first
        .lines()
        .find(|l| l.trim_start().starts_with("fit: "))
        .unwrap()
        .to_string();
    std::fs::write(&lock_file, first.replace(&fit_line, "  fit: 999")).unwrap();
    let out = ws.run(&["run", "r.lotto", "--locked"]);
    out.failure();
    assert!(
        out.stderr().contains("op `fit` is version")
            && out.stderr().contains("version 999 in the lock"),
        "{}",
        out.stderr()
    );
    std::fs::write(&lock_file, &first).unwrap();
    ws.run(&["run", "r.lotto", "--locked"]).success();

    // A lock of the native kernels made on another CPU (other kernels or
    // L1 cache): a warning that numbers may differ in rounding, not a
    // refusal.
    ws.run(&["--kernels", "native", "run", "r.lotto", "--lock"])
        .success();
    let first = read(&lock_file);
    let cpu_line = first
        .lines()
        .find(|l| l.starts_with("cpu: "))
        .unwrap()
        .to_string();
    let other = "cpu: aarch64 neon, L1d 128 KiB 8-way";
    std::fs::write(&lock_file, first.replace(&cpu_line, other)).unwrap();
    let out = ws.run(&["run", "r.lotto", "--locked"]);
    out.success();
    let err = out.stderr();
    assert!(
        err.contains("is not the lock's (aarch64 neon, L1d 128 KiB 8-way)")
            && err.contains("--tolerance"),
        "{err}"
    );
    std::fs::write(&lock_file, &first).unwrap();
}

#[test]
fn bundle_reproduces_elsewhere_with_all_cache_hits_and_verify_catches_tampering() {
    let ws = locked_ws();
    let b1 = ws.path().join("b1.tar.gz");
    let b2 = ws.path().join("b2.tar.gz");
    for b in [&b1, &b2] {
        ws.run(&[
            "bundle",
            "r.lotto",
            "--with-data",
            "-o",
            b.to_str().unwrap(),
        ])
        .success();
    }
    // The same files bundle to the same bytes.
    assert_eq!(std::fs::read(&b1).unwrap(), std::fs::read(&b2).unwrap());

    let other = tempfile::tempdir().unwrap();
    let dir = other.path().join("unpacked");
    untar(&b1, &dir);
    assert!(dir.join("lotto-bundle.yaml").is_file());
    assert!(dir.join("lib/corpus.lotto").is_file());
    assert!(dir.join("r.lotto.lock").is_file());
    // Against the author's store: every step is a hit (same keys elsewhere).
    let store = ws.path().join(".lotto");
    let hit = run_in(
        &dir,
        &[
            "--store",
            store.to_str().unwrap(),
            "run",
            "r.lotto",
            "--locked",
        ],
    );
    hit.success();
    assert!(hit.ran().is_empty(), "{}", hit.stderr());
    assert!(hit.stdout().contains("0 ran, 8 cached"), "{}", hit.stdout());

    // From scratch, the results equal the locked ones.
    std::fs::remove_dir_all(dir.join("out")).unwrap();
    let v = run_in(&dir, &["verify", "r.lotto"]);
    v.success();
    assert!(
        v.stdout().contains("result(s) match the lock"),
        "{}",
        v.stdout()
    );
    assert!(!v.stdout().contains("DIFFERS"), "{}", v.stdout());
    // verify leaves the workspace's reports alone.
    assert!(!dir.join("out").exists());

    // A tampered result fails loudly.
    let lock_file = dir.join("r.lotto.lock");
    let text = read(&lock_file);
    let line = text
        .lines()
        .find(|l| l.contains("wer[lth/1/test]"))
        .unwrap()
        .to_string();
    std::fs::write(&lock_file, text.replace(&line, "    wer[lth/1/test]: 1.5")).unwrap();
    let v = run_in(&dir, &["verify", "r.lotto"]);
    v.failure();
    assert!(
        v.stdout().contains("results.wer[lth/1/test]") && v.stdout().contains("DIFFERS"),
        "{}",
        v.stdout()
    );
    assert!(v.stderr().contains("did not reproduce"), "{}", v.stderr());
}

#[test]
fn a_bundle_reads_and_writes_only_inside_its_folder_and_mapped_data() {
    let ws = locked_ws();
    let b = ws.path().join("b.tar.gz");
    let out = ws.run(&["bundle", "r.lotto", "-o", b.to_str().unwrap()]);
    out.success();
    assert!(out.stdout().contains("no data"), "{}", out.stdout());
    let other = tempfile::tempdir().unwrap();
    let dir = other.path().join("unpacked");
    untar(&b, &dir);
    assert!(!dir.join("data").exists());

    // No data and no map: the error says how to map it.
    let e = run_in(&dir, &["run", "r.lotto"]);
    e.failure();
    let err = e.stderr().replace('\n', " ");
    assert!(
        err.contains("map each data path") && err.contains("NAME=PATH"),
        "{err}"
    );

    // A symlink out of the bundle is refused.
    std::os::unix::fs::symlink(ws.path().join("data"), dir.join("data")).unwrap();
    let e = run_in(&dir, &["run", "r.lotto"]);
    e.failure();
    let err = e.stderr().replace("\n  │ ", " ");
    assert!(err.contains("is outside this bundle's folder"), "{err}");
    std::fs::remove_file(dir.join("data")).unwrap();

    // Mapped data runs, with the author's keys (all hits in their store).
    let data = ws.path().join("data");
    let map = format!("data={}", data.display());
    let store = ws.path().join(".lotto");
    let hit = run_in(
        &dir,
        &[
            "--store",
            store.to_str().unwrap(),
            "--data",
            &map,
            "run",
            "r.lotto",
            "--locked",
        ],
    );
    hit.success();
    assert!(hit.ran().is_empty(), "{}", hit.stderr());

    // An import from outside the bundle is refused.
    let recipe = read(&dir.join("r.lotto"));
    std::fs::write(other.path().join("evil.lotto"), CORPUS).unwrap();
    std::fs::write(
        dir.join("r.lotto"),
        recipe.replace("lib/corpus.lotto", "../evil.lotto"),
    )
    .unwrap();
    let e = run_in(&dir, &["--data", &map, "check", "r.lotto"]);
    e.failure();
    let err = e.stderr().replace("\n  │ ", " ");
    assert!(
        err.contains("a bundle may only import recipes inside it"),
        "{err}"
    );
    std::fs::write(dir.join("r.lotto"), &recipe).unwrap();

    // A report that escapes is refused, --allow-outside or not...
    let recipe = read(&dir.join("r.lotto"));
    std::fs::write(
        dir.join("r.lotto"),
        recipe.replace("\"out/report\"", "\"../escaped\""),
    )
    .unwrap();
    let e = run_in(&dir, &["--data", &map, "run", "r.lotto", "--allow-outside"]);
    e.failure();
    let err = e.stderr().replace("\n  │ ", " ");
    assert!(
        err.contains("report path `../escaped` is outside this bundle's folder"),
        "{err}"
    );
    // ...and so is one through a symlink the bundle carries.
    std::fs::write(dir.join("r.lotto"), &recipe).unwrap();
    let outside = other.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::remove_dir_all(dir.join("out")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("out")).unwrap();
    let e = run_in(&dir, &["--data", &map, "run", "r.lotto"]);
    e.failure();
    assert!(
        e.stderr().contains("leads outside this bundle's folder"),
        "{}",
        e.stderr()
    );
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
}
