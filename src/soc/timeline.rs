//! `casefile timeline`: every entry of the cross-product timeline, for Timesketch, a SIEM or a
//! spreadsheet. Each row carries the step it belongs to and the record that proves it, so an
//! analyst can go from any row back to the evidence. Values come from the analysis' steps and
//! the alert records; nothing is recomputed.

use serde::Serialize;

use crate::analysis::steps::{Phase, Step};
use crate::analysis::timeline::TimelineEntry;
use crate::bundle::alerts::Alert;
use crate::cli::TimelineFormat;
use crate::error::{Error, Location, Result};
use crate::CaseRun;

/// One exported row. Field order is the CSV column order.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TimelineRow {
    /// UTC, RFC 3339.
    pub time: String,
    /// Last record of an aggregated step (a download burst); empty for single records.
    pub end: String,
    /// The kind of evidence the entry comes from (`sign-in log`, `activity log` …).
    pub source: String,
    pub phase: String,
    pub actor: String,
    pub address: String,
    pub operation: String,
    pub target: String,
    pub outcome: String,
    /// The attacker step (`S03`); empty for alerts.
    pub step: String,
    /// File (relative to the bundle), line and record of the proving record.
    pub evidence: String,
}

/// A Timesketch row: its three required fields, then the row's own.
#[derive(Debug, Serialize)]
struct TimesketchRow<'a> {
    message: String,
    datetime: &'a str,
    timestamp_desc: &'static str,
    #[serde(flatten)]
    row: &'a TimelineRow,
}

/// The timeline rows of a run, in timeline order.
pub fn rows(run: &CaseRun) -> Vec<TimelineRow> {
    let alerts: &[Alert] = run.bundle.alerts.provided().map(|v| v.as_slice()).unwrap_or(&[]);
    run.analysis
        .timeline
        .iter()
        .map(|e| {
            let step = e.step.as_ref().and_then(|id| run.analysis.steps.iter().find(|s| &s.id == id));
            let alert = step.is_none().then(|| alerts.iter().find(|a| a.origin == e.evidence)).flatten();
            row(run, e, step, alert)
        })
        .collect()
}

fn row(run: &CaseRun, e: &TimelineEntry, step: Option<&Step>, alert: Option<&Alert>) -> TimelineRow {
    let join = |v: Vec<String>| v.join("; ");
    let (actor, address, operation, target, outcome) = match (step, alert) {
        (Some(s), _) => (
            s.actor.as_ref().map(|u| u.to_string()).unwrap_or_default(),
            s.ip.map(|i| i.to_string()).unwrap_or_default(),
            s.action.clone(),
            s.target.clone(),
            s.outcome_text.clone(),
        ),
        (None, Some(a)) => (
            join(a.entities.accounts.iter().map(|u| u.to_string()).collect()),
            join(a.entities.ips.iter().map(|i| i.to_string()).collect()),
            a.name.clone(),
            join(a.entities.resources.clone()),
            match &a.status {
                Some(st) => format!("Alert raised ({})", st.label()),
                None => "Alert raised".to_string(),
            },
        ),
        (None, None) => (String::new(), String::new(), e.action.clone(), e.detail.clone(), String::new()),
    };
    TimelineRow {
        time: e.at.rfc3339(),
        end: e.end.map(|t| t.rfc3339()).unwrap_or_default(),
        source: source_of(run, &e.evidence, e.phase),
        phase: e.phase.label().to_string(),
        actor,
        address,
        operation,
        target,
        outcome,
        step: e.step.clone().unwrap_or_default(),
        evidence: location(run, &e.evidence),
    }
}

/// The kind of the file the record came from, as `validate` names it.
fn source_of(run: &CaseRun, at: &Location, phase: Phase) -> String {
    run.bundle
        .files
        .iter()
        .find(|f| *f.path == *at.file)
        .and_then(|f| f.kind)
        .map(|k| k.describe().to_string())
        .unwrap_or_else(|| phase.label().to_string())
}

fn location(run: &CaseRun, at: &Location) -> String {
    let mut l = at.clone();
    l.file = at.file.strip_prefix(&run.case.dir).unwrap_or(&at.file).into();
    l.to_string()
}

/// A spreadsheet runs a cell starting with one of these as a formula; attacker-controlled
/// text (user agents, names) must stay text, so such cells get a leading apostrophe.
pub(crate) fn spreadsheet_safe(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

fn csv_error(e: impl std::fmt::Display) -> Error {
    Error::Render {
        report: "timeline".into(),
        message: e.to_string(),
    }
}

/// The rows in the asked format.
///
/// # Errors
/// A render error when the timeline cannot be serialised.
pub fn render(rows: &[TimelineRow], format: TimelineFormat) -> Result<String> {
    match format {
        TimelineFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            for r in rows {
                let safe = TimelineRow {
                    actor: spreadsheet_safe(&r.actor),
                    operation: spreadsheet_safe(&r.operation),
                    target: spreadsheet_safe(&r.target),
                    ..r.clone()
                };
                w.serialize(safe).map_err(csv_error)?;
            }
            if rows.is_empty() {
                w.write_record([
                    "time",
                    "end",
                    "source",
                    "phase",
                    "actor",
                    "address",
                    "operation",
                    "target",
                    "outcome",
                    "step",
                    "evidence",
                ])
                .map_err(csv_error)?;
            }
            let bytes = w.into_inner().map_err(csv_error)?;
            String::from_utf8(bytes).map_err(csv_error)
        }
        TimelineFormat::Jsonl => json_lines(rows.iter()),
        TimelineFormat::Timesketch => json_lines(rows.iter().map(|r| TimesketchRow {
            message: message(r),
            datetime: &r.time,
            timestamp_desc: if r.phase == Phase::Alert.label() {
                "Alert Start Time"
            } else {
                "Event Time"
            },
            row: r,
        })),
    }
}

/// Timesketch's one-line description of an entry.
fn message(r: &TimelineRow) -> String {
    let mut parts = vec![format!("[{}]", r.phase)];
    if !r.step.is_empty() {
        parts.push(r.step.clone());
    }
    parts.push(r.operation.clone());
    if !r.target.is_empty() {
        parts.push(format!("on {}", r.target));
    }
    if !r.actor.is_empty() {
        parts.push(format!("by {}", r.actor));
    }
    if !r.address.is_empty() {
        parts.push(format!("from {}", r.address));
    }
    if !r.outcome.is_empty() {
        parts.push(format!("— {}", r.outcome));
    }
    parts.join(" ")
}

fn json_lines<T: Serialize>(items: impl Iterator<Item = T>) -> Result<String> {
    let mut out = String::new();
    for item in items {
        out.push_str(&serde_json::to_string(&item).map_err(csv_error)?);
        out.push('\n');
    }
    Ok(out)
}
