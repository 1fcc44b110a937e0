//! Content digests of input files, cached by (path, size, mtime, inode) so a
//! no-op resume re-reads no audio. The stamp is a fast path, not a proof:
//! an edit that keeps size, mtime and inode passes it, so `lotto lock` and
//! `lotto verify` open the cache [`DigestCache::rehashing`] and read every
//! file again.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    size: u64,
    mtime_ns: i128,
    inode: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Entry {
    stamp: Stamp,
    digest: String,
}

/// The digest cache of one store; saved as `digests.json` (JSON: it is
/// machine-only state and parses much faster than YAML at resume time).
pub struct DigestCache {
    path: PathBuf,
    entries: Mutex<BTreeMap<PathBuf, Entry>>,
    dirty: Mutex<bool>,
    /// Whether an unchanged stamp stands for unchanged contents.
    trust_stamps: bool,
}

fn stamp(meta: &std::fs::Metadata) -> Stamp {
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let inode = 0;
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0);
    Stamp {
        size: meta.len(),
        mtime_ns,
        inode,
    }
}

/// BLAKE3 of a file's bytes, hex.
pub fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().to_hex().to_string())
}

impl DigestCache {
    pub fn open(path: &Path) -> Self {
        let entries = std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        DigestCache {
            path: path.to_path_buf(),
            entries: Mutex::new(entries),
            dirty: Mutex::new(false),
            trust_stamps: true,
        }
    }

    /// The cache at `path`, hashing every file again (and refreshing the
    /// cache with what it finds).
    pub fn rehashing(path: &Path) -> Self {
        DigestCache {
            trust_stamps: false,
            ..DigestCache::open(path)
        }
    }

    /// Digest of `file` (absolute path), from the cache when its stamp is
    /// unchanged.
    pub fn digest(&self, file: &Path) -> std::io::Result<String> {
        let meta = std::fs::metadata(file)?;
        // A folder has no digest; a device or pipe could be read forever.
        if meta.is_dir() {
            return Err(std::io::Error::other("is a folder, not a file"));
        }
        if !meta.is_file() {
            return Err(std::io::Error::other(
                "is not a regular file (a device, pipe or socket)",
            ));
        }
        let st = stamp(&meta);
        if let Some(e) = self.entries.lock().unwrap().get(file) {
            if self.trust_stamps && e.stamp == st {
                return Ok(e.digest.clone());
            }
        }
        let digest = hash_file(file)?;
        self.entries.lock().unwrap().insert(
            file.to_path_buf(),
            Entry {
                stamp: st,
                digest: digest.clone(),
            },
        );
        *self.dirty.lock().unwrap() = true;
        Ok(digest)
    }

    /// Writes the cache back if it changed (atomically: temp file + rename).
    pub fn save(&self) {
        if !*self.dirty.lock().unwrap() {
            return;
        }
        let tmp = self
            .path
            .with_extension(format!("tmp.{}", std::process::id()));
        let data = serde_json::to_vec(&*self.entries.lock().unwrap()).unwrap_or_default();
        if std::fs::write(&tmp, data).is_ok() {
            let _ = std::fs::rename(&tmp, &self.path);
        }
    }
}
