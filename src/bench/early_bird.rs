//! Early-bird tickets against plain IMP on the toy recipe.

use std::path::Path;
use std::time::Instant;

/// Early-bird tickets against plain IMP: runs `pipelines/toy/early_bird.lotto`
/// (cached steps are reused) and prints, per ticket, the training epochs and
/// seconds of all its rounds and the last round's RW and test WER.
pub fn run(exe: &Path, repo: &Path) -> Result<(), String> {
    let recipe = "pipelines/toy/early_bird.lotto";
    if !repo.join(recipe).is_file() {
        return Err(format!("run from the repository root (no {recipe})"));
    }
    let lotto = |args: &[&str]| -> Result<String, String> {
        let o = std::process::Command::new(exe)
            .current_dir(repo)
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        if !o.status.success() {
            return Err(String::from_utf8_lossy(&o.stderr).to_string());
        }
        Ok(String::from_utf8_lossy(&o.stdout).to_string())
    };
    eprintln!("running {recipe} (minutes when not cached)...");
    let t0 = Instant::now();
    let ran = lotto(&["run", recipe, "--jobs", "2"])?;
    eprintln!(
        "{} in {:.0} s",
        ran.lines().last().unwrap_or("").trim(),
        t0.elapsed().as_secs_f64()
    );
    let artifacts = |step: &str| -> Result<std::path::PathBuf, String> {
        let show = lotto(&["show", recipe, step])?;
        show.lines()
            .find_map(|l| l.strip_prefix("artifacts: "))
            .map(std::path::PathBuf::from)
            .ok_or_else(|| format!("`lotto show` printed no artifacts for {step}"))
    };
    let table = lotto_stdlib::eval::table::read_table(&artifacts("results")?)?;
    println!("| ticket | rounds | training epochs | training seconds | last round RW % | last round test WER % |");
    println!("|---|---:|---:|---:|---:|---:|");
    for name in ["full", "eb"] {
        let dir = artifacts(name)?;
        let objects = dir.parent().ok_or("store layout")?;
        let ticket = lotto_stdlib::tickets::ticket::read_ticket(&dir)?;
        let (mut epochs, mut seconds) = (0usize, 0.0f64);
        for r in ticket.rounds.iter().filter(|r| r.round > 0) {
            let info = lotto_stdlib::training::job::read_trained(&objects.join(&r.dir))?;
            epochs += info.history.len();
            seconds += info.history.iter().map(|e| e.seconds).sum::<f64>();
        }
        let last = ticket.rounds.last().ok_or("ticket without rounds")?;
        let wer = table
            .rows
            .iter()
            .find(|row| row.model == name && row.round == last.round)
            .map(|row| row.wer)
            .ok_or_else(|| format!("no WER for {name} round {}", last.round))?;
        println!(
            "| {name} | {} | {epochs} | {seconds:.0} | {:.1} | {wer:.2} |",
            ticket.rounds.len() - 1,
            last.rw
        );
    }
    Ok(())
}
