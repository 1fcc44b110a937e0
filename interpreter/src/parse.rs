//! Source text → [`ast::Program`] with pest, in one pass over the file
//! (recipes are tens of lines; the 10,000-line benchmark recipe parses in
//! milliseconds). Syntax errors become diagnostics (see [`crate::syntax_error`]).

use crate::ast::*;
use crate::diag::Diagnostic;
use crate::source::{FileId, Span};
use crate::syntax_error::{syntax_error, too_deep};
use lotto_grammar::{LottoParser, Rule};
use pest::iterators::Pair;
use pest::Parser;
use std::iter::Peekable;

/// Parses one file. A syntax error stops the parse of that file (pest
/// reports the first one), but other files and later phases still run.
pub fn parse(file: FileId, text: &str) -> Result<Program, Diagnostic> {
    if let Some(d) = too_deep(file, text) {
        return Err(d);
    }
    let program = LottoParser::parse(Rule::program, text)
        .map_err(|e| syntax_error(file, text, e))?
        .next()
        .expect("the program rule always yields one pair");
    let stmts = program
        .into_inner()
        .filter(|p| p.as_rule() != Rule::EOI)
        .map(|p| stmt(file, p))
        .collect();
    Ok(Program { stmts })
}

fn span(file: FileId, p: &Pair<Rule>) -> Span {
    let s = p.as_span();
    Span::new(file, s.start(), s.end())
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
        assert_eq!(e.code, crate::diag::Code::Syntax);
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
    fn error_token_never_splits_a_character() {
        // Found by cargo-fuzz: a long word of multi-byte characters.
        let e = parse(0, &format!("{}{}", ".".repeat(37), "\u{7c7}".repeat(30))).unwrap_err();
        assert_eq!(e.code, crate::diag::Code::Syntax);
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
        assert_eq!(
            err.span.unwrap().start,
            "corpus x = ".len() + crate::syntax_error::MAX_DEPTH
        );
        // Brackets inside strings and comments do not count.
        let ok = format!(
            "corpus x = f(\"{}\") # {}\n",
            "[".repeat(1000),
            "(".repeat(1000)
        );
        parse(0, &ok).unwrap();
        let at_limit = format!(
            "corpus x = {}{}",
            "[".repeat(crate::syntax_error::MAX_DEPTH),
            "]".repeat(crate::syntax_error::MAX_DEPTH)
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
