//! Op signatures: everything the checker, the key and the docs need to know
//! about an op before it runs (its parameters with types, defaults, ranges
//! and docs; what it returns; its version; the resources it wants).

use crate::types::{ConfigKind, PType, StepType};
use crate::value::Value;
use std::collections::BTreeMap;

/// One parameter of an op.
#[derive(Clone, Debug)]
pub struct Param {
    pub name: &'static str,
    pub ty: PType,
    /// `None`: required.
    pub default: Option<Value>,
    /// Inclusive valid range of the normalised value (or of each element).
    pub range: Option<(f64, f64)>,
    pub doc: &'static str,
    /// Collects all remaining positional arguments into a list.
    pub variadic: bool,
    /// Added after the op was first published, with a default that keeps
    /// the old behaviour: while it has that default it stays out of the
    /// cache key, so adding an option never invalidates existing results.
    pub additive: bool,
    /// In a recipe that declares `param seeds`, left out it takes the run
    /// seed (training and pruning draws); data preparation keeps its own
    /// default so splits and test mixes stay fixed unless told otherwise.
    pub run_seed: bool,
}

impl Param {
    /// A required parameter.
    pub fn req(name: &'static str, ty: PType, doc: &'static str) -> Param {
        Param {
            name,
            ty,
            default: None,
            range: None,
            doc,
            variadic: false,
            additive: false,
            run_seed: false,
        }
    }
    /// A parameter with a default value.
    pub fn opt(
        name: &'static str,
        ty: PType,
        default: impl Into<Value>,
        doc: &'static str,
    ) -> Param {
        Param {
            default: Some(default.into()),
            ..Param::req(name, ty, doc)
        }
    }
    /// A parameter that may be left out: its default is the symbol `none`
    /// (an `Option` that is `None` in the op's arguments).
    pub fn optional(name: &'static str, ty: PType, doc: &'static str) -> Param {
        Param::opt(name, ty, Value::none(), doc)
    }
    pub fn range(mut self, lo: f64, hi: f64) -> Param {
        self.range = Some((lo, hi));
        self
    }
    pub fn variadic(mut self) -> Param {
        self.variadic = true;
        self
    }
    /// Marks a seed that follows the run seed (see [`Param::run_seed`]).
    pub fn run_seed(mut self) -> Param {
        self.run_seed = true;
        self
    }
    /// Marks a parameter added to a published op (see [`Param::additive`]).
    pub fn additive(mut self) -> Param {
        self.additive = true;
        self
    }
}

/// What an op returns.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// One value of this type.
    One(StepType),
    /// One value per element of the named list parameter (`split`).
    PerItem { param: &'static str, ty: StepType },
    /// A config value (not a step), of this config kind.
    Config(&'static ConfigKind),
}

impl Output {
    /// The step type a binding of this op's result has, if it is a step.
    pub fn step_type(&self) -> Option<StepType> {
        match self {
            Output::One(t) | Output::PerItem { ty: t, .. } => Some(*t),
            Output::Config(_) => None,
        }
    }
}

/// Resource hints for schedulers (local executor and cluster back ends).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resources {
    pub gpu: bool,
    pub cpus: u32,
    pub mem_gb: u32,
    pub minutes: u32,
}

/// The signature of an op, everything the checker and docs need.
#[derive(Clone, Debug)]
pub struct OpSig {
    pub name: &'static str,
    /// Bumped whenever the op's results change for the same inputs; part of
    /// every cache key (its sub-steps' keys included), so old results are
    /// never reused after a change.
    pub version: u32,
    pub params: Vec<Param>,
    pub output: Output,
    pub doc: &'static str,
    /// Numeric ops depend on the device kind and dtype (part of their key).
    pub numeric: bool,
    pub resources: Resources,
    /// Docs section (Corpora, Features, Models, ...).
    pub group: &'static str,
    /// The string parameter naming a workspace folder that the step's
    /// `export/` artifact is copied to after every run (reports).
    pub exports_to: Option<&'static str>,
    /// It writes its inputs' step names into its results (see
    /// [`crate::key_parts::KeyParts::named`]).
    pub names_inputs: bool,
    /// It only chooses among its inputs' results (`round`, `best`): its
    /// version is no code behind what it publishes (see
    /// [`crate::key_parts::KeyParts::code`]).
    pub pass_through: bool,
    /// Pairs (`from`, `into`) of parameters: in a recipe run over several
    /// seeds, each seed's copy of the step gets in `into` every seed's
    /// copy of the step its `from` reads, so it can choose by the mean
    /// over seeds (`best`, `extreme`; see `check/seeds.rs`).
    pub pools_seeds: &'static [(&'static str, &'static str)],
}

impl OpSig {
    pub fn new(
        name: &'static str,
        group: &'static str,
        version: u32,
        output: Output,
        doc: &'static str,
        params: Vec<Param>,
    ) -> OpSig {
        OpSig {
            name,
            version,
            params,
            output,
            doc,
            numeric: false,
            resources: Resources {
                cpus: 1,
                ..Default::default()
            },
            group,
            exports_to: None,
            names_inputs: false,
            pass_through: false,
            pools_seeds: &[],
        }
    }
    /// The position of the parameter called `name`.
    pub fn param_index(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }
}

/// Every op's version by name: what sub-step keys are derived from.
pub type OpVersions = BTreeMap<&'static str, u32>;
