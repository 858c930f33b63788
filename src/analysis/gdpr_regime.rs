//! What the GDPR report says depends on the regime the controller notifies under: UK GDPR (the
//! Information Commissioner, no one-stop-shop) or the EU GDPR (a lead supervisory authority
//! under the one-stop-shop). This module words the regime, checks the deadline's weekday
//! against weekends and public holidays, checks the stated awareness time against the
//! earliest alert about the personal data, and states the measures in a regulator's words.

use chrono::{Datelike, NaiveDate, Weekday};
use chrono_tz::Tz;
use serde::Serialize;

use super::exposure::Exposure;
use super::gdpr::SubjectScope;
use super::response::{Action, ActionKind, ActionStatus, Response};
use crate::bundle::alerts::Alert;
use crate::case::{DataAsset, DataClass, GdprInput, GdprRegime};
use crate::error::Location;
use crate::types::Timestamp;

/// National public holidays of the EU and EEA states and the United Kingdom (England and
/// Wales bank holidays), generated from the python-holidays package by
/// `public_holidays/generate.py` (which states the version and the years covered).
const HOLIDAY_TABLE: &str = include_str!("public_holidays/holidays.csv");

/// The table by country, then date; read once.
static HOLIDAYS: std::sync::LazyLock<std::collections::BTreeMap<(String, NaiveDate), String>> = std::sync::LazyLock::new(|| {
    csv::Reader::from_reader(HOLIDAY_TABLE.as_bytes())
        .records()
        .filter_map(Result::ok)
        .filter_map(|r| Some(((r.get(0)?.to_string(), r.get(1)?.parse().ok()?), r.get(2)?.to_string())))
        .collect()
});

/// The years the table covers, for one country.
fn covered_years(country: &str) -> Option<(i32, i32)> {
    let years = HOLIDAYS.keys().filter(|(c, _)| c == country).map(|(_, d)| d.year());
    let (lo, hi) = years.fold((i32::MAX, i32::MIN), |(lo, hi), y| (lo.min(y), hi.max(y)));
    (lo <= hi).then_some((lo, hi))
}

/// The regime's words.
#[derive(Debug, Clone, Serialize)]
pub struct RegimeWords {
    pub regime: GdprRegime,
    /// "UK GDPR" / "GDPR".
    pub law: &'static str,
    /// How article references read: "Art. 33 UK GDPR".
    pub art33: String,
    pub art34: String,
    pub art33_5: String,
    /// "the Information Commissioner's Office (ICO)" / "the lead supervisory authority".
    pub authority_role: &'static str,
    pub one_stop_shop: &'static str,
    /// Whether the case file stated the regime or it was taken from the authority named.
    pub stated: bool,
}

fn words(g: &GdprInput) -> RegimeWords {
    let (law, authority_role, one_stop_shop) = match g.regime {
        GdprRegime::UkGdpr => (
            "UK GDPR",
            "the Information Commissioner's Office (ICO), the UK supervisory authority",
            "The UK GDPR has no one-stop-shop: the notification goes to the ICO alone. If people in the EU are affected too, the EU GDPR may separately require notifying EU supervisory authorities.",
        ),
        GdprRegime::EuGdpr => (
            "GDPR",
            "the lead supervisory authority",
            "Under the one-stop-shop (Art. 56 and 60 GDPR), a controller with its main establishment in the EU notifies its lead supervisory authority, which involves the other authorities concerned; a controller without an EU establishment notifies the authority of each member state where affected people live.",
        ),
    };
    RegimeWords {
        regime: g.regime,
        law,
        art33: format!("Art. 33 {law}"),
        art34: format!("Art. 34 {law}"),
        art33_5: format!("Art. 33(5) {law}"),
        authority_role,
        one_stop_shop,
        stated: g.regime_stated,
    }
}

/// The deadline's day, and a note when it falls on a weekend or public holiday.
#[derive(Debug, Clone, Serialize)]
pub struct DeadlineDay {
    pub weekday: String,
    /// None on an ordinary working day.
    pub note: Option<String>,
}

fn holiday(country: Option<&str>, d: NaiveDate) -> Result<Option<String>, String> {
    let Some(country) = country else {
        return Err("public holidays are not checked: the case file names no authority country ([gdpr] authority_country)".into());
    };
    let Some((first, last)) = covered_years(country) else {
        return Err(format!("public holidays of {country} are not in casefile's table"));
    };
    if !(first..=last).contains(&d.year()) {
        return Err(format!(
            "public holidays of {country} for {} are not in casefile's table ({first}–{last})",
            d.year()
        ));
    }
    Ok(HOLIDAYS.get(&(country.to_string(), d)).map(|name| {
        if country == "GB" {
            format!("{name} (an England and Wales bank holiday)")
        } else {
            format!("{name} ({country})")
        }
    }))
}

fn deadline_day(country: Option<&str>, deadline: Timestamp, tz: Tz) -> DeadlineDay {
    let local = deadline.0.with_timezone(&tz).date_naive();
    let weekday = local.format("%A").to_string();
    let weekend = matches!(local.weekday(), Weekday::Sat | Weekday::Sun);
    let hol = holiday(country, local);
    let note = match (weekend, &hol) {
        (true, _) => Some(format!(
            "The deadline falls on a {weekday}. The 72 hours run through weekends and holidays: notify before it, and check that the authority's online form or out-of-hours channel is open{}.",
            match &hol {
                Ok(Some(h)) => format!(" ({h} is also a public holiday)"),
                _ => String::new(),
            }
        )),
        (false, Ok(Some(h))) => Some(format!(
            "The deadline falls on {h}, a public holiday. The 72 hours still apply: notify before it through the authority's online form."
        )),
        (false, Err(e)) => Some(format!("The deadline falls on a {weekday}; {e}.")),
        (false, Ok(None)) => None,
    };
    DeadlineDay { weekday, note }
}

/// The stated awareness time beside the earliest alert that concerned the personal data.
#[derive(Debug, Clone, Serialize)]
pub struct AwarenessCheck {
    pub stated: Timestamp,
    pub earliest_alert_at: Option<Timestamp>,
    pub earliest_alert: Option<String>,
    pub earliest_alert_evidence: Option<Location>,
    /// The deadline that would follow from the earliest alert, when it is earlier than the
    /// stated awareness.
    pub deadline_if_earlier: Option<Timestamp>,
    /// `deadline_if_earlier` as the reports state it: UTC, with the case's zone beside it.
    pub deadline_if_earlier_text: Option<String>,
    pub hours_earlier: Option<i64>,
    pub note: String,
}

/// Storage accounts that hold personal data per the inventory.
fn personal_accounts(inventory: &[DataAsset]) -> Vec<&str> {
    inventory
        .iter()
        .filter(|d| !d.categories.is_empty())
        .map(|d| d.account.as_str())
        .collect()
}

fn concerns_personal_data(a: &Alert, accounts: &[&str]) -> bool {
    let mut hay = a.resource_id.clone().unwrap_or_default().to_ascii_lowercase();
    hay.push(' ');
    hay.push_str(&a.entities.resources.join(" ").to_ascii_lowercase());
    accounts
        .iter()
        .any(|acc| hay.split(|c: char| !c.is_ascii_alphanumeric() && c != '-').any(|w| w == *acc))
}

fn awareness(g: &GdprInput, alerts: Option<&[Alert]>, inventory: &[DataAsset], established: bool, tz: chrono_tz::Tz) -> AwarenessCheck {
    let accounts = personal_accounts(inventory);
    let first = alerts.and_then(|al| {
        al.iter()
            .filter(|a| concerns_personal_data(a, &accounts))
            .min_by_key(|a| a.raised_at())
    });
    let at = first.map(crate::bundle::alerts::Alert::raised_at);
    // Without a personal data breach no deadline runs, so an earlier alert moves none.
    let earlier = at.filter(|t| *t < g.aware_at && established);
    let hours = earlier.map(|t| t.seconds_until(g.aware_at) / 3600);
    let lead = earlier.map(|t| crate::types::duration_words(t.seconds_until(g.aware_at)));
    let note = match (first, earlier) {
        (Some(_), None) if !established => "No personal data breach is established, so no notification deadline runs; the earliest alert is recorded with the assessment.".into(),
        (None, _) if alerts.is_none() => "No alert export was provided, so the stated awareness time cannot be checked against alerts.".into(),
        (None, _) => "No alert in the evidence concerns a storage account that holds personal data; the stated awareness time stands.".into(),
        (Some(_), None) => "The first alert about the personal data came after the stated awareness time; the stated time stands.".into(),
        (Some(a), Some(t)) => format!(
            "\"{}\" concerning the personal data was raised at {}, {} before the stated awareness. A regulator may hold that the controller could have been aware from then (reasonable certainty after a short investigation); the deadline counted from it would be {}. Record why awareness is dated later, or notify by the earlier deadline.",
            a.name,
            t.display_zoned(tz),
            lead.as_deref().unwrap_or_default(),
            Timestamp(t.0 + chrono::Duration::hours(72)).display_zoned(tz)
        ),
    };
    AwarenessCheck {
        stated: g.aware_at,
        earliest_alert_at: at,
        earliest_alert: first.map(|a| a.name.clone()),
        earliest_alert_evidence: first.map(|a| a.origin.clone()),
        deadline_if_earlier: earlier.map(|t| Timestamp(t.0 + chrono::Duration::hours(72))),
        deadline_if_earlier_text: earlier.map(|t| Timestamp(t.0 + chrono::Duration::hours(72)).display_zoned(tz)),
        hours_earlier: hours,
        note,
    }
}

/// One measure in a regulator's words (a sentence without its final full stop), with its basis.
/// `text` is what the drafts to the authority and to the people affected say; `basis` (how the
/// measure is known, with the record's detail) is for the internal table only.
#[derive(Debug, Clone, Serialize)]
pub struct Measure {
    pub text: String,
    /// "shown by the audit records", "reported by the organisation: …", "not shown by the
    /// evidence: …", "proposed".
    pub basis: String,
    /// The same measure as advice to the people affected ("what you can do"), when it has one.
    pub advice: Option<String>,
}

/// A done (or reported) action in plain words, per resource.
fn done_words(a: &Action, accounts: usize) -> Option<String> {
    let t = a.target.as_deref();
    let named = |noun: &str| t.map(|n| format!("{noun} {n}")).unwrap_or_else(|| noun.to_string());
    Some(match a.kind {
        ActionKind::RotateKeys => format!(
            "The access keys of {} that the attacker obtained were replaced, so they no longer give access to the data",
            named("storage account")
        ),
        ActionKind::ContainIdentity if accounts > 1 => "The accounts the attacker misused were secured".into(),
        ActionKind::ContainIdentity => "The account the attacker misused was secured".into(),
        ActionKind::SnapshotVm => format!(
            "Copies of the disks of {} that the attacker created were preserved as evidence",
            named("virtual machine")
        ),
        ActionKind::DeleteVm => format!("The {} that the attacker created was removed", named("virtual machine")),
        ActionKind::RevertRoleAssignment => "The permissions the attacker granted itself were withdrawn".into(),
        ActionKind::RevertNsg => format!("The network opening the attacker made ({}) was closed", named("firewall rule")),
        ActionKind::DeletePublicIp => format!("The {} that the attacker created was released", named("internet address")),
        ActionKind::BlockIps => "The network addresses used by the attacker were blocked".into(),
    })
}

/// An open action in plain words: what is still to be done, per resource. `exists` is true
/// when the activity log covers the as-of time, so an undeleted resource is still in place.
fn open_words(a: &Action, snapshot_done: bool, exists: bool, accounts: usize) -> String {
    let t = a.target.as_deref();
    let named = |noun: &str| t.map(|n| format!("{noun} {n}")).unwrap_or_else(|| noun.to_string());
    match a.kind {
        ActionKind::RotateKeys if a.status == ActionStatus::Partial => format!(
            "The other access key of {} that the attacker obtained is still to be replaced; until then it may still give access to the data",
            named("storage account")
        ),
        ActionKind::RotateKeys => format!(
            "The access keys of {} that the attacker obtained are to be replaced",
            named("storage account")
        ),
        ActionKind::ContainIdentity if accounts > 1 => "The accounts the attacker misused are to be secured".into(),
        ActionKind::ContainIdentity => "The account the attacker misused is to be secured".into(),
        ActionKind::SnapshotVm => format!(
            "Copies of the disks of {} that the attacker created are to be preserved as evidence",
            named("virtual machine")
        ),
        ActionKind::DeleteVm => format!(
            "The {} that the attacker created{}: {}",
            named("virtual machine"),
            if exists { " still exists" } else { " is not yet shown removed" },
            if snapshot_done {
                "its disks are preserved; it is to be deleted"
            } else {
                "it is to be preserved as evidence, then deleted"
            }
        ),
        ActionKind::RevertRoleAssignment => "The permissions the attacker granted itself are to be withdrawn".into(),
        ActionKind::RevertNsg => format!("The network opening the attacker made ({}) is to be closed", named("firewall rule")),
        ActionKind::DeletePublicIp => format!("The {} that the attacker created is to be released", named("internet address")),
        ActionKind::BlockIps => "The network addresses used by the attacker are to be blocked".into(),
    }
}

/// How an action is known, for the internal table.
fn basis(a: &Action) -> String {
    match a.status {
        ActionStatus::Done => "shown by the audit records".into(),
        ActionStatus::Reported => format!("{} (not visible in the evidence)", a.detail),
        ActionStatus::Partial => format!("partly done per the audit records: {}", a.detail),
        ActionStatus::Outstanding | ActionStatus::NoLongerPossible => a.detail.clone(),
    }
}

/// The response actions as measures: those done (per resource, with their basis) and those
/// still to be done. A partly done action appears in both, by what was and was not done. A
/// VM's snapshot still to be taken is said with its deletion ("preserved, then deleted").
fn measures(response: &Response, activity_provided: bool, identities: usize) -> (Vec<Measure>, Vec<Measure>) {
    // One reported action may cover every compromised identity.
    let per_identity = |a: &&Action| a.kind == ActionKind::ContainIdentity;
    let single = response.actions.iter().filter(per_identity).count() == 1;
    let accounts = |st: ActionStatus| {
        if single {
            identities
        } else {
            response.actions.iter().filter(per_identity).filter(|a| a.status == st).count()
        }
    };
    let snapshot = |a: &Action, st: ActionStatus| {
        response
            .actions
            .iter()
            .any(|s| s.kind == ActionKind::SnapshotVm && s.target == a.target && s.status == st)
    };
    let vm_open = |a: &Action| {
        response
            .actions
            .iter()
            .any(|d| d.kind == ActionKind::DeleteVm && d.target == a.target && d.status == ActionStatus::Outstanding)
    };
    let measure = |text: String, a: &Action| Measure {
        text,
        basis: basis(a),
        advice: None,
    };
    let mut taken: Vec<Measure> = Vec::new();
    let mut open: Vec<Measure> = Vec::new();
    for a in &response.actions {
        let n = accounts(a.status);
        match a.status {
            ActionStatus::Done | ActionStatus::Reported => taken.extend(done_words(a, n).map(|t| measure(t, a))),
            ActionStatus::Partial => {
                if a.kind == ActionKind::RotateKeys {
                    let named = a
                        .target
                        .as_deref()
                        .map(|t| format!("storage account {t}"))
                        .unwrap_or("the storage account".into());
                    taken.push(measure(
                        format!("One of the two access keys of {named} that the attacker obtained was replaced"),
                        a,
                    ));
                }
                open.push(measure(open_words(a, false, activity_provided, n), a));
            }
            ActionStatus::Outstanding if a.kind == ActionKind::SnapshotVm && vm_open(a) => {}
            ActionStatus::Outstanding => {
                let snapshot_done = snapshot(a, ActionStatus::Done) || snapshot(a, ActionStatus::Reported);
                open.push(measure(open_words(a, snapshot_done, activity_provided, n), a));
            }
            ActionStatus::NoLongerPossible => {}
        }
    }
    let dedup = |v: &mut Vec<Measure>| {
        let mut seen = std::collections::HashSet::new();
        v.retain(|m| seen.insert(m.text.clone()));
    };
    dedup(&mut taken);
    dedup(&mut open);
    (taken, open)
}

/// Proposed measures to mitigate possible adverse effects on the people affected, from the
/// classes of data in the containers that were read.
fn read_assets<'a>(exposure: Option<&Exposure>, inventory: &'a [DataAsset]) -> Vec<&'a DataAsset> {
    exposure
        .map(|e| {
            inventory
                .iter()
                .filter(|d| {
                    e.containers
                        .iter()
                        .any(|c| c.read_requests > 0 && c.account == d.account && c.container == d.container)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn mitigation(read: &[&DataAsset]) -> Vec<Measure> {
    let has = |k: DataClass| read.iter().any(|d| d.categories.iter().any(|c| c.class == k));
    let mut out = Vec::new();
    let mut push = |t: &str, advice: Option<&str>| {
        out.push(Measure {
            text: t.into(),
            basis: "proposed".into(),
            advice: advice.map(str::to_string),
        })
    };
    if read.iter().all(|d| d.categories.is_empty()) {
        return out;
    }
    push(
        "Inform the people affected in clear language of what happened and what they can do, with a dedicated contact point for questions",
        None,
    );
    if has(DataClass::Simple) || has(DataClass::Behavioural) {
        push(
            "Warn them that messages using their name and contact details may be phishing, and how to recognise genuine contact from the organisation",
            Some("Be careful with e-mails, letters and calls that use your name and contact details and ask you to click a link, open a file or give information: they may not come from us."),
        );
    }
    if has(DataClass::Financial) {
        push(
            "Advise them to watch their bank and card statements and to tell their bank of any unrecognised payment; offer credit or identity monitoring",
            Some("Check your bank and card statements over the coming months and tell your bank at once about any payment you do not recognise."),
        );
    }
    if has(DataClass::Sensitive) {
        push(
            "Offer individual support suited to the sensitive data involved, and consider whether other organisations must be told to protect them",
            Some("If you are worried about how this affects you, contact us and we will discuss the support we can offer you."),
        );
    }
    push(
        "Monitor for publication or sale of the data and seek its removal where it appears",
        None,
    );
    out
}

/// The regime-dependent parts of the GDPR report.
#[derive(Debug, Clone, Serialize)]
pub struct RegimeView {
    pub words: RegimeWords,
    /// The days of the incident in the case's zone, in words ("21 March 2024").
    pub incident_dates: Option<String>,
    pub deadline_day: DeadlineDay,
    pub awareness: AwarenessCheck,
    pub measures_taken: Vec<Measure>,
    /// Response actions still to be done (or the rest of a partly done one), in plain words.
    pub measures_outstanding: Vec<Measure>,
    pub measures_to_mitigate: Vec<Measure>,
    /// "What you can do" for the people the Art. 34 communication covers (from the classes
    /// of data in their datasets only).
    pub subject_advice: Vec<String>,
    /// The supervisory authority as it reads after a preposition ("complain to …", "notifying
    /// …"): named from the case file when it names one, else by its role.
    pub complain_to: String,
}

pub struct RegimeInput<'a> {
    pub gdpr: &'a GdprInput,
    pub deadline: Timestamp,
    pub tz: Tz,
    pub alerts: Option<&'a [Alert]>,
    pub inventory: &'a [DataAsset],
    pub exposure: Option<&'a Exposure>,
    pub response: &'a Response,
    /// The data-access window (else the attacker-activity window): the dates the people
    /// affected are told.
    pub window: Option<(Timestamp, Timestamp)>,
    /// A personal data breach is established (otherwise no deadline runs).
    pub established: bool,
    /// The activity log was provided, so a resource not shown deleted is still in place.
    pub activity_provided: bool,
    /// How many compromised identities are in scope.
    pub identities: usize,
    pub subject_scope: Option<&'a SubjectScope>,
}

fn dates(window: Option<(Timestamp, Timestamp)>, tz: Tz) -> Option<String> {
    let (a, b) = window?;
    let (a, b) = (a.0.with_timezone(&tz).date_naive(), b.0.with_timezone(&tz).date_naive());
    Some(if a == b {
        a.format("%-d %B %Y").to_string()
    } else {
        format!("{} to {}", a.format("%-d %B %Y"), b.format("%-d %B %Y"))
    })
}

/// Articles a name may begin with, in the languages of the EU/EEA authorities' names.
const ARTICLES: [&str; 14] = [
    "the ", "der ", "die ", "das ", "de ", "het ", "la ", "le ", "les ", "el ", "il ", "lo ", "o ", "a ",
];

/// A name as it reads after a preposition: with "the" unless it already begins with an
/// article ("Der Hamburgische Beauftragte …", "L'Autorité …").
pub fn with_article(name: &str) -> String {
    let lower = name.to_lowercase();
    if ARTICLES.iter().any(|a| lower.starts_with(a)) || lower.starts_with("l'") || lower.starts_with("l’") {
        name.to_string()
    } else {
        format!("the {name}")
    }
}

pub fn build_regime_view(i: RegimeInput) -> RegimeView {
    let read = read_assets(i.exposure, i.inventory);
    let covered: Vec<&DataAsset> = match i.subject_scope {
        Some(s) => read
            .iter()
            .copied()
            .filter(|d| s.included.contains(&format!("{}/{}", d.account, d.container)))
            .collect(),
        None => read.clone(),
    };
    let (measures_taken, measures_outstanding) = measures(i.response, i.activity_provided, i.identities);
    let words = words(i.gdpr);
    RegimeView {
        incident_dates: dates(i.window, i.tz),
        complain_to: match &i.gdpr.lead_authority {
            Some(name) => with_article(name),
            None => words.authority_role.to_string(),
        },
        words,
        deadline_day: deadline_day(i.gdpr.authority_country.as_deref(), i.deadline, i.tz),
        awareness: awareness(i.gdpr, i.alerts, i.inventory, i.established, i.tz),
        measures_taken,
        measures_outstanding,
        measures_to_mitigate: mitigation(&read),
        subject_advice: mitigation(&covered).into_iter().filter_map(|m| m.advice).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act(kind: ActionKind, target: &str, status: ActionStatus) -> Action {
        Action {
            id: kind.id().into(),
            kind,
            priority: 0,
            action: String::new(),
            status,
            detail: "from the records".into(),
            done_text: "done".into(),
            target: Some(target.into()),
            at: None,
            evidence: Vec::new(),
        }
    }

    fn response(actions: Vec<Action>) -> Response {
        Response {
            actions,
            other_reported: Vec::new(),
            preservation: Vec::new(),
            contained_by_effect: None,
        }
    }

    #[test]
    fn each_attacker_vm_is_worded_by_its_own_status() {
        use ActionKind::{DeleteVm, SnapshotVm};
        use ActionStatus::{Done, NoLongerPossible, Outstanding};
        let r = response(vec![
            act(SnapshotVm, "vm-a", Outstanding),
            act(DeleteVm, "vm-a", Outstanding),
            act(SnapshotVm, "vm-b", NoLongerPossible),
            act(DeleteVm, "vm-b", Done),
        ]);
        let (taken, open) = measures(&r, true, 1);
        let taken: Vec<&str> = taken.iter().map(|m| m.text.as_str()).collect();
        let open: Vec<&str> = open.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(taken, ["The virtual machine vm-b that the attacker created was removed"]);
        assert_eq!(
            open,
            ["The virtual machine vm-a that the attacker created still exists: it is to be preserved as evidence, then deleted"]
        );
        // Every VM removed: each is named as removed, none is open.
        let r = response(vec![act(DeleteVm, "vm-a", Done), act(DeleteVm, "vm-b", ActionStatus::Reported)]);
        let (taken, open) = measures(&r, true, 1);
        assert_eq!(taken.len(), 2);
        assert!(open.is_empty());
        assert!(taken[1].basis.contains("not visible in the evidence"), "{}", taken[1].basis);
        // Without the activity log, a VM not shown deleted is not claimed to exist.
        let r = response(vec![act(DeleteVm, "vm-a", Outstanding)]);
        assert!(measures(&r, false, 1).1[0].text.contains("not yet shown removed"));
    }

    #[test]
    fn a_partly_rotated_key_is_stated_as_done_and_still_to_do_without_internal_words() {
        let r = response(vec![act(ActionKind::RotateKeys, "acct", ActionStatus::Partial)]);
        let (taken, open) = measures(&r, true, 1);
        assert!(taken[0].text.starts_with("One of the two access keys of storage account acct"));
        assert!(open[0].text.starts_with("The other access key of storage account acct"));
        for m in taken.iter().chain(&open) {
            assert!(!m.text.contains("partial") && !m.text.contains("records"), "{}", m.text);
        }
    }

    #[test]
    fn authority_names_take_the_article_only_when_they_have_none() {
        assert_eq!(
            with_article("Information Commissioner's Office"),
            "the Information Commissioner's Office"
        );
        assert_eq!(with_article("Der Hamburgische Beauftragte"), "Der Hamburgische Beauftragte");
        assert_eq!(with_article("The Data Protection Commission"), "The Data Protection Commission");
        assert_eq!(
            with_article("L'Autorité de protection des données"),
            "L'Autorité de protection des données"
        );
        assert_eq!(with_article("De Autoriteit"), "De Autoriteit");
        assert_eq!(with_article("Autoriteit Persoonsgegevens"), "the Autoriteit Persoonsgegevens");
    }

    #[test]
    fn the_letter_dates_one_day_once() {
        let t = |s: &str| Timestamp(chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&chrono::Utc));
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(
            dates(Some((t("2025-06-11T02:28:52Z"), t("2025-06-11T03:53:25Z"))), berlin).unwrap(),
            "11 June 2025"
        );
        assert_eq!(
            dates(Some((t("2025-06-10T20:10:00Z"), t("2025-06-11T03:53:25Z"))), berlin).unwrap(),
            "10 June 2025 to 11 June 2025"
        );
    }

    #[test]
    fn holiday_table_covers_every_eu_eea_state_and_gb() {
        for c in "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE IS LI NO GB".split(' ') {
            let (first, last) = covered_years(c).unwrap_or_else(|| panic!("{c} missing"));
            assert!(first <= 2023 && last >= 2030, "{c}: {first}-{last}");
        }
        assert_eq!(HOLIDAYS.len() + 1, HOLIDAY_TABLE.lines().count(), "every row of the table parses");
    }

    #[test]
    fn weekend_and_holiday_deadlines_get_a_note() {
        let t = |s: &str| Timestamp(chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&chrono::Utc));
        let gb = Some("GB");
        let sunday = deadline_day(gb, t("2024-03-24T09:30:00Z"), chrono_tz::Europe::London);
        assert_eq!(sunday.weekday, "Sunday");
        assert!(sunday.note.unwrap().contains("Sunday"));
        let good_friday = deadline_day(gb, t("2024-03-29T09:30:00Z"), chrono_tz::Europe::London);
        assert!(good_friday.note.unwrap().contains("Good Friday"));
        let tuesday = deadline_day(gb, t("2024-03-26T09:30:00Z"), chrono_tz::Europe::London);
        assert!(tuesday.note.is_none());
        // An EU authority's country: German Unity Day, and the Dutch King's Day.
        let unity = deadline_day(Some("DE"), t("2025-10-03T08:00:00Z"), chrono_tz::Europe::Berlin);
        assert!(unity.note.unwrap().contains("German Unity Day (DE)"));
        let kings_day = deadline_day(Some("NL"), t("2024-04-27T08:00:00Z"), chrono_tz::Europe::Amsterdam);
        assert!(
            kings_day.note.unwrap().contains("King's Day (NL)"),
            "a Saturday holiday is named too"
        );
        let unnamed = deadline_day(None, t("2025-10-03T08:00:00Z"), chrono_tz::Europe::Berlin);
        assert!(unnamed.note.unwrap().contains("authority_country"));
    }
}
