//! The portable CPU kernels give the same numbers whatever the CPU: a short
//! training (host convolution and LSTM, flex's output layer, CTC, Adam)
//! run on every instruction set this machine has and on 1, 2 and 3
//! threads must write bit-identical weights. An AVX2 machine runs the avx2
//! set and an AVX-512 machine the avx512 set; here both run on one CPU.

mod common;
use common::*;

/// A model with every kind of product the CNN-LSTM makes, small enough to
/// train one epoch in seconds even on the scalar kernels: its second
/// convolution (9×7 over 8 channels) takes the spectral path, the first
/// (one input channel) the direct one.
const RECIPE: &str = r#"
corpus all = manifest("data/manifest.tsv")
split train, dev = all.split(0.5, 0.5, seed: 1)
features mel = fbank(mels: 24, window: 25ms, hop: 10ms)
model m = cnn_lstm(kernels: [5x5, 9x7], strides: [2x2, 1x1], channels: 8, lstm: 2, hidden: 24)
train dense = fit(m, train, dev, features: mel, epochs: 1, batch: 4, seed: 1)
"#;

/// The instruction sets this CPU can run the portable kernels on.
fn isas() -> Vec<&'static str> {
    let mut v = vec![];
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            v.push("avx512");
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            v.push("avx2");
        }
    }
    v.push("scalar");
    v
}

/// The trained weights' bytes and the dev WER the run reported.
fn train(ws: &Ws, store: &str, isa: &str, threads: usize) -> Vec<u8> {
    ws.cmd(&["--store", store, "run", "r.lotto"])
        .env("LOTTO_KERNEL_ISA", isa)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
        .map(Out)
        .unwrap()
        .success();
    let dir = ws.artifacts(&["--store", store], "r.lotto", "dense");
    std::fs::read(dir.join("best.safetensors")).unwrap()
}

#[test]
fn training_writes_the_same_weights_on_every_instruction_set_and_thread_count() {
    let ws = Ws::with_data(4, 6);
    ws.write("r.lotto", RECIPE);
    let sets = isas();
    eprintln!(
        "portable kernels on {} (threads 1, 2, 3 each){}",
        sets.join(", "),
        if sets.len() == 1 {
            ": this CPU has one instruction set, so only thread counts are compared"
        } else {
            ""
        }
    );
    let reference = train(&ws, "s0", sets[0], 1);
    let mut n = 0;
    for isa in &sets {
        for threads in [1, 2, 3] {
            n += 1;
            let w = train(&ws, &format!("s{n}"), isa, threads);
            assert!(
                w == reference,
                "weights trained on {isa} with {threads} thread(s) differ from {} with 1",
                sets[0]
            );
        }
    }
}

/// `lotto check` with `LOTTO_KERNEL_ISA=isa`.
fn check_with_isa(ws: &Ws, isa: &str) -> Out {
    Out(ws
        .cmd(&["check", "r.lotto"])
        .env("LOTTO_KERNEL_ISA", isa)
        .output()
        .unwrap())
}

#[test]
fn an_unknown_or_missing_instruction_set_is_refused_by_name() {
    let ws = Ws::with_data(2, 2);
    ws.write("r.lotto", RECIPE);
    let out = check_with_isa(&ws, "sse9");
    out.failure();
    assert!(
        out.stderr()
            .contains("LOTTO_KERNEL_ISA is `sse9`: use avx512, avx2 or scalar"),
        "{}",
        out.stderr()
    );
    if !isas().contains(&"avx512") {
        let out = check_with_isa(&ws, "avx512");
        out.failure();
        assert!(
            out.stderr().contains("cannot run the avx512 kernels"),
            "{}",
            out.stderr()
        );
    }
}

#[test]
fn native_and_portable_results_are_cached_apart_and_locks_say_which_ran() {
    let ws = Ws::with_data(4, 6);
    ws.write("r.lotto", RECIPE);
    ws.run(&["run", "r.lotto", "--lock"]).success();
    let lock = std::fs::read_to_string(ws.path().join("r.lotto.lock")).unwrap();
    assert!(lock.contains("device: flex/f32/portable\n"), "{lock}");
    assert!(
        !lock.contains("\ncpu: "),
        "portable locks name no CPU:\n{lock}"
    );
    // Native kernels are other numbers: their own cache entry, and a lock
    // that names the CPU's kernels.
    let native = ws.run(&["--kernels", "native", "run", "r.lotto"]);
    assert!(
        native.success().ran().contains(&"dense".to_string()),
        "{}",
        native.stderr()
    );
    // A portable lock cannot be verified with native kernels.
    let out = ws.run(&["--kernels", "native", "run", "r.lotto", "--locked"]);
    out.failure();
    assert!(
        out.stderr()
            .contains("was made with the portable CPU kernels, but --kernels native"),
        "{}",
        out.stderr()
    );
    // `--locked` alone runs the lock's kernels: everything is cached.
    let again = ws.run(&["run", "r.lotto", "--locked"]);
    assert!(again.success().ran().is_empty(), "{}", again.stderr());
    ws.run(&["--kernels", "native", "run", "r.lotto", "--lock"])
        .success();
    let lock = std::fs::read_to_string(ws.path().join("r.lotto.lock")).unwrap();
    assert!(
        lock.contains("device: flex/f32\n") && lock.contains("\ncpu: "),
        "{lock}"
    );
    // Now the lock is native: `--locked` without flags runs native, cached.
    let again = ws.run(&["run", "r.lotto", "--locked"]);
    assert!(again.success().ran().is_empty(), "{}", again.stderr());
}
