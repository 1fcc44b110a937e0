//! Checked values: what an argument is after names, units and defaults are
//! resolved. Units are normalised (durations to seconds, percentages to
//! fractions) so `20ms` and `0.02s` give the same cache key.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A reference to one output of a step in the lowered program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StepRef {
    pub step: usize,
    pub port: usize,
}

/// A resolved argument value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v")]
pub enum Value {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    /// A symbol from an enumeration (`scope: global`).
    Sym(String),
    /// `1x4` → (1, 4, 'x'); `2:4` → (2, 4, ':').
    Shape(u32, u32, char),
    List(Vec<Value>),
    Ref(StepRef),
    /// A configuration built by a config op (`adamw(lr: 3e-4)`), evaluated at
    /// check time and passed as a structure, never a step.
    Config {
        op: String,
        args: BTreeMap<String, Value>,
    },
}

impl Value {
    /// The symbol `none`: the default of a parameter that may be left out.
    pub fn none() -> Value {
        Value::Sym("none".into())
    }
    pub fn is_none(&self) -> bool {
        matches!(self, Value::Sym(s) if s == "none")
    }
    /// A symbol (`global`, `init`).
    pub fn sym(s: &str) -> Value {
        Value::Sym(s.into())
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Sym(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }
    pub fn as_ref(&self) -> Option<StepRef> {
        match self {
            Value::Ref(r) => Some(*r),
            _ => None,
        }
    }
    /// Every step reference inside this value, in order.
    pub fn refs(&self, out: &mut Vec<StepRef>) {
        match self {
            Value::Ref(r) => out.push(*r),
            Value::List(l) => l.iter().for_each(|v| v.refs(out)),
            Value::Config { args, .. } => args.values().for_each(|v| v.refs(out)),
            _ => {}
        }
    }
    /// Short human form for plans, step names and records.
    pub fn display(&self, name_of: &dyn Fn(StepRef) -> String) -> String {
        match self {
            Value::Int(i) => i.to_string(),
            Value::Float(f) => fmt_float(*f),
            Value::Str(s) => format!("{s:?}"),
            Value::Bool(b) => b.to_string(),
            Value::Sym(s) => s.clone(),
            Value::Shape(a, b, c) => format!("{a}{c}{b}"),
            Value::List(l) => format!(
                "[{}]",
                l.iter()
                    .map(|v| v.display(name_of))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Value::Ref(r) => name_of(*r),
            Value::Config { op, args } => format!(
                "{op}({})",
                args.iter()
                    .map(|(k, v)| format!("{k}: {}", v.display(name_of)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::Int(v.into())
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}

/// Shortest float text that reads back the same (`0.2`, not `0.20000001`).
pub fn fmt_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// Resolved arguments of one call, keyed by parameter name (sorted, so the
/// canonical form is independent of the order the user wrote them in).
pub type Args = BTreeMap<String, Value>;
