//! The PyTorch peer of the train benchmark (bench/ds2_torch.py).

use std::path::Path;

/// The two PyTorch models `bench/ds2_torch.py` times.
#[derive(Clone, Copy)]
pub enum TorchModel {
    /// The reference script: nn.LSTM concatenates the directions,
    /// so layers 2–3 take 512 inputs (6.6% more multiply-adds than ours).
    Reference,
    /// lotto's DS2 layer for layer: summed directions, sequence-wise batch
    /// norm between the LSTM layers, batch norm + bias-free head.
    Lotto,
}

impl TorchModel {
    pub fn arg(self) -> &'static str {
        match self {
            TorchModel::Reference => "reference",
            TorchModel::Lotto => "lotto",
        }
    }
}

/// Whether `python3 -c 'import torch'` works; says so when it does not.
pub fn torch_available() -> bool {
    super::python_has("torch", "PyTorch")
}

/// What keeps PyTorch to AVX2 and FMA on a CPU with AVX-512: ATen's
/// vectorised ops, oneDNN's kernels (its convolutions), MKL's matrix products.
/// With lotto's portable kernels forced to AVX2 as well, one machine
/// stands in for an AVX2 one on both sides of the comparison.
pub const AVX2_ONLY: [(&str, &str); 3] = [
    ("ATEN_CPU_CAPABILITY", "avx2"),
    ("ONEDNN_MAX_CPU_ISA", "AVX2"),
    ("MKL_ENABLE_INSTRUCTIONS", "AVX2"),
];

/// Runs bench/ds2_torch.py on 2 threads for `model` (kept to AVX2 where
/// `avx2_only`); returns its median train step and inference forward pass
/// in seconds.
pub fn torch_peer(repo: &Path, model: TorchModel, avx2_only: bool) -> Option<(f64, f64)> {
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(repo.join("bench/ds2_torch.py"))
        .args(["2", model.arg()]);
    if avx2_only {
        cmd.envs(AVX2_ONLY);
    }
    let out = cmd.output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    for line in text.lines().filter(|l| !l.starts_with("iter ")) {
        println!("  {line}");
    }
    if !out.status.success() {
        println!(
            "  bench/ds2_torch.py failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let median_of = |prefix: &str| -> Option<f64> {
        let line = text.lines().find(|l| l.starts_with(prefix))?;
        let ms = line
            .split("median ")
            .nth(1)?
            .split(" ms")
            .next()?
            .trim()
            .parse::<f64>()
            .ok()?;
        Some(ms / 1000.0)
    };
    Some((median_of("TRAIN total")?, median_of("INFER forward")?))
}
