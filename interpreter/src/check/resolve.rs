//! Pass 2: resolves each statement's call against the registry. Arguments
//! are bound to parameters (positional, named, variadic, defaults) and each
//! is converted to its parameter's type: literals through `literal`, names
//! through the scopes, nested calls into config values (`adamw(lr: 3e-4)`)
//! or anonymous steps (`imp.round(3)`), which are numbered after the
//! statement steps in the order they appear. Every error is collected; a
//! statement with an error keeps no arguments.

use super::collect::Pending;
use super::literal::{self, Conv};
use super::messages;
use super::scope::{Binding, Scopes};
use crate::ast::{Arg, Expr, ExprKind, Ident};
use crate::diag::Diagnostic;
use crate::program::Step;
use crate::registry::Registry;
use crate::signature::{Output, Param};
use crate::source::{Sources, Span};
use crate::types::{ConfigKind, PType};
use crate::value::{Args, StepRef, Value};
use std::borrow::Cow;

/// What an argument expression is converted to: its parameter (for
/// messages), the type wanted (the parameter's or one alternative of it),
/// the scope names resolve in, and whether a mismatch is reported.
#[derive(Clone, Copy)]
struct Target<'p> {
    ty: &'p PType,
    p: &'p Param,
    scope: usize,
    report: bool,
}

/// Where each given argument was written, by parameter.
type ArgSpans = std::collections::BTreeMap<&'static str, Span>;

/// Each parameter's argument expression and its span, by position.
type Given<'e> = Vec<Option<(Cow<'e, Expr>, Span)>>;

struct Resolver<'a> {
    reg: &'a Registry,
    scopes: &'a Scopes,
    sources: &'a Sources,
    /// Anonymous steps, numbered from `base`.
    anon: Vec<Step>,
    base: usize,
    diags: Vec<Diagnostic>,
}

/// Resolves every pending statement into `steps` (anonymous steps are
/// appended) and returns the errors found.
pub fn resolve(
    steps: &mut Vec<Step>,
    pending: &[Pending],
    scopes: &Scopes,
    reg: &Registry,
    sources: &Sources,
) -> Vec<Diagnostic> {
    let mut r = Resolver {
        reg,
        scopes,
        sources,
        anon: vec![],
        base: steps.len(),
        diags: vec![],
    };
    for p in pending {
        let s = &steps[p.step];
        if let Some((op, args, spans)) = r.statement(p, s.outputs.len(), s.span) {
            steps[p.step].op = op;
            steps[p.step].args = args;
            steps[p.step].arg_spans = spans;
        }
    }
    steps.extend(r.anon);
    r.diags
}

impl Resolver<'_> {
    /// One statement: its call, checked against the statement's kind and
    /// number of bound names.
    fn statement(
        &mut self,
        p: &Pending,
        targets: usize,
        span: Span,
    ) -> Option<(&'static str, Args, ArgSpans)> {
        let ExprKind::Call { op: op_ident, args } = &p.value.kind else {
            self.diags.push(messages::not_a_call(p.value.span));
            return None;
        };
        let Some(op) = self.reg.get(&op_ident.name) else {
            self.unknown_op(op_ident);
            return None;
        };
        let sig = op.sig();
        let got = match &sig.output {
            Output::Config(kind) => {
                let taker = self.taker_of(kind);
                self.diags.push(messages::config_as_step(
                    op_ident.span,
                    &op_ident.name,
                    kind.name,
                    taker,
                ));
                return None;
            }
            Output::One(t) | Output::PerItem { ty: t, .. } => *t,
        };
        if let Some(kind) = &p.kind {
            if let Some(Some(want)) = self.reg.kind(&kind.name) {
                if want != got {
                    let use_kind = self.reg.kind_for(got);
                    self.diags.push(messages::kind_mismatch(
                        kind.span, &kind.name, want, sig.name, got, use_kind,
                    ));
                }
            }
        }
        let (resolved, spans) =
            self.call_spanned(&op_ident.name, op_ident, args, p.value.span, p.scope)?;
        let expected = match &sig.output {
            Output::PerItem { param, .. } => resolved
                .get(*param)
                .and_then(|v| v.as_list())
                .map(|l| l.len())
                .unwrap_or(1),
            _ => 1,
        };
        if p.kind.is_some() && expected != targets {
            self.diags
                .push(messages::binding_count(span, sig.name, expected, targets));
        }
        Some((sig.name, resolved, spans))
    }

    /// An op and parameter that take settings of `kind`, for a hint.
    fn taker_of(&self, kind: &ConfigKind) -> Option<(&'static str, &'static str)> {
        fn takes(t: &PType, kind: &ConfigKind) -> bool {
            match t {
                PType::Config(k) => *k == kind,
                PType::List(t) => takes(t, kind),
                PType::OneOf(ts) => ts.iter().any(|t| takes(t, kind)),
                _ => false,
            }
        }
        self.reg.ops().find_map(|o| {
            let sig = o.sig();
            let p = sig.params.iter().find(|p| takes(&p.ty, kind))?;
            Some((sig.name, p.name))
        })
    }

    fn unknown_op(&mut self, op: &Ident) {
        self.diags
            .push(messages::unknown_op(op.span, &op.name, self.reg.names()));
    }

    /// Binds call arguments to the op's parameters and converts each.
    fn call(
        &mut self,
        op_name: &str,
        op_ident: &Ident,
        args: &[Arg],
        call_span: Span,
        scope: usize,
    ) -> Option<Args> {
        self.call_spanned(op_name, op_ident, args, call_span, scope)
            .map(|(a, _)| a)
    }

    /// [`Self::call`], with where each given argument was written.
    fn call_spanned(
        &mut self,
        op_name: &str,
        op_ident: &Ident,
        args: &[Arg],
        call_span: Span,
        scope: usize,
    ) -> Option<(Args, ArgSpans)> {
        let reg = self.reg;
        let op = reg.get(op_name)?;
        let sig = op.sig();
        let (given, mut ok) = self.bind_args(sig, args, call_span);
        let mut out = Args::new();
        // Arguments that did not convert; the op's own checks still run on
        // the others (with these at their defaults), so all errors of a
        // call show at once.
        let mut failed: Vec<&str> = vec![];
        for (p, g) in sig.params.iter().zip(&given) {
            match (g, &p.default) {
                (Some((e, _)), default) => match self.convert(e, &p.ty, p, scope) {
                    Some(v) => {
                        out.insert(p.name.to_string(), v);
                    }
                    None => {
                        ok = false;
                        failed.push(p.name);
                        if let Some(d) = default {
                            out.insert(p.name.to_string(), d.clone());
                        }
                    }
                },
                (None, Some(d)) => {
                    out.insert(p.name.to_string(), d.clone());
                }
                (None, None) => {
                    self.diags
                        .push(messages::missing_arg(call_span, sig.name, p));
                    ok = false;
                }
            }
        }
        let complete = out.len() == sig.params.len();
        if let Some(Err(invalid)) = complete.then(|| op.validate(&out)) {
            // With an argument that failed, only what points at another
            // argument is reported (the rest would be about a default).
            if ok || invalid.param.is_some_and(|p| !failed.contains(&p)) {
                let span = invalid
                    .param
                    .and_then(|p| sig.param_index(p))
                    .and_then(|i| given[i].as_ref().map(|(_, s)| *s))
                    .unwrap_or(op_ident.span);
                self.diags
                    .push(messages::invalid_call(span, sig.name, invalid.message));
            }
            return None;
        }
        if !ok {
            return None;
        }
        let spans = sig
            .params
            .iter()
            .zip(&given)
            .filter_map(|(p, g)| Some((p.name, g.as_ref()?.1)))
            .collect();
        Some((out, spans))
    }

    /// Each parameter's argument expression and span, by position, and
    /// whether binding them found no error. Positionals fill parameters in
    /// order; a variadic parameter takes all the rest (a single list given
    /// to it is its items: `concat([a, b])` means `concat(a, b)`).
    fn bind_args<'e>(
        &mut self,
        sig: &crate::signature::OpSig,
        args: &'e [Arg],
        call_span: Span,
    ) -> (Given<'e>, bool) {
        let mut given: Vec<Option<(Cow<Expr>, Span)>> = sig.params.iter().map(|_| None).collect();
        let mut variadic_items: Vec<Expr> = vec![];
        let mut variadic_param: Option<usize> = None;
        let mut ok = true;
        let mut pos = 0usize;
        for a in args {
            match &a.name {
                None if variadic_param.is_some() => variadic_items.push(a.value.clone()),
                None => match sig.params.get(pos) {
                    Some(p) if p.variadic => {
                        variadic_param = Some(pos);
                        variadic_items.push(a.value.clone());
                    }
                    Some(_) => {
                        given[pos] = Some((Cow::Borrowed(&a.value), a.span));
                        pos += 1;
                    }
                    None => {
                        self.diags.push(messages::too_many_args(a.span, sig));
                        ok = false;
                    }
                },
                Some(n) => {
                    let Some(i) = sig.param_index(&n.name) else {
                        self.diags.push(messages::unknown_arg(n.span, sig, &n.name));
                        ok = false;
                        continue;
                    };
                    let p = &sig.params[i];
                    if given[i].is_some() || (p.variadic && !variadic_items.is_empty()) {
                        self.diags.push(messages::duplicate_arg(n.span, &n.name));
                        ok = false;
                        continue;
                    }
                    given[i] = Some((Cow::Borrowed(&a.value), a.span));
                }
            }
        }
        if let Some(vp) = variadic_param {
            let e = if variadic_items.len() == 1
                && matches!(variadic_items[0].kind, ExprKind::List(_))
            {
                variadic_items.pop().expect("one item")
            } else {
                let span = Span::new(
                    call_span.file,
                    variadic_items[0].span.start,
                    variadic_items.last().expect("at least one item").span.end,
                );
                Expr {
                    kind: ExprKind::List(variadic_items),
                    span,
                }
            };
            let span = e.span;
            given[vp] = Some((Cow::Owned(e), span));
        }
        (given, ok)
    }

    /// Converts one argument expression to a value of the parameter's
    /// type, reporting what is wrong, then checks its range.
    fn convert(&mut self, e: &Expr, ty: &PType, p: &Param, scope: usize) -> Option<Value> {
        let t = Target {
            ty,
            p,
            scope,
            report: true,
        };
        let v = self.convert_as(e, t)?;
        if let Some(d) = literal::range_error(e, &v, ty, p) {
            self.diags.push(d);
            return None;
        }
        Some(v)
    }

    /// [`Resolver::convert`] without the range check; with `report` off,
    /// a mismatch is only `None` (trying the alternatives of a `OneOf`).
    fn convert_as(&mut self, e: &Expr, t: Target) -> Option<Value> {
        if let PType::OneOf(options) = t.ty {
            let before = self.diags.len();
            for alt in options {
                let quiet = Target {
                    ty: alt,
                    report: false,
                    ..t
                };
                if let Some(v) = self.convert_as(e, quiet) {
                    return Some(v);
                }
            }
            // An alternative that matched in kind reported what is wrong
            // inside it; otherwise say what was expected.
            if t.report && self.diags.len() == before {
                let found = self.describe(e, t.scope);
                self.diags.push(messages::type_error(e.span, t.p, &found));
            }
            return None;
        }
        match (&e.kind, t.ty) {
            (ExprKind::Name(n), _) => match self.scopes.lookup(t.scope, n).cloned() {
                Some(b) => self.convert_binding(e, n, b, t),
                None => self.convert_word(e, n, t),
            },
            (ExprKind::Sym(n), _) => self.convert_word(e, n, t),
            (ExprKind::List(items), PType::List(inner)) => {
                let mut out = vec![];
                for it in items {
                    // Names bound in a `for` are lists: splice them in.
                    let spliced = match it.kind {
                        ExprKind::Name(_) => self.convert_as(it, Target { report: false, ..t }),
                        _ => None,
                    };
                    match spliced {
                        Some(Value::List(vs)) => out.extend(vs),
                        _ => out.push(self.convert_as(it, Target { ty: inner, ..t })?),
                    }
                }
                Some(Value::List(out))
            }
            // A single value where a list is expected is a list of one.
            (_, PType::List(inner)) => Some(Value::List(vec![
                self.convert_as(e, Target { ty: inner, ..t })?
            ])),
            (ExprKind::Call { op, args }, _) => self.convert_call(e, op, args, t),
            _ => match literal::convert(e, t.ty, t.p) {
                Conv::Ok(v) => Some(v),
                Conv::Error(d) => {
                    if t.report {
                        self.diags.push(d);
                    }
                    None
                }
                Conv::Mismatch(found) => self.fail(e, t, &found),
                Conv::NotLiteral => {
                    let found = self.describe(e, t.scope);
                    self.fail(e, t, &found)
                }
            },
        }
    }

    fn fail(&mut self, e: &Expr, t: Target, found: &str) -> Option<Value> {
        if t.report {
            self.diags.push(messages::type_error(e.span, t.p, found));
        }
        None
    }

    /// A name bound to a param or loop value, a step, or a sweep's steps.
    fn convert_binding(&mut self, e: &Expr, n: &str, b: Binding, t: Target) -> Option<Value> {
        match b {
            Binding::Expr(inner) => self.convert_as(&inner, t),
            Binding::Step { r, ty: st, .. } => match t.ty {
                PType::Step(allowed) if allowed.contains(&st) => Some(Value::Ref(r)),
                PType::List(inner) if matches!(**inner, PType::Step(a) if a.contains(&st)) => {
                    Some(Value::List(vec![Value::Ref(r)]))
                }
                _ => self.fail(e, t, &format!("`{n}`, {}", st.a())),
            },
            Binding::Multi { refs, .. } => {
                let first = refs.first().map(|r| r.1.as_str()).unwrap_or("?");
                match t.ty {
                    PType::List(inner) => match &**inner {
                        PType::Step(allowed) if refs.iter().all(|(_, ty)| allowed.contains(ty)) => {
                            Some(Value::List(
                                refs.iter().map(|(r, _)| Value::Ref(*r)).collect(),
                            ))
                        }
                        _ => self.fail(e, t, &format!("`{n}`, a list of {first} steps")),
                    },
                    _ => self.fail(
                        e,
                        t,
                        &format!(
                            "`{n}`, a list of {first} steps bound in a `for` (one per iteration)"
                        ),
                    ),
                }
            }
        }
    }

    /// A bare word bound to nothing: an enumeration symbol, a config op
    /// without arguments (`rewind: init`), or an unknown name.
    fn convert_word(&mut self, e: &Expr, n: &str, t: Target) -> Option<Value> {
        if let PType::Enum(opts) = t.ty {
            if opts.contains(&n) {
                return Some(Value::Sym(n.to_string()));
            }
        }
        if let PType::Config(kind) = t.ty {
            if let Some(op) = self.reg.get(n) {
                if op.sig().output == Output::Config(kind) {
                    let ident = Ident {
                        name: n.to_string(),
                        span: e.span,
                    };
                    let args = self.call(n, &ident, &[], e.span, t.scope)?;
                    return Some(op.config(&args));
                }
            }
        }
        if t.report {
            let mut cands = self.scopes.visible_names(t.scope);
            if let PType::Enum(opts) = t.ty {
                cands.extend(opts.iter().map(|s| s.to_string()));
            }
            self.diags
                .push(messages::unknown_name(e.span, n, t.p, &cands));
        }
        None
    }

    /// A call inside an argument: a config value, or an anonymous step.
    fn convert_call(&mut self, e: &Expr, op: &Ident, args: &[Arg], t: Target) -> Option<Value> {
        let reg = self.reg;
        let Some(o) = reg.get(&op.name) else {
            if t.report {
                self.unknown_op(op);
            }
            return None;
        };
        let sig = o.sig();
        match (&sig.output, t.ty) {
            (Output::Config(kind), PType::Config(want)) if kind == want => {
                let args = self.call(&op.name, op, args, e.span, t.scope)?;
                Some(o.config(&args))
            }
            (Output::One(ty), PType::Step(allowed)) if allowed.contains(ty) => {
                let (args, spans) = self.call_spanned(&op.name, op, args, e.span, t.scope)?;
                Some(Value::Ref(self.anonymous(
                    e,
                    sig.name,
                    (args, spans),
                    *ty,
                    t.scope,
                )))
            }
            _ => {
                let found = match &sig.output {
                    Output::Config(k) => format!(
                        "{} {} setting from `{}`",
                        crate::types::article(k.name),
                        k.name,
                        op.name
                    ),
                    Output::One(ty) | Output::PerItem { ty, .. } => {
                        format!("{} from `{}`", ty.a(), op.name)
                    }
                };
                self.fail(e, t, &found)
            }
        }
    }

    /// The step of an anonymous call (`imp.round(3)`), named by its text;
    /// the same call written twice is one step.
    fn anonymous(
        &mut self,
        e: &Expr,
        op: &'static str,
        (args, arg_spans): (Args, ArgSpans),
        ty: crate::types::StepType,
        scope: usize,
    ) -> StepRef {
        let text: Vec<&str> = self.sources.slice(e.span).split_whitespace().collect();
        let name = format!("{}{}", text.join(" "), self.scopes.suffix(scope));
        let i = match self
            .anon
            .iter()
            .position(|s| s.name == name && s.op == op && s.args == args)
        {
            Some(i) => i,
            None => {
                self.anon.push(Step {
                    name: name.clone(),
                    op,
                    args,
                    span: e.span,
                    arg_spans,
                    outputs: vec![(name, ty)],
                });
                self.anon.len() - 1
            }
        };
        StepRef {
            step: self.base + i,
            port: 0,
        }
    }

    /// How an expression reads in "found ...".
    fn describe(&self, e: &Expr, scope: usize) -> String {
        if let Some(d) = literal::describe(e) {
            return d;
        }
        match &e.kind {
            ExprKind::Name(n) => match self.scopes.lookup(scope, n) {
                Some(Binding::Step { ty, .. }) => format!("`{n}`, {}", ty.a()),
                Some(Binding::Expr(inner)) => self.describe(inner, scope),
                Some(Binding::Multi { .. }) => format!("`{n}`, a list of steps"),
                None => format!("`{n}`"),
            },
            ExprKind::Call { op, .. } => format!("a call of `{}`", op.name),
            _ => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::{check_source, CheckOpts};
    use crate::diag::Code;
    use crate::program::Checked;
    use crate::test_registry::registry;
    use crate::value::{StepRef, Value};

    fn check(text: &str) -> Result<Checked, Vec<(Code, String)>> {
        let ws = std::env::temp_dir();
        check_source("t.lotto", text, &ws, &registry(), &CheckOpts::default())
            .map_err(|(d, _)| d.0.into_iter().map(|d| (d.code, d.message)).collect())
    }

    fn step<'c>(c: &'c Checked, name: &str) -> &'c crate::program::Step {
        &c.steps[c.find(name).unwrap()]
    }

    #[test]
    fn arguments_bind_by_position_and_name_with_defaults_and_units() {
        let c = check("data a = source(\"f\")\ndata b = take(a, hop: 20ms)\n").unwrap();
        let b = step(&c, "b");
        assert_eq!(b.op, "take");
        assert_eq!(b.args["data"], Value::Ref(StepRef { step: 0, port: 0 }));
        assert_eq!(b.args["n"], Value::Int(10));
        assert_eq!(b.args["hop"], Value::Float(0.02));
    }

    #[test]
    fn variadic_arguments_collect_the_rest_or_take_one_list() {
        let c = check("data a = source(\"f\")\ndata x, y = a.split(0.5, 0.5)\n").unwrap();
        let s = step(&c, "x,y");
        assert_eq!(s.outputs.len(), 2);
        assert_eq!(
            s.args["fractions"],
            Value::List(vec![Value::Float(0.5), Value::Float(0.5)])
        );
        let c = check("data a = source(\"f\")\ndata x, y = a.split([0.5, 0.5])\n").unwrap();
        assert_eq!(step(&c, "x,y").args["fractions"], s.args["fractions"]);
    }

    #[test]
    fn every_argument_error_is_reported_with_its_code() {
        let errs = check(
            "data a = source(\"f\")\ndata b = take(a, m: 1)\ndata c = take(a, n: 2, n: 3)\ndata d = take(a, 1, 2s, 4)\ndata e = take()\ndata f = take(a, n: 13)\n",
        )
        .unwrap_err();
        let codes: Vec<Code> = errs.iter().map(|e| e.0).collect();
        assert!(codes.contains(&Code::UnknownArg), "{errs:?}");
        assert!(codes.contains(&Code::DuplicateArg), "{errs:?}");
        assert!(codes.contains(&Code::TooManyArgs), "{errs:?}");
        assert!(codes.contains(&Code::MissingArg), "{errs:?}");
        assert!(
            errs.iter().any(|e| e.1 == "13 is unlucky"),
            "the op's own validation runs: {errs:?}"
        );
    }

    #[test]
    fn config_values_and_step_types_are_checked() {
        let c =
            check("data a = source(\"f\")\nmodel m = train(a, setting: opt(lr: 0.5))\n").unwrap();
        match &step(&c, "m").args["setting"] {
            Value::Config { op, args } => {
                assert_eq!(op, "opt");
                assert_eq!(args["lr"], Value::Float(0.5));
            }
            other => panic!("{other:?}"),
        }
        // A single step where a list is wanted is a list of one.
        assert!(matches!(step(&c, "m").args["data"], Value::List(ref l) if l.len() == 1));
        let errs =
            check("data a = source(\"f\")\nmodel m = train(a)\ndata b = take(m)\n").unwrap_err();
        assert_eq!(errs[0].0, Code::TypeMismatch, "{errs:?}");
        assert_eq!(errs[0].1, "`data` takes a Data step, found `m`, a Model");
        let errs = check("data a = opt()\n").unwrap_err();
        assert_eq!(errs[0].0, Code::KindMismatch);
        assert_eq!(errs[0].1, "`opt` builds a Setting setting, not a step");
    }

    #[test]
    fn anonymous_steps_come_after_statements_and_repeat_once() {
        let c = check(
            "data a = source(\"f\")\nmodel m = train([take(a, n: 2), take(a, n: 2)])\nmodel k = train(take(a, n: 3))\n",
        )
        .unwrap();
        let names: Vec<&str> = c.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "m", "k", "take(a, n: 2)", "take(a, n: 3)"]);
        assert_eq!(
            step(&c, "m").args["data"],
            Value::List(vec![
                Value::Ref(StepRef { step: 3, port: 0 }),
                Value::Ref(StepRef { step: 3, port: 0 })
            ])
        );
    }
}
