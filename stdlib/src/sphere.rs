//! NIST SPHERE (`.sph`, TED-LIUM's audio) reader: uncompressed PCM only.
//! Shorten-compressed files get an error that says how to convert them.

use std::path::Path;

/// Decodes a SPHERE file to mono f32 and its sample rate.
pub fn read(path: &Path) -> Result<(Vec<f32>, u32), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("`{}`: {e}", path.display()))?;
    parse(&bytes).map_err(|e| format!("`{}`: {e}", path.display()))
}

pub fn parse(bytes: &[u8]) -> Result<(Vec<f32>, u32), String> {
    if bytes.len() < 16 || &bytes[..8] != b"NIST_1A\n" {
        return Err("not a NIST SPHERE file (no `NIST_1A` header)".into());
    }
    let header_len: usize = std::str::from_utf8(&bytes[8..16])
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or("SPHERE header length is not a number")?;
    if header_len < 16 || header_len > bytes.len() {
        return Err(format!(
            "SPHERE header length {header_len} is beyond the end of the file"
        ));
    }
    let header = String::from_utf8_lossy(&bytes[16..header_len]);
    let mut rate = None;
    let mut channels = 1usize;
    let mut width = 2usize;
    let mut coding = "pcm".to_string();
    let mut big_endian = false;
    let mut count: Option<usize> = None;
    for line in header.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.first() == Some(&"end_head") {
            break;
        }
        if f.len() < 3 {
            continue;
        }
        let v = f[2..].join(" ");
        match f[0] {
            "sample_rate" => rate = v.parse::<u32>().ok(),
            "channel_count" => channels = v.parse().map_err(|_| "bad channel_count")?,
            "sample_n_bytes" => width = v.parse().map_err(|_| "bad sample_n_bytes")?,
            "sample_coding" => coding = v,
            "sample_byte_format" => big_endian = v == "10",
            "sample_count" => count = v.parse().ok(),
            _ => {}
        }
    }
    if coding.contains("shorten") {
        return Err("shorten-compressed SPHERE is not supported; convert it with `sox in.sph -r 16000 -c 1 out.wav` (or `sph2pipe -f wav`)".into());
    }
    if !coding.starts_with("pcm") {
        return Err(format!(
            "SPHERE sample coding `{coding}` is not supported (PCM only)"
        ));
    }
    let rate = rate
        .filter(|r| *r > 0)
        .ok_or("SPHERE header has no sample_rate")?;
    if channels == 0 || !(1..=4).contains(&width) {
        return Err(format!(
            "SPHERE header has {channels} channels of {width} bytes"
        ));
    }
    let data = &bytes[header_len..];
    let frame = width * channels;
    let frames = data.len() / frame;
    if let Some(c) = count {
        if c > frames {
            return Err(format!(
                "truncated: header says {c} samples, the file holds {frames}"
            ));
        }
    }
    let frames = count.unwrap_or(frames).min(frames);
    let scale = 1.0 / (1u64 << (8 * width - 1)) as f32;
    let mut out = Vec::with_capacity(frames);
    for i in 0..frames {
        let mut acc = 0.0f32;
        for c in 0..channels {
            let s = &data[i * frame + c * width..i * frame + (c + 1) * width];
            let mut v: i64 = 0;
            for k in 0..width {
                let b = if big_endian { s[k] } else { s[width - 1 - k] } as i64;
                v = (v << 8) | b;
            }
            let shift = 64 - 8 * width as i64;
            acc += ((v << shift) >> shift) as f32 * scale;
        }
        out.push(acc / channels as f32);
    }
    Ok((out, rate))
}

/// Writes 16-bit little-endian mono SPHERE (for fixtures and tests).
pub fn write(path: &Path, x: &[f32], rate: u32) -> std::io::Result<()> {
    let mut h = format!("NIST_1A\n   1024\nsample_count -i {}\nsample_rate -i {rate}\nchannel_count -i 1\nsample_n_bytes -i 2\nsample_byte_format -s2 01\nsample_coding -s3 pcm\nend_head\n", x.len()).into_bytes();
    h.resize(1024, b' ');
    for v in x {
        h.extend_from_slice(&((v.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes());
    }
    std::fs::write(path, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_malformed_headers_never_panic() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("a.sph");
        let x: Vec<f32> = (0..800).map(|i| (i as f32 * 0.1).sin() * 0.5).collect();
        write(&p, &x, 16000).unwrap();
        let (y, r) = read(&p).unwrap();
        assert_eq!((y.len(), r), (800, 16000));
        assert!((y[10] - x[10]).abs() < 1e-3);
        let bytes = std::fs::read(&p).unwrap();
        // Every truncation and a sweep of corruptions: errors, no panics.
        for n in [0, 5, 8, 15, 16, 100, 1023, 1024, 1500] {
            let _ = parse(&bytes[..n.min(bytes.len())]);
        }
        for i in (0..1024).step_by(7) {
            let mut b = bytes.clone();
            b[i] = b[i].wrapping_add(37);
            let _ = parse(&b);
        }
        let shorten = String::from_utf8_lossy(&bytes)
            .replace("sample_coding -s3 pcm", "sample_coding -s7 shorten");
        assert!(parse(shorten.as_bytes())
            .unwrap_err()
            .contains("convert it with `sox"));
        assert!(parse(&bytes[..1200]).unwrap_err().contains("truncated"));
    }
}
