//! Diagnostics → text (miette's graphical report) or JSON.
//!
//! Rendering costs the same for every error however large the file: places
//! are found through the file's line index, and miette sees only an excerpt
//! (the error's lines, long lines cut to a window around the error), so
//! a 100,000-error report is linear and a column in the millions renders.
//! Only the first [`SHOWN`] errors are drawn; the rest are counted.

use crate::diag::{Diagnostic, Diagnostics};
use crate::source::{ceil_char_boundary, floor_char_boundary, SourceFile, Sources, Span};
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde::Serialize;
use std::fmt;

/// Errors drawn in full; a user fixes the first ones first, and the count
/// of the rest says how far there is to go.
pub const SHOWN: usize = 50;

/// Bytes of a long line shown on each side of the error.
const WINDOW: usize = 80;

/// Lines of a span drawn at most: a span over a whole block is drawn by
/// its first lines.
const SPAN_LINES: usize = 6;

/// How to render: colours for a terminal, plain for tests and pipes.
#[derive(Clone, Copy, Debug)]
pub struct RenderOpts {
    pub color: bool,
    pub width: usize,
}

impl Default for RenderOpts {
    fn default() -> Self {
        RenderOpts {
            color: false,
            width: 100,
        }
    }
}

/// One file as miette's source: it answers each span with an excerpt.
struct Excerpt<'a> {
    file: &'a SourceFile,
    name: String,
}

impl SourceCode for Excerpt<'_> {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let f = self.file;
        let text = f.text.as_str();
        if span.offset() + span.len() > text.len() {
            return Err(MietteError::OutOfBounds);
        }
        // miette reads the column as the span's and the line as the
        // excerpt's first.
        let (first_line, column) = f.line_col0(span.offset());
        let last_line = f.line_of(span.offset() + span.len().saturating_sub(1));
        let from = first_line.saturating_sub(before);
        let to = (last_line + after).min(f.line_count() - 1);
        let mut start = f.line_range(from).0;
        let mut end = f.line_range(to).1;
        // A long line is shown around the error only: the excerpt then
        // starts inside that line, which miette draws from there.
        let (line_start, line_end) = f.line_range(first_line);
        if first_line == last_line && line_end - line_start > 3 * WINDOW {
            start = start.max(floor_char_boundary(
                text,
                span.offset().saturating_sub(WINDOW),
            ));
            end = end.min(ceil_char_boundary(
                text,
                span.offset() + span.len() + WINDOW,
            ));
        }
        let data = &text.as_bytes()[start..end];
        let line = f.line_of(start);
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            data,
            SourceSpan::new(start.into(), end - start),
            line,
            column,
            f.line_of(end) - line + 1,
        )))
    }
}

/// A miette view of one diagnostic over its source file.
struct Report<'a> {
    d: &'a Diagnostic,
    src: Option<Excerpt<'a>>,
    /// The label's byte range, cut to what is drawn (see [`drawn`]).
    label: Option<(usize, usize)>,
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.d.message)
    }
}
impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.d.message)
    }
}
impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.d.code.as_str()))
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.d
            .help
            .as_ref()
            .map(|h| Box::new(h.clone()) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.src.as_ref().map(|s| s as &dyn SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (start, len) = self.label?;
        let label = (!self.d.label.is_empty()).then(|| self.d.label.clone());
        Some(Box::new(std::iter::once(LabeledSpan::new(
            label, start, len,
        ))))
    }
}

/// The part of a span that is drawn: at most [`SPAN_LINES`] lines and, on
/// one line, at most a window's width; never empty (miette draws an empty
/// label as nothing), never past the end of the file.
fn drawn(f: &SourceFile, span: Span) -> (usize, usize) {
    let text = f.text.as_str();
    let start = floor_char_boundary(text, span.start);
    let first = f.line_of(start);
    let mut end = span.end.max(start);
    if f.line_of(end.saturating_sub(1).max(start)) >= first + SPAN_LINES {
        end = f.line_range(first + SPAN_LINES - 1).1;
    }
    if f.line_of(end.saturating_sub(1).max(start)) == first {
        end = end.min(start + 2 * WINDOW);
    }
    let end = ceil_char_boundary(text, end);
    let len = if end > start {
        end - start
    } else {
        ceil_char_boundary(text, start + 1) - start
    };
    (start, len)
}

/// Renders one diagnostic as miette's graphical report, prefixed by
/// `file:line:col` so the place is greppable even without the snippet.
pub fn render(d: &Diagnostic, sources: &Sources, opts: RenderOpts) -> String {
    let file = d.span.map(|s| sources.get(s.file));
    let src = file.map(|f| Excerpt {
        file: f,
        name: f.path.display().to_string(),
    });
    let label = d.span.zip(file).map(|(s, f)| drawn(f, s));
    let theme = if opts.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(opts.width)
        .with_links(false);
    let mut out = String::new();
    if let Some(span) = d.span {
        out.push_str(&format!("{}: ", sources.locate(span)));
    }
    out.push_str("error\n");
    let _ = handler.render_report(&mut out, &Report { d, src, label });
    out
}

/// Renders the first [`SHOWN`] diagnostics, counts the rest, then a total.
pub fn render_all(ds: &Diagnostics, sources: &Sources, opts: RenderOpts) -> String {
    let mut out = String::new();
    for d in ds.0.iter().take(SHOWN) {
        out.push_str(&render(d, sources, opts));
        out.push('\n');
    }
    let n = ds.len();
    if n > SHOWN {
        out.push_str(&format!(
            "… and {} more (fix the ones above first, or see them all with --format json)\n",
            n - SHOWN
        ));
    }
    out.push_str(&format!(
        "{} error{} found\n",
        n,
        if n == 1 { "" } else { "s" }
    ));
    out
}

/// Machine-readable form for editors (`lotto check --format json`): every
/// error, none left out.
#[derive(Serialize)]
pub struct JsonDiagnostic {
    pub code: &'static str,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub end_line: Option<usize>,
    pub end_column: Option<usize>,
    pub label: String,
    pub help: Option<String>,
}

pub fn to_json(ds: &Diagnostics, sources: &Sources) -> Vec<JsonDiagnostic> {
    ds.0.iter()
        .map(|d| {
            let (file, start, end) = match d.span {
                Some(s) => (
                    Some(sources.get(s.file).path.display().to_string()),
                    Some(sources.line_col(s.file, s.start)),
                    Some(sources.line_col(s.file, s.end)),
                ),
                None => (None, None, None),
            };
            JsonDiagnostic {
                code: d.code.as_str(),
                message: d.message.clone(),
                file,
                line: start.map(|p| p.0),
                column: start.map(|p| p.1),
                end_line: end.map(|p| p.0),
                end_column: end.map(|p| p.1),
                label: d.label.clone(),
                help: d.help.clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Code;
    use std::path::Path;

    fn one(text: String, start: usize, end: usize) -> String {
        let mut s = Sources::default();
        let f = s.add(Path::new("r.lotto"), text);
        let d = Diagnostic::new(Code::Syntax, Span::new(f, start, end), "bad").label("here");
        render(&d, &s, RenderOpts::default())
    }

    #[test]
    fn an_error_far_along_a_long_line_renders_around_it() {
        let mut text = "x".repeat(200_000);
        text.push_str(" oops\n");
        let out = one(text, 200_001, 200_005);
        assert!(out.starts_with("r.lotto:1:200002: error"), "{out}");
        assert!(out.contains("[r.lotto:1:200002]"), "{out}");
        assert!(out.contains("oops") && out.contains("here"), "{out}");
        assert!(out.len() < 2_000, "the excerpt is cut: {} bytes", out.len());
        let out = one(format!("a\n{}", "y".repeat(300)), 250, 251);
        assert!(out.contains(" 2 │ "), "the line's own number: {out}");
    }

    #[test]
    fn a_span_over_many_lines_draws_its_first_lines() {
        let text: String = (0..1000).map(|i| format!("line{i}\n")).collect();
        let out = one(text.clone(), 0, text.len());
        assert!(out.contains("line0") && !out.contains("line900"), "{out}");
    }

    #[test]
    fn spans_at_and_past_the_end_render() {
        for (text, s, e) in [("ab", 2, 2), ("", 0, 0), ("aé", 2, 2), ("a\n", 2, 2)] {
            let out = one(text.to_string(), s, e);
            assert!(out.contains("bad"), "{text:?} {s}..{e}: {out}");
        }
    }

    #[test]
    fn many_errors_are_counted_after_the_first() {
        let mut s = Sources::default();
        let f = s.add(Path::new("r.lotto"), "x\n".repeat(10_000));
        let ds = Diagnostics(
            (0..10_000)
                .map(|i| Diagnostic::new(Code::Syntax, Span::new(f, 2 * i, 2 * i + 1), "bad"))
                .collect(),
        );
        let out = render_all(&ds, &s, RenderOpts::default());
        assert_eq!(out.matches("× bad").count(), SHOWN, "{out}");
        assert!(out.contains("… and 9950 more"), "{out}");
        assert!(out.ends_with("10000 errors found\n"));
        assert_eq!(to_json(&ds, &s).len(), 10_000);
    }
}
