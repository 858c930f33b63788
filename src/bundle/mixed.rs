//! Defender for Cloud continuous export (to an event hub or a Log Analytics workspace via a
//! Logic App) writes alerts, assessments, sub-assessments, secure scores and regulatory
//! compliance events into one stream. Such a file is classified record by record: alerts are
//! read as alerts, assessments as the recommendations export, everything else is counted
//! and named, never silently dropped.

use std::collections::BTreeMap;

use crate::input::table::Row;

/// What one continuous-export record is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExportRecord {
    /// A security alert (`SystemAlertId`, `AlertDisplayName`, or an alerts resource type).
    Alert,
    /// A recommendation's assessment of one resource (`Microsoft.Security/assessments`).
    Assessment,
    /// One finding under an assessment (`…/assessments/subAssessments`); the assessment
    /// itself carries the recommendation's state.
    SubAssessment,
    /// Any other event type (secure scores, secure-score controls, regulatory compliance),
    /// named by its `type`.
    Other(String),
}

impl ExportRecord {
    /// Classifies a record by its resource `type`, else by the fields only alerts carry.
    /// Records of tables that have neither (portal CSVs, Log Analytics tables) are taken to
    /// be what their file was detected as, so this returns None for them.
    pub fn of(row: &Row) -> Option<ExportRecord> {
        let ty = row.string(&["type"]).unwrap_or_default().to_ascii_lowercase();
        if ty.starts_with("microsoft.security/") {
            return Some(if ty.contains("alerts") {
                ExportRecord::Alert
            } else if ty.ends_with("/subassessments") {
                ExportRecord::SubAssessment
            } else if ty.ends_with("/assessments") {
                ExportRecord::Assessment
            } else {
                ExportRecord::Other(ty)
            });
        }
        row.field(&[
            "systemalertid",
            "alertdisplayname",
            "properties.systemalertid",
            "properties.alertdisplayname",
        ])
        .map(|_| ExportRecord::Alert)
    }

    /// How `validate` names a count of these records.
    pub fn describe(&self) -> String {
        match self {
            ExportRecord::Alert => "alerts".into(),
            ExportRecord::Assessment => "assessments".into(),
            ExportRecord::SubAssessment => "sub-assessments".into(),
            ExportRecord::Other(t) => format!("{t} events"),
        }
    }
}

/// Counts of each record type in one file.
#[derive(Debug, Clone, Default)]
pub struct Census(pub BTreeMap<ExportRecord, u64>);

impl Census {
    pub fn add(&mut self, r: ExportRecord) {
        *self.0.entry(r).or_default() += 1;
    }
    /// More than one type: the file must be read record by record.
    pub fn is_mixed(&self) -> bool {
        self.0.len() > 1
    }
    pub fn count(&self, r: &ExportRecord) -> u64 {
        self.0.get(r).copied().unwrap_or(0)
    }
    /// `validate`'s account of the file: what was read as what, and what was not used.
    pub fn notes(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(r, n)| match r {
                ExportRecord::Alert => format!("{n} {} read as alerts", r.describe()),
                ExportRecord::Assessment => format!("{n} {} read as the recommendations export", r.describe()),
                ExportRecord::SubAssessment => format!(
                    "{n} {} not used (findings under an assessment; the assessment states the recommendation)",
                    r.describe()
                ),
                ExportRecord::Other(_) => format!("{n} {} not used", r.describe()),
            })
            .collect()
    }
}
