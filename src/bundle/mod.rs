//! The case bundle: which evidence files there are, what kind of table each holds, and the
//! typed records of each source. Each source is [`Source::Provided`] or
//! [`Source::NotProvided`]; "not provided" travels all the way to the reports and is never
//! turned into zero. This module knows nothing of controls or reports.
//!
//! Storage logs are not held in memory: the bundle keeps their file list and `storage::stream`
//! feeds records one at a time to the analysis, so memory does not grow with their size.

pub mod activity;
pub mod alerts;
pub mod records;
pub mod risk;
pub mod signins;
pub mod storage;

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::case::Case;
use crate::error::{Error, InputError, Location, Result};
use crate::types::Timestamp;
use records::Shape;

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

/// The kinds of table casefile recognises, including kinds it recognises but does not use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// Entra ID sign-ins (SigninLogs, AADNonInteractiveUserSignInLogs, portal, Graph).
    Signins,
    /// Azure Activity log (AzureActivity, REST/CLI, diagnostic archive).
    Activity,
    /// Storage blob resource logs (StorageBlobLogs or raw StorageRead/Write records).
    Storage,
    /// Defender / Sentinel alerts (SecurityAlert).
    Alerts,
    /// Entra ID Protection risk detections (AADUserRiskEvents).
    RiskEvents,
    /// Defender for Cloud recommendations; read by `posture`, not as evidence.
    Recommendations,
    /// Entra audit log: recognised, not used yet.
    AuditLogs,
    /// A hunting query's own projection: recognised as not a raw table, not used.
    CustomProjection,
}

impl SourceKind {
    pub const EXPECTED: &'static str = "signins, activity, storage, alerts, risk-events, recommendations or audit-logs";

    pub fn parse(s: &str) -> Option<SourceKind> {
        Some(match s.to_ascii_lowercase().as_str() {
            "signins" | "signinlogs" | "sign-ins" => SourceKind::Signins,
            "activity" | "azureactivity" => SourceKind::Activity,
            "storage" | "storagebloblogs" => SourceKind::Storage,
            "alerts" | "securityalert" => SourceKind::Alerts,
            "risk-events" | "aaduserriskevents" => SourceKind::RiskEvents,
            "recommendations" | "securityrecommendation" => SourceKind::Recommendations,
            "audit-logs" | "auditlogs" => SourceKind::AuditLogs,
            _ => return None,
        })
    }

    /// What a reader calls this source in messages and reports.
    pub fn describe(self) -> &'static str {
        match self {
            SourceKind::Signins => "sign-in log",
            SourceKind::Activity => "activity log",
            SourceKind::Storage => "storage log",
            SourceKind::Alerts => "alert export",
            SourceKind::RiskEvents => "risk detections",
            SourceKind::Recommendations => "recommendations export",
            SourceKind::AuditLogs => "audit log",
            SourceKind::CustomProjection => "custom query output",
        }
    }

    /// Whether casefile reads this kind's records.
    pub fn used(self) -> bool {
        !matches!(self, SourceKind::AuditLogs | SourceKind::CustomProjection)
    }

    /// Known columns, to list the ones a file has that casefile ignores.
    fn known_columns(self) -> &'static [&'static str] {
        match self {
            SourceKind::Signins => signins::COLUMNS,
            SourceKind::Activity => activity::COLUMNS,
            SourceKind::Storage => storage::COLUMNS,
            SourceKind::Alerts => alerts::COLUMNS,
            SourceKind::RiskEvents => risk::COLUMNS,
            _ => &[],
        }
    }
}

/// Decides a table's kind from its (normalised) column names. Returns None when the columns
/// match no kind; the caller then reports the file instead of guessing.
pub fn detect_kind(columns: &[String]) -> Option<SourceKind> {
    let has = |n: &str| columns.iter().any(|c| c == n);
    let any = |ns: &[&str]| ns.iter().any(|n| has(n));
    if any(&["recommendationname", "recommendationdisplayname", "recommendationstate"])
        || (has("properties.status.code") && any(&["properties.displayname", "properties.resourcedetails.id"]))
    {
        return Some(SourceKind::Recommendations);
    }
    if any(&["riskeventtype"]) && any(&["detecteddatetime", "activitydatetime"]) {
        return Some(SourceKind::RiskEvents);
    }
    if any(&["alertname", "alertdisplayname", "properties.alertdisplayname"]) && any(&["alertseverity", "severity", "properties.severity"])
    {
        return Some(SourceKind::Alerts);
    }
    if any(&["objectkey", "properties.objectkey"]) || (has("accountname") && has("authenticationtype")) {
        return Some(SourceKind::Storage);
    }
    if any(&["operationnamevalue", "operationname.value"])
        || (has("caller") && any(&["activitystatus", "activitystatusvalue", "status.value"]))
        || (has("event initiated by") && has("operation name"))
    {
        return Some(SourceKind::Activity);
    }
    if any(&["userprincipalname", "username"])
        && any(&["ipaddress", "ip address"])
        && any(&["createddatetime", "date (utc)", "conditionalaccessstatus", "resulttype"])
    {
        return Some(SourceKind::Signins);
    }
    if has("activitydisplayname") && any(&["targetresources", "initiatedby"]) {
        return Some(SourceKind::AuditLogs);
    }
    None
}

/// What a file's columns cannot tell, said once per file so reports can qualify their
/// findings (the portal's Activity-log CSV, for one, has no caller IP, region or request body).
fn missing_capabilities(kind: SourceKind, columns: &[String]) -> Vec<String> {
    let has = |names: &[&str]| {
        names
            .iter()
            .any(|n| columns.iter().any(|c| c == n || c.starts_with(&format!("{n}."))))
    };
    let mut out = Vec::new();
    let mut lacks = |present: bool, what: &str| {
        if !present {
            out.push(format!("no {what}"));
        }
    };
    match kind {
        SourceKind::Signins => {
            lacks(
                has(&["conditionalaccessstatus", "conditional access"]),
                "Conditional Access status: CA gaps cannot be proven from this file",
            );
            lacks(
                has(&["risklevelduringsignin", "risklevelaggregated", "riskstate"]),
                "risk columns: risky sign-ins cannot be recognised from this file",
            );
            lacks(
                has(&["authenticationrequirement", "authentication requirement"]),
                "authentication requirement: single-factor sign-ins cannot be shown",
            );
        }
        SourceKind::Activity => {
            lacks(
                has(&["calleripaddress", "httprequest"]),
                "caller IP address: operations are attributed by caller only",
            );
            lacks(
                has(&["properties", "properties_d"]),
                "request or response bodies: regions and VM sizes (and so VM cost) are unknown",
            );
            lacks(
                has(&["resourceid", "_resourceid", "authorization", "authorization_d"]),
                "resource ids: affected resources are named only by group and name",
            );
        }
        SourceKind::Storage => {
            lacks(
                has(&["authenticationtype", "identity"]),
                "authentication type: account-key use cannot be shown",
            );
            lacks(
                has(&["responsebodysize", "properties"]),
                "response sizes: bytes read cannot be counted",
            );
        }
        _ => {}
    }
    out
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

/// A time span accumulated while reading records.
#[derive(Debug, Clone, Copy, Default)]
pub struct Span {
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

impl Span {
    pub fn add(&mut self, t: Timestamp) {
        self.first = Some(self.first.map_or(t, |f| f.min(t)));
        self.last = Some(self.last.map_or(t, |l| l.max(t)));
    }
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
    /// Recommendation exports found among the evidence (the CLI option takes precedence).
    pub recommendation_files: Vec<PathBuf>,
    /// Evidence entries that named a directory or glob, with the files each matched (every
    /// one of which is also in `files`).
    pub trees: Vec<crate::input::tree::Tree>,
}

/// SHA-256 and size of a file, read once, read-only.
pub fn hash_file(path: &Path, what: &str) -> Result<(String, u64)> {
    let mut file = File::open(path).map_err(|e| {
        Error::from(
            InputError::new(what, "cannot open file", Location::file(path))
                .found(&e.to_string())
                .expected("a readable file"),
        )
    })?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::from(InputError::new(what, "read error", Location::file(path)).found(&e.to_string())))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    let hex = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((hex, size))
}

/// Adds a file's records to a source, dropping records whose key was already seen (the same
/// event in two overlapping exports counts once). Returns how many were dropped.
fn push<T>(source: &mut Source<Vec<T>>, items: Vec<T>, seen: &mut BTreeSet<String>, key: impl Fn(&T) -> String) -> u64 {
    let mut dropped = 0;
    let mut kept = Vec::with_capacity(items.len());
    for item in items {
        if seen.insert(key(&item)) {
            kept.push(item);
        } else {
            dropped += 1;
        }
    }
    match source {
        Source::Provided(v) => v.extend(kept),
        Source::NotProvided => *source = Source::Provided(kept),
    }
    dropped
}

/// Record keys for de-duplication: the record's own id where the export has one, else the
/// fields that identify the event.
#[derive(Default)]
struct Seen {
    signins: BTreeSet<String>,
    activity: BTreeSet<String>,
    alerts: BTreeSet<String>,
    risk: BTreeSet<String>,
}

/// Reads every evidence file of the case except storage logs (see `storage::stream`).
/// Errors from all files are gathered, so one run shows every broken file.
pub fn load(case: &Case) -> Result<Bundle> {
    let mut bundle = Bundle {
        files: Vec::new(),
        signins: Source::NotProvided,
        activity: Source::NotProvided,
        alerts: Source::NotProvided,
        risk_events: Source::NotProvided,
        storage: Source::NotProvided,
        recommendation_files: Vec::new(),
        trees: Vec::new(),
    };
    let mut errors = Vec::new();
    let mut storage_files = Vec::new();
    let mut seen = Seen::default();
    for ev in expand_evidence(case, &mut bundle.trees, &mut errors) {
        match load_file(&ev, &mut bundle, &mut seen) {
            Ok(Some(path)) => storage_files.push(path),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    if !storage_files.is_empty() {
        bundle.storage = Source::Provided(storage_files.clone());
    }
    if !errors.is_empty() {
        // Still check storage files, so one run names every broken file.
        for path in &storage_files {
            if let Err(e) = storage::stream(path, &mut |_| Ok(())) {
                errors.push(e);
            }
        }
        Error::collect(errors)?;
    }
    Ok(bundle)
}

/// The evidence entries with directories and globs replaced by the files they match, in
/// sorted order (see `input::tree`); an entry that matches nothing is an error at its line.
fn expand_evidence(case: &Case, trees: &mut Vec<crate::input::tree::Tree>, errors: &mut Vec<Error>) -> Vec<crate::case::EvidenceFile> {
    let mut out = Vec::new();
    for ev in &case.evidence {
        let rel = ev.path.strip_prefix(&case.dir).unwrap_or(&ev.path).to_string_lossy().into_owned();
        match crate::input::tree::expand(&case.dir, &rel) {
            Ok(None) => out.push(ev.clone()),
            Ok(Some(files)) => {
                out.extend(files.iter().map(|path| crate::case::EvidenceFile {
                    path: path.clone(),
                    ..ev.clone()
                }));
                trees.push(crate::input::tree::Tree { pattern: rel, files });
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

/// Loads one file into the bundle; returns its path when it is a storage log to stream.
fn load_file(ev: &crate::case::EvidenceFile, bundle: &mut Bundle, seen: &mut Seen) -> Result<Option<PathBuf>> {
    let path = &ev.path;
    let (shape, columns) = records::peek_columns(path, "evidence file")?;
    let kind = match &ev.kind {
        Some(k) => SourceKind::parse(k),
        None => detect_kind(&columns),
    };
    // Storage logs are hashed while they stream (one read of a large file, not two).
    let (sha256, bytes) = if kind == Some(SourceKind::Storage) {
        (String::new(), 0)
    } else {
        hash_file(path, "evidence file")?
    };
    let mut report = FileReport {
        path: path.clone(),
        kind,
        shape: Some(shape),
        records: 0,
        duplicates: 0,
        bytes,
        sha256,
        first: None,
        last: None,
        unknown_columns: Vec::new(),
        warnings: Vec::new(),
    };
    // A table that matches no raw schema is most likely a hunting query's own projection
    // (aggregates, renamed columns): named as such and not used, never guessed at.
    let kind = kind.unwrap_or(SourceKind::CustomProjection);
    report.kind = Some(kind);
    let known = kind.known_columns();
    if !known.is_empty() {
        report.unknown_columns = columns
            .iter()
            .filter(|c| !known.iter().any(|k| c == k || c.starts_with(&format!("{k}."))))
            .cloned()
            .collect();
    }
    report.warnings.extend(missing_capabilities(kind, &columns));
    let mut span = Span::default();
    let mut result = None;
    match kind {
        SourceKind::Signins => {
            let (items, info) = signins::load(path, &mut span)?;
            report.records = info.records;
            report.duplicates = push(&mut bundle.signins, items, &mut seen.signins, |s| {
                s.record_id
                    .clone()
                    .unwrap_or_else(|| format!("{}|{}|{:?}|{:?}", s.at.rfc3339(), s.upn, s.ip, s.correlation_id))
            });
        }
        SourceKind::Activity => {
            let (items, info) = activity::load(path, &mut span)?;
            report.records = info.records;
            report.duplicates = push(&mut bundle.activity, items, &mut seen.activity, |e| {
                e.event_id.clone().unwrap_or_else(|| {
                    format!(
                        "{}|{}|{:?}|{:?}",
                        e.at.0.timestamp_micros(),
                        e.operation,
                        e.status,
                        e.correlation_id
                    )
                })
            });
        }
        SourceKind::Alerts => {
            let (items, info) = alerts::load(path, &mut span)?;
            report.records = info.records;
            report.duplicates = push(&mut bundle.alerts, items, &mut seen.alerts, |a| {
                a.id.clone().unwrap_or_else(|| format!("{}|{}", a.at.rfc3339(), a.name))
            });
        }
        SourceKind::RiskEvents => {
            let (items, info) = risk::load(path, &mut span)?;
            report.records = info.records;
            report.duplicates = push(&mut bundle.risk_events, items, &mut seen.risk, |r| {
                format!("{}|{}|{}|{:?}", r.at.rfc3339(), r.upn, r.risk_type, r.ip)
            });
        }
        SourceKind::Storage => {
            // Counted when streamed by the analysis.
            result = Some(path.clone());
        }
        SourceKind::Recommendations => bundle.recommendation_files.push(path.clone()),
        SourceKind::AuditLogs | SourceKind::CustomProjection => {
            let info = records::read_table(path, "evidence file", &mut |_| Ok(records::Visit::Continue))?;
            report.records = info.records;
            let detail = if kind == SourceKind::CustomProjection {
                format!(
                    "columns match no raw table (first: {}); looks like a custom query's output; not used",
                    columns.iter().take(4).cloned().collect::<Vec<_>>().join(", ")
                )
            } else {
                format!("recognised as {}; casefile does not use it yet", kind.describe())
            };
            report.warnings.push(detail);
        }
    }
    report.first = span.first;
    report.last = span.last;
    bundle.files.push(report);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(s: &str) -> Vec<String> {
        s.split(',').map(|c| records::normalise_header(c).0).collect()
    }

    #[test]
    fn kinds_are_detected_from_columns() {
        assert_eq!(
            detect_kind(&cols("TimeGenerated [UTC],UserPrincipalName,IPAddress,ResultType")),
            Some(SourceKind::Signins)
        );
        assert_eq!(
            detect_kind(&cols("OperationNameValue,Caller,ActivityStatusValue")),
            Some(SourceKind::Activity)
        );
        assert_eq!(
            detect_kind(&cols("TimeGenerated,AccountName,ObjectKey,AuthenticationType")),
            Some(SourceKind::Storage)
        );
        assert_eq!(
            detect_kind(&cols("TimeGenerated,AlertName,AlertSeverity")),
            Some(SourceKind::Alerts)
        );
        assert_eq!(detect_kind(&cols("recommendationName,state")), Some(SourceKind::Recommendations));
        assert_eq!(
            detect_kind(&cols("StartTime [UTC],EndTime [UTC],IPAddress,disabledAccountLoginAttempts")),
            None
        );
    }
}
