//! Audio decoding to 16 kHz mono f32: WAV (8/16/24/32-bit int, 32-bit
//! float) through hound; downmix; resampling by windowed-sinc interpolation.

use std::path::Path;

pub const RATE: u32 = 16_000;

/// Decodes a WAV file to mono f32 at its own rate. Errors name the file.
pub fn read_wav(path: &Path) -> Result<(Vec<f32>, u32), String> {
    let mut r = hound::WavReader::open(path)
        .map_err(|e| format!("`{}`: not a readable WAV file ({e})", path.display()))?;
    let spec = r.spec();
    if spec.channels == 0 || spec.sample_rate == 0 {
        return Err(format!(
            "`{}`: WAV header has no channels or no sample rate",
            path.display()
        ));
    }
    let ch = spec.channels as usize;
    let samples: Result<Vec<f32>, _> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().collect(),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            r.samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect()
        }
    };
    let samples = samples
        .map_err(|e| format!("`{}`: truncated or corrupt WAV data ({e})", path.display()))?;
    if samples.is_empty() {
        return Err(format!("`{}`: WAV file has no samples", path.display()));
    }
    if samples.iter().any(|v| !v.is_finite()) {
        return Err(format!(
            "`{}`: WAV data contains NaN or infinite samples",
            path.display()
        ));
    }
    let mono = if ch == 1 {
        samples
    } else {
        samples
            .chunks(ch)
            .map(|c| c.iter().sum::<f32>() / ch as f32)
            .collect()
    };
    Ok((mono, spec.sample_rate))
}

/// Band-limited resampling (Hann-windowed sinc, 16 taps per side).
pub fn resample(x: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || x.is_empty() {
        return x.to_vec();
    }
    let ratio = to as f64 / from as f64;
    let n_out = ((x.len() as f64) * ratio).round() as usize;
    let cutoff = ratio.min(1.0);
    let taps = 16i64;
    (0..n_out)
        .map(|i| {
            let t = i as f64 / ratio;
            let center = t.floor() as i64;
            let mut acc = 0.0;
            for k in (center - taps + 1)..=(center + taps) {
                if k < 0 || k as usize >= x.len() {
                    continue;
                }
                let d = t - k as f64;
                let w = 0.5 + 0.5 * (std::f64::consts::PI * d / taps as f64).cos();
                let arg = std::f64::consts::PI * d * cutoff;
                let sinc = if arg.abs() < 1e-9 {
                    1.0
                } else {
                    arg.sin() / arg
                };
                acc += x[k as usize] as f64 * sinc * cutoff * w;
            }
            acc as f32
        })
        .collect()
}

/// Reads any supported file to 16 kHz mono, with an optional segment.
pub fn load(path: &Path, segment: Option<(f64, f64)>) -> Result<Vec<f32>, String> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let (x, sr) = match ext.as_str() {
        "wav" => read_wav(path)?,
        other => {
            return Err(format!(
                "`{}`: audio format `{other}` is not supported by this build (WAV only); convert it with `sox {} -r 16000 -c 1 out.wav`",
                path.display(),
                path.display()
            ))
        }
    };
    let x = match segment {
        Some((a, b)) => {
            let (s, e) = ((a * sr as f64) as usize, (b * sr as f64) as usize);
            if e > x.len() || s >= e {
                return Err(format!(
                    "`{}`: segment {a:.2}s–{b:.2}s lies beyond the end of the audio ({:.2}s)",
                    path.display(),
                    x.len() as f64 / sr as f64
                ));
            }
            x[s..e].to_vec()
        }
        None => x,
    };
    Ok(resample(&x, sr, RATE))
}

pub fn write_wav(path: &Path, x: &[f32]) -> Result<(), String> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w =
        hound::WavWriter::create(path, spec).map_err(|e| format!("`{}`: {e}", path.display()))?;
    for &s in x {
        w.write_sample(s).map_err(|e| e.to_string())?;
    }
    w.finalize().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_int_and_float_wavs_and_rejects_junk() {
        let t = tempfile::tempdir().unwrap();
        for (bits, fmt) in [
            (8, hound::SampleFormat::Int),
            (16, hound::SampleFormat::Int),
            (24, hound::SampleFormat::Int),
            (32, hound::SampleFormat::Float),
        ] {
            let p = t.path().join(format!("x{bits}.wav"));
            let spec = hound::WavSpec {
                channels: 2,
                sample_rate: 16000,
                bits_per_sample: bits,
                sample_format: fmt,
            };
            let mut w = hound::WavWriter::create(&p, spec).unwrap();
            for i in 0..100 {
                let v = if i % 2 == 0 { 0.5 } else { -0.5 };
                match fmt {
                    hound::SampleFormat::Float => {
                        w.write_sample(v).unwrap();
                        w.write_sample(v).unwrap();
                    }
                    hound::SampleFormat::Int => {
                        let m = (1i32 << (bits - 1)) as f32 * v;
                        w.write_sample(m as i32).unwrap();
                        w.write_sample(m as i32).unwrap();
                    }
                }
            }
            w.finalize().unwrap();
            let (x, sr) = read_wav(&p).unwrap();
            assert_eq!((x.len(), sr), (100, 16000));
            assert!((x[0] - 0.5).abs() < 0.01, "{bits}: {}", x[0]);
        }
        let bad = t.path().join("bad.wav");
        std::fs::write(&bad, b"RIFF\x10\x00\x00\x00WAVEjunk").unwrap();
        assert!(load(&bad, None).unwrap_err().contains("bad.wav"));
        std::fs::write(&bad, b"").unwrap();
        assert!(load(&bad, None).is_err());
    }

    #[test]
    fn resampling_keeps_duration_and_tone() {
        let x: Vec<f32> = (0..48000)
            .map(|i| (i as f32 * 2.0 * std::f32::consts::PI * 440.0 / 48000.0).sin())
            .collect();
        let y = resample(&x, 48000, 16000);
        assert_eq!(y.len(), 16000);
        let rms = (y[100..15900].iter().map(|v| v * v).sum::<f32>() / 15800.0).sqrt();
        assert!((rms - 0.707).abs() < 0.02, "{rms}");
    }
}
