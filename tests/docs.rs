//! The docs stay true: every `lotto` example in docs/language.md checks,
//! the grammar quote is current, and docs/stdlib.md is the registry's own
//! `lotto ops --markdown` output. Every recipe in pipelines/ checks.

mod common;
use common::*;

fn blocks(md: &str, lang: &str) -> Vec<String> {
    let mut out = vec![];
    let mut cur: Option<String> = None;
    for line in md.lines() {
        match &mut cur {
            None if line.trim() == format!("```{lang}") => cur = Some(String::new()),
            Some(b) if line.trim() == "```" => {
                out.push(std::mem::take(b));
                cur = None;
            }
            Some(b) => {
                b.push_str(line);
                b.push('\n');
            }
            None => {}
        }
    }
    out
}

#[test]
fn every_language_example_checks() {
    let md = std::fs::read_to_string(repo().join("docs/language.md")).unwrap();
    let mut examples = blocks(&md, "lotto");
    assert!(examples.len() >= 9, "only {} examples", examples.len());
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    examples.extend(blocks(&readme, "lotto"));
    for (i, ex) in examples.iter().enumerate() {
        let ws = Ws::empty();
        ws.write(
            "shared/corpus.lotto",
            "corpus tiny = manifest(\"data/tiny/manifest.tsv\")\n",
        );
        ws.write("ex.lotto", ex);
        let out = ws.run(&["check", "ex.lotto"]);
        assert!(out.ok(), "example {i} fails:\n{ex}\n{}", out.stderr());
    }
}

#[test]
fn grammar_quote_is_current() {
    let md = std::fs::read_to_string(repo().join("docs/language.md")).unwrap();
    let quoted = blocks(&md, "pest").pop().expect("a pest block");
    assert_eq!(
        quoted,
        std::fs::read_to_string(repo().join("grammar/lotto.pest")).unwrap()
    );
}

#[test]
fn stdlib_reference_is_generated_from_the_registry() {
    let ws = Ws::empty();
    let out = ws.run(&["ops", "--markdown"]);
    assert_eq!(
        out.success().stdout(),
        std::fs::read_to_string(repo().join("docs/stdlib.md")).unwrap(),
        "regenerate: lotto ops --markdown > docs/stdlib.md"
    );
}

#[test]
fn every_pipeline_checks_and_plans_and_its_lock_is_current() {
    let mut n = 0;
    let mut locks = 0;
    let mut stack = vec![repo().join("pipelines")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "lotto") {
                let recipe = p.to_str().unwrap();
                // A store of its own, so the workspace's is never touched.
                let store = tempfile::tempdir().unwrap();
                let lotto = |args: &[&str]| {
                    let mut all = vec!["--store", store.path().to_str().unwrap()];
                    all.extend_from_slice(args);
                    Out(lotto_in(&repo(), &all).output().unwrap())
                };
                let out = lotto(&["check", recipe]);
                assert!(out.ok(), "{recipe} fails:\n{}", out.stderr());
                n += 1;
                // Every recipe plans, the paper-scale ones too, on a machine
                // without their corpora (those steps wait for data).
                let out = lotto(&["plan", recipe]);
                let text = out.stdout();
                assert!(
                    out.ok() && text.contains(" step(s): "),
                    "{recipe} does not plan:\n{text}\n{}",
                    out.stderr()
                );
                // A paper experiment waits for its corpora (the shared
                // settings and model files it imports declare none).
                let name = p.file_name().unwrap().to_string_lossy();
                if recipe.contains("/paper/") && name.starts_with("rq") {
                    assert!(text.contains("no data "), "{text}");
                    // The cost of the paper's models shows before any data.
                    assert!(
                        ["86.6M parameters", "128.7M parameters", "65.8M parameters"]
                            .iter()
                            .any(|p| text.contains(p)),
                        "{text}"
                    );
                }
                // A committed lock must match the recipe's inputs as they
                // are now (op versions, params, bundled data).
                let lock = p.with_extension("lotto.lock");
                if lock.is_file() {
                    let out = lotto(&["run", recipe, "--locked", "--dry-run"]);
                    assert!(
                        out.ok(),
                        "{} is stale (after a deliberate change: lotto run {recipe} --lock):\n{}",
                        lock.display(),
                        out.stderr()
                    );
                    locks += 1;
                }
            }
        }
    }
    assert!(n >= 1 && locks >= 1);
}
