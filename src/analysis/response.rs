//! Containment actions derived from the findings, each marked done (with the Activity log
//! record that proves it), partly done, reported by the analyst (case file), or not shown by
//! the evidence; open actions first, stolen keys first among them. Compound actions are split
//! into their parts (snapshot, then delete), so "done" is claimed only for the part a record
//! shows. Containment is also recognised from its effect: when access was revoked and every
//! later attacker attempt failed. The evidence-preservation checklist follows the actual
//! state of the attacker's resources.

use serde::Serialize;

use super::scope::{own_address, Scope};
use super::steps::{ArmOperation, Outcome, Step};
use crate::case::{Environment, ReportedAction};
use crate::error::Location;
use crate::types::{ResourceId, StepKind, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionStatus {
    /// Not shown by the evidence and not reported.
    Outstanding,
    Partial,
    /// Reported in the case file; the evidence cannot show it.
    Reported,
    /// Shown by the evidence.
    Done,
    /// Can no longer be done (a snapshot of a VM deleted without one).
    NoLongerPossible,
}

impl ActionStatus {
    /// How the status reads in a sentence.
    pub fn phrase(self) -> &'static str {
        match self {
            ActionStatus::Outstanding => "not shown by the evidence",
            ActionStatus::Partial => "partly done per the evidence",
            ActionStatus::Reported => "reported done by the analyst",
            ActionStatus::Done => "done per the evidence",
            ActionStatus::NoLongerPossible => "no longer possible",
        }
    }
}

/// Closed set of derived actions; the id is what a case file's `[[response]] action` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    RotateKeys,
    ContainIdentity,
    SnapshotVm,
    DeleteVm,
    RevertRoleAssignment,
    /// A principal the attacker granted a role and that never acted (a possible foothold).
    ReviewGrantee,
    RevertNsg,
    DeletePublicIp,
    BlockIps,
}

impl ActionKind {
    pub fn id(self) -> &'static str {
        match self {
            ActionKind::RotateKeys => "rotate-keys",
            ActionKind::ContainIdentity => "contain-identity",
            ActionKind::SnapshotVm => "snapshot-vm",
            ActionKind::DeleteVm => "delete-vm",
            ActionKind::RevertRoleAssignment => "revert-role-assignment",
            ActionKind::ReviewGrantee => "review-grantee",
            ActionKind::RevertNsg => "revert-nsg",
            ActionKind::DeletePublicIp => "delete-public-ip",
            ActionKind::BlockIps => "block-ips",
        }
    }
    fn priority(self) -> u32 {
        match self {
            ActionKind::RotateKeys => 1,
            ActionKind::ContainIdentity => 2,
            ActionKind::SnapshotVm => 3,
            ActionKind::DeleteVm => 4,
            ActionKind::RevertRoleAssignment => 5,
            ActionKind::ReviewGrantee => 5,
            ActionKind::RevertNsg => 6,
            ActionKind::DeletePublicIp => 7,
            ActionKind::BlockIps => 8,
        }
    }
    /// Actions that revoke the attacker's access (for containment by effect).
    fn revokes_access(self) -> bool {
        matches!(
            self,
            ActionKind::RotateKeys | ActionKind::ContainIdentity | ActionKind::RevertRoleAssignment
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Action {
    /// Stable id that the case file's `[[response]] action = "…"` can name.
    pub id: String,
    pub kind: ActionKind,
    pub priority: u32,
    pub action: String,
    pub status: ActionStatus,
    pub detail: String,
    /// The action in the past tense, for "what has been done"; only meaningful when done,
    /// partly done or reported. A reported action is in the reporter's words, without who
    /// reported it: `done_line` and the response's `reported_note` carry that.
    pub done_text: String,
    /// `done_text` as one line of a list or sentence: with the short "(reported)" mark when
    /// the organisation reported it and no record shows it; the mark is explained once, by
    /// `Response::reported_note`.
    pub done_line: String,
    /// Who reported a reported action, and when ("soc.lead@… at 2024-03-21 09:42:00 UTC").
    pub reported_by: Option<String>,
    /// The resource or account the action is about, when it has one (for per-resource wording).
    pub target: Option<String>,
    pub at: Option<Timestamp>,
    pub evidence: Vec<Location>,
    /// For securing identities: the identities the action covers and the parts it consists
    /// of, so a report that names some parts marks only those.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<IdentityPart>,
}

/// The parts of securing an identity. A report names the parts done ("sessions revoked and
/// password reset"): the row says "reported" for those, and the rest stay open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityPart {
    RevokeSessions,
    ResetPassword,
    Disable,
    RemoveCredentials,
    RemoveRoleAssignments,
}

impl IdentityPart {
    pub const ALL: [IdentityPart; 5] = [
        IdentityPart::RevokeSessions,
        IdentityPart::ResetPassword,
        IdentityPart::Disable,
        IdentityPart::RemoveCredentials,
        IdentityPart::RemoveRoleAssignments,
    ];
    const PERSON: [IdentityPart; 3] = [IdentityPart::RevokeSessions, IdentityPart::ResetPassword, IdentityPart::Disable];
    const WORKLOAD: [IdentityPart; 2] = [IdentityPart::RemoveCredentials, IdentityPart::RemoveRoleAssignments];

    /// The instruction, naming the identity when it comes first, else "it".
    fn instruction(self, who: Option<&str>) -> String {
        match (self, who) {
            (IdentityPart::RevokeSessions, Some(w)) => format!("revoke the sessions of {w}"),
            (IdentityPart::RevokeSessions, None) => "revoke its sessions".into(),
            (IdentityPart::ResetPassword, Some(w)) => format!("reset the password of {w}"),
            (IdentityPart::ResetPassword, None) => "reset its password".into(),
            (IdentityPart::Disable, Some(w)) => format!("disable {w} until the compromise vector is known"),
            (IdentityPart::Disable, None) => "disable it until the compromise vector is known".into(),
            (IdentityPart::RemoveCredentials, Some(w)) => format!("remove the credentials of {w}"),
            (IdentityPart::RemoveCredentials, None) => "remove its credentials".into(),
            (IdentityPart::RemoveRoleAssignments, Some(w)) => format!("remove the role assignments of {w}"),
            (IdentityPart::RemoveRoleAssignments, None) => "remove its role assignments".into(),
        }
    }
    /// The part in the past tense, as a noun phrase ("sessions revoked").
    pub fn done(self) -> &'static str {
        match self {
            IdentityPart::RevokeSessions => "sessions revoked",
            IdentityPart::ResetPassword => "password reset",
            IdentityPart::Disable => "account disabled",
            IdentityPart::RemoveCredentials => "credentials removed",
            IdentityPart::RemoveRoleAssignments => "role assignments removed",
        }
    }
    /// A step for a service principal or managed identity (not a person's account).
    pub fn for_workload(self) -> bool {
        Self::WORKLOAD.contains(&self)
    }
    /// The part in plain words for a regulator ("ending the sign-in sessions").
    pub fn plain(self, many: bool) -> &'static str {
        match (self, many) {
            (IdentityPart::RevokeSessions, _) => "ending their sign-in sessions",
            (IdentityPart::ResetPassword, false) => "changing the password",
            (IdentityPart::ResetPassword, true) => "changing the passwords",
            (IdentityPart::Disable, false) => "disabling the account",
            (IdentityPart::Disable, true) => "disabling the accounts",
            (IdentityPart::RemoveCredentials, _) => "removing their credentials",
            (IdentityPart::RemoveRoleAssignments, _) => "withdrawing their permissions",
        }
    }
    /// Words a report uses for this part (lower case).
    fn words(self) -> &'static [&'static str] {
        match self {
            IdentityPart::RevokeSessions => &["session", "signed out", "sign-out", "signout", "token"],
            IdentityPart::ResetPassword => &["password"],
            IdentityPart::Disable => &["disabled", "disable", "blocked", "block sign-in", "deactivated", "deleted"],
            IdentityPart::RemoveCredentials => &["secret", "certificate", "credential", "federated"],
            IdentityPart::RemoveRoleAssignments => &["role", "permission"],
        }
    }
    /// Left undone, it may leave the attacker access (a disabled account or a withdrawn role
    /// is a further step once sessions and credentials are gone).
    fn revokes_access(self) -> bool {
        matches!(
            self,
            IdentityPart::RevokeSessions | IdentityPart::ResetPassword | IdentityPart::RemoveCredentials
        )
    }
}

/// "revoke the sessions of X, reset its password and disable it …" from the parts.
fn identity_instruction(who: &str, parts: &[IdentityPart], workload: bool) -> String {
    let steps: Vec<String> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| p.instruction((i == 0).then_some(who)))
        .collect();
    let text = crate::types::join_words(&steps);
    let text = if workload {
        format!("{text} until the compromise is understood")
    } else {
        text
    };
    crate::types::upper_first(&text)
}

/// One item of the evidence-preservation checklist.
#[derive(Debug, Clone, Serialize)]
pub struct Preservation {
    pub item: String,
    pub guidance: String,
    pub status: String,
    /// True when the item needs doing now (a running attacker VM, an export due).
    pub urgent: bool,
}

/// Containment recognised from its effect.
#[derive(Debug, Clone, Serialize)]
pub struct Containment {
    pub at: Timestamp,
    /// What revoked access ("access keys of acct rotated").
    pub by: String,
    /// Attacker attempts after it, all failed.
    pub failed_after: u64,
    /// False while a revocation is partial or still open, or an attacker VM is not shown deleted:
    /// requests stopped succeeding, but the attacker may still hold access.
    pub complete: bool,
    /// What still leaves the attacker access, in words.
    pub remaining: Vec<String>,
    pub text: String,
    pub evidence: Vec<Location>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Response {
    pub actions: Vec<Action>,
    /// Analyst-reported actions that match no derived action.
    pub other_reported: Vec<String>,
    pub preservation: Vec<Preservation>,
    /// When every attacker attempt after a revocation failed: the incident was contained then.
    pub contained_by_effect: Option<Containment>,
    /// What the "(reported)" mark means, said once under a list, when any action carries it.
    pub reported_note: Option<String>,
}

/// The mark a reported action carries on its line, and what it means (said once per list).
pub const REPORTED_MARK: &str = "(reported)";
pub const REPORTED_NOTE: &str = "(reported): stated by the organisation in the case file; no record in the evidence provided shows it, so it cannot be checked against the evidence.";

pub struct ResponseInput<'a> {
    pub steps: &'a [Step],
    pub ops: &'a [ArmOperation],
    pub activity_provided: bool,
    /// How the Activity log records provided left Azure, where they show an export.
    pub activity_exported: Option<crate::bundle::activity::ExportRoute>,
    pub reported: &'a [ReportedAction],
    pub scope: &'a Scope,
    pub env: &'a Environment,
    pub as_of: Timestamp,
}

/// Where the activity log's evidence of a resource's state ends: the end of its last
/// operation, if it holds any (an export ends before the report's as-of time; nothing after
/// it is known).
pub fn activity_until(ops: &[ArmOperation]) -> Option<Timestamp> {
    ops.iter().map(|o| o.end).max()
}

/// Whether the activity log reaches `as_of`, so that what it does not show deleted is still
/// in place then.
pub fn activity_reaches(ops: &[ArmOperation], as_of: Timestamp) -> bool {
    activity_until(ops).is_some_and(|until| until >= as_of)
}

fn done_by<'a>(ops: &'a [ArmOperation], op: &str, after: Timestamp, target: &dyn Fn(&ArmOperation) -> bool) -> Vec<&'a ArmOperation> {
    ops.iter()
        .filter(|o| o.operation == op && o.outcome == Outcome::Succeeded && o.start >= after && target(o))
        .collect()
}

fn same_or_parent(o: &ArmOperation, r: Option<&ResourceId>) -> bool {
    match (&o.resource_id, r) {
        (Some(a), Some(b)) => b.is_within(a),
        _ => false,
    }
}

fn action(kind: ActionKind, text: String, done_text: String) -> Action {
    Action {
        id: kind.id().to_string(),
        kind,
        priority: kind.priority(),
        action: text,
        status: ActionStatus::Outstanding,
        detail: String::new(),
        done_text,
        done_line: String::new(),
        reported_by: None,
        target: None,
        at: None,
        evidence: Vec::new(),
        identities: Vec::new(),
        parts: Vec::new(),
    }
}

/// Marks an action done, partly done or open from the operations that show it.
fn settle(mut a: Action, found: &[&ArmOperation], complete: bool, done: String, open: String) -> Action {
    a.status = match (found.is_empty(), complete) {
        (true, _) => ActionStatus::Outstanding,
        (false, true) => ActionStatus::Done,
        (false, false) => ActionStatus::Partial,
    };
    a.detail = if found.is_empty() { open } else { done };
    a.at = found.first().map(|o| o.start);
    a.evidence = found.iter().map(|o| o.events[0].clone()).collect();
    a
}

pub fn build_response(input: ResponseInput) -> Response {
    let mut actions = Vec::new();
    actions.extend(key_rotations(&input));
    actions.extend(identity_containment(&input));
    actions.extend(vm_actions(&input));
    actions.extend(reversals(&input));
    actions.extend(grantee_reviews(&input));
    actions.extend(address_blocks(&input));
    if !input.activity_provided {
        for a in actions
            .iter_mut()
            .filter(|a| a.kind != ActionKind::ContainIdentity && a.kind != ActionKind::BlockIps)
        {
            a.detail = "Cannot be shown: the activity log was not provided".into();
        }
    }
    drop_roles_shown_removed(&mut actions, input.scope);
    let other_reported = apply_reported(&mut actions, input.reported, input.scope);
    actions.sort_by_key(|a| (!matches!(a.status, ActionStatus::Outstanding | ActionStatus::Partial), a.priority));
    for a in &mut actions {
        a.done_line = done_line(a);
    }
    let contained_by_effect = containment_by_effect(&actions, input.steps);
    let preservation = preservation(&input);
    let reported_note = actions
        .iter()
        .any(|a| a.status == ActionStatus::Reported)
        .then(|| REPORTED_NOTE.to_string());
    Response {
        actions,
        other_reported,
        preservation,
        contained_by_effect,
        reported_note,
    }
}

/// Both keys of every account whose keys the attacker listed: a listing returns both, so
/// regenerating one is partial.
fn key_rotations(input: &ResponseInput) -> Vec<Action> {
    let mut out = Vec::new();
    for s in input
        .steps
        .iter()
        .filter(|s| s.kind == StepKind::StorageKeyListing && s.outcome == Outcome::Succeeded)
    {
        let account = s
            .resource
            .as_ref()
            .map(|r| r.name().to_string())
            .unwrap_or_else(|| s.target.clone());
        let found = done_by(input.ops, "microsoft.storage/storageaccounts/regeneratekey/action", s.at, &|o| {
            same_or_parent(o, s.resource.as_ref())
        });
        let mut keys: Vec<String> = found
            .iter()
            .filter_map(|o| o.details.key_name.clone())
            .map(|k| k.to_lowercase())
            .collect();
        keys.sort();
        keys.dedup();
        let unnamed = found.iter().filter(|o| o.details.key_name.is_none()).count();
        let both = (keys.contains(&"key1".to_string()) && keys.contains(&"key2".to_string())) || (keys.is_empty() && unnamed >= 2);
        let which = if keys.is_empty() {
            format!(
                "{}, key names not recorded",
                crate::types::counted(found.len() as u64, "regeneration", "regenerations")
            )
        } else {
            keys.join(" and ")
        };
        let first = found.first().map(|o| o.start.to_string()).unwrap_or_default();
        let missing = if keys.contains(&"key1".to_string()) { "key2" } else { "key1" };
        let done = if both {
            format!("Both keys regenerated after the listing ({which}), first at {first}")
        } else {
            format!(
                "Only {which} regenerated after the listing (first at {first}); {missing} is not shown regenerated, and the listing returned both keys"
            )
        };
        let mut a = action(
            ActionKind::RotateKeys,
            format!(
                "Rotate both access keys of storage account {account} (listed by the attacker at {})",
                s.at.hhmm_utc()
            ),
            if both {
                format!("Both access keys of storage account {account} rotated")
            } else {
                if keys.is_empty() {
                    format!(
                        "One access key of storage account {account} rotated (which one is not recorded); the other is not shown rotated"
                    )
                } else {
                    format!("Access key {which} of storage account {account} rotated; {missing} is not shown rotated")
                }
            },
        );
        a.target = Some(account);
        out.push(settle(
            a,
            &found,
            both,
            done,
            "No key regeneration after the listing is in the evidence: the listed keys may still work".into(),
        ));
    }
    out
}

/// Every compromised identity in scope; a non-personal identity is worded as such.
fn identity_containment(input: &ResponseInput) -> Vec<Action> {
    input
        .scope
        .identities_in_scope()
        .map(|who| {
            let workload = !who.as_str().contains('@');
            let parts: &[IdentityPart] = if workload { &IdentityPart::WORKLOAD } else { &IdentityPart::PERSON };
            identity_action(input.scope, who.as_str(), workload, parts.to_vec())
        })
        .collect()
}

/// A workload identity whose role assignment from the attacker is shown removed (the
/// Activity log records it) needs no open "remove its role assignments": that part is done by
/// the record, and is left out of the identity's action (the action goes when nothing is left).
fn drop_roles_shown_removed(actions: &mut Vec<Action>, scope: &Scope) {
    let removed: Vec<String> = actions
        .iter()
        .filter(|a| a.kind == ActionKind::RevertRoleAssignment && a.status == ActionStatus::Done)
        .map(|a| a.action.to_lowercase())
        .collect();
    let mut kept = Vec::with_capacity(actions.len());
    for a in actions.drain(..) {
        let shown = a.kind == ActionKind::ContainIdentity
            && a.parts.contains(&IdentityPart::RemoveRoleAssignments)
            && a.identities.iter().any(|w| removed.iter().any(|r| r.contains(&w.to_lowercase())));
        if !shown {
            kept.push(a);
            continue;
        }
        let rest: Vec<IdentityPart> = a
            .parts
            .iter()
            .copied()
            .filter(|p| *p != IdentityPart::RemoveRoleAssignments)
            .collect();
        if let (false, Some(who)) = (rest.is_empty(), a.identities.first()) {
            kept.push(identity_action(scope, who, !who.contains('@'), rest));
        }
    }
    *actions = kept;
}

/// Securing one identity by the given parts; open until a record or a report shows it.
fn identity_action(scope: &Scope, who: &str, workload: bool, parts: Vec<IdentityPart>) -> Action {
    let named = match (workload, scope.name_of(who)) {
        (true, Some(name)) => format!("the service principal or managed identity {name} (object id {who})"),
        (true, None) => {
            format!("the non-personal identity {who} (a service principal or managed identity of the organisation)")
        }
        (false, _) => who.to_string(),
    };
    let done: Vec<&str> = parts.iter().map(|p| p.done()).collect();
    let mut a = action(
        ActionKind::ContainIdentity,
        identity_instruction(&named, &parts, workload),
        format!("{}: {}", scope.name_of(who).unwrap_or(who), crate::types::join_words(&done)),
    );
    a.detail = "Not shown by the evidence provided (the Entra audit log would show it)".into();
    a.identities = vec![who.to_string()];
    a.parts = parts;
    a
}

/// For every VM the attacker created: snapshot its disks, then delete it — two parts, each
/// done only when a record shows it.
fn vm_actions(input: &ResponseInput) -> Vec<Action> {
    let mut out = Vec::new();
    for s in input
        .steps
        .iter()
        .filter(|s| s.kind == StepKind::VmCreate && s.outcome == Outcome::Succeeded)
    {
        let name = s.resource.as_ref().map(|r| r.name().to_string()).unwrap_or_default();
        let deleted = done_by(input.ops, "microsoft.compute/virtualmachines/delete", s.at, &|o| {
            same_or_parent(o, s.resource.as_ref())
        });
        let until = deleted.first().map(|o| o.start).unwrap_or(input.as_of);
        let snapshots: Vec<&ArmOperation> = input
            .ops
            .iter()
            .filter(|o| o.operation == "microsoft.compute/snapshots/write" && o.outcome == Outcome::Succeeded)
            .filter(|o| o.start >= s.at && o.start <= until)
            .collect();
        let mut snap = action(
            ActionKind::SnapshotVm,
            format!("Snapshot the disks of attacker VM {name} before it is deleted"),
            format!("Disk snapshot written while attacker VM {name} existed"),
        );
        snap.target = Some(name.clone());
        if snapshots.is_empty() && !deleted.is_empty() {
            let mut moot = snap;
            moot.status = ActionStatus::NoLongerPossible;
            moot.detail = format!(
                "No longer possible from the VM: it was deleted at {} and the activity log shows no snapshot before it; a VM delete keeps its disks unless told otherwise, so look for its OS disk and snapshot that",
                deleted[0].start
            );
            moot.evidence = vec![deleted[0].events[0].clone()];
            out.push(moot);
            delete_vm_action(input, &name, &deleted, &mut out);
            continue;
        }
        out.push(settle(
            snap,
            &snapshots,
            true,
            "A snapshot write while the VM existed is in the activity log".into(),
            if deleted.is_empty() {
                "Not shown by the evidence; nor is the VM shown deleted, so it may still be possible".into()
            } else {
                "Not shown by the evidence: no snapshot write before the VM was deleted".into()
            },
        ));
        delete_vm_action(input, &name, &deleted, &mut out);
    }
    out
}

fn delete_vm_action(input: &ResponseInput, name: &str, deleted: &[&ArmOperation], out: &mut Vec<Action>) {
    // "Once its disks are preserved" is advice for a VM still there; for one already deleted
    // it would read as if its disks had been preserved.
    let text = if deleted.is_empty() {
        format!("Delete attacker VM {name} once its disks are preserved")
    } else {
        format!("Delete attacker VM {name}")
    };
    let mut del = action(ActionKind::DeleteVm, text, format!("Attacker VM {name} deleted"));
    del.target = Some(name.to_string());
    out.push(settle(
        del,
        deleted,
        true,
        "VM deletion is in the activity log".into(),
        match activity_until(input.ops) {
            Some(until) => format!("Not shown by the evidence: no deletion in the activity log, which ends {until}"),
            None => "Not shown by the evidence: no deletion of the VM in the activity log".into(),
        },
    ));
}

fn reversals(input: &ResponseInput) -> Vec<Action> {
    let mut out = Vec::new();
    for s in input.steps.iter().filter(|s| s.outcome == Outcome::Succeeded) {
        let name = s.resource.as_ref().map(|r| r.name().to_string()).unwrap_or_default();
        let within = |o: &ArmOperation| same_or_parent(o, s.resource.as_ref());
        let (kind, ops, text, done_text, done, open): (ActionKind, Vec<&str>, String, String, &str, &str) = match s.kind {
            StepKind::RoleAssignment => (
                ActionKind::RevertRoleAssignment,
                vec!["microsoft.authorization/roleassignments/delete"],
                format!(
                    "Remove the role assignment the attacker created at {} ({})",
                    s.at.hhmm_utc(),
                    s.summary
                ),
                format!("Role assignment created at {} removed", s.at.hhmm_utc()),
                "Role assignment deletion is in the activity log",
                "Not shown by the evidence: the role assignment may still be in place",
            ),
            StepKind::NsgRuleChange => (
                ActionKind::RevertNsg,
                vec![
                    "microsoft.network/networksecuritygroups/securityrules/delete",
                    "microsoft.network/networksecuritygroups/delete",
                ],
                format!("Revert firewall rule {name} written at {}", s.at.hhmm_utc()),
                format!("Firewall rule {name} removed"),
                "Rule or network security group deletion is in the activity log",
                "Not shown by the evidence: the rule may still be in place",
            ),
            StepKind::PublicIpCreate => (
                ActionKind::DeletePublicIp,
                vec!["microsoft.network/publicipaddresses/delete"],
                format!("Delete public IP {name}"),
                format!("Public IP {name} deleted"),
                "Public IP deletion is in the activity log",
                "Not shown by the evidence: the address may still be allocated",
            ),
            _ => continue,
        };
        let found: Vec<&ArmOperation> = ops.iter().flat_map(|op| done_by(input.ops, op, s.at, &within)).collect();
        let mut a = action(kind, text, done_text);
        a.target = Some(name).filter(|n| !n.is_empty());
        out.push(settle(a, &found, true, done.into(), open.into()));
    }
    out
}

/// A principal the attacker granted a role, never seen acting, is reviewed: a review leaves no
/// record in the activity log, so it stays open until the case file reports it.
fn grantee_reviews(input: &ResponseInput) -> Vec<Action> {
    input
        .scope
        .footholds
        .iter()
        .map(|f| {
            let mut a = action(
                ActionKind::ReviewGrantee,
                format!(
                    "Review principal {}, which the attacker granted {} at {}: its sign-ins, credentials and other role assignments",
                    f.principal,
                    f.role,
                    f.at.hhmm_utc()
                ),
                format!("Principal {} reviewed", f.principal),
            );
            a.detail = "Not shown by the evidence: a review leaves no record in the activity log".into();
            a.target = Some(f.principal.to_string());
            a.evidence = vec![f.evidence.clone()];
            a
        })
        .collect()
}

/// Blocking advice targets attacker addresses only, never the organisation's own. A storage
/// firewall only allows: it cannot block one address, so storage gets an allow-list.
fn address_blocks(input: &ResponseInput) -> Vec<Action> {
    let ips: Vec<String> = input
        .scope
        .ips_in_scope()
        .filter(|ip| own_address(input.env, ip).is_none())
        .map(|i| i.to_string())
        .collect();
    if ips.is_empty() {
        return Vec::new();
    }
    let (noun, listed) = match ips.as_slice() {
        [one] => ("address", one.clone()),
        _ => ("addresses", crate::types::join_words(&ips)),
    };
    let mut a = action(
        ActionKind::BlockIps,
        format!(
            "Block the attacker {noun} {listed} in Conditional Access (a blocked named location); on storage accounts, allow only trusted networks"
        ),
        format!("Attacker {noun} {listed} blocked"),
    );
    a.detail = "Not shown by the evidence provided".into();
    vec![a]
}

/// The analyst's reported actions: they mark matching derived actions "reported"; the rest
/// are listed as they were written. One report that covers several derived actions (one note
/// for two identities) becomes one action, so the reporter's words are stated once.
fn apply_reported(actions: &mut Vec<Action>, reported: &[ReportedAction], scope: &Scope) -> Vec<String> {
    let mut other = Vec::new();
    for r in reported {
        let matched: Vec<usize> = (0..actions.len())
            .filter(|&i| actions[i].id == r.action && actions[i].status != ActionStatus::Done)
            .collect();
        let (matched, unnamed) = match r.note.as_deref() {
            Some(note) if r.action == ActionKind::ContainIdentity.id() => split_by_report(actions, &matched, note, scope),
            _ => (matched, false),
        };
        let Some((&first, rest)) = matched.split_first() else {
            other.push(format!(
                "{}{}",
                r.action,
                r.note.as_ref().map(|n| format!(": {n}")).unwrap_or_default()
            ));
            continue;
        };
        merge_covered(actions, first, rest);
        mark_reported(&mut actions[first], r);
        if unnamed {
            actions[first]
                .detail
                .push_str("; the report does not say which of these steps were taken");
        }
    }
    other
}

/// A report on securing identities names the steps taken ("sessions revoked and password
/// reset"): each identity's action is split into the parts the report names, which it covers,
/// and the rest, which stay open. Returns the actions the report covers, and whether it named
/// no part at all (then it covers the actions as written).
fn split_by_report(actions: &mut Vec<Action>, matched: &[usize], note: &str, scope: &Scope) -> (Vec<usize>, bool) {
    // An identity is mentioned by its UPN, its id or its display name.
    let names = |a: &Action| -> Vec<String> {
        a.identities
            .iter()
            .flat_map(|w| std::iter::once(w.clone()).chain(scope.name_of(w).map(str::to_string)))
            .collect()
    };
    let everyone: Vec<String> = matched.iter().flat_map(|&i| names(&actions[i])).collect();
    let named: Vec<(usize, Vec<IdentityPart>)> = matched
        .iter()
        .map(|&i| (i, parts_named(note, &actions[i], &names(&actions[i]), &everyone)))
        .collect();
    if named.iter().all(|(_, p)| p.is_empty()) {
        return (matched.to_vec(), true);
    }
    let mut covered = Vec::new();
    for (i, said) in named.into_iter().filter(|(_, p)| !p.is_empty()) {
        let Some(who) = actions[i].identities.first().cloned() else {
            continue;
        };
        let workload = !who.contains('@');
        let rest: Vec<IdentityPart> = actions[i].parts.iter().copied().filter(|p| !said.contains(p)).collect();
        if !rest.is_empty() {
            actions.push(identity_action(scope, &who, workload, rest));
        }
        actions[i] = identity_action(scope, &who, workload, said);
        covered.push(i);
    }
    (covered, false)
}

/// The parts of one identity's action a report names: in its clauses (split at ";") that name
/// this identity (`own`: its UPN, id or name) or no identity of the report at all.
fn parts_named(note: &str, a: &Action, own: &[String], everyone: &[String]) -> Vec<IdentityPart> {
    let mentions = |clause: &str, who: &str| {
        let who = who.to_lowercase();
        let local = who.split('@').next().unwrap_or(&who).to_string();
        clause.contains(&who) || (!local.is_empty() && clause.contains(&local))
    };
    let mut said: Vec<IdentityPart> = note
        .to_lowercase()
        .split(';')
        .filter(|c| own.iter().any(|w| mentions(c, w)) || !everyone.iter().any(|w| mentions(c, w)))
        .flat_map(|c| {
            a.parts
                .iter()
                .copied()
                .filter(|p| p.words().iter().any(|w| c.contains(w)))
                .collect::<Vec<_>>()
        })
        .collect();
    said.sort();
    said.dedup();
    said
}

/// Folds the actions one report covers into the first, then drops them.
fn merge_covered(actions: &mut Vec<Action>, first: usize, rest: &[usize]) {
    let mut rest = rest.to_vec();
    rest.sort_unstable();
    for &i in &rest {
        let (action, evidence) = (actions[i].action.clone(), actions[i].evidence.clone());
        let (identities, parts) = (actions[i].identities.clone(), actions[i].parts.clone());
        let target = &mut actions[first];
        target.action = format!("{}; {}", target.action, crate::types::lower_first(&action));
        target.evidence.extend(evidence);
        target.identities.extend(identities);
        target.parts.extend(parts);
        target.parts.sort();
        target.parts.dedup();
    }
    for &i in rest.iter().rev() {
        actions.remove(i);
    }
}

fn mark_reported(a: &mut Action, r: &ReportedAction) {
    a.status = ActionStatus::Reported;
    let by = format!(
        "{}{}",
        r.by.as_deref().unwrap_or("the analyst"),
        r.at.map(|t| format!(" at {t}")).unwrap_or_default()
    );
    a.detail = format!("Reported by {by}{}", r.note.as_ref().map(|n| format!(": {n}")).unwrap_or_default());
    a.reported_by = Some(by);
    a.at = r.at;
    if let Some(note) = r.note.as_deref().filter(|n| !n.trim().is_empty()) {
        // What was reported, in the reporter's words, never the action's template; who
        // reported it is the "(reported)" mark, explained once per list.
        // Verbatim: a note may begin with an identifier ("j.keller's sessions …").
        a.done_text = note.trim().to_string();
    }
}

/// The past-tense line of an action, marked when it is only reported.
fn done_line(a: &Action) -> String {
    match a.status {
        ActionStatus::Reported => format!("{} {REPORTED_MARK}", a.done_text),
        _ => a.done_text.clone(),
    }
}

/// The earliest revocation after which every attacker attempt failed.
fn containment_by_effect(actions: &[Action], steps: &[Step]) -> Option<Containment> {
    let mut revocations: Vec<&Action> = actions
        .iter()
        .filter(|a| a.kind.revokes_access() && matches!(a.status, ActionStatus::Done | ActionStatus::Partial))
        .filter(|a| a.at.is_some())
        .collect();
    revocations.sort_by_key(|a| a.at);
    revocations.into_iter().find_map(|a| {
        let at = a.at?;
        let later: Vec<&Step> = steps.iter().filter(|s| s.at > at && s.kind != StepKind::LateralMovement).collect();
        let failed: u64 = later.iter().filter(|s| s.attempt).map(|s| s.count).sum();
        (!later.is_empty() && later.iter().all(|s| s.attempt)).then(|| {
            let remaining = access_remaining(actions);
            let requests = crate::types::counted(failed, "attacker request", "attacker requests");
            // What was done, without its caveat ("; key2 is not shown rotated"): what remains
            // is told once, after it.
            let done = a.done_text.split(';').next().unwrap_or(&a.done_text).trim();
            let text = if remaining.is_empty() {
                format!(
                    "{requests} after {} ({}) failed, and none succeeded: access was revoked",
                    at.hhmm_utc(),
                    a.done_text
                )
            } else {
                format!(
                    "{requests} after {} ({done}) failed, and none succeeded; containment is not complete: {}",
                    at.hhmm_utc(),
                    remaining.join("; ")
                )
            };
            Containment {
                at,
                by: a.done_text.clone(),
                failed_after: failed,
                complete: remaining.is_empty(),
                remaining,
                text,
                evidence: later.iter().flat_map(|s| s.evidence.iter().take(1).cloned()).take(5).collect(),
            }
        })
    })
}

/// Revocations that are partial or open, and attacker VMs not shown deleted: what may still
/// give the attacker access after their requests stopped succeeding.
fn access_remaining(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter(|a| a.kind.revokes_access() || a.kind == ActionKind::DeleteVm)
        .filter(|a| a.kind != ActionKind::ContainIdentity || a.parts.iter().any(|p| p.revokes_access()))
        .filter_map(|a| match a.status {
            ActionStatus::Partial => Some(crate::types::lower_first(&a.detail)),
            ActionStatus::Outstanding => Some(format!("open: {}", crate::types::lower_first(&a.action))),
            _ => None,
        })
        .collect()
}

fn exist_word(n: usize) -> &'static str {
    if n == 1 {
        "exists"
    } else {
        "exist"
    }
}

/// The preservation checklist, following the state of the attacker's resources.
fn preservation(input: &ResponseInput) -> Vec<Preservation> {
    let vms: Vec<(&Step, Option<&ArmOperation>)> = input
        .steps
        .iter()
        .filter(|s| s.kind == StepKind::VmCreate && s.outcome == Outcome::Succeeded)
        .map(|s| {
            let deleted = done_by(input.ops, "microsoft.compute/virtualmachines/delete", s.at, &|o| {
                same_or_parent(o, s.resource.as_ref())
            });
            (s, deleted.first().copied())
        })
        .collect();
    let name = |s: &Step| s.resource.as_ref().map(|r| r.name().to_string()).unwrap_or_default();
    let running: Vec<String> = vms.iter().filter(|(_, d)| d.is_none()).map(|(s, _)| name(s)).collect();
    // A VM the activity log does not show deleted still exists only if the log reaches the
    // as-of time; an export that ends before it shows no more than that.
    let standing = if activity_reaches(input.ops, input.as_of) {
        format!("still {}", exist_word(running.len()))
    } else {
        "not shown deleted".to_string()
    };
    let gone: Vec<String> = vms.iter().filter(|(_, d)| d.is_some()).map(|(s, _)| name(s)).collect();
    let snapshot_any = input
        .ops
        .iter()
        .any(|o| o.operation == "microsoft.compute/snapshots/write" && o.outcome == Outcome::Succeeded);
    let first_attack = input.steps.iter().map(|s| s.at).min();
    let locks = input.ops.iter().any(|o| o.operation == "microsoft.authorization/locks/write");
    let unknown = !input.activity_provided;
    let disks = if unknown {
        ("Cannot be shown: the activity log was not provided".to_string(), false)
    } else if vms.is_empty() {
        ("No attacker VM is in the evidence".to_string(), false)
    } else {
        let mut parts = Vec::new();
        if !running.is_empty() {
            parts.push(format!("{} {standing}: snapshot the disks now", running.join(", ")));
        }
        if !gone.is_empty() {
            parts.push(if snapshot_any {
                format!("{} deleted; a snapshot write is in the activity log", gone.join(", "))
            } else {
                format!(
                    "{} deleted and the activity log shows no snapshot: its disks may remain (a VM delete keeps them unless told otherwise); look for them before they are removed",
                    gone.join(", ")
                )
            });
        }
        (parts.join("; "), !running.is_empty())
    };
    let capture = if unknown {
        ("Cannot be shown: the activity log was not provided".to_string(), false)
    } else if vms.is_empty() {
        ("No attacker VM is in the evidence".to_string(), false)
    } else if !running.is_empty() {
        (
            format!("{} {standing}: start a packet capture now, before isolating", running.join(", ")),
            true,
        )
    } else {
        ("Not possible any more: every attacker VM was deleted".to_string(), false)
    };
    vec![
        Preservation {
            item: "VM disk snapshots".into(),
            guidance: "Snapshot the OS and data disks of every attacker VM before deleting it; keep them in a separate, restricted resource group.".into(),
            status: disks.0,
            urgent: disks.1,
        },
        Preservation {
            item: "Activity log export".into(),
            guidance: "Export the activity log to storage or a workspace with long retention; the platform keeps 90 days.".into(),
            status: match (input.activity_exported, first_attack) {
                (Some(route), Some(t)) => format!(
                    "Exported: the records provided are {}; check that the destination keeps them past {} (90 days after the first attacker activity, when the platform's copy ends)",
                    route.describe(),
                    t.plus_seconds(90 * 86_400).0.format("%Y-%m-%d")
                ),
                (Some(route), None) => format!("Exported: the records provided are {}", route.describe()),
                (None, Some(t)) => format!("Export before {} (90 days after the first attacker activity)", t.plus_seconds(90 * 86_400).0.format("%Y-%m-%d")),
                (None, None) => "No attacker activity found".into(),
            },
            urgent: false,
        },
        Preservation {
            item: "Resource locks on evidence".into(),
            guidance: "Place CannotDelete locks on the accessed storage accounts (their logs are evidence) and on attacker-created resources.".into(),
            status: if unknown {
                "Cannot be shown: the activity log was not provided".into()
            } else if locks {
                "A lock write appears in the activity log".into()
            } else {
                match activity_until(input.ops) {
                    Some(until) => format!("No lock writes in the activity log, which ends {until}"),
                    None => "No lock writes in the activity log".into(),
                }
            },
            urgent: false,
        },
        Preservation {
            item: "Network capture".into(),
            guidance: "While an attacker VM still runs, start a Network Watcher packet capture before isolating it.".into(),
            status: capture.0,
            urgent: capture.1,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::scope::CaseVerdict;

    fn scope() -> Scope {
        Scope::empty(CaseVerdict::CompromiseConfirmed)
    }

    fn report(note: &str) -> ReportedAction {
        ReportedAction {
            action: "contain-identity".into(),
            at: None,
            by: Some("soc@example.org".into()),
            note: Some(note.into()),
        }
    }

    fn contain(s: &Scope) -> Vec<Action> {
        vec![
            identity_action(s, "ana@example.org", false, IdentityPart::PERSON.to_vec()),
            identity_action(s, "0b5e6f2a-0000-4000-8000-000000000001", true, IdentityPart::WORKLOAD.to_vec()),
        ]
    }

    fn by_status(actions: &[Action], st: ActionStatus) -> Vec<&str> {
        actions.iter().filter(|a| a.status == st).map(|a| a.action.as_str()).collect()
    }

    #[test]
    fn a_report_covers_only_the_steps_it_names_and_the_rest_stay_open() {
        let s = scope();
        let mut actions = contain(&s);
        apply_reported(&mut actions, &[report("ana's sessions revoked and password reset")], &s);
        let reported = by_status(&actions, ActionStatus::Reported);
        assert_eq!(reported, ["Revoke the sessions of ana@example.org and reset its password"]);
        let open = by_status(&actions, ActionStatus::Outstanding);
        assert!(
            open.contains(&"Disable ana@example.org until the compromise vector is known"),
            "{open:?}"
        );
        assert!(
            open.iter()
                .any(|t| t.starts_with("Remove the credentials of the non-personal identity 0b5e6f2a")),
            "the principal the report does not name stays open whole: {open:?}"
        );
    }

    #[test]
    fn one_report_naming_both_identities_is_one_action_and_a_clause_names_its_identity() {
        let s = scope();
        let mut actions = contain(&s);
        let note = "ana's sessions revoked, password reset and account disabled; the client secret of 0b5e6f2a-0000-4000-8000-000000000001 removed";
        apply_reported(&mut actions, &[report(note)], &s);
        let reported: Vec<&Action> = actions.iter().filter(|a| a.status == ActionStatus::Reported).collect();
        assert_eq!(reported.len(), 1);
        assert_eq!(reported[0].identities.len(), 2);
        assert!(reported[0].action.contains("disable it") && reported[0].action.contains("remove the credentials"));
        // "disabled" is in the person's clause: it is not read as the principal's.
        let open = by_status(&actions, ActionStatus::Outstanding);
        assert_eq!(open.len(), 1, "{open:?}");
        assert!(
            open[0].starts_with("Remove the role assignments of the non-personal identity"),
            "{open:?}"
        );
    }

    #[test]
    fn a_report_that_names_no_step_covers_the_action_as_written_and_says_so() {
        let s = scope();
        let mut actions = contain(&s)[..1].to_vec();
        apply_reported(&mut actions, &[report("Konto gesichert")], &s);
        assert_eq!(actions.len(), 1);
        assert_eq!(actions[0].status, ActionStatus::Reported);
        assert!(actions[0]
            .detail
            .ends_with("the report does not say which of these steps were taken"));
    }

    #[test]
    fn an_open_disable_step_alone_does_not_count_as_access_remaining() {
        let s = scope();
        let mut actions = contain(&s)[..1].to_vec();
        apply_reported(&mut actions, &[report("sessions revoked and password reset")], &s);
        assert!(access_remaining(&actions).is_empty(), "{:?}", access_remaining(&actions));
        let mut open = contain(&s)[..1].to_vec();
        apply_reported(&mut open, &[report("password reset")], &s);
        assert_eq!(access_remaining(&open).len(), 1);
    }
}
