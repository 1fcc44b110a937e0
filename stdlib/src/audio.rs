//! Audio decoding to 16 kHz mono f32: WAV (8/16/24/32-bit int, 32-bit
//! float) through hound, SPHERE through `sphere`, FLAC, MP3 and Ogg Vorbis
//! through symphonia (its MP3 decoder lotto's build, `stdlib/mp3`); channels
//! averaged to mono; resampling with rubato's FFT resampler.

use std::path::Path;

pub const RATE: u32 = 16_000;

/// Decodes a WAV file to mono f32 at its own rate. Errors name the file.
pub fn read_wav(path: &Path) -> Result<(Vec<f32>, u32), String> {
    let mut r = hound::WavReader::open(path)
        .map_err(|e| format!("`{}`: not a readable WAV file ({e})", path.display()))?;
    let spec = r.spec();
    if spec.channels == 0 || spec.sample_rate == 0 {
        return Err(format!(
            "`{}`: WAV header has no channels or no sample rate",
            path.display()
        ));
    }
    let ch = spec.channels as usize;
    let pcm16 = spec.sample_format == hound::SampleFormat::Int
        && spec.bits_per_sample == 16
        && block_align(path) == Some(2 * spec.channels);
    let samples: Result<Vec<f32>, _> = match spec.sample_format {
        // The common case read in one go: the same values as hound's
        // per-sample reader gives (i16 → f32 is exact, the scale a power
        // of two), an order of magnitude faster.
        hound::SampleFormat::Int if pcm16 => {
            let n = r.len() as usize;
            let mut bytes = vec![0u8; 2 * n];
            std::io::Read::read_exact(&mut r.into_inner(), &mut bytes)
                .map(|()| {
                    // Whole two-byte arrays, so the conversion vectorizes.
                    let (pairs, _) = bytes.as_chunks::<2>();
                    pairs
                        .iter()
                        .map(|b| i16::from_le_bytes(*b) as f32 * (1.0 / 32768.0))
                        .collect()
                })
                .map_err(hound::Error::IoError)
        }
        hound::SampleFormat::Float => r.samples::<f32>().collect(),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            r.samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect()
        }
    };
    let samples = samples
        .map_err(|e| format!("`{}`: truncated or corrupt WAV data ({e})", path.display()))?;
    if samples.is_empty() {
        return Err(format!("`{}`: WAV file has no samples", path.display()));
    }
    // Only float samples can be NaN or infinite.
    if spec.sample_format == hound::SampleFormat::Float && samples.iter().any(|v| !v.is_finite()) {
        return Err(format!(
            "`{}`: WAV data contains NaN or infinite samples",
            path.display()
        ));
    }
    let mono = if ch == 1 {
        samples
    } else {
        samples
            .chunks(ch)
            .map(|c| c.iter().sum::<f32>() / ch as f32)
            .collect()
    };
    Ok((mono, spec.sample_rate))
}

/// A WAV file's block alignment (bytes per frame, all channels) from its
/// `fmt ` chunk, if the first 64 KiB hold it: tells 16-bit samples packed
/// in 2 bytes from ones padded to wider containers.
fn block_align(path: &Path) -> Option<u16> {
    use std::io::Read;
    let mut head = vec![];
    std::fs::File::open(path)
        .ok()?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .ok()?;
    let mut at = 12;
    while at + 8 <= head.len() {
        let size = u32::from_le_bytes(head[at + 4..at + 8].try_into().ok()?) as usize;
        if &head[at..at + 4] == b"fmt " {
            let f = head.get(at + 8..at + 8 + 14)?;
            return Some(u16::from_le_bytes([f[12], f[13]]));
        }
        at = at.checked_add(8)?.checked_add(size + (size & 1))?;
    }
    None
}

/// Resampling with rubato's synchronous FFT resampler (band-limited,
/// Blackman-Harris anti-aliasing; its start-up delay trimmed, so the output
/// is aligned with the input and `len * to / from` samples long).
pub fn resample(x: &[f32], from: u32, to: u32) -> Result<Vec<f32>, String> {
    use rubato::audioadapter_buffers::direct::InterleavedSlice;
    use rubato::{Fft, FixedSync, Resampler, WindowFunction};
    if from == to || x.is_empty() {
        return Ok(x.to_vec());
    }
    let err = |e: &dyn std::fmt::Display| format!("resampling {from} Hz → {to} Hz: {e}");
    let input = InterleavedSlice::new(x, 1, x.len()).map_err(|e| err(&e))?;
    RESAMPLERS.with(|cache| {
        let mut cache = cache.borrow_mut();
        let i = match cache.iter().position(|(k, _)| *k == (from, to)) {
            Some(i) => i,
            None => {
                let r = Fft::<f32>::new_custom(
                    from as usize,
                    to as usize,
                    fft_block(from, to),
                    1,
                    1,
                    WindowFunction::BlackmanHarris2,
                    FixedSync::Input,
                )
                .map_err(|e| err(&e))?;
                cache.push(((from, to), r));
                cache.len() - 1
            }
        };
        // `process_all` resets the resampler first: a cached one gives
        // what a new one would, bit for bit.
        let out = cache[i]
            .1
            .process_all(&input, x.len(), None)
            .map_err(|e| err(&e))?;
        Ok(out.take_data())
    })
}

/// The input block of the FFT resampler: the rates' least block
/// (`from / gcd(from, to)`) times the power of two that brings it to 1,024
/// samples or more. The FFTs then have lengths `2 × block` and
/// `2 × block × to / from` made of the rates' own factors (48 → 16 kHz:
/// 3,072 and 1,024), not a large prime that forces Rader's algorithm
/// (rubato's default block for 48 → 16 kHz is 258 samples: FFTs of 516
/// and 172, 43 × 12 and 43 × 4, 2.6× slower). The filter is as long as
/// the block: at 48 → 16 kHz the passband is flat (within 0.01 dB) to
/// 7.5 kHz where the default block's fell by 14 dB at 7 kHz.
fn fft_block(from: u32, to: u32) -> usize {
    let (mut a, mut b) = (from as usize, to as usize);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    let least = from as usize / a;
    let mut block = least;
    while block < 1024 {
        block *= 2;
    }
    block
}

/// A resampler kept for a (from, to) pair of rates.
type Kept = ((u32, u32), rubato::Fft<f32>);

thread_local! {
    /// Resamplers by (from, to) rate, per thread: planning one costs more
    /// than resampling a short utterance, and a corpus has few rates.
    static RESAMPLERS: std::cell::RefCell<Vec<Kept>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// File extensions `load` decodes.
pub const EXTENSIONS: &[&str] = &["wav", "flac", "mp3", "ogg", "sph"];

/// Reads any supported file to 16 kHz mono, with an optional segment.
pub fn load(path: &Path, segment: Option<(f64, f64)>) -> Result<Vec<f32>, String> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let (x, sr) = match ext.as_str() {
        "wav" => read_wav(path)?,
        "sph" => crate::sphere::read(path)?,
        "flac" | "mp3" | "ogg" => read_compressed(path, &ext)?,
        other => {
            return Err(format!(
                "`{}`: audio format `{other}` is not supported (WAV, FLAC, MP3, OGG, SPHERE); convert it with `sox {} -r 16000 -c 1 out.wav`",
                path.display(),
                path.display()
            ))
        }
    };
    // A corrupt header's rate (1 Hz, 4 GHz) would make resampling blow a
    // second of audio up to hours: refuse it as the bad file it is.
    if !(1_000..=768_000).contains(&sr) {
        return Err(format!(
            "`{}`: sample rate {sr} Hz in its header is implausible (expected 1 kHz to 768 kHz); the file is probably corrupt",
            path.display()
        ));
    }
    let x = match segment {
        Some((a, b)) => {
            let (s, e) = ((a * sr as f64) as usize, (b * sr as f64) as usize);
            if e > x.len() || s >= e {
                return Err(format!(
                    "`{}`: segment {a:.2}s–{b:.2}s lies beyond the end of the audio ({:.2}s)",
                    path.display(),
                    x.len() as f64 / sr as f64
                ));
            }
            x[s..e].to_vec()
        }
        None => x,
    };
    resample(&x, sr, RATE)
}

/// FLAC, MP3 and OGG/Vorbis through symphonia, downmixed to mono. A panic
/// inside the decoder on a corrupt file is that file's error, not the
/// corpus step's.
fn read_compressed(path: &Path, ext: &str) -> Result<(Vec<f32>, u32), String> {
    std::panic::catch_unwind(|| decode_compressed(path, ext)).unwrap_or_else(|_| {
        Err(format!(
            "`{}`: the {ext} decoder failed on this file; it is probably corrupt",
            path.display()
        ))
    })
}

fn decode_compressed(path: &Path, ext: &str) -> Result<(Vec<f32>, u32), String> {
    use symphonia::core::codecs::DecoderOptions;
    use symphonia::core::errors::Error;
    use symphonia::core::formats::FormatOptions;
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;
    use symphonia::core::probe::Hint;
    let bad = |e: &dyn std::fmt::Display| {
        format!("`{}`: cannot decode {ext} audio ({e})", path.display())
    };
    let file = std::fs::File::open(path).map_err(|e| format!("`{}`: {e}", path.display()))?;
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    hint.with_extension(ext);
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            mss,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| bad(&e))?;
    let mut format = probed.format;
    let track = format
        .default_track()
        .ok_or_else(|| bad(&"no audio track"))?;
    let track_id = track.id;
    let rate = track
        .codec_params
        .sample_rate
        .ok_or_else(|| bad(&"no sample rate"))?;
    // The length the stream says it has (FLAC's STREAMINFO; Vorbis's last
    // page; MP3's Xing/Info frame), to catch a file cut short.
    let declared = track.codec_params.n_frames;
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| bad(&e))?;
    let mut out = Vec::with_capacity(declared.unwrap_or(0).min(1 << 28) as usize);
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(Error::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(bad(&e)),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(d) => d,
            Err(Error::DecodeError(e)) => return Err(bad(&e)),
            Err(e) => return Err(bad(&e)),
        };
        push_mono(&decoded, &mut out);
    }
    if out.is_empty() {
        return Err(bad(&"no samples"));
    }
    if let Some(n) = declared {
        if is_truncated(out.len() as u64, n, ext) {
            return Err(format!(
                "`{}`: truncated {ext} file: its header says {:.2}s of audio, it holds {:.2}s",
                path.display(),
                n as f64 / rate as f64,
                out.len() as f64 / rate as f64
            ));
        }
    }
    Ok((out, rate))
}

/// Appends a decoded packet to `out` as mono f32: each frame's channels
/// converted as symphonia converts samples, summed in channel order and
/// divided by their count, read from the decoder's planes directly (a
/// mono packet is one conversion per sample, with no interleaved copy).
fn push_mono(decoded: &symphonia::core::audio::AudioBufferRef, out: &mut Vec<f32>) {
    use symphonia::core::audio::{AudioBuffer, AudioBufferRef as B, Signal};
    use symphonia::core::conv::IntoSample;
    use symphonia::core::sample::Sample;
    fn planes<S: Sample + IntoSample<f32>>(buf: &AudioBuffer<S>, out: &mut Vec<f32>) {
        let ch = buf.spec().channels.count();
        if ch == 1 {
            out.extend(buf.chan(0).iter().map(|&s| s.into_sample()));
        } else if ch > 1 {
            let chans: Vec<&[S]> = (0..ch).map(|c| buf.chan(c)).collect();
            out.extend(
                (0..buf.frames())
                    .map(|i| chans.iter().map(|c| c[i].into_sample()).sum::<f32>() / ch as f32),
            );
        }
    }
    match decoded {
        B::U8(b) => planes(b, out),
        B::U16(b) => planes(b, out),
        B::U24(b) => planes(b, out),
        B::U32(b) => planes(b, out),
        B::S8(b) => planes(b, out),
        B::S16(b) => planes(b, out),
        B::S24(b) => planes(b, out),
        B::S32(b) => planes(b, out),
        B::F32(b) => planes(b, out),
        B::F64(b) => planes(b, out),
    }
}

/// Whether `decoded` frames fall short of the `declared` count. FLAC
/// declares its exact length; MP3 and Vorbis headers count encoder delay
/// and padding differently from decoders, so a shortfall of up to two MP3
/// frames (2 × 1152 samples) is normal there.
fn is_truncated(decoded: u64, declared: u64, ext: &str) -> bool {
    let slack = if ext == "flac" { 0 } else { 2 * 1152 };
    decoded + slack < declared
}

pub fn write_wav(path: &Path, x: &[f32]) -> Result<(), String> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w =
        hound::WavWriter::create(path, spec).map_err(|e| format!("`{}`: {e}", path.display()))?;
    for &s in x {
        w.write_sample(s).map_err(|e| e.to_string())?;
    }
    w.finalize().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_int_and_float_wavs_and_rejects_junk() {
        let t = tempfile::tempdir().unwrap();
        for (bits, fmt) in [
            (8, hound::SampleFormat::Int),
            (16, hound::SampleFormat::Int),
            (24, hound::SampleFormat::Int),
            (32, hound::SampleFormat::Float),
        ] {
            let p = t.path().join(format!("x{bits}.wav"));
            let spec = hound::WavSpec {
                channels: 2,
                sample_rate: 16000,
                bits_per_sample: bits,
                sample_format: fmt,
            };
            let mut w = hound::WavWriter::create(&p, spec).unwrap();
            for i in 0..100 {
                let v = if i % 2 == 0 { 0.5 } else { -0.5 };
                match fmt {
                    hound::SampleFormat::Float => {
                        w.write_sample(v).unwrap();
                        w.write_sample(v).unwrap();
                    }
                    hound::SampleFormat::Int => {
                        let m = (1i32 << (bits - 1)) as f32 * v;
                        w.write_sample(m as i32).unwrap();
                        w.write_sample(m as i32).unwrap();
                    }
                }
            }
            w.finalize().unwrap();
            let (x, sr) = read_wav(&p).unwrap();
            assert_eq!((x.len(), sr), (100, 16000));
            assert!((x[0] - 0.5).abs() < 0.01, "{bits}: {}", x[0]);
        }
        let bad = t.path().join("bad.wav");
        std::fs::write(&bad, b"RIFF\x10\x00\x00\x00WAVEjunk").unwrap();
        assert!(load(&bad, None).unwrap_err().contains("bad.wav"));
        std::fs::write(&bad, b"").unwrap();
        assert!(load(&bad, None).is_err());
    }

    /// 16-bit PCM is read in one go; the values must be hound's own.
    #[test]
    fn sixteen_bit_wavs_read_in_one_go_give_hounds_values() {
        let t = tempfile::tempdir().unwrap();
        for channels in [1, 2] {
            let p = t.path().join(format!("x{channels}.wav"));
            let spec = hound::WavSpec {
                channels,
                sample_rate: 16000,
                bits_per_sample: 16,
                sample_format: hound::SampleFormat::Int,
            };
            let mut w = hound::WavWriter::create(&p, spec).unwrap();
            let mut v = 12345i32;
            for _ in 0..4000 * channels as usize {
                v = v.wrapping_mul(1103515245).wrapping_add(12345) & 0x7fff_ffff;
                w.write_sample((v >> 8) as i16).unwrap();
            }
            w.finalize().unwrap();
            assert_eq!(block_align(&p), Some(2 * channels));
            let want: Vec<f32> = hound::WavReader::open(&p)
                .unwrap()
                .samples::<i32>()
                .map(|s| s.unwrap() as f32 / 32768.0)
                .collect::<Vec<f32>>()
                .chunks(channels as usize)
                .map(|c| c.iter().sum::<f32>() / channels as f32)
                .collect();
            let (got, _) = read_wav(&p).unwrap();
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
            assert_eq!(bits(&got), bits(&want), "{channels} channel(s)");
            // Cut short: an error naming the file, as from hound's reader.
            let bytes = std::fs::read(&p).unwrap();
            std::fs::write(&p, &bytes[..bytes.len() - 100]).unwrap();
            let e = read_wav(&p).unwrap_err();
            assert!(e.contains("truncated or corrupt WAV data"), "{e}");
        }
    }

    /// Resamplers are kept per thread; a kept one gives what a new one
    /// gives (a new thread starts with none).
    #[test]
    fn a_kept_resampler_gives_what_a_new_one_gives() {
        let tone = |f: f32, n: usize| -> Vec<f32> {
            (0..n)
                .map(|i| (i as f32 * 2.0 * std::f32::consts::PI * f / 48000.0).sin())
                .collect()
        };
        let (a, b) = (tone(440.0, 20000), tone(3000.0, 7000));
        let first = resample(&a, 48000, 16000).unwrap();
        resample(&b, 48000, 16000).unwrap();
        assert_eq!(resample(&a, 48000, 16000).unwrap(), first);
        let fresh = std::thread::spawn(move || resample(&a, 48000, 16000).unwrap())
            .join()
            .unwrap();
        assert_eq!(fresh, first);
    }

    /// The planes read directly give what symphonia's interleaved copy
    /// followed by a per-frame mean gave, bit for bit: mono and stereo,
    /// integer and float samples (signed zeros included).
    #[test]
    fn decoded_planes_downmix_as_the_interleaved_copy_did() {
        use std::borrow::Cow;
        use symphonia::core::audio::{AudioBuffer, AudioBufferRef, Channels, SampleBuffer};
        use symphonia::core::audio::{Signal, SignalSpec};
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
        let interleaved_mean = |r: AudioBufferRef, ch: usize| -> Vec<f32> {
            let mut sb = SampleBuffer::<f32>::new(r.capacity() as u64, *r.spec());
            sb.copy_interleaved_ref(r);
            sb.samples()
                .chunks(ch)
                .map(|c| c.iter().sum::<f32>() / ch as f32)
                .collect()
        };
        let mono = SignalSpec::new(48_000, Channels::FRONT_LEFT);
        let stereo = SignalSpec::new(48_000, Channels::FRONT_LEFT | Channels::FRONT_RIGHT);
        let mut f = AudioBuffer::<f32>::new(300, mono);
        f.render(None, |planes, i| {
            planes.planes()[0][i] = [0.3, -0.0, 0.0, -1.0, 1e-30][i % 5] * (i as f32 + 1.0);
            Ok(())
        })
        .unwrap();
        let mut s = AudioBuffer::<i16>::new(300, stereo);
        s.render(None, |planes, i| {
            let p = planes.planes();
            p[0][i] = (i as i16).wrapping_mul(977);
            p[1][i] = -(i as i16).wrapping_mul(331);
            Ok(())
        })
        .unwrap();
        for (r, ch) in [
            (AudioBufferRef::F32(Cow::Borrowed(&f)), 1),
            (AudioBufferRef::S16(Cow::Borrowed(&s)), 2),
        ] {
            let mut got = vec![];
            push_mono(&r, &mut got);
            assert_eq!(got.len(), 300);
            assert_eq!(
                bits(&got),
                bits(&interleaved_mean(r, ch)),
                "{ch} channel(s)"
            );
        }
    }

    /// lotto's build of symphonia's MP3 decoder (stdlib/mp3, its synthesis
    /// filterbank vectorized) gives crates.io's symphonia-bundle-mp3 0.5.5
    /// bits, whichever of its AVX-512, AVX and scalar paths the CPU takes:
    /// the digests are upstream's decoding of the fixtures.
    #[test]
    fn mp3_decoding_gives_upstream_symphonias_bits() {
        let clips =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/commonvoice/clips");
        for (name, samples, digest) in [
            (
                "common_voice_en_0.mp3",
                44_928,
                "801ef4a8dda6d0bec9e5dbb582e057bd8560fe2ad33b448be5ecd98a0bb6f5ef",
            ),
            (
                "common_voice_en_1.mp3",
                32_256,
                "4298489d0fd8640278121e58922bb5fba8517f2a4ad4fb0535952a2982388f10",
            ),
            (
                "common_voice_en_2.mp3",
                51_840,
                "3f6b537ac645f879969f7a284eacb236c5f46a412124bdf8dfb4f3765125d509",
            ),
        ] {
            let (x, rate) = decode_compressed(&clips.join(name), "mp3").unwrap();
            assert_eq!((x.len(), rate), (samples, 48_000), "{name}");
            let mut h = blake3::Hasher::new();
            for v in &x {
                h.update(&v.to_bits().to_le_bytes());
            }
            assert_eq!(h.finalize().to_hex().as_str(), digest, "{name}");
        }
    }

    #[test]
    fn a_file_cut_short_is_an_error_in_every_format() {
        let t = tempfile::tempdir().unwrap();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
        let flac = fixtures.join("librispeech/train-clean-100/19/198/19-198-0000.flac");
        let wav = t.path().join("x.wav");
        write_wav(&wav, &[0.1; 16_000]).unwrap();
        let sph = t.path().join("x.sph");
        crate::sphere::write(&sph, &[0.1; 16_000], 16_000).unwrap();
        for (src, ext) in [(flac, "flac"), (wav, "wav"), (sph, "sph")] {
            load(&src, None).unwrap();
            let bytes = std::fs::read(&src).unwrap();
            let cut = t.path().join(format!("cut.{ext}"));
            std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
            let e = load(&cut, None).unwrap_err();
            assert!(e.contains("cut.") && e.contains("truncated"), "{ext}: {e}");
        }
    }

    #[test]
    fn a_wave_header_in_a_flac_file_is_an_error() {
        // Found by the loader fuzzer: symphonia's RIFF reader panicked on a
        // zero sample rate; lotto decodes WAV with hound and no longer
        // builds symphonia's RIFF reader.
        let seed =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds_loaders/riff-named-flac");
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("x.flac");
        std::fs::write(&p, &std::fs::read(seed).unwrap()[1..]).unwrap();
        assert!(load(&p, None).unwrap_err().contains("x.flac"));
    }

    #[test]
    fn an_implausible_header_rate_is_an_error() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("x.sph");
        crate::sphere::write(&p, &[0.1; 100], 1).unwrap();
        let e = load(&p, None).unwrap_err();
        assert!(e.contains("sample rate 1 Hz") && e.contains("x.sph"), "{e}");
    }

    #[test]
    fn resampling_keeps_duration_and_tone() {
        let x: Vec<f32> = (0..48000)
            .map(|i| (i as f32 * 2.0 * std::f32::consts::PI * 440.0 / 48000.0).sin())
            .collect();
        let y = resample(&x, 48000, 16000).unwrap();
        assert_eq!(y.len(), 16000);
        let rms = (y[100..15900].iter().map(|v| v * v).sum::<f32>() / 15800.0).sqrt();
        assert!((rms - 0.707).abs() < 0.02, "{rms}");
        // Aligned: no start-up delay (the sine's phase is kept).
        let want: Vec<f32> = (0..16000)
            .map(|i| (i as f32 * 2.0 * std::f32::consts::PI * 440.0 / 16000.0).sin())
            .collect();
        let err = y[200..15800]
            .iter()
            .zip(&want[200..15800])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(err < 0.01, "max deviation {err}");
        // A tone above the new Nyquist frequency is removed, not aliased.
        let high: Vec<f32> = (0..48000)
            .map(|i| (i as f32 * 2.0 * std::f32::consts::PI * 11000.0 / 48000.0).sin())
            .collect();
        let y = resample(&high, 48000, 16000).unwrap();
        let rms = (y[200..15800].iter().map(|v| v * v).sum::<f32>() / 15600.0).sqrt();
        assert!(rms < 0.01, "aliased energy {rms}");
        // The passband reaches 7.5 kHz: such a tone keeps its level.
        let edge: Vec<f32> = (0..48000)
            .map(|i| (i as f32 * 2.0 * std::f32::consts::PI * 7500.0 / 48000.0).sin())
            .collect();
        let y = resample(&edge, 48000, 16000).unwrap();
        let rms = (y[200..15800].iter().map(|v| v * v).sum::<f32>() / 15600.0).sqrt();
        assert!(
            (rms - std::f32::consts::FRAC_1_SQRT_2).abs() < 0.01,
            "7.5 kHz tone's level {rms}"
        );
        // Upsampling and odd ratios (44.1 kHz → 16 kHz) keep the duration.
        assert_eq!(resample(&x[..44100], 44100, 16000).unwrap().len(), 16000);
        assert_eq!(resample(&x[..8000], 8000, 16000).unwrap().len(), 16000);
    }
}
