//! One DS2-small train step (batch 8 × 161 bins × 300 frames, 2 conv +
//! 3 BiLSTM-256, CTC, Adam), its weights' checksum and the floor its
//! matrix products put under it.

use super::{median, ms};
use lotto_stdlib::arch::{Arch, CnnLstmConfig};
use lotto_stdlib::features::spec::Feats;
use lotto_stdlib::training::batch::make_batch;
use lotto_stdlib::training::optimizer::{Opt, Stepper};
use lotto_stdlib::training::settings::FitSettings;
use std::time::Instant;

/// The median train step and inference forward pass, in seconds.
pub struct Medians {
    pub train: f64,
    pub infer: f64,
}

pub fn run(iters: usize) -> Result<Medians, String> {
    let ds2 = CnnLstmConfig::ds2(3, 256);
    let cfg = Arch::CnnLstm(ds2.clone());
    let device = lotto_stdlib::device::open("flex")?;
    let mut p = cfg.init(0, &device);
    let mut opt = Opt::new(&p);
    let mut rng = lotto_stdlib::rng::Rng::new(42);
    let feats: Vec<Feats> = (0..8)
        .map(|i| Feats {
            id: i.to_string(),
            text: (0..40)
                .map(|_| (b'a' + rng.below(26) as u8) as char)
                .collect(),
            frames: 300,
            data: (0..300 * 161).map(|_| rng.uniform(-1.0, 1.0)).collect(),
        })
        .collect();
    let refs: Vec<&Feats> = feats.iter().collect();
    let bt = make_batch(&refs, 161, lotto_stdlib::tokens::Tokens::Chars);
    let s = FitSettings::plain_adam(1, 8, 1e-4);
    let stepper = Stepper {
        cfg: &cfg,
        host_layers: true,
        settings: &s,
        masks: vec![None; p.values.len()],
        bins: 161,
        device: &device,
    };
    let kernels = match lotto_stdlib::device::kernels() {
        lotto_stdlib::device::Kernels::Portable => lotto_stdlib::device::portable_kernels(),
        lotto_stdlib::device::Kernels::Native => {
            format!("native kernels, {}", lotto_stdlib::device::cpu_numerics())
        }
    };
    println!(
        "DS2-small train step (lotto on burn flex, {kernels}): {} parameters, batch 8 x 161 x 300, CTC, Adam",
        p.total()
    );
    let mut times = vec![];
    let mut cpu = 0.0;
    for it in 0..iters + 2 {
        let (t0, c0) = (Instant::now(), cpu_seconds());
        let loss = stepper.step(&mut p, &mut opt, &bt, 1e-4)?;
        let d = t0.elapsed();
        println!("  iter {it}: loss {loss:.3}, {}", ms(d));
        if it >= 2 {
            times.push(d);
            cpu += cpu_seconds() - c0;
        }
    }
    let wall: f64 = times.iter().map(|d| d.as_secs_f64()).sum();
    let m = median(times).as_secs_f64();
    // A checksum of the trained weights, so that builds, backend features
    // and thread counts (RAYON_NUM_THREADS) can be compared bit for bit.
    let mut h = blake3::Hasher::new();
    for v in &p.values {
        for x in lotto_stdlib::nn::to_host(v) {
            h.update(&x.to_le_bytes());
        }
    }
    println!(
        "weights after {} steps: blake3 {}",
        iters + 2,
        &h.finalize().to_hex()[..16]
    );
    println!(
        "lotto (burn flex, {} kernels) TRAIN step: median {:.3} s; {:.2} of {} threads busy on average",
        lotto_stdlib::device::kernels().name(),
        m,
        cpu / wall,
        rayon::current_num_threads()
    );
    // Inference: the forward pass of the trained weights in eval mode
    // (batch norm from running statistics, no autodiff), to log-probs.
    let eval_p = p.for_inference();
    let mut times = vec![];
    for it in 0..iters + 2 {
        let t0 = Instant::now();
        let lp = lotto_stdlib::decoding::batch_log_probs(&cfg, &eval_p, &bt, 161);
        let d = t0.elapsed();
        if lp.is_none() {
            return Err("the DS2 model has no CTC outputs".into());
        }
        if it >= 2 {
            times.push(d);
        }
    }
    let infer = median(times).as_secs_f64();
    println!(
        "lotto (burn flex, {} kernels) INFER forward: median {infer:.3} s",
        lotto_stdlib::device::kernels().name()
    );
    // The floor under the step: its matrix products at the rate gemm
    // reaches on one large product, on every thread.
    let gflop = ds2.train_step_flops(8, 300) / 1e9;
    let rate = lotto_stdlib::cpu::matrix::single_thread_gflops();
    let threads = rayon::current_num_threads();
    let floor = gflop / (rate * threads as f64);
    println!(
        "  matrix products: {gflop:.1} GFLOP per step; these kernels here: {rate:.1} GFLOP/s on one thread, \
         so ≥ {floor:.3} s on {threads} threads ({:.0}% of the median)",
        100.0 * floor / m
    );
    Ok(Medians { train: m, infer })
}

/// CPU seconds this process has used (user and system, all threads):
/// beside the wall time it says how much of a step the threads wait. An
/// upper bound on the work: rayon's threads spin a little before they
/// sleep, and spinning counts as busy.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return f64::NAN;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// The machine a benchmark ran on: CPU model, the vector extensions that
/// decide which kernels run, and the thread count.
pub fn machine() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let flags: Vec<&str> = info
        .lines()
        .find_map(|l| l.strip_prefix("flags"))
        .map(|l| {
            l.split_whitespace()
                .filter(|f| ["avx2", "fma", "avx512f", "avx512bw", "avx512vl"].contains(f))
                .collect()
        })
        .unwrap_or_default();
    format!(
        "{model}; flags {}; {} threads",
        if flags.is_empty() {
            "-".to_string()
        } else {
            flags.join(" ")
        },
        rayon::current_num_threads()
    )
}
