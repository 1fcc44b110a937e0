//! The lotto language and its engine: parsing, checking, lowering to a DAG,
//! cache keys, the artifact store, planning and execution.
//!
//! This crate knows nothing of audio or neural networks: it sees operations
//! only through the [`registry::Registry`] of typed signatures that the op
//! library fills in, together with the names of step types, statement kinds
//! and the op behind `report` statements. Data flows one way: source →
//! [`parse`] → [`ast`] → [`check`] → [`program`] → [`graph`] → [`keys`] →
//! [`plan`] → [`exec`] → [`store`].

pub mod ast;
pub mod check;
pub mod diag;
pub mod digest;
pub mod exec;
pub mod graph;
pub mod integrity;
pub mod key_parts;
pub mod keys;
pub mod lock;
pub mod near_path;
pub mod parse;
pub mod paths;
pub mod plan;
pub mod program;
pub mod progress;
pub mod record;
pub mod registry;
pub mod render;
pub mod run_ctx;
pub mod signature;
pub mod slurm;
pub mod source;
pub mod store;
pub mod syntax_error;
#[cfg(test)]
pub(crate) mod test_registry;
pub mod text_file;
pub mod typed;
pub mod types;
pub mod value;

pub use diag::{Diagnostic, Diagnostics};
pub use registry::{Invalid, Op, Registry};
pub use signature::{OpSig, Output, Param, Resources};
