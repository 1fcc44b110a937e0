//! Typed op arguments. An op declares its parameters once, with
//! [`op_args!`](crate::op_args): the declaration yields both the parameter
//! list the checker and the docs read and a struct the op receives, filled
//! from the checked arguments. A value that does not fit its field is an
//! error naming the argument, never a silent default: the checker has
//! already filled every default in, so such an error means the declaration
//! and the struct disagree (a test in the op library checks every op).

use crate::signature::Param;
use crate::value::{Args, StepRef, Value};

/// A Rust value read from a checked argument value.
pub trait FromValue: Sized {
    /// The value, or what was expected and found.
    fn from_value(v: &Value) -> Result<Self, String>;
}

/// The arguments of one op as a struct (see [`op_args!`](crate::op_args)).
pub trait OpArgs: Sized {
    /// The parameters, in declaration order.
    fn params() -> Vec<Param>;
    /// The struct, from checked arguments.
    fn from_args(args: &Args) -> Result<Self, String>;
}

/// The argument called `name`, as a `T`.
pub fn field<T: FromValue>(args: &Args, name: &str) -> Result<T, String> {
    let v = args
        .get(name)
        .ok_or_else(|| format!("argument `{name}` is missing"))?;
    T::from_value(v).map_err(|e| format!("argument `{name}`: {e}"))
}

fn expected<T>(what: &str, v: &Value) -> Result<T, String> {
    Err(format!("expected {what}, found {v:?}"))
}

impl FromValue for i64 {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Int(i) => Ok(*i),
            _ => expected("an integer", v),
        }
    }
}

impl FromValue for u64 {
    fn from_value(v: &Value) -> Result<Self, String> {
        let i = i64::from_value(v)?;
        u64::try_from(i).map_err(|_| format!("expected a non-negative integer, found {i}"))
    }
}

impl FromValue for usize {
    fn from_value(v: &Value) -> Result<Self, String> {
        let i = i64::from_value(v)?;
        usize::try_from(i).map_err(|_| format!("expected a non-negative integer, found {i}"))
    }
}

impl FromValue for f64 {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Int(i) => Ok(*i as f64),
            Value::Float(f) => Ok(*f),
            _ => expected("a number", v),
        }
    }
}

impl FromValue for bool {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Bool(b) => Ok(*b),
            _ => expected("a boolean", v),
        }
    }
}

impl FromValue for String {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Str(s) => Ok(s.clone()),
            _ => expected("a string", v),
        }
    }
}

impl FromValue for StepRef {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Ref(r) => Ok(*r),
            _ => expected("a step", v),
        }
    }
}

/// `1x4` (a block of 1 row by 4 columns) or `2:4` (N:M).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub first: usize,
    pub second: usize,
    /// `'x'` for blocks, `':'` for N:M.
    pub sep: char,
}

impl FromValue for Shape {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Shape(a, b, sep) => Ok(Shape {
                first: *a as usize,
                second: *b as usize,
                sep: *sep,
            }),
            _ => expected("a shape", v),
        }
    }
}

impl From<Shape> for Value {
    fn from(s: Shape) -> Value {
        Value::Shape(s.first as u32, s.second as u32, s.sep)
    }
}

/// A step a report part reads: the step, or, in a recipe run over several
/// seeds, every seed's copy of it (see `check/seeds.rs`).
#[derive(Clone, Debug, PartialEq)]
pub struct EachSeed(pub Vec<StepRef>);

impl FromValue for EachSeed {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Ref(r) => Ok(EachSeed(vec![*r])),
            Value::List(items) if !items.is_empty() => items
                .iter()
                .map(StepRef::from_value)
                .collect::<Result<_, _>>()
                .map(EachSeed),
            _ => expected("a step", v),
        }
    }
}

impl<T: FromValue> FromValue for Vec<T> {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::List(items) => items.iter().map(T::from_value).collect(),
            _ => expected("a list", v),
        }
    }
}

/// The symbol `none` is `None`; anything else must be a `T`.
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Result<Self, String> {
        if v.is_none() {
            Ok(None)
        } else {
            T::from_value(v).map(Some)
        }
    }
}

/// A config value's op name and arguments (`adamw(lr: 3e-4)`).
pub fn config(v: &Value) -> Result<(&str, &Args), String> {
    match v {
        Value::Config { op, args } => Ok((op, args)),
        _ => expected("a config value", v),
    }
}

/// Declares an op's arguments once: a struct with one public field per
/// parameter, and its [`OpArgs`] implementation whose `params()` builds each
/// [`Param`] from the constructor written after the field's type
/// (`req`, `opt` or `optional`, without the name) and its builder calls.
/// A field declared `= flatten()` holds another `op_args!` struct whose
/// parameters are spliced in at that place (ops that share a group of
/// parameters declare it once).
///
/// ```
/// use lotto_interpreter::types::PType;
/// lotto_interpreter::op_args! {
///     /// Shared by several ops.
///     pub struct Seeded {
///         seed: u64 = opt(PType::Int, 0, "random draws"),
///     }
/// }
/// lotto_interpreter::op_args! {
///     /// `take(corpus, n: 10)`
///     pub struct TakeArgs {
///         corpus: String = req(PType::Str, "the corpus"),
///         n: usize = opt(PType::Int, 10, "how many").range(1.0, 1e9),
///         seeded: Seeded = flatten(),
///     }
/// }
/// use lotto_interpreter::typed::OpArgs;
/// let names: Vec<&str> = TakeArgs::params().iter().map(|p| p.name).collect();
/// assert_eq!(names, ["corpus", "n", "seed"]);
/// ```
#[macro_export]
macro_rules! op_args {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $fty:ty = $ctor:ident ( $($carg:expr),* $(,)? )
                    $( . $m:ident ( $($marg:expr),* ) )*
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        $vis struct $name {
            $( $(#[$fmeta])* pub $field: $fty, )*
        }
        impl $crate::typed::OpArgs for $name {
            fn params() -> Vec<$crate::signature::Param> {
                let each: Vec<Vec<$crate::signature::Param>> = vec![$(
                    $crate::__op_param!($field, $fty, $ctor ( $($carg),* ) $( . $m ( $($marg),* ) )*)
                ),*];
                each.into_iter().flatten().collect()
            }
            fn from_args(args: &$crate::value::Args) -> Result<Self, String> {
                Ok($name {
                    $( $field: $crate::__op_field!(args, $field, $fty, $ctor), )*
                })
            }
        }
    };
}

/// One field's parameters, for [`op_args!`](crate::op_args).
#[doc(hidden)]
#[macro_export]
macro_rules! __op_param {
    ($field:ident, $fty:ty, flatten ()) => {
        <$fty as $crate::typed::OpArgs>::params()
    };
    ($field:ident, $fty:ty, $ctor:ident ( $($carg:expr),* ) $( . $m:ident ( $($marg:expr),* ) )*) => {
        vec![$crate::signature::Param::$ctor(stringify!($field), $($carg),*) $( .$m($($marg),*) )*]
    };
}

/// One field's value, for [`op_args!`](crate::op_args).
#[doc(hidden)]
#[macro_export]
macro_rules! __op_field {
    ($args:ident, $field:ident, $fty:ty, flatten) => {
        <$fty as $crate::typed::OpArgs>::from_args($args)?
    };
    ($args:ident, $field:ident, $fty:ty, $ctor:ident) => {
        $crate::typed::field($args, stringify!($field))?
    };
}

/// An enumeration of symbols (`scope: global | layer`) as a Rust enum, with
/// `NAMES` for its parameter type (`PType::Enum(Scope::NAMES)`).
#[macro_export]
macro_rules! sym_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $var:ident = $s:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        $vis enum $name { $( $(#[$vmeta])* $var ),+ }
        impl $name {
            pub const NAMES: &'static [&'static str] = &[$($s),+];
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$var => $s ),+ }
            }
        }
        impl $crate::typed::FromValue for $name {
            fn from_value(v: &$crate::value::Value) -> Result<Self, String> {
                match v {
                    $( $crate::value::Value::Sym(s) if s == $s => Ok($name::$var), )+
                    _ => Err(format!("expected one of {:?}, found {v:?}", Self::NAMES)),
                }
            }
        }
        impl From<$name> for $crate::value::Value {
            fn from(v: $name) -> Self {
                $crate::value::Value::Sym(v.as_str().into())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::PType;

    crate::sym_enum! {
        enum Scope { Global = "global", Layer = "layer" }
    }

    crate::op_args! {
        struct Example {
            rate: f64 = opt(PType::Fraction, 0.2, "share").range(0.0, 1.0),
            rounds: usize = req(PType::Int, "rounds"),
            scope: Scope = opt(PType::Enum(Scope::NAMES), Scope::Global, "where"),
            until: Option<f64> = optional(PType::Fraction, "stop"),
            input: StepRef = req(PType::Int, "a step"),
        }
    }

    fn args(pairs: &[(&str, Value)]) -> Args {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn one_declaration_gives_params_and_struct() {
        let ps = Example::params();
        let names: Vec<&str> = ps.iter().map(|p| p.name).collect();
        assert_eq!(names, ["rate", "rounds", "scope", "until", "input"]);
        assert_eq!(ps[0].default, Some(Value::Float(0.2)));
        assert_eq!(ps[0].range, Some((0.0, 1.0)));
        assert!(ps[1].default.is_none());
        assert_eq!(ps[2].default, Some(Value::sym("global")));
        assert_eq!(ps[3].default, Some(Value::none()));
        let a = Example::from_args(&args(&[
            ("rate", Value::Float(0.5)),
            ("rounds", Value::Int(3)),
            ("scope", Value::sym("layer")),
            ("until", Value::none()),
            ("input", Value::Ref(StepRef { step: 2, port: 1 })),
        ]))
        .unwrap();
        assert_eq!(a.rate, 0.5);
        assert_eq!(a.rounds, 3);
        assert_eq!(a.scope, Scope::Layer);
        assert_eq!(a.until, None);
        assert_eq!(a.input, StepRef { step: 2, port: 1 });
    }

    #[test]
    fn a_missing_or_mistyped_argument_is_an_error_not_a_default() {
        let e = Example::from_args(&args(&[("rate", Value::Float(0.5))])).unwrap_err();
        assert_eq!(e, "argument `rounds` is missing");
        let e = field::<usize>(&args(&[("n", Value::Int(-1))]), "n").unwrap_err();
        assert!(e.contains("non-negative"), "{e}");
        let e = field::<Scope>(&args(&[("s", Value::sym("both"))]), "s").unwrap_err();
        assert!(e.contains("\"global\", \"layer\""), "{e}");
        assert_eq!(
            field::<Option<f64>>(&args(&[("u", Value::Int(2))]), "u").unwrap(),
            Some(2.0)
        );
    }
}
