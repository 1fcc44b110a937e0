//! lotto's standard library of operations: corpora and audio, features,
//! noise, models, training, lottery tickets, evaluation and reports. Each
//! op declares its typed signature and version in the registry; the
//! interpreter checks recipes against it and runs ops through it.

pub mod arch;
pub mod audio;
pub mod corpus;
pub mod device;
pub mod eval;
pub mod features;
pub mod loaders;
pub mod models;
pub mod nn;
pub mod op;
pub mod plot;
pub mod report;
pub mod rng;
pub mod sphere;
pub mod tensor_io;
pub mod text;
pub mod tickets;
pub mod train;

pub use burn;
use lotto_interpreter::Registry;

/// Every op of the standard library.
pub fn registry() -> Registry {
    let mut r = Registry::new();
    corpus::register(&mut r);
    loaders::register(&mut r);
    features::register(&mut r);
    models::register(&mut r);
    tickets::register(&mut r);
    eval::register(&mut r);
    report::register(&mut r);
    r
}
