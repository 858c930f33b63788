//! Merges attacker steps and alerts into one ordered, cross-product timeline: identity → ARM →
//! storage, with alerts where they fired. Every entry carries its outcome; alerts carry how
//! the scope judged them. Orders by time, then by phase, then by action, so the same input
//! always gives the same order.

use serde::Serialize;

use super::scope::Scope;
use super::steps::{Outcome, Phase, Step};
use crate::bundle::alerts::Alert;
use crate::error::Location;
use crate::types::{StepKind, Timestamp};

#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub at: Timestamp,
    /// Last record of an aggregated step (a download burst), for drawing its extent.
    pub end: Option<Timestamp>,
    pub phase: Phase,
    pub action: String,
    pub detail: String,
    /// One plain sentence with the outcome ("Key listing on acct denied (…)").
    pub summary: String,
    /// For steps: their outcome; None for alerts.
    pub outcome: Option<Outcome>,
    /// The outcome in words ("succeeded", "refused by policy (…)"); for alerts, whether the
    /// alert was taken as a lead or closed.
    pub outcome_text: String,
    /// The step id for attacker steps; None for alerts.
    pub step: Option<String>,
    pub evidence: Location,
}

pub fn build_timeline(steps: &[Step], alerts: Option<&Vec<Alert>>, scope: &Scope) -> Vec<TimelineEntry> {
    let mut out: Vec<TimelineEntry> = steps
        .iter()
        .filter(|s| s.kind != StepKind::LateralMovement)
        .map(|s| TimelineEntry {
            at: s.at,
            end: s.end,
            phase: s.phase,
            action: s.action.clone(),
            detail: [s.target.clone(), s.detail.clone(), s.outcome_text.clone()]
                .into_iter()
                .filter(|p| !p.is_empty() && p != "—")
                .collect::<Vec<_>>()
                .join(" | "),
            summary: s.summary.clone(),
            outcome: Some(s.outcome),
            outcome_text: s.outcome_text.clone(),
            step: Some(s.id.clone()),
            evidence: s.evidence[0].clone(),
        })
        .collect();
    for a in alerts.into_iter().flatten() {
        let judged = scope.alerts.iter().find(|j| j.evidence == a.origin);
        let status = judged.map(|j| j.why.clone()).unwrap_or_default();
        out.push(TimelineEntry {
            // On the timeline an alert stands where it was raised; the activity it reports
            // began at `a.at`, which the detail states when it differs.
            at: a.raised_at(),
            end: None,
            phase: Phase::Alert,
            action: a.name.clone(),
            detail: [
                a.severity.clone(),
                a.tactics.join(", "),
                a.source_product().to_string(),
                if a.raised_at() == a.at {
                    String::new()
                } else {
                    format!("activity from {}", a.at)
                },
            ]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" | "),
            summary: format!("Alert: {} ({}, {})", a.name, a.severity, a.source_product()),
            outcome: None,
            outcome_text: status,
            step: None,
            evidence: a.origin.clone(),
        });
    }
    out.sort_by(|a, b| (a.at, a.phase, &a.action).cmp(&(b.at, b.phase, &b.action)));
    out
}
