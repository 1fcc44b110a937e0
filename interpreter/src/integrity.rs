//! Whether a store entry is still what was published: its record matches
//! the digest written beside it, and every file it lists is there with its
//! size (and, for small files or a full check, its digest). A damaged
//! entry is never reused: it is reported and computed again.

use crate::digest::hash_file;
use crate::record::{FileDigest, Record, RECORD, RECORD_DIGEST};
use std::collections::BTreeMap;
use std::path::Path;

/// Files up to this size are re-hashed on every reuse (records, tables,
/// reports); larger ones (weights) only have their size checked, unless a
/// full check (`lotto fsck`) asks.
pub const REHASH_BELOW: u64 = 1 << 20;

/// How much of an entry to check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// Record digest, every file's presence and size, small files' digests.
    Quick,
    /// Every file's digest too.
    Full,
}

/// What a check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    Intact,
    /// Published by a lotto that did not record digests: usable, but only
    /// its presence can be checked.
    Unverified,
    /// What is wrong, naming the file.
    Damaged(String),
}

/// Size and digest of every file under `dir` but the record and its
/// digest, by path relative to `dir`.
pub fn digest_tree(dir: &Path) -> std::io::Result<BTreeMap<String, FileDigest>> {
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out)?;
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, FileDigest>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let p = e.path();
        let ty = e.file_type()?;
        if ty.is_dir() {
            walk(root, &p, out)?;
            continue;
        }
        let rel = p
            .strip_prefix(root)
            .map_err(std::io::Error::other)?
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if rel == RECORD || rel == RECORD_DIGEST {
            continue;
        }
        let size = e.metadata()?.len();
        out.insert(
            rel,
            FileDigest {
                size,
                blake3: hash_file(&p)?,
            },
        );
    }
    Ok(())
}

/// Checks the published entry in `dir`.
pub fn check(dir: &Path, depth: Depth) -> Health {
    let bytes = match std::fs::read(dir.join(RECORD)) {
        Ok(b) => b,
        Err(e) => return Health::Damaged(format!("its record `{RECORD}` cannot be read: {e}")),
    };
    let record: Record = match serde_yaml::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => return Health::Damaged(format!("its record `{RECORD}` does not parse: {e}")),
    };
    let Ok(recorded) = std::fs::read_to_string(dir.join(RECORD_DIGEST)) else {
        return if record.artifacts.is_empty() {
            Health::Unverified
        } else {
            Health::Damaged(format!(
                "the digest of its record (`{RECORD_DIGEST}`) is missing"
            ))
        };
    };
    if recorded.trim() != blake3::hash(&bytes).to_hex().as_str() {
        return Health::Damaged(format!(
            "its record `{RECORD}` was changed after publishing"
        ));
    }
    for (name, want) in &record.artifacts {
        let p = dir.join(name);
        let size = match std::fs::metadata(&p) {
            Ok(m) if m.is_file() => m.len(),
            Ok(_) => return Health::Damaged(format!("`{name}` is not a file")),
            Err(_) => return Health::Damaged(format!("`{name}` is missing")),
        };
        if size != want.size {
            return Health::Damaged(format!(
                "`{name}` has {size} bytes, {} were published",
                want.size
            ));
        }
        if depth == Depth::Full || size <= REHASH_BELOW {
            match hash_file(&p) {
                Ok(d) if d == want.blake3 => {}
                Ok(_) => return Health::Damaged(format!("`{name}` changed after publishing")),
                Err(e) => return Health::Damaged(format!("`{name}` cannot be read: {e}")),
            }
        }
    }
    Health::Intact
}

/// Makes every file under `dir` read-only: published results are not
/// edited in place by accident (deleting the entry still works).
pub fn seal(dir: &Path) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            seal(&e.path())?;
        } else {
            let mut perm = e.metadata()?.permissions();
            perm.set_readonly(true);
            std::fs::set_permissions(e.path(), perm)?;
        }
    }
    Ok(())
}
