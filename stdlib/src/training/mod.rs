//! Training: settings, batches, the optimizer step, the loop with its
//! checkpoints, the jobs that produce Trained artifacts, and the `fit` op
//! with its config ops.

pub mod accelerator_memory;
pub mod batch;
pub mod checkpoint;
pub mod configs;
pub mod cost;
pub mod epoch_log;
pub mod fit;
pub mod job;
pub mod loss_norm;
pub mod memory_check;
pub mod optimizer;
pub mod selection;
pub mod settings;
pub mod train_loop;

/// `fit` and the training settings' config ops.
pub fn register(r: &mut lotto_interpreter::Registry) {
    configs::register(r);
    fit::register(r);
}
