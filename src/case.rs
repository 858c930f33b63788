//! Reads `case.toml` into a checked [`Case`]: raw serde shape first, then validation that
//! reports every problem at once, each pointing at its TOML line. It never opens evidence;
//! it only resolves the evidence paths the bundle will read.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::error::{Error, InputError, Location, Result};
use crate::input::table::{parse_timestamp, read_text};
use crate::posture::catalog::OwnerRole;
use crate::types::{Region, Timestamp, Upn};

const WHAT: &str = "case file";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    case: RawMeta,
    #[serde(default)]
    environment: RawEnvironment,
    #[serde(default)]
    scope: RawScope,
    gdpr: Option<RawGdpr>,
    #[serde(default)]
    data: Vec<RawData>,
    #[serde(default)]
    rates: RawRates,
    #[serde(default)]
    response: Vec<RawResponse>,
    #[serde(default)]
    evidence: Vec<RawEvidence>,
    recommendations: Option<Spanned<String>>,
    /// Who owns which role (dpo, ciso, cloud-platform …), for decisions and improvements.
    #[serde(default)]
    owners: Vec<RawOwner>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOwner {
    role: Spanned<String>,
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeta {
    id: String,
    title: String,
    organisation: String,
    #[serde(default = "default_classification")]
    classification: String,
    timezone: Spanned<String>,
    as_of: Spanned<String>,
    prepared_by: Option<String>,
    summary: Option<String>,
}

fn default_classification() -> String {
    "CONFIDENTIAL".to_string()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvironment {
    #[serde(default)]
    approved_regions: Vec<String>,
    #[serde(default)]
    trusted_countries: Vec<String>,
    #[serde(default)]
    trusted_ip_ranges: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScope {
    #[serde(default)]
    attacker_identities: Vec<String>,
    #[serde(default)]
    attacker_ips: Vec<Spanned<String>>,
    #[serde(default)]
    cleared_identities: Vec<String>,
    #[serde(default)]
    cleared_ips: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGdpr {
    aware_at: Spanned<String>,
    aware_basis: Option<String>,
    controller: Option<String>,
    contact: Option<String>,
    lead_authority: Option<String>,
    /// "uk-gdpr" or "eu-gdpr"; drives wording, articles and the authority's role.
    regime: Option<Spanned<String>>,
    /// ISO 3166-1 alpha-2 code of the authority's country, for the deadline's holiday check.
    authority_country: Option<Spanned<String>>,
    ease_of_identification: Option<Spanned<String>>,
    ease_of_identification_reason: Option<String>,
    #[serde(default)]
    policy: RawPolicy,
    #[serde(default)]
    circumstances: Vec<RawCircumstance>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default = "default_authority_band")]
    notify_authority_from: Spanned<String>,
    #[serde(default = "default_subjects_band")]
    notify_subjects_from: Spanned<String>,
}

impl Default for RawPolicy {
    fn default() -> Self {
        RawPolicy {
            notify_authority_from: default_authority_band(),
            notify_subjects_from: default_subjects_band(),
        }
    }
}

fn default_authority_band() -> Spanned<String> {
    Spanned::new(0..0, "medium".to_string())
}
fn default_subjects_band() -> Spanned<String> {
    Spanned::new(0..0, "high".to_string())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCircumstance {
    element: Spanned<String>,
    score: Spanned<f64>,
    reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawData {
    account: Spanned<String>,
    container: String,
    description: Option<String>,
    /// `false` declares a container known to hold no personal data.
    personal_data: Option<Spanned<bool>>,
    #[serde(default)]
    subject_categories: Vec<String>,
    records: Option<u64>,
    subjects: Option<u64>,
    #[serde(default)]
    categories: Vec<RawCategory>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    name: String,
    class: Spanned<String>,
    score: Option<Spanned<u8>>,
    reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRates {
    #[serde(default)]
    vm: Vec<RawVmRate>,
    egress_usd_per_gb: Option<f64>,
    egress_free_gb: Option<f64>,
    public_ip_usd_per_hour: Option<f64>,
    source: Option<String>,
    /// Saved Azure Retail Prices API pages (read by `soc::prices`).
    retail_prices: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVmRate {
    size: String,
    region: String,
    usd_per_hour: f64,
    source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResponse {
    action: String,
    at: Option<Spanned<String>>,
    by: Option<String>,
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvidence {
    path: Spanned<String>,
    kind: Option<Spanned<String>>,
    /// The IANA zone of the file's zoneless timestamps.
    timezone: Option<Spanned<String>>,
}

/// A checked case: everything the evidence cannot say.
#[derive(Debug, Clone)]
pub struct Case {
    /// Directory holding case.toml; evidence paths are relative to it.
    pub dir: PathBuf,
    pub file: PathBuf,
    pub id: String,
    pub title: String,
    pub organisation: String,
    pub classification: String,
    /// IANA zone used only for display.
    pub timezone: Tz,
    /// The report's "as of" instant; also the PDF creation date, so renders are reproducible.
    pub as_of: Timestamp,
    pub prepared_by: Option<String>,
    pub summary: Option<String>,
    pub environment: Environment,
    pub scope: KnownScope,
    pub gdpr: Option<GdprInput>,
    pub data: Vec<DataAsset>,
    pub rates: RateOverrides,
    pub response: Vec<ReportedAction>,
    pub evidence: Vec<EvidenceFile>,
    pub recommendations: Option<PathBuf>,
    /// Named owners of roles (`[[owners]]`).
    pub owners: Vec<Owner>,
    /// SHA-256 and size of case.toml itself, recorded with the evidence inventory.
    pub sha256: String,
    pub bytes: u64,
}

/// What the organisation considers normal.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub approved_regions: Vec<Region>,
    /// ISO 3166 alpha-2, upper-case.
    pub trusted_countries: Vec<String>,
    pub trusted_ip_ranges: Vec<IpNet>,
}

impl Environment {
    pub fn ip_trusted(&self, ip: &IpAddr) -> bool {
        self.trusted_ip_ranges.iter().any(|n| n.contains(ip))
    }
    pub fn country_trusted(&self, cc: &str) -> bool {
        self.trusted_countries.iter().any(|c| c.eq_ignore_ascii_case(cc))
    }
    pub fn region_approved(&self, r: &Region) -> bool {
        self.approved_regions.contains(r)
    }
}

/// The analyst's decisions on scope (optional; otherwise inferred): attacker identities and
/// addresses, and identities and addresses the analyst cleared (overruling the inference).
#[derive(Debug, Clone, Default)]
pub struct KnownScope {
    pub identities: Vec<Upn>,
    pub ips: Vec<IpAddr>,
    pub cleared_identities: Vec<Upn>,
    pub cleared_ips: Vec<IpAddr>,
}

/// ENISA band names, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum Band {
    Low,
    Medium,
    High,
    #[serde(rename = "Very High")]
    VeryHigh,
}

impl Band {
    fn parse(s: &str) -> Option<Band> {
        match s.to_ascii_lowercase().replace(['-', '_'], " ").as_str() {
            "low" => Some(Band::Low),
            "medium" => Some(Band::Medium),
            "high" => Some(Band::High),
            "very high" => Some(Band::VeryHigh),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Band::Low => "Low",
            Band::Medium => "Medium",
            Band::High => "High",
            Band::VeryHigh => "Very High",
        }
    }
}

/// ENISA "ease of identification" levels (Annex 2) with their scores.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub enum EaseOfIdentification {
    Negligible,
    Limited,
    Significant,
    Maximum,
}

impl EaseOfIdentification {
    pub fn score(self) -> f64 {
        match self {
            EaseOfIdentification::Negligible => 0.25,
            EaseOfIdentification::Limited => 0.5,
            EaseOfIdentification::Significant => 0.75,
            EaseOfIdentification::Maximum => 1.0,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            EaseOfIdentification::Negligible => "Negligible",
            EaseOfIdentification::Limited => "Limited",
            EaseOfIdentification::Significant => "Significant",
            EaseOfIdentification::Maximum => "Maximum",
        }
    }
}

/// Circumstances-of-breach elements (ENISA Annex 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CbElement {
    Confidentiality,
    Integrity,
    Availability,
    Malicious,
}

#[derive(Debug, Clone)]
pub struct CbOverride {
    pub element: CbElement,
    pub score: f64,
    pub reason: String,
}

/// GDPR inputs that only the controller can supply.
#[derive(Debug, Clone)]
pub struct GdprInput {
    /// The regime the controller notifies under; when the case file names none, UK GDPR for
    /// the UK Information Commissioner, the EU GDPR otherwise (`regime_stated` says which).
    pub regime: GdprRegime,
    pub regime_stated: bool,
    /// The authority's country (ISO 3166-1 alpha-2, upper case); GB under UK GDPR when the
    /// case file names none.
    pub authority_country: Option<String>,
    pub aware_at: Timestamp,
    pub aware_basis: Option<String>,
    pub controller: Option<String>,
    pub contact: Option<String>,
    pub lead_authority: Option<String>,
    pub ease_of_identification: Option<(EaseOfIdentification, String)>,
    pub notify_authority_from: Band,
    pub notify_subjects_from: Band,
    pub circumstances: Vec<CbOverride>,
}

/// ENISA data-processing-context classes (Annex 1) with their basic scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DataClass {
    Simple,
    Behavioural,
    Financial,
    Sensitive,
}

impl DataClass {
    pub fn basic_score(self) -> u8 {
        match self {
            DataClass::Simple => 1,
            DataClass::Behavioural => 2,
            DataClass::Financial => 3,
            DataClass::Sensitive => 4,
        }
    }
}

#[derive(Debug, Clone)]
pub struct DataCategory {
    pub name: String,
    pub class: DataClass,
    /// Adjusted DPC score (1–4) when the basic score was changed; ENISA requires a reason.
    pub score: u8,
    pub reason: Option<String>,
}

/// What a storage container holds, from the organisation's data inventory.
#[derive(Debug, Clone)]
pub struct DataAsset {
    pub account: String,
    pub container: String,
    /// False for a container declared to hold no personal data (then it has no categories,
    /// subjects or records); true when its personal data categories are listed.
    pub personal_data: bool,
    pub description: Option<String>,
    pub subject_categories: Vec<String>,
    pub records: Option<u64>,
    pub subjects: Option<u64>,
    pub categories: Vec<DataCategory>,
}

#[derive(Debug, Clone)]
pub struct VmRateOverride {
    pub size: String,
    pub region: Region,
    pub usd_per_hour: f64,
    pub source: String,
}

#[derive(Debug, Clone, Default)]
pub struct RateOverrides {
    pub vm: Vec<VmRateOverride>,
    pub egress_usd_per_gb: Option<f64>,
    pub egress_free_gb: Option<f64>,
    pub public_ip_usd_per_hour: Option<f64>,
    pub source: Option<String>,
    /// Saved Azure Retail Prices API pages, inside the bundle, with where case.toml names them.
    pub retail_prices: Option<(PathBuf, Location)>,
}

/// A response action the analyst reports that the evidence cannot show (e.g. sessions
/// revoked in Entra ID when no audit log is in the bundle).
#[derive(Debug, Clone)]
pub struct ReportedAction {
    pub action: String,
    pub at: Option<Timestamp>,
    pub by: Option<String>,
    pub note: Option<String>,
}

pub use crate::bundle::EvidenceFile;

/// Reads and checks `<dir>/case.toml`.
/// One named owner of a role.
#[derive(Debug, Clone, Serialize)]
pub struct Owner {
    pub role: OwnerRole,
    pub name: String,
}

/// The data-protection regime a breach is notified under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GdprRegime {
    UkGdpr,
    EuGdpr,
}

/// True when the named authority is the UK Information Commissioner.
fn is_uk_authority(a: &str) -> bool {
    let l = a.to_ascii_lowercase();
    l.contains("information commissioner") || l.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| w == "ico")
}

/// # Errors
/// An input error when case.toml cannot be read, or every problem in it at once (each at its line).
pub fn load_case(dir: &Path) -> Result<Case> {
    let file = dir.join("case.toml");
    let text = read_text(&file, WHAT)?;
    let mut case = parse_case(&text, dir, &file)?;
    let (sha256, bytes) = crate::input::hash::hash_file(&file, WHAT)?;
    case.sha256 = sha256;
    case.bytes = bytes;
    Ok(case)
}

struct Checker<'a> {
    text: &'a str,
    file: &'a Path,
    problems: Vec<Error>,
}

impl Checker<'_> {
    fn at(&self, span: std::ops::Range<usize>, key: &str) -> Location {
        let mut loc = Location::file(self.file).with_field(key);
        if span.end > 0 {
            loc.line = Some(crate::error::line_of(self.text, span.start));
        }
        loc
    }
    fn problem(&mut self, reason: &str, loc: Location, found: &str, expected: &str) {
        self.problems
            .push(InputError::new(WHAT, reason, loc).found(found).expected(expected).into());
    }
    fn ip_list(&mut self, list: &[Spanned<String>], key: &str) -> Vec<IpAddr> {
        let mut ips = Vec::new();
        for ip in list {
            match ip.get_ref().parse::<IpAddr>() {
                Ok(a) => ips.push(a),
                Err(_) => {
                    let loc = self.at(ip.span(), key);
                    self.problem("invalid IP address", loc, ip.get_ref(), "an IPv4 or IPv6 address");
                }
            }
        }
        ips
    }
    fn timestamp(&mut self, v: &Spanned<String>, key: &str) -> Option<Timestamp> {
        match parse_timestamp(v.get_ref(), false) {
            Ok(Some(t)) => Some(t),
            _ => {
                let loc = self.at(v.span(), key);
                self.problem(
                    "invalid timestamp",
                    loc,
                    v.get_ref(),
                    "RFC 3339 with zone, such as 2024-03-21T09:30:00Z",
                );
                None
            }
        }
    }
}

/// Whether a `[[data]]` entry holds personal data: `personal_data = false` excludes
/// categories, subjects and records; otherwise the categories must be listed, so that an
/// empty list is never read as "no personal data" by accident.
fn check_personal_data(c: &mut Checker, d: &RawData) -> bool {
    let what = format!("{}/{}", d.account.get_ref(), d.container);
    match &d.personal_data {
        Some(flag) if !*flag.get_ref() => {
            if !d.categories.is_empty() || d.records.is_some() || d.subjects.is_some() || !d.subject_categories.is_empty() {
                let loc = c.at(flag.span(), "data.personal_data");
                c.problem(
                    "contradictory data inventory",
                    loc,
                    &format!("personal_data = false for {what} together with categories, subjects or records"),
                    "either personal_data = false alone, or the container's [[data.categories]], subjects and records",
                );
            }
            false
        }
        flag => {
            if d.categories.is_empty() {
                let loc = match flag {
                    Some(f) => c.at(f.span(), "data.categories"),
                    None => c.at(d.account.span(), "data.categories"),
                };
                c.problem(
                    "data categories missing",
                    loc,
                    &format!("no [[data.categories]] for {what}"),
                    "its personal data categories ([[data.categories]] name and class), or personal_data = false if the container holds no personal data",
                );
            }
            true
        }
    }
}

/// Parses case.toml text; `dir` resolves relative evidence paths.
///
/// # Errors
/// Every problem in the case file at once, each naming its line and key.
pub fn parse_case(text: &str, dir: &Path, file: &Path) -> Result<Case> {
    let raw: RawCase = toml::from_str(text).map_err(|e| {
        let mut loc = Location::file(file);
        if let Some(span) = e.span() {
            loc.line = Some(crate::error::line_of(text, span.start));
        }
        Error::from(
            InputError::new(WHAT, "invalid TOML", loc)
                .found(e.message())
                .expected("the case.toml format described in README.md"),
        )
    })?;
    let mut c = Checker {
        text,
        file,
        problems: Vec::new(),
    };

    let timezone = check_timezone(&mut c, &raw.case.timezone);
    let as_of = c.timestamp(&raw.case.as_of, "case.as_of");

    let environment = check_environment(&mut c, &raw.environment);
    let scope = check_scope(&mut c, &raw.scope);

    let gdpr = raw.gdpr.as_ref().and_then(|g| check_gdpr(&mut c, g));

    let data: Vec<DataAsset> = raw.data.iter().map(|d| check_data_asset(&mut c, d)).collect();

    let rates = check_rates(&mut c, &raw.rates, dir);

    let response = check_response(&mut c, &raw.response);

    let evidence = check_evidence(&mut c, &raw.evidence, dir);
    let recommendations = raw.recommendations.as_ref().map(|r| dir.join(r.get_ref()));
    let owners = check_owners(&mut c, &raw.owners);

    Error::collect(std::mem::take(&mut c.problems))?;
    Ok(Case {
        dir: dir.to_path_buf(),
        file: file.to_path_buf(),
        id: raw.case.id,
        title: raw.case.title,
        organisation: raw.case.organisation,
        classification: raw.case.classification,
        timezone,
        // Checked above: a failed parse recorded a problem and returned early.
        as_of: as_of.unwrap_or(Timestamp(chrono::DateTime::UNIX_EPOCH)),
        prepared_by: raw.case.prepared_by,
        summary: raw.case.summary,
        environment,
        scope,
        gdpr,
        data,
        rates,
        response,
        evidence,
        recommendations,
        owners,
        sha256: String::new(),
        bytes: text.len() as u64,
    })
}

/// `case.timezone`: an IANA zone (UTC after a recorded problem).
fn check_timezone(c: &mut Checker, tz: &Spanned<String>) -> Tz {
    match tz.get_ref().parse::<Tz>() {
        Ok(tz) => tz,
        Err(_) => {
            let loc = c.at(tz.span(), "case.timezone");
            c.problem("unknown time zone", loc, tz.get_ref(), "an IANA zone such as Europe/London");
            Tz::UTC
        }
    }
}

/// `[environment]`: approved regions, trusted countries and address ranges.
fn check_environment(c: &mut Checker, env: &RawEnvironment) -> Environment {
    let mut trusted_ip_ranges = Vec::new();
    for r in &env.trusted_ip_ranges {
        let parsed = r
            .get_ref()
            .parse::<IpNet>()
            .or_else(|_| r.get_ref().parse::<IpAddr>().map(IpNet::from));
        match parsed {
            Ok(n) => trusted_ip_ranges.push(n),
            Err(_) => {
                let loc = c.at(r.span(), "environment.trusted_ip_ranges");
                c.problem("invalid IP range", loc, r.get_ref(), "CIDR such as 203.0.113.0/24");
            }
        }
    }
    Environment {
        approved_regions: env.approved_regions.iter().map(|r| Region::new(r)).collect(),
        trusted_countries: env.trusted_countries.iter().map(|c| c.trim().to_uppercase()).collect(),
        trusted_ip_ranges,
    }
}

/// `[scope]`: the attacker's and the cleared identities and addresses.
fn check_scope(c: &mut Checker, raw: &RawScope) -> KnownScope {
    let ips = c.ip_list(&raw.attacker_ips, "scope.attacker_ips");
    let cleared_ips = c.ip_list(&raw.cleared_ips, "scope.cleared_ips");
    KnownScope {
        identities: raw.attacker_identities.iter().map(|u| Upn::new(u)).collect(),
        ips,
        cleared_identities: raw.cleared_identities.iter().map(|u| Upn::new(u)).collect(),
        cleared_ips,
    }
}

/// `[gdpr]`: the awareness time, policy bands, ease of identification, circumstances and
/// regime. None when a required part is unusable (the problem is recorded).
fn check_gdpr(c: &mut Checker, g: &RawGdpr) -> Option<GdprInput> {
    let aware_at = c.timestamp(&g.aware_at, "gdpr.aware_at")?;
    let band = |c: &mut Checker, v: &Spanned<String>, key: &str| {
        Band::parse(v.get_ref()).unwrap_or_else(|| {
            let loc = c.at(v.span(), key);
            c.problem("unknown severity band", loc, v.get_ref(), "low, medium, high or very-high");
            Band::Medium
        })
    };
    let notify_authority_from = band(c, &g.policy.notify_authority_from, "gdpr.policy.notify_authority_from");
    let notify_subjects_from = band(c, &g.policy.notify_subjects_from, "gdpr.policy.notify_subjects_from");
    let ease = check_ease(c, g);
    let circumstances = check_circumstances(c, &g.circumstances);
    let regime = check_regime(c, g)?;
    let authority_country = authority_country(c, g.authority_country.as_ref(), regime);
    Some(GdprInput {
        regime,
        regime_stated: g.regime.is_some(),
        authority_country,
        aware_at,
        aware_basis: g.aware_basis.clone(),
        controller: g.controller.clone(),
        contact: g.contact.clone(),
        lead_authority: g.lead_authority.clone(),
        ease_of_identification: ease,
        notify_authority_from,
        notify_subjects_from,
        circumstances,
    })
}

/// `gdpr.ease_of_identification` and the reason ENISA asks for.
fn check_ease(c: &mut Checker, g: &RawGdpr) -> Option<(EaseOfIdentification, String)> {
    g.ease_of_identification.as_ref().and_then(|e| {
        let level = match e.get_ref().to_ascii_lowercase().as_str() {
            "negligible" => EaseOfIdentification::Negligible,
            "limited" => EaseOfIdentification::Limited,
            "significant" => EaseOfIdentification::Significant,
            "maximum" => EaseOfIdentification::Maximum,
            _ => {
                let loc = c.at(e.span(), "gdpr.ease_of_identification");
                c.problem(
                    "unknown ease-of-identification level",
                    loc,
                    e.get_ref(),
                    "negligible, limited, significant or maximum",
                );
                return None;
            }
        };
        match &g.ease_of_identification_reason {
            Some(r) if !r.trim().is_empty() => Some((level, r.clone())),
            _ => {
                let loc = c.at(e.span(), "gdpr.ease_of_identification_reason");
                c.problem(
                    "missing reason",
                    loc,
                    "",
                    "a reason for the ease-of-identification level (ENISA asks for one)",
                );
                None
            }
        }
    })
}

/// `[[gdpr.circumstances]]`: ENISA circumstances-of-breach overrides.
fn check_circumstances(c: &mut Checker, raw: &[RawCircumstance]) -> Vec<CbOverride> {
    let mut circumstances = Vec::new();
    for o in raw {
        let element = match o.element.get_ref().as_str() {
            "confidentiality" => CbElement::Confidentiality,
            "integrity" => CbElement::Integrity,
            "availability" => CbElement::Availability,
            "malicious" => CbElement::Malicious,
            other => {
                let loc = c.at(o.element.span(), "gdpr.circumstances.element");
                c.problem(
                    "unknown circumstance",
                    loc,
                    other,
                    "confidentiality, integrity, availability or malicious",
                );
                continue;
            }
        };
        let s = *o.score.get_ref();
        if ![0.0, 0.25, 0.5].contains(&s) {
            let loc = c.at(o.score.span(), "gdpr.circumstances.score");
            c.problem("invalid ENISA score", loc, &s.to_string(), "0, 0.25 or 0.5");
            continue;
        }
        circumstances.push(CbOverride {
            element,
            score: s,
            reason: o.reason.clone(),
        });
    }
    circumstances
}

/// `gdpr.regime`: UK or EU GDPR, by default from the lead authority; a stated regime must
/// match it.
fn check_regime(c: &mut Checker, g: &RawGdpr) -> Option<GdprRegime> {
    let uk_authority = g.lead_authority.as_deref().is_some_and(is_uk_authority);
    match g.regime.as_ref().map(|r| (r, r.get_ref().trim().to_ascii_lowercase())) {
        None => Some(if uk_authority { GdprRegime::UkGdpr } else { GdprRegime::EuGdpr }),
        Some((_, v)) if v == "uk-gdpr" => Some(GdprRegime::UkGdpr),
        Some((r, v)) if v == "eu-gdpr" => {
            if uk_authority {
                let loc = c.at(r.span(), "gdpr.regime");
                c.problem(
                    "regime does not match the authority",
                    loc,
                    "eu-gdpr with the UK Information Commissioner as authority",
                    "regime = \"uk-gdpr\" for a notification to the ICO, or an EU supervisory authority",
                );
            }
            Some(GdprRegime::EuGdpr)
        }
        Some((r, v)) => {
            let loc = c.at(r.span(), "gdpr.regime");
            c.problem("unknown GDPR regime", loc, &v, "uk-gdpr or eu-gdpr");
            None
        }
    }
}

/// One `[[data]]` asset and its categories (ENISA data-processing context).
fn check_data_asset(c: &mut Checker, d: &RawData) -> DataAsset {
    let mut categories = Vec::new();
    for cat in &d.categories {
        let class = match cat.class.get_ref().to_ascii_lowercase().as_str() {
            "simple" => DataClass::Simple,
            "behavioural" | "behavioral" => DataClass::Behavioural,
            "financial" => DataClass::Financial,
            "sensitive" => DataClass::Sensitive,
            other => {
                let loc = c.at(cat.class.span(), "data.categories.class");
                c.problem(
                    "unknown data class",
                    loc,
                    other,
                    "simple, behavioural, financial or sensitive (ENISA Annex 1)",
                );
                continue;
            }
        };
        let score = match &cat.score {
            None => class.basic_score(),
            Some(s) if (1..=4).contains(s.get_ref()) => {
                if *s.get_ref() != class.basic_score() && cat.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
                    let loc = c.at(s.span(), "data.categories.reason");
                    c.problem(
                        "missing reason",
                        loc,
                        &s.get_ref().to_string(),
                        "a reason: ENISA requires one when the basic score is changed",
                    );
                }
                *s.get_ref()
            }
            Some(s) => {
                let loc = c.at(s.span(), "data.categories.score");
                c.problem("invalid DPC score", loc, &s.get_ref().to_string(), "1 to 4");
                continue;
            }
        };
        categories.push(DataCategory {
            name: cat.name.clone(),
            class,
            score,
            reason: cat.reason.clone(),
        });
    }
    let personal_data = check_personal_data(c, d);
    DataAsset {
        account: d.account.get_ref().to_lowercase(),
        container: d.container.to_lowercase(),
        personal_data,
        description: d.description.clone(),
        subject_categories: d.subject_categories.clone(),
        records: d.records,
        subjects: d.subjects,
        categories,
    }
}

/// `[rates]`: cost-rate overrides and the saved Retail Prices pages, inside the bundle.
fn check_rates(c: &mut Checker, rates: &RawRates, dir: &Path) -> RateOverrides {
    RateOverrides {
        vm: rates
            .vm
            .iter()
            .map(|v| VmRateOverride {
                size: v.size.clone(),
                region: Region::new(&v.region),
                usd_per_hour: v.usd_per_hour,
                source: v.source.clone(),
            })
            .collect(),
        egress_usd_per_gb: rates.egress_usd_per_gb,
        egress_free_gb: rates.egress_free_gb,
        public_ip_usd_per_hour: rates.public_ip_usd_per_hour,
        source: rates.source.clone(),
        retail_prices: rates.retail_prices.as_ref().map(|f| {
            let loc = c.at(f.span(), "rates.retail_prices");
            let rel = Path::new(f.get_ref());
            if rel.is_absolute() || rel.components().any(|p| matches!(p, std::path::Component::ParentDir)) {
                c.problem(
                    "file outside the bundle",
                    loc.clone(),
                    f.get_ref(),
                    "a path inside the bundle directory",
                );
            }
            (dir.join(rel), loc)
        }),
    }
}

/// `[[response]]`: actions the organisation reports having taken.
fn check_response(c: &mut Checker, raw: &[RawResponse]) -> Vec<ReportedAction> {
    let mut response = Vec::new();
    for r in raw {
        let at = r.at.as_ref().and_then(|a| c.timestamp(a, "response.at"));
        response.push(ReportedAction {
            action: r.action.clone(),
            at,
            by: r.by.clone(),
            note: r.note.clone(),
        });
    }
    response
}

/// `[[evidence]]`: each file inside the bundle, its declared kind (checked against the
/// registry of evidence sources) and zone.
fn check_evidence(c: &mut Checker, raw: &[RawEvidence], dir: &Path) -> Vec<EvidenceFile> {
    let mut evidence = Vec::new();
    let registry = crate::bundle::Registry::default();
    for e in raw {
        let loc = c.at(e.path.span(), "evidence.path");
        let rel = Path::new(e.path.get_ref());
        if rel.is_absolute() || rel.components().any(|p| matches!(p, std::path::Component::ParentDir)) {
            c.problem(
                "evidence outside the bundle",
                loc.clone(),
                e.path.get_ref(),
                "a path inside the bundle directory",
            );
        }
        // Parsed once, here: the bundle receives the enum.
        let kind = e.kind.as_ref().and_then(|k| match registry.parse_kind(k.get_ref()) {
            Some(kind) => Some(kind),
            None => {
                let loc = c.at(k.span(), "evidence.kind");
                c.problem("unknown evidence kind", loc, k.get_ref(), &registry.expected_kinds());
                None
            }
        });
        let timezone = e.timezone.as_ref().and_then(|z| match z.get_ref().parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                let loc = c.at(z.span(), "evidence.timezone");
                c.problem("unknown time zone", loc, z.get_ref(), "an IANA zone such as UTC or Europe/London");
                None
            }
        });
        evidence.push(EvidenceFile {
            path: dir.join(rel),
            kind,
            timezone,
            location: loc,
        });
    }
    evidence
}

/// `[[owners]]`: who owns each role named in the recommendations.
fn check_owners(c: &mut Checker, raw: &[RawOwner]) -> Vec<Owner> {
    let mut owners = Vec::new();
    for o in raw {
        match OwnerRole::parse(o.role.get_ref()) {
            Some(role) => owners.push(Owner {
                role,
                name: o.name.clone(),
            }),
            None => {
                let loc = c.at(o.role.span(), "owners.role");
                let roles: Vec<&str> = OwnerRole::ALL.iter().map(|r| r.key()).collect();
                c.problem("unknown owner role", loc, o.role.get_ref(), &roles.join(", "));
            }
        }
    }
    owners
}

/// The authority's country: two letters, and consistent with the regime (GB is the ICO's
/// country under UK GDPR and no EU member state's).
fn authority_country(c: &mut Checker<'_>, raw: Option<&Spanned<String>>, regime: GdprRegime) -> Option<String> {
    let Some(raw) = raw else {
        return (regime == GdprRegime::UkGdpr).then(|| "GB".to_string());
    };
    let code = raw.get_ref().trim().to_ascii_uppercase();
    let loc = c.at(raw.span(), "gdpr.authority_country");
    if code.len() != 2 || !code.chars().all(|ch| ch.is_ascii_uppercase()) {
        c.problem(
            "not a country code",
            loc,
            raw.get_ref(),
            "an ISO 3166-1 alpha-2 code such as \"NL\" or \"DE\"",
        );
        return None;
    }
    match (regime, code.as_str()) {
        (GdprRegime::UkGdpr, c2) if c2 != "GB" => {
            c.problem("country does not match the regime", loc, &code, "\"GB\" under uk-gdpr");
            None
        }
        (GdprRegime::EuGdpr, "GB") => {
            c.problem(
                "country does not match the regime",
                loc,
                &code,
                "an EU or EEA member state under eu-gdpr, or regime = \"uk-gdpr\"",
            );
            None
        }
        _ => Some(code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[case]
id = "C-1"
title = "t"
organisation = "o"
timezone = "Europe/London"
as_of = "2024-03-23T12:00:00Z"
"#;

    fn parse(text: &str) -> Result<Case> {
        parse_case(text, Path::new("b"), Path::new("b/case.toml"))
    }

    #[test]
    fn authority_country_is_a_code_that_matches_the_regime() {
        let gdpr = |extra: &str| format!("{MINIMAL}\n[gdpr]\naware_at = \"2024-03-21T09:30:00Z\"\n{extra}\n");
        let c = parse(&gdpr("regime = \"eu-gdpr\"\nauthority_country = \"nl\"")).unwrap();
        assert_eq!(c.gdpr.unwrap().authority_country.as_deref(), Some("NL"));
        let c = parse(&gdpr("regime = \"uk-gdpr\"")).unwrap();
        assert_eq!(
            c.gdpr.unwrap().authority_country.as_deref(),
            Some("GB"),
            "GB by default under UK GDPR"
        );
        let c = parse(&gdpr("regime = \"eu-gdpr\"")).unwrap();
        assert_eq!(c.gdpr.unwrap().authority_country, None, "no EU default: the deadline note says so");
        let e = parse(&gdpr("regime = \"eu-gdpr\"\nauthority_country = \"GB\""))
            .unwrap_err()
            .render();
        assert!(
            e.contains("gdpr.authority_country") && e.contains("does not match the regime"),
            "{e}"
        );
        let e = parse(&gdpr("regime = \"uk-gdpr\"\nauthority_country = \"DE\""))
            .unwrap_err()
            .render();
        assert!(e.contains("\"GB\" under uk-gdpr"), "{e}");
        let e = parse(&gdpr("authority_country = \"Germany\"")).unwrap_err().render();
        assert!(e.contains("not a country code") && e.contains("case.toml:"), "{e}");
    }

    #[test]
    fn gdpr_regime_is_validated_against_the_authority() {
        let gdpr = |regime: &str| {
            format!(
                "{MINIMAL}\n[gdpr]\naware_at = \"2024-03-21T09:30:00Z\"\nlead_authority = \"Information Commissioner's Office (UK)\"\n{regime}\n"
            )
        };
        let e = parse(&gdpr("regime = \"eu-gdpr\"")).unwrap_err().render();
        assert!(e.contains("gdpr.regime") && e.contains("uk-gdpr"), "{e}");
        let e = parse(&gdpr("regime = \"us-hipaa\"")).unwrap_err().render();
        assert!(e.contains("unknown GDPR regime"), "{e}");
        let c = parse(&gdpr("")).unwrap();
        let g = c.gdpr.unwrap();
        assert_eq!((g.regime, g.regime_stated), (GdprRegime::UkGdpr, false));
        let c = parse(&gdpr("regime = \"uk-gdpr\"")).unwrap();
        assert!(c.gdpr.unwrap().regime_stated);
    }

    #[test]
    fn owners_map_roles_to_names_and_unknown_roles_are_errors() {
        let c = parse(&format!("{MINIMAL}\n[[owners]]\nrole = \"dpo\"\nname = \"J. Doe\"\n")).unwrap();
        assert_eq!(c.owners[0].role, OwnerRole::Dpo);
        assert_eq!(c.owners[0].name, "J. Doe");
        let e = parse(&format!("{MINIMAL}\n[[owners]]\nrole = \"cfo\"\nname = \"X\"\n"))
            .unwrap_err()
            .render();
        assert!(e.contains("owners.role") && e.contains("cloud-platform"), "{e}");
    }

    #[test]
    fn minimal_case_parses() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.id, "C-1");
        assert_eq!(c.classification, "CONFIDENTIAL");
        assert!(c.gdpr.is_none());
    }

    #[test]
    fn unknown_key_points_at_its_line() {
        let text = format!("{MINIMAL}colour = \"red\"\n");
        let e = parse(&text).unwrap_err().render();
        assert!(e.contains("case file (invalid TOML)"), "{e}");
        assert!(e.contains("b/case.toml:8"), "{e}");
        assert!(e.contains("colour"), "{e}");
    }

    #[test]
    fn every_semantic_problem_is_reported_at_once() {
        let text = MINIMAL
            .replace("Europe/London", "Mars/Olympus")
            .replace("2024-03-23T12:00:00Z", "yesterday")
            + "[environment]\ntrusted_ip_ranges = [\"10.0.0.0/33\"]\n";
        let e = parse(&text).unwrap_err();
        let Error::Many(list) = &e else {
            panic!("expected several problems: {}", e.render())
        };
        assert_eq!(list.len(), 3, "{}", e.render());
        assert!(e.render().contains("case.toml:6"));
    }

    #[test]
    fn changed_dpc_score_needs_a_reason() {
        let text = format!(
            "{MINIMAL}[[data]]\naccount = \"a\"\ncontainer = \"c\"\n[[data.categories]]\nname = \"n\"\nclass = \"financial\"\nscore = 4\n"
        );
        assert!(parse(&text).unwrap_err().render().contains("missing reason"));
    }

    #[test]
    fn evidence_may_not_escape_the_bundle() {
        let text = format!("{MINIMAL}[[evidence]]\npath = \"../secret.csv\"\n");
        assert!(parse(&text).unwrap_err().render().contains("evidence outside the bundle"));
    }
}
