//! Name scopes: what each name of a recipe is bound to, in the top level
//! and in each iteration of a `for` sweep.

use crate::ast::{Expr, Ident};
use crate::source::Span;
use crate::types::StepType;
use crate::value::StepRef;
use rustc_hash::FxHashMap as HashMap;

/// Words of the language that cannot be bound as names.
pub const KEYWORDS: &[&str] = &["param", "import", "for", "in", "report", "true", "false"];

#[derive(Clone, Debug)]
pub enum Binding {
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

impl Binding {
    fn span(&self) -> Span {
        match self {
            Binding::Step { span, .. } | Binding::Multi { span, .. } => *span,
            Binding::Expr(e) => e.span,
        }
    }
}

struct Scope {
    parent: Option<usize>,
    /// `[level=0.2]` suffix of names bound in this scope.
    suffix: String,
    names: HashMap<String, Binding>,
}

/// Why a name could not be bound.
pub enum BindError {
    Keyword,
    /// Bound before, at this span.
    Duplicate(Span),
}

/// All scopes of a recipe; scope 0 is the top level.
pub struct Scopes {
    scopes: Vec<Scope>,
}

impl Default for Scopes {
    fn default() -> Self {
        Scopes {
            scopes: vec![Scope {
                parent: None,
                suffix: String::new(),
                names: HashMap::default(),
            }],
        }
    }
}

impl Scopes {
    /// A new scope for one iteration of a sweep over `var`, whose value is
    /// shown as `shown` in step names.
    pub fn iteration(&mut self, parent: usize, var: &Ident, shown: &str, value: Expr) -> usize {
        let parent_suffix = &self.scopes[parent].suffix;
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
        let mut names = HashMap::default();
        names.insert(var.name.clone(), Binding::Expr(value));
        self.scopes.push(Scope {
            parent: Some(parent),
            suffix,
            names,
        });
        self.scopes.len() - 1
    }

    /// The `[var=value,...]` suffix of names bound in `scope`.
    pub fn suffix(&self, scope: usize) -> &str {
        &self.scopes[scope].suffix
    }

    /// Binds `name` in `scope`. A step bound in a loop is also visible in
    /// every enclosing scope as the list of all iterations' steps.
    pub fn bind(&mut self, scope: usize, name: &Ident, b: Binding) -> Result<(), BindError> {
        if KEYWORDS.contains(&name.name.as_str()) {
            return Err(BindError::Keyword);
        }
        if let Some(prev) = self.scopes[scope].names.get(&name.name) {
            return Err(BindError::Duplicate(prev.span()));
        }
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
        Ok(())
    }

    /// What `name` means in `scope` (the innermost binding).
    pub fn lookup(&self, scope: usize, name: &str) -> Option<&Binding> {
        let mut cur = Some(scope);
        while let Some(s) = cur {
            if let Some(b) = self.scopes[s].names.get(name) {
                return Some(b);
            }
            cur = self.scopes[s].parent;
        }
        None
    }

    /// Every name visible in `scope`, for "did you mean" suggestions.
    pub fn visible_names(&self, scope: usize) -> Vec<String> {
        let mut out = vec![];
        let mut cur = Some(scope);
        while let Some(s) = cur {
            out.extend(self.scopes[s].names.keys().cloned());
            cur = self.scopes[s].parent;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::ExprKind;

    fn ident(name: &str, at: usize) -> Ident {
        Ident {
            name: name.into(),
            span: Span::new(0, at, at + name.len()),
        }
    }

    fn step(step: usize) -> Binding {
        Binding::Step {
            r: StepRef { step, port: 0 },
            ty: StepType("Corpus"),
            span: Span::default(),
        }
    }

    #[test]
    fn loop_bindings_are_lists_outside_and_names_shadow_inside() {
        let mut s = Scopes::default();
        let one = Expr {
            kind: ExprKind::Number(1.0),
            span: Span::default(),
        };
        let it1 = s.iteration(0, &ident("l", 0), "0.1", one.clone());
        let it2 = s.iteration(0, &ident("l", 0), "0.2", one);
        assert_eq!(s.suffix(it2), "[l=0.2]");
        let nested = s.iteration(it2, &ident("k", 0), "3", s_expr());
        assert_eq!(s.suffix(nested), "[l=0.2,k=3]");
        assert!(s.bind(it1, &ident("noisy", 5), step(1)).is_ok());
        assert!(s.bind(it2, &ident("noisy", 5), step(2)).is_ok());
        match s.lookup(0, "noisy") {
            Some(Binding::Multi { refs, .. }) => assert_eq!(refs.len(), 2),
            other => panic!("{other:?}"),
        }
        assert!(matches!(s.lookup(it1, "noisy"), Some(Binding::Step { .. })));
        assert!(matches!(s.lookup(it1, "l"), Some(Binding::Expr(_))));
        assert!(s.lookup(0, "l").is_none());
        assert!(s.visible_names(it1).contains(&"l".to_string()));
    }

    fn s_expr() -> Expr {
        Expr {
            kind: ExprKind::Number(3.0),
            span: Span::default(),
        }
    }

    #[test]
    fn keywords_and_second_bindings_are_refused() {
        let mut s = Scopes::default();
        assert!(matches!(
            s.bind(0, &ident("for", 0), step(0)),
            Err(BindError::Keyword)
        ));
        assert!(s.bind(0, &ident("a", 3), step(0)).is_ok());
        match s.bind(0, &ident("a", 9), step(1)) {
            Err(BindError::Duplicate(at)) => assert_eq!(at, Span::default()),
            _ => panic!("a second binding must be refused"),
        }
    }
}
