//! The `bpe` op: a subword tokenizer learnt from corpora's transcripts
//! (`bpe.yaml`), for models that predict subwords (`efficient_conformer`).

use crate::artifacts::{read_yaml, write_yaml};
use crate::bpe::Bpe;
use crate::corpus::utt::read_utts;
use crate::op::op;
use crate::vocabulary::{CORPUS, TOKENIZER};
use lotto_interpreter::run_ctx::RunCtx;
use lotto_interpreter::signature::Output;
use lotto_interpreter::types::PType;
use lotto_interpreter::value::StepRef;
use lotto_interpreter::Registry;
use std::path::Path;

lotto_interpreter::op_args! {
    pub struct BpeArgs {
        text: Vec<StepRef> = req(PType::List(Box::new(PType::Step(&[CORPUS]))), "corpora whose transcripts it learns from (the training set)"),
        size: usize = opt(PType::Int, 256, "output ids, CTC blank included (the paper: 256); fewer when the transcripts run out of pairs to merge").range(30.0, 65536.0),
    }
}

const FILE: &str = "bpe.yaml";

/// The tokenizer a `bpe` step published.
pub fn read_bpe(dir: &Path) -> Result<Bpe, String> {
    read_yaml(&dir.join(FILE))
}

fn run(ctx: &mut RunCtx, a: &BpeArgs) -> Result<(), String> {
    let mut texts = vec![];
    for &r in &a.text {
        texts.extend(
            read_utts(ctx.input(r))?
                .iter()
                .map(|u| crate::text::normalize(&u.text).0),
        );
    }
    if texts.iter().all(|t| t.is_empty()) {
        return Err("the corpora have no transcripts to learn subwords from".into());
    }
    let bpe = Bpe::train(texts.iter().map(String::as_str), a.size);
    ctx.metric("ids", bpe.vocab() as u64);
    ctx.metric("merges", bpe.merges.len() as u64);
    let tokens: usize = texts.iter().map(|t| bpe.encode(t).len()).sum();
    let words: usize = texts.iter().map(|t| t.split_whitespace().count()).sum();
    ctx.metric(
        "tokens_per_word",
        (tokens as f64 / words.max(1) as f64 * 100.0).round() / 100.0,
    );
    if bpe.vocab() < a.size {
        ctx.progress.println(&format!(
            "  warning: {}: the transcripts give {} ids, not the {} asked for (no pair of subwords is left to merge)",
            ctx.step_name,
            bpe.vocab(),
            a.size
        ));
    }
    write_yaml(&ctx.out.join(FILE), &bpe)
}

pub fn register(r: &mut Registry) {
    r.add(
        op::<BpeArgs>("bpe", "Models", 1, Output::One(TOKENIZER), "Byte-pair-encoding subwords (SentencePiece style: `▁` starts a word) learnt from the transcripts: from the 28 characters, merge the most frequent adjacent pair within words (ties: alphabetical) until `size` ids (blank included) or no pair is left. `efficient_conformer(tokens: ...)` predicts them.")
            .run(run),
    );
}
