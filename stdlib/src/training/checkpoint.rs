//! Epoch checkpoints of a training run, from which a killed run resumes
//! bit-identically: weights, buffers and optimizer moments in one
//! safetensors file per epoch, the best epoch's weights in another, and
//! `ckpt.json` (the state that names them) written last by an atomic
//! rename, so a kill at any point leaves a consistent, older checkpoint.

use super::epoch_log::EpochLog;
use super::optimizer::Opt;
use crate::nn::{to_host, Params};
use crate::tensor_io::{self, LazyTensor, TensorMap};
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

const STATE: &str = "ckpt.json";

/// What `ckpt.json` holds after an epoch.
#[derive(Serialize, Deserialize)]
pub struct State {
    /// Optimizer steps taken.
    pub step: u64,
    pub history: Vec<EpochLog>,
    pub best_wer: f64,
    pub best_epoch: usize,
    /// The epoch's weights and moments, and the best epoch's weights.
    pub file: String,
    pub best_file: String,
    /// The epoch hook's state (early-bird distances).
    pub hook: Option<serde_json::Value>,
    /// The hook ended training after this epoch.
    pub stopped: bool,
}

/// A resumed run: its state (which names the best epoch's weights), with
/// the weights and moments loaded into `p` and `opt`.
pub struct Resumed {
    pub state: State,
}

/// Loads the last checkpoint in `dir` into `p` and `opt`, if there is one.
pub fn resume(dir: &Path, p: &mut Params, opt: &mut Opt) -> Result<Option<Resumed>, String> {
    let state_file = dir.join(STATE);
    if !state_file.is_file() {
        return Ok(None);
    }
    let bad = |e: String| format!("checkpoint `{}`: {e}", state_file.display());
    let bytes = std::fs::read(&state_file).map_err(|e| bad(e.to_string()))?;
    let state: State = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    let all = tensor_io::load(&dir.join(&state.file))?;
    p.load_map(&all)?;
    load_moments(opt, p, &all).map_err(bad)?;
    opt.step = state.step;
    Ok(Some(Resumed { state }))
}

/// Loads the moments `moments` holds (`adam.m.NAME`, `adam.v.NAME`) into
/// `opt`, on the device without autodiff, as `Opt::new` makes them.
pub fn load_moments(opt: &mut Opt, p: &Params, moments: &TensorMap) -> Result<(), String> {
    let inner = p.device.clone().inner();
    for (i, pi) in p.info.iter().enumerate() {
        let get = |k: String| {
            moments
                .get(&k)
                .filter(|h| h.data.len() == pi.numel())
                .map(|h| Tensor::from_data(TensorData::new(h.data.clone(), [h.data.len()]), &inner))
                .ok_or_else(|| format!("it lacks the optimizer state `{k}`"))
        };
        opt.m[i] = get(format!("adam.m.{}", pi.name))?;
        opt.v[i] = get(format!("adam.v.{}", pi.name))?;
    }
    Ok(())
}

/// The optimizer's moments, named as `load_moments` reads them.
pub fn moments(p: &Params, opt: &Opt) -> TensorMap {
    tensor_io::to_host_map(&lazy_moments(p, opt))
}

/// [`moments`] copied to the host only when read (as a checkpoint writes
/// them, one at a time).
fn lazy_moments<'a>(p: &'a Params, opt: &'a Opt) -> BTreeMap<String, LazyTensor<'a>> {
    let mut all = BTreeMap::new();
    for (i, pi) in p.info.iter().enumerate() {
        for (name, moment) in [("m", &opt.m[i]), ("v", &opt.v[i])] {
            let lazy = LazyTensor {
                shape: vec![pi.numel()],
                values: Box::new(move || to_host(moment)),
            };
            all.insert(format!("adam.{name}.{}", pi.name), lazy);
        }
    }
    all
}

/// Saves the weights of `epoch` as the best so far; the run keeps only
/// the file's name (and reads it back when training ends), not a copy of
/// the weights beside the ones it trains.
pub fn save_best(dir: &Path, epoch: usize, p: &Params) -> Result<String, String> {
    let file = format!("best_e{epoch}.safetensors");
    tensor_io::save_lazy(&dir.join(&file), &p.lazy_map())?;
    Ok(file)
}

/// Checkpoints the end of an epoch: weights, buffers and moments (one
/// tensor at a time on the host), then the state, then removes files no
/// longer referenced.
pub fn save(dir: &Path, p: &Params, opt: &Opt, mut state: State) -> Result<(), String> {
    let epoch = state.history.len();
    let mut all = p.lazy_map();
    all.extend(lazy_moments(p, opt));
    state.file = format!("ckpt_e{epoch}.safetensors");
    tensor_io::save_lazy(&dir.join(&state.file), &all)?;
    let tmp = dir.join(format!("{STATE}.tmp"));
    let json = serde_json::to_vec(&state).map_err(|e| e.to_string())?;
    std::fs::write(&tmp, json).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, dir.join(STATE)).map_err(|e| e.to_string())?;
    for e in std::fs::read_dir(dir).map_err(|e| e.to_string())?.flatten() {
        let n = e.file_name().to_string_lossy().to_string();
        if n.ends_with(".safetensors") && n != state.file && n != state.best_file {
            let _ = std::fs::remove_file(e.path());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every WER a dev set of up to 300 words can give (100·e/n) survives
    /// the checkpoint's write and read exactly: a resumed run compares a
    /// later epoch's dev WER with the very number it had, so a tie stays a
    /// tie and the first best epoch stays the best.
    #[test]
    fn dev_wers_survive_the_checkpoint_bit_for_bit() {
        let mut wers = vec![];
        for n in 1..=300u32 {
            for e in 0..=2 * n {
                wers.push(100.0 * e as f64 / n as f64);
            }
        }
        let state = State {
            step: 7,
            history: wers
                .iter()
                .map(|&w| EpochLog {
                    dev_wer: w,
                    ..Default::default()
                })
                .collect(),
            best_wer: 100.0 * 7.0 / 6.0,
            best_epoch: 2,
            file: String::new(),
            best_file: String::new(),
            hook: Some(serde_json::json!({ "distances": wers })),
            stopped: false,
        };
        let back: State = serde_json::from_slice(&serde_json::to_vec(&state).unwrap()).unwrap();
        assert_eq!(back.best_wer.to_bits(), state.best_wer.to_bits());
        for (a, b) in back.history.iter().zip(&state.history) {
            assert_eq!(a.dev_wer.to_bits(), b.dev_wer.to_bits(), "{}", b.dev_wer);
        }
        let distances: Vec<f64> =
            serde_json::from_value(back.hook.unwrap()["distances"].clone()).unwrap();
        assert!(distances
            .iter()
            .zip(&wers)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}
