//! lotto's standard library of operations: corpora and audio, features,
//! noise, models, training, lottery tickets, evaluation and reports. Each
//! op declares its typed signature and version in the registry; the
//! interpreter checks recipes against it and runs ops through it.

pub mod arch;
pub mod audio;
pub mod beam;
pub mod corpus;
pub mod device;
pub mod eval;
pub mod export;
pub mod features;
pub mod hostconv;
pub mod hostlstm;
pub mod hostmat;
pub mod lm;
pub mod loaders;
pub mod models;
pub mod nn;
pub mod op;
pub mod plot;
pub mod report;
pub mod rng;
pub mod sphere;
pub mod tensor_io;
pub mod text;
pub mod tickets;
pub mod train;

pub use burn;
use lotto_interpreter::Registry;

/// Every op of the standard library.
pub fn registry() -> Registry {
    let mut r = Registry::new();
    corpus::register(&mut r);
    loaders::register(&mut r);
    features::register(&mut r);
    models::register(&mut r);
    tickets::register(&mut r);
    eval::register(&mut r);
    report::register(&mut r);
    r
}

#[cfg(test)]
mod tests {
    use lotto_interpreter::key::canonical;
    use lotto_interpreter::value::Value;

    /// A config value's op version enters cache keys once it is above 1,
    /// so bumping `plot` reruns the reports that draw plots.
    #[test]
    fn config_op_versions_above_one_enter_keys() {
        let reg = super::registry();
        let cfg = |op: &str| Value::Config {
            op: op.into(),
            args: Default::default(),
        };
        let keys = |_| String::new();
        let plot = canonical(&cfg("plot"), &keys, Some(&reg));
        let v = reg.get("plot").unwrap().sig().version;
        assert!(v > 1);
        assert_eq!(plot["version"], v);
        let adamw = canonical(&cfg("adamw"), &keys, Some(&reg));
        assert_eq!(adamw, canonical(&cfg("adamw"), &keys, None));
        assert!(adamw.get("version").is_none());
    }
}
