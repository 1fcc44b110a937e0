//! `lotto bench [WHAT]`: prints benchmark figures (see `crate::bench`).

use crate::app::App;
use crate::bench::{self, torch::TorchModel};
use crate::cli::BenchWhat;
use crate::error::{CmdResult, Fail};

/// The train step with the portable kernels (the default: the same
/// numbers on every CPU) and with the native ones, what reproducibility
/// costs, and PyTorch beside both.
fn train(app: &App, iters: usize) -> CmdResult {
    use lotto_stdlib::device::{set_kernels, Kernels};
    println!("machine: {}", bench::train::machine());
    let chosen = lotto_stdlib::device::kernels();
    let mut ours = vec![];
    for k in [Kernels::Portable, Kernels::Native] {
        set_kernels(k);
        ours.push((k, bench::train::run(iters).map_err(failed("train"))?));
    }
    set_kernels(chosen);
    println!(
        "portable / native kernels = {:.2}x train, {:.2}x inference (what the same numbers on every CPU cost here)",
        ours[0].1.train / ours[1].1.train,
        ours[0].1.infer / ours[1].1.infer
    );
    if bench::torch::torch_available() {
        for model in [TorchModel::Reference, TorchModel::Lotto] {
            println!("PyTorch, bench/ds2_torch.py {}:", model.arg());
            if let Some((train, infer)) = bench::torch::torch_peer(&app.ws, model) {
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
