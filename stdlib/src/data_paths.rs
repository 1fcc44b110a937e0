//! Where a path a recipe names really is: through the `--data` maps, else
//! against the workspace (see `lotto_interpreter::paths`), and refused when
//! a confined run (a bundle) may not read there.

use std::path::{Path, PathBuf};

/// Resolves a user path argument.
pub fn ws_path(ws: &Path, p: &str) -> PathBuf {
    lotto_interpreter::paths::resolve(ws, p)
}

/// [`ws_path`] for a data file or folder an op is about to open; an absent
/// one is an error that offers the closest existing path.
pub fn data_path(ws: &Path, p: &str) -> Result<PathBuf, String> {
    let full = ws_path(ws, p);
    lotto_interpreter::paths::check_read(&full)?;
    if !full.exists() {
        let hint = lotto_interpreter::near_path::suggest(ws, p)
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        return Err(format!("`{p}` is not there{hint}"));
    }
    Ok(full)
}

/// `p` relative to the workspace when it lies inside it (how corpora
/// record their audio, so a moved workspace keeps working).
pub fn rel_to_ws(ws: &Path, p: &Path) -> String {
    let wsc = ws.canonicalize().unwrap_or(ws.to_path_buf());
    let pc = p.canonicalize().unwrap_or(p.to_path_buf());
    pc.strip_prefix(&wsc)
        .map(|r| r.display().to_string())
        .unwrap_or_else(|_| pc.display().to_string())
}

/// A text input a recipe names (manifest, transcripts, LM text), read with
/// the limits of [`lotto_interpreter::text_file`]: a device file or a huge
/// file is refused instead of filling memory. `shown` names it in errors.
pub fn read_input_text(path: &Path, shown: &str) -> Result<String, String> {
    use lotto_interpreter::text_file::{read_text, TEXT_MAX};
    read_text(path, TEXT_MAX).map_err(|e| format!("cannot read `{shown}`: {e}"))
}
