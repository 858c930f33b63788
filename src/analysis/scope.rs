//! Decides whether there is an attacker at all, and who and what it is: compromised
//! identities and attacker addresses. An alert is a lead, not proof: every lead (an alert's
//! entities, a risky sign-in, a risk detection) is weighed against the evidence that clears
//! it (the alert closed as benign, the detection's latest state confirmed safe, a sign-in that
//! passed multifactor authentication and Conditional Access from a managed device or from the
//! organisation's own ranges). The analyst's own decisions in the case file (`[scope]`
//! attacker and cleared lists) overrule the inference and are printed as the analyst's.
//! Every member carries its reasons for and against and a confidence; the case gets one
//! verdict (compromise confirmed, suspected, or not established) that every report opens with.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::bundle::activity::{ActivityEvent, ActivityStatus};
use crate::bundle::alerts::Alert;
use crate::bundle::signins::{CaStatus, MfaResult, SignIn};
use crate::bundle::Bundle;
use crate::case::{Case, Environment};
use crate::error::Location;
use crate::types::{Timestamp, Upn};

/// How far before the compromise failed sign-ins on a compromised identity count as the
/// attacker's attempts (password guessing or spraying usually precedes a takeover by hours to
/// days).
pub const ATTEMPT_LOOKBACK_SECONDS: i64 = 7 * 86_400;

/// How the scope was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScopeSource {
    /// The analyst's decision in the case file.
    CaseFile,
    Inferred,
}

/// How sure the analysis is that a member belongs to the attacker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Confidence {
    /// Corroborated by attacker activity in the evidence, or named by the analyst.
    Confirmed,
    /// A lead nothing clears, but nothing corroborates either.
    Suspected,
    /// A lead the evidence (or the analyst) cleared.
    Cleared,
}

impl Confidence {
    pub fn label(self) -> &'static str {
        match self {
            Confidence::Confirmed => "confirmed",
            Confidence::Suspected => "suspected",
            Confidence::Cleared => "cleared",
        }
    }
}

/// One reason for or against a lead: a claim, the records that show it, and a remark. The same
/// claim shown by several records is one reason citing them all (twelve failed sign-ins from one
/// address are one line, not twelve).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    claim: String,
    cites: Vec<String>,
    /// The cites already held: a password spray's thousands of records merge in linear time.
    seen: std::collections::HashSet<String>,
    remark: Option<String>,
}

impl Reason {
    /// A claim shown by one record.
    fn cited(claim: impl Into<String>, cite: String) -> Reason {
        Reason {
            claim: claim.into(),
            seen: std::collections::HashSet::from([cite.clone()]),
            cites: vec![cite],
            remark: None,
        }
    }
    /// A remark printed after the citation ("same user agent as …").
    fn with_remark(mut self, remark: &str) -> Reason {
        self.remark = Some(remark.to_string());
        self
    }
    fn same_claim(&self, other: &Reason) -> bool {
        self.claim == other.claim && self.remark == other.remark
    }
    fn absorb(&mut self, other: Reason) {
        for c in other.cites {
            if self.seen.insert(c.clone()) {
                self.cites.push(c);
            }
        }
    }
}

impl From<String> for Reason {
    fn from(claim: String) -> Reason {
        Reason {
            claim,
            cites: Vec::new(),
            seen: std::collections::HashSet::new(),
            remark: None,
        }
    }
}

impl From<&str> for Reason {
    fn from(claim: &str) -> Reason {
        Reason::from(claim.to_string())
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.claim)?;
        match self.cites.as_slice() {
            [] => {}
            [one] => write!(f, " ({one})")?,
            [first, .., last] if self.cites.len() > 3 => write!(
                f,
                " ({} records: {first} to {})",
                crate::types::thousands(self.cites.len() as u64),
                same_file_tail(first, last)
            )?,
            [first, rest @ ..] => {
                write!(f, " ({first}")?;
                for c in rest {
                    write!(f, ", {}", same_file_tail(first, c))?;
                }
                f.write_str(")")?;
            }
        }
        if let Some(r) = &self.remark {
            write!(f, "; {r}")?;
        }
        Ok(())
    }
}

/// Merges `why` into the reason of `list` that makes the same claim; returns it when none does.
fn merge_into(list: &mut [Reason], why: Reason) -> Option<Reason> {
    match list.iter_mut().find(|r| r.same_claim(&why)) {
        Some(same) => {
            same.absorb(why);
            None
        }
        None => Some(why),
    }
}

/// A citation's file and its place in it: `evidence/a.csv:12` → (`evidence/a.csv`, `:12`);
/// `evidence/a.json value[3]` → (`evidence/a.json`, ` value[3]`).
fn split_cite(cite: &str) -> (&str, &str) {
    match cite.find(' ').or_else(|| cite.rfind(':')) {
        Some(i) => cite.split_at(i),
        None => (cite, ""),
    }
}

/// The second citation without its file when both name the same file.
fn same_file_tail<'a>(first: &str, other: &'a str) -> &'a str {
    let ((f1, _), (f2, place)) = (split_cite(first), split_cite(other));
    if f1 == f2 && !place.is_empty() {
        place.trim_start()
    } else {
        other
    }
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An identity or address that was a lead, with the evidence for and against it.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub confidence: Confidence,
    pub decided_by: ScopeSource,
    /// Reasons it belongs to the attacker.
    #[serde(rename = "for")]
    pub reasons_for: Vec<Reason>,
    /// Reasons it does not.
    pub against: Vec<Reason>,
    /// For addresses: only failed attempts came from it.
    pub attempt_only: bool,
    /// First attacker evidence for this member; a compromised identity's records count as the
    /// attacker's only from here on.
    pub since: Option<Timestamp>,
    /// An identity's display name, where an alert gives it (a service principal's name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A reason for that corroborates the lead (attacker activity, not only an alert).
    #[serde(skip)]
    strong: bool,
}

impl Member {
    fn new() -> Member {
        Member {
            confidence: Confidence::Suspected,
            decided_by: ScopeSource::Inferred,
            reasons_for: Vec::new(),
            against: Vec::new(),
            attempt_only: false,
            since: None,
            name: None,
            strong: false,
        }
    }
    fn add_for(&mut self, why: impl Into<Reason>, strong: bool, at: Option<Timestamp>) {
        if let Some(why) = merge_into(&mut self.reasons_for, why.into()) {
            // Corroborating reasons first: the first reason is the one a summary quotes.
            let first_strong = strong && !self.strong;
            if first_strong {
                self.reasons_for.insert(0, why);
            } else {
                self.reasons_for.push(why);
            }
        }
        self.strong |= strong;
        if let Some(t) = at {
            self.since = Some(self.since.map_or(t, |s| s.min(t)));
        }
    }
    fn add_against(&mut self, why: impl Into<Reason>) {
        if let Some(why) = merge_into(&mut self.against, why.into()) {
            self.against.push(why);
        }
    }
    /// In scope: confirmed or suspected.
    pub fn in_scope(&self) -> bool {
        self.confidence != Confidence::Cleared
    }
}

/// The case's verdict: is there an attacker at all?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaseVerdict {
    CompromiseConfirmed,
    CompromiseSuspected,
    NotEstablished,
}

impl CaseVerdict {
    /// The headline every report opens with.
    pub fn headline(self) -> &'static str {
        match self {
            CaseVerdict::CompromiseConfirmed => "Compromise confirmed",
            CaseVerdict::CompromiseSuspected => "Compromise suspected",
            CaseVerdict::NotEstablished => "No compromise established",
        }
    }
}

/// What became of one alert.
#[derive(Debug, Clone, Serialize)]
pub struct AlertJudgement {
    pub at: Timestamp,
    pub name: String,
    pub severity: String,
    /// True when the alert's entities were taken as leads.
    pub lead: bool,
    /// True when the alert is not attacker activity: closed by the organisation, or every
    /// lead it raised was cleared by the evidence.
    pub cleared: bool,
    /// Why it was, or was not, a lead; and what cleared it.
    pub why: String,
    /// The identities and addresses it named.
    pub entities: Vec<String>,
    pub evidence: Location,
}

/// Attacker identities and addresses, each with its reasons, and the case verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Scope {
    pub source: ScopeSource,
    pub verdict: CaseVerdict,
    pub verdict_basis: Vec<String>,
    pub identities: BTreeMap<Upn, Member>,
    pub ips: BTreeMap<IpAddr, Member>,
    pub alerts: Vec<AlertJudgement>,
    /// Principals the attacker granted a role that are not otherwise in scope: open leads (a
    /// foothold or a persistence), not compromised accounts.
    pub footholds: Vec<Foothold>,
    /// Cleared workloads whose reads on the day of their lead far exceeded their routine: the
    /// clearance rests on the workload's owner confirming the run was planned.
    pub unusual_runs: Vec<UnusualRun>,
    /// Earliest attacker evidence (first attempt or sign-in): the start of the incident.
    pub compromise_start: Option<Timestamp>,
}

/// A cleared workload's run on the day of its lead, more than twice its largest earlier day.
#[derive(Debug, Clone, Serialize)]
pub struct UnusualRun {
    pub ip: IpAddr,
    /// The application or object ids of the workload.
    pub principals: Vec<String>,
    pub day: chrono::NaiveDate,
    pub reads: u64,
    pub bytes: crate::types::Bytes,
    /// The largest earlier day.
    pub usual_reads: u64,
    pub usual_bytes: crate::types::Bytes,
}

/// A principal a compromised identity granted a role, that the evidence never shows acting.
#[derive(Debug, Clone, Serialize)]
pub struct Foothold {
    pub principal: Upn,
    pub role: String,
    pub granted_by: Upn,
    pub at: Timestamp,
    /// "granted Owner by compromised … (record)".
    pub reason: Reason,
    pub evidence: Location,
}

impl Scope {
    /// No identity, address or alert, inferred, with `verdict`: where [`build_scope`] starts.
    pub fn empty(verdict: CaseVerdict) -> Scope {
        Scope {
            source: ScopeSource::Inferred,
            verdict,
            verdict_basis: Vec::new(),
            identities: BTreeMap::new(),
            ips: BTreeMap::new(),
            alerts: Vec::new(),
            footholds: Vec::new(),
            unusual_runs: Vec::new(),
            compromise_start: None,
        }
    }

    /// A confirmed or suspected identity.
    pub fn has_identity(&self, u: &Upn) -> bool {
        self.identities.get(u).is_some_and(Member::in_scope)
    }
    /// A confirmed or suspected address.
    pub fn has_ip(&self, ip: &IpAddr) -> bool {
        self.ips.get(ip).is_some_and(Member::in_scope)
    }
    /// A compromised identity acting at `at`: inside its compromise window.
    pub fn identity_compromised_at(&self, u: &Upn, at: Timestamp) -> bool {
        self.identities
            .get(u)
            .is_some_and(|m| m.in_scope() && m.since.or(self.compromise_start).is_none_or(|s| at >= s))
    }
    /// Identities in scope.
    pub fn identities_in_scope(&self) -> impl Iterator<Item = &Upn> {
        self.identities.iter().filter(|(_, m)| m.in_scope()).map(|(u, _)| u)
    }
    /// An identity as a reader knows it: its display name with its object id, where an alert
    /// names it ("sp-batch (object id 95ca…)"), else its UPN or id.
    pub fn label(&self, u: &Upn) -> String {
        match self.identities.get(u).and_then(|m| m.name.as_deref()) {
            Some(name) => format!("{name} (object id {u})"),
            None => u.to_string(),
        }
    }
    /// The display name of an identity, where an alert gives it.
    pub fn name_of(&self, u: &str) -> Option<&str> {
        self.identities.get(&Upn::new(u)).and_then(|m| m.name.as_deref())
    }
    /// Addresses in scope.
    pub fn ips_in_scope(&self) -> impl Iterator<Item = &IpAddr> {
        self.ips.iter().filter(|(_, m)| m.in_scope()).map(|(i, _)| i)
    }
    fn identity(&mut self, u: &Upn) -> &mut Member {
        self.identities.entry(u.clone()).or_insert_with(Member::new)
    }
    fn ip(&mut self, ip: IpAddr) -> &mut Member {
        self.ips.entry(ip).or_insert_with(Member::new)
    }
}

/// True for addresses an organisation cannot own on the internet (RFC 1918, loopback …).
pub fn is_internal(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_loopback() || v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// Why an address is the organisation's own: in its trusted ranges, or not routable.
pub fn own_address(env: &Environment, ip: &IpAddr) -> Option<&'static str> {
    if env.ip_trusted(ip) {
        Some("inside the organisation's trusted address ranges")
    } else if is_internal(ip) {
        Some("a private (internal) address")
    } else {
        None
    }
}

/// A sign-in from outside the organisation's trusted ranges and countries.
fn untrusted_location(env: &Environment, s: &SignIn) -> bool {
    let ip_untrusted = s.ip.is_some_and(|ip| own_address(env, &ip).is_none());
    let country_untrusted = s
        .country
        .as_deref()
        .is_some_and(|c| !env.trusted_countries.is_empty() && !env.country_trusted(c));
    ip_untrusted && (country_untrusted || env.trusted_countries.is_empty() || s.country.is_none())
}

/// A successful sign-in that satisfied multifactor authentication and Conditional Access.
fn strongly_authenticated(s: &SignIn) -> bool {
    let mfa = s.mfa == Some(MfaResult::Satisfied)
        || s.auth_requirement
            .as_deref()
            .is_some_and(|a| a.to_ascii_lowercase().contains("multi"));
    s.succeeded && mfa && s.conditional_access == Some(CaStatus::Success)
}

/// "from a compliant, managed device" when the sign-in says so.
fn device_words(s: &SignIn) -> &'static str {
    match (s.device_compliant, s.device_managed) {
        (Some(true), Some(true)) => " from a compliant, managed device",
        (Some(true), _) => " from a compliant device",
        (_, Some(true)) => " from a managed device",
        _ => "",
    }
}

/// Builds the scope: the analyst's decisions, then leads weighed against the evidence,
/// followed across sources, then the verdict.
pub fn build_scope(case: &Case, bundle: &Bundle) -> Scope {
    let mut scope = Scope::empty(CaseVerdict::NotEstablished);
    let env = &case.environment;
    let named = !case.scope.identities.is_empty() || !case.scope.ips.is_empty();
    if named {
        scope.source = ScopeSource::CaseFile;
        for u in &case.scope.identities {
            scope.identity(u).add_for("named by the analyst in the case file", true, None);
        }
        for ip in &case.scope.ips {
            scope.ip(*ip).add_for("named by the analyst in the case file", true, None);
        }
    }
    judge_alerts(&mut scope, bundle.alerts.provided().map(Vec::as_slice).unwrap_or(&[]), env, !named);
    if !named {
        leads_from_signins(&mut scope, bundle, env);
        leads_from_risk_detections(&mut scope, bundle, env);
    }
    weigh_signins(&mut scope, bundle, env);
    decide(&mut scope, case);
    follow_signins(&mut scope, bundle, env);
    set_compromise_start(&mut scope, bundle);
    find_attempts(&mut scope, bundle, env);
    follow_activity(&mut scope, bundle, env);
    decide(&mut scope, case);
    settle_alerts(&mut scope);
    name_identities(&mut scope, bundle.alerts.provided().map(Vec::as_slice).unwrap_or(&[]));
    scope.verdict = verdict_of(&scope);
    if scope.verdict == CaseVerdict::NotEstablished {
        scope.compromise_start = None;
    }
    scope.verdict_basis = basis_of(&scope);
    scope
}

/// The alert's triage state in words: a resolved alert whose record gives no classification
/// (benign or true positive) is still a lead, but it is not "open".
fn triage_state(a: &Alert) -> String {
    use crate::bundle::alerts::AlertStatus;
    match &a.status {
        None => "not closed".into(),
        Some(AlertStatus::New | AlertStatus::Active) => "open".into(),
        Some(AlertStatus::InProgress) => "in-progress".into(),
        Some(AlertStatus::Resolved) => "resolved, with no classification in its record".into(),
        Some(AlertStatus::Dismissed) => "dismissed".into(),
        Some(AlertStatus::Other(s)) => format!("{s}-status"),
    }
}

/// Display names of identities known only by their id, from the alerts that name them.
fn name_identities(scope: &mut Scope, alerts: &[Alert]) {
    for (id, name) in alerts.iter().flat_map(|a| &a.entities.names) {
        if let Some(m) = scope.identities.get_mut(id) {
            m.name.get_or_insert_with(|| name.clone());
        }
    }
}

/// Alerts: open, non-informational alerts make their entities leads; closed-as-benign alerts
/// count against them.
fn judge_alerts(scope: &mut Scope, alerts: &[Alert], env: &Environment, infer: bool) {
    for a in alerts {
        let cite = a.origin.cite();
        let (lead, why) = if let Some(closed) = a.cleared_as() {
            let why = Reason::cited(format!("alert \"{}\" was {closed}", a.name), cite.clone());
            for u in &a.entities.accounts {
                scope.identity(u).add_against(why.clone());
            }
            for ip in &a.entities.ips {
                scope.ip(*ip).add_against(why.clone());
            }
            (false, format!("closed by the organisation: {closed}"))
        } else if a.severity.eq_ignore_ascii_case("informational") {
            (false, "informational: not a lead".to_string())
        } else if !infer {
            (false, "the analyst named the attacker in the case file".to_string())
        } else {
            let state = triage_state(a);
            let why = Reason::cited(format!("named by {} alert \"{}\" ({state})", a.severity, a.name), cite.clone());
            let strong = a.true_positive();
            for u in &a.entities.accounts {
                scope.identity(u).add_for(why.clone(), strong, Some(a.at));
            }
            for ip in &a.entities.ips {
                match own_address(env, ip) {
                    Some(own) => scope.ip(*ip).add_against(format!("{ip} is {own}")),
                    None => scope.ip(*ip).add_for(why.clone(), strong, Some(a.at)),
                }
            }
            let lead = !a.entities.accounts.is_empty() || !a.entities.ips.is_empty();
            (
                lead,
                if lead {
                    format!("{state}: its entities are leads")
                } else {
                    format!("{state}, but names no account or address")
                },
            )
        };
        let entities = a
            .entities
            .accounts
            .iter()
            .map(|u| u.to_string())
            .chain(a.entities.ips.iter().map(|i| i.to_string()))
            .collect();
        scope.alerts.push(AlertJudgement {
            // When it was raised, as every other alert time in the reports.
            at: a.raised_at(),
            name: a.name.clone(),
            severity: a.severity.clone(),
            cleared: !lead,
            lead,
            why,
            entities,
            evidence: a.origin.clone(),
        });
    }
}

/// Risky sign-ins (medium or high, still open) are leads on the identity and the address. Like
/// ones (one identity, risk and state) are one reason citing all their records.
fn leads_from_signins(scope: &mut Scope, bundle: &Bundle, env: &Environment) {
    let Some(signins) = bundle.signins.provided() else { return };
    for s in signins.iter().filter(|s| s.risky()) {
        let why = Reason::cited(
            format!(
                "{} sign-in risk, state {}",
                s.risk_during.as_deref().or(s.risk_aggregated.as_deref()).unwrap_or("elevated"),
                s.risk_state.as_deref().unwrap_or("unknown"),
            ),
            s.origin.cite(),
        );
        scope.identity(&s.upn).add_for(why.clone(), false, Some(s.at));
        if let Some(ip) = s.ip {
            match own_address(env, &ip) {
                Some(own) => scope.ip(ip).add_against(format!("{ip} is {own}")),
                None => scope.ip(ip).add_for(why, false, Some(s.at)),
            }
        }
    }
}

/// Risk detections: the latest state of each detection decides whether it is a lead.
fn leads_from_risk_detections(scope: &mut Scope, bundle: &Bundle, env: &Environment) {
    let Some(risks) = bundle.risk_events.provided() else { return };
    for r in risks {
        let cite = r.origin.cite();
        if r.open_and_serious() {
            let why = Reason::cited(format!("risk detection {}", r.risk_type), cite.clone());
            scope.identity(&r.upn).add_for(why.clone(), false, Some(r.at));
            if let Some(ip) = r.ip {
                match own_address(env, &ip) {
                    Some(own) => scope.ip(ip).add_against(format!("{ip} is {own}")),
                    None => scope.ip(ip).add_for(why, false, Some(r.at)),
                }
            }
        } else if let Some(state) = r.state.as_ref().filter(|s| s.is_closed()) {
            let why = Reason::cited(
                format!("risk detection {} was later marked {}", r.risk_type, state.label()),
                cite.clone(),
            );
            scope.identity(&r.upn).add_against(why.clone());
            if let Some(ip) = r.ip {
                scope.ip(ip).add_against(why);
            }
        }
    }
}

/// Weighs each identity lead against its sign-ins: takeover-like sign-ins corroborate it,
/// sign-ins that passed MFA and Conditional Access or came from the organisation's own
/// ranges count against it.
fn weigh_signins(scope: &mut Scope, bundle: &Bundle, env: &Environment) {
    let Some(signins) = bundle.signins.provided() else { return };
    let leads: Vec<Upn> = scope.identities.keys().cloned().collect();
    for u in leads {
        let theirs: Vec<&SignIn> = signins.iter().filter(|s| s.upn == u).collect();
        let flagged: Vec<&&SignIn> = theirs
            .iter()
            .filter(|s| s.risky() || s.ip.is_some_and(|ip| scope.ips.get(&ip).is_some_and(|m| !m.reasons_for.is_empty())))
            .collect();
        for s in &flagged {
            let cite = s.origin.cite();
            let ip = s.ip.map(|i| i.to_string()).unwrap_or_else(|| "an unrecorded address".into());
            if s.succeeded && untrusted_location(env, s) && !strongly_authenticated(s) {
                let how = match (s.single_factor(), s.conditional_access) {
                    (true, Some(CaStatus::NotApplied)) => "single-factor, no Conditional Access policy applied",
                    (true, _) => "single-factor",
                    (false, Some(CaStatus::NotApplied)) => "no Conditional Access policy applied",
                    _ => "without multifactor authentication recorded",
                };
                let why = format!("successful {how} sign-in from untrusted {ip}");
                scope
                    .identity(&u)
                    .add_for(Reason::cited(why.clone(), cite.clone()), true, Some(s.at));
                if let Some(addr) = s.ip {
                    scope
                        .ip(addr)
                        .add_for(Reason::cited(format!("{why} by {u}"), cite.clone()), true, Some(s.at));
                }
            } else if strongly_authenticated(s) {
                let from = match s.ip.and_then(|i| own_address(env, &i)) {
                    Some(own) => format!(" from {ip}, {own}"),
                    None => format!(" from {ip}"),
                };
                scope.identity(&u).add_against(Reason::cited(
                    format!(
                        "the flagged sign-in passed multifactor authentication and Conditional Access{}{from}",
                        device_words(s)
                    ),
                    cite.clone(),
                ));
            } else if s.succeeded && s.ip.is_some_and(|i| own_address(env, &i).is_some()) {
                scope.identity(&u).add_against(Reason::cited(
                    format!("the flagged sign-in came from {ip}, an address of the organisation"),
                    cite.clone(),
                ));
            }
        }
    }
}

/// Confidence from the reasons, unless the analyst decided.
fn decide(scope: &mut Scope, case: &Case) {
    for (u, m) in scope.identities.iter_mut() {
        m.confidence = if case.scope.cleared_identities.contains(u) {
            m.decided_by = ScopeSource::CaseFile;
            m.add_against("cleared by the analyst in the case file");
            Confidence::Cleared
        } else if case.scope.identities.contains(u) {
            m.decided_by = ScopeSource::CaseFile;
            Confidence::Confirmed
        } else {
            weigh(m)
        };
    }
    for (ip, m) in scope.ips.iter_mut() {
        m.confidence = if case.scope.cleared_ips.contains(ip) {
            m.decided_by = ScopeSource::CaseFile;
            m.add_against("cleared by the analyst in the case file");
            Confidence::Cleared
        } else if case.scope.ips.contains(ip) {
            m.decided_by = ScopeSource::CaseFile;
            Confidence::Confirmed
        } else {
            weigh(m)
        };
    }
}

/// Corroborated leads are confirmed; leads with evidence against and no corroboration are
/// cleared; the rest stay suspected.
fn weigh(m: &Member) -> Confidence {
    if m.strong {
        Confidence::Confirmed
    } else if m.reasons_for.is_empty() || !m.against.is_empty() {
        Confidence::Cleared
    } else {
        Confidence::Suspected
    }
}

/// Successful sign-ins from attacker addresses compromise their identity; a compromised
/// identity's untrusted addresses after the compromise are the attacker's too.
fn follow_signins(scope: &mut Scope, bundle: &Bundle, env: &Environment) {
    let Some(signins) = bundle.signins.provided() else { return };
    for s in signins.iter().filter(|s| s.succeeded) {
        let Some(ip) = s.ip else { continue };
        let Some(m) = scope.ips.get(&ip).filter(|m| m.in_scope()) else {
            continue;
        };
        let (strong, conf) = (m.strong, m.confidence);
        if scope
            .identities
            .get(&s.upn)
            .is_none_or(|m| !m.in_scope() && m.decided_by == ScopeSource::Inferred)
        {
            let member = scope.identity(&s.upn);
            member.add_for(
                Reason::cited(format!("signed in successfully from attacker address {ip}"), s.origin.cite()),
                strong,
                Some(s.at),
            );
            member.confidence = conf;
        }
    }
    for s in signins {
        let (Some(ip), true) = (s.ip, untrusted_location(env, s)) else {
            continue;
        };
        let Some(m) = scope.identities.get(&s.upn).filter(|m| m.in_scope()) else {
            continue;
        };
        let (strong, conf, since) = (m.strong, m.confidence, m.since);
        if since.is_some_and(|t| s.at >= t)
            && s.succeeded
            && !scope.has_ip(&ip)
            && !scope.ips.get(&ip).is_some_and(|m| m.decided_by == ScopeSource::CaseFile)
        {
            let member = scope.ip(ip);
            member.add_for(
                Reason::cited(
                    format!(
                        "used by compromised {} from untrusted {} after the compromise",
                        s.upn,
                        s.country.as_deref().unwrap_or("location"),
                    ),
                    s.origin.cite(),
                ),
                strong,
                Some(s.at),
            );
            member.confidence = conf;
        }
    }
}

/// The incident starts at the earliest attacker evidence of any member in scope.
fn set_compromise_start(scope: &mut Scope, bundle: &Bundle) {
    let mut start = scope
        .identities
        .values()
        .chain(scope.ips.values())
        .filter(|m| m.in_scope())
        .filter_map(|m| m.since)
        .min();
    if let Some(signins) = bundle.signins.provided() {
        for s in signins.iter().filter(|s| s.ip.is_some_and(|ip| scope.has_ip(&ip))) {
            start = Some(start.map_or(s.at, |t| t.min(s.at)));
        }
    }
    scope.compromise_start = start;
}

/// Failed sign-ins on a compromised identity in the days before its compromise, from
/// untrusted locations, are the attacker's attempts; their addresses join the scope as
/// "attempt only" unless they were already in it.
fn find_attempts(scope: &mut Scope, bundle: &Bundle, env: &Environment) {
    let (Some(signins), Some(start)) = (bundle.signins.provided(), scope.compromise_start) else {
        return;
    };
    let attacker_agents: Vec<&str> = signins
        .iter()
        .filter(|s| s.ip.is_some_and(|ip| scope.has_ip(&ip)) && s.at >= start)
        .filter_map(|s| s.user_agent.as_deref())
        .collect();
    let mut earliest = start;
    for s in signins.iter().filter(|s| !s.succeeded && s.at < start) {
        if start.0.signed_duration_since(s.at.0).num_seconds() > ATTEMPT_LOOKBACK_SECONDS
            || !scope.has_identity(&s.upn)
            || !untrusted_location(env, s)
        {
            continue;
        }
        let Some(ip) = s.ip else { continue };
        let mut why = Reason::cited(
            format!("failed sign-in on compromised {} from untrusted {ip} before the compromise", s.upn),
            s.origin.cite(),
        );
        if s.user_agent.as_deref().is_some_and(|ua| attacker_agents.contains(&ua)) {
            why = why.with_remark("same user agent as the attacker's later sign-ins");
        }
        let known = scope.has_ip(&ip);
        let m = scope.ip(ip);
        m.add_for(why, true, Some(s.at));
        if !known {
            m.attempt_only = true;
            m.confidence = Confidence::Confirmed;
        }
        earliest = earliest.min(s.at);
        if let Some(id) = scope.identities.get_mut(&s.upn) {
            id.since = Some(id.since.map_or(s.at, |t| t.min(s.at)));
        }
    }
    scope.compromise_start = Some(earliest);
    // An address that also succeeded is not "attempt only".
    for s in signins.iter().filter(|s| s.succeeded) {
        if let Some(m) = s.ip.and_then(|ip| scope.ips.get_mut(&ip)) {
            m.attempt_only = false;
        }
    }
}

/// A compromised identity's management calls from untrusted addresses after the compromise
/// come from the attacker's addresses; every event of an operation counts (its Started and
/// Succeeded rows can carry different addresses). Events are taken in time order, whatever
/// the file's order: identities that act from attacker addresses join first, then the
/// addresses of their calls.
fn follow_activity(scope: &mut Scope, bundle: &Bundle, env: &Environment) {
    let Some(events) = bundle.activity.provided() else { return };
    let mut events: Vec<&ActivityEvent> = events.iter().collect();
    events.sort_by_key(|e| e.at);
    join_identities_acting_from_attacker_addresses(scope, &events);
    weigh_grantees_of_attacker_roles(scope, &events);
    // Operations with an event from an attacker address: their other events are the
    // attacker's too, even a Started row seconds before the identity is known compromised.
    let attacker_operations: std::collections::BTreeSet<&str> = events
        .iter()
        .filter(|e| e.caller_ip.is_some_and(|ip| scope.has_ip(&ip)))
        .filter_map(|e| e.correlation_id.as_deref())
        .collect();
    for e in events {
        let (Some(caller), Some(ip)) = (&e.caller, e.caller_ip) else {
            continue;
        };
        let same_operation = e.correlation_id.as_deref().is_some_and(|c| attacker_operations.contains(c));
        let acting = scope.has_identity(caller) && (same_operation || scope.identity_compromised_at(caller, e.at));
        if !acting || own_address(env, &ip).is_some() || scope.has_ip(&ip) {
            continue;
        }
        if scope.ips.get(&ip).is_some_and(|m| m.decided_by == ScopeSource::CaseFile) {
            continue;
        }
        let conf = scope.identities.get(caller).map_or(Confidence::Suspected, |m| m.confidence);
        let m = scope.ip(ip);
        m.add_for(
            Reason::cited(
                format!("management call by compromised {caller} from an untrusted address after the compromise"),
                e.origin.cite(),
            ),
            conf == Confidence::Confirmed,
            Some(e.at),
        );
        m.confidence = conf;
    }
}

/// A principal the attacker granted a role is a lead: a foothold it may hold credentials for, or
/// a persistence it left behind. The grant alone does not make it a compromised account (the
/// attacker may have empowered an identity it does not control): one already in scope gets the
/// grant as a further reason; any other is kept as an open foothold for the responders.
fn weigh_grantees_of_attacker_roles(scope: &mut Scope, events: &[&ActivityEvent]) {
    for e in events {
        let (Some(caller), Some(grantee)) = (&e.caller, e.details.principal_id.as_deref()) else {
            continue;
        };
        let granted = e.operation.ends_with("/roleassignments/write") && e.status == ActivityStatus::Succeeded;
        if !granted || !scope.identity_compromised_at(caller, e.at) {
            continue;
        }
        let grantee = Upn::new(grantee);
        if grantee == *caller
            || scope
                .identities
                .get(&grantee)
                .is_some_and(|m| m.decided_by == ScopeSource::CaseFile)
        {
            continue;
        }
        let role = e
            .details
            .role_definition
            .as_deref()
            .map(super::steps::role_name)
            .unwrap_or_else(|| "a role".into());
        let reason = Reason::cited(format!("granted {role} by compromised {caller}"), e.origin.cite());
        if scope.has_identity(&grantee) {
            scope.identity(&grantee).add_for(reason, false, Some(e.at));
        } else if !scope.footholds.iter().any(|f| f.principal == grantee) {
            scope.footholds.push(Foothold {
                principal: grantee,
                role,
                granted_by: caller.clone(),
                at: e.at,
                reason,
                evidence: e.origin.clone(),
            });
        }
    }
}

/// Another identity acting from an attacker address is in the attacker's hands too (a
/// principal the attacker granted a role, or whose credentials it holds).
fn join_identities_acting_from_attacker_addresses(scope: &mut Scope, events: &[&ActivityEvent]) {
    for e in events {
        let (Some(caller), Some(ip)) = (&e.caller, e.caller_ip) else {
            continue;
        };
        if !scope.has_ip(&ip)
            || scope.has_identity(caller)
            || scope.identities.get(caller).is_some_and(|m| m.decided_by == ScopeSource::CaseFile)
        {
            continue;
        }
        let (strong, conf) = scope
            .ips
            .get(&ip)
            .map_or((false, Confidence::Suspected), |m| (m.strong, m.confidence));
        let m = scope.identity(caller);
        m.add_for(
            Reason::cited(format!("called the management API from attacker address {ip}"), e.origin.cite()),
            strong,
            Some(e.at),
        );
        m.confidence = conf;
    }
}

/// Distinct earlier days on which an address must have made the same non-personal requests
/// for its activity to count as the organisation's own routine (a nightly job).
pub const ROUTINE_MIN_DAYS: usize = 3;

/// What the storage logs show about one suspected address before it became a lead.
#[derive(Debug, Clone, Default)]
pub struct AddressHistory {
    /// The lead's time: only requests on earlier days count as history.
    pub lead_at: Option<Timestamp>,
    pub days: std::collections::BTreeSet<chrono::NaiveDate>,
    /// Non-personal principals (application or object ids) that made the requests.
    pub principals: std::collections::BTreeSet<String>,
    /// Requests made by a person (a UPN) or without a principal.
    pub personal_or_unnamed: u64,
    pub auth: std::collections::BTreeSet<String>,
    /// Successful blob reads per day, earlier days and the lead's own day alike, so a
    /// clearance can compare the lead's day with the routine it rests on.
    pub reads: BTreeMap<chrono::NaiveDate, DayReads>,
}

/// Successful blob reads (GetBlob 200/206) of one address on one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayReads {
    pub requests: u64,
    pub bytes: crate::types::Bytes,
}

impl AddressHistory {
    /// The lead day's reads against the earlier days' range, in words, with the run when it is
    /// more than twice the largest earlier day; none when the lead day has no reads.
    fn volume_comparison(&self, ip: IpAddr) -> Option<(String, Option<UnusualRun>)> {
        let lead_day = self.lead_at?.0.date_naive();
        let on_lead = self.reads.get(&lead_day)?;
        let earlier: Vec<&DayReads> = self.reads.range(..lead_day).map(|(_, r)| r).collect();
        let (min, max) = earlier
            .iter()
            .fold((u64::MAX, 0), |(lo, hi), r| (lo.min(r.requests), hi.max(r.requests)));
        let max_bytes = earlier.iter().map(|r| r.bytes).max().unwrap_or_default();
        let day = format!(
            "on {lead_day}, the day of the lead, it made {} successful blob read{} ({})",
            on_lead.requests,
            if on_lead.requests == 1 { "" } else { "s" },
            on_lead.bytes
        );
        let unusual = on_lead.requests > max.saturating_mul(2) || on_lead.bytes.0 > max_bytes.0.saturating_mul(2);
        let run = unusual.then(|| UnusualRun {
            ip,
            principals: self.principals.iter().cloned().collect(),
            day: lead_day,
            reads: on_lead.requests,
            bytes: on_lead.bytes,
            usual_reads: max,
            usual_bytes: max_bytes,
        });
        let text = if earlier.is_empty() {
            format!("{day}; it read no blobs on the earlier days, so the volume has no routine to compare with; confirm with the workload's owner that the run was planned")
        } else {
            let range = if min == max { min.to_string() } else { format!("{min}–{max}") };
            let usual = format!(
                "against {range} a day (at most {max_bytes}) on the {} earlier day{} it read blobs",
                earlier.len(),
                if earlier.len() == 1 { "" } else { "s" }
            );
            if unusual {
                format!("{day}, {usual}: the principal and the pattern are routine, the volume is not; confirm with the workload's owner that a run of this size was planned")
            } else {
                format!("{day}, {usual}: within its usual volume")
            }
        };
        Some((text, run))
    }
}

impl Scope {
    /// Suspected addresses (leads nothing corroborates) whose storage history could clear
    /// them, with the time they became leads.
    pub fn history_targets(&self) -> BTreeMap<IpAddr, AddressHistory> {
        self.ips
            .iter()
            .filter(|(_, m)| m.confidence == Confidence::Suspected && m.decided_by == ScopeSource::Inferred)
            .map(|(ip, m)| {
                (
                    *ip,
                    AddressHistory {
                        lead_at: m.since,
                        ..AddressHistory::default()
                    },
                )
            })
            .collect()
    }
}

/// Adds storage requests (one request or a summary row, whose requests fall on one day) to
/// the history of a suspected address.
pub fn record_history(h: &mut BTreeMap<IpAddr, AddressHistory>, r: &super::exposure::RequestGroup) {
    let Some(entry) = r.caller_ip.and_then(|ip| h.get_mut(&ip)) else {
        return;
    };
    let Some(lead) = entry.lead_at else { return };
    let day = r.first.0.date_naive();
    if r.operation.eq_ignore_ascii_case("GetBlob") && matches!(r.status_code, 200 | 206) && day <= lead.0.date_naive() {
        let reads = entry.reads.entry(day).or_default();
        reads.requests += r.requests;
        reads.bytes = reads.bytes.saturating_add(r.bytes);
    }
    if day >= lead.0.date_naive() {
        return;
    }
    entry.days.insert(r.first.0.date_naive());
    match (&r.requester_upn, &r.requester_app) {
        (None, Some(app)) => {
            entry.principals.insert(app.to_string());
        }
        _ => entry.personal_or_unnamed += r.requests,
    }
    entry.auth.insert(r.auth.name());
}

/// Clears suspected addresses whose requests are the organisation's own routine: the same
/// non-personal principal (the requests' application id) on at least [`ROUTINE_MIN_DAYS`]
/// earlier days; then decides again.
pub fn apply_history(scope: &mut Scope, case: &Case, history: &BTreeMap<IpAddr, AddressHistory>) {
    for (ip, h) in history {
        if h.days.len() >= ROUTINE_MIN_DAYS && h.personal_or_unnamed == 0 && !h.principals.is_empty() && h.principals.len() <= 2 {
            if let Some(m) = scope.ips.get_mut(ip) {
                let (volume, run) = h.volume_comparison(*ip).unzip();
                scope.unusual_runs.extend(run.flatten());
                let volume = volume.map(|v| format!("; {v}")).unwrap_or_default();
                m.add_against(format!(
                    "{ip} is the organisation's own workload: the application (app id) {} made the same requests ({}) from it on {} earlier days, from {} to {}{volume}",
                    h.principals.iter().cloned().collect::<Vec<_>>().join(", "),
                    h.auth.iter().cloned().collect::<Vec<_>>().join(", "),
                    h.days.len(),
                    h.days.first().map(|d| d.to_string()).unwrap_or_default(),
                    h.days.last().map(|d| d.to_string()).unwrap_or_default()
                ));
            }
        }
    }
    decide(scope, case);
    settle_alerts(scope);
    scope.verdict = verdict_of(scope);
    if scope.verdict == CaseVerdict::NotEstablished {
        scope.compromise_start = None;
    }
    scope.verdict_basis = basis_of(scope);
}

fn verdict_of(scope: &Scope) -> CaseVerdict {
    let members = || scope.identities.values().chain(scope.ips.values());
    if members().any(|m| m.confidence == Confidence::Confirmed) {
        CaseVerdict::CompromiseConfirmed
    } else if members().any(|m| m.confidence == Confidence::Suspected) {
        CaseVerdict::CompromiseSuspected
    } else {
        CaseVerdict::NotEstablished
    }
}

/// Marks lead alerts whose every lead was cleared, with the reason that cleared the first.
fn settle_alerts(scope: &mut Scope) {
    let member = |e: &str| -> Option<&Member> {
        e.parse::<IpAddr>()
            .ok()
            .and_then(|ip| scope.ips.get(&ip))
            .or_else(|| scope.identities.get(&Upn::new(e)))
    };
    let settled: Vec<(bool, String)> = scope
        .alerts
        .iter()
        .map(|a| {
            if !a.lead {
                return (true, a.why.clone());
            }
            let members: Vec<&Member> = a
                .entities
                .iter()
                .filter_map(|e| member(e))
                .filter(|m| !m.reasons_for.is_empty())
                .collect();
            if !members.is_empty() && members.iter().all(|m| !m.in_scope()) {
                let why = members
                    .iter()
                    .find_map(|m| m.against.first())
                    .map(|r| r.to_string())
                    .unwrap_or_default();
                (true, format!("its leads were cleared: {why}"))
            } else {
                (false, a.why.clone())
            }
        })
        .collect();
    for (a, (cleared, why)) in scope.alerts.iter_mut().zip(settled) {
        a.cleared = cleared;
        a.why = why;
    }
}

/// The alerts' tally in plain words; each alert's own reason is listed with it.
fn alerts_in_words(n: usize, open: usize, cleared: usize) -> String {
    let alerts = crate::types::counted(n as u64, "alert", "alerts");
    match (open, cleared) {
        (0, _) if n == 1 => format!("{alerts}: it does not point to attacker activity (the reason is given with it)"),
        (0, _) => format!("{alerts}: none points to attacker activity (each one's reason is given with it)"),
        (_, 0) if n == 1 => format!("{alerts}: it points to attacker activity"),
        (_, 0) => format!("{alerts}: all point to attacker activity"),
        _ => format!(
            "{alerts}: {open} {} to attacker activity, {cleared} {} not (each one's reason is given with it)",
            if open == 1 { "points" } else { "point" },
            if cleared == 1 { "does" } else { "do" }
        ),
    }
}

fn basis_of(scope: &Scope) -> Vec<String> {
    let mut basis = Vec::new();
    let members = scope
        .identities
        .iter()
        .map(|(u, m)| (scope.label(u), m, 2))
        .chain(scope.ips.iter().map(|(i, m)| (i.to_string(), m, 1)));
    for (who, m, grounds) in members {
        // An identity's clearance states its two first grounds (a later "safe" mark alone is
        // a triager's word; the sign-in's own MFA and Conditional Access result is evidence);
        // an address's first ground is its own (the rest repeat its identity's).
        let why: Vec<String> = match m.confidence {
            Confidence::Cleared => m.against.iter().take(grounds).map(|r| r.to_string()).collect(),
            _ => m.reasons_for.iter().take(1).map(|r| r.to_string()).collect(),
        };
        basis.push(format!(
            "{who}: {}{}",
            m.confidence.label(),
            if why.is_empty() {
                String::new()
            } else {
                format!(" — {}", why.join("; "))
            }
        ));
    }
    let open = scope.alerts.iter().filter(|a| !a.cleared).count();
    let cleared = scope.alerts.len() - open;
    if !scope.alerts.is_empty() {
        basis.push(alerts_in_words(scope.alerts.len(), open, cleared));
    }
    if scope.identities.is_empty() && scope.ips.is_empty() {
        basis.push("no alert, risky sign-in or risk detection points to an attacker, and the analyst named none".into());
    }
    basis
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(strong: bool, reasons_for: usize, against: usize) -> Member {
        let mut m = Member::new();
        for i in 0..reasons_for {
            m.add_for(format!("for {i}"), strong, None);
        }
        for i in 0..against {
            m.add_against(format!("against {i}"));
        }
        m
    }

    #[test]
    fn one_claim_from_many_records_is_one_reason() {
        let mut m = Member::new();
        for row in 5..=14 {
            m.add_for(
                Reason::cited("failed sign-in", format!("evidence/s.json value[{row}]")).with_remark("same agent"),
                true,
                None,
            );
        }
        m.add_for(Reason::cited("risk high", "evidence/s.csv:124".into()), false, None);
        m.add_for(Reason::cited("risk high", "evidence/s.csv:144".into()), false, None);
        m.add_for(Reason::cited("risk high", "evidence/t.csv:2".into()), false, None);
        let text: Vec<String> = m.reasons_for.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            text,
            [
                "failed sign-in (10 records: evidence/s.json value[5] to value[14]); same agent",
                "risk high (evidence/s.csv:124, :144, evidence/t.csv:2)",
            ]
        );
    }

    fn history(lead_day: u32, days: &[(u32, u64, u64)]) -> AddressHistory {
        let date = |d: u32| chrono::NaiveDate::from_ymd_opt(2025, 10, d).unwrap();
        AddressHistory {
            lead_at: Some(Timestamp(date(lead_day).and_hms_opt(1, 0, 0).unwrap().and_utc())),
            reads: days
                .iter()
                .map(|(d, requests, bytes)| {
                    (
                        date(*d),
                        DayReads {
                            requests: *requests,
                            bytes: crate::types::Bytes(*bytes),
                        },
                    )
                })
                .collect(),
            ..AddressHistory::default()
        }
    }

    #[test]
    fn a_cleared_workload_states_its_volume_against_its_routine() {
        let big = history(13, &[(11, 30, 400_000_000), (12, 46, 600_000_000), (13, 420, 5_450_000_000)]);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let (text, run) = big.volume_comparison(ip).unwrap();
        let run = run.expect("an unusual run");
        assert_eq!((run.reads, run.usual_reads), (420, 46));
        assert!(text.contains("420 successful blob reads (5.45 GB)"), "{text}");
        assert!(
            text.contains("against 30–46 a day (at most 600 MB) on the 2 earlier days"),
            "{text}"
        );
        assert!(text.contains("the volume is not"), "{text}");
        let usual = history(13, &[(11, 30, 400_000_000), (12, 46, 600_000_000), (13, 40, 500_000_000)]);
        let (text, run) = usual.volume_comparison(ip).unwrap();
        assert!(text.ends_with("within its usual volume") && run.is_none(), "{text}");
        assert!(
            history(13, &[(11, 30, 1)]).volume_comparison(ip).is_none(),
            "no reads on the lead's day"
        );
    }

    #[test]
    fn a_lead_is_weighed_not_trusted() {
        assert_eq!(weigh(&member(true, 1, 1)), Confidence::Confirmed);
        assert_eq!(weigh(&member(false, 1, 0)), Confidence::Suspected);
        assert_eq!(weigh(&member(false, 1, 1)), Confidence::Cleared);
        assert_eq!(weigh(&member(false, 0, 1)), Confidence::Cleared);
    }
}
