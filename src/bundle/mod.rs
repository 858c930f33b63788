//! The case bundle: which evidence files there are, what kind of table each holds, and the
//! typed records of each source. Each source is [`Source::Provided`] or
//! [`Source::NotProvided`]; "not provided" travels all the way to the reports and is never
//! turned into zero. This module knows nothing of controls or reports.
//!
//! It is a registry: [`SOURCES`] lists the evidence sources (each one module implementing
//! [`source::EvidenceSource`]), and [`load_with`] asks them, in order, to recognise and read
//! each listed file. Adding a source is one new module and one line in [`SOURCES`].
//!
//! Storage logs are not held in memory: the bundle keeps their file list and `storage::stream`
//! feeds records one at a time to the analysis, so memory does not grow with their size.

pub mod activity;
pub mod alerts;
pub mod audit;
pub mod mixed;
pub mod other;
pub mod recommendations;
pub mod risk;
pub mod signins;
pub mod source;
pub mod storage;
pub mod storage_summary;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::Serialize;

use crate::error::{Error, InputError, Location, Result};
use crate::input::table::{self, Shape, TableOptions};
use crate::input::tree::Tree;
pub use crate::types::Span;
use crate::types::Timestamp;
pub use source::{EvidenceSource, Registry, SourceKind};
use source::{FileIn, Intake, Seen};

/// Every built-in evidence source, one line each, in the order reports list them. (The order
/// their signatures are tried in is each source's `precedence`.)
pub const SOURCES: &[SourceKind] = &[
    signins::KIND,
    activity::KIND,
    storage::KIND,
    storage_summary::KIND,
    alerts::KIND,
    risk::KIND,
    audit::KIND,
    recommendations::KIND,
    other::KIND,
];

/// Evidence that was either exported into the bundle or not. Absence of evidence is not
/// evidence of absence.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", content = "value", rename_all = "kebab-case")]
pub enum Source<T> {
    Provided(T),
    NotProvided,
}

impl<T> Source<T> {
    pub fn as_ref(&self) -> Source<&T> {
        match self {
            Source::Provided(t) => Source::Provided(t),
            Source::NotProvided => Source::NotProvided,
        }
    }
    pub fn provided(&self) -> Option<&T> {
        match self {
            Source::Provided(t) => Some(t),
            Source::NotProvided => None,
        }
    }
    pub fn is_provided(&self) -> bool {
        matches!(self, Source::Provided(_))
    }
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Source<U> {
        match self {
            Source::Provided(t) => Source::Provided(f(t)),
            Source::NotProvided => Source::NotProvided,
        }
    }
}

/// What `validate` and the evidence inventory say about one input file.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: PathBuf,
    pub kind: Option<SourceKind>,
    pub shape: Option<Shape>,
    pub records: u64,
    pub bytes: u64,
    pub sha256: String,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    /// Records dropped because an earlier file or record had the same record id (the same
    /// event exported twice, e.g. by overlapping queries).
    pub duplicates: u64,
    /// Columns present in the file that casefile does not read.
    pub unknown_columns: Vec<String>,
    pub warnings: Vec<String>,
}

impl FileReport {
    /// A report with nothing read yet.
    pub fn new(path: &Path, kind: Option<SourceKind>, shape: Shape) -> FileReport {
        FileReport {
            path: path.to_path_buf(),
            kind,
            shape: Some(shape),
            records: 0,
            bytes: 0,
            sha256: String::new(),
            first: None,
            last: None,
            duplicates: 0,
            unknown_columns: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// One evidence file as the case lists it, with its declared kind and zone, if any.
#[derive(Debug, Clone)]
pub struct EvidenceFile {
    pub path: PathBuf,
    /// The kind declared with `kind = "…"`; detected from the file's fields when absent.
    pub kind: Option<SourceKind>,
    /// The zone of the file's zoneless timestamps, when the analyst declared it.
    pub timezone: Option<Tz>,
    /// Where case.toml lists it.
    pub location: Location,
}

/// The evidence of a case, read and typed.
#[derive(Debug)]
pub struct Bundle {
    pub files: Vec<FileReport>,
    pub signins: Source<Vec<signins::SignIn>>,
    pub activity: Source<Vec<activity::ActivityEvent>>,
    pub alerts: Source<Vec<alerts::Alert>>,
    pub risk_events: Source<Vec<risk::RiskEvent>>,
    /// Storage files are streamed later; `files` holds their reports once streamed.
    pub storage: Source<Vec<PathBuf>>,
    /// Rows of storage summaries (aggregated in the workspace; few, so read whole).
    pub storage_summary: Source<Vec<storage_summary::SummaryRow>>,
    /// Entra audit events (response evidence: sessions revoked, passwords reset, roles removed).
    pub audit: Source<Vec<audit::AuditEvent>>,
    /// Recommendation exports found among the evidence (the CLI option takes precedence).
    pub recommendation_files: Vec<PathBuf>,
    /// Evidence entries that named a directory or glob, with the files each matched (every
    /// one of which is also in `files`).
    pub trees: Vec<Tree>,
    /// Records of sources without a field above (see [`source::Store`]).
    pub store: source::Store,
    /// Each tree's summary (files, records, span, hourly gaps), once its files are read.
    pub tree_summaries: Vec<crate::input::tree::TreeSummary>,
}

impl Default for Bundle {
    fn default() -> Self {
        Bundle {
            files: Vec::new(),
            signins: Source::NotProvided,
            activity: Source::NotProvided,
            alerts: Source::NotProvided,
            risk_events: Source::NotProvided,
            storage: Source::NotProvided,
            storage_summary: Source::NotProvided,
            audit: Source::NotProvided,
            recommendation_files: Vec::new(),
            trees: Vec::new(),
            tree_summaries: Vec::new(),
            store: source::Store::default(),
        }
    }
}

impl Bundle {
    /// The records of a source kept in [`Bundle::store`]; not provided when no file of it
    /// was read.
    pub fn records<T: 'static>(&self, kind: SourceKind) -> Source<&[T]> {
        match self.store.get::<T>(kind) {
            Some(v) => Source::Provided(v.as_slice()),
            None => Source::NotProvided,
        }
    }
}

/// Reads every evidence file of the case with the built-in sources, except storage logs
/// (see `storage::stream`). Errors from all files are gathered, so one run shows every
/// broken file.
///
/// # Errors
/// An input error naming the file, record and field of the first record that cannot be read,
/// in every file that has one.
pub fn load(dir: &Path, evidence: &[EvidenceFile]) -> Result<Bundle> {
    load_with(&Registry::default(), dir, evidence)
}

/// [`load`] with the sources of `registry`.
///
/// # Errors
/// As [`load`].
pub fn load_with(registry: &Registry, dir: &Path, evidence: &[EvidenceFile]) -> Result<Bundle> {
    let mut bundle = Bundle::default();
    let mut errors = Vec::new();
    let mut seen = Seen::default();
    let files = expand_evidence(dir, evidence, &mut bundle.trees, &mut errors);
    // Every file's head and first record, read on all cores (a tree may list thousands of
    // files); then each file is loaded in the given order.
    let peeks: Vec<Result<table::Peek>> = {
        use rayon::prelude::*;
        files.par_iter().map(|ev| table::peek(&ev.path, "evidence file")).collect()
    };
    for (ev, peek) in files.iter().zip(peeks) {
        if let Err(e) = peek.and_then(|peek| load_file(registry, ev, peek, &mut bundle, &mut seen)) {
            errors.push(e);
        }
    }
    if !errors.is_empty() {
        // Files read later (storage) are still checked, so one run names every broken file.
        for f in bundle.files.iter().filter(|f| f.kind.is_some_and(|k| k.source().streamed())) {
            if let Some(Err(e)) = f.kind.map(|k| k.source().survey(&f.path)) {
                errors.push(e);
            }
        }
        Error::collect(errors)?;
    }
    Ok(bundle)
}

/// The evidence entries with directories and globs replaced by the files they match, in
/// sorted order (see `input::tree`); an entry that matches nothing is an error at its line.
fn expand_evidence(dir: &Path, evidence: &[EvidenceFile], trees: &mut Vec<Tree>, errors: &mut Vec<Error>) -> Vec<EvidenceFile> {
    let mut out = Vec::new();
    for ev in evidence {
        let rel = ev.path.strip_prefix(dir).unwrap_or(&ev.path).to_string_lossy().into_owned();
        match crate::input::tree::expand(dir, &rel) {
            Ok(None) => out.push(ev.clone()),
            Ok(Some(files)) => {
                out.extend(files.iter().map(|path| EvidenceFile {
                    path: path.clone(),
                    ..ev.clone()
                }));
                trees.push(Tree { pattern: rel, files });
            }
            Err(reason) => errors.push(
                InputError::new("case file", "evidence not found", ev.location.clone())
                    .found(&format!("{rel}: {reason}"))
                    .expected("a file, a directory or a glob (such as logs/**/PT1H.json) matching at least one file")
                    .into(),
            ),
        }
    }
    out
}

/// Loads one file into the bundle (its `peek` read already): recognise, hash, read, then say
/// what was not read.
fn load_file(registry: &Registry, ev: &EvidenceFile, peek: table::Peek, bundle: &mut Bundle, seen: &mut Seen) -> Result<()> {
    let path = &ev.path;
    let table::Peek { shape, names, raw } = peek;
    let kind = match ev.kind {
        Some(k) => k,
        None => registry.detect(&names).ok_or_else(|| unrecognised(registry, path, &names))?,
    };
    let source = kind.source();
    let mut report = FileReport::new(path, Some(kind), shape);
    if !source.streamed() {
        (report.sha256, report.bytes) = crate::input::hash::hash_file(path, "evidence file")?;
    }
    report.warnings = source::missing_capabilities(kind, &names);
    if raw.first().is_some_and(String::is_empty) {
        report
            .warnings
            .push("leading unnamed column (a pandas to_csv index) ignored".to_string());
    }
    let asked = RefCell::new(BTreeSet::new());
    let anomalies = RefCell::new(BTreeMap::new());
    let options = TableOptions {
        zone: ev.timezone,
        track: Some(&asked),
        anomalies: Some(&anomalies),
    };
    let file = FileIn {
        path,
        shape,
        options: &options,
    };
    let mut span = Span::default();
    source.load(&file, &mut Intake::new(bundle, seen, &mut report, &mut span))?;
    // A continuous export read record by record (see `mixed`) says per record type what it
    // was read as instead.
    let mixed = report.kind != Some(kind);
    report.unknown_columns = match source.fields() {
        _ if mixed => Vec::new(),
        source::FieldList::Asked => unread(&raw, asked.borrow().iter().map(String::as_str)),
        source::FieldList::Declared(fields) => unread(&raw, fields.iter().copied()),
        source::FieldList::NotRead => Vec::new(),
    };
    for (what, n) in anomalies.into_inner() {
        report
            .warnings
            .push(format!("{n} record{} with {what}", if n == 1 { "" } else { "s" }));
    }
    report.first = span.first;
    report.last = span.last;
    bundle.files.push(report);
    Ok(())
}

/// The error for a listed file that matches no source: never silently dropped.
fn unrecognised(registry: &Registry, path: &Path, columns: &[String]) -> Error {
    let shown = columns.iter().take(6).cloned().collect::<Vec<_>>().join(", ");
    let expected = match registry.closest(columns) {
        Some((sig, lacks)) => format!("an export casefile reads; it looks like {} but has no {lacks}", sig.shape),
        None => {
            let kinds: Vec<&str> = registry
                .iter()
                .filter(|k| !k.source().signatures().is_empty())
                .map(SourceKind::describe)
                .collect();
            format!("an export casefile reads ({})", kinds.join(", "))
        }
    };
    InputError::new("evidence file", "matches no evidence source", Location::file(path))
        .found(&format!("fields {shown}"))
        .expected(&expected)
        .hint("if this file is not meant to be read (a hunting query's output, notes), declare it under its [[evidence]] entry with kind = \"other\"")
        .into()
}

/// The columns none of `read` names (a column is read when a parser asked for it, for one
/// of its sub-fields, or for an object that contains it).
fn unread<'a>(columns: &[String], read: impl Iterator<Item = &'a str> + Clone) -> Vec<String> {
    let unknown: Vec<String> = columns
        .iter()
        .filter(|c| !c.is_empty())
        .filter(|c| {
            !read.clone().any(|r| {
                c.as_str() == r
                    || c.strip_prefix(r).is_some_and(|rest| rest.starts_with('.'))
                    || r.strip_prefix(c.as_str()).is_some_and(|rest| rest.starts_with('.'))
            })
        })
        .cloned()
        .collect();
    // An unread object is listed once, not with each of its fields.
    unknown
        .iter()
        .filter(|c| !c.match_indices('.').any(|(i, _)| unknown.iter().any(|u| u.as_str() == &c[..i])))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(s: &str) -> Vec<String> {
        s.split(',').map(|c| table::normalise_header(c).0).collect()
    }

    #[test]
    fn kinds_are_detected_from_columns() {
        let detect_kind = |c: &[String]| Registry::default().detect(c);
        assert_eq!(
            detect_kind(&cols("TimeGenerated [UTC],UserPrincipalName,IPAddress,ResultType")),
            Some(signins::KIND)
        );
        assert_eq!(
            detect_kind(&cols("OperationNameValue,Caller,ActivityStatusValue")),
            Some(activity::KIND)
        );
        assert_eq!(
            detect_kind(&cols("TimeGenerated,AccountName,ObjectKey,AuthenticationType")),
            Some(storage::KIND)
        );
        assert_eq!(detect_kind(&cols("TimeGenerated,AlertName,AlertSeverity")), Some(alerts::KIND));
        assert_eq!(detect_kind(&cols("recommendationName,state")), Some(recommendations::KIND));
        assert_eq!(
            detect_kind(&cols("StartTime [UTC],EndTime [UTC],IPAddress,disabledAccountLoginAttempts")),
            None
        );
    }

    #[test]
    fn shapes_shared_with_sign_ins_are_tried_first() {
        let registry = Registry::default();
        // A risk detection has a user, an address and a result type, as a sign-in does.
        assert_eq!(
            registry.detect(&cols("RiskEventType,DetectedDateTime,UserPrincipalName,IpAddress,ResultType")),
            Some(risk::KIND)
        );
        assert_eq!(
            registry.detect(&cols("OperationName,ResultType,identity.claims,UserPrincipalName,IpAddress")),
            Some(activity::KIND)
        );
    }

    #[test]
    fn kinds_are_named_by_key_or_table_name_and_listed_in_report_order() {
        let registry = Registry::default();
        assert_eq!(registry.parse_kind("SigninLogs"), Some(signins::KIND));
        assert_eq!(registry.parse_kind("risk-events"), Some(risk::KIND));
        assert_eq!(registry.parse_kind("nonsense"), None);
        assert_eq!(
            registry.expected_kinds(),
            "signins, activity, storage, storage-summary, alerts, risk-events, audit-logs, recommendations or other"
        );
        let expected: Vec<&str> = registry.expected().map(|(k, _)| k.key()).collect();
        assert_eq!(expected, ["signins", "activity", "storage", "alerts", "risk-events"]);
        assert_eq!(serde_json::to_string(&risk::KIND).unwrap(), "\"risk-events\"");
    }
}
