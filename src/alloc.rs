//! The global allocator and the one setting lotto changes in it.

use std::ffi::{c_int, c_long};

/// mimalloc: training allocates and frees tensors of the same sizes every
/// step, and parsing a large recipe makes many small allocations (pest's
/// token queue, the AST); mimalloc serves both faster than glibc's malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay`: its position in `mi_option_e` of the mimalloc
/// v3 header that libmimalloc-sys compiles in (a test checks it).
const PURGE_DELAY: c_int = 15;

extern "C" {
    fn mi_option_set(option: c_int, value: c_long);
    #[cfg(test)]
    fn mi_option_get(option: c_int) -> c_long;
}

/// Keeps freed memory for reuse instead of handing it back to the OS a
/// second after it is freed (mimalloc's default). Training frees and
/// allocates tensors of the same sizes every step, and memory handed back
/// had to be faulted in and zeroed by the kernel again. Allocation does not
/// change results. The process keeps its peak footprint until
/// it exits, which is what a memory limit counts anyway.
pub fn keep_freed_memory() {
    // mimalloc's own variable, when set, decides instead.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: mimalloc's documented option setter, called with a valid
    // option index; options may be set at any time.
    unsafe { mi_option_set(PURGE_DELAY, -1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_index_is_mimallocs_purge_delay() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return; // the environment overrides the default checked below
        }
        // SAFETY: reading an option by a valid index.
        let default = unsafe { mi_option_get(PURGE_DELAY) };
        // mimalloc v3's default purge delay; another value means the index
        // names another option in this mimalloc.
        assert_eq!(default, 1000);
        keep_freed_memory();
        // SAFETY: as above.
        assert_eq!(unsafe { mi_option_get(PURGE_DELAY) }, -1);
    }
}
