//! Which parameters a pruning method may prune: the architecture's paper
//! set, or kinds (`conv`, `lstm_ih`, ...) and parameter-path patterns
//! (`"lstm.*.weight_hh"`); never biases or normalisation parameters.

use crate::arch::Arch;
use lotto_interpreter::typed::FromValue;
use lotto_interpreter::value::Value;

/// The kinds a selection may name.
pub const KINDS: &[&str] = &["conv", "lstm_ih", "lstm_hh", "linear"];

/// One element of a `prune: [...]` list.
#[derive(Clone, Debug, PartialEq)]
pub enum Selector {
    /// A parameter kind (`conv`).
    Kind(String),
    /// A parameter-path pattern (`"lstm.*.weight_hh"`).
    Pattern(String),
}

impl Selector {
    /// How it enters keys and records: kinds bare, patterns quoted.
    pub fn key(&self) -> String {
        match self {
            Selector::Kind(k) => k.clone(),
            Selector::Pattern(p) => format!("\"{p}\""),
        }
    }
}

/// `prune: paper` or `prune: [conv, "fc.*"]`.
#[derive(Clone, Debug, PartialEq)]
pub enum Selection {
    Paper,
    List(Vec<Selector>),
}

impl FromValue for Selection {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Sym(s) if s == "paper" => Ok(Selection::Paper),
            Value::List(items) => items
                .iter()
                .map(|i| match i {
                    Value::Sym(k) => Ok(Selector::Kind(k.clone())),
                    Value::Str(p) => Ok(Selector::Pattern(p.clone())),
                    other => Err(format!("expected a kind or a pattern, found {other:?}")),
                })
                .collect::<Result<_, _>>()
                .map(Selection::List),
            other => Err(format!("expected `paper` or a list, found {other:?}")),
        }
    }
}

impl Selection {
    /// The selectors it means for `arch` (`paper`: the architecture's own
    /// kinds, see `Arch::default_prune_kinds`).
    pub fn selectors(&self, arch: &Arch) -> Vec<Selector> {
        match self {
            Selection::Paper => arch
                .default_prune_kinds()
                .iter()
                .map(|k| Selector::Kind(k.to_string()))
                .collect(),
            Selection::List(l) => l.clone(),
        }
    }
}

/// `*` matches any run of characters (`lstm.*.weight_hh`, `fc.*`).
fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            let Some(tail) = name.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| glob(rest, &tail[i..]))
        }
    }
}

/// The prunable parameters `select` picks, with their shapes. A pattern
/// that selects nothing is an error, not an empty selection.
pub fn prunable_names(
    arch: &Arch,
    select: &[Selector],
) -> Result<Vec<(String, Vec<usize>)>, String> {
    let layout = arch.layout().0;
    for s in select {
        if let Selector::Pattern(pat) = s {
            if !layout
                .iter()
                .any(|p| p.kind.prunable() && glob(pat, &p.name))
            {
                let names: Vec<&str> = layout
                    .iter()
                    .filter(|p| p.kind.prunable())
                    .map(|p| p.name.as_str())
                    .take(6)
                    .collect();
                return Err(format!("`prune` pattern \"{pat}\" matches no prunable parameter (they are named like {})", names.join(", ")));
            }
        }
    }
    Ok(layout
        .into_iter()
        .filter(|p| {
            p.kind.prunable()
                && select.iter().any(|s| match s {
                    Selector::Pattern(pat) => glob(pat, &p.name),
                    Selector::Kind(k) => k == p.kind.as_str(),
                })
        })
        .map(|p| (p.name, p.shape))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_patterns_match_parameter_paths() {
        assert!(glob("lstm.*.weight_hh", "lstm.0.fwd.weight_hh"));
        assert!(!glob("lstm.*.weight_hh", "lstm.0.fwd.weight_ih"));
        assert!(glob("fc*", "fc.weight"));
        assert!(glob("*", "anything"));
        assert!(!glob("conv.0.weight", "conv.1.weight"));
    }

    #[test]
    fn selections_read_kinds_and_patterns() {
        let v = Value::List(vec![Value::sym("conv"), Value::Str("fc.*".into())]);
        let s = Selection::from_value(&v).unwrap();
        assert_eq!(
            s,
            Selection::List(vec![
                Selector::Kind("conv".into()),
                Selector::Pattern("fc.*".into())
            ])
        );
        let keys: Vec<String> = match &s {
            Selection::List(l) => l.iter().map(Selector::key).collect(),
            Selection::Paper => vec![],
        };
        assert_eq!(keys, ["conv", "\"fc.*\""]);
        assert_eq!(
            Selection::from_value(&Value::sym("paper")).unwrap(),
            Selection::Paper
        );
    }
}
