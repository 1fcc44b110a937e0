//! The `wer` op: word and character error rates of every model, and every
//! round of every ticket, on every test corpus, decoded greedily or by CTC
//! beam search with an optional word language model.

use super::table::{Row, Table};
use crate::artifacts::write_yaml;
use crate::beam::BeamSettings;
use crate::decoding::{decode, decode_beam};
use crate::features::corpus_features::corpus_features;
use crate::lm::NgramLm;
use crate::op::{config_op, model_resources, op};
use crate::pruning::masks::remaining;
use crate::scoring::{rates, score_each};
use crate::tickets::ticket::read_ticket;
use crate::training::job::load_trained;
use crate::vocabulary::{CORPUS, DECODER, EVAL, LANGUAGE_MODEL, TICKET, TRAINED};
use lotto_interpreter::run_ctx::RunCtx;
use lotto_interpreter::signature::Output;
use lotto_interpreter::typed::{config, FromValue, OpArgs};
use lotto_interpreter::types::PType;
use lotto_interpreter::value::{StepRef, Value};
use lotto_interpreter::Registry;
use std::path::PathBuf;

lotto_interpreter::op_args! {
    pub struct BeamArgs {
        width: usize = opt(PType::Int, 64, "hypotheses kept per frame").range(1.0, 100000.0),
        lm: Option<StepRef> = optional(PType::Step(&[LANGUAGE_MODEL]), "a language model (`ngram(...)` or `arpa(...)`), or none"),
        alpha: f64 = opt(PType::Float, 0.5, "language model weight α").range(0.0, 10.0),
        beta: f64 = opt(PType::Float, 1.0, "bonus β per word").range(-10.0, 10.0),
    }
}

/// `decoder: greedy` or `decoder: beam(...)`.
#[derive(Clone, Debug)]
pub enum Decoder {
    Greedy,
    Beam(BeamArgs),
}

impl FromValue for Decoder {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Sym(s) if s == "greedy" => Ok(Decoder::Greedy),
            _ => Ok(Decoder::Beam(BeamArgs::from_args(config(v)?.1)?)),
        }
    }
}

lotto_interpreter::op_args! {
    pub struct WerArgs {
        models: Vec<StepRef> = req(PType::List(Box::new(PType::Step(&[TRAINED, TICKET]))), "trained models and tickets"),
        on: Vec<StepRef> = req(PType::List(Box::new(PType::Step(&[CORPUS]))), "test corpora"),
        decoder: Decoder = opt(PType::OneOf(vec![PType::Enum(&["greedy"]), PType::Config(&DECODER)]), Value::sym("greedy"), "`greedy`, or `beam(width: 64, lm: words)` for CTC models").additive(),
    }
}

/// A model to evaluate: its name, method, round and Trained artifact.
struct Entry {
    model: String,
    method: String,
    round: usize,
    dir: PathBuf,
}

/// A ticket contributes one entry per round; a model one entry.
fn entries(ctx: &RunCtx, models: &[StepRef]) -> Result<Vec<Entry>, String> {
    let objects = ctx.store.root.join("objects");
    let mut out = vec![];
    for &m in models {
        let mdir = ctx.input(m).to_path_buf();
        let model = ctx.input_name(m).to_string();
        if mdir.join("ticket.yaml").is_file() {
            let t = read_ticket(&mdir)?;
            out.extend(t.rounds.iter().map(|r| Entry {
                model: model.clone(),
                method: t.method.clone(),
                round: r.round,
                dir: objects.join(&r.dir),
            }));
        } else {
            out.push(Entry {
                model,
                method: "dense".to_string(),
                round: 0,
                dir: mdir,
            });
        }
    }
    Ok(out)
}

fn run(ctx: &mut RunCtx, a: &WerArgs) -> Result<(), String> {
    let beam = match &a.decoder {
        Decoder::Greedy => None,
        Decoder::Beam(b) => {
            let lm = match b.lm {
                Some(r) => Some(NgramLm::read(&ctx.input(r).join("lm.arpa"))?),
                None => None,
            };
            let s = BeamSettings {
                width: b.width,
                alpha: b.alpha,
                beta: b.beta,
            };
            Some((s, lm))
        }
    };
    let device = crate::device::open(ctx.device)?;
    let entries = entries(ctx, &a.models)?;
    let mut table = Table::default();
    let bar = ctx.progress.bar(
        &format!("{} decode", ctx.step_name),
        (entries.len() * a.on.len()) as u64,
    );
    for e in entries {
        let (info, best, masks) = load_trained(&e.dir)?;
        let mut p = info.model.init(0, &device);
        p.load_map(&best)?;
        let rw = masks.as_ref().map(remaining).unwrap_or(100.0);
        let method = if e.method == "dense" && masks.is_some() {
            "ticket".to_string()
        } else {
            e.method
        };
        for &c in &a.on {
            let cdir = ctx.input(c).to_path_buf();
            let feats = corpus_features(ctx, &cdir, &info.features)?;
            let bins = info.features.bins();
            let hyps = match &beam {
                Some((s, lm)) => decode_beam(&info.model, &p, &feats, bins, 32, (s, lm.as_ref()))
                    .map_err(|err| format!("`{}`: {err}", e.model))?,
                None => decode(&info.model, &p, &feats, bins, 32),
            };
            let refs: Vec<&str> = feats.iter().map(|f| f.text.as_str()).collect();
            let each = score_each(&refs, &hyps);
            let (wer, cer) = rates(&each);
            table.rows.push(Row {
                model: e.model.clone(),
                method: method.clone(),
                round: e.round,
                rw,
                corpus: ctx.input_name(c).to_string(),
                wer,
                cer,
                utterances: feats.len(),
                dev_wer: info.best_dev_wer,
                per_utterance: each,
                warning: info.warning.clone(),
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
    r.add(config_op::<BeamArgs>("beam", "Evaluation", 1, &DECODER, "CTC prefix beam search over characters for `wer(..., decoder: beam(...))`, with an optional word n-gram model applied as each word ends: ln P_ctc + α·ln P_lm + β·words. The paper: width 1024 with a 3-gram. Transducer models decode greedily."));
    r.add(
        op::<WerArgs>("wer", "Evaluation", 3, Output::One(EVAL), "Word and character error rates (greedy CTC or transducer decoding, or CTC beam search) of every model, and every round of every ticket, on every corpus, with each utterance's error counts so that comparisons can be paired.")
            .run(run)
            .numeric()
            .names_inputs()
            .resources(model_resources(4 * 60)),
    );
}
