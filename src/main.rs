//! The `lotto` command line: check, plan, run, show, graph, gc, ops, lock,
//! verify, bundle, status and bench. It wires the interpreter (language and
//! engine) to the stdlib (ops); each command is a module of `commands`.

mod alloc;
mod app;
mod bench;
mod cli;
mod commands;
mod error;
mod lockfile;
mod output;
mod slurm_run;

use app::App;
use clap::Parser;
use cli::{Cli, Cmd};
use error::{CmdResult, Fail};
use std::process::ExitCode;

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, which turns `lotto ops | head` into a panic on
    // the next print. Restore the default so lotto ends quietly like other
    // command-line tools when its reader goes away; a run killed this way
    // loses nothing, as after any kill.
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; it only
    // resets one signal's disposition to the OS default.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    alloc::keep_freed_memory();
    let cli = Cli::parse();
    let filter = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .with_writer(std::io::stderr)
        // A log written to a file (a Slurm job's, a benchmark's) stays plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    // A workspace is a folder that exists: a typo must not create one.
    if !cli.workspace.is_dir() {
        return Fail::usage(format!(
            "the workspace `{}` is not a folder here; pass the folder that holds your recipes and data",
            cli.workspace.display()
        ))
        .exit();
    }
    let ws = cli
        .workspace
        .canonicalize()
        .unwrap_or(cli.workspace.clone());
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut policy = match lotto_interpreter::paths::PathPolicy::new(&cli.data, &cwd) {
        Ok(p) => p,
        Err(e) => return Fail::usage(e).exit(),
    };
    if ws.join(lotto_interpreter::paths::BUNDLE_MARKER).is_file() {
        tracing::info!("bundle folder: reads and writes are confined to it and to --data folders");
        policy = policy.confined(&ws);
    }
    lotto_interpreter::paths::set(policy);
    let kernels = cli.kernels.map(|k| k.kernels());
    lotto_stdlib::device::set_kernels(kernels.unwrap_or(lotto_stdlib::device::Kernels::Portable));
    if let Err(e) = force_isa() {
        return Fail::usage(e).exit();
    }
    let app = App {
        store_root: cli.store.clone().unwrap_or_else(|| ws.join(".lotto")),
        ws,
        device: cli.device.clone(),
        kernels,
        reg: lotto_stdlib::registry(),
    };
    match dispatch(&app, cli.cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => f.exit(),
    }
}

/// `LOTTO_KERNEL_ISA=avx512|avx2|scalar` runs the portable kernels on that
/// instruction set instead of the fastest (the same numbers, slower): for
/// checking that claim on one machine.
fn force_isa() -> Result<(), String> {
    let Ok(name) = std::env::var("LOTTO_KERNEL_ISA") else {
        return Ok(());
    };
    let isa = lotto_stdlib::device::Isa::parse(&name).ok_or_else(|| {
        format!("LOTTO_KERNEL_ISA is `{name}`: use avx512, avx2 or scalar (or unset it)")
    })?;
    lotto_stdlib::device::force_isa(Some(isa)).map_err(|e| format!("LOTTO_KERNEL_ISA={name}: {e}"))
}

fn dispatch(app: &App, cmd: Cmd) -> CmdResult {
    match cmd {
        Cmd::Check { r, format } => commands::check::run(app, &r, format),
        Cmd::Plan { r, format } => commands::plan::run(app, &r, format),
        Cmd::Run(a) => commands::run::run(app, &a),
        Cmd::Status { r } => commands::status::run(app, &r),
        Cmd::ExecStep { r, key, force } => commands::exec_step::run(app, &r, &key, force),
        Cmd::Lock { r } => commands::lock::run(app, &r),
        Cmd::Verify(a) => commands::verify::run(app, &a),
        Cmd::Bundle {
            r,
            output,
            with_data,
        } => commands::bundle::run(app, &r, &output, with_data),
        Cmd::Show { r, step } => commands::show::run(app, &r, &step),
        Cmd::Graph { r, format } => commands::graph::run(app, &r, format),
        Cmd::Gc { dry_run, force } => commands::gc::run(app, dry_run, force),
        Cmd::Fsck { dry_run } => commands::fsck::run(app, dry_run),
        Cmd::Ops { name, markdown } => commands::ops::run(app, name.as_deref(), markdown),
        Cmd::Bench {
            what,
            iters,
            models,
        } => commands::bench::run(app, what, iters, &models),
    }
}
