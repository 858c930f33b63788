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

/// Consecutive steps of one kind, action, target, actor and outcome form a bulk run (a password
/// spray, a scripted resource storm) when there are at least this many of them. Shorter runs
/// stay row by row: a handful of guesses reads better one by one.
pub const BULK_RUN: usize = 20;

/// Consecutive steps further apart than this are not one run (a reader asks why the attacker
/// came back, and the timeline's axis breaks there too).
pub const RUN_GAP_SECS: i64 = 3600;

/// One row of the timeline as reports print it: either one entry (`bulk` is None) or a bulk
/// run of `count` consecutive entries starting at `first`. The rows cover every entry once, in
/// order; the full list stays in `timeline`.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineRow {
    /// Index of the row's first entry in the timeline.
    pub first: usize,
    /// Entries in the row (1 for a single entry).
    pub count: usize,
    pub bulk: Option<BulkRun>,
}

/// What a bulk run's entries share and how far it reaches.
#[derive(Debug, Clone, Serialize)]
pub struct BulkRun {
    pub start: Timestamp,
    /// The last entry's end (or time).
    pub end: Timestamp,
    pub phase: Phase,
    pub first_step: String,
    pub last_step: String,
    pub outcome: Outcome,
    pub outcome_text: String,
    /// Distinct source addresses of the run's steps, in order of first appearance.
    pub addresses: Vec<String>,
    /// One sentence for the whole run, with its count and outcome.
    pub summary: String,
    /// The first entry's record.
    pub evidence: Location,
    /// Each entry as the full-timeline appendix lists it: its step, its time (the time of day
    /// when the run is within one day) and where its record is in the first entry's file
    /// ("S17 02:00:06 679"); an entry whose record is in another file names that file.
    pub entries: Vec<String>,
}

/// A run's entry in a few words: step, time and record (see [`BulkRun::entries`]).
fn entry_item(e: &TimelineEntry, one_day: bool, file: &std::path::Path) -> String {
    let time = if one_day {
        e.at.0.format("%H:%M:%S")
    } else {
        e.at.0.format("%Y-%m-%d %H:%M:%S")
    };
    let l = &e.evidence;
    let mut place = if *l.file == *file {
        String::new()
    } else {
        l.file.display().to_string()
    };
    if let Some(line) = l.line {
        place.push_str(&if place.is_empty() { line.to_string() } else { format!(":{line}") });
    }
    for part in [l.path.clone(), l.field.as_ref().map(|f| format!("[{f}]"))].into_iter().flatten() {
        if !place.is_empty() {
            place.push(' ');
        }
        place.push_str(&part);
    }
    format!("{} {time} {place}", e.step.as_deref().unwrap_or("—"))
}

/// What steps of one run have in common.
type RunKey<'a> = (StepKind, Phase, &'a str, &'a str, &'a str, Option<&'a str>);

fn run_key(s: &Step) -> RunKey<'_> {
    (
        s.kind,
        s.phase,
        s.action.as_str(),
        s.target.as_str(),
        s.outcome_text.as_str(),
        s.actor.as_ref().map(|a| a.as_str()),
    )
}

/// Splits the timeline into rows: bulk runs of at least [`BULK_RUN`] consecutive like steps,
/// and single entries.
pub fn timeline_rows(timeline: &[TimelineEntry], steps: &[Step]) -> Vec<TimelineRow> {
    let by_id: std::collections::HashMap<&str, &Step> = steps.iter().map(|s| (s.id.as_str(), s)).collect();
    let step_of = |e: &TimelineEntry| e.step.as_deref().and_then(|id| by_id.get(id).copied());
    let mut rows = Vec::new();
    let mut i = 0;
    while i < timeline.len() {
        let mut j = i + 1;
        if let Some(first) = step_of(&timeline[i]) {
            let key = run_key(first);
            while j < timeline.len()
                && step_of(&timeline[j]).is_some_and(|s| run_key(s) == key)
                && (timeline[j].at.0 - timeline[j - 1].end.unwrap_or(timeline[j - 1].at).0).num_seconds() <= RUN_GAP_SECS
            {
                j += 1;
            }
        }
        if j - i >= BULK_RUN {
            let run: Vec<&Step> = timeline[i..j].iter().filter_map(step_of).collect();
            rows.push(TimelineRow {
                first: i,
                count: j - i,
                bulk: Some(bulk_run(&timeline[i..j], &run)),
            });
        } else {
            rows.extend((i..j).map(|k| TimelineRow {
                first: k,
                count: 1,
                bulk: None,
            }));
        }
        i = j;
    }
    rows
}

fn bulk_run(entries: &[TimelineEntry], run: &[&Step]) -> BulkRun {
    let (first, last) = (run[0], run[run.len() - 1]);
    let mut addresses: Vec<String> = Vec::new();
    for ip in run.iter().filter_map(|s| s.ip) {
        let ip = ip.to_string();
        if !addresses.contains(&ip) {
            addresses.push(ip);
        }
    }
    let n = crate::types::thousands(run.len() as u64);
    let summary = if run.iter().all(|s| s.summary == first.summary) {
        format!("{n} times: {}", first.summary)
    } else {
        let from = match addresses.len() {
            0 => String::new(),
            1 => format!(" from {}", addresses[0]),
            k => format!(" from {k} addresses"),
        };
        let on = if first.target.is_empty() || first.target == "—" {
            String::new()
        } else {
            format!(" on {}", first.target)
        };
        format!("{n} × {}{on}{from}, each {}", first.action, first.outcome_text)
    };
    let start = first.at;
    let end = last.end.unwrap_or(last.at).max(entries[entries.len() - 1].at);
    let one_day = start.0.date_naive() == end.0.date_naive();
    let file = &entries[0].evidence.file;
    BulkRun {
        start,
        end,
        phase: first.phase,
        first_step: first.id.clone(),
        last_step: last.id.clone(),
        outcome: first.outcome,
        outcome_text: first.outcome_text.clone(),
        addresses,
        summary,
        evidence: entries[0].evidence.clone(),
        entries: entries.iter().map(|e| entry_item(e, one_day, file)).collect(),
    }
}
