//! Source files and byte spans into them, shared by every diagnostic.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Index of a file in a [`Sources`] table.
pub type FileId = usize;

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub file: FileId,
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Self {
        Span { file, start, end }
    }
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// One loaded recipe file: its path as the user named it (relative to the
/// workspace when possible), its text and where its lines start.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: Arc<String>,
    /// Byte offset of each line's first byte: locating a place is a binary
    /// search, so reporting N errors costs N·log(lines), not N·(file size).
    line_starts: Vec<usize>,
}

impl SourceFile {
    fn new(path: &Path, text: String) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            path: path.to_path_buf(),
            text: Arc::new(text),
            line_starts,
        }
    }
    /// 0-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= offset) - 1
    }
    /// Byte range of a 0-based line, without its line break.
    pub fn line_range(&self, line: usize) -> (usize, usize) {
        let start = self.line_starts[line];
        let end = self
            .line_starts
            .get(line + 1)
            .map(|&next| next - 1)
            .unwrap_or(self.text.len());
        (start, end)
    }
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }
    /// 0-based (line, column) of a byte offset, column counted in characters.
    pub fn line_col0(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let line = self.line_of(offset);
        let col = self.text[self.line_starts[line]..offset].chars().count();
        (line, col)
    }
}

/// The largest char boundary at or before `i` (str::floor_char_boundary is
/// not stable yet).
pub fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The smallest char boundary at or after `i`.
pub fn ceil_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Every file a check has read, so spans can be rendered later.
#[derive(Debug, Default)]
pub struct Sources {
    pub files: Vec<SourceFile>,
}

impl Sources {
    pub fn add(&mut self, path: &Path, text: String) -> FileId {
        self.files.push(SourceFile::new(path, text));
        self.files.len() - 1
    }
    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id]
    }
    /// 1-based (line, column) of a byte offset, column counted in characters.
    pub fn line_col(&self, id: FileId, offset: usize) -> (usize, usize) {
        let (l, c) = self.files[id].line_col0(offset);
        (l + 1, c + 1)
    }
    /// `file:line:col` for a span, as every error message names places.
    pub fn locate(&self, span: Span) -> String {
        let (l, c) = self.line_col(span.file, span.start);
        format!("{}:{}:{}", self.files[span.file].path.display(), l, c)
    }
    /// The text a span covers.
    pub fn slice(&self, span: Span) -> &str {
        &self.files[span.file].text[span.start..span.end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let mut s = Sources::default();
        let f = s.add(Path::new("r.lotto"), "ab\nçd\n\nx".to_string());
        assert_eq!(s.line_col(f, 0), (1, 1));
        assert_eq!(s.line_col(f, 2), (1, 3));
        assert_eq!(s.line_col(f, 3), (2, 1));
        // 'ç' is two bytes, one column.
        assert_eq!(s.line_col(f, 5), (2, 2));
        assert_eq!(s.line_col(f, 8), (4, 1));
        assert_eq!(s.line_col(f, 99), (4, 2));
        assert_eq!(s.get(f).line_range(1), (3, 6));
        assert_eq!(s.get(f).line_range(3), (8, 9));
        assert_eq!(s.get(f).line_count(), 4);
    }
}
