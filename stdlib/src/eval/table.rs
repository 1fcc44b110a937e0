//! The evaluation table an Eval step publishes (`eval.yaml`): one row per
//! model (or ticket round) and test corpus.

use crate::artifacts::read_yaml;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Row {
    pub model: String,
    pub method: String,
    pub round: usize,
    pub rw: f64,
    pub corpus: String,
    pub wer: f64,
    pub cer: f64,
    pub utterances: usize,
    pub dev_wer: f64,
    /// Per utterance, in the corpus's order (the same for every model
    /// scored on it): word errors, words, character errors, characters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_utterance: Vec<crate::scoring::UttErrors>,
    /// The model's training warning (its kept epoch is a weak choice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, Default)]
pub struct Table {
    pub rows: Vec<Row>,
}

pub fn read_table(dir: &Path) -> Result<Table, String> {
    read_yaml(&dir.join("eval.yaml"))
}
