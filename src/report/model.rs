//! `ReportModel`: the one structure every output is drawn from (JSON, text, PDFs). It holds
//! the analysis plus the display strings reports share, so a figure reads the same
//! everywhere. It computes no new figures; it only formats what the analysis concluded.
//! Its JSON is documented in README.md ("The report model").

use serde::Serialize;

use crate::analysis::Analysis;
use crate::analysis::{
    self,
    gaps::Verdict,
    response::{ActionKind, ActionStatus},
    scope::CaseVerdict,
    steps::Outcome,
};
use crate::bundle::{FileReport, SourceKind};
use crate::error::{Error, Result};
use crate::types::{thousands, trim_decimals, Bytes, StepKind, Timestamp};
use crate::CaseRun;

/// Schema identifier; bump when a field changes meaning.
pub const SCHEMA: &str = "casefile.model/1";

/// Printed wherever a source or input was not provided.
pub const NOT_PROVIDED: &str = "not provided";

#[derive(Debug, Clone, Serialize)]
pub struct CaseInfo {
    pub id: String,
    pub title: String,
    pub organisation: String,
    pub classification: String,
    pub timezone: String,
    pub as_of: Timestamp,
    pub as_of_local: String,
    /// The case zone's offsets from UTC over the times the reports show (the earliest
    /// timeline entry or response action to the as-of time), so a template prints any of
    /// those instants in the zone: each span holds from its `from` instant until the next.
    pub zone_spans: Vec<ZoneSpan>,
    pub prepared_by: Option<String>,
    /// Optional analyst-written summary from case.toml.
    pub summary: Option<String>,
    /// SHA-256 and size of case.toml, listed with the evidence inventory.
    pub file_sha256: String,
    pub file_bytes: u64,
}

/// From `from` (UTC) on, the case zone is `offset_seconds` ahead of UTC and abbreviated
/// `abbreviation` ("GMT", "CEST", "+03").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZoneSpan {
    pub from: Timestamp,
    pub offset_seconds: i32,
    pub abbreviation: String,
}

/// The zone's spans from `start` to `end`: one per offset in force in that period, the first
/// from `start`. Offsets are sampled hourly (zone changes are hours apart) and each change
/// is then narrowed down to its second.
pub fn zone_spans(tz: chrono_tz::Tz, start: Timestamp, end: Timestamp) -> Vec<ZoneSpan> {
    use chrono::{Offset, SubsecRound, TimeZone};
    use chrono_tz::OffsetName;
    let at = |t: chrono::DateTime<chrono::Utc>| {
        let o = tz.offset_from_utc_datetime(&t.naive_utc());
        (o.fix().local_minus_utc(), o.abbreviation().unwrap_or("").to_string())
    };
    let span = |t: chrono::DateTime<chrono::Utc>| {
        let (offset_seconds, abbreviation) = at(t);
        ZoneSpan {
            from: Timestamp(t),
            offset_seconds,
            abbreviation,
        }
    };
    let mut spans = vec![span(start.0)];
    let hour = chrono::Duration::hours(1);
    let mut t = start.0;
    while t < end.0 {
        let next = (t + hour).min(end.0);
        if at(next) != at(t) {
            // The change lies in (t, next] and at a whole second: halve the interval down
            // to a second or two, then take the first whole second with the new offset.
            let (mut lo, mut hi) = (t, next);
            while (hi - lo).num_seconds() > 1 {
                let mid = lo + chrono::Duration::seconds((hi - lo).num_seconds() / 2);
                if at(mid) == at(lo) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let first = lo.trunc_subsecs(0) + chrono::Duration::seconds(1);
            spans.push(span(if at(first) == at(hi) {
                first
            } else {
                first + chrono::Duration::seconds(1)
            }));
        }
        t = next;
    }
    spans
}

/// The period whose instants the reports print in the case zone: the earliest timeline
/// entry or response action (or the as-of time) to the latest of those and the as-of time.
fn shown_period(a: &Analysis, as_of: Timestamp) -> (Timestamp, Timestamp) {
    let times = a
        .timeline
        .iter()
        .flat_map(|e| [Some(e.at), e.end])
        .chain(a.response.actions.iter().map(|x| x.at))
        .flatten()
        .chain([as_of]);
    let (mut lo, mut hi) = (as_of, as_of);
    for t in times {
        lo = lo.min(t);
        hi = hi.max(t);
    }
    (lo, hi)
}

/// One evidence source and whether it was provided.
#[derive(Debug, Clone, Serialize)]
pub struct SourceStatus {
    pub kind: SourceKind,
    pub label: String,
    pub provided: bool,
    pub files: usize,
    pub records: u64,
    /// What the reports cannot say without it (empty when provided).
    pub consequence: String,
}

/// Figures on the executive page, as display strings ("not provided" when unknown).
#[derive(Debug, Clone, Serialize)]
pub struct KeyFigures {
    /// "Compromise confirmed", "Compromise suspected" or "No compromise established".
    pub verdict: String,
    /// `compromise-confirmed`, `compromise-suspected` or `not-established`.
    pub verdict_id: crate::analysis::scope::CaseVerdict,
    /// First successful attacker action ("breach"), as opposed to first activity.
    pub first_success: String,
    /// The period in which the attacker read data successfully.
    pub data_accessed: String,
    /// Time from the first alert to the first containment action.
    pub time_to_respond: String,
    /// Successful attacker VMs outside the approved regions ("vm-a (Brazil South)").
    pub vms_outside_approved: Vec<String>,
    /// Attacker VM creations that failed, with their reason.
    pub vm_attempts_failed: Vec<String>,
    /// Failed attacker steps, as sentences with their outcome.
    pub failed_steps: Vec<String>,
    /// "Containment confirmed by its effect: …" when it was.
    pub containment_effect: Option<String>,
    /// The compromised identities with what they were observed doing.
    pub identity_described: String,
    /// More than one compromised identity.
    pub identities_plural: bool,
    /// "account(s)" when every compromised identity is a person's, else "identity/identities"
    /// (a service principal is not an account).
    pub identities_noun: &'static str,
    pub data_exfiltrated: String,
    pub data_exfiltrated_bytes: Option<u64>,
    pub objects: String,
    pub containers: String,
    pub records: String,
    pub subjects: String,
    pub attacker_cost: String,
    pub compute_cost: String,
    pub first_attacker_activity: String,
    pub time_to_detect: String,
    pub time_to_contain: String,
    pub gdpr_status: String,
    pub gdpr_deadline: String,
    pub gdpr_deadline_local: String,
    pub identity: String,
    pub attacker_ips: String,
    pub vm_summary: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Improvement {
    pub rank: usize,
    pub control: String,
    pub title: String,
    pub text: String,
    pub verdict: String,
    pub verdict_id: Verdict,
    pub steps: Vec<String>,
    /// Why it ranks where it does (impact on this incident, certainty, effort).
    pub basis: String,
    pub effort: String,
    pub effort_reason: String,
    pub owner_role: String,
    /// The named owner from the case file, or the role in words.
    pub owner: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportModel {
    pub schema: &'static str,
    pub generator: String,
    pub case: CaseInfo,
    pub sources: Vec<SourceStatus>,
    pub evidence: Vec<FileReport>,
    /// Evidence given as a directory or glob: files, records, span and gaps in the hourly
    /// sequence of each (absent when every evidence entry names one file).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence_trees: Vec<crate::input::tree::TreeSummary>,
    pub recommendations: Option<RecommendationsInfo>,
    /// The saved Azure Retail Prices pages, listed with the evidence inventory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retail_prices: Option<crate::soc::prices::PricesFile>,
    pub figures: KeyFigures,
    pub done: Vec<String>,
    pub improvements: Vec<Improvement>,
    pub step_labels: Vec<StepLabel>,
    pub analysis: analysis::Analysis,
    pub assumptions: Vec<analysis::cost::Assumption>,
    pub data_quality: Vec<String>,
    pub units: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecommendationsInfo {
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    pub rows: u64,
    pub assessments: usize,
    pub exported_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepLabel {
    pub kind: StepKind,
    pub label: String,
    /// The step as an attempt, for a step that did not succeed ("VM creation").
    pub attempt_label: String,
    pub technique: String,
    pub technique_name: String,
}

/// The person the case file names for a role, or the role in words.
pub fn owner_name(case: &crate::case::Case, role: crate::posture::catalog::OwnerRole) -> String {
    case.owners
        .iter()
        .find(|o| o.role == role)
        .map(|o| o.name.clone())
        .unwrap_or_else(|| role.label().to_string())
}

/// "at least N" for a figure that is a stated lower bound.
fn at_least(lower_bound: bool, figure: String) -> String {
    if lower_bound {
        format!("at least {figure}")
    } else {
        figure
    }
}

/// Builds the model from a finished run.
pub fn build_model(run: &CaseRun) -> ReportModel {
    let case = &run.case;
    let a = &run.analysis;
    let tz = case.timezone;
    let local = |t: Timestamp| analysis::gdpr::local(t, tz);
    let sources = source_statuses(run);

    let figures = key_figures(run);
    let done = done_actions(a, &local);
    let improvements = improvements(a, case);
    let (data_quality, recommendations) = data_quality(run, &sources);
    let step_labels = step_labels();
    let evidence = evidence_inventory(run);
    ReportModel {
        schema: SCHEMA,
        generator: format!("casefile {}", env!("CARGO_PKG_VERSION")),
        case: CaseInfo {
            id: case.id.clone(),
            title: case.title.clone(),
            organisation: case.organisation.clone(),
            classification: case.classification.clone(),
            timezone: case.timezone.name().to_string(),
            as_of: case.as_of,
            as_of_local: local(case.as_of),
            zone_spans: {
                let (start, end) = shown_period(a, case.as_of);
                zone_spans(tz, start, end)
            },
            prepared_by: case.prepared_by.clone(),
            summary: case.summary.clone(),
            file_sha256: case.sha256.clone(),
            file_bytes: case.bytes,
        },
        sources,
        evidence,
        evidence_trees: run.bundle.tree_summaries.clone(),
        retail_prices: run.retail_prices.clone(),
        recommendations,
        figures,
        done,
        improvements,
        step_labels,
        assumptions: a.cost.assumptions.clone(),
        analysis: a.clone(),
        data_quality,
        units: "Data volumes use decimal units: 1 GB = 1,000,000,000 bytes; 1 MB = 1,000,000 bytes. Times are UTC unless marked local."
            .into(),
    }
}

/// The figures on the executive page, as display strings.
fn key_figures(run: &CaseRun) -> KeyFigures {
    let case = &run.case;
    let a = &run.analysis;
    let tz = case.timezone;
    let local = |t: Timestamp| analysis::gdpr::local(t, tz);
    let exposure = a.exposure.provided();
    let np = || NOT_PROVIDED.to_string();
    let data_exfiltrated = exposure
        .map(|e| at_least(e.uncertain_requests > 0, e.bytes.human()))
        .unwrap_or_else(np);
    let first = a.window.map(|w| w.start);
    // Detection and containment are measured from the breach: the first successful attacker
    // action (failed attempts before it are reconnaissance, not yet a compromise).
    let breach = a.window.and_then(|w| w.first_success).or(first);
    let detected = first_alert(a, first);
    let contained = first_containment(a);
    let gdpr_status = gdpr_status(a);
    let vms_outside_approved = vms_outside_approved(a, &case.environment);
    let vm_attempts_failed: Vec<String> = a
        .steps
        .iter()
        .filter(|s| s.kind == StepKind::VmCreate && s.attempt)
        .map(|s| s.summary.clone())
        .collect();
    let failed_steps = failed_steps(a);
    let vm_summary = vm_summary(a);
    let established = a.scope.verdict != CaseVerdict::NotEstablished;
    let still_open = still_open(a);
    let none_if = |v: String| {
        if established {
            v
        } else {
            "none: no compromise established".to_string()
        }
    };
    let (gdpr_deadline, gdpr_deadline_local) = gdpr_deadlines(a);
    KeyFigures {
        verdict: a.scope.verdict.headline().to_string(),
        verdict_id: a.scope.verdict,
        first_success: a
            .window
            .and_then(|w| w.first_success)
            .map(|f| format!("{} ({})", f, local(f)))
            .unwrap_or_else(|| none_if(np())),
        data_accessed: match a.window.and_then(|w| w.data_access_start.zip(w.data_access_end)) {
            Some((x, y)) => format!("{} to {}", x.display_zoned(tz), y.display_zoned(tz)),
            None if exposure.is_some() => none_if("no successful data read by the attacker".into()),
            None => np(),
        },
        time_to_respond: time_to_respond(detected, contained.as_ref(), established),
        vms_outside_approved,
        vm_attempts_failed,
        failed_steps,
        containment_effect: a.response.contained_by_effect.as_ref().map(|c| c.text.clone()),
        identities_plural: a.scope.identities_in_scope().count() > 1,
        identities_noun: match (
            a.scope.identities_in_scope().all(|u| u.as_str().contains('@')),
            a.scope.identities_in_scope().count() > 1,
        ) {
            (true, false) => "account",
            (true, true) => "accounts",
            (false, false) => "identity",
            (false, true) => "identities",
        },
        identity_described: a
            .scope
            .identities_in_scope()
            .map(|u| match analysis::narrative_facts::observed_role(&a.steps, u) {
                Some(r) => format!("{} (observed: {r})", a.scope.label(u)),
                None => a.scope.label(u),
            })
            .collect::<Vec<_>>()
            .join(", "),
        data_exfiltrated: if established {
            data_exfiltrated.clone()
        } else {
            "none: no compromise established".into()
        },
        data_exfiltrated_bytes: exposure.filter(|_| established).map(|e| e.bytes.0),
        objects: exposure
            .map(|e| {
                at_least(
                    e.distinct_objects_at_least || e.uncertain_requests > 0,
                    thousands(e.distinct_objects),
                )
            })
            .map(none_if)
            .unwrap_or_else(np),
        containers: exposure
            .map(|e| listed_or(e.containers_read.iter(), "none"))
            .map(none_if)
            .unwrap_or_else(np),
        records: up_to(exposure, |e| e.records, established),
        subjects: up_to(exposure, |e| e.subjects, established),
        attacker_cost: none_if(a.cost.total_display.clone()),
        compute_cost: none_if(a.cost.compute_display.clone()),
        first_attacker_activity: first.map(|f| format!("{} ({})", f, local(f))).unwrap_or_else(|| none_if(np())),
        time_to_detect: time_to_detect(breach, detected, established, tz),
        time_to_contain: time_to_contain(a, breach, contained.as_ref(), &still_open, established, tz),
        gdpr_status,
        gdpr_deadline,
        gdpr_deadline_local,
        identity: listed(a.scope.identities_in_scope().map(|u| a.scope.label(u))),
        attacker_ips: listed(a.scope.ips_in_scope()),
        vm_summary,
    }
}

/// "none: no compromise established" in place of `v` when no compromise was established.
fn unless_established(established: bool, v: String) -> String {
    if established {
        v
    } else {
        "none: no compromise established".to_string()
    }
}

/// From the first alert to the first containment action.
fn time_to_respond(detected: Option<Timestamp>, contained: Option<&(Timestamp, String)>, established: bool) -> String {
    let none_if = |v: String| unless_established(established, v);
    let np = || NOT_PROVIDED.to_string();
    match (detected, contained) {
        _ if !established => none_if(np()),
        (Some(d), Some((t, what))) if *t >= d => format!(
            "{} (first alert {} → {what} at {})",
            crate::types::duration_words(d.seconds_until(*t)),
            d.hhmm(),
            t.hhmm()
        ),
        (Some(_), Some((t, what))) => format!("contained before the first alert ({what} at {})", t.hhmm()),
        (Some(d), None) => format!("no containment action shown since the first alert at {}", d.hhmm()),
        _ => none_if(np()),
    }
}

/// From the breach to the first alert about the attacker.
fn time_to_detect(breach: Option<Timestamp>, detected: Option<Timestamp>, established: bool, tz: chrono_tz::Tz) -> String {
    let none_if = |v: String| unless_established(established, v);
    let np = || NOT_PROVIDED.to_string();
    match (breach, detected) {
        (Some(f), Some(d)) if d < f => format!(
            "alerted before the first successful attacker action (first alert {})",
            d.hhmm_zoned(tz)
        ),
        (Some(f), Some(d)) => format!(
            "{} (first alert {})",
            crate::types::duration_words(f.seconds_until(d)),
            d.hhmm_zoned(tz)
        ),
        (Some(_), None) => "no alert about the attacker's activity in the evidence".into(),
        _ => none_if(np()),
    }
}

/// From the breach to containment (by effect, else by the first containment action). While
/// any containment action is still open, no time to contain is given: containment is not
/// complete, with the number of open actions and when the first action came.
fn time_to_contain(
    a: &Analysis,
    breach: Option<Timestamp>,
    contained: Option<&(Timestamp, String)>,
    still_open: &str,
    established: bool,
    tz: chrono_tz::Tz,
) -> String {
    let none_if = |v: String| unless_established(established, v);
    let np = || NOT_PROVIDED.to_string();
    let open = open_actions(a);
    if open > 0 && established {
        let n = crate::types::counted(open as u64, "containment action", "containment actions");
        let first = match (breach, contained, &a.response.contained_by_effect) {
            // What stopped them is told once, by the containment effect's own sentence.
            (Some(f), _, Some(c)) => format!(
                "; attacker requests stopped succeeding after {}, {} after the first successful attacker action",
                c.at.hhmm_zoned(tz),
                crate::types::duration_words(f.seconds_until(c.at)),
            ),
            (Some(f), Some((t, what)), None) => format!(
                "; first containment action: {} at {}, {} after the first successful attacker action",
                crate::types::lower_first(what),
                t.hhmm_zoned(tz),
                crate::types::duration_words(f.seconds_until(*t))
            ),
            _ => "; no containment action is shown by the evidence or reported".into(),
        };
        return format!("not complete ({n} still open{first})");
    }
    match (breach, contained, &a.response.contained_by_effect) {
        (Some(f), _, Some(c)) if c.complete => format!(
            "{} (contained by effect at {}: {}{still_open})",
            crate::types::duration_words(f.seconds_until(c.at)),
            c.at.hhmm_zoned(tz),
            c.by
        ),
        (Some(f), _, Some(c)) => format!(
            "not yet complete (attacker requests stopped succeeding after {}, {} in: {}{still_open})",
            c.at.hhmm_zoned(tz),
            crate::types::duration_words(f.seconds_until(c.at)),
            c.by
        ),
        (Some(f), Some((t, what)), None) => {
            format!(
                "{} ({what} at {}{still_open})",
                crate::types::duration_words(f.seconds_until(*t)),
                t.hhmm_zoned(tz)
            )
        }
        (Some(_), None, None) => "not yet contained according to the evidence".into(),
        _ => none_if(np()),
    }
}

/// A comma-separated list, or "none identified".
fn listed<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    listed_or(items, "none identified")
}

/// A comma-separated list, or `empty`.
fn listed_or<T: std::fmt::Display>(items: impl Iterator<Item = T>, empty: &str) -> String {
    let v: Vec<String> = items.map(|u| u.to_string()).collect();
    if v.is_empty() {
        empty.into()
    } else {
        v.join(", ")
    }
}

/// "up to N" records or subjects read, "none" when nothing was read.
fn up_to(
    exposure: Option<&crate::analysis::exposure::Exposure>,
    figure: impl Fn(&crate::analysis::exposure::Exposure) -> Option<u64>,
    established: bool,
) -> String {
    let np = || NOT_PROVIDED.to_string();
    match exposure {
        Some(e) if e.read_requests == 0 || !established => unless_established(established, "none".into()),
        Some(e) => figure(e).map(|r| format!("up to {}", thousands(r))).unwrap_or_else(np),
        None => np(),
    }
}

/// The Art. 33 deadline in UTC and local time, or why there is none.
fn gdpr_deadlines(a: &Analysis) -> (String, String) {
    match &a.gdpr {
        Some(g) if !g.breach_established => (
            "not applicable: no personal data breach established".into(),
            "not applicable".into(),
        ),
        Some(g) => (g.deadline.deadline.to_string(), g.deadline.deadline_local.clone()),
        None => (NOT_PROVIDED.to_string(), NOT_PROVIDED.to_string()),
    }
}

/// Each source the reports expect, whether it was provided and what is lost without it.
fn source_statuses(run: &CaseRun) -> Vec<SourceStatus> {
    run.sources
        .expected()
        .map(|(kind, consequence)| {
            let files: Vec<&FileReport> = run
                .bundle
                .files
                .iter()
                .filter(|f| f.kind.map(SourceKind::findings_of) == Some(kind))
                .collect();
            SourceStatus {
                kind,
                label: kind.describe().to_string(),
                provided: !files.is_empty(),
                files: files.len(),
                records: files.iter().map(|f| f.records).sum(),
                consequence: if files.is_empty() { consequence.to_string() } else { String::new() },
            }
        })
        .collect()
}

/// The first alert about the attacker, as the timeline shows it (not before `first`).
fn first_alert(a: &Analysis, first: Option<Timestamp>) -> Option<Timestamp> {
    // The first alert as the timeline shows it: one time per event on every page.
    a.timeline
        .iter()
        .filter(|e| e.phase == crate::analysis::steps::Phase::Alert)
        .filter(|e| a.scope.alerts.iter().any(|j| j.evidence == e.evidence && !j.cleared))
        .map(|e| e.at)
        .filter(|t| first.is_none_or(|f| *t >= f))
        .min()
}

/// The first containment action done (rotated keys, contained identity, reverted role)
/// and its wording.
fn first_containment(a: &Analysis) -> Option<(Timestamp, String)> {
    a.response
        .actions
        .iter()
        .filter(|x| matches!(x.status, ActionStatus::Done | ActionStatus::Reported | ActionStatus::Partial))
        .filter(|x| {
            matches!(
                x.kind,
                ActionKind::RotateKeys | ActionKind::ContainIdentity | ActionKind::RevertRoleAssignment
            )
        })
        .filter_map(|x| x.at.map(|t| (t, x.done_line.clone())))
        .min_by_key(|(t, _)| *t)
}

/// One sentence on the GDPR assessment: severity and the Art. 33/34 duties, or why not.
fn gdpr_status(a: &Analysis) -> String {
    match &a.gdpr {
        None => "not assessed: the case file records no GDPR details (awareness time, controller, policy)".to_string(),
        Some(g) if !g.breach_established => "no personal data breach established: no notification duty".to_string(),
        Some(g) => match (&g.severity, g.art33.required, g.art34.required) {
            (None, Some(false), Some(false)) => format!("no notification duty: {}", g.art33.reason),
            (Some(s), Some(a33), Some(a34)) => format!(
                "Severity {} (SE {}): {}; {}",
                s.band.name(),
                trim_decimals(s.se, 2),
                if a33 {
                    "notify the supervisory authority (Art. 33)"
                } else {
                    "no Art. 33 notification under the stated policy"
                },
                if a34 {
                    "inform data subjects (Art. 34)"
                } else {
                    "no Art. 34 communication under the stated policy"
                }
            ),
            _ => format!("not scored: {} not provided", g.missing_inputs.join("; ")),
        },
    }
}

/// The attacker's VMs in a region the case does not approve.
fn vms_outside_approved(a: &Analysis, env: &crate::case::Environment) -> Vec<String> {
    a.cost
        .vms
        .iter()
        .filter(|v| {
            v.region
                .as_ref()
                .is_some_and(|r| !env.approved_regions.is_empty() && !env.region_approved(r))
        })
        .map(|v| format!("{} ({})", v.name, v.region.as_ref().map(|r| r.display_name()).unwrap_or("")))
        .collect()
}

/// The attacker's failed steps; consecutive ones with the same sentence (a run of
/// password guesses) read as one.
fn failed_steps(a: &Analysis) -> Vec<String> {
    // Consecutive failed steps with the same sentence (a run of password guesses) read as one.
    let mut failed_steps: Vec<String> = Vec::new();
    let mut group: Option<(&crate::analysis::steps::Step, &crate::analysis::steps::Step, usize)> = None;
    let flush = |g: Option<(&crate::analysis::steps::Step, &crate::analysis::steps::Step, usize)>, out: &mut Vec<String>| {
        if let Some((first, last, n)) = g {
            out.push(if n == 1 {
                format!("{} {}", first.at.hhmm_utc(), first.summary)
            } else if first.at.0.date_naive() == last.at.0.date_naive() {
                format!("{}–{} {} × {}", first.at.hhmm(), last.at.hhmm_utc(), n, first.summary)
            } else {
                let day_time = |t: crate::types::Timestamp| t.0.format("%Y-%m-%d %H:%M").to_string();
                format!("{} – {} UTC {} × {}", day_time(first.at), day_time(last.at), n, first.summary)
            });
        }
    };
    for st in a.steps.iter().filter(|s| s.attempt) {
        group = match group {
            Some((first, _, n)) if first.summary == st.summary => Some((first, st, n + 1)),
            other => {
                flush(other, &mut failed_steps);
                Some((st, st, 1))
            }
        };
    }
    flush(group, &mut failed_steps);
    failed_steps
}

/// The attacker's VMs with size and region ("none found" only when the Activity log was read).
fn vm_summary(a: &Analysis) -> String {
    let np = || NOT_PROVIDED.to_string();
    let vms = &a.cost.vms;
    if vms.is_empty() {
        if a.operations_of_attacker.is_provided() {
            "none found".to_string()
        } else {
            np()
        }
    } else {
        vms.iter()
            .map(|v| {
                format!(
                    "{} ({}, {})",
                    v.name,
                    v.size.as_deref().unwrap_or("size unknown"),
                    v.region
                        .as_ref()
                        .map(|r| r.display_name().to_string())
                        .unwrap_or_else(|| "region unknown".into())
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Containment of access is not the end of the response: what is still open, as a clause.
/// Containment actions still open or only partly done.
fn open_actions(a: &Analysis) -> usize {
    a.response
        .actions
        .iter()
        .filter(|x| matches!(x.status, ActionStatus::Outstanding | ActionStatus::Partial))
        .count()
}

fn still_open(a: &Analysis) -> String {
    match open_actions(a) {
        0 => String::new(),
        1 => "; 1 containment action still open".to_string(),
        n => format!("; {n} containment actions still open"),
    }
}

/// The response actions done, reported or partly done, with their local time.
fn done_actions(a: &Analysis, local: &dyn Fn(Timestamp) -> String) -> Vec<String> {
    let mut done: Vec<_> = a
        .response
        .actions
        .iter()
        .filter(|x| matches!(x.status, ActionStatus::Done | ActionStatus::Reported | ActionStatus::Partial))
        .collect();
    // In time order, undated last.
    done.sort_by_key(|x| (x.at.is_none(), x.at));
    done.into_iter()
        .map(|x| {
            // A reported action carries its "(reported)" mark; the mark is explained once. A
            // partly done one says what is missing after the time of what was done.
            let when = x.at.map(|t| format!(" ({})", local(t))).unwrap_or_default();
            match x.done_line.split_once("; ") {
                Some((done, missing)) if x.status == ActionStatus::Partial => format!("{done}{when}; {missing}"),
                _ => format!("{}{when}", x.done_line),
            }
        })
        .collect()
}

/// The ranked improvements, each with its control, verdict, steps and owner.
fn improvements(a: &Analysis, case: &crate::case::Case) -> Vec<Improvement> {
    a.ranking
        .iter()
        .filter_map(|r| {
            let c = a.gaps.controls.iter().find(|c| c.id.0 == r.control)?;
            Some(Improvement {
                rank: r.rank,
                control: c.id.0.clone(),
                title: c.title.clone(),
                text: c.improvement.clone(),
                verdict: c.verdict_label.clone(),
                verdict_id: c.verdict,
                steps: c
                    .affects
                    .iter()
                    .map(|(k, e)| {
                        format!(
                            "{} ({})",
                            k.label(),
                            serde_json::to_value(e)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_string))
                                .unwrap_or_default()
                        )
                    })
                    .collect(),
                basis: r.basis.clone(),
                effort: r.effort.label().to_string(),
                effort_reason: r.effort_reason.clone(),
                owner_role: r.owner.key().to_string(),
                owner: owner_name(case, r.owner),
            })
        })
        .collect()
}

/// What limits the evidence (per-file warnings, unread columns, steps without a final
/// status, sources not provided), and the recommendations export's details.
fn data_quality(run: &CaseRun, sources: &[SourceStatus]) -> (Vec<String>, Option<RecommendationsInfo>) {
    let a = &run.analysis;
    let mut data_quality: Vec<String> = a.warnings.clone();
    for f in &run.bundle.files {
        for w in &f.warnings {
            data_quality.push(format!("{}: {w}", f.path.display()));
        }
        if !f.unknown_columns.is_empty() {
            data_quality.push(format!(
                "{}: {} columns not used by casefile",
                f.path.display(),
                f.unknown_columns.len()
            ));
        }
    }
    for s in a.steps.iter().filter(|s| s.outcome == Outcome::Unknown) {
        data_quality.push(format!("{} {}: started but no final status in the export", s.id, s.action));
    }
    for s in sources.iter().filter(|s| !s.provided) {
        data_quality.push(format!("{} not provided: {}", s.label, s.consequence));
    }
    let recommendations = run.export.provided().map(|e| RecommendationsInfo {
        file: e.path.display().to_string(),
        sha256: e.sha256.clone(),
        bytes: e.bytes,
        rows: e.records,
        assessments: e.items.len(),
        exported_at: e.exported_at,
    });
    if recommendations.is_none() {
        data_quality.push("recommendations export not provided: control gaps rest on the evidence alone".into());
    }
    if let Some(e) = run.export.provided() {
        data_quality.extend(e.warnings.iter().map(|w| format!("{}: {w}", e.path.display())));
    }
    (data_quality, recommendations)
}

/// Every step kind with its label and ATT&CK techniques.
fn step_labels() -> Vec<StepLabel> {
    StepKind::ALL
        .iter()
        .map(|k| StepLabel {
            kind: *k,
            label: k.label().to_string(),
            attempt_label: k.attempt_label().to_string(),
            technique: analysis::attack::techniques(*k).iter().map(|t| t.id).collect::<Vec<_>>().join(", "),
            technique_name: analysis::attack::techniques(*k)
                .iter()
                .map(|t| t.name)
                .collect::<Vec<_>>()
                .join("; "),
        })
        .collect()
}

/// The evidence inventory, paths relative to the bundle.
fn evidence_inventory(run: &CaseRun) -> Vec<FileReport> {
    let mut evidence = run.bundle.files.clone();
    for f in &mut evidence {
        if let Ok(rel) = f.path.strip_prefix(&run.case.dir) {
            f.path = rel.to_path_buf();
        }
    }
    evidence
}

/// Pretty JSON of the model, paths relative to the bundle so output is machine-independent.
///
/// # Errors
/// A render error when the model cannot be serialised.
pub fn to_json(model: &ReportModel) -> Result<String> {
    let mut s = serde_json::to_string_pretty(model).map_err(|e| Error::Render {
        report: "model.json".into(),
        message: e.to_string(),
    })?;
    s.push('\n');
    Ok(s)
}

/// Shorthand for display of optional bytes.
pub fn bytes_or_np(b: Option<Bytes>) -> String {
    b.map(|b| b.human()).unwrap_or_else(|| NOT_PROVIDED.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp(chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&chrono::Utc))
    }

    #[test]
    fn zone_spans_change_at_the_second_the_zone_does() {
        // Europe/Berlin left CET for CEST at 2025-03-30 01:00:00 UTC.
        let spans = zone_spans(chrono_tz::Europe::Berlin, ts("2025-03-29T18:20:05Z"), ts("2025-03-30T09:00:00Z"));
        assert_eq!(spans.len(), 2, "{spans:?}");
        assert_eq!((spans[0].from, spans[0].offset_seconds), (ts("2025-03-29T18:20:05Z"), 3600));
        assert_eq!(spans[0].abbreviation, "CET");
        assert_eq!((spans[1].from, spans[1].offset_seconds), (ts("2025-03-30T01:00:00Z"), 7200));
        assert_eq!(spans[1].abbreviation, "CEST");
        // From an instant with a fraction of a second, the change is still found at its second.
        let spans = zone_spans(
            chrono_tz::Europe::Berlin,
            ts("2025-03-29T18:20:05.467Z"),
            ts("2025-03-30T09:00:00Z"),
        );
        assert_eq!(spans[1].from, ts("2025-03-30T01:00:00Z"));
        let one = zone_spans(chrono_tz::Asia::Kolkata, ts("2025-03-29T18:20:05Z"), ts("2025-05-30T09:00:00Z"));
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].offset_seconds, 19800);
    }
}
