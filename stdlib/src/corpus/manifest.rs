//! The `manifest` op: a corpus from a TSV/CSV or JSONL list of audio files
//! and transcripts.

use super::bad_files::{gather, unique_ids};
use super::on_error::OnError;
use super::utt::{hours, write_utts, Utt};
use crate::audio;
use crate::data_paths::{data_path, read_input_text, rel_to_ws};
use crate::op::{op, DATA_RESOURCES};
use crate::parallel::par_map_progress;
use crate::vocabulary::CORPUS;
use lotto_interpreter::run_ctx::RunCtx;
use lotto_interpreter::signature::Output;
use lotto_interpreter::types::PType;
use lotto_interpreter::Registry;
use std::path::{Path, PathBuf};

lotto_interpreter::op_args! {
    pub struct ManifestArgs {
        file: String = req(PType::Path, "the manifest file"),
        on_error: OnError = opt(PType::Enum(OnError::NAMES), OnError::Error, OnError::DOC),
    }
}

/// One manifest row: line number, audio path, transcript, speaker.
type Row = (usize, String, String, Option<String>);

/// The manifest's rows; two rows whose files give one utterance id are
/// refused here, naming both lines.
fn rows(a: &ManifestArgs, ws: &Path) -> Result<(PathBuf, Vec<Row>), String> {
    let file = data_path(ws, &a.file)?;
    let rows = parse(&file, &a.file)?;
    let ids: Vec<(String, String)> = rows
        .iter()
        .map(|(line, p, _, _)| (utt_id(p, *line), format!("{}:{line}", a.file)))
        .collect();
    unique_ids(
        ids.iter()
            .zip(&rows)
            .map(|((id, at), r)| (id.as_str(), at.as_str(), r.1.as_str())),
        &format!("`{}`", a.file),
    )?;
    Ok((file, rows))
}

/// An utterance's id: its audio file's name without the extension.
fn utt_id(path: &str, line: usize) -> String {
    Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| format!("line{line}"))
}

/// The rows of the manifest `file`, shown in errors as `shown`.
fn parse(file: &Path, shown: &str) -> Result<Vec<Row>, String> {
    let text = read_input_text(file, shown).map_err(|e| format!("manifest: {e}"))?;
    let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ext == "jsonl" {
        return parse_jsonl(&text, shown);
    }
    let sep = if ext == "csv" { ',' } else { '\t' };
    let mut lines = text.lines().enumerate();
    let (_, header) = lines
        .next()
        .ok_or_else(|| format!("manifest `{shown}` is empty"))?;
    let cols: Vec<&str> = header.split(sep).map(str::trim).collect();
    let find = |names: &[&str]| cols.iter().position(|c| names.contains(c));
    let need = |names: &[&str], what: &str| {
        find(names).ok_or_else(|| {
            format!(
                "{shown}:1: header needs a `{what}` column (found: {})",
                cols.join(", ")
            )
        })
    };
    let pi = need(&["path", "audio", "file"], "path")?;
    let ti = need(&["transcript", "text", "sentence"], "transcript")?;
    let si = find(&["speaker", "client_id"]);
    let mut rows = vec![];
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(sep).collect();
        if f.len() <= pi.max(ti) {
            return Err(format!(
                "{shown}:{}: expected {} columns, found {}",
                i + 1,
                cols.len(),
                f.len()
            ));
        }
        rows.push((
            i + 1,
            f[pi].to_string(),
            f[ti].to_string(),
            si.and_then(|s| f.get(s)).map(|s| s.to_string()),
        ));
    }
    Ok(rows)
}

fn parse_jsonl(text: &str, shown: &str) -> Result<Vec<Row>, String> {
    let mut rows = vec![];
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let at = format!("{shown}:{}", i + 1);
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("{at}: not JSON: {e}"))?;
        let path = v["audio"]
            .as_str()
            .or(v["path"].as_str())
            .ok_or_else(|| format!("{at}: no `audio` or `path` field"))?;
        let tr = v["text"]
            .as_str()
            .or(v["transcript"].as_str())
            .ok_or_else(|| format!("{at}: no `text` or `transcript` field"))?;
        rows.push((
            i + 1,
            path.to_string(),
            tr.to_string(),
            v["speaker"].as_str().map(str::to_string),
        ));
    }
    Ok(rows)
}

fn reads(a: &ManifestArgs, ws: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let (file, rows) = rows(a, ws)?;
    let dir = file.parent().unwrap_or(ws).to_path_buf();
    let name = file
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string();
    let audio = rows.into_iter().map(|(line, p, _, _)| {
        let full = dir.join(&p);
        if full.is_file() {
            Ok((full, p))
        } else {
            Err(format!(
                "{}:{line}: audio file `{p}` does not exist",
                a.file
            ))
        }
    });
    let (found, _) = gather(
        audio,
        a.on_error,
        &format!("the audio files of `{}`", a.file),
    )?;
    Ok(std::iter::once((file.clone(), name)).chain(found).collect())
}

fn run(ctx: &mut RunCtx, a: &ManifestArgs) -> Result<(), String> {
    let (file, rows) = rows(a, ctx.workspace)?;
    let dir = file.parent().unwrap_or(ctx.workspace).to_path_buf();
    let ws = ctx.workspace;
    let label = format!("{} decode", ctx.step_name);
    let results: Vec<Result<Utt, String>> =
        par_map_progress(ctx.progress, &label, &rows, |(line, p, tr, spk)| {
            let full = dir.join(p);
            let x = audio::load(&full, None).map_err(|e| format!("{}:{line}: {e}", a.file))?;
            let (text, _) = crate::text::normalize(tr);
            Ok(Utt {
                id: utt_id(p, *line),
                audio: rel_to_ws(ws, &full),
                segment: None,
                text,
                speaker: spk.clone().unwrap_or_else(|| "unknown".into()),
                duration: x.len() as f64 / audio::RATE as f64,
            })
        });
    let (utts, skipped) = gather(
        results,
        a.on_error,
        &format!("the audio files of `{}`", a.file),
    )?;
    if utts.is_empty() {
        return Err(format!("manifest `{}` yields no usable utterance", a.file));
    }
    let dropped: usize = rows.iter().map(|r| crate::text::normalize(&r.2).1).sum();
    ctx.metric("utterances", utts.len() as u64);
    ctx.metric("skipped", skipped);
    ctx.metric("chars_dropped", dropped as u64);
    ctx.metric("hours", hours(&utts));
    write_utts(ctx.out, &utts)
}

pub fn register(r: &mut Registry) {
    r.add(
        op::<ManifestArgs>("manifest", "Corpora", 2, Output::One(CORPUS), "A corpus from a TSV/CSV (header with `path` and `transcript`, optional `speaker`) or JSONL manifest; audio paths are relative to the manifest's folder.")
            .run(run)
            .reads(reads)
            .resources(DATA_RESOURCES),
    );
}
