//! Corpora: the typed list of utterances a Corpus step publishes
//! (`utts.jsonl`), the manifest loader, speaker-disjoint splits, filters,
//! noise banks and noise mixing.

use crate::audio;
use crate::op::*;
use crate::rng::Rng;
use lotto_interpreter::registry::{Output, PType, RunCtx};
use lotto_interpreter::value::{Args, StepType, Value};
use lotto_interpreter::{Param, Registry};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One utterance. `audio` is a workspace-relative or absolute path, or
/// `store:KEY/...` for audio a step wrote into the store.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Utt {
    pub id: String,
    pub audio: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<(f64, f64)>,
    pub text: String,
    pub speaker: String,
    pub duration: f64,
}

pub fn write_utts(dir: &Path, utts: &[Utt]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let mut s = String::new();
    for u in utts {
        s.push_str(&serde_json::to_string(u).map_err(|e| e.to_string())?);
        s.push('\n');
    }
    std::fs::write(dir.join("utts.jsonl"), s).map_err(|e| e.to_string())
}

pub fn read_utts(dir: &Path) -> Result<Vec<Utt>, String> {
    let p = dir.join("utts.jsonl");
    let s = std::fs::read_to_string(&p)
        .map_err(|e| format!("corpus artifact `{}`: {e}", p.display()))?;
    s.lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| format!("`{}`: {e}", p.display())))
        .collect()
}

/// Decodes one utterance's audio at 16 kHz.
pub fn load_audio(u: &Utt, ws: &Path, objects: &Path) -> Result<Vec<f32>, String> {
    let path = match u.audio.strip_prefix("store:") {
        Some(rel) => objects.join(rel),
        None => ws_path(ws, &u.audio),
    };
    audio::load(&path, u.segment)
}

fn objects_root(ctx: &RunCtx) -> PathBuf {
    ctx.store.root.join("objects")
}

/// One manifest row: line number, audio path, transcript, speaker.
type Row = (usize, String, String, Option<String>);

fn manifest_rows(args: &Args, ws: &Path) -> Result<(PathBuf, Vec<Row>), String> {
    let shown = arg_str(args, "file").to_string();
    let file = data_path(ws, &shown)?;
    let (file, rows) = manifest_rows_at(&file, &shown)?;
    Ok((file, rows))
}

fn manifest_rows_at(file: &Path, shown: &str) -> Result<(PathBuf, Vec<Row>), String> {
    let file = file.to_path_buf();
    let disp = shown;
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read manifest `{}`: {e}", disp))?;
    let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    let mut rows = vec![];
    if ext == "jsonl" {
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| format!("{}:{}: not JSON: {e}", disp, i + 1))?;
            let path = v["audio"]
                .as_str()
                .or(v["path"].as_str())
                .ok_or_else(|| format!("{}:{}: no `audio` or `path` field", disp, i + 1))?;
            let tr = v["text"]
                .as_str()
                .or(v["transcript"].as_str())
                .ok_or_else(|| format!("{}:{}: no `text` or `transcript` field", disp, i + 1))?;
            rows.push((
                i + 1,
                path.to_string(),
                tr.to_string(),
                v["speaker"].as_str().map(str::to_string),
            ));
        }
    } else {
        let sep = if ext == "csv" { ',' } else { '\t' };
        let mut lines = text.lines().enumerate();
        let (_, header) = lines
            .next()
            .ok_or_else(|| format!("manifest `{}` is empty", disp))?;
        let cols: Vec<&str> = header.split(sep).map(str::trim).collect();
        let find = |names: &[&str]| cols.iter().position(|c| names.contains(c));
        let pi = find(&["path", "audio", "file"]).ok_or_else(|| {
            format!(
                "{}:1: header needs a `path` column (found: {})",
                disp,
                cols.join(", ")
            )
        })?;
        let ti = find(&["transcript", "text", "sentence"]).ok_or_else(|| {
            format!(
                "{}:1: header needs a `transcript` column (found: {})",
                disp,
                cols.join(", ")
            )
        })?;
        let si = find(&["speaker", "client_id"]);
        for (i, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split(sep).collect();
            if f.len() <= pi.max(ti) {
                return Err(format!(
                    "{}:{}: expected {} columns, found {}",
                    disp,
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
    }
    Ok((file, rows))
}

fn manifest_reads(args: &Args, ws: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let (file, rows) = manifest_rows(args, ws)?;
    let dir = file.parent().unwrap_or(ws).to_path_buf();
    let mut out = vec![(
        file.clone(),
        file.file_name().unwrap().to_string_lossy().to_string(),
    )];
    for (line, p, _, _) in rows {
        let full = dir.join(&p);
        if !full.is_file() {
            if arg_str(args, "on_error") == "skip" {
                continue;
            }
            return Err(format!(
                "{}:{line}: audio file `{p}` does not exist (or pass `on_error: skip`)",
                arg_str(args, "file")
            ));
        }
        out.push((full, p));
    }
    Ok(out)
}

fn rel_to_ws(ws: &Path, p: &Path) -> String {
    let wsc = ws.canonicalize().unwrap_or(ws.to_path_buf());
    let pc = p.canonicalize().unwrap_or(p.to_path_buf());
    pc.strip_prefix(&wsc)
        .map(|r| r.display().to_string())
        .unwrap_or_else(|_| pc.display().to_string())
}

fn run_manifest(ctx: &mut RunCtx) -> Result<(), String> {
    let (file, rows) = manifest_rows(ctx.args, ctx.workspace)?;
    let dir = file.parent().unwrap_or(ctx.workspace).to_path_buf();
    let skip = arg_str(ctx.args, "on_error") == "skip";
    let ws = ctx.workspace;
    let label = format!("{} decode", ctx.step_name);
    let results: Vec<Result<Utt, String>> =
        par_map_progress(ctx.progress, &label, &rows, |(line, p, tr, spk)| {
            let full = dir.join(p);
            let x = audio::load(&full, None)
                .map_err(|e| format!("{}:{line}: {e}", arg_str(ctx.args, "file")))?;
            let (text, _) = crate::text::normalize(tr);
            let id = Path::new(p)
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_else(|| format!("line{line}"));
            Ok(Utt {
                id,
                audio: rel_to_ws(ws, &full),
                segment: None,
                text,
                speaker: spk.clone().unwrap_or_else(|| "unknown".into()),
                duration: x.len() as f64 / audio::RATE as f64,
            })
        });
    let mut utts = vec![];
    let mut skipped = 0;
    for r in results {
        match r {
            Ok(u) => utts.push(u),
            Err(e) if skip => {
                tracing::warn!("skipped: {e}");
                skipped += 1
            }
            Err(e) => return Err(format!("{e} (or pass `on_error: skip` to skip bad files)")),
        }
    }
    if utts.is_empty() {
        return Err(format!(
            "manifest `{}` yields no usable utterance",
            arg_str(ctx.args, "file")
        ));
    }
    let dropped: usize = rows.iter().map(|r| crate::text::normalize(&r.2).1).sum();
    ctx.metric("utterances", utts.len() as u64);
    ctx.metric("skipped", skipped as u64);
    ctx.metric("chars_dropped", dropped as u64);
    ctx.metric(
        "hours",
        (utts.iter().map(|u| u.duration).sum::<f64>() / 3600.0 * 1000.0).round() / 1000.0,
    );
    write_utts(ctx.out, &utts)
}

fn split_validate(args: &Args) -> Result<(), (Option<&'static str>, String)> {
    let f: Vec<f64> = args["fractions"]
        .as_list()
        .unwrap_or(&[])
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let sum: f64 = f.iter().sum();
    if f.len() < 2 {
        return Err((
            Some("fractions"),
            "`split` needs at least two fractions".into(),
        ));
    }
    if (sum - 1.0).abs() > 1e-6 {
        return Err((
            Some("fractions"),
            format!("split fractions must sum to 1, they sum to {sum}"),
        ));
    }
    Ok(())
}

/// Speaker-disjoint split: speakers are shuffled with the seed and assigned
/// greedily so each part's duration is closest to its fraction.
fn run_split(ctx: &mut RunCtx) -> Result<(), String> {
    let utts = read_utts(ctx.input_of("corpus")?)?;
    let fr: Vec<f64> = ctx.args["fractions"]
        .as_list()
        .unwrap()
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let seed = arg_usize(ctx.args, "seed") as u64;
    let mut by_spk: BTreeMap<String, Vec<Utt>> = BTreeMap::new();
    for u in utts {
        by_spk.entry(u.speaker.clone()).or_default().push(u);
    }
    let total: f64 = by_spk.values().flatten().map(|u| u.duration).sum();
    let mut parts: Vec<Vec<Utt>> = vec![vec![]; fr.len()];
    let mut rng = Rng::new(seed);
    let known = !(by_spk.len() == 1 && by_spk.contains_key("unknown"));
    let mut groups: Vec<Vec<Utt>> = if known {
        by_spk.into_values().collect()
    } else {
        by_spk.into_values().flatten().map(|u| vec![u]).collect()
    };
    rng.shuffle(&mut groups);
    if groups.len() < fr.len() {
        return Err(format!(
            "cannot split {} speaker(s) into {} parts: each part needs a speaker of its own",
            groups.len(),
            fr.len()
        ));
    }
    let mut have = vec![0.0; fr.len()];
    for (gi, g) in groups.into_iter().enumerate() {
        let d: f64 = g.iter().map(|u| u.duration).sum();
        // First give each part one group, then fill the most under-served.
        let k = if gi < fr.len() {
            fr.len() - 1 - gi
        } else {
            (0..fr.len())
                .max_by(|a, b| {
                    (fr[*a] * total - have[*a])
                        .partial_cmp(&(fr[*b] * total - have[*b]))
                        .unwrap()
                })
                .unwrap()
        };
        have[k] += d;
        parts[k].extend(g);
    }
    for (i, p) in parts.iter().enumerate() {
        write_utts(&ctx.out.join(format!("port{i}")), p)?;
        ctx.metric(&format!("part{i}_utterances"), p.len() as u64);
    }
    Ok(())
}

fn run_filter(ctx: &mut RunCtx) -> Result<(), String> {
    let utts = read_utts(ctx.input_of("corpus")?)?;
    let (lo, hi) = (arg_f64(ctx.args, "min"), arg_f64(ctx.args, "max"));
    let n = utts.len();
    let kept: Vec<Utt> = utts
        .into_iter()
        .filter(|u| u.duration >= lo && u.duration <= hi)
        .collect();
    ctx.metric("kept", kept.len() as u64);
    ctx.metric("dropped", (n - kept.len()) as u64);
    write_utts(ctx.out, &kept)
}

fn run_take(ctx: &mut RunCtx) -> Result<(), String> {
    let mut utts = read_utts(ctx.input_of("corpus")?)?;
    utts.truncate(arg_usize(ctx.args, "n"));
    ctx.metric("utterances", utts.len() as u64);
    write_utts(ctx.out, &utts)
}

/// All utterances of several corpora, in order. An utterance id in two of
/// them would make per-utterance seeds and results ambiguous: an error.
fn run_concat(ctx: &mut RunCtx) -> Result<(), String> {
    let mut out: Vec<Utt> = vec![];
    let mut seen: std::collections::HashMap<String, String> = Default::default();
    for r in arg_refs(ctx.args, "corpora") {
        let name = ctx.input_names[&r].clone();
        for u in read_utts(ctx.input(r))? {
            if let Some(first) = seen.insert(u.id.clone(), name.clone()) {
                return Err(format!(
                    "utterance `{}` is in both `{first}` and `{name}`: concatenate corpora with distinct utterances (e.g. different splits)",
                    u.id
                ));
            }
            out.push(u);
        }
    }
    ctx.metric("utterances", out.len() as u64);
    ctx.metric(
        "hours",
        (out.iter().map(|u| u.duration).sum::<f64>() / 3600.0 * 1000.0).round() / 1000.0,
    );
    write_utts(ctx.out, &out)
}

fn noise_files(args: &Args, ws: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let dir = data_path(ws, arg_str(args, "dir"))?;
    let rd = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot read noise folder `{}`: {e}", dir.display()))?;
    let mut out: Vec<(PathBuf, String)> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| audio::EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
        })
        .map(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            (p, n)
        })
        .collect();
    out.sort();
    if out.is_empty() {
        return Err(format!(
            "noise folder `{}` has no audio files (.wav, .flac, .mp3, .ogg, .sph)",
            dir.display()
        ));
    }
    Ok(out)
}

fn run_noise_dir(ctx: &mut RunCtx) -> Result<(), String> {
    let files = noise_files(ctx.args, ctx.workspace)?;
    let mut utts = vec![];
    for (p, n) in files {
        let x = audio::load(&p, None)?;
        utts.push(Utt {
            id: n,
            audio: rel_to_ws(ctx.workspace, &p),
            segment: None,
            text: String::new(),
            speaker: "noise".into(),
            duration: x.len() as f64 / audio::RATE as f64,
        });
    }
    ctx.metric("files", utts.len() as u64);
    write_utts(ctx.out, &utts)
}

/// An SNR argument: one value in dB, or a `[low, high]` range.
pub fn arg_snr(args: &Args, k: &str) -> Option<(f64, Option<f64>)> {
    args.get(k).and_then(|v| match v {
        Value::List(l) => Some((l.first()?.as_f64()?, l.get(1).and_then(Value::as_f64))),
        v => Some((v.as_f64()?, None)),
    })
}

/// Mixes a random crop of a random file of `noises` into `x`, the SNR drawn
/// from its range: what `mix` does per utterance and noise injection per
/// training utterance, with the same draws in the same order.
pub fn mix_random(
    x: &mut [f32],
    noises: &[Vec<f32>],
    level: Option<f64>,
    snr: Option<(f64, Option<f64>)>,
    rng: &mut Rng,
) {
    let n = &noises[rng.below(noises.len())];
    let snr_db = snr.map(|(a, b)| match b {
        Some(b) => a + (b - a) * rng.f64(),
        None => a,
    });
    mix_into(x, n, level, snr_db, rng);
}

/// Mixes noise into `clean` in place: `level` gives the paper's
/// clean + a·noise with a = level; `snr_db` scales the noise to that SNR.
pub fn mix_into(
    clean: &mut [f32],
    noise: &[f32],
    level: Option<f64>,
    snr_db: Option<f64>,
    rng: &mut Rng,
) {
    if noise.is_empty() || clean.is_empty() {
        return;
    }
    let start = rng.below(noise.len());
    let crop: Vec<f32> = (0..clean.len())
        .map(|i| noise[(start + i) % noise.len()])
        .collect();
    let gain = match (level, snr_db) {
        (_, Some(snr)) => {
            let pc = clean.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / clean.len() as f64;
            let pn = crop.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / crop.len() as f64;
            if pn <= 0.0 {
                0.0
            } else {
                (pc / (pn * 10f64.powf(snr / 10.0))).sqrt()
            }
        }
        (Some(a), None) => a,
        _ => 0.0,
    };
    for (c, n) in clean.iter_mut().zip(&crop) {
        *c += (gain * *n as f64) as f32;
    }
}

/// Training-time noise injection, as recorded in a model's settings
/// (`fit(..., noise: bank, noise_level: 0.2)`): the same mixing as `mix`,
/// applied to training utterances batch by batch.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct NoiseSettings {
    /// The noise bank's artifact (relative to the store's objects).
    pub bank: String,
    pub level: Option<f64>,
    /// SNR in dB, or a (low, high) range drawn per utterance.
    pub snr: Option<(f64, Option<f64>)>,
    /// Probability that an utterance of a batch gets noise.
    pub prob: f64,
}

/// Mixes noise into training utterances: each one of a batch, with
/// probability `prob`, is decoded again, mixed with a random crop of a
/// random noise file, and featurised, all drawn from (seed, label, utterance)
/// so a resumed run injects exactly the same noise.
pub struct NoiseInjector {
    settings: NoiseSettings,
    utts: std::collections::HashMap<String, Utt>,
    noises: Vec<Vec<f32>>,
    spec: crate::features::FeatureSpec,
    ws: PathBuf,
    objects: PathBuf,
}

impl NoiseInjector {
    pub fn new(
        settings: &NoiseSettings,
        train_corpus: &Path,
        objects: &Path,
        ws: &Path,
        spec: &crate::features::FeatureSpec,
    ) -> Result<NoiseInjector, String> {
        let noises = read_utts(&objects.join(&settings.bank))?
            .iter()
            .map(|n| load_audio(n, ws, objects))
            .collect::<Result<Vec<_>, _>>()?;
        if noises.is_empty() {
            return Err("the noise bank given to `fit` is empty".into());
        }
        Ok(NoiseInjector {
            settings: settings.clone(),
            utts: read_utts(train_corpus)?
                .into_iter()
                .map(|u| (u.id.clone(), u))
                .collect(),
            noises,
            spec: spec.clone(),
            ws: ws.to_path_buf(),
            objects: objects.to_path_buf(),
        })
    }

    /// For each item of a batch: noisy features, or `None` to keep it clean.
    pub fn apply(
        &self,
        items: &[&crate::features::Feats],
        seed: u64,
        label: &str,
    ) -> Result<Vec<Option<crate::features::Feats>>, String> {
        items
            .par_iter()
            .map(|f| {
                let mut rng = Rng::derive(seed, &format!("{label}/{}", f.id));
                if rng.f64() >= self.settings.prob {
                    return Ok(None);
                }
                let u = self.utts.get(&f.id).ok_or_else(|| {
                    format!(
                        "noise injection: utterance `{}` is not in the training corpus",
                        f.id
                    )
                })?;
                let mut x = load_audio(u, &self.ws, &self.objects)?;
                mix_random(
                    &mut x,
                    &self.noises,
                    self.settings.level,
                    self.settings.snr,
                    &mut rng,
                );
                let (frames, data) = crate::features::extract(&x, &self.spec);
                if frames != f.frames {
                    return Err(format!(
                        "noise injection: `{}` has {frames} frames but its cached features {}",
                        f.id, f.frames
                    ));
                }
                Ok(Some(crate::features::Feats {
                    id: f.id.clone(),
                    text: f.text.clone(),
                    frames,
                    data,
                }))
            })
            .collect()
    }
}

fn run_mix(ctx: &mut RunCtx) -> Result<(), String> {
    let utts = read_utts(ctx.input_of("corpus")?)?;
    let bank = read_utts(ctx.input_of("bank")?)?;
    let objects = objects_root(ctx);
    let ws = ctx.workspace.to_path_buf();
    let noises: Vec<Vec<f32>> = bank
        .iter()
        .map(|n| load_audio(n, &ws, &objects))
        .collect::<Result<_, _>>()?;
    let seed = arg_usize(ctx.args, "seed") as u64;
    let level = ctx.args.get("level").and_then(Value::as_f64);
    let snr = arg_snr(ctx.args, "snr");
    if level.is_none() && snr.is_none() {
        return Err("`mix` needs `level` or `snr`".into());
    }
    std::fs::create_dir_all(ctx.out.join("audio")).map_err(|e| e.to_string())?;
    let out_dir = ctx.out.to_path_buf();
    let my_key = out_dir.file_name().unwrap().to_string_lossy().to_string();
    let label = format!("{} mix", ctx.step_name);
    let mixed: Vec<Result<Utt, String>> = par_map_progress(ctx.progress, &label, &utts, |u| {
        let mut x = load_audio(u, &ws, &objects)?;
        // Per-utterance stream: independent of thread count and order.
        let mut rng = Rng::derive(seed, &u.id);
        mix_random(&mut x, &noises, level, snr, &mut rng);
        if x.iter().any(|v| !v.is_finite()) {
            return Err(format!(
                "mixing noise into `{}` produced non-finite samples",
                u.id
            ));
        }
        let name = format!("audio/{}.wav", lotto_interpreter::store::sanitize(&u.id));
        audio::write_wav(&out_dir.join(&name), &x)?;
        Ok(Utt {
            audio: format!("store:{my_key}/{name}"),
            segment: None,
            ..u.clone()
        })
    });
    let utts: Vec<Utt> = mixed.into_iter().collect::<Result<_, _>>()?;
    ctx.metric("utterances", utts.len() as u64);
    write_utts(ctx.out, &utts)
}

pub fn register(r: &mut Registry) {
    let corpus = &[StepType::Corpus][..];
    r.add(FnOp {
        sig: sig("manifest", "Corpora", 2, Output::One(StepType::Corpus), "A corpus from a TSV/CSV (header with `path` and `transcript`, optional `speaker`) or JSONL manifest; audio paths are relative to the manifest's folder.", vec![
            Param::req("file", PType::Path, "the manifest file"),
            Param::opt("on_error", PType::Enum(&["error", "skip"]), Value::Sym("error".into()), "what to do with a missing or undecodable audio file"),
        ]).with_resources(DATA_RESOURCES),
        run: run_manifest,
        reads: Some(manifest_reads),
        validate: None,
    });
    r.add(FnOp {
        sig: sig("split", "Corpora", 1, Output::PerItem { param: "fractions", ty: StepType::Corpus }, "Splits a corpus by speaker (no speaker in two parts) into parts of the given duration fractions.", vec![
            Param::req("corpus", PType::Step(corpus), "the corpus to split"),
            Param::req("fractions", PType::List(Box::new(PType::Fraction)), "one fraction per part, summing to 1").range(0.0, 1.0).variadic(),
            Param::opt("seed", PType::Int, Value::Int(0), "shuffles speakers"),
        ]),
        run: run_split,
        reads: None,
        validate: Some(split_validate),
    });
    r.add(FnOp {
        sig: sig(
            "filter",
            "Corpora",
            1,
            Output::One(StepType::Corpus),
            "Keeps utterances whose duration lies in [min, max] (the paper: 1s to 15s).",
            vec![
                Param::req("corpus", PType::Step(corpus), "the corpus"),
                Param::opt("min", PType::Duration, Value::Float(1.0), "shortest kept")
                    .range(0.0, 3600.0),
                Param::opt("max", PType::Duration, Value::Float(15.0), "longest kept")
                    .range(0.0, 36000.0),
            ],
        ),
        run: run_filter,
        reads: None,
        validate: None,
    });
    r.add(FnOp {
        sig: sig(
            "take",
            "Corpora",
            1,
            Output::One(StepType::Corpus),
            "The first n utterances.",
            vec![
                Param::req("corpus", PType::Step(corpus), "the corpus"),
                Param::req("n", PType::Int, "how many").range(1.0, 1e9),
            ],
        ),
        run: run_take,
        reads: None,
        validate: None,
    });
    r.add(FnOp {
        sig: sig(
            "concat",
            "Corpora",
            1,
            Output::One(StepType::Corpus),
            "All utterances of several corpora, in order (e.g. LibriSpeech train-clean-100 + train-clean-360).",
            vec![Param::req(
                "corpora",
                PType::List(Box::new(PType::Step(corpus))),
                "the corpora, as a list or as several arguments",
            )
            .variadic()],
        ),
        run: run_concat,
        reads: None,
        validate: None,
    });
    r.add(FnOp {
        sig: sig(
            "noise_dir",
            "Noise",
            2,
            Output::One(StepType::NoiseBank),
            "A bank of noise recordings: every audio file (WAV, FLAC, MP3, OGG, SPHERE) in a folder.",
            vec![Param::req("dir", PType::Path, "the folder")],
        ),
        run: run_noise_dir,
        reads: Some(noise_files),
        validate: None,
    });
    r.add(FnOp {
        sig: sig("mix", "Noise", 3, Output::One(StepType::Corpus), "Adds background noise: `level: a` gives clean + a·noise (the paper), `snr: 5dB` scales noise to that SNR, `snr: [0dB, 20dB]` draws one per utterance. A random crop of a random noise file, deterministic per utterance from the seed.", vec![
            Param::req("corpus", PType::Step(corpus), "the clean corpus"),
            Param::req("bank", PType::Step(&[StepType::NoiseBank]), "the noise bank"),
            Param { default: Some(Value::Sym("none".into())), ..Param::req("level", PType::Float, "noise amplitude factor a (paper: 0.2, 0.5); give `level` or `snr`").range(0.0, 10.0) },
            Param { default: Some(Value::Sym("none".into())), ..Param::req("snr", PType::OneOf(vec![PType::Decibel, PType::List(Box::new(PType::Decibel))]), "signal-to-noise ratio, or a [low, high] range; give `level` or `snr`").range(-30.0, 60.0) },
            Param::opt("seed", PType::Int, Value::Int(0), "noise choice and crop"),
        ]).with_resources(DATA_RESOURCES),
        run: run_mix,
        reads: None,
        validate: Some(|a| {
            match (arg_given(a, "level"), arg_given(a, "snr")) {
                (true, true) => Err((Some("snr"), "give `level` or `snr`, not both".into())),
                (false, false) => Err((None, "`mix` needs `level: 0.5` or `snr: 5dB`".into())),
                _ => Ok(()),
            }
        }),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snr_mode_hits_requested_snr() {
        let mut rng = Rng::new(1);
        let clean: Vec<f32> = (0..16000).map(|i| (i as f32 * 0.05).sin() * 0.3).collect();
        let noise: Vec<f32> = (0..8000).map(|_| rng.uniform(-1.0, 1.0)).collect();
        for snr in [0.0, 5.0, 20.0] {
            let mut x = clean.clone();
            mix_into(&mut x, &noise, None, Some(snr), &mut Rng::new(3));
            let pn: f64 = x
                .iter()
                .zip(&clean)
                .map(|(a, b)| ((a - b) as f64).powi(2))
                .sum();
            let pc: f64 = clean.iter().map(|a| (*a as f64).powi(2)).sum();
            let measured = 10.0 * (pc / pn).log10();
            assert!((measured - snr).abs() < 0.05, "asked {snr} got {measured}");
        }
    }
}
