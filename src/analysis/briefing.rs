//! What an executive needs at the top of the report, derived from the rest of the analysis:
//! the incident's severity with its basis, the time from the first alert to the first
//! containment action, and the decisions asked of management, each with an owner and a due
//! date. Owners come from `[[owners]]` in the case file; without one the role is printed.

use serde::Serialize;

use super::exposure::Exposure;
use super::gdpr::GdprAssessment;
use super::ranking::Ranked;
use super::response::{ActionStatus, Response};
use super::steps::{Outcome, Phase, Step};
use crate::case::{Case, GdprRegime};
use crate::posture::catalog::OwnerRole;
use crate::types::{thousands, Timestamp};

/// Incident severity (a closed set, highest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IncidentSeverity {
    Critical,
    High,
    Medium,
    Low,
    None,
}

impl IncidentSeverity {
    pub fn label(self) -> &'static str {
        match self {
            IncidentSeverity::Critical => "Critical",
            IncidentSeverity::High => "High",
            IncidentSeverity::Medium => "Medium",
            IncidentSeverity::Low => "Low",
            IncidentSeverity::None => "No incident established",
        }
    }
}

/// A decision management is asked to take.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub decision: String,
    pub owner_role: OwnerRole,
    /// The named owner, or the role in words.
    pub owner: String,
    pub due: Option<Timestamp>,
    /// `due` as the reports state it: UTC, with the case's zone beside it.
    pub due_text: Option<String>,
    /// How the due date was set ("legal deadline", "proposed").
    pub due_basis: String,
}

/// From the first alert to the first containment action.
#[derive(Debug, Clone, Serialize)]
pub struct ResponseTime {
    pub first_alert: Option<Timestamp>,
    pub first_containment: Option<Timestamp>,
    /// The two times of day as the reports state them: UTC, with the case's zone beside it.
    pub first_alert_text: Option<String>,
    pub first_containment_text: Option<String>,
    pub first_containment_action: Option<String>,
    pub seconds: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Briefing {
    pub severity: IncidentSeverity,
    pub severity_label: &'static str,
    /// Why: each part a plain sentence.
    pub severity_basis: Vec<String>,
    pub time_to_respond: ResponseTime,
    pub decisions: Vec<Decision>,
}

/// What the briefing is built from.
pub struct BriefingInput<'a> {
    pub case: &'a Case,
    pub steps: &'a [Step],
    pub exposure: Option<&'a Exposure>,
    pub gdpr: Option<&'a GdprAssessment>,
    pub response: &'a Response,
    pub ranking: &'a [Ranked],
    pub first_alert: Option<Timestamp>,
    /// Cleared workloads whose run on their lead's day was unusually large.
    pub unusual_runs: &'a [super::scope::UnusualRun],
}

fn owner(case: &Case, role: OwnerRole) -> String {
    case.owners
        .iter()
        .find(|o| o.role == role)
        .map(|o| o.name.clone())
        .unwrap_or_else(|| role.label().to_string())
}

/// Where the attacker's successful management-plane changes landed: " in resource group a",
/// " in resource groups a, b", " at subscription level"; empty when no record names it.
fn where_changed(steps: &[Step]) -> String {
    let mut groups: Vec<String> = Vec::new();
    let mut subscription = false;
    for s in steps.iter().filter(|s| s.phase == Phase::Arm && s.outcome == Outcome::Succeeded) {
        match s.resource.as_ref().map(|r| (r.segment_after("resourceGroups"), r)) {
            Some((Some(rg), _)) if !groups.iter().any(|g| g.eq_ignore_ascii_case(rg)) => groups.push(rg.to_string()),
            Some((None, r)) if r.segment_after("subscriptions").is_some() => subscription = true,
            _ => {}
        }
    }
    let rg = match groups.len() {
        0 => String::new(),
        1 => format!(" in resource group {}", groups[0]),
        n => format!(" in resource groups {} and {}", groups[..n - 1].join(", "), groups[n - 1]),
    };
    match (rg.is_empty(), subscription) {
        (true, true) => " at subscription level".into(),
        (false, true) => format!("{rg}, and at subscription level"),
        _ => rg,
    }
}

fn severity(i: &BriefingInput) -> (IncidentSeverity, Vec<String>) {
    let ok = |p: Phase| i.steps.iter().any(|s| s.phase == p && s.outcome == Outcome::Succeeded);
    let mut basis = Vec::new();
    let subjects = i
        .exposure
        .and_then(|e| e.subjects)
        .filter(|_| i.exposure.is_some_and(|e| e.read_requests > 0));
    let data_taken = i.exposure.is_some_and(|e| e.bytes.0 > 0);
    if let Some(n) = subjects {
        basis.push(format!(
            "the containers the attacker read hold personal data of up to {} people",
            thousands(n)
        ));
    } else if data_taken {
        basis.push("the attacker read data from storage".into());
    }
    let gdpr_band = i.gdpr.and_then(|g| g.severity.as_ref()).map(|s| s.band);
    if let Some(b) = gdpr_band {
        basis.push(format!("the data-protection severity is {}", b.name()));
    }
    if ok(Phase::Arm) {
        basis.push(format!("the attacker made changes in Azure{}", where_changed(i.steps)));
    } else if ok(Phase::Identity) {
        basis.push("the attacker signed in to an organisation account".into());
    }
    let level = if subjects.is_some_and(|n| n >= 1000) || gdpr_band.is_some_and(|b| b.name().to_ascii_lowercase().contains("high")) {
        IncidentSeverity::Critical
    } else if data_taken || ok(Phase::Arm) {
        IncidentSeverity::High
    } else if ok(Phase::Identity) || ok(Phase::Storage) {
        IncidentSeverity::Medium
    } else if !i.steps.is_empty() {
        basis.push("only failed attempts were found".into());
        IncidentSeverity::Low
    } else {
        basis.push("no attacker activity was found in the evidence provided".into());
        IncidentSeverity::None
    };
    (level, basis)
}

fn time_to_respond(i: &BriefingInput) -> ResponseTime {
    let first = i
        .response
        .actions
        .iter()
        .filter(|a| matches!(a.status, ActionStatus::Done | ActionStatus::Reported))
        .filter_map(|a| a.at.map(|t| (t, a.done_line.clone())))
        .min_by_key(|(t, _)| *t);
    let tz = i.case.timezone;
    ResponseTime {
        first_alert: i.first_alert,
        first_containment: first.as_ref().map(|f| f.0),
        first_alert_text: i.first_alert.map(|t| t.hhmm_zoned(tz)),
        first_containment_text: first.as_ref().map(|f| f.0.hhmm_zoned(tz)),
        first_containment_action: first.as_ref().map(|f| f.1.clone()),
        seconds: match (i.first_alert, &first) {
            (Some(a), Some((c, _))) => Some(a.seconds_until(*c)),
            _ => None,
        },
    }
}

fn authority_words(g: &GdprAssessment, regime: GdprRegime) -> String {
    g.lead_authority
        .as_ref()
        .map(|a| super::gdpr_regime::with_article(a))
        .unwrap_or_else(|| match regime {
            GdprRegime::UkGdpr => "the Information Commissioner's Office".into(),
            GdprRegime::EuGdpr => "the lead supervisory authority".into(),
        })
}

fn decisions(i: &BriefingInput) -> Vec<Decision> {
    let case = i.case;
    let mut out = Vec::new();
    let regime = case.gdpr.as_ref().map(|g| g.regime).unwrap_or(GdprRegime::EuGdpr);
    if let Some(g) = i.gdpr {
        let deadline = g.deadline.deadline;
        if g.art33.required == Some(true) {
            out.push(Decision {
                decision: format!("Approve the personal data breach notification to {}", authority_words(g, regime)),
                owner_role: OwnerRole::Dpo,
                owner: owner(case, OwnerRole::Dpo),
                due: Some(deadline),
                due_text: None,
                due_basis: "legal deadline (72 hours from awareness)".into(),
            });
        }
        if g.art34.required == Some(true) {
            // The people in the datasets whose own severity meets the threshold for informing them.
            let scope = g.art34_scope.as_ref();
            let who = match scope
                .and_then(|s| s.subjects)
                .or(i.exposure.and_then(|e| e.subjects).filter(|_| scope.is_none()))
            {
                Some(n) => format!("the up to {} people affected", thousands(n)),
                None => "the people affected".into(),
            };
            // Beside the people the scoping leaves out: "(of up to 150,600 whose data was read)".
            let who = match scope.filter(|s| !s.excluded.is_empty()).and_then(|s| s.subjects_read) {
                Some(all) => format!("{who} (of up to {} whose data is in the containers read)", thousands(all)),
                None => who,
            };
            let who = match scope.filter(|s| !s.excluded.is_empty()) {
                Some(s) => format!("{who} in {}", s.included.join(", ")),
                None => who,
            };
            let left_out = scope
                .filter(|s| !s.excluded.is_empty())
                .map(|s| {
                    format!(
                        "; not included: {}, below the threshold for informing people: confirm leaving them out, or inform them too",
                        s.excluded.join(", ")
                    )
                })
                .unwrap_or_default();
            out.push(Decision {
                decision: format!("Approve informing {who} directly, and the support offered to them{left_out}"),
                owner_role: OwnerRole::Dpo,
                owner: owner(case, OwnerRole::Dpo),
                due: Some(deadline),
                due_text: None,
                due_basis: "without undue delay; proposed together with the notification".into(),
            });
        }
        if g.art33.required.is_none() {
            out.push(Decision {
                decision: "Provide what the data-protection assessment lacks, so the notification duty can be decided".into(),
                owner_role: OwnerRole::Dpo,
                owner: owner(case, OwnerRole::Dpo),
                due: Some(deadline),
                due_text: None,
                due_basis: "the notification deadline still runs".into(),
            });
        }
    }
    let open: Vec<&str> = i
        .response
        .actions
        .iter()
        .filter(|a| matches!(a.status, ActionStatus::Outstanding | ActionStatus::Partial))
        .map(|a| a.action.as_str())
        .collect();
    if !open.is_empty() {
        out.push(Decision {
            decision: format!(
                "Confirm the {} open containment action{} are done today ({})",
                open.len(),
                if open.len() == 1 { "" } else { "s" },
                open.join("; ")
            ),
            owner_role: OwnerRole::Ciso,
            owner: owner(case, OwnerRole::Ciso),
            due: Some(case.as_of),
            due_text: None,
            due_basis: "immediately: the report's as-of date".into(),
        });
    }
    for run in i.unusual_runs {
        out.push(Decision {
            decision: format!(
                "Confirm with the owner of the workload at {} that its run of {} was planned ({} blob reads, {}, against at most {} reads and {} on an earlier day): clearing its alert rests on it",
                run.ip, run.day, run.reads, run.bytes, run.usual_reads, run.usual_bytes
            ),
            owner_role: OwnerRole::SecurityOperations,
            owner: owner(case, OwnerRole::SecurityOperations),
            due: Some(case.as_of),
            due_text: None,
            due_basis: "immediately: the report's as-of date".into(),
        });
    }
    let top: Vec<&Ranked> = i.ranking.iter().take(3).collect();
    if !top.is_empty() {
        let nums: Vec<String> = top.iter().map(|r| r.rank.to_string()).collect();
        out.push(Decision {
            decision: format!(
                "Approve and fund improvements {} (effort: {})",
                nums.join(", "),
                top.iter().map(|r| r.effort.label()).collect::<Vec<_>>().join(", ")
            ),
            owner_role: OwnerRole::Ciso,
            owner: owner(case, OwnerRole::Ciso),
            due: Some(Timestamp(case.as_of.0 + chrono::Duration::days(14))),
            due_text: None,
            due_basis: "proposed: two weeks from this report".into(),
        });
    }
    for d in &mut out {
        d.due_text = d.due.map(|t| format!("{} {}", t.0.format("%Y-%m-%d"), t.hhmm_zoned(case.timezone)));
    }
    out
}

/// Builds the briefing.
pub fn build_briefing(i: BriefingInput) -> Briefing {
    let (level, basis) = severity(&i);
    Briefing {
        severity: level,
        severity_label: level.label(),
        severity_basis: basis,
        time_to_respond: time_to_respond(&i),
        decisions: decisions(&i),
    }
}
