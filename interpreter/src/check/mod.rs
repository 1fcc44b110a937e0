//! The checker: loads a recipe and its imports, expands `for` sweeps,
//! resolves every name and call against the op registry, and produces the
//! flat list of steps that the graph module lowers into a DAG.
//!
//! It reports every error it can find in one go; a step whose call has an
//! error is still recorded (without arguments) so later references to it do
//! not cascade into "unknown name" noise. The passes, in order:
//! `load` (files and imports), `collect` (names, sweeps, steps), `resolve`
//! (calls, with `convert` for each argument's type and `literal` for
//! values), the cycle check in
//! [`crate::graph`], then `across` (checks that span steps). `messages`
//! words every diagnostic.

mod across;
mod collect;
mod convert;
mod driver;
mod literal;
mod load;
mod messages;
mod options;
mod params;
mod resolve;
mod scope;
mod seeds;

pub use driver::{check_file, check_source};
pub use options::CheckOpts;
pub use params::fmt_num;
pub use scope::KEYWORDS;
pub use seeds::{sweep_values, with_seed, without_seed};
