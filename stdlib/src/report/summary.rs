//! The tables a `summary` part writes: Markdown per test corpus, shaped
//! like the paper's tables (best and extreme rounds marked), and a CSV of
//! every number.

use super::plot::series;
use crate::eval::table::Row;
use crate::tickets::ticket::better_round;
use std::fmt::Write;

/// Markdown table per corpus: method, round, RW, WER, CER; the best round
/// (lowest dev WER, ties to the sparsest: what `best` picks) and the
/// extreme ticket (sparsest with dev WER no worse than dense) are marked.
pub fn summary_md(rows: &[Row]) -> String {
    let mut s = String::from("# Results\n\nRW = remaining weights (% of prunable weights, measured from the masks). WER/CER in %, greedy decoding (CTC; transducer for RNN-T models). ★ best round (lowest dev WER; ties: the sparsest); ◆ extreme ticket (sparsest round whose dev WER is no worse than the dense model's). Model selection used the dev set only.\n");
    let corpora: Vec<String> = rows
        .iter()
        .map(|r| r.corpus.clone())
        .fold(vec![], |mut v, c| {
            if !v.contains(&c) {
                v.push(c)
            }
            v
        });
    for c in corpora {
        let _ = write!(s, "\n## {c}\n\n| model | method | round | RW % | WER % | CER % | dev WER % | |\n|---|---|---:|---:|---:|---:|---:|---|\n");
        for ((model, corpus), rs) in series(rows) {
            if corpus != c {
                continue;
            }
            let dense = rs.iter().find(|r| r.round == 0).map(|r| r.dev_wer);
            let best = rs
                .iter()
                .min_by(|a, b| better_round((a.dev_wer, a.rw), (b.dev_wer, b.rw)))
                .map(|r| r.round);
            let extreme = dense.and_then(|d| {
                rs.iter()
                    .filter(|r| r.dev_wer <= d)
                    .min_by(|a, b| a.rw.total_cmp(&b.rw))
                    .map(|r| r.round)
            });
            for r in rs.iter() {
                let mut mark = String::new();
                if rs.len() > 1 && Some(r.round) == best {
                    mark.push('★');
                }
                if rs.len() > 1 && Some(r.round) == extreme && r.round > 0 {
                    mark.push('◆');
                }
                let _ = writeln!(
                    s,
                    "| {model} | {} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {mark} |",
                    r.method, r.round, r.rw, r.wer, r.cer, r.dev_wer
                );
            }
        }
    }
    s
}

pub fn csv(rows: &[Row]) -> String {
    let mut s = String::from("model,method,round,rw,corpus,wer,cer,dev_wer,utterances\n");
    for r in rows {
        let _ = writeln!(
            s,
            "{},{},{},{:.4},{},{:.4},{:.4},{:.4},{}",
            r.model, r.method, r.round, r.rw, r.corpus, r.wer, r.cer, r.dev_wer, r.utterances
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(round: usize, rw: f64, dev_wer: f64) -> Row {
        Row {
            model: "lth".into(),
            method: "imp".into(),
            round,
            rw,
            corpus: "test".into(),
            wer: 50.0,
            cer: 20.0,
            utterances: 10,
            dev_wer,
        }
    }

    /// A tie on dev WER between the dense round and a pruned one marks the
    /// pruned one best, as the `best` op picks it; the extreme ticket is
    /// the sparsest round no worse than dense.
    #[test]
    fn best_round_ties_go_to_the_sparsest() {
        let rows = [
            row(0, 100.0, 53.73),
            row(1, 60.0, 59.7),
            row(2, 36.0, 55.22),
            row(3, 21.6, 53.73),
        ];
        let md = summary_md(&rows);
        assert!(
            md.contains("| lth | imp | 0 | 100.0 | 50.00 | 20.00 | 53.73 |  |"),
            "{md}"
        );
        assert!(
            md.contains("| lth | imp | 3 | 21.6 | 50.00 | 20.00 | 53.73 | ★◆ |"),
            "{md}"
        );
    }
}
