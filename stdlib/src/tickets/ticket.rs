//! Ticket artifacts: the rounds of a pruning run (`ticket.yaml`), each a
//! Trained artifact in the store, and the rule that picks the best round.

use crate::artifacts::read_yaml;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RoundInfo {
    pub round: usize,
    pub rw: f64,
    pub dev_wer: f64,
    /// Store id of the round's Trained artifact.
    pub dir: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TicketInfo {
    pub method: String,
    pub rounds: Vec<RoundInfo>,
}

pub fn read_ticket(dir: &Path) -> Result<TicketInfo, String> {
    read_yaml(&dir.join("ticket.yaml"))
}

/// The order that makes the first of a ticket's rounds, given as (dev WER,
/// RW), the best one: the lowest dev WER, ties to the sparsest. `best`
/// picks by it and report summaries mark its pick with ★.
pub fn better_round(a: (f64, f64), b: (f64, f64)) -> std::cmp::Ordering {
    a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1))
}

/// Copies a Trained artifact's files (a round picked as a model).
pub fn copy_trained(from: &Path, to: &Path) -> Result<(), String> {
    for f in [
        "trained.yaml",
        "init.safetensors",
        "best.safetensors",
        "last.safetensors",
        "masks.safetensors",
    ] {
        if from.join(f).is_file() {
            std::fs::copy(from.join(f), to.join(f)).map_err(|e| format!("{f}: {e}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn the_best_round_has_the_lowest_dev_wer_then_the_fewest_weights() {
        assert_eq!(better_round((20.0, 50.0), (21.0, 10.0)), Ordering::Less);
        assert_eq!(better_round((20.0, 10.0), (20.0, 50.0)), Ordering::Less);
        assert_eq!(better_round((20.0, 50.0), (20.0, 50.0)), Ordering::Equal);
    }
}
