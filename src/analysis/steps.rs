//! Separates attacker steps from benign activity and records why each record was judged so.
//! Sign-ins and Activity log events become [`Step`]s (storage bursts come from `exposure`);
//! everything else is counted as excluded with its reason. Activity events are first grouped
//! into operations (Start/Accept/Success rows share a correlation id), so one operation is
//! one step with its final status.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use super::scope::{own_address, Scope};
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
    /// The outcome with its reason, in words: "succeeded", "refused by policy
    /// (RequestDisallowedByPolicy)", "denied (AuthorizationFailed)", "failed (HTTP 403)".
    pub outcome_text: String,
    /// True when the step did not succeed: an attempt, never an accomplishment.
    pub attempt: bool,
    /// One plain sentence that states what happened and its outcome, for timelines and
    /// summaries ("VM vm-1 created in East US", "Key listing on acct denied (…)").
    pub summary: String,
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
    /// For a management-plane step: each caller address with its first and last event (an
    /// operation's events may come from more than one address).
    #[serde(skip)]
    pub seen_from: Vec<SeenFrom>,
}

impl Step {
    /// A management-plane write (creates or changes a resource).
    pub fn operation_is_write(&self) -> bool {
        self.phase == Phase::Arm && self.action.ends_with("/write")
    }
}

/// One address an operation's events came from, with the first and last of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SeenFrom {
    pub ip: IpAddr,
    pub first: Timestamp,
    pub last: Timestamp,
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
    /// The first recorded caller address.
    pub caller_ip: Option<IpAddr>,
    /// Every distinct caller address of the operation's events (Started and Succeeded rows
    /// can carry different ones), in time order.
    pub caller_ips: Vec<IpAddr>,
    /// Each caller address with the first and last event of the operation that came from it.
    pub seen_from: Vec<SeenFrom>,
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
                details.error_code = details.error_code.take().or_else(|| d.error_code.clone());
                details.key_name = details.key_name.take().or_else(|| d.key_name.clone());
            }
            let mut seen_from: Vec<SeenFrom> = Vec::new();
            for (ip, at) in evs.iter().filter_map(|e| e.caller_ip.map(|ip| (ip, e.at))) {
                match seen_from.iter_mut().find(|s| s.ip == ip) {
                    Some(s) => {
                        s.first = s.first.min(at);
                        s.last = s.last.max(at);
                    }
                    None => seen_from.push(SeenFrom { ip, first: at, last: at }),
                }
            }
            let caller_ips: Vec<IpAddr> = seen_from.iter().map(|s| s.ip).collect();
            ArmOperation {
                start: first.at,
                end: evs[evs.len() - 1].at,
                operation: first.operation.clone(),
                outcome,
                caller: evs.iter().find_map(|e| e.caller.clone()),
                caller_ip: caller_ips.first().copied(),
                caller_ips,
                seen_from,
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
    /// Not attacker activity by the scope, but touching what the attacker created inside the
    /// attack window: a person should look at it.
    pub review: bool,
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

/// Why an ARM operation is the attacker's, or Err with the reason it is not. An attacker
/// address on any of its events puts it in scope; a compromised identity's operations count
/// only inside its compromise window and not from the organisation's own addresses.
fn judge_operation(op: &ArmOperation, scope: &Scope, env: &Environment) -> Result<String, String> {
    let ip_text = if op.caller_ips.is_empty() {
        "no recorded address".to_string()
    } else {
        op.caller_ips.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
    };
    if let Some(ip) = op.caller_ips.iter().find(|ip| scope.has_ip(ip)) {
        return Ok(format!("called from attacker address {ip}"));
    }
    let caller = op.caller.as_ref().map(|c| c.to_string()).unwrap_or_else(|| "unknown caller".into());
    match &op.caller {
        Some(c) if scope.has_identity(c) => {
            let own = op.caller_ips.iter().find_map(|ip| own_address(env, ip).map(|why| (ip, why)));
            if let Some((ip, why)) = own {
                let kind = if env.ip_trusted(ip) { "trusted" } else { "private" };
                Err(format!("compromised identity {caller}, but from {kind} address {ip_text} ({why})"))
            } else if scope.identity_compromised_at(c, op.start) {
                Ok(format!("compromised identity {caller} after the compromise, from {ip_text}"))
            } else {
                Err(format!(
                    "compromised identity {caller}, but before its compromise began: the legitimate user's work"
                ))
            }
        }
        _ => Err(outside_scope(
            scope,
            &format!("caller {caller} from {ip_text}"),
            format!("caller {caller} from {ip_text} is not in the attacker scope"),
        )),
    }
}

/// The outcome in words, with the reason the log gives for a failure.
pub fn outcome_phrase(outcome: Outcome, code: Option<&str>) -> String {
    match (outcome, code) {
        (Outcome::Succeeded, _) => "succeeded".into(),
        (Outcome::Unknown, _) => "no final status in the export".into(),
        (Outcome::Failed, Some(c)) if c.to_ascii_lowercase().contains("policy") => format!("refused by policy ({c})"),
        (Outcome::Failed, Some(c))
            if ["authoriz", "forbidden", "denied", "403"]
                .iter()
                .any(|k| c.to_ascii_lowercase().contains(k)) =>
        {
            format!("denied ({c})")
        }
        (Outcome::Failed, Some(c)) => format!("failed ({c})"),
        (Outcome::Failed, None) => "failed".into(),
    }
}

/// Built-in Azure role definition ids → names (Azure built-in roles reference); ids of
/// custom roles are printed as they are.
const BUILT_IN_ROLES: &[(&str, &str)] = &[
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner"),
    ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor"),
    ("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader"),
    ("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "User Access Administrator"),
    ("f58310d9-a9f6-439a-9e8d-f62e7b41a168", "Role Based Access Control Administrator"),
    ("b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "Storage Blob Data Owner"),
    ("ba92f5b4-2d11-453d-a403-e96b0029c9fe", "Storage Blob Data Contributor"),
    ("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", "Storage Blob Data Reader"),
    ("17d1049b-9a84-46fb-8f53-869881c3d3ab", "Storage Account Contributor"),
    ("81a9662b-bebf-436f-a333-f67b29880f12", "Storage Account Key Operator Service Role"),
    ("9980e02c-c2be-4d73-94e8-173b1dc7cf3c", "Virtual Machine Contributor"),
    ("00482a5a-887f-4fb3-b363-3b7fe8e74483", "Key Vault Administrator"),
];

/// A role definition id or path → the role's name (or its id when not built in).
pub fn role_name(definition: &str) -> String {
    let id = definition.rsplit('/').next().unwrap_or(definition).to_ascii_lowercase();
    BUILT_IN_ROLES
        .iter()
        .find(|(k, _)| *k == id)
        .map(|(_, n)| n.to_string())
        .unwrap_or(id)
}

/// Where a role assignment applies, from its resource id.
pub fn assignment_scope(resource: &ResourceId) -> String {
    let key = resource.key();
    let at = key
        .split("/providers/microsoft.authorization/roleassignments/")
        .next()
        .unwrap_or(key);
    let parts: Vec<&str> = at.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["subscriptions", sub] => format!("subscription {sub}"),
        ["subscriptions", _, "resourcegroups", rg] => format!("resource group {rg}"),
        [.., name] if parts.len() > 4 => format!("resource {name}"),
        _ => at.to_string(),
    }
}

/// One plain sentence for a management-plane step, with its outcome.
fn operation_summary(op: &ArmOperation, kind: StepKind, outcome_text: &str) -> String {
    let name = op.resource_id.as_ref().map(|r| r.name().to_string()).unwrap_or_else(|| "—".into());
    let region = op
        .details
        .region
        .as_ref()
        .map(|r| format!(" in {}", r.display_name()))
        .unwrap_or_default();
    let ok = op.outcome == Outcome::Succeeded;
    // A request refused by policy or denied was rejected before anything was done; a request
    // that failed otherwise may have left part of a deployment behind, so nothing is claimed.
    let rejected = op.outcome == Outcome::Failed && (outcome_text.starts_with("refused") || outcome_text.starts_with("denied"));
    let nothing = if rejected {
        format!(": {}", nothing_done(kind))
    } else {
        String::new()
    };
    let done = |did: String, tried: String| if ok { did } else { format!("{tried} {outcome_text}{nothing}") };
    match kind {
        StepKind::RoleAssignment => {
            let role = op
                .details
                .role_definition
                .as_deref()
                .map(role_name)
                .unwrap_or_else(|| "a role".into());
            let who = op
                .details
                .principal_id
                .as_deref()
                .map(|p| format!("principal {p}"))
                .unwrap_or_else(|| "a principal".into());
            let at = op
                .resource_id
                .as_ref()
                .map(assignment_scope)
                .unwrap_or_else(|| "an unrecorded scope".into());
            done(
                format!("{role} granted to {who} at {at}"),
                format!("Grant of {role} to {who} at {at}"),
            )
        }
        StepKind::VmCreate => {
            let size = op.details.vm_size.as_deref().map(|s| format!(" ({s})")).unwrap_or_default();
            done(
                format!("VM {name} created{region}{size}"),
                format!("VM creation ({name}){region}{size}"),
            )
        }
        StepKind::PublicIpCreate => done(format!("Public IP {name} created{region}"), format!("Public IP creation ({name})")),
        StepKind::NsgRuleChange => done(format!("Firewall rule {name} written"), format!("Firewall rule change ({name})")),
        StepKind::StorageKeyListing => done(
            format!("Access keys of storage account {name} listed"),
            format!("Key listing on storage account {name}"),
        ),
        StepKind::LoggingTamper => done(
            format!("Diagnostic setting {name} changed"),
            format!("Diagnostic setting change ({name})"),
        ),
        _ => done(format!("{} on {name}", op.short_name()), format!("{} on {name}", op.short_name())),
    }
}

/// What a rejected management request did not do, by its kind.
fn nothing_done(kind: StepKind) -> &'static str {
    match kind {
        StepKind::VmCreate | StepKind::PublicIpCreate => "nothing was created",
        StepKind::RoleAssignment => "no role was granted",
        StepKind::StorageKeyListing => "no keys were returned",
        _ => "nothing was changed",
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
        parts.push(format!("role {}", role_name(role)));
    }
    if let Some(p) = &d.principal_id {
        parts.push(format!("to principal {p}"));
    }
    if let Some(k) = &d.key_name {
        parts.push(format!("key {k}"));
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

/// Classifies sign-ins: those from attacker addresses, risky ones of compromised identities,
/// and failed ones on a compromised identity from untrusted locations inside its compromise
/// window (attempts: guessing or spraying before the takeover) are attacker steps.
pub fn classify_signins(signins: &[SignIn], scope: &Scope, env: &Environment) -> Classified {
    let mut steps = Vec::new();
    let mut excluded = Vec::new();
    for s in signins {
        match judge_signin(s, scope, env) {
            Ok(why) => steps.push(signin_step(s, why)),
            Err(reason) => excluded.push(Excluded {
                at: s.at,
                phase: Phase::Identity,
                what: format!("Sign-in: {}", s.app.as_deref().unwrap_or("unknown app")),
                actor: Some(s.upn.to_string()),
                reason,
                review: false,
                evidence: s.origin.clone(),
            }),
        }
    }
    Classified { steps, excluded }
}

/// Why activity outside the attacker scope is excluded: `outside` as it stands, but with no
/// compromise established there is no attacker scope to be outside of, so the reason says
/// that no lead ties `what` to an attacker instead.
fn outside_scope(scope: &Scope, what: &str, outside: String) -> String {
    if scope.verdict == super::scope::CaseVerdict::NotEstablished {
        format!("no lead ties the {what} to an attacker (no compromise is established)")
    } else {
        outside
    }
}

fn judge_signin(s: &SignIn, scope: &Scope, env: &Environment) -> Result<String, String> {
    let ip_text = s.ip.map(|i| i.to_string()).unwrap_or_default();
    if s.ip.is_some_and(|ip| scope.has_ip(&ip)) {
        return Ok(format!("from attacker address {ip_text}"));
    }
    let own = s.ip.and_then(|ip| own_address(env, &ip));
    let country_trusted = s.country.as_deref().is_some_and(|c| env.country_trusted(c));
    if scope.has_identity(&s.upn) {
        if own.is_some() || country_trusted {
            return Err(format!(
                "compromised identity, but a normal sign-in from {} {ip_text}{}",
                s.country.as_deref().unwrap_or(""),
                own.map(|o| format!(", {o}")).unwrap_or_default()
            ));
        }
        if !scope.identity_compromised_at(&s.upn, s.at) {
            return Err("compromised identity, but before its compromise window: the legitimate user's sign-in".into());
        }
        if s.risky() {
            return Ok("risky sign-in of a compromised identity".into());
        }
        if !s.succeeded {
            return Ok(format!(
                "failed sign-in on a compromised identity from untrusted {ip_text} inside its compromise window"
            ));
        }
        return Err("compromised identity, but neither risky nor from an attacker address".into());
    }
    let untrusted_country = s
        .country
        .as_deref()
        .is_some_and(|c| !env.trusted_countries.is_empty() && !env.country_trusted(c));
    if s.ip.is_some() && own.is_none() && untrusted_country {
        let country = s.country.as_deref().unwrap_or("?");
        Err(outside_scope(
            scope,
            &format!("sign-in from an untrusted location ({country}), without risk,"),
            format!("untrusted location ({country}), but no risk and no link to the attacker"),
        ))
    } else {
        Err(outside_scope(
            scope,
            "identity and address",
            "identity and address not in the attacker scope".into(),
        ))
    }
}

/// Plain words for the commonest Entra sign-in error codes (AADSTS; Microsoft's error code
/// reference); other codes fall back to the log's own failure reason.
fn signin_error_words(code: &str) -> Option<&'static str> {
    Some(match code.trim() {
        "50126" => "wrong user name or password",
        "50053" => "account locked",
        "50055" => "password expired",
        "50057" => "account disabled",
        "50074" | "50076" | "50079" => "multifactor authentication required",
        "500121" => "multifactor authentication failed",
        "53003" => "blocked by Conditional Access",
        "50140" => "interrupted",
        _ => return None,
    })
}

fn signin_step(s: &SignIn, why: String) -> Step {
    let app = s.app.clone().unwrap_or_else(|| "unknown app".into());
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
    let outcome = if s.succeeded { Outcome::Succeeded } else { Outcome::Failed };
    let reason = s
        .result_code
        .as_deref()
        .and_then(signin_error_words)
        .map(str::to_string)
        .or_else(|| s.failure_reason.clone())
        .or_else(|| s.result_code.clone().map(|c| format!("error {c}")));
    let outcome_text = outcome_phrase(outcome, reason.as_deref());
    let from = s.ip.map(|i| format!(" from {i}")).unwrap_or_default();
    let country = s.country.as_deref().map(|c| format!(" ({c})")).unwrap_or_default();
    let summary = if s.succeeded {
        format!("Sign-in of {} to {app}{from}{country} succeeded", s.upn)
    } else {
        format!("Sign-in attempt on {} to {app}{from}{country} {outcome_text}", s.upn)
    };
    Step {
        id: String::new(),
        kind: if s.succeeded {
            StepKind::SigninUntrusted
        } else {
            StepKind::SigninFailed
        },
        phase: Phase::Identity,
        at: s.at,
        end: None,
        action: if s.succeeded {
            format!("Sign-in: {app}")
        } else {
            format!("Sign-in attempt: {app}")
        },
        target: s.resource.clone().unwrap_or_else(|| "—".into()),
        detail: detail.join(" | "),
        outcome,
        attempt: !s.succeeded,
        outcome_text,
        summary,
        actor: Some(s.upn.clone()),
        ip: s.ip,
        count: 1,
        bytes: None,
        bytes_human: None,
        evidence: vec![s.origin.clone()],
        why,
        resource: None,
        details: None,
        seen_from: Vec::new(),
    }
}

/// Classifies Activity operations.
pub fn classify_operations(ops: &[ArmOperation], scope: &Scope, env: &Environment) -> Classified {
    let mut steps = Vec::new();
    let mut excluded = Vec::new();
    for op in ops {
        let (target, detail) = describe_operation(op);
        // Azure Policy's own records of a deny or audit are not actions of the caller: the
        // refused operation is the step, with the policy's refusal as its outcome.
        if op.operation.starts_with("microsoft.authorization/policies/") {
            excluded.push(Excluded {
                at: op.start,
                phase: Phase::Arm,
                what: op.short_name(),
                actor: op.caller.as_ref().map(|c| c.to_string()),
                reason: "Azure Policy's evaluation record, not an action: the operation it refused or audited is listed on its own".into(),
                review: false,
                evidence: op.events[0].clone(),
            });
            continue;
        }
        match judge_operation(op, scope, env) {
            Ok(why) => {
                let kind = kind_of_operation(&op.operation);
                let outcome_text = outcome_phrase(op.outcome, op.details.error_code.as_deref().or(op.substatus.as_deref()));
                steps.push(Step {
                    id: String::new(),
                    kind,
                    phase: Phase::Arm,
                    at: op.start,
                    end: Some(op.end),
                    action: op.short_name(),
                    target,
                    detail,
                    outcome: op.outcome,
                    attempt: op.outcome != Outcome::Succeeded,
                    summary: operation_summary(op, kind, &outcome_text),
                    outcome_text,
                    actor: op.caller.clone(),
                    ip: op.caller_ips.iter().find(|ip| scope.has_ip(ip)).copied().or(op.caller_ip),
                    count: 1,
                    bytes: None,
                    bytes_human: None,
                    evidence: op.events.clone(),
                    why,
                    resource: op.resource_id.clone(),
                    details: Some(op.details.clone()),
                    seen_from: op.seen_from.clone(),
                })
            }
            Err(reason) => excluded.push(Excluded {
                at: op.start,
                phase: Phase::Arm,
                what: op.short_name(),
                actor: op.caller.as_ref().map(|c| c.to_string()),
                reason,
                review: false,
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
