//! The provenance record of a published store entry (`step.yaml`): what
//! ran, with which arguments and inputs, when, what it measured, and a
//! digest of every file it published, so reuse can tell an intact entry
//! from a damaged one.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The record's file in an entry.
pub const RECORD: &str = "step.yaml";
/// The BLAKE3 digest of the record's bytes, written after it: an edited
/// record (a changed metric) no longer matches.
pub const RECORD_DIGEST: &str = "step.yaml.b3";

/// Size and BLAKE3 digest of one published file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileDigest {
    pub size: u64,
    pub blake3: String,
}

/// The provenance record of a published step.
#[derive(Clone, Debug, Serialize, Deserialize, Default)]
pub struct Record {
    pub step: String,
    pub recipe: String,
    pub op: String,
    pub op_version: u32,
    pub key: String,
    pub args: BTreeMap<String, serde_json::Value>,
    pub inputs: BTreeMap<String, String>,
    #[serde(default)]
    pub files: usize,
    pub device: Option<String>,
    pub lotto_version: String,
    pub started: String,
    pub finished: String,
    pub seconds: f64,
    #[serde(default)]
    pub metrics: BTreeMap<String, serde_yaml::Value>,
    #[serde(default)]
    pub outputs: Vec<String>,
    /// Where it ran when not in the `lotto run` process (`slurm job 42`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// Every file the entry published (paths relative to the entry, `/`
    /// separated), the record itself excepted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, FileDigest>,
}
