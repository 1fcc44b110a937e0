//! Source text → [`ast::Program`] with pest; syntax errors become
//! diagnostics that name what was expected in words, not rule names.

use crate::ast::*;
use crate::diag::{Code, Diagnostic};
use crate::source::{FileId, Span};
use lotto_grammar::{rule_name, LottoParser, Rule};
use pest::iterators::Pair;
use pest::Parser;
use std::iter::Peekable;

/// Parses one file. A syntax error stops the parse of that file (pest
/// reports the first one), but other files and later phases still run.
///
/// Large files are cut between top-level statements and the pieces parsed
/// in parallel; if any piece fails, the whole file is parsed again in one
/// go so the error is exactly the one a sequential parse reports.
pub fn parse(file: FileId, text: &str) -> Result<Program, Diagnostic> {
    use rayon::prelude::*;
    let chunks = split_statements(text, 32 * 1024).map_err(|at| {
        Diagnostic::new(
            Code::Syntax,
            Span::new(file, at, at + 1),
            format!("brackets nested more than {MAX_DEPTH} levels deep"),
        )
        .label("too deep here")
        .help("no recipe needs this; bind the inner values to names instead")
    })?;
    if chunks.len() > 1 {
        let parts: Vec<Option<Program>> = chunks
            .par_iter()
            .map(|&(a, b)| parse_at(file, &text[a..b], a).ok())
            .collect();
        if parts.iter().all(Option::is_some) {
            let n = parts.iter().flatten().map(|p| p.stmts.len()).sum();
            let mut stmts = Vec::with_capacity(n);
            for p in parts.into_iter().flatten() {
                stmts.extend(p.stmts);
            }
            return Ok(Program { stmts });
        }
    }
    parse_at(file, text, 0).map_err(|e| syntax_error(file, text, e))
}

/// Deepest bracket nesting a recipe may use. The parser, the AST builder
/// and the checker recurse once (or a few times) per level; refusing deeper
/// input up front keeps any input from overflowing the stack.
pub const MAX_DEPTH: usize = 256;

/// Whether a scan is inside a string or a comment, fed byte by byte: the
/// lexical view of the unclosed-bracket hint in syntax errors, and the
/// reference the statement splitter's faster scan is tested against.
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

thread_local! {
    /// Byte offset of the piece being parsed on this thread within its file.
    static BASE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn parse_at(file: FileId, text: &str, base: usize) -> Result<Program, pest::error::Error<Rule>> {
    BASE.with(|b| b.set(base));
    let result = LottoParser::parse(Rule::program, text).map(|mut pairs| {
        let program = pairs.next().expect("program rule always yields one pair");
        // Sized up front: statements are large and a growing vector
        // copies them at every doubling.
        let inner = program.into_inner();
        let mut stmts = Vec::with_capacity(inner.len());
        for p in inner.filter(|p| p.as_rule() != Rule::EOI) {
            stmts.push(stmt(file, p));
        }
        Program { stmts }
    });
    BASE.with(|b| b.set(0));
    result
}

/// One pass over the text (two were 6% of a big recipe's parse): `Err`
/// with the offset of the bracket that opens level `MAX_DEPTH + 1`
/// (brackets in strings and comments do not count), or byte ranges of
/// about `target` bytes that each hold whole top-level statements: cuts
/// fall only before an unindented line that starts with a letter, outside
/// brackets, strings and comments, after a line that does not end in `,`
/// or `=` (where a statement could continue). A text under `2 * target`
/// bytes is one range.
///
/// It runs before the parallel parse, alone on one core, so it skips
/// strings and comments in one search each rather than feeding every byte
/// through [`Lex`] (whose rules it follows: a backslash in a string
/// escapes the next byte; a string or comment ends at a newline).
fn split_statements(text: &str, target: usize) -> Result<Vec<(usize, usize)>, usize> {
    let split = text.len() >= 2 * target;
    let mut cuts = vec![0];
    let mut depth = 0usize;
    let mut last_sig = b'\n';
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'#' => {
                // A comment runs to the newline, which the loop sees next.
                i += bytes[i..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .unwrap_or(bytes.len() - i);
                continue;
            }
            b'"' => {
                let mut j = i + 1;
                while j < bytes.len() {
                    match bytes[j] {
                        b'\\' => j += 2,
                        b'"' => {
                            j += 1;
                            break;
                        }
                        b'\n' => break,
                        _ => j += 1,
                    }
                }
                let j = j.min(bytes.len());
                // As `Lex` sees it: the last byte that is neither
                // whitespace nor `#` (the opening quote at the least).
                last_sig = bytes[i..j]
                    .iter()
                    .rev()
                    .copied()
                    .find(|&b| !b.is_ascii_whitespace() && b != b'#')
                    .unwrap_or(b'"');
                i = j;
                continue;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(i);
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'\n' => {
                let here = i + 1;
                if split
                    && depth == 0
                    && last_sig != b','
                    && last_sig != b'='
                    && here - cuts.last().unwrap() >= target
                    && bytes.get(here).is_some_and(u8::is_ascii_alphabetic)
                {
                    cuts.push(here);
                }
            }
            _ => {}
        }
        if !c.is_ascii_whitespace() {
            last_sig = c;
        }
        i += 1;
    }
    Ok(ranges(cuts, text.len()))
}

/// The non-empty byte ranges between successive cuts, the last ending at
/// `end`.
fn ranges(mut cuts: Vec<usize>, end: usize) -> Vec<(usize, usize)> {
    cuts.push(end);
    cuts.windows(2)
        .map(|w| (w[0], w[1]))
        .filter(|(a, b)| b > a)
        .collect()
}

fn span(file: FileId, p: &Pair<Rule>) -> Span {
    let s = p.as_span();
    let base = BASE.with(|b| b.get());
    Span::new(file, s.start() + base, s.end() + base)
}

fn syntax_error(file: FileId, text: &str, e: pest::error::Error<Rule>) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let (start, end) = match e.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((a, b)) => (a, b),
    };
    // Underline the token that stopped the parse, not a zero-width point.
    let end = if end > start {
        end
    } else {
        // The offending token: a word, or a single other character.
        let rest = &text[start.min(text.len())..];
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
        // At most 40 characters, never ending inside a multi-byte one.
        start
            + rest[..tok]
                .char_indices()
                .nth(40)
                .map(|(i, _)| i)
                .unwrap_or(tok)
    };
    let found = if start >= text.len() {
        "end of file".to_string()
    } else {
        format!("`{}`", &text[start..end])
    };
    let expected = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            // `expr` is silent, so where a value was expected pest names
            // the alternatives it tried; a list is only ever tried there.
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
        ErrorVariant::CustomError { .. } => vec![],
    };
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
    Diagnostic::new(Code::Syntax, Span::new(file, start, end), message)
        .label("here")
        .help(help)
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

fn ident(file: FileId, p: Pair<Rule>) -> Ident {
    Ident {
        name: p.as_str().to_string(),
        span: span(file, &p),
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn string_value(p: Pair<Rule>) -> String {
    unescape(p.into_inner().next().map(|i| i.as_str()).unwrap_or(""))
}

fn stmt(file: FileId, p: Pair<Rule>) -> Stmt {
    let sp = span(file, &p);
    let rule = p.as_rule();
    let mut it = p
        .into_inner()
        .filter(|p| p.as_rule() != Rule::eq)
        .peekable();
    match rule {
        Rule::param_stmt => {
            let name = ident(file, it.next().unwrap());
            let value = expr(file, &mut it);
            Stmt::Param {
                name,
                value,
                span: sp,
            }
        }
        Rule::import_stmt => Stmt::Import {
            path: string_value(it.next().unwrap()),
            span: sp,
        },
        Rule::for_stmt => {
            let var = ident(file, it.next().unwrap());
            let over = expr(file, &mut it);
            let body = it
                .next()
                .unwrap()
                .into_inner()
                .map(|s| stmt(file, s))
                .collect();
            Stmt::For {
                var,
                over,
                body,
                span: sp,
            }
        }
        Rule::report_stmt => {
            let sp_path = it.next().unwrap();
            let path_span = span(file, &sp_path);
            let path = string_value(sp_path);
            let parts = exprs(file, &mut it);
            Stmt::Report {
                path,
                path_span,
                parts,
                span: sp,
            }
        }
        Rule::bind_stmt => {
            let kind = ident(file, it.next().unwrap());
            let targets = it
                .next()
                .unwrap()
                .into_inner()
                .map(|t| ident(file, t))
                .collect();
            let value = expr(file, &mut it);
            Stmt::Bind {
                kind,
                targets,
                value,
                span: sp,
            }
        }
        r => unreachable!("grammar yields no statement {r:?}"),
    }
}

/// One value from `it`: its primary pair and the member pairs after it
/// (`expr` is a silent rule, so a value is not wrapped in a pair of its own).
fn expr<'i>(file: FileId, it: &mut Peekable<impl Iterator<Item = Pair<'i, Rule>>>) -> Expr {
    let mut e = primary(file, it.next().expect("grammar: a value has a primary"));
    let start = e.span.start;
    while let Some(m) = it.next_if(|m| m.as_rule() == Rule::member) {
        let end = span(file, &m).end;
        // recv.op(args) is op(recv, args): a method is only sugar.
        let mut mi = m.into_inner();
        let op = ident(file, mi.next().unwrap());
        let mut args = vec![Arg {
            name: None,
            span: e.span,
            value: e,
        }];
        args.extend(call_args(file, mi.next().unwrap()));
        e = Expr {
            kind: ExprKind::Call { op, args },
            span: Span::new(file, start, end),
        };
    }
    e
}

/// Every value left in `it` (a list's items, a report's parts).
fn exprs<'i>(file: FileId, it: &mut Peekable<impl Iterator<Item = Pair<'i, Rule>>>) -> Vec<Expr> {
    let mut out = vec![];
    while it.peek().is_some() {
        out.push(expr(file, it));
    }
    out
}

fn call_args(file: FileId, p: Pair<Rule>) -> Vec<Arg> {
    let mut it = p.into_inner().peekable();
    let mut out = vec![];
    while let Some(a) = it.peek() {
        let sp = span(file, a);
        out.push(if a.as_rule() == Rule::named_arg {
            let mut i = it.next().unwrap().into_inner().peekable();
            let name = ident(file, i.next().unwrap());
            let value = expr(file, &mut i);
            Arg {
                name: Some(name),
                value,
                span: sp,
            }
        } else {
            let value = expr(file, &mut it);
            Arg {
                name: None,
                span: value.span,
                value,
            }
        });
    }
    out
}

fn primary(file: FileId, p: Pair<Rule>) -> Expr {
    let sp = span(file, &p);
    let kind = match p.as_rule() {
        Rule::number => ExprKind::Number(p.as_str().parse().unwrap_or(f64::NAN)),
        Rule::quantity => {
            // One atomic pair (fewer pairs: quantities are common); the
            // grammar guarantees it ends in exactly one known unit.
            let s = p.as_str();
            let (n, u) = ["kHz", "Hz", "dB", "ms", "s", "%"]
                .iter()
                .find_map(|u| Some((s.strip_suffix(u)?, Unit::parse(u)?)))
                .expect("grammar only yields known units");
            ExprKind::Quantity(n.parse().unwrap_or(f64::NAN), u)
        }
        Rule::shape => {
            let s = p.as_str();
            let sep = if s.contains('x') { 'x' } else { ':' };
            let (a, b) = s.split_once(sep).unwrap();
            ExprKind::Shape(
                a.parse().unwrap_or(u32::MAX),
                b.parse().unwrap_or(u32::MAX),
                sep,
            )
        }
        Rule::string => ExprKind::Str(string_value(p)),
        Rule::list => ExprKind::List(exprs(file, &mut p.into_inner().peekable())),
        Rule::call => {
            let mut i = p.into_inner();
            let op = ident(file, i.next().unwrap());
            match i.next() {
                Some(a) => ExprKind::Call {
                    op,
                    args: call_args(file, a),
                },
                // `true`/`false` parse as names (one rule less to try
                // before every value); keywords cannot be bound, so these
                // two names can only mean the booleans.
                None if op.name == "true" => ExprKind::Bool(true),
                None if op.name == "false" => ExprKind::Bool(false),
                None => ExprKind::Name(op.name),
            }
        }
        r => unreachable!("grammar yields no primary {r:?}"),
    };
    Expr { kind, span: sp }
}

/// pest alone (no AST), for the benchmark's breakdown.
pub fn pest_only(text: &str) -> usize {
    LottoParser::parse(Rule::program, text)
        .map(|p| p.flatten().count())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_is_call_with_receiver() {
        let p = parse(0, "split a, b = c.split(0.5, 0.5, seed: 3)").unwrap();
        match &p.stmts[0] {
            Stmt::Bind { targets, value, .. } => {
                assert_eq!(targets.len(), 2);
                match &value.kind {
                    ExprKind::Call { op, args } => {
                        assert_eq!(op.name, "split");
                        assert_eq!(args.len(), 4);
                        assert!(matches!(args[0].value.kind, ExprKind::Name(ref n) if n == "c"));
                    }
                    _ => panic!(),
                }
            }
            _ => panic!(),
        }
    }

    #[test]
    fn syntax_error_names_expectation() {
        let e = parse(0, "corpus a = manifest(\"x\"\n").unwrap_err();
        assert_eq!(e.code, Code::Syntax);
        assert_eq!(e.message, "expected `,` or `)`, found end of file");
        assert_eq!(
            e.help.as_deref(),
            Some("the `(` opened at line 1, column 20 is not closed; add `)`")
        );
        let e = parse(0, "corpus a = \nmodel b = x()").unwrap_err();
        assert!(
            !e.message.contains("call_args") && e.message.starts_with("expected"),
            "{}",
            e.message
        );
    }

    #[test]
    fn parallel_pieces_give_the_same_program_as_one_parse() {
        let mut text = String::new();
        for i in 0..3000 {
            text.push_str(&format!("corpus c{i} = take(c{}, n: {i}) # note\nreport \"r{i}\" = summary(e),\n  plot(e)\nfor x in [1,\n2] {{ corpus d{i} = take(c, n: x) }}\n", i + 1));
        }
        assert!(split_statements(&text, 32 * 1024).unwrap().len() > 2);
        let par = parse(0, &text).unwrap();
        let seq = parse_at(0, &text, 0).unwrap();
        assert_eq!(format!("{:?}", par.stmts), format!("{:?}", seq.stmts));
        // An error in a late piece is reported exactly as a whole parse does.
        text.push_str("corpus z = take(\n");
        let e = parse(0, &text).unwrap_err();
        assert_eq!(e.span.unwrap().start, text.len());
    }

    /// The splitter as a plain byte-by-byte scan through [`Lex`]: the
    /// reference for the fast scan in [`split_statements`].
    fn split_reference(text: &str, target: usize) -> Result<Vec<(usize, usize)>, usize> {
        let split = text.len() >= 2 * target;
        let mut cuts = vec![0];
        let (mut lex, mut depth) = (Lex::default(), 0usize);
        let mut last_sig = b'\n';
        let bytes = text.as_bytes();
        for (i, &c) in bytes.iter().enumerate() {
            if lex.code(c) {
                match c {
                    b'(' | b'[' | b'{' => {
                        depth += 1;
                        if depth > MAX_DEPTH {
                            return Err(i);
                        }
                    }
                    b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
            if split && c == b'\n' && !lex.in_str && depth == 0 {
                let next = bytes.get(i + 1).copied().unwrap_or(b' ');
                let here = i + 1;
                if next.is_ascii_alphabetic()
                    && last_sig != b','
                    && last_sig != b'='
                    && here - cuts.last().unwrap() >= target
                {
                    cuts.push(here);
                }
            }
            if !lex.in_comment && !c.is_ascii_whitespace() && c != b'#' {
                last_sig = c;
            }
        }
        Ok(ranges(cuts, text.len()))
    }

    #[test]
    fn fast_split_agrees_with_the_byte_by_byte_scan() {
        // Random texts over the bytes the scan treats specially, plus a
        // few ordinary ones, cut at small targets so that cuts happen.
        let alphabet = b"ab =,#\"\\\n\n([{)]} x1";
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..3000 {
            let mut text = String::new();
            let len = (state >> 50) as usize % 300;
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push(alphabet[(state >> 33) as usize % alphabet.len()] as char);
            }
            for target in [1, 4, 16] {
                assert_eq!(
                    split_statements(&text, target),
                    split_reference(&text, target),
                    "{text:?} at target {target}"
                );
            }
        }
        let deep = format!("x = f(\"((\" # ((\n{}", "(".repeat(MAX_DEPTH + 1));
        assert_eq!(split_statements(&deep, 4), split_reference(&deep, 4));
    }

    #[test]
    fn error_token_never_splits_a_character() {
        // Found by cargo-fuzz: a long word of multi-byte characters.
        let e = parse(0, &format!("{}{}", ".".repeat(37), "\u{7c7}".repeat(30))).unwrap_err();
        assert_eq!(e.code, Code::Syntax);
        let e = parse(0, &format!("corpus a = x({})", "é".repeat(50))).unwrap_err();
        assert!(e.message.contains('é'));
    }

    #[test]
    fn nesting_beyond_the_limit_is_a_syntax_error_not_a_stack_overflow() {
        let deep = format!("corpus x = {}{}", "[".repeat(100_000), "]".repeat(100_000));
        let err = parse(0, &deep).unwrap_err();
        assert!(
            err.message.contains("nested more than 256"),
            "{}",
            err.message
        );
        assert_eq!(err.span.unwrap().start, "corpus x = ".len() + MAX_DEPTH);
        // Brackets inside strings and comments do not count.
        let ok = format!(
            "corpus x = f(\"{}\") # {}\n",
            "[".repeat(1000),
            "(".repeat(1000)
        );
        parse(0, &ok).unwrap();
        let at_limit = format!(
            "corpus x = {}{}",
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        parse(0, &at_limit).unwrap();
    }

    #[test]
    fn quantities() {
        let p = parse(0, "param w = 20ms\nparam r = 1x4\nparam q = -5dB").unwrap();
        assert!(
            matches!(&p.stmts[0], Stmt::Param { value: Expr { kind: ExprKind::Quantity(v, Unit::Ms), .. }, .. } if *v == 20.0)
        );
        assert!(matches!(
            &p.stmts[1],
            Stmt::Param {
                value: Expr {
                    kind: ExprKind::Shape(1, 4, 'x'),
                    ..
                },
                ..
            }
        ));
    }
}
