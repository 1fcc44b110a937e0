//! Which epoch a training run keeps (dev data only), and when to warn that
//! the choice rests on little. Dev WER decides; a WER at or above 100% is
//! saturated (no better than outputting nothing), so among saturated
//! epochs, and between epochs of equal WER, the lower dev CER wins, then
//! the lower training loss (lotto computes no dev loss). A held-out
//! LibriSpeech-layout corpus showed why: dev WER stayed at 98–105% every
//! epoch while dev CER fell from 92% to 67%, and plain WER selection kept
//! the epoch-1 checkpoint, which outputs nothing.

use super::epoch_log::EpochLog;

/// The order epochs are compared in (smaller is better).
fn key(e: &EpochLog) -> (bool, f64, f64, f64) {
    let saturated = e.dev_wer >= 100.0;
    let wer = if saturated { 0.0 } else { e.dev_wer };
    (saturated, wer, e.dev_cer, e.loss)
}

/// Whether epoch `new` is better than the best so far.
pub fn beats(new: &EpochLog, best: Option<&EpochLog>) -> bool {
    let Some(best) = best else {
        return true;
    };
    let (a, b) = (key(new), key(best));
    a.0.cmp(&b.0)
        .then(a.1.total_cmp(&b.1))
        .then(a.2.total_cmp(&b.2))
        .then(a.3.total_cmp(&b.3))
        .is_lt()
}

/// A warning for the run and the report when the kept epoch is a weak
/// choice: dev WER never below 100%, or never better than epoch 1's.
pub fn warning(history: &[EpochLog]) -> Option<String> {
    let first = history.first()?;
    let best_wer = history
        .iter()
        .map(|e| e.dev_wer)
        .fold(f64::INFINITY, f64::min);
    if best_wer >= 100.0 {
        Some(format!(
            "dev WER never went below 100% (best {best_wer:.1}%): the epoch was chosen by dev CER; the model may not have learned"
        ))
    } else if history.len() > 1 && history[1..].iter().all(|e| e.dev_wer >= first.dev_wer) {
        Some(format!(
            "dev WER never improved on epoch {}'s ({:.1}%)",
            first.epoch, first.dev_wer
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(epoch: usize, dev_wer: f64, dev_cer: f64, loss: f64) -> EpochLog {
        EpochLog {
            epoch,
            loss,
            dev_wer,
            dev_cer,
            lr: 1e-3,
            seconds: 1.0,
        }
    }

    #[test]
    fn saturated_wer_and_ties_fall_to_cer_then_loss() {
        // The held-out corpus's case: WER saturated, CER falling.
        let e1 = epoch(1, 100.0, 92.0, 9.0);
        let e5 = epoch(5, 104.6, 67.0, 5.0);
        assert!(beats(&e5, Some(&e1)));
        // Any unsaturated epoch beats a saturated one.
        assert!(beats(&epoch(6, 99.0, 80.0, 6.0), Some(&e5)));
        // Equal WER: CER, then loss.
        let a = epoch(2, 30.0, 12.0, 3.0);
        assert!(beats(&epoch(3, 30.0, 11.0, 4.0), Some(&a)));
        assert!(beats(&epoch(3, 30.0, 12.0, 2.0), Some(&a)));
        assert!(
            !beats(&epoch(3, 30.0, 12.0, 3.0), Some(&a)),
            "a full tie keeps the earlier"
        );
        assert!(!beats(&epoch(3, 31.0, 1.0, 0.1), Some(&a)));
        assert!(beats(&a, None));
    }

    #[test]
    fn warns_when_wer_is_saturated_or_never_improves() {
        let sat = [epoch(1, 100.0, 92.0, 9.0), epoch(2, 104.6, 67.0, 5.0)];
        assert!(warning(&sat).unwrap().contains("never went below 100%"));
        let flat = [epoch(1, 40.0, 20.0, 9.0), epoch(2, 41.0, 19.0, 5.0)];
        assert!(warning(&flat)
            .unwrap()
            .contains("never improved on epoch 1's (40.0%)"));
        let fine = [epoch(1, 40.0, 20.0, 9.0), epoch(2, 35.0, 19.0, 5.0)];
        assert_eq!(warning(&fine), None);
        assert_eq!(warning(&fine[..1]), None);
    }
}
