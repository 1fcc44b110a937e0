//! Reused buffers for the portable kernels' packed panels, packed rows
//! and partial sums: a training step makes thousands of small products, and fresh
//! buffers for each cost more in page faults than the packing itself.

use std::cell::Cell;
use std::thread::LocalKey;

/// Buffers up to this many floats (16 MiB) are kept for the next product
/// on the same thread; larger ones are freed, so a paper-size product does
/// not leave its buffers resident.
const KEEP: usize = 4 << 20;

thread_local! {
    pub(crate) static PANELS: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
    pub(crate) static SUMS: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
    pub(crate) static ROWS: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// Runs `f` on a buffer of `len` floats taken from `key` (their values are
/// whatever the last user left: `f` must write before it reads). A nested
/// call on the same thread (rayon may run another product's work while
/// this one waits) finds the slot empty and allocates its own.
pub(crate) fn with<R>(
    key: &'static LocalKey<Cell<Vec<f32>>>,
    len: usize,
    f: impl FnOnce(&mut [f32]) -> R,
) -> R {
    let mut buf = key.with(Cell::take);
    if buf.len() < len {
        buf = vec![0.0; len];
    }
    let r = f(&mut buf[..len]);
    if buf.len() <= KEEP {
        key.with(|slot| {
            let other = slot.take();
            slot.set(if other.len() > buf.len() { other } else { buf });
        });
    }
    r
}
