//! GDPR notification assessment: ENISA severity SE = DPC × EI + CB (ENISA, "Recommendations
//! for a methodology of the assessment of severity of personal data breaches", v1.0, 2013),
//! each factor with its reason; the band; the duties under Art. 33 and Art. 34 according to an
//! explicit, configurable band→duty policy (ENISA fixes no cut-off); the 72-hour deadline
//! counted in calendar hours from awareness (EDPB Guidelines 9/2022); and the Art. 33(3)
//! content, "not provided" wherever the bundle cannot say.

use chrono::TimeZone;
use chrono_tz::Tz;
use serde::Serialize;

use super::exposure::Exposure;
use crate::bundle::Source;
use crate::case::{Band, CbElement, DataAsset, DataClass, GdprInput};
use crate::types::{thousands, Timestamp};

/// Art. 33(1): "not later than 72 hours after having become aware of it".
pub const NOTIFICATION_HOURS: i64 = 72;

/// One scored factor with the reason for its score.
#[derive(Debug, Clone, Serialize)]
pub struct Factor {
    pub name: String,
    pub score: f64,
    pub reason: String,
}

/// One ENISA band with its lower bound and ENISA's description (§3.2).
#[derive(Debug, Clone, Serialize)]
pub struct ScaleBand {
    pub band: Band,
    pub from: f64,
    pub description: &'static str,
}

/// The ENISA scale, printed next to the score.
pub const SCALE: [ScaleBand; 4] = [
    ScaleBand {
        band: Band::Low,
        from: 0.0,
        description: "individuals are not affected or may encounter a few inconveniences",
    },
    ScaleBand {
        band: Band::Medium,
        from: 2.0,
        description: "significant inconveniences, overcome despite a few difficulties",
    },
    ScaleBand {
        band: Band::High,
        from: 3.0,
        description: "significant consequences, overcome albeit with serious difficulties",
    },
    ScaleBand {
        band: Band::VeryHigh,
        from: 4.0,
        description: "significant, or even irreversible, consequences",
    },
];

#[derive(Debug, Clone, Serialize)]
pub struct Severity {
    pub scale: [ScaleBand; 4],
    pub dpc: Factor,
    pub ei: Factor,
    pub cb: Vec<Factor>,
    pub cb_total: f64,
    pub se: f64,
    pub band: Band,
    pub formula: String,
}

/// A deadline in UTC and in the case's zone.
#[derive(Debug, Clone, Serialize)]
pub struct Deadline {
    /// The notification period in hours (Art. 33(1): 72).
    pub period_hours: i64,
    pub aware_at: Timestamp,
    pub aware_local: String,
    pub deadline: Timestamp,
    pub deadline_local: String,
    /// Hours from the report's as-of time to the deadline (negative when passed).
    pub hours_left_at_as_of: i64,
}

/// A field of the Art. 33(3) notification; `value` None prints as "not provided".
#[derive(Debug, Clone, Serialize)]
pub struct NotificationField {
    pub article: String,
    pub label: String,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Duty {
    pub required: Option<bool>,
    pub reason: String,
}

/// The ENISA score of one container the attacker read.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetSeverity {
    pub account: String,
    pub container: String,
    /// False when the inventory declares the container holds no personal data.
    pub personal_data: bool,
    /// None when the container holds no personal data or its content is unknown.
    pub dpc: Option<Factor>,
    pub se: Option<f64>,
    pub band: Option<Band>,
    pub formula: Option<String>,
    /// Why it was or was not scored.
    pub note: String,
}

/// Who the Art. 34 communication goes to: the people in the datasets whose own severity meets
/// the controller's threshold for informing data subjects.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectScope {
    /// "account/container" of each dataset included.
    pub included: Vec<String>,
    /// Datasets read but below the threshold, each with its band and, where the inventory
    /// gives it, its people ("account/container (Medium; up to 148,500 people)").
    pub excluded: Vec<String>,
    /// Sum of the included datasets' subjects; None when one lacks the figure.
    pub subjects: Option<u64>,
    /// Sum of the subjects of every personal-data dataset read (included or not); None when
    /// one lacks the figure. Beside `subjects`, what the scoping leaves out.
    pub subjects_read: Option<u64>,
    pub categories: Vec<String>,
    pub subject_categories: Vec<String>,
    /// Likely consequences from the classes of data in the included datasets.
    pub consequences: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GdprAssessment {
    /// False when the case verdict is "no compromise established": no breach, no duty.
    pub breach_established: bool,
    /// The overall severity (the highest dataset's); None when it could not be scored.
    pub severity: Option<Severity>,
    /// Every container the attacker read, scored on its own.
    pub datasets: Vec<DatasetSeverity>,
    pub missing_inputs: Vec<String>,
    pub flags: Vec<String>,
    pub policy: String,
    pub art33: Duty,
    pub art34: Duty,
    /// Who the Art. 34 communication covers; Some only when it is required.
    pub art34_scope: Option<SubjectScope>,
    pub deadline: Deadline,
    pub fields: Vec<NotificationField>,
    pub controller: Option<String>,
    pub contact: Option<String>,
    pub lead_authority: Option<String>,
    pub aware_basis: Option<String>,
}

/// Formats an instant in the case's zone with the zone's abbreviation.
pub fn local(t: Timestamp, tz: Tz) -> String {
    tz.from_utc_datetime(&t.0.naive_utc()).format("%Y-%m-%d %H:%M %Z").to_string()
}

fn band_of(se: f64) -> Band {
    // ENISA §3.2, lower-inclusive thresholds.
    if se < 2.0 {
        Band::Low
    } else if se < 3.0 {
        Band::Medium
    } else if se < 4.0 {
        Band::High
    } else {
        Band::VeryHigh
    }
}

/// What the evidence says about the circumstances of the breach.
pub struct BreachFacts {
    /// The case verdict established (or suspects) a compromise.
    pub established: bool,
    pub data_read: bool,
    pub data_written: bool,
    pub data_deleted: bool,
    pub external_attacker: bool,
}

pub struct GdprInputs<'a> {
    pub gdpr: &'a GdprInput,
    pub exposure: &'a Source<Exposure>,
    pub inventory: &'a [DataAsset],
    pub facts: BreachFacts,
    pub tz: Tz,
    pub as_of: Timestamp,
    pub nature: String,
    pub measures: Vec<String>,
}

/// What the datasets tell: each read container's score, and what is missing.
struct Datasets {
    list: Vec<DatasetSeverity>,
    missing: Vec<String>,
    /// Some container read holds personal data.
    personal: bool,
}

fn score_datasets(exposure: &Exposure, inventory: &[DataAsset], ei: Option<&Factor>, cb_total: f64) -> Datasets {
    let mut out = Datasets {
        list: Vec::new(),
        missing: Vec::new(),
        personal: false,
    };
    for c in exposure.containers.iter().filter(|c| c.read_requests > 0) {
        let place = format!("{}/{}", c.account, c.container);
        let asset = inventory.iter().find(|d| d.account == c.account && d.container == c.container);
        let (personal, dpc, note) = match asset {
            None => {
                out.missing.push(format!(
                    "what {place} holds (add it to the data inventory in the case file: its personal data categories, or that it holds none)"
                ));
                (true, None, "content unknown: not in the data inventory".to_string())
            }
            Some(a) if !a.personal_data => (false, None, "holds no personal data (data inventory)".to_string()),
            Some(a) => {
                let best = a.categories.iter().max_by_key(|cat| cat.score).map(|cat| Factor {
                    name: "DPC (data processing context)".into(),
                    score: f64::from(cat.score),
                    reason: match &cat.reason {
                        Some(r) => format!(
                            "{} in {place}: {:?} data, basic score {}, adjusted to {}: {r}",
                            cat.name,
                            cat.class,
                            cat.class.basic_score(),
                            cat.score
                        ),
                        None => format!("{} in {place}: {:?} data, basic score {}", cat.name, cat.class, cat.score),
                    },
                });
                (true, best, "scored from its highest data category".to_string())
            }
        };
        out.personal |= personal && asset.is_some();
        let se = match (&dpc, ei) {
            (Some(d), Some(e)) => Some(d.score * e.score + cb_total),
            _ => None,
        };
        out.list.push(DatasetSeverity {
            account: c.account.clone(),
            container: c.container.clone(),
            personal_data: personal,
            formula: match (&dpc, ei, se) {
                (Some(d), Some(e), Some(se)) => Some(format!("{} × {} + {} = {}", d.score, e.score, cb_total, se)),
                _ => None,
            },
            band: se.map(band_of),
            se,
            dpc,
            note,
        });
    }
    out
}

fn circumstances(g: &GdprInput, facts: &BreachFacts) -> Vec<Factor> {
    let evidence_cb = [
        (
            CbElement::Confidentiality,
            "Loss of confidentiality",
            if facts.data_read { 0.5 } else { 0.0 },
            if facts.data_read {
                "data was read by the attacker; the recipients are unknown"
            } else {
                "no data reads by the attacker are in the evidence"
            },
        ),
        (
            CbElement::Integrity,
            "Loss of integrity",
            if facts.data_written { 0.25 } else { 0.0 },
            if facts.data_written {
                "the attacker wrote to the data store; originals assumed recoverable from backups"
            } else {
                "no attacker writes to data are in the evidence"
            },
        ),
        (
            CbElement::Availability,
            "Loss of availability",
            if facts.data_deleted { 0.25 } else { 0.0 },
            if facts.data_deleted {
                "the attacker deleted data; temporary unavailability assumed"
            } else {
                "no attacker deletions of data are in the evidence"
            },
        ),
        (
            CbElement::Malicious,
            "Malicious intent",
            if facts.external_attacker { 0.5 } else { 0.0 },
            if facts.external_attacker {
                "an unauthorised party acted intentionally (compromised account, alerts fired)"
            } else {
                "no evidence of intentional action"
            },
        ),
    ];
    evidence_cb
        .into_iter()
        .map(
            |(element, name, score, reason)| match g.circumstances.iter().find(|o| o.element == element) {
                Some(o) => Factor {
                    name: name.into(),
                    score: o.score,
                    reason: format!("{} (set by the controller; the evidence alone gives {score})", o.reason),
                },
                None => Factor {
                    name: name.into(),
                    score,
                    reason: format!("{reason} (from the evidence)"),
                },
            },
        )
        .collect()
}

/// Likely consequences from the classes of data actually read (ENISA Annex 1 classes).
fn consequences(exposure: &Exposure, inventory: &[DataAsset]) -> Option<String> {
    let read = exposure.containers.iter().filter(|c| c.read_requests > 0);
    consequences_of(read.filter_map(|c| inventory.iter().find(|d| d.account == c.account && d.container == c.container)))
}

/// Likely consequences from the classes of data in the given datasets.
fn consequences_of<'a>(assets: impl Iterator<Item = &'a DataAsset>) -> Option<String> {
    let classes: Vec<DataClass> = assets.flat_map(|a| a.categories.iter().map(|cat| cat.class)).collect();
    if classes.is_empty() {
        return None;
    }
    let mut c = Vec::new();
    if classes.contains(&DataClass::Simple) {
        c.push("unwanted contact, phishing or impersonation attempts using the disclosed identification data");
    }
    if classes.contains(&DataClass::Behavioural) {
        c.push("profiling or targeted manipulation using the disclosed behavioural data");
    }
    if classes.contains(&DataClass::Financial) {
        c.push("financial fraud or loss using the disclosed financial information");
    }
    if classes.contains(&DataClass::Sensitive) {
        c.push("discrimination, distress or other serious harm from disclosure of special-category data");
    }
    Some(c.join("; "))
}

pub fn assess_gdpr(input: GdprInputs) -> GdprAssessment {
    let g = input.gdpr;
    let mut missing = Vec::new();
    let ei = match &g.ease_of_identification {
        Some((level, reason)) => Some(Factor {
            name: "EI (ease of identification)".into(),
            score: level.score(),
            reason: format!("{}: {reason}", level.name()),
        }),
        None => {
            missing.push("the ease of identification of the data subjects (the controller's judgement, in the case file)".into());
            None
        }
    };
    let cb = circumstances(g, &input.facts);
    let cb_total: f64 = cb.iter().fold(0.0, |a, f| a + f.score);
    let data = match input.exposure {
        Source::Provided(exp) if input.facts.established => Some(score_datasets(exp, input.inventory, ei.as_ref(), cb_total)),
        Source::NotProvided if input.facts.established => {
            missing.push("storage logs (which data was read)".to_string());
            None
        }
        _ => None,
    };
    if let Some(d) = &data {
        missing.extend(d.missing.iter().cloned());
    }
    let datasets = data.as_ref().map(|d| d.list.clone()).unwrap_or_default();
    let worst = datasets
        .iter()
        .filter(|d| d.se.is_some())
        .max_by(|a, b| a.se.partial_cmp(&b.se).unwrap_or(std::cmp::Ordering::Equal));
    let severity = match (worst, &ei) {
        (Some(w), Some(ei)) if missing.is_empty() => w.dpc.clone().map(|dpc| {
            let se = dpc.score * ei.score + cb_total;
            Severity {
                scale: SCALE,
                formula: format!("SE = DPC × EI + CB = {} × {} + {} = {}", dpc.score, ei.score, cb_total, se),
                band: band_of(se),
                se,
                dpc,
                ei: ei.clone(),
                cb: cb.clone(),
                cb_total,
            }
        }),
        _ => None,
    };
    let exposure = input.exposure.provided().filter(|_| input.facts.established);
    let subjects = exposure.and_then(|e| e.subjects);
    let records = exposure.and_then(|e| e.records);
    let mut flags = Vec::new();
    if subjects.is_some_and(|s| s > 100) {
        flags.push("More than 100 individuals affected (ENISA §3.3 flag)".into());
    }
    let policy = format!(
        "The controller's notification policy, recorded in the case file: notify the supervisory authority (Art. 33) when severity is {} or higher; communicate to data subjects (Art. 34) when {} or higher. ENISA fixes no cut-off.",
        g.notify_authority_from.name(),
        g.notify_subjects_from.name()
    );
    let (art33, mut art34) = decide_duties(g, &input.facts, data.as_ref(), severity.as_ref(), &missing);
    let art34_scope = (art34.required == Some(true)).then(|| subject_scope(g, &datasets, input.inventory));
    if let Some(s) = art34_scope.as_ref().filter(|s| !s.excluded.is_empty()) {
        art34.reason = format!(
            "{}; the communication covers the {}people in {} (the datasets at or above {}); not included: {}, below the threshold",
            art34.reason,
            s.subjects
                .map(|n| format!("up to {} ", crate::types::thousands(n)))
                .unwrap_or_default(),
            s.included.join(", "),
            g.notify_subjects_from.name(),
            s.excluded.join(", ")
        );
    }
    let deadline_t = g.aware_at.plus_seconds(NOTIFICATION_HOURS * 3600);
    let deadline = Deadline {
        period_hours: NOTIFICATION_HOURS,
        aware_at: g.aware_at,
        aware_local: local(g.aware_at, input.tz),
        deadline: deadline_t,
        deadline_local: local(deadline_t, input.tz),
        hours_left_at_as_of: input.as_of.seconds_until(deadline_t) / 3600,
    };
    let fields = notification_fields(&input, exposure, subjects, records, g);
    GdprAssessment {
        breach_established: input.facts.established,
        severity,
        datasets,
        missing_inputs: missing,
        flags,
        policy,
        art33,
        art34,
        art34_scope,
        deadline,
        fields,
        controller: g.controller.clone(),
        contact: g.contact.clone(),
        lead_authority: g.lead_authority.clone(),
        aware_basis: g.aware_basis.clone(),
    }
}

/// Art. 33 and Art. 34: decided whenever a read container holds personal data; "not decided"
/// only when a read container's content is unknown or a factor is missing.
fn decide_duties(
    g: &GdprInput,
    facts: &BreachFacts,
    data: Option<&Datasets>,
    severity: Option<&Severity>,
    missing: &[String],
) -> (Duty, Duty) {
    let both = |required: Option<bool>, reason: String| {
        (
            Duty {
                required,
                reason: reason.clone(),
            },
            Duty { required, reason },
        )
    };
    if !facts.established {
        return both(
            Some(false),
            "no personal data breach is established: no compromise was found in the evidence".into(),
        );
    }
    if let Some(s) = severity {
        let duty = |from: Band, art: &str| Duty {
            required: Some(s.band >= from),
            reason: format!(
                "severity {} ({}) {} the policy threshold {} for {art}",
                s.band.name(),
                s.se,
                if s.band >= from { "meets" } else { "is below" },
                from.name()
            ),
        };
        return (duty(g.notify_authority_from, "Art. 33"), duty(g.notify_subjects_from, "Art. 34"));
    }
    match data {
        Some(d) if missing.is_empty() && !d.personal && d.list.iter().all(|x| !x.personal_data) => both(
            Some(false),
            if d.list.is_empty() {
                "the storage logs show no data read by the attacker, so no personal data breach is shown".into()
            } else {
                "the containers the attacker read hold no personal data (data inventory)".into()
            },
        ),
        _ => both(
            None,
            format!("not decided: severity could not be scored ({} not provided)", missing.join("; ")),
        ),
    }
}

/// The datasets whose own severity meets the threshold for informing data subjects, and
/// what they hold.
fn subject_scope(g: &GdprInput, datasets: &[DatasetSeverity], inventory: &[DataAsset]) -> SubjectScope {
    let place = |d: &DatasetSeverity| format!("{}/{}", d.account, d.container);
    let (inc, exc): (Vec<&DatasetSeverity>, Vec<&DatasetSeverity>) = datasets
        .iter()
        .filter(|d| d.personal_data)
        .partition(|d| d.band.is_some_and(|b| b >= g.notify_subjects_from));
    let asset_of = |d: &DatasetSeverity| inventory.iter().find(|a| a.account == d.account && a.container == d.container);
    let people = |d: &DatasetSeverity| {
        asset_of(d)
            .and_then(|a| a.subjects)
            .map(|n| format!("; up to {}", crate::types::counted(n, "person", "people")))
            .unwrap_or_default()
    };
    let assets: Vec<&DataAsset> = inc.iter().filter_map(|d| asset_of(d)).collect();
    let subjects_read = datasets
        .iter()
        .filter(|d| d.personal_data)
        .map(|d| asset_of(d).and_then(|a| a.subjects))
        .sum::<Option<u64>>();
    let mut categories: Vec<String> = Vec::new();
    let mut subject_categories: Vec<String> = Vec::new();
    for a in &assets {
        for c in &a.categories {
            if !categories.contains(&c.name) {
                categories.push(c.name.clone());
            }
        }
        for c in &a.subject_categories {
            if !subject_categories.contains(c) {
                subject_categories.push(c.clone());
            }
        }
    }
    SubjectScope {
        included: inc.iter().map(|d| place(d)).collect(),
        excluded: exc
            .iter()
            .map(|d| match d.band {
                Some(b) => format!("{} ({}{})", place(d), b.name(), people(d)),
                None => format!("{} (not scored{})", place(d), people(d)),
            })
            .collect(),
        subjects: (assets.len() == inc.len())
            .then(|| assets.iter().map(|a| a.subjects).sum::<Option<u64>>())
            .flatten(),
        subjects_read,
        categories,
        subject_categories,
        consequences: consequences_of(assets.iter().copied()),
    }
}

fn notification_fields(
    input: &GdprInputs,
    exposure: Option<&Exposure>,
    subjects: Option<u64>,
    records: Option<u64>,
    g: &GdprInput,
) -> Vec<NotificationField> {
    let (categories, subject_categories) = match exposure {
        Some(e) => {
            let mut cats = Vec::new();
            let mut subs = Vec::new();
            for c in e.containers.iter().filter(|c| c.read_requests > 0) {
                if let Some(i) = c.inventory.as_ref().filter(|i| i.personal_data) {
                    for x in &i.categories {
                        if !cats.contains(x) {
                            cats.push(x.clone());
                        }
                    }
                    for x in &i.subject_categories {
                        if !subs.contains(x) {
                            subs.push(x.clone());
                        }
                    }
                }
            }
            (Some(cats).filter(|c| !c.is_empty()), Some(subs).filter(|s| !s.is_empty()))
        }
        None => (None, None),
    };
    let none_read = exposure.is_some_and(|e| e.read_requests == 0) || !input.facts.established;
    let zero_or = |v: Option<String>| if none_read { Some("none shown".to_string()) } else { v };
    vec![
        NotificationField {
            article: "33(3)(a)".into(),
            label: "Nature of the breach".into(),
            value: Some(input.nature.clone()),
        },
        NotificationField {
            article: "33(3)(a)".into(),
            label: "Categories of data subjects".into(),
            value: zero_or(subject_categories.map(|s| s.join(", "))),
        },
        NotificationField {
            article: "33(3)(a)".into(),
            label: "Approximate number of data subjects".into(),
            value: zero_or(subjects.map(|s| format!("up to {} (data inventory of the personal-data containers read)", thousands(s)))),
        },
        NotificationField {
            article: "33(3)(a)".into(),
            label: "Categories of personal data records".into(),
            value: zero_or(categories.map(|c| c.join(", "))),
        },
        NotificationField {
            article: "33(3)(a)".into(),
            label: "Approximate number of records".into(),
            value: zero_or(records.map(|r| format!("up to {} (data inventory of the personal-data containers read)", thousands(r)))),
        },
        NotificationField {
            article: "33(3)(b)".into(),
            label: "Data protection officer or contact point".into(),
            value: g.contact.clone(),
        },
        NotificationField {
            article: "33(3)(c)".into(),
            label: "Likely consequences".into(),
            value: if none_read {
                Some("none shown".into())
            } else {
                exposure.and_then(|e| consequences(e, input.inventory))
            },
        },
        NotificationField {
            article: "33(3)(d)".into(),
            label: "Measures taken or proposed".into(),
            value: if input.facts.established {
                Some(input.measures.join("; ")).filter(|m| !m.is_empty())
            } else {
                Some("not applicable: no personal data breach is established".into())
            },
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(container: &str, class: DataClass, subjects: u64) -> DataAsset {
        DataAsset {
            account: "acct".into(),
            container: container.into(),
            personal_data: true,
            description: None,
            subject_categories: vec![format!("{container} people")],
            records: Some(subjects),
            subjects: Some(subjects),
            categories: vec![crate::case::DataCategory {
                name: format!("{container} data"),
                class,
                score: class.basic_score(),
                reason: None,
            }],
        }
    }

    fn scored(container: &str, band: Band) -> DatasetSeverity {
        DatasetSeverity {
            account: "acct".into(),
            container: container.into(),
            personal_data: true,
            dpc: None,
            se: None,
            band: Some(band),
            formula: None,
            note: String::new(),
        }
    }

    #[test]
    fn art34_covers_only_the_datasets_at_or_above_the_subjects_threshold() {
        let g = GdprInput {
            regime: crate::case::GdprRegime::EuGdpr,
            regime_stated: true,
            authority_country: None,
            aware_at: Timestamp(chrono::Utc.with_ymd_and_hms(2024, 3, 29, 9, 0, 0).unwrap()),
            aware_basis: None,
            controller: None,
            contact: None,
            lead_authority: None,
            ease_of_identification: None,
            notify_authority_from: Band::Medium,
            notify_subjects_from: Band::High,
            circumstances: Vec::new(),
        };
        let inventory = [
            asset("contacts", DataClass::Simple, 1000),
            asset("payments", DataClass::Financial, 20),
        ];
        let datasets = [scored("contacts", Band::Medium), scored("payments", Band::VeryHigh)];
        let s = subject_scope(&g, &datasets, &inventory);
        assert_eq!(s.included, ["acct/payments"]);
        assert_eq!(s.excluded, ["acct/contacts (Medium; up to 1,000 people)"]);
        assert_eq!((s.subjects, s.subjects_read), (Some(20), Some(1020)));
        assert_eq!(s.categories, ["payments data"]);
        assert!(s.consequences.unwrap().contains("financial"));
        // Both at or above the threshold: everyone is covered.
        let datasets = [scored("contacts", Band::High), scored("payments", Band::VeryHigh)];
        let s = subject_scope(&g, &datasets, &inventory);
        assert_eq!((s.subjects, s.excluded.len()), (Some(1020), 0));
    }

    #[test]
    fn enisa_bands_are_lower_inclusive() {
        assert_eq!(band_of(1.99), Band::Low);
        assert_eq!(band_of(2.0), Band::Medium);
        assert_eq!(band_of(3.0), Band::High);
        assert_eq!(band_of(4.0), Band::VeryHigh);
    }

    #[test]
    fn deadline_is_72_calendar_hours_shown_in_local_time() {
        let aware = Timestamp(chrono::Utc.with_ymd_and_hms(2024, 3, 29, 9, 0, 0).unwrap());
        let d = aware.plus_seconds(NOTIFICATION_HOURS * 3600);
        // Friday 09:00 → Monday 09:00 (EDPB example); London switches to BST on 31 March.
        assert_eq!(d.rfc3339(), "2024-04-01T09:00:00Z");
        assert_eq!(local(d, chrono_tz::Europe::London), "2024-04-01 10:00 BST");
    }
}
