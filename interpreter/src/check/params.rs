//! `param` statements: `--set` overrides from the command line, and each
//! param's literal value for records and lock files.

use super::messages;
use super::options::CheckOpts;
use crate::ast::{Expr, ExprKind, Ident, Stmt};
use crate::diag::Diagnostic;
use crate::source::Sources;
use crate::value::{fmt_float, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// Which `--set` overrides a check has used.
pub struct Overrides<'a> {
    opts: &'a CheckOpts,
    used: Vec<bool>,
}

impl<'a> Overrides<'a> {
    pub fn new(opts: &'a CheckOpts) -> Self {
        Overrides {
            opts,
            used: vec![false; opts.set.len()],
        }
    }

    /// The value of `param NAME = value`: the `--set NAME=...` text parsed as
    /// a value if there is one, else the recipe's.
    pub fn value(
        &mut self,
        name: &Ident,
        value: Expr,
        sources: &mut Sources,
        diags: &mut Vec<Diagnostic>,
    ) -> Expr {
        let Some(i) = self.opts.set.iter().position(|(k, _)| *k == name.name) else {
            return value;
        };
        self.used[i] = true;
        let text = format!("param {} = {}", name.name, self.opts.set[i].1);
        let sid = sources.add(Path::new("--set"), text.clone());
        match crate::parse::parse(sid, &text) {
            Ok(p) => match p.stmts.as_slice() {
                [Stmt::Param { value: v, .. }] => v.clone(),
                [_, extra, ..] => {
                    let at = extra_span(extra, text.len());
                    diags.push(messages::set_not_one_value(at, &name.name));
                    value
                }
                _ => value,
            },
            Err(d) => {
                diags.push(messages::set_syntax(d, &name.name));
                value
            }
        }
    }

    /// An error for each `--set` that names no param of the recipe.
    pub fn unused(&self, params: &[(String, Expr)]) -> Vec<Diagnostic> {
        let known: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
        self.opts
            .set
            .iter()
            .zip(&self.used)
            .filter(|(_, used)| !**used)
            .map(|((k, _), _)| messages::set_unknown(k, &known))
            .collect()
    }
}

/// From the start of the statement after a `--set` value to the end.
fn extra_span(extra: &Stmt, end: usize) -> crate::source::Span {
    let s = extra.span();
    crate::source::Span::new(s.file, s.start, end)
}

/// Each param's value as a literal (quantities as written, `20ms`).
pub fn literal_values(
    params: &[(String, Expr)],
    diags: &mut Vec<Diagnostic>,
) -> BTreeMap<String, Value> {
    params
        .iter()
        .filter_map(|(name, e)| Some((name.clone(), literal_value(e, diags)?)))
        .collect()
}

/// A param's value without a parameter type (for records).
fn literal_value(e: &Expr, diags: &mut Vec<Diagnostic>) -> Option<Value> {
    Some(match &e.kind {
        ExprKind::Int(i) => Value::Int(*i),
        ExprKind::Number(n) => num_value(*n),
        ExprKind::Quantity(n, u) => Value::Str(format!("{}{}", fmt_num(*n), u.as_str())),
        ExprKind::Shape(a, b, c) => Value::Shape(*a, *b, *c),
        ExprKind::Str(s) => Value::Str(s.clone()),
        ExprKind::Bool(b) => Value::Bool(*b),
        ExprKind::List(items) => Value::List(
            items
                .iter()
                .filter_map(|i| literal_value(i, diags))
                .collect(),
        ),
        ExprKind::Name(n) | ExprKind::Sym(n) => Value::Sym(n.clone()),
        ExprKind::RunSeed => Value::sym("seed"),
        ExprKind::Call { .. } => {
            diags.push(messages::param_not_literal(e.span));
            return None;
        }
    })
}

/// A whole number as an integer value, else a float.
pub fn num_value(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9e15 {
        Value::Int(n as i64)
    } else {
        Value::Float(n)
    }
}

/// A number as a user would write it (`0.2`, `3`, `1e-05`).
pub fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        let s = format!("{n}");
        if s.len() > 10 {
            fmt_float(n)
        } else {
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Span;

    #[test]
    fn numbers_read_as_written() {
        assert_eq!(fmt_num(3.0), "3");
        assert_eq!(fmt_num(0.2), "0.2");
        assert_eq!(num_value(4.0), Value::Int(4));
        assert_eq!(num_value(0.5), Value::Float(0.5));
    }

    #[test]
    fn set_overrides_parse_and_unused_ones_are_errors() {
        let opts = CheckOpts {
            set: vec![("rounds".into(), "3".into()), ("roundz".into(), "1".into())],
            ..Default::default()
        };
        let mut o = Overrides::new(&opts);
        let mut sources = Sources::default();
        let mut diags = vec![];
        let name = Ident {
            name: "rounds".into(),
            span: Span::default(),
        };
        let old = Expr {
            kind: ExprKind::Number(8.0),
            span: Span::default(),
        };
        let v = o.value(&name, old.clone(), &mut sources, &mut diags);
        assert!(matches!(v.kind, ExprKind::Int(3)));
        assert!(diags.is_empty());
        let unused = o.unused(&[("rounds".into(), old)]);
        assert_eq!(unused.len(), 1);
        assert_eq!(
            unused[0].message,
            "`--set roundz=...` names no `param` of this recipe"
        );
        assert_eq!(unused[0].help.as_deref(), Some("did you mean `rounds`?"));
    }
}
