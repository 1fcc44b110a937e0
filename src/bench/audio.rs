//! Audio decoding and features against librosa.

use super::median;
use std::path::Path;
use std::time::Instant;

/// Decode + DS2 spectrogram throughput on the bundled corpus's WAV files
/// (seconds of audio per second), with 1 thread and with all threads, side
/// by side with librosa (bench/audio_librosa.py) when it imports.
pub fn run(repo: &Path, reps: usize) -> Result<(), String> {
    use lotto_stdlib::features::spec::{extract, FeatureSpec};
    use rayon::prelude::*;
    let dir = repo.join("data/tiny/audio");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("`{}`: {e} (run from the repository)", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wav"))
        .collect();
    files.sort();
    let spec = FeatureSpec::ds2();
    let one = |f: &std::path::PathBuf| -> Result<f64, String> {
        let x = lotto_stdlib::audio::load(f, None)?;
        let (frames, _) = extract(&x, &spec);
        debug_assert!(frames > 0);
        Ok(x.len() as f64 / lotto_stdlib::audio::RATE as f64)
    };
    let threads = rayon::current_num_threads();
    for n in [1, threads] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| e.to_string())?;
        let mut times = vec![];
        let mut secs = 0.0;
        for _ in 0..reps {
            let t0 = Instant::now();
            secs = pool.install(|| {
                files
                    .par_iter()
                    .map(one)
                    .collect::<Result<Vec<f64>, String>>()
                    .map(|v| v.iter().sum::<f64>())
            })?;
            times.push(t0.elapsed());
        }
        let m = median(times).as_secs_f64();
        println!(
            "lotto decode+spectrogram, {n} thread(s): {secs:.1} s of audio ({} files) in {m:.3} s (median of {reps}) = {:.0}x real time",
            files.len(),
            secs / m
        );
    }
    let ok = std::process::Command::new("python3")
        .args(["-c", "import librosa"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        println!("librosa peer skipped: `python3 -c 'import librosa'` fails (pip install librosa to compare)");
        return Ok(());
    }
    let list = std::env::temp_dir().join(format!("lotto-bench-files-{}.txt", std::process::id()));
    std::fs::write(
        &list,
        files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .map_err(|e| e.to_string())?;
    let out = std::process::Command::new("python3")
        .arg(repo.join("bench/audio_librosa.py"))
        .arg(&list)
        .arg(reps.to_string())
        .output()
        .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&list);
    print!("{}", String::from_utf8_lossy(&out.stdout));
    if !out.status.success() {
        println!(
            "librosa peer failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
