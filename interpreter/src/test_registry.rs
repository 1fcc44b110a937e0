//! A small op library for the interpreter's own tests: a data source that
//! reads a file, steps that derive from other steps, a config op and a
//! report op, all without any domain (the real ops live in the stdlib).

use crate::registry::{Invalid, Op, Registry};
use crate::run_ctx::RunCtx;
use crate::signature::{OpSig, Output, Param};
use crate::types::{ConfigKind, PType, StepType};
use crate::value::{Args, Value};
use std::path::{Path, PathBuf};

pub const DATA: StepType = StepType("Data");
pub const MODEL: StepType = StepType("Model");
pub const REPORT: StepType = StepType("Report");
pub const SETTING: ConfigKind = ConfigKind {
    name: "Setting",
    example: "opt(lr: 0.1)",
};

/// An op of a signature; `source` reads the file its `file` names.
struct TestOp {
    sig: OpSig,
}

impl Op for TestOp {
    fn sig(&self) -> &OpSig {
        &self.sig
    }
    fn reads(&self, args: &Args, ws: &Path) -> Result<Vec<(PathBuf, String)>, String> {
        match args.get("file").and_then(Value::as_str) {
            Some(f) => Ok(vec![(ws.join(f), f.to_string())]),
            None => Ok(vec![]),
        }
    }
    fn validate(&self, args: &Args) -> Result<(), Invalid> {
        match args.get("n").and_then(Value::as_i64) {
            Some(13) => Err(Invalid::at("n", "13 is unlucky")),
            _ => Ok(()),
        }
    }
    fn run(&self, ctx: &mut RunCtx) -> Result<(), String> {
        std::fs::write(ctx.out.join("out.txt"), self.sig.name).map_err(|e| e.to_string())
    }
}

fn add(r: &mut Registry, name: &'static str, output: Output, params: Vec<Param>) {
    let mut sig = OpSig::new(name, "Test", 1, output, "a test op", params);
    // `train` stands for a numeric op: its results depend on the device.
    sig.numeric = name == "train";
    r.add(TestOp { sig });
}

/// `source(file)`, `take(data, n)`, `split(data, fractions...)`,
/// `train(data, epochs, setting)`, `opt(lr)` and `report(path, parts)`;
/// kinds `data` and `model`.
pub fn registry() -> Registry {
    let mut r = Registry::new();
    r.add_kind("data", DATA);
    r.add_kind("model", MODEL);
    add(
        &mut r,
        "source",
        Output::One(DATA),
        vec![Param::req("file", PType::Path, "a file")],
    );
    add(
        &mut r,
        "take",
        Output::One(DATA),
        vec![
            Param::req("data", PType::Step(&[DATA]), "the data"),
            Param::opt("n", PType::Int, 10, "how many").range(1.0, 100.0),
            Param::opt("hop", PType::Duration, 0.01, "a duration"),
            Param::opt("seed", PType::Int, 0, "which ones"),
        ],
    );
    add(
        &mut r,
        "split",
        Output::PerItem {
            param: "fractions",
            ty: DATA,
        },
        vec![
            Param::req("data", PType::Step(&[DATA]), "the data"),
            Param::req("fractions", PType::List(Box::new(PType::Fraction)), "parts").variadic(),
        ],
    );
    add(
        &mut r,
        "train",
        Output::One(MODEL),
        vec![
            Param::req(
                "data",
                PType::List(Box::new(PType::Step(&[DATA]))),
                "the data",
            ),
            Param::opt("epochs", PType::Int, 3, "epochs"),
            Param::opt(
                "setting",
                PType::Config(&SETTING),
                Value::Config {
                    op: "opt".into(),
                    args: [("lr".to_string(), Value::Float(0.1))]
                        .into_iter()
                        .collect(),
                },
                "a setting",
            ),
            Param::opt("extra", PType::Int, 0, "added later").additive(),
            Param::opt("seed", PType::Int, 0, "initial weights").run_seed(),
        ],
    );
    add(
        &mut r,
        "opt",
        Output::Config(&SETTING),
        vec![Param::opt("lr", PType::Float, 0.1, "rate")],
    );
    let mut pick = OpSig::new(
        "pick",
        "Test",
        1,
        Output::One(MODEL),
        "picks a model",
        vec![
            Param::req("model", PType::Step(&[MODEL]), "the model"),
            Param::opt(
                "all",
                PType::List(Box::new(PType::Step(&[MODEL]))),
                Value::List(vec![]),
                "every seed's",
            )
            .additive(),
        ],
    );
    pick.pools_seeds = &[("model", "all")];
    r.add(TestOp { sig: pick });
    let mut report = OpSig::new(
        "report",
        "Test",
        1,
        Output::One(REPORT),
        "a report",
        vec![
            Param::req("path", PType::Str, "folder"),
            Param::req(
                "parts",
                PType::List(Box::new(PType::Step(&[MODEL]))),
                "parts",
            ),
        ],
    );
    report.exports_to = Some("path");
    r.add(TestOp { sig: report });
    r.set_report_op("report");
    r
}
