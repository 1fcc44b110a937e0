//! Evaluation: the error-rate table of models on test corpora, and the
//! language models beam search can use.

pub mod lm_ops;
pub mod table;
pub mod wer;

/// `wer`, its decoder settings, and the language-model ops.
pub fn register(r: &mut lotto_interpreter::Registry) {
    lm_ops::register(r);
    wer::register(r);
}
