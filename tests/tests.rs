//! Integration tests: run the built `casefile` binary on the sample case, on real public
//! exports and on hostile inputs, and check figures, errors and PDFs.

// Test helpers panic on purpose: a failed setup step is a failed test.
#![allow(clippy::unwrap_used)]

mod bulk_timeline;
mod cli;
mod formats;
mod fuzzed;
mod golden;
mod hostile;
mod ingest;
mod pdf;
mod posture;
mod public;
mod regression;
mod samples;
mod shapes;
mod soc;
mod sources;
mod storage_summary;
mod templates;
mod util;
mod wording;
