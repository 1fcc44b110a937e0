//! How this library defines an op: a signature built from the op's typed
//! arguments (an [`op_args!`](lotto_interpreter::op_args) struct) and plain
//! functions that receive that struct, never the untyped argument map.

use lotto_interpreter::program::Upstream;
use lotto_interpreter::registry::{Invalid, Op};
use lotto_interpreter::run_ctx::RunCtx;
use lotto_interpreter::signature::{OpSig, Output, Resources};
use lotto_interpreter::typed::OpArgs;
use lotto_interpreter::types::ConfigKind;
use lotto_interpreter::value::{Args, StepRef};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

type RunFn<A> = fn(&mut RunCtx, &A) -> Result<(), String>;
type ReadsFn<A> = fn(&A, &Path) -> Result<Vec<(PathBuf, String)>, String>;
type ValidateFn<A> = fn(&A) -> Result<(), Invalid>;
type AcrossFn<A> = fn(&A, &Upstream) -> Result<(), Invalid>;
type CostFn<A> = fn(&A, &Upstream) -> Option<String>;

/// An op whose arguments are the struct `A`.
pub struct TypedOp<A> {
    sig: OpSig,
    run: Option<RunFn<A>>,
    reads: Option<ReadsFn<A>>,
    validate: Option<ValidateFn<A>>,
    across: Option<AcrossFn<A>>,
    cost: Option<CostFn<A>>,
    args: PhantomData<fn() -> A>,
}

/// A step op: its name, docs section, version, output and description;
/// its parameters come from `A`. Add the run function with [`TypedOp::run`].
pub fn op<A: OpArgs>(
    name: &'static str,
    group: &'static str,
    version: u32,
    output: Output,
    doc: &'static str,
) -> TypedOp<A> {
    TypedOp {
        sig: OpSig::new(name, group, version, output, doc, A::params()),
        run: None,
        reads: None,
        validate: None,
        across: None,
        cost: None,
        args: PhantomData,
    }
}

/// A config op (`adamw(...)`): validated at check time, never run; the ops
/// that take its value read it as a typed value.
pub fn config_op<A: OpArgs>(
    name: &'static str,
    group: &'static str,
    version: u32,
    kind: &'static ConfigKind,
    doc: &'static str,
) -> TypedOp<A> {
    op(name, group, version, Output::Config(kind), doc)
}

impl<A> TypedOp<A> {
    pub fn run(mut self, f: RunFn<A>) -> Self {
        self.run = Some(f);
        self
    }
    /// The files whose digests enter the key (see [`Op::reads`]).
    pub fn reads(mut self, f: ReadsFn<A>) -> Self {
        self.reads = Some(f);
        self
    }
    /// Checks the types cannot express, at check time.
    pub fn validate(mut self, f: ValidateFn<A>) -> Self {
        self.validate = Some(f);
        self
    }
    /// Checks against the steps it reads, at check time (see
    /// [`Op::validate_inputs`]); [`upstream`] reads their arguments.
    pub fn validate_inputs(mut self, f: AcrossFn<A>) -> Self {
        self.across = Some(f);
        self
    }
    /// What a step costs, shown by `lotto plan`.
    pub fn cost(mut self, f: CostFn<A>) -> Self {
        self.cost = Some(f);
        self
    }
    /// It writes its inputs' step names into its results (table rows,
    /// report labels): the names enter its key.
    pub fn names_inputs(mut self) -> Self {
        self.sig.names_inputs = true;
        self
    }
    /// It only chooses among its inputs' results, publishing one of them
    /// as it is (`round`, `best`): see `OpSig::pass_through`.
    pub fn pass_through(mut self) -> Self {
        self.sig.pass_through = true;
        self
    }
    /// Over several seeds, it reads every seed's copy of some inputs: see
    /// `OpSig::pools_seeds`.
    pub fn pools_seeds(mut self, pairs: &'static [(&'static str, &'static str)]) -> Self {
        self.sig.pools_seeds = pairs;
        self
    }
    /// Its results depend on the device kind (part of its key).
    pub fn numeric(mut self) -> Self {
        self.sig.numeric = true;
        self
    }
    pub fn resources(mut self, r: Resources) -> Self {
        self.sig.resources = r;
        self
    }
    /// Its `export/` artifact is copied to the folder its string parameter
    /// `param` names.
    pub fn exports_to(mut self, param: &'static str) -> Self {
        self.sig.exports_to = Some(param);
        self
    }
}

/// A typed argument struct that does not fit the checked arguments means
/// the declaration and the code disagree: a bug, said as one.
fn typed<A: OpArgs>(args: &Args) -> Result<A, String> {
    A::from_args(args).map_err(|e| format!("internal error (please report it): {e}"))
}

impl<A: OpArgs + 'static> Op for TypedOp<A> {
    fn sig(&self) -> &OpSig {
        &self.sig
    }
    fn reads(&self, args: &Args, ws: &Path) -> Result<Vec<(PathBuf, String)>, String> {
        match self.reads {
            Some(f) => f(&typed(args)?, ws),
            None => Ok(vec![]),
        }
    }
    fn validate(&self, args: &Args) -> Result<(), Invalid> {
        match self.validate {
            Some(f) => f(&typed(args).map_err(Invalid::call)?),
            None => Ok(()),
        }
    }
    fn validate_inputs(&self, args: &Args, up: &Upstream) -> Result<(), Invalid> {
        match self.across {
            Some(f) => f(&typed(args).map_err(Invalid::call)?, up),
            None => Ok(()),
        }
    }
    fn cost(&self, args: &Args, up: &Upstream) -> Option<String> {
        (self.cost?)(&typed(args).ok()?, up)
    }
    fn parse(&self, args: &Args) -> Result<(), String> {
        A::from_args(args).map(|_| ())
    }
    fn run(&self, ctx: &mut RunCtx) -> Result<(), String> {
        let f = self
            .run
            .ok_or_else(|| format!("`{}` is a setting, not a step", self.sig.name))?;
        f(ctx, &typed(ctx.args)?)
    }
}

/// The typed arguments of the step `r` if its op is `op` (a check that
/// spans steps looks only at the producers it knows).
pub fn upstream<B: OpArgs>(up: &Upstream, r: StepRef, op: &str) -> Option<B> {
    match up.call(r)? {
        (name, args) if name == op => B::from_args(args).ok(),
        _ => None,
    }
}

/// Resource hints of ops that decode audio in parallel (loaders, `mix`):
/// a Slurm job gets this many CPUs for its rayon threads.
pub const DATA_RESOURCES: Resources = Resources {
    gpu: false,
    cpus: 4,
    mem_gb: 8,
    minutes: 4 * 60,
};

/// Resource hints of ops that train or decode models: the GPU when there is
/// one, and CPUs for feature extraction.
pub const fn model_resources(minutes: u32) -> Resources {
    Resources {
        gpu: true,
        cpus: 4,
        mem_gb: 16,
        minutes,
    }
}
