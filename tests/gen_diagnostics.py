import subprocess, os, tempfile, json, sys
cases = [
 ("syntax_unclosed_call", {"r.lotto": 'corpus a = manifest("x.tsv"\ncorpus b = take(a, n: 2)\n'}),
 ("syntax_bad_token", {"r.lotto": 'corpus a = manifest("x.tsv")\ncorpus b = take(a, n: @)\n'}),
 ("syntax_missing_equals", {"r.lotto": 'corpus a = manifest("x")\nparam x 3\n'}),
 ("keyword_as_name", {"r.lotto": 'corpus for = manifest("x")\n'}),
 ("unknown_op", {"r.lotto": 'corpus tiny = manifset("data/m.tsv")\n'}),
 ("unknown_name", {"r.lotto": 'corpus tiny = manifest("m.tsv")\ncorpus b = take(tinny, n: 2)\n'}),
 ("unknown_kind", {"r.lotto": 'corpsu tiny = manifest("m.tsv")\n'}),
 ("missing_arg", {"r.lotto": 'corpus a = take()\n'}),
 ("unknown_arg", {"r.lotto": 'corpus tiny = manifest("m.tsv", on_eror: skip)\n'}),
 ("duplicate_arg", {"r.lotto": 'corpus t = manifest("m.tsv")\nsplit a, b = t.split(0.5, 0.5, seed: 1, seed: 3)\n'}),
 ("type_mismatch", {"r.lotto": 'noise n = noise_dir(42)\n'}),
 ("wrong_step_type", {"r.lotto": 'corpus t = manifest("m.tsv")\nreport "out" = summary(t)\n'}),
 ("unit_mismatch", {"r.lotto": 'features f = spectrogram(window: 20ms, hop: 20%)\n'}),
 ("unit_missing", {"r.lotto": 'features f = spectrogram(window: 20)\n'}),
 ("out_of_range", {"r.lotto": 'corpus t = manifest("m.tsv")\nmodel s = cnn_lstm()\nfeatures f = fbank()\ntrain d = fit(s, t, t, features: f)\nticket x = imp(d, rate: 120%)\n'}),
 ("duplicate_binding", {"r.lotto": 'corpus a = manifest("m.tsv")\ncorpus a = manifest("n.tsv")\n'}),
 ("cycle", {"r.lotto": 'corpus c1 = take(c2, n: 1)\ncorpus c2 = take(c1, n: 1)\n'}),
 ("import_not_found", {"r.lotto": 'import "missing.lotto"\n'}),
 ("import_cycle", {"r.lotto": 'import "b.lotto"\n', "b.lotto": 'import "r.lotto"\n'}),
 ("kind_mismatch", {"r.lotto": 'train t = manifest("x.tsv")\n'}),
 ("binding_count", {"r.lotto": 'split a1, a2 = manifest("x.tsv")\n'}),
 ("unsafe_path", {"r.lotto": 'corpus t = manifest("m.tsv")\nmodel s = cnn_lstm()\nfeatures f = fbank()\ntrain d = fit(s, t, t, features: f)\neval e = wer([d], on: [t])\nreport "../out" = summary(e)\n'}),
 ("split_sum", {"r.lotto": 'corpus t = manifest("m.tsv")\nsplit a, b = t.split(0.5, 0.4)\n'}),
 ("param_refers_to_itself", {"r.lotto": 'param a = b\nparam b = a\nfor x in a { corpus c = manifest("x") }\n'}),
 ("set_unknown_param", {"r.lotto": 'param rounds = 3\ncorpus t = manifest("m.tsv")\n'}, ["--set", "round=4"]),
]
out = ['//! Every diagnostic code, rendered in full (colour off, width 100), as a\n//! user sees it from `lotto check`. Regenerate after a deliberate wording\n//! change with `python3 tests/gen_diagnostics.py` and review the diff.\n\nmod common;\nuse common::*;\n\nfn check(files: &[(&str, &str)], extra: &[&str]) -> String {\n    let ws = Ws::empty();\n    for (n, t) in files {\n        ws.write(n, t);\n    }\n    let mut args = vec!["check", "r.lotto"];\n    args.extend_from_slice(extra);\n    let out = ws.run(&args);\n    out.failure();\n    out.stderr()\n}\n']
binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/lotto"
binary = os.path.abspath(binary)
for case in cases:
    name, files = case[0], case[1]
    extra = case[2] if len(case) > 2 else []
    d = tempfile.mkdtemp()
    for n, t in files.items():
        open(os.path.join(d, n), "w").write(t)
    r = subprocess.run([binary, "check", "r.lotto"] + extra, cwd=d, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
    assert r.returncode == 1, (name, r.stdout, r.stderr)
    args = ", ".join("(%s, %s)" % (json.dumps(n), json.dumps(t)) for n, t in files.items())
    ex = ", ".join(json.dumps(e) for e in extra)
    out.append('\n#[test]\nfn %s() {\n    let expected = %s;\n    assert_eq!(check(&[%s], &[%s]), expected);\n}\n' % (name, 'r#"' + r.stderr + '"#', args, ex))
    print("=====", name); print(r.stderr)
open("tests/diagnostics.rs", "w").write("".join(out))
