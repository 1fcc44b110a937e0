//! The registry: every op a recipe may call, through the trait the engine
//! runs them by, and the vocabulary the op library gives the language (the
//! statement kinds and the op behind `report` statements). The interpreter
//! checks and runs whatever is registered; it knows no op by name.

use crate::program::Upstream;
use crate::run_ctx::RunCtx;
use crate::signature::{OpSig, OpVersions};
use crate::types::StepType;
use crate::value::{Args, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why a resolved call cannot work, found before anything runs: a message
/// and, if it is about one argument, its name (the error points at it).
#[derive(Clone, Debug, PartialEq)]
pub struct Invalid {
    pub param: Option<&'static str>,
    pub message: String,
}

impl Invalid {
    pub fn at(param: &'static str, message: impl Into<String>) -> Invalid {
        Invalid {
            param: Some(param),
            message: message.into(),
        }
    }
    pub fn call(message: impl Into<String>) -> Invalid {
        Invalid {
            param: None,
            message: message.into(),
        }
    }
}

/// An operation. Implementations live in the op library.
pub trait Op: Send + Sync {
    fn sig(&self) -> &OpSig;
    /// Files whose contents decide this call's result: (full path, name in
    /// the key). The name is relative to the data root the user gave, so a
    /// moved corpus keeps its cache hits; the digests enter the cache key.
    /// Errors name the file and say what to do.
    fn reads(&self, _args: &Args, _workspace: &Path) -> Result<Vec<(PathBuf, String)>, String> {
        Ok(vec![])
    }
    /// Extra checks of a resolved call that the types cannot express
    /// (e.g. split fractions must sum to 1).
    fn validate(&self, _args: &Args) -> Result<(), Invalid> {
        Ok(())
    }
    /// Checks against the steps this call reads (a rewind epoch past the
    /// dense training's last, a round the ticket does not have), run once
    /// every call is resolved.
    fn validate_inputs(&self, _args: &Args, _upstream: &Upstream) -> Result<(), Invalid> {
        Ok(())
    }
    /// What the step costs, for `lotto plan` to show before anything runs
    /// (a model's parameters and the memory they take in training); `None`
    /// where the op has nothing to say.
    fn cost(&self, _args: &Args, _upstream: &Upstream) -> Option<String> {
        None
    }
    /// Whether checked arguments fill the op's typed arguments: what the
    /// test that declarations and structs agree calls for every op.
    fn parse(&self, _args: &Args) -> Result<(), String> {
        Ok(())
    }
    /// Builds a config value (only for config ops).
    fn config(&self, args: &Args) -> Value {
        Value::Config {
            op: self.sig().name.to_string(),
            args: args.clone(),
        }
    }
    fn run(&self, ctx: &mut RunCtx) -> Result<(), String>;
}

/// All ops by name, and the language vocabulary the op library registers.
pub struct Registry {
    ops: BTreeMap<&'static str, Box<dyn Op>>,
    versions: OpVersions,
    /// Statement kinds and the type each binds (`None`: any), `let` last.
    kinds: Vec<(&'static str, Option<StepType>)>,
    /// The op a `report "DIR" = part, ...` statement calls with `path` and
    /// `parts`.
    report_op: Option<&'static str>,
    /// Docs sections in the order their first op was registered.
    groups: Vec<&'static str>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

impl Registry {
    /// An empty registry with the one kind the language itself has: `let`,
    /// which binds a step of any type.
    pub fn new() -> Self {
        Registry {
            ops: BTreeMap::new(),
            versions: OpVersions::new(),
            kinds: vec![("let", None)],
            report_op: None,
            groups: vec![],
        }
    }
    pub fn add(&mut self, op: impl Op + 'static) {
        let sig = op.sig();
        let (name, version, group) = (sig.name, sig.version, sig.group);
        assert!(
            self.ops.insert(name, Box::new(op)).is_none(),
            "op {name} registered twice"
        );
        self.versions.insert(name, version);
        if !self.groups.contains(&group) {
            self.groups.push(group);
        }
    }
    /// A statement kind (`corpus name = ...`) that binds steps of type `ty`.
    pub fn add_kind(&mut self, name: &'static str, ty: StepType) {
        let at = self.kinds.len() - 1;
        self.kinds.insert(at, (name, Some(ty)));
    }
    /// The op that `report` statements call.
    pub fn set_report_op(&mut self, name: &'static str) {
        self.report_op = Some(name);
    }
    pub fn get(&self, name: &str) -> Option<&dyn Op> {
        self.ops.get(name).map(|b| b.as_ref())
    }
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.ops.keys().copied()
    }
    pub fn ops(&self) -> impl Iterator<Item = &dyn Op> {
        self.ops.values().map(|b| b.as_ref())
    }
    /// Every op's version: what step and sub-step keys are made from.
    pub fn versions(&self) -> &OpVersions {
        &self.versions
    }
    /// An op's version (0 for an unknown op).
    pub fn version(&self, name: &str) -> u32 {
        self.versions.get(name).copied().unwrap_or(0)
    }
    /// Gives an op another version, as a code change that bumps it would:
    /// for tests that a version change reaches every key it must.
    pub fn set_version(&mut self, name: &'static str, version: u32) {
        self.versions.insert(name, version);
    }
    /// Statement kinds in registration order, then `let`.
    pub fn kinds(&self) -> &[(&'static str, Option<StepType>)] {
        &self.kinds
    }
    /// The type a statement kind binds: `None` if no such kind,
    /// `Some(None)` for `let`.
    pub fn kind(&self, name: &str) -> Option<Option<StepType>> {
        self.kinds.iter().find(|(k, _)| *k == name).map(|(_, t)| *t)
    }
    /// The kind whose statements bind `ty` (`let` if none does).
    pub fn kind_for(&self, ty: StepType) -> &'static str {
        self.kinds
            .iter()
            .find(|(_, k)| *k == Some(ty))
            .map(|(n, _)| *n)
            .unwrap_or("let")
    }
    pub fn report_op(&self) -> Option<&'static str> {
        self.report_op
    }
    pub fn groups(&self) -> &[&'static str] {
        &self.groups
    }
}
