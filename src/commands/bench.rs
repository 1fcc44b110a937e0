//! `lotto bench [WHAT]`: prints benchmark figures (see `crate::bench`).

use crate::app::App;
use crate::bench::{self, torch::TorchModel};
use crate::cli::BenchWhat;
use crate::error::{CmdResult, Fail};

fn failed(name: &'static str) -> impl Fn(String) -> Fail {
    move |e| Fail::failed(format!("{name} benchmark: {e}"))
}

pub fn run(app: &App, what: BenchWhat, iters: usize) -> CmdResult {
    let exe = std::env::current_exe().map_err(|e| Fail::usage(e.to_string()))?;
    let is = |w: BenchWhat| {
        what == w
            || (what == BenchWhat::All
                && !matches!(
                    w,
                    BenchWhat::EarlyBird | BenchWhat::Prune | BenchWhat::Scale
                ))
    };
    if is(BenchWhat::Check) {
        bench::check::run(&exe, &app.ws, &app.reg).map_err(failed("check"))?;
    }
    if is(BenchWhat::Resume) {
        bench::resume::run(&exe, &app.ws).map_err(failed("resume"))?;
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
    if is(BenchWhat::EarlyBird) {
        bench::early_bird::run(&exe, &app.ws).map_err(failed("early-bird"))?;
    }
    if is(BenchWhat::Train) {
        let ours = bench::train::run(iters).map_err(failed("train"))?;
        if bench::torch::torch_available() {
            for model in [TorchModel::Reference, TorchModel::Lotto] {
                println!("PyTorch, bench/ds2_torch.py {}:", model.arg());
                if let Some(torch) = bench::torch::torch_peer(&app.ws, model) {
                    println!(
                        "ratio lotto/PyTorch ({}) = {:.2}x (goal ≤ 1.0x)",
                        model.arg(),
                        ours / torch
                    );
                }
            }
        }
    }
    Ok(())
}
