//! Parallel work over items with a progress bar: decoding, mixing and
//! feature extraction are the long CPU parts of data steps.

use lotto_interpreter::progress::Progress;
use rayon::prelude::*;

/// `items.par_iter().map(f)` with a progress bar (ETA on a terminal,
/// periodic log lines otherwise), results in `items`' order.
pub fn par_map_progress<T: Sync, R: Send>(
    progress: &Progress,
    label: &str,
    items: &[T],
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let bar = progress.bar(label, items.len() as u64);
    let out = items
        .par_iter()
        .map(|x| {
            let r = f(x);
            bar.inc(1);
            r
        })
        .collect();
    bar.finish();
    out
}
