//! Separates attacker steps from benign activity and records why each record was judged so.
//! Sign-ins and Activity log events become [`Step`]s (storage bursts come from `exposure`);
//! everything else is counted as excluded with its reason. Activity events are first grouped
//! into operations (Start/Accept/Success rows share a correlation id), so one operation is
//! one step with its final status.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use super::scope::{is_internal, Scope};
use crate::bundle::activity::{canonical_operation, ActivityEvent, ActivityStatus, OperationDetails};
use crate::bundle::signins::SignIn;
use crate::case::Environment;
use crate::error::Location;
use crate::types::{Bytes, ResourceId, StepKind, Timestamp, Upn};

/// Which product's log a step or timeline entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Phase {
    Identity,
    #[serde(rename = "ARM")]
    Arm,
    Storage,
    #[serde(rename = "Alert")]
    Alert,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::Identity => "Identity",
            Phase::Arm => "ARM",
            Phase::Storage => "Storage",
            Phase::Alert => "Alert",
        }
    }
}

/// Outcome of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Outcome {
    Succeeded,
    Failed,
    /// Started but no final event in the export.
    Unknown,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Succeeded => "Succeeded",
            Outcome::Failed => "Failed",
            Outcome::Unknown => "No final status",
        }
    }
}

/// One attacker step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Stable id in time order: S01, S02 …
    pub id: String,
    pub kind: StepKind,
    pub phase: Phase,
    pub at: Timestamp,
    pub end: Option<Timestamp>,
    /// What was done: `roleAssignments/write`, `Sign-in: Azure Portal`, `GetBlob`.
    pub action: String,
    /// What it was done to: a resource name, "Subscription level", a container.
    pub target: String,
    pub detail: String,
    pub outcome: Outcome,
    pub actor: Option<Upn>,
    pub ip: Option<IpAddr>,
    /// Requests aggregated into this step (1 for a single record).
    pub count: u64,
    pub bytes: Option<Bytes>,
    /// `bytes` in decimal units, when there are bytes.
    pub bytes_human: Option<String>,
    /// Records that prove it (the first few of an aggregate).
    pub evidence: Vec<Location>,
    /// Why this is attacker activity.
    pub why: String,
    #[serde(skip)]
    pub resource: Option<ResourceId>,
    #[serde(skip)]
    pub details: Option<OperationDetails>,
}

/// An Activity log operation: the events of one correlation id and operation name.
#[derive(Debug, Clone, Serialize)]
pub struct ArmOperation {
    pub start: Timestamp,
    pub end: Timestamp,
    /// Lower-case operation name.
    pub operation: String,
    pub outcome: Outcome,
    pub caller: Option<Upn>,
    pub caller_ip: Option<IpAddr>,
    pub resource_id: Option<ResourceId>,
    pub resource_group: Option<String>,
    pub details: OperationDetails,
    pub substatus: Option<String>,
    pub events: Vec<Location>,
}

impl ArmOperation {
    /// `Microsoft.Compute/virtualMachines/write` → `virtualMachines/write` (the seed's form).
    pub fn short_name(&self) -> String {
        let canonical = canonical_operation(&self.operation);
        canonical.split_once('/').map(|(_, rest)| rest.to_string()).unwrap_or(canonical)
    }
    /// The top-level resource type (`virtualMachines` for `.../virtualMachines/extensions/write`).
    pub fn resource_type(&self) -> String {
        let canonical = canonical_operation(&self.operation);
        canonical.split('/').nth(1).unwrap_or("").to_string()
    }
    /// Management-plane changes (reads are not logged by the Activity log anyway).
    pub fn is_change(&self) -> bool {
        let op = &self.operation;
        op.ends_with("/write") || op.ends_with("/delete") || op.ends_with("/action")
    }
}

/// Groups events into operations, ordered by start time.
pub fn group_operations(events: &[ActivityEvent]) -> Vec<ArmOperation> {
    let mut groups: BTreeMap<(String, String), Vec<&ActivityEvent>> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        let id = e
            .correlation_id
            .clone()
            .or_else(|| e.operation_id.clone())
            .unwrap_or_else(|| format!("row-{i}"));
        groups.entry((id, e.operation.clone())).or_default().push(e);
    }
    let mut ops: Vec<ArmOperation> = groups
        .into_values()
        .map(|mut evs| {
            evs.sort_by_key(|e| e.at);
            let first = evs[0];
            let last_final = evs.iter().rev().find(|e| e.status.is_final());
            let outcome = match last_final.map(|e| &e.status) {
                Some(ActivityStatus::Succeeded) => Outcome::Succeeded,
                Some(ActivityStatus::Failed) => Outcome::Failed,
                _ => Outcome::Unknown,
            };
            let mut details = OperationDetails::default();
            for e in &evs {
                let d = &e.details;
                details.region = details.region.take().or_else(|| d.region.clone());
                details.vm_size = details.vm_size.take().or_else(|| d.vm_size.clone());
                details.sku = details.sku.take().or_else(|| d.sku.clone());
                details.rule = details.rule.take().or_else(|| d.rule.clone());
                details.role_definition = details.role_definition.take().or_else(|| d.role_definition.clone());
                details.principal_id = details.principal_id.take().or_else(|| d.principal_id.clone());
                details.command = details.command.take().or_else(|| d.command.clone());
            }
            ArmOperation {
                start: first.at,
                end: evs[evs.len() - 1].at,
                operation: first.operation.clone(),
                outcome,
                caller: evs.iter().find_map(|e| e.caller.clone()),
                caller_ip: evs.iter().find_map(|e| e.caller_ip),
                resource_id: evs.iter().find_map(|e| e.resource_id.clone()),
                resource_group: evs.iter().find_map(|e| e.resource_group.clone()),
                substatus: last_final.and_then(|e| e.substatus.clone()),
                details,
                events: evs.iter().map(|e| e.origin.clone()).collect(),
            }
        })
        .collect();
    ops.sort_by(|a, b| (a.start, &a.operation).cmp(&(b.start, &b.operation)));
    ops
}

/// A record judged not to be attacker activity, with the reason.
#[derive(Debug, Clone, Serialize)]
pub struct Excluded {
    pub at: Timestamp,
    pub phase: Phase,
    pub what: String,
    pub actor: Option<String>,
    pub reason: String,
    pub evidence: Location,
}

/// The step kind of an Activity operation.
pub fn kind_of_operation(op: &str) -> StepKind {
    if op.ends_with("/roleassignments/write") {
        StepKind::RoleAssignment
    } else if op == "microsoft.compute/virtualmachines/write" {
        StepKind::VmCreate
    } else if op == "microsoft.network/publicipaddresses/write" {
        StepKind::PublicIpCreate
    } else if op.ends_with("/securityrules/write") || op == "microsoft.network/networksecuritygroups/write" {
        StepKind::NsgRuleChange
    } else if op.ends_with("/listkeys/action") {
        StepKind::StorageKeyListing
    } else if op.contains("/diagnosticsettings/") && !op.ends_with("/read") {
        StepKind::LoggingTamper
    } else {
        StepKind::OtherWrite
    }
}

/// Why an ARM operation is the attacker's, or None with the reason it is not.
fn judge_operation(op: &ArmOperation, scope: &Scope, env: &Environment) -> Result<String, String> {
    let ip_text = op.caller_ip.map(|i| i.to_string()).unwrap_or_else(|| "no recorded address".into());
    if let Some(ip) = op.caller_ip {
        if scope.has_ip(&ip) {
            return Ok(format!("called from attacker address {ip}"));
        }
    }
    let caller = op.caller.as_ref().map(|c| c.to_string()).unwrap_or_else(|| "unknown caller".into());
    match &op.caller {
        Some(c) if scope.has_identity(c) => {
            let after = scope.compromise_start.is_some_and(|s| op.start >= s);
            let in_ranges = op.caller_ip.is_some_and(|ip| env.ip_trusted(&ip));
            let internal = op.caller_ip.is_some_and(|ip| is_internal(&ip));
            if after && !in_ranges && !internal {
                Ok(format!("compromised identity {caller} after the compromise, from {ip_text}"))
            } else if in_ranges {
                Err(format!("compromised identity {caller}, but from trusted address {ip_text}"))
            } else if internal {
                // Not "trusted": the case does not list it; it is a private (internal) address.
                Err(format!(
                    "compromised identity {caller}, but from private address {ip_text} (not in trusted_ip_ranges)"
                ))
            } else {
                Err(format!("compromised identity {caller}, but before the compromise began"))
            }
        }
        _ => Err(format!("caller {caller} from {ip_text} is not in the attacker scope")),
    }
}

/// Describes an operation's target and details for tables.
fn describe_operation(op: &ArmOperation) -> (String, String) {
    let target = match (&op.resource_id, op.resource_group.as_deref()) {
        (Some(r), _) if r.segment_after("resourceGroups").is_none() => {
            if r.key().contains("/providers/microsoft.authorization/roleassignments/") {
                "Subscription level".to_string()
            } else {
                r.name().to_string()
            }
        }
        (Some(r), Some(rg)) => format!("{} ({})", r.name(), rg.to_lowercase()),
        (Some(r), None) => r.name().to_string(),
        (None, Some(rg)) => rg.to_lowercase(),
        (None, None) => "—".to_string(),
    };
    let d = &op.details;
    let mut parts = Vec::new();
    if let Some(r) = &d.region {
        parts.push(format!("region {}", r.display_name()));
    }
    if let Some(s) = &d.vm_size {
        parts.push(format!("size {s}"));
    }
    if let Some(rule) = &d.rule {
        parts.push(format!(
            "{} {} port {} from {}",
            rule.direction.as_deref().unwrap_or("?"),
            rule.access.as_deref().unwrap_or("?"),
            rule.port.as_deref().unwrap_or("?"),
            rule.source.as_deref().unwrap_or("?")
        ));
    }
    if let Some(role) = &d.role_definition {
        let id = role.rsplit('/').next().unwrap_or(role);
        let name = match id {
            "8e3af657-a8ff-443c-a75c-2fe8c4bcb635" => "Owner",
            "b24988ac-6180-42a0-ab88-20f7382dd24c" => "Contributor",
            "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9" => "User Access Administrator",
            _ => id,
        };
        parts.push(format!("role {name}"));
    }
    if let Some(cmd) = &d.command {
        parts.push(format!("command: {cmd}"));
    }
    (target, parts.join("; "))
}

/// Steps and exclusions from sign-ins and Activity operations.
pub struct Classified {
    pub steps: Vec<Step>,
    pub excluded: Vec<Excluded>,
}

/// Classifies sign-ins.
pub fn classify_signins(signins: &[SignIn], scope: &Scope, env: &Environment) -> Classified {
    let mut steps = Vec::new();
    let mut excluded = Vec::new();
    for s in signins {
        let ip_in = s.ip.is_some_and(|ip| scope.has_ip(&ip));
        let who_in = scope.has_identity(&s.upn);
        let attacker = ip_in || (who_in && s.risky());
        let app = s.app.clone().unwrap_or_else(|| "unknown app".into());
        if attacker {
            let mut detail = vec![s.country.clone().unwrap_or_else(|| "country unknown".into())];
            if let Some(r) = s.risk_during.as_ref().or(s.risk_aggregated.as_ref()) {
                detail.push(format!("risk: {r}"));
            }
            if let Some(ca) = s.conditional_access {
                detail.push(format!("CA: {}", ca.label()));
            }
            if let Some(a) = &s.auth_requirement {
                detail.push(if s.single_factor() { "single factor".into() } else { a.clone() });
            }
            steps.push(Step {
                id: String::new(),
                kind: if s.succeeded {
                    StepKind::SigninUntrusted
                } else {
                    StepKind::SigninFailed
                },
                phase: Phase::Identity,
                at: s.at,
                end: None,
                action: format!("Sign-in: {app}"),
                target: s.resource.clone().unwrap_or_else(|| "—".into()),
                detail: detail.join(" | "),
                outcome: if s.succeeded { Outcome::Succeeded } else { Outcome::Failed },
                actor: Some(s.upn.clone()),
                ip: s.ip,
                count: 1,
                bytes: None,
                bytes_human: None,
                evidence: vec![s.origin.clone()],
                why: if ip_in {
                    format!("from attacker address {}", s.ip.map(|i| i.to_string()).unwrap_or_default())
                } else {
                    "risky sign-in of a compromised identity".into()
                },
                resource: None,
                details: None,
            });
        } else {
            let reason = if who_in {
                let trusted = s.ip.is_some_and(|ip| env.ip_trusted(&ip) || is_internal(&ip))
                    || s.country.as_deref().is_some_and(|c| env.country_trusted(c));
                if trusted {
                    format!(
                        "compromised identity, but a normal sign-in from trusted {} {}",
                        s.country.as_deref().unwrap_or(""),
                        s.ip.map(|i| i.to_string()).unwrap_or_default()
                    )
                } else {
                    "compromised identity, but neither risky nor from an attacker address".into()
                }
            } else if s.ip.is_some_and(|ip| !env.ip_trusted(&ip) && !is_internal(&ip))
                && s.country
                    .as_deref()
                    .is_some_and(|c| !env.trusted_countries.is_empty() && !env.country_trusted(c))
            {
                format!(
                    "untrusted location ({}), but no risk and no link to the attacker",
                    s.country.as_deref().unwrap_or("?")
                )
            } else {
                "identity and address not in the attacker scope".into()
            };
            excluded.push(Excluded {
                at: s.at,
                phase: Phase::Identity,
                what: format!("Sign-in: {app}"),
                actor: Some(s.upn.to_string()),
                reason,
                evidence: s.origin.clone(),
            });
        }
    }
    Classified { steps, excluded }
}

/// Classifies Activity operations.
pub fn classify_operations(ops: &[ArmOperation], scope: &Scope, env: &Environment) -> Classified {
    let mut steps = Vec::new();
    let mut excluded = Vec::new();
    for op in ops {
        let (target, detail) = describe_operation(op);
        match judge_operation(op, scope, env) {
            Ok(why) => steps.push(Step {
                id: String::new(),
                kind: kind_of_operation(&op.operation),
                phase: Phase::Arm,
                at: op.start,
                end: Some(op.end),
                action: op.short_name(),
                target,
                detail,
                outcome: op.outcome,
                actor: op.caller.clone(),
                ip: op.caller_ip,
                count: 1,
                bytes: None,
                bytes_human: None,
                evidence: op.events.clone(),
                why,
                resource: op.resource_id.clone(),
                details: Some(op.details.clone()),
            }),
            Err(reason) => excluded.push(Excluded {
                at: op.start,
                phase: Phase::Arm,
                what: op.short_name(),
                actor: op.caller.as_ref().map(|c| c.to_string()),
                reason,
                evidence: op.events[0].clone(),
            }),
        }
    }
    Classified { steps, excluded }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_map_to_step_kinds() {
        assert_eq!(
            kind_of_operation("microsoft.authorization/roleassignments/write"),
            StepKind::RoleAssignment
        );
        assert_eq!(kind_of_operation("microsoft.compute/virtualmachines/write"), StepKind::VmCreate);
        assert_eq!(
            kind_of_operation("microsoft.compute/virtualmachines/extensions/write"),
            StepKind::OtherWrite
        );
        assert_eq!(
            kind_of_operation("microsoft.network/networksecuritygroups/securityrules/write"),
            StepKind::NsgRuleChange
        );
        assert_eq!(
            kind_of_operation("microsoft.storage/storageaccounts/listkeys/action"),
            StepKind::StorageKeyListing
        );
        assert_eq!(
            kind_of_operation("microsoft.insights/diagnosticsettings/delete"),
            StepKind::LoggingTamper
        );
    }
}
