//! The checked program: the flat list of steps a recipe declares, each with
//! its op and resolved arguments, which the graph, key, plan and executor
//! modules read.

use crate::source::{Sources, Span};
use crate::types::StepType;
use crate::value::{Args, StepRef, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One step of the checked program.
#[derive(Clone, Debug)]
pub struct Step {
    /// Stable, readable name: the binding (`dense`), with sweep values
    /// (`noisy[level=0.2]`), or the call text for anonymous steps.
    pub name: String,
    pub op: &'static str,
    pub args: Args,
    pub span: Span,
    /// Where each argument given in the recipe was written (defaults have
    /// none), so checks that span steps can point at one.
    pub arg_spans: BTreeMap<&'static str, Span>,
    /// Binding name and type of each output port.
    pub outputs: Vec<(String, StepType)>,
    /// Parameters holding the run seed (`seed: seed`, or a left-out
    /// [`crate::signature::Param::run_seed`]): set per seed when the recipe
    /// runs over several.
    pub seeded: Vec<&'static str>,
}

impl Step {
    /// Steps this step reads, deduplicated, in order.
    pub fn deps(&self) -> Vec<StepRef> {
        let mut out = Vec::new();
        for v in self.args.values() {
            v.refs(&mut out);
        }
        out.sort();
        out.dedup();
        out
    }
}

/// The checked recipe.
#[derive(Debug, Default)]
pub struct Checked {
    pub steps: Vec<Step>,
    /// Each `param` with its resolved value, for records and lock files.
    pub params: BTreeMap<String, Value>,
    /// The run's seeds (`param seeds`); empty when the recipe declares none.
    pub seeds: Vec<i64>,
    pub sources: Sources,
    /// The recipe files read (the main file first, then imports).
    pub files: Vec<PathBuf>,
}

impl Checked {
    /// The step a user means by NAME: a step name or any of its bindings.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.name == name).or_else(|| {
            self.steps
                .iter()
                .position(|s| s.outputs.iter().any(|(n, _)| n == name))
        })
    }
    /// The name of one output: its binding for a multi-output step.
    pub fn ref_name(&self, r: StepRef) -> String {
        let s = &self.steps[r.step];
        if s.outputs.len() > 1 {
            s.outputs[r.port].0.clone()
        } else {
            s.name.clone()
        }
    }
}

/// The steps a call reads, as checks see them before anything runs: each
/// one's op and checked arguments (see [`crate::registry::Op::validate_inputs`]).
pub struct Upstream<'a> {
    steps: &'a [Step],
}

impl<'a> Upstream<'a> {
    pub fn new(steps: &'a [Step]) -> Self {
        Upstream { steps }
    }
    /// The op and arguments of the step `r` names; `None` where that step
    /// did not resolve (its own errors are reported).
    pub fn call(&self, r: StepRef) -> Option<(&'static str, &'a Args)> {
        let s = self.steps.get(r.step)?;
        (!s.op.is_empty()).then_some((s.op, &s.args))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str, outputs: &[&str], args: Args) -> Step {
        Step {
            name: name.into(),
            op: "op",
            args,
            span: Span::default(),
            arg_spans: BTreeMap::new(),
            seeded: vec![],
            outputs: outputs
                .iter()
                .map(|o| (o.to_string(), StepType("Corpus")))
                .collect(),
        }
    }

    #[test]
    fn deps_are_every_reference_once_and_names_find_bindings() {
        let r = |step, port| Value::Ref(StepRef { step, port });
        let mut args = Args::new();
        args.insert("a".into(), Value::List(vec![r(1, 0), r(0, 1), r(1, 0)]));
        args.insert("b".into(), r(0, 1));
        let c = Checked {
            steps: vec![
                step("tr,dv", &["tr", "dv"], Args::new()),
                step("dense", &["dense"], args),
            ],
            ..Default::default()
        };
        assert_eq!(
            c.steps[1].deps(),
            [StepRef { step: 0, port: 1 }, StepRef { step: 1, port: 0 }]
        );
        assert_eq!(c.find("dv"), Some(0));
        assert_eq!(c.find("tr,dv"), Some(0));
        assert_eq!(c.find("dense"), Some(1));
        assert_eq!(c.find("x"), None);
        assert_eq!(c.ref_name(StepRef { step: 0, port: 1 }), "dv");
        assert_eq!(c.ref_name(StepRef { step: 1, port: 0 }), "dense");
    }
}
