//! The Slurm executor: every step that is not published becomes one `sbatch`
//! job running `lotto exec-step` on that step alone, with `afterok`
//! dependencies mirroring the DAG, so Slurm schedules the whole DAG.
//!
//! Jobs publish through the same store, per-key locks and atomic rename as
//! local runs (the store must be on a filesystem every node sees), so a step
//! is never done twice and a dead job leaves nothing half-written. What was
//! submitted is remembered in `STORE/slurm/KEY.json` and each job's output
//! goes to `STORE/logs/KEY/JOBID.log`, next to the entry the step publishes
//! as `objects/KEY/`; a rerun submits only what is neither published nor
//! still queued or running.

use crate::key_parts::KeyParts;
use crate::program::Checked;
use crate::registry::Registry;
use crate::store::Store;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Resource settings of a job; every field optional so the recipe's
/// `RECIPE.slurm.yaml` can override only what it names.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Res {
    pub cpus: Option<u32>,
    /// Slurm memory syntax: `16G`, `500M`.
    pub mem: Option<String>,
    /// Slurm time syntax: `30`, `4:00:00`, `2-00:00:00`.
    pub time: Option<String>,
    /// GPUs per job (`--gres=gpu:N`); only requested when the device is a GPU.
    pub gpus: Option<u32>,
    pub partition: Option<String>,
    pub account: Option<String>,
    /// More `sbatch` options, e.g. `["--qos=long"]`.
    pub options: Option<Vec<String>>,
}

impl Res {
    fn overlay(&mut self, o: &Res) {
        macro_rules! take {
            ($($f:ident),*) => { $( if o.$f.is_some() { self.$f = o.$f.clone(); } )* };
        }
        take!(cpus, mem, time, gpus, partition, account);
        if let Some(opts) = &o.options {
            self.options
                .get_or_insert_with(Vec::new)
                .extend(opts.iter().cloned());
        }
    }
}

/// `RECIPE.slurm.yaml`: recipe-level overrides of the ops' resource hints.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// For every job.
    #[serde(default)]
    pub default: Res,
    /// By op name (`fit`, `imp`, ...).
    #[serde(default)]
    pub ops: BTreeMap<String, Res>,
    /// By step name (`dense`, `noisy[level=0.2]`).
    #[serde(default)]
    pub steps: BTreeMap<String, Res>,
}

/// Where a recipe's overrides live: `NAME.slurm.yaml` beside `NAME.lotto`.
pub fn overrides_path(recipe: &Path) -> PathBuf {
    recipe.with_extension("slurm.yaml")
}

/// Reads the overrides (absent file: none), checking names against the
/// registry and the recipe so a typo is an error, not an ignored line.
pub fn read_overrides(path: &Path, checked: &Checked, reg: &Registry) -> Result<Overrides, String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(Overrides::default());
    };
    let o: Overrides = serde_yaml::from_str(&text)
        .map_err(|e| format!("`{}`: {e} (fields: cpus, mem, time, gpus, partition, account, options under default, ops.OP or steps.STEP)", path.display()))?;
    for op in o.ops.keys() {
        if reg.get(op).is_none() {
            return Err(format!(
                "`{}`: there is no op `{op}` (`lotto ops` lists them)",
                path.display()
            ));
        }
    }
    for st in o.steps.keys() {
        if checked.find(st).is_none() {
            return Err(format!(
                "`{}`: the recipe has no step `{st}` (`lotto plan` lists them)",
                path.display()
            ));
        }
    }
    Ok(o)
}

/// How to submit: what the user asked on the command line.
pub struct SlurmOpts {
    pub partition: Option<String>,
    pub account: Option<String>,
    /// `--slurm-opt` values, each split on whitespace.
    pub extra: Vec<String>,
    /// The `lotto` program and global options every job runs with.
    pub command: Vec<String>,
    /// The recipe (absolute) and its `--set` pairs.
    pub recipe: PathBuf,
    pub set: Vec<String>,
    /// The device is a GPU: jobs of GPU ops ask for `gpus`.
    pub gpu: bool,
    pub overrides: Overrides,
    /// The recipe relative to the workspace (names steps in records).
    pub recipe_rel: String,
    /// The steps to run (`--only` and what they need) and to rerun.
    pub selected: BTreeSet<usize>,
    pub force: BTreeSet<usize>,
}

/// What `STORE/slurm/KEY.json` remembers of a submission.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Submission {
    pub job: String,
    pub step: String,
    pub recipe: String,
    /// The job's output file.
    pub log: PathBuf,
    /// Job ids it waits for.
    pub after: Vec<String>,
}

fn record_path(store: &Store, key: &str) -> PathBuf {
    store.root.join("slurm").join(format!("{key}.json"))
}

pub fn submission(store: &Store, key: &str) -> Option<Submission> {
    serde_json::from_slice(&std::fs::read(record_path(store, key)).ok()?).ok()
}

/// A job's state as Slurm reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobState {
    Pending(String),
    Running,
    Completed,
    Failed(String),
    Cancelled(String),
    /// Slurm no longer knows the job (purged after `MinJobAge`).
    Unknown,
}

impl JobState {
    pub fn is_active(&self) -> bool {
        matches!(self, JobState::Pending(_) | JobState::Running)
    }
}

fn slurm_cmd(program: &str, args: &[String]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `{program}` ({e}): is Slurm installed and on PATH?"))?;
    if !out.status.success() {
        return Err(format!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).to_string())
}

/// States of the given jobs, one `squeue` call for all of them.
pub fn states(jobs: &[String]) -> Result<BTreeMap<String, JobState>, String> {
    let mut out: BTreeMap<String, JobState> = jobs
        .iter()
        .map(|j| (j.clone(), JobState::Unknown))
        .collect();
    if jobs.is_empty() {
        return Ok(out);
    }
    let text = slurm_cmd(
        "squeue",
        &[
            "-h".into(),
            "-t".into(),
            "all".into(),
            "--me".into(),
            "-o".into(),
            "%i|%T|%r".into(),
        ],
    )?;
    for line in text.lines() {
        let f: Vec<&str> = line.trim().split('|').collect();
        if f.len() < 3 || !out.contains_key(f[0]) {
            continue;
        }
        let reason = f[2].to_string();
        let st = match f[1] {
            "PENDING" | "CONFIGURING" | "REQUEUED" | "RESIZING" | "SUSPENDED" => {
                JobState::Pending(reason)
            }
            "RUNNING" | "COMPLETING" => JobState::Running,
            "COMPLETED" => JobState::Completed,
            "CANCELLED" => JobState::Cancelled(reason),
            other => JobState::Failed(other.to_string()),
        };
        out.insert(f[0].to_string(), st);
    }
    Ok(out)
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// One job submitted (or found in flight) by [`submit`].
#[derive(Clone, Debug)]
pub struct Job {
    pub step: usize,
    pub id: String,
    pub after: Vec<String>,
    /// Submitted earlier and still queued or running: not resubmitted.
    pub reused: bool,
}

/// Submits every selected step that is neither published nor in flight,
/// in topological order, each depending on its inputs' jobs.
pub fn submit(
    checked: &Checked,
    parts: &[KeyParts],
    reg: &Registry,
    store: &Store,
    opts: &SlurmOpts,
) -> Result<Vec<Job>, String> {
    let (recipe_rel, selected, force) = (&opts.recipe_rel, &opts.selected, &opts.force);
    let keys: Vec<String> = parts.iter().map(|p| p.key()).collect();
    let order = crate::graph::topo_order(&checked.steps);
    // Jobs of earlier submissions that are still queued or running.
    let earlier: Vec<(usize, Submission)> = order
        .iter()
        .filter(|i| selected.contains(i) && !store.is_intact(&keys[**i]))
        .filter_map(|&i| submission(store, &keys[i]).map(|s| (i, s)))
        .collect();
    let ids: Vec<String> = earlier.iter().map(|(_, s)| s.job.clone()).collect();
    let known = states(&ids)?;
    let mut job_of: BTreeMap<usize, String> = BTreeMap::new();
    let mut jobs = vec![];
    for (i, s) in earlier {
        if known.get(&s.job).is_some_and(JobState::is_active) && !force.contains(&i) {
            job_of.insert(i, s.job.clone());
            jobs.push(Job {
                step: i,
                id: s.job,
                after: s.after,
                reused: true,
            });
        }
    }
    std::fs::create_dir_all(store.root.join("slurm")).map_err(|e| e.to_string())?;
    for i in order {
        if !selected.contains(&i) || job_of.contains_key(&i) {
            continue;
        }
        let forced = force.contains(&i);
        if store.is_intact(&keys[i]) && !forced {
            continue;
        }
        let s = &checked.steps[i];
        let after: Vec<String> = s
            .deps()
            .iter()
            .filter_map(|r| job_of.get(&r.step).cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let sig = reg.get(s.op).expect("checked op").sig();
        let res = resources(sig, &s.name, opts);
        let key = &keys[i];
        let log_dir = store.root.join("logs").join(key);
        std::fs::create_dir_all(&log_dir).map_err(|e| e.to_string())?;
        let script = write_script(store, key, s, forced, opts)?;
        let mut args = sbatch_args(&res, opts, &s.name, &log_dir);
        if !after.is_empty() {
            args.push(format!("--dependency=afterok:{}", after.join(":")));
        }
        args.push(script.display().to_string());
        let out = slurm_cmd("sbatch", &args).map_err(|e| {
            format!(
                "step `{}`: {e}\n  (jobs already submitted keep running; fix the resources in {} or with --slurm-opt, then rerun)",
                s.name,
                overrides_path(&opts.recipe).display()
            )
        })?;
        let id = out.trim().split(';').next().unwrap_or("").to_string();
        if id.is_empty() {
            return Err(format!("step `{}`: sbatch printed no job id", s.name));
        }
        let sub = Submission {
            job: id.clone(),
            step: s.name.clone(),
            recipe: recipe_rel.to_string(),
            log: log_dir.join(format!("{id}.log")),
            after: after.clone(),
        };
        let rec = record_path(store, key);
        std::fs::write(&rec, serde_json::to_vec_pretty(&sub).unwrap_or_default())
            .map_err(|e| format!("`{}`: {e}", rec.display()))?;
        job_of.insert(i, id.clone());
        jobs.push(Job {
            step: i,
            id,
            after,
            reused: false,
        });
    }
    Ok(jobs)
}

/// A step's resources: its op's hints, then the overrides file's default,
/// op and step entries, then the command line's partition and account.
fn resources(sig: &crate::signature::OpSig, step: &str, opts: &SlurmOpts) -> Res {
    let mut res = Res {
        cpus: Some(sig.resources.cpus.max(1)),
        mem: (sig.resources.mem_gb > 0).then(|| format!("{}G", sig.resources.mem_gb)),
        time: (sig.resources.minutes > 0).then(|| sig.resources.minutes.to_string()),
        gpus: sig.resources.gpu.then_some(1),
        ..Res::default()
    };
    res.overlay(&opts.overrides.default);
    if let Some(o) = opts.overrides.ops.get(sig.name) {
        res.overlay(o);
    }
    if let Some(o) = opts.overrides.steps.get(step) {
        res.overlay(o);
    }
    if opts.partition.is_some() {
        res.partition = opts.partition.clone();
    }
    if opts.account.is_some() {
        res.account = opts.account.clone();
    }
    res
}

/// The job script of a step: `lotto exec-step` on its key, with rayon
/// limited to the job's CPUs (it would use every core of the node).
fn write_script(
    store: &Store,
    key: &str,
    s: &crate::program::Step,
    forced: bool,
    opts: &SlurmOpts,
) -> Result<PathBuf, String> {
    let script = store.root.join("slurm").join(format!("{key}.sh"));
    let mut cmd: Vec<String> = opts.command.clone();
    cmd.push("exec-step".into());
    cmd.push(opts.recipe.display().to_string());
    cmd.push("--key".into());
    cmd.push(key.to_string());
    for kv in &opts.set {
        cmd.push("--set".into());
        cmd.push(kv.clone());
    }
    if forced {
        cmd.push("--force".into());
    }
    let body = format!(
        "#!/bin/sh\n# lotto step `{}` ({}) of {}; submitted by `lotto run --executor slurm`\nif [ -n \"${{SLURM_CPUS_PER_TASK:-}}\" ]; then export RAYON_NUM_THREADS=\"$SLURM_CPUS_PER_TASK\"; fi\nexec {}\n",
        s.name,
        s.op,
        opts.recipe_rel,
        cmd.iter().map(|c| shell_quote(c)).collect::<Vec<_>>().join(" ")
    );
    std::fs::write(&script, body).map_err(|e| format!("`{}`: {e}", script.display()))?;
    Ok(script)
}

/// `sbatch` options for step `name`: ours, its resources, then the user's
/// extra options (last, so they win).
fn sbatch_args(res: &Res, opts: &SlurmOpts, name: &str, log_dir: &Path) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "--parsable".into(),
        format!("--job-name=lotto:{name}"),
        format!("--output={}/%j.log", log_dir.display()),
        "--kill-on-invalid-dep=yes".into(),
    ];
    if let Some(c) = res.cpus {
        args.push(format!("--cpus-per-task={c}"));
    }
    if let Some(m) = &res.mem {
        args.push(format!("--mem={m}"));
    }
    if let Some(t) = &res.time {
        args.push(format!("--time={t}"));
    }
    if let (true, Some(g)) = (opts.gpu, res.gpus) {
        if g > 0 {
            args.push(format!("--gres=gpu:{g}"));
        }
    }
    if let Some(p) = &res.partition {
        args.push(format!("--partition={p}"));
    }
    if let Some(a) = &res.account {
        args.push(format!("--account={a}"));
    }
    args.extend(res.options.iter().flatten().cloned());
    args.extend(opts.extra.iter().cloned());
    args
}

/// `scancel` the given jobs.
pub fn cancel(jobs: &[String]) -> Result<(), String> {
    if jobs.is_empty() {
        return Ok(());
    }
    slurm_cmd("scancel", jobs).map(|_| ())
}

/// The last `n` lines of a job's log (empty if it has none yet).
pub fn log_tail(path: &Path, n: usize) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// The status of one step for `lotto status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepStatus {
    /// Published.
    Done,
    /// Not published and never submitted (or submitted for other inputs).
    NotRun,
    Job(String, JobState),
}

/// Each step's status: published, or what Slurm says of its last job.
pub fn status(parts: &[KeyParts], store: &Store) -> Result<Vec<StepStatus>, String> {
    // A published step is done whatever its last job did; the others are
    // described by their last submission, its state asked of Slurm once.
    let mut out: Vec<StepStatus> = parts
        .iter()
        .map(|p| {
            let k = p.key();
            if store.is_intact(&k) {
                return StepStatus::Done;
            }
            match submission(store, &k) {
                Some(s) => StepStatus::Job(s.job, JobState::Unknown),
                None => StepStatus::NotRun,
            }
        })
        .collect();
    let ids: Vec<String> = out
        .iter()
        .filter_map(|s| match s {
            StepStatus::Job(id, _) => Some(id.clone()),
            _ => None,
        })
        .collect();
    let known = states(&ids)?;
    for s in &mut out {
        if let StepStatus::Job(id, st) = s {
            *st = known.get(id).cloned().unwrap_or(JobState::Unknown);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_layer_in_order_and_options_accumulate() {
        let o: Overrides = serde_yaml::from_str(
            "default: {partition: gpu, options: ['--qos=a']}\nops:\n  fit: {cpus: 2, mem: 3G, options: ['--nice=5']}\nsteps:\n  dense: {time: '1:00:00'}\n",
        )
        .unwrap();
        let mut r = Res {
            cpus: Some(4),
            mem: Some("16G".into()),
            ..Res::default()
        };
        r.overlay(&o.default);
        r.overlay(&o.ops["fit"]);
        r.overlay(&o.steps["dense"]);
        assert_eq!(r.cpus, Some(2));
        assert_eq!(r.mem.as_deref(), Some("3G"));
        assert_eq!(r.time.as_deref(), Some("1:00:00"));
        assert_eq!(r.partition.as_deref(), Some("gpu"));
        assert_eq!(r.options.unwrap(), vec!["--qos=a", "--nice=5"]);
    }

    #[test]
    fn the_example_in_the_docs_parses() {
        let doc = include_str!("../../docs/slurm.md");
        let yaml = doc
            .split("```yaml\n")
            .nth(1)
            .and_then(|s| s.split("```").next())
            .unwrap();
        let o: Overrides = serde_yaml::from_str(yaml).unwrap();
        assert_eq!(o.ops["fit"].gpus, Some(1));
        assert_eq!(o.steps["dense"].options.as_ref().unwrap().len(), 1);
    }

    #[test]
    fn unknown_fields_are_errors() {
        assert!(serde_yaml::from_str::<Overrides>("ops: {fit: {cpu: 2}}").is_err());
        assert!(serde_yaml::from_str::<Overrides>("op: {}").is_err());
    }

    #[test]
    fn quoting_survives_spaces_and_quotes() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
