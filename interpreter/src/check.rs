//! The checker: loads a recipe and its imports, expands `for` sweeps,
//! resolves every name and call against the op registry, and produces the
//! flat list of steps that the graph module lowers into a DAG.
//!
//! It reports every error it can find in one pass; a step whose call has an
//! error is still recorded (without arguments) so later references to it do
//! not cascade into "unknown name" noise.

use crate::ast::{self, Expr, ExprKind, Ident, Stmt, Unit};
use crate::diag::{did_you_mean, Code, Diagnostic, Diagnostics};
use crate::registry::{Output, PType, Param, Registry};
use crate::source::{FileId, Sources, Span};
use crate::value::{fmt_float, Args, StepRef, StepType, Value};
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// Statement kinds and the type of value each binds.
pub const KINDS: &[(&str, Option<StepType>)] = &[
    ("corpus", Some(StepType::Corpus)),
    ("split", Some(StepType::Corpus)),
    ("noise", Some(StepType::NoiseBank)),
    ("features", Some(StepType::Features)),
    ("model", Some(StepType::ModelSpec)),
    ("train", Some(StepType::Trained)),
    ("ticket", Some(StepType::Ticket)),
    ("eval", Some(StepType::Eval)),
    ("lm", Some(StepType::LanguageModel)),
    ("let", None),
];

/// Words of the language that cannot be bound as names.
pub const KEYWORDS: &[&str] = &["param", "import", "for", "in", "report", "true", "false"];

/// One step of the checked program.
#[derive(Clone, Debug)]
pub struct Step {
    /// Stable, readable name: the binding (`dense`), with sweep values
    /// (`noisy[level=0.2]`), or the call text for anonymous steps.
    pub name: String,
    pub op: &'static str,
    pub args: Args,
    pub span: Span,
    /// Binding name and type of each output port.
    pub outputs: Vec<(String, StepType)>,
}

impl Step {
    /// Steps this step reads, deduplicated, in order.
    pub fn deps(&self) -> Vec<StepRef> {
        let mut out = Vec::new();
        for v in self.args.values() {
            v.refs(&mut out);
        }
        out.sort();
        out.dedup();
        out
    }
}

/// The checked recipe.
#[derive(Debug, Default)]
pub struct Checked {
    pub steps: Vec<Step>,
    /// Each `param` with its resolved value, for records and lock files.
    pub params: BTreeMap<String, Value>,
    pub sources: Sources,
    /// The recipe files read (the main file first, then imports).
    pub files: Vec<PathBuf>,
}

impl Checked {
    /// The step a user means by NAME: a step name or any of its bindings.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.name == name).or_else(|| {
            self.steps
                .iter()
                .position(|s| s.outputs.iter().any(|(n, _)| n == name))
        })
    }
    pub fn ref_name(&self, r: StepRef) -> String {
        let s = &self.steps[r.step];
        if s.outputs.len() > 1 {
            s.outputs[r.port].0.clone()
        } else {
            s.name.clone()
        }
    }
}

/// Options of a check.
#[derive(Clone, Debug, Default)]
pub struct CheckOpts {
    /// `--set name=value` overrides, as source text.
    pub set: Vec<(String, String)>,
    /// Allow report paths outside the workspace.
    pub allow_outside: bool,
    /// Running an unpacked bundle: imports and reports must stay inside
    /// the workspace, whatever `allow_outside` says.
    pub confine: bool,
}

/// Checks the recipe at `path` (relative to `workspace` or absolute).
pub fn check_file(
    path: &Path,
    workspace: &Path,
    reg: &Registry,
    opts: &CheckOpts,
) -> Result<Checked, (Diagnostics, Sources)> {
    let mut c = Checker::new(reg, workspace, opts);
    c.load(path, None);
    c.finish()
}

/// Checks recipe text (tests, fuzzing). Imports resolve against `workspace`.
pub fn check_source(
    name: &str,
    text: &str,
    workspace: &Path,
    reg: &Registry,
    opts: &CheckOpts,
) -> Result<Checked, (Diagnostics, Sources)> {
    let mut c = Checker::new(reg, workspace, opts);
    let id = c.sources.add(Path::new(name), text.to_string());
    c.files.push(PathBuf::from(name));
    c.stack.push(PathBuf::from(name));
    c.load_text(id);
    c.finish()
}

#[derive(Clone, Debug)]
enum Binding {
    /// A param or loop variable: its value expression, resolved in context.
    Expr(Expr),
    Step {
        r: StepRef,
        ty: StepType,
        span: Span,
    },
    /// Bound inside a `for`: one step per iteration.
    Multi {
        refs: Vec<(StepRef, StepType)>,
        span: Span,
    },
}

struct Scope {
    parent: Option<usize>,
    /// `[level=0.2]` suffix of names bound in this scope.
    suffix: String,
    names: HashMap<String, Binding>,
}

/// A binding statement waiting for pass 2 (resolution of its call).
struct Pending {
    step: usize,
    scope: usize,
    value: Expr,
    kind: Ident,
}

/// A statement's op and checked arguments, if it resolved.
type Resolved = Option<(&'static str, Args)>;

/// Where resolving one statement writes: its diagnostics, and the
/// anonymous steps its arguments create (`None` in the parallel pass, which
/// then only marks the statement `deferred`).
#[derive(Default)]
struct Cx<'s> {
    diags: Vec<Diagnostic>,
    /// The anonymous steps so far and the index of the first of them.
    anon: Option<(&'s mut Vec<Step>, usize)>,
    deferred: bool,
}

struct Checker<'a> {
    reg: &'a Registry,
    workspace: PathBuf,
    opts: &'a CheckOpts,
    sources: Sources,
    files: Vec<PathBuf>,
    diags: Diagnostics,
    scopes: Vec<Scope>,
    steps: Vec<Step>,
    pending: Vec<Pending>,
    params: BTreeMap<String, Value>,
    param_exprs: Vec<(String, Expr)>,
    stack: Vec<PathBuf>,
    set_used: Vec<bool>,
}

impl<'a> Checker<'a> {
    fn new(reg: &'a Registry, workspace: &Path, opts: &'a CheckOpts) -> Self {
        Checker {
            reg,
            workspace: workspace.to_path_buf(),
            opts,
            sources: Sources::default(),
            files: vec![],
            diags: Diagnostics::default(),
            scopes: vec![Scope {
                parent: None,
                suffix: String::new(),
                names: HashMap::default(),
            }],
            steps: vec![],
            pending: vec![],
            params: BTreeMap::new(),
            param_exprs: vec![],
            stack: vec![],
            set_used: vec![false; opts.set.len()],
        }
    }

    fn load(&mut self, path: &Path, from: Option<Span>) {
        let full = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.workspace.join(path)
        };
        let canon = full.canonicalize().unwrap_or(full.clone());
        if self.opts.confine {
            let ws = self
                .workspace
                .canonicalize()
                .unwrap_or(self.workspace.clone());
            if !canon.starts_with(&ws) {
                let msg = format!(
                    "`{}` is outside this bundle's folder; a bundle may only import recipes inside it",
                    canon.display()
                );
                let d = match from {
                    Some(s) => Diagnostic::new(Code::UnsafePath, s, msg).label("imported here"),
                    None => Diagnostic::nowhere(Code::UnsafePath, msg),
                };
                self.diags.push(d.help("copy the imported recipe into the bundle, or run it outside a bundle if you trust it"));
                return;
            }
        }
        if let Some(i) = self.stack.iter().position(|p| *p == canon) {
            let chain: Vec<String> = self.stack[i..]
                .iter()
                .chain(std::iter::once(&canon))
                .map(|p| self.display_path(p))
                .collect();
            let d = Diagnostic::nowhere(
                Code::ImportCycle,
                format!("import cycle: {}", chain.join(" -> ")),
            );
            let d = match from {
                Some(s) => Diagnostic { span: Some(s), ..d }.label("this import closes the cycle"),
                None => d,
            };
            self.diags
                .push(d.help("move the shared statements into a file that neither imports"));
            return;
        }
        if self
            .files
            .iter()
            .any(|f| self.workspace.join(f).canonicalize().ok().as_ref() == Some(&canon))
        {
            return; // imported twice through different paths: load once
        }
        let text = match std::fs::read_to_string(&full) {
            Ok(t) => t,
            Err(e) => {
                let msg = format!("cannot read recipe `{}`: {e}", self.display_path(path));
                let d = match from {
                    Some(s) => Diagnostic::new(Code::ImportNotFound, s, msg).label("imported here"),
                    None => Diagnostic::nowhere(Code::Io, msg),
                };
                self.diags
                    .push(d.help("import paths are relative to the importing file's folder"));
                return;
            }
        };
        let shown = PathBuf::from(self.display_path(&full));
        let id = self.sources.add(&shown, text);
        self.files.push(shown);
        self.stack.push(canon);
        self.load_text(id);
        self.stack.pop();
    }

    fn display_path(&self, p: &Path) -> String {
        let ws = self
            .workspace
            .canonicalize()
            .unwrap_or(self.workspace.clone());
        let pc = p.canonicalize().unwrap_or(p.to_path_buf());
        pc.strip_prefix(&ws)
            .map(|r| r.display().to_string())
            .unwrap_or_else(|_| p.display().to_string())
    }

    fn load_text(&mut self, id: FileId) {
        match crate::parse::parse(id, &self.sources.get(id).text) {
            Ok(prog) => {
                // Most statements make one step: growing these vectors
                // statement by statement copied them a dozen times.
                self.steps.reserve(prog.stmts.len());
                self.pending.reserve(prog.stmts.len());
                self.collect(prog.stmts, 0);
            }
            Err(d) => self.diags.push(d),
        }
    }

    /// Pass 1: bind names, expand loops, create steps. Takes the statements
    /// by value so that each binding's expression moves into its pending
    /// step instead of being copied (only loop bodies are copied, once per
    /// item).
    fn collect(&mut self, stmts: Vec<Stmt>, scope: usize) {
        for st in stmts {
            match st {
                Stmt::Import { path, span } => {
                    if scope != 0 {
                        self.diags.push(
                            Diagnostic::new(
                                Code::Syntax,
                                span,
                                "`import` is only allowed at the top level",
                            )
                            .help("move the import out of the loop"),
                        );
                        continue;
                    }
                    let dir = self
                        .stack
                        .last()
                        .and_then(|p| p.parent().map(Path::to_path_buf))
                        .unwrap_or(self.workspace.clone());
                    let target = dir.join(path);
                    self.load(&target, Some(span));
                }
                Stmt::Param { name, value, span } => {
                    if scope != 0 {
                        self.diags.push(
                            Diagnostic::new(
                                Code::Syntax,
                                span,
                                "`param` is only allowed at the top level",
                            )
                            .help("declare params before the loop"),
                        );
                        continue;
                    }
                    let mut value = value;
                    if let Some(i) = self.opts.set.iter().position(|(k, _)| *k == name.name) {
                        self.set_used[i] = true;
                        let text = format!("param {} = {}", name.name, self.opts.set[i].1);
                        let sid = self.sources.add(Path::new("--set"), text.clone());
                        match crate::parse::parse(sid, &text) {
                            Ok(p) => {
                                if let Some(Stmt::Param { value: v, .. }) =
                                    p.stmts.into_iter().next()
                                {
                                    value = v;
                                }
                            }
                            Err(d) => {
                                self.diags.push(d.help(format!("`--set {}=...` takes a value as a recipe would write it, e.g. 3, 20ms, \"text\"", name.name)));
                            }
                        }
                    }
                    let value = self.subst(&value, scope);
                    self.bind(scope, &name, Binding::Expr(value.clone()));
                    self.param_exprs.push((name.name.clone(), value));
                }
                Stmt::For {
                    var, over, body, ..
                } => {
                    let items = match self.literal_list(&over, scope) {
                        Some(items) => items,
                        None => continue,
                    };
                    for item in items {
                        let item = self.subst(&item, scope);
                        let shown = literal_text(&item, &self.sources);
                        let parent_suffix = &self.scopes[scope].suffix;
                        let suffix = if parent_suffix.is_empty() {
                            format!("[{}={}]", var.name, shown)
                        } else {
                            format!(
                                "{},{}={}]",
                                &parent_suffix[..parent_suffix.len() - 1],
                                var.name,
                                shown
                            )
                        };
                        self.scopes.push(Scope {
                            parent: Some(scope),
                            suffix,
                            names: HashMap::default(),
                        });
                        let inner = self.scopes.len() - 1;
                        self.scopes[inner]
                            .names
                            .insert(var.name.clone(), Binding::Expr(item));
                        self.collect(body.clone(), inner);
                    }
                }
                Stmt::Report {
                    path,
                    path_span,
                    parts,
                    span,
                } => {
                    self.check_output_path(&path, path_span);
                    let name = format!("report \"{path}\"{}", self.scopes[scope].suffix);
                    let idx = self.steps.len();
                    self.steps.push(Step {
                        name,
                        op: "report",
                        args: Args::new(),
                        span,
                        outputs: vec![],
                    });
                    // The report op takes the path and the list of parts.
                    let mut args = vec![ast::Arg {
                        name: Some(Ident {
                            name: "path".into(),
                            span: path_span,
                        }),
                        value: Expr {
                            kind: ExprKind::Str(path.clone()),
                            span: path_span,
                        },
                        span: path_span,
                    }];
                    args.push(ast::Arg {
                        name: Some(Ident {
                            name: "parts".into(),
                            span,
                        }),
                        value: Expr {
                            kind: ExprKind::List(parts.clone()),
                            span,
                        },
                        span,
                    });
                    let value = Expr {
                        kind: ExprKind::Call {
                            op: Ident {
                                name: "report".into(),
                                span,
                            },
                            args,
                        },
                        span,
                    };
                    self.pending.push(Pending {
                        step: idx,
                        scope,
                        value,
                        kind: Ident {
                            name: "report".into(),
                            span,
                        },
                    });
                }
                Stmt::Bind {
                    kind,
                    targets,
                    value,
                    span,
                } => {
                    let kind_ty = match KINDS.iter().find(|(k, _)| *k == kind.name) {
                        Some((_, t)) => *t,
                        None => {
                            let sugg = did_you_mean(&kind.name, KINDS.iter().map(|(k, _)| *k));
                            let mut d = Diagnostic::new(
                                Code::UnknownKind,
                                kind.span,
                                format!("unknown statement kind `{}`", kind.name),
                            )
                            .label("not a kind");
                            d = d.help(match sugg {
                                Some(s) => format!("did you mean `{s}`?"),
                                None => format!(
                                    "kinds are {}",
                                    KINDS
                                        .iter()
                                        .map(|(k, _)| format!("`{k}`"))
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            });
                            self.diags.push(d);
                            None
                        }
                    };
                    // The output types come from the op's signature.
                    let out_ty = match &value.kind {
                        ExprKind::Call { op, .. } => {
                            match self.reg.get(&op.name).map(|o| o.sig().output.clone()) {
                                Some(Output::One(t)) | Some(Output::PerItem { ty: t, .. }) => {
                                    Some(t)
                                }
                                _ => None,
                            }
                        }
                        _ => None,
                    };
                    let ty = out_ty.or(kind_ty).unwrap_or(StepType::Corpus);
                    // Built without formatting machinery: pass 1 runs alone
                    // on one core, once per statement.
                    let suffix = &self.scopes[scope].suffix;
                    let suffixed = |n: &str| {
                        let mut s = String::with_capacity(n.len() + suffix.len());
                        s.push_str(n);
                        s.push_str(suffix);
                        s
                    };
                    let name = match targets.as_slice() {
                        [one] => suffixed(&one.name),
                        _ => suffixed(
                            &targets
                                .iter()
                                .map(|t| t.name.as_str())
                                .collect::<Vec<_>>()
                                .join(","),
                        ),
                    };
                    let outputs = targets.iter().map(|t| (suffixed(&t.name), ty)).collect();
                    let idx = self.steps.len();
                    self.steps.push(Step {
                        name,
                        op: "",
                        args: Args::new(),
                        span,
                        outputs,
                    });
                    for (port, t) in targets.iter().enumerate() {
                        self.bind(
                            scope,
                            t,
                            Binding::Step {
                                r: StepRef { step: idx, port },
                                ty,
                                span: t.span,
                            },
                        );
                    }
                    self.pending.push(Pending {
                        step: idx,
                        scope,
                        value,
                        kind,
                    });
                }
            }
        }
    }

    /// Replaces names bound to params or loop values by their (already
    /// substituted) values, and other bare words by symbols.
    fn subst(&self, e: &Expr, scope: usize) -> Expr {
        let kind = match &e.kind {
            ExprKind::Name(n) => match self.lookup(scope, n) {
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
                    .map(|a| ast::Arg {
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

    fn check_output_path(&mut self, path: &str, span: Span) {
        let p = Path::new(path);
        let escapes = p.is_absolute() || p.components().any(|c| matches!(c, Component::ParentDir));
        if escapes && self.opts.confine {
            self.diags.push(
                Diagnostic::new(Code::UnsafePath, span, format!("report path `{path}` is outside this bundle's folder"))
                    .label("absolute or `..` path")
                    .help("a bundle may only write inside its folder (--allow-outside does not apply to bundles); change the path in the recipe"),
            );
        } else if escapes && !self.opts.allow_outside {
            self.diags.push(
                Diagnostic::new(Code::UnsafePath, span, format!("report path `{path}` is outside the workspace"))
                    .label("absolute or `..` path")
                    .help("write reports inside the workspace, or pass --allow-outside to permit this deliberately"),
            );
        }
    }

    fn bind(&mut self, scope: usize, name: &Ident, b: Binding) {
        if KEYWORDS.contains(&name.name.as_str()) {
            self.diags.push(
                Diagnostic::new(
                    Code::Syntax,
                    name.span,
                    format!("`{}` is a keyword and cannot be a name", name.name),
                )
                .label("keyword")
                .help("choose another name"),
            );
            return;
        }
        if let Some(prev) = self.scopes[scope].names.get(&name.name) {
            let prev_span = match prev {
                Binding::Step { span, .. } | Binding::Multi { span, .. } => Some(*span),
                Binding::Expr(e) => Some(e.span),
            };
            let at = prev_span
                .map(|s| self.sources.locate(s))
                .unwrap_or_default();
            self.diags.push(
                Diagnostic::new(
                    Code::DuplicateBinding,
                    name.span,
                    format!("`{}` is bound twice", name.name),
                )
                .label("second binding")
                .help(format!("the first binding is at {at}; rename one of them")),
            );
            return;
        }
        // A step bound in a loop is visible outside as the list of all
        // iterations' steps.
        if let (Binding::Step { r, ty, .. }, Some(parent)) = (&b, self.scopes[scope].parent) {
            let mut cur = Some(parent);
            while let Some(s) = cur {
                let entry =
                    self.scopes[s]
                        .names
                        .entry(name.name.clone())
                        .or_insert(Binding::Multi {
                            refs: vec![],
                            span: name.span,
                        });
                if let Binding::Multi { refs, .. } = entry {
                    refs.push((*r, *ty));
                }
                cur = self.scopes[s].parent;
            }
        }
        self.scopes[scope].names.insert(name.name.clone(), b);
    }

    fn lookup(&self, scope: usize, name: &str) -> Option<&Binding> {
        let mut cur = Some(scope);
        while let Some(s) = cur {
            if let Some(b) = self.scopes[s].names.get(name) {
                return Some(b);
            }
            cur = self.scopes[s].parent;
        }
        None
    }

    fn visible_names(&self, scope: usize) -> Vec<String> {
        let mut out = vec![];
        let mut cur = Some(scope);
        while let Some(s) = cur {
            out.extend(self.scopes[s].names.keys().cloned());
            cur = self.scopes[s].parent;
        }
        out
    }

    /// A `for` range: a list literal, or a param holding one.
    fn literal_list(&mut self, e: &Expr, scope: usize) -> Option<Vec<Expr>> {
        match &e.kind {
            ExprKind::List(items) => Some(items.clone()),
            ExprKind::Name(n) => match self.lookup(scope, n).cloned() {
                Some(Binding::Expr(inner)) => self.literal_list(&inner, scope),
                _ => {
                    self.diags.push(Diagnostic::new(Code::TypeMismatch, e.span, format!("`for` needs a list of values, and `{n}` is not a param holding one")).label("not a list").help("write the values inline: `for x in [1, 2, 3] { ... }`"));
                    None
                }
            },
            _ => {
                self.diags.push(
                    Diagnostic::new(Code::TypeMismatch, e.span, "`for` needs a list of values")
                        .label("not a list")
                        .help("write the values inline: `for x in [1, 2, 3] { ... }`"),
                );
                None
            }
        }
    }

    fn finish(mut self) -> Result<Checked, (Diagnostics, Sources)> {
        for (i, (k, _)) in self.opts.set.iter().enumerate() {
            if !self.set_used[i] {
                let known: Vec<&str> = self.param_exprs.iter().map(|(n, _)| n.as_str()).collect();
                let mut d = Diagnostic::nowhere(
                    Code::BadParam,
                    format!("`--set {k}=...` names no `param` of this recipe"),
                );
                d = d.help(match did_you_mean(k, known.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None if known.is_empty() => "this recipe declares no params".to_string(),
                    None => format!("its params are {}", known.join(", ")),
                });
                self.diags.push(d);
            }
        }
        // Params resolve to literal values for records and lock files.
        for (name, e) in self.param_exprs.clone() {
            if let Some(v) = self.literal_value(&e) {
                self.params.insert(name, v);
            }
        }
        // Statements resolve independently, so in parallel on big recipes;
        // one whose arguments create an anonymous step (`imp.round(3)`) is
        // resolved again afterwards, in statement order, so that those steps
        // are numbered as a sequential check numbers them.
        use rayon::prelude::*;
        let pending = std::mem::take(&mut self.pending);
        let this = &self;
        let first: Vec<(Resolved, Vec<Diagnostic>, bool)> = pending
            .par_iter()
            .with_min_len(256)
            .map(|p| {
                let mut cx = Cx::default();
                let r = this.resolve_binding(&mut cx, p);
                (r, cx.diags, cx.deferred)
            })
            .collect();
        let base = self.steps.len();
        let mut anon: Vec<Step> = vec![];
        for (p, (mut r, mut diags, deferred)) in pending.iter().zip(first) {
            if deferred {
                let mut cx = Cx {
                    anon: Some((&mut anon, base)),
                    ..Cx::default()
                };
                r = self.resolve_binding(&mut cx, p);
                diags = cx.diags;
            }
            self.diags.0.extend(diags);
            if let Some((op, args)) = r {
                self.steps[p.step].op = op;
                self.steps[p.step].args = args;
            }
        }
        self.steps.extend(anon);
        // Freeing thousands of expression trees takes milliseconds that
        // nothing waits for.
        if pending.len() > 1000 {
            std::thread::spawn(move || drop(pending));
        }
        if let Err(d) = crate::graph::find_cycle(&self.steps, &self.sources) {
            self.diags.push(d);
        }
        if self.diags.is_empty() {
            Ok(Checked {
                steps: self.steps,
                params: self.params,
                sources: self.sources,
                files: self.files,
            })
        } else {
            self.diags.sort();
            Err((self.diags, self.sources))
        }
    }

    /// A param's value without a parameter type (for records).
    fn literal_value(&mut self, e: &Expr) -> Option<Value> {
        Some(match &e.kind {
            ExprKind::Number(n) => num_value(*n),
            ExprKind::Quantity(n, u) => Value::Str(format!("{}{}", fmt_num(*n), u.as_str())),
            ExprKind::Shape(a, b, c) => Value::Shape(*a, *b, *c),
            ExprKind::Str(s) => Value::Str(s.clone()),
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::List(items) => {
                Value::List(items.iter().filter_map(|i| self.literal_value(i)).collect())
            }
            ExprKind::Name(n) | ExprKind::Sym(n) => Value::Sym(n.clone()),
            ExprKind::Call { .. } => {
                self.diags.push(Diagnostic::new(Code::BadParam, e.span, "a `param` must be a literal value").label("a call").help("params hold numbers, quantities, strings, booleans or lists; bind steps with a statement instead"));
                return None;
            }
        })
    }

    /// Pass 2 for one statement: resolve the call and check it against the
    /// statement's kind.
    fn resolve_binding(&self, cx: &mut Cx, p: &Pending) -> Resolved {
        let (op_ident, args) = match &p.value.kind {
            ExprKind::Call { op, args } => (op, args.as_slice()),
            _ => {
                cx.diags.push(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        p.value.span,
                        "a statement must bind the result of an op call",
                    )
                    .label("not a call")
                    .help("write `kind name = op(args)`; use `param` for plain values"),
                );
                return None;
            }
        };
        let reg = self.reg;
        let Some(op) = reg.get(&op_ident.name) else {
            self.unknown_op(cx, op_ident);
            return None;
        };
        let sig = op.sig();
        let targets = self.steps[p.step].outputs.len();
        match &sig.output {
            Output::Config(kind) => {
                cx.diags.push(
                    Diagnostic::new(
                        Code::KindMismatch,
                        op_ident.span,
                        format!("`{}` builds a {kind} setting, not a step", op_ident.name),
                    )
                    .label("not a step")
                    .help(format!(
                        "pass it as an argument, e.g. `optimizer: {}(...)`",
                        op_ident.name
                    )),
                );
                return None;
            }
            Output::One(t) | Output::PerItem { ty: t, .. } => {
                let want = KINDS
                    .iter()
                    .find(|(k, _)| *k == p.kind.name)
                    .and_then(|(_, t)| *t);
                if p.kind.name != "report" {
                    if let Some(w) = want {
                        if w != *t {
                            cx.diags.push(
                                Diagnostic::new(
                                    Code::KindMismatch,
                                    p.kind.span,
                                    format!(
                                        "`{}` binds {}, but `{}` returns {}",
                                        p.kind.name,
                                        w.a(),
                                        sig.name,
                                        t.a()
                                    ),
                                )
                                .label(format!("expects {}", w.a()))
                                .help(format!(
                                    "use `{}` for this statement, or call an op that returns {}",
                                    kind_for(*t),
                                    w.a()
                                )),
                            );
                        }
                    }
                }
            }
        }
        let resolved = self.resolve_call(cx, sig.name, op_ident, args, p.value.span, p.scope)?;
        let expected = match &sig.output {
            Output::PerItem { param, .. } => resolved
                .get(*param)
                .and_then(|v| v.as_list())
                .map(|l| l.len())
                .unwrap_or(1),
            _ => 1,
        };
        if p.kind.name != "report" && expected != targets {
            cx.diags.push(
                Diagnostic::new(
                    Code::BindingCount,
                    self.steps[p.step].span,
                    format!(
                        "`{}` returns {expected} value{} but {targets} name{} bound",
                        sig.name,
                        plural(expected),
                        if targets == 1 { " is" } else { "s are" }
                    ),
                )
                .label("binding")
                .help("bind one name per returned value"),
            );
        }
        Some((sig.name, resolved))
    }

    fn unknown_op(&self, cx: &mut Cx, op: &Ident) {
        let sugg = did_you_mean(&op.name, self.reg.names());
        let help = match sugg {
            Some(s) => format!("did you mean `{s}`?"),
            None => "`lotto ops` lists every op with its parameters".to_string(),
        };
        cx.diags.push(
            Diagnostic::new(
                Code::UnknownOp,
                op.span,
                format!("unknown op `{}`", op.name),
            )
            .label("no such op")
            .help(help),
        );
    }

    /// Binds call arguments to the op's parameters and converts each.
    fn resolve_call(
        &self,
        cx: &mut Cx,
        op_name: &str,
        op_ident: &Ident,
        args: &[ast::Arg],
        call_span: Span,
        scope: usize,
    ) -> Option<Args> {
        let reg = self.reg;
        let op = reg.get(op_name)?;
        let sig = op.sig();
        // Borrowed argument expressions by parameter position (a map's
        // inserts, lookups and drop here were 4% of a big recipe's check);
        // only a variadic list is built anew.
        let mut given: Vec<Option<(std::borrow::Cow<Expr>, Span)>> =
            sig.params.iter().map(|_| None).collect();
        let mut variadic_items: Vec<Expr> = vec![];
        // Position of the variadic parameter, once positionals reach it.
        let mut variadic_param: Option<usize> = None;
        let mut ok = true;
        let mut pos = 0usize;
        for a in args {
            match &a.name {
                None => {
                    // Positionals fill parameters in order; once a variadic
                    // parameter is reached it takes all the rest.
                    if variadic_param.is_some() {
                        variadic_items.push(a.value.clone());
                        continue;
                    }
                    match sig.params.get(pos) {
                        Some(p) if p.variadic => {
                            variadic_param = Some(pos);
                            variadic_items.push(a.value.clone());
                        }
                        Some(_) => {
                            given[pos] = Some((std::borrow::Cow::Borrowed(&a.value), a.span));
                            pos += 1;
                        }
                        None => {
                            cx.diags.push(
                                Diagnostic::new(
                                    Code::TooManyArgs,
                                    a.span,
                                    format!(
                                        "`{}` takes at most {} positional argument{}",
                                        sig.name,
                                        sig.params.len(),
                                        plural(sig.params.len())
                                    ),
                                )
                                .label("extra argument")
                                .help(format!("its parameters are {}", param_list(&sig.params))),
                            );
                            ok = false;
                        }
                    }
                }
                Some(n) => {
                    let Some(i) = sig.param_index(&n.name) else {
                        let sugg = did_you_mean(&n.name, sig.params.iter().map(|p| p.name));
                        cx.diags.push(
                            Diagnostic::new(
                                Code::UnknownArg,
                                n.span,
                                format!("`{}` has no parameter `{}`", sig.name, n.name),
                            )
                            .label("unknown argument")
                            .help(match sugg {
                                Some(s) => format!("did you mean `{s}`?"),
                                None => format!("its parameters are {}", param_list(&sig.params)),
                            }),
                        );
                        ok = false;
                        continue;
                    };
                    let p = &sig.params[i];
                    if given[i].is_some() || (p.variadic && !variadic_items.is_empty()) {
                        cx.diags.push(
                            Diagnostic::new(
                                Code::DuplicateArg,
                                n.span,
                                format!("argument `{}` is given twice", n.name),
                            )
                            .label("again here")
                            .help("remove one of them (a positional argument also counts)"),
                        );
                        ok = false;
                        continue;
                    }
                    given[i] = Some((std::borrow::Cow::Borrowed(&a.value), a.span));
                }
            }
        }
        // A single list given to a variadic parameter is its items:
        // `concat([a, b])` means `concat(a, b)`.
        if variadic_items.len() == 1 && matches!(variadic_items[0].kind, ExprKind::List(_)) {
            let vp = variadic_param.take().expect("items imply the parameter");
            let e = variadic_items.pop().expect("one item");
            let span = e.span;
            given[vp] = Some((std::borrow::Cow::Owned(e), span));
        }
        if let Some(vp) = variadic_param {
            let span = Span::new(
                call_span.file,
                variadic_items[0].span.start,
                variadic_items.last().unwrap().span.end,
            );
            given[vp] = Some((
                std::borrow::Cow::Owned(Expr {
                    kind: ExprKind::List(variadic_items),
                    span,
                }),
                span,
            ));
        }
        let mut out = Args::new();
        for (p, g) in sig.params.iter().zip(&given) {
            match g {
                Some((e, _)) => match self.convert(cx, e, &p.ty, p, scope) {
                    Some(v) => {
                        out.insert(p.name.to_string(), v);
                    }
                    None => ok = false,
                },
                None => match &p.default {
                    Some(d) => {
                        out.insert(p.name.to_string(), d.clone());
                    }
                    None => {
                        cx.diags.push(
                            Diagnostic::new(
                                Code::MissingArg,
                                call_span,
                                format!("`{}` needs argument `{}`", sig.name, p.name),
                            )
                            .label(format!("`{}` missing", p.name))
                            .help(format!(
                                "`{}`: {} — {}",
                                p.name,
                                p.ty.describe(),
                                p.doc
                            )),
                        );
                        ok = false;
                    }
                },
            }
        }
        if !ok {
            return None;
        }
        if let Err((param, msg)) = op.validate(&out) {
            let span = param
                .and_then(|p| sig.param_index(p))
                .and_then(|i| given[i].as_ref().map(|(_, s)| *s))
                .unwrap_or(op_ident.span);
            cx.diags.push(
                Diagnostic::new(Code::OutOfRange, span, msg)
                    .label("invalid")
                    .help(format!("see `lotto ops {}`", sig.name)),
            );
            return None;
        }
        Some(out)
    }

    fn type_error(&self, cx: &mut Cx, e: &Expr, p: &Param, found: &str) {
        cx.diags.push(
            Diagnostic::new(
                Code::TypeMismatch,
                e.span,
                format!("`{}` takes {}, found {found}", p.name, p.ty.describe()),
            )
            .label(format!("expected {}", p.ty.describe()))
            .help(p.doc.to_string()),
        );
    }

    /// Converts one argument expression to a value of the parameter's type.
    fn convert(&self, cx: &mut Cx, e: &Expr, ty: &PType, p: &Param, scope: usize) -> Option<Value> {
        let v = self.convert_inner(cx, e, ty, p, scope, true)?;
        if let (Some((lo, hi)), Some(bad)) = (p.range, first_out_of_range(&v, p.range)) {
            let shown = match ty {
                PType::Fraction => format!("{}%", fmt_num(bad * 100.0)),
                PType::Duration => format!("{}s", fmt_num(bad)),
                _ => fmt_num(bad),
            };
            let range = match ty {
                PType::Fraction => format!("{}% to {}%", fmt_num(lo * 100.0), fmt_num(hi * 100.0)),
                _ => format!("{} to {}", fmt_num(lo), fmt_num(hi)),
            };
            cx.diags.push(
                Diagnostic::new(
                    Code::OutOfRange,
                    e.span,
                    format!("`{}` = {shown} is out of range", p.name),
                )
                .label(format!("must be {range}"))
                .help(format!("`{}`: {}", p.name, p.doc)),
            );
            return None;
        }
        Some(v)
    }

    fn convert_inner(
        &self,
        cx: &mut Cx,
        e: &Expr,
        ty: &PType,
        p: &Param,
        scope: usize,
        report: bool,
    ) -> Option<Value> {
        if let PType::OneOf(options) = ty {
            for t in options {
                if let Some(v) = self.convert_inner(cx, e, t, p, scope, false) {
                    return Some(v);
                }
            }
            if report {
                // Re-run the most likely alternative with reporting on.
                let found = self.describe_expr(e, scope);
                self.type_error(cx, e, p, &found);
            }
            return None;
        }
        macro_rules! fail {
            ($found:expr) => {{
                if report {
                    let f = $found;
                    self.type_error(cx, e, p, &f);
                }
                return None;
            }};
        }
        match (&e.kind, ty) {
            (ExprKind::Name(n) | ExprKind::Sym(n), _) => {
                let bound = if matches!(e.kind, ExprKind::Sym(_)) {
                    None
                } else {
                    self.lookup(scope, n).cloned()
                };
                match bound {
                    Some(Binding::Expr(inner)) => {
                        self.convert_inner(cx, &inner, ty, p, scope, report)
                    }
                    Some(Binding::Step { r, ty: st, .. }) => match ty {
                        PType::Step(allowed) if allowed.contains(&st) => Some(Value::Ref(r)),
                        PType::List(inner) if matches!(**inner, PType::Step(a) if a.contains(&st)) => {
                            Some(Value::List(vec![Value::Ref(r)]))
                        }
                        _ => fail!(format!("`{n}`, {}", st.a())),
                    },
                    Some(Binding::Multi { refs, .. }) => match ty {
                        PType::List(inner) => match &**inner {
                            PType::Step(allowed)
                                if refs.iter().all(|(_, t)| allowed.contains(t)) =>
                            {
                                Some(Value::List(
                                    refs.iter().map(|(r, _)| Value::Ref(*r)).collect(),
                                ))
                            }
                            _ => fail!(format!(
                                "`{n}`, a list of {} steps",
                                refs.first().map(|r| r.1.as_str()).unwrap_or("?")
                            )),
                        },
                        _ => fail!(format!(
                            "`{n}`, a list of {} steps bound in a `for` (one per iteration)",
                            refs.first().map(|r| r.1.as_str()).unwrap_or("?")
                        )),
                    },
                    None => {
                        if let PType::Enum(opts) = ty {
                            if opts.contains(&n.as_str()) {
                                return Some(Value::Sym(n.clone()));
                            }
                        }
                        // A config op without arguments (`rewind: init`).
                        if let PType::Config(kind) = ty {
                            if let Some(op) = self.reg.get(n) {
                                if op.sig().output == Output::Config(kind) {
                                    let ident = Ident {
                                        name: n.clone(),
                                        span: e.span,
                                    };
                                    let args =
                                        self.resolve_call(cx, n, &ident, &[], e.span, scope)?;
                                    return Some(op.config(&args));
                                }
                            }
                        }
                        if !report {
                            return None;
                        }
                        let mut cands = self.visible_names(scope);
                        if let PType::Enum(opts) = ty {
                            cands.extend(opts.iter().map(|s| s.to_string()));
                        }
                        let sugg =
                            did_you_mean(n, cands.iter().map(|s| s.as_str())).map(str::to_string);
                        let help = match (sugg, ty) {
                            (Some(s), _) => format!("did you mean `{s}`?"),
                            (None, PType::Enum(_)) => {
                                format!("`{}` takes {}", p.name, ty.describe())
                            }
                            _ => "bind it with a statement or a `param` first".to_string(),
                        };
                        cx.diags.push(
                            Diagnostic::new(
                                Code::UnknownName,
                                e.span,
                                format!("unknown name `{n}`"),
                            )
                            .label("not defined")
                            .help(help),
                        );
                        None
                    }
                }
            }
            (ExprKind::List(items), PType::List(inner)) => {
                let mut out = vec![];
                for it in items {
                    // Names bound in a `for` are lists: splice them in.
                    let v = if matches!(it.kind, ExprKind::Name(_)) {
                        self.convert_inner(cx, it, ty, p, scope, false)
                    } else {
                        None
                    };
                    match v {
                        Some(Value::List(vs)) => out.extend(vs),
                        _ => out.push(self.convert_inner(cx, it, inner, p, scope, report)?),
                    }
                }
                Some(Value::List(out))
            }
            (_, PType::List(inner)) if !matches!(e.kind, ExprKind::List(_)) => {
                // A single value where a list is expected is a list of one.
                Some(Value::List(vec![
                    self.convert_inner(cx, e, inner, p, scope, report)?
                ]))
            }
            (ExprKind::Call { op, args }, _) => {
                self.convert_call(cx, e, op, args, ty, p, scope, report)
            }
            (ExprKind::Number(n), PType::Int) if n.fract() == 0.0 && n.abs() < 9e15 => {
                Some(Value::Int(*n as i64))
            }
            (ExprKind::Number(n), PType::Int) => fail!(format!("the number {}", fmt_num(*n))),
            (ExprKind::Number(n), PType::Float) => Some(Value::Float(*n)),
            (ExprKind::Number(n), PType::Fraction) => Some(Value::Float(*n)),
            (ExprKind::Quantity(n, u), _) => match (u, ty) {
                (Unit::Percent, PType::Fraction) => Some(Value::Float(n / 100.0)),
                (Unit::Ms, PType::Duration) => Some(Value::Float(n / 1000.0)),
                (Unit::S, PType::Duration) => Some(Value::Float(*n)),
                (Unit::Db, PType::Decibel) => Some(Value::Float(*n)),
                (Unit::Hz, PType::Frequency) => Some(Value::Float(*n)),
                (Unit::KHz, PType::Frequency) => Some(Value::Float(n * 1000.0)),
                _ => {
                    if report {
                        cx.diags.push(
                            Diagnostic::new(
                                Code::UnitMismatch,
                                e.span,
                                format!("`{}` is not a unit for `{}`", u.as_str(), p.name),
                            )
                            .label(format!("`{}` takes {}", p.name, ty.describe()))
                            .help(p.doc.to_string()),
                        );
                    }
                    None
                }
            },
            (ExprKind::Number(n), PType::Duration | PType::Decibel | PType::Frequency) => {
                if report {
                    let unit = match ty {
                        PType::Duration => "ms` or `s",
                        PType::Decibel => "dB",
                        _ => "Hz` or `kHz",
                    };
                    cx.diags.push(
                        Diagnostic::new(
                            Code::UnitMismatch,
                            e.span,
                            format!("`{}` needs a unit", p.name),
                        )
                        .label(format!("`{}` takes {}", p.name, ty.describe()))
                        .help(format!(
                            "write e.g. `{}{}`",
                            fmt_num(*n),
                            unit.split('`').next().unwrap_or("")
                        )),
                    );
                }
                None
            }
            (ExprKind::Str(s), PType::Str | PType::Path) => Some(Value::Str(s.clone())),
            (ExprKind::Bool(b), PType::Bool) => Some(Value::Bool(*b)),
            (ExprKind::Shape(a, b, c), PType::Shape) => {
                if *a == 0 || *b == 0 || a > b && *c == ':' {
                    if report {
                        cx.diags.push(Diagnostic::new(Code::OutOfRange, e.span, format!("shape `{a}{c}{b}` is not valid")).label("invalid shape").help("blocks are RxC with R, C ≥ 1 (e.g. `1x4`); N:M keeps N of every M (e.g. `2:4`)"));
                    }
                    return None;
                }
                Some(Value::Shape(*a, *b, *c))
            }
            _ => fail!(self.describe_expr(e, scope)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn convert_call(
        &self,
        cx: &mut Cx,
        e: &Expr,
        op: &Ident,
        args: &[ast::Arg],
        ty: &PType,
        p: &Param,
        scope: usize,
        report: bool,
    ) -> Option<Value> {
        let reg = self.reg;
        let Some(o) = reg.get(&op.name) else {
            if report {
                self.unknown_op(cx, op);
            }
            return None;
        };
        let sig = o.sig();
        match (&sig.output, ty) {
            (Output::Config(kind), PType::Config(want)) if kind == want => {
                let args = self.resolve_call(cx, &op.name, op, args, e.span, scope)?;
                Some(o.config(&args))
            }
            (Output::One(t), PType::Step(allowed)) if allowed.contains(t) => {
                // An anonymous step inside an argument (`imp.round(3)`).
                let args = self.resolve_call(cx, &op.name, op, args, e.span, scope)?;
                let text: String = self
                    .sources
                    .slice(e.span)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                let name = format!("{text}{}", self.scopes[scope].suffix);
                // Numbered in statement order: a parallel pass defers this
                // statement to the ordered one (see `finish`).
                let Some((anon, base)) = cx.anon.as_mut() else {
                    cx.deferred = true;
                    return None;
                };
                if let Some(i) = anon
                    .iter()
                    .position(|s| s.name == name && s.op == sig.name && s.args == args)
                {
                    return Some(Value::Ref(StepRef {
                        step: *base + i,
                        port: 0,
                    }));
                }
                anon.push(Step {
                    name: name.clone(),
                    op: sig.name,
                    args,
                    span: e.span,
                    outputs: vec![(name, *t)],
                });
                Some(Value::Ref(StepRef {
                    step: *base + anon.len() - 1,
                    port: 0,
                }))
            }
            _ => {
                if report {
                    let found = match &sig.output {
                        Output::Config(k) => format!("a {k} setting from `{}`", op.name),
                        Output::One(t) | Output::PerItem { ty: t, .. } => {
                            format!("{} from `{}`", t.a(), op.name)
                        }
                    };
                    self.type_error(cx, e, p, &found);
                }
                None
            }
        }
    }

    fn describe_expr(&self, e: &Expr, scope: usize) -> String {
        match &e.kind {
            ExprKind::Number(n) => format!("the number {}", fmt_num(*n)),
            ExprKind::Quantity(n, u) => format!("`{}{}`", fmt_num(*n), u.as_str()),
            ExprKind::Shape(a, b, c) => format!("the shape `{a}{c}{b}`"),
            ExprKind::Str(_) => "a string".into(),
            ExprKind::Bool(_) => "a boolean".into(),
            ExprKind::List(_) => "a list".into(),
            ExprKind::Sym(n) => format!("`{n}`"),
            ExprKind::Name(n) => match self.lookup(scope, n) {
                Some(Binding::Step { ty, .. }) => format!("`{n}`, {}", ty.a()),
                Some(Binding::Expr(inner)) => self.describe_expr(inner, scope),
                Some(Binding::Multi { .. }) => format!("`{n}`, a list of steps"),
                None => format!("`{n}`"),
            },
            ExprKind::Call { op, .. } => format!("a call of `{}`", op.name),
        }
    }
}

fn first_out_of_range(v: &Value, range: Option<(f64, f64)>) -> Option<f64> {
    let (lo, hi) = range?;
    match v {
        Value::List(l) => l.iter().find_map(|x| first_out_of_range(x, range)),
        _ => v.as_f64().filter(|x| !(lo..=hi).contains(x) || x.is_nan()),
    }
}

fn num_value(n: f64) -> Value {
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

fn literal_text(e: &Expr, sources: &Sources) -> String {
    match &e.kind {
        ExprKind::Number(n) => fmt_num(*n),
        ExprKind::Str(s) => s.clone(),
        _ => sources.slice(e.span).to_string(),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn param_list(ps: &[Param]) -> String {
    ps.iter()
        .map(|p| format!("`{}`", p.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn kind_for(t: StepType) -> &'static str {
    KINDS
        .iter()
        .find(|(_, k)| *k == Some(t))
        .map(|(n, _)| *n)
        .unwrap_or("let")
}
