//! Fuzz harness for casefile's parsers; see fuzz/README.md. The harness itself lives in
//! `harness.rs` so `tests/fuzzed.rs` can replay saved crashers through the same code.

use std::backtrace::Backtrace;
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};

pub mod harness;

thread_local! {
    /// The message, place and backtrace of this thread's last panic.
    static LAST_PANIC: RefCell<Option<(String, Backtrace)>> = const { RefCell::new(None) };
}

/// Called once before fuzzing (`fuzz_target!(init: …)`). libfuzzer-sys installs a panic hook
/// that aborts at the panic itself, before unwinding, so even a panic casefile catches on
/// purpose (it contains calamine's panics on hostile workbooks with `catch_unwind`) would be
/// reported as a crash. This hook only records the panic; [`check`] aborts if one reaches the
/// harness, i.e. escapes casefile's public entry point.
pub fn init() {
    std::panic::set_hook(Box::new(|info| {
        // Symbolised only if printed: a contained panic stays cheap.
        let bt = Backtrace::force_capture();
        LAST_PANIC.with(|p| *p.borrow_mut() = Some((info.to_string(), bt)));
    }));
}

/// Runs one input; a panic that escapes it is printed and aborts the process, which libFuzzer
/// records as a crash.
pub fn check(f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        LAST_PANIC.with(|p| match &*p.borrow() {
            Some((msg, bt)) => eprintln!("panic escaped casefile's entry point: {msg}\n{bt}"),
            None => eprintln!("panic escaped casefile's entry point"),
        });
        std::process::abort();
    }
}
