//! The lotto language and its engine: parsing, checking, lowering to a DAG,
//! cache keys, the artifact store, planning and execution.
//!
//! This crate knows nothing of audio or neural networks: it sees operations
//! only through the [`registry::Registry`] of typed signatures that the stdlib
//! fills in. Data flows one way: source → [`parse`] → [`ast`] → [`check`] →
//! [`graph`] → [`plan`] → [`exec`] → [`store`].

pub mod ast;
pub mod check;
pub mod diag;
pub mod digest;
pub mod exec;
pub mod graph;
pub mod key;
pub mod lock;
pub mod parse;
pub mod paths;
pub mod plan;
pub mod progress;
pub mod registry;
pub mod slurm;
pub mod source;
pub mod store;
pub mod value;

pub use diag::{Diagnostic, Diagnostics};
pub use registry::{Op, OpSig, Param, Registry};
