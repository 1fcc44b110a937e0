//! What every command shares: the workspace, the store, the device and the
//! op registry, and the steps most commands begin with (check the recipe,
//! compute its keys, open the store, find the steps a user names).

use crate::cli::{Format, RecipeArgs};
use crate::error::Fail;
use crate::output::print_diags;
use lotto_interpreter::check::{check_file, CheckOpts};
use lotto_interpreter::diag::Diagnostics;
use lotto_interpreter::digest::DigestCache;
use lotto_interpreter::exec::RunOpts;
use lotto_interpreter::key_parts::KeyParts;
use lotto_interpreter::program::{Checked, Step};
use lotto_interpreter::store::Store;
use lotto_interpreter::types::PType;
use lotto_interpreter::{keys, Registry};
use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

pub struct App {
    pub ws: PathBuf,
    pub store_root: PathBuf,
    pub device: String,
    /// The CPU kernels the command line chose (`--kernels`), if it did.
    pub kernels: Option<lotto_stdlib::device::Kernels>,
    pub reg: Registry,
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

impl App {
    /// The recipe path as the user gave it, made absolute.
    pub fn recipe_abs(&self, file: &Path) -> PathBuf {
        std::env::current_dir().unwrap_or_default().join(file)
    }

    /// The recipe path relative to the workspace (names steps in records).
    pub fn recipe_rel(&self, file: &Path) -> String {
        let full = self.recipe_abs(file);
        let ws = self.ws.canonicalize().unwrap_or(self.ws.clone());
        full.canonicalize()
            .unwrap_or(full.clone())
            .strip_prefix(&ws)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| file.display().to_string())
    }

    /// The device kind numeric keys name (`flex`, `vulkan`, ...).
    pub fn device_kind(&self) -> &str {
        lotto_stdlib::device::kind(&self.device)
    }

    /// What numeric keys and locks name: device kind, dtype and, on the
    /// CPU, the kernel set in use (`flex/f32/portable`).
    pub fn numerics(&self) -> String {
        lotto_stdlib::device::numerics(self.device_kind())
    }

    /// The options that make a lotto process this one starts (a Slurm
    /// job, a benchmark's step) compute as this one does: the device and
    /// the CPU kernels in use (a lock's, under `--locked`).
    pub fn numeric_args(&self) -> Vec<String> {
        vec![
            "--device".into(),
            self.device.clone(),
            "--kernels".into(),
            lotto_stdlib::device::kernels().name().into(),
        ]
    }

    /// Checks the recipe; its diagnostics are printed on failure.
    pub fn check(&self, r: &RecipeArgs, format: Format) -> Result<Checked, Fail> {
        self.refuse_bundle_elsewhere(&r.file)?;
        let set = parse_set(&r.set).map_err(Fail::usage)?;
        let opts = CheckOpts {
            set,
            allow_outside: r.allow_outside,
            confine: lotto_interpreter::paths::is_confined(),
        };
        check_file(&self.recipe_abs(&r.file), &self.ws, &self.reg, &opts).map_err(
            |(ds, sources)| {
                print_diags(&ds, &sources, format);
                Fail::reported(1)
            },
        )
    }

    /// A recipe inside an unpacked bundle runs confined to the bundle's
    /// folder, whatever the current folder: from another workspace it is
    /// refused, with the command that runs it.
    fn refuse_bundle_elsewhere(&self, file: &Path) -> Result<(), Fail> {
        let recipe = self.recipe_abs(file);
        let recipe = recipe.canonicalize().unwrap_or(recipe);
        let ws = self.ws.canonicalize().unwrap_or(self.ws.clone());
        let bundle = recipe
            .ancestors()
            .skip(1)
            .find(|d| d.join(lotto_interpreter::paths::BUNDLE_MARKER).is_file());
        match bundle {
            Some(b) if b != ws => Err(Fail::usage(format!(
                "`{}` is inside an unpacked bundle (`{}`), which runs confined to its folder: run it with --workspace {}",
                file.display(),
                b.display(),
                b.display()
            ))),
            _ => Ok(()),
        }
    }

    /// Every step's key parts, or `None` where its files (or an input's)
    /// cannot be read, with those read errors by step.
    pub fn keys_partial(&self, c: &Checked, store: &Store) -> keys::PartialKeys {
        self.keys_hashed(c, store, false)
    }

    /// [`Self::keys_partial`], trusting file stamps unless `rehash`.
    fn keys_hashed(&self, c: &Checked, store: &Store, rehash: bool) -> keys::PartialKeys {
        let path = store.root.join("digests.json");
        let digests = if rehash {
            DigestCache::rehashing(&path)
        } else {
            DigestCache::open(&path)
        };
        let out = keys::compute_partial(c, &self.reg, &self.ws, &digests, &self.numerics());
        digests.save();
        out
    }

    /// Every step's key parts; a file that cannot be read is an error.
    pub fn keys(&self, c: &Checked, store: &Store) -> Result<Vec<KeyParts>, Fail> {
        self.keys_for(c, store, &(0..c.steps.len()).collect())
    }

    /// Every step's key parts from data read again in full, not trusted by
    /// its stamps (what `lock` and `verify` vouch for).
    pub fn keys_rehashed(&self, c: &Checked, store: &Store) -> Result<Vec<KeyParts>, Fail> {
        let (parts, errors) = self.keys_hashed(c, store, true);
        self.all_keys(c, parts, errors)
    }

    /// Key parts where a file that cannot be read is an error only for the
    /// `needed` steps (what `run --only` or `show` works on); other steps
    /// without a key get empty parts, which nothing reads.
    pub fn keys_for(
        &self,
        c: &Checked,
        store: &Store,
        needed: &BTreeSet<usize>,
    ) -> Result<Vec<KeyParts>, Fail> {
        let (parts, mut errors) = self.keys_partial(c, store);
        errors.retain(|(i, _)| needed.contains(i));
        self.all_keys(c, parts, errors)
    }

    /// The parts, or the read errors printed.
    fn all_keys(
        &self,
        c: &Checked,
        parts: Vec<Option<KeyParts>>,
        errors: Vec<(usize, lotto_interpreter::diag::Diagnostic)>,
    ) -> Result<Vec<KeyParts>, Fail> {
        if !errors.is_empty() {
            let ds = Diagnostics(errors.into_iter().map(|(_, d)| d).collect());
            print_diags(&ds, &c.sources, Format::Text);
            return Err(Fail::reported(1));
        }
        Ok(parts.into_iter().map(Option::unwrap_or_default).collect())
    }

    /// Run options for this recipe with this command line's device:
    /// one job, nothing forced, reports exported.
    pub fn run_opts(&self, r: &RecipeArgs) -> RunOpts {
        RunOpts {
            allow_outside: r.allow_outside,
            jobs: 1,
            force: BTreeSet::new(),
            only: None,
            device: self.device.clone(),
            recipe: self.recipe_rel(&r.file),
            show_bars: std::io::stderr().is_terminal(),
            export: true,
            job: None,
        }
    }

    /// Refuses a device this build cannot open, before any work.
    pub fn open_device(&self) -> Result<(), Fail> {
        lotto_stdlib::device::open(&self.device)
            .map(|_| ())
            .map_err(Fail::usage)
    }

    /// The data paths a step names: its path-typed arguments as written.
    pub fn data_paths<'s>(&self, s: &'s Step) -> Vec<&'s str> {
        let sig = self.reg.get(s.op).expect("checked op").sig();
        sig.params
            .iter()
            .filter(|p| p.ty == PType::Path)
            .filter_map(|p| s.args.get(p.name).and_then(|v| v.as_str()))
            .collect()
    }

    /// Whether a path the step names (a corpus folder, a manifest) is
    /// absent here: its data is then "not on this machine" for `plan`.
    pub fn data_path_absent(&self, s: &Step) -> bool {
        self.data_paths(s)
            .iter()
            .any(|p| !lotto_interpreter::paths::resolve(&self.ws, p).exists())
    }

    /// The store for a command that only reads it (`plan`, `show`,
    /// `status`): a workspace without one gets an empty view, and nothing
    /// is created.
    pub fn read_store(&self) -> Result<Store, Fail> {
        if self.store_root.is_dir() {
            self.open_store()
        } else {
            Ok(Store::view(&self.store_root))
        }
    }

    pub fn open_store(&self) -> Result<Store, Fail> {
        Store::open(&self.store_root).map_err(|e| {
            Fail::usage(format!(
                "cannot open the store `{}`: {e}",
                self.store_root.display()
            ))
        })
    }

    /// The steps `names` name (a step or any of its bindings).
    pub fn resolve_steps(&self, c: &Checked, names: &[String]) -> Result<BTreeSet<usize>, Fail> {
        let mut out = BTreeSet::new();
        for n in names {
            let Some(i) = c.find(n) else {
                // `moved` for a sweep's `moved[k=1]`, `moved[k=2]`, ...
                let swept: Vec<String> = c
                    .steps
                    .iter()
                    .filter(|s| s.name.starts_with(&format!("{n}[")))
                    .map(|s| format!("`{}`", s.name))
                    .collect();
                if !swept.is_empty() {
                    return Err(Fail::usage(format!(
                        "`{n}` is a sweep: name one of its steps, {}",
                        swept.join(", ")
                    )));
                }
                let cands: Vec<&str> = c.steps.iter().map(|s| s.name.as_str()).collect();
                let hint = lotto_interpreter::diag::did_you_mean(n, cands.iter().copied())
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                return Err(Fail::usage(format!(
                    "the recipe has no step `{n}`{hint}; `lotto plan` lists them"
                )));
            };
            out.insert(i);
        }
        Ok(out)
    }
}
