//! Ticket transfer (RQ5): a ticket round's mask, trained from that round's
//! (rewound, masked) initial weights on another corpus, with the source's
//! model, features and training settings.

use crate::tensor_io;
use crate::training::job::{load_trained, TrainJob};
use crate::vocabulary::{CORPUS, TRAINED};
use lotto_interpreter::run_ctx::RunCtx;
use lotto_interpreter::typed::FromValue;
use lotto_interpreter::types::PType;
use lotto_interpreter::value::{StepRef, Value};

lotto_interpreter::op_args! {
    pub struct TransferArgs {
        ticket: StepRef = req(PType::Step(&[TRAINED]), "a ticket round: `t.round(k)`, `best(t)` or `extreme(t, than: dense)`"),
        to: StepRef = req(PType::Step(&[CORPUS]), "the training corpus to transfer to"),
        dev: StepRef = req(PType::Step(&[CORPUS]), "its development corpus (model selection)"),
        epochs: Epochs = opt(PType::Int, Value::sym("source"), "epochs (default: the source's)").range(1.0, 1000.0),
    }
}

/// `epochs`: the source's (`source`, the default) or a number.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Epochs(pub Option<usize>);

impl FromValue for Epochs {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Sym(s) if s == "source" => Ok(Epochs(None)),
            other => usize::from_value(other).map(|n| Epochs(Some(n))),
        }
    }
}

pub fn run(ctx: &mut RunCtx, a: &TransferArgs) -> Result<(), String> {
    let src = ctx.input(a.ticket).to_path_buf();
    let (info, _, masks) = load_trained(&src)?;
    let Some(masks) = masks else {
        return Err(format!(
            "`{}` is a dense model, not a ticket round: transfer a round such as `t.round(3)`, `best(t)` or `extreme(t, than: dense)`",
            ctx.input_name(a.ticket)
        ));
    };
    let init = tensor_io::load(&src.join("init.safetensors"))?;
    let mut settings = info.settings.clone();
    if let Epochs(Some(e)) = a.epochs {
        settings.epochs = e.max(1);
        settings.steps = None;
    }
    let train_dir = ctx.input(a.to).to_path_buf();
    let dev_dir = ctx.input(a.dev).to_path_buf();
    let job = TrainJob::new(
        ctx,
        info.model.clone(),
        info.features.clone(),
        settings,
        (&train_dir, &dev_dir),
    )?;
    let r = job.run_step(ctx, &init, Some(&masks))?;
    ctx.metric("rw", (r.rw * 100.0).round() / 100.0);
    Ok(())
}
