//! Parser + checker on arbitrary text with the real op registry: any input
//! must yield a checked program or diagnostics, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lotto_interpreter::check::{check_source, CheckOpts};
use std::sync::OnceLock;

static REG: OnceLock<lotto_interpreter::Registry> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let reg = REG.get_or_init(lotto_stdlib::registry);
    let ws = std::env::temp_dir();
    match check_source("fuzz.lotto", text, &ws, reg, &CheckOpts::default()) {
        Ok(c) => {
            let _ = lotto_interpreter::graph::to_dot(&c.steps);
        }
        Err((ds, sources)) => {
            let _ = lotto_interpreter::render::render_all(&ds, &sources, Default::default());
        }
    }
});
