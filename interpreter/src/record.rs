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
    /// The entry this one's files were taken from, when its inputs'
    /// results equalled those of an earlier computation (see
    /// [`crate::key_parts::KeyParts::content_key`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused_from: Option<String>,
}

/// Published files that are bookkeeping, not results: which sub-steps the
/// entry used (for `gc`).
const NOT_RESULTS: &[&str] = &["refs.txt"];

impl Record {
    /// What the entry published on output `port`, as one digest: the
    /// digests of its result files (those under `portN/` for a step with
    /// several outputs). `None` for records older than file digests.
    pub fn identity(&self, port: usize) -> Option<String> {
        if self.artifacts.is_empty() {
            return None;
        }
        let dir = format!("port{port}/");
        let ported = self.artifacts.keys().any(|p| p.starts_with("port"));
        let mut h = blake3::Hasher::new();
        h.update(b"lotto-identity-v1\0");
        for (path, d) in &self.artifacts {
            let path = match (ported, path.strip_prefix(&dir)) {
                (true, Some(rest)) => rest,
                (true, None) => continue,
                (false, _) => path.as_str(),
            };
            if NOT_RESULTS.contains(&path) {
                continue;
            }
            h.update(path.as_bytes());
            h.update(b"\0");
            h.update(d.blake3.as_bytes());
        }
        Some(h.finalize().to_hex()[..32].to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(files: &[(&str, &str)]) -> Record {
        Record {
            artifacts: files
                .iter()
                .map(|(p, d)| {
                    let fd = FileDigest {
                        size: 1,
                        blake3: d.to_string(),
                    };
                    (p.to_string(), fd)
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn identity_is_the_result_files_of_one_port() {
        let a = record(&[("w.safetensors", "d1"), ("refs.txt", "x")]);
        let b = record(&[("w.safetensors", "d1"), ("refs.txt", "y")]);
        assert_eq!(a.identity(0), b.identity(0), "refs.txt is bookkeeping");
        assert_ne!(
            a.identity(0),
            record(&[("w.safetensors", "d2")]).identity(0)
        );
        let split = record(&[("port0/u.jsonl", "d1"), ("port1/u.jsonl", "d2")]);
        let other = record(&[("port0/u.jsonl", "d1"), ("port1/u.jsonl", "d3")]);
        assert_eq!(split.identity(0), other.identity(0));
        assert_ne!(split.identity(1), other.identity(1));
        assert_eq!(Record::default().identity(0), None);
    }
}
