//! Training-time noise injection (`fit(..., noise: bank, noise_level: 0.2)`):
//! the same mixing as `mix`, applied to training utterances batch by batch.

use super::mixing::{mix_random, Drawn};
use crate::corpus::utt::{load_audio, read_utts, Utt};
use crate::features::spec::{extract, Feats, FeatureSpec};
use crate::rng::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Noise injection as recorded in a model's settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct NoiseSettings {
    /// The noise bank's artifact (relative to the store's objects).
    pub bank: String,
    /// The amplitude factor a, or the low end of its range ...
    pub level: Option<f64>,
    /// ... whose high end this is: a ~ U(level, level_high) per utterance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_high: Option<f64>,
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
    spec: FeatureSpec,
    ws: PathBuf,
    objects: PathBuf,
}

impl NoiseInjector {
    pub fn new(
        settings: &NoiseSettings,
        train_corpus: &Path,
        objects: &Path,
        ws: &Path,
        spec: &FeatureSpec,
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
        items: &[&Feats],
        seed: u64,
        label: &str,
    ) -> Result<Vec<Option<Feats>>, String> {
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
                let st = &self.settings;
                let level = st.level.map(|low| Drawn {
                    low,
                    high: st.level_high,
                });
                let snr = st.snr.map(Drawn::from_pair);
                mix_random(&mut x, &self.noises, level, snr, &mut rng);
                let (frames, data) = extract(&x, &self.spec);
                if frames != f.frames {
                    return Err(format!(
                        "noise injection: `{}` has {frames} frames but its cached features {}",
                        f.id, f.frames
                    ));
                }
                Ok(Some(Feats {
                    id: f.id.clone(),
                    text: f.text.clone(),
                    frames,
                    data,
                }))
            })
            .collect()
    }
}
