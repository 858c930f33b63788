//! Entra ID Protection risk detections (AADUserRiskEvents, Graph `riskDetections`). Each
//! names a user, an IP and a risk type; scope inference uses them like risky sign-ins.

use std::net::IpAddr;
use std::path::Path;

use serde::Serialize;

use super::records::{self, Row, TableInfo};
use super::Span;
use crate::error::{Location, Result};
use crate::types::{parse_ip, Timestamp, Upn};

const WHAT: &str = "risk detections";

pub const COLUMNS: &[&str] = &[
    "activitydatetime",
    "detecteddatetime",
    "timegenerated",
    "userprincipalname",
    "ipaddress",
    "riskeventtype",
    "risklevel",
    "riskstate",
    "riskdetail",
    "source",
];

#[derive(Debug, Clone, Serialize)]
pub struct RiskEvent {
    pub at: Timestamp,
    pub upn: Upn,
    pub ip: Option<IpAddr>,
    pub risk_type: String,
    pub level: Option<String>,
    pub state: Option<String>,
    pub origin: Location,
}

impl RiskEvent {
    /// Open medium/high risk (not dismissed, remediated or confirmed safe).
    pub fn open_and_serious(&self) -> bool {
        matches!(self.level.as_deref(), Some("high") | Some("medium"))
            && !matches!(
                self.state.as_deref(),
                Some("dismissed") | Some("remediated") | Some("confirmedsafe")
            )
    }
}

fn parse_row(row: &Row) -> Result<RiskEvent> {
    let at = row.timestamp(WHAT, &["activitydatetime", "detecteddatetime", "timegenerated"])?;
    Ok(RiskEvent {
        at,
        upn: Upn::new(row.required(WHAT, &["userprincipalname"])?.value),
        ip: row.str(&["ipaddress"]).and_then(parse_ip),
        risk_type: row.string(&["riskeventtype"]).unwrap_or_default(),
        level: row.string(&["risklevel"]).map(|s| s.to_ascii_lowercase()),
        state: row.string(&["riskstate"]).map(|s| s.to_ascii_lowercase()),
        origin: row.location().clone(),
    })
}

/// Reads every risk detection of a file.
pub fn load(path: &Path, span: &mut Span) -> Result<(Vec<RiskEvent>, TableInfo)> {
    records::load_records(path, WHAT, span, parse_row, |r| r.at)
}
