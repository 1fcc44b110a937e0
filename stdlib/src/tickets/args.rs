//! The arguments of the pruning ops (`imp`, `random_prune`, `oneshot`) and
//! of their config values (`epoch(k)`, `step(k)`, `early_bird(...)`), with
//! the checks their types cannot express.

use crate::pruning::select::{Selection, KINDS};
use crate::rng::SEED_MAX;
use crate::vocabulary::{EARLY_BIRD, REWIND, TRAINED};
use lotto_interpreter::registry::Invalid;
use lotto_interpreter::typed::{config, FromValue, OpArgs, Shape};
use lotto_interpreter::types::PType;
use lotto_interpreter::value::{StepRef, Value};

lotto_interpreter::sym_enum! {
    pub enum Scope { Global = "global", Layer = "layer" }
}

lotto_interpreter::sym_enum! {
    /// Which weights of a round the next mask is drawn from.
    pub enum PruneFrom { Last = "last", Best = "best" }
}

/// What a round's survivors are rewound to before retraining.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rewind {
    /// θ0 (the lottery ticket hypothesis).
    Init,
    /// The trained weights (pruning with fine-tuning).
    Trained,
    /// The dense run after epoch k: its weights, optimizer state and the
    /// rest of its schedule (late rewinding).
    Epoch(usize),
    /// The dense run after optimizer step k.
    Step(usize),
}

lotto_interpreter::op_args! {
    pub struct EpochPointArgs {
        k: usize = req(PType::Int, "the epoch (before the last one)").range(1.0, 1000.0),
    }
}

lotto_interpreter::op_args! {
    pub struct StepPointArgs {
        k: usize = req(PType::Int, "the optimizer step (within the dense training)").range(1.0, 1e9),
    }
}

impl FromValue for Rewind {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Sym(s) if s == "init" => Ok(Rewind::Init),
            Value::Sym(s) if s == "trained" => Ok(Rewind::Trained),
            _ => match config(v)? {
                ("epoch", args) => Ok(Rewind::Epoch(EpochPointArgs::from_args(args)?.k)),
                ("step", args) => Ok(Rewind::Step(StepPointArgs::from_args(args)?.k)),
                (other, _) => Err(format!("`{other}` is not a rewinding point")),
            },
        }
    }
}

impl Rewind {
    /// How it enters round keys (`init`, `epoch3`).
    pub fn key(self) -> String {
        match self {
            Rewind::Init => "init".into(),
            Rewind::Trained => "trained".into(),
            Rewind::Epoch(k) => format!("epoch{k}"),
            Rewind::Step(k) => format!("step{k}"),
        }
    }
}

lotto_interpreter::op_args! {
    pub struct EarlyBirdArgs {
        distance: f64 = opt(PType::Fraction, 0.1, "largest distance between successive epochs' candidate masks that counts as settled: the share of the weights this round prunes on which they disagree (You et al.: 0.1)").range(0.0, 1.0),
        window: usize = opt(PType::Int, 5, "successive settled epochs needed (You et al.: a queue of 5)").range(1.0, 100.0),
    }
}

impl FromValue for EarlyBirdArgs {
    fn from_value(v: &Value) -> Result<Self, String> {
        EarlyBirdArgs::from_args(config(v)?.1)
    }
}

lotto_interpreter::op_args! {
    /// How much is pruned per round, for how many rounds, and what the
    /// survivors are rewound to.
    pub struct Schedule {
        rounds: usize = opt(PType::Int, 10, "pruning rounds").range(1.0, 100.0),
        rate: f64 = opt(PType::Fraction, 0.2, "share of the remaining weights pruned per round").range(0.01, 0.99),
        rewind: Rewind = opt(PType::OneOf(vec![PType::Enum(&["init", "trained"]), PType::Config(&REWIND)]), Value::sym("init"), "`init`: rewind survivors to θ0 (LTH); `epoch(k)` / `step(k)`: to the dense run after epoch / optimizer step k, continuing its optimizer state and lr schedule to the end (late rewinding); `trained`: keep trained weights (fine-tuning)"),
        sparsities: Option<Vec<f64>> = optional(PType::List(Box::new(PType::Fraction)), "explicit schedule: each round's target sparsity (share of prunable weights removed), increasing; replaces `rounds` and `rate`").range(0.0, 0.999),
        until: Option<f64> = optional(PType::Fraction, "geometric schedule until RW is at most this (e.g. `5%`); replaces `rounds`").range(0.001, 0.999),
        epochs: usize = opt(PType::Int, 0, "retraining epochs per round (0: as the dense fit)").range(0.0, 1000.0),
        prune_from: PruneFrom = opt(PType::Enum(PruneFrom::NAMES), PruneFrom::Last, "which weights of the dense model and of each round the next mask is drawn from: `last`, the weights at the end of training (as the paper's code and OpenLTH), or `best`, the dev-best epoch's"),
    }
}

lotto_interpreter::op_args! {
    /// What is pruned, in what units, ranked how.
    pub struct Structure {
        scope: Scope = opt(PType::Enum(Scope::NAMES), Scope::Global, "rank weights across all tensors or within each"),
        block: Shape = opt(PType::Shape, Value::Shape(1, 1, 'x'), "prune blocks of RxC (rows along outputs, columns along inputs), scored by mean magnitude; `1x4` as in the paper"),
        nm: Option<Shape> = optional(PType::Shape, "N:M sparsity, e.g. `2:4`: at most N of every M consecutive input weights survive, reached in one round (use `rounds: 1`)"),
        prune: Selection = opt(PType::OneOf(vec![PType::Enum(&["paper"]), PType::List(Box::new(PType::OneOf(vec![PType::Enum(KINDS), PType::Str])))]), Value::sym("paper"), "what is prunable: `paper`, the paper's set for the architecture (conv, LSTM and linear weights; the Conformer: linear weights only), or a list of kinds (conv, lstm_ih, lstm_hh, linear) and/or parameter-path patterns like \"lstm.*.weight_hh\" (never biases or norms)"),
        seed: u64 = opt(PType::Int, 0, "random draws").range(0.0, SEED_MAX).run_seed(),
    }
}

lotto_interpreter::op_args! {
    pub struct ImpArgs {
        trained: StepRef = req(PType::Step(&[TRAINED]), "the trained dense model"),
        schedule: Schedule = flatten(),
        structure: Structure = flatten(),
        early_bird: Option<EarlyBirdArgs> = optional(PType::OneOf(vec![PType::Enum(&["none"]), PType::Config(&EARLY_BIRD)]), "`early_bird(...)`: every round but the last stops training once the next round's mask has settled, and the next mask is drawn from those weights; the last round trains fully").additive(),
    }
}

lotto_interpreter::op_args! {
    pub struct RandomPruneArgs {
        trained: StepRef = req(PType::Step(&[TRAINED]), "the trained dense model"),
        schedule: Schedule = flatten(),
        structure: Structure = flatten(),
    }
}

lotto_interpreter::op_args! {
    pub struct OneshotArgs {
        trained: StepRef = req(PType::Step(&[TRAINED]), "the trained dense model"),
        sparsity: f64 = opt(PType::Fraction, 0.9, "share of the prunable weights removed").range(0.01, 0.99),
        finetune: usize = opt(PType::Int, 0, "fine-tuning epochs (0: as the dense fit)").range(0.0, 1000.0),
        structure: Structure = flatten(),
    }
}

/// `block` is RxC (`1x4`); N:M (`2:4`) goes to `nm`, reached in one round.
pub fn validate_structure(s: &Structure, rounds: usize, schedule: bool) -> Result<(), Invalid> {
    if s.block.sep == ':' {
        return Err(Invalid::at(
            "block",
            format!(
                "`block` takes a block shape like `1x4`; for N:M sparsity write `nm: {}:{}`",
                s.block.first, s.block.second
            ),
        ));
    }
    let Some(nm) = s.nm else {
        return Ok(());
    };
    if schedule {
        return Err(Invalid::at(
            "nm",
            "N:M sparsity is one round: drop `sparsities` / `until`",
        ));
    }
    if nm.sep != ':' || nm.first >= nm.second || nm.first == 0 {
        return Err(Invalid::at(
            "nm",
            format!(
                "`nm` takes N:M with 0 < N < M, like `2:4`, not `{}{}{}`",
                nm.first, nm.sep, nm.second
            ),
        ));
    }
    if rounds != 1 {
        return Err(Invalid::at(
            "nm",
            "N:M sparsity is reached in one round: add `rounds: 1`",
        ));
    }
    if (s.block.first, s.block.second) != (1, 1) {
        return Err(Invalid::at("nm", "give `nm` or `block`, not both"));
    }
    Ok(())
}

/// The schedule's own checks, then the structure's.
pub fn validate_rounds(sch: &Schedule, st: &Structure) -> Result<(), Invalid> {
    if let Some(v) = &sch.sparsities {
        if v.is_empty() || v.windows(2).any(|w| w[1] <= w[0]) || v.iter().any(|x| *x <= 0.0) {
            return Err(Invalid::at(
                "sparsities",
                "`sparsities` must be increasing targets above 0%, like `[20%, 36%, 49%]`",
            ));
        }
        if sch.until.is_some() {
            return Err(Invalid::at(
                "until",
                "give `sparsities` or `until`, not both",
            ));
        }
    }
    let scheduled = sch.sparsities.is_some() || sch.until.is_some();
    validate_structure(st, sch.rounds, scheduled)
}
