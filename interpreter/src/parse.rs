//! Source text → [`ast::Program`] with pest, in one pass over the file
//! (recipes are tens of lines; the 10,000-line benchmark recipe parses in
//! milliseconds). Syntax errors become diagnostics (see [`crate::syntax_error`]).

use crate::ast::*;
use crate::diag::{Code, Diagnostic};
use crate::source::{FileId, Span};
use crate::syntax_error::{nested_too_deep, syntax_error, too_deep, MAX_DEPTH};
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
    let mut b = Builder { file, depth: 0 };
    let stmts = program
        .into_inner()
        .filter(|p| p.as_rule() != Rule::EOI)
        .map(|p| b.stmt(p))
        .collect::<Result<_, _>>()?;
    Ok(Program { stmts })
}

/// Builds the syntax tree from pest's pairs, counting how deep the tree
/// gets: a method link wraps the value before it (`x.f().g()` is
/// `g(f(x))`), so a chain nests as deeply as brackets do and meets the
/// same limit ([`MAX_DEPTH`]) before anything recurses over it.
struct Builder {
    file: FileId,
    /// Calls and lists open around the node being built, plus the method
    /// links that will wrap it: an upper bound on its depth in the tree.
    depth: usize,
}

type Built<T> = Result<T, Diagnostic>;

impl Builder {
    fn span(&self, p: &Pair<Rule>) -> Span {
        let s = p.as_span();
        Span::new(self.file, s.start(), s.end())
    }

    fn ident(&self, p: Pair<Rule>) -> Ident {
        Ident {
            name: p.as_str().to_string(),
            span: self.span(&p),
        }
    }

    /// One level deeper for `f`, refused past [`MAX_DEPTH`] at `at`.
    fn nested<T>(&mut self, at: Span, f: impl FnOnce(&mut Self) -> Built<T>) -> Built<T> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(nested_too_deep(at));
        }
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn stmt(&mut self, p: Pair<Rule>) -> Built<Stmt> {
        let sp = self.span(&p);
        let rule = p.as_rule();
        let mut it = p
            .into_inner()
            .filter(|p| p.as_rule() != Rule::eq)
            .peekable();
        Ok(match rule {
            Rule::param_stmt => {
                let name = self.ident(it.next().unwrap());
                let value = self.expr(&mut it)?;
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
                let var = self.ident(it.next().unwrap());
                let over = self.expr(&mut it)?;
                let body = it
                    .next()
                    .unwrap()
                    .into_inner()
                    .map(|s| self.nested(sp, |b| b.stmt(s)))
                    .collect::<Built<_>>()?;
                Stmt::For {
                    var,
                    over,
                    body,
                    span: sp,
                }
            }
            Rule::report_stmt => {
                let sp_path = it.next().unwrap();
                let path_span = self.span(&sp_path);
                let path = string_value(sp_path);
                let parts = self.exprs(&mut it)?;
                Stmt::Report {
                    path,
                    path_span,
                    parts,
                    span: sp,
                }
            }
            Rule::bind_stmt => {
                let kind = self.ident(it.next().unwrap());
                let targets = it
                    .next()
                    .unwrap()
                    .into_inner()
                    .map(|t| self.ident(t))
                    .collect();
                let value = self.expr(&mut it)?;
                Stmt::Bind {
                    kind,
                    targets,
                    value,
                    span: sp,
                }
            }
            r => unreachable!("grammar yields no statement {r:?}"),
        })
    }

    /// One value from `it`: its primary pair and the member pairs after it
    /// (`expr` is a silent rule, so a value is not wrapped in a pair of its
    /// own).
    fn expr<'i>(&mut self, it: &mut Peekable<impl Iterator<Item = Pair<'i, Rule>>>) -> Built<Expr> {
        let first = it.next().expect("grammar: a value has a primary");
        let links: Vec<Pair<Rule>> =
            std::iter::from_fn(|| it.next_if(|m| m.as_rule() == Rule::member)).collect();
        if self.depth + links.len() > MAX_DEPTH {
            let at = self.span(&links[MAX_DEPTH.saturating_sub(self.depth)]);
            return Err(nested_too_deep(at));
        }
        // The primary sits under every link; each link's own arguments
        // under the links after it.
        self.depth += links.len();
        let mut e = self.primary(first)?;
        let start = e.span.start;
        for m in links {
            self.depth -= 1;
            let end = self.span(&m).end;
            // recv.op(args) is op(recv, args): a method is only sugar.
            let mut mi = m.into_inner();
            let op = self.ident(mi.next().unwrap());
            let mut args = vec![Arg {
                name: None,
                span: e.span,
                value: e,
            }];
            args.extend(self.call_args(mi.next().unwrap())?);
            e = Expr {
                kind: ExprKind::Call { op, args },
                span: Span::new(self.file, start, end),
            };
        }
        Ok(e)
    }

    /// Every value left in `it` (a list's items, a report's parts).
    fn exprs<'i>(
        &mut self,
        it: &mut Peekable<impl Iterator<Item = Pair<'i, Rule>>>,
    ) -> Built<Vec<Expr>> {
        let mut out = vec![];
        while it.peek().is_some() {
            out.push(self.expr(it)?);
        }
        Ok(out)
    }

    fn call_args(&mut self, p: Pair<Rule>) -> Built<Vec<Arg>> {
        let at = self.span(&p);
        self.nested(at, |b| {
            let mut it = p.into_inner().peekable();
            let mut out = vec![];
            while let Some(a) = it.peek() {
                let sp = b.span(a);
                out.push(if a.as_rule() == Rule::named_arg {
                    let mut i = it.next().unwrap().into_inner().peekable();
                    let name = b.ident(i.next().unwrap());
                    let value = b.expr(&mut i)?;
                    Arg {
                        name: Some(name),
                        value,
                        span: sp,
                    }
                } else {
                    let value = b.expr(&mut it)?;
                    Arg {
                        name: None,
                        span: value.span,
                        value,
                    }
                });
            }
            Ok(out)
        })
    }

    fn primary(&mut self, p: Pair<Rule>) -> Built<Expr> {
        let sp = self.span(&p);
        let kind = match p.as_rule() {
            Rule::number => number(sp, p.as_str())?,
            Rule::quantity => {
                // One atomic pair (fewer pairs: quantities are common); the
                // grammar guarantees it ends in exactly one known unit.
                let s = p.as_str();
                let (n, u) = ["kHz", "Hz", "dB", "ms", "s", "%"]
                    .iter()
                    .find_map(|u| Some((s.strip_suffix(u)?, Unit::parse(u)?)))
                    .expect("grammar only yields known units");
                ExprKind::Quantity(finite(sp, n)?, u)
            }
            Rule::shape => {
                let s = p.as_str();
                let sep = if s.contains('x') { 'x' } else { ':' };
                let (a, b) = s.split_once(sep).unwrap();
                ExprKind::Shape(shape_side(sp, a)?, shape_side(sp, b)?, sep)
            }
            Rule::string => ExprKind::Str(string_value(p)),
            Rule::list => {
                let inner = p.into_inner();
                ExprKind::List(self.nested(sp, |b| b.exprs(&mut inner.peekable()))?)
            }
            Rule::call => {
                let mut i = p.into_inner();
                let op = self.ident(i.next().unwrap());
                match i.next() {
                    Some(a) => ExprKind::Call {
                        op,
                        args: self.call_args(a)?,
                    },
                    // `true`/`false` parse as names (one rule less to try
                    // before every value); keywords cannot be bound, so
                    // these two names can only mean the booleans.
                    None if op.name == "true" => ExprKind::Bool(true),
                    None if op.name == "false" => ExprKind::Bool(false),
                    None => ExprKind::Name(op.name),
                }
            }
            r => unreachable!("grammar yields no primary {r:?}"),
        };
        Ok(Expr { kind, span: sp })
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

/// A number literal: a whole number written without a point or exponent is
/// an exact integer (seeds above 2^53 stay exact); anything else a float.
fn number(sp: Span, s: &str) -> Built<ExprKind> {
    if !s.contains(['.', 'e', 'E']) {
        return s.parse().map(ExprKind::Int).map_err(|_| {
            Diagnostic::new(
                Code::OutOfRange,
                sp,
                format!("the integer {s} is too large"),
            )
            .label("too large")
            .help(format!("integers go up to {}", i64::MAX))
        });
    }
    finite(sp, s).map(ExprKind::Number)
}

/// A float literal that is a finite number (`1e999` is not).
fn finite(sp: Span, s: &str) -> Built<f64> {
    match s.parse::<f64>() {
        Ok(n) if n.is_finite() => Ok(n),
        _ => Err(
            Diagnostic::new(Code::OutOfRange, sp, format!("the number {s} is too large"))
                .label("not a finite number")
                .help("numbers must fit a 64-bit float (below about 1.8e308)"),
        ),
    }
}

/// One side of a shape (`1x4`): a block or group size, far below 2^32.
fn shape_side(sp: Span, s: &str) -> Built<u32> {
    s.parse().map_err(|_| {
        Diagnostic::new(
            Code::OutOfRange,
            sp,
            format!("the shape side {s} is too large"),
        )
        .label("too large")
        .help(format!("a shape's sides go up to {}", u32::MAX))
    })
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
    fn method_links_count_as_nesting() {
        let chain = |n: usize| format!("corpus x = a{}", ".f()".repeat(n));
        parse(0, &chain(MAX_DEPTH - 1)).unwrap();
        let e = parse(0, &chain(100_000)).unwrap_err();
        assert!(e.message.contains("nested more than 256"), "{}", e.message);
        // Links inside brackets add up with the brackets.
        let inside = |n: usize| format!("corpus x = f({})", &chain(n)["corpus x = ".len()..]);
        parse(0, &inside(MAX_DEPTH - 1)).unwrap();
        assert!(parse(0, &inside(MAX_DEPTH)).is_err());
    }

    #[test]
    fn whole_numbers_are_exact_and_overflow_is_an_error() {
        let p = parse(
            0,
            "param s = 9007199254740993\nparam f = 2.5\nparam e = 1e3",
        )
        .unwrap();
        let kinds: Vec<_> = p
            .stmts
            .iter()
            .map(|s| match s {
                Stmt::Param { value, .. } => format!("{:?}", value.kind),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            kinds,
            ["Int(9007199254740993)", "Number(2.5)", "Number(1000.0)"]
        );
        for (text, said) in [
            (
                "param s = 9223372036854775808",
                "the integer 9223372036854775808 is too large",
            ),
            ("param s = 1e999", "the number 1e999 is too large"),
            (
                "param s = 99999999999x1",
                "the shape side 99999999999 is too large",
            ),
        ] {
            let e = parse(0, text).unwrap_err();
            assert_eq!(e.message, said);
            assert_eq!(e.span.unwrap().start, "param s = ".len());
        }
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
