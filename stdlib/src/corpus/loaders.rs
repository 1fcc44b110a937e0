//! Loaders for the paper's corpora in their published layouts:
//! LibriSpeech (`SPK/CHAP/SPK-CHAP-UTT.flac` + `SPK-CHAP.trans.txt`),
//! TED-LIUM (`sph/TALK.sph` + `stm/TALK.stm` segments) and Common Voice
//! (`clips/*.mp3` + `train.tsv`/`dev.tsv`/`test.tsv`).

use super::on_error::OnError;
use super::utt::{hours, write_utts, Utt};
use crate::audio;
use crate::data_paths::{data_path, read_input_text};
use crate::op::{op, DATA_RESOURCES};
use crate::parallel::par_map_progress;
use crate::vocabulary::CORPUS;
use lotto_interpreter::run_ctx::RunCtx;
use lotto_interpreter::signature::Output;
use lotto_interpreter::types::PType;
use lotto_interpreter::value::Value;
use lotto_interpreter::Registry;
use std::path::{Path, PathBuf};

const ON_ERROR_DOC: &str = "what to do with a missing or undecodable audio file or a bad segment";

lotto_interpreter::op_args! {
    /// `librispeech(dir, split: "train-clean-100")`, `tedlium(dir, split: "train")`.
    pub struct FolderArgs {
        dir: String = req(PType::Path, "the corpus folder"),
        split: String = opt(PType::Str, Value::Str(String::new()), "subfolder, e.g. \"train-clean-100\" (LibriSpeech) or \"train\" (TED-LIUM)"),
        on_error: OnError = opt(PType::Enum(OnError::NAMES), OnError::Error, ON_ERROR_DOC),
    }
}

lotto_interpreter::op_args! {
    /// `commonvoice(dir, split: "dev")`.
    pub struct ListArgs {
        dir: String = req(PType::Path, "the corpus folder"),
        split: String = opt(PType::Str, Value::Str("train".into()), "which list: \"train\", \"dev\" or \"test\" (DIR/SPLIT.tsv)"),
        on_error: OnError = opt(PType::Enum(OnError::NAMES), OnError::Error, ON_ERROR_DOC),
    }
}

/// The arguments every loader reads its entries from.
struct Source<'a> {
    dir: &'a str,
    split: &'a str,
    on_error: OnError,
}

impl<'a> From<&'a FolderArgs> for Source<'a> {
    fn from(a: &'a FolderArgs) -> Self {
        Source {
            dir: &a.dir,
            split: &a.split,
            on_error: a.on_error,
        }
    }
}

impl<'a> From<&'a ListArgs> for Source<'a> {
    fn from(a: &'a ListArgs) -> Self {
        Source {
            dir: &a.dir,
            split: &a.split,
            on_error: a.on_error,
        }
    }
}

type Entries = fn(&Source, &Path) -> Result<Vec<Entry>, String>;

/// An utterance before decoding: id, audio file, segment, text, speaker,
/// and where it was declared (file:line) for error messages.
struct Entry {
    id: String,
    audio: PathBuf,
    segment: Option<(f64, f64)>,
    text: String,
    speaker: String,
    at: String,
}

fn root(src: &Source, ws: &Path) -> Result<PathBuf, String> {
    let dir = data_path(ws, src.dir)?;
    Ok(match src.split {
        "" => dir,
        s => dir.join(s),
    })
}

fn read_dir_sorted(d: &Path) -> Result<Vec<PathBuf>, String> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(d)
        .map_err(|e| format!("cannot read `{}`: {e}", d.display()))?
        .flatten()
        .map(|e| e.path())
        .collect();
    v.sort();
    Ok(v)
}

fn librispeech_entries(src: &Source, ws: &Path) -> Result<Vec<Entry>, String> {
    let base = root(src, ws)?;
    let mut out = vec![];
    for spk in read_dir_sorted(&base)?.into_iter().filter(|p| p.is_dir()) {
        for chap in read_dir_sorted(&spk)?.into_iter().filter(|p| p.is_dir()) {
            let (s, c) = (
                spk.file_name().unwrap().to_string_lossy().to_string(),
                chap.file_name().unwrap().to_string_lossy().to_string(),
            );
            let trans = chap.join(format!("{s}-{c}.trans.txt"));
            let text = read_input_text(&trans, &trans.display().to_string())?;
            for (i, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let (id, words) = line.split_once(' ').ok_or_else(|| {
                    format!("{}:{}: expected `ID TRANSCRIPT`", trans.display(), i + 1)
                })?;
                out.push(Entry {
                    id: id.to_string(),
                    audio: chap.join(format!("{id}.flac")),
                    segment: None,
                    text: words.to_string(),
                    speaker: s.clone(),
                    at: format!("{}:{}", trans.display(), i + 1),
                });
            }
        }
    }
    if out.is_empty() {
        return Err(format!(
            "no LibriSpeech transcripts under `{}` (expected SPK/CHAP/SPK-CHAP.trans.txt)",
            base.display()
        ));
    }
    Ok(out)
}

fn tedlium_entries(src: &Source, ws: &Path) -> Result<Vec<Entry>, String> {
    let base = root(src, ws)?;
    let mut out = vec![];
    for stm in read_dir_sorted(&base.join("stm"))?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "stm"))
    {
        let text = read_input_text(&stm, &stm.display().to_string())?;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with(";;") {
                continue;
            }
            let at = format!("{}:{}", stm.display(), i + 1);
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 6 {
                return Err(format!(
                    "{at}: expected `TALK CHANNEL SPEAKER START END <LABEL> TEXT`"
                ));
            }
            let (start, end): (f64, f64) = (
                f[3].parse()
                    .map_err(|_| format!("{at}: start `{}` is not a number", f[3]))?,
                f[4].parse()
                    .map_err(|_| format!("{at}: end `{}` is not a number", f[4]))?,
            );
            if end <= start {
                return Err(format!(
                    "{at}: segment ends ({end}) before it starts ({start})"
                ));
            }
            let words = f[6..].join(" ");
            if words.contains("ignore_time_segment_in_scoring") {
                continue;
            }
            let words = words
                .split_whitespace()
                .filter(|w| *w != "<unk>")
                .collect::<Vec<_>>()
                .join(" ");
            out.push(Entry {
                id: format!("{}-{:07.2}-{:07.2}", f[0], start, end),
                audio: base.join("sph").join(format!("{}.sph", f[0])),
                segment: Some((start, end)),
                text: words,
                speaker: f[2].to_string(),
                at,
            });
        }
    }
    if out.is_empty() {
        return Err(format!(
            "no TED-LIUM segments under `{}` (expected stm/*.stm and sph/*.sph)",
            base.display()
        ));
    }
    Ok(out)
}

fn commonvoice_entries(src: &Source, ws: &Path) -> Result<Vec<Entry>, String> {
    let dir = data_path(ws, src.dir)?;
    let tsv = dir.join(format!("{}.tsv", src.split));
    let text = read_input_text(&tsv, &tsv.display().to_string())?;
    let mut lines = text.lines().enumerate();
    let (_, header) = lines
        .next()
        .ok_or_else(|| format!("`{}` is empty", tsv.display()))?;
    let cols: Vec<&str> = header.split('\t').collect();
    let col = |n: &str| cols.iter().position(|c| *c == n);
    let (pi, si) = (
        col("path").ok_or_else(|| format!("{}:1: no `path` column", tsv.display()))?,
        col("sentence").ok_or_else(|| format!("{}:1: no `sentence` column", tsv.display()))?,
    );
    let ci = col("client_id");
    let mut out = vec![];
    for (i, line) in lines.filter(|(_, l)| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let at = format!("{}:{}", tsv.display(), i + 1);
        if f.len() <= pi.max(si) {
            return Err(format!(
                "{at}: expected {} columns, found {}",
                cols.len(),
                f.len()
            ));
        }
        let id = Path::new(f[pi])
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        out.push(Entry {
            id,
            audio: dir.join("clips").join(f[pi]),
            segment: None,
            text: f[si].to_string(),
            speaker: ci.and_then(|c| f.get(c)).unwrap_or(&"unknown").to_string(),
            at,
        });
    }
    Ok(out)
}

fn reads_with(entries: Entries, src: &Source, ws: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let base = data_path(ws, src.dir)?;
    let es = entries(src, ws)?;
    let mut files: Vec<PathBuf> = es.iter().map(|e| e.audio.clone()).collect();
    files.sort();
    files.dedup();
    let skip = src.on_error == OnError::Skip;
    let mut out = vec![];
    for f in files {
        if !f.is_file() {
            if skip {
                continue;
            }
            let at = es
                .iter()
                .find(|e| e.audio == f)
                .map(|e| e.at.clone())
                .unwrap_or_default();
            return Err(format!(
                "{at}: audio file `{}` does not exist (or pass `on_error: skip`)",
                f.display()
            ));
        }
        let name = f.strip_prefix(&base).unwrap_or(&f).display().to_string();
        out.push((f, name));
    }
    Ok(out)
}

fn run_with(ctx: &mut RunCtx, entries: Entries, src: &Source) -> Result<(), String> {
    let es = entries(src, ctx.workspace)?;
    let skip = src.on_error == OnError::Skip;
    let ws = ctx.workspace.to_path_buf();
    // Decode each audio file once (TED-LIUM talks hold many segments).
    let mut files: Vec<PathBuf> = es.iter().map(|e| e.audio.clone()).collect();
    files.sort();
    files.dedup();
    let label = format!("{} decode", ctx.step_name);
    let lengths: std::collections::BTreeMap<PathBuf, Result<f64, String>> =
        par_map_progress(ctx.progress, &label, &files, |f| {
            (
                f.clone(),
                audio::load(f, None).map(|x| x.len() as f64 / audio::RATE as f64),
            )
        })
        .into_iter()
        .collect();
    let mut utts = vec![];
    let mut skipped = 0u64;
    for e in es {
        let check = match &lengths[&e.audio] {
            Err(err) => Err(format!("{}: {err}", e.at)),
            Ok(len) => match e.segment {
                Some((_, end)) if end > *len + 0.01 => Err(format!(
                    "{}: segment ends at {end:.2}s, beyond the end of `{}` ({len:.2}s)",
                    e.at,
                    e.audio.display()
                )),
                Some((s, end)) => Ok(end - s),
                None => Ok(*len),
            },
        };
        match check {
            Ok(duration) => {
                let (text, _) = crate::text::normalize(&e.text);
                let rel = e
                    .audio
                    .strip_prefix(&ws)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| e.audio.display().to_string());
                utts.push(Utt {
                    id: e.id,
                    audio: rel,
                    segment: e.segment,
                    text,
                    speaker: e.speaker,
                    duration,
                });
            }
            Err(err) if skip => {
                tracing::warn!("skipped: {err}");
                skipped += 1;
            }
            Err(err) => return Err(format!("{err} (or pass `on_error: skip`)")),
        }
    }
    ctx.metric("utterances", utts.len() as u64);
    ctx.metric("skipped", skipped);
    ctx.metric("hours", hours(&utts));
    write_utts(ctx.out, &utts)
}

pub fn register(r: &mut Registry) {
    r.add(
        op::<FolderArgs>(
            "librispeech",
            "Corpora",
            2,
            Output::One(CORPUS),
            "LibriSpeech: `DIR/SPLIT/SPK/CHAP/SPK-CHAP-UTT.flac` with `SPK-CHAP.trans.txt`.",
        )
        .run(|ctx, a| run_with(ctx, librispeech_entries, &a.into()))
        .reads(|a, ws| reads_with(librispeech_entries, &a.into(), ws))
        .resources(DATA_RESOURCES),
    );
    r.add(
        op::<FolderArgs>("tedlium", "Corpora", 2, Output::One(CORPUS), "TED-LIUM: `DIR/SPLIT/sph/TALK.sph` with `DIR/SPLIT/stm/TALK.stm`; each stm line is a segment of the talk; `ignore_time_segment_in_scoring` segments are dropped.")
            .run(|ctx, a| run_with(ctx, tedlium_entries, &a.into()))
            .reads(|a, ws| reads_with(tedlium_entries, &a.into(), ws))
            .resources(DATA_RESOURCES),
    );
    r.add(
        op::<ListArgs>("commonvoice", "Corpora", 2, Output::One(CORPUS), "Common Voice: `DIR/clips/*.mp3` listed in `DIR/train.tsv` / `dev.tsv` / `test.tsv` (header with `path` and `sentence`; `client_id` is the speaker).")
            .run(|ctx, a| run_with(ctx, commonvoice_entries, &a.into()))
            .reads(|a, ws| reads_with(commonvoice_entries, &a.into(), ws))
            .resources(DATA_RESOURCES),
    );
}
