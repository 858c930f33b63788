//! Facts about how the attacker got and used identities that the control catalog's
//! identity controls rest on: password guessing before a takeover, a password spray from one
//! address across several accounts, and a workload identity (service principal or managed
//! identity) acting for the attacker. Reads the steps, the sign-ins and the scope; decides no
//! verdict (see `gaps`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::gaps::{actor_of, ProvenFact};
use super::scope::Scope;
use super::steps::{Outcome, Step};
use crate::bundle::signins::{Principal, SignIn};
use crate::error::Location;
use crate::posture::catalog::Actor;
use crate::types::{Fact, StepKind};

/// Distinct accounts one address must fail against for its attempts to count as a password
/// spray rather than guessing one account's password (Entra ID Protection's own password
/// spray detection also looks for one source failing across several accounts).
pub const SPRAY_MIN_ACCOUNTS: usize = 3;

fn proven(fact: Fact, evidence: Vec<Location>) -> Option<ProvenFact> {
    (!evidence.is_empty()).then(|| ProvenFact {
        fact,
        sentence: fact.sentence().to_string(),
        evidence,
    })
}

/// Failed attacker sign-in attempts on an account before the attacker's successful sign-in
/// on the same account; the evidence is the failures, then the success.
fn password_guessing(steps: &[Step]) -> Option<ProvenFact> {
    let mut evidence = Vec::new();
    let successes = steps
        .iter()
        .filter(|s| s.kind == StepKind::SigninUntrusted && s.outcome == Outcome::Succeeded && actor_of(s) == Actor::User);
    for ok in successes {
        let failures: Vec<&Step> = steps
            .iter()
            .filter(|s| s.kind == StepKind::SigninFailed && s.outcome != Outcome::Succeeded)
            .filter(|s| s.actor.is_some() && s.actor == ok.actor && s.at < ok.at)
            .collect();
        if failures.is_empty() {
            continue;
        }
        evidence.extend(failures.iter().filter_map(|s| s.evidence.first().cloned()));
        evidence.extend(ok.evidence.first().cloned());
    }
    evidence.dedup();
    proven(Fact::SigninPasswordGuessing, evidence)
}

/// An attacker address whose failed user sign-ins name at least [`SPRAY_MIN_ACCOUNTS`]
/// accounts; the evidence is each account's first failure from it.
fn password_spray(signins: &[SignIn], attacker_ip: &dyn Fn(&IpAddr) -> bool) -> Option<ProvenFact> {
    let mut by_ip: BTreeMap<IpAddr, BTreeMap<String, Location>> = BTreeMap::new();
    for s in signins.iter().filter(|s| !s.succeeded && s.principal == Principal::User) {
        let Some(ip) = s.ip.filter(|ip| attacker_ip(ip)) else { continue };
        by_ip
            .entry(ip)
            .or_default()
            .entry(s.upn.as_str().to_string())
            .or_insert_with(|| s.origin.clone());
    }
    let evidence: Vec<Location> = by_ip
        .into_values()
        .filter(|accounts| accounts.len() >= SPRAY_MIN_ACCOUNTS)
        .flat_map(|accounts| accounts.into_values())
        .collect();
    proven(Fact::SigninSprayOneSource, evidence)
}

/// Successful attacker steps whose actor is a service principal or managed identity.
fn workload_acted(steps: &[Step]) -> Option<ProvenFact> {
    let mut seen = BTreeSet::new();
    let evidence: Vec<Location> = steps
        .iter()
        .filter(|s| s.outcome == Outcome::Succeeded && s.kind != StepKind::LateralMovement && actor_of(s) == Actor::Workload)
        .filter_map(|s| s.evidence.first().cloned())
        .filter(|e| seen.insert(e.clone()))
        .collect();
    proven(Fact::WorkloadIdentityActed, evidence)
}

/// The identity facts this case's evidence proves.
pub fn prove_identity_facts(steps: &[Step], signins: Option<&[SignIn]>, scope: &Scope) -> Vec<ProvenFact> {
    [
        password_guessing(steps),
        signins.and_then(|s| password_spray(s, &|ip| scope.has_ip(ip))),
        workload_acted(steps),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::analysis::steps::Phase;
    use crate::types::{Timestamp, Upn};

    fn at(minute: u32) -> Timestamp {
        Timestamp(chrono::DateTime::from_timestamp(1_700_000_000 + i64::from(minute) * 60, 0).unwrap())
    }

    fn loc(line: u64) -> Location {
        Location::record(Path::new("evidence/test.csv"), line, line - 1)
    }

    fn step(kind: StepKind, actor: Option<&str>, minute: u32, ok: bool, line: u64) -> Step {
        Step {
            id: format!("S{line:02}"),
            kind,
            phase: if matches!(kind, StepKind::SigninFailed | StepKind::SigninUntrusted) {
                Phase::Identity
            } else {
                Phase::Arm
            },
            at: at(minute),
            end: None,
            action: "test".into(),
            target: "t".into(),
            detail: String::new(),
            outcome: if ok { Outcome::Succeeded } else { Outcome::Failed },
            outcome_text: if ok { "succeeded".into() } else { "failed".into() },
            attempt: !ok,
            summary: "test step".into(),
            actor: actor.map(Upn::new),
            ip: None,
            count: 1,
            bytes: None,
            bytes_human: None,
            evidence: vec![loc(line)],
            why: String::new(),
            resource: None,
            details: None,
        }
    }

    fn failed_signin(upn: &str, ip: &str, line: u64) -> SignIn {
        SignIn {
            at: at(line as u32),
            upn: Upn::new(upn),
            principal: Principal::User,
            display_name: None,
            ip: ip.parse().ok(),
            country: None,
            city: None,
            app: None,
            resource: None,
            succeeded: false,
            result_code: Some("50126".into()),
            failure_reason: None,
            conditional_access: None,
            auth_requirement: None,
            mfa: None,
            mfa_method: None,
            device_compliant: None,
            device_managed: None,
            risk_during: None,
            risk_aggregated: None,
            risk_state: None,
            risk_events: Vec::new(),
            user_agent: None,
            correlation_id: None,
            record_id: None,
            origin: loc(line),
        }
    }

    #[test]
    fn failures_before_a_success_on_the_same_account_are_password_guessing() {
        let steps = [
            step(StepKind::SigninFailed, Some("a@x.test"), 1, false, 2),
            step(StepKind::SigninFailed, Some("a@x.test"), 2, false, 3),
            step(StepKind::SigninUntrusted, Some("a@x.test"), 9, true, 4),
        ];
        let f = password_guessing(&steps).expect("guessing");
        assert_eq!(f.evidence, vec![loc(2), loc(3), loc(4)]);
        // Failures on another account, or only after the success, are not guessing its password.
        let other = [
            step(StepKind::SigninFailed, Some("b@x.test"), 1, false, 2),
            step(StepKind::SigninUntrusted, Some("a@x.test"), 9, true, 4),
            step(StepKind::SigninFailed, Some("a@x.test"), 12, false, 5),
        ];
        assert!(password_guessing(&other).is_none());
    }

    #[test]
    fn one_attacker_address_failing_on_three_accounts_is_a_spray_and_two_are_not() {
        let attacker = |ip: &IpAddr| *ip == "192.0.2.9".parse::<IpAddr>().unwrap();
        let three = [
            failed_signin("a@x.test", "192.0.2.9", 2),
            failed_signin("b@x.test", "192.0.2.9", 3),
            failed_signin("b@x.test", "192.0.2.9", 4),
            failed_signin("c@x.test", "192.0.2.9", 5),
        ];
        let f = password_spray(&three, &attacker).expect("spray");
        assert_eq!(f.evidence, vec![loc(2), loc(3), loc(5)]);
        assert!(password_spray(&three[..3], &attacker).is_none(), "two accounts are not a spray");
        // The same failures from an address outside the attacker's scope prove nothing.
        assert!(password_spray(&three, &|_| false).is_none());
    }

    #[test]
    fn a_service_principal_acting_is_a_workload_fact_and_a_user_is_not() {
        let sp = [step(StepKind::VmCreate, Some("95ca549f-0000-4000-8000-000000000001"), 5, true, 7)];
        assert_eq!(workload_acted(&sp).expect("workload").evidence, vec![loc(7)]);
        let user = [step(StepKind::VmCreate, Some("a@x.test"), 5, true, 7)];
        assert!(workload_acted(&user).is_none());
        let failed = [step(StepKind::VmCreate, Some("95ca549f-0000-4000-8000-000000000001"), 5, false, 7)];
        assert!(workload_acted(&failed).is_none(), "a refused attempt is not the workload acting");
    }
}
