//! Decoding utterances with a trained model: greedy (CTC or transducer), or
//! CTC prefix beam search with an optional word language model, in
//! duration-sorted batches.

use crate::arch::Arch;
use crate::beam::BeamSettings;
use crate::features::spec::Feats;
use crate::lm::NgramLm;
use crate::nn::Params;
use crate::training::batch::{make_batch, Batch};
use burn::tensor::{Tensor, TensorData};

/// Runs `f` on a set of utterances in duration-sorted batches with an
/// inference copy of `p`, and returns its transcripts in `data`'s order.
fn in_batches(
    cfg: &Arch,
    p: &Params,
    data: &[Feats],
    bins: usize,
    batch: usize,
    mut f: impl FnMut(&Params, Tensor<3>, &[usize]) -> Result<Vec<String>, String>,
) -> Result<Vec<String>, String> {
    let eval_p = p.for_inference();
    let mut order: Vec<usize> = (0..data.len()).collect();
    order.sort_by_key(|&i| data[i].frames);
    let mut out = vec![String::new(); data.len()];
    for chunk in order.chunks(batch.max(1)) {
        let items: Vec<&Feats> = chunk.iter().map(|&i| &data[i]).collect();
        let bt = make_batch(&items, bins, cfg.tokens());
        let x: Tensor<3> =
            Tensor::from_data(TensorData::new(bt.x, [bt.b, bt.t, bins]), &eval_p.device);
        for (&i, hyp) in chunk.iter().zip(f(&eval_p, x, &bt.lens)?) {
            out[i] = hyp;
        }
    }
    Ok(out)
}

/// The CTC log-probabilities of one prepared batch with inference weights
/// (`Params::for_inference`): the forward pass decoding starts with, which
/// `lotto bench train` times. `None` for the transducer.
pub fn batch_log_probs(
    cfg: &Arch,
    eval_p: &Params,
    bt: &Batch,
    bins: usize,
) -> Option<Vec<Vec<f32>>> {
    let x: Tensor<3> = Tensor::from_data(
        TensorData::new(bt.x.clone(), [bt.b, bt.t, bins]),
        &eval_p.device,
    );
    cfg.ctc_log_probs(eval_p, x, &bt.lens)
}

/// Greedy-decodes a set of utterances with the weights in `p` (eval mode).
pub fn decode(cfg: &Arch, p: &Params, data: &[Feats], bins: usize, batch: usize) -> Vec<String> {
    in_batches(cfg, p, data, bins, batch, |p, x, lens| {
        Ok(cfg.decode(p, x, lens))
    })
    .expect("greedy decoding does not fail")
}

/// Beam-search decodes a set of utterances (CTC models; see `beam.rs`),
/// utterances of a batch in parallel.
pub fn decode_beam(
    cfg: &Arch,
    p: &Params,
    data: &[Feats],
    bins: usize,
    batch: usize,
    beam: (&BeamSettings, Option<&NgramLm>),
) -> Result<Vec<String>, String> {
    let (s, lm) = beam;
    use rayon::prelude::*;
    in_batches(cfg, p, data, bins, batch, |p, x, lens| {
        let lps = cfg.ctc_log_probs(p, x, lens).ok_or_else(|| {
            format!("beam search decodes CTC models (cnn_lstm, conformer, efficient_conformer); decode `{}` models with `decoder: greedy`", cfg.name())
        })?;
        Ok(lps
            .par_iter()
            .map(|lp| {
                let tokens = cfg.tokens();
                crate::beam::decode(lp, lp.len() / tokens.vocab(), tokens, s, lm)
            })
            .collect())
    })
}
