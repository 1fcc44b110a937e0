//! Where the paths a recipe names really are, and where a run may read.
//!
//! Two user choices live here, both made once per process by the CLI before
//! anything is read (like the device): data maps (`--data data/tiny=/mnt/x`)
//! send a recipe's data path to another folder *at read time*, so cache keys,
//! which hash the recipe's own path strings and data-root-relative file
//! names, do not change when a colleague keeps the corpus elsewhere; and
//! confinement, on when running an unpacked bundle, which refuses every read
//! outside the bundle's folder and the mapped folders. Ops resolve paths only
//! through [`resolve`], and every file a step reads is declared by its op's
//! `reads` and checked by [`check_read`] before a key exists, so nothing is
//! read before the policy has said yes.

use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

/// The name of the file that marks a folder as an unpacked bundle.
pub const BUNDLE_MARKER: &str = "lotto-bundle.yaml";

#[derive(Clone, Debug, Default)]
pub struct PathPolicy {
    /// (recipe path prefix, real folder), longest prefix first.
    maps: Vec<(String, PathBuf)>,
    /// Canonical folders reads must stay in; `None`: no confinement.
    confine: Option<Vec<PathBuf>>,
}

static POLICY: OnceLock<PathPolicy> = OnceLock::new();

/// A recipe path in its normal written form: no `./`, no trailing `/`.
fn normal(p: &str) -> String {
    let mut s = p.trim().trim_end_matches('/').to_string();
    while let Some(rest) = s.strip_prefix("./") {
        s = rest.to_string();
    }
    s
}

impl PathPolicy {
    /// Parses `--data NAME=PATH` maps; `base` resolves relative targets
    /// (the current directory). Each target must be an existing folder.
    pub fn new(maps: &[String], base: &Path) -> Result<PathPolicy, String> {
        let mut out = vec![];
        for m in maps {
            let Some((name, target)) = m.split_once('=') else {
                return Err(format!(
                    "--data expects NAME=PATH (the data path as the recipe writes it, then where it is here), got `{m}`"
                ));
            };
            let name = normal(name);
            if name.is_empty() {
                return Err(format!("--data `{m}`: the name before `=` is empty"));
            }
            let t = base.join(target.trim());
            let t = t
                .canonicalize()
                .map_err(|e| format!("--data {name}=…: cannot use `{}`: {e}", t.display()))?;
            out.push((name, t));
        }
        out.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
        Ok(PathPolicy {
            maps: out,
            confine: None,
        })
    }

    /// Confines reads to `workspace` and the mapped folders.
    pub fn confined(mut self, workspace: &Path) -> PathPolicy {
        let mut roots = vec![workspace
            .canonicalize()
            .unwrap_or_else(|_| workspace.to_path_buf())];
        roots.extend(self.maps.iter().map(|(_, t)| t.clone()));
        self.confine = Some(roots);
        self
    }

    pub fn is_confined(&self) -> bool {
        self.confine.is_some()
    }

    fn resolve(&self, ws: &Path, p: &str) -> PathBuf {
        let n = normal(p);
        for (name, target) in &self.maps {
            if n == *name {
                return target.clone();
            }
            if let Some(rest) = n.strip_prefix(name.as_str()) {
                if let Some(rest) = rest.strip_prefix('/') {
                    return target.join(rest);
                }
            }
        }
        let path = Path::new(p);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            ws.join(path)
        }
    }

    fn check_read(&self, full: &Path) -> Result<(), String> {
        let Some(roots) = &self.confine else {
            return Ok(());
        };
        // Canonical: a symlink inside the bundle pointing out is caught.
        let canon = full.canonicalize().unwrap_or_else(|_| lexical(full));
        if roots.iter().any(|r| canon.starts_with(r)) {
            return Ok(());
        }
        Err(format!(
            "`{}` is outside this bundle's folder, and a bundle may only read inside its folder and the folders mapped with --data",
            canon.display()
        ))
    }
}

/// `a/b/../c` → `a/c`, for paths that do not exist (yet).
fn lexical(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Installs the process's policy; only the first call counts.
pub fn set(policy: PathPolicy) {
    let _ = POLICY.set(policy);
}

fn policy() -> &'static PathPolicy {
    POLICY.get_or_init(PathPolicy::default)
}

/// Where the recipe path `p` really is: mapped if a `--data` name is a
/// prefix of it, else absolute as written or relative to the workspace.
pub fn resolve(ws: &Path, p: &str) -> PathBuf {
    policy().resolve(ws, p)
}

/// Refuses a read outside the allowed folders when confined.
pub fn check_read(full: &Path) -> Result<(), String> {
    policy().check_read(full)
}

pub fn is_confined() -> bool {
    policy().is_confined()
}

/// The `--data` maps as `NAME=PATH` with absolute paths, for passing the
/// same policy on to Slurm jobs.
pub fn map_args() -> Vec<String> {
    policy()
        .maps
        .iter()
        .map(|(n, t)| format!("{n}={}", t.display()))
        .collect()
}

/// Where a write to `dest` really lands: the canonical form of its deepest
/// existing ancestor (the file itself if it exists, so a symlinked file
/// counts where it points), with the rest of the path appended.
fn landing(dest: &Path) -> PathBuf {
    let mut probe = dest.to_path_buf();
    let mut rest = vec![];
    while !probe.exists() && probe.symlink_metadata().is_err() {
        match (probe.file_name(), probe.parent()) {
            (Some(n), Some(p)) => {
                rest.push(n.to_os_string());
                probe = p.to_path_buf();
            }
            _ => break,
        }
    }
    // A dangling symlink leads nowhere we can check: treat it as outside.
    let mut out = probe.canonicalize().unwrap_or_else(|_| PathBuf::from("/"));
    for n in rest.into_iter().rev() {
        out.push(n);
    }
    out
}

/// Whether a run may write `dest`: never into the store (a recipe cannot
/// touch its own results), and only inside the workspace after every
/// symbolic link is resolved, unless `allow_outside` (never in a bundle).
pub fn check_write(
    ws: &Path,
    store: &Path,
    dest: &Path,
    allow_outside: bool,
) -> Result<(), String> {
    let real = landing(dest);
    let store = store.canonicalize().unwrap_or_else(|_| store.to_path_buf());
    if real.starts_with(&store) {
        return Err(format!(
            "`{}` is inside the store `{}`; a recipe may not write there",
            dest.display(),
            store.display()
        ));
    }
    let wsc = ws.canonicalize().unwrap_or_else(|_| ws.to_path_buf());
    if real.starts_with(&wsc) || (allow_outside && !is_confined()) {
        return Ok(());
    }
    let shown = if real == dest {
        String::new()
    } else {
        format!(" (through a symbolic link, to `{}`)", real.display())
    };
    Err(if is_confined() {
        format!(
            "`{}` leads outside this bundle's folder{shown}; a bundle may only write inside its folder",
            dest.display()
        )
    } else {
        format!(
            "`{}` leads outside the workspace{shown}; write reports inside it, or pass --allow-outside to permit this deliberately",
            dest.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_take_the_longest_prefix_and_keep_the_rest() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("a");
        let b = t.path().join("b");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let p = PathPolicy::new(
            &[
                format!("data={}", a.display()),
                format!("./data/tiny/={}", b.display()),
            ],
            Path::new("/"),
        )
        .unwrap();
        let ws = Path::new("/ws");
        let b = b.canonicalize().unwrap();
        let a = a.canonicalize().unwrap();
        assert_eq!(p.resolve(ws, "data/tiny/x.wav"), b.join("x.wav"));
        assert_eq!(p.resolve(ws, "data/tiny"), b);
        assert_eq!(p.resolve(ws, "data/other.tsv"), a.join("other.tsv"));
        // A name is a whole path component, not a string prefix.
        assert_eq!(p.resolve(ws, "database/x"), ws.join("database/x"));
        assert_eq!(p.resolve(ws, "/abs/x"), PathBuf::from("/abs/x"));
    }

    #[test]
    fn bad_maps_are_clear_errors() {
        let e = PathPolicy::new(&["data".into()], Path::new("/")).unwrap_err();
        assert!(e.contains("NAME=PATH"), "{e}");
        let e = PathPolicy::new(&["data=/no/such/dir".into()], Path::new("/")).unwrap_err();
        assert!(e.contains("/no/such/dir"), "{e}");
    }

    #[test]
    fn confinement_refuses_reads_outside_even_through_symlinks() {
        let t = tempfile::tempdir().unwrap();
        let ws = t.path().join("ws");
        let outside = t.path().join("secret");
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("key"), b"x").unwrap();
        std::fs::write(ws.join("ok.wav"), b"x").unwrap();
        std::os::unix::fs::symlink(&outside, ws.join("link")).unwrap();
        let p = PathPolicy::new(&[], Path::new("/")).unwrap().confined(&ws);
        assert!(p.check_read(&ws.join("ok.wav")).is_ok());
        assert!(p.check_read(&ws.join("link/key")).is_err());
        assert!(p.check_read(&ws.join("../secret/key")).is_err());
        assert!(p.check_read(&outside.join("key")).is_err());
        let mapped = PathPolicy::new(&[format!("d={}", outside.display())], Path::new("/"))
            .unwrap()
            .confined(&ws);
        assert!(mapped.check_read(&outside.join("key")).is_ok());
    }
}
