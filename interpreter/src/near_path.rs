//! "Did you mean" for a data path that almost exists: each missing
//! component is replaced by the closest name in its folder, and the
//! corrected path is offered only if it is really there.

use crate::diag::did_you_mean;
use std::path::{Component, Path, PathBuf};

/// The existing path closest to `p` (relative to `ws`, or absolute), as
/// the user would write it, if one differs from `p` by small typos.
pub fn suggest(ws: &Path, p: &str) -> Option<String> {
    let mut real = ws.to_path_buf();
    let mut shown = PathBuf::new();
    let mut changed = false;
    for comp in Path::new(p).components() {
        let Component::Normal(name) = comp else {
            real.push(comp);
            shown.push(comp);
            continue;
        };
        if real.join(name).exists() {
            real.push(name);
            shown.push(name);
            continue;
        }
        let entries: Vec<String> = std::fs::read_dir(&real)
            .ok()?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        let best = did_you_mean(&name.to_string_lossy(), entries.iter().map(String::as_str))?;
        real.push(best);
        shown.push(best);
        changed = true;
    }
    (changed && real.exists()).then(|| shown.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_in_any_component_are_corrected_when_the_result_exists() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("data/tiny")).unwrap();
        std::fs::write(t.path().join("data/tiny/manifest.tsv"), "").unwrap();
        let s = |p: &str| suggest(t.path(), p);
        assert_eq!(
            s("data/tiyn/manifest.tsv").as_deref(),
            Some("data/tiny/manifest.tsv")
        );
        assert_eq!(
            s("dta/tiny/manifset.tsv").as_deref(),
            Some("data/tiny/manifest.tsv")
        );
        assert_eq!(s("data/tiny/manifest.tsv"), None, "nothing to correct");
        assert_eq!(s("data/other/x.tsv"), None, "nothing close");
    }
}
