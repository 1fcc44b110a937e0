//! The op registry: the typed signature of every operation a recipe may call,
//! and the trait through which the engine runs one. The stdlib fills it in;
//! the checker and docs read it.

use crate::progress::Progress;
use crate::value::{Args, StepRef, StepType, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The type of one parameter, with the units it accepts.
#[derive(Clone, Debug, PartialEq)]
pub enum PType {
    Int,
    Float,
    /// `20%` or a plain number in [0, 1]; stored as a fraction.
    Fraction,
    /// `20ms`, `1.5s`; stored in seconds.
    Duration,
    /// `5dB`.
    Decibel,
    /// `16kHz`, `100Hz`; stored in Hz.
    Frequency,
    Str,
    /// A path inside the workspace, read by the op (digested into the key).
    Path,
    Bool,
    /// `1x4` blocks or `2:4` N:M patterns.
    Shape,
    /// One symbol out of a fixed set (`scope: global`).
    Enum(&'static [&'static str]),
    /// The result of another step, of one of these types.
    Step(&'static [StepType]),
    /// A config value built by one of these config ops (`adamw(...)`).
    Config(&'static str),
    List(Box<PType>),
    /// Any of these (e.g. a fraction or a list of fractions).
    OneOf(Vec<PType>),
}

impl PType {
    /// How the type reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            PType::Int => "an integer".into(),
            PType::Float => "a number".into(),
            PType::Fraction => "a fraction (`20%` or 0.2)".into(),
            PType::Duration => "a duration (`20ms`, `1.5s`)".into(),
            PType::Decibel => "a level in dB (`5dB`)".into(),
            PType::Frequency => "a frequency (`16kHz`)".into(),
            PType::Str => "a string".into(),
            PType::Path => "a path string".into(),
            PType::Bool => "`true` or `false`".into(),
            PType::Shape => "a shape (`1x4` or `2:4`)".into(),
            PType::Enum(opts) => format!(
                "one of {}",
                opts.iter()
                    .map(|o| format!("`{o}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            PType::Step(ts) => {
                let names: Vec<&str> = ts.iter().map(|t| t.as_str()).collect();
                format!("{} {} step", article(names[0]), names.join(" or "))
            }
            PType::Config(kind) => {
                format!("{} {kind} (e.g. `{}`)", article(kind), config_example(kind))
            }
            PType::List(t) => format!(
                "a list of {}",
                t.describe()
                    .trim_start_matches("a ")
                    .trim_start_matches("an ")
            ),
            PType::OneOf(ts) => ts
                .iter()
                .map(|t| t.describe())
                .collect::<Vec<_>>()
                .join(", or "),
        }
    }
}

/// "a" or "an" before a type name.
fn article(name: &str) -> &'static str {
    if name.starts_with(['A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    }
}

fn config_example(kind: &str) -> &'static str {
    match kind {
        "Optimizer" => "adamw(lr: 3e-4)",
        "Rewind" => "epoch(1)",
        "Augment" => "specaugment(freq_masks: 2)",
        "Init" => "pretrained(dense)",
        "EarlyBird" => "early_bird(distance: 10%)",
        "Decoder" => "beam(width: 64, lm: words)",
        "ReportPart" => "summary(results)",
        _ => "...",
    }
}

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
}

impl Param {
    pub fn req(name: &'static str, ty: PType, doc: &'static str) -> Param {
        Param {
            name,
            ty,
            default: None,
            range: None,
            doc,
            variadic: false,
            additive: false,
        }
    }
    pub fn opt(name: &'static str, ty: PType, default: Value, doc: &'static str) -> Param {
        Param {
            name,
            ty,
            default: Some(default),
            range: None,
            doc,
            variadic: false,
            additive: false,
        }
    }
    pub fn range(mut self, lo: f64, hi: f64) -> Param {
        self.range = Some((lo, hi));
        self
    }
    pub fn variadic(mut self) -> Param {
        self.variadic = true;
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
    Config(&'static str),
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
    /// every cache key, so old results are never reused after a change.
    pub version: u32,
    pub params: Vec<Param>,
    pub output: Output,
    pub doc: &'static str,
    /// Numeric ops depend on the device kind and dtype (part of their key).
    pub numeric: bool,
    pub resources: Resources,
    /// Docs section (Corpora, Features, Models, ...).
    pub group: &'static str,
}

impl OpSig {
    /// The position of the parameter called `name`.
    pub fn param_index(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }
    /// The same signature with other resource hints.
    pub fn with_resources(mut self, r: Resources) -> OpSig {
        self.resources = r;
        self
    }
}

/// What a running op sees: its arguments, where its inputs live, where to
/// write, and how to report progress and metrics.
pub struct RunCtx<'a> {
    pub step_name: &'a str,
    pub args: &'a Args,
    /// Artifact directory of each input, by step reference.
    pub inputs: &'a BTreeMap<StepRef, PathBuf>,
    /// The step name of each input (for tables and reports).
    pub input_names: BTreeMap<StepRef, String>,
    /// The op writes its artifacts here (a private staging directory).
    pub out: &'a Path,
    /// Survives a killed run of this step; deleted when the step publishes.
    pub checkpoints: &'a Path,
    /// The workspace root: relative paths in arguments resolve against it.
    pub workspace: &'a Path,
    /// Device name the run was asked for (`flex`, `vulkan`, ...).
    pub device: &'a str,
    pub progress: &'a Progress,
    /// Metrics the op reports; they land in `step.yaml`.
    pub metrics: BTreeMap<String, serde_yaml::Value>,
    /// Files the run materialised outside the store (reports), relative to
    /// the workspace.
    pub exported: Vec<PathBuf>,
    /// The store, for cached sub-steps ([`RunCtx::cached`]).
    pub store: &'a crate::store::Store,
    /// Store keys of sub-steps this step used; kept alive by `lotto gc`.
    pub refs: Vec<String>,
}

impl RunCtx<'_> {
    pub fn input(&self, r: StepRef) -> &Path {
        &self.inputs[&r]
    }
    /// The artifact directory of a required step argument.
    pub fn input_of(&self, param: &str) -> Result<&Path, String> {
        let r = self
            .args
            .get(param)
            .and_then(|v| v.as_ref())
            .ok_or_else(|| format!("argument `{param}` is not a step"))?;
        Ok(self.input(r))
    }
    /// Runs `f` as a cached sub-step: a store entry of its own, keyed by
    /// `key_material` (which must include the keys of everything it reads),
    /// published atomically under its own lock. IMP rounds and feature
    /// extraction use it so each round is cached and resumable on its own.
    /// Returns the published directory.
    pub fn cached(
        &mut self,
        label: &str,
        key_material: &str,
        f: impl FnOnce(&Path, &Path) -> Result<BTreeMap<String, serde_yaml::Value>, String>,
    ) -> Result<PathBuf, String> {
        let key = format!(
            "sub-{}",
            &blake3::hash(key_material.as_bytes()).to_hex()[..32]
        );
        self.refs.push(key.clone());
        if self.store.is_published(&key) {
            return Ok(self.store.object(&key));
        }
        let io = |e: std::io::Error| format!("store error in sub-step `{label}`: {e}");
        let _lock = self.store.lock(&key).map_err(io)?;
        if self.store.is_published(&key) {
            return Ok(self.store.object(&key));
        }
        let dir = self.store.prepare_staging(&key).map_err(io)?;
        let started = crate::store::now_rfc3339();
        let t0 = std::time::Instant::now();
        let metrics = f(&dir, &dir.join("checkpoints"))?;
        let record = crate::store::Record {
            step: format!("{} / {label}", self.step_name),
            op: "sub-step".into(),
            key: key.clone(),
            lotto_version: env!("CARGO_PKG_VERSION").to_string(),
            started,
            finished: crate::store::now_rfc3339(),
            seconds: t0.elapsed().as_secs_f64(),
            metrics,
            ..Default::default()
        };
        self.store.publish(&key, &record, false).map_err(io)
    }
    /// The store key of an input artifact directory (`KEY` or `KEY/portN`).
    pub fn artifact_id(&self, dir: &Path) -> String {
        let objects = self.store.root.join("objects");
        dir.strip_prefix(&objects)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| dir.display().to_string())
    }
    pub fn metric(&mut self, key: &str, v: impl Into<serde_yaml::Value>) {
        self.metrics.insert(key.to_string(), v.into());
    }
}

/// An operation. Implementations live in the stdlib.
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
    /// (e.g. split fractions must sum to 1). Returns a message and, if it is
    /// about one argument, its name.
    fn validate(&self, _args: &Args) -> Result<(), (Option<&'static str>, String)> {
        Ok(())
    }
    /// Builds a config value (only for `Output::Config` ops).
    fn config(&self, args: &Args) -> Value {
        Value::Config {
            op: self.sig().name.to_string(),
            args: args.clone(),
        }
    }
    fn run(&self, ctx: &mut RunCtx) -> Result<(), String>;
}

/// All ops by name.
#[derive(Default)]
pub struct Registry {
    ops: BTreeMap<&'static str, Box<dyn Op>>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add(&mut self, op: impl Op + 'static) {
        let name = op.sig().name;
        assert!(
            self.ops.insert(name, Box::new(op)).is_none(),
            "op {name} registered twice"
        );
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
}
