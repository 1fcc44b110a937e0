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
}

#[derive(Clone, Debug, Serialize, Deserialize, Default)]
pub struct Table {
    pub rows: Vec<Row>,
}

pub fn read_table(dir: &Path) -> Result<Table, String> {
    read_yaml(&dir.join("eval.yaml"))
}
