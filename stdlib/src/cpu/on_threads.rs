//! Tests' way to run a closure on a rayon pool of a given size: the CPU
//! kernels' results must not depend on the thread count.

/// `f` run on a fresh pool of `threads` threads.
pub(crate) fn on_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}
