//! Pruning: masks and remaining weights, which parameters are prunable, and
//! one pruning step (magnitude or random, unstructured, blocks or N:M).

pub mod masks;
pub mod prune;
pub mod select;
