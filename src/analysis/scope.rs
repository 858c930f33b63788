//! Decides who and what the attacker is: compromised identities and attacker IP addresses,
//! taken from case.toml when the analyst named them, otherwise inferred from alert entities,
//! risky sign-ins and risk detections, then followed across sources. Every member carries
//! the reasons it is in scope, so the report can say why.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::bundle::Bundle;
use crate::case::Case;
use crate::types::{Timestamp, Upn};

/// How the scope was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScopeSource {
    CaseFile,
    Inferred,
}

/// Attacker identities and addresses, each with its reasons.
#[derive(Debug, Clone, Serialize)]
pub struct Scope {
    pub source: ScopeSource,
    pub identities: BTreeMap<Upn, Vec<String>>,
    pub ips: BTreeMap<IpAddr, Vec<String>>,
    /// Earliest attacker evidence: the start of the incident.
    pub compromise_start: Option<Timestamp>,
}

impl Scope {
    pub fn has_identity(&self, u: &Upn) -> bool {
        self.identities.contains_key(u)
    }
    pub fn has_ip(&self, ip: &IpAddr) -> bool {
        self.ips.contains_key(ip)
    }
    fn add_identity(&mut self, u: &Upn, why: String) {
        let v = self.identities.entry(u.clone()).or_default();
        if !v.contains(&why) {
            v.push(why);
        }
    }
    fn add_ip(&mut self, ip: IpAddr, why: String) {
        let v = self.ips.entry(ip).or_default();
        if !v.contains(&why) {
            v.push(why);
        }
    }
    fn saw(&mut self, t: Timestamp) {
        self.compromise_start = Some(self.compromise_start.map_or(t, |s| s.min(t)));
    }
}

/// True for addresses an organisation cannot own on the internet (RFC 1918, loopback …).
pub fn is_internal(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_loopback() || v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// Builds the scope: from case.toml if it names any attacker, else inferred.
pub fn build_scope(case: &Case, bundle: &Bundle) -> Scope {
    let env = &case.environment;
    let trusted = |ip: &IpAddr| env.ip_trusted(ip) || is_internal(ip);
    let mut scope = Scope {
        source: ScopeSource::Inferred,
        identities: BTreeMap::new(),
        ips: BTreeMap::new(),
        compromise_start: None,
    };
    if !case.scope.identities.is_empty() || !case.scope.ips.is_empty() {
        scope.source = ScopeSource::CaseFile;
        for u in &case.scope.identities {
            scope.add_identity(u, "named in case.toml".into());
        }
        for ip in &case.scope.ips {
            scope.add_ip(*ip, "named in case.toml".into());
        }
    } else {
        if let Some(alerts) = bundle.alerts.provided() {
            for a in alerts.iter().filter(|a| !a.severity.eq_ignore_ascii_case("informational")) {
                let why = format!("entity of {} alert \"{}\" ({})", a.severity, a.name, a.origin.cite());
                for u in &a.entities.accounts {
                    scope.add_identity(u, why.clone());
                }
                for ip in a.entities.ips.iter().filter(|ip| !trusted(ip)) {
                    scope.add_ip(*ip, why.clone());
                }
                if !a.entities.accounts.is_empty() || !a.entities.ips.is_empty() {
                    scope.saw(a.at);
                }
            }
        }
        if let Some(signins) = bundle.signins.provided() {
            for s in signins.iter().filter(|s| s.risky()) {
                let why = format!(
                    "{} sign-in risk, state {} ({})",
                    s.risk_during.as_deref().or(s.risk_aggregated.as_deref()).unwrap_or("elevated"),
                    s.risk_state.as_deref().unwrap_or("unknown"),
                    s.origin.cite()
                );
                scope.add_identity(&s.upn, why.clone());
                if let Some(ip) = s.ip.filter(|ip| !trusted(ip)) {
                    scope.add_ip(ip, why);
                }
                scope.saw(s.at);
            }
        }
        if let Some(risks) = bundle.risk_events.provided() {
            for r in risks.iter().filter(|r| r.open_and_serious()) {
                let why = format!("risk detection {} ({})", r.risk_type, r.origin.cite());
                scope.add_identity(&r.upn, why.clone());
                if let Some(ip) = r.ip.filter(|ip| !trusted(ip)) {
                    scope.add_ip(ip, why);
                }
                scope.saw(r.at);
            }
        }
    }
    // Follow across sources: successful sign-ins from attacker addresses compromise their
    // identity; a compromised identity's untrusted addresses after the compromise are the
    // attacker's too.
    if let Some(signins) = bundle.signins.provided() {
        for s in signins {
            if let Some(ip) = s.ip {
                if scope.has_ip(&ip) {
                    scope.saw(s.at);
                    if s.succeeded && !scope.has_identity(&s.upn) {
                        scope.add_identity(
                            &s.upn,
                            format!("signed in successfully from attacker address {ip} ({})", s.origin.cite()),
                        );
                    }
                }
            }
        }
        let start = scope.compromise_start;
        for s in signins {
            let untrusted_country = s
                .country
                .as_deref()
                .is_some_and(|c| !env.trusted_countries.is_empty() && !env.country_trusted(c));
            if let (Some(ip), Some(start)) = (s.ip, start) {
                if scope.has_identity(&s.upn) && s.at >= start && !trusted(&ip) && untrusted_country && !scope.has_ip(&ip) {
                    scope.add_ip(
                        ip,
                        format!(
                            "used by compromised {} from untrusted country {} after the compromise ({})",
                            s.upn,
                            s.country.as_deref().unwrap_or("?"),
                            s.origin.cite()
                        ),
                    );
                }
            }
        }
    }
    if let Some(events) = bundle.activity.provided() {
        if let Some(start) = scope.compromise_start {
            for e in events {
                if let (Some(caller), Some(ip)) = (&e.caller, e.caller_ip) {
                    if scope.has_identity(caller) && e.at >= start && !trusted(&ip) && !scope.has_ip(&ip) {
                        scope.add_ip(
                            ip,
                            format!(
                                "management call by compromised {caller} from an untrusted address after the compromise ({})",
                                e.origin.cite()
                            ),
                        );
                    }
                }
            }
        }
    }
    scope
}
