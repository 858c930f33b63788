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
use crate::case::{Band, CbElement, DataAsset, GdprInput};
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

#[derive(Debug, Clone, Serialize)]
pub struct GdprAssessment {
    /// None when a factor is not provided; the report then does not score.
    pub severity: Option<Severity>,
    pub missing_inputs: Vec<String>,
    pub flags: Vec<String>,
    pub policy: String,
    pub art33: Duty,
    pub art34: Duty,
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

pub fn assess_gdpr(input: GdprInputs) -> GdprAssessment {
    let g = input.gdpr;
    let mut missing = Vec::new();
    // DPC: the highest category score among containers whose data was read (ENISA Annex 1).
    let dpc = match input.exposure {
        Source::NotProvided => {
            missing.push("storage logs (which data was read)".to_string());
            None
        }
        Source::Provided(exp) => {
            let mut best: Option<Factor> = None;
            for c in exp.containers.iter().filter(|c| c.read_requests > 0) {
                let Some(asset) = input
                    .inventory
                    .iter()
                    .find(|d| d.account == c.account && d.container == c.container)
                else {
                    missing.push(format!("data inventory for {}/{}", c.account, c.container));
                    continue;
                };
                if asset.categories.is_empty() {
                    missing.push(format!("data categories for {}/{}", c.account, c.container));
                }
                for cat in &asset.categories {
                    let reason = match &cat.reason {
                        Some(r) => format!(
                            "{} in {}/{}: {:?} data, basic score {}, adjusted to {}: {r}",
                            cat.name,
                            c.account,
                            c.container,
                            cat.class,
                            cat.class.basic_score(),
                            cat.score
                        ),
                        None => format!(
                            "{} in {}/{}: {:?} data, basic score {}",
                            cat.name, c.account, c.container, cat.class, cat.score
                        ),
                    };
                    if best.as_ref().is_none_or(|b| f64::from(cat.score) > b.score) {
                        best = Some(Factor {
                            name: "DPC (data processing context)".into(),
                            score: f64::from(cat.score),
                            reason,
                        });
                    }
                }
            }
            if best.is_none() && exp.containers.iter().all(|c| c.read_requests == 0) {
                missing.push("evidence that personal data was read (no attacker data reads in the storage logs)".into());
            }
            best
        }
    };
    let ei = match &g.ease_of_identification {
        Some((level, reason)) => Some(Factor {
            name: "EI (ease of identification)".into(),
            score: level.score(),
            reason: format!("{}: {reason}", level.name()),
        }),
        None => {
            missing.push("ease of identification (gdpr.ease_of_identification in case.toml)".into());
            None
        }
    };
    // CB (ENISA Annex 3): from the evidence unless the controller overrides with a reason.
    let mut cb = Vec::new();
    let evidence_cb = [
        (
            CbElement::Confidentiality,
            "Loss of confidentiality",
            if input.facts.data_read { 0.5 } else { 0.0 },
            if input.facts.data_read {
                "data was downloaded to an attacker-controlled address; the recipients are unknown"
            } else {
                "no data reads by the attacker are in the evidence"
            },
        ),
        (
            CbElement::Integrity,
            "Loss of integrity",
            if input.facts.data_written { 0.25 } else { 0.0 },
            if input.facts.data_written {
                "the attacker wrote to the data store; originals assumed recoverable from backups"
            } else {
                "no attacker writes to data are in the evidence"
            },
        ),
        (
            CbElement::Availability,
            "Loss of availability",
            if input.facts.data_deleted { 0.25 } else { 0.0 },
            if input.facts.data_deleted {
                "the attacker deleted data; temporary unavailability assumed"
            } else {
                "no attacker deletions of data are in the evidence"
            },
        ),
        (
            CbElement::Malicious,
            "Malicious intent",
            if input.facts.external_attacker { 0.5 } else { 0.0 },
            if input.facts.external_attacker {
                "an external attacker acted intentionally (compromised account, alerts fired)"
            } else {
                "no evidence of intentional action"
            },
        ),
    ];
    for (element, name, score, reason) in evidence_cb {
        match g.circumstances.iter().find(|o| o.element == element) {
            Some(o) => cb.push(Factor {
                name: name.into(),
                score: o.score,
                reason: format!("{} (set in case.toml; the evidence alone gives {score})", o.reason),
            }),
            None => cb.push(Factor {
                name: name.into(),
                score,
                reason: format!("{reason} (from the evidence)"),
            }),
        }
    }
    let cb_total: f64 = cb.iter().map(|f| f.score).sum();
    let severity = match (dpc, ei) {
        (Some(dpc), Some(ei)) if missing.is_empty() => {
            let se = dpc.score * ei.score + cb_total;
            Some(Severity {
                scale: SCALE,
                formula: format!("SE = DPC × EI + CB = {} × {} + {} = {}", dpc.score, ei.score, cb_total, se),
                band: band_of(se),
                se,
                dpc,
                ei,
                cb,
                cb_total,
            })
        }
        _ => None,
    };
    let subjects = match input.exposure {
        Source::Provided(e) => e.subjects,
        Source::NotProvided => None,
    };
    let records = match input.exposure {
        Source::Provided(e) => e.records,
        Source::NotProvided => None,
    };
    let mut flags = Vec::new();
    if subjects.is_some_and(|s| s > 100) {
        flags.push("More than 100 individuals affected (ENISA §3.3 flag)".into());
    }
    let policy = format!(
        "Notify the supervisory authority (Art. 33) when severity is {} or higher; communicate to data subjects (Art. 34) when {} or higher. ENISA fixes no cut-off; this policy is the controller's, set in case.toml [gdpr.policy].",
        g.notify_authority_from.name(),
        g.notify_subjects_from.name()
    );
    let duty = |from: Band, art: &str| match &severity {
        Some(s) => Duty {
            required: Some(s.band >= from),
            reason: format!(
                "severity {} ({}) {} the policy threshold {} for {art}",
                s.band.name(),
                s.se,
                if s.band >= from { "meets" } else { "is below" },
                from.name()
            ),
        },
        None => Duty {
            required: None,
            reason: format!("not decided: severity could not be scored ({} not provided)", missing.join("; ")),
        },
    };
    let art33 = duty(g.notify_authority_from, "Art. 33");
    let art34 = duty(g.notify_subjects_from, "Art. 34");
    let deadline_t = g.aware_at.plus_seconds(NOTIFICATION_HOURS * 3600);
    let deadline = Deadline {
        period_hours: NOTIFICATION_HOURS,
        aware_at: g.aware_at,
        aware_local: local(g.aware_at, input.tz),
        deadline: deadline_t,
        deadline_local: local(deadline_t, input.tz),
        hours_left_at_as_of: input.as_of.seconds_until(deadline_t) / 3600,
    };
    let (categories, subject_categories) = match input.exposure {
        Source::Provided(e) => {
            let mut cats = Vec::new();
            let mut subs = Vec::new();
            for c in e.containers.iter().filter(|c| c.read_requests > 0) {
                if let Some(i) = &c.inventory {
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
        Source::NotProvided => (None, None),
    };
    let consequences = severity.as_ref().map(|s| {
        let mut c = vec!["phishing and fraud attempts using the disclosed contact details".to_string()];
        if s.dpc.score >= 3.0 {
            c.push("financial fraud or loss using the disclosed financial information".into());
        }
        if s.dpc.score >= 4.0 {
            c.push("discrimination or distress from disclosure of sensitive data".into());
        }
        c.join("; ")
    });
    let fields = vec![
        NotificationField {
            article: "33(3)(a)".into(),
            label: "Nature of the breach".into(),
            value: Some(input.nature.clone()),
        },
        NotificationField {
            article: "33(3)(a)".into(),
            label: "Categories of data subjects".into(),
            value: subject_categories.map(|s| s.join(", ")),
        },
        NotificationField {
            article: "33(3)(a)".into(),
            label: "Approximate number of data subjects".into(),
            value: subjects.map(|s| format!("up to {} (inventory of the containers read)", thousands(s))),
        },
        NotificationField {
            article: "33(3)(a)".into(),
            label: "Categories of personal data records".into(),
            value: categories.map(|c| c.join(", ")),
        },
        NotificationField {
            article: "33(3)(a)".into(),
            label: "Approximate number of records".into(),
            value: records.map(|r| format!("up to {} (inventory of the containers read)", thousands(r))),
        },
        NotificationField {
            article: "33(3)(b)".into(),
            label: "Data protection officer or contact point".into(),
            value: g.contact.clone(),
        },
        NotificationField {
            article: "33(3)(c)".into(),
            label: "Likely consequences".into(),
            value: consequences,
        },
        NotificationField {
            article: "33(3)(d)".into(),
            label: "Measures taken or proposed".into(),
            value: Some(input.measures.join("; ")).filter(|m| !m.is_empty()),
        },
    ];
    GdprAssessment {
        severity,
        missing_inputs: missing,
        flags,
        policy,
        art33,
        art34,
        deadline,
        fields,
        controller: g.controller.clone(),
        contact: g.contact.clone(),
        lead_authority: g.lead_authority.clone(),
        aware_basis: g.aware_basis.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
