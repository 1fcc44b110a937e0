//! The command line as clap parses it: global options, the commands and
//! their arguments. Each command's behaviour is in `commands/`.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "lotto",
    version,
    about = "Lottery-ticket experiments on speech models, as cached, resumable recipes"
)]
pub struct Cli {
    /// Workspace folder: recipes, data paths and reports resolve against it.
    #[arg(long, global = true, default_value = ".")]
    pub workspace: PathBuf,
    /// Artifact store (default: WORKSPACE/.lotto).
    #[arg(long, global = true)]
    pub store: Option<PathBuf>,
    /// Device for numeric steps: flex (CPU), vulkan, cuda[:N], tch.
    #[arg(long, global = true, default_value = "flex")]
    pub device: String,
    /// CPU matrix-product kernels: portable (default: the same numbers on
    /// every CPU, so locks verify anywhere) or native (gemm's kernels tuned
    /// to this CPU; numbers differ between CPUs). `verify` and
    /// `run --locked` use the kernels the lock names.
    #[arg(long, global = true, value_enum)]
    pub kernels: Option<KernelSet>,
    /// Read a data path of the recipe from another folder: --data
    /// data/tiny=/mnt/corpora/tiny (repeatable; cache keys do not change).
    #[arg(long = "data", global = true, value_name = "NAME=PATH")]
    pub data: Vec<String>,
    /// More log output (or set RUST_LOG).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
pub enum KernelSet {
    Portable,
    Native,
}

impl KernelSet {
    pub fn kernels(self) -> lotto_stdlib::device::Kernels {
        match self {
            KernelSet::Portable => lotto_stdlib::device::Kernels::Portable,
            KernelSet::Native => lotto_stdlib::device::Kernels::Native,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
pub enum Executor {
    /// Threads in this process.
    Local,
    /// One sbatch job per step, with afterok dependencies.
    Slurm,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(clap::Args)]
pub struct RecipeArgs {
    /// The recipe file.
    pub file: PathBuf,
    /// Override a `param`: --set rounds=3 (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Allow report paths outside the workspace.
    #[arg(long)]
    pub allow_outside: bool,
}

#[derive(Subcommand)]
pub enum Cmd {
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
    Run(RunArgs),
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
    Verify(VerifyArgs),
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
        /// Go on when a recipe in the workspace does not check (its
        /// entries are then not protected).
        #[arg(long)]
        force: bool,
    },
    /// Re-hash every store entry; remove the damaged ones (a run recomputes them).
    Fsck {
        /// List damaged entries, remove nothing.
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
    /// Print benchmark figures: check, resume, audio, train, kernels (or
    /// all); early-bird (not in all: it trains two toy tickets, minutes),
    /// prune and scale (not in all: paper-size models, several GB).
    Bench {
        #[arg(value_enum, default_value = "all")]
        what: BenchWhat,
        /// Timed iterations of the train step.
        #[arg(long, default_value_t = 5)]
        iters: usize,
        /// `bench ops`: these paper models only (repeatable; default: all
        /// four).
        #[arg(long = "model", value_name = "MODEL")]
        models: Vec<String>,
    },
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
pub enum BenchWhat {
    All,
    Check,
    Resume,
    Train,
    Kernels,
    Audio,
    EarlyBird,
    Prune,
    Scale,
    Ops,
}

#[derive(clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub r: RecipeArgs,
    /// Run only these steps and what they need.
    #[arg(long)]
    pub only: Vec<String>,
    /// Rerun these steps even if cached.
    #[arg(long)]
    pub force: Vec<String>,
    /// Plan only.
    #[arg(long)]
    pub dry_run: bool,
    /// Steps run at once.
    #[arg(long, short, default_value_t = 1)]
    pub jobs: usize,
    /// Refuse to start if data, op versions or params differ from RECIPE.lock.
    #[arg(long)]
    pub locked: bool,
    /// Write RECIPE.lock after a successful run.
    #[arg(long, conflicts_with = "locked")]
    pub lock: bool,
    /// Where steps run: here, or as Slurm jobs (docs/slurm.md).
    #[arg(long, value_enum, default_value = "local")]
    pub executor: Executor,
    /// Slurm partition for every job.
    #[arg(long)]
    pub partition: Option<String>,
    /// Slurm account for every job.
    #[arg(long)]
    pub account: Option<String>,
    /// More sbatch options, e.g. --slurm-opt "--qos=long" (repeatable).
    #[arg(long = "slurm-opt", allow_hyphen_values = true)]
    pub slurm_opt: Vec<String>,
    /// With Slurm: return right after submitting.
    #[arg(long)]
    pub detach: bool,
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub r: RecipeArgs,
    /// Largest accepted absolute difference of a numeric result (default: exact).
    #[arg(long)]
    pub tolerance: Option<f64>,
    /// Folder for the scratch store (default: `verify/` in the store; a
    /// killed verify's scratch store is removed by the next one).
    #[arg(long)]
    pub scratch: Option<PathBuf>,
    /// Steps run at once.
    #[arg(long, short, default_value_t = 1)]
    pub jobs: usize,
}
