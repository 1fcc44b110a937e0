//! One module per command; `main` dispatches to them.

pub mod bench;
pub mod bundle;
pub mod check;
pub mod exec_step;
pub mod fsck;
pub mod gc;
pub mod graph;
pub mod lock;
pub mod ops;
pub mod plan;
pub mod run;
pub mod show;
pub mod status;
pub mod verify;
