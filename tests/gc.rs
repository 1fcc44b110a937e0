//! `lotto gc` never deletes what a recipe may still need: not when a
//! recipe's data is away, not when a recipe does not check, not while a
//! run uses the store; and its workspace scan follows no symbolic link.

mod common;
use common::*;
use std::time::{Duration, Instant};

fn recipe() -> String {
    format!("{SMALL}eval results = wer([dense], on: [dev])\n")
}

fn entries(ws: &Ws) -> usize {
    std::fs::read_dir(ws.path().join(".lotto/objects"))
        .map(|rd| rd.count())
        .unwrap_or(0)
}

#[test]
fn entries_of_a_recipe_whose_data_is_away_are_kept() {
    let ws = Ws::with_data(2, 4);
    ws.write("r.lotto", &recipe());
    ws.run(&["run", "r.lotto"]).success();
    let before = entries(&ws);
    std::fs::rename(ws.path().join("data"), ws.path().join("elsewhere")).unwrap();
    let dry = ws.run(&["gc", "--dry-run"]);
    dry.success();
    assert!(dry.stdout().contains("0 entries"), "{}", dry.stdout());
    assert!(
        dry.stderr()
            .contains("`r.lotto`: 4 step(s) have no key here"),
        "{}",
        dry.stderr()
    );
    ws.run(&["gc"]).success();
    assert_eq!(entries(&ws), before);
    // With the data back, everything is still cached.
    std::fs::rename(ws.path().join("elsewhere"), ws.path().join("data")).unwrap();
    assert!(ws.run(&["run", "r.lotto"]).success().ran().is_empty());
}

#[test]
fn a_recipe_that_does_not_check_stops_gc_unless_forced() {
    let ws = Ws::with_data(2, 4);
    ws.write("r.lotto", &recipe());
    ws.run(&["run", "r.lotto"]).success();
    let before = entries(&ws);
    ws.write("broken.lotto", "corpus x = nosuchop()\n");
    let refused = ws.run(&["gc"]);
    refused.failure();
    assert!(
        refused
            .stderr()
            .contains("`broken.lotto`: it does not check"),
        "{}",
        refused.stderr()
    );
    assert!(refused.stderr().contains("--force"), "{}", refused.stderr());
    assert_eq!(entries(&ws), before);
    // Forced, the broken recipe protects nothing, r.lotto still everything.
    ws.run(&["gc", "--force"]).success();
    assert_eq!(entries(&ws), before);
}

#[test]
fn gc_waits_for_no_run_it_refuses_while_one_uses_the_store() {
    let ws = Ws::with_data(4, 10);
    let slow = SMALL.replace("epochs: 1", "epochs: 30");
    ws.write(
        "r.lotto",
        &format!("{slow}eval results = wer([dense], on: [dev])\n"),
    );
    let mut run = ws
        .cmd(&["run", "r.lotto"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the run has published something (its data steps).
    let t0 = Instant::now();
    while entries(&ws) == 0 && t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let gc = ws.run(&["gc"]);
    let still_running = run.try_wait().unwrap().is_none();
    if still_running {
        gc.failure();
        assert!(
            gc.stderr().contains("a lotto run is using the store"),
            "{}",
            gc.stderr()
        );
    }
    assert!(run.wait().unwrap().success(), "the run failed");
    assert!(ws.run(&["run", "r.lotto"]).success().ran().is_empty());
}

#[test]
fn the_scan_follows_no_link_out_of_the_workspace_or_around_a_loop() {
    let ws = Ws::with_data(1, 2);
    ws.write("r.lotto", "corpus all = manifest(\"data/manifest.tsv\")\n");
    ws.run(&["run", "r.lotto"]).success();
    std::fs::create_dir_all(ws.path().join("loop")).unwrap();
    std::os::unix::fs::symlink(ws.path().join("loop"), ws.path().join("loop/again")).unwrap();
    std::os::unix::fs::symlink("/", ws.path().join("root")).unwrap();
    let mut child = ws
        .cmd(&["gc", "--dry-run"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A scan that followed the links would not end; this one must.
    let t0 = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(t0.elapsed() < Duration::from_secs(120), "gc did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("(1 recipe(s) scanned)"), "{stdout}");
}
