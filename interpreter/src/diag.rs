//! Diagnostics: every error the checker or runner reports, with a stable
//! code, the exact span and a help line, rendered by miette.
//!
//! All errors of a recipe are collected into [`Diagnostics`] and reported in
//! one go, so a user fixes a recipe in one pass instead of one error per run;
//! [`crate::render`] turns them into text or JSON.

use crate::source::Span;
use serde::Serialize;

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

/// Edit distance for "did you mean" suggestions: insertions, deletions,
/// substitutions and swaps of two neighbours (`tiyn` → `tiny` is one edit),
/// the optimal-string-alignment distance.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // d[i][j]: distance between a[..i] and b[..j]; three rows suffice.
    let mut rows = vec![vec![0usize; b.len() + 1]; 3];
    rows[1] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let (prev2, prev, cur) = (0, 1, 2);
        rows[cur][0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[prev][j - 1] + cost)
                .min(rows[prev][j] + 1)
                .min(rows[cur][j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[prev2][j - 2] + 1);
            }
            rows[cur][j] = d;
        }
        rows.rotate_left(1);
    }
    rows[1][b.len()]
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
        assert_eq!(levenshtein("tiyn", "tiny"), 1);
        assert_eq!(levenshtein("tyni", "tiny"), 2);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("ca", "abc"), 3);
    }
}
