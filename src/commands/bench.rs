//! `lotto bench [WHAT]`: prints benchmark figures (see `crate::bench`).

use crate::app::App;
use crate::bench::{self, torch::TorchModel};
use crate::cli::BenchWhat;
use crate::error::{CmdResult, Fail};

/// The train step with the portable kernels (the default: the same
/// numbers on every CPU) and with the native ones, what reproducibility
/// costs, and PyTorch beside both. With the portable kernels forced to
/// AVX2 on an AVX-512 CPU (`LOTTO_KERNEL_ISA=avx2`) the bench stands in
/// for an AVX2 machine: PyTorch is kept to AVX2 too, and the native
/// kernels, which would pick AVX-512, are left out.
fn train(app: &App, iters: usize) -> CmdResult {
    use lotto_stdlib::device::{isa, set_kernels, supported_isas, Isa, Kernels};
    println!("machine: {}", bench::train::machine());
    let as_avx2 = isa() == Isa::Avx2 && supported_isas()[0] == Isa::Avx512;
    let sets: &[Kernels] = if as_avx2 {
        let env: Vec<String> = bench::torch::AVX2_ONLY
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!(
            "standing in for an AVX2 machine: lotto's portable kernels on AVX2, PyTorch with {} \
             (the native kernels are left out: they would use AVX-512)",
            env.join(" ")
        );
        &[Kernels::Portable]
    } else {
        &[Kernels::Portable, Kernels::Native]
    };
    let chosen = lotto_stdlib::device::kernels();
    let mut ours = vec![];
    for &k in sets {
        set_kernels(k);
        ours.push((k, bench::train::run(iters).map_err(failed("train"))?));
    }
    set_kernels(chosen);
    if let [(_, portable), (_, native)] = ours.as_slice() {
        println!(
            "portable / native kernels = {:.2}x train, {:.2}x inference (what the same numbers on every CPU cost here)",
            portable.train / native.train,
            portable.infer / native.infer
        );
    }
    if bench::torch::torch_available() {
        for model in [TorchModel::Reference, TorchModel::Lotto] {
            println!("PyTorch, bench/ds2_torch.py {}:", model.arg());
            if let Some((train, infer)) = bench::torch::torch_peer(&app.ws, model, as_avx2) {
                for (k, t) in &ours {
                    println!(
                        "ratio lotto ({} kernels) / PyTorch ({}) = {:.2}x train, {:.2}x inference (goal ≤ 1.0x)",
                        k.name(),
                        model.arg(),
                        t.train / train,
                        t.infer / infer
                    );
                }
            }
        }
    }
    Ok(())
}

fn failed(name: &'static str) -> impl Fn(String) -> Fail {
    move |e| Fail::failed(format!("{name} benchmark: {e}"))
}

pub fn run(app: &App, what: BenchWhat, iters: usize, models: &[String]) -> CmdResult {
    let exe = std::env::current_exe().map_err(|e| Fail::usage(e.to_string()))?;
    let is = |w: BenchWhat| {
        what == w
            || (what == BenchWhat::All
                && !matches!(
                    w,
                    BenchWhat::EarlyBird | BenchWhat::Prune | BenchWhat::Scale | BenchWhat::Ops
                ))
    };
    if is(BenchWhat::Check) {
        bench::check::run(&exe, &app.ws, &app.reg).map_err(failed("check"))?;
    }
    if is(BenchWhat::Resume) {
        bench::resume::run(&exe, &app.ws).map_err(failed("resume"))?;
    }
    if is(BenchWhat::Kernels) {
        bench::kernels::run();
    }
    if is(BenchWhat::Audio) {
        bench::audio::run(&app.ws, 3).map_err(failed("audio"))?;
    }
    if is(BenchWhat::Prune) {
        bench::prune::run(&exe).map_err(failed("prune"))?;
    }
    if is(BenchWhat::Scale) {
        bench::scale::run(&exe, &app.ws).map_err(failed("scale"))?;
    }
    if is(BenchWhat::Ops) {
        bench::ops::run(&exe, &app.ws, models, &app.numeric_args()).map_err(failed("ops"))?;
    }
    if is(BenchWhat::EarlyBird) {
        bench::early_bird::run(&exe, &app.ws).map_err(failed("early-bird"))?;
    }
    if is(BenchWhat::Train) {
        train(app, iters)?;
    }
    Ok(())
}
