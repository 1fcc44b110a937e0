//! The content-addressed artifact store.
//!
//! Layout under the store root (default `.lotto/` in the workspace):
//! - `objects/KEY/` — a published step: artifacts plus `step.yaml`. An entry
//!   is published iff its directory exists under `objects/`; it only gets
//!   there by one atomic rename of a complete staging directory whose record
//!   was written and synced last.
//! - `staging/KEY/` — the private working directory of a running step; its
//!   `checkpoints/` survive a kill so a rerun resumes from them.
//! - `locks/KEY.lock` — per-key OS file locks (released by the kernel when
//!   their process dies: no stale locks, no unlock command).
//! - `names/RECIPE/STEP.json` — the last key parts of each named step, so
//!   `lotto plan` can say what changed.
//! - `digests.json` — the file digest cache.

use crate::integrity::{self, Depth, Health};
use crate::key_parts::KeyParts;
use crate::record::{Record, RECORD, RECORD_DIGEST};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The store-wide lock's name under `locks/` (keys are hex, so it cannot
/// clash with one).
const STORE_LOCK: &str = "store";

pub struct Store {
    pub root: PathBuf,
}

/// A held per-key lock; dropping it (or the process dying) releases it.
pub struct KeyLock {
    _file: File,
}

impl Store {
    pub fn open(root: &Path) -> std::io::Result<Store> {
        for d in ["objects", "staging", "locks", "names", "content"] {
            fs::create_dir_all(root.join(d))?;
        }
        Ok(Store {
            root: root.to_path_buf(),
        })
    }
    /// A store that may not exist, only to be read: nothing is created,
    /// and an absent one reads as empty.
    pub fn view(root: &Path) -> Store {
        Store {
            root: root.to_path_buf(),
        }
    }
    /// The entry published for a content key (see
    /// [`crate::key_parts::KeyParts::content_key`]), if one was.
    pub fn content_alias(&self, content_key: &str) -> Option<String> {
        let k = fs::read_to_string(self.root.join("content").join(content_key)).ok()?;
        let k = k.trim().to_string();
        (!k.is_empty()).then_some(k)
    }
    /// An intact entry other than `key` that holds the result for
    /// `content_key`: what a step under `key` may reuse instead of running.
    pub fn reusable(&self, content_key: &str, key: &str) -> Option<String> {
        self.content_alias(content_key)
            .filter(|k| k != key && self.is_intact(k))
    }
    /// Remembers that `key` holds the result for `content_key`.
    pub fn set_content_alias(&self, content_key: &str, key: &str) -> std::io::Result<()> {
        let dir = self.root.join("content");
        fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!("{content_key}.tmp.{}", std::process::id()));
        fs::write(&tmp, key)?;
        fs::rename(tmp, dir.join(content_key))
    }
    /// Forgets content keys whose entry is gone (after `gc`); returns how
    /// many.
    pub fn prune_content_aliases(&self) -> usize {
        let Ok(dir) = fs::read_dir(self.root.join("content")) else {
            return 0;
        };
        dir.flatten()
            .filter(|e| {
                let stale = fs::read_to_string(e.path())
                    .map(|k| !self.is_published(k.trim()))
                    .unwrap_or(true);
                stale && fs::remove_file(e.path()).is_ok()
            })
            .count()
    }
    /// The identity of what the entry behind `key` (`KEY` or `KEY.PORT`)
    /// published, if it is published.
    pub fn identity(&self, key: &str) -> Option<String> {
        let (k, port) = match key.split_once('.') {
            Some((k, p)) => (k, p.parse().ok()?),
            None => (key, 0),
        };
        self.record(k)?.identity(port)
    }
    pub fn object(&self, key: &str) -> PathBuf {
        self.root.join("objects").join(key)
    }
    pub fn staging(&self, key: &str) -> PathBuf {
        self.root.join("staging").join(key)
    }
    /// Whether an entry was published under `key` (intact or not).
    pub fn is_published(&self, key: &str) -> bool {
        self.object(key).join(RECORD).is_file()
    }
    /// The state of the entry under `key`: absent, or what a check at
    /// `depth` finds.
    pub fn health(&self, key: &str, depth: Depth) -> Option<Health> {
        self.is_published(key)
            .then(|| integrity::check(&self.object(key), depth))
    }
    /// Whether the entry under `key` may be reused: published, and not
    /// damaged as far as a quick check can tell.
    pub fn is_intact(&self, key: &str) -> bool {
        matches!(
            self.health(key, Depth::Quick),
            Some(Health::Intact | Health::Unverified)
        )
    }
    /// Removes a damaged entry so it can be computed again; the caller
    /// holds its lock.
    pub fn discard(&self, key: &str) -> std::io::Result<()> {
        let aside = self
            .root
            .join("staging")
            .join(format!("{key}.damaged.{}", std::process::id()));
        fs::rename(self.object(key), &aside)?;
        fs::remove_dir_all(aside)
    }
    pub fn record(&self, key: &str) -> Option<Record> {
        let text = fs::read_to_string(self.object(key).join(RECORD)).ok()?;
        serde_yaml::from_str(&text).ok()
    }

    fn lock_file(&self, name: &str) -> std::io::Result<File> {
        File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.root.join("locks").join(format!("{name}.lock")))
    }
    /// Blocks until this process holds the lock of `key`.
    pub fn lock(&self, key: &str) -> std::io::Result<KeyLock> {
        let f = self.lock_file(key)?;
        f.lock()?;
        Ok(KeyLock { _file: f })
    }
    /// Takes the lock if free (`None` if another process holds it).
    pub fn try_lock(&self, key: &str) -> std::io::Result<Option<KeyLock>> {
        let f = self.lock_file(key)?;
        match f.try_lock() {
            Ok(()) => Ok(Some(KeyLock { _file: f })),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
    }
    /// Held by every process that runs steps on this store, shared: `lotto
    /// gc` takes it exclusively, so it never deletes what a run reads or
    /// has just published.
    pub fn lock_shared(&self) -> std::io::Result<KeyLock> {
        let f = self.lock_file(STORE_LOCK)?;
        f.lock_shared()?;
        Ok(KeyLock { _file: f })
    }
    /// The store to itself (`None` while a run holds it shared).
    pub fn try_lock_exclusive(&self) -> std::io::Result<Option<KeyLock>> {
        self.try_lock(STORE_LOCK)
    }

    /// Prepares the staging directory of `key` (caller holds its lock):
    /// leftovers of a killed run are removed, except its checkpoints.
    pub fn prepare_staging(&self, key: &str) -> std::io::Result<PathBuf> {
        let dir = self.staging(key);
        if dir.exists() {
            for e in fs::read_dir(&dir)? {
                let e = e?;
                if e.file_name() != "checkpoints" {
                    let p = e.path();
                    if p.is_dir() {
                        fs::remove_dir_all(&p)?;
                    } else {
                        fs::remove_file(&p)?;
                    }
                }
            }
        }
        fs::create_dir_all(dir.join("checkpoints"))?;
        Ok(dir)
    }

    /// Publishes a staged step: drop its checkpoints, record every file's
    /// size and digest, write and sync the record and its digest last, make
    /// the files read-only, then one atomic rename into `objects/`. With
    /// `replace` (`--force`), an existing entry is moved aside first and
    /// deleted after.
    pub fn publish(&self, key: &str, record: &Record, replace: bool) -> std::io::Result<PathBuf> {
        let dir = self.staging(key);
        let ck = dir.join("checkpoints");
        if ck.exists() {
            fs::remove_dir_all(&ck)?;
        }
        let record = Record {
            artifacts: integrity::digest_tree(&dir)?,
            ..record.clone()
        };
        sync_tree(&dir)?;
        let text = serde_yaml::to_string(&record).map_err(std::io::Error::other)?;
        write_synced(&dir.join(format!("{RECORD}.tmp")), text.as_bytes())?;
        fs::rename(dir.join(format!("{RECORD}.tmp")), dir.join(RECORD))?;
        let digest = blake3::hash(text.as_bytes()).to_hex().to_string();
        write_synced(&dir.join(RECORD_DIGEST), digest.as_bytes())?;
        integrity::seal(&dir)?;
        File::open(&dir)?.sync_all()?;
        let dest = self.object(key);
        let mut old = None;
        if dest.exists() {
            if !replace {
                // Someone published it meanwhile (only possible without the
                // lock): keep theirs, drop ours.
                fs::remove_dir_all(&dir)?;
                return Ok(dest);
            }
            let aside = self
                .root
                .join("staging")
                .join(format!("{key}.old.{}", std::process::id()));
            fs::rename(&dest, &aside)?;
            old = Some(aside);
        }
        fs::rename(&dir, &dest)?;
        File::open(self.root.join("objects"))?.sync_all()?;
        if let Some(o) = old {
            let _ = fs::remove_dir_all(o);
        }
        Ok(dest)
    }

    fn names_file(&self, recipe: &str, step: &str) -> PathBuf {
        self.root
            .join("names")
            .join(sanitize(recipe))
            .join(format!("{}.json", sanitize(step)))
    }
    /// Remembers the key parts a named step last ran with. A resume finds
    /// most of them unchanged, and reading a small file costs a fraction
    /// of writing and renaming one, so an unchanged file is left as it is.
    pub fn remember(&self, recipe: &str, step: &str, key: &str, parts: &KeyParts) {
        let f = self.names_file(recipe, step);
        let body = serde_json::json!({ "key": key, "parts": parts });
        let bytes = serde_json::to_vec_pretty(&body).unwrap_or_default();
        if fs::read(&f).is_ok_and(|old| old == bytes) {
            return;
        }
        let _ = fs::create_dir_all(f.parent().unwrap());
        let tmp = f.with_extension(format!("tmp.{}", std::process::id()));
        if fs::write(&tmp, bytes).is_ok() {
            let _ = fs::rename(&tmp, &f);
        }
    }
    /// The key and parts a named step last ran with, if any.
    pub fn last(&self, recipe: &str, step: &str) -> Option<(String, KeyParts)> {
        let v: serde_json::Value =
            serde_json::from_slice(&fs::read(self.names_file(recipe, step)).ok()?).ok()?;
        Some((
            v["key"].as_str()?.to_string(),
            serde_json::from_value(v["parts"].clone()).ok()?,
        ))
    }
    /// Every published key.
    pub fn keys(&self) -> Vec<String> {
        let mut out: Vec<String> = fs::read_dir(self.root.join("objects"))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }
    /// Size in bytes of a published entry.
    pub fn size(&self, key: &str) -> u64 {
        dir_size(&self.object(key))
    }
    pub fn remove(&self, key: &str) -> std::io::Result<()> {
        let lock = self.try_lock(key)?;
        if lock.is_none() {
            return Err(std::io::Error::other("in use by a running lotto"));
        }
        let aside = self
            .root
            .join("staging")
            .join(format!("{key}.gc.{}", std::process::id()));
        fs::rename(self.object(key), &aside)?;
        fs::remove_dir_all(aside)?;
        // Its Slurm job's script, record and logs go with it.
        let _ = fs::remove_dir_all(self.root.join("logs").join(key));
        for ext in ["json", "sh"] {
            let _ = fs::remove_file(self.root.join("slurm").join(format!("{key}.{ext}")));
        }
        Ok(())
    }
}

fn dir_size(p: &Path) -> u64 {
    fs::read_dir(p)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| {
                    let m = e.metadata().ok();
                    match m {
                        Some(m) if m.is_dir() => dir_size(&e.path()),
                        Some(m) => m.len(),
                        None => 0,
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn sync_tree(dir: &Path) -> std::io::Result<()> {
    for e in fs::read_dir(dir)? {
        let e = e?;
        let p = e.path();
        if e.file_type()?.is_dir() {
            sync_tree(&p)?;
        } else {
            File::open(&p)?.sync_all()?;
        }
    }
    File::open(dir)?.sync_all()
}

/// A file-name-safe form of a recipe path or step name.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.=,[]".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// UTC time as RFC 3339, for records (never part of a key).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembering_unchanged_parts_leaves_the_file_and_changed_parts_replace_it() {
        use std::os::unix::fs::MetadataExt;
        let t = tempfile::tempdir().unwrap();
        let s = Store::open(t.path()).unwrap();
        let parts = KeyParts {
            op: "take".into(),
            ..Default::default()
        };
        s.remember("r.lotto", "a", "k1", &parts);
        let inode = || fs::metadata(s.names_file("r.lotto", "a")).unwrap().ino();
        let first = inode();
        s.remember("r.lotto", "a", "k1", &parts);
        assert_eq!(inode(), first, "an unchanged file was written again");
        let changed = KeyParts {
            op_version: 2,
            ..parts
        };
        s.remember("r.lotto", "a", "k2", &changed);
        assert_ne!(inode(), first, "a change is written by rename");
        assert_eq!(s.last("r.lotto", "a"), Some(("k2".into(), changed)));
    }

    #[test]
    fn publish_is_atomic_and_checkpoints_survive_prepare() {
        let t = tempfile::tempdir().unwrap();
        let s = Store::open(t.path()).unwrap();
        let _l = s.lock("k1").unwrap();
        let st = s.prepare_staging("k1").unwrap();
        fs::write(st.join("checkpoints/epoch1"), b"x").unwrap();
        fs::write(st.join("half"), b"x").unwrap();
        assert!(!s.is_published("k1"));
        let st = s.prepare_staging("k1").unwrap();
        assert!(st.join("checkpoints/epoch1").exists());
        assert!(!st.join("half").exists());
        fs::write(st.join("out.bin"), b"data").unwrap();
        s.publish(
            "k1",
            &Record {
                key: "k1".into(),
                ..Default::default()
            },
            false,
        )
        .unwrap();
        assert!(s.is_published("k1"));
        assert!(!s.object("k1").join("checkpoints").exists());
        assert_eq!(s.record("k1").unwrap().key, "k1");
    }

    #[test]
    fn lock_excludes_second_holder() {
        let t = tempfile::tempdir().unwrap();
        let s = Store::open(t.path()).unwrap();
        let l = s.lock("k").unwrap();
        assert!(s.try_lock("k").unwrap().is_none());
        drop(l);
        assert!(s.try_lock("k").unwrap().is_some());
    }

    #[test]
    fn rfc3339_shape() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 20);
        assert!(t.starts_with("20"));
    }
}
