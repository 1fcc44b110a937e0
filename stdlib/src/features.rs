//! Acoustic features: the DS2 log1p spectrogram and the Conformer log-mel
//! filterbank, per-utterance normalisation, SpecAugment. Feature steps
//! publish their settings; extraction runs inside training/evaluation as a
//! cached sub-step per (corpus, settings), computed in parallel with rayon.

use crate::corpus::{load_audio, read_utts};
use crate::op::*;
use lotto_interpreter::registry::{Output, PType, RunCtx};
use lotto_interpreter::value::{StepType, Value};
use lotto_interpreter::{Param, Registry};
use rustfft::num_complex::Complex;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FeatureSpec {
    /// `spectrogram` or `fbank`.
    pub kind: String,
    pub window_s: f64,
    pub hop_s: f64,
    pub n_fft: usize,
    pub mels: usize,
    pub window_fn: String,
    pub normalize: bool,
}

impl FeatureSpec {
    /// The paper's DS2 input: 20 ms Hamming windows every 10 ms, 161 bins
    /// of log1p magnitude, normalised per utterance.
    pub fn ds2() -> FeatureSpec {
        FeatureSpec {
            kind: "spectrogram".into(),
            window_s: 0.02,
            hop_s: 0.01,
            n_fft: 320,
            mels: 0,
            window_fn: "hamming".into(),
            normalize: true,
        }
    }
    pub fn bins(&self) -> usize {
        if self.kind == "fbank" {
            self.mels
        } else {
            self.n_fft / 2 + 1
        }
    }
}

/// One utterance's features, frames × bins, row-major.
#[derive(Clone, Debug)]
pub struct Feats {
    pub id: String,
    pub text: String,
    pub frames: usize,
    pub data: Vec<f32>,
}

fn window(n: usize, kind: &str) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let x = 2.0 * std::f32::consts::PI * i as f32 / (n - 1).max(1) as f32;
            match kind {
                "hann" => 0.5 - 0.5 * x.cos(),
                _ => 0.54 - 0.46 * x.cos(),
            }
        })
        .collect()
}

fn mel(f: f32) -> f32 {
    2595.0 * (1.0 + f / 700.0).log10()
}

fn mel_bank(mels: usize, n_fft: usize) -> Vec<Vec<(usize, f32)>> {
    let bins = n_fft / 2 + 1;
    let (lo, hi) = (mel(0.0), mel(crate::audio::RATE as f32 / 2.0));
    let pts: Vec<f32> = (0..mels + 2)
        .map(|i| lo + (hi - lo) * i as f32 / (mels + 1) as f32)
        .map(|m| 700.0 * (10f32.powf(m / 2595.0) - 1.0))
        .collect();
    let hz = |b: usize| b as f32 * crate::audio::RATE as f32 / n_fft as f32;
    (0..mels)
        .map(|m| {
            (0..bins)
                .filter_map(|b| {
                    let f = hz(b);
                    let w = if f < pts[m] || f > pts[m + 2] {
                        0.0
                    } else if f <= pts[m + 1] {
                        (f - pts[m]) / (pts[m + 1] - pts[m]).max(1e-6)
                    } else {
                        (pts[m + 2] - f) / (pts[m + 2] - pts[m + 1]).max(1e-6)
                    };
                    (w > 0.0).then_some((b, w))
                })
                .collect()
        })
        .collect()
}

/// Features of one waveform.
pub fn extract(x: &[f32], spec: &FeatureSpec) -> (usize, Vec<f32>) {
    let win = (spec.window_s * crate::audio::RATE as f64).round() as usize;
    let hop = ((spec.hop_s * crate::audio::RATE as f64).round() as usize).max(1);
    let n_fft = spec.n_fft.max(win);
    let w = window(win, &spec.window_fn);
    let frames = if x.len() < win {
        1
    } else {
        (x.len() - win) / hop + 1
    };
    let mut planner = rustfft::FftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(n_fft);
    let bins = n_fft / 2 + 1;
    let bank = (spec.kind == "fbank").then(|| mel_bank(spec.mels, n_fft));
    let out_bins = spec.bins();
    let mut out = Vec::with_capacity(frames * out_bins);
    let mut buf = vec![Complex::new(0.0f32, 0.0); n_fft];
    // One scratch buffer for all frames (`process` would allocate per call).
    let mut scratch = vec![Complex::new(0.0f32, 0.0); fft.get_inplace_scratch_len()];
    for f in 0..frames {
        for (i, b) in buf.iter_mut().enumerate() {
            let s = if i < win {
                x.get(f * hop + i).copied().unwrap_or(0.0) * w[i]
            } else {
                0.0
            };
            *b = Complex::new(s, 0.0);
        }
        fft.process_with_scratch(&mut buf, &mut scratch);
        match &bank {
            None => out.extend(buf[..bins].iter().map(|c| c.norm().ln_1p())),
            Some(bank) => out.extend(bank.iter().map(|filt| {
                let e: f32 = filt.iter().map(|(b, wt)| buf[*b].norm_sqr() * wt).sum();
                (e + 1e-10).ln()
            })),
        }
    }
    if spec.normalize {
        let n = out.len() as f32;
        let mean = out.iter().sum::<f32>() / n;
        let std = (out.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n)
            .sqrt()
            .max(1e-5);
        out.iter_mut().for_each(|v| *v = (*v - mean) / std);
    }
    (frames, out)
}

/// Extracts (or reuses) the features of a corpus artifact as a cached
/// sub-step keyed by the corpus and the settings.
pub fn corpus_features(
    ctx: &mut RunCtx,
    corpus_dir: &Path,
    spec: &FeatureSpec,
) -> Result<Vec<Feats>, String> {
    let corpus_id = ctx.artifact_id(corpus_dir);
    let material = format!(
        "features-v1|{corpus_id}|{}",
        serde_json::to_string(spec).unwrap()
    );
    let ws = ctx.workspace.to_path_buf();
    let objects = ctx.store.root.join("objects");
    let corpus_dir = corpus_dir.to_path_buf();
    let spec2 = spec.clone();
    let progress = ctx.progress;
    let label = format!("{} features", ctx.step_name);
    let dir = ctx.cached(&format!("features of {corpus_id}"), &material, move |out, _| {
        let utts = read_utts(&corpus_dir)?;
        let feats: Vec<Result<(usize, Vec<f32>), String>> = par_map_progress(progress, &label, &utts, |u| load_audio(u, &ws, &objects).map(|x| extract(&x, &spec2)));
        let mut index = String::new();
        let mut blob: Vec<u8> = vec![];
        let mut offset = 0usize;
        for (u, f) in utts.iter().zip(feats) {
            let (frames, data) = f?;
            index.push_str(&serde_json::to_string(&serde_json::json!({"id": u.id, "text": u.text, "frames": frames, "offset": offset})).unwrap());
            index.push('\n');
            offset += data.len();
            for v in data {
                blob.extend_from_slice(&v.to_le_bytes());
            }
        }
        std::fs::write(out.join("feats.bin"), blob).map_err(|e| e.to_string())?;
        std::fs::write(out.join("index.jsonl"), index).map_err(|e| e.to_string())?;
        let mut m = std::collections::BTreeMap::new();
        m.insert("utterances".to_string(), serde_yaml::Value::from(utts.len() as u64));
        Ok(m)
    })?;
    load_features(&dir, spec.bins())
}

fn load_features(dir: &Path, bins: usize) -> Result<Vec<Feats>, String> {
    let blob = std::fs::read(dir.join("feats.bin")).map_err(|e| e.to_string())?;
    let vals: Vec<f32> = blob
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let index = std::fs::read_to_string(dir.join("index.jsonl")).map_err(|e| e.to_string())?;
    index
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).map_err(|e| e.to_string())?;
            let frames = v["frames"].as_u64().unwrap_or(0) as usize;
            let off = v["offset"].as_u64().unwrap_or(0) as usize;
            Ok(Feats {
                id: v["id"].as_str().unwrap_or("").into(),
                text: v["text"].as_str().unwrap_or("").into(),
                frames,
                data: vals[off..off + frames * bins].to_vec(),
            })
        })
        .collect()
}

fn run_spec_op(ctx: &mut RunCtx) -> Result<(), String> {
    let a = ctx.args;
    let is_fbank = a.contains_key("mels");
    let window_s = arg_f64(a, "window");
    let n_fft = if is_fbank {
        arg_usize(a, "n_fft")
    } else {
        (window_s * crate::audio::RATE as f64).round() as usize
    };
    let spec = FeatureSpec {
        kind: if is_fbank {
            "fbank".into()
        } else {
            "spectrogram".into()
        },
        window_s,
        hop_s: arg_f64(a, "hop"),
        n_fft,
        mels: if is_fbank { arg_usize(a, "mels") } else { 0 },
        window_fn: if is_fbank {
            "hann".into()
        } else {
            arg_str(a, "window_fn").to_string()
        },
        normalize: arg_str(a, "normalize") == "utterance",
    };
    ctx.metric("bins", spec.bins() as u64);
    write_yaml(&ctx.out.join("features.yaml"), &spec)
}

pub fn read_spec(dir: &Path) -> Result<FeatureSpec, String> {
    read_yaml(&dir.join("features.yaml"))
}

pub fn register(r: &mut Registry) {
    r.add(FnOp {
        sig: sig("spectrogram", "Features", 1, Output::One(StepType::Features), "Log1p magnitude spectrogram (DS2: 20 ms Hamming window, 10 ms hop → 161 bins at 16 kHz), per-utterance mean/std normalisation.", vec![
            Param::opt("window", PType::Duration, Value::Float(0.02), "analysis window").range(0.001, 0.2),
            Param::opt("hop", PType::Duration, Value::Float(0.01), "frame hop").range(0.001, 0.2),
            Param::opt("window_fn", PType::Enum(&["hamming", "hann"]), Value::Sym("hamming".into()), "window function"),
            Param::opt("normalize", PType::Enum(&["utterance", "none"]), Value::Sym("utterance".into()), "mean/std normalisation"),
        ]),
        run: run_spec_op,
        reads: None,
        validate: None,
    });
    r.add(FnOp {
        sig: sig(
            "fbank",
            "Features",
            1,
            Output::One(StepType::Features),
            "Log-mel filterbank (Conformer: 80 mels, n_fft 512, 25 ms / 10 ms).",
            vec![
                Param::opt("mels", PType::Int, Value::Int(80), "mel bands").range(1.0, 512.0),
                Param::opt("n_fft", PType::Int, Value::Int(512), "FFT size").range(16.0, 8192.0),
                Param::opt(
                    "window",
                    PType::Duration,
                    Value::Float(0.025),
                    "analysis window",
                )
                .range(0.001, 0.2),
                Param::opt("hop", PType::Duration, Value::Float(0.01), "frame hop")
                    .range(0.001, 0.2),
                Param::opt(
                    "normalize",
                    PType::Enum(&["utterance", "none"]),
                    Value::Sym("utterance".into()),
                    "mean/std normalisation",
                ),
            ],
        ),
        run: run_spec_op,
        reads: None,
        validate: None,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ds2_spectrogram_has_161_bins_and_peaks_at_tone() {
        let spec = FeatureSpec {
            normalize: false,
            ..FeatureSpec::ds2()
        };
        let x: Vec<f32> = (0..16000)
            .map(|i| (i as f32 * 2.0 * std::f32::consts::PI * 1000.0 / 16000.0).sin())
            .collect();
        let (frames, f) = extract(&x, &spec);
        assert_eq!(spec.bins(), 161);
        assert_eq!(frames, 99);
        let row = &f[161 * 10..161 * 11];
        let peak = row
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.partial_cmp(b.1).unwrap())
            .unwrap()
            .0;
        assert_eq!(peak, 20); // 1000 Hz / (16000/320) Hz per bin
    }
}
