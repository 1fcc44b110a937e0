//! Trained artifacts and the jobs that make them. A Trained artifact holds
//! `init.safetensors` (θ0, masked), `best.safetensors` (lowest dev WER),
//! `last.safetensors`, optional `masks.safetensors`, and `trained.yaml`
//! with everything needed to retrain it (IMP rounds, baselines and
//! transfers do).

use super::epoch_log::EpochLog;
use super::settings::FitSettings;
use super::train_loop::{EpochHook, Training};
use crate::arch::Arch;
use crate::artifacts::{read_yaml, write_yaml};
use crate::features::corpus_features::corpus_features;
use crate::features::spec::{Feats, FeatureSpec};
use crate::noise::injector::NoiseInjector;
use crate::pruning::masks::{masked, remaining, Masks};
use crate::tensor_io::{self, TensorMap};
use lotto_interpreter::progress::Progress;
use lotto_interpreter::run_ctx::RunCtx;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainedInfo {
    pub model: Arch,
    pub features: FeatureSpec,
    pub settings: FitSettings,
    pub train_corpus: String,
    pub dev_corpus: String,
    pub best_epoch: usize,
    pub best_dev_wer: f64,
    /// Remaining weights, % of prunable, measured from the masks.
    pub rw: f64,
    pub history: Vec<EpochLog>,
    /// Why the kept epoch is a weak choice, if it is: shown in the run and
    /// in reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

pub fn read_trained(dir: &Path) -> Result<TrainedInfo, String> {
    read_yaml(&dir.join("trained.yaml"))
}

/// Loads a Trained artifact's record, best weights and masks.
pub fn load_trained(dir: &Path) -> Result<(TrainedInfo, TensorMap, Option<Masks>), String> {
    let info = read_trained(dir)?;
    let best = tensor_io::load(&dir.join("best.safetensors"))?;
    Ok((info, best, load_masks(dir)?))
}

/// A Trained artifact's masks, if it is a pruned model.
pub fn load_masks(dir: &Path) -> Result<Option<Masks>, String> {
    let mp: PathBuf = dir.join("masks.safetensors");
    if mp.is_file() {
        tensor_io::load(&mp).map(Some)
    } else {
        Ok(None)
    }
}

/// θ0 for a model: our seeded initialisation.
pub fn fresh_init(cfg: &Arch, seed: u64) -> TensorMap {
    cfg.init(seed, &burn::tensor::Device::flex()).to_map()
}

/// Everything a (re)training needs, loaded from artifacts.
pub struct TrainJob<'a> {
    pub cfg: Arch,
    pub spec: FeatureSpec,
    pub settings: FitSettings,
    pub train: Vec<Feats>,
    pub dev: Vec<Feats>,
    pub train_id: String,
    pub dev_id: String,
    /// The store's objects and the workspace: noise injection decodes
    /// training audio again.
    pub objects: PathBuf,
    pub ws: PathBuf,
    pub device: String,
    pub progress: &'a Progress,
}

/// Where one training of a job writes, and what it starts from.
pub struct Run<'r> {
    pub init: &'r TensorMap,
    pub masks: Option<&'r Masks>,
    /// The artifact folder and the checkpoints folder.
    pub out: &'r Path,
    pub ckpt: &'r Path,
    pub label: &'r str,
    /// Late rewinding: continue from this optimizer state and step (the
    /// rest of the schedule) instead of starting one.
    pub from_point: Option<&'r (TensorMap, u64)>,
    /// Also write the final optimizer state (`optimizer.safetensors`,
    /// `optimizer.json`): a rewinding point's, for the rounds to continue.
    pub keep_optimizer: bool,
}

/// The optimizer state a `keep_optimizer` run wrote in `dir`.
pub fn load_optimizer(dir: &Path) -> Result<(TensorMap, u64), String> {
    let moments = tensor_io::load(&dir.join("optimizer.safetensors"))?;
    let f = dir.join("optimizer.json");
    let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", f.display()))?;
    let step = v["step"]
        .as_u64()
        .ok_or_else(|| format!("{}: no `step`", f.display()))?;
    Ok((moments, step))
}

impl<'a> TrainJob<'a> {
    /// A job training `cfg` on the corpora in `train_dir` and `dev_dir`,
    /// their `spec` features extracted or reused (`fit`, `transfer`).
    pub fn new(
        ctx: &mut RunCtx<'a>,
        cfg: Arch,
        spec: FeatureSpec,
        settings: FitSettings,
        corpora: (&Path, &Path),
    ) -> Result<TrainJob<'a>, String> {
        let (train_dir, dev_dir) = corpora;
        let train = corpus_features(ctx, train_dir, &spec)?;
        let dev = corpus_features(ctx, dev_dir, &spec)?;
        Ok(TrainJob {
            cfg,
            spec,
            settings,
            train,
            dev,
            train_id: ctx.artifact_id(train_dir),
            dev_id: ctx.artifact_id(dev_dir),
            objects: ctx.store.root.join("objects"),
            ws: ctx.workspace.to_path_buf(),
            device: ctx.device.to_string(),
            progress: ctx.progress,
        })
    }

    /// The job that trained `info`, for retraining (IMP rounds, baselines).
    pub fn from_trained(ctx: &mut RunCtx<'a>, info: &TrainedInfo) -> Result<TrainJob<'a>, String> {
        let objects = ctx.store.root.join("objects");
        TrainJob::new(
            ctx,
            info.model.clone(),
            info.features.clone(),
            info.settings.clone(),
            (
                &objects.join(&info.train_corpus),
                &objects.join(&info.dev_corpus),
            ),
        )
    }

    /// Trains into the running step's own output and records the metrics
    /// every training step reports.
    pub fn run_step(
        &self,
        ctx: &mut RunCtx,
        init: &TensorMap,
        masks: Option<&Masks>,
    ) -> Result<TrainedInfo, String> {
        ctx.metric("train_utterances", self.train.len() as u64);
        let (out, ckpt) = (ctx.out.to_path_buf(), ctx.checkpoints.to_path_buf());
        let run = Run {
            init,
            masks,
            out: &out,
            ckpt: &ckpt,
            label: ctx.step_name,
            from_point: None,
            keep_optimizer: false,
        };
        let info = self.run(&run, None)?;
        ctx.metric("best_epoch", info.best_epoch as u64);
        ctx.metric("best_dev_wer", info.best_dev_wer);
        Ok(info)
    }

    /// Trains from `run.init` under `run.masks`, writing a Trained artifact
    /// in `run.out` (`fit`, every IMP round and every random-ticket round
    /// use this). A `hook` may stop training early (early-bird rounds).
    pub fn run(&self, run: &Run, hook: Option<&mut dyn EpochHook>) -> Result<TrainedInfo, String> {
        let device = crate::device::open(&self.device)?;
        let inject = match &self.settings.noise {
            Some(n) => Some(NoiseInjector::new(
                n,
                &self.objects.join(&self.train_id),
                &self.objects,
                &self.ws,
                &self.spec,
            )?),
            None => None,
        };
        let training = Training {
            cfg: &self.cfg,
            settings: &self.settings,
            train: &self.train,
            dev: &self.dev,
            bins: self.spec.bins(),
            device: &device,
            device_name: &self.device,
            inject: inject.as_ref(),
            progress: self.progress,
            label: run.label,
            keep_moments: run.keep_optimizer,
        };
        let r = training.run(run.init, run.masks, run.ckpt, hook, run.from_point)?;
        if let Some((moments, step)) = &r.optimizer {
            tensor_io::save(&run.out.join("optimizer.safetensors"), moments)?;
            let json = serde_json::json!({ "step": step }).to_string();
            std::fs::write(run.out.join("optimizer.json"), json).map_err(|e| e.to_string())?;
        }
        if let Some(m) = run.masks {
            tensor_io::save(&run.out.join("masks.safetensors"), m)?;
        }
        let init_m = masked(run.init, run.masks);
        tensor_io::save(&run.out.join("init.safetensors"), &init_m)?;
        tensor_io::save(&run.out.join("best.safetensors"), &r.best)?;
        tensor_io::save(&run.out.join("last.safetensors"), &r.last)?;
        let info = TrainedInfo {
            model: self.cfg.clone(),
            features: self.spec.clone(),
            settings: self.settings.clone(),
            train_corpus: self.train_id.clone(),
            dev_corpus: self.dev_id.clone(),
            best_epoch: r.best_epoch,
            best_dev_wer: r.best_dev_wer,
            rw: run.masks.map(remaining).unwrap_or(100.0),
            history: r.history,
            warning: r.warning,
        };
        write_yaml(&run.out.join("trained.yaml"), &info)?;
        Ok(info)
    }
}
