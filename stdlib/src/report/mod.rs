//! Reports: `report "results/NAME" = summary(e), plot(e), export(t)` writes
//! a Markdown summary shaped like the paper's tables, a CSV of every
//! number, plots (SVG and PNG), and exported weights and masks.

pub mod aggregate;
pub mod bootstrap;
pub mod export;
pub mod paired;
pub mod plot;
pub mod report_op;
pub mod summary;

pub use report_op::register;
