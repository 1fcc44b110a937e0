//! The toy research-question recipes run end to end on the bundled corpus
//! at CI scale (`--set epochs=2 --set rounds=2`): the same recipes and ops
//! as the full toy runs in docs/results.md, with fewer epochs and rounds.

mod common;
use common::*;

/// A scratch workspace holding the repository's toy recipes and a link to
/// its bundled data, so the run writes its store and reports there.
fn toy_workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(repo().join("data"), dir.path().join("data")).unwrap();
    let toy = dir.path().join("pipelines/toy");
    std::fs::create_dir_all(&toy).unwrap();
    for e in std::fs::read_dir(repo().join("pipelines/toy")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, toy.join(p.file_name().unwrap())).unwrap();
    }
    dir
}

/// Runs a toy recipe at CI scale (`sets` as `--set` arguments, 2 jobs)
/// and returns its report's summary.md.
fn run_toy(ws: &tempfile::TempDir, recipe: &str, sets: &[&str], report: &str) -> String {
    let mut args = vec!["run".to_string(), format!("pipelines/toy/{recipe}")];
    for s in sets {
        args.extend(["--set".to_string(), s.to_string()]);
    }
    args.extend(["--jobs".to_string(), "2".to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = lotto_in(ws.path(), &args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    std::fs::read_to_string(ws.path().join(report).join("summary.md")).unwrap()
}

#[test]
fn toy_rq2_imp_against_random_baselines_runs_end_to_end() {
    let ws = toy_workspace();
    let summary = run_toy(
        &ws,
        "rq2_baselines.lotto",
        &["epochs=2", "rounds=2"],
        "results/toy/rq2",
    );
    // Every method, every round, with RW measured from the masks: 40% per
    // round leaves 60% then 36%.
    for row in [
        "| dense | dense | 0 | 100.0 |",
        "| lth | imp | 1 | 60.0 |",
        "| lth | imp | 2 | 36.0 |",
        "| rnd | random_prune | 2 | 36.0 |",
        "| rt | random_ticket | 2 | 36.0 |",
    ] {
        assert!(summary.contains(row), "missing `{row}` in\n{summary}");
    }
    assert!(ws.path().join("results/toy/rq2/wer_vs_rw.png").is_file());
}

#[test]
fn toy_rq1_tickets_for_the_three_architectures_run_end_to_end() {
    let ws = toy_workspace();
    let summary = run_toy(
        &ws,
        "rq1_tickets.lotto",
        &["epochs=2", "long_epochs=2", "rounds=2"],
        "results/toy/rq1",
    );
    // Each architecture's ticket, every round, RW measured from its masks.
    for row in [
        "| dense | dense | 0 | 100.0 |",
        "| lth | imp | 2 | 36.0 |",
        "| dense_conformer | dense | 0 | 100.0 |",
        "| lth_conformer | imp | 2 | 36.0 |",
        "| dense_rnnt | dense | 0 | 100.0 |",
        "| lth_rnnt | imp | 2 | 36.0 |",
    ] {
        assert!(summary.contains(row), "missing `{row}` in\n{summary}");
    }
    assert!(ws.path().join("results/toy/rq1/wer_vs_rw.svg").is_file());
}
