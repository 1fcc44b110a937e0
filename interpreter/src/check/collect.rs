//! Pass 1: walks the statements in order, binds every name, expands `for`
//! sweeps (one scope per iteration, step names suffixed `[var=value]`),
//! and creates one step per binding statement and `report`. Calls are left
//! for pass 2 (`resolve`), so a statement may use a name bound
//! further down.

use super::messages;
use super::options::CheckOpts;
use super::params::{fmt_num, Overrides};
use super::scope::{BindError, Binding, Scopes};
use crate::ast::{Arg, Expr, ExprKind, Ident, Stmt};
use crate::diag::Diagnostic;
use crate::program::Step;
use crate::registry::Registry;
use crate::source::{Sources, Span};
use crate::syntax_error::MAX_DEPTH;
use crate::types::StepType;
use crate::value::{Args, StepRef};
use std::path::{Component, Path};

/// A statement whose call pass 2 resolves into `steps[step]`.
pub struct Pending {
    pub step: usize,
    pub scope: usize,
    pub value: Expr,
    /// The statement kind (`corpus`); `None` for a `report` statement.
    pub kind: Option<Ident>,
}

/// What pass 1 found.
pub struct Collected {
    pub scopes: Scopes,
    /// One step per statement, its op and arguments still empty.
    pub steps: Vec<Step>,
    pub pending: Vec<Pending>,
    /// Each param with its value expression.
    pub params: Vec<(String, Expr)>,
    /// The run's seeds, when the recipe declares `param seeds`.
    pub seeds: Option<Vec<i64>>,
    pub diags: Vec<Diagnostic>,
}

/// Most steps a recipe may expand to: a paper-scale sweep has hundreds, the
/// benchmark recipe 10,000; a loop over a million values would take
/// gigabytes before anything ran.
pub const MAX_STEPS: usize = 100_000;

/// The param that lists the run's seeds.
pub const SEEDS: &str = "seeds";
/// The name of the run seed inside a recipe that declares [`SEEDS`].
pub const RUN_SEED: &str = "seed";
/// Most seeds one run may have: each copies every step that draws from it.
pub const MAX_SEEDS: usize = 100;

/// The step type a binding gets when neither its op nor its kind says
/// (both unknown: errors are reported; later uses should not cascade).
const UNKNOWN: StepType = StepType("Unknown");

struct Collector<'a> {
    reg: &'a Registry,
    opts: &'a CheckOpts,
    sources: &'a mut Sources,
    overrides: Overrides<'a>,
    out: Collected,
    /// A loop went past [`MAX_STEPS`]: expansion stops, reported once.
    capped: bool,
}

pub fn collect(
    stmts: Vec<Stmt>,
    reg: &Registry,
    opts: &CheckOpts,
    sources: &mut Sources,
) -> Collected {
    let mut c = Collector {
        reg,
        opts,
        sources,
        overrides: Overrides::new(opts),
        out: Collected {
            scopes: Scopes::default(),
            steps: Vec::with_capacity(stmts.len()),
            pending: Vec::with_capacity(stmts.len()),
            params: vec![],
            seeds: None,
            diags: vec![],
        },
        capped: false,
    };
    c.statements(stmts, 0);
    let unused = c.overrides.unused(&c.out.params);
    c.out.diags.extend(unused);
    c.out
}

impl Collector<'_> {
    /// Takes the statements by value so each binding's expression moves
    /// into its pending step (only loop bodies are copied, once per item).
    fn statements(&mut self, stmts: Vec<Stmt>, scope: usize) {
        for st in stmts {
            match st {
                Stmt::Import { span, .. } => self.out.diags.push(messages::top_level_only(
                    span,
                    "import",
                    "move the import out of the loop",
                )),
                Stmt::Param { span, .. } if scope != 0 => self.out.diags.push(
                    messages::top_level_only(span, "param", "declare params before the loop"),
                ),
                Stmt::Param { name, value, .. } => {
                    let value =
                        self.overrides
                            .value(&name, value, self.sources, &mut self.out.diags);
                    let mut value = self.subst(&value, scope);
                    if let Err(d) = within_limits(&value, &name) {
                        // Bound as a plain word so later uses do not
                        // report it again.
                        self.out.diags.push(d);
                        value.kind = ExprKind::Sym(name.name.clone());
                    }
                    if name.name == SEEDS {
                        self.run_seeds(&name, &value);
                    }
                    self.bind(scope, &name, Binding::Expr(value.clone()));
                    self.out.params.push((name.name, value));
                }
                Stmt::For {
                    var, over, body, ..
                } => {
                    let Some(items) = self.literal_list(&over, scope) else {
                        continue;
                    };
                    for item in items {
                        if self.out.steps.len() > MAX_STEPS {
                            if !self.capped {
                                self.capped = true;
                                let d = messages::too_many_steps(var.span, MAX_STEPS);
                                self.out.diags.push(d);
                            }
                            return;
                        }
                        let item = self.subst(&item, scope);
                        let shown = literal_text(&item, self.sources);
                        let inner = self.out.scopes.iteration(scope, &var, &shown, item);
                        self.statements(body.clone(), inner);
                    }
                }
                Stmt::Report {
                    path,
                    path_span,
                    parts,
                    span,
                } => self.report(scope, path, path_span, parts, span),
                Stmt::Bind {
                    kind,
                    targets,
                    value,
                    span,
                } => self.binding(scope, kind, &targets, value, span),
            }
        }
    }

    /// `param seeds = [...]`: the run's seeds, and the name `seed` bound
    /// to the run seed.
    fn run_seeds(&mut self, name: &Ident, value: &Expr) {
        let items = match &value.kind {
            ExprKind::List(items) => items.as_slice(),
            _ => std::slice::from_ref(value),
        };
        let mut seeds = vec![];
        for it in items {
            match it.kind {
                ExprKind::Int(i) if i >= 0 => {
                    if seeds.contains(&i) {
                        let d = messages::bad_seeds(it.span, &format!("lists {i} twice"));
                        return self.out.diags.push(d);
                    }
                    seeds.push(i)
                }
                _ => {
                    let d = messages::bad_seeds(it.span, "holds whole numbers from 0 up");
                    return self.out.diags.push(d);
                }
            }
        }
        if seeds.is_empty() || seeds.len() > MAX_SEEDS {
            let why = format!("needs 1 to {MAX_SEEDS} seeds, not {}", seeds.len());
            return self.out.diags.push(messages::bad_seeds(value.span, &why));
        }
        self.out.seeds = Some(seeds);
        let seed = Ident {
            name: RUN_SEED.into(),
            span: name.span,
        };
        let run_seed = Expr {
            kind: ExprKind::RunSeed,
            span: name.span,
        };
        self.bind(0, &seed, Binding::Expr(run_seed));
    }

    /// `report "DIR" = parts` is a call of the registered report op with
    /// the path and the list of parts.
    fn report(
        &mut self,
        scope: usize,
        path: String,
        path_span: Span,
        parts: Vec<Expr>,
        span: Span,
    ) {
        let Some(op) = self.reg.report_op() else {
            self.out.diags.push(messages::no_report_op(span));
            return;
        };
        let p = Path::new(&path);
        let escapes = p.is_absolute() || p.components().any(|c| matches!(c, Component::ParentDir));
        if escapes && (self.opts.confine || !self.opts.allow_outside) {
            self.out.diags.push(messages::report_outside(
                path_span,
                &path,
                self.opts.confine,
            ));
        }
        let name = format!("report \"{path}\"{}", self.out.scopes.suffix(scope));
        let ident = |name: &str, span| Ident {
            name: name.into(),
            span,
        };
        let named = |name: &str, kind, span| Arg {
            name: Some(ident(name, span)),
            value: Expr { kind, span },
            span,
        };
        let value = Expr {
            kind: ExprKind::Call {
                op: ident(op, span),
                args: vec![
                    named("path", ExprKind::Str(path), path_span),
                    named("parts", ExprKind::List(parts), span),
                ],
            },
            span,
        };
        self.push_step(name, vec![], span);
        self.out.pending.push(Pending {
            step: self.out.steps.len() - 1,
            scope,
            value,
            kind: None,
        });
    }

    fn binding(&mut self, scope: usize, kind: Ident, targets: &[Ident], value: Expr, span: Span) {
        let kind_ty = match self.reg.kind(&kind.name) {
            Some(t) => t,
            None => {
                let kinds: Vec<&str> = self.reg.kinds().iter().map(|(k, _)| *k).collect();
                self.out
                    .diags
                    .push(messages::unknown_kind(kind.span, &kind.name, &kinds));
                None
            }
        };
        // The output types come from the op's signature.
        let out_ty = match &value.kind {
            ExprKind::Call { op, .. } => self
                .reg
                .get(&op.name)
                .and_then(|o| o.sig().output.step_type()),
            _ => None,
        };
        let ty = out_ty.or(kind_ty).unwrap_or(UNKNOWN);
        let suffix = self.out.scopes.suffix(scope);
        let suffixed = |n: &str| format!("{n}{suffix}");
        let joined: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
        let name = suffixed(&joined.join(","));
        let outputs = targets.iter().map(|t| (suffixed(&t.name), ty)).collect();
        self.push_step(name, outputs, span);
        let step = self.out.steps.len() - 1;
        for (port, t) in targets.iter().enumerate() {
            let r = StepRef { step, port };
            self.bind(
                scope,
                t,
                Binding::Step {
                    r,
                    ty,
                    span: t.span,
                },
            );
        }
        self.out.pending.push(Pending {
            step,
            scope,
            value,
            kind: Some(kind),
        });
    }

    fn push_step(&mut self, name: String, outputs: Vec<(String, StepType)>, span: Span) {
        self.out.steps.push(Step {
            name,
            op: "",
            args: Args::new(),
            span,
            arg_spans: Default::default(),
            outputs,
            seeded: vec![],
        });
    }

    fn bind(&mut self, scope: usize, name: &Ident, b: Binding) {
        match self.out.scopes.bind(scope, name, b) {
            Ok(()) => {}
            Err(BindError::Keyword) => self
                .out
                .diags
                .push(messages::keyword_as_name(name.span, &name.name)),
            Err(BindError::Duplicate(prev)) => {
                let at = self.sources.locate(prev);
                self.out
                    .diags
                    .push(messages::duplicate_binding(name.span, &name.name, &at));
            }
        }
    }

    /// Replaces names bound to params or loop values by their (already
    /// substituted) values, and other bare words by symbols.
    fn subst(&self, e: &Expr, scope: usize) -> Expr {
        let kind = match &e.kind {
            ExprKind::Name(n) => match self.out.scopes.lookup(scope, n) {
                Some(Binding::Expr(inner)) => return inner.clone(),
                _ => ExprKind::Sym(n.clone()),
            },
            ExprKind::List(items) => {
                ExprKind::List(items.iter().map(|i| self.subst(i, scope)).collect())
            }
            ExprKind::Call { op, args } => ExprKind::Call {
                op: op.clone(),
                args: args
                    .iter()
                    .map(|a| Arg {
                        name: a.name.clone(),
                        value: self.subst(&a.value, scope),
                        span: a.span,
                    })
                    .collect(),
            },
            other => other.clone(),
        };
        Expr { kind, span: e.span }
    }

    /// A `for` range: a list literal, or a param holding one.
    fn literal_list(&mut self, e: &Expr, scope: usize) -> Option<Vec<Expr>> {
        match &e.kind {
            ExprKind::List(items) => Some(items.clone()),
            ExprKind::Name(n) => match self.out.scopes.lookup(scope, n).cloned() {
                Some(Binding::Expr(inner)) => self.literal_list(&inner, scope),
                _ => {
                    self.out
                        .diags
                        .push(messages::for_needs_list(e.span, Some(n)));
                    None
                }
            },
            _ => {
                self.out.diags.push(messages::for_needs_list(e.span, None));
                None
            }
        }
    }
}

/// Largest param value (in values): params naming params can double in size
/// at each step (`param b = [a, a]`), so a short recipe could otherwise ask
/// for exabytes.
pub const MAX_PARAM_VALUES: usize = 1_000_000;

/// Refuses a param value, after substitution, nested deeper than the parser
/// allows or larger than [`MAX_PARAM_VALUES`]; walks with its own stack,
/// stopping at the first limit.
fn within_limits(e: &Expr, name: &Ident) -> Result<(), Diagnostic> {
    let mut stack = vec![(e, 1usize)];
    let mut count = 0;
    while let Some((e, depth)) = stack.pop() {
        count += 1;
        if depth > MAX_DEPTH || count > MAX_PARAM_VALUES {
            return Err(messages::param_too_large(name, MAX_DEPTH, MAX_PARAM_VALUES));
        }
        match &e.kind {
            ExprKind::List(items) => stack.extend(items.iter().map(|i| (i, depth + 1))),
            ExprKind::Call { args, .. } => stack.extend(args.iter().map(|a| (&a.value, depth + 1))),
            _ => {}
        }
    }
    Ok(())
}

/// A sweep value as step names show it (`0.2`, `train`, `1x4`).
fn literal_text(e: &Expr, sources: &Sources) -> String {
    match &e.kind {
        ExprKind::Int(i) => i.to_string(),
        ExprKind::Number(n) => fmt_num(*n),
        ExprKind::Str(s) => s.clone(),
        _ => sources.slice(e.span).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Code;
    use crate::test_registry::registry;

    fn collected(text: &str, opts: &CheckOpts) -> Collected {
        let mut sources = Sources::default();
        let prog = crate::parse::parse(sources.add(Path::new("t"), text.into()), text).unwrap();
        collect(prog.stmts, &registry(), opts, &mut sources)
    }

    #[test]
    fn sweeps_make_one_step_per_value_named_by_it() {
        let c = collected(
            "data a = source(\"f\")\nfor n in [1, 2] { for h in [10ms] { data t = take(a, n: n, hop: h) } }\n",
            &CheckOpts::default(),
        );
        assert!(c.diags.is_empty(), "{:?}", c.diags);
        let names: Vec<&str> = c.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "t[n=1,h=10ms]", "t[n=2,h=10ms]"]);
        // Outside the loop, `t` is the list of both.
        assert!(matches!(
            c.scopes.lookup(0, "t"),
            Some(Binding::Multi { refs, .. }) if refs.len() == 2
        ));
    }

    #[test]
    fn kinds_params_reports_and_set_overrides() {
        let opts = CheckOpts {
            set: vec![("n".into(), "5".into())],
            ..Default::default()
        };
        let c = collected(
            "param n = 2\nwidget w = source(\"f\")\nreport \"r\" = w\nfor x in [1] { param p = 1 }\n",
            &opts,
        );
        let codes: Vec<Code> = c.diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, [Code::UnknownKind, Code::Syntax], "{:?}", c.diags);
        assert!(c.diags[0].help.as_deref().unwrap().contains("`data`"));
        assert!(matches!(c.params[0].1.kind, ExprKind::Int(5)));
        let report = c.steps.iter().find(|s| s.name == "report \"r\"").unwrap();
        assert!(report.outputs.is_empty());
        assert!(c.pending.iter().any(|p| p.kind.is_none()));
    }

    #[test]
    fn report_paths_leaving_the_workspace_need_allow_outside() {
        let text = "report \"../out\" = w\n";
        let c = collected(text, &CheckOpts::default());
        assert_eq!(c.diags[0].code, Code::UnsafePath);
        let allowed = CheckOpts {
            allow_outside: true,
            ..Default::default()
        };
        assert!(collected(text, &allowed).diags.is_empty());
        let bundle = CheckOpts {
            allow_outside: true,
            confine: true,
            ..Default::default()
        };
        assert_eq!(collected(text, &bundle).diags.len(), 1);
    }
}
