//! Tests of the registry as a whole: every op's declared parameters agree
//! with the typed struct it receives, and op versions reach every cache
//! key, sub-steps included.

use crate::registry;
use lotto_interpreter::types::PType;
use lotto_interpreter::value::{Args, StepRef, Value};
use lotto_interpreter::Registry;

/// Values of type `ty` a checked recipe can hold, one per shape the type
/// allows (every symbol of an enumeration, every alternative, every config
/// op of a config kind).
fn samples(reg: &Registry, ty: &PType, range: Option<(f64, f64)>, depth: usize) -> Vec<Value> {
    let lo = range.map(|r| r.0);
    match ty {
        PType::Int => vec![Value::Int(lo.map(|l| l.ceil() as i64).unwrap_or(1).max(1))],
        PType::Float | PType::Fraction | PType::Duration | PType::Decibel | PType::Frequency => {
            vec![Value::Float(
                range.map(|(l, h)| (l + h) / 2.0).unwrap_or(0.5),
            )]
        }
        PType::Str | PType::Path => vec![Value::Str("x".into())],
        PType::Bool => vec![Value::Bool(true), Value::Bool(false)],
        PType::Shape => vec![Value::Shape(1, 4, 'x'), Value::Shape(2, 4, ':')],
        PType::Enum(opts) => opts.iter().map(|o| Value::sym(o)).collect(),
        PType::Step(_) => vec![Value::Ref(StepRef { step: 0, port: 0 })],
        PType::Config(kind) if depth < 3 => reg
            .ops()
            .filter(|o| o.sig().output == lotto_interpreter::Output::Config(kind))
            .map(|o| Value::Config {
                op: o.sig().name.into(),
                args: sample_args(reg, o.sig(), depth + 1),
            })
            .collect(),
        PType::Config(_) => vec![],
        PType::List(t) => samples(reg, t, range, depth)
            .into_iter()
            .map(|v| Value::List(vec![v]))
            .collect(),
        PType::OneOf(ts) => ts
            .iter()
            .flat_map(|t| samples(reg, t, range, depth))
            .collect(),
    }
}

/// Every parameter at its default, or at a sample value if it has none.
fn sample_args(reg: &Registry, sig: &lotto_interpreter::OpSig, depth: usize) -> Args {
    sig.params
        .iter()
        .map(|p| {
            let v = p.default.clone().unwrap_or_else(|| {
                samples(reg, &p.ty, p.range, depth)
                    .into_iter()
                    .next()
                    .expect("every type has a sample")
            });
            (p.name.to_string(), v)
        })
        .collect()
}

#[test]
fn every_ops_declared_parameters_fill_its_typed_arguments() {
    let reg = registry();
    let mut checked = 0;
    for op in reg.ops() {
        let sig = op.sig();
        let base = sample_args(&reg, sig, 0);
        op.parse(&base)
            .unwrap_or_else(|e| panic!("`{}` with its defaults: {e}", sig.name));
        for p in &sig.params {
            for v in samples(&reg, &p.ty, p.range, 0) {
                let mut args = base.clone();
                args.insert(p.name.to_string(), v.clone());
                op.parse(&args)
                    .unwrap_or_else(|e| panic!("`{}` with {} = {v:?}: {e}", sig.name, p.name));
                checked += 1;
            }
        }
        // A parameter the declaration lacks is missing from the struct too.
        if let Some(p) = sig.params.first() {
            let mut args = base.clone();
            args.remove(p.name);
            assert!(
                op.parse(&args).is_err(),
                "`{}` without `{}`",
                sig.name,
                p.name
            );
        }
    }
    assert!(checked > 100, "only {checked} values checked");
}

#[test]
fn statement_kinds_and_the_report_op_are_registered() {
    let reg = registry();
    assert_eq!(
        reg.kind("corpus").flatten().map(|t| t.as_str()),
        Some("Corpus")
    );
    assert_eq!(reg.kind("let"), Some(None));
    assert_eq!(reg.report_op(), Some("report"));
    let report = reg.get("report").unwrap().sig();
    assert_eq!(report.exports_to, Some("path"));
    assert_eq!(
        reg.groups(),
        [
            "Corpora",
            "Noise",
            "Features",
            "Models",
            "Training",
            "Tickets",
            "Evaluation",
            "Reports"
        ]
    );
}

/// Runs `recipe` in `ws` on the store `store` with `reg`; returns the keys
/// of every sub-step of the given kind (`fbank/features`) in the store.
fn run_and_list(
    reg: &Registry,
    ws: &std::path::Path,
    store: &lotto_interpreter::store::Store,
    recipe: &str,
    kind: &str,
) -> std::collections::BTreeSet<String> {
    use lotto_interpreter::check::{check_source, CheckOpts};
    use lotto_interpreter::digest::DigestCache;
    use lotto_interpreter::exec::{run, RunOpts};
    let c = check_source("r.lotto", recipe, ws, reg, &CheckOpts::default())
        .unwrap_or_else(|(d, _)| panic!("{:?}", d.0));
    let digests = DigestCache::open(&store.root.join("digests.json"));
    let parts = lotto_interpreter::keys::compute(&c, reg, ws, &digests, "flex").unwrap();
    let opts = RunOpts {
        jobs: 1,
        force: Default::default(),
        only: None,
        device: "flex".into(),
        recipe: "r.lotto".into(),
        show_bars: false,
        export: false,
        job: None,
        allow_outside: false,
    };
    let s = run(&c, &parts, reg, store, ws, &opts);
    assert!(s.failed.is_empty(), "{:?}", s.failed);
    store
        .keys()
        .into_iter()
        .filter(|k| store.record(k).is_some_and(|r| r.op == kind))
        .collect()
}

/// Bumping an op's version recomputes what it made, sub-steps included:
/// the features `fit` and `wer` extract are `fbank`'s work, so a new
/// `fbank` version extracts them again (none of the old ones is reused),
/// and a new `imp` version reruns every round.
#[test]
fn a_version_bump_recomputes_every_artifact_of_the_op_sub_steps_included() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path();
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/tiny");
    std::os::unix::fs::symlink(data, ws.join("tiny")).unwrap();
    let recipe = "corpus all = manifest(\"tiny/manifest.tsv\")\n\
        split a, b, c = all.split(0.4, 0.3, 0.3, seed: 1)\n\
        corpus train = take(a, n: 6)\n\
        corpus dev = take(b, n: 3)\n\
        corpus test = take(c, n: 3)\n\
        features mel = fbank(mels: 20)\n\
        model m = cnn_lstm(kernels: [11x11], strides: [2x2], channels: 2, lstm: 1, hidden: 8)\n\
        train dense = fit(m, train, dev, features: mel, epochs: 1, batch: 3)\n\
        ticket lth = imp(dense, rounds: 1, epochs: 1)\n\
        eval e = wer([dense, lth], on: [test])\n";
    let store = lotto_interpreter::store::Store::open(&ws.join(".lotto")).unwrap();
    let mut reg = registry();
    let features = run_and_list(&reg, ws, &store, recipe, "fbank/features");
    let rounds = run_and_list(&reg, ws, &store, recipe, "imp/round");
    // train, dev and test: extracted once each, shared by fit, imp and wer.
    assert_eq!(features.len(), 3, "{features:?}");
    assert_eq!(rounds.len(), 1);
    reg.set_version("fbank", reg.version("fbank") + 1);
    let after = run_and_list(&reg, ws, &store, recipe, "fbank/features");
    assert_eq!(after.len(), 6, "three new extractions beside the old ones");
    // The new features changed `fit`'s input, so the round ran again too.
    let rounds = run_and_list(&reg, ws, &store, recipe, "imp/round");
    assert_eq!(rounds.len(), 2);
    reg.set_version("imp", reg.version("imp") + 1);
    let rounds_after = run_and_list(&reg, ws, &store, recipe, "imp/round");
    assert_eq!(
        rounds_after.len(),
        3,
        "the round ran again under the new version"
    );
    assert!(rounds_after.is_superset(&rounds));
    let features_after = run_and_list(&reg, ws, &store, recipe, "fbank/features");
    assert_eq!(
        features_after, after,
        "imp's version does not reach the features"
    );
}
