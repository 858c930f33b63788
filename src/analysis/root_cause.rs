//! Root cause and open questions, derived from the facts the evidence proves. A cause is
//! stated only when its fact holds in this case (a single-factor sign-in, Conditional Access
//! not applied, an account key used for data access …); a question stays open, with the
//! source that would settle it, when the bundle cannot answer it.

use serde::Serialize;

use super::gaps::ProvenFact;
use super::steps::{Outcome, Phase, Step};
use crate::error::Location;
use crate::types::{Fact, StepKind};

/// One link of the root-cause chain: a condition the evidence shows and what it allowed.
#[derive(Debug, Clone, Serialize)]
pub struct Cause {
    pub fact: Fact,
    /// The condition in plain words.
    pub condition: String,
    /// What it allowed in this incident.
    pub consequence: String,
    pub evidence: Vec<Location>,
}

/// A question the bundle cannot answer, and the source that would settle it.
#[derive(Debug, Clone, Serialize)]
pub struct OpenQuestion {
    pub question: String,
    pub settled_by: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RootCause {
    /// One plain line for executives; none when no cause fact holds.
    pub summary: Option<String>,
    pub causes: Vec<Cause>,
    pub open_questions: Vec<OpenQuestion>,
}

fn cause_text(f: Fact) -> Option<(&'static str, &'static str)> {
    Some(match f {
        Fact::SigninSingleFactor => (
            "The attacker's sign-in was accepted with a password alone (single-factor authentication).",
            "Whoever held the password had the account: no second factor stood between the stolen credential and the session every later step used.",
        ),
        Fact::SigninCaNotApplied => (
            "No Conditional Access policy applied to the attacker's sign-in (status \"notApplied\": none existed, or their conditions left it out).",
            "Neither location, device nor sign-in risk was checked before the session was issued.",
        ),
        Fact::MfaPolicyLeftOut => (
            "A Conditional Access policy requiring multifactor authentication existed, but its conditions left the attacker's sign-in out.",
            "The policy protected other sign-ins; the attacker's sign-in fell outside its conditions (location, device, client or application), so a password alone was enough.",
        ),
        Fact::SigninUntrustedLocation => (
            "The sign-in came from outside the trusted countries and address ranges.",
            "A location condition would have blocked or challenged it; none applied.",
        ),
        Fact::RoleAssignmentByAttacker => (
            "The compromised account held an active role that could assign roles.",
            "The attacker used it to grant further access (a role assignment).",
        ),
        Fact::VmUnapprovedRegion => (
            "Resources could be created in regions outside the approved list.",
            "The attacker ran compute the organisation pays for in a region no one uses.",
        ),
        Fact::AccountKeyDataAccess => (
            "The storage account accepted its account keys for data access.",
            "Keys listed through the management plane worked as a skeleton key for the data, outside identity controls.",
        ),
        Fact::StorageReachedFromInternet => (
            "The storage account was reachable from any internet address.",
            "The attacker downloaded data directly from its own address.",
        ),
        Fact::SigninRiskAllowed => (
            "Entra ID Protection rated the attacker's sign-in as risky, and no policy acted on the rating.",
            "The risk was detected while it happened, yet the sign-in went through without a second factor or a block.",
        ),
        Fact::SigninPasswordGuessing => (
            "Failed sign-in attempts by the attacker preceded its successful sign-in on the same account.",
            "The attempts did not keep the attacker out: the account accepted its password afterwards.",
        ),
        Fact::WorkloadIdentityActed => (
            "A service principal (a workload identity) acted for the attacker with its own credential.",
            "Its steps did not run in the user's session: user multifactor authentication and Conditional Access do not apply to it, and containing the user does not contain it.",
        ),
        Fact::AttackContinuedAfterAlert => (
            "Alerts fired while the attacker was active, and no containment action followed the first one within an hour.",
            "Detection worked but nobody acted on it in time: the stolen session, keys and attacker resources stayed usable for hours.",
        ),
        _ => return None,
    })
}

/// The order causes are told in: entry, privilege, reach, data, response.
const CAUSE_ORDER: [Fact; 12] = [
    Fact::SigninPasswordGuessing,
    Fact::SigninSingleFactor,
    Fact::MfaPolicyLeftOut,
    Fact::SigninCaNotApplied,
    Fact::SigninRiskAllowed,
    Fact::SigninUntrustedLocation,
    Fact::RoleAssignmentByAttacker,
    Fact::WorkloadIdentityActed,
    Fact::VmUnapprovedRegion,
    Fact::AccountKeyDataAccess,
    Fact::StorageReachedFromInternet,
    Fact::AttackContinuedAfterAlert,
];

fn causes(facts: &[ProvenFact]) -> Vec<Cause> {
    // A policy whose conditions left the sign-in out says more than "no policy applied".
    let left_out = facts.iter().any(|p| p.fact == Fact::MfaPolicyLeftOut);
    CAUSE_ORDER
        .iter()
        .filter(|f| !(left_out && **f == Fact::SigninCaNotApplied))
        .filter_map(|f| facts.iter().find(|p| p.fact == *f))
        .filter_map(|p| {
            cause_text(p.fact).map(|(c, q)| Cause {
                fact: p.fact,
                condition: c.into(),
                consequence: q.into(),
                evidence: p.evidence.clone(),
            })
        })
        .collect()
}

fn summary(facts: &[ProvenFact], steps: &[Step]) -> Option<String> {
    let has = |f: Fact| facts.iter().any(|p| p.fact == f);
    // "Privileged" only when the account was seen making management-plane changes.
    let account = if steps
        .iter()
        .any(|s| s.phase == Phase::Arm && s.outcome == Outcome::Succeeded && s.kind != StepKind::LateralMovement)
    {
        "a privileged account"
    } else {
        "an account"
    };
    let entry = match (has(Fact::SigninSingleFactor), has(Fact::SigninCaNotApplied)) {
        (true, _) if has(Fact::MfaPolicyLeftOut) => Some(format!(
            "a password-only sign-in to {account} that the Conditional Access policy requiring multi-factor authentication did not cover"
        )),
        (true, true) => Some(format!(
            "a password-only sign-in to {account}, with no multi-factor authentication or Conditional Access applied"
        )),
        (true, false) => Some(format!("a password-only sign-in to {account}, without multi-factor authentication")),
        (false, true) => Some(format!("a sign-in to {account} that no Conditional Access policy checked")),
        (false, false) => None,
    };
    let keys = has(Fact::AccountKeyDataAccess);
    match (entry, keys) {
        (Some(e), true) => Some(format!("{e}; storage account keys then opened the data without any identity check")),
        (Some(e), false) => Some(e),
        (None, true) => Some("storage account keys opened the data without any identity check".into()),
        (None, false) => None,
    }
}

/// The open questions of this case and what would settle each.
fn open_questions(steps: &[Step], audit_provided: bool) -> Vec<OpenQuestion> {
    let mut q = Vec::new();
    let any = |k: StepKind| steps.iter().any(|s| s.kind == k);
    if any(StepKind::SigninUntrusted) && !audit_provided {
        q.push(OpenQuestion {
            question: "Did the attacker change the account itself (new authentication methods, app registrations, consent grants) and when were its sessions revoked?".into(),
            settled_by: "Entra ID audit log (AuditLogs) for the compromised identities over the incident window".into(),
        });
    }
    if any(StepKind::SigninUntrusted) {
        q.push(OpenQuestion {
            question: "How did the attacker obtain the password (phishing, reuse, spraying)?".into(),
            settled_by: "Sign-in logs for the 30 days before the incident and the user's mailbox / endpoint records".into(),
        });
    }
    let workload = steps
        .iter()
        .any(|s| s.outcome == Outcome::Succeeded && super::gaps::actor_of(s) == crate::posture::catalog::Actor::Workload);
    if workload {
        q.push(OpenQuestion {
            question: "How did the attacker obtain a credential for the service principal it used (an existing secret, or one it added), and is that credential revoked?".into(),
            settled_by: "Entra ID audit log (\"Add service principal credentials\", \"Update application – Certificates and secrets management\") and the application's current credentials".into(),
        });
    }
    if any(StepKind::VmCreate) {
        q.push(OpenQuestion {
            question: "What did the attacker's virtual machines connect to, and did data leave through them?".into(),
            settled_by: "NSG or virtual network flow logs for the attacker's network interfaces".into(),
        });
        q.push(OpenQuestion {
            question: "What ran on the attacker's virtual machines (tools, mining software, staged data)?".into(),
            settled_by: "A snapshot of the attacker VM's OS disk, taken before deletion".into(),
        });
    }
    if any(StepKind::StorageKeyListing) {
        q.push(OpenQuestion {
            question: "Were the listed keys used against other storage services (queues, tables, files) or from other addresses?".into(),
            settled_by: "Storage resource logs for the queue, table and file services of the affected accounts".into(),
        });
    }
    q
}

/// The root cause of the incident from the proven facts.
pub fn build_root_cause(facts: &[ProvenFact], steps: &[Step], audit_provided: bool) -> RootCause {
    RootCause {
        summary: summary(facts, steps),
        causes: causes(facts),
        open_questions: open_questions(steps, audit_provided),
    }
}
