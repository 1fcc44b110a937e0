//! Evaluation: greedy (CTC or transducer) or beam-search decoding and
//! WER/CER of every model (every round of a ticket) on every corpus, as a
//! typed table the reports consume; and the word n-gram language models
//! beam search can use.

use crate::beam::BeamSettings;
use crate::features::corpus_features;
use crate::lm::NgramLm;
use crate::models::load_trained;
use crate::op::*;
use crate::tickets::read_ticket;
use crate::train::{decode, decode_beam, score};
use lotto_interpreter::registry::{Output, PType, RunCtx};
use lotto_interpreter::value::{Args, StepType, Value};
use lotto_interpreter::{Param, Registry};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Row {
    pub model: String,
    pub method: String,
    pub round: usize,
    pub rw: f64,
    pub corpus: String,
    pub wer: f64,
    pub cer: f64,
    pub utterances: usize,
    pub dev_wer: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, Default)]
pub struct Table {
    pub rows: Vec<Row>,
}

pub fn read_table(dir: &Path) -> Result<Table, String> {
    read_yaml(&dir.join("eval.yaml"))
}

/// `decoder: beam(...)` as settings and its language model, if any.
fn beam_of(ctx: &RunCtx) -> Result<Option<(BeamSettings, Option<NgramLm>)>, String> {
    let Some(Value::Config { op, args }) = ctx.args.get("decoder") else {
        return Ok(None);
    };
    if op != "beam" {
        return Ok(None);
    }
    let lm = match args.get("lm").and_then(Value::as_ref) {
        Some(r) => Some(NgramLm::read(&ctx.input(r).join("lm.arpa"))?),
        None => None,
    };
    let s = BeamSettings {
        width: arg_usize(args, "width"),
        alpha: arg_f64(args, "alpha"),
        beta: arg_f64(args, "beta"),
    };
    Ok(Some((s, lm)))
}

fn run_wer(ctx: &mut RunCtx) -> Result<(), String> {
    let beam = beam_of(ctx)?;
    let models = arg_refs(ctx.args, "models");
    let corpora = arg_refs(ctx.args, "on");
    let objects = ctx.store.root.join("objects");
    let device = crate::device::open(ctx.device)?;
    let mut table = Table::default();
    // A ticket contributes one row per round; a model one row.
    let mut entries: Vec<(String, String, usize, std::path::PathBuf)> = vec![];
    for m in &models {
        let mdir = ctx.input(*m).to_path_buf();
        let mname = ctx.input_names[m].clone();
        if mdir.join("ticket.yaml").is_file() {
            let t = read_ticket(&mdir)?;
            entries.extend(t.rounds.iter().map(|r| {
                (
                    mname.clone(),
                    t.method.clone(),
                    r.round,
                    objects.join(&r.dir),
                )
            }));
        } else {
            entries.push((mname, "dense".to_string(), 0, mdir.clone()));
        }
    }
    let bar = ctx.progress.bar(
        &format!("{} decode", ctx.step_name),
        (entries.len() * corpora.len()) as u64,
    );
    for (mname, method, round, dir) in entries {
        let (info, best, masks) = load_trained(&dir)?;
        let mut p = info.model.init(0, &device);
        p.load_map(&best)?;
        let rw = masks
            .as_ref()
            .map(crate::tickets::remaining)
            .unwrap_or(100.0);
        let method = if method == "dense" && masks.is_some() {
            "ticket".to_string()
        } else {
            method
        };
        for c in &corpora {
            let cdir = ctx.input(*c).to_path_buf();
            let feats = corpus_features(ctx, &cdir, &info.features)?;
            let bins = info.features.bins();
            let hyps = match &beam {
                Some((s, lm)) => decode_beam(&info.model, &p, &feats, bins, 32, s, lm.as_ref())
                    .map_err(|e| format!("`{mname}`: {e}"))?,
                None => decode(&info.model, &p, &feats, bins, 32),
            };
            let refs: Vec<&str> = feats.iter().map(|f| f.text.as_str()).collect();
            let (wer, cer) = score(&refs, &hyps);
            table.rows.push(Row {
                model: mname.clone(),
                method: method.clone(),
                round,
                rw,
                corpus: ctx.input_names[c].clone(),
                wer,
                cer,
                utterances: feats.len(),
                dev_wer: info.best_dev_wer,
            });
            bar.inc(1);
        }
    }
    bar.finish();
    for r in &table.rows {
        ctx.metric(
            &format!("wer[{}/{}/{}]", r.model, r.round, r.corpus),
            (r.wer * 100.0).round() / 100.0,
        );
    }
    write_yaml(&ctx.out.join("eval.yaml"), &table)
}

/// Sentences of a corpus artifact as normalised words.
fn sentences(dir: &Path) -> Result<Vec<Vec<String>>, String> {
    Ok(crate::corpus::read_utts(dir)?
        .iter()
        .map(|u| {
            crate::text::normalize(&u.text)
                .0
                .split_whitespace()
                .map(String::from)
                .collect()
        })
        .filter(|s: &Vec<String>| !s.is_empty())
        .collect())
}

/// Publishes a language model step: its ARPA text and sizes.
fn publish_lm(ctx: &mut RunCtx, lm: &NgramLm, arpa: &str) -> Result<(), String> {
    ctx.metric("ngrams", lm.len() as u64);
    ctx.metric("order", lm.order as u64);
    std::fs::write(ctx.out.join("lm.arpa"), arpa).map_err(|e| e.to_string())
}

fn run_ngram(ctx: &mut RunCtx) -> Result<(), String> {
    let mut all = vec![];
    for r in arg_refs(ctx.args, "text") {
        all.extend(sentences(ctx.input(r))?);
    }
    if all.is_empty() {
        return Err("the corpora have no transcripts to estimate a language model from".into());
    }
    ctx.metric("sentences", all.len() as u64);
    let lm = NgramLm::estimate(&all, arg_usize(ctx.args, "order"));
    publish_lm(ctx, &lm, &lm.to_arpa())
}

fn arpa_reads(args: &Args, ws: &Path) -> Result<Vec<(std::path::PathBuf, String)>, String> {
    let shown = arg_str(args, "file");
    Ok(vec![(data_path(ws, shown)?, shown.to_string())])
}

fn run_arpa(ctx: &mut RunCtx) -> Result<(), String> {
    let shown = arg_str(ctx.args, "file").to_string();
    let path = data_path(ctx.workspace, &shown)?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("`{shown}`: {e}"))?;
    let lm = NgramLm::from_arpa(&text, &shown)?;
    publish_lm(ctx, &lm, &text)
}

pub fn register(r: &mut Registry) {
    let lm = &[StepType::LanguageModel][..];
    r.add(FnOp {
        sig: sig("ngram", "Evaluation", 1, Output::One(StepType::LanguageModel), "A word n-gram language model estimated from corpora's transcripts (absolute discounting with back-off; written as ARPA `lm.arpa`), for `beam(lm: ...)`. Estimate it from training text only, never from the test set.", vec![
            Param::req("text", PType::List(Box::new(PType::Step(&[StepType::Corpus]))), "corpora whose transcripts are the training text"),
            Param::opt("order", PType::Int, Value::Int(3), "n-gram order (the paper: 3)").range(1.0, 6.0),
        ]),
        run: run_ngram,
        reads: None,
        validate: None,
    });
    r.add(FnOp {
        sig: sig("arpa", "Evaluation", 1, Output::One(StepType::LanguageModel), "A word n-gram language model from an ARPA file (e.g. LibriSpeech's 3-gram, upper-case words lower-cased by you first), for `beam(lm: ...)`.", vec![
            Param::req("file", PType::Path, "the .arpa file"),
        ]),
        run: run_arpa,
        reads: Some(arpa_reads),
        validate: None,
    });
    r.add(config_op(sig("beam", "Evaluation", 1, Output::Config("Decoder"), "CTC prefix beam search over characters for `wer(..., decoder: beam(...))`, with an optional word n-gram model applied as each word ends: ln P_ctc + α·ln P_lm + β·words. The paper: width 1024 with a 3-gram. Transducer models decode greedily.", vec![
        Param::opt("width", PType::Int, Value::Int(64), "hypotheses kept per frame").range(1.0, 100000.0),
        Param::opt("lm", PType::Step(lm), Value::Sym("none".into()), "a language model (`ngram(...)` or `arpa(...)`), or none"),
        Param::opt("alpha", PType::Float, Value::Float(0.5), "language model weight α").range(0.0, 10.0),
        Param::opt("beta", PType::Float, Value::Float(1.0), "bonus β per word").range(-10.0, 10.0),
    ])));
    let mut s = sig("wer", "Evaluation", 1, Output::One(StepType::Eval), "Word and character error rates (greedy CTC or transducer decoding, or CTC beam search) of every model, and every round of every ticket, on every corpus.", vec![
        Param::req("models", PType::List(Box::new(PType::Step(&[StepType::Trained, StepType::Ticket]))), "trained models and tickets"),
        Param::req("on", PType::List(Box::new(PType::Step(&[StepType::Corpus]))), "test corpora"),
        Param::opt("decoder", PType::OneOf(vec![PType::Enum(&["greedy"]), PType::Config("Decoder")]), Value::Sym("greedy".into()), "`greedy`, or `beam(width: 64, lm: words)` for CTC models").additive(),
    ]);
    s.numeric = true;
    // Decoding every model on every test set: the GPU when there is one,
    // and CPUs for feature extraction.
    s.resources = lotto_interpreter::registry::Resources {
        gpu: true,
        cpus: 4,
        mem_gb: 16,
        minutes: 4 * 60,
    };
    r.add(FnOp {
        sig: s,
        run: run_wer,
        reads: None,
        validate: None,
    });
}
