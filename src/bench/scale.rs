//! The paper's models at full size through training steps on real-length
//! utterances: seconds per step and peak resident memory, beside the
//! memory `lotto plan` estimates for the same step
//! (`training::cost::StepMemory`); and through greedy decoding, CTC beam
//! search and the export of their weights. Each case runs in a process
//! of its own, so one case's freed memory never hides another's peak.
//!
//! The utterances are real audio: bundled recordings joined to 15 s
//! (`long_utterances`).

use super::long_utterances::Bundled;
use super::rss::{mib, reset_peak, rss};
use lotto_stdlib::arch::Arch;
use lotto_stdlib::features::spec::{extract, Feats, FeatureSpec};
use lotto_stdlib::pruning::select::{prunable_names, Selection};
use lotto_stdlib::tensor_io::{HostTensor, TensorMap};
use lotto_stdlib::training::batch::make_batch;
use lotto_stdlib::training::cost::{train_flops, StepMemory, PLAN_SECONDS};
use lotto_stdlib::training::optimizer::{Opt, Stepper};
use lotto_stdlib::training::settings::FitSettings;
use lotto_stdlib::training::train_loop::mask_tensors;
use std::path::Path;
use std::time::Instant;

/// The environment variable that makes `lotto bench scale` run one case
/// (`MODEL/BATCH`) and print its figures.
const CASE: &str = "LOTTO_BENCH_SCALE_CASE";
/// The paper's longest utterance and LibriSpeech's rate, as `lotto plan`
/// assumes them.
const SECONDS: f64 = PLAN_SECONDS;
/// Utterances per step on this machine, and the paper's batch.
const BATCHES: [usize; 2] = [1, 2];
const PAPER_BATCH: usize = 32;

/// The features the paper feeds `arch`: the DS2 spectrogram (161 bins) or
/// the Conformers' 80-band filterbank.
fn features_for(arch: &Arch) -> FeatureSpec {
    let bins = arch.input_bins();
    if bins == FeatureSpec::ds2().bins() {
        FeatureSpec::ds2()
    } else {
        FeatureSpec {
            kind: "fbank".into(),
            window_s: 0.025,
            hop_s: 0.01,
            n_fft: 512,
            mels: bins,
            window_fn: "hann".into(),
            normalize: true,
        }
    }
}

/// `n` utterances of 15 s (see `long_utterances`) as `spec`'s features.
fn utterances(corpus: &Bundled, spec: &FeatureSpec, n: usize) -> Result<Vec<Feats>, String> {
    (0..n)
        .map(|i| {
            let (audio, text) = corpus.utterance(i)?;
            let (frames, data) = extract(&audio, spec);
            Ok(Feats {
                id: i.to_string(),
                text,
                frames,
                data,
            })
        })
        .collect()
}

/// The model `name` at the paper's size (the Efficient Conformer with 256
/// subwords learnt from the bundled transcripts), its features and `batch`
/// 15 s utterances.
fn setup(repo: &Path, name: &str, batch: usize) -> Result<(Arch, usize, Vec<Feats>), String> {
    let mut arch = lotto_stdlib::models::paper_models()?
        .into_iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| format!("no model `{name}`"))?
        .1;
    let corpus = Bundled::open(repo)?;
    if let Arch::EfficientConformer(c) = &mut arch {
        c.bpe = lotto_stdlib::bpe::Bpe::train(corpus.transcripts(), c.vocab - 1);
    }
    let spec = features_for(&arch);
    let feats = utterances(&corpus, &spec, batch)?;
    Ok((arch, spec.bins(), feats))
}

/// One case in this process: `MODEL/BATCH/STEPS` trains (see `train`),
/// `MODEL/BATCH/STEPS/graph` trains with burn's graph for every layer (the
/// graph a GPU runs, without the CPU's host layers), `MODEL/BATCH/greedy`,
/// `.../beam` and `.../export` run that op alone.
fn run_case(repo: &Path, case: &str) -> Result<(), String> {
    let parts: Vec<&str> = case.split('/').collect();
    let bad = || format!("bad case `{case}`: MODEL/BATCH/(STEPS[/graph]|greedy|beam|export)");
    let (name, batch, what, host_layers) = match parts.as_slice() {
        [name, batch, what] => (name, batch, what, true),
        [name, batch, what, "graph"] => (name, batch, what, false),
        _ => return Err(bad()),
    };
    let batch: usize = batch.parse().map_err(|_| bad())?;
    let (arch, bins, feats) = setup(repo, name, batch)?;
    match *what {
        "greedy" | "beam" | "export" if host_layers => inference(&arch, bins, &feats, what),
        steps => {
            let steps = steps.parse().map_err(|_| bad())?;
            train(&arch, bins, &feats, steps, host_layers)
        }
    }
}

/// Greedy decoding, CTC prefix beam search (width 16, no language model)
/// or the export of every weight as safetensors, from fresh weights;
/// prints `peak_mib seconds`.
fn inference(arch: &Arch, bins: usize, feats: &[Feats], what: &str) -> Result<(), String> {
    let device = lotto_stdlib::device::open("flex")?;
    reset_peak();
    let p = arch.init(0, &device);
    let t0 = Instant::now();
    match what {
        "greedy" => {
            lotto_stdlib::decoding::decode(arch, &p, feats, bins, feats.len());
        }
        "beam" => {
            let s = lotto_stdlib::beam::BeamSettings {
                width: 16,
                alpha: 0.0,
                beta: 0.0,
            };
            lotto_stdlib::decoding::decode_beam(arch, &p, feats, bins, feats.len(), (&s, None))?;
        }
        _ => {
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            lotto_stdlib::tensor_io::save(&dir.path().join("weights.safetensors"), &p.to_map())?;
        }
    }
    println!("{} {}", mib(rss().0), t0.elapsed().as_secs_f64());
    Ok(())
}

/// `steps` training steps on the batch (Adam, every prunable tensor
/// masked, θ0 kept on the host as IMP keeps it), with the CPU's host
/// layers or burn's graph throughout; prints `params frames labels
/// peak_mib estimate_mib state_mib activations_mib first_step_s
/// last_step_s flops_per_step`.
fn train(
    arch: &Arch,
    bins: usize,
    feats: &[Feats],
    steps: usize,
    host_layers: bool,
) -> Result<(), String> {
    let batch = feats.len();
    let refs: Vec<&Feats> = feats.iter().collect();
    let bt = make_batch(&refs, bins, arch.tokens());
    let labels = bt.targets.iter().map(|t| t.len()).max().unwrap_or(0);
    let device = lotto_stdlib::device::open("flex")?;
    reset_peak();
    let mut p = arch.init(0, &device);
    let theta0: Vec<Vec<f32>> = p.values.iter().map(lotto_stdlib::nn::to_host).collect();
    let prunable = prunable_names(arch, &Selection::Paper.selectors(arch))?;
    let ones: TensorMap = prunable
        .into_iter()
        .map(|(name, shape)| {
            let data = vec![1.0; shape.iter().product()];
            (name, HostTensor { shape, data })
        })
        .collect();
    let masks = mask_tensors(&p, Some(&ones));
    let mut opt = Opt::new(&p);
    let settings = FitSettings::plain_adam(1, batch, 1e-4);
    let stepper = Stepper {
        cfg: arch,
        host_layers,
        settings: &settings,
        masks,
        bins,
        device: &device,
    };
    let mut secs = vec![];
    for _ in 0..steps.max(1) {
        let t0 = Instant::now();
        let loss = stepper.step(&mut p, &mut opt, &bt, 1e-4)?;
        if !loss.is_finite() {
            return Err(format!("{}: loss {loss}", arch.name()));
        }
        secs.push(t0.elapsed().as_secs_f64());
    }
    drop(theta0);
    let est = StepMemory::of(arch, batch, bt.t, labels);
    let flops = batch as f64 * train_flops(arch, bt.t, labels);
    println!(
        "{} {} {labels} {} {} {} {} {} {} {flops}",
        p.total(),
        bt.t,
        mib(rss().0),
        mib(est.total()),
        mib(est.state),
        mib(est.activations),
        secs[0],
        secs[secs.len() - 1]
    );
    Ok(())
}

fn figures(exe: &Path, case: &str) -> Result<Vec<f64>, String> {
    super::case_figures(exe, "scale", CASE, case)
}

pub fn run(exe: &Path, repo: &Path) -> Result<(), String> {
    if let Ok(case) = std::env::var(CASE) {
        return run_case(repo, &case);
    }
    println!(
        "Training steps at the paper's sizes on {SECONDS:.0} s utterances (Adam, masks, θ0 kept), \
         each model and batch in a process of its own; peak: the process's resident peak; \
         estimate: what `lotto plan` computes for the same step"
    );
    for (name, arch) in lotto_stdlib::models::paper_models()? {
        for batch in BATCHES {
            let f = figures(exe, &format!("{name}/{batch}/2"))?;
            println!(
                "{name:<20} {:5.1}M  batch {batch}  {} frames, {} labels: \
                 step {:6.2} s (first {:6.2} s)  peak {:7.0} MiB  estimate {:7.0} MiB \
                 (state {:.0} + activations {:.0})  peak/estimate {:.2}  {:.0} GFLOP/s",
                f[0] / 1e6,
                f[1],
                f[2],
                f[8],
                f[7],
                f[3],
                f[4],
                f[5],
                f[6],
                f[3] / f[4],
                f[9] / f[8] / 1e9
            );
        }
        let f = figures(exe, &format!("{name}/1/1/graph"))?;
        println!(
            "{name:<20} batch 1 in burn's graph throughout (as on a GPU): one step {:6.2} s  \
             peak {:7.0} MiB  estimate {:7.0} MiB  peak/estimate {:.2}",
            f[8],
            f[3],
            f[4],
            f[3] / f[4]
        );
        for what in ["greedy", "beam", "export"] {
            if what == "beam" && matches!(arch, Arch::Rnnt(_)) {
                continue; // beam search decodes CTC models
            }
            let f = figures(exe, &format!("{name}/1/{what}"))?;
            println!(
                "{name:<20} {what:<6} on one 15 s utterance: {:6.2} s, peak {:7.0} MiB",
                f[1], f[0]
            );
        }
        // Both paper feature sets hop 10 ms: 100 frames a second.
        let paper = StepMemory::planned(&arch, PAPER_BATCH, 100.0);
        println!(
            "{name:<20} estimate at the paper's batch of {PAPER_BATCH} x {SECONDS:.0} s: {:.1} GiB \
             (activations {:.1} GiB)",
            paper.total() as f64 / (1u64 << 30) as f64,
            paper.activations as f64 / (1u64 << 30) as f64
        );
    }
    Ok(())
}
