//! A store that has been tampered with is never trusted: an edited result,
//! zeroed weights or a deleted file is found on reuse (or by `lotto
//! fsck`), reported with its step and file, and computed again; `lotto
//! lock` names what has no result.

mod common;
use common::*;

fn recipe() -> String {
    format!("{SMALL}eval results = wer([dense], on: [dev])\n")
}

/// Makes a published (read-only) file writable again, as a user with
/// enough rights to damage the store could.
fn writable(p: &std::path::Path) {
    let mut perm = std::fs::metadata(p).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    std::fs::set_permissions(p, perm).unwrap();
}

fn wer_line(ws: &Ws) -> String {
    ws.run(&["show", "r.lotto", "results"])
        .success()
        .stdout()
        .lines()
        .find(|l| l.contains("wer["))
        .unwrap()
        .to_string()
}

#[test]
fn an_edited_result_is_found_reported_and_computed_again() {
    let ws = Ws::with_data(2, 4);
    ws.write("r.lotto", &recipe());
    ws.run(&["run", "r.lotto"]).success();
    let before = wer_line(&ws);
    let table = ws.artifacts(&[], "r.lotto", "results").join("eval.yaml");
    writable(&table);
    let text = std::fs::read_to_string(&table).unwrap();
    // Change one digit of the WER, keeping the file's size.
    let at = text.find("wer: ").unwrap() + 5;
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'9' { b'8' } else { b'9' };
    std::fs::write(&table, bytes).unwrap();
    let plan = ws.run(&["plan", "r.lotto"]).success().stdout();
    assert!(
        plan.lines()
            .any(|l| l.starts_with("run") && l.contains("results") && l.contains("damaged")),
        "{plan}"
    );
    let run = ws.run(&["run", "r.lotto"]);
    run.success();
    assert_eq!(run.ran(), ["results"]);
    assert!(
        run.stderr()
            .contains("`eval.yaml` changed after publishing"),
        "{}",
        run.stderr()
    );
    assert_eq!(wer_line(&ws), before);
}

#[test]
fn deleted_or_zeroed_weights_rerun_their_step_not_a_raw_error_downstream() {
    let ws = Ws::with_data(2, 4);
    ws.write("r.lotto", &recipe());
    ws.run(&["run", "r.lotto"]).success();
    let dense = ws.artifacts(&[], "r.lotto", "dense");
    std::fs::remove_file(dense.join("best.safetensors")).unwrap();
    let plan = ws.run(&["plan", "r.lotto"]).success().stdout();
    assert!(plan.contains("`best.safetensors` is missing"), "{plan}");
    let run = ws.run(&["run", "r.lotto"]);
    run.success();
    assert!(run.ran().contains(&"dense".to_string()), "{}", run.stderr());
    // Zeroed bytes, same size.
    let dense = ws.artifacts(&[], "r.lotto", "dense");
    let w = dense.join("last.safetensors");
    writable(&w);
    let mut bytes = std::fs::read(&w).unwrap();
    let n = bytes.len();
    bytes[n - 64..].fill(0);
    std::fs::write(&w, bytes).unwrap();
    let run = ws.run(&["run", "r.lotto"]);
    run.success();
    assert!(run.ran().contains(&"dense".to_string()), "{}", run.stderr());
    assert!(
        run.stderr().contains("`last.safetensors` changed"),
        "{}",
        run.stderr()
    );
}

#[test]
fn fsck_rehashes_everything_and_removes_damaged_entries() {
    let ws = Ws::with_data(2, 4);
    ws.write("r.lotto", &recipe());
    ws.run(&["run", "r.lotto"]).success();
    let clean = ws.run(&["fsck"]).success().stdout();
    assert!(clean.contains(" 0 damaged"), "{clean}");
    let dense = ws.artifacts(&[], "r.lotto", "dense");
    let record = dense.join("step.yaml");
    writable(&record);
    let text = std::fs::read_to_string(&record).unwrap();
    std::fs::write(&record, text.replace("best_epoch: 1", "best_epoch: 9")).unwrap();
    let dry = ws.run(&["fsck", "--dry-run"]);
    dry.failure();
    assert!(
        dry.stdout()
            .contains("dense (fit): its record `step.yaml` was changed"),
        "{}",
        dry.stdout()
    );
    assert!(dense.exists(), "--dry-run removes nothing");
    let fixed = ws.run(&["fsck"]).success().stdout();
    assert!(fixed.contains("1 damaged (1 removed"), "{fixed}");
    assert!(!dense.exists());
    assert_eq!(ws.run(&["run", "r.lotto"]).success().ran(), ["dense"]);
}

#[test]
fn published_files_are_read_only_and_lock_names_steps_without_results() {
    let ws = Ws::with_data(2, 4);
    ws.write("r.lotto", &recipe());
    ws.run(&["run", "r.lotto", "--only", "dense"]).success();
    let dense = ws.artifacts(&[], "r.lotto", "dense");
    let perm = std::fs::metadata(dense.join("best.safetensors"))
        .unwrap()
        .permissions();
    assert!(perm.readonly());
    let lock = ws.run(&["lock", "r.lotto"]).success().stdout();
    assert!(
        lock.contains("1 step(s) have no result in the store"),
        "{lock}"
    );
    assert!(lock.contains(": results;"), "{lock}");
}
