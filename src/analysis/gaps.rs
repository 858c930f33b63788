//! Maps each attack step to the controls that would have prevented, limited or detected it,
//! and decides for each control whether it was missing, with proof: from the evidence itself
//! (a fact such as "an account-key read succeeded") or from the recommendations export
//! (unhealthy since before the incident). Reads only the analysis, the catalog and the export;
//! it never decides severity (see `gdpr`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::steps::Step;
use crate::case::Environment;
use crate::error::Location;
use crate::posture::catalog::{Actor, Catalog, Control, EffectKind, ExampleRecommendation, ExpectedVerdict};
use crate::posture::recommendations::{RecState, RecommendationExport};
use crate::types::{ControlId, Fact, ResourceId, StepKind, Timestamp};

/// A fact the evidence established, with the records that prove it.
#[derive(Debug, Clone, Serialize)]
pub struct ProvenFact {
    pub fact: Fact,
    pub sentence: String,
    pub evidence: Vec<Location>,
}

/// The verdict on one control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Missing, proven by the evidence itself.
    MissingEvidence,
    /// Missing, proven by the recommendations export (unhealthy before the incident).
    MissingRecommendation,
    /// Present but not sufficient: the evidence shows it refused part of the attack, and
    /// shows other steps it addresses succeeding.
    PartiallyEffective,
    Present,
    NotAssessable,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::MissingEvidence => "Missing — proven by the evidence",
            Verdict::MissingRecommendation => "Missing — proven by the recommendations export",
            Verdict::PartiallyEffective => "Present but not sufficient — it refused part of the attack",
            Verdict::Present => "Present",
            Verdict::NotAssessable => "Not assessable from the provided evidence",
        }
    }
    pub fn is_missing(self) -> bool {
        matches!(self, Verdict::MissingEvidence | Verdict::MissingRecommendation)
    }
    /// A gap the evidence or the export proves: missing, or present but not sufficient.
    pub fn is_proven_gap(self) -> bool {
        self.is_missing() || self == Verdict::PartiallyEffective
    }
}

/// How one recommendation row relates to the incident.
#[derive(Debug, Clone, Serialize)]
pub struct RecStatus {
    pub key: String,
    pub name: String,
    pub severity: Option<String>,
    pub state: RecState,
    pub resource: String,
    pub first_evaluated: Option<Timestamp>,
    pub status_changed: Option<Timestamp>,
    /// "before", "after" or "unknown" relative to the incident start (for unhealthy rows).
    pub timing: String,
    /// Whether the assessed resource is the subscription or a resource the attacker touched.
    pub relevant: bool,
    pub evidence: Location,
}

/// The aggregated state of a control's recommendations.
fn summarise(recs: &[RecStatus]) -> ExampleRecommendation {
    let relevant: Vec<&RecStatus> = recs.iter().filter(|r| r.relevant).collect();
    if relevant.iter().any(|r| r.state == RecState::Unhealthy && r.timing == "before") {
        ExampleRecommendation::UnhealthyBefore
    } else if relevant.iter().any(|r| r.state == RecState::Healthy) {
        ExampleRecommendation::Healthy
    } else if relevant.iter().any(|r| r.state == RecState::Unhealthy) {
        ExampleRecommendation::UnhealthyAfter
    } else {
        ExampleRecommendation::None
    }
}

/// The verdict rule, shared by the analysis and the catalog's examples: a control shown in
/// place but not covering the attack, or one that acted (refused an attacker action) while a
/// gap is also proven, was present but not sufficient;
/// otherwise evidence of absence first, then an export unhealthy since before the incident,
/// then evidence of presence (acting is presence), then a healthy export; anything else
/// cannot be assessed.
pub fn decide(signals: Signals, rec: ExampleRecommendation) -> Verdict {
    let Signals {
        missing,
        acted,
        present,
        bypassed,
    } = signals;
    if bypassed || (acted && (missing || rec == ExampleRecommendation::UnhealthyBefore)) {
        Verdict::PartiallyEffective
    } else if missing {
        Verdict::MissingEvidence
    } else if rec == ExampleRecommendation::UnhealthyBefore {
        Verdict::MissingRecommendation
    } else if present || acted || rec == ExampleRecommendation::Healthy {
        Verdict::Present
    } else {
        Verdict::NotAssessable
    }
}

/// Which of a control's evidence rules hold in the case.
#[derive(Debug, Clone, Copy, Default)]
pub struct Signals {
    pub missing: bool,
    pub acted: bool,
    pub present: bool,
    pub bypassed: bool,
}

impl Signals {
    /// The rules of control `c` that hold among `holds`.
    pub fn of(c: &Control, holds: &dyn Fn(Fact) -> bool) -> Signals {
        let any = |list: &[Fact]| list.iter().any(|f| holds(*f));
        Signals {
            missing: any(&c.evidence.missing_when),
            acted: any(&c.evidence.acted_when),
            present: any(&c.evidence.present_when),
            bypassed: any(&c.evidence.bypassed_when),
        }
    }
}

impl From<ExpectedVerdict> for Verdict {
    fn from(e: ExpectedVerdict) -> Verdict {
        match e {
            ExpectedVerdict::MissingEvidence => Verdict::MissingEvidence,
            ExpectedVerdict::MissingRecommendation => Verdict::MissingRecommendation,
            ExpectedVerdict::PartiallyEffective => Verdict::PartiallyEffective,
            ExpectedVerdict::Present => Verdict::Present,
            ExpectedVerdict::NotAssessable => Verdict::NotAssessable,
        }
    }
}

/// One proof line.
#[derive(Debug, Clone, Serialize)]
pub struct Proof {
    /// "evidence", "recommendation" or "note".
    pub basis: String,
    pub text: String,
    pub evidence: Vec<Location>,
}

/// A control's assessment.
#[derive(Debug, Clone, Serialize)]
pub struct ControlAssessment {
    pub id: ControlId,
    pub title: String,
    pub priority: u32,
    pub verdict: Verdict,
    pub verdict_label: String,
    pub proofs: Vec<Proof>,
    pub recommendations: Vec<RecStatus>,
    /// Observed step kinds this control affects, with the effect.
    pub affects: Vec<(StepKind, EffectKind)>,
    /// Observed step kinds the control addresses in general, but not in this case: a fact
    /// its effect rests on does not hold (e.g. the sign-in was not single-factor).
    pub not_exploited: Vec<StepKind>,
    /// Successful steps of kinds this control addresses that a workload identity performed,
    /// to which it does not apply (a user's MFA does not guard a service principal's token).
    pub workload_steps: Vec<String>,
    pub improvement: String,
    pub settled_by: String,
    pub mcsb: Vec<String>,
    pub relevant_to_incident: bool,
}

/// For one step: the controls that would have stopped it.
#[derive(Debug, Clone, Serialize)]
pub struct StepGap {
    pub step: String,
    pub kind: StepKind,
    /// Who performed the step, as the record names it.
    pub actor: Actor,
    /// Why some controls do not apply to this step (a workload identity acted), in words.
    pub actor_note: Option<String>,
    pub controls: Vec<StepControl>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct StepControl {
    pub control: ControlId,
    pub title: String,
    pub effect: EffectKind,
    pub why: String,
    pub verdict: Verdict,
    /// The evidence shows this control refused this very step.
    pub blocked: bool,
}

/// Steps of one kind and actor with the same controls, in order of first appearance: the
/// reports tell them together (a password spray's thousands of attempts are one group).
#[derive(Debug, Clone, Serialize)]
pub struct StepGroup {
    pub steps: Vec<String>,
    pub kind: StepKind,
    pub actor: Actor,
    pub actor_note: Option<String>,
    pub controls: Vec<StepControl>,
}

/// What makes steps one group: kind, actor, actor note and controls.
type GroupKey<'a> = (StepKind, Actor, Option<&'a str>, &'a [StepControl]);

/// Groups the steps' mappings (see [`StepGroup`]).
fn group_steps(steps: &[StepGap]) -> Vec<StepGroup> {
    let mut index: BTreeMap<GroupKey, usize> = BTreeMap::new();
    let mut groups: Vec<StepGroup> = Vec::new();
    for s in steps {
        let key = (s.kind, s.actor, s.actor_note.as_deref(), s.controls.as_slice());
        match index.get(&key) {
            Some(&i) => groups[i].steps.push(s.step.clone()),
            None => {
                index.insert(key, groups.len());
                groups.push(StepGroup {
                    steps: vec![s.step.clone()],
                    kind: s.kind,
                    actor: s.actor,
                    actor_note: s.actor_note.clone(),
                    controls: s.controls.clone(),
                });
            }
        }
    }
    groups
}

#[derive(Debug, Clone, Serialize)]
pub struct Gaps {
    pub facts: Vec<ProvenFact>,
    pub controls: Vec<ControlAssessment>,
    pub steps: Vec<StepGap>,
    /// `steps` grouped as the reports tell them.
    pub step_groups: Vec<StepGroup>,
    pub recommendations_provided: bool,
    /// Unhealthy recommendations in the export that no control in the catalog covers.
    pub unmapped_unhealthy: Vec<RecStatus>,
}

/// Inputs for the gap assessment.
pub struct GapInput<'a> {
    pub catalog: &'a Catalog,
    pub steps: &'a [Step],
    pub facts: Vec<ProvenFact>,
    pub export: Option<&'a RecommendationExport>,
    pub incident_start: Option<Timestamp>,
    /// The case's as-of time: with no attacker step there is no incident start, and the export
    /// is read as the posture at the time of the assessment.
    pub assessed_at: Timestamp,
    /// Resources the attacker touched (for recommendation relevance).
    pub touched: Vec<ResourceId>,
    /// The organisation's environment, for the catalog texts' parameters.
    pub environment: &'a Environment,
    /// Display names of identities known by their id (a service principal's name from an
    /// alert), keyed by the lower-case id.
    pub identity_names: BTreeMap<String, String>,
}

/// The case's values for a catalog text's parameters: `{approved_regions}`,
/// `{attacker_regions}` (regions of the attacker's successful deployments outside the approved
/// list), `{refused_regions}` (regions of attacker deployments refused by policy) and
/// `{accounts}` (storage accounts the attacker touched). Worked out once per case: a password
/// spray brings thousands of steps, each filling several texts.
pub struct Parameters {
    refused_regions: String,
    approved_regions: String,
    attacker_regions: String,
    accounts: String,
}

impl Parameters {
    pub fn of(input: &GapInput) -> Parameters {
        let or = |v: Vec<String>, none: &str| if v.is_empty() { none.to_string() } else { v.join(", ") };
        let approved: Vec<String> = input
            .environment
            .approved_regions
            .iter()
            .map(|r| r.display_name().to_string())
            .collect();
        let mut accounts: Vec<String> = input
            .touched
            .iter()
            .filter(|r| r.key().contains("/microsoft.storage/storageaccounts/"))
            .filter_map(|r| r.segment_after("storageAccounts").map(str::to_string))
            .collect();
        accounts.sort();
        accounts.dedup();
        let outside = regions_of(input, |s| {
            s.outcome == super::steps::Outcome::Succeeded
                && s.details
                    .as_ref()
                    .and_then(|d| d.region.as_ref())
                    .is_some_and(|r| !input.environment.region_approved(r))
        });
        let refused = regions_of(input, |s| {
            s.outcome == super::steps::Outcome::Failed && s.outcome_text.starts_with("refused by policy")
        });
        Parameters {
            refused_regions: or(refused, "the refused deployments"),
            approved_regions: or(approved, "the approved regions"),
            attacker_regions: or(outside, "any region outside the approved list"),
            accounts: or(accounts, "the storage accounts concerned"),
        }
    }

    /// `text` with its parameters filled.
    pub fn fill(&self, text: &str) -> String {
        if !text.contains('{') {
            return text.to_string();
        }
        text.replace("{refused_regions}", &self.refused_regions)
            .replace("{approved_regions}", &self.approved_regions)
            .replace("{attacker_regions}", &self.attacker_regions)
            .replace("{accounts}", &self.accounts)
    }
}

/// The distinct display names of the regions of the steps that `keep` selects, first seen first.
fn regions_of(input: &GapInput, keep: impl Fn(&Step) -> bool) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for s in input.steps.iter().filter(|s| keep(s)) {
        if let Some(r) = s.details.as_ref().and_then(|d| d.region.as_ref()) {
            let name = r.display_name().to_string();
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

fn rec_statuses(control: &Control, input: &GapInput) -> Vec<RecStatus> {
    let Some(export) = input.export else { return Vec::new() };
    let keys: Vec<String> = control.recommendations.iter().map(|r| r.key.to_ascii_lowercase()).collect();
    let names: Vec<String> = control.recommendations.iter().map(|r| r.name.to_ascii_lowercase()).collect();
    export
        .items
        .iter()
        // Post-2024 exports may carry new keys for identity items (controls.md §0.5): match
        // display names too.
        .filter(|r| keys.contains(&r.key) || names.contains(&r.name.to_ascii_lowercase()))
        .map(|r| to_status(r, input))
        .collect()
}

/// No attacker step: the export is read against the assessment time, and every resource in
/// it counts (there is no attacker path to filter by).
fn no_incident(input: &GapInput) -> bool {
    input.steps.is_empty() && input.incident_start.is_none()
}

fn to_status(r: &crate::posture::recommendations::Recommendation, input: &GapInput) -> RecStatus {
    let reference = input.incident_start.or(no_incident(input).then_some(input.assessed_at));
    let timing = match (r.state_since(), reference) {
        (Some(since), Some(start)) if since <= start => "before",
        (Some(_), Some(_)) => "after",
        _ => "unknown",
    };
    let relevant = match &r.resource_id {
        None => true,
        Some(_) if no_incident(input) => true,
        Some(id) => {
            let subscription_level = id.segment_after("resourceGroups").is_none();
            subscription_level || input.touched.iter().any(|t| t.is_within(id) || id.is_within(t))
        }
    };
    RecStatus {
        key: r.key.clone(),
        name: r.name.clone(),
        severity: r.severity.clone(),
        state: r.state,
        resource: r.resource_name(),
        first_evaluated: r.first_evaluated,
        status_changed: r.status_changed,
        timing: timing.to_string(),
        relevant,
        evidence: r.origin.clone(),
    }
}

/// Facts whose evidence names the very steps they concern: such a fact holds for a step only
/// when it cites that step's record (a deployment in an approved region is not one the
/// region policy would have refused, though another deployment was).
const STEP_SCOPED: [Fact; 2] = [Fact::VmUnapprovedRegion, Fact::StepAfterAlertHour];

/// The proven facts, and which hold for a given step.
struct Facts<'a> {
    map: BTreeMap<Fact, &'a ProvenFact>,
    /// Each fact's records, for asking whether it cites a step's (a fact may cite thousands).
    cited: BTreeMap<Fact, BTreeSet<&'a Location>>,
}

impl<'a> Facts<'a> {
    fn new(facts: &'a [ProvenFact]) -> Facts<'a> {
        Facts {
            map: facts.iter().map(|f| (f.fact, f)).collect(),
            cited: facts.iter().map(|f| (f.fact, f.evidence.iter().collect())).collect(),
        }
    }
    /// Whether fact `f` cites the record `e`.
    fn cites(&self, f: Fact, e: &Location) -> bool {
        self.cited.get(&f).is_some_and(|set| set.contains(e))
    }
    fn get(&self, f: Fact) -> Option<&'a ProvenFact> {
        self.map.get(&f).copied()
    }
    fn holds_for(&self, step: &Step, f: Fact) -> bool {
        match self.get(f) {
            None => false,
            Some(_) if STEP_SCOPED.contains(&f) => step.evidence.first().is_some_and(|e| self.cites(f, e)),
            Some(_) => true,
        }
    }
}

/// The class of a step's actor.
pub fn actor_of(step: &Step) -> Actor {
    Actor::of(step.actor.as_ref().map(|u| u.as_str()))
}

/// Steps whose first record a fact cites, in time order.
fn steps_citing<'s>(fact: &ProvenFact, steps: &'s [Step]) -> Vec<&'s Step> {
    let cited: BTreeSet<&Location> = fact.evidence.iter().collect();
    steps
        .iter()
        .filter(|s| s.kind != StepKind::LateralMovement)
        .filter(|s| s.evidence.first().is_some_and(|e| cited.contains(e)))
        .collect()
}

fn step_list(steps: &[&Step]) -> String {
    steps
        .iter()
        .map(|s| format!("{} {}", s.id, s.summary))
        .collect::<Vec<_>>()
        .join("; ")
}

/// How the control bears on the successful steps: the strongest effect per step kind, the
/// kinds whose effects rest on a fact that does not hold, and the workload identities' steps
/// it does not apply to.
fn effects_on_steps(c: &Control, steps: &[Step], facts: &Facts) -> (Vec<(StepKind, EffectKind)>, Vec<StepKind>, Vec<String>) {
    let mut affects: BTreeMap<StepKind, EffectKind> = BTreeMap::new();
    let mut not_exploited: Vec<StepKind> = Vec::new();
    let mut workload: Vec<String> = Vec::new();
    // Only steps that succeeded needed a control to have been missing.
    for s in steps.iter().filter(|s| s.outcome == super::steps::Outcome::Succeeded) {
        let actor = actor_of(s);
        let holds = |f: Fact| facts.holds_for(s, f);
        if let Some(e) = c.effect_on(s.kind, actor, &holds) {
            let best = affects.entry(s.kind).or_insert(e.kind);
            *best = (*best).min(e.kind);
        } else if c.not_exploited_on(s.kind, actor, &holds) {
            not_exploited.push(s.kind);
        } else if actor == Actor::Workload && c.excludes_actor(s.kind, actor) {
            workload.push(s.id.clone());
        }
    }
    not_exploited.retain(|k| !affects.contains_key(k));
    not_exploited.sort();
    not_exploited.dedup();
    (affects.into_iter().collect(), not_exploited, workload)
}

/// The proof lines from the evidence: what shows the control missing, what shows it acted
/// (and, when both, which steps it refused and which it did not), what shows it present.
/// Only steps of the kinds the control addresses are named as refused or let through.
fn evidence_proofs(
    c: &Control,
    missing: &[&ProvenFact],
    acted: &[&ProvenFact],
    bypassed: &[&ProvenFact],
    present: &[&ProvenFact],
    steps: &[Step],
) -> Vec<Proof> {
    let partial = (!acted.is_empty() || !bypassed.is_empty()) && !missing.is_empty();
    let addressed = |s: &&Step| c.effects.iter().any(|e| e.steps.contains(&s.kind));
    let steps_citing = |f: &ProvenFact| -> Vec<&Step> { steps_citing(f, steps).into_iter().filter(addressed).collect() };
    let proof = |f: &ProvenFact, text: String| Proof {
        basis: "evidence".into(),
        text,
        evidence: f.evidence.clone(),
    };
    let mut proofs = Vec::new();
    for f in acted {
        let blocked = steps_citing(f);
        let text = if blocked.is_empty() {
            format!("It acted: {}.", f.sentence)
        } else {
            format!("It acted: {}. Refused: {}.", f.sentence, step_list(&blocked))
        };
        proofs.push(proof(f, text));
    }
    for f in bypassed {
        proofs.push(proof(f, format!("Present, but not covering the attack: {}.", f.sentence)));
    }
    for f in missing {
        let through = steps_citing(f);
        let lead = if partial { "Not sufficient" } else { "Missing" };
        let text = if partial && !through.is_empty() {
            format!("{lead}: {}. Not refused: {}.", f.sentence, step_list(&through))
        } else {
            format!("{lead}: {}.", f.sentence)
        };
        proofs.push(proof(f, text));
    }
    for f in present {
        proofs.push(proof(f, format!("Present: {}.", f.sentence)));
    }
    proofs
}

/// The proof line for each recommendation row of the control.
fn recommendation_proofs(recs: &[RecStatus], input: &GapInput) -> Vec<Proof> {
    let mut proofs = Vec::new();
    for r in recs.iter().filter(|r| r.state == RecState::Unhealthy) {
        let since = r
            .status_changed
            .or(r.first_evaluated)
            .map(|t| t.to_string())
            .unwrap_or_else(|| "an unknown date".into());
        let text = match (r.relevant, r.timing.as_str()) {
            (true, "before") if no_incident(input) => format!(
                "\"{}\" was unhealthy on {} since {since}, before this assessment: a pre-existing gap (no incident is established).",
                r.name, r.resource
            ),
            (true, "before") => format!(
                "\"{}\" was unhealthy on {} since {since}, before the incident began.",
                r.name, r.resource
            ),
            (true, "after") => format!(
                "\"{}\" turned unhealthy on {} only at {since}, after the incident began: not a pre-existing gap.",
                r.name, r.resource
            ),
            (true, _) => format!(
                "\"{}\" is unhealthy on {}, but the export gives no date, so it cannot be shown to predate the incident.",
                r.name, r.resource
            ),
            (false, _) => format!(
                "\"{}\" is unhealthy on {} (since {since}), a resource the attacker did not use: a posture gap, not the one exploited.",
                r.name, r.resource
            ),
        };
        proofs.push(Proof {
            basis: "recommendation".into(),
            text,
            evidence: vec![r.evidence.clone()],
        });
    }
    for r in recs.iter().filter(|r| r.state == RecState::Healthy && r.relevant) {
        proofs.push(Proof {
            basis: "recommendation".into(),
            text: format!("\"{}\" was healthy on {}.", r.name, r.resource),
            evidence: vec![r.evidence.clone()],
        });
    }
    proofs
}

/// Why a control could not be assessed, and what settles it.
fn not_assessable_note(c: &Control, recs: &[RecStatus], unproven: &[&str], input: &GapInput) -> Proof {
    let why = if c.recommendations.is_empty() {
        "Defender for Cloud has no recommendation for this control".to_string()
    } else if input.export.is_none() {
        "no recommendations export was provided".to_string()
    } else if recs.is_empty() {
        "the recommendations export has no row for this control's recommendations".to_string()
    } else if recs.iter().any(|r| r.relevant && r.state == RecState::Healthy) && !unproven.is_empty() {
        format!(
            "the export shows only part of the control healthy; it does not show {} healthy",
            crate::types::join_words(&unproven.iter().map(|u| format!("\"{u}\"")).collect::<Vec<_>>())
        )
    } else if recs.iter().any(|r| r.state == RecState::Unhealthy && !r.relevant) {
        "the export shows it unhealthy only on resources the attacker did not use (a posture gap, listed below, not the one exploited)"
            .to_string()
    } else {
        "the export does not show it unhealthy before the incident".to_string()
    };
    Proof {
        basis: "note".into(),
        text: format!(
            "{why}, and the evidence proves neither absence nor presence. Settled by: {}",
            c.settled_by
        ),
        evidence: Vec::new(),
    }
}

/// One control's verdict, proofs and bearing on the steps.
fn assess_control(c: &Control, input: &GapInput, facts: &Facts, params: &Parameters) -> ControlAssessment {
    let recs = rec_statuses(c, input);
    let find = |list: &[Fact]| -> Vec<&ProvenFact> { list.iter().filter_map(|f| facts.get(*f)).collect() };
    let missing = find(&c.evidence.missing_when);
    let present = find(&c.evidence.present_when);
    let acted = find(&c.evidence.acted_when);
    let bypassed = find(&c.evidence.bypassed_when);
    let mut summary = summarise(&recs);
    // A healthy row proves only its own part of the control: "present" needs every
    // current recommendation of the control healthy on a resource that matters here.
    let unproven: Vec<&str> = c
        .recommendations
        .iter()
        .filter(|r| !r.deprecated)
        .filter(|r| !recs.iter().any(|s| s.key == r.key && s.relevant && s.state == RecState::Healthy))
        .map(|r| r.name.as_str())
        .collect();
    if summary == ExampleRecommendation::Healthy && !unproven.is_empty() {
        summary = ExampleRecommendation::None;
    }
    let signals = Signals::of(c, &|f| facts.get(f).is_some());
    let verdict = decide(signals, summary);
    let mut proofs = evidence_proofs(c, &missing, &acted, &bypassed, &present, input.steps);
    proofs.extend(recommendation_proofs(&recs, input));
    if verdict == Verdict::NotAssessable {
        proofs.push(not_assessable_note(c, &recs, &unproven, input));
    }
    let (affects, not_exploited, workload_steps) = effects_on_steps(c, input.steps, facts);
    let improvement = match (&c.improvement_partial, verdict) {
        (Some(p), Verdict::PartiallyEffective) => p,
        _ => &c.improvement,
    };
    // Advice for a control only partly shown healthy names the part already in place.
    let healthy: Vec<String> = recs
        .iter()
        .filter(|r| verdict == Verdict::NotAssessable && r.relevant && r.state == RecState::Healthy)
        .map(|r| format!("\"{}\"", r.name))
        .collect();
    let improvement = if healthy.is_empty() {
        params.fill(improvement)
    } else {
        format!(
            "{} The export already shows {} healthy; the rest is not shown.",
            params.fill(improvement),
            crate::types::join_words(&healthy)
        )
    };
    ControlAssessment {
        id: c.id.clone(),
        title: c.title.clone(),
        priority: c.priority,
        verdict,
        verdict_label: match verdict {
            Verdict::PartiallyEffective if acted.is_empty() => "Present but not sufficient — its conditions left the attack out".into(),
            _ => verdict.label().to_string(),
        },
        proofs,
        relevant_to_incident: !affects.is_empty(),
        affects,
        not_exploited,
        workload_steps,
        recommendations: recs,
        improvement,
        settled_by: c.settled_by.clone(),
        mcsb: c.mcsb.clone(),
    }
}

/// The sentence that tells a reader why user controls are absent from a workload's step.
fn actor_note(step: &Step, names: &BTreeMap<String, String>) -> Option<String> {
    (actor_of(step) == Actor::Workload).then(|| {
        let who = step.actor.as_ref().map(|u| match names.get(u.as_str()) {
            Some(name) => format!("{name} (object id {u})"),
            None => u.to_string(),
        });
        format!(
            "Performed by {}, a service principal or managed identity (a workload identity): user multifactor authentication and user Conditional Access do not apply to its sign-ins, so the controls for workload identities are mapped instead.",
            who.as_deref().unwrap_or("a workload identity")
        )
    })
}

/// Each step with the controls that would have prevented, limited or detected it (its own
/// actor and its own facts), and the controls that refused it.
fn map_steps(input: &GapInput, facts: &Facts, controls: &[ControlAssessment], params: &Parameters) -> Vec<StepGap> {
    let verdict_of: BTreeMap<&ControlId, Verdict> = controls.iter().map(|c| (&c.id, c.verdict)).collect();
    input
        .steps
        .iter()
        .map(|s| {
            let actor = actor_of(s);
            let holds = |f: Fact| facts.holds_for(s, f);
            let mut list: Vec<StepControl> = input
                .catalog
                .controls
                .iter()
                .filter_map(|c| {
                    let verdict = verdict_of.get(&c.id).copied().unwrap_or(Verdict::NotAssessable);
                    let refused = c
                        .evidence
                        .acted_when
                        .iter()
                        .any(|f| s.evidence.first().is_some_and(|e| facts.cites(*f, e)));
                    if refused {
                        return Some(StepControl {
                            control: c.id.clone(),
                            title: c.title.clone(),
                            effect: EffectKind::Prevent,
                            why: format!("This step was {}: the evidence shows this control acting here.", s.outcome_text),
                            verdict,
                            blocked: true,
                        });
                    }
                    c.effect_on(s.kind, actor, &holds).map(|e| StepControl {
                        control: c.id.clone(),
                        title: c.title.clone(),
                        effect: e.kind,
                        why: params.fill(&e.why),
                        verdict,
                        blocked: false,
                    })
                })
                .collect();
            list.sort_by_key(|c| (c.effect, c.verdict));
            StepGap {
                step: s.id.clone(),
                kind: s.kind,
                actor,
                actor_note: actor_note(s, &input.identity_names),
                controls: list,
            }
        })
        .collect()
}

/// Unhealthy recommendations that no control in the catalog covers.
fn unmapped(input: &GapInput) -> Vec<RecStatus> {
    let covered: Vec<String> = input
        .catalog
        .controls
        .iter()
        .flat_map(|c| c.recommendations.iter().map(|r| r.key.to_ascii_lowercase()))
        .collect();
    input
        .export
        .map(|e| {
            e.items
                .iter()
                .filter(|r| r.state == RecState::Unhealthy && !covered.contains(&r.key))
                .map(|r| to_status(r, input))
                .collect()
        })
        .unwrap_or_default()
}

/// Assesses every control and maps every step.
pub fn assess_gaps(input: GapInput) -> Gaps {
    let facts = Facts::new(&input.facts);
    let params = Parameters::of(&input);
    let controls: Vec<ControlAssessment> = input
        .catalog
        .controls
        .iter()
        .map(|c| assess_control(c, &input, &facts, &params))
        .collect();
    let steps = map_steps(&input, &facts, &controls, &params);
    let unmapped_unhealthy = unmapped(&input);
    let step_groups = group_steps(&steps);
    Gaps {
        facts: input.facts,
        controls,
        step_groups,
        steps,
        recommendations_provided: input.export.is_some(),
        unmapped_unhealthy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::posture::catalog::load_catalog;

    #[test]
    fn every_catalog_example_gets_its_expected_verdict() {
        let catalog = load_catalog(None).unwrap();
        let mut checked = 0;
        for c in &catalog.controls {
            for ex in &c.examples {
                let got = decide(Signals::of(c, &|f| ex.facts.contains(&f)), ex.recommendation);
                assert_eq!(got, Verdict::from(ex.expect), "{}: {:?}", c.id, ex);
                checked += 1;
            }
        }
        assert!(checked >= catalog.controls.len() * 2, "only {checked} examples");
    }

    fn sig(missing: bool, acted: bool, present: bool) -> Signals {
        Signals {
            missing,
            acted,
            present,
            bypassed: false,
        }
    }

    #[test]
    fn a_control_in_place_whose_conditions_left_the_attack_out_is_present_but_not_sufficient() {
        let bypassed = Signals {
            missing: true,
            bypassed: true,
            ..Signals::default()
        };
        assert_eq!(decide(bypassed, ExampleRecommendation::None), Verdict::PartiallyEffective);
        assert_eq!(
            decide(sig(true, false, false), ExampleRecommendation::None),
            Verdict::MissingEvidence
        );
    }

    #[test]
    fn evidence_of_absence_outranks_a_healthy_export() {
        assert_eq!(
            decide(sig(true, false, false), ExampleRecommendation::Healthy),
            Verdict::MissingEvidence
        );
        assert_eq!(
            decide(sig(false, false, false), ExampleRecommendation::UnhealthyAfter),
            Verdict::NotAssessable
        );
        assert_eq!(decide(sig(false, false, true), ExampleRecommendation::None), Verdict::Present);
    }

    #[test]
    fn a_control_that_refused_part_of_the_attack_while_other_steps_got_through_is_partially_effective() {
        assert_eq!(
            decide(sig(true, true, false), ExampleRecommendation::None),
            Verdict::PartiallyEffective
        );
        assert_eq!(
            decide(sig(false, true, false), ExampleRecommendation::UnhealthyBefore),
            Verdict::PartiallyEffective
        );
        // Refusing everything the evidence shows is presence, not a gap.
        assert_eq!(decide(sig(false, true, false), ExampleRecommendation::None), Verdict::Present);
        assert!(Verdict::PartiallyEffective.is_proven_gap() && !Verdict::PartiallyEffective.is_missing());
    }
}
