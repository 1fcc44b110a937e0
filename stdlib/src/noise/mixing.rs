//! Mixing background noise into speech: the paper's clean + a·noise, or a
//! noise gain that reaches a given SNR, with a random crop of a random
//! noise file. `mix` does this per test utterance, noise injection per
//! training utterance, with the same draws in the same order.

use crate::rng::Rng;
use lotto_interpreter::typed::FromValue;
use lotto_interpreter::value::Value;

/// An SNR in dB, or a `[low, high]` range drawn per utterance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Snr {
    pub low: f64,
    pub high: Option<f64>,
}

impl FromValue for Snr {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::List(l) if !l.is_empty() && l.len() <= 2 => Ok(Snr {
                low: f64::from_value(&l[0])?,
                high: l.get(1).map(f64::from_value).transpose()?,
            }),
            other => Ok(Snr {
                low: f64::from_value(other)?,
                high: None,
            }),
        }
    }
}

impl Snr {
    /// As recorded in training settings: (low, high).
    pub fn pair(self) -> (f64, Option<f64>) {
        (self.low, self.high)
    }
}

/// Mixes a random crop of a random file of `noises` into `x`, the SNR drawn
/// from its range.
pub fn mix_random(
    x: &mut [f32],
    noises: &[Vec<f32>],
    level: Option<f64>,
    snr: Option<(f64, Option<f64>)>,
    rng: &mut Rng,
) {
    let n = &noises[rng.below(noises.len())];
    let snr_db = snr.map(|(a, b)| match b {
        Some(b) => a + (b - a) * rng.f64(),
        None => a,
    });
    mix_into(x, n, level, snr_db, rng);
}

/// Mixes noise into `clean` in place: `level` gives the paper's
/// clean + a·noise with a = level; `snr_db` scales the noise to that SNR.
pub fn mix_into(
    clean: &mut [f32],
    noise: &[f32],
    level: Option<f64>,
    snr_db: Option<f64>,
    rng: &mut Rng,
) {
    if noise.is_empty() || clean.is_empty() {
        return;
    }
    let start = rng.below(noise.len());
    let crop: Vec<f32> = (0..clean.len())
        .map(|i| noise[(start + i) % noise.len()])
        .collect();
    let gain = match (level, snr_db) {
        (_, Some(snr)) => {
            let pc = clean.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / clean.len() as f64;
            let pn = crop.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / crop.len() as f64;
            if pn <= 0.0 {
                0.0
            } else {
                (pc / (pn * 10f64.powf(snr / 10.0))).sqrt()
            }
        }
        (Some(a), None) => a,
        _ => 0.0,
    };
    for (c, n) in clean.iter_mut().zip(&crop) {
        *c += (gain * *n as f64) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snr_mode_hits_requested_snr() {
        let mut rng = Rng::new(1);
        let clean: Vec<f32> = (0..16000).map(|i| (i as f32 * 0.05).sin() * 0.3).collect();
        let noise: Vec<f32> = (0..8000).map(|_| rng.uniform(-1.0, 1.0)).collect();
        for snr in [0.0, 5.0, 20.0] {
            let mut x = clean.clone();
            mix_into(&mut x, &noise, None, Some(snr), &mut Rng::new(3));
            let pn: f64 = x
                .iter()
                .zip(&clean)
                .map(|(a, b)| ((a - b) as f64).powi(2))
                .sum();
            let pc: f64 = clean.iter().map(|a| (*a as f64).powi(2)).sum();
            let measured = 10.0 * (pc / pn).log10();
            assert!((measured - snr).abs() < 0.05, "asked {snr} got {measured}");
        }
    }

    #[test]
    fn snr_reads_a_value_or_a_range() {
        assert_eq!(
            Snr::from_value(&Value::Float(5.0)).unwrap(),
            Snr {
                low: 5.0,
                high: None
            }
        );
        let range = Value::List(vec![Value::Int(0), Value::Float(20.0)]);
        assert_eq!(
            Snr::from_value(&range).unwrap(),
            Snr {
                low: 0.0,
                high: Some(20.0)
            }
        );
    }
}
