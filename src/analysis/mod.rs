//! Analysis: everything casefile concludes from the bundle. Nothing here reads files, prints,
//! or knows how reports are laid out. Two phases, because storage logs stream:
//! [`prepare`] settles the attacker scope and the Activity operations from the small sources;
//! the caller streams storage records through an [`exposure::StorageAggregator`]; [`conclude`]
//! then builds steps, timeline, lateral movement, control gaps, exposure, cost, GDPR,
//! response and detections.

pub mod attack;
pub mod briefing;
pub mod cost;
pub mod detections;
pub mod exposure;
pub mod gaps;
pub mod gdpr;
pub mod gdpr_regime;
pub mod identity_facts;
pub mod iocs;
pub mod lateral;
pub mod narrative_facts;
pub mod ranking;
pub mod response;
pub mod root_cause;
pub mod scope;
pub mod signin_lines;
pub mod steps;
pub mod timeline;

use serde::Serialize;

use crate::bundle::{Bundle, Source};
use crate::case::Case;
use crate::posture::catalog::Catalog;
use crate::posture::recommendations::RecommendationExport;
use crate::types::{Fact, StepKind, Timestamp};
use exposure::{Exposure, KeyListing, StorageFindings};
use gaps::{Gaps, ProvenFact};
use scope::Scope;
use steps::{ArmOperation, Excluded, Outcome, Step};

/// What is known before storage logs are streamed.
pub struct Prepared {
    pub scope: Scope,
    pub operations: Source<Vec<ArmOperation>>,
    pub key_listings: Vec<KeyListing>,
}

/// Settles the scope and groups Activity events into operations.
pub fn prepare(case: &Case, bundle: &Bundle) -> Prepared {
    let scope = scope::build_scope(case, bundle);
    let operations = bundle.activity.as_ref().map(|events| steps::group_operations(events));
    let key_listings = operations
        .provided()
        .map(|ops| {
            ops.iter()
                .filter(|o| o.operation.ends_with("storageaccounts/listkeys/action") && o.outcome == Outcome::Succeeded)
                .filter_map(|o| {
                    Some(KeyListing {
                        account: o.resource_id.as_ref()?.name().to_lowercase(),
                        at: o.start,
                        caller: o.caller.as_ref().map(|c| c.to_string()),
                        ip: o.caller_ip,
                        evidence: o.events[0].clone(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Prepared {
        scope,
        operations,
        key_listings,
    }
}

/// The incident window. `start`/`end` span every attacker action, attempts included
/// ("attacker activity"); `first_success` and the data-access period use successful actions
/// only ("breach" and "data accessed").
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Window {
    pub start: Timestamp,
    pub end: Timestamp,
    /// First successful attacker action.
    pub first_success: Option<Timestamp>,
    /// First and last successful attacker data read.
    pub data_access_start: Option<Timestamp>,
    pub data_access_end: Option<Timestamp>,
}

/// Everything the analysis produced.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub scope: Scope,
    pub window: Option<Window>,
    pub steps: Vec<Step>,
    /// The compromised identities' sign-ins in time order, runs of like failures folded.
    pub signins_of_compromised: Source<Vec<signin_lines::SignInLine>>,
    pub operations_of_attacker: Source<Vec<String>>,
    pub excluded: Vec<Excluded>,
    pub storage_excluded: Source<Vec<exposure::ExcludedGroup>>,
    pub timeline: Vec<timeline::TimelineEntry>,
    /// The timeline as reports print it: bulk runs summarised, other entries one by one.
    pub timeline_rows: Vec<timeline::TimelineRow>,
    pub lateral: Source<Vec<lateral::LateralFinding>>,
    pub gaps: Gaps,
    pub exposure: Source<Exposure>,
    pub storage_requests: Source<(u64, u64)>,
    pub cost: cost::Cost,
    pub gdpr: Option<gdpr::GdprAssessment>,
    pub response: response::Response,
    pub detections: Vec<detections::Detection>,
    pub warnings: Vec<String>,
    /// Indicators of compromise (addresses, accounts, user agents, resources).
    pub iocs: Vec<iocs::Ioc>,
    /// ATT&CK techniques the steps show, by tactic.
    pub attack: Vec<attack::AttackRow>,
    pub root_cause: root_cause::RootCause,
    /// Improvements ranked by impact on this incident and effort.
    pub ranking: Vec<ranking::Ranked>,
    /// Severity, time to respond and the decisions asked of management.
    pub briefing: briefing::Briefing,
    /// Regime wording, deadline day, awareness check and measures for the GDPR report.
    pub gdpr_regime: Option<gdpr_regime::RegimeView>,
}

fn fact(f: Fact, evidence: Vec<crate::error::Location>) -> ProvenFact {
    ProvenFact {
        fact: f,
        sentence: f.sentence().to_string(),
        evidence,
    }
}

/// Builds the whole analysis, in named steps.
pub fn conclude(
    case: &Case,
    bundle: &Bundle,
    catalog: &Catalog,
    export: Option<&RecommendationExport>,
    prep: Prepared,
    storage: Source<StorageFindings>,
) -> Analysis {
    let scope = prep.scope;
    let ops: &[ArmOperation] = prep.operations.provided().map(|v| v.as_slice()).unwrap_or(&[]);
    let (mut all_steps, mut excluded) = classify(bundle, &prep.operations, &scope, &case.environment, storage.provided());
    let lateral = prep
        .operations
        .as_ref()
        .map(|all| lateral::find_lateral(all, &|u| scope.has_identity(u)));
    all_steps.extend(lateral_steps(&prep.operations, &all_steps));
    number_steps(&mut all_steps);
    let window = window_of(&all_steps);
    let responders: Vec<&str> = case.response.iter().filter_map(|r| r.by.as_deref()).collect();
    flag_for_review(&mut excluded, ops, &all_steps, window, &responders);
    let warnings = warnings_of(&scope, &all_steps, storage.provided());
    let response = response::build_response(response::ResponseInput {
        steps: &all_steps,
        ops,
        activity_provided: prep.operations.is_provided(),
        activity_exported: bundle.activity.provided().and_then(|v| v.iter().find_map(|e| e.exported)),
        reported: &case.response,
        scope: &scope,
        env: &case.environment,
        as_of: case.as_of,
    });
    // Two halves that need only what is settled so far, side by side on the cores there are:
    // the controls (facts, gaps, their ranking, the root cause) and what is drawn from the
    // steps and the evidence (exposure, cost, GDPR, detections, timeline, indicators).
    let controls = || {
        let mut facts = prove_facts(case, bundle, &all_steps, storage.provided(), window);
        facts.extend(response_facts(bundle, &all_steps, &response));
        facts.extend(identity_facts::prove_identity_facts(
            &all_steps,
            bundle.signins.provided().map(|v| v.as_slice()),
            &scope,
        ));
        let touched = touched_resources(&all_steps, storage.provided(), ops);
        let gaps = gaps::assess_gaps(gaps::GapInput {
            catalog,
            steps: &all_steps,
            facts,
            export,
            incident_start: window.map(|w| w.start),
            assessed_at: case.as_of,
            touched,
            environment: &case.environment,
            identity_names: scope
                .identities
                .iter()
                .filter_map(|(u, m)| Some((u.as_str().to_string(), m.name.clone()?)))
                .collect(),
        });
        let ranking = ranking::rank_improvements(&gaps.controls, catalog, &all_steps);
        let audit_provided = bundle.files.iter().any(|f| f.kind == Some(crate::bundle::audit::KIND));
        let root_cause = root_cause::build_root_cause(&gaps.facts, &all_steps, audit_provided);
        (gaps, ranking, root_cause)
    };
    let drawn = || {
        Drawn::from_steps(
            case,
            bundle,
            &prep.operations,
            &storage,
            &scope,
            &all_steps,
            &response,
            lateral.provided(),
            window,
        )
    };
    let ((gaps, ranking, root_cause), drawn) = rayon::join(controls, drawn);
    let first_alert = first_lead_alert(bundle, &scope, window);
    let gdpr_regime = case.gdpr.as_ref().zip(drawn.gdpr.as_ref()).map(|(g, a)| {
        gdpr_regime::build_regime_view(gdpr_regime::RegimeInput {
            gdpr: g,
            deadline: a.deadline.deadline,
            tz: case.timezone,
            alerts: bundle.alerts.provided().map(|v| v.as_slice()),
            inventory: &case.data,
            exposure: drawn.exposure.provided(),
            response: &response,
            window: window.map(|w| match (w.data_access_start, w.data_access_end) {
                (Some(a), Some(b)) => (a, b),
                _ => (w.start, w.end),
            }),
            established: a.breach_established,
            activity_to_as_of: response::activity_reaches(ops, case.as_of),
            identities: scope.identities_in_scope().count(),
            subject_scope: a.art34_scope.as_ref(),
        })
    });
    let briefing = briefing::build_briefing(briefing::BriefingInput {
        case,
        steps: &all_steps,
        exposure: drawn.exposure.provided(),
        gdpr: drawn.gdpr.as_ref(),
        response: &response,
        ranking: &ranking,
        first_alert,
        unusual_runs: &scope.unusual_runs,
    });
    let operations_of_attacker = prep.operations.as_ref().map(|_| {
        all_steps
            .iter()
            .filter(|s| s.phase == steps::Phase::Arm && s.kind != StepKind::LateralMovement)
            .map(|s| s.id.clone())
            .collect()
    });
    Analysis {
        window,
        steps: all_steps,
        signins_of_compromised: drawn.signins_of_compromised,
        operations_of_attacker,
        excluded,
        storage_excluded: storage.as_ref().map(|f| f.excluded.clone()),
        storage_requests: storage.as_ref().map(|f| (f.requests, f.attacker_requests)),
        timeline: drawn.timeline,
        timeline_rows: drawn.timeline_rows,
        lateral,
        gaps,
        exposure: drawn.exposure,
        cost: drawn.cost,
        gdpr: drawn.gdpr,
        response,
        detections: drawn.detections,
        warnings,
        iocs: drawn.iocs,
        attack: drawn.attack,
        root_cause,
        ranking,
        briefing,
        gdpr_regime,
        scope,
    }
}

/// What the analysis draws from the steps and the evidence, beside the controls' assessment.
struct Drawn {
    exposure: Source<Exposure>,
    cost: cost::Cost,
    gdpr: Option<gdpr::GdprAssessment>,
    detections: Vec<detections::Detection>,
    timeline: Vec<timeline::TimelineEntry>,
    timeline_rows: Vec<timeline::TimelineRow>,
    iocs: Vec<iocs::Ioc>,
    attack: Vec<attack::AttackRow>,
    signins_of_compromised: Source<Vec<signin_lines::SignInLine>>,
}

impl Drawn {
    #[allow(clippy::too_many_arguments)]
    fn from_steps(
        case: &Case,
        bundle: &Bundle,
        operations: &Source<Vec<ArmOperation>>,
        storage: &Source<StorageFindings>,
        scope: &Scope,
        all_steps: &[Step],
        response: &response::Response,
        lateral: Option<&Vec<lateral::LateralFinding>>,
        window: Option<Window>,
    ) -> Drawn {
        let ops = operations.provided().map(|v| v.as_slice());
        let exposure = storage.as_ref().map(|f| exposure::build_exposure(f, &case.data));
        let egress = exposure.provided().map(|e| e.bytes);
        let cost = cost::estimate_cost(all_steps, ops, egress, &case.rates, case.as_of);
        let gdpr = case.gdpr.as_ref().map(|g| {
            assess_gdpr_for_case(
                case,
                g,
                bundle,
                scope,
                all_steps,
                storage.provided(),
                &exposure,
                response,
                window,
                response::activity_reaches(ops.unwrap_or(&[]), case.as_of),
            )
        });
        let mut detections = vec![
            detections::vm_unapproved_region(ops, &case.environment),
            detections::key_listing_then_new_ip(match (operations, storage.provided()) {
                (Source::Provided(_), Some(f)) => Some(f.key_use_hits.as_slice()),
                _ => None,
            }),
            detections::multi_resource_types(lateral.map(|v| v.as_slice())),
            detections::risky_signin_then_changes(bundle.signins.provided().map(|v| v.as_slice()), ops, &case.environment),
        ];
        detections::add_timing(
            &mut detections,
            first_lead_alert(bundle, scope, window),
            case.gdpr.as_ref().map(|g| g.aware_at),
            case.timezone,
        );
        let timeline = timeline::build_timeline(all_steps, bundle.alerts.provided(), scope);
        let timeline_rows = timeline::timeline_rows(&timeline, all_steps);
        let iocs = iocs::build_iocs(
            all_steps,
            scope,
            bundle.signins.provided().map(|v| v.as_slice()),
            bundle.alerts.provided().map(|v| v.as_slice()),
        );
        let attack = attack::attack_table(all_steps);
        let signins_of_compromised = bundle.signins.as_ref().map(|v| {
            // In time order, whatever order the export had (Graph pages run newest first).
            let mut own: Vec<crate::bundle::signins::SignIn> = v.iter().filter(|s| scope.has_identity(&s.upn)).cloned().collect();
            own.sort_by_key(|s| s.at);
            signin_lines::signin_lines(own)
        });
        Drawn {
            exposure,
            cost,
            gdpr,
            detections,
            timeline,
            timeline_rows,
            iocs,
            attack,
            signins_of_compromised,
        }
    }
}

/// Attacker steps and excluded records from sign-ins, operations and storage bursts.
fn classify(
    bundle: &Bundle,
    operations: &Source<Vec<ArmOperation>>,
    scope: &Scope,
    env: &crate::case::Environment,
    storage: Option<&StorageFindings>,
) -> (Vec<Step>, Vec<Excluded>) {
    let mut all = Vec::new();
    let mut excluded = Vec::new();
    if let Some(signins) = bundle.signins.provided() {
        let c = steps::classify_signins(signins, scope, env);
        all.extend(c.steps);
        excluded.extend(c.excluded);
    }
    if let Some(ops) = operations.provided() {
        let c = steps::classify_operations(ops, scope, env);
        all.extend(c.steps);
        excluded.extend(c.excluded);
    }
    if let Some(f) = storage {
        all.extend(f.steps.iter().cloned());
    }
    excluded.sort_by(|a, b| (a.at, &a.what).cmp(&(b.at, &b.what)));
    (all, excluded)
}

/// Lateral movement counted over the attacker's own operations only: a step never aggregates
/// records that are not themselves in scope.
fn lateral_steps(operations: &Source<Vec<ArmOperation>>, steps: &[Step]) -> Vec<Step> {
    let Some(ops) = operations.provided() else { return Vec::new() };
    let attacker_ops: Vec<ArmOperation> = ops
        .iter()
        .filter(|o| {
            steps
                .iter()
                .any(|s| s.phase == steps::Phase::Arm && s.evidence.first() == o.events.first())
        })
        .cloned()
        .collect();
    lateral::find_lateral(&attacker_ops, &|_| true)
        .into_iter()
        .map(|l| {
            let summary = format!(
                "{} touched {} resource types with {} successful operations in {} minutes",
                l.caller,
                l.resource_types.len(),
                l.operations,
                l.minutes
            );
            Step {
                id: String::new(),
                kind: StepKind::LateralMovement,
                phase: steps::Phase::Arm,
                at: l.start,
                end: Some(l.end),
                action: format!("{} resource types, {} operations", l.resource_types.len(), l.operations),
                target: l.resource_types.join(", "),
                detail: format!("{} minutes", l.minutes),
                outcome: Outcome::Succeeded,
                outcome_text: "succeeded".into(),
                attempt: false,
                summary,
                actor: Some(l.caller.clone()),
                ip: None,
                count: l.operations,
                bytes: None,
                bytes_human: None,
                evidence: l.evidence.clone(),
                why: format!(
                    "the attacker's own operations touched several resource types within {} minutes",
                    lateral::WINDOW_SECONDS / 60
                ),
                resource: None,
                details: None,
                seen_from: Vec::new(),
            }
        })
        .collect()
}

/// Numbers the steps of the timeline S01, S02 … in time order, then the lateral-movement
/// findings, which summarise other steps and have no place of their own on the timeline,
/// L1, L2 … after them: the timeline's numbering has no gaps.
fn number_steps(steps: &mut [Step]) {
    let finding = |s: &Step| s.kind == StepKind::LateralMovement;
    steps.sort_by(|a, b| (finding(a), a.at, a.phase, &a.action).cmp(&(finding(b), b.at, b.phase, &b.action)));
    let mut on_timeline = 0;
    let mut findings = 0;
    for s in steps.iter_mut() {
        s.id = if finding(s) {
            findings += 1;
            format!("L{findings}")
        } else {
            on_timeline += 1;
            format!("S{on_timeline:02}")
        };
    }
}

fn window_of(steps: &[Step]) -> Option<Window> {
    let start = steps.iter().map(|s| s.at).min()?;
    let end = steps.iter().map(|s| s.end.unwrap_or(s.at)).max()?;
    let ok = || steps.iter().filter(|s| s.outcome == Outcome::Succeeded);
    let reads = || ok().filter(|s| s.kind == StepKind::BlobRead);
    Some(Window {
        start,
        end,
        first_success: ok().map(|s| s.at).min(),
        data_access_start: reads().map(|s| s.at).min(),
        data_access_end: reads().map(|s| s.end.unwrap_or(s.at)).max(),
    })
}

/// Other identities' operations inside the attack window that touch attacker-created
/// resources are flagged for review rather than silently excluded.
/// Operations by others on what the attacker created: a responder named in the case file's
/// `[[response]] by` is cleaning up; anyone else is flagged for review.
fn flag_for_review(excluded: &mut [Excluded], ops: &[ArmOperation], steps: &[Step], window: Option<Window>, responders: &[&str]) {
    let Some(w) = window else { return };
    let created: Vec<&crate::types::ResourceId> = steps
        .iter()
        .filter(|s| s.phase == steps::Phase::Arm && s.outcome == Outcome::Succeeded && s.operation_is_write())
        .filter_map(|s| s.resource.as_ref())
        .collect();
    for e in excluded.iter_mut().filter(|e| e.phase == steps::Phase::Arm && e.at >= w.start) {
        let Some(op) = ops.iter().find(|o| o.events.first() == Some(&e.evidence)) else {
            continue;
        };
        let Some(r) = &op.resource_id else { continue };
        let Some(c) = created.iter().find(|c| r.is_within(c) || *r == ***c) else {
            continue;
        };
        let responder = op
            .caller
            .as_ref()
            .and_then(|who| responders.iter().find(|r| r.eq_ignore_ascii_case(who.as_str())));
        if let Some(who) = responder {
            e.reason = format!(
                "{}; touches {}, which the attacker created: a response action by {who}, who the case file names as a responder",
                e.reason,
                c.name()
            );
        } else {
            e.review = true;
            e.reason = format!(
                "{}; touches {}, which the attacker created: review (clean-up by responders, or a second actor?)",
                e.reason,
                c.name()
            );
        }
    }
}

fn warnings_of(scope: &Scope, steps: &[Step], storage: Option<&StorageFindings>) -> Vec<String> {
    let mut warnings = Vec::new();
    if steps.is_empty() && scope.verdict != scope::CaseVerdict::NotEstablished {
        warnings.push("No attacker activity was identified in the evidence provided, although the scope holds leads; check the scope decisions and which sources are missing.".into());
    }
    if let Some(f) = storage {
        if f.requests > 0 && f.attacker_requests == 0 && scope.ips_in_scope().next().is_some() {
            warnings.push("Storage logs were provided but contain no requests from attacker addresses.".into());
        }
    }
    warnings
}

/// The facts about controls that the evidence proves.
fn prove_facts(case: &Case, bundle: &Bundle, steps: &[Step], storage: Option<&StorageFindings>, window: Option<Window>) -> Vec<ProvenFact> {
    let env = &case.environment;
    let mut facts = Vec::new();
    // A set, not a scan per sign-in: a password spray brings thousands of each.
    let ok_signins: std::collections::BTreeSet<&crate::error::Location> = steps
        .iter()
        .filter(|s| s.kind == StepKind::SigninUntrusted)
        .map(|s| &s.evidence[0])
        .collect();
    let attacker_signins: Vec<&crate::bundle::signins::SignIn> = bundle
        .signins
        .provided()
        .map(|v| v.iter().filter(|s| ok_signins.contains(&s.origin)).collect())
        .unwrap_or_default();
    let ca: Vec<_> = attacker_signins
        .iter()
        .filter(|s| s.conditional_access == Some(crate::bundle::signins::CaStatus::NotApplied))
        .map(|s| s.origin.clone())
        .collect();
    if !ca.is_empty() {
        facts.push(fact(Fact::SigninCaNotApplied, ca));
    }
    let sf: Vec<_> = attacker_signins
        .iter()
        .filter(|s| s.single_factor())
        .map(|s| s.origin.clone())
        .collect();
    if !sf.is_empty() {
        facts.push(fact(Fact::SigninSingleFactor, sf));
    }
    let ut: Vec<_> = attacker_signins
        .iter()
        .filter(|s| {
            let country_untrusted = s
                .country
                .as_deref()
                .is_some_and(|c| !env.trusted_countries.is_empty() && !env.country_trusted(c));
            let ip_untrusted = s.ip.is_some_and(|ip| !env.trusted_ip_ranges.is_empty() && !env.ip_trusted(&ip));
            country_untrusted || ip_untrusted
        })
        .map(|s| s.origin.clone())
        .collect();
    if !ut.is_empty() {
        facts.push(fact(Fact::SigninUntrustedLocation, ut));
    }
    let region: Vec<_> = steps
        .iter()
        .filter(|s| s.phase == steps::Phase::Arm && s.outcome == Outcome::Succeeded)
        .filter(|s| {
            s.details
                .as_ref()
                .and_then(|d| d.region.as_ref())
                .is_some_and(|r| !env.approved_regions.is_empty() && !env.region_approved(r))
        })
        .flat_map(|s| s.evidence.iter().take(1).cloned())
        .collect();
    if !region.is_empty() {
        facts.push(fact(Fact::VmUnapprovedRegion, region));
    }
    let refused: Vec<_> = steps
        .iter()
        .filter(|s| s.phase == steps::Phase::Arm && s.outcome == Outcome::Failed && s.outcome_text.starts_with("refused by policy"))
        .flat_map(|s| s.evidence.iter().take(1).cloned())
        .collect();
    if !refused.is_empty() {
        facts.push(fact(Fact::PolicyRefusedAttacker, refused));
    }
    if let Some(f) = storage {
        if !f.account_key_use.is_empty() {
            facts.push(fact(Fact::AccountKeyDataAccess, f.account_key_use.clone()));
        }
        if !f.internet_access.is_empty() {
            facts.push(fact(Fact::StorageReachedFromInternet, f.internet_access.clone()));
        }
    }
    let ra: Vec<_> = steps
        .iter()
        .filter(|s| s.kind == StepKind::RoleAssignment && s.outcome == Outcome::Succeeded)
        .map(|s| s.evidence[0].clone())
        .collect();
    if !ra.is_empty() {
        facts.push(fact(Fact::RoleAssignmentByAttacker, ra));
    }
    let kl: Vec<_> = steps
        .iter()
        .filter(|s| s.kind == StepKind::StorageKeyListing && s.outcome == Outcome::Succeeded)
        .map(|s| s.evidence[0].clone())
        .collect();
    if !kl.is_empty() {
        facts.push(fact(Fact::StorageKeysListed, kl));
    }
    if let Some(alerts) = bundle.alerts.provided() {
        for (f, product) in [
            (Fact::AlertDefenderStorage, "Defender for Storage"),
            (Fact::AlertDefenderArm, "Defender for Resource Manager"),
            (Fact::AlertIdentityProtection, "Entra ID Protection"),
        ] {
            // Only alerts about this incident: fired during or after the attacker's activity.
            let ev: Vec<_> = alerts
                .iter()
                .filter(|a| a.source_product() == product)
                .filter(|a| window.is_some_and(|w| a.at >= w.start))
                .map(|a| a.origin.clone())
                .collect();
            if !ev.is_empty() {
                facts.push(fact(f, ev));
            }
        }
    }
    facts.extend(logging_facts(bundle, window));
    facts
}

/// What the evidence itself shows about logging: which sources cover the attack window, and
/// an Activity log export where the records' own shape proves one (a workspace table or
/// diagnostic-setting records; the platform's 90-day history proves none). With no incident,
/// the records provided show the logging in place over their own period.
fn logging_facts(bundle: &Bundle, window: Option<Window>) -> Vec<ProvenFact> {
    let mut facts = Vec::new();
    for (kind, f) in [
        (crate::bundle::activity::KIND, Fact::ActivityLogCoversIncident),
        (crate::bundle::storage::KIND, Fact::StorageLogsCoverIncident),
    ] {
        // Without an incident, only storage logs prove something by being there.
        if window.is_none() && f == Fact::ActivityLogCoversIncident {
            continue;
        }
        let files: Vec<_> = bundle
            .files
            .iter()
            .filter(|r| r.kind.map(crate::bundle::SourceKind::findings_of) == Some(kind))
            .collect();
        let covering = |r: &&crate::bundle::FileReport| match window {
            Some(w) => r.first.is_some_and(|a| a <= w.start) && r.last.is_some_and(|b| b >= w.start),
            None => r.records > 0,
        };
        if !files.iter().any(covering) {
            continue;
        }
        let mut proven = fact(f, files.iter().map(|r| crate::error::Location::file(&r.path)).collect());
        if window.is_none() && f == Fact::StorageLogsCoverIncident {
            let when = |t: Option<Timestamp>| t.map_or("an unknown time".into(), |t| t.to_string());
            proven.sentence = format!(
                "storage resource logs provided run from {} to {}, so data-plane logging was on then for the storage accounts they record (resource logs exist only while a diagnostic setting or Storage Analytics logging is on)",
                when(files.iter().filter_map(|r| r.first).min()),
                when(files.iter().filter_map(|r| r.last).max()),
            );
        }
        facts.push(proven);
    }
    let exported = bundle
        .activity
        .provided()
        .into_iter()
        .flatten()
        .filter(|e| window.is_none_or(|w| e.at >= w.start && e.at <= w.end))
        .find_map(|e| e.exported.map(|route| (route, e.origin.clone())));
    if let Some((route, at)) = exported {
        let mut f = fact(Fact::ActivityLogExported, vec![at]);
        let which = if window.is_some() { "of the incident" } else { "provided" };
        f.sentence = format!(
            "the Activity log records {which} are {}, which only an export of the subscription's Activity log (a diagnostic setting) produces; the export's retention is not shown",
            route.describe()
        );
        facts.push(f);
    }
    facts
}

/// Resources the attacker used, for judging which recommendations concern this attack: those
/// its steps name, and the storage accounts it read (whose ids the Activity log knows;
/// storage logs name accounts only).
fn touched_resources(steps: &[Step], storage: Option<&StorageFindings>, ops: &[ArmOperation]) -> Vec<crate::types::ResourceId> {
    let mut touched: Vec<crate::types::ResourceId> = steps.iter().filter_map(|s| s.resource.clone()).collect();
    if let Some(f) = storage {
        for t in &f.containers {
            let account = ops
                .iter()
                .filter_map(|o| o.resource_id.as_ref())
                .find_map(|r| r.ancestor_through("storageAccounts", &t.account));
            touched.extend(account);
        }
    }
    touched
}

/// The GDPR assessment with the breach facts this case's evidence establishes.
#[allow(clippy::too_many_arguments)]
fn assess_gdpr_for_case(
    case: &Case,
    g: &crate::case::GdprInput,
    bundle: &Bundle,
    scope: &Scope,
    steps: &[Step],
    storage: Option<&StorageFindings>,
    exposure: &Source<Exposure>,
    response: &response::Response,
    window: Option<Window>,
    activity_to_as_of: bool,
) -> gdpr::GdprAssessment {
    let tallies: &[exposure::ContainerTally] = storage.map(|f| f.containers.as_slice()).unwrap_or(&[]);
    gdpr::assess_gdpr(gdpr::GdprInputs {
        gdpr: g,
        exposure,
        inventory: &case.data,
        facts: gdpr::BreachFacts {
            established: scope.verdict != scope::CaseVerdict::NotEstablished,
            data_read: tallies.iter().any(|t| t.read_requests > 0),
            data_written: tallies.iter().any(|t| t.write_requests > 0),
            data_deleted: tallies.iter().any(|t| t.delete_requests > 0),
            external_attacker: !steps.is_empty() && bundle.alerts.provided().is_some_and(|a| !a.is_empty()),
        },
        tz: case.timezone,
        as_of: case.as_of,
        nature: narrative_facts::nature_of_breach(scope, steps, exposure.provided(), window),
        measures: vec![gdpr_regime::measures_in_words(
            response,
            activity_to_as_of,
            scope.identities_in_scope().count(),
            exposure.provided(),
            &case.data,
        )],
    })
}

/// The first alert that points to attacker activity (not cleared), at or after its start.
fn first_lead_alert(bundle: &Bundle, scope: &Scope, window: Option<Window>) -> Option<Timestamp> {
    bundle.alerts.provided().and_then(|al| {
        al.iter()
            .filter(|x| scope.alerts.iter().any(|j| j.evidence == x.origin && !j.cleared))
            .map(crate::bundle::alerts::Alert::raised_at)
            .filter(|t| window.is_none_or(|w| *t >= w.start))
            .min()
    })
}

/// Facts about how risk and alerts were answered: a risky sign-in let through; the first
/// alert left without a containment action for over an hour (or attacker steps still
/// succeeding an hour after it).
fn response_facts(bundle: &Bundle, all_steps: &[Step], response: &response::Response) -> Vec<ProvenFact> {
    const HOUR: i64 = 3600;
    let mut out = Vec::new();
    let untrusted: std::collections::BTreeSet<&crate::error::Location> = all_steps
        .iter()
        .filter(|st| st.kind == StepKind::SigninUntrusted)
        .map(|st| &st.evidence[0])
        .collect();
    let attacker_signins: Vec<&crate::bundle::signins::SignIn> = bundle
        .signins
        .provided()
        .map(|v| v.iter().filter(|s| untrusted.contains(&s.origin)).collect())
        .unwrap_or_default();
    let risky: Vec<_> = attacker_signins
        .iter()
        .filter(|s| {
            s.succeeded
                && matches!(
                    s.risk_during.as_deref().map(str::to_ascii_lowercase).as_deref(),
                    Some("medium" | "high")
                )
        })
        .map(|s| s.origin.clone())
        .collect();
    if !risky.is_empty() {
        out.push(fact(Fact::SigninRiskAllowed, risky));
    }
    let first_containment = response
        .actions
        .iter()
        .filter(|a| {
            matches!(
                a.status,
                response::ActionStatus::Done | response::ActionStatus::Reported | response::ActionStatus::Partial
            )
        })
        .filter_map(|a| a.at.map(|t| (t, a.evidence.clone())))
        .min_by_key(|(t, _)| *t);
    let start = all_steps.iter().map(|s| s.at).min();
    let first_alert = bundle.alerts.provided().and_then(|al| {
        al.iter()
            .map(|a| (a.raised_at(), &a.origin))
            .filter(|(t, _)| start.is_some_and(|s| *t >= s))
            .min_by_key(|(t, _)| *t)
    });
    let Some((alert_at, alert_origin)) = first_alert else {
        return out;
    };
    let mut ev = vec![alert_origin.clone()];
    let slow_containment = match &first_containment {
        Some((t, e)) if alert_at.seconds_until(*t) > HOUR => {
            ev.extend(e.iter().take(1).cloned());
            true
        }
        Some(_) => false,
        None => true,
    };
    let late_step = all_steps
        .iter()
        .filter(|s| s.outcome == Outcome::Succeeded && alert_at.seconds_until(s.at) > HOUR)
        .max_by_key(|s| s.at);
    // Per step: a response within the hour would have come before the step, or cut short what
    // it left in place (a VM, an address, a rule, a role, listed keys) when containment came
    // later than the hour.
    let lasting = |k: StepKind| {
        matches!(
            k,
            StepKind::VmCreate
                | StepKind::PublicIpCreate
                | StepKind::NsgRuleChange
                | StepKind::RoleAssignment
                | StepKind::StorageKeyListing
        )
    };
    let cut_short: Vec<crate::error::Location> = all_steps
        .iter()
        .filter(|s| s.outcome == Outcome::Succeeded)
        .filter(|s| alert_at.seconds_until(s.at) > HOUR || (slow_containment && lasting(s.kind)))
        .filter_map(|s| s.evidence.first().cloned())
        .collect();
    if !cut_short.is_empty() {
        out.push(fact(Fact::StepAfterAlertHour, cut_short));
    }
    if let Some(last) = late_step {
        ev.extend(last.evidence.iter().take(1).cloned());
    }
    if slow_containment || late_step.is_some() {
        out.push(fact(Fact::AttackContinuedAfterAlert, ev));
    }
    out
}
