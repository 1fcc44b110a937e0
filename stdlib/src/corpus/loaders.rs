//! Loaders for the paper's corpora in their published layouts:
//! LibriSpeech (`SPK/CHAP/SPK-CHAP-UTT.flac` + `SPK-CHAP.trans.txt`),
//! TED-LIUM (`sph/TALK.sph` + `stm/TALK.stm` segments) and Common Voice
//! (`clips/*.mp3` + `train.tsv`/`dev.tsv`/`test.tsv`).

use super::bad_files::{gather, unique_ids};
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

impl Source<'_> {
    /// How errors name this corpus's files.
    fn what(&self) -> String {
        format!(
            "the audio files of `{}`",
            Path::new(self.dir).join(self.split).display()
        )
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
    /// Why this file cannot be used although it is there (an audio file
    /// no transcript lists); it counts as a bad file.
    problem: Option<String>,
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
    let speakers: Vec<PathBuf> = read_dir_sorted(&base)?
        .into_iter()
        .filter(|p| p.is_dir())
        .collect();
    split_hint(src, &speakers)?;
    for spk in speakers {
        for chap in read_dir_sorted(&spk)?.into_iter().filter(|p| p.is_dir()) {
            let (s, c) = (
                spk.file_name().unwrap().to_string_lossy().to_string(),
                chap.file_name().unwrap().to_string_lossy().to_string(),
            );
            let trans = chap.join(format!("{s}-{c}.trans.txt"));
            let text = read_input_text(&trans, &shown(ws, &trans))?;
            let first = out.len();
            for (i, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let (id, words) = line.split_once(' ').ok_or_else(|| {
                    format!("{}:{}: expected `ID TRANSCRIPT`", shown(ws, &trans), i + 1)
                })?;
                out.push(Entry {
                    id: id.to_string(),
                    audio: chap.join(format!("{id}.flac")),
                    segment: None,
                    text: words.to_string(),
                    speaker: s.clone(),
                    at: format!("{}:{}", shown(ws, &trans), i + 1),
                    problem: None,
                });
            }
            // An audio file its transcript does not list is as bad as a
            // listed file that is missing: report it the same way.
            let listed: std::collections::HashSet<PathBuf> =
                out[first..].iter().map(|e| e.audio.clone()).collect();
            for f in read_dir_sorted(&chap)? {
                if f.extension().is_some_and(|e| e == "flac") && !listed.contains(&f) {
                    let at = shown(ws, &f);
                    out.push(Entry {
                        id: String::new(),
                        audio: f.clone(),
                        segment: None,
                        text: String::new(),
                        speaker: s.clone(),
                        problem: Some(format!(
                            "{at}: no line of `{}` gives its transcript",
                            shown(ws, &trans)
                        )),
                        at,
                    });
                }
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

/// LibriSpeech speaker folders are numbers; named folders under the corpus
/// folder are its splits, so `split:` was left out.
fn split_hint(src: &Source, speakers: &[PathBuf]) -> Result<(), String> {
    let names: Vec<String> = speakers
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| n.to_string_lossy().to_string())
        .collect();
    if !src.split.is_empty() || names.iter().all(|n| n.bytes().all(|b| b.is_ascii_digit())) {
        return Ok(());
    }
    Err(format!(
        "`{}` holds folders named {}, not speaker numbers: these look like LibriSpeech splits; pass `split: \"{}\"`",
        src.dir,
        names
            .iter()
            .take(4)
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", "),
        names[0]
    ))
}

fn tedlium_entries(src: &Source, ws: &Path) -> Result<Vec<Entry>, String> {
    let base = root(src, ws)?;
    let mut out = vec![];
    for stm in read_dir_sorted(&base.join("stm"))?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "stm"))
    {
        let text = read_input_text(&stm, &shown(ws, &stm))?;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with(";;") {
                continue;
            }
            let at = format!("{}:{}", shown(ws, &stm), i + 1);
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
                problem: None,
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
    let text = read_input_text(&tsv, &shown(ws, &tsv))?;
    let mut lines = text.lines().enumerate();
    let (_, header) = lines
        .next()
        .ok_or_else(|| format!("`{}` is empty", shown(ws, &tsv)))?;
    let cols: Vec<&str> = header.split('\t').collect();
    let col = |n: &str| cols.iter().position(|c| *c == n);
    let (pi, si) = (
        col("path").ok_or_else(|| format!("{}:1: no `path` column", shown(ws, &tsv)))?,
        col("sentence").ok_or_else(|| format!("{}:1: no `sentence` column", shown(ws, &tsv)))?,
    );
    let ci = col("client_id");
    let mut out = vec![];
    for (i, line) in lines.filter(|(_, l)| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let at = format!("{}:{}", shown(ws, &tsv), i + 1);
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
            problem: None,
        });
    }
    Ok(out)
}

/// A loader's entries, repeated ids refused.
fn listed(entries: Entries, src: &Source, ws: &Path) -> Result<Vec<Entry>, String> {
    let es = entries(src, ws)?;
    unique_ids(
        es.iter()
            .filter(|e| e.problem.is_none())
            .map(|e| (e.id.as_str(), e.at.as_str(), e.audio.to_str().unwrap_or(""))),
        &src.what(),
    )?;
    Ok(es)
}

fn missing(e: &Entry, ws: &Path) -> String {
    format!(
        "{}: audio file `{}` does not exist",
        e.at,
        shown(ws, &e.audio)
    )
}

/// A path as errors show it: relative to the workspace when inside it.
fn shown(ws: &Path, p: &Path) -> String {
    p.strip_prefix(ws).unwrap_or(p).display().to_string()
}

/// The audio files whose digests enter the key. A missing one cannot be
/// digested (all are reported); the rest of a corpus's bad files surface
/// when it is decoded.
fn reads_with(entries: Entries, src: &Source, ws: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let base = data_path(ws, src.dir)?;
    let found = listed(entries, src, ws)?.into_iter().map(|e| {
        if e.audio.is_file() {
            Ok(e.audio)
        } else {
            Err(missing(&e, ws))
        }
    });
    let (mut files, _) = gather(found, src.on_error, &src.what())?;
    files.sort();
    files.dedup();
    Ok(files
        .into_iter()
        .map(|f| {
            let name = f.strip_prefix(&base).unwrap_or(&f).display().to_string();
            (f, name)
        })
        .collect())
}

fn run_with(ctx: &mut RunCtx, entries: Entries, src: &Source) -> Result<(), String> {
    let es = listed(entries, src, ctx.workspace)?;
    let ws = ctx.workspace.to_path_buf();
    // Decode each usable audio file once (TED-LIUM talks hold many
    // segments).
    let mut files: Vec<PathBuf> = es
        .iter()
        .filter(|e| e.problem.is_none() && e.audio.is_file())
        .map(|e| e.audio.clone())
        .collect();
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
    // Every bad file of the corpus, whatever is wrong with it, is gathered
    // into one report.
    let checked = es.into_iter().map(|e| {
        if let Some(p) = e.problem {
            return Err(p);
        }
        let Some(length) = lengths.get(&e.audio) else {
            return Err(missing(&e, &ws));
        };
        let duration = match length {
            Err(err) => {
                let full = e.audio.display().to_string();
                return Err(format!(
                    "{}: {}",
                    e.at,
                    err.replace(&full, &shown(&ws, &e.audio))
                ));
            }
            Ok(len) => match e.segment {
                Some((_, end)) if end > *len + 0.01 => {
                    return Err(format!(
                        "{}: segment ends at {end:.2}s, beyond the end of `{}` ({len:.2}s)",
                        e.at,
                        e.audio.display()
                    ))
                }
                Some((s, end)) => end - s,
                None => *len,
            },
        };
        let (text, _) = crate::text::normalize(&e.text);
        let rel = e
            .audio
            .strip_prefix(&ws)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| e.audio.display().to_string());
        Ok(Utt {
            id: e.id,
            audio: rel,
            segment: e.segment,
            text,
            speaker: e.speaker,
            duration,
        })
    });
    let what = src.what();
    let (utts, skipped) = gather(checked, src.on_error, &what)?;
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
