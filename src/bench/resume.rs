//! No-op resume of a fully cached recipe of 200+ steps: the whole
//! `lotto run` process, as a user experiences it.

use super::{ms, time_process};
use std::path::Path;

pub fn run(exe: &Path, repo: &Path) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("lotto-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).map_err(|e| e.to_string())?;
    // The bundled corpus (300 WAV files) as the data every step derives from.
    let src = repo.join("data/tiny");
    if !src.join("manifest.tsv").is_file() {
        return Err(format!(
            "run from the repository root (no {})",
            src.display()
        ));
    }
    std::os::unix::fs::symlink(&src, dir.join("data/tiny")).map_err(|e| e.to_string())?;
    let mut r = String::from("corpus c0 = manifest(\"data/tiny/manifest.tsv\")\nnoise bank = noise_dir(\"data/tiny/noise\")\n");
    for i in 1..=200 {
        r.push_str(&format!("corpus c{i} = take(c{}, n: {})\n", i - 1, 300 - i));
    }
    r.push_str(
        "for level in [0.1, 0.2, 0.5] {\n  corpus noisy = mix(c200, bank, level: level)\n}\n",
    );
    std::fs::write(dir.join("r.lotto"), r).map_err(|e| e.to_string())?;
    // The first run computes every step; the timed ones find them cached.
    time_process(exe, &dir, &["run", "r.lotto"], 1)?;
    let (time, last) = time_process(exe, &dir, &["run", "r.lotto"], 7)?;
    println!("no-op resume of a fully cached recipe ({}): median {} per `lotto run` process (target ≤ 100 ms)", last.trim(), ms(time));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
