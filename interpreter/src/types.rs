//! The types a recipe's values can have. The interpreter defines the shapes
//! (numbers with units, strings, lists, step results, config values) but
//! not the names of step results or config kinds: the op library declares
//! those (a `Corpus`, an `Optimizer`), so the language knows no domain.

/// The type of a step's result, by the name the op library gives it
/// (`Corpus`, `Trained`). Two step types are equal when their names are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StepType(pub &'static str);

impl StepType {
    pub fn as_str(self) -> &'static str {
        self.0
    }
    /// The type name with its article: "a Corpus", "an Eval".
    pub fn a(self) -> String {
        format!("{} {}", article(self.0), self.0)
    }
}

/// A kind of config value (`Optimizer`), built by the config ops whose
/// output is this kind, with an example call for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigKind {
    pub name: &'static str,
    /// A call that builds one, shown in "expected an Optimizer (e.g. ...)".
    pub example: &'static str,
}

/// "a" or "an" before a type name.
pub fn article(name: &str) -> &'static str {
    if name.starts_with(['A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    }
}

/// The type of one parameter, with the units it accepts.
#[derive(Clone, Debug, PartialEq)]
pub enum PType {
    Int,
    Float,
    /// `20%` or a plain number in [0, 1]; stored as a fraction.
    Fraction,
    /// `20ms`, `1.5s`; stored in seconds.
    Duration,
    /// `5dB`.
    Decibel,
    /// `16kHz`, `100Hz`; stored in Hz.
    Frequency,
    Str,
    /// A path inside the workspace, read by the op (digested into the key).
    Path,
    Bool,
    /// `1x4` blocks or `2:4` N:M patterns.
    Shape,
    /// One symbol out of a fixed set (`scope: global`).
    Enum(&'static [&'static str]),
    /// The result of another step, of one of these types.
    Step(&'static [StepType]),
    /// A config value built by a config op of this kind (`adamw(...)`).
    Config(&'static ConfigKind),
    List(Box<PType>),
    /// Any of these (e.g. a fraction or a list of fractions).
    OneOf(Vec<PType>),
}

impl PType {
    /// How the type reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            PType::Int => "an integer".into(),
            PType::Float => "a number".into(),
            PType::Fraction => "a fraction (`20%` or 0.2)".into(),
            PType::Duration => "a duration (`20ms`, `1.5s`)".into(),
            PType::Decibel => "a level in dB (`5dB`)".into(),
            PType::Frequency => "a frequency (`16kHz`)".into(),
            PType::Str => "a string".into(),
            PType::Path => "a path string".into(),
            PType::Bool => "`true` or `false`".into(),
            PType::Shape => "a shape (`1x4` or `2:4`)".into(),
            PType::Enum(opts) => format!("one of {}", quoted_list(opts)),
            PType::Step(ts) => {
                let names: Vec<&str> = ts.iter().map(|t| t.as_str()).collect();
                format!("{} {} step", article(names[0]), names.join(" or "))
            }
            PType::Config(kind) => format!(
                "{} {} (e.g. `{}`)",
                article(kind.name),
                kind.name,
                kind.example
            ),
            PType::List(t) => format!(
                "a list of {}",
                t.describe()
                    .trim_start_matches("a ")
                    .trim_start_matches("an ")
            ),
            PType::OneOf(ts) => ts
                .iter()
                .map(|t| t.describe())
                .collect::<Vec<_>>()
                .join(", or "),
        }
    }
}

/// `a`, `b` → "`a`, `b`".
pub fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|o| format!("`{o}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CORPUS: StepType = StepType("Corpus");
    const EVAL: StepType = StepType("Eval");
    const OPT: ConfigKind = ConfigKind {
        name: "Optimizer",
        example: "adamw(lr: 3e-4)",
    };

    #[test]
    fn descriptions_use_the_registered_names() {
        assert_eq!(CORPUS.a(), "a Corpus");
        assert_eq!(EVAL.a(), "an Eval");
        assert_eq!(
            PType::Step(&[CORPUS, EVAL]).describe(),
            "a Corpus or Eval step"
        );
        assert_eq!(
            PType::Config(&OPT).describe(),
            "an Optimizer (e.g. `adamw(lr: 3e-4)`)"
        );
        assert_eq!(
            PType::List(Box::new(PType::Step(&[EVAL]))).describe(),
            "a list of Eval step"
        );
        assert_eq!(PType::Enum(&["a", "b"]).describe(), "one of `a`, `b`");
    }
}
