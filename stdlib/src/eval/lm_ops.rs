//! The language-model ops beam search can use: `ngram` (estimated from
//! corpora's transcripts) and `arpa` (read from a file).

use crate::corpus::utt::read_utts;
use crate::data_paths::{data_path, read_input_text};
use crate::lm::NgramLm;
use crate::op::op;
use crate::vocabulary::{CORPUS, LANGUAGE_MODEL};
use lotto_interpreter::run_ctx::RunCtx;
use lotto_interpreter::signature::Output;
use lotto_interpreter::types::PType;
use lotto_interpreter::value::StepRef;
use lotto_interpreter::Registry;
use std::path::{Path, PathBuf};

lotto_interpreter::op_args! {
    pub struct NgramArgs {
        text: Vec<StepRef> = req(PType::List(Box::new(PType::Step(&[CORPUS]))), "corpora whose transcripts are the training text"),
        order: usize = opt(PType::Int, 3, "n-gram order (the paper: 3)").range(1.0, 6.0),
    }
}

lotto_interpreter::op_args! {
    pub struct ArpaArgs {
        file: String = req(PType::Path, "the .arpa file"),
    }
}

/// Sentences of a corpus artifact as normalised words.
fn sentences(dir: &Path) -> Result<Vec<Vec<String>>, String> {
    Ok(read_utts(dir)?
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
fn publish(ctx: &mut RunCtx, lm: &NgramLm, arpa: &str) -> Result<(), String> {
    ctx.metric("ngrams", lm.len() as u64);
    ctx.metric("order", lm.order as u64);
    std::fs::write(ctx.out.join("lm.arpa"), arpa).map_err(|e| e.to_string())
}

fn run_ngram(ctx: &mut RunCtx, a: &NgramArgs) -> Result<(), String> {
    let mut all = vec![];
    for &r in &a.text {
        all.extend(sentences(ctx.input(r))?);
    }
    if all.is_empty() {
        return Err("the corpora have no transcripts to estimate a language model from".into());
    }
    ctx.metric("sentences", all.len() as u64);
    let lm = NgramLm::estimate(&all, a.order);
    publish(ctx, &lm, &lm.to_arpa())
}

fn arpa_reads(a: &ArpaArgs, ws: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    Ok(vec![(data_path(ws, &a.file)?, a.file.clone())])
}

fn run_arpa(ctx: &mut RunCtx, a: &ArpaArgs) -> Result<(), String> {
    let path = data_path(ctx.workspace, &a.file)?;
    let text = read_input_text(&path, &a.file)?;
    let lm = NgramLm::from_arpa(&text, &a.file)?;
    publish(ctx, &lm, &text)
}

pub fn register(r: &mut Registry) {
    r.add(
        op::<NgramArgs>("ngram", "Evaluation", 1, Output::One(LANGUAGE_MODEL), "A word n-gram language model estimated from corpora's transcripts (absolute discounting with back-off; written as ARPA `lm.arpa`), for `beam(lm: ...)`. Estimate it from training text only, never from the test set.")
            .run(run_ngram),
    );
    r.add(
        op::<ArpaArgs>("arpa", "Evaluation", 1, Output::One(LANGUAGE_MODEL), "A word n-gram language model from an ARPA file (e.g. LibriSpeech's 3-gram, upper-case words lower-cased by you first), for `beam(lm: ...)`.")
            .run(run_arpa)
            .reads(arpa_reads),
    );
}
