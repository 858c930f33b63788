//! Ranks the improvements by their impact on this incident and the effort they take; with no
//! incident, ranks the pre-existing gaps by the severity of their recommendations and effort.
//!
//! The weights, and why:
//! - **Effect**: prevent 4, limit 1, detect 0.5. A prevented step does not happen; a limited
//!   one still happens, smaller or shorter; a detected one happens and is only seen. A control
//!   that prevents one step therefore outweighs one that merely limits four, so controls that
//!   "limit everything" or "detect everything" cannot climb above a control that would have
//!   stopped the theft itself by breadth alone.
//! - **Position**: the successful step kinds in the order they first happened; the i-th
//!   (from 0) weighs 1 / (1 + i/2). Earlier steps weigh more (stopping an early step removes
//!   what depended on it), but gently: the data-plane steps at the end, where the harm is
//!   done, keep a fair weight (the fifth kind weighs a third of the first, not a fifth).
//! - **Certainty**: a gap the evidence or the export proves (missing, or present but not
//!   sufficient) counts fully; a control that could not be assessed counts [`UNASSESSED`].
//! - **Effort**: low 1.0, medium 0.8, high 0.6. Every effort factor exceeds [`UNASSESSED`],
//!   so a control that could not be assessed never outranks a proven one of equal impact,
//!   whatever the two efforts.
//!
//! The catalog priority only breaks ties.

use serde::Serialize;

use super::gaps::{ControlAssessment, RecStatus, Verdict};
use super::steps::{Outcome, Step};
use crate::posture::catalog::{Catalog, EffectKind, Effort, OwnerRole};
use crate::posture::recommendations::RecState;
use crate::types::StepKind;

/// The weight of a control that could not be assessed, against 1 for a proven gap.
pub const UNASSESSED: f64 = 0.5;

/// One improvement in rank order.
#[derive(Debug, Clone, Serialize)]
pub struct Ranked {
    pub rank: usize,
    pub control: String,
    pub score: f64,
    /// Why it ranks where it does, in words.
    pub basis: String,
    pub effort: Effort,
    pub effort_reason: String,
    pub owner: OwnerRole,
    /// Step kinds it would have prevented, limited, detected.
    pub prevents: Vec<StepKind>,
    pub limits: Vec<StepKind>,
    pub detects: Vec<StepKind>,
}

fn effect_weight(e: EffectKind) -> f64 {
    match e {
        EffectKind::Prevent => 4.0,
        EffectKind::Limit => 1.0,
        EffectKind::Detect => 0.5,
    }
}

fn certainty(v: Verdict) -> f64 {
    if v.is_proven_gap() {
        1.0
    } else {
        UNASSESSED
    }
}

fn effort_factor(e: Effort) -> f64 {
    match e {
        Effort::Low => 1.0,
        Effort::Medium => 0.8,
        Effort::High => 0.6,
    }
}

/// The weight of the i-th step kind (from 0) in the order the attack went.
fn position_weight(i: usize) -> f64 {
    1.0 / (1.0 + i as f64 / 2.0)
}

/// Successful step kinds in the order their first step happened (an attempt that failed
/// achieved nothing, so it sets no position).
fn kind_order(steps: &[Step]) -> Vec<StepKind> {
    let mut sorted: Vec<&Step> = steps.iter().filter(|s| s.outcome == Outcome::Succeeded).collect();
    sorted.sort_by_key(|s| s.at);
    let mut out: Vec<StepKind> = Vec::new();
    for s in sorted {
        if !out.contains(&s.kind) {
            out.push(s.kind);
        }
    }
    out
}

/// The score of a control on this incident: impact (effect × position per affected step
/// kind) × certainty × effort.
pub fn score(affects: &[(StepKind, EffectKind)], order: &[StepKind], verdict: Verdict, effort: Effort) -> f64 {
    let impact: f64 = affects
        .iter()
        .map(|(k, e)| effect_weight(*e) * order.iter().position(|x| x == k).map_or(0.0, position_weight))
        .sum();
    (impact * certainty(verdict) * effort_factor(effort) * 100.0).round() / 100.0
}

fn labels(kinds: &[StepKind]) -> String {
    kinds.iter().map(|k| phrase(k.label())).collect::<Vec<_>>().join(", ")
}

fn verdict_words(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::MissingEvidence => "proven missing by the evidence",
        Verdict::MissingRecommendation => "proven missing by the recommendations export",
        Verdict::PartiallyEffective => {
            "present but not sufficient: the evidence shows it in place, and shows steps it addresses getting through"
        }
        _ => "not assessable, so it counts half",
    }
}

fn basis(r: &Ranked, verdict: Verdict, first: Option<StepKind>) -> String {
    let mut parts = Vec::new();
    if !r.prevents.is_empty() {
        let lead = if first.is_some_and(|f| r.prevents.contains(&f)) {
            " (the first step: everything after it depended on it)"
        } else {
            ""
        };
        parts.push(format!("prevents {}{lead}", labels(&r.prevents)));
    }
    if !r.limits.is_empty() {
        parts.push(format!("limits {}", labels(&r.limits)));
    }
    if !r.detects.is_empty() {
        parts.push(format!("detects {}", labels(&r.detects)));
    }
    parts.push(verdict_words(verdict).into());
    parts.push(format!("{} effort", r.effort.label()));
    parts.join("; ")
}

fn numbered(mut out: Vec<(f64, u32, Ranked)>) -> Vec<Ranked> {
    out.sort_by(|(sa, pa, _), (sb, pb, _)| sb.total_cmp(sa).then(pa.cmp(pb)));
    out.into_iter()
        .enumerate()
        .map(|(i, (_, _, mut r))| {
            r.rank = i + 1;
            r
        })
        .collect()
}

/// Ranks every relevant control that is not present; with no attacker step, ranks the
/// pre-existing gaps instead (see [`rank_pre_existing`]).
pub fn rank_improvements(controls: &[ControlAssessment], catalog: &Catalog, steps: &[Step]) -> Vec<Ranked> {
    if steps.is_empty() {
        return rank_pre_existing(controls, catalog);
    }
    let order = kind_order(steps);
    let mut out = Vec::new();
    for c in controls.iter().filter(|c| c.relevant_to_incident && c.verdict != Verdict::Present) {
        let Some(def) = catalog.get(&c.id.0) else { continue };
        let of = |kind: EffectKind| c.affects.iter().filter(|(_, e)| *e == kind).map(|(k, _)| *k).collect::<Vec<_>>();
        let mut r = Ranked {
            rank: 0,
            control: c.id.0.clone(),
            score: score(&c.affects, &order, c.verdict, def.effort),
            basis: String::new(),
            effort: def.effort,
            effort_reason: def.effort_reason.clone(),
            owner: def.owner,
            prevents: of(EffectKind::Prevent),
            limits: of(EffectKind::Limit),
            detects: of(EffectKind::Detect),
        };
        r.basis = basis(&r, c.verdict, order.first().copied());
        out.push((r.score, c.priority, r));
    }
    numbered(out)
}

/// The weight of a recommendation's severity (Defender for Cloud's High, Medium, Low).
fn severity_weight(severity: Option<&str>) -> f64 {
    match severity.map(str::to_ascii_lowercase).as_deref() {
        Some("critical") => 4.0,
        Some("high") => 3.0,
        Some("medium") => 2.0,
        _ => 1.0,
    }
}

/// The unhealthy, relevant rows that predate the assessment: what makes a pre-existing gap.
fn gap_rows(c: &ControlAssessment) -> Vec<&RecStatus> {
    c.recommendations
        .iter()
        .filter(|r| r.state == RecState::Unhealthy && r.relevant && r.timing == "before")
        .collect()
}

/// No incident: each proven gap ranked by the highest severity among its unhealthy
/// recommendations times its effort factor (a High gap that takes little effort first).
pub fn rank_pre_existing(controls: &[ControlAssessment], catalog: &Catalog) -> Vec<Ranked> {
    let mut out = Vec::new();
    for c in controls.iter().filter(|c| c.verdict.is_proven_gap()) {
        let Some(def) = catalog.get(&c.id.0) else { continue };
        let rows = gap_rows(c);
        let worst = rows
            .iter()
            .max_by(|a, b| severity_weight(a.severity.as_deref()).total_cmp(&severity_weight(b.severity.as_deref())));
        let severity = worst.and_then(|r| r.severity.clone()).unwrap_or_else(|| "unrated".into());
        let score = (severity_weight(worst.and_then(|r| r.severity.as_deref())) * effort_factor(def.effort) * 100.0).round() / 100.0;
        let what = match worst {
            Some(r) => format!("pre-existing gap: \"{}\" ({severity}) unhealthy before this assessment", r.name),
            None => format!("pre-existing gap: {}", verdict_words(c.verdict)),
        };
        let r = Ranked {
            rank: 0,
            control: c.id.0.clone(),
            score,
            basis: format!(
                "{what}; no incident is established, so it ranks by the recommendation's severity and the effort; {} effort",
                def.effort.label()
            ),
            effort: def.effort,
            effort_reason: def.effort_reason.clone(),
            owner: def.owner,
            prevents: Vec::new(),
            limits: Vec::new(),
            detects: Vec::new(),
        };
        out.push((score, c.priority, r));
    }
    numbered(out)
}

/// A label inside a sentence: its first word in lower case unless it is an acronym ("VM
/// created" stays, "Public IP created" becomes "public IP created").
fn phrase(label: &str) -> String {
    let first = label.split(' ').next().unwrap_or("");
    if first.len() > 1 && first.chars().all(|c| c.is_ascii_uppercase()) {
        label.to_string()
    } else {
        crate::types::lower_first(label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: [StepKind; 5] = [
        StepKind::SigninUntrusted,
        StepKind::RoleAssignment,
        StepKind::StorageKeyListing,
        StepKind::BlobListing,
        StepKind::BlobRead,
    ];

    #[test]
    fn an_unassessed_control_never_outranks_a_proven_one_of_equal_impact() {
        let affects = [(StepKind::BlobRead, EffectKind::Prevent)];
        for proven_effort in [Effort::Low, Effort::Medium, Effort::High] {
            for unassessed_effort in [Effort::Low, Effort::Medium, Effort::High] {
                let proven = score(&affects, &ORDER, Verdict::MissingEvidence, proven_effort);
                let unassessed = score(&affects, &ORDER, Verdict::NotAssessable, unassessed_effort);
                assert!(
                    proven > unassessed,
                    "{proven_effort:?} proven {proven} vs {unassessed_effort:?} unassessed {unassessed}"
                );
            }
        }
    }

    #[test]
    fn preventing_the_data_theft_outranks_detecting_or_limiting_every_step_when_unassessed() {
        let data_plane = [
            (StepKind::BlobListing, EffectKind::Prevent),
            (StepKind::BlobRead, EffectKind::Prevent),
        ];
        let detect_all: Vec<(StepKind, EffectKind)> = ORDER[1..].iter().map(|k| (*k, EffectKind::Detect)).collect();
        let limit_early = [
            (StepKind::SigninUntrusted, EffectKind::Limit),
            (StepKind::RoleAssignment, EffectKind::Limit),
        ];
        let storage = score(&data_plane, &ORDER, Verdict::MissingEvidence, Effort::High);
        assert!(storage > score(&detect_all, &ORDER, Verdict::NotAssessable, Effort::Low));
        assert!(storage > score(&limit_early, &ORDER, Verdict::NotAssessable, Effort::Low));
    }

    #[test]
    fn earlier_steps_weigh_more() {
        let first = score(
            &[(StepKind::SigninUntrusted, EffectKind::Prevent)],
            &ORDER,
            Verdict::MissingEvidence,
            Effort::Low,
        );
        let last = score(
            &[(StepKind::BlobRead, EffectKind::Prevent)],
            &ORDER,
            Verdict::MissingEvidence,
            Effort::Low,
        );
        assert!(first > last && last > 0.0);
    }

    #[test]
    fn a_partially_effective_control_counts_as_a_proven_gap() {
        let a = [(StepKind::RoleAssignment, EffectKind::Prevent)];
        assert_eq!(
            score(&a, &ORDER, Verdict::PartiallyEffective, Effort::Low),
            score(&a, &ORDER, Verdict::MissingEvidence, Effort::Low)
        );
    }

    #[test]
    fn severity_orders_pre_existing_gaps() {
        assert!(severity_weight(Some("High")) > severity_weight(Some("Medium")));
        assert!(severity_weight(Some("Medium")) > severity_weight(Some("Low")));
        assert!(severity_weight(Some("low")) == severity_weight(None));
    }
}
