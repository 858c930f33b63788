//! Entra ID sign-ins: SigninLogs and AADNonInteractiveUserSignInLogs (Log Analytics CSV or
//! query JSON, including `_dynamic`/`_string` unions), the Entra portal download, and Graph
//! `auditLogs/signIns` JSON. Turns rows into [`SignIn`] records; no judgement about them.

use std::net::IpAddr;
use std::path::Path;

use serde::Serialize;

use super::source::{need, Capability, EvidenceSource, FileIn, Intake, Signature, SourceKind};
use super::Span;
use crate::error::{Location, Result};
use crate::input::table::{self as records, json_str, Row, TableInfo, TableOptions};
use crate::types::{parse_ip, Timestamp, Upn};

const WHAT: &str = "sign-in log";

/// Conditional Access outcome of a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaStatus {
    Success,
    Failure,
    NotApplied,
}

impl CaStatus {
    /// Entra's own spelling.
    pub fn label(self) -> &'static str {
        match self {
            CaStatus::Success => "success",
            CaStatus::Failure => "failure",
            CaStatus::NotApplied => "notApplied",
        }
    }
}

/// The result of one Conditional Access policy on one sign-in
/// (`appliedConditionalAccessPolicies[].result`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyResult {
    /// The policy applied and its controls were satisfied.
    Success,
    /// The policy applied and its controls were not satisfied (the sign-in was blocked).
    Failure,
    /// The policy's conditions left the sign-in out.
    NotApplied,
    /// The policy is switched off.
    NotEnabled,
    /// Report-only mode: evaluated and logged, never enforced.
    ReportOnly,
    /// A value this version does not know (`unknownFutureValue`, new results).
    Other,
}

impl PolicyResult {
    fn parse(raw: &str) -> PolicyResult {
        let r = raw.trim().to_ascii_lowercase();
        match r.as_str() {
            "success" => PolicyResult::Success,
            "failure" => PolicyResult::Failure,
            "notapplied" | "not applied" => PolicyResult::NotApplied,
            "notenabled" | "not enabled" => PolicyResult::NotEnabled,
            _ if r.starts_with("reportonly") => PolicyResult::ReportOnly,
            _ => PolicyResult::Other,
        }
    }
}

/// One Conditional Access policy as the sign-in record lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedPolicy {
    pub id: Option<String>,
    pub name: Option<String>,
    pub result: PolicyResult,
    /// `enforcedGrantControls` (e.g. `Mfa`, `Block`, `RequireCompliantDevice`).
    pub grant_controls: Vec<String>,
}

impl AppliedPolicy {
    /// The same policy: by id where both have one, else by name.
    pub fn same_as(&self, other: &AppliedPolicy) -> bool {
        match (&self.id, &other.id) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => self.name.is_some() && self.name == other.name,
        }
    }
    /// The policy enforced a second factor on this sign-in.
    pub fn enforced_mfa(&self) -> bool {
        self.result == PolicyResult::Success && self.grant_controls.iter().any(|g| g.eq_ignore_ascii_case("mfa"))
    }
    /// How a report names it.
    pub fn label(&self) -> String {
        self.name
            .clone()
            .or_else(|| self.id.clone())
            .unwrap_or_else(|| "an unnamed policy".into())
    }
}

/// What a sign-in's record says about multi-factor authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MfaResult {
    /// A second factor was completed in this sign-in, or satisfied by an MFA claim in the
    /// token (`MFA requirement satisfied by claim in the token`).
    Satisfied,
    /// A second factor was attempted and failed (`succeeded: false`, AADSTS500121).
    Failed,
    /// Entra demanded MFA and the sign-in stopped there (AADSTS50074/50076/50079).
    Interrupted,
    /// Only single-factor authentication was required and performed.
    NotRequired,
}

/// Who signed in: a user, or a workload identity (its sign-ins come from
/// `ServicePrincipalSignInLogs` / `ManagedIdentitySignInLogs` and name no user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Principal {
    User,
    ServicePrincipal,
    ManagedIdentity,
}

impl Principal {
    /// From the record's category or table name, else from which name it carries.
    fn of(row: &Row) -> Principal {
        let table = row.string(&["category", "type"]).unwrap_or_default().to_ascii_lowercase();
        if table.contains("managedidentity") {
            Principal::ManagedIdentity
        } else if table.contains("serviceprincipal") || row.field(&["userprincipalname", "username"]).is_none() {
            Principal::ServicePrincipal
        } else {
            Principal::User
        }
    }
}

/// One Entra ID sign-in.
#[derive(Debug, Clone, Serialize)]
pub struct SignIn {
    pub at: Timestamp,
    /// The user's UPN, or a workload identity's service principal name (see `principal`).
    pub upn: Upn,
    pub principal: Principal,
    pub display_name: Option<String>,
    pub ip: Option<IpAddr>,
    /// ISO 3166 alpha-2 as Entra reports it.
    pub country: Option<String>,
    pub city: Option<String>,
    pub app: Option<String>,
    pub resource: Option<String>,
    pub succeeded: bool,
    /// `ResultType` / AADSTS code ("0" for success).
    pub result_code: Option<String>,
    pub failure_reason: Option<String>,
    pub conditional_access: Option<CaStatus>,
    /// The Conditional Access policies the record lists with their result (Graph
    /// `appliedConditionalAccessPolicies`, Log Analytics `ConditionalAccessPolicies`); empty
    /// when the export does not carry them (the portal CSV does not).
    pub policies: Vec<AppliedPolicy>,
    /// `singleFactorAuthentication` or `multiFactorAuthentication`.
    pub auth_requirement: Option<String>,
    /// The MFA outcome, where the record carries enough to tell (None: it does not say).
    pub mfa: Option<MfaResult>,
    /// The second factor used (`MfaDetail.authMethod`, the portal's auth method column).
    pub mfa_method: Option<String>,
    /// `DeviceDetail.isCompliant` (portal: Compliant); None when the record does not say.
    pub device_compliant: Option<bool>,
    /// `DeviceDetail.isManaged` (portal: Managed); None when the record does not say.
    pub device_managed: Option<bool>,
    pub risk_during: Option<String>,
    pub risk_aggregated: Option<String>,
    pub risk_state: Option<String>,
    pub risk_events: Vec<String>,
    pub user_agent: Option<String>,
    pub correlation_id: Option<String>,
    /// The sign-in's own id (`Id`, Graph `id`, portal "Request ID"), for de-duplication.
    pub record_id: Option<String>,
    pub origin: Location,
}

#[cfg(test)]
impl SignIn {
    /// A user's sign-in with only the facts a unit test sets; every other field empty. A
    /// failure carries error 50126 (wrong user name or password), a success 0.
    pub fn for_tests(at: Timestamp, upn: &str, ip: &str, succeeded: bool, origin: Location) -> SignIn {
        SignIn {
            at,
            upn: Upn::new(upn),
            principal: Principal::User,
            display_name: None,
            ip: ip.parse().ok(),
            country: None,
            city: None,
            app: None,
            resource: None,
            succeeded,
            result_code: Some(if succeeded { "0" } else { "50126" }.into()),
            failure_reason: None,
            conditional_access: None,
            policies: Vec::new(),
            auth_requirement: None,
            mfa: None,
            mfa_method: None,
            device_compliant: None,
            device_managed: None,
            risk_during: None,
            risk_aggregated: None,
            risk_state: None,
            risk_events: Vec::new(),
            user_agent: None,
            correlation_id: None,
            record_id: None,
            origin,
        }
    }
}

impl SignIn {
    /// High or medium risk that was not dismissed, remediated or confirmed safe.
    pub fn risky(&self) -> bool {
        let level = |l: &Option<String>| matches!(l.as_deref(), Some("high") | Some("medium"));
        let open = !matches!(
            self.risk_state.as_deref(),
            Some("dismissed") | Some("remediated") | Some("confirmedsafe")
        );
        (level(&self.risk_during) || level(&self.risk_aggregated)) && open
    }
    pub fn single_factor(&self) -> bool {
        self.auth_requirement
            .as_deref()
            .is_some_and(|a| a.to_ascii_lowercase().contains("single"))
    }
}

fn lower(s: Option<String>) -> Option<String> {
    s.map(|v| v.to_ascii_lowercase()).filter(|v| !v.is_empty())
}

/// Country and city: LocationDetails (dynamic), Graph `location` object, the 2-letter LA
/// `Location` column, or the portal's "City, State, CC" cell.
fn location(row: &Row) -> Result<(Option<String>, Option<String>)> {
    let details = row.json(WHAT, &["locationdetails"])?;
    let mut country = details.as_ref().and_then(|d| json_str(d, "countryOrRegion"));
    let mut city = details.as_ref().and_then(|d| json_str(d, "city"));
    if country.is_none() {
        country = row.string(&["location.countryorregion"]);
        city = city.or_else(|| row.string(&["location.city"]));
    }
    if country.is_none() {
        if let Some(loc) = row.string(&["location"]) {
            if loc.starts_with('{') || loc.starts_with("@{") {
                let v = row.json(WHAT, &["location"])?;
                country = v.as_ref().and_then(|d| json_str(d, "countryOrRegion"));
                city = city.or_else(|| v.as_ref().and_then(|d| json_str(d, "city")));
            } else if let Some((rest, cc)) = loc.rsplit_once(',') {
                country = Some(cc.trim().to_string());
                city = city.or_else(|| rest.split(',').next().map(|c| c.trim().to_string()));
            } else {
                country = Some(loc);
            }
        }
    }
    Ok((country, city))
}

/// The result code and whether the sign-in succeeded.
fn outcome(row: &Row) -> Result<(Option<String>, bool)> {
    // `Status` is a dynamic object in Log Analytics and Graph, "Success"/"Failure" text in the
    // portal download, and `@{errorCode=0; …}` in a PowerShell export.
    let status_obj = match row.string(&["status"]) {
        Some(t) if t.starts_with('{') || t.starts_with("@{") => row.json(WHAT, &["status"])?,
        _ => None,
    };
    let result_code = row.string(&["resulttype", "status.errorcode", "sign-in error code"]).or_else(|| {
        status_obj
            .as_ref()
            .and_then(|s| records::json_path(s, "errorCode").map(|c| c.as_str().map(str::to_string).unwrap_or_else(|| c.to_string())))
    });
    let status_text = row.string(&["status"]).filter(|s| !s.starts_with('{') && !s.starts_with("@{"));
    let succeeded = match (&result_code, &status_text) {
        (Some(code), _) => code == "0",
        (None, Some(s)) => s.eq_ignore_ascii_case("success"),
        (None, None) => false,
    };
    Ok((result_code, succeeded))
}

/// Parses one row.
///
/// # Errors
/// An input error naming the file, record and field of the first record that cannot be read.
pub fn parse_row(row: &Row) -> Result<SignIn> {
    let at = row.timestamp(WHAT, &["createddatetime", "timegenerated", "date (utc)", "date"])?;
    let upn = Upn::new(
        row.required(
            WHAT,
            &["userprincipalname", "username", "serviceprincipalname", "serviceprincipalid"],
        )?
        .value,
    );
    let ip = match row.field(&["ipaddress", "ip address"]) {
        None => None,
        Some(f) => match parse_ip(f.value) {
            Some(ip) => Some(ip),
            None if f.value.trim().starts_with('<') => None,
            None => return Err(row.bad(WHAT, "invalid IP address", f, "an IPv4 or IPv6 address")),
        },
    };
    let (country, city) = location(row)?;
    let (result_code, succeeded) = outcome(row)?;
    let conditional_access = match lower(row.string(&["conditionalaccessstatus", "conditional access"])).as_deref() {
        None => None,
        Some("success") => Some(CaStatus::Success),
        Some("failure") => Some(CaStatus::Failure),
        Some("notapplied") | Some("not applied") => Some(CaStatus::NotApplied),
        Some(_) => {
            let f = row.required(WHAT, &["conditionalaccessstatus", "conditional access"])?;
            return Err(row.bad(WHAT, "unknown Conditional Access status", f, "success, failure or notApplied"));
        }
    };
    let risk_events = match row.field(&["riskeventtypes_v2", "riskeventtypes"]) {
        None => Vec::new(),
        // PowerShell's Export-Csv writes an array as its type name: the content is lost.
        Some(f) if f.value.trim() == "System.Object[]" => Vec::new(),
        Some(f) => match records::parse_json_cell(f.value) {
            Ok(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            _ => f
                .value
                .split(',')
                .map(|s| s.trim().trim_matches(['[', ']', '"']).to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        },
    };
    let policies = applied_policies(row);
    let device = row.json(WHAT, &["devicedetail"]).ok().flatten();
    let device_flag = |key: &str, column: &[&str]| {
        device
            .as_ref()
            .and_then(|d| records::json_path(d, key).and_then(|v| json_bool(&v)))
            .or_else(|| row.str(column).and_then(text_bool))
    };
    let device_compliant = device_flag("isCompliant", &["devicedetail.iscompliant", "compliant"]);
    let device_managed = device_flag("isManaged", &["devicedetail.ismanaged", "managed"]);
    let auth_requirement = row.string(&["authenticationrequirement", "authentication requirement"]);
    let (mfa, mfa_method) = mfa_outcome(row, result_code.as_deref(), succeeded, auth_requirement.as_deref());
    Ok(SignIn {
        at,
        upn,
        principal: Principal::of(row),
        display_name: row.string(&["userdisplayname", "user"]),
        ip,
        country: country.map(|c| c.to_uppercase()),
        city,
        app: row.string(&["appdisplayname", "application"]),
        resource: row.string(&["resourcedisplayname", "resource"]),
        succeeded,
        result_code,
        failure_reason: row.string(&["resultdescription", "status.failurereason", "failure reason"]),
        conditional_access,
        policies,
        auth_requirement,
        mfa,
        mfa_method,
        device_compliant,
        device_managed,
        risk_during: lower(row.string(&["risklevelduringsignin"])),
        risk_aggregated: lower(row.string(&["risklevelaggregated"])),
        risk_state: lower(row.string(&["riskstate"])),
        risk_events,
        user_agent: row.string(&["useragent", "user agent"]),
        correlation_id: row.string(&["correlationid", "correlation id"]),
        record_id: row.string(&["id", "request id", "originalrequestid"]),
        origin: row.location().clone(),
    })
}

/// The Conditional Access policies of a record. A cell that is not a JSON array of policies
/// (PowerShell's `System.Object[]`, broken JSON) is counted as an anomaly and read as none.
fn applied_policies(row: &Row) -> Vec<AppliedPolicy> {
    let Some(field) = row.field(&["appliedconditionalaccesspolicies", "conditionalaccesspolicies"]) else {
        return Vec::new();
    };
    let value = match records::parse_json_cell(field.value) {
        Ok(serde_json::Value::Array(a)) => a,
        _ if field.value.trim().is_empty() => return Vec::new(),
        _ => {
            row.anomaly("Conditional Access policies not readable (not a JSON array)");
            return Vec::new();
        }
    };
    value
        .iter()
        .filter_map(|p| {
            let result = PolicyResult::parse(&json_str(p, "result")?);
            let grant_controls = records::json_path(p, "enforcedGrantControls")
                .and_then(|g| {
                    g.as_array()
                        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                })
                .unwrap_or_default();
            Some(AppliedPolicy {
                id: json_str(p, "id"),
                name: json_str(p, "displayName"),
                result,
                grant_controls,
            })
        })
        .collect()
}

/// A JSON boolean, or its text form.
fn json_bool(v: &serde_json::Value) -> Option<bool> {
    v.as_bool().or_else(|| v.as_str().and_then(text_bool))
}

/// `true`/`false` (JSON, PowerShell's `True`) or the portal's `Yes`/`No`.
fn text_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" => Some(true),
        "false" | "no" => Some(false),
        _ => None,
    }
}

/// Error codes that mean Entra asked for a second factor and the sign-in stopped there.
const MFA_INTERRUPTS: &[&str] = &["50074", "50076", "50079"];
/// Error code: the second factor was attempted and failed.
const MFA_FAILED: &str = "500121";

/// The MFA outcome and method from `AuthenticationDetails` (LA, Graph), `MfaDetail`, the
/// portal's MFA columns, the result code and the authentication requirement, in that order.
fn mfa_outcome(row: &Row, code: Option<&str>, succeeded: bool, requirement: Option<&str>) -> (Option<MfaResult>, Option<String>) {
    let mfa_detail = row.json(WHAT, &["mfadetail"]).ok().flatten();
    let mut method = mfa_detail
        .as_ref()
        .and_then(|d| json_str(d, "authMethod"))
        .or_else(|| row.string(&["mfadetail.authmethod", "multifactor authentication auth method"]));
    let steps = row.json(WHAT, &["authenticationdetails"]).ok().flatten();
    let mut outcome = None;
    for step in steps.iter().flat_map(|s| s.as_array().into_iter().flatten()) {
        let step_method = json_str(step, "authenticationMethod").unwrap_or_default();
        let detail = json_str(step, "authenticationStepResultDetail")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let second_factor =
            !matches!(step_method.to_ascii_lowercase().as_str(), "" | "password" | "previously satisfied") || detail.contains("mfa");
        if !second_factor {
            continue;
        }
        let ok = records::json_path(step, "succeeded").and_then(|v| json_bool(&v));
        if ok == Some(false) && outcome.is_none() {
            outcome = Some(MfaResult::Failed);
        } else if ok == Some(true) {
            outcome = Some(MfaResult::Satisfied);
        }
        if method.is_none() && !step_method.eq_ignore_ascii_case("previously satisfied") && !step_method.is_empty() {
            method = Some(step_method);
        }
    }
    let portal = row.string(&["multifactor authentication result"]).map(|r| r.to_ascii_lowercase());
    let outcome = outcome
        .or_else(|| {
            portal.as_deref().and_then(|r| {
                if r.contains("satisfied") || r.contains("completed") || r.contains("success") {
                    Some(MfaResult::Satisfied)
                } else if r.contains("fail") || r.contains("denied") {
                    Some(MfaResult::Failed)
                } else {
                    None
                }
            })
        })
        .or_else(|| match code {
            Some(c) if c == MFA_FAILED => Some(MfaResult::Failed),
            Some(c) if MFA_INTERRUPTS.contains(&c) => Some(MfaResult::Interrupted),
            _ => None,
        })
        .or_else(|| {
            let req = requirement?.to_ascii_lowercase();
            match (succeeded, req.contains("multi"), req.contains("single")) {
                (true, true, _) => Some(MfaResult::Satisfied),
                (true, _, true) => Some(MfaResult::NotRequired),
                _ => None,
            }
        });
    (outcome, method)
}

/// Reads every sign-in of a file.
///
/// # Errors
/// An input error naming the file, record and field of the first record that cannot be read.
pub fn load(path: &Path, span: &mut Span) -> Result<(Vec<SignIn>, TableInfo)> {
    load_with(path, &TableOptions::default(), span)
}

/// [`load`] with reading options (a declared zone, field tracking).
///
/// # Errors
/// An input error naming the file, record and field of the first record that cannot be read.
pub fn load_with(path: &Path, options: &TableOptions, span: &mut Span) -> Result<(Vec<SignIn>, TableInfo)> {
    records::load_records(path, WHAT, options, span, parse_row, |x| x.at)
}
/// How a file of this source is recognised, most specific shape first.
const SIGNATURES: &[Signature] = &[Signature {
    shape: "sign-in log (SigninLogs, portal, Graph, sign-in diagnostic records)",
    needs: &[
        need(
            &["userprincipalname", "username", "serviceprincipalname", "serviceprincipalid"],
            "userPrincipalName (or servicePrincipalName)",
        ),
        need(&["ipaddress", "ip address"], "ipAddress"),
        need(
            &["createddatetime", "date (utc)", "conditionalaccessstatus", "resulttype"],
            "createdDateTime",
        ),
    ],
}];

/// The Entra ID sign-in log as an evidence source (SigninLogs, AADNonInteractiveUserSignInLogs,
/// portal, Graph, sign-in diagnostic records).
pub struct SignIns;

/// The kind of [`SignIns`].
pub const KIND: SourceKind = SourceKind::of(&SignIns);

impl EvidenceSource for SignIns {
    fn key(&self) -> &'static str {
        "signins"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["signinlogs", "sign-ins"]
    }
    fn describe(&self) -> &'static str {
        WHAT
    }
    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }
    fn precedence(&self) -> u8 {
        60
    }
    fn capabilities(&self) -> &'static [Capability] {
        &[
            Capability {
                any: &["conditionalaccessstatus", "conditional access"],
                without: "Conditional Access status: CA gaps cannot be proven from this file",
            },
            Capability {
                any: &["risklevelduringsignin", "risklevelaggregated", "riskstate"],
                without: "risk columns: risky sign-ins cannot be recognised from this file",
            },
            Capability {
                any: &["authenticationrequirement", "authentication requirement"],
                without: "authentication requirement: single-factor sign-ins cannot be shown",
            },
        ]
    }
    fn consequence(&self) -> Option<&'static str> {
        Some("the identity compromise (how, from where, with which controls) cannot be shown")
    }
    fn load(&self, file: &FileIn, intake: &mut Intake) -> Result<()> {
        let items = intake.read_all(file, WHAT, parse_row, |s| Some(s.at))?;
        intake.keep_unique(
            KIND,
            items,
            |b| &mut b.signins,
            |s| {
                s.record_id
                    .clone()
                    .unwrap_or_else(|| format!("{}|{}|{:?}|{:?}", s.at.rfc3339(), s.upn, s.ip, s.correlation_id))
            },
        );
        Ok(())
    }
}

/// [`load`] over bytes already open (in memory, for the fuzz harness): `name` stands for the
/// file in messages and, by its extension, helps tell the shape.
///
/// # Errors
/// An input error naming the file, record and field of the first record that cannot be read.
pub fn load_from(name: &Path, raw: impl std::io::Read + 'static, span: &mut Span) -> Result<(Vec<SignIn>, TableInfo)> {
    let input = records::open_reader(name, WHAT, raw)?;
    records::load_records_from(name, WHAT, input, &TableOptions::default(), span, parse_row, |x| x.at)
}
