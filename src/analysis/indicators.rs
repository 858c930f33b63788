//! Indicators of compromise: the attacker's addresses with first and last seen and their role
//! (sign-in, attempt only, management calls, data access), and the user agents the attacker's
//! sign-ins carried. Built from the scope and the steps only; cleared leads are not
//! indicators.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use super::scope::Scope;
use super::steps::{Outcome, Phase, Step};
use crate::bundle::signins::SignIn;
use crate::types::Timestamp;

/// One attacker address.
#[derive(Debug, Clone, Serialize)]
pub struct AddressIoc {
    pub ip: IpAddr,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    /// What the address was used for ("sign-in; management; data access" or "attempt only").
    pub role: String,
    pub steps: Vec<String>,
    pub confidence: String,
}

/// One user agent the attacker's sign-ins carried.
#[derive(Debug, Clone, Serialize)]
pub struct AgentIoc {
    pub user_agent: String,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub sign_ins: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Iocs {
    pub addresses: Vec<AddressIoc>,
    pub user_agents: Vec<AgentIoc>,
}

pub fn build_iocs(scope: &Scope, steps: &[Step], signins: Option<&[SignIn]>) -> Iocs {
    let mut addresses = Vec::new();
    for (ip, m) in scope.ips.iter().filter(|(_, m)| m.in_scope()) {
        let mine: Vec<&Step> = steps.iter().filter(|s| s.ip == Some(*ip)).collect();
        let mut roles: Vec<&str> = Vec::new();
        let mut add = |r: &'static str| {
            if !roles.contains(&r) {
                roles.push(r);
            }
        };
        for s in &mine {
            match (s.phase, s.outcome) {
                (Phase::Identity, Outcome::Succeeded) => add("sign-in"),
                (Phase::Identity, _) => add("failed sign-in attempts"),
                (Phase::Arm, _) => add("management calls"),
                (Phase::Storage, _) => add("data access"),
                (Phase::Alert, _) => {}
            }
        }
        let role = if m.attempt_only || (!mine.is_empty() && mine.iter().all(|s| s.attempt)) {
            "attempt only".to_string()
        } else if roles.is_empty() {
            "named in alerts or risk detections; no activity in the evidence".to_string()
        } else {
            roles.join("; ")
        };
        addresses.push(AddressIoc {
            ip: *ip,
            first_seen: mine.iter().map(|s| s.at).min().or(m.since),
            last_seen: mine.iter().map(|s| s.end.unwrap_or(s.at)).max(),
            role,
            steps: mine.iter().map(|s| s.id.clone()).collect(),
            confidence: m.confidence.label().to_string(),
        });
    }
    let mut agents: BTreeMap<String, AgentIoc> = BTreeMap::new();
    for s in signins.unwrap_or(&[]) {
        let attacker = steps
            .iter()
            .any(|st| st.phase == Phase::Identity && st.evidence.first() == Some(&s.origin));
        let Some(ua) = s.user_agent.as_deref().filter(|u| attacker && !u.is_empty()) else {
            continue;
        };
        let e = agents.entry(ua.to_string()).or_insert(AgentIoc {
            user_agent: ua.to_string(),
            first_seen: s.at,
            last_seen: s.at,
            sign_ins: 0,
        });
        e.first_seen = e.first_seen.min(s.at);
        e.last_seen = e.last_seen.max(s.at);
        e.sign_ins += 1;
    }
    Iocs {
        addresses,
        user_agents: agents.into_values().collect(),
    }
}
