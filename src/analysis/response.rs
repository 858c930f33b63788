//! Containment actions derived from the findings, each marked done (with the Activity log
//! record that proves it), reported by the analyst (case.toml), or outstanding; outstanding
//! actions first, stolen keys first among them. Also the evidence-preservation checklist from
//! the seed's "Cloud-specific evidence preservation".

use serde::Serialize;

use super::steps::{ArmOperation, Outcome, Step};
use crate::case::ReportedAction;
use crate::error::Location;
use crate::types::{StepKind, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionStatus {
    Outstanding,
    Partial,
    /// Reported in case.toml; the evidence cannot show it.
    Reported,
    /// Shown by the evidence.
    Done,
}

#[derive(Debug, Clone, Serialize)]
pub struct Action {
    /// Stable id that case.toml `[[response]] action = "…"` can name.
    pub id: String,
    pub priority: u32,
    pub action: String,
    pub status: ActionStatus,
    pub detail: String,
    /// The action in the past tense, for "what has been done" ("Attacker VM vm-brz-01 deleted").
    pub done_text: String,
    pub at: Option<Timestamp>,
    pub evidence: Vec<Location>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Preservation {
    pub item: String,
    pub guidance: String,
    pub status: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Response {
    pub actions: Vec<Action>,
    /// Analyst-reported actions that match no derived action.
    pub other_reported: Vec<String>,
    pub preservation: Vec<Preservation>,
}

fn done_by<'a>(ops: &'a [ArmOperation], op: &str, after: Timestamp, target: &dyn Fn(&ArmOperation) -> bool) -> Vec<&'a ArmOperation> {
    ops.iter()
        .filter(|o| o.operation == op && o.outcome == Outcome::Succeeded && o.start >= after && target(o))
        .collect()
}

fn same_or_parent(o: &ArmOperation, s: &Step) -> bool {
    match (&o.resource_id, &s.resource) {
        (Some(a), Some(b)) => b.is_within(a),
        _ => false,
    }
}

/// An action derived from the evidence: done when `needed` matching operations were found.
fn derived(
    id: &str,
    priority: u32,
    action: String,
    found: Vec<&ArmOperation>,
    needed: usize,
    detail_done: String,
    detail_open: String,
) -> Action {
    let status = if found.len() >= needed {
        ActionStatus::Done
    } else if !found.is_empty() {
        ActionStatus::Partial
    } else {
        ActionStatus::Outstanding
    };
    Action {
        id: id.to_string(),
        priority,
        action,
        status,
        done_text: String::new(),
        detail: if status == ActionStatus::Outstanding {
            detail_open
        } else {
            detail_done
        },
        at: found.first().map(|o| o.start),
        evidence: found.iter().map(|o| o.events[0].clone()).collect(),
    }
}

fn with_done(mut a: Action, text: String) -> Action {
    a.done_text = text;
    a
}

pub fn build_response(
    steps: &[Step],
    ops: &[ArmOperation],
    reported: &[ReportedAction],
    identities: &[String],
    ips: &[String],
    as_of: Timestamp,
) -> Response {
    let mut actions = Vec::new();
    let add = derived;
    for s in steps
        .iter()
        .filter(|s| s.kind == StepKind::StorageKeyListing && s.outcome == Outcome::Succeeded)
    {
        let account = s
            .resource
            .as_ref()
            .map(|r| r.name().to_string())
            .unwrap_or_else(|| s.target.clone());
        let found = done_by(ops, "microsoft.storage/storageaccounts/regeneratekey/action", s.at, &|o| {
            same_or_parent(o, s)
        });
        actions.push(with_done(
            add(
                "rotate-keys",
                1,
                format!(
                    "Rotate both access keys of storage account {account} (listed by the attacker at {})",
                    s.at.hhmm()
                ),
                found.clone(),
                2,
                format!(
                    "{} key regeneration(s) after the listing, first at {}",
                    found.len(),
                    found.first().map(|o| o.start.to_string()).unwrap_or_default()
                ),
                "No key regeneration after the listing: the stolen keys still work".into(),
            ),
            format!("Both access keys of storage account {account} rotated"),
        ));
    }
    for who in identities {
        actions.push(Action {
            id: "contain-identity".into(),
            priority: 2,
            action: format!("Revoke sessions, reset the password and disable {who} until the compromise vector is known"),
            status: ActionStatus::Outstanding,
            detail: "Not visible in the evidence provided (needs the Entra audit log)".into(),
            done_text: format!("Sessions of {who} revoked, password reset and account disabled"),
            at: None,
            evidence: Vec::new(),
        });
    }
    for s in steps
        .iter()
        .filter(|s| s.kind == StepKind::VmCreate && s.outcome == Outcome::Succeeded)
    {
        let name = s.resource.as_ref().map(|r| r.name().to_string()).unwrap_or_default();
        let found = done_by(ops, "microsoft.compute/virtualmachines/delete", s.at, &|o| same_or_parent(o, s));
        actions.push(with_done(
            add(
                "delete-vm",
                3,
                format!("Snapshot the disks of, then delete, attacker VM {name}"),
                found,
                1,
                "VM deleted".into(),
                "VM still present".into(),
            ),
            format!("Attacker VM {name} deleted"),
        ));
    }
    for s in steps
        .iter()
        .filter(|s| s.kind == StepKind::RoleAssignment && s.outcome == Outcome::Succeeded)
    {
        let found = done_by(ops, "microsoft.authorization/roleassignments/delete", s.at, &|o| {
            same_or_parent(o, s)
        });
        actions.push(with_done(
            add(
                "revert-role-assignment",
                4,
                format!("Remove the role assignment created at {}", s.at.hhmm()),
                found,
                1,
                "Role assignment removed".into(),
                "Role assignment still in place".into(),
            ),
            format!("Role assignment created at {} removed", s.at.hhmm()),
        ));
    }
    for s in steps
        .iter()
        .filter(|s| s.kind == StepKind::NsgRuleChange && s.outcome == Outcome::Succeeded)
    {
        let name = s.resource.as_ref().map(|r| r.name().to_string()).unwrap_or_default();
        let found = done_by(ops, "microsoft.network/networksecuritygroups/securityrules/delete", s.at, &|o| {
            same_or_parent(o, s)
        });
        let found_nsg = done_by(ops, "microsoft.network/networksecuritygroups/delete", s.at, &|o| {
            same_or_parent(o, s)
        });
        let all: Vec<&ArmOperation> = found.into_iter().chain(found_nsg).collect();
        actions.push(with_done(
            add(
                "revert-nsg",
                5,
                format!("Revert NSG rule {name} written at {}", s.at.hhmm()),
                all,
                1,
                "Rule or NSG deleted".into(),
                "Rule still in place".into(),
            ),
            format!("NSG rule {name} removed"),
        ));
    }
    for s in steps
        .iter()
        .filter(|s| s.kind == StepKind::PublicIpCreate && s.outcome == Outcome::Succeeded)
    {
        let name = s.resource.as_ref().map(|r| r.name().to_string()).unwrap_or_default();
        let found = done_by(ops, "microsoft.network/publicipaddresses/delete", s.at, &|o| same_or_parent(o, s));
        actions.push(with_done(
            add(
                "delete-public-ip",
                6,
                format!("Delete public IP {name}"),
                found,
                1,
                "Public IP deleted".into(),
                "Public IP still allocated".into(),
            ),
            format!("Public IP {name} deleted"),
        ));
    }
    if !ips.is_empty() {
        actions.push(Action {
            id: "block-ips".into(),
            priority: 7,
            action: format!(
                "Block the attacker addresses {} at Conditional Access and storage firewalls",
                ips.join(", ")
            ),
            status: ActionStatus::Outstanding,
            detail: "Not visible in the evidence provided".into(),
            done_text: format!("Attacker addresses {} blocked", ips.join(", ")),
            at: None,
            evidence: Vec::new(),
        });
    }
    let mut other_reported = Vec::new();
    for r in reported {
        let mut matched = false;
        for a in actions.iter_mut().filter(|a| a.id == r.action && a.status != ActionStatus::Done) {
            a.status = ActionStatus::Reported;
            a.detail = format!(
                "Reported by {}{}{}",
                r.by.as_deref().unwrap_or("the analyst"),
                r.at.map(|t| format!(" at {t}")).unwrap_or_default(),
                r.note.as_ref().map(|n| format!(": {n}")).unwrap_or_default()
            );
            a.at = r.at;
            matched = true;
        }
        if !matched {
            other_reported.push(format!(
                "{}{}",
                r.action,
                r.note.as_ref().map(|n| format!(": {n}")).unwrap_or_default()
            ));
        }
    }
    actions.sort_by_key(|a| {
        (
            a.status != ActionStatus::Outstanding && a.status != ActionStatus::Partial,
            a.priority,
        )
    });

    let first_attack = steps.iter().map(|s| s.at).min();
    let vm_deleted_without_snapshot = steps.iter().any(|s| s.kind == StepKind::VmCreate)
        && ops.iter().any(|o| o.operation == "microsoft.compute/virtualmachines/delete")
        && !ops.iter().any(|o| o.operation == "microsoft.compute/snapshots/write");
    let locks = ops.iter().any(|o| o.operation == "microsoft.authorization/locks/write");
    let preservation = vec![
        Preservation {
            item: "VM disk snapshots".into(),
            guidance: "Snapshot the OS and data disks of every attacker VM before deleting it; keep them in a separate, restricted resource group.".into(),
            status: if vm_deleted_without_snapshot { "The VM was deleted and the Activity log shows no snapshot: disk evidence may be lost".into() } else { "Check that snapshots exist before any deletion".into() },
        },
        Preservation {
            item: "Activity log export".into(),
            guidance: "Export the Activity log to storage or a workspace with long retention; the platform keeps 90 days.".into(),
            status: match first_attack {
                Some(t) => format!("Export before {} (90 days after the first attacker operation)", t.plus_seconds(90 * 86_400).0.format("%Y-%m-%d")),
                None => "No attacker operations found".into(),
            },
        },
        Preservation {
            item: "Resource locks on evidence".into(),
            guidance: "Place CannotDelete locks on the accessed storage account (its logs are evidence) and on attacker-created resources.".into(),
            status: if locks { "A lock write appears in the Activity log".into() } else { format!("No lock writes in the Activity log up to {}", as_of) },
        },
        Preservation {
            item: "Network capture".into(),
            guidance: "If an attacker VM still runs, start a Network Watcher packet capture before isolating it.".into(),
            status: if ops.iter().any(|o| o.operation == "microsoft.compute/virtualmachines/delete") { "Not possible any more: the attacker VM was deleted".into() } else { "Consider before isolation".into() },
        },
    ];
    Response {
        actions,
        other_reported,
        preservation,
    }
}
