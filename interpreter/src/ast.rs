//! The syntax tree of a recipe, every node carrying its span.

use crate::source::Span;

#[derive(Clone, Debug)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// Units a quantity literal may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Ms,
    S,
    Percent,
    Db,
    Hz,
    KHz,
}

impl Unit {
    pub fn parse(s: &str) -> Option<Unit> {
        Some(match s {
            "ms" => Unit::Ms,
            "s" => Unit::S,
            "%" => Unit::Percent,
            "dB" => Unit::Db,
            "Hz" => Unit::Hz,
            "kHz" => Unit::KHz,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Ms => "ms",
            Unit::S => "s",
            Unit::Percent => "%",
            Unit::Db => "dB",
            Unit::Hz => "Hz",
            Unit::KHz => "kHz",
        }
    }
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    /// A whole number written without a point or exponent, held exactly.
    Int(i64),
    Number(f64),
    Quantity(f64, Unit),
    /// `1x4` (sep 'x') or `2:4` (sep ':').
    Shape(u32, u32, char),
    Str(String),
    Bool(bool),
    Name(String),
    /// A bare word that names nothing bound when its param or loop value
    /// was defined (an enumeration value like `global`). Never looked up
    /// again, so a param cannot refer to itself.
    Sym(String),
    /// The name `seed` in a recipe that declares `param seeds`: each seed
    /// of the run in turn (see `check/seeds.rs`). Only a whole integer
    /// argument may be it.
    RunSeed,
    List(Vec<Expr>),
    /// `op(args)`, or `recv.op(args)` with the receiver as first positional.
    Call {
        op: Ident,
        args: Vec<Arg>,
    },
}

#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Stmt {
    Param {
        name: Ident,
        value: Expr,
        span: Span,
    },
    Import {
        path: String,
        span: Span,
    },
    For {
        var: Ident,
        over: Expr,
        body: Vec<Stmt>,
        span: Span,
    },
    Report {
        path: String,
        path_span: Span,
        parts: Vec<Expr>,
        span: Span,
    },
    Bind {
        kind: Ident,
        targets: Vec<Ident>,
        value: Expr,
        span: Span,
    },
}

impl Stmt {
    /// The whole statement's place in its file.
    pub fn span(&self) -> Span {
        match self {
            Stmt::Param { span, .. }
            | Stmt::Import { span, .. }
            | Stmt::For { span, .. }
            | Stmt::Report { span, .. }
            | Stmt::Bind { span, .. } => *span,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Program {
    pub stmts: Vec<Stmt>,
}
