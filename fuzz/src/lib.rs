//! Fuzz harness for casefile's parsers; see fuzz/README.md. The harness itself lives in
//! `harness.rs` so `tests/fuzzed.rs` can replay saved crashers through the same code.

pub mod harness;
