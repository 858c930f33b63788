//! Integration tests: run the built `casefile` binary on the sample case, on real public
//! exports and on hostile inputs, and check figures, errors and PDFs.

mod cli;
mod golden;
mod hostile;
mod pdf;
mod public;
mod regression;
mod util;
