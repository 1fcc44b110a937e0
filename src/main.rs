//! The `lotto` command line: check, plan, run, show, graph, gc and ops.
//! It wires the interpreter (language and engine) to the stdlib (ops).

mod alloc;
mod bench;
mod cluster;
mod share;

use clap::{Parser, Subcommand, ValueEnum};
use lotto_interpreter::check::{check_file, CheckOpts, Checked};
use lotto_interpreter::diag::{render_all, to_json, Diagnostic, Diagnostics, RenderOpts};
use lotto_interpreter::digest::DigestCache;
use lotto_interpreter::exec::{self, RunOpts};
use lotto_interpreter::plan::{self, Status};
use lotto_interpreter::source::Sources;
use lotto_interpreter::store::Store;
use lotto_interpreter::{key, Registry};
use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "lotto",
    version,
    about = "Lottery-ticket experiments on speech models, as cached, resumable recipes"
)]
struct Cli {
    /// Workspace folder: recipes, data paths and reports resolve against it.
    #[arg(long, global = true, default_value = ".")]
    workspace: PathBuf,
    /// Artifact store (default: WORKSPACE/.lotto).
    #[arg(long, global = true)]
    store: Option<PathBuf>,
    /// Device for numeric steps: flex (CPU), vulkan, cuda[:N], tch.
    #[arg(long, global = true, default_value = "flex")]
    device: String,
    /// Read a data path of the recipe from another folder: --data
    /// data/tiny=/mnt/corpora/tiny (repeatable; cache keys do not change).
    #[arg(long = "data", global = true, value_name = "NAME=PATH")]
    data: Vec<String>,
    /// More log output (or set RUST_LOG).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum Executor {
    /// Threads in this process.
    Local,
    /// One sbatch job per step, with afterok dependencies.
    Slurm,
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(clap::Args)]
struct RecipeArgs {
    /// The recipe file.
    file: PathBuf,
    /// Override a `param`: --set rounds=3 (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Allow report paths outside the workspace.
    #[arg(long)]
    allow_outside: bool,
}

#[derive(Subcommand)]
enum Cmd {
    /// Check a recipe: every error at once, with file:line:col and a hint.
    Check {
        #[command(flatten)]
        r: RecipeArgs,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Show each step: cached, or will run and why.
    Plan {
        #[command(flatten)]
        r: RecipeArgs,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Run a recipe, reusing every cached step.
    Run {
        #[command(flatten)]
        r: RecipeArgs,
        /// Run only these steps and what they need.
        #[arg(long)]
        only: Vec<String>,
        /// Rerun these steps even if cached.
        #[arg(long)]
        force: Vec<String>,
        /// Plan only.
        #[arg(long)]
        dry_run: bool,
        /// Steps run at once.
        #[arg(long, short, default_value_t = 1)]
        jobs: usize,
        /// Refuse to start if data, op versions or params differ from RECIPE.lock.
        #[arg(long)]
        locked: bool,
        /// Write RECIPE.lock after a successful run.
        #[arg(long, conflicts_with = "locked")]
        lock: bool,
        /// Where steps run: here, or as Slurm jobs (docs/slurm.md).
        #[arg(long, value_enum, default_value = "local")]
        executor: Executor,
        /// Slurm partition for every job.
        #[arg(long)]
        partition: Option<String>,
        /// Slurm account for every job.
        #[arg(long)]
        account: Option<String>,
        /// More sbatch options, e.g. --slurm-opt "--qos=long" (repeatable).
        #[arg(long = "slurm-opt", allow_hyphen_values = true)]
        slurm_opt: Vec<String>,
        /// With Slurm: return right after submitting.
        #[arg(long)]
        detach: bool,
    },
    /// Each step: cached, to run, or its Slurm job's state (with its log tail).
    Status {
        #[command(flatten)]
        r: RecipeArgs,
    },
    /// Run one step by key, its inputs already published (what a Slurm job runs).
    #[command(hide = true)]
    ExecStep {
        #[command(flatten)]
        r: RecipeArgs,
        #[arg(long)]
        key: String,
        #[arg(long)]
        force: bool,
    },
    /// Write RECIPE.lock: versions, params, data digests and results.
    Lock {
        #[command(flatten)]
        r: RecipeArgs,
    },
    /// Re-run the recipe from scratch in a scratch store and compare with its lock.
    Verify {
        #[command(flatten)]
        r: RecipeArgs,
        /// Largest accepted absolute difference of a numeric result (default: exact).
        #[arg(long)]
        tolerance: Option<f64>,
        /// Folder for the scratch store (default: the system's temp folder).
        #[arg(long)]
        scratch: Option<PathBuf>,
        /// Steps run at once.
        #[arg(long, short, default_value_t = 1)]
        jobs: usize,
    },
    /// Pack the recipe, its imports and its lock (and data) into a tar.gz.
    Bundle {
        #[command(flatten)]
        r: RecipeArgs,
        /// The archive to write.
        #[arg(short, long)]
        output: PathBuf,
        /// Also pack every data file the recipe reads (small corpora).
        #[arg(long)]
        with_data: bool,
    },
    /// Show a step's record and metrics.
    Show {
        #[command(flatten)]
        r: RecipeArgs,
        step: String,
    },
    /// Print the recipe's DAG.
    Graph {
        #[command(flatten)]
        r: RecipeArgs,
        #[arg(long, value_enum, default_value = "mermaid")]
        format: GraphFormat,
    },
    /// Delete store entries that no recipe in the workspace reaches.
    Gc {
        /// List what would be deleted, delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List the ops with their parameters (or one op).
    Ops {
        name: Option<String>,
        /// Print the Markdown reference (docs/stdlib.md is this output).
        #[arg(long)]
        markdown: bool,
    },
    /// Print benchmark figures: check, resume, audio, train (or all), and
    /// early-bird (not in all: it trains two toy tickets, minutes).
    Bench {
        #[arg(value_enum, default_value = "all")]
        what: BenchWhat,
        /// Timed iterations of the train step.
        #[arg(long, default_value_t = 5)]
        iters: usize,
    },
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum BenchWhat {
    All,
    Check,
    Resume,
    Train,
    Audio,
    EarlyBird,
}

struct App {
    ws: PathBuf,
    store_root: PathBuf,
    device: String,
    reg: Registry,
}

fn parse_set(set: &[String]) -> Result<Vec<(String, String)>, String> {
    set.iter()
        .map(|s| {
            s.split_once('=')
                .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
                .ok_or_else(|| format!("--set expects NAME=VALUE, got `{s}`"))
        })
        .collect()
}

fn print_diags(ds: &Diagnostics, sources: &Sources, format: Format) {
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&to_json(ds, sources)).unwrap()
        ),
        Format::Text => {
            let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            eprint!(
                "{}",
                render_all(ds, sources, RenderOpts { color, width: 100 })
            );
        }
    }
}

impl App {
    fn recipe_rel(&self, file: &Path) -> String {
        let full = if file.is_absolute() {
            file.to_path_buf()
        } else {
            std::env::current_dir().unwrap().join(file)
        };
        let ws = self.ws.canonicalize().unwrap_or(self.ws.clone());
        full.canonicalize()
            .unwrap_or(full.clone())
            .strip_prefix(&ws)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| file.display().to_string())
    }

    fn check(&self, r: &RecipeArgs, format: Format) -> Result<Checked, ExitCode> {
        let set = parse_set(&r.set).map_err(|e| {
            eprintln!("error: {e}");
            ExitCode::from(2)
        })?;
        let opts = CheckOpts {
            set,
            allow_outside: r.allow_outside,
            confine: lotto_interpreter::paths::is_confined(),
        };
        let path = std::env::current_dir().unwrap().join(&r.file);
        check_file(&path, &self.ws, &self.reg, &opts).map_err(|(ds, sources)| {
            print_diags(&ds, &sources, format);
            ExitCode::from(1)
        })
    }

    /// Every step's key parts, or `None` where its files (or an input's)
    /// cannot be read, with those read errors by step.
    #[allow(clippy::type_complexity)]
    fn keys_partial(
        &self,
        c: &Checked,
        store: &Store,
    ) -> (Vec<Option<key::KeyParts>>, Vec<(usize, Diagnostic)>) {
        let digests = DigestCache::open(&store.root.join("digests.json"));
        let out = key::compute_partial(
            c,
            &self.reg,
            &self.ws,
            &digests,
            lotto_stdlib::device::kind(&self.device),
        );
        digests.save();
        out
    }

    /// Every step's key parts; a file that cannot be read is an error.
    fn keys(&self, c: &Checked, store: &Store) -> Result<Vec<key::KeyParts>, ExitCode> {
        let (parts, errors) = self.keys_partial(c, store);
        if !errors.is_empty() {
            let ds = Diagnostics(errors.into_iter().map(|(_, d)| d).collect());
            print_diags(&ds, &c.sources, Format::Text);
            return Err(ExitCode::from(1));
        }
        Ok(parts.into_iter().map(Option::unwrap_or_default).collect())
    }

    /// Run options for this recipe with this command line's device:
    /// one job, nothing forced, reports exported.
    fn run_opts(&self, file: &Path) -> RunOpts {
        RunOpts {
            jobs: 1,
            force: BTreeSet::new(),
            only: None,
            device: lotto_stdlib::device::kind(&self.device).to_string(),
            recipe: self.recipe_rel(file),
            show_bars: std::io::stderr().is_terminal(),
            export: true,
            job: None,
        }
    }

    /// Whether a path the step names (a corpus folder, a manifest) is
    /// absent here: its data is then "not on this machine" for `plan`.
    fn data_path_absent(&self, s: &lotto_interpreter::check::Step) -> bool {
        self.data_paths(s)
            .iter()
            .any(|p| !lotto_interpreter::paths::resolve(&self.ws, p).exists())
    }

    /// The data paths a step names: its path-typed arguments as written.
    fn data_paths<'s>(&self, s: &'s lotto_interpreter::check::Step) -> Vec<&'s str> {
        let sig = self.reg.get(s.op).expect("checked op").sig();
        sig.params
            .iter()
            .filter(|p| p.ty == lotto_interpreter::registry::PType::Path)
            .filter_map(|p| s.args.get(p.name).and_then(|v| v.as_str()))
            .collect()
    }

    fn open_store(&self) -> Result<Store, ExitCode> {
        Store::open(&self.store_root).map_err(|e| {
            eprintln!(
                "error: cannot open the store `{}`: {e}",
                self.store_root.display()
            );
            ExitCode::from(2)
        })
    }

    fn resolve_steps(&self, c: &Checked, names: &[String]) -> Result<BTreeSet<usize>, ExitCode> {
        let mut out = BTreeSet::new();
        for n in names {
            match c.find(n) {
                Some(i) => {
                    out.insert(i);
                }
                None => {
                    let cands: Vec<&str> = c.steps.iter().map(|s| s.name.as_str()).collect();
                    let hint = lotto_interpreter::diag::did_you_mean(n, cands.iter().copied())
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default();
                    eprintln!("error: the recipe has no step `{n}`{hint}; `lotto plan` lists them");
                    return Err(ExitCode::from(2));
                }
            }
        }
        Ok(out)
    }
}

/// Each failed step with its place and error.
fn print_failures(s: &exec::RunSummary) {
    for (name, at, e) in &s.failed {
        eprintln!("error: step `{name}` ({at}) failed:\n  {e}");
    }
}

fn print_plan(planned: &[plan::PlannedStep], format: Format) {
    if let Format::Json = format {
        println!("{}", serde_json::to_string_pretty(planned).unwrap());
        return;
    }
    let w = planned
        .iter()
        .map(|p| p.name.chars().count())
        .max()
        .unwrap_or(4)
        .min(48);
    for p in planned {
        let status = match p.status {
            Status::Cached => "cached",
            Status::Run => "run",
            Status::NeedsData => "no data",
        };
        let why = if p.why.is_empty() {
            String::new()
        } else {
            format!("  ({})", p.why.join("; "))
        };
        println!(
            "{status:<7} {:<w$}  {:<12} {}{why}",
            p.name,
            p.op,
            &p.key[..12]
        );
    }
    let n = |st: Status| planned.iter().filter(|p| p.status == st).count();
    let no_data = n(Status::NeedsData);
    println!(
        "{} step(s): {} cached, {} to run{}",
        planned.len(),
        n(Status::Cached),
        n(Status::Run),
        if no_data > 0 {
            format!(", {no_data} waiting for data not on this machine (map it with --data NAME=PATH, or plan where the corpora are)")
        } else {
            String::new()
        }
    );
}

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
        .init();
    let ws = cli
        .workspace
        .canonicalize()
        .unwrap_or(cli.workspace.clone());
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut policy = match lotto_interpreter::paths::PathPolicy::new(&cli.data, &cwd) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if ws.join(lotto_interpreter::paths::BUNDLE_MARKER).is_file() {
        tracing::info!("bundle folder: reads and writes are confined to it and to --data folders");
        policy = policy.confined(&ws);
    }
    lotto_interpreter::paths::set(policy);
    let app = App {
        store_root: cli.store.clone().unwrap_or_else(|| ws.join(".lotto")),
        ws,
        device: cli.device.clone(),
        reg: lotto_stdlib::registry(),
    };
    match run(&app, cli.cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(c) => c,
    }
}

fn run(app: &App, cmd: Cmd) -> Result<(), ExitCode> {
    match cmd {
        Cmd::Check { r, format } => {
            let c = app.check(&r, format)?;
            match format {
                Format::Json => println!("[]"),
                Format::Text => {
                    println!("ok: {} step(s), {} file(s)", c.steps.len(), c.files.len())
                }
            }
            // The process ends here: the OS takes the memory back at once,
            // where freeing a big recipe's steps one by one took
            // milliseconds.
            std::mem::forget(c);
        }
        Cmd::Plan { r, format } => {
            let c = app.check(&r, format)?;
            let store = app.open_store()?;
            // Plans even where the corpora are not: those steps and their
            // dependents show as waiting for data.
            let (parts, errors) = app.keys_partial(&c, &store);
            // Only an absent data path counts as "not on this machine"; a
            // corpus that is present but broken is an error, as in `run`.
            let (absent, broken): (Vec<_>, Vec<_>) = errors
                .into_iter()
                .partition(|(i, _)| app.data_path_absent(&c.steps[*i]));
            if !broken.is_empty() {
                let ds = Diagnostics(broken.into_iter().map(|(_, d)| d).collect());
                print_diags(&ds, &c.sources, format);
                return Err(ExitCode::from(1));
            }
            let missing = absent
                .into_iter()
                .map(|(i, d)| {
                    let prefix = format!("step `{}`: ", c.steps[i].name);
                    let m = d.message.strip_prefix(&prefix).unwrap_or(&d.message);
                    (i, m.to_string())
                })
                .collect();
            print_plan(
                &plan::plan_partial(
                    &c,
                    &parts,
                    &missing,
                    &store,
                    &app.recipe_rel(&r.file),
                    &BTreeSet::new(),
                ),
                format,
            );
        }
        Cmd::Run {
            r,
            only,
            force,
            dry_run,
            jobs,
            locked,
            lock,
            executor,
            partition,
            account,
            slurm_opt,
            detach,
        } => {
            if let Err(e) = lotto_stdlib::device::open(&app.device) {
                eprintln!("error: {e}");
                return Err(ExitCode::from(2));
            }
            let c = app.check(&r, Format::Text)?;
            let store = app.open_store()?;
            let parts = app.keys(&c, &store)?;
            if locked {
                app.enforce_lock(&c, &parts, &store, &r.file)?;
            }
            let force = app.resolve_steps(&c, &force)?;
            let only = if only.is_empty() {
                None
            } else {
                Some(app.resolve_steps(&c, &only)?)
            };
            let recipe = app.recipe_rel(&r.file);
            let planned = plan::plan(&c, &parts, &store, &recipe, &force);
            if dry_run {
                print_plan(&planned, Format::Text);
                return Ok(());
            }
            if executor == Executor::Slurm {
                if lock {
                    eprintln!("error: --lock needs the results: run `lotto lock` once the jobs have finished");
                    return Err(ExitCode::from(2));
                }
                let selected = match &only {
                    Some(o) => exec::upstream(&c, o),
                    None => (0..c.steps.len()).collect(),
                };
                let a = cluster::SlurmArgs {
                    partition,
                    account,
                    slurm_opt,
                    detach,
                };
                return cluster::run(app, &r, &c, &parts, &store, &selected, &force, &a);
            }
            let t0 = std::time::Instant::now();
            let opts = RunOpts {
                jobs,
                force,
                only,
                ..app.run_opts(&r.file)
            };
            let s = exec::run(&c, &parts, &app.reg, &store, &app.ws, &opts);
            print_failures(&s);
            if !s.skipped.is_empty() {
                eprintln!("not run because an input failed: {}", s.skipped.join(", "));
            }
            println!(
                "{} ran, {} cached, {} failed in {:.1}s",
                s.ran.len(),
                s.cached.len(),
                s.failed.len(),
                t0.elapsed().as_secs_f64()
            );
            if !s.failed.is_empty() {
                eprintln!("finished steps are saved; rerun the same command to resume");
                return Err(ExitCode::from(1));
            }
            if lock {
                let l = app.current_lock(&c, &parts, &store, &r.file);
                let p = app.write_lock(&r.file, &l)?;
                println!("wrote {}", app.recipe_rel(&p));
            }
        }
        Cmd::Lock { r } => share::lock_cmd(app, &r)?,
        Cmd::Status { r } => cluster::status(app, &r)?,
        Cmd::ExecStep { r, key, force } => cluster::exec_step(app, &r, &key, force)?,
        Cmd::Verify {
            r,
            tolerance,
            scratch,
            jobs,
        } => share::verify(app, &r, tolerance, scratch.as_deref(), jobs)?,
        Cmd::Bundle {
            r,
            output,
            with_data,
        } => share::bundle(app, &r, &output, with_data)?,
        Cmd::Show { r, step } => {
            let c = app.check(&r, Format::Text)?;
            let store = app.open_store()?;
            let parts = app.keys(&c, &store)?;
            let i = *app
                .resolve_steps(&c, std::slice::from_ref(&step))?
                .iter()
                .next()
                .unwrap();
            let k = parts[i].key();
            match store.record(&k) {
                Some(rec) => {
                    print!("{}", serde_yaml::to_string(&rec).unwrap());
                    let dir = store.object(&k);
                    println!("artifacts: {}", dir.canonicalize().unwrap_or(dir).display());
                }
                None => {
                    println!(
                        "step `{}` ({}) has not run with its current inputs (key {k})",
                        c.steps[i].name, c.steps[i].op
                    );
                    for w in plan::explain(
                        &parts[i],
                        store
                            .last(&app.recipe_rel(&r.file), &c.steps[i].name)
                            .map(|x| x.1)
                            .as_ref(),
                    ) {
                        println!("  {w}");
                    }
                }
            }
        }
        Cmd::Graph { r, format } => {
            let c = app.check(&r, Format::Text)?;
            match format {
                GraphFormat::Dot => print!("{}", lotto_interpreter::graph::to_dot(&c.steps)),
                GraphFormat::Mermaid => {
                    print!("{}", lotto_interpreter::graph::to_mermaid(&c.steps))
                }
            }
        }
        Cmd::Gc { dry_run } => gc(app, dry_run)?,
        Cmd::Ops { markdown: true, .. } => print!("{}", ops_markdown(&app.reg)),
        Cmd::Ops { name, .. } => ops(app, name.as_deref())?,
        Cmd::Bench { what, iters } => {
            let exe = std::env::current_exe().unwrap();
            if matches!(what, BenchWhat::All | BenchWhat::Check) {
                if let Err(e) = bench::check(&exe, &app.reg) {
                    eprintln!("error: check benchmark: {e}");
                    return Err(ExitCode::from(1));
                }
            }
            if matches!(what, BenchWhat::All | BenchWhat::Resume) {
                if let Err(e) = bench::resume(&exe, &app.ws) {
                    eprintln!("error: resume benchmark: {e}");
                    return Err(ExitCode::from(1));
                }
            }
            if matches!(what, BenchWhat::All | BenchWhat::Audio) {
                bench::audio(&app.ws, 3).map_err(|e| {
                    eprintln!("error: audio benchmark: {e}");
                    ExitCode::from(1)
                })?;
            }
            if what == BenchWhat::EarlyBird {
                bench::early_bird(&exe, &app.ws).map_err(|e| {
                    eprintln!("error: early-bird benchmark: {e}");
                    ExitCode::from(1)
                })?;
            }
            if matches!(what, BenchWhat::All | BenchWhat::Train) {
                let ours = bench::train(iters).map_err(|e| {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                })?;
                if bench::torch_available() {
                    for model in [bench::TorchModel::Reference, bench::TorchModel::Lotto] {
                        println!("PyTorch, bench/ds2_torch.py {}:", model.arg());
                        if let Some(torch) = bench::torch_peer(&app.ws, model) {
                            println!(
                                "ratio lotto/PyTorch ({}) = {:.2}x (goal ≤ 1.0x)",
                                model.arg(),
                                ours / torch
                            );
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

fn ops(app: &App, name: Option<&str>) -> Result<(), ExitCode> {
    let mut found = false;
    for op in app.reg.ops() {
        let s = op.sig();
        if name.is_some_and(|n| n != s.name) {
            continue;
        }
        found = true;
        println!("{} (v{}, {}): {}", s.name, s.version, s.group, s.doc);
        for p in &s.params {
            let d = p
                .default
                .as_ref()
                .map(|d| format!(" = {}", d.display(&|_| "?".into())))
                .unwrap_or_default();
            println!("    {}: {}{d} — {}", p.name, p.ty.describe(), p.doc);
        }
    }
    if !found {
        eprintln!("error: no op `{}`", name.unwrap_or(""));
        return Err(ExitCode::from(2));
    }
    Ok(())
}

/// The stdlib reference, generated from the registry's signatures.
fn ops_markdown(reg: &Registry) -> String {
    let mut groups: Vec<&str> = vec![];
    for op in reg.ops() {
        if !groups.contains(&op.sig().group) {
            groups.push(op.sig().group);
        }
    }
    let order = [
        "Corpora",
        "Noise",
        "Features",
        "Models",
        "Training",
        "Tickets",
        "Evaluation",
        "Reports",
    ];
    groups.sort_by_key(|g| order.iter().position(|o| o == g).unwrap_or(99));
    let mut s = String::from("# Standard library reference\n\nGenerated by `lotto ops --markdown` from the op registry (a test checks this file is current). Each op's version is part of every cache key: results of an older version are never reused.\n");
    for g in groups {
        s.push_str(&format!("\n## {g}\n"));
        for op in reg.ops().filter(|o| o.sig().group == g) {
            let sig = op.sig();
            let out = match &sig.output {
                lotto_interpreter::registry::Output::One(t) => t.as_str().to_string(),
                lotto_interpreter::registry::Output::PerItem { param, ty } => {
                    format!("one {} per `{param}`", ty.as_str())
                }
                lotto_interpreter::registry::Output::Config(k) => {
                    format!("{k} setting (an argument, not a step)")
                }
            };
            s.push_str(&format!("\n### `{}` → {out}\n\n{} (version {}{})\n\n| parameter | type | default | |\n|---|---|---|---|\n", sig.name, sig.doc, sig.version, if sig.numeric { "; numeric: the device kind is part of its key" } else { "" }));
            for p in &sig.params {
                let d = p
                    .default
                    .as_ref()
                    .map(|d| format!("`{}`", d.display(&|_| "?".into())))
                    .unwrap_or_else(|| "required".into());
                let range = p
                    .range
                    .map(|(lo, hi)| format!(" (range {lo}..{hi})"))
                    .unwrap_or_default();
                s.push_str(&format!(
                    "| `{}` | {}{range} | {d} | {} |\n",
                    p.name,
                    p.ty.describe().replace('|', "\\|"),
                    p.doc
                ));
            }
        }
    }
    s
}

/// Keys reachable from every recipe in the workspace (with default params),
/// plus the sub-steps their entries reference.
fn gc(app: &App, dry_run: bool) -> Result<(), ExitCode> {
    let store = app.open_store()?;
    let mut recipes = vec![];
    find_recipes(&app.ws, &store.root, &mut recipes);
    let mut keep: BTreeSet<String> = BTreeSet::new();
    for r in &recipes {
        let Ok(c) = check_file(r, &app.ws, &app.reg, &CheckOpts::default()) else {
            eprintln!(
                "warning: `{}` does not check; its entries are not protected",
                r.display()
            );
            continue;
        };
        let digests = DigestCache::open(&store.root.join("digests.json"));
        if let Ok(parts) = key::compute(
            &c,
            &app.reg,
            &app.ws,
            &digests,
            lotto_stdlib::device::kind(&app.device),
        ) {
            keep.extend(parts.iter().map(|p| p.key()));
        }
    }
    let mut stack: Vec<String> = keep.iter().cloned().collect();
    while let Some(k) = stack.pop() {
        if let Ok(refs) = std::fs::read_to_string(store.object(&k).join("refs.txt")) {
            for r in refs.lines() {
                if keep.insert(r.to_string()) {
                    stack.push(r.to_string());
                }
            }
        }
    }
    let dead: Vec<String> = store
        .keys()
        .into_iter()
        .filter(|k| !keep.contains(k))
        .collect();
    let mut bytes = 0;
    for k in &dead {
        let size = store.size(k);
        bytes += size;
        let what = store
            .record(k)
            .map(|r| format!("{} ({})", r.step, r.op))
            .unwrap_or_default();
        println!(
            "{} {k} {what} {:.1} MB",
            if dry_run { "would delete" } else { "delete" },
            size as f64 / 1e6
        );
        if !dry_run {
            if let Err(e) = store.remove(k) {
                eprintln!("  kept {k}: {e}");
            }
        }
    }
    println!(
        "{} entr{} {:.1} MB, {} kept ({} recipe(s) scanned)",
        dead.len(),
        if dead.len() == 1 { "y" } else { "ies" },
        bytes as f64 / 1e6,
        keep.len(),
        recipes.len()
    );
    Ok(())
}

fn find_recipes(dir: &Path, store: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if p == store || name.starts_with('.') || name == "target" {
            continue;
        }
        if p.is_dir() {
            find_recipes(&p, store, out);
        } else if name.ends_with(".lotto") {
            out.push(p);
        }
    }
}
