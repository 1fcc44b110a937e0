//! Reading and writing the YAML files that describe an artifact
//! (`trained.yaml`, `ticket.yaml`, `eval.yaml`), with errors that name the
//! file.

use std::path::Path;

pub fn write_yaml<T: serde::Serialize>(path: &Path, v: &T) -> Result<(), String> {
    let s = serde_yaml::to_string(v).map_err(|e| e.to_string())?;
    std::fs::write(path, s).map_err(|e| format!("`{}`: {e}", path.display()))
}

pub fn read_yaml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let s = std::fs::read_to_string(path).map_err(|e| format!("`{}`: {e}", path.display()))?;
    serde_yaml::from_str(&s).map_err(|e| format!("`{}`: {e}", path.display()))
}
