//! Literal values (numbers, quantities with units, strings, booleans,
//! shapes) converted to a parameter's type, with units normalised
//! (durations to seconds, percentages to fractions), and range checks.

use super::messages;
use super::params::fmt_num;
use crate::ast::{Expr, ExprKind, Unit};
use crate::diag::Diagnostic;
use crate::signature::Param;
use crate::types::PType;
use crate::value::Value;

/// The result of converting an expression that may be a literal.
pub enum Conv {
    Ok(Value),
    /// A literal of another type: a type error saying what was found.
    Mismatch(String),
    /// A literal of the right kind that is still wrong (a unit, a shape).
    Error(Diagnostic),
    /// Not a literal (a name, a list, a call): the caller converts it.
    NotLiteral,
}

/// Converts a literal `e` to type `ty` (the type of `p`, or one of its
/// alternatives).
pub fn convert(e: &Expr, ty: &PType, p: &Param) -> Conv {
    match (&e.kind, ty) {
        (
            ExprKind::Name(_)
            | ExprKind::Sym(_)
            | ExprKind::RunSeed
            | ExprKind::List(_)
            | ExprKind::Call { .. },
            _,
        ) => Conv::NotLiteral,
        (ExprKind::Int(i), PType::Int) => Conv::Ok(Value::Int(*i)),
        (ExprKind::Int(i), PType::Float | PType::Fraction) => Conv::Ok(Value::Float(*i as f64)),
        (ExprKind::Number(n), PType::Int) if n.fract() == 0.0 && n.abs() < 9e15 => {
            Conv::Ok(Value::Int(*n as i64))
        }
        (ExprKind::Number(n), PType::Float | PType::Fraction) => Conv::Ok(Value::Float(*n)),
        (ExprKind::Quantity(n, u), _) => match (u, ty) {
            (Unit::Percent, PType::Fraction) => Conv::Ok(Value::Float(n / 100.0)),
            (Unit::Ms, PType::Duration) => Conv::Ok(Value::Float(n / 1000.0)),
            (Unit::S, PType::Duration) => Conv::Ok(Value::Float(*n)),
            (Unit::Db, PType::Decibel) => Conv::Ok(Value::Float(*n)),
            (Unit::Hz, PType::Frequency) => Conv::Ok(Value::Float(*n)),
            (Unit::KHz, PType::Frequency) => Conv::Ok(Value::Float(n * 1000.0)),
            _ => Conv::Error(messages::wrong_unit(e.span, u.as_str(), p)),
        },
        (ExprKind::Number(n), PType::Duration | PType::Decibel | PType::Frequency) => {
            Conv::Error(messages::needs_unit(e.span, p, &fmt_num(*n)))
        }
        (ExprKind::Int(i), PType::Duration | PType::Decibel | PType::Frequency) => {
            Conv::Error(messages::needs_unit(e.span, p, &i.to_string()))
        }
        (ExprKind::Str(s), PType::Str | PType::Path) => Conv::Ok(Value::Str(s.clone())),
        (ExprKind::Bool(b), PType::Bool) => Conv::Ok(Value::Bool(*b)),
        (ExprKind::Shape(a, b, c), PType::Shape) => {
            if *a == 0 || *b == 0 || a > b && *c == ':' {
                Conv::Error(messages::bad_shape(e.span, &format!("{a}{c}{b}")))
            } else {
                Conv::Ok(Value::Shape(*a, *b, *c))
            }
        }
        _ => Conv::Mismatch(describe(e).unwrap_or_default()),
    }
}

/// How a literal reads in "found ..." (`None` for non-literals).
pub fn describe(e: &Expr) -> Option<String> {
    Some(match &e.kind {
        ExprKind::Int(i) => format!("the number {i}"),
        ExprKind::Number(n) => format!("the number {}", fmt_num(*n)),
        ExprKind::Quantity(n, u) => format!("`{}{}`", fmt_num(*n), u.as_str()),
        ExprKind::Shape(a, b, c) => format!("the shape `{a}{c}{b}`"),
        ExprKind::Str(_) => "a string".into(),
        ExprKind::Bool(_) => "a boolean".into(),
        ExprKind::List(_) => "a list".into(),
        ExprKind::Sym(n) => format!("`{n}`"),
        ExprKind::RunSeed => "the run seed".into(),
        ExprKind::Name(_) | ExprKind::Call { .. } => return None,
    })
}

/// The error for a value outside `p`'s range (any element of a list).
pub fn range_error(e: &Expr, v: &Value, ty: &PType, p: &Param) -> Option<Diagnostic> {
    let (lo, hi) = p.range?;
    let bad = first_out_of_range(v, lo, hi)?;
    let shown = match ty {
        PType::Fraction => format!("{}%", fmt_num(bad * 100.0)),
        PType::Duration => format!("{}s", fmt_num(bad)),
        _ => fmt_num(bad),
    };
    let range = match ty {
        PType::Fraction => format!("{}% to {}%", fmt_num(lo * 100.0), fmt_num(hi * 100.0)),
        _ => format!("{} to {}", fmt_num(lo), fmt_num(hi)),
    };
    Some(messages::out_of_range(e.span, p, &shown, &range))
}

fn first_out_of_range(v: &Value, lo: f64, hi: f64) -> Option<f64> {
    match v {
        Value::List(l) => l.iter().find_map(|x| first_out_of_range(x, lo, hi)),
        _ => v.as_f64().filter(|x| !(lo..=hi).contains(x) || x.is_nan()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Span;

    fn lit(kind: ExprKind) -> Expr {
        Expr {
            kind,
            span: Span::default(),
        }
    }

    fn ok(c: Conv) -> Value {
        match c {
            Conv::Ok(v) => v,
            _ => panic!("not converted"),
        }
    }

    #[test]
    fn units_are_normalised_and_checked() {
        let p = Param::req("hop", PType::Duration, "frame hop");
        let ms = lit(ExprKind::Quantity(20.0, Unit::Ms));
        assert_eq!(ok(convert(&ms, &PType::Duration, &p)), Value::Float(0.02));
        let pct = lit(ExprKind::Quantity(20.0, Unit::Percent));
        assert_eq!(ok(convert(&pct, &PType::Fraction, &p)), Value::Float(0.2));
        match convert(&pct, &PType::Duration, &p) {
            Conv::Error(d) => assert_eq!(d.message, "`%` is not a unit for `hop`"),
            _ => panic!("a percentage is not a duration"),
        }
        match convert(&lit(ExprKind::Number(5.0)), &PType::Duration, &p) {
            Conv::Error(d) => assert_eq!(d.help.as_deref(), Some("write e.g. `5ms`")),
            _ => panic!("a bare number needs a unit"),
        }
    }

    #[test]
    fn integers_shapes_and_mismatches() {
        let p = Param::req("n", PType::Int, "count");
        assert_eq!(
            ok(convert(&lit(ExprKind::Number(3.0)), &PType::Int, &p)),
            Value::Int(3)
        );
        match convert(&lit(ExprKind::Number(2.5)), &PType::Int, &p) {
            Conv::Mismatch(found) => assert_eq!(found, "the number 2.5"),
            _ => panic!("2.5 is no integer"),
        }
        match convert(&lit(ExprKind::Shape(4, 2, ':')), &PType::Shape, &p) {
            Conv::Error(d) => assert_eq!(d.message, "shape `4:2` is not valid"),
            _ => panic!("4:2 keeps more than it has"),
        }
        assert!(matches!(
            convert(&lit(ExprKind::Name("x".into())), &PType::Int, &p),
            Conv::NotLiteral
        ));
    }

    #[test]
    fn ranges_name_the_first_value_outside() {
        let p = Param::req("rate", PType::Fraction, "share").range(0.01, 0.99);
        let e = lit(ExprKind::Number(0.0));
        let v = Value::List(vec![Value::Float(0.5), Value::Float(1.5)]);
        let d = range_error(&e, &v, &PType::Fraction, &p).unwrap();
        assert_eq!(d.message, "`rate` = 150% is out of range");
        assert_eq!(d.label, "must be 1% to 99%");
        assert!(range_error(&e, &Value::Float(0.5), &PType::Fraction, &p).is_none());
        assert!(range_error(&e, &Value::Float(f64::NAN), &PType::Fraction, &p).is_some());
    }
}
