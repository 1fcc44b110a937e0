//! What training a model costs, as `lotto plan` shows it before anything
//! runs: the parameter count and the memory the parameters take during
//! training. Per parameter, 4-byte floats: the weights, their gradients,
//! Adam's two moments, the mask, θ0 and the best epoch's copy (seven
//! copies, 28 bytes). Activations, which grow with batch size and
//! utterance length, are not counted.

use crate::arch::Arch;

/// Bytes per parameter in training (see the module's doc).
const TRAINING_BYTES: usize = 7 * 4;

/// `86.6M parameters; 2.4 GB for parameters in training (activations not
/// counted)`.
pub fn describe(arch: &Arch) -> String {
    let p = arch.num_params();
    format!(
        "{}M parameters; {} for parameters in training, activations not counted",
        fmt_millions(p),
        fmt_bytes(p * TRAINING_BYTES)
    )
}

fn fmt_millions(n: usize) -> String {
    let m = n as f64 / 1e6;
    if m >= 10.0 {
        format!("{m:.1}")
    } else {
        format!("{m:.2}")
    }
}

fn fmt_bytes(b: usize) -> String {
    let g = b as f64 / 1e9;
    if g >= 1.0 {
        format!("{g:.1} GB")
    } else {
        format!("{:.0} MB", b as f64 / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::CnnLstmConfig;

    #[test]
    fn the_paper_cnn_lstm_needs_2_4_gb_for_its_parameters() {
        let arch = Arch::CnnLstm(CnnLstmConfig::ds2(5, 1024));
        let d = describe(&arch);
        // 86.6M parameters × 28 bytes.
        assert!(d.starts_with("86.6M parameters; 2.4 GB"), "{d}");
        assert_eq!(fmt_bytes(5_580_768 * 28), "156 MB");
    }
}
