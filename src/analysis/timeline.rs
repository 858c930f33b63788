//! Merges attacker steps and alerts into one ordered, cross-product timeline (seed Phase 4):
//! identity → ARM → storage, with alerts where they fired. Orders by time, then by phase,
//! then by action, so the same input always gives the same order.

use serde::Serialize;

use super::steps::{Phase, Step};
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
    /// The step id for attacker steps; None for alerts.
    pub step: Option<String>,
    pub evidence: Location,
}

pub fn build_timeline(steps: &[Step], alerts: Option<&Vec<Alert>>) -> Vec<TimelineEntry> {
    let mut out: Vec<TimelineEntry> = steps
        .iter()
        .filter(|s| s.kind != StepKind::LateralMovement)
        .map(|s| TimelineEntry {
            at: s.at,
            end: s.end,
            phase: s.phase,
            action: s.action.clone(),
            detail: [s.target.clone(), s.detail.clone(), s.outcome.label().to_string()]
                .into_iter()
                .filter(|p| !p.is_empty() && p != "—")
                .collect::<Vec<_>>()
                .join(" | "),
            step: Some(s.id.clone()),
            evidence: s.evidence[0].clone(),
        })
        .collect();
    if let Some(alerts) = alerts {
        for a in alerts {
            out.push(TimelineEntry {
                at: a.at,
                end: None,
                phase: Phase::Alert,
                action: a.name.clone(),
                detail: [a.severity.clone(), a.tactics.join(", "), a.source_product().to_string()]
                    .into_iter()
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>()
                    .join(" | "),
                step: None,
                evidence: a.origin.clone(),
            });
        }
    }
    out.sort_by(|a, b| (a.at, a.phase, &a.action).cmp(&(b.at, b.phase, &b.action)));
    out
}
