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
