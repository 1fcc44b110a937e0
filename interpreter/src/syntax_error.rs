//! Syntax errors in words: pest names grammar rules, users read "expected
//! `,` or `)`" with the bracket left open; and the nesting guard that
//! refuses input deep enough to overflow the stack before pest sees it.

use crate::diag::{Code, Diagnostic};
use crate::source::{FileId, Span};
use lotto_grammar::{rule_name, Rule};

/// Deepest bracket nesting a recipe may use. The parser, the AST builder
/// and the checker recurse once (or a few times) per level; refusing deeper
/// input up front keeps any input from overflowing the stack.
pub const MAX_DEPTH: usize = 256;

/// Whether a scan is inside a string or a comment, fed byte by byte: the
/// lexical view of the nesting guard and of the unclosed-bracket hint.
#[derive(Default)]
struct Lex {
    in_str: bool,
    in_comment: bool,
    escaped: bool,
}

impl Lex {
    /// Feeds one byte; true if it is code (outside strings and comments,
    /// counting the `"` or `#` that opens one).
    fn code(&mut self, c: u8) -> bool {
        if self.in_comment {
            self.in_comment = c != b'\n';
            false
        } else if self.in_str {
            if self.escaped {
                self.escaped = false;
            } else if c == b'\\' {
                self.escaped = true;
            } else if c == b'"' || c == b'\n' {
                self.in_str = false;
            }
            false
        } else {
            match c {
                b'#' => self.in_comment = true,
                b'"' => self.in_str = true,
                _ => {}
            }
            true
        }
    }
}

/// The diagnostic for the bracket that opens level `MAX_DEPTH + 1`
/// (brackets in strings and comments do not count), if any.
pub fn too_deep(file: FileId, text: &str) -> Option<Diagnostic> {
    let (mut lex, mut depth) = (Lex::default(), 0usize);
    for (i, c) in text.bytes().enumerate() {
        if !lex.code(c) {
            continue;
        }
        match c {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(nested_too_deep(Span::new(file, i, i + 1)));
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// The error for a value nested past [`MAX_DEPTH`] (by brackets or by the
/// links of a method chain), pointing at the level that is one too many.
pub fn nested_too_deep(at: Span) -> Diagnostic {
    Diagnostic::new(
        Code::Syntax,
        at,
        format!("values nested more than {MAX_DEPTH} levels deep (brackets and method links)"),
    )
    .label("too deep here")
    .help("no recipe needs this; bind the inner values to names instead")
}

/// A pest error as a diagnostic: what was expected, in words, where.
pub fn syntax_error(file: FileId, text: &str, e: pest::error::Error<Rule>) -> Diagnostic {
    use pest::error::InputLocation;
    let (start, end) = match e.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((a, b)) => (a, b),
    };
    // Underline the token that stopped the parse, not a zero-width point.
    let end = if end > start {
        end
    } else {
        start + token_len(&text[start.min(text.len())..])
    };
    let found = if start >= text.len() {
        "end of file".to_string()
    } else {
        format!("`{}`", &text[start..end])
    };
    let expected = expected(&e.variant);
    let only_member = !expected.is_empty() && expected.iter().all(|e| *e == "`.method(...)`");
    let open = if only_member {
        unclosed(&text[..start.min(text.len())])
    } else {
        None
    };
    let (message, help) = match open {
        // pest names only rules; an unclosed bracket reads better in words.
        Some((open, at)) => {
            let close = if open == '(' { ')' } else { ']' };
            let (line, col) = line_col(text, at);
            (
                format!("expected `,` or `{close}`, found {found}"),
                format!(
                    "the `{open}` opened at line {line}, column {col} is not closed; add `{close}`"
                ),
            )
        }
        None => {
            let message = if expected.is_empty() {
                format!("unexpected {found}")
            } else {
                format!("expected {}, found {found}", join_or(&expected))
            };
            let help = if text[start.min(text.len())..].starts_with('"') {
                "strings must close with `\"` on the same line".to_string()
            } else if expected.contains(&"a value") {
                "a value is a number, a quantity (`20ms`, `20%`, `5dB`), a shape (`1x4`), a string, `true`/`false`, a list `[...]`, a name or a call".to_string()
            } else {
                "a statement looks like `kind name = op(arg, name: value)`; see docs/language.md"
                    .to_string()
            };
            (message, help)
        }
    };
    // `split: train-clean-100`: a word with a hyphen is text to quote.
    let help = match hyphenated_word(text, start) {
        Some(w) => format!("text is written in quotes: `\"{w}\"`"),
        None => help,
    };
    Diagnostic::new(Code::Syntax, Span::new(file, start, end), message)
        .label("here")
        .help(help)
}

/// The word around a `-` at `at` that joins two words (`train-clean-100`),
/// which only makes sense as a string.
fn hyphenated_word(text: &str, at: usize) -> Option<&str> {
    let b = text.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
    let joins = b.get(at) == Some(&b'-')
        && at > 0
        && b[at - 1].is_ascii_alphanumeric()
        && b.get(at + 1).is_some_and(|c| c.is_ascii_alphanumeric());
    if !joins {
        return None;
    }
    let start = (0..at).rev().take_while(|&i| word(b[i])).last()?;
    let end = (at..b.len()).take_while(|&i| word(b[i])).last()? + 1;
    Some(&text[start..end])
}

/// The length in bytes of the token `rest` starts with: a word, or a
/// single other character; at most 40 characters, never ending inside a
/// multi-byte one.
fn token_len(rest: &str) -> usize {
    let word = |c: char| c.is_alphanumeric() || "_.%".contains(c);
    let tok = match rest.chars().next() {
        Some(c) if word(c) => rest
            .char_indices()
            .find(|(_, c)| !word(*c))
            .map(|(i, _)| i)
            .unwrap_or(rest.len()),
        Some(c) => c.len_utf8(),
        None => 0,
    };
    rest[..tok]
        .char_indices()
        .nth(40)
        .map(|(i, _)| i)
        .unwrap_or(tok)
}

/// What pest expected, in words, sorted and without repeats.
fn expected(variant: &pest::error::ErrorVariant<Rule>) -> Vec<&'static str> {
    let pest::error::ErrorVariant::ParsingError { positives, .. } = variant else {
        return vec![];
    };
    // `expr` is silent, so where a value was expected pest names the
    // alternatives it tried; a list is only ever tried there.
    let value = positives.contains(&Rule::list);
    let mut names: Vec<&str> = positives
        .iter()
        .map(|&r| match r {
            Rule::list
            | Rule::string
            | Rule::ident
            | Rule::call
            | Rule::number
            | Rule::quantity
            | Rule::shape
                if value =>
            {
                "a value"
            }
            r => rule_name(r),
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The innermost bracket left open in `text` (outside strings and
/// comments), with its byte offset.
fn unclosed(text: &str) -> Option<(char, usize)> {
    let (mut lex, mut stack) = (Lex::default(), vec![]);
    for (i, c) in text.bytes().enumerate() {
        if !lex.code(c) {
            continue;
        }
        match c {
            b'(' | b'[' | b'{' => stack.push((c as char, i)),
            b')' | b']' | b'}' => {
                stack.pop();
            }
            _ => {}
        }
    }
    stack.pop().filter(|(c, _)| *c != '{')
}

fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at];
    (
        before.matches('\n').count() + 1,
        before
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1,
    )
}

fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [a] => a.to_string(),
        _ => format!(
            "{} or {}",
            items[..items.len() - 1].join(", "),
            items[items.len() - 1]
        ),
    }
}
