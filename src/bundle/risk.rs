//! Entra ID Protection risk detections: AADUserRiskEvents (Log Analytics), Graph
//! `riskDetections`, and the `UserRiskEvents` diagnostic-setting records (fields under
//! `properties`). Each names a user, an IP and a risk type; scope inference uses them like
//! risky sign-ins.
//!
//! A detection is exported once per update: the first row says `atRisk`, a later one with a
//! newer `lastUpdatedDateTime` may say `dismissed` or `confirmedSafe`. The bundle keeps the
//! latest row of each detection id ([`RiskEvent::supersedes`]).

use std::net::IpAddr;
use std::path::Path;

use serde::Serialize;

use super::source::{need, EvidenceSource, FileIn, Intake, Signature, SourceKind};
use super::Span;
use crate::error::{Location, Result};
use crate::input::table::{self as records, Row, TableInfo, TableOptions};
use crate::types::{Timestamp, Upn};

const WHAT: &str = "risk detections";

/// Entra ID Protection's risk state of a detection or user (Graph `riskState`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RiskState {
    None,
    AtRisk,
    ConfirmedCompromised,
    ConfirmedSafe,
    Remediated,
    Dismissed,
    /// A value Entra added after this was written; kept verbatim.
    Other(String),
}

impl RiskState {
    pub fn parse(s: &str) -> RiskState {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => RiskState::None,
            "atrisk" => RiskState::AtRisk,
            "confirmedcompromised" => RiskState::ConfirmedCompromised,
            "confirmedsafe" => RiskState::ConfirmedSafe,
            "remediated" => RiskState::Remediated,
            "dismissed" => RiskState::Dismissed,
            other => RiskState::Other(other.to_string()),
        }
    }
    /// Closed by an administrator, a user's remediation or Entra itself.
    pub fn is_closed(&self) -> bool {
        matches!(self, RiskState::ConfirmedSafe | RiskState::Remediated | RiskState::Dismissed)
    }
    /// Entra's own spelling.
    pub fn label(&self) -> &str {
        match self {
            RiskState::None => "none",
            RiskState::AtRisk => "atRisk",
            RiskState::ConfirmedCompromised => "confirmedCompromised",
            RiskState::ConfirmedSafe => "confirmedSafe",
            RiskState::Remediated => "remediated",
            RiskState::Dismissed => "dismissed",
            RiskState::Other(s) => s,
        }
    }
}

/// What a risk record describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RiskRecord {
    /// One risk detection (AADUserRiskEvents, `riskDetections`, UserRiskEvents records).
    Detection,
    /// A user's aggregate risk (RiskyUsers records, `riskyUsers`): no IP, no activity time;
    /// `at` is when the risk was last updated.
    RiskyUser,
}

#[derive(Debug, Clone, Serialize)]
pub struct RiskEvent {
    pub record: RiskRecord,
    /// When the risky activity happened (`activityDateTime`), else when it was detected.
    pub at: Timestamp,
    pub upn: Upn,
    pub ip: Option<IpAddr>,
    pub risk_type: String,
    /// `low`, `medium`, `high`, `none` (lower-cased).
    pub level: Option<String>,
    /// `riskState` of this row: the latest row per detection is the one kept.
    pub state: Option<RiskState>,
    /// `riskDetail` as Entra spells it (`adminConfirmedSigninSafe`, `userPassedMFADrivenByRiskBasedPolicy`, …).
    pub detail: Option<String>,
    /// `lastUpdatedDateTime`: when Entra last changed this detection.
    pub last_updated: Option<Timestamp>,
    /// The detection's own id (`Id`, Graph `id`), shared by every update of one detection.
    pub id: Option<String>,
    pub origin: Location,
}

impl RiskEvent {
    /// Open medium/high risk (not dismissed, remediated or confirmed safe).
    pub fn open_and_serious(&self) -> bool {
        matches!(self.level.as_deref(), Some("high") | Some("medium")) && !self.state.as_ref().is_some_and(RiskState::is_closed)
    }
    /// The key that identifies one detection across its updates.
    pub fn detection_key(&self) -> String {
        self.id
            .clone()
            .unwrap_or_else(|| format!("{}|{}|{}|{:?}", self.at.rfc3339(), self.upn, self.risk_type, self.ip))
    }
    /// Whether this row is a later state of the same detection than `other` (rows without
    /// `lastUpdatedDateTime` never replace one that has it; equal times keep the later row).
    pub fn supersedes(&self, other: &RiskEvent) -> bool {
        match (self.last_updated, other.last_updated) {
            (Some(a), Some(b)) => a >= b,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => false,
        }
    }
}

fn parse_row(row: &Row) -> Result<RiskEvent> {
    let risk_type = row.string(&["riskeventtype", "risktype"]);
    let record = if risk_type.is_none() && row.field(&["risklastupdateddatetime"]).is_some() {
        RiskRecord::RiskyUser
    } else {
        RiskRecord::Detection
    };
    let at = row.timestamp(
        WHAT,
        &[
            "activitydatetime",
            "detecteddatetime",
            "risklastupdateddatetime",
            "timegenerated",
            "time",
        ],
    )?;
    Ok(RiskEvent {
        record,
        at,
        upn: Upn::new(row.required(WHAT, &["userprincipalname"])?.value),
        ip: row.ip(&["ipaddress"]),
        risk_type: risk_type.unwrap_or_else(|| match record {
            RiskRecord::RiskyUser => "riskyUser".to_string(),
            RiskRecord::Detection => String::new(),
        }),
        level: row.string(&["risklevel"]).map(|s| s.to_ascii_lowercase()),
        state: row.str(&["riskstate"]).map(RiskState::parse).inspect(|s| {
            if let RiskState::Other(v) = s {
                row.anomaly(&format!("unknown riskState value {v:?}"));
            }
        }),
        detail: row.string(&["riskdetail"]),
        last_updated: row.opt_timestamp(WHAT, &["lastupdateddatetime", "risklastupdateddatetime"])?,
        id: row.string(&["id"]),
        origin: row.location().clone(),
    })
}

/// Reads every risk detection of a file.
///
/// # Errors
/// An input error naming the file, record and field of the first record that cannot be read.
pub fn load(path: &Path, span: &mut Span) -> Result<(Vec<RiskEvent>, TableInfo)> {
    load_with(path, &TableOptions::default(), span)
}

/// [`load`] with reading options (a declared zone, field tracking).
///
/// # Errors
/// An input error naming the file, record and field of the first record that cannot be read.
pub fn load_with(path: &Path, options: &TableOptions, span: &mut Span) -> Result<(Vec<RiskEvent>, TableInfo)> {
    records::load_records(path, WHAT, options, span, parse_row, |r| r.at)
}
/// How a file of this source is recognised, most specific shape first.
const SIGNATURES: &[Signature] = &[
    Signature {
        shape: "risk detections (AADUserRiskEvents, riskDetections, UserRiskEvents records)",
        needs: &[
            need(&["riskeventtype"], "riskEventType"),
            need(&["detecteddatetime", "activitydatetime"], "detectedDateTime or activityDateTime"),
            need(&["userprincipalname"], "userPrincipalName"),
        ],
    },
    Signature {
        shape: "risky users (RiskyUsers records, riskyUsers)",
        needs: &[
            need(&["risklastupdateddatetime"], "riskLastUpdatedDateTime"),
            need(&["risklevel"], "riskLevel"),
            need(&["userprincipalname"], "userPrincipalName"),
        ],
    },
];

/// Entra ID Protection risk detections and risky users as an evidence source.
pub struct RiskEvents;

/// The kind of [`RiskEvents`].
pub const KIND: SourceKind = SourceKind::of(&RiskEvents);

impl EvidenceSource for RiskEvents {
    fn key(&self) -> &'static str {
        "risk-events"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["aaduserriskevents"]
    }
    fn describe(&self) -> &'static str {
        WHAT
    }
    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }
    fn precedence(&self) -> u8 {
        20
    }
    fn consequence(&self) -> Option<&'static str> {
        Some("Entra ID Protection risk detections beyond those on sign-ins are not shown")
    }
    // A detection is exported again on every update (e.g. when it is confirmed safe): one
    // row per detection is kept, the one with the latest `lastUpdatedDateTime`.
    fn load(&self, file: &FileIn, intake: &mut Intake) -> Result<()> {
        let items = intake.read_all(file, WHAT, parse_row, |r| Some(r.at))?;
        let superseded = intake.keep_latest(KIND, items, |b| &mut b.risk_events, RiskEvent::detection_key, RiskEvent::supersedes);
        if superseded > 0 {
            let rows = if superseded == 1 {
                "1 row is an earlier or repeated state".to_string()
            } else {
                format!("{superseded} rows are earlier or repeated states")
            };
            intake.report.warnings.push(format!(
                "{rows} of a detection read elsewhere; the latest (by lastUpdatedDateTime) is used"
            ));
        }
        Ok(())
    }
}

/// [`load`] over bytes already open (in memory, for the fuzz harness): `name` stands for the
/// file in messages and, by its extension, helps tell the shape.
///
/// # Errors
/// An input error naming the file, record and field of the first record that cannot be read.
pub fn load_from(name: &Path, raw: impl std::io::Read + 'static, span: &mut Span) -> Result<(Vec<RiskEvent>, TableInfo)> {
    let input = records::open_reader(name, WHAT, raw)?;
    records::load_records_from(name, WHAT, input, &TableOptions::default(), span, parse_row, |r| r.at)
}
