//! Whether a model's sizes can work with its features, known before
//! anything runs: every convolution kernel fits the frequency axis it
//! slides over, and the parameter count is one a machine can train.

use super::Arch;

/// Most parameters a model may have: 2^31 (8 GiB of weights, about 40 GiB
/// with gradients, Adam's moments and masks). The paper's largest model
/// has 132 million.
pub const MAX_PARAMS: f64 = 2_147_483_648.0;

/// Bytes of training state per parameter: weight, gradient, two Adam
/// moments and the mask, as f32.
const TRAIN_BYTES_PER_PARAM: f64 = 20.0;

impl Arch {
    /// The parameter count, counted in floating point so that absurd
    /// shapes are measured, not overflowed.
    pub fn params_f64(&self) -> f64 {
        self.layout()
            .0
            .iter()
            .map(|p| p.shape.iter().map(|&d| d as f64).product::<f64>())
            .sum()
    }

    /// Refuses sizes that cannot work at the input size this model is set
    /// to (see [`Arch::with_input_bins`]); the message says which layer.
    pub fn check_sizes(&self) -> Result<(), String> {
        match self {
            Arch::CnnLstm(c) => {
                let mut bins = c.input_bins;
                for (i, ((k, _), (after, _))) in c.kernels.iter().zip(c.conv_sizes(0)).enumerate() {
                    if *k > bins {
                        return Err(format!(
                            "conv layer {}'s kernel is {k} bins high, but its input has {bins} frequency bins: use a kernel of at most {bins}, or more bins",
                            i + 1
                        ));
                    }
                    bins = after;
                }
            }
            Arch::Conformer(c) => {
                if super::conformer::sub(super::conformer::sub(c.input_bins)) == 0 {
                    return Err(format!(
                        "the Conformer's subsampling needs at least 7 frequency bins; the features give {}",
                        c.input_bins
                    ));
                }
            }
            Arch::Rnnt(_) | Arch::EfficientConformer(_) => {}
        }
        // Checked before counting: a huge kernel would make a huge layout.
        let n = self.params_f64();
        if n > MAX_PARAMS {
            return Err(format!(
                "this model has {:.3e} parameters (about {:.0} GiB to train); models here are limited to {:.3e} (the paper's largest: 1.32e8)",
                n,
                n * TRAIN_BYTES_PER_PARAM / (1u64 << 30) as f64,
                MAX_PARAMS
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::CnnLstmConfig;
    use super::*;

    fn cnn(kernels: Vec<(usize, usize)>, bins: usize) -> Arch {
        let mut c = CnnLstmConfig::ds2(1, 16);
        c.strides = vec![(2, 1); kernels.len()];
        c.kernels = kernels;
        Arch::CnnLstm(c).with_input_bins(bins)
    }

    #[test]
    fn kernels_must_fit_the_frequency_axis_and_sizes_stay_sane() {
        cnn(vec![(11, 11)], 40).check_sizes().unwrap();
        let e = cnn(vec![(41, 11)], 40).check_sizes().unwrap_err();
        assert!(
            e.starts_with("conv layer 1's kernel is 41 bins high, but its input has 40"),
            "{e}"
        );
        // The second layer sees the first's output: 40 → 20 bins.
        let e = cnn(vec![(11, 5), (21, 5)], 40).check_sizes().unwrap_err();
        assert!(
            e.starts_with("conv layer 2's kernel is 21 bins high, but its input has 20"),
            "{e}"
        );
        let e = cnn(vec![(11, 4_294_967_295)], 40)
            .check_sizes()
            .unwrap_err();
        assert!(e.contains("parameters"), "{e}");
        // The paper's model at 161 bins is well within.
        Arch::CnnLstm(CnnLstmConfig::ds2(5, 1024))
            .check_sizes()
            .unwrap();
    }
}
