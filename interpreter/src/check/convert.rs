//! Pass 2, one argument: an expression converted to its parameter's type.
//! Literals go through `literal`, names through the scopes, nested calls
//! become config values (`adamw(lr: 3e-4)`) or anonymous steps
//! (`imp.round(3)`); a parameter with alternatives (`init`, `epoch(k)`)
//! tries each quietly before one error says what was found.

use super::literal::{self, Conv};
use super::messages;
use super::resolve::{Called, Resolver};
use super::scope::Binding;
use crate::ast::{Arg, Expr, ExprKind, Ident};
use crate::program::Step;
use crate::signature::{Output, Param};
use crate::types::PType;
use crate::value::{StepRef, Value};

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

impl Resolver<'_> {
    /// Converts one argument expression to a value of the parameter's
    /// type, reporting what is wrong, then checks its range.
    pub(super) fn convert(
        &mut self,
        e: &Expr,
        ty: &PType,
        p: &Param,
        scope: usize,
    ) -> Option<Value> {
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
            // A whole argument that is the run seed never gets here.
            (ExprKind::RunSeed, _) => {
                if t.report {
                    self.diags
                        .push(messages::run_seed_misplaced(e.span, t.p.name));
                }
                None
            }
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
                let called = self.call_spanned(&op.name, op, args, e.span, t.scope)?;
                Some(Value::Ref(
                    self.anonymous(e, sig.name, called, *ty, t.scope),
                ))
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
        called: Called,
        ty: crate::types::StepType,
        scope: usize,
    ) -> StepRef {
        let Called {
            args,
            spans: arg_spans,
            seeded,
        } = called;
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
                    seeded,
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
