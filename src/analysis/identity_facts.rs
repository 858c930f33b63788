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
use crate::bundle::signins::{PolicyResult, Principal, SignIn};
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
    // Failures before a second success are the first success's too: each record once, in
    // order of first mention.
    let mut seen = BTreeSet::new();
    evidence.retain(|l| seen.insert(l.clone()));
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

/// A Conditional Access policy that enforced multifactor authentication on other sign-ins of
/// the bundle but did not apply to a successful single-factor attacker sign-in: the control
/// exists, and its conditions left the attack out. The evidence is the attacker's sign-ins,
/// then every sign-in the policy enforced it on, each once.
fn mfa_policy_left_out(steps: &[Step], signins: &[SignIn]) -> Option<ProvenFact> {
    let attacker: BTreeSet<&Location> = steps
        .iter()
        .filter(|s| s.kind == StepKind::SigninUntrusted && s.outcome == Outcome::Succeeded && actor_of(s) == Actor::User)
        .filter_map(|s| s.evidence.first())
        .collect();
    let taken: Vec<&SignIn> = signins
        .iter()
        .filter(|s| s.single_factor() && attacker.contains(&s.origin))
        .collect();
    let mut evidence: Vec<Location> = Vec::new();
    let mut enforcements: Vec<Location> = Vec::new();
    let mut named: Vec<(String, usize)> = Vec::new();
    for s in &taken {
        for p in s.policies.iter().filter(|p| p.result == PolicyResult::NotApplied) {
            let enforced: Vec<&SignIn> = signins
                .iter()
                .filter(|o| !attacker.contains(&o.origin) && o.policies.iter().any(|q| q.same_as(p) && q.enforced_mfa()))
                .collect();
            if enforced.is_empty() {
                continue;
            }
            if !evidence.contains(&s.origin) {
                evidence.push(s.origin.clone());
            }
            for o in &enforced {
                if !enforcements.contains(&o.origin) {
                    enforcements.push(o.origin.clone());
                }
            }
            if !named.iter().any(|(n, _)| *n == p.label()) {
                named.push((p.label(), enforced.len()));
            }
        }
    }
    evidence.extend(enforcements);
    let mut fact = proven(Fact::MfaPolicyLeftOut, evidence)?;
    fact.sentence = match named.as_slice() {
        [(name, count)] => format!(
            "the Conditional Access policy \"{name}\" enforced multifactor authentication on {count} other sign-in{} in this bundle, but did not apply to the attacker's sign-in (result notApplied): its conditions left it out",
            if *count == 1 { "" } else { "s" }
        ),
        _ => format!(
            "the Conditional Access policies {} enforced multifactor authentication on other sign-ins in this bundle, but did not apply to the attacker's sign-in (result notApplied): their conditions left it out",
            crate::types::join_words(&named.iter().map(|(n, _)| format!("\"{n}\"")).collect::<Vec<_>>())
        ),
    };
    Some(fact)
}

/// The identity facts this case's evidence proves.
pub fn prove_identity_facts(steps: &[Step], signins: Option<&[SignIn]>, scope: &Scope) -> Vec<ProvenFact> {
    [
        password_guessing(steps),
        signins.and_then(|s| password_spray(s, &|ip| scope.has_ip(ip))),
        signins.and_then(|s| mfa_policy_left_out(steps, s)),
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
            seen_from: Vec::new(),
        }
    }

    fn failed_signin(upn: &str, ip: &str, line: u64) -> SignIn {
        SignIn::for_tests(at(line as u32), upn, ip, false, loc(line))
    }

    fn signin_with_policy(line: u64, single_factor: bool, result: PolicyResult, grants: &[&str]) -> SignIn {
        let mut s = failed_signin("a@x.test", "192.0.2.9", line);
        s.succeeded = true;
        s.auth_requirement = Some(
            if single_factor {
                "singleFactorAuthentication"
            } else {
                "multiFactorAuthentication"
            }
            .into(),
        );
        s.policies = vec![crate::bundle::signins::AppliedPolicy {
            id: Some("0f0f".into()),
            name: Some("Require MFA".into()),
            result,
            grant_controls: grants.iter().map(|g| g.to_string()).collect(),
        }];
        s
    }

    #[test]
    fn a_policy_that_enforced_mfa_elsewhere_but_left_the_attacker_out_is_proven_and_one_never_enforced_is_not() {
        let steps = [step(StepKind::SigninUntrusted, Some("a@x.test"), 9, true, 4)];
        let signins = [
            signin_with_policy(2, false, PolicyResult::Success, &["Mfa"]),
            signin_with_policy(3, false, PolicyResult::Success, &["Mfa"]),
            signin_with_policy(4, true, PolicyResult::NotApplied, &[]),
        ];
        let f = mfa_policy_left_out(&steps, &signins).expect("left out");
        // The attacker's sign-in, then each sign-in the policy enforced MFA on, once.
        assert_eq!(f.evidence, vec![loc(4), loc(2), loc(3)]);
        assert!(
            f.sentence
                .contains("\"Require MFA\" enforced multifactor authentication on 2 other sign-ins"),
            "{}",
            f.sentence
        );
        // A policy never seen enforcing MFA proves nothing about MFA being in place.
        let never = [
            signin_with_policy(2, false, PolicyResult::ReportOnly, &["Mfa"]),
            signin_with_policy(4, true, PolicyResult::NotApplied, &[]),
        ];
        assert!(mfa_policy_left_out(&steps, &never).is_none());
        // A policy that applied to the attacker's sign-in did not leave it out.
        let applied = [
            signin_with_policy(2, false, PolicyResult::Success, &["Mfa"]),
            signin_with_policy(4, true, PolicyResult::Success, &[]),
        ];
        assert!(mfa_policy_left_out(&steps, &applied).is_none());
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
