//! The wording of the checker's diagnostics, one constructor each, so the
//! passes read as logic and every message can be found (and reworded) in
//! one place. Each says what is wrong, points at it and says what to do.

use crate::ast::Ident;
use crate::diag::{did_you_mean, Code, Diagnostic};
use crate::signature::{OpSig, Param};
use crate::source::Span;
use crate::types::{PType, StepType};

/// `1` → "", other counts → "s".
pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// "`a`, `b`" for a parameter list.
pub fn param_list(ps: &[Param]) -> String {
    ps.iter()
        .map(|p| format!("`{}`", p.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "did you mean `x`?" when a candidate is close, else `otherwise`.
fn suggest<'a>(word: &str, cands: impl IntoIterator<Item = &'a str>, otherwise: String) -> String {
    match did_you_mean(word, cands) {
        Some(s) => format!("did you mean `{s}`?"),
        None => otherwise,
    }
}

pub fn top_level_only(span: Span, what: &str, help: &str) -> Diagnostic {
    Diagnostic::new(
        Code::Syntax,
        span,
        format!("`{what}` is only allowed at the top level"),
    )
    .help(help)
}

pub fn keyword_as_name(span: Span, name: &str) -> Diagnostic {
    Diagnostic::new(
        Code::Syntax,
        span,
        format!("`{name}` is a keyword and cannot be a name"),
    )
    .label("keyword")
    .help("choose another name")
}

pub fn duplicate_binding(span: Span, name: &str, first_at: &str) -> Diagnostic {
    Diagnostic::new(
        Code::DuplicateBinding,
        span,
        format!("`{name}` is bound twice"),
    )
    .label("second binding")
    .help(format!(
        "the first binding is at {first_at}; rename one of them"
    ))
}

pub fn unknown_kind(span: Span, kind: &str, kinds: &[&str]) -> Diagnostic {
    let all = kinds
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    Diagnostic::new(
        Code::UnknownKind,
        span,
        format!("unknown statement kind `{kind}`"),
    )
    .label("not a kind")
    .help(suggest(
        kind,
        kinds.iter().copied(),
        format!("kinds are {all}"),
    ))
}

pub fn for_needs_list(span: Span, param: Option<&str>) -> Diagnostic {
    let msg = match param {
        Some(n) => format!("`for` needs a list of values, and `{n}` is not a param holding one"),
        None => "`for` needs a list of values".to_string(),
    };
    Diagnostic::new(Code::TypeMismatch, span, msg)
        .label("not a list")
        .help("write the values inline: `for x in [1, 2, 3] { ... }`")
}

pub fn report_outside(span: Span, path: &str, bundle: bool) -> Diagnostic {
    if bundle {
        Diagnostic::new(Code::UnsafePath, span, format!("report path `{path}` is outside this bundle's folder"))
            .label("absolute or `..` path")
            .help("a bundle may only write inside its folder (--allow-outside does not apply to bundles); change the path in the recipe")
    } else {
        Diagnostic::new(Code::UnsafePath, span, format!("report path `{path}` is outside the workspace"))
            .label("absolute or `..` path")
            .help("write reports inside the workspace, or pass --allow-outside to permit this deliberately")
    }
}

pub fn no_report_op(span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownOp,
        span,
        "this op library has no op for `report` statements",
    )
    .label("report")
    .help("bind the results with a statement instead")
}

pub fn set_unknown(name: &str, known: &[&str]) -> Diagnostic {
    let otherwise = if known.is_empty() {
        "this recipe declares no params".to_string()
    } else {
        format!("its params are {}", known.join(", "))
    };
    Diagnostic::nowhere(
        Code::BadParam,
        format!("`--set {name}=...` names no `param` of this recipe"),
    )
    .help(suggest(name, known.iter().copied(), otherwise))
}

pub fn set_syntax(d: Diagnostic, name: &str) -> Diagnostic {
    d.help(format!(
        "`--set {name}=...` takes a value as a recipe would write it, e.g. 3, 20ms, \"text\""
    ))
}

pub fn param_too_large(name: &Ident, depth: usize, values: usize) -> Diagnostic {
    Diagnostic::new(
        Code::OutOfRange,
        name.span,
        format!(
            "param `{}` is too large once the params it names are filled in",
            name.name
        ),
    )
    .label("this param")
    .help(format!(
        "a param's value may nest {depth} levels and hold {values} values; params that repeat other params grow fast"
    ))
}

pub fn too_many_steps(loop_var: Span, max: usize) -> Diagnostic {
    Diagnostic::new(
        Code::OutOfRange,
        loop_var,
        format!("this loop makes the recipe more than {max} steps"),
    )
    .label("expanded up to here")
    .help("loop over fewer values (a sweep of hundreds of steps is already paper scale), or split the recipe")
}

/// `--set seed=7 corpus evil = ...`: one value, and nothing after it.
pub fn set_not_one_value(span: Span, name: &str) -> Diagnostic {
    Diagnostic::new(
        Code::BadParam,
        span,
        format!("`--set {name}=...` has more after its value"),
    )
    .label("not part of the value")
    .help(format!(
        "a `--set` value is exactly one value, e.g. `--set {name}=3`; quote text as \"text\""
    ))
}

pub fn param_not_literal(span: Span) -> Diagnostic {
    Diagnostic::new(Code::BadParam, span, "a `param` must be a literal value")
        .label("a call")
        .help("params hold numbers, quantities, strings, booleans or lists; bind steps with a statement instead")
}

pub fn bad_seeds(span: Span, why: &str) -> Diagnostic {
    Diagnostic::new(Code::BadParam, span, format!("`seeds` {why}"))
        .label("the run's seeds")
        .help("write the seeds to run as a list of distinct whole numbers, `param seeds = [1, 2, 3]`, or one, `param seeds = 7`")
}

pub fn run_seed_misplaced(span: Span, param: &str) -> Diagnostic {
    Diagnostic::new(
        Code::TypeMismatch,
        span,
        format!("`seed` is the run seed, a whole number, and `{param}` cannot take it here"),
    )
    .label("the run seed")
    .help("give it as a whole integer argument, `seed: seed`, or write a number to keep this step fixed across seeds")
}

pub fn not_a_call(span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::TypeMismatch,
        span,
        "a statement must bind the result of an op call",
    )
    .label("not a call")
    .help("write `kind name = op(args)`; use `param` for plain values")
}

/// `taker` is an op and parameter that take this kind of setting.
pub fn config_as_step(span: Span, op: &str, kind: &str, taker: Option<(&str, &str)>) -> Diagnostic {
    let help = match taker {
        Some((o, p)) => format!("pass it as an argument, e.g. `{o}(..., {p}: {op}(...))`"),
        None => "pass it as an argument of an op that takes it; `lotto ops` lists them".into(),
    };
    Diagnostic::new(
        Code::KindMismatch,
        span,
        format!(
            "`{op}` builds {} {kind} setting, not a step",
            crate::types::article(kind)
        ),
    )
    .label("not a step")
    .help(help)
}

pub fn kind_mismatch(
    span: Span,
    kind: &str,
    want: StepType,
    op: &str,
    got: StepType,
    use_kind: &str,
) -> Diagnostic {
    Diagnostic::new(
        Code::KindMismatch,
        span,
        format!(
            "`{kind}` binds {}, but `{op}` returns {}",
            want.a(),
            got.a()
        ),
    )
    .label(format!("expects {}", want.a()))
    .help(format!(
        "use `{use_kind}` for this statement, or call an op that returns {}",
        want.a()
    ))
}

pub fn binding_count(span: Span, op: &str, expected: usize, targets: usize) -> Diagnostic {
    Diagnostic::new(
        Code::BindingCount,
        span,
        format!(
            "`{op}` returns {expected} value{} but {targets} name{} bound",
            plural(expected),
            if targets == 1 { " is" } else { "s are" }
        ),
    )
    .label("binding")
    .help("bind one name per returned value")
}

pub fn unknown_op<'a>(
    span: Span,
    name: &str,
    ops: impl IntoIterator<Item = &'a str>,
) -> Diagnostic {
    Diagnostic::new(Code::UnknownOp, span, format!("unknown op `{name}`"))
        .label("no such op")
        .help(suggest(
            name,
            ops,
            "`lotto ops` lists every op with its parameters".to_string(),
        ))
}

pub fn too_many_args(span: Span, sig: &OpSig) -> Diagnostic {
    let n = sig.params.len();
    Diagnostic::new(
        Code::TooManyArgs,
        span,
        format!(
            "`{}` takes at most {n} positional argument{}",
            sig.name,
            plural(n)
        ),
    )
    .label("extra argument")
    .help(format!("its parameters are {}", param_list(&sig.params)))
}

pub fn unknown_arg(span: Span, sig: &OpSig, name: &str) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownArg,
        span,
        format!("`{}` has no parameter `{name}`", sig.name),
    )
    .label("unknown argument")
    .help(suggest(
        name,
        sig.params.iter().map(|p| p.name),
        format!("its parameters are {}", param_list(&sig.params)),
    ))
}

pub fn duplicate_arg(span: Span, name: &str) -> Diagnostic {
    Diagnostic::new(
        Code::DuplicateArg,
        span,
        format!("argument `{name}` is given twice"),
    )
    .label("again here")
    .help("remove one of them (a positional argument also counts)")
}

pub fn missing_arg(span: Span, op: &str, p: &Param) -> Diagnostic {
    Diagnostic::new(
        Code::MissingArg,
        span,
        format!("`{op}` needs argument `{}`", p.name),
    )
    .label(format!("`{}` missing", p.name))
    .help(format!("`{}`: {} — {}", p.name, p.ty.describe(), p.doc))
}

pub fn invalid_call(span: Span, op: &str, msg: String) -> Diagnostic {
    Diagnostic::new(Code::OutOfRange, span, msg)
        .label("invalid")
        .help(format!("see `lotto ops {op}`"))
}

pub fn type_error(span: Span, p: &Param, found: &str) -> Diagnostic {
    Diagnostic::new(
        Code::TypeMismatch,
        span,
        format!("`{}` takes {}, found {found}", p.name, p.ty.describe()),
    )
    .label(format!("expected {}", p.ty.describe()))
    .help(p.doc.to_string())
}

pub fn out_of_range(span: Span, p: &Param, shown: &str, range: &str) -> Diagnostic {
    Diagnostic::new(
        Code::OutOfRange,
        span,
        format!("`{}` = {shown} is out of range", p.name),
    )
    .label(format!("must be {range}"))
    .help(format!("`{}`: {}", p.name, p.doc))
}

pub fn unknown_name(span: Span, name: &str, p: &Param, candidates: &[String]) -> Diagnostic {
    let help = match (
        did_you_mean(name, candidates.iter().map(String::as_str)),
        &p.ty,
    ) {
        (Some(s), _) => format!("did you mean `{s}`?"),
        (None, PType::Enum(_)) => format!("`{}` takes {}", p.name, p.ty.describe()),
        _ => "bind it with a statement or a `param` first".to_string(),
    };
    Diagnostic::new(Code::UnknownName, span, format!("unknown name `{name}`"))
        .label("not defined")
        .help(help)
}

pub fn wrong_unit(span: Span, unit: &str, p: &Param) -> Diagnostic {
    Diagnostic::new(
        Code::UnitMismatch,
        span,
        format!("`{unit}` is not a unit for `{}`", p.name),
    )
    .label(format!("`{}` takes {}", p.name, p.ty.describe()))
    .help(p.doc.to_string())
}

pub fn needs_unit(span: Span, p: &Param, number: &str) -> Diagnostic {
    let unit = match p.ty {
        PType::Duration => "ms",
        PType::Decibel => "dB",
        _ => "Hz",
    };
    Diagnostic::new(
        Code::UnitMismatch,
        span,
        format!("`{}` needs a unit", p.name),
    )
    .label(format!("`{}` takes {}", p.name, p.ty.describe()))
    .help(format!("write e.g. `{number}{unit}`"))
}

pub fn bad_shape(span: Span, shape: &str) -> Diagnostic {
    Diagnostic::new(
        Code::OutOfRange,
        span,
        format!("shape `{shape}` is not valid"),
    )
    .label("invalid shape")
    .help("blocks are RxC with R, C ≥ 1 (e.g. `1x4`); N:M keeps N of every M (e.g. `2:4`)")
}
