//! The training settings a recipe writes as calls (`optimizer: adamw(lr:
//! 3e-4)`, `augment: specaugment(...)`, `init: pretrained(dense)`): their
//! config ops, and the typed values `fit` receives.

use super::settings::SpecAugment;
use crate::op::config_op;
use crate::vocabulary::{AUGMENT, INIT, OPTIMIZER, TRAINED};
use lotto_interpreter::typed::{config, FromValue, OpArgs};
use lotto_interpreter::types::PType;
use lotto_interpreter::value::{Args, StepRef, Value};
use lotto_interpreter::Registry;

lotto_interpreter::op_args! {
    pub struct AdamWArgs {
        lr: f64 = opt(PType::Float, 3e-4, "learning rate").range(0.0, 10.0),
        weight_decay: f64 = opt(PType::Float, 1e-5, "weight decay").range(0.0, 1.0),
        beta1: f64 = opt(PType::Float, 0.9, "decay of the first moment").range(0.0, 0.99999).additive(),
        beta2: f64 = opt(PType::Float, 0.999, "decay of the second moment (the official Conformer: 0.98)").range(0.0, 0.99999999).additive(),
        eps: f64 = opt(PType::Float, 1e-8, "term added to the denominator (the official Conformer: 1e-9)").range(0.0, 1.0).additive(),
    }
}

lotto_interpreter::op_args! {
    pub struct AdamArgs {
        lr: f64 = opt(PType::Float, 3e-4, "learning rate").range(0.0, 10.0),
        weight_decay: f64 = opt(PType::Float, 0.0, "weight decay").range(0.0, 1.0),
        beta1: f64 = opt(PType::Float, 0.9, "decay of the first moment").range(0.0, 0.99999).additive(),
        beta2: f64 = opt(PType::Float, 0.999, "decay of the second moment (the official Conformer: 0.98)").range(0.0, 0.99999999).additive(),
        eps: f64 = opt(PType::Float, 1e-8, "term added to the denominator (the official Conformer: 1e-9)").range(0.0, 1.0).additive(),
    }
}

lotto_interpreter::op_args! {
    pub struct SgdArgs {
        lr: f64 = opt(PType::Float, 3e-4, "learning rate").range(0.0, 10.0),
        weight_decay: f64 = opt(PType::Float, 0.0, "weight decay").range(0.0, 1.0),
        momentum: f64 = opt(PType::Float, 0.9, "momentum").range(0.0, 1.0),
    }
}

lotto_interpreter::op_args! {
    pub struct SpecAugmentArgs {
        freq_masks: usize = opt(PType::Int, 2, "frequency masks per utterance").range(0.0, 20.0),
        freq_width: usize = opt(PType::Int, 27, "widest frequency mask, in bins").range(0.0, 1000.0),
        time_masks: usize = opt(PType::Int, 2, "time masks per utterance").range(0.0, 20.0),
        time_width: usize = opt(PType::Int, 40, "longest time mask, in frames (at most 1/5 of the utterance)").range(0.0, 10000.0),
    }
}

lotto_interpreter::op_args! {
    pub struct PretrainedArgs {
        from: StepRef = req(PType::Step(&[TRAINED]), "the trained model"),
    }
}

/// `optimizer: ...` as the training loop reads it: its name and numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct Optimizer {
    pub name: &'static str,
    pub lr: f64,
    pub weight_decay: f64,
    pub momentum: f64,
    /// Adam's (β1, β2) and ε; unused by SGD.
    pub betas: (f64, f64),
    pub eps: f64,
}

impl FromValue for Optimizer {
    fn from_value(v: &Value) -> Result<Self, String> {
        let (op, args) = config(v)?;
        Ok(match op {
            "adamw" => {
                let a = AdamWArgs::from_args(args)?;
                Optimizer {
                    name: "adamw",
                    lr: a.lr,
                    weight_decay: a.weight_decay,
                    momentum: 0.0,
                    betas: (a.beta1, a.beta2),
                    eps: a.eps,
                }
            }
            "adam" => {
                let a = AdamArgs::from_args(args)?;
                Optimizer {
                    name: "adam",
                    lr: a.lr,
                    weight_decay: a.weight_decay,
                    momentum: 0.0,
                    betas: (a.beta1, a.beta2),
                    eps: a.eps,
                }
            }
            "sgd" => {
                let a = SgdArgs::from_args(args)?;
                Optimizer {
                    name: "sgd",
                    lr: a.lr,
                    weight_decay: a.weight_decay,
                    momentum: a.momentum,
                    betas: (0.9, 0.999),
                    eps: 1e-8,
                }
            }
            other => return Err(format!("`{other}` is not an optimizer")),
        })
    }
}

impl FromValue for SpecAugment {
    fn from_value(v: &Value) -> Result<Self, String> {
        let (_, args) = config(v)?;
        let a = SpecAugmentArgs::from_args(args)?;
        Ok(SpecAugment {
            freq_masks: a.freq_masks,
            freq_width: a.freq_width,
            time_masks: a.time_masks,
            time_width: a.time_width,
        })
    }
}

/// `init: ...`: random from the seed, or another model's best weights.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    Random,
    Pretrained(StepRef),
}

impl FromValue for Init {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Sym(s) if s == "random" => Ok(Init::Random),
            _ => Ok(Init::Pretrained(
                PretrainedArgs::from_args(config(v)?.1)?.from,
            )),
        }
    }
}

/// The default optimizer, as a recipe would write it: `adamw()`.
pub fn default_optimizer() -> Value {
    let args: Args = AdamWArgs::params()
        .into_iter()
        .filter_map(|p| Some((p.name.to_string(), p.default?)))
        .collect();
    Value::Config {
        op: "adamw".into(),
        args,
    }
}

pub fn register(r: &mut Registry) {
    r.add(config_op::<AdamWArgs>(
        "adamw",
        "Training",
        1,
        &OPTIMIZER,
        "AdamW (decoupled weight decay); the paper: lr 3e-4, weight_decay 1e-5.",
    ));
    r.add(config_op::<AdamArgs>(
        "adam",
        "Training",
        1,
        &OPTIMIZER,
        "Adam (L2 weight decay added to the gradient).",
    ));
    r.add(config_op::<SgdArgs>(
        "sgd",
        "Training",
        1,
        &OPTIMIZER,
        "SGD with momentum.",
    ));
    r.add(config_op::<PretrainedArgs>(
        "pretrained",
        "Training",
        1,
        &INIT,
        "Start from the best weights of another trained model.",
    ));
    r.add(config_op::<SpecAugmentArgs>("specaugment", "Training", 1, &AUGMENT, "SpecAugment masks on training batches (no time warping): frequency bands and time spans set to the feature mean, drawn per batch from the seed. The Conformer setting: 2 masks of up to 27 bins, 2 of up to 40 frames."));
}
