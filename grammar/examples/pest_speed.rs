//! Times pest alone on a recipe file: `cargo run --release -p lotto-grammar --example pest_speed FILE`.
use lotto_grammar::{LottoParser, Rule};
use pest::Parser;
fn main() {
    let path = std::env::args().nth(1).expect("usage: pest_speed FILE");
    let text = std::fs::read_to_string(&path).expect("readable file");
    let mut best = f64::MAX;
    for _ in 0..std::env::args().nth(2).map_or(30, |s| s.parse().unwrap()) {
        let t0 = std::time::Instant::now();
        let n = LottoParser::parse(Rule::program, &text)
            .expect("parses")
            .flatten()
            .count();
        best = best.min(t0.elapsed().as_secs_f64());
        std::hint::black_box(n);
    }
    println!("pest: min {:.1} ms over 30 runs", best * 1e3);
}
