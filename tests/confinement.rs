//! Writes stay inside the workspace, whatever symbolic links it holds: a
//! report file or folder that links outside is refused (not written
//! through) unless `--allow-outside`; a recipe never writes into its
//! store; a bundle is confined whatever the current folder.

mod common;
use common::*;

fn recipe(report: &str) -> String {
    format!(
        "{SMALL}eval results = wer([dense], on: [dev])\nreport \"{report}\" = summary(results)\n"
    )
}

#[test]
fn a_report_file_linking_outside_is_not_written_through() {
    let ws = Ws::with_data(2, 4);
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    std::fs::create_dir_all(ws.path().join("results/x")).unwrap();
    std::os::unix::fs::symlink(&victim, ws.path().join("results/x/summary.md")).unwrap();
    ws.write("r.lotto", &recipe("results/x"));
    let run = ws.run(&["run", "r.lotto"]);
    run.failure();
    assert!(
        run.stderr()
            .contains("leads outside the workspace (through a symbolic link"),
        "{}",
        run.stderr()
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    // Deliberately allowed, the link is replaced by the report, and the
    // file it pointed to is still not written.
    ws.run(&["run", "r.lotto", "--allow-outside"]).success();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(
        std::fs::read_to_string(ws.path().join("results/x/summary.md"))
            .unwrap()
            .starts_with("# Results")
    );
}

#[test]
fn a_report_folder_linking_outside_gets_nothing() {
    let ws = Ws::with_data(2, 4);
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ws.path().join("results")).unwrap();
    std::os::unix::fs::symlink(outside.path(), ws.path().join("results/x")).unwrap();
    ws.write("r.lotto", &recipe("results/x"));
    let run = ws.run(&["run", "r.lotto"]);
    run.failure();
    assert!(
        run.stderr().contains("leads outside the workspace"),
        "{}",
        run.stderr()
    );
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[test]
fn a_recipe_cannot_write_into_its_store() {
    let ws = Ws::with_data(2, 4);
    ws.write("r.lotto", &recipe(".lotto/objects/forged"));
    let run = ws.run(&["run", "r.lotto", "--allow-outside"]);
    run.failure();
    assert!(
        run.stderr().contains("a recipe may not write there"),
        "{}",
        run.stderr()
    );
    assert!(!ws.path().join(".lotto/objects/forged").exists());
}

#[test]
fn a_bundle_is_confined_whatever_the_current_folder() {
    let ws = Ws::with_data(2, 4);
    ws.write("r.lotto", &recipe("out"));
    ws.run(&["run", "r.lotto", "--lock"]).success();
    let b = ws.path().join("b.tar.gz");
    ws.run(&[
        "bundle",
        "r.lotto",
        "--with-data",
        "-o",
        b.to_str().unwrap(),
    ])
    .success();
    let other = tempfile::tempdir().unwrap();
    let dir = other.path().join("unpacked");
    std::fs::create_dir_all(&dir).unwrap();
    let st = std::process::Command::new("tar")
        .arg("xzf")
        .arg(&b)
        .arg("-C")
        .arg(&dir)
        .status()
        .unwrap();
    assert!(st.success());
    // From the folder above, the bundle's recipe is refused, with the way
    // to run it.
    let out = Out(lotto_in(other.path(), &["run", "unpacked/r.lotto"])
        .output()
        .unwrap());
    out.failure();
    assert!(
        out.stderr().contains("is inside an unpacked bundle")
            && out.stderr().contains("--workspace"),
        "{}",
        out.stderr()
    );
    let ok = Out(lotto_in(
        other.path(),
        &["--workspace", "unpacked", "run", "unpacked/r.lotto"],
    )
    .output()
    .unwrap());
    ok.success();
    assert!(dir.join("out/summary.md").is_file());
}
