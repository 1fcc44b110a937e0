//! Hostile recipes: input that once overflowed the stack, panicked, took
//! quadratic time, filled memory or was silently misread now gets a clear
//! error naming the place (or reads the same as the plain version).

mod common;
use common::*;

/// The text of a recipe binding one corpus through a chain of `n` links.
fn chain(n: usize) -> String {
    format!(
        "corpus all = manifest(\"data/manifest.tsv\")\ncorpus x = all{}\n",
        ".take(n: 1)".repeat(n)
    )
}

#[test]
fn long_method_chains_are_an_error_not_a_stack_overflow() {
    let ws = Ws::with_data(1, 2);
    for n in [4_000, 100_000] {
        ws.write("r.lotto", &chain(n));
        let out = ws.run(&["check", "r.lotto"]);
        out.failure();
        assert!(
            out.stderr().contains("nested more than 256 levels deep"),
            "{n} links: {}",
            out.stderr()
        );
    }
    ws.write("r.lotto", &chain(200));
    ws.run(&["check", "r.lotto"]).success();
}

#[test]
fn an_error_far_along_a_line_renders_and_many_errors_are_counted() {
    let ws = Ws::empty();
    let pad = " ".repeat(70_000);
    ws.write(
        "wide.lotto",
        &format!("corpus a = manifest(\"m.tsv\",{pad}bogus: 1)\n"),
    );
    let out = ws.run(&["check", "wide.lotto"]);
    out.failure();
    assert!(
        out.stderr().contains("wide.lotto:1:70029: error")
            && out.stderr().contains("has no parameter `bogus`"),
        "{}",
        out.stderr()
    );
    let many: String = (0..100_000)
        .map(|i| format!("corpus a{i} = nosuch()\n"))
        .collect();
    ws.write("many.lotto", &many);
    let out = ws.run(&["check", "many.lotto"]);
    out.failure();
    let text = out.stderr();
    assert_eq!(text.matches("unknown op `nosuch`").count(), 50);
    assert!(
        text.contains("… and 99950 more") && text.ends_with("100000 errors found\n"),
        "{}",
        &text[text.len() - 300..]
    );
}

#[test]
fn device_files_folders_and_binary_files_are_refused_by_name() {
    let ws = Ws::with_data(1, 2);
    let cases = [
        ("import \"/dev/zero\"\n", "`/dev/zero` is not a recipe"),
        (
            "import \"/etc/passwd\"\n",
            "`/etc/passwd` is not a recipe: imports name `.lotto` files",
        ),
        (
            "import \"../elsewhere.lotto\"\n",
            "is outside the workspace",
        ),
        ("import \"lib.lotto\"\n", "it is a folder, not a file"),
        ("import \"fifo.lotto\"\n", "it is not a regular file"),
        (
            "import \"bin.lotto\"\n",
            "it is not UTF-8 text (invalid byte at offset 2)",
        ),
        (
            "corpus c = manifest(\"m.tsv\")\n",
            "it is not a regular file (a device, pipe or socket)",
        ),
    ];
    std::fs::create_dir_all(ws.path().join("lib.lotto")).unwrap();
    std::fs::write(ws.path().join("bin.lotto"), b"# \xff\n").unwrap();
    for fifo in ["fifo.lotto", "m.tsv"] {
        let ok = std::process::Command::new("mkfifo")
            .arg(ws.path().join(fifo))
            .status()
            .unwrap();
        assert!(ok.success());
    }
    for (text, said) in cases {
        ws.write("r.lotto", text);
        let out = ws.run(&["plan", "r.lotto"]);
        out.failure();
        let all = format!("{}{}", out.stdout(), out.stderr());
        assert!(all.contains(said), "{text}: {all}");
        assert!(
            !all.contains("root:"),
            "never shows another file's lines: {all}"
        );
    }
    // gc reads every recipe of the workspace (the FIFO `fifo.lotto`
    // among them), and stops on this one.
    ws.write("r.lotto", "corpus all = manifest(\"data/manifest.tsv\")\n");
    ws.run(&["run", "r.lotto"]).success();
    ws.write("r.lotto", "import \"/dev/zero\"\n");
    let out = ws.run(&["gc", "--dry-run"]);
    assert!(
        out.stderr().contains("`r.lotto`: it does not check"),
        "{}",
        out.stderr()
    );
    // The recipe itself: a folder, or not UTF-8.
    let out = ws.run(&["check", "lib.lotto"]);
    assert!(out.stderr().contains("it is a folder, not a file"));
}

#[test]
fn a_loop_expanding_past_the_step_limit_is_named() {
    let ws = Ws::with_data(1, 2);
    let values: Vec<String> = (0..1_000_000).map(|i| i.to_string()).collect();
    ws.write(
        "r.lotto",
        &format!(
            "corpus all = manifest(\"data/manifest.tsv\")\nfor s in [{}] {{\n  split a, b = all.split(0.5, 0.5, seed: s)\n}}\n",
            values.join(", ")
        ),
    );
    let out = ws.run(&["check", "r.lotto"]);
    out.failure();
    assert!(
        out.stderr().contains("r.lotto:2:5: error")
            && out
                .stderr()
                .contains("this loop makes the recipe more than 100000 steps"),
        "{}",
        out.stderr()
    );
}

#[test]
fn params_that_repeat_params_cannot_grow_without_bound() {
    let ws = Ws::empty();
    let mut text = String::from("param p0 = 1\n");
    for i in 1..64 {
        text.push_str(&format!("param p{i} = [p{}, p{}]\n", i - 1, i - 1));
    }
    ws.write("r.lotto", &text);
    let out = ws.run(&["check", "r.lotto"]);
    out.failure();
    assert!(
        out.stderr()
            .contains("param `p19` is too large once the params it names are filled in"),
        "{}",
        out.stderr()
    );
}

#[test]
fn byte_order_marks_and_old_line_ends_read_like_plain_text() {
    let ws = Ws::with_data(1, 2);
    let plain = "corpus all = manifest(\"data/manifest.tsv\")\n# a comment\nsplit a, b = all.split(0.5, 0.5)\n";
    let variants = [
        plain.to_string(),
        format!("\u{feff}{plain}"),
        plain.replace('\n', "\r\n"),
        plain.replace('\n', "\r"),
    ];
    for v in variants {
        ws.write("r.lotto", &v);
        let out = ws.run(&["check", "r.lotto"]);
        assert!(
            out.stdout().contains("ok: 2 step(s)"),
            "{v:?}: {}{}",
            out.stdout(),
            out.stderr()
        );
    }
}

#[test]
fn a_set_value_is_exactly_one_value_and_seeds_are_exact() {
    let ws = Ws::with_data(1, 2);
    ws.write(
        "r.lotto",
        "param seed = 1\ncorpus all = manifest(\"data/manifest.tsv\")\nsplit a, b = all.split(0.5, 0.5, seed: seed)\n",
    );
    let out = ws.run(&["check", "r.lotto", "--set", "seed=7 corpus evil = x()"]);
    out.failure();
    assert!(
        out.stderr()
            .contains("`--set seed=...` has more after its value"),
        "{}",
        out.stderr()
    );
    // 2^53 and 2^53 + 1 are one float but two seeds.
    let key = |seed: &str| {
        let out = ws.run(&["plan", "r.lotto", "--set", &format!("seed={seed}")]);
        out.success();
        out.stdout()
            .lines()
            .find(|l| l.contains("split"))
            .unwrap()
            .to_string()
    };
    assert_ne!(key("9007199254740992"), key("9007199254740993"));
    let out = ws.run(&["check", "r.lotto", "--set", "seed=9223372036854775808"]);
    out.failure();
    assert!(
        out.stderr()
            .contains("the integer 9223372036854775808 is too large"),
        "{}",
        out.stderr()
    );
}
