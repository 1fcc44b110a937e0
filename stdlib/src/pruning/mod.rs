//! Pruning: masks and remaining weights, which parameters are prunable, and
//! one pruning step (magnitude or random, unstructured, blocks or N:M).

pub mod blocks;
pub mod masks;
pub mod nm;
pub mod prune;
pub mod reference;
pub mod select;
pub mod selection;
