//! Entra ID audit log: AuditLogs (Log Analytics, Graph `directoryAudits`, diagnostic-setting
//! records). Read for response evidence: sessions revoked, passwords reset, roles removed,
//! accounts disabled. The analysis decides what an event proves; this module only types it.

use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::source::{need, EvidenceSource, FileIn, Intake, Signature, SourceKind};
use super::Span;
use crate::error::{Location, Result};
use crate::input::table::{self as records, json_str, Row, TableInfo, TableOptions};
use crate::types::Timestamp;

const WHAT: &str = "audit log";

/// The response actions an audit event can record (by `activityDisplayName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditAction {
    /// "Invalidate all refresh tokens for user", "Revoke user sessions".
    RevokeSessions,
    /// "Reset user password", "Reset password (by admin)", "Change user password".
    ResetPassword,
    /// "Remove member from role", "Remove eligible member from role", …
    RemoveRole,
    /// "Disable account".
    DisableAccount,
    /// "Delete user".
    DeleteUser,
    /// Any other activity.
    Other,
}

impl AuditAction {
    fn of(activity: &str) -> AuditAction {
        let a = activity.to_ascii_lowercase();
        if a.contains("refresh tokens") || a.contains("revoke") && a.contains("session") {
            AuditAction::RevokeSessions
        } else if a.contains("password") && (a.contains("reset") || a.contains("change")) {
            AuditAction::ResetPassword
        } else if a.contains("remove") && a.contains("role") {
            AuditAction::RemoveRole
        } else if a == "disable account" {
            AuditAction::DisableAccount
        } else if a == "delete user" {
            AuditAction::DeleteUser
        } else {
            AuditAction::Other
        }
    }
}

/// One audit event.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEvent {
    /// `activityDateTime`; None in a hunting query's projection that dropped the time (such
    /// an event cannot show when something was done).
    pub at: Option<Timestamp>,
    /// `activityDisplayName` as Entra writes it.
    pub activity: String,
    pub action: AuditAction,
    /// `result`: success, failure, timeout (lower-cased).
    pub result: Option<String>,
    /// Who did it: the initiating user's UPN, else the initiating app's display name.
    pub initiated_by: Option<String>,
    /// What it was done to: each target's UPN, else its display name.
    pub targets: Vec<String>,
    pub correlation_id: Option<String>,
    pub id: Option<String>,
    pub origin: Location,
}

impl AuditEvent {
    pub fn succeeded(&self) -> bool {
        self.result.as_deref() == Some("success")
    }
}

fn targets(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| json_str(t, "userPrincipalName").or_else(|| json_str(t, "displayName")))
        .collect()
}

/// Parses one audit record.
///
/// # Errors
/// An input error naming the record and field when the activity is missing, the time is
/// not a timestamp, or a JSON field is malformed.
pub fn parse_row(row: &Row) -> Result<AuditEvent> {
    let at = row.opt_timestamp(WHAT, &["activitydatetime", "timegenerated", "time"])?;
    let activity = row
        .required(WHAT, &["activitydisplayname", "operationname"])?
        .value
        .trim()
        .to_string();
    let initiated = row.json(WHAT, &["initiatedby"])?;
    let initiated_by = initiated
        .as_ref()
        .and_then(|i| json_str(i, "user.userPrincipalName").or_else(|| json_str(i, "app.displayName")));
    Ok(AuditEvent {
        at,
        action: AuditAction::of(&activity),
        activity,
        result: row.string(&["result"]).map(|r| r.to_ascii_lowercase()),
        initiated_by,
        targets: row.json(WHAT, &["targetresources"])?.as_ref().map(targets).unwrap_or_default(),
        correlation_id: row.string(&["correlationid"]),
        id: row.string(&["id"]),
        origin: row.location().clone(),
    })
}

/// Reads every audit event of a file.
///
/// # Errors
/// An input error naming the file, record and field of the first record that cannot be read.
pub fn load_with(path: &Path, options: &TableOptions, span: &mut Span) -> Result<(Vec<AuditEvent>, TableInfo)> {
    let mut out = Vec::new();
    let info = records::read_table_with(path, WHAT, options, &mut |row| {
        let a = parse_row(row)?;
        if let Some(t) = a.at {
            span.add(t);
        }
        out.push(a);
        Ok(records::Visit::Continue)
    })?;
    Ok((out, info))
}
/// How a file of this source is recognised, most specific shape first.
const SIGNATURES: &[Signature] = &[Signature {
    shape: "Entra audit log (AuditLogs)",
    needs: &[
        need(&["activitydisplayname"], "activityDisplayName"),
        need(&["targetresources", "initiatedby"], "targetResources or initiatedBy"),
    ],
}];

/// The Entra audit log as an evidence source: response evidence (session revocation,
/// password reset, role removal).
pub struct AuditLogs;

/// The kind of [`AuditLogs`].
pub const KIND: SourceKind = SourceKind::of(&AuditLogs);

impl EvidenceSource for AuditLogs {
    fn key(&self) -> &'static str {
        "audit-logs"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["auditlogs"]
    }
    fn describe(&self) -> &'static str {
        WHAT
    }
    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }
    fn precedence(&self) -> u8 {
        70
    }
    fn load(&self, file: &FileIn, intake: &mut Intake) -> Result<()> {
        let items = intake.read_all(file, WHAT, parse_row, |a| a.at)?;
        let actions = items.iter().filter(|a| a.action != AuditAction::Other).count();
        intake.report.warnings.push(format!(
            "read as audit events ({actions} response actions such as session revocation or password reset)"
        ));
        intake.keep_unique(
            KIND,
            items,
            |b| &mut b.audit,
            |a| a.id.clone().unwrap_or_else(|| format!("{:?}|{}|{:?}", a.at, a.activity, a.targets)),
        );
        Ok(())
    }
}
