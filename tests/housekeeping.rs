//! Housekeeping: verify leaves no scratch store behind (and removes those
//! of killed verifies), read-only commands create nothing, a missing
//! workspace or mapped folder and an unknown device are named, and `lock`
//! and `verify` read data again instead of trusting file stamps.

mod common;
use common::*;
use std::time::SystemTime;

const CORPUS: &str =
    "corpus all = manifest(\"data/manifest.tsv\")\nsplit a, b = all.split(0.5, 0.5, seed: 1)\n";

#[test]
fn verify_scratch_stores_live_in_the_store_and_stale_ones_go() {
    let ws = Ws::with_data(2, 2);
    ws.write("r.lotto", CORPUS);
    ws.run(&["run", "r.lotto", "--lock"]).success();
    // What a killed verify leaves: a scratch store whose lock nobody holds.
    let stale = ws.path().join(".lotto/verify/scratch-killed");
    std::fs::create_dir_all(stale.join("objects")).unwrap();
    std::fs::write(stale.join("in-use.lock"), "").unwrap();
    let out = ws.run(&["verify", "r.lotto"]);
    out.success();
    assert!(
        out.stderr().contains(".lotto/verify/scratch-"),
        "{}",
        out.stderr()
    );
    let left: Vec<_> = std::fs::read_dir(ws.path().join(".lotto/verify"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn read_only_commands_create_nothing_and_a_missing_workspace_is_an_error() {
    let ws = Ws::with_data(1, 2);
    ws.write("r.lotto", CORPUS);
    for cmd in [
        &["plan", "r.lotto"][..],
        &["status", "r.lotto"],
        &["show", "r.lotto", "all"],
    ] {
        ws.run(cmd).success();
        assert!(!ws.path().join(".lotto").exists(), "{cmd:?} made a store");
    }
    let gone = ws.path().join("no/such/folder");
    let out = ws.run(&["--workspace", gone.to_str().unwrap(), "plan", "r.lotto"]);
    out.failure();
    assert!(
        out.stderr().contains("is not a folder here"),
        "{}",
        out.stderr()
    );
    assert!(!gone.exists());
}

#[test]
fn unknown_devices_and_missing_mapped_folders_are_named() {
    let ws = Ws::with_data(1, 2);
    ws.write("r.lotto", CORPUS);
    let out = ws.run(&["--device", "garbage", "run", "r.lotto"]);
    out.failure();
    assert!(
        out.stderr()
            .contains("no device `garbage`: this build has flex")
            && !out.stderr().contains("--features garbage"),
        "{}",
        out.stderr()
    );
    let out = ws.run(&["--data", "data=/no/such/place", "plan", "r.lotto"]);
    out.failure();
    assert!(
        out.stderr().contains("cannot use `/no/such/place`"),
        "{}",
        out.stderr()
    );
}

#[test]
fn lock_and_verify_read_the_data_again() {
    let ws = Ws::with_data(2, 2);
    ws.write("r.lotto", CORPUS);
    ws.run(&["run", "r.lotto", "--lock"]).success();
    // Edit a transcript in place, same size, then put the mtime back.
    let m = ws.path().join("data/manifest.tsv");
    let when: SystemTime = std::fs::metadata(&m).unwrap().modified().unwrap();
    let text = std::fs::read_to_string(&m).unwrap();
    let edited = text.replacen("go up four", "go up fivr", 1);
    assert_ne!(text, edited);
    assert_eq!(text.len(), edited.len());
    std::fs::write(&m, edited).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&m)
        .unwrap()
        .set_modified(when)
        .unwrap();
    let out = ws.run(&["verify", "r.lotto"]);
    out.failure();
    assert!(
        out.stderr().contains("manifest.tsv"),
        "verify sees the edit: {}",
        out.stderr()
    );
    let out = ws.run(&["lock", "r.lotto"]);
    out.success();
    assert!(
        out.stdout().contains("have no result in the store"),
        "lock sees the edit: {}",
        out.stdout()
    );
}
