//! Acoustic features: the settings ops, extraction of one waveform, and the
//! cached features of whole corpora.

pub mod corpus_features;
pub mod ops;
pub mod spec;

pub use ops::register;
