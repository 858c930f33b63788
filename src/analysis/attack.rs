//! The MITRE ATT&CK table (Enterprise v18): for every attacker step, the techniques the step
//! itself shows and their tactic. A technique is listed only when the step's own record shows
//! the behaviour; a summary row (lateral movement aggregates other steps) gets none of its own.

use serde::Serialize;

use super::steps::{Outcome, Step};
use crate::types::StepKind;

/// ATT&CK tactics that casefile's step kinds can show (a closed set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tactic {
    InitialAccess,
    Execution,
    Persistence,
    PrivilegeEscalation,
    DefenseEvasion,
    CredentialAccess,
    Discovery,
    Collection,
    Impact,
}

impl Tactic {
    pub fn label(self) -> &'static str {
        match self {
            Tactic::InitialAccess => "Initial Access (TA0001)",
            Tactic::Execution => "Execution (TA0002)",
            Tactic::Persistence => "Persistence (TA0003)",
            Tactic::PrivilegeEscalation => "Privilege Escalation (TA0004)",
            Tactic::DefenseEvasion => "Defense Evasion (TA0005)",
            Tactic::CredentialAccess => "Credential Access (TA0006)",
            Tactic::Discovery => "Discovery (TA0007)",
            Tactic::Collection => "Collection (TA0009)",
            Tactic::Impact => "Impact (TA0040)",
        }
    }
}

/// One technique a step kind shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Technique {
    pub id: &'static str,
    pub name: &'static str,
    pub tactic: Tactic,
}

const fn t(id: &'static str, name: &'static str, tactic: Tactic) -> Technique {
    Technique { id, name, tactic }
}

/// The techniques a step of this kind shows, with the tactic it serves in this kind of attack.
pub fn techniques(kind: StepKind) -> Vec<Technique> {
    match kind {
        StepKind::SigninUntrusted => vec![t("T1078.004", "Valid Accounts: Cloud Accounts", Tactic::InitialAccess)],
        StepKind::SigninFailed => vec![t("T1110", "Brute Force (password guessing)", Tactic::CredentialAccess)],
        StepKind::RoleAssignment => vec![t(
            "T1098.003",
            "Account Manipulation: Additional Cloud Roles",
            Tactic::PrivilegeEscalation,
        )],
        // Compute the organisation pays for, run for the attacker: resource hijacking; the
        // instance itself is also cloud infrastructure the attacker created.
        StepKind::VmCreate => vec![
            t("T1496.001", "Resource Hijacking: Compute Hijacking", Tactic::Impact),
            t(
                "T1578.002",
                "Modify Cloud Compute Infrastructure: Create Cloud Instance",
                Tactic::DefenseEvasion,
            ),
        ],
        // An address for the attacker's instance: part of the same hijacked compute.
        StepKind::PublicIpCreate => vec![t("T1496.001", "Resource Hijacking: Compute Hijacking", Tactic::Impact)],
        StepKind::NsgRuleChange => vec![t(
            "T1562.007",
            "Impair Defenses: Disable or Modify Cloud Firewall",
            Tactic::DefenseEvasion,
        )],
        // No sub-technique covers key retrieval through the management API (judgement).
        StepKind::StorageKeyListing => vec![t("T1552", "Unsecured Credentials", Tactic::CredentialAccess)],
        StepKind::BlobListing => vec![t("T1619", "Cloud Storage Object Discovery", Tactic::Discovery)],
        StepKind::BlobRead => vec![t("T1530", "Data from Cloud Storage", Tactic::Collection)],
        // A summary of other steps, which carry their own techniques.
        StepKind::LateralMovement => vec![],
        StepKind::LoggingTamper => vec![t(
            "T1562.008",
            "Impair Defenses: Disable or Modify Cloud Logs",
            Tactic::DefenseEvasion,
        )],
        StepKind::OtherWrite => vec![t("T1578", "Modify Cloud Compute Infrastructure", Tactic::DefenseEvasion)],
    }
}

/// The techniques one step shows: its kind's, except that a command pushed into a VM through
/// the management plane (a VM extension or Run Command) is a cloud administration command.
pub fn step_techniques(s: &Step) -> Vec<Technique> {
    let action = s.action.to_ascii_lowercase();
    if s.kind == StepKind::OtherWrite && (action.contains("extensions/write") || action.contains("runcommand")) {
        return vec![t("T1651", "Cloud Administration Command", Tactic::Execution)];
    }
    techniques(s.kind)
}

/// One row of the ATT&CK table: a technique and the steps that show it.
#[derive(Debug, Clone, Serialize)]
pub struct AttackRow {
    pub tactic: Tactic,
    pub tactic_label: &'static str,
    pub technique: &'static str,
    pub name: &'static str,
    /// Steps that show it, with their outcome ("S03", "S05 (failed)", "S22 (refused by
    /// policy)").
    pub steps: Vec<String>,
    /// True when every step that shows it failed: an attempt, not an achieved technique.
    pub attempt_only: bool,
    /// The outcome of its steps in plain words: "succeeded", "failed attempts only",
    /// "succeeded in part: 1 of 3 steps failed".
    pub outcome: String,
}

/// How a step's outcome reads after its id: the reason's head ("failed", "denied", "refused
/// by policy"), without the log's code.
fn outcome_word(s: &Step) -> String {
    match s.outcome {
        Outcome::Succeeded => String::new(),
        Outcome::Unknown => " (no final status)".into(),
        Outcome::Failed => {
            let head = s.outcome_text.split(" (").next().unwrap_or("failed").trim();
            format!(" ({})", if head.is_empty() { "failed" } else { head })
        }
    }
}

/// The outcome of a technique's steps: achieved, only attempted, or achieved in part.
fn row_outcome(succeeded: usize, total: usize) -> String {
    match (succeeded, total - succeeded) {
        (_, 0) => "succeeded".into(),
        (0, _) => "failed attempts only: none succeeded".into(),
        (_, failed) => format!("succeeded in part: {failed} of {total} steps did not succeed"),
    }
}

/// The ATT&CK table for the steps, in tactic order (kill-chain order), then technique.
pub fn attack_table(steps: &[Step]) -> Vec<AttackRow> {
    let mut rows: Vec<(AttackRow, usize)> = Vec::new();
    for s in steps {
        for tech in step_techniques(s) {
            let label = format!("{}{}", s.id, outcome_word(s));
            let ok = s.outcome == Outcome::Succeeded;
            match rows.iter_mut().find(|(r, _)| r.technique == tech.id) {
                Some((r, succeeded)) => {
                    r.steps.push(label);
                    r.attempt_only &= !ok;
                    *succeeded += usize::from(ok);
                }
                None => rows.push((
                    AttackRow {
                        tactic: tech.tactic,
                        tactic_label: tech.tactic.label(),
                        technique: tech.id,
                        name: tech.name,
                        steps: vec![label],
                        attempt_only: !ok,
                        outcome: String::new(),
                    },
                    usize::from(ok),
                )),
            }
        }
    }
    let mut rows: Vec<AttackRow> = rows
        .into_iter()
        .map(|(mut r, succeeded)| {
            r.outcome = row_outcome(succeeded, r.steps.len());
            r
        })
        .collect();
    for r in rows.iter_mut().filter(|r| r.attempt_only) {
        if let Some(then) = guessing_followed_by_sign_in(steps, r.technique) {
            r.outcome = format!(
                "no guess succeeded as such, but a successful sign-in to the same account followed ({then}): the password was likely found"
            );
            r.attempt_only = false;
        }
    }
    rows.sort_by(|a, b| (a.tactic, a.technique).cmp(&(b.tactic, b.technique)));
    rows
}

/// For password guessing whose every attempt failed: the step id of a later successful
/// sign-in to one of the guessed accounts, which shows the guessing may have found the
/// password (so the technique is not "failed attempts only").
fn guessing_followed_by_sign_in(steps: &[Step], technique: &str) -> Option<String> {
    let failed: Vec<&Step> = steps
        .iter()
        .filter(|s| s.kind == StepKind::SigninFailed && step_techniques(s).iter().any(|t| t.id == technique))
        .collect();
    let first = failed.iter().map(|s| s.at).min()?;
    steps
        .iter()
        .filter(|s| s.kind == StepKind::SigninUntrusted && s.outcome == Outcome::Succeeded && s.at > first)
        .find(|s| s.actor.is_some() && failed.iter().any(|f| f.actor == s.actor))
        .map(|s| s.id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateral_movement_summary_has_no_technique_and_compute_is_resource_hijacking() {
        assert!(techniques(StepKind::LateralMovement).is_empty());
        assert!(techniques(StepKind::VmCreate).iter().any(|t| t.id.starts_with("T1496")));
    }

    #[test]
    fn guessing_followed_by_a_sign_in_to_the_same_account_is_not_failed_attempts_only() {
        let step = |id: &str, kind: StepKind, who: &str, outcome: Outcome, t: i64| Step {
            id: id.into(),
            kind,
            phase: crate::analysis::steps::Phase::Identity,
            at: crate::types::Timestamp(chrono::DateTime::from_timestamp(1_700_000_000 + t * 60, 0).unwrap()),
            end: None,
            action: "Sign-in".into(),
            target: "Azure Portal".into(),
            detail: String::new(),
            outcome,
            outcome_text: String::new(),
            attempt: outcome != Outcome::Succeeded,
            summary: String::new(),
            actor: Some(crate::types::Upn::new(who)),
            ip: None,
            count: 1,
            bytes: None,
            bytes_human: None,
            evidence: Vec::new(),
            why: String::new(),
            resource: None,
            details: None,
            seen_from: Vec::new(),
        };
        let guesses = vec![
            step("S01", StepKind::SigninFailed, "ana@example.org", Outcome::Failed, 0),
            step("S02", StepKind::SigninFailed, "ana@example.org", Outcome::Failed, 1),
        ];
        let row = |steps: &[Step]| attack_table(steps).into_iter().find(|r| r.technique == "T1110").unwrap();
        assert!(row(&guesses).attempt_only, "guessing alone is an attempt");
        let mut other = guesses.clone();
        other.push(step("S03", StepKind::SigninUntrusted, "ben@example.org", Outcome::Succeeded, 5));
        assert!(
            row(&other).attempt_only,
            "a sign-in to another account proves nothing about these guesses"
        );
        let mut same = guesses.clone();
        same.push(step("S03", StepKind::SigninUntrusted, "ana@example.org", Outcome::Succeeded, 5));
        let r = row(&same);
        assert!(!r.attempt_only && r.outcome.contains("followed (S03)"), "{}", r.outcome);
    }
}
