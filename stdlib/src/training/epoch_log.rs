//! What a training run records of each epoch: in checkpoints (to resume),
//! and in the Trained artifact's history.

use serde::{Deserialize, Serialize};

/// One epoch: its mean training loss, dev WER and CER, learning rate and
/// wall time.
#[derive(Clone, Debug, Serialize, Deserialize, Default)]
pub struct EpochLog {
    pub epoch: usize,
    pub loss: f64,
    pub dev_wer: f64,
    pub dev_cer: f64,
    pub lr: f64,
    pub seconds: f64,
}
