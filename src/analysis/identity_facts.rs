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
fn password_spray(signins: &[SignIn], scope: &Scope) -> Option<ProvenFact> {
    let mut by_ip: BTreeMap<IpAddr, BTreeMap<String, Location>> = BTreeMap::new();
    for s in signins.iter().filter(|s| !s.succeeded && s.principal == Principal::User) {
        let Some(ip) = s.ip.filter(|ip| scope.has_ip(ip)) else { continue };
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
        signins.and_then(|s| password_spray(s, scope)),
        workload_acted(steps),
    ]
    .into_iter()
    .flatten()
    .collect()
}
