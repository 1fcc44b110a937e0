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

#[test]
fn toy_seeds_aggregate_over_seeds_with_intervals_and_paired_marks() {
    let ws = toy_workspace();
    let args = [
        "run",
        "pipelines/toy/seeds.lotto",
        "--set",
        "seeds=[1, 2]",
        "--set",
        "epochs=2",
        "--set",
        "rounds=1",
    ];
    let out = lotto_in(ws.path(), &args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The split and features are shared: one step each; training, pruning
    // and evaluation run once per seed.
    for (step, times) in [
        ("ran     train,dev,test (split)", 1),
        ("ran     dense[seed=1] (fit)", 1),
        ("ran     dense[seed=2] (fit)", 1),
        ("ran     lth[seed=2] (imp)", 1),
        ("ran     results[seed=1] (wer)", 1),
        ("(fit) in ", 2),
        ("ran     best_lth[seed=2] (best)", 1),
    ] {
        assert_eq!(stderr.matches(step).count(), times, "{step}\n{stderr}");
    }
    let summary = std::fs::read_to_string(ws.path().join("results/toy/seeds/summary.md")).unwrap();
    // One row per model and round over both seeds: mean ± sd, its interval
    // and the number of seeds.
    let row = |prefix: &str| {
        summary
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in\n{summary}"))
            .to_string()
    };
    for prefix in [
        "| dense | dense | 0 | 100.0 |",
        "| lth | imp | 1 | 50.0 |",
        "| rnd | random_prune | 1 | 50.0 |",
    ] {
        let r = row(prefix);
        let cells: Vec<&str> = r.split('|').map(str::trim).collect();
        assert!(cells[5].contains(" ± "), "{r}");
        assert!(cells[6].starts_with('[') && cells[6].ends_with(']'), "{r}");
        assert_eq!(cells[9], "2", "{r}");
    }
    let table_rows = summary.lines().filter(|l| l.starts_with("| "));
    assert!(
        table_rows.clone().count() > 5 && table_rows.clone().all(|l| !l.contains("seed=")),
        "{summary}"
    );
    assert!(summary.contains("mean over 2 training seeds"), "{summary}");
    // Paired comparisons over seeds, each with a verdict.
    assert!(summary.contains("over the 2 seeds"), "{summary}");
    let verdicts = ["| better |", "| worse |", "| no detectable difference |"];
    for pair in ["| lth round 1 − dense |", "| lth round 1 − rnd round 1 |"] {
        let r = row(pair);
        assert!(verdicts.iter().any(|v| r.ends_with(v)), "{r}");
    }
    let svg = std::fs::read_to_string(ws.path().join("results/toy/seeds/wer_vs_rw.svg")).unwrap();
    assert!(!svg.contains("seed="), "one line per model, not per seed");
    // `best` and `extreme` choose by the mean dev WER over seeds: both
    // seeds' copies pick the same round.
    let metric = |step: &str, key: &str| {
        let mut show = vec!["show", "pipelines/toy/seeds.lotto", step];
        show.extend_from_slice(&args[2..]);
        let out = lotto_in(ws.path(), &show).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")).map(String::from))
            .unwrap_or_else(|| panic!("no `{key}` for {step}:\n{text}"))
    };
    let mut plan = vec!["plan", "pipelines/toy/seeds.lotto"];
    plan.extend_from_slice(&args[2..]);
    let out = lotto_in(ws.path(), &plan).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("over 2 seeds (1, 2): "), "{text}");
    for pick in ["best_lth", "extreme_lth"] {
        let one = metric(&format!("{pick}[seed=1]"), "round");
        assert_eq!(one, metric(&format!("{pick}[seed=2]"), "round"), "{pick}");
        let mean: f64 = metric(&format!("{pick}[seed=1]"), "mean_dev_wer")
            .parse()
            .unwrap();
        assert!((0.0..=200.0).contains(&mean));
    }
}

#[test]
fn toy_efficient_conformer_over_subwords_runs_end_to_end() {
    let ws = toy_workspace();
    let summary = run_toy(
        &ws,
        "efficient_conformer.lotto",
        &["epochs=1", "long_epochs=2", "rounds=1"],
        "results/toy/efficient_conformer",
    );
    for row in [
        "| dense_econf | dense | 0 | 100.0 |",
        "| lth_econf | imp | 1 | 60.0 |",
    ] {
        assert!(summary.contains(row), "missing `{row}` in\n{summary}");
    }
    // The tokenizer learnt subwords from the training transcripts, and the
    // trained model carries them.
    let out = lotto_in(
        ws.path(),
        &[
            "show",
            "pipelines/toy/efficient_conformer.lotto",
            "subwords",
        ],
    )
    .output()
    .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("merges"), "{shown}");
}
