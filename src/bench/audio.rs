//! Audio decoding and features against librosa, per core: the bundled
//! corpus as 16 kHz WAV and converted by sox to 48 kHz WAV, FLAC and MP3
//! (decode, resample to 16 kHz, DS2 spectrogram), its file list repeated
//! so each timing covers most of an hour of audio. lotto runs on 1 thread
//! and on all; librosa (bench/audio_librosa.py) in 1 process and in as
//! many as lotto has threads.

use super::median;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Each timing reads the file list this many times (296 s of audio each).
const REPEAT: usize = 10;

/// The bundled WAVs.
fn bundled(repo: &Path) -> Result<Vec<PathBuf>, String> {
    let dir = repo.join("data/tiny/audio");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("`{}`: {e} (run from the repository)", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wav"))
        .collect();
    files.sort();
    Ok(files)
}

/// The files converted by sox to 48 kHz `ext` in `dir`, or why not.
fn converted(files: &[PathBuf], dir: &Path, ext: &str) -> Result<Vec<PathBuf>, String> {
    let sub = dir.join(ext);
    std::fs::create_dir_all(&sub).map_err(|e| e.to_string())?;
    files
        .iter()
        .map(|f| {
            let out = sub
                .join(f.file_stem().unwrap_or_default())
                .with_extension(ext);
            let ok = std::process::Command::new("sox")
                .arg(f)
                .args(["-r", "48000"])
                .arg(&out)
                .output()
                .map_err(|e| format!("sox: {e}"))?;
            if !ok.status.success() {
                return Err(format!(
                    "sox cannot write {ext}: {}",
                    String::from_utf8_lossy(&ok.stderr).trim()
                ));
            }
            Ok(out)
        })
        .collect()
}

/// lotto's seconds of audio per second on `threads` threads (median of
/// `reps`), and the seconds of audio.
fn lotto_rate(files: &[PathBuf], threads: usize, reps: usize) -> Result<(f64, f64), String> {
    use lotto_stdlib::features::spec::{extract, FeatureSpec};
    use rayon::prelude::*;
    let spec = FeatureSpec::ds2();
    let one = |f: &PathBuf| -> Result<f64, String> {
        let x = lotto_stdlib::audio::load(f, None)?;
        let (frames, _) = extract(&x, &spec);
        debug_assert!(frames > 0);
        Ok(x.len() as f64 / lotto_stdlib::audio::RATE as f64)
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| e.to_string())?;
    let (mut times, mut secs) = (vec![], 0.0);
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
    Ok((secs / median(times).as_secs_f64(), secs))
}

/// librosa's seconds of audio per second in `procs` processes, as the
/// peer script prints it.
fn librosa_rate(repo: &Path, list: &Path, reps: usize, procs: usize) -> Option<f64> {
    let out = std::process::Command::new("python3")
        .arg(repo.join("bench/audio_librosa.py"))
        .arg(list)
        .args([reps.to_string(), procs.to_string()])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    print!("  {text}");
    if !out.status.success() {
        println!(
            "  librosa peer failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return None;
    }
    text.split(" = ")
        .nth(1)?
        .split('x')
        .next()?
        .trim()
        .parse()
        .ok()
}

pub fn run(repo: &Path, reps: usize) -> Result<(), String> {
    let wavs = bundled(repo)?;
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let threads = rayon::current_num_threads();
    let librosa = super::python_has("librosa", "librosa");
    let sets: Vec<(&str, Result<Vec<PathBuf>, String>)> = vec![
        ("WAV 16 kHz", Ok(wavs.clone())),
        ("WAV 48 kHz", converted(&wavs, tmp.path(), "wav")),
        ("FLAC 48 kHz", converted(&wavs, tmp.path(), "flac")),
        ("MP3 48 kHz", converted(&wavs, tmp.path(), "mp3")),
    ];
    println!(
        "decode + resample to 16 kHz + DS2 spectrogram, the bundled corpus ({} files) read {REPEAT} times; x real time, median of {reps}",
        wavs.len()
    );
    for (name, files) in sets {
        let files = match files {
            Ok(f) => f,
            Err(e) => {
                println!("{name}: skipped ({e})");
                continue;
            }
        };
        let files: Vec<PathBuf> = (0..REPEAT).flat_map(|_| files.iter().cloned()).collect();
        let (one, secs) = lotto_rate(&files, 1, reps)?;
        let (all, _) = lotto_rate(&files, threads, reps)?;
        println!(
            "{name}: {:.0} min of audio; lotto {one:.0}x on 1 thread, {all:.0}x on {threads}",
            secs / 60.0
        );
        if !librosa {
            continue;
        }
        let list = tmp.path().join("files.txt");
        let text: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        std::fs::write(&list, text.join("\n")).map_err(|e| e.to_string())?;
        let peer1 = librosa_rate(repo, &list, reps, 1);
        let peer = librosa_rate(repo, &list, reps, threads);
        if let (Some(p1), Some(p)) = (peer1, peer) {
            println!(
                "  lotto / librosa per core: {:.2}x on 1, {:.2}x on {threads} (goal ≥ 2x)",
                one / p1,
                all / p
            );
        }
    }
    Ok(())
}
