//! A progress bar on stderr for long ingests: bytes, rate, ETA and the file being read. It
//! appears only when stderr is a terminal, the input exceeds [`SHOW_FROM_BYTES`] and the
//! user did not pass `--quiet`; otherwise every call does nothing.

use std::io::IsTerminal;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

/// Inputs smaller than this finish before a bar would be worth reading.
pub const SHOW_FROM_BYTES: u64 = 100 * 1000 * 1000;

/// Whether a bar would be shown for `total` bytes when `wanted`.
pub fn enabled(wanted: bool, total: u64, stderr_is_terminal: bool) -> bool {
    wanted && stderr_is_terminal && total > SHOW_FROM_BYTES
}

/// A bar, or nothing.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    pub fn new(wanted: bool, total: u64) -> Progress {
        if !enabled(wanted, total, std::io::stderr().is_terminal()) {
            return Progress(None);
        }
        let bar = ProgressBar::new(total);
        if let Ok(style) = ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {wide_msg}") {
            bar.set_style(style);
        }
        Progress(Some(bar))
    }
    /// Whether a bar is shown.
    pub fn shown(&self) -> bool {
        self.0.is_some()
    }
    pub fn file(&self, path: &Path) {
        if let Some(b) = &self.0 {
            b.set_message(path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        }
    }
    pub fn set(&self, bytes: u64) {
        if let Some(b) = &self.0 {
            b.set_position(bytes);
        }
    }
    pub fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_bar_unless_a_terminal_a_large_input_and_not_quiet() {
        assert!(enabled(true, 200_000_000, true));
        assert!(!enabled(true, 200_000_000, false));
        assert!(!enabled(false, 200_000_000, true));
        assert!(!enabled(true, 1_000, true));
    }
}
