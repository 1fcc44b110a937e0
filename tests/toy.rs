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

#[test]
fn toy_rq2_imp_against_random_baselines_runs_end_to_end() {
    let ws = toy_workspace();
    let out = lotto_in(
        ws.path(),
        &[
            "run",
            "pipelines/toy/rq2_baselines.lotto",
            "--set",
            "epochs=2",
            "--set",
            "rounds=2",
            "--jobs",
            "2",
        ],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let summary = std::fs::read_to_string(ws.path().join("results/toy/rq2/summary.md")).unwrap();
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
