//! Pass 4: runs over several seeds. A recipe that declares
//! `param seeds = [1, 2, 3]` gets one copy of every step that draws from
//! the run seed (its `seeded` parameters) or reads such a step, named with
//! `seed=` in its sweep suffix (`dense[seed=2]`, `noisy[level=0.2,seed=2]`);
//! steps that draw nothing from it (corpora, features, a fixed split) stay
//! one step that every copy shares, so they run once. A `report` is not
//! copied: it reads every seed's copy, and its parts aggregate rows that
//! differ only by seed. With one seed nothing is copied or renamed, so a
//! one-seed recipe keeps its step names and cache keys.

use crate::program::Step;
use crate::registry::Registry;
use crate::value::{StepRef, Value};

/// The steps of a recipe run over `seeds`. The registry's report op's
/// steps read every copy instead of being copied; an op that pools seeds
/// (`OpSig::pools_seeds`) gets every seed's copy of what it reads.
pub fn expand(steps: Vec<Step>, seeds: &[i64], reg: &Registry) -> Vec<Step> {
    if seeds.len() < 2 {
        return steps;
    }
    let report_op = reg.report_op();
    let is_report = |s: &Step| Some(s.op) == report_op;
    let copied = draws_from_seed(&steps, &is_report);
    // New index of each original step, per seed (one entry: shared).
    let mut at: Vec<Vec<usize>> = Vec::with_capacity(steps.len());
    let mut next = 0;
    for c in &copied {
        let n = if *c { seeds.len() } else { 1 };
        at.push((next..next + n).collect());
        next += n;
    }
    let mut out = Vec::with_capacity(next);
    for (i, s) in steps.iter().enumerate() {
        if !copied[i] {
            let report = is_report(s);
            let mut s = s.clone();
            let every = |r: StepRef| at[r.step].iter().map(move |&step| StepRef { step, ..r });
            for v in s.args.values_mut() {
                *v = if report {
                    all_copies(v, &every)
                } else {
                    remap(v, &|r| StepRef {
                        step: at[r.step][0],
                        ..r
                    })
                };
            }
            out.push(s);
            continue;
        }
        for (k, &seed) in seeds.iter().enumerate() {
            let mut c = s.clone();
            let pick = |r: StepRef| StepRef {
                step: *at[r.step].get(k).unwrap_or(&at[r.step][0]),
                ..r
            };
            for v in c.args.values_mut() {
                *v = remap(v, &pick);
            }
            for p in &c.seeded {
                c.args.insert(p.to_string(), Value::Int(seed));
            }
            let pools = reg.get(s.op).map_or(&[][..], |o| o.sig().pools_seeds);
            for (from, into) in pools {
                if let Some(Value::Ref(r)) = s.args.get(*from) {
                    let all = at[r.step]
                        .iter()
                        .map(|&step| Value::Ref(StepRef { step, ..*r }));
                    c.args.insert(into.to_string(), Value::List(all.collect()));
                }
            }
            c.name = with_seed(&c.name, seed);
            for (name, _) in &mut c.outputs {
                *name = with_seed(name, seed);
            }
            out.push(c);
        }
    }
    out
}

/// Which steps draw from the run seed, directly or through a step they
/// read (reports excepted): a walk from the seeded steps along the edges
/// to their readers, so the order of the steps does not matter.
fn draws_from_seed(steps: &[Step], is_report: &dyn Fn(&Step) -> bool) -> Vec<bool> {
    let mut readers: Vec<Vec<usize>> = vec![vec![]; steps.len()];
    for (i, s) in steps.iter().enumerate() {
        for r in s.deps() {
            readers[r.step].push(i);
        }
    }
    let mut copied = vec![false; steps.len()];
    let mut todo: Vec<usize> = (0..steps.len())
        .filter(|&i| !steps[i].seeded.is_empty() && !is_report(&steps[i]))
        .collect();
    for &i in &todo {
        copied[i] = true;
    }
    while let Some(i) = todo.pop() {
        for &j in &readers[i] {
            if !copied[j] && !is_report(&steps[j]) {
                copied[j] = true;
                todo.push(j);
            }
        }
    }
    copied
}

fn remap(v: &Value, f: &dyn Fn(StepRef) -> StepRef) -> Value {
    match v {
        Value::Ref(r) => Value::Ref(f(*r)),
        Value::List(l) => Value::List(l.iter().map(|x| remap(x, f)).collect()),
        Value::Config { op, args } => Value::Config {
            op: op.clone(),
            args: args.iter().map(|(k, x)| (k.clone(), remap(x, f))).collect(),
        },
        other => other.clone(),
    }
}

/// A report's argument with each copied step replaced by all its copies:
/// spliced into lists, and a single reference to a copied step becoming
/// the list of its copies.
fn all_copies<I: Iterator<Item = StepRef>>(v: &Value, every: &dyn Fn(StepRef) -> I) -> Value {
    let one = |r: StepRef| {
        let all: Vec<Value> = every(r).map(Value::Ref).collect();
        match <[Value; 1]>::try_from(all) {
            Ok([single]) => single,
            Err(all) => Value::List(all),
        }
    };
    match v {
        Value::Ref(r) => one(*r),
        Value::List(l) => Value::List(
            l.iter()
                .flat_map(|x| match x {
                    Value::Ref(r) => every(*r).map(Value::Ref).collect::<Vec<_>>(),
                    other => vec![all_copies(other, every)],
                })
                .collect(),
        ),
        Value::Config { op, args } => Value::Config {
            op: op.clone(),
            args: args
                .iter()
                .map(|(k, x)| (k.clone(), all_copies(x, every)))
                .collect(),
        },
        other => other.clone(),
    }
}

/// `dense` → `dense[seed=2]`; `noisy[level=0.2]` → `noisy[level=0.2,seed=2]`.
pub fn with_seed(name: &str, seed: i64) -> String {
    match name.strip_suffix(']') {
        Some(head) if sweep_values(name).is_some() => format!("{head},seed={seed}]"),
        _ => format!("{name}[seed={seed}]"),
    }
}

/// A name's sweep suffix as the name before it and its `(var, value)`
/// pairs (`noisy[level=0.2,seed=2]` → `noisy`, level 0.2, seed 2); `None`
/// for a name without one.
pub fn sweep_values(name: &str) -> Option<(&str, Vec<(&str, &str)>)> {
    let (base, inner) = name.strip_suffix(']')?.rsplit_once('[')?;
    if inner.is_empty() {
        return None;
    }
    let pairs: Option<Vec<(&str, &str)>> = inner.split(',').map(|kv| kv.split_once('=')).collect();
    Some((base, pairs?))
}

/// A name without its `seed=` entry: the name rows of every seed share.
pub fn without_seed(name: &str) -> String {
    let Some((base, pairs)) = sweep_values(name) else {
        return name.to_string();
    };
    let kept: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| *k != "seed")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}[{}]", kept.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{check_source, CheckOpts};
    use crate::diag::Code;
    use crate::program::Checked;
    use crate::test_registry::registry;

    const RECIPE: &str = "param seeds = [1, 2]\ndata a = source(\"f\")\ndata t = take(a, n: 2)\nfor e in [1, 2] { model m = train(t, epochs: e) }\ndata v = take(a, seed: seed)\nmodel w = train(take(v, n: 3))\nreport \"r\" = m, w\n";

    fn check(text: &str, set: &[(&str, &str)]) -> Result<Checked, Vec<(Code, String)>> {
        let opts = CheckOpts {
            set: set
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        check_source("t.lotto", text, &std::env::temp_dir(), &registry(), &opts)
            .map_err(|(d, _)| d.0.into_iter().map(|d| (d.code, d.message)).collect())
    }

    fn names(c: &Checked) -> Vec<&str> {
        c.steps.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn what_draws_from_the_run_seed_is_copied_per_seed_and_the_rest_is_shared() {
        let c = check(RECIPE, &[]).unwrap();
        assert_eq!(c.seeds, [1, 2]);
        assert_eq!(
            names(&c),
            [
                "a",
                "t",
                "m[e=1,seed=1]",
                "m[e=1,seed=2]",
                "m[e=2,seed=1]",
                "m[e=2,seed=2]",
                "v[seed=1]",
                "v[seed=2]",
                "w[seed=1]",
                "w[seed=2]",
                "report \"r\"",
                "take(v, n: 3)[seed=1]",
                "take(v, n: 3)[seed=2]",
            ]
        );
        let step = |n: &str| &c.steps[c.find(n).unwrap()];
        // `train` takes the run seed when left out; `take` only when told.
        assert_eq!(step("m[e=2,seed=2]").args["seed"], Value::Int(2));
        assert_eq!(step("v[seed=1]").args["seed"], Value::Int(1));
        assert_eq!(step("t").args["seed"], Value::Int(0));
        // Each copy reads the shared step, or its own seed's copy.
        let r = |s: &str| {
            Value::Ref(StepRef {
                step: c.find(s).unwrap(),
                port: 0,
            })
        };
        assert_eq!(
            step("m[e=1,seed=2]").args["data"],
            Value::List(vec![r("t")])
        );
        assert_eq!(step("take(v, n: 3)[seed=2]").args["data"], r("v[seed=2]"));
        assert_eq!(
            step("w[seed=2]").args["data"],
            Value::List(vec![r("take(v, n: 3)[seed=2]")])
        );
        // The report reads every copy, in seed order.
        let parts = step("report \"r\"").args["parts"].clone();
        let want: Vec<Value> = [
            "m[e=1,seed=1]",
            "m[e=1,seed=2]",
            "m[e=2,seed=1]",
            "m[e=2,seed=2]",
            "w[seed=1]",
            "w[seed=2]",
        ]
        .into_iter()
        .map(r)
        .collect();
        assert_eq!(parts, Value::List(want));
    }

    #[test]
    fn an_op_that_pools_seeds_reads_every_seeds_copy() {
        let text =
            "param seeds = [1, 2]\ndata a = source(\"f\")\nmodel m = train(a)\nmodel p = pick(m)\n";
        let c = check(text, &[]).unwrap();
        let r = |s: &str| {
            Value::Ref(StepRef {
                step: c.find(s).unwrap(),
                port: 0,
            })
        };
        for p in ["p[seed=1]", "p[seed=2]"] {
            let s = &c.steps[c.find(p).unwrap()];
            assert_eq!(
                s.args["all"],
                Value::List(vec![r("m[seed=1]"), r("m[seed=2]")])
            );
        }
        assert_eq!(
            c.steps[c.find("p[seed=2]").unwrap()].args["model"],
            r("m[seed=2]")
        );
        // One seed: nothing pooled, the default stays.
        let one = check(text, &[("seeds", "[4]")]).unwrap();
        assert_eq!(
            one.steps[one.find("p").unwrap()].args["all"],
            Value::List(vec![])
        );
    }

    #[test]
    fn one_seed_names_and_values_are_those_written_out() {
        let one = check(RECIPE, &[("seeds", "7")]).unwrap();
        let written = check(
            &RECIPE
                .replace("param seeds = [1, 2]", "param s = 7")
                .replace("seed: seed", "seed: s")
                .replace("train(t, epochs: e)", "train(t, epochs: e, seed: 7)")
                .replace("train(take(v, n: 3))", "train(take(v, n: 3), seed: 7)"),
            &[],
        )
        .unwrap();
        assert_eq!(names(&one), names(&written));
        for (a, b) in one.steps.iter().zip(&written.steps) {
            assert_eq!(a.args, b.args, "{}", a.name);
        }
    }

    #[test]
    fn bad_seeds_and_misplaced_run_seeds_are_named() {
        for (set, want) in [
            ("[1, 1]", "`seeds` lists 1 twice"),
            ("[]", "`seeds` needs 1 to 100 seeds, not 0"),
            ("[1.5]", "`seeds` holds whole numbers from 0 up"),
            ("-3", "`seeds` holds whole numbers from 0 up"),
        ] {
            let e = check(RECIPE, &[("seeds", set)]).unwrap_err();
            assert!(
                e.iter().any(|(c, m)| *c == Code::BadParam && m == want),
                "{set}: {e:?}"
            );
        }
        let e = check(
            "param seeds = [1, 2]\ndata a = source(\"f\")\ndata t = take(a, hop: seed)\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(e[0].0, Code::TypeMismatch);
        assert!(e[0].1.contains("`hop` cannot take it"), "{e:?}");
        // Without `param seeds`, `seed` names nothing.
        assert!(check(
            "data a = source(\"f\")\ndata t = take(a, seed: seed)\n",
            &[]
        )
        .is_err());
    }

    #[test]
    fn seed_joins_the_sweep_suffix_and_leaves_it_again() {
        assert_eq!(with_seed("dense", 2), "dense[seed=2]");
        assert_eq!(with_seed("noisy[level=0.2]", 2), "noisy[level=0.2,seed=2]");
        assert_eq!(with_seed("lth.round(3)", 1), "lth.round(3)[seed=1]");
        assert_eq!(with_seed("a,b[n=1]", 1), "a,b[n=1,seed=1]");
        for n in ["dense", "noisy[level=0.2]", "lth.round(3)", "x[1]"] {
            assert_eq!(without_seed(&with_seed(n, 7)), n);
        }
        assert_eq!(without_seed("x[1]"), "x[1]");
        assert_eq!(
            sweep_values("noisy[level=0.2,seed=2]"),
            Some(("noisy", vec![("level", "0.2"), ("seed", "2")]))
        );
        assert_eq!(sweep_values("x[]"), None);
    }
}
