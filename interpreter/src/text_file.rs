//! Reading the text files a recipe names (recipes, manifests, transcripts,
//! LM text) without trusting them: only regular files, only up to a size
//! that no real one reaches (so `/dev/zero` or a FIFO cannot fill memory or
//! hang a check), only UTF-8; a byte-order mark is dropped and CR or CRLF
//! line ends become LF, so files saved by any editor read the same.

use std::fmt;
use std::io::Read;
use std::path::Path;

/// Largest recipe file: the 10,000-line benchmark recipe is under 1 MiB.
pub const RECIPE_MAX: u64 = 16 << 20;

/// Largest text input (manifest, transcript list, LM corpus): the full
/// LibriSpeech 960 h transcripts are about 60 MiB.
pub const TEXT_MAX: u64 = 1 << 30;

/// Why a file could not be read as text; never shows the file's contents.
#[derive(Debug)]
pub enum TextError {
    Missing,
    Directory,
    /// A device, FIFO or socket.
    NotRegular,
    TooLarge {
        size: u64,
        max: u64,
    },
    /// Not UTF-8 at this byte offset.
    NotUtf8 {
        at: usize,
    },
    Io(std::io::Error),
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextError::Missing => write!(f, "no such file"),
            TextError::Directory => write!(f, "it is a folder, not a file"),
            TextError::NotRegular => {
                write!(f, "it is not a regular file (a device, pipe or socket)")
            }
            TextError::TooLarge { size, max } => write!(
                f,
                "it is {} MiB; files of this kind are at most {} MiB",
                size >> 20,
                max >> 20
            ),
            TextError::NotUtf8 { at } => {
                write!(f, "it is not UTF-8 text (invalid byte at offset {at})")
            }
            TextError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Reads `path` as text of at most `max` bytes (see the module docs).
pub fn read_text(path: &Path, max: u64) -> Result<String, TextError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(TextError::Missing),
        Err(e) => return Err(TextError::Io(e)),
    };
    if meta.is_dir() {
        return Err(TextError::Directory);
    }
    if !meta.is_file() {
        return Err(TextError::NotRegular);
    }
    if meta.len() > max {
        return Err(TextError::TooLarge {
            size: meta.len(),
            max,
        });
    }
    // The size can change between the check and the read: read no more
    // than allowed either way.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)
        .and_then(|f| f.take(max + 1).read_to_end(&mut bytes))
        .map_err(TextError::Io)?;
    if bytes.len() as u64 > max {
        return Err(TextError::TooLarge {
            size: bytes.len() as u64,
            max,
        });
    }
    let text = String::from_utf8(bytes).map_err(|e| TextError::NotUtf8 {
        at: e.utf8_error().valid_up_to(),
    })?;
    Ok(normalize(text))
}

/// Drops a leading byte-order mark and turns CRLF and lone CR into LF.
pub fn normalize(text: String) -> String {
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    };
    if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_small_utf8_regular_file() {
        let t = tempfile::tempdir().unwrap();
        assert!(matches!(read_text(t.path(), 10), Err(TextError::Directory)));
        assert!(matches!(
            read_text(&t.path().join("none"), 10),
            Err(TextError::Missing)
        ));
        #[cfg(unix)]
        assert!(matches!(
            read_text(Path::new("/dev/zero"), 10),
            Err(TextError::NotRegular)
        ));
        let big = t.path().join("big");
        std::fs::write(&big, "x".repeat(11)).unwrap();
        assert!(matches!(
            read_text(&big, 10),
            Err(TextError::TooLarge { size: 11, max: 10 })
        ));
        let bin = t.path().join("bin");
        std::fs::write(&bin, b"ok\xff\xfe").unwrap();
        let e = read_text(&bin, 10).unwrap_err();
        assert_eq!(
            e.to_string(),
            "it is not UTF-8 text (invalid byte at offset 2)"
        );
    }

    #[test]
    fn line_ends_and_byte_order_marks_read_the_same() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("r");
        for raw in ["\u{feff}a\nb\n", "a\r\nb\r\n", "a\rb\r", "a\nb\n"] {
            std::fs::write(&f, raw).unwrap();
            assert_eq!(read_text(&f, 100).unwrap(), "a\nb\n", "{raw:?}");
        }
    }
}
