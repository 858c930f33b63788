//! Defender for Cloud continuous export (to an event hub or a Log Analytics workspace via a
//! Logic App) writes alerts, assessments, sub-assessments, secure scores and regulatory
//! compliance events into one stream. Such a file is classified record by record: alerts are
//! read as alerts, assessments as the recommendations export, everything else is counted
//! and named, never silently dropped.

use std::collections::BTreeMap;

use super::source::{FileIn, Intake};
use crate::error::Result;
use crate::input::table::{self, Row, Shape, Visit};

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

/// The record types of a JSON file that may be a continuous export.
fn census(file: &FileIn) -> Result<Census> {
    let mut census = Census::default();
    table::read_table(file.path, "evidence file", &mut |row| {
        if let Some(r) = ExportRecord::of(row) {
            census.add(r);
        }
        Ok(Visit::Continue)
    })?;
    Ok(census)
}

/// Reads a continuous-export file record by record when it is one (a JSON file holding
/// more than one record type): its alerts as alerts; the file is also handed to the
/// recommendations reader, which reads its assessments. Returns false, having read
/// nothing, when the file is not mixed.
///
/// # Errors
/// An input error naming the file, record and field of the first alert that cannot be read.
pub fn load_if_mixed(file: &FileIn, intake: &mut Intake) -> Result<bool> {
    if file.shape == Shape::Csv {
        return Ok(false);
    }
    let census = census(file)?;
    if !census.is_mixed() {
        return Ok(false);
    }
    let items = intake.read_all(
        file,
        "evidence file",
        |row| match ExportRecord::of(row) {
            Some(ExportRecord::Alert) => super::alerts::parse_row(row).map(Some),
            _ => Ok(None),
        },
        |a| a.as_ref().map(|a| a.at),
    )?;
    let alerts: Vec<_> = items.into_iter().flatten().collect();
    intake.report.kind = Some(super::alerts::KIND);
    intake.report.warnings = census.notes();
    if !alerts.is_empty() {
        intake.keep_unique(super::alerts::KIND, alerts, |b| &mut b.alerts, super::alerts::dedup_key);
    }
    if census.count(&ExportRecord::Assessment) > 0 {
        intake.bundle().recommendation_files.push(file.path.to_path_buf());
    }
    Ok(true)
}
