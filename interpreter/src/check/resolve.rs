//! Pass 2: resolves each statement's call against the registry. Arguments
//! are bound to parameters (positional, named, variadic, defaults) and each
//! is converted to its parameter's type (`convert.rs`); anonymous steps
//! (`imp.round(3)`) are numbered after the statement steps in the order
//! they appear. Every error is collected; a statement with an error keeps
//! no arguments.

use super::collect::Pending;
use super::messages;
use super::scope::Binding;
use super::scope::Scopes;
use crate::ast::{Arg, Expr, ExprKind, Ident};
use crate::diag::Diagnostic;
use crate::program::Step;
use crate::registry::Registry;
use crate::signature::Output;
use crate::source::{Sources, Span};
use crate::types::{ConfigKind, PType};
use crate::value::{Args, Value};
use std::borrow::Cow;

/// Where each given argument was written, by parameter.
pub(super) type ArgSpans = std::collections::BTreeMap<&'static str, Span>;

/// A resolved call: its arguments, where each given one was written, and
/// the parameters that hold the run seed.
pub(super) struct Called {
    pub args: Args,
    pub spans: ArgSpans,
    pub seeded: Vec<&'static str>,
}

/// Each parameter's argument expression and its span, by position.
type Given<'e> = Vec<Option<(Cow<'e, Expr>, Span)>>;

/// Pass 2's state: the anonymous steps made so far and the errors found
/// (its argument conversion is in `convert.rs`).
pub(super) struct Resolver<'a> {
    pub(super) reg: &'a Registry,
    pub(super) scopes: &'a Scopes,
    pub(super) sources: &'a Sources,
    /// Anonymous steps, numbered from `base`.
    pub(super) anon: Vec<Step>,
    pub(super) base: usize,
    /// The run's seeds (`param seeds`); the first stands for all of them
    /// until `seeds.rs` copies the steps that draw from it.
    pub(super) seeds: Option<&'a [i64]>,
    pub(super) diags: Vec<Diagnostic>,
}

/// Resolves every pending statement into `steps` (anonymous steps are
/// appended) and returns the errors found.
pub fn resolve(
    steps: &mut Vec<Step>,
    pending: &[Pending],
    scopes: &Scopes,
    reg: &Registry,
    sources: &Sources,
    seeds: Option<&[i64]>,
) -> Vec<Diagnostic> {
    let mut r = Resolver {
        reg,
        scopes,
        sources,
        anon: vec![],
        base: steps.len(),
        seeds,
        diags: vec![],
    };
    for p in pending {
        let s = &steps[p.step];
        if let Some((op, called)) = r.statement(p, s.outputs.len(), s.span) {
            steps[p.step].op = op;
            steps[p.step].args = called.args;
            steps[p.step].arg_spans = called.spans;
            steps[p.step].seeded = called.seeded;
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
    ) -> Option<(&'static str, Called)> {
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
        let called = self.call_spanned(&op_ident.name, op_ident, args, p.value.span, p.scope)?;
        let expected = match &sig.output {
            Output::PerItem { param, .. } => called
                .args
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
        Some((sig.name, called))
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

    pub(super) fn unknown_op(&mut self, op: &Ident) {
        self.diags
            .push(messages::unknown_op(op.span, &op.name, self.reg.names()));
    }

    /// Binds call arguments to the op's parameters and converts each.
    pub(super) fn call(
        &mut self,
        op_name: &str,
        op_ident: &Ident,
        args: &[Arg],
        call_span: Span,
        scope: usize,
    ) -> Option<Args> {
        self.call_spanned(op_name, op_ident, args, call_span, scope)
            .map(|c| c.args)
    }

    /// [`Self::call`], with where each given argument was written.
    pub(super) fn call_spanned(
        &mut self,
        op_name: &str,
        op_ident: &Ident,
        args: &[Arg],
        call_span: Span,
        scope: usize,
    ) -> Option<Called> {
        let reg = self.reg;
        let op = reg.get(op_name)?;
        let sig = op.sig();
        let (given, mut ok) = self.bind_args(sig, args, call_span);
        let mut out = Args::new();
        // Arguments that did not convert; the op's own checks still run on
        // the others (with these at their defaults), so all errors of a
        // call show at once.
        let mut failed: Vec<&str> = vec![];
        let mut seeded = vec![];
        for (p, g) in sig.params.iter().zip(&given) {
            let run_seed = match g {
                Some((e, _)) => self.is_run_seed(e, scope),
                None => p.run_seed,
            };
            if let (true, Some(seeds)) = (run_seed, self.seeds) {
                if p.ty == PType::Int {
                    out.insert(p.name.to_string(), Value::Int(seeds[0]));
                    seeded.push(p.name);
                } else {
                    let span = g.as_ref().map_or(call_span, |(_, s)| *s);
                    self.diags.push(messages::run_seed_misplaced(span, p.name));
                    ok = false;
                    failed.push(p.name);
                }
                continue;
            }
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
        Some(Called {
            args: out,
            spans,
            seeded,
        })
    }

    /// Whether an argument is the run seed: the name `seed` where the
    /// recipe declares `param seeds` (directly or through a param).
    fn is_run_seed(&self, e: &Expr, scope: usize) -> bool {
        match &e.kind {
            ExprKind::RunSeed => true,
            ExprKind::Name(n) => matches!(
                self.scopes.lookup(scope, n),
                Some(Binding::Expr(inner)) if matches!(inner.kind, ExprKind::RunSeed)
            ),
            _ => false,
        }
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
            "data a = source(\"f\")\ndata b = take(a, m: 1)\ndata c = take(a, n: 2, n: 3)\ndata d = take(a, 1, 2s, 4, 5)\ndata e = take()\ndata f = take(a, n: 13)\n",
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
