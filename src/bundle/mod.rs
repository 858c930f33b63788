//! The case bundle: which evidence files there are, what kind of table each holds, and the
//! typed records of each source. Each source is [`Source::Provided`] or
//! [`Source::NotProvided`]; "not provided" travels all the way to the reports and is never
//! turned into zero. This module knows nothing of controls or reports.
//!
//! Storage logs are not held in memory: the bundle keeps their file list and `storage::stream`
//! feeds records one at a time to the analysis, so memory does not grow with their size.

pub mod activity;
pub mod alerts;
pub mod audit;
pub mod mixed;
pub mod records;
pub mod risk;
pub mod signins;
pub mod storage;

use std::collections::{BTreeMap, BTreeSet};
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
    /// Entra audit log: read as response evidence (the analysis does not use it yet).
    AuditLogs,
    /// A file the analyst declared `kind = "other"`: listed and hashed, never read as evidence.
    Other,
}

impl SourceKind {
    pub const EXPECTED: &'static str = "signins, activity, storage, alerts, risk-events, recommendations, audit-logs or other";

    pub fn parse(s: &str) -> Option<SourceKind> {
        Some(match s.to_ascii_lowercase().as_str() {
            "signins" | "signinlogs" | "sign-ins" => SourceKind::Signins,
            "activity" | "azureactivity" => SourceKind::Activity,
            "storage" | "storagebloblogs" => SourceKind::Storage,
            "alerts" | "securityalert" => SourceKind::Alerts,
            "risk-events" | "aaduserriskevents" => SourceKind::RiskEvents,
            "recommendations" | "securityrecommendation" => SourceKind::Recommendations,
            "audit-logs" | "auditlogs" => SourceKind::AuditLogs,
            "other" => SourceKind::Other,
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
            SourceKind::Other => "other file (declared, not used)",
        }
    }

    /// Whether casefile reads this kind's records.
    pub fn used(self) -> bool {
        !matches!(self, SourceKind::Other)
    }
}

/// One requirement of a [`Signature`]: any of these (normalised) names, and how to say that
/// none was there.
#[derive(Debug, Clone, Copy)]
pub struct Need {
    pub any: &'static [&'static str],
    pub what: &'static str,
}

/// How one export shape of one source is recognised from its column (field) names.
#[derive(Debug, Clone, Copy)]
pub struct Signature {
    pub kind: SourceKind,
    /// The shape in words, for "looks like …" messages.
    pub shape: &'static str,
    pub needs: &'static [Need],
}

const fn need(any: &'static [&'static str], what: &'static str) -> Need {
    Need { any, what }
}

/// Every recognised shape, most specific first. A resource-log record's `properties.*`
/// fields are matched by their bare names (see `records::record_names`).
pub const SIGNATURES: &[Signature] = &[
    Signature {
        kind: SourceKind::Recommendations,
        shape: "Defender for Cloud recommendations (portal CSV, SecurityRecommendation)",
        needs: &[need(
            &["recommendationname", "recommendationdisplayname", "recommendationstate"],
            "recommendation name or state",
        )],
    },
    Signature {
        kind: SourceKind::Recommendations,
        shape: "Defender for Cloud assessments (REST, Resource Graph, continuous export)",
        needs: &[
            need(&["properties.status.code", "status.code"], "properties.status.code"),
            need(
                &[
                    "properties.displayname",
                    "properties.resourcedetails.id",
                    "displayname",
                    "resourcedetails.id",
                ],
                "properties.displayName or properties.resourceDetails.id",
            ),
        ],
    },
    Signature {
        kind: SourceKind::RiskEvents,
        shape: "risk detections (AADUserRiskEvents, riskDetections, UserRiskEvents records)",
        needs: &[
            need(&["riskeventtype"], "riskEventType"),
            need(&["detecteddatetime", "activitydatetime"], "detectedDateTime or activityDateTime"),
            need(&["userprincipalname"], "userPrincipalName"),
        ],
    },
    Signature {
        kind: SourceKind::RiskEvents,
        shape: "risky users (RiskyUsers records, riskyUsers)",
        needs: &[
            need(&["risklastupdateddatetime"], "riskLastUpdatedDateTime"),
            need(&["risklevel"], "riskLevel"),
            need(&["userprincipalname"], "userPrincipalName"),
        ],
    },
    Signature {
        kind: SourceKind::Alerts,
        shape: "alerts (SecurityAlert, Defender for Cloud alert JSON)",
        needs: &[
            need(
                &["alertname", "alertdisplayname", "properties.alertdisplayname"],
                "an alert name (AlertName, properties.alertDisplayName)",
            ),
            need(
                &["alertseverity", "severity", "properties.severity"],
                "a severity (AlertSeverity, properties.severity)",
            ),
        ],
    },
    Signature {
        kind: SourceKind::Storage,
        shape: "storage logs (StorageBlobLogs, StorageRead/StorageWrite records)",
        needs: &[need(&["objectkey", "properties.objectkey"], "ObjectKey")],
    },
    Signature {
        kind: SourceKind::Storage,
        shape: "storage logs (StorageBlobLogs)",
        needs: &[
            need(&["accountname"], "AccountName"),
            need(&["authenticationtype"], "AuthenticationType"),
        ],
    },
    Signature {
        kind: SourceKind::Activity,
        shape: "activity log (AzureActivity, REST, az CLI)",
        needs: &[need(
            &["operationnamevalue", "operationname.value"],
            "OperationNameValue or operationName.value",
        )],
    },
    Signature {
        kind: SourceKind::Activity,
        shape: "activity log (legacy columns)",
        needs: &[
            need(&["caller"], "Caller"),
            need(&["activitystatus", "activitystatusvalue", "status.value"], "ActivityStatus"),
        ],
    },
    Signature {
        kind: SourceKind::Activity,
        shape: "activity log (portal CSV)",
        needs: &[
            need(&["event initiated by"], "Event initiated by"),
            need(&["operation name"], "Operation name"),
        ],
    },
    Signature {
        kind: SourceKind::Activity,
        shape: "activity log diagnostic records (insights-activity-logs)",
        needs: &[
            need(&["operationname"], "operationName"),
            need(&["resulttype"], "resultType"),
            need(
                &["identity.claims", "identity.authorization"],
                "identity.claims or identity.authorization",
            ),
        ],
    },
    Signature {
        kind: SourceKind::Signins,
        shape: "sign-in log (SigninLogs, portal, Graph, sign-in diagnostic records)",
        needs: &[
            need(
                &["userprincipalname", "username", "serviceprincipalname", "serviceprincipalid"],
                "userPrincipalName (or servicePrincipalName)",
            ),
            need(&["ipaddress", "ip address"], "ipAddress"),
            need(
                &["createddatetime", "date (utc)", "conditionalaccessstatus", "resulttype"],
                "createdDateTime",
            ),
        ],
    },
    Signature {
        kind: SourceKind::AuditLogs,
        shape: "Entra audit log (AuditLogs)",
        needs: &[
            need(&["activitydisplayname"], "activityDisplayName"),
            need(&["targetresources", "initiatedby"], "targetResources or initiatedBy"),
        ],
    },
];

impl Signature {
    fn met(&self, columns: &[String]) -> usize {
        self.needs
            .iter()
            .filter(|n| n.any.iter().any(|a| columns.iter().any(|c| c == a)))
            .count()
    }
    /// The first requirement the columns do not meet.
    fn lacks(&self, columns: &[String]) -> Option<&'static str> {
        self.needs
            .iter()
            .find(|n| !n.any.iter().any(|a| columns.iter().any(|c| c == a)))
            .map(|n| n.what)
    }
}

/// Decides a table's kind from its (normalised) column names. Returns None when the columns
/// match no kind; the caller then reports the file instead of guessing.
pub fn detect_kind(columns: &[String]) -> Option<SourceKind> {
    SIGNATURES.iter().find(|s| s.met(columns) == s.needs.len()).map(|s| s.kind)
}

/// For a file that matches no shape: the shape it comes closest to and what it lacks.
pub fn closest_shape(columns: &[String]) -> Option<(&'static Signature, &'static str)> {
    SIGNATURES
        .iter()
        .filter(|s| s.met(columns) > 0)
        .max_by_key(|s| (s.met(columns) * 100 / s.needs.len(), s.met(columns)))
        .and_then(|s| s.lacks(columns).map(|l| (s, l)))
}

/// The error for a listed file that matches no source: never silently dropped.
fn unrecognised(path: &Path, columns: &[String]) -> Error {
    let shown = columns.iter().take(6).cloned().collect::<Vec<_>>().join(", ");
    let expected = match closest_shape(columns) {
        Some((sig, lacks)) => format!("an export casefile reads; it looks like {} but has no {lacks}", sig.shape),
        None => "an export casefile reads (sign-ins, activity, storage, alerts, risk detections, recommendations)".to_string(),
    };
    InputError::new("evidence file", "matches no evidence source", Location::file(path))
        .found(&format!("fields {shown}"))
        .expected(&expected)
        .hint("if this file is not meant to be read (a hunting query's output, notes), declare it under its [[evidence]] entry with kind = \"other\"")
        .into()
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
                has(&["properties", "properties_d", "requestbody", "responsebody"]),
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
    /// Entra audit events (response evidence: sessions revoked, passwords reset, roles removed).
    pub audit: Source<Vec<audit::AuditEvent>>,
    /// Recommendation exports found among the evidence (the CLI option takes precedence).
    pub recommendation_files: Vec<PathBuf>,
    /// Evidence entries that named a directory or glob, with the files each matched (every
    /// one of which is also in `files`).
    pub trees: Vec<crate::input::tree::Tree>,
    /// Each tree's summary (files, records, span, hourly gaps), once its files are read.
    pub tree_summaries: Vec<crate::input::tree::TreeSummary>,
}

/// SHA-256 and size of a file, read once, read-only.
///
/// # Errors
/// An input error naming the file, record and field of the first record that cannot be read.
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

/// Adds risk detections keeping one row per detection: the one with the latest
/// `lastUpdatedDateTime` (a detection is exported again on every update, e.g. when it is
/// confirmed safe). Returns how many rows were replaced or not taken.
fn push_latest(source: &mut Source<Vec<risk::RiskEvent>>, items: Vec<risk::RiskEvent>, index: &mut BTreeMap<String, usize>) -> u64 {
    if let Source::NotProvided = source {
        *source = Source::Provided(Vec::new());
    }
    let Source::Provided(kept) = source else { return 0 };
    let mut superseded = 0;
    for item in items {
        match index.get(&item.detection_key()) {
            Some(&i) => {
                superseded += 1;
                if item.supersedes(&kept[i]) {
                    kept[i] = item;
                }
            }
            None => {
                index.insert(item.detection_key(), kept.len());
                kept.push(item);
            }
        }
    }
    superseded
}

/// Record keys for de-duplication: the record's own id where the export has one, else the
/// fields that identify the event.
#[derive(Default)]
struct Seen {
    signins: BTreeSet<String>,
    activity: BTreeSet<String>,
    alerts: BTreeSet<String>,
    audit: BTreeSet<String>,
    /// Detection key → index in `Bundle::risk_events`.
    risk: BTreeMap<String, usize>,
}

/// Reads every evidence file of the case except storage logs (see `storage::stream`).
/// Errors from all files are gathered, so one run shows every broken file.
///
/// # Errors
/// An input error naming the file, record and field of the first record that cannot be read.
pub fn load(case: &Case) -> Result<Bundle> {
    let mut bundle = Bundle {
        files: Vec::new(),
        signins: Source::NotProvided,
        activity: Source::NotProvided,
        alerts: Source::NotProvided,
        risk_events: Source::NotProvided,
        audit: Source::NotProvided,
        storage: Source::NotProvided,
        recommendation_files: Vec::new(),
        trees: Vec::new(),
        tree_summaries: Vec::new(),
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
    let records::Peek {
        shape,
        names: columns,
        raw,
    } = records::peek(path, "evidence file")?;
    let kind = match ev.kind {
        Some(k) => k,
        None => detect_kind(&columns).ok_or_else(|| unrecognised(path, &columns))?,
    };
    // Storage logs are hashed while they stream (one read of a large file, not two).
    let (sha256, bytes) = if kind == SourceKind::Storage {
        (String::new(), 0)
    } else {
        hash_file(path, "evidence file")?
    };
    let mut report = FileReport {
        path: path.clone(),
        kind: Some(kind),
        shape: Some(shape),
        records: 0,
        duplicates: 0,
        bytes,
        sha256,
        first: None,
        last: None,
        unknown_columns: Vec::new(),
        warnings: missing_capabilities(kind, &columns),
    };
    if raw.first().is_some_and(String::is_empty) {
        report
            .warnings
            .push("leading unnamed column (a pandas to_csv index) ignored".to_string());
    }
    let read = std::cell::RefCell::new(BTreeSet::new());
    let anomalies = std::cell::RefCell::new(BTreeMap::new());
    let options = records::TableOptions {
        zone: ev.timezone,
        track: Some(&read),
        anomalies: Some(&anomalies),
    };
    let mut span = Span::default();
    if matches!(kind, SourceKind::Alerts | SourceKind::Recommendations) && shape != Shape::Csv {
        let census = census(path)?;
        if census.is_mixed() {
            load_mixed(path, &options, &census, &mut report, &mut span, bundle, seen)?;
            report.first = span.first;
            report.last = span.last;
            bundle.files.push(report);
            return Ok(None);
        }
    }
    let result = load_records_of(kind, path, &options, &mut span, &mut report, bundle, seen)?;
    if kind == SourceKind::Storage {
        report.unknown_columns = unread(&columns, storage::COLUMNS.iter().copied());
    }
    if kind.used() && !matches!(kind, SourceKind::Storage | SourceKind::Recommendations) {
        let read = read.into_inner();
        report.unknown_columns = unread(&raw, read.iter().map(String::as_str));
    }
    for (what, n) in anomalies.into_inner() {
        report
            .warnings
            .push(format!("{n} record{} with {what}", if n == 1 { "" } else { "s" }));
    }
    report.first = span.first;
    report.last = span.last;
    bundle.files.push(report);
    Ok(result)
}

/// Reads one file's records as `kind` into the bundle; returns its path when it is a
/// storage log to stream later.
fn load_records_of(
    kind: SourceKind,
    path: &Path,
    options: &records::TableOptions,
    span: &mut Span,
    report: &mut FileReport,
    bundle: &mut Bundle,
    seen: &mut Seen,
) -> Result<Option<PathBuf>> {
    let mut result = None;
    match kind {
        SourceKind::Signins => {
            let (items, info) = signins::load_with(path, options, span)?;
            report.records = info.records;
            report.duplicates = push(&mut bundle.signins, items, &mut seen.signins, |s| {
                s.record_id
                    .clone()
                    .unwrap_or_else(|| format!("{}|{}|{:?}|{:?}", s.at.rfc3339(), s.upn, s.ip, s.correlation_id))
            });
        }
        SourceKind::Activity => {
            let (items, info) = activity::load_with(path, options, span)?;
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
            let (items, info) = alerts::load_with(path, options, span)?;
            report.records = info.records;
            report.duplicates = push(&mut bundle.alerts, items, &mut seen.alerts, |a| {
                a.id.clone().unwrap_or_else(|| format!("{}|{}", a.at.rfc3339(), a.name))
            });
        }
        SourceKind::RiskEvents => {
            let (items, info) = risk::load_with(path, options, span)?;
            report.records = info.records;
            let superseded = push_latest(&mut bundle.risk_events, items, &mut seen.risk);
            if superseded > 0 {
                report.warnings.push(format!(
                    "{superseded} rows are earlier or repeated states of a detection read elsewhere; the latest (by lastUpdatedDateTime) is used"
                ));
            }
        }
        SourceKind::Storage => {
            // Counted when streamed by the analysis.
            result = Some(path.to_path_buf());
        }
        SourceKind::Recommendations => bundle.recommendation_files.push(path.to_path_buf()),
        SourceKind::AuditLogs => {
            let (items, info) = audit::load_with(path, options, span)?;
            report.records = info.records;
            let actions = items.iter().filter(|a| a.action != audit::AuditAction::Other).count();
            report.warnings.push(format!(
                "read as audit events ({actions} response actions such as session revocation or password reset)"
            ));
            report.duplicates = push(&mut bundle.audit, items, &mut seen.audit, |a| {
                a.id.clone().unwrap_or_else(|| format!("{:?}|{}|{:?}", a.at, a.activity, a.targets))
            });
        }
        SourceKind::Other => {
            let info = records::read_table(path, "evidence file", &mut |_| Ok(records::Visit::Continue))?;
            report.records = info.records;
            report
                .warnings
                .push("declared kind = \"other\": listed and hashed, not read as evidence".to_string());
        }
    }
    Ok(result)
}

/// The record types of a JSON file that may be a continuous export.
fn census(path: &Path) -> Result<mixed::Census> {
    let mut census = mixed::Census::default();
    records::read_table(path, "evidence file", &mut |row| {
        if let Some(r) = mixed::ExportRecord::of(row) {
            census.add(r);
        }
        Ok(records::Visit::Continue)
    })?;
    Ok(census)
}

/// Reads a continuous-export file record by record: its alerts as alerts; the file is also
/// handed to the recommendations reader, which reads its assessments.
fn load_mixed(
    path: &Path,
    options: &records::TableOptions,
    census: &mixed::Census,
    report: &mut FileReport,
    span: &mut Span,
    bundle: &mut Bundle,
    seen: &mut Seen,
) -> Result<()> {
    let mut items = Vec::new();
    let info = records::read_table_with(path, "evidence file", options, &mut |row| {
        if mixed::ExportRecord::of(row) == Some(mixed::ExportRecord::Alert) {
            let a = alerts::parse_row(row)?;
            span.add(a.at);
            items.push(a);
        }
        Ok(records::Visit::Continue)
    })?;
    report.records = info.records;
    report.kind = Some(SourceKind::Alerts);
    report.warnings = census.notes();
    if !items.is_empty() {
        report.duplicates = push(&mut bundle.alerts, items, &mut seen.alerts, |a| {
            a.id.clone().unwrap_or_else(|| format!("{}|{}", a.at.rfc3339(), a.name))
        });
    }
    if census.count(&mixed::ExportRecord::Assessment) > 0 {
        bundle.recommendation_files.push(path.to_path_buf());
    }
    Ok(())
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
