//! What a cache key is made of, and how it is hashed: BLAKE3 over an op's
//! name and version, its canonical resolved arguments, the keys of its
//! inputs, the digests of the files it reads and, for numeric ops, the
//! device kind and dtype. Never a timestamp, a session id or the
//! workspace's absolute path. Sub-step keys are derived the same way from
//! the op that owns the sub-step: its name, its version and the canonical
//! form of what the sub-step depends on.

use crate::signature::{OpSig, OpVersions};
use crate::value::{Args, StepRef, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything a key is made of, kept in the step record so `lotto plan`
/// can say what changed.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct KeyParts {
    pub op: String,
    pub op_version: u32,
    /// Arguments with step references replaced by `@<input key>`.
    pub args: BTreeMap<String, serde_json::Value>,
    /// Input keys by the input's step name (names are not hashed).
    pub inputs: BTreeMap<String, String>,
    /// File digests by the file's name relative to its data root.
    pub files: BTreeMap<String, String>,
    /// `flex/f32`, `vulkan/f32`, ... for numeric ops.
    pub device: Option<String>,
    /// Whether the op writes its inputs' step names into its results
    /// (`wer` tables, reports): then the names enter the key, so renaming
    /// a step relabels them instead of reusing the old labels.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub named: bool,
    /// `op@version` of every step upstream that computes (pass-through
    /// ops such as `round` and `best` only choose): the code behind the
    /// inputs, which their published files alone do not show (a features
    /// step publishes settings that `fbank`'s code turns into features
    /// inside `fit`). Already in the key through the input keys; it enters
    /// the content key, so a new version upstream is never cut off.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub code: std::collections::BTreeSet<String>,
}

impl KeyParts {
    pub fn key(&self) -> String {
        let mut h = blake3::Hasher::new();
        h.update(b"lotto-key-v1\0");
        self.hash_work(
            &mut h,
            &serde_json::to_string(&self.args).unwrap_or_default(),
            &self.inputs,
        );
        h.finalize().to_hex()[..32].to_string()
    }

    /// What both keys hash after their domain tag: the op and its version,
    /// the arguments (as given), the inputs, the files read and the device.
    fn hash_work(&self, h: &mut blake3::Hasher, args: &str, inputs: &BTreeMap<String, String>) {
        h.update(self.op.as_bytes());
        h.update(&self.op_version.to_le_bytes());
        h.update(args.as_bytes());
        h.update(b"\0inputs");
        self.hash_inputs(h, inputs);
        h.update(b"\0files");
        for (n, d) in &self.files {
            h.update(n.as_bytes());
            h.update(b"=");
            h.update(d.as_bytes());
        }
        h.update(b"\0device");
        h.update(self.device.as_deref().unwrap_or("-").as_bytes());
    }

    fn hash_inputs(&self, h: &mut blake3::Hasher, inputs: &BTreeMap<String, String>) {
        for (name, k) in inputs {
            // Input keys also appear inside `args`; hashing them sorted here
            // guards ops that read inputs not named in args.
            if self.named {
                h.update(name.as_bytes());
                h.update(b"=");
            }
            h.update(k.as_bytes());
        }
    }

    /// The key of the same work on the same input *results*: every input
    /// key (in `inputs` and in `@key` references) replaced by the identity
    /// of what that input published (`identity`, `None` where it is not
    /// published or predates identities). Two steps reaching equal results
    /// by different routes (`best(t)` and `t.round(1)`), or one whose
    /// upstream re-ran and published the same result again, share it.
    pub fn content_key(&self, identity: &dyn Fn(&str) -> Option<String>) -> Option<String> {
        let inputs: BTreeMap<String, String> = self
            .inputs
            .iter()
            .map(|(n, k)| Some((n.clone(), identity(k)?)))
            .collect::<Option<_>>()?;
        let args: BTreeMap<String, serde_json::Value> = self
            .args
            .iter()
            .map(|(n, v)| Some((n.clone(), with_identities(v, identity)?)))
            .collect::<Option<_>>()?;
        let mut h = blake3::Hasher::new();
        h.update(b"lotto-content-v1\0");
        self.hash_work(
            &mut h,
            &serde_json::to_string(&args).unwrap_or_default(),
            &inputs,
        );
        h.update(b"\0code");
        for c in &self.code {
            h.update(c.as_bytes());
            h.update(b"\0");
        }
        Some(format!("c-{}", &h.finalize().to_hex()[..32]))
    }
}

/// `v` with every `@key` reference replaced by `@` and the identity of
/// what that key published.
fn with_identities(
    v: &serde_json::Value,
    identity: &dyn Fn(&str) -> Option<String>,
) -> Option<serde_json::Value> {
    use serde_json::Value as J;
    Some(match v {
        J::String(s) => match s.strip_prefix('@') {
            Some(k) => J::String(format!("@{}", identity(k)?)),
            None => v.clone(),
        },
        J::Array(items) => J::Array(
            items
                .iter()
                .map(|x| with_identities(x, identity))
                .collect::<Option<_>>()?,
        ),
        J::Object(m) => J::Object(
            m.iter()
                .map(|(k, x)| Some((k.clone(), with_identities(x, identity)?)))
                .collect::<Option<_>>()?,
        ),
        other => other.clone(),
    })
}

/// The store key of a sub-step (an IMP round, the features of a corpus):
/// derived from the op that owns it (name and version), the kind of
/// sub-step and the canonical JSON of everything it depends on, which must
/// name the keys of the artifacts it reads. Bumping the owner's version
/// gives every one of its sub-steps a new key.
pub fn sub_key(owner: &str, version: u32, kind: &str, deps: &serde_json::Value) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"lotto-sub-v2\0");
    h.update(owner.as_bytes());
    h.update(b"\0");
    h.update(&version.to_le_bytes());
    h.update(kind.as_bytes());
    h.update(b"\0");
    // serde_json's maps are sorted, so equal dependencies hash equally
    // whatever order the op built them in.
    h.update(serde_json::to_string(deps).unwrap_or_default().as_bytes());
    format!("sub-{}", &h.finalize().to_hex()[..32])
}

/// Canonical JSON of a value, with references replaced by input keys. A
/// config value (`adamw(...)`, `plot(...)`) carries its op's version when
/// above 1, so bumping a config op's version reruns the steps that use it
/// (version 1 is left out: keys made before config versions were hashed
/// stay valid).
pub fn canonical(
    v: &Value,
    keys: &dyn Fn(StepRef) -> String,
    versions: &OpVersions,
) -> serde_json::Value {
    use serde_json::json;
    match v {
        Value::Int(i) => json!(i),
        Value::Float(f) => json!(f),
        Value::Str(s) => json!(s),
        Value::Bool(b) => json!(b),
        Value::Sym(s) => json!({ "sym": s }),
        Value::Shape(a, b, c) => json!(format!("{a}{c}{b}")),
        Value::List(l) => {
            serde_json::Value::Array(l.iter().map(|x| canonical(x, keys, versions)).collect())
        }
        Value::Ref(r) => json!(format!("@{}", keys(*r))),
        Value::Config { op, args } => {
            let args = canonical_args(args, keys, versions);
            match versions.get(op.as_str()) {
                Some(v) if *v > 1 => json!({ "config": op, "version": v, "args": args }),
                _ => json!({ "config": op, "args": args }),
            }
        }
    }
}

pub fn canonical_args(
    args: &Args,
    keys: &dyn Fn(StepRef) -> String,
    versions: &OpVersions,
) -> BTreeMap<String, serde_json::Value> {
    args.iter()
        .map(|(k, v)| (k.clone(), canonical(v, keys, versions)))
        .collect()
}

/// The arguments that enter the key: all of them, except additive
/// parameters left at their default (see [`crate::Param::additive`]).
pub fn key_args<'a>(sig: &OpSig, args: &'a Args) -> std::borrow::Cow<'a, Args> {
    let skip: Vec<&str> = sig
        .params
        .iter()
        .filter(|p| p.additive && p.default.as_ref() == args.get(p.name))
        .map(|p| p.name)
        .collect();
    if skip.is_empty() {
        return std::borrow::Cow::Borrowed(args);
    }
    let mut a = args.clone();
    for k in skip {
        a.remove(k);
    }
    std::borrow::Cow::Owned(a)
}

/// The key of a port of a step: ports of a multi-output step differ.
pub fn port_key(step_key: &str, port: usize) -> String {
    if port == 0 {
        step_key.to_string()
    } else {
        format!("{step_key}.{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::{Output, Param};
    use crate::types::{PType, StepType};
    use serde_json::json;

    fn parts() -> KeyParts {
        KeyParts {
            op: "fit".into(),
            op_version: 1,
            args: [("epochs".to_string(), json!(3))].into_iter().collect(),
            inputs: [("dense".to_string(), "k1".to_string())]
                .into_iter()
                .collect(),
            files: [("a.wav".to_string(), "d1".to_string())]
                .into_iter()
                .collect(),
            device: Some("flex/f32".into()),
            named: false,
            code: ["fit@1".to_string()].into_iter().collect(),
        }
    }

    #[test]
    fn every_part_but_input_names_enters_the_key() {
        let base = parts().key();
        let changed = [
            KeyParts {
                op: "imp".into(),
                ..parts()
            },
            KeyParts {
                op_version: 2,
                ..parts()
            },
            KeyParts {
                args: [("epochs".to_string(), json!(4))].into_iter().collect(),
                ..parts()
            },
            KeyParts {
                inputs: [("dense".to_string(), "k2".to_string())]
                    .into_iter()
                    .collect(),
                ..parts()
            },
            KeyParts {
                files: [("a.wav".to_string(), "d2".to_string())]
                    .into_iter()
                    .collect(),
                ..parts()
            },
            KeyParts {
                device: None,
                ..parts()
            },
        ];
        for p in changed {
            assert_ne!(p.key(), base, "{p:?}");
        }
        // The name an input is bound to is for messages only, unless the
        // op writes names into its results.
        let renamed = KeyParts {
            inputs: [("other".to_string(), "k1".to_string())]
                .into_iter()
                .collect(),
            ..parts()
        };
        assert_eq!(renamed.key(), base);
        assert_eq!(base.len(), 32);
        let named = |p: KeyParts| KeyParts { named: true, ..p };
        assert_ne!(named(renamed.clone()).key(), named(parts()).key());
    }

    #[test]
    fn content_keys_follow_what_inputs_published_not_how_they_were_reached() {
        // Inputs `k1` and `k9` published the same result `r1`; `k2` another.
        let identity = |k: &str| match k {
            "k1" | "k9" => Some("r1".to_string()),
            "k2" => Some("r2".to_string()),
            _ => None,
        };
        let with_input = |k: &str| KeyParts {
            args: [("trained".to_string(), json!(format!("@{k}")))]
                .into_iter()
                .collect(),
            inputs: [("dense".to_string(), k.to_string())].into_iter().collect(),
            ..parts()
        };
        let (a, b, c) = (with_input("k1"), with_input("k9"), with_input("k2"));
        assert_ne!(a.key(), b.key());
        assert_eq!(a.content_key(&identity), b.content_key(&identity));
        assert_ne!(a.content_key(&identity), c.content_key(&identity));
        // Not known until every input has published.
        assert_eq!(with_input("k5").content_key(&identity), None);
        // Nor shared when the code upstream changed.
        let newer = KeyParts {
            code: ["fit@2".to_string()].into_iter().collect(),
            ..with_input("k9")
        };
        assert_ne!(a.content_key(&identity), newer.content_key(&identity));
        assert_eq!(
            newer.key(),
            with_input("k9").key(),
            "the key has it through its inputs"
        );
        // Content keys never collide with step keys.
        assert!(a.content_key(&identity).unwrap().starts_with("c-"));
    }

    #[test]
    fn sub_keys_follow_the_owner_version_and_the_dependencies() {
        let deps = json!({ "corpus": "k1", "spec": { "mels": 80 } });
        let k = sub_key("fbank", 1, "features", &deps);
        assert!(k.starts_with("sub-"));
        assert_eq!(k, sub_key("fbank", 1, "features", &deps));
        assert_ne!(k, sub_key("fbank", 2, "features", &deps));
        assert_ne!(k, sub_key("spectrogram", 1, "features", &deps));
        assert_ne!(k, sub_key("fbank", 1, "round", &deps));
        assert_ne!(
            k,
            sub_key(
                "fbank",
                1,
                "features",
                &json!({ "corpus": "k2", "spec": { "mels": 80 } })
            )
        );
    }

    #[test]
    fn config_versions_above_one_enter_the_canonical_form() {
        let cfg = Value::Config {
            op: "plot".into(),
            args: Args::new(),
        };
        let none = |_| String::new();
        let mut versions = OpVersions::new();
        versions.insert("plot", 1);
        assert_eq!(
            canonical(&cfg, &none, &versions),
            json!({ "config": "plot", "args": {} })
        );
        versions.insert("plot", 3);
        assert_eq!(canonical(&cfg, &none, &versions)["version"], 3);
        let r = Value::Ref(StepRef { step: 0, port: 0 });
        assert_eq!(canonical(&r, &|_| "abc".into(), &versions), json!("@abc"));
    }

    #[test]
    fn an_additive_parameter_at_its_default_stays_out_of_the_key() {
        let sig = OpSig::new(
            "op",
            "",
            1,
            Output::One(StepType("Corpus")),
            "",
            vec![
                Param::opt("old", PType::Int, 1, "published first"),
                Param::opt("new", PType::Int, 0, "added later").additive(),
            ],
        );
        let mut args = Args::new();
        args.insert("old".into(), Value::Int(1));
        args.insert("new".into(), Value::Int(0));
        let kept = key_args(&sig, &args);
        assert_eq!(kept.keys().collect::<Vec<_>>(), ["old"]);
        args.insert("new".into(), Value::Int(5));
        assert_eq!(key_args(&sig, &args).len(), 2);
    }
}
