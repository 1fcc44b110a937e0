//! lotto's standard library of operations: corpora and audio, features,
//! noise, models, training, lottery tickets, evaluation and reports. Each
//! op declares its typed arguments once (`op_args!`), from which its
//! signature comes; the interpreter checks recipes against the signatures
//! and runs ops through them. The library also names the language's step
//! types and statement kinds ([`vocabulary`]).

pub mod arch;
pub mod artifacts;
pub mod audio;
pub mod beam;
pub mod bpe;
pub mod corpus;
pub mod cpu;
pub mod data_paths;
pub mod decoding;
pub mod device;
pub mod eval;
pub mod features;
pub mod lm;
pub mod models;
pub mod nn;
pub mod noise;
pub mod op;
pub mod parallel;
pub mod pruning;
pub mod report;
pub mod rng;
pub mod scoring;
pub mod sphere;
pub mod stats;
pub mod tensor_io;
pub mod text;
pub mod tickets;
pub mod tokenizer;
pub mod tokens;
pub mod training;
pub mod vocabulary;

pub use burn;
use lotto_interpreter::Registry;

/// Every op of the standard library, in the order of the docs' sections.
pub fn registry() -> Registry {
    let mut r = Registry::new();
    vocabulary::register(&mut r);
    corpus::register(&mut r);
    noise::register(&mut r);
    features::register(&mut r);
    tokenizer::register(&mut r);
    models::register(&mut r);
    training::register(&mut r);
    tickets::register(&mut r);
    eval::register(&mut r);
    report::register(&mut r);
    r
}

#[cfg(test)]
mod registry_tests;
