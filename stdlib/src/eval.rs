//! Evaluation: greedy CTC decoding and WER/CER of every model (every round
//! of a ticket) on every corpus, as a typed table the reports consume.

use crate::features::corpus_features;
use crate::models::load_trained;
use crate::op::*;
use crate::tickets::read_ticket;
use crate::train::{decode, score};
use lotto_interpreter::registry::{Output, PType, RunCtx};
use lotto_interpreter::value::StepType;
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

fn run_wer(ctx: &mut RunCtx) -> Result<(), String> {
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
            let hyps = decode(&info.model, &p, &feats, info.features.bins(), 32);
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

pub fn register(r: &mut Registry) {
    let mut s = sig("wer", "Evaluation", 1, Output::One(StepType::Eval), "Word and character error rates (greedy CTC or transducer decoding) of every model, and every round of every ticket, on every corpus.", vec![
        Param::req("models", PType::List(Box::new(PType::Step(&[StepType::Trained, StepType::Ticket]))), "trained models and tickets"),
        Param::req("on", PType::List(Box::new(PType::Step(&[StepType::Corpus]))), "test corpora"),
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
