//! The allocator the `casefile` and `bench` binaries run on, and what casefile asks of it.
//!
//! mimalloc rather than the system's: rendering the reports allocates and frees millions of
//! small objects (the model's JSON tree, typst's layout), where it spends a fifth less CPU
//! than glibc's malloc (10,000 steps, all four reports: 4.0 s of CPU against 5.0 s). Each
//! binary declares it (`#[global_allocator]`) and calls [`tune`] first; the library's tests
//! run on the system allocator, where [`release_freed_memory`] does nothing useful and
//! nothing harmful.

use std::os::raw::c_long;

/// The allocator type for `#[global_allocator]`.
pub use mimalloc::MiMalloc as Allocator;

/// `mi_option_purge_delay` in mimalloc's `mi_option_t` (the same index in its v2 and v3:
/// retired options keep their slots). The crate leaves options unnamed on purpose.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets the allocator up before the program allocates in earnest; call it first in `main`,
/// before any thread starts (mimalloc's options are not thread-safe to set).
///
/// Freed memory goes back to the operating system after 100 ms instead of mimalloc's default
/// delay (1 s in mimalloc 3): typesetting two reports side by side otherwise holds pages each
/// thread has freed beside the other's (10,000 steps, all four reports: peak 374–378 MB
/// against 387–401 MB). Returning pages at once instead costs a page fault each time one is
/// used again (0.3 s more system time in that run, for a peak 5–8 MB lower).
pub fn tune() {
    const DELAY_MS: c_long = 100;
    // SAFETY: sets one integer option; called before any other thread exists.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, DELAY_MS) }
}

/// Hands memory this process has freed back to the operating system now (rather than after
/// the purge delay), e.g. once a large tree is dropped; safe beside other threads.
pub fn release_freed_memory() {
    // SAFETY: a collection of the calling thread's free pages; callable at any time.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // Its default (1,000 ms in mimalloc 3, whose options table gives no other option that
        // value) shows the index names the purge delay, unless the environment set it.
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // SAFETY: reads one option.
            assert_eq!(unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) }, 1000);
        }
    }
}
