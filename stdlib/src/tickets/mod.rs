//! Lottery tickets: iterative magnitude pruning with rewinding, the random
//! pruning and random ticket baselines, one-shot pruning, early-bird
//! rounds, late rewinding, transfer, retraining every round under new
//! settings, and picking rounds.

pub mod args;
pub mod early_bird;
pub mod ops;
pub mod picks;
pub mod random_ticket;
pub mod retrain;
pub mod rewind;
pub mod round_training;
pub mod rounds;
pub mod schedule;
pub mod ticket;
pub mod transfer;
pub mod upstream_checks;

pub use ops::register;
