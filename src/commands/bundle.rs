//! `lotto bundle`: packs the recipe, its imports and its lock (and with
//! `--with-data` the data it reads) into a deterministic tar.gz that a
//! colleague unpacks and runs, confined to its folder.

use crate::app::App;
use crate::cli::{Format, RecipeArgs};
use crate::error::{CmdResult, Fail};
use crate::lockfile;
use lotto_interpreter::paths::BUNDLE_MARKER;
use std::collections::BTreeSet;
use std::path::Path;

/// What `lotto bundle` writes as `lotto-bundle.yaml`: marks the unpacked
/// folder as a bundle (confined runs) and tells the colleague what to map.
#[derive(serde::Serialize)]
struct BundleInfo {
    lotto: String,
    recipe: String,
    lock: String,
    with_data: bool,
    /// The data paths the recipe names: map each with `--data NAME=PATH`
    /// when the bundle carries no data.
    data_paths: Vec<String>,
    files: Vec<String>,
}

pub fn run(app: &App, r: &RecipeArgs, out: &Path, with_data: bool) -> CmdResult {
    let c = app.check(r, Format::Text)?;
    let store = app.open_store()?;
    let parts = app.keys(&c, &store)?;
    let lock_file = lockfile::path(app, &r.file);
    if !lock_file.is_file() {
        return Err(Fail::usage(format!(
            "`{}` has no lock: run `lotto run {} --lock` (or `lotto lock`) first, so the bundle carries the results to reproduce",
            r.file.display(),
            r.file.display()
        )));
    }
    lockfile::enforce(app, &c, &parts, &store, &r.file)?;
    let ws = app.ws.canonicalize().unwrap_or(app.ws.clone());
    let rel = |p: &Path, what: &str| -> Result<String, Fail> {
        let full = if p.is_absolute() {
            p.to_path_buf()
        } else {
            ws.join(p)
        };
        let canon = full.canonicalize().unwrap_or(full.clone());
        canon
            .strip_prefix(&ws)
            .map(|x| x.display().to_string())
            .map_err(|_| {
                Fail::usage(format!(
                    "{what} `{}` is outside the workspace `{}`, so a bundle cannot carry it; move it into the workspace",
                    full.display(),
                    ws.display()
                ))
            })
    };
    let mut files: BTreeSet<String> = BTreeSet::new();
    for f in &c.files {
        files.insert(rel(f, "recipe")?);
    }
    files.insert(rel(&lock_file, "lock")?);
    let mut data_paths = BTreeSet::new();
    for s in &c.steps {
        data_paths.extend(app.data_paths(s).into_iter().map(str::to_string));
        if with_data {
            let op = app.reg.get(s.op).expect("checked op");
            let reads = op
                .reads(&s.args, &app.ws)
                .map_err(|e| Fail::usage(format!("step `{}`: {e}", s.name)))?;
            for (full, _) in reads {
                files.insert(rel(&full, &format!("data of step `{}`", s.name))?);
            }
        }
    }
    let info = BundleInfo {
        lotto: env!("CARGO_PKG_VERSION").to_string(),
        recipe: app.recipe_rel(&r.file),
        lock: rel(&lock_file, "lock")?,
        with_data,
        data_paths: data_paths.into_iter().collect(),
        files: files.iter().cloned().collect(),
    };
    let marker = serde_yaml::to_string(&info).unwrap_or_default();
    write_tar_gz(out, &ws, &files, &marker)
        .map_err(|e| Fail::usage(format!("cannot write `{}`: {e}", out.display())))?;
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    println!(
        "wrote {}: {} file(s){}, {:.1} MB",
        out.display(),
        files.len() + 1,
        if with_data {
            " with data"
        } else {
            ", no data (map it with --data NAME=PATH)"
        },
        size as f64 / 1e6
    );
    Ok(())
}

/// A deterministic tar.gz: sorted paths, mtime 0, owner 0, mode 0644, so
/// bundling the same files twice gives the same bytes.
fn write_tar_gz(
    out: &Path,
    ws: &Path,
    files: &BTreeSet<String>,
    marker: &str,
) -> std::io::Result<()> {
    let tmp = out.with_extension(format!("tmp.{}", std::process::id()));
    let f = std::fs::File::create(&tmp)?;
    let gz = flate2::write::GzEncoder::new(f, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut add = |name: &str, bytes: &[u8]| -> std::io::Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, name, bytes)
    };
    add(BUNDLE_MARKER, marker.as_bytes())?;
    for name in files {
        add(name, &std::fs::read(ws.join(name))?)?;
    }
    let gz = tar.into_inner()?;
    gz.finish()?.sync_all()?;
    std::fs::rename(&tmp, out)
}
