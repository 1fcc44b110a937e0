//! The names this library gives the language: the types of step results,
//! the kinds of config values, and the statement kinds that bind them
//! (`corpus tiny = manifest(...)`). The interpreter checks recipes with
//! whatever is registered here.

use lotto_interpreter::types::{ConfigKind, StepType};
use lotto_interpreter::Registry;

pub const CORPUS: StepType = StepType("Corpus");
pub const NOISE_BANK: StepType = StepType("NoiseBank");
pub const FEATURES: StepType = StepType("Features");
pub const MODEL_SPEC: StepType = StepType("ModelSpec");
pub const TRAINED: StepType = StepType("Trained");
pub const TICKET: StepType = StepType("Ticket");
pub const EVAL: StepType = StepType("Eval");
pub const REPORT: StepType = StepType("Report");
pub const LANGUAGE_MODEL: StepType = StepType("LanguageModel");
pub const TOKENIZER: StepType = StepType("Tokenizer");

pub const OPTIMIZER: ConfigKind = ConfigKind {
    name: "Optimizer",
    example: "adamw(lr: 3e-4)",
};
pub const REWIND: ConfigKind = ConfigKind {
    name: "Rewind",
    example: "epoch(1)",
};
pub const AUGMENT: ConfigKind = ConfigKind {
    name: "Augment",
    example: "specaugment(freq_masks: 2)",
};
pub const INIT: ConfigKind = ConfigKind {
    name: "Init",
    example: "pretrained(dense)",
};
pub const EARLY_BIRD: ConfigKind = ConfigKind {
    name: "EarlyBird",
    example: "early_bird(distance: 10%)",
};
pub const DECODER: ConfigKind = ConfigKind {
    name: "Decoder",
    example: "beam(width: 64, lm: words)",
};
pub const REPORT_PART: ConfigKind = ConfigKind {
    name: "ReportPart",
    example: "summary(results)",
};

/// The statement kinds, each binding one step type.
pub fn register(r: &mut Registry) {
    for (kind, ty) in [
        ("corpus", CORPUS),
        ("split", CORPUS),
        ("noise", NOISE_BANK),
        ("features", FEATURES),
        ("model", MODEL_SPEC),
        ("train", TRAINED),
        ("ticket", TICKET),
        ("eval", EVAL),
        ("lm", LANGUAGE_MODEL),
        ("tokens", TOKENIZER),
    ] {
        r.add_kind(kind, ty);
    }
}
