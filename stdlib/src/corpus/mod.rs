//! Corpora: utterance lists and the ops that load, split and combine them.

pub mod bad_files;
pub mod loaders;
pub mod manifest;
pub mod on_error;
pub mod subsets;
pub mod utt;

/// Every corpus op.
pub fn register(r: &mut lotto_interpreter::Registry) {
    manifest::register(r);
    subsets::register(r);
    loaders::register(r);
}
