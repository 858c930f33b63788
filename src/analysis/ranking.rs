//! Ranks the improvements (relevant controls that are missing or could not be assessed) by
//! their impact on this incident and the effort they take. Impact counts the steps a control
//! would have prevented, limited or detected, earlier steps weighing more (stopping the first
//! step stops everything after it); a control proven missing counts fully, one that could not
//! be assessed half; effort divides. The catalog priority only breaks ties.

use serde::Serialize;

use super::gaps::{ControlAssessment, Verdict};
use super::steps::Step;
use crate::posture::catalog::{Catalog, EffectKind, Effort, OwnerRole};
use crate::types::StepKind;

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
        EffectKind::Prevent => 3.0,
        EffectKind::Limit => 2.0,
        EffectKind::Detect => 1.0,
    }
}

fn certainty(v: Verdict) -> f64 {
    match v {
        Verdict::MissingEvidence | Verdict::MissingRecommendation => 1.0,
        _ => 0.5,
    }
}

fn effort_factor(e: Effort) -> f64 {
    match e {
        Effort::Low => 1.0,
        Effort::Medium => 0.75,
        Effort::High => 0.5,
    }
}

/// Step kinds in the order their first step happened.
fn kind_order(steps: &[Step]) -> Vec<StepKind> {
    let mut sorted: Vec<&Step> = steps.iter().collect();
    sorted.sort_by_key(|s| s.at);
    let mut out: Vec<StepKind> = Vec::new();
    for s in sorted {
        if !out.contains(&s.kind) {
            out.push(s.kind);
        }
    }
    out
}

fn labels(kinds: &[StepKind]) -> String {
    kinds.iter().map(|k| k.label().to_lowercase()).collect::<Vec<_>>().join(", ")
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
        parts.push(format!("limits {} later step kinds", r.limits.len()));
    }
    if !r.detects.is_empty() {
        parts.push(format!("detects {}", labels(&r.detects)));
    }
    parts.push(match verdict {
        Verdict::MissingEvidence => "proven missing by the evidence".into(),
        Verdict::MissingRecommendation => "proven missing by the recommendations export".into(),
        _ => "not assessable, so it counts half".into(),
    });
    parts.push(format!("{} effort", r.effort.label()));
    parts.join("; ")
}

/// Ranks every relevant control that is not present.
pub fn rank_improvements(controls: &[ControlAssessment], catalog: &Catalog, steps: &[Step]) -> Vec<Ranked> {
    let order = kind_order(steps);
    let position_weight = |k: StepKind| order.iter().position(|x| *x == k).map_or(0.0, |i| 1.0 / (1.0 + i as f64));
    let mut out: Vec<(u32, Ranked)> = Vec::new();
    for c in controls.iter().filter(|c| c.relevant_to_incident && c.verdict != Verdict::Present) {
        let Some(def) = catalog.get(&c.id.0) else { continue };
        let impact: f64 = c.affects.iter().map(|(k, e)| effect_weight(*e) * position_weight(*k)).sum();
        let of = |kind: EffectKind| c.affects.iter().filter(|(_, e)| *e == kind).map(|(k, _)| *k).collect::<Vec<_>>();
        let mut r = Ranked {
            rank: 0,
            control: c.id.0.clone(),
            score: (impact * certainty(c.verdict) * effort_factor(def.effort) * 100.0).round() / 100.0,
            basis: String::new(),
            effort: def.effort,
            effort_reason: def.effort_reason.clone(),
            owner: def.owner,
            prevents: of(EffectKind::Prevent),
            limits: of(EffectKind::Limit),
            detects: of(EffectKind::Detect),
        };
        r.basis = basis(&r, c.verdict, order.first().copied());
        out.push((c.priority, r));
    }
    out.sort_by(|(pa, a), (pb, b)| b.score.total_cmp(&a.score).then(pa.cmp(pb)));
    out.into_iter()
        .enumerate()
        .map(|(i, (_, mut r))| {
            r.rank = i + 1;
            r
        })
        .collect()
}
