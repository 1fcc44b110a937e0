//! Acoustic features of one waveform: the DS2 log1p spectrogram and the
//! Conformer log-mel filterbank, with per-utterance normalisation.

use crate::cpu::logarithm::{ln_1p_in_place, ln_in_place};
use realfft::RealFftPlanner;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::rc::Rc;

thread_local! {
    /// Real-input FFT plans, per thread: planning costs more than the
    /// frames of a short utterance, and every utterance of a corpus asks
    /// for the same length.
    static PLANNER: RefCell<RealFftPlanner<f32>> = RefCell::new(RealFftPlanner::new());
    /// Analysis windows by (length, kind), per thread: a window's f64
    /// cosines cost as much as a few frames' FFTs.
    static WINDOWS: RefCell<Vec<KeptWindow>> = const { RefCell::new(Vec::new()) };
}

/// An analysis window kept for its (length, kind).
type KeptWindow = ((usize, String), Rc<[f32]>);

/// The analysis window of `n` samples of `kind`, computed once per thread.
fn cached_window(n: usize, kind: &str) -> Rc<[f32]> {
    WINDOWS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((_, w)) = cache.iter().find(|((len, k), _)| *len == n && k == kind) {
            return Rc::clone(w);
        }
        let w: Rc<[f32]> = window(n, kind).into();
        cache.push(((n, kind.to_string()), Rc::clone(&w)));
        w
    })
}

/// The settings a features step publishes (`features.yaml`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FeatureSpec {
    /// The op that defined them, `spectrogram` or `fbank`: extraction is
    /// that op's work, keyed by its version wherever it runs.
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

/// The analysis window, computed in f64 and rounded: libm's f64 cosine is
/// within an ulp, so the rounded f32 is the same whatever the C library
/// (an f32 `cosf` may differ in its last bit between glibc releases).
fn window(n: usize, kind: &str) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let x = 2.0 * std::f64::consts::PI * i as f64 / (n - 1).max(1) as f64;
            let w = match kind {
                "hann" => 0.5 - 0.5 * x.cos(),
                _ => 0.54 - 0.46 * x.cos(),
            };
            w as f32
        })
        .collect()
}

fn mel(f: f64) -> f64 {
    2595.0 * (1.0 + f / 700.0).log10()
}

/// The triangular mel filters, each as (bin, weight) pairs; computed in
/// f64 for the same reason as the window.
fn mel_bank(mels: usize, n_fft: usize) -> Vec<Vec<(usize, f32)>> {
    let bins = n_fft / 2 + 1;
    let (lo, hi) = (mel(0.0), mel(crate::audio::RATE as f64 / 2.0));
    let pts: Vec<f64> = (0..mels + 2)
        .map(|i| lo + (hi - lo) * i as f64 / (mels + 1) as f64)
        .map(|m| 700.0 * (10f64.powf(m / 2595.0) - 1.0))
        .collect();
    let hz = |b: usize| b as f64 * crate::audio::RATE as f64 / n_fft as f64;
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
                    (w > 0.0).then_some((b, w as f32))
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
    let w = cached_window(win, &spec.window_fn);
    let frames = if x.len() < win {
        1
    } else {
        (x.len() - win) / hop + 1
    };
    let fft = PLANNER.with(|p| p.borrow_mut().plan_fft_forward(n_fft));
    let bank = (spec.kind == "fbank").then(|| mel_bank(spec.mels, n_fft));
    let out_bins = spec.bins();
    let mut out = Vec::with_capacity(frames * out_bins);
    // One set of buffers for all frames (`process` would allocate per call).
    let mut frame = fft.make_input_vec();
    let mut bins = fft.make_output_vec();
    let mut scratch = fft.make_scratch_vec();
    for f in 0..frames {
        // The window's samples (fewer at the end of a short signal), then
        // zeros up to the FFT length.
        let start = (f * hop).min(x.len());
        let n = (x.len() - start).min(win);
        for ((d, s), wi) in frame.iter_mut().zip(&x[start..start + n]).zip(w.iter()) {
            *d = s * wi;
        }
        frame[n..].fill(0.0);
        fft.process_with_scratch(&mut frame, &mut bins, &mut scratch)
            .expect("the buffers come from the plan, so their lengths fit it");
        match &bank {
            // Squared magnitudes here; their square roots in one pass below.
            None => out.extend(bins.iter().map(|c| c.norm_sqr())),
            Some(bank) => out.extend(bank.iter().map(|filt| {
                let e: f32 = filt.iter().map(|(b, wt)| bins[*b].norm_sqr() * wt).sum();
                e + 1e-10
            })),
        }
    }
    // Magnitudes (energies) to their logarithms in one pass, vectorized,
    // the same bits on every CPU and C library. The square root is exact
    // (correctly rounded) at every vector width.
    match bank {
        None => {
            out.iter_mut().for_each(|v| *v = v.sqrt());
            ln_1p_in_place(&mut out)
        }
        Some(_) => ln_in_place(&mut out),
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
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(peak, 20); // 1000 Hz / (16000/320) Hz per bin
    }

    /// The DS2 features of a fixed signal keep their bits: lotto's build
    /// of realfft (stdlib/realfft, its twiddle loops built for AVX2) gives
    /// crates.io's realfft 3.5.1 bits. The digest is of rustfft's AVX path,
    /// which every x86-64 CPU with AVX2 and FMA takes.
    #[test]
    fn ds2_features_of_a_fixed_signal_keep_their_bits() {
        #[cfg(target_arch = "x86_64")]
        let avx = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
        #[cfg(not(target_arch = "x86_64"))]
        let avx = false;
        if !avx {
            eprintln!("skipped: the digest is of rustfft's AVX path, which this CPU lacks");
            return;
        }
        // A chirp with harmonics, computed in f64 and rounded once.
        let x: Vec<f32> = (0..24_011)
            .map(|i| {
                let t = i as f64 / 16_000.0;
                let p = 2.0 * std::f64::consts::PI * (200.0 * t + 1_500.0 * t * t);
                (0.5 * p.sin() + 0.25 * (3.0 * p).sin()) as f32
            })
            .collect();
        let (frames, f) = extract(&x, &FeatureSpec::ds2());
        assert_eq!(frames, 149);
        let mut h = blake3::Hasher::new();
        for v in &f {
            h.update(&v.to_bits().to_le_bytes());
        }
        assert_eq!(h.finalize().to_hex().as_str(), DS2_DIGEST);
    }

    /// What crates.io's realfft 3.5.1 gave for the signal above.
    const DS2_DIGEST: &str = "3e9fcf9b59b592e951e43c6071a2b70bc7d82e3ec36a362f479385ded15d1e9a";
}
