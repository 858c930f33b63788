//! Into the SOC: what casefile hands to the tools an analyst works next to. Each file is one
//! command's work, computed from the case and its analysis (no new conclusions here):
//! - [`timeline`]: the cross-product timeline as CSV, JSON Lines or Timesketch JSONL;
//! - [`rules`]: Sentinel scheduled analytics rules and Sigma rules parameterised by the case;
//! - [`queries`]: Log Analytics collection and aggregation queries scoped to the case;
//! - [`prices`]: the Azure Retail Prices API URLs for the case's VMs.
//!
//! Rendering is pure (strings in memory); [`write_tree`] is the one place that writes them.

pub mod prices;
pub mod queries;
pub mod rules;
pub mod timeline;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::report::output::write_outputs;

/// Writes `(relative path, bytes)` files under `dir`, one sub-directory at a time, each file
/// through a temporary and a rename. Everything is rendered before this is called, so a bad
/// input never leaves half the files written.
///
/// # Errors
/// An output error naming the file that cannot be written.
pub fn write_tree(dir: &Path, files: Vec<(String, Vec<u8>)>) -> Result<Vec<PathBuf>> {
    let mut by_dir: BTreeMap<PathBuf, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    for (rel, bytes) in files {
        let rel = Path::new(&rel);
        let sub = rel.parent().map(Path::to_path_buf).unwrap_or_default();
        let name = rel.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        by_dir.entry(dir.join(sub)).or_default().push((name, bytes));
    }
    let mut written = Vec::new();
    for (d, outputs) in by_dir {
        written.extend(write_outputs(&d, outputs)?);
    }
    Ok(written)
}

/// A case value as Markdown text: the characters Markdown (and the HTML it allows) would read
/// as markup are escaped, and line breaks and other control characters become spaces, so an
/// identity or region from the evidence stays text in a README table or list.
pub fn md_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~' | '&' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The list of written files, one per line.
pub fn listing(written: &[PathBuf]) -> String {
    written.iter().map(|p| format!("wrote {}\n", p.display())).collect()
}

fn analyse(common: &crate::cli::Common) -> Result<crate::CaseRun> {
    crate::analyse_bundle(&common.bundle, common.recommendations.as_deref(), common.controls.as_deref())
}

/// `casefile timeline`: the rows to stdout, or written atomically to `out`.
///
/// # Errors
/// An input error from reading the case, or an output error from writing the timeline.
pub fn run_timeline(common: &crate::cli::Common, format: crate::cli::TimelineFormat, out: Option<&Path>) -> Result<String> {
    let run = analyse(common)?;
    let text = timeline::render(&timeline::rows(&run), format)?;
    match out {
        None => Ok(text),
        Some(file) => {
            let dir = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let written = write_outputs(dir, vec![(name, text.into_bytes())])?;
            Ok(listing(&written))
        }
    }
}

/// `casefile rules`: DIR/sentinel, DIR/sigma and DIR/README.md.
///
/// # Errors
/// An input error from reading the case, or an output error from writing the rules.
pub fn run_rules(common: &crate::cli::Common, out: &Path) -> Result<String> {
    let run = analyse(common)?;
    let files = rules::render(&run)?;
    let written = write_tree(out, files)?;
    Ok(listing(&written))
}

/// `casefile queries`: numbered .kql files and DIR/README.md.
///
/// # Errors
/// An input error from reading the case, or an output error from writing the queries.
pub fn run_queries(common: &crate::cli::Common, out: &Path, margin_hours: u32) -> Result<String> {
    let run = analyse(common)?;
    let files = queries::render(&run, margin_hours)?;
    let written = write_tree(out, files)?;
    Ok(listing(&written))
}

/// `casefile prices`: the Retail Prices API URLs for the case's VMs.
///
/// # Errors
/// An input error from reading the case.
pub fn run_prices(common: &crate::cli::Common) -> Result<String> {
    let run = analyse(common)?;
    Ok(prices::render(&run))
}

#[cfg(test)]
mod tests {
    use super::md_text;

    #[test]
    fn case_values_stay_text_in_markdown() {
        assert_eq!(md_text("admin@contoso.com"), "admin@contoso.com");
        assert_eq!(md_text("[x](http://e) | <b>\n# y"), "\\[x\\](http://e) \\| \\<b\\> \\# y");
    }
}
