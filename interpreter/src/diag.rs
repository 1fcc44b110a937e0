//! Diagnostics: every error the checker or runner reports, with a stable
//! code, the exact span and a help line, rendered by miette.
//!
//! All errors of a recipe are collected into [`Diagnostics`] and reported in
//! one go, so a user fixes a recipe in one pass instead of one error per run.

use crate::source::{Sources, Span};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde::Serialize;
use std::fmt;

/// Stable error codes; the docs list them and tests assert them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Code {
    Syntax,
    UnknownOp,
    UnknownName,
    UnknownKind,
    MissingArg,
    UnknownArg,
    DuplicateArg,
    TooManyArgs,
    TypeMismatch,
    UnitMismatch,
    OutOfRange,
    DuplicateBinding,
    Cycle,
    ImportNotFound,
    ImportCycle,
    BindingCount,
    KindMismatch,
    UnsafePath,
    BadParam,
    Io,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "lotto::syntax",
            Code::UnknownOp => "lotto::unknown_op",
            Code::UnknownName => "lotto::unknown_name",
            Code::UnknownKind => "lotto::unknown_kind",
            Code::MissingArg => "lotto::missing_arg",
            Code::UnknownArg => "lotto::unknown_arg",
            Code::DuplicateArg => "lotto::duplicate_arg",
            Code::TooManyArgs => "lotto::too_many_args",
            Code::TypeMismatch => "lotto::type_mismatch",
            Code::UnitMismatch => "lotto::unit_mismatch",
            Code::OutOfRange => "lotto::out_of_range",
            Code::DuplicateBinding => "lotto::duplicate_binding",
            Code::Cycle => "lotto::cycle",
            Code::ImportNotFound => "lotto::import_not_found",
            Code::ImportCycle => "lotto::import_cycle",
            Code::BindingCount => "lotto::binding_count",
            Code::KindMismatch => "lotto::kind_mismatch",
            Code::UnsafePath => "lotto::unsafe_path",
            Code::BadParam => "lotto::bad_param",
            Code::Io => "lotto::io",
        }
    }
}

/// One error with its place in the source (if it has one).
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub code: Code,
    pub message: String,
    pub span: Option<Span>,
    pub label: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            span: Some(span),
            label: String::new(),
            help: None,
        }
    }
    pub fn nowhere(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            span: None,
            label: String::new(),
            help: None,
        }
    }
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// The errors of one check, in source order.
#[derive(Debug, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn sort(&mut self) {
        self.0
            .sort_by_key(|d| d.span.map(|s| (s.file, s.start)).unwrap_or((usize::MAX, 0)));
    }
}

/// A miette view of one diagnostic over its source file.
struct Report<'a> {
    d: &'a Diagnostic,
    src: Option<NamedSource<String>>,
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
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.src.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.d.span?;
        let label = if self.d.label.is_empty() {
            None
        } else {
            Some(self.d.label.clone())
        };
        Some(Box::new(std::iter::once(LabeledSpan::new(
            label,
            span.start,
            span.len().max(1),
        ))))
    }
}

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

/// Renders one diagnostic as miette's graphical report, prefixed by
/// `file:line:col` so the place is greppable even without the snippet.
pub fn render(d: &Diagnostic, sources: &Sources, opts: RenderOpts) -> String {
    let src = d.span.map(|s| {
        let f = sources.get(s.file);
        NamedSource::new(f.path.display().to_string(), f.text.as_ref().clone())
    });
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
    let _ = handler.render_report(&mut out, &Report { d, src });
    out
}

/// Renders all diagnostics, then a count line.
pub fn render_all(ds: &Diagnostics, sources: &Sources, opts: RenderOpts) -> String {
    let mut out = String::new();
    for d in &ds.0 {
        out.push_str(&render(d, sources, opts));
        out.push('\n');
    }
    let n = ds.len();
    out.push_str(&format!(
        "{} error{} found\n",
        n,
        if n == 1 { "" } else { "s" }
    ));
    out
}

/// Machine-readable form for editors (`lotto check --format json`).
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

/// Edit distance for "did you mean" suggestions.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest candidate within a distance that scales with the word.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // One edit per three characters; names of one or two characters get no
    // suggestion (any other short name would be "close").
    let limit = word.chars().count() / 3;
    if limit == 0 {
        return None;
    }
    candidates
        .into_iter()
        .map(|c| (levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, c.len()))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("manifset", ["manifest", "mix"]),
            Some("manifest")
        );
        assert_eq!(did_you_mean("zzz", ["manifest", "mix"]), None);
    }
}
