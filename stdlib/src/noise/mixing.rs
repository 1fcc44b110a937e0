//! Mixing background noise into speech: the paper's clean + a·noise, or a
//! noise gain that reaches a given SNR, with a random crop of a random
//! noise file. `mix` does this per test utterance, noise injection per
//! training utterance, with the same draws in the same order.

use crate::rng::Rng;
use lotto_interpreter::registry::Invalid;
use lotto_interpreter::typed::FromValue;
use lotto_interpreter::value::Value;

/// A noise level or SNR: one value, or a `[low, high]` range from which
/// each utterance draws its own uniformly (the paper's RQ4 training draws
/// a ~ U(0, level): `[0, 0.5]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Drawn {
    pub low: f64,
    pub high: Option<f64>,
}

impl FromValue for Drawn {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::List(l) if !l.is_empty() && l.len() <= 2 => Ok(Drawn {
                low: f64::from_value(&l[0])?,
                high: l.get(1).map(f64::from_value).transpose()?,
            }),
            other => Ok(Drawn {
                low: f64::from_value(other)?,
                high: None,
            }),
        }
    }
}

impl Drawn {
    /// As recorded in training settings: (low, high).
    pub fn pair(self) -> (f64, Option<f64>) {
        (self.low, self.high)
    }

    /// A range must be written low to high.
    pub fn check(d: Option<Drawn>, param: &'static str) -> Result<(), Invalid> {
        match d {
            Some(Drawn {
                low,
                high: Some(high),
            }) if high < low => Err(Invalid::at(
                param,
                format!("write the range low to high: `[{high}, {low}]`"),
            )),
            _ => Ok(()),
        }
    }

    pub fn from_pair((low, high): (f64, Option<f64>)) -> Drawn {
        Drawn { low, high }
    }

    /// This utterance's value: the value itself, or a uniform draw from the
    /// range (the only case that takes a number from `rng`).
    pub fn draw(self, rng: &mut Rng) -> f64 {
        match self.high {
            Some(h) => self.low + (h - self.low) * rng.f64(),
            None => self.low,
        }
    }
}

/// The noise-injection arguments of a training op (`noise`, `noise_level`,
/// `noise_snr`): a bank needs exactly one of level and SNR, and neither
/// comes without a bank.
pub fn check_injection(
    noise: bool,
    level: Option<Drawn>,
    snr: Option<Drawn>,
) -> Result<(), Invalid> {
    Drawn::check(level, "noise_level")?;
    Drawn::check(snr, "noise_snr")?;
    match (noise, level.is_some(), snr.is_some()) {
        (true, true, true) => Err(Invalid::at(
            "noise_snr",
            "give `noise_level` or `noise_snr`, not both",
        )),
        (true, false, false) => Err(Invalid::at(
            "noise",
            "noise injection needs `noise_level: 0.2` or `noise_snr: 10dB`",
        )),
        (false, true, _) => Err(Invalid::at(
            "noise_level",
            "`noise_level` needs a noise bank: `noise: bank`",
        )),
        (false, _, true) => Err(Invalid::at(
            "noise_snr",
            "`noise_snr` needs a noise bank: `noise: bank`",
        )),
        _ => Ok(()),
    }
}

/// Mixes a random crop of a random file of `noises` into `x`, the SNR or
/// level drawn from its range. Returns the SNR the mix produced, in dB.
pub fn mix_random(
    x: &mut [f32],
    noises: &[Vec<f32>],
    level: Option<Drawn>,
    snr: Option<Drawn>,
    rng: &mut Rng,
) -> f64 {
    let n = &noises[rng.below(noises.len())];
    let snr_db = snr.map(|d| d.draw(rng));
    let level = level.map(|d| d.draw(rng));
    mix_into(x, n, level, snr_db, rng)
}

/// Mixes noise into `clean` in place: `level` gives the paper's
/// clean + a·noise with a = level; `snr_db` scales the noise to that SNR.
/// Returns the SNR produced (power of `clean` over power of the added
/// noise, in dB; +∞ when nothing was added).
pub fn mix_into(
    clean: &mut [f32],
    noise: &[f32],
    level: Option<f64>,
    snr_db: Option<f64>,
    rng: &mut Rng,
) -> f64 {
    if noise.is_empty() || clean.is_empty() {
        return f64::INFINITY;
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
    let (mut pc, mut pn) = (0.0f64, 0.0f64);
    for (c, n) in clean.iter_mut().zip(&crop) {
        let added = gain * *n as f64;
        pc += (*c as f64).powi(2);
        pn += added * added;
        *c += added as f32;
    }
    if pn > 0.0 {
        10.0 * (pc / pn).log10()
    } else {
        f64::INFINITY
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
            let produced = mix_into(&mut x, &noise, None, Some(snr), &mut Rng::new(3));
            let pn: f64 = x
                .iter()
                .zip(&clean)
                .map(|(a, b)| ((a - b) as f64).powi(2))
                .sum();
            let pc: f64 = clean.iter().map(|a| (*a as f64).powi(2)).sum();
            let measured = 10.0 * (pc / pn).log10();
            assert!((measured - snr).abs() < 0.05, "asked {snr} got {measured}");
            assert!(
                (produced - measured).abs() < 1e-6,
                "{produced} vs {measured}"
            );
        }
    }

    #[test]
    fn a_range_draws_uniformly_per_utterance_and_a_value_draws_nothing() {
        let d = Drawn {
            low: 0.0,
            high: Some(0.5),
        };
        // Hand-computed: the draw is low + (high - low)·u for the stream's
        // next uniform u.
        let u = Rng::derive(7, "utt1").f64();
        assert_eq!(d.draw(&mut Rng::derive(7, "utt1")), 0.5 * u);
        let draws: Vec<f64> = (0..2000)
            .map(|i| d.draw(&mut Rng::derive(1, &format!("u{i}"))))
            .collect();
        assert!(draws.iter().all(|&a| (0.0..0.5).contains(&a)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        // U(0, 0.5): mean 0.25, standard error 0.5/√12/√2000 ≈ 0.0032.
        assert!((mean - 0.25).abs() < 0.015, "{mean}");
        let fixed = Drawn {
            low: 0.2,
            high: None,
        };
        let mut a = Rng::new(3);
        assert_eq!(fixed.draw(&mut a), 0.2);
        assert_eq!(
            a.f64(),
            Rng::new(3).f64(),
            "a value leaves the stream alone"
        );
    }

    #[test]
    fn snr_reads_a_value_or_a_range() {
        assert_eq!(
            Drawn::from_value(&Value::Float(5.0)).unwrap(),
            Drawn {
                low: 5.0,
                high: None
            }
        );
        let range = Value::List(vec![Value::Int(0), Value::Float(20.0)]);
        assert_eq!(
            Drawn::from_value(&range).unwrap(),
            Drawn {
                low: 0.0,
                high: Some(20.0)
            }
        );
    }
}
