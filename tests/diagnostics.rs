//! Every diagnostic code, rendered in full (colour off, width 100), as a
//! user sees it from `lotto check`. Regenerate after a deliberate wording
//! change with `python3 tests/gen_diagnostics.py` and review the diff. One
//! file of some 700 lines: a rendered fixture per code, read side by side.

mod common;
use common::*;

fn check(files: &[(&str, &str)], extra: &[&str]) -> String {
    let ws = Ws::empty();
    for (n, t) in files {
        ws.write(n, t);
    }
    let mut args = vec!["check", "r.lotto"];
    args.extend_from_slice(extra);
    let out = ws.run(&args);
    out.failure();
    out.stderr()
}

#[test]
fn syntax_unclosed_call() {
    let expected = r#"r.lotto:2:1: error
lotto::syntax

  × expected `,` or `)`, found `corpus`
   ╭─[r.lotto:2:1]
 1 │ corpus a = manifest("x.tsv"
 2 │ corpus b = take(a, n: 2)
   · ───┬──
   ·    ╰── here
   ╰────
  help: the `(` opened at line 1, column 20 is not closed; add `)`

1 error found
"#;
    assert_eq!(
        check(
            &[(
                "r.lotto",
                "corpus a = manifest(\"x.tsv\"\ncorpus b = take(a, n: 2)\n"
            )],
            &[]
        ),
        expected
    );
}

#[test]
fn syntax_bad_token() {
    let expected = r#"r.lotto:2:23: error
lotto::syntax

  × expected a value, found `@`
   ╭─[r.lotto:2:23]
 1 │ corpus a = manifest("x.tsv")
 2 │ corpus b = take(a, n: @)
   ·                       ┬
   ·                       ╰── here
   ╰────
  help: a value is a number, a quantity (`20ms`, `20%`, `5dB`), a shape (`1x4`), a string, `true`/
        `false`, a list `[...]`, a name or a call

1 error found
"#;
    assert_eq!(
        check(
            &[(
                "r.lotto",
                "corpus a = manifest(\"x.tsv\")\ncorpus b = take(a, n: @)\n"
            )],
            &[]
        ),
        expected
    );
}

#[test]
fn syntax_missing_equals() {
    let expected = r#"r.lotto:2:9: error
lotto::syntax

  × expected `=`, found `3`
   ╭─[r.lotto:2:9]
 1 │ corpus a = manifest("x")
 2 │ param x 3
   ·         ┬
   ·         ╰── here
   ╰────
  help: a statement looks like `kind name = op(arg, name: value)`; see docs/language.md

1 error found
"#;
    assert_eq!(
        check(
            &[("r.lotto", "corpus a = manifest(\"x\")\nparam x 3\n")],
            &[]
        ),
        expected
    );
}

#[test]
fn keyword_as_name() {
    let expected = r#"r.lotto:1:8: error
lotto::syntax

  × `for` is a keyword and cannot be a name
   ╭─[r.lotto:1:8]
 1 │ corpus for = manifest("x")
   ·        ─┬─
   ·         ╰── keyword
   ╰────
  help: choose another name

1 error found
"#;
    assert_eq!(
        check(&[("r.lotto", "corpus for = manifest(\"x\")\n")], &[]),
        expected
    );
}

#[test]
fn unknown_op() {
    let expected = r#"r.lotto:1:15: error
lotto::unknown_op

  × unknown op `manifset`
   ╭─[r.lotto:1:15]
 1 │ corpus tiny = manifset("data/m.tsv")
   ·               ────┬───
   ·                   ╰── no such op
   ╰────
  help: did you mean `manifest`?

1 error found
"#;
    assert_eq!(
        check(
            &[("r.lotto", "corpus tiny = manifset(\"data/m.tsv\")\n")],
            &[]
        ),
        expected
    );
}

#[test]
fn unknown_name() {
    let expected = r#"r.lotto:2:17: error
lotto::unknown_name

  × unknown name `tinny`
   ╭─[r.lotto:2:17]
 1 │ corpus tiny = manifest("m.tsv")
 2 │ corpus b = take(tinny, n: 2)
   ·                 ──┬──
   ·                   ╰── not defined
   ╰────
  help: did you mean `tiny`?

1 error found
"#;
    assert_eq!(
        check(
            &[(
                "r.lotto",
                "corpus tiny = manifest(\"m.tsv\")\ncorpus b = take(tinny, n: 2)\n"
            )],
            &[]
        ),
        expected
    );
}

#[test]
fn unknown_kind() {
    let expected = r#"r.lotto:1:1: error
lotto::unknown_kind

  × unknown statement kind `corpsu`
   ╭─[r.lotto:1:1]
 1 │ corpsu tiny = manifest("m.tsv")
   · ───┬──
   ·    ╰── not a kind
   ╰────
  help: did you mean `corpus`?

1 error found
"#;
    assert_eq!(
        check(&[("r.lotto", "corpsu tiny = manifest(\"m.tsv\")\n")], &[]),
        expected
    );
}

#[test]
fn missing_arg() {
    let expected = r#"r.lotto:1:12: error
lotto::missing_arg

  × `take` needs argument `corpus`
   ╭─[r.lotto:1:12]
 1 │ corpus a = take()
   ·            ───┬──
   ·               ╰── `corpus` missing
   ╰────
  help: `corpus`: a Corpus step — the corpus

r.lotto:1:12: error
lotto::missing_arg

  × `take` needs argument `n`
   ╭─[r.lotto:1:12]
 1 │ corpus a = take()
   ·            ───┬──
   ·               ╰── `n` missing
   ╰────
  help: `n`: an integer — how many

2 errors found
"#;
    assert_eq!(check(&[("r.lotto", "corpus a = take()\n")], &[]), expected);
}

#[test]
fn unknown_arg() {
    let expected = r#"r.lotto:1:33: error
lotto::unknown_arg

  × `manifest` has no parameter `on_eror`
   ╭─[r.lotto:1:33]
 1 │ corpus tiny = manifest("m.tsv", on_eror: skip)
   ·                                 ───┬───
   ·                                    ╰── unknown argument
   ╰────
  help: did you mean `on_error`?

1 error found
"#;
    assert_eq!(
        check(
            &[(
                "r.lotto",
                "corpus tiny = manifest(\"m.tsv\", on_eror: skip)\n"
            )],
            &[]
        ),
        expected
    );
}

#[test]
fn duplicate_arg() {
    let expected = r#"r.lotto:2:41: error
lotto::duplicate_arg

  × argument `seed` is given twice
   ╭─[r.lotto:2:41]
 1 │ corpus t = manifest("m.tsv")
 2 │ split a, b = t.split(0.5, 0.5, seed: 1, seed: 3)
   ·                                         ──┬─
   ·                                           ╰── again here
   ╰────
  help: remove one of them (a positional argument also counts)

1 error found
"#;
    assert_eq!(check(&[("r.lotto", "corpus t = manifest(\"m.tsv\")\nsplit a, b = t.split(0.5, 0.5, seed: 1, seed: 3)\n")], &[]), expected);
}

#[test]
fn type_mismatch() {
    let expected = r#"r.lotto:1:21: error
lotto::type_mismatch

  × `dir` takes a path string, found the number 42
   ╭─[r.lotto:1:21]
 1 │ noise n = noise_dir(42)
   ·                     ─┬
   ·                      ╰── expected a path string
   ╰────
  help: the folder

1 error found
"#;
    assert_eq!(
        check(&[("r.lotto", "noise n = noise_dir(42)\n")], &[]),
        expected
    );
}

#[test]
fn wrong_step_type() {
    let expected = r#"r.lotto:2:24: error
lotto::type_mismatch

  × `eval` takes an Eval step, found `t`, a Corpus
   ╭─[r.lotto:2:24]
 1 │ corpus t = manifest("m.tsv")
 2 │ report "out" = summary(t)
   ·                        ┬
   ·                        ╰── expected an Eval step
   ╰────
  help: an evaluation table

1 error found
"#;
    assert_eq!(
        check(
            &[(
                "r.lotto",
                "corpus t = manifest(\"m.tsv\")\nreport \"out\" = summary(t)\n"
            )],
            &[]
        ),
        expected
    );
}

#[test]
fn unit_mismatch() {
    let expected = r#"r.lotto:1:45: error
lotto::unit_mismatch

  × `%` is not a unit for `hop`
   ╭─[r.lotto:1:45]
 1 │ features f = spectrogram(window: 20ms, hop: 20%)
   ·                                             ─┬─
   ·                                              ╰── `hop` takes a duration (`20ms`, `1.5s`)
   ╰────
  help: frame hop

1 error found
"#;
    assert_eq!(
        check(
            &[(
                "r.lotto",
                "features f = spectrogram(window: 20ms, hop: 20%)\n"
            )],
            &[]
        ),
        expected
    );
}

#[test]
fn unit_missing() {
    let expected = r#"r.lotto:1:34: error
lotto::unit_mismatch

  × `window` needs a unit
   ╭─[r.lotto:1:34]
 1 │ features f = spectrogram(window: 20)
   ·                                  ─┬
   ·                                   ╰── `window` takes a duration (`20ms`, `1.5s`)
   ╰────
  help: write e.g. `20ms`

1 error found
"#;
    assert_eq!(
        check(
            &[("r.lotto", "features f = spectrogram(window: 20)\n")],
            &[]
        ),
        expected
    );
}

#[test]
fn out_of_range() {
    let expected = r#"r.lotto:5:25: error
lotto::out_of_range

  × `rate` = 120% is out of range
   ╭─[r.lotto:5:25]
 4 │ train d = fit(s, t, t, features: f)
 5 │ ticket x = imp(d, rate: 120%)
   ·                         ──┬─
   ·                           ╰── must be 1% to 99%
   ╰────
  help: `rate`: share of the remaining weights pruned per round

1 error found
"#;
    assert_eq!(check(&[("r.lotto", "corpus t = manifest(\"m.tsv\")\nmodel s = cnn_lstm()\nfeatures f = fbank()\ntrain d = fit(s, t, t, features: f)\nticket x = imp(d, rate: 120%)\n")], &[]), expected);
}

#[test]
fn duplicate_binding() {
    let expected = r#"r.lotto:2:8: error
lotto::duplicate_binding

  × `a` is bound twice
   ╭─[r.lotto:2:8]
 1 │ corpus a = manifest("m.tsv")
 2 │ corpus a = manifest("n.tsv")
   ·        ┬
   ·        ╰── second binding
   ╰────
  help: the first binding is at r.lotto:1:8; rename one of them

1 error found
"#;
    assert_eq!(
        check(
            &[(
                "r.lotto",
                "corpus a = manifest(\"m.tsv\")\ncorpus a = manifest(\"n.tsv\")\n"
            )],
            &[]
        ),
        expected
    );
}

#[test]
fn cycle() {
    let expected = r#"r.lotto:1:1: error
lotto::cycle

  × dependency cycle: c1 -> c2 -> c1
   ╭─[r.lotto:1:1]
 1 │ corpus c1 = take(c2, n: 1)
   · ─────────────┬─────────────
   ·              ╰── this step depends on itself through the cycle
 2 │ corpus c2 = take(c1, n: 1)
   ╰────
  help: a step cannot use its own result; break the cycle (other steps in it: `c2` at r.lotto:2:1)

1 error found
"#;
    assert_eq!(
        check(
            &[(
                "r.lotto",
                "corpus c1 = take(c2, n: 1)\ncorpus c2 = take(c1, n: 1)\n"
            )],
            &[]
        ),
        expected
    );
}

#[test]
fn import_not_found() {
    let expected = r#"r.lotto:1:1: error
lotto::import_not_found

  × cannot read recipe `missing.lotto`: no such file
   ╭─[r.lotto:1:1]
 1 │ import "missing.lotto"
   · ───────────┬──────────
   ·            ╰── imported here
   ╰────
  help: import paths are relative to the importing file's folder

1 error found
"#;
    assert_eq!(
        check(&[("r.lotto", "import \"missing.lotto\"\n")], &[]),
        expected
    );
}

#[test]
fn import_cycle() {
    let expected = r#"b.lotto:1:1: error
lotto::import_cycle

  × import cycle: r.lotto -> b.lotto -> r.lotto
   ╭─[b.lotto:1:1]
 1 │ import "r.lotto"
   · ────────┬───────
   ·         ╰── this import closes the cycle
   ╰────
  help: move the shared statements into a file that neither imports

1 error found
"#;
    assert_eq!(
        check(
            &[
                ("r.lotto", "import \"b.lotto\"\n"),
                ("b.lotto", "import \"r.lotto\"\n")
            ],
            &[]
        ),
        expected
    );
}

#[test]
fn kind_mismatch() {
    let expected = r#"r.lotto:1:1: error
lotto::kind_mismatch

  × `train` binds a Trained, but `manifest` returns a Corpus
   ╭─[r.lotto:1:1]
 1 │ train t = manifest("x.tsv")
   · ──┬──
   ·   ╰── expects a Trained
   ╰────
  help: use `corpus` for this statement, or call an op that returns a Trained

1 error found
"#;
    assert_eq!(
        check(&[("r.lotto", "train t = manifest(\"x.tsv\")\n")], &[]),
        expected
    );
}

#[test]
fn binding_count() {
    let expected = r#"r.lotto:1:1: error
lotto::binding_count

  × `manifest` returns 1 value but 2 names are bound
   ╭─[r.lotto:1:1]
 1 │ split a1, a2 = manifest("x.tsv")
   · ────────────────┬────────────────
   ·                 ╰── binding
   ╰────
  help: bind one name per returned value

1 error found
"#;
    assert_eq!(
        check(&[("r.lotto", "split a1, a2 = manifest(\"x.tsv\")\n")], &[]),
        expected
    );
}

#[test]
fn unsafe_path() {
    let expected = r#"r.lotto:6:8: error
lotto::unsafe_path

  × report path `../out` is outside the workspace
   ╭─[r.lotto:6:8]
 5 │ eval e = wer([d], on: [t])
 6 │ report "../out" = summary(e)
   ·        ────┬───
   ·            ╰── absolute or `..` path
   ╰────
  help: write reports inside the workspace, or pass --allow-outside to permit this deliberately

1 error found
"#;
    assert_eq!(check(&[("r.lotto", "corpus t = manifest(\"m.tsv\")\nmodel s = cnn_lstm()\nfeatures f = fbank()\ntrain d = fit(s, t, t, features: f)\neval e = wer([d], on: [t])\nreport \"../out\" = summary(e)\n")], &[]), expected);
}

#[test]
fn split_sum() {
    let expected = r#"r.lotto:2:22: error
lotto::out_of_range

  × split fractions must sum to 1, they sum to 0.9
   ╭─[r.lotto:2:22]
 1 │ corpus t = manifest("m.tsv")
 2 │ split a, b = t.split(0.5, 0.4)
   ·                      ────┬───
   ·                          ╰── invalid
   ╰────
  help: see `lotto ops split`

1 error found
"#;
    assert_eq!(
        check(
            &[(
                "r.lotto",
                "corpus t = manifest(\"m.tsv\")\nsplit a, b = t.split(0.5, 0.4)\n"
            )],
            &[]
        ),
        expected
    );
}

#[test]
fn param_refers_to_itself() {
    let expected = r#"r.lotto:1:11: error
lotto::type_mismatch

  × `for` needs a list of values
   ╭─[r.lotto:1:11]
 1 │ param a = b
   ·           ─┬
   ·            ╰── not a list
 2 │ param b = a
   ╰────
  help: write the values inline: `for x in [1, 2, 3] { ... }`

1 error found
"#;
    assert_eq!(
        check(
            &[(
                "r.lotto",
                "param a = b\nparam b = a\nfor x in a { corpus c = manifest(\"x\") }\n"
            )],
            &[]
        ),
        expected
    );
}

#[test]
fn set_unknown_param() {
    let expected = r#"error
lotto::bad_param

  × `--set round=...` names no `param` of this recipe
  help: did you mean `rounds`?

1 error found
"#;
    assert_eq!(
        check(
            &[(
                "r.lotto",
                "param rounds = 3\ncorpus t = manifest(\"m.tsv\")\n"
            )],
            &["--set", "round=4"]
        ),
        expected
    );
}

/// A reader that stops early (`lotto graph big.lotto | head -1`) ends
/// lotto quietly, as with other Unix tools, instead of a "Broken pipe"
/// panic. The graph is far larger than a pipe's buffer, so lotto is still
/// writing when the reader goes away.
#[test]
fn closed_stdout_ends_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let mut recipe = String::from("corpus c0 = manifest(\"m.tsv\")\n");
    for i in 1..3000 {
        recipe += &format!("corpus c{i} = filter(c{}, min: 1s, max: 10s)\n", i - 1);
    }
    std::fs::write(dir.path().join("big.lotto"), recipe).unwrap();
    let mut child = lotto_in(dir.path(), &["graph", "big.lotto"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(!first.is_empty());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
}

/// Anonymous steps created inside arguments (`lth.round(2)`) come after the
/// named steps, numbered in statement order and shared when written twice,
/// on a recipe of 300 statements.
#[test]
fn anonymous_steps_are_numbered_in_statement_order_on_big_recipes() {
    let ws = Ws::empty();
    let mut r = SMALL.to_string();
    r += "ticket lth = imp(dense, rounds: 2, rate: 50%)\n";
    r += "eval first = wer([lth.round(2)], on: [dev])\n";
    for i in 0..300 {
        r += &format!("eval e{i} = wer([lth.round(1), dense], on: [dev])\n");
    }
    r += "eval last = wer([lth.round(2)], on: [train])\n";
    ws.write("r.lotto", &r);
    let graph = ws
        .run(&["graph", "r.lotto", "--format", "mermaid"])
        .success()
        .stdout();
    let id = |label: &str| {
        let at = graph
            .find(&format!("[\"{label}<br/>"))
            .unwrap_or_else(|| panic!("{label} not in graph:\n{graph}"));
        let start = graph[..at].rfind('s').unwrap();
        graph[start + 1..at].parse::<usize>().unwrap()
    };
    // Named: all, the split, mel, m, dense, lth, first, e0..e299, last.
    let named = 6 + 1 + 300 + 1;
    assert_eq!(id("lth.round(2)"), named);
    assert_eq!(id("lth.round(1)"), named + 1);
    assert_eq!(graph.matches("lth.round(").count(), 2, "{graph}");
}
