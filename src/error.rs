//! Error types, source locations and all user-facing error wording.
//!
//! Every input error names the file, where in it (line and record, JSON path, TOML line, or
//! sheet and cell), the field, what was found and what was expected, following typst's
//! `failed to do thing (cause)` convention. Only `main.rs` prints; it prints [`Error::render`].

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

/// Where a value came from, so that any figure can be traced back to its record.
///
/// Ordered by file, line, record, field and path (as a derive would); locations in one file
/// share its path, which is then compared by pointer, not component by component.
#[derive(Debug, Clone, Serialize)]
pub struct Location {
    /// Shared: a location is cloned wherever a figure cites it, and a file's records share
    /// one path ([`Location::record_in`]).
    pub file: Arc<Path>,
    /// 1-based physical line where the record starts (CSV, JSON Lines, TOML).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// 1-based data record number (header excluded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<u64>,
    /// Field (column) name as it appears in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Spreadsheet cell (`Recommendations!D14`) or JSON path (`tables[0].rows[3]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl Location {
    fn key(&self) -> (Option<u64>, Option<u64>, Option<&str>, Option<&str>) {
        (self.line, self.record, self.field.as_deref(), self.path.as_deref())
    }
}

/// Two paths' order; a path shared by both (the common case: records of one file) without a
/// look at its components.
fn file_order(a: &Arc<Path>, b: &Arc<Path>) -> std::cmp::Ordering {
    if Arc::ptr_eq(a, b) {
        std::cmp::Ordering::Equal
    } else {
        a.cmp(b)
    }
}

impl PartialEq for Location {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Location {}

impl PartialOrd for Location {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Location {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        file_order(&self.file, &other.file).then_with(|| self.key().cmp(&other.key()))
    }
}

/// What comes before a chunk of a file: its records and lines. A chunk read on its own
/// numbers records from 1 and lines from its first line; adding its offset gives the file's
/// numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Offset {
    pub records: u64,
    pub lines: u64,
}

impl Location {
    /// Moves a location in a chunk's numbering to its file's (see [`Offset`]).
    pub fn shift(&mut self, by: Offset) {
        if let Some(r) = self.record.as_mut() {
            *r += by.records;
        }
        if let Some(l) = self.line.as_mut() {
            *l += by.lines;
        }
    }

    pub fn file(file: &Path) -> Location {
        Location::in_file(&Arc::from(file))
    }
    pub fn record(file: &Path, line: u64, record: u64) -> Location {
        Location {
            line: Some(line),
            record: Some(record),
            ..Location::file(file)
        }
    }
    /// [`Location::file`] sharing `file` (no allocation per record).
    pub fn in_file(file: &Arc<Path>) -> Location {
        Location {
            file: Arc::clone(file),
            line: None,
            record: None,
            field: None,
            path: None,
        }
    }
    /// [`Location::record`] sharing `file` (no allocation per record).
    pub fn record_in(file: &Arc<Path>, line: u64, record: u64) -> Location {
        Location {
            file: Arc::clone(file),
            line: Some(line),
            record: Some(record),
            field: None,
            path: None,
        }
    }
    pub fn with_field(mut self, field: &str) -> Location {
        self.field = Some(field.to_string());
        self
    }
    pub fn with_path(mut self, path: String) -> Location {
        self.path = Some(path);
        self
    }
    /// `file:line` (or `file`) for citing a record in reports.
    pub fn cite(&self) -> String {
        let mut s = self.file.display().to_string();
        if let Some(line) = self.line {
            s.push_str(&format!(":{line}"));
        }
        if let Some(p) = &self.path {
            s.push_str(&format!(" {p}"));
        }
        s
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(record) = self.record {
            write!(f, " (record {record})")?;
        }
        if let Some(path) = &self.path {
            write!(f, " at {path}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field \"{field}\"")?;
        }
        Ok(())
    }
}

/// 1-based line of a byte offset in a text (TOML spans are byte offsets).
pub fn line_of(text: &str, offset: usize) -> u64 {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() as u64 + 1
}

/// One problem with one input, with everything a person needs to fix it.
#[derive(Debug)]
pub struct InputError {
    /// What was being read: "sign-in log", "case file", "control catalog".
    pub what: String,
    /// Short cause in parentheses: "invalid timestamp", "missing column".
    pub reason: String,
    pub location: Location,
    pub found: Option<String>,
    pub expected: Option<String>,
    pub hint: Option<String>,
}

impl InputError {
    pub fn new(what: &str, reason: &str, location: Location) -> InputError {
        InputError {
            what: what.to_string(),
            reason: reason.to_string(),
            location,
            found: None,
            expected: None,
            hint: None,
        }
    }
    pub fn found(mut self, found: &str) -> InputError {
        self.found = Some(clip(found, 120));
        self
    }
    pub fn expected(mut self, expected: &str) -> InputError {
        self.expected = Some(expected.to_string());
        self
    }
    pub fn hint(mut self, hint: &str) -> InputError {
        self.hint = Some(hint.to_string());
        self
    }
}

/// Shortens attacker-sized values for messages and makes control characters visible.
fn clip(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).map(|c| if c.is_control() { '\u{FFFD}' } else { c }).collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

/// Everything the library can fail with. Exit codes: 1 bad input, 2 bad usage (clap),
/// 3 could not write output.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("failed to read {} ({})", .0.what, .0.reason)]
    Input(Box<InputError>),
    /// Several independent problems found in one run (all broken files, all catalog errors).
    #[error("{} problems found in the input", .0.len())]
    Many(Vec<Error>),
    #[error("failed to write {} ({source})", path.display())]
    Output {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to render {report} ({message})")]
    Render { report: String, message: String },
    /// A template diagnostic, located in the template file. A template the user supplied
    /// (`--templates`) is bad input (exit 1); a built-in one is casefile's fault (exit 3).
    #[error("failed to render {} (template error in {})", .0.report, .0.file)]
    Template(Box<TemplateError>),
}

/// One typst diagnostic, with the template file, line, column and text it points at.
#[derive(Debug)]
pub struct TemplateError {
    /// The report being rendered (`executive.pdf`).
    pub report: String,
    /// The template file: its path for a user-supplied template, else its built-in name.
    pub file: String,
    /// 1-based line and column of the offending text, when the diagnostic has a span.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The offending source text (clipped).
    pub text: Option<String>,
    pub message: String,
    pub hints: Vec<String>,
    pub user_supplied: bool,
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Error {
        Error::Input(Box::new(e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The process exit code this error maps to.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) => 1,
            Error::Many(errors) => errors.iter().map(Error::exit_code).max().unwrap_or(1),
            Error::Output { .. } => 3,
            Error::Render { .. } => 3,
            Error::Template(t) => {
                if t.user_supplied {
                    1
                } else {
                    3
                }
            }
        }
    }

    /// Collapses a list of errors: none → Ok, one → itself, several → `Many`.
    ///
    /// # Errors
    /// The one error, or all of them as [`Error::Many`].
    pub fn collect(mut errors: Vec<Error>) -> Result<()> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(Error::Many(errors)),
        }
    }

    /// The full multi-line message `main` prints, rustc style:
    /// ```text
    /// error: failed to read sign-in log (invalid timestamp)
    ///   --> samples/northgate/signins.csv:14 (record 13), field "CreatedDateTime"
    ///   found "21/03/2024 03:12", expected RFC 3339 such as 2024-03-21T03:12:00Z
    /// hint: was the file re-saved by a spreadsheet program?
    /// ```
    pub fn render(&self) -> String {
        match self {
            Error::Input(e) => {
                let mut s = format!("error: {self}\n  --> {}\n", e.location);
                match (&e.found, &e.expected) {
                    (Some(f), Some(x)) => s.push_str(&format!("  found \"{f}\", expected {x}\n")),
                    (Some(f), None) => s.push_str(&format!("  found \"{f}\"\n")),
                    (None, Some(x)) => s.push_str(&format!("  expected {x}\n")),
                    (None, None) => {}
                }
                if let Some(h) = &e.hint {
                    s.push_str(&format!("hint: {h}\n"));
                }
                s
            }
            Error::Many(errors) => {
                let mut s = String::new();
                for e in errors {
                    s.push_str(&e.render());
                }
                s.push_str(&format!("error: {self}\n"));
                s
            }
            Error::Template(t) => {
                let mut s = format!("error: {self}\n  --> {}", t.file);
                if let (Some(l), Some(c)) = (t.line, t.column) {
                    s.push_str(&format!(":{l}:{c}"));
                }
                s.push('\n');
                match &t.text {
                    Some(text) => s.push_str(&format!("  found \"{}\": {}\n", clip(text, 80), t.message)),
                    None => s.push_str(&format!("  {}\n", t.message)),
                }
                for h in &t.hints {
                    s.push_str(&format!("hint: {h}\n"));
                }
                if !t.user_supplied {
                    s.push_str("hint: this is a built-in template; please report it\n");
                }
                s
            }
            other => {
                let mut s = format!("error: {other}\n");
                if let Error::Output { .. } = other {
                    s.push_str("hint: check that the output directory exists and is writable\n");
                }
                s
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_order_by_file_line_record_field_and_path() {
        let shared: Arc<Path> = Arc::from(Path::new("ev/a.csv"));
        let locs = [
            Location::record_in(&shared, 3, 2),
            Location::record(Path::new("ev/a.csv"), 3, 2).with_field("x"),
            Location::record(Path::new("ev/a.csv"), 2, 9),
            Location::record(Path::new("ev//a.csv"), 3, 2),
            Location::record(Path::new("ev/a-b.csv"), 1, 1),
            Location::record(Path::new("ev/a/b.csv"), 1, 1),
            Location::file(Path::new("ev/a.csv")),
            Location::record_in(&shared, 3, 1),
        ];
        type Key<'a> = (&'a Path, Option<u64>, Option<u64>, Option<&'a str>, Option<&'a str>);
        fn key(l: &Location) -> Key<'_> {
            (&l.file, l.line, l.record, l.field.as_deref(), l.path.as_deref())
        }
        for a in &locs {
            for b in &locs {
                assert_eq!(a.cmp(b), key(a).cmp(&key(b)), "{a:?} against {b:?}");
                assert_eq!(a == b, key(a) == key(b), "{a:?} against {b:?}");
            }
        }
        // A path spelt with a doubled separator is the same file.
        assert_eq!(locs[0], locs[3]);
    }

    #[test]
    fn input_error_renders_file_line_record_field_found_expected() {
        let loc = Location::record(Path::new("ev/signins.csv"), 14, 13).with_field("CreatedDateTime");
        let e: Error = InputError::new("sign-in log", "invalid timestamp", loc)
            .found("21/03/2024 03:12")
            .expected("RFC 3339 such as 2024-03-21T03:12:00Z")
            .into();
        let text = e.render();
        assert!(text.starts_with("error: failed to read sign-in log (invalid timestamp)\n"));
        assert!(text.contains("--> ev/signins.csv:14 (record 13), field \"CreatedDateTime\""));
        assert!(text.contains("found \"21/03/2024 03:12\", expected RFC 3339"));
        assert_eq!(e.exit_code(), 1);
    }

    #[test]
    fn found_values_are_clipped_and_control_characters_replaced() {
        let long = "A".repeat(500) + "\u{0}";
        let e = InputError::new("x", "y", Location::file(Path::new("f"))).found(&long);
        let found = e.found.unwrap_or_default();
        assert!(found.chars().count() <= 121);
        assert!(!found.contains('\u{0}'));
    }
}
