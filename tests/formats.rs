//! One small fixture per real-world export shape (`tests/fixtures/`, described in its README),
//! each read through the library as the CLI reads it, with concrete values checked. The
//! fixtures tell one consistent story: Kestrel Freight's Priya Raman signs in from Melbourne;
//! an attacker signs in as her from Amsterdam (198.51.100.77), creates a GPU VM in Brazil South,
//! lists the `kestrelprod` storage keys and downloads customer exports with the account key.
//!
//! Each test gathers every mismatch before failing, so one run names every value a parser gets
//! wrong in a shape.

use std::fmt::Debug;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use casefile::bundle::activity::{self, ActivityEvent, ActivityStatus};
use casefile::bundle::signins::{self, CaStatus, SignIn};
use casefile::bundle::storage::{self, AuthType, BlobRequest};
use casefile::bundle::{alerts, SourceKind, Span};
use casefile::input::table::{peek_columns, read_table, Visit};
use casefile::posture::recommendations::{load_recommendations, RecState, Recommendation, RecommendationExport};
use casefile::types::Region;

use crate::util::root;

const UPN: &str = "priya.raman@kestrelfreight.com.au";
const ATTACKER: &str = "198.51.100.77";
const OFFICE: &str = "203.0.113.24";
const SUB: &str = "b7e3c9a2-4d18-4f6e-8a25-9c0f1e3d7b64";

fn fixture(name: &str) -> PathBuf {
    let p = root().join("tests/fixtures").join(name);
    assert!(p.exists(), "fixture {} is missing", p.display());
    p
}

fn kind_of(p: &Path) -> Option<SourceKind> {
    casefile::bundle::Registry::default().detect(&peek_columns(p, "test").unwrap().1)
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

fn sa() -> String {
    format!("/subscriptions/{SUB}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/kestrelprod")
}

fn vm() -> String {
    format!("/subscriptions/{SUB}/resourceGroups/rg-ml-sandbox/providers/Microsoft.Compute/virtualMachines/vm-train-01")
}

/// Gathers mismatches so a test reports all of them at once.
#[derive(Default)]
struct Check(Vec<String>);

impl Check {
    fn eq<T: PartialEq + Debug>(&mut self, what: &str, got: T, want: T) {
        if got != want {
            self.0.push(format!("{what}: got {got:?}, want {want:?}"));
        }
    }
    fn ok(&mut self, what: &str, cond: bool) {
        if !cond {
            self.0.push(format!("{what}: false"));
        }
    }
    fn done(self, fixture: &str) {
        assert!(
            self.0.is_empty(),
            "{fixture}: {} value(s) read wrong:\n  {}",
            self.0.len(),
            self.0.join("\n  ")
        );
    }
}

fn load_signins(name: &str) -> (Vec<SignIn>, u64) {
    let (rows, info) = signins::load(&fixture(name), &mut Span::default()).unwrap_or_else(|e| panic!("{name}: {}", e.render()));
    (rows, info.records)
}

fn upn_of(s: &SignIn) -> &str {
    s.upn.as_str()
}

// ------------------------------------------------------------------------------ sign-ins

#[test]
fn entra_portal_csv_reads_location_cell_and_not_applied_ca() {
    let name = "entra-portal-signins.csv";
    let p = fixture(name);
    assert_eq!(kind_of(&p), Some(casefile::bundle::signins::KIND));
    let (rows, records) = load_signins(name);
    let mut c = Check::default();
    c.eq("records", records, 4);
    c.eq("rows", rows.len(), 4);
    let (_, info) = signins::load(&p, &mut Span::default()).unwrap();
    c.ok(
        "duplicate \"Incoming token type\" header is noticed",
        info.duplicate_columns.iter().any(|d| d == "incoming token type"),
    );
    let office = &rows[0];
    c.eq("[0] at", office.at.rfc3339().as_str(), "2025-12-04T08:19:41Z");
    c.eq("[0] upn (Username column)", upn_of(office), UPN);
    c.eq(
        "[0] display name (User column)",
        office.display_name.as_deref(),
        Some("Priya Raman"),
    );
    c.eq("[0] ip", office.ip, ip(OFFICE));
    c.eq(
        "[0] country from \"Melbourne, Victoria, AU\"",
        office.country.as_deref(),
        Some("AU"),
    );
    c.eq("[0] city", office.city.as_deref(), Some("Melbourne"));
    c.eq("[0] succeeded", office.succeeded, true);
    c.eq("[0] result code", office.result_code.as_deref(), Some("0"));
    c.eq("[0] CA", office.conditional_access, Some(CaStatus::Success));
    c.eq(
        "[0] auth requirement",
        office.auth_requirement.as_deref(),
        Some("Multifactor authentication"),
    );
    c.eq("[0] single factor", office.single_factor(), false);
    c.eq("[0] app", office.app.as_deref(), Some("Azure Portal"));
    c.eq(
        "[0] resource",
        office.resource.as_deref(),
        Some("Windows Azure Service Management API"),
    );
    c.eq(
        "[0] record id (Request ID)",
        office.record_id.as_deref(),
        Some("7c1e4b2a-9d3f-4e8a-b5c6-1a2b3c4d5e01"),
    );
    c.ok(
        "[0] user agent",
        office.user_agent.as_deref().is_some_and(|u| u.contains("Edg/142")),
    );
    let failed = &rows[1];
    c.eq("[1] ip", failed.ip, ip(ATTACKER));
    c.eq(
        "[1] country from \"Amsterdam, Noord-Holland, NL\"",
        failed.country.as_deref(),
        Some("NL"),
    );
    c.eq("[1] city", failed.city.as_deref(), Some("Amsterdam"));
    c.eq("[1] succeeded", failed.succeeded, false);
    c.eq("[1] result code", failed.result_code.as_deref(), Some("50126"));
    c.eq(
        "[1] failure reason",
        failed.failure_reason.as_deref(),
        Some("Error validating credentials due to invalid username or password."),
    );
    c.eq("[1] CA \"Not Applied\"", failed.conditional_access, Some(CaStatus::NotApplied));
    let attacker = &rows[2];
    c.eq("[2] at", attacker.at.rfc3339().as_str(), "2025-12-04T08:28:14Z");
    c.eq("[2] succeeded", attacker.succeeded, true);
    c.eq("[2] CA \"Not Applied\"", attacker.conditional_access, Some(CaStatus::NotApplied));
    c.eq("[2] single factor", attacker.single_factor(), true);
    c.eq(
        "[2] correlation id",
        attacker.correlation_id.as_deref(),
        Some("c7e2a1f9-4b3d-4e6a-8c15-92f0d3b7a6e4"),
    );
    c.eq("[3] app", rows[3].app.as_deref(), Some("Microsoft Azure CLI"));
    c.eq("[3] at", rows[3].at.rfc3339().as_str(), "2025-12-04T08:31:07Z");
    c.done(name);
}

#[test]
fn entra_portal_json_reads_graph_objects_with_beta_risk_fields() {
    let name = "entra-portal-signins.json";
    assert_eq!(kind_of(&fixture(name)), Some(casefile::bundle::signins::KIND));
    let (rows, records) = load_signins(name);
    let mut c = Check::default();
    c.eq("records", records, 3);
    // Newest first, as the portal lists them.
    let risky = &rows[0];
    c.eq("[0] at", risky.at.rfc3339().as_str(), "2025-12-04T08:28:14Z");
    c.eq("[0] upn", upn_of(risky), UPN);
    c.eq("[0] ip", risky.ip, ip(ATTACKER));
    c.eq("[0] country (location.countryOrRegion)", risky.country.as_deref(), Some("NL"));
    c.eq("[0] city", risky.city.as_deref(), Some("Amsterdam"));
    c.eq("[0] succeeded (status.errorCode 0)", risky.succeeded, true);
    c.eq("[0] result code", risky.result_code.as_deref(), Some("0"));
    c.eq("[0] CA", risky.conditional_access, Some(CaStatus::NotApplied));
    c.eq(
        "[0] auth requirement",
        risky.auth_requirement.as_deref(),
        Some("singleFactorAuthentication"),
    );
    c.eq("[0] risk during", risky.risk_during.as_deref(), Some("high"));
    c.eq("[0] risk aggregated", risky.risk_aggregated.as_deref(), Some("high"));
    c.eq("[0] risk state", risky.risk_state.as_deref(), Some("atrisk"));
    c.eq(
        "[0] risk events",
        risky.risk_events.clone(),
        vec!["unfamiliarFeatures".to_string(), "anonymizedIPAddress".to_string()],
    );
    c.eq("[0] risky", risky.risky(), true);
    c.eq(
        "[0] record id",
        risky.record_id.as_deref(),
        Some("e5a9c3f1-7b2d-4f8e-a6c4-3d1b9e7f5a03"),
    );
    let failed = &rows[1];
    c.eq("[1] succeeded", failed.succeeded, false);
    c.eq("[1] result code", failed.result_code.as_deref(), Some("50126"));
    c.eq(
        "[1] failure reason (status.failureReason)",
        failed.failure_reason.as_deref(),
        Some("Error validating credentials due to invalid username or password."),
    );
    c.eq("[1] risk events ([])", failed.risk_events.len(), 0);
    let office = &rows[2];
    c.eq("[2] ip", office.ip, ip(OFFICE));
    c.eq("[2] country", office.country.as_deref(), Some("AU"));
    c.eq("[2] CA", office.conditional_access, Some(CaStatus::Success));
    c.eq("[2] single factor", office.single_factor(), false);
    c.eq("[2] risky", office.risky(), false);
    c.done(name);
}

#[test]
fn graph_signins_page_reads_value_array_with_int_error_codes_and_risk_arrays() {
    let name = "graph-signins-page.json";
    assert_eq!(kind_of(&fixture(name)), Some(casefile::bundle::signins::KIND));
    let (rows, records) = load_signins(name);
    let mut c = Check::default();
    c.eq("records (only `value`, not @odata.*)", records, 3);
    let cli = &rows[0];
    c.eq("[0] at", cli.at.rfc3339().as_str(), "2025-12-04T08:31:07Z");
    c.eq("[0] app", cli.app.as_deref(), Some("Microsoft Azure CLI"));
    c.eq(
        "[0] resource",
        cli.resource.as_deref(),
        Some("Windows Azure Service Management API"),
    );
    c.eq("[0] ip", cli.ip, ip(ATTACKER));
    c.eq("[0] country", cli.country.as_deref(), Some("NL"));
    c.eq("[0] succeeded", cli.succeeded, true);
    c.eq("[0] risk during", cli.risk_during.as_deref(), Some("medium"));
    c.eq("[0] risk aggregated", cli.risk_aggregated.as_deref(), Some("high"));
    c.eq("[0] risk events", cli.risk_events.clone(), vec!["unfamiliarFeatures".to_string()]);
    c.eq("[0] auth requirement (not in v1.0)", cli.auth_requirement.as_deref(), None);
    c.eq("[0] CA", cli.conditional_access, Some(CaStatus::NotApplied));
    c.eq("[1] risk events", rows[1].risk_events.len(), 2);
    c.eq("[1] risky", rows[1].risky(), true);
    let failed = &rows[2];
    c.eq("[2] at", failed.at.rfc3339().as_str(), "2025-12-04T08:27:03Z");
    c.eq("[2] result code (int 50126)", failed.result_code.as_deref(), Some("50126"));
    c.eq("[2] succeeded", failed.succeeded, false);
    c.eq("[2] city", failed.city.as_deref(), Some("Amsterdam"));
    c.done(name);
}

#[test]
fn noninteractive_la_csv_reads_string_json_columns_and_en_us_times() {
    let name = "noninteractive-signins.csv";
    assert_eq!(kind_of(&fixture(name)), Some(casefile::bundle::signins::KIND));
    let (rows, records) = load_signins(name);
    let mut c = Check::default();
    c.eq("records (multi-line JSON cells are one record)", records, 3);
    let refresh = &rows[0];
    c.eq(
        "[0] at (CreatedDateTime, not TimeGenerated)",
        refresh.at.rfc3339().as_str(),
        "2025-12-04T08:35:12Z",
    );
    c.eq("[0] upn", upn_of(refresh), UPN);
    c.eq("[0] ip", refresh.ip, ip(ATTACKER));
    c.eq(
        "[0] country (pretty-printed LocationDetails string)",
        refresh.country.as_deref(),
        Some("NL"),
    );
    c.eq("[0] city", refresh.city.as_deref(), Some("Amsterdam"));
    c.eq("[0] succeeded", refresh.succeeded, true);
    c.eq("[0] app", refresh.app.as_deref(), Some("Microsoft Azure CLI"));
    c.eq("[0] CA", refresh.conditional_access, Some(CaStatus::NotApplied));
    c.eq("[0] risk aggregated", refresh.risk_aggregated.as_deref(), Some("high"));
    c.eq("[0] risk events (\"[]\")", refresh.risk_events.len(), 0);
    let teams = &rows[1];
    c.eq("[1] ipv6", teams.ip, ip("2001:db8:4a2c:1f00:9d1e:52b3:c0a8:17e4"));
    c.eq("[1] country", teams.country.as_deref(), Some("AU"));
    c.eq("[1] city", teams.city.as_deref(), Some("Melbourne"));
    c.eq("[1] app", teams.app.as_deref(), Some("Microsoft Teams"));
    c.eq("[1] resource", teams.resource.as_deref(), Some("Microsoft Graph"));
    c.eq("[1] CA", teams.conditional_access, Some(CaStatus::Success));
    c.eq("[1] single factor", teams.single_factor(), false);
    let revoked = &rows[2];
    c.eq("[2] at", revoked.at.rfc3339().as_str(), "2025-12-04T11:05:18Z");
    c.eq("[2] result code", revoked.result_code.as_deref(), Some("50173"));
    c.eq("[2] succeeded", revoked.succeeded, false);
    c.ok(
        "[2] failure reason",
        revoked
            .failure_reason
            .as_deref()
            .is_some_and(|r| r.starts_with("The provided grant has expired")),
    );
    c.eq(
        "[2] record id",
        revoked.record_id.as_deref(),
        Some("c3f7a9e1-8b5d-4c2f-a3e6-7d9b1f3a5c13"),
    );
    c.done(name);
}

#[test]
fn powershell_51_export_csv_skips_type_line_and_reads_semicolon_fields() {
    let name = "powershell-export.csv";
    let p = fixture(name);
    let head = std::fs::read(&p).unwrap();
    assert!(head.starts_with(b"#TYPE System.Management.Automation.PSCustomObject\r\n"));
    assert_eq!(kind_of(&p), Some(casefile::bundle::signins::KIND));
    let (rows, records) = load_signins(name);
    let mut c = Check::default();
    c.eq("records", records, 3);
    let risky = &rows[0];
    c.eq("[0] at", risky.at.rfc3339().as_str(), "2025-12-04T08:28:14Z");
    c.eq("[0] upn", upn_of(risky), UPN);
    c.eq("[0] ip", risky.ip, ip(ATTACKER));
    c.eq("[0] app", risky.app.as_deref(), Some("Azure Portal"));
    c.eq("[0] CA", risky.conditional_access, Some(CaStatus::NotApplied));
    c.eq("[0] risk during", risky.risk_during.as_deref(), Some("high"));
    c.eq(
        "[0] record id",
        risky.record_id.as_deref(),
        Some("e5a9c3f1-7b2d-4f8e-a6c4-3d1b9e7f5a03"),
    );
    // Export-Csv writes nested objects as PowerShell's `@{key=value; ...}` text and arrays
    // as `System.Object[]`: the status, location and risk-event cells.
    c.eq(
        "[0] succeeded (status \"@{errorCode=0; failureReason=Other.; additionalDetails=}\")",
        risky.succeeded,
        true,
    );
    c.eq(
        "[0] result code (status @{errorCode=0; ...})",
        risky.result_code.as_deref(),
        Some("0"),
    );
    c.eq(
        "[0] country (location \"@{city=Amsterdam; state=Noord-Holland; countryOrRegion=NL; ...}\")",
        risky.country.as_deref(),
        Some("NL"),
    );
    c.eq(
        "[0] city (location @{city=Amsterdam; ...})",
        risky.city.as_deref(),
        Some("Amsterdam"),
    );
    c.eq(
        "[0] risk events (\"System.Object[]\": content lost, so none known)",
        risky.risk_events.clone(),
        Vec::<String>::new(),
    );
    c.eq(
        "[1] result code (status @{errorCode=50126; ...})",
        rows[1].result_code.as_deref(),
        Some("50126"),
    );
    c.eq("[1] succeeded", rows[1].succeeded, false);
    c.eq("[2] ip", rows[2].ip, ip(OFFICE));
    c.eq("[2] succeeded (status @{errorCode=0; ...})", rows[2].succeeded, true);
    c.eq(
        "[2] country (location @{...countryOrRegion=AU...})",
        rows[2].country.as_deref(),
        Some("AU"),
    );
    c.done(name);
}

// ------------------------------------------------------------------------------ activity

fn az_summary(events: &[ActivityEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            format!(
                "{} {} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                e.at.0.to_rfc3339(),
                e.operation,
                e.status,
                e.caller,
                e.caller_ip,
                e.correlation_id,
                e.resource_group,
                e.details.region,
                e.details.vm_size
            )
        })
        .collect()
}

fn check_az_events(c: &mut Check, events: &[ActivityEvent]) {
    c.eq("events", events.len(), 5);
    if events.len() != 5 {
        return;
    }
    // az lists newest first.
    let started = &events[4];
    c.eq(
        "[4] operation",
        started.operation.as_str(),
        "microsoft.compute/virtualmachines/write",
    );
    c.eq(
        "[4] display name",
        started.display_name.as_deref(),
        Some("Create or Update Virtual Machine"),
    );
    c.eq("[4] status", started.status.clone(), ActivityStatus::Started);
    c.eq(
        "[4] at (+00:00 offset, microseconds kept)",
        started.at.0.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "2025-12-04T08:41:22.417353Z".to_string(),
    );
    c.eq("[4] caller", started.caller.as_ref().map(|u| u.as_str()), Some(UPN));
    c.eq("[4] caller ip (httpRequest.clientIpAddress)", started.caller_ip, ip(ATTACKER));
    c.eq(
        "[4] correlation id",
        started.correlation_id.as_deref(),
        Some("e4a1c6d2-7b38-4f95-a0c1-3d8e2f6b9a14"),
    );
    c.eq("[4] resource group", started.resource_group.as_deref(), Some("rg-ml-sandbox"));
    c.eq(
        "[4] resource id",
        started.resource_id.as_ref().map(|r| r.key().to_string()),
        Some(vm().to_lowercase()),
    );
    c.eq(
        "[4] event id",
        started.event_id.as_deref(),
        Some("6a2c4e8f-1b3d-4f5a-9c7e-0d2f4a6c8e01"),
    );
    c.eq(
        "[4] region (requestbody)",
        started.details.region.clone(),
        Some(Region::new("brazilsouth")),
    );
    let accepted = &events[3];
    c.eq("[3] status", accepted.status.clone(), ActivityStatus::Accepted);
    c.eq(
        "[3] region (responseBody string)",
        accepted.details.region.clone(),
        Some(Region::new("Brazil South")),
    );
    c.eq("[3] vm size", accepted.details.vm_size.as_deref(), Some("Standard_NC24ads_A100_v4"));
    c.eq("[3] substatus", accepted.substatus.as_deref(), Some("Created"));
    let done = &events[2];
    c.eq("[2] status", done.status.clone(), ActivityStatus::Succeeded);
    c.eq(
        "[2] same correlation id",
        done.correlation_id.clone(),
        started.correlation_id.clone(),
    );
    let keys = &events[1];
    c.eq(
        "[1] operation",
        keys.operation.as_str(),
        "microsoft.storage/storageaccounts/listkeys/action",
    );
    c.eq("[1] status", keys.status.clone(), ActivityStatus::Succeeded);
    c.eq("[1] resource group", keys.resource_group.as_deref(), Some("rg-data"));
    c.eq(
        "[1] resource id",
        keys.resource_id.as_ref().map(|r| r.key().to_string()),
        Some(sa().to_lowercase()),
    );
    c.eq("[1] at", keys.at.rfc3339().as_str(), "2025-12-04T08:47:09Z");
    let denied = &events[0];
    c.eq(
        "[0] operation",
        denied.operation.as_str(),
        "microsoft.authorization/roleassignments/write",
    );
    c.eq("[0] status", denied.status.clone(), ActivityStatus::Failed);
    c.eq("[0] substatus", denied.substatus.as_deref(), Some("Forbidden"));
    c.eq("[0] category", denied.category.as_deref(), Some("Administrative"));
}

#[test]
fn az_activity_log_json_reads_rest_statuses_offsets_and_vm_details() {
    let name = "az-activity-log.json";
    let p = fixture(name);
    assert_eq!(kind_of(&p), Some(casefile::bundle::activity::KIND));
    let (events, info) = activity::load(&p, &mut Span::default()).unwrap_or_else(|e| panic!("{}", e.render()));
    let mut c = Check::default();
    c.eq("records", info.records, 5);
    check_az_events(&mut c, &events);
    c.done(name);
}

#[test]
fn az_activity_log_redirected_by_windows_powershell_reads_as_utf16() {
    let name = "az-activity-log-utf16.json";
    let p = fixture(name);
    let bytes = std::fs::read(&p).unwrap();
    assert!(bytes.starts_with(&[0xFF, 0xFE, b'[', 0]), "UTF-16 LE with BOM");
    assert_eq!(kind_of(&p), Some(casefile::bundle::activity::KIND));
    let (events, _) = activity::load(&p, &mut Span::default()).unwrap_or_else(|e| panic!("{}", e.render()));
    let mut c = Check::default();
    check_az_events(&mut c, &events);
    let (utf8, _) = activity::load(&fixture("az-activity-log.json"), &mut Span::default()).unwrap();
    c.eq("same events as the UTF-8 file", az_summary(&events), az_summary(&utf8));
    c.done(name);
}

#[test]
fn portal_activity_csv_maps_display_names_to_operations() {
    let name = "portal-activity-log.csv";
    let p = fixture(name);
    assert_eq!(kind_of(&p), Some(casefile::bundle::activity::KIND));
    // Row by row first, so one unmapped display name does not hide what the other rows give.
    let mut parsed: Vec<Result<ActivityEvent, String>> = Vec::new();
    read_table(&p, "test", &mut |row| {
        parsed.push(activity::parse_row(row).map_err(|e| e.render()));
        Ok(Visit::Continue)
    })
    .unwrap();
    let mut c = Check::default();
    c.eq("rows", parsed.len(), 6);
    let want_ops = [
        "microsoft.authorization/roleassignments/write",
        "microsoft.storage/storageaccounts/listkeys/action",
        "microsoft.compute/virtualmachines/write",
        "microsoft.compute/virtualmachines/write",
        "microsoft.network/networkinterfaces/write",
        "microsoft.network/publicipaddresses/write",
    ];
    for (i, (got, want)) in parsed.iter().zip(want_ops).enumerate() {
        match got {
            Ok(e) => c.eq(&format!("[{i}] operation"), e.operation.as_str(), want),
            Err(msg) => c.0.push(format!("[{i}] not read (want {want}): {}", msg.replace('\n', " | "))),
        }
    }
    if let Some(Ok(denied)) = parsed.first() {
        c.eq("[0] status", denied.status.clone(), ActivityStatus::Failed);
        c.eq(
            "[0] caller (Event initiated by)",
            denied.caller.as_ref().map(|u| u.as_str()),
            Some(UPN),
        );
        c.eq("[0] resource group", denied.resource_group.as_deref(), Some("rg-data"));
        c.eq("[0] caller ip (no such column)", denied.caller_ip, None);
    }
    if let Some(Ok(keys)) = parsed.get(1) {
        c.eq("[1] at (ISO Time)", keys.at.rfc3339().as_str(), "2025-12-04T08:47:09Z");
        c.eq("[1] status", keys.status.clone(), ActivityStatus::Succeeded);
        c.eq(
            "[1] resource id (Resource column)",
            keys.resource_id.as_ref().map(|r| r.key().to_string()),
            Some(sa().to_lowercase()),
        );
    }
    if let (Some(Ok(done)), Some(Ok(started))) = (parsed.get(2), parsed.get(3)) {
        c.eq("[3] status", started.status.clone(), ActivityStatus::Started);
        c.eq("[2] status", done.status.clone(), ActivityStatus::Succeeded);
        c.eq(
            "[2]/[3] correlation id",
            done.correlation_id.clone(),
            started.correlation_id.clone(),
        );
        c.eq(
            "[3] correlation id",
            started.correlation_id.as_deref(),
            Some("e4a1c6d2-7b38-4f95-a0c1-3d8e2f6b9a14"),
        );
        c.eq(
            "[3] resource id (Resource column)",
            started.resource_id.as_ref().map(|r| r.key().to_string()),
            Some(vm().to_lowercase()),
        );
        c.eq("[3] region (not in this export)", started.details.region.clone(), None);
    }
    match activity::load(&p, &mut Span::default()) {
        Ok((events, _)) => c.eq("activity::load events", events.len(), 6),
        Err(e) => c.0.push(format!("activity::load fails: {}", e.render().replace('\n', " | "))),
    }
    c.done(name);
}

// ------------------------------------------------------------------------------ storage

#[test]
fn raw_storageread_jsonl_gz_reads_ranged_key_and_oauth_requests() {
    let name = "storageread.jsonl.gz";
    let p = fixture(name);
    assert!(std::fs::read(&p).unwrap().starts_with(&[0x1f, 0x8b]), "gzip");
    assert_eq!(kind_of(&p), Some(casefile::bundle::storage::KIND));
    let mut got: Vec<BlobRequest<'static>> = Vec::new();
    let (info, span) = storage::stream(&p, &mut |r| {
        got.push(r.into_owned());
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{}", e.render()));
    let mut c = Check::default();
    c.eq("records", info.records, 5);
    c.eq("span first", span.first.map(|t| t.rfc3339()), Some("2025-12-04T08:53:10Z".into()));
    c.eq("span last", span.last.map(|t| t.rfc3339()), Some("2025-12-04T09:30:12Z".into()));
    assert_eq!(got.len(), 5);
    let list = &got[0];
    c.eq("[0] operation", &*list.operation, "ListBlobs");
    c.eq("[0] status", list.status_code, 200);
    c.eq("[0] account", &*list.account, "kestrelprod");
    c.eq("[0] auth", list.auth.clone(), AuthType::AccountKey);
    c.eq("[0] account key used", list.auth.uses_account_key(list.auth_hash.as_deref()), true);
    c.eq("[0] caller ip without port", list.caller_ip, ip(ATTACKER));
    c.eq("[0] container", list.container.as_deref(), Some("customer-exports"));
    c.eq("[0] blob", list.blob.as_deref(), None);
    c.eq("[0] bytes", list.response_bytes.0, 6183);
    c.eq("[0] listing", list.is_listing(), true);
    c.eq(
        "[0] request id",
        list.request_id.as_deref(),
        Some("6b1d3f5a-a01e-0042-1c7e-64e5b8000000"),
    );
    let full = &got[1];
    c.eq("[1] blob", full.blob.as_deref(), Some("2025-11/customers.parquet"));
    c.eq("[1] bytes", full.response_bytes.0, 48_213_377);
    c.eq("[1] data read", full.is_data_read(), true);
    let ranged = &got[2];
    c.eq("[2] status", ranged.status_code, 206);
    c.eq("[2] succeeded (206)", ranged.succeeded(), true);
    c.eq("[2] bytes (the range)", ranged.response_bytes.0, 4_194_304);
    c.eq("[2] blob", ranged.blob.as_deref(), Some("2025-q3/invoices.csv"));
    let missing = &got[3];
    c.eq("[3] status", missing.status_code, 404);
    c.eq("[3] succeeded", missing.succeeded(), false);
    c.eq("[3] bytes (error body)", missing.response_bytes.0, 215);
    let oauth = &got[4];
    c.eq("[4] auth", oauth.auth.clone(), AuthType::OAuth);
    c.eq(
        "[4] account key used",
        oauth.auth.uses_account_key(oauth.auth_hash.as_deref()),
        false,
    );
    c.eq(
        "[4] requester upn (identity.requester.upn)",
        oauth.requester_upn.as_ref().map(|u| u.as_str()),
        Some(UPN),
    );
    c.eq(
        "[4] requester app (identity.requester.appId)",
        oauth.requester_app.as_deref(),
        Some("04b07795-8ddb-461a-bbee-02f9e1bf7b46"),
    );
    c.eq("[4] caller ip", oauth.caller_ip, ip(OFFICE));
    c.eq("[4] at", oauth.at.rfc3339().as_str(), "2025-12-04T09:30:12Z");
    let read: u64 = got
        .iter()
        .filter(|r| r.is_data_read() && r.succeeded())
        .map(|r| r.response_bytes.0)
        .sum();
    c.eq("bytes of successful reads", read, 48_213_377 + 4_194_304 + 2_048);
    let key_reads = got
        .iter()
        .filter(|r| r.succeeded() && r.auth.uses_account_key(r.auth_hash.as_deref()) && r.caller_ip == ip(ATTACKER))
        .count();
    c.eq("successful account-key requests from the attacker", key_reads, 3);
    c.done(name);
}

// ------------------------------------------------------------------------------ alerts

#[test]
fn defender_alert_continuous_export_reads_pascal_case_fields_and_resolves_refs() {
    let name = "defender-alert-continuous-export.json";
    let p = fixture(name);
    assert_eq!(kind_of(&p), Some(casefile::bundle::alerts::KIND));
    let (alerts, info) = alerts::load(&p, &mut Span::default()).unwrap_or_else(|e| panic!("{}", e.render()));
    let mut c = Check::default();
    c.eq("records", info.records, 1);
    let a = &alerts[0];
    c.eq(
        "name (AlertDisplayName)",
        a.name.as_str(),
        "Access from an unusual location to a storage account",
    );
    c.eq("type", a.alert_type.as_deref(), Some("Storage.Blob_GeoAnomaly"));
    c.eq("severity (Severity)", a.severity.as_str(), "Medium");
    c.eq("product", a.product.as_deref(), Some("Microsoft Defender for Cloud"));
    c.eq("source product", a.source_product(), "Defender for Storage");
    c.eq("at (StartTimeUtc)", a.at.rfc3339().as_str(), "2025-12-04T08:53:10Z");
    c.eq(
        "generated (TimeGenerated)",
        a.generated.map(|t| t.rfc3339()),
        Some("2025-12-04T09:41:17Z".into()),
    );
    c.eq("tactics (Intent)", a.tactics.clone(), vec!["Exfiltration".to_string()]);
    c.eq("status", a.status.clone(), Some(alerts::AlertStatus::New));
    c.eq(
        "id (SystemAlertId)",
        a.id.as_deref(),
        Some("2517093826439191899_7f3a9c1e-5b2d-4e8f-a6c0-1d3b5f7a9c2e"),
    );
    c.eq("resource id (AzureResourceId)", a.resource_id.clone(), Some(sa()));
    c.eq("entity ips", a.entities.ips.clone(), vec![ATTACKER.parse::<IpAddr>().unwrap()]);
    c.eq(
        "entity resources ($ref to the same account counted once)",
        a.entities.resources.clone(),
        vec![sa()],
    );
    c.eq("entity accounts (account-key access names none)", a.entities.accounts.len(), 0);
    c.done(name);
}

// ------------------------------------------------------------------------------ recommendations

fn recs(name: &str) -> RecommendationExport {
    load_recommendations(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {}", e.render()))
}

fn by_key<'a>(export: &'a RecommendationExport, key: &str) -> Option<&'a Recommendation> {
    export.items.iter().find(|r| r.key == key)
}

fn rid(r: &Recommendation) -> Option<String> {
    r.resource_id.as_ref().map(|x| x.key().to_string())
}

const SHARED_KEY: &str = "3b363842-30f5-4056-980d-3a40fa5de8b3";
const NETWORK: &str = "45d313c3-3fca-5040-035f-d61928366d31";
const LINUX_CONFIG: &str = "1f655fb7-63ca-4980-91a3-56dbc2b715c6";
const OWNER_MFA: &str = "6240402e-f77c-46fa-9060-a7ce53997754";
const PUBLIC_ACCESS: &str = "51fd8bb1-0db4-bbf1-7e2b-cfcba7eb66a6";
const VMSS_EP: &str = "21300918-b2e3-0346-785f-c77ff57d243b";

#[test]
fn defender_assessments_continuous_export_keeps_the_latest_state_per_resource() {
    let name = "defender-assessments-continuous-export.json";
    assert_eq!(kind_of(&fixture(name)), Some(casefile::bundle::recommendations::KIND));
    let e = recs(name);
    let mut c = Check::default();
    c.eq("records", e.records, 4);
    c.eq("items", e.items.len(), 3);
    c.eq("superseded", e.superseded, 1);
    match by_key(&e, NETWORK) {
        None => c.0.push(format!("{NETWORK} missing")),
        Some(n) => {
            c.eq(
                "network restriction state (later event: Healthy at 2025-12-04T13:20:44Z)",
                n.state,
                RecState::Healthy,
            );
            c.eq(
                "network restriction status changed",
                n.status_changed.map(|t| t.rfc3339()),
                Some("2025-12-04T13:20:44Z".into()),
            );
            c.eq("network restriction resource", rid(n), Some(sa().to_lowercase()));
            c.eq(
                "network restriction severity (metadata.severity)",
                n.severity.as_deref(),
                Some("Low"),
            );
        }
    }
    match by_key(&e, LINUX_CONFIG) {
        None => c.0.push(format!("{LINUX_CONFIG} missing")),
        Some(l) => {
            c.eq("linux config state", l.state, RecState::NotApplicable);
            c.eq("linux config resource", rid(l), Some(vm().to_lowercase()));
            c.eq(
                "linux config first evaluated",
                l.first_evaluated.map(|t| t.rfc3339()),
                Some("2025-12-04T09:12:03Z".into()),
            );
            c.eq(
                "linux config name (properties.displayName)",
                l.name.as_str(),
                "Vulnerabilities in security configuration on your Linux machines should be remediated (powered by Guest Configuration)",
            );
        }
    }
    match by_key(&e, OWNER_MFA) {
        None => c.0.push(format!("{OWNER_MFA} missing")),
        Some(m) => {
            c.eq("owner MFA state", m.state, RecState::Unhealthy);
            c.eq("owner MFA severity", m.severity.as_deref(), Some("High"));
            c.eq(
                "owner MFA resource (the subscription)",
                rid(m),
                Some(format!("/subscriptions/{SUB}")),
            );
            c.eq(
                "owner MFA state since",
                m.state_since().map(|t| t.rfc3339()),
                Some("2025-03-02T04:11:52Z".into()),
            );
        }
    }
    c.done(name);
}

#[test]
fn rest_assessments_list_reads_value_page_and_not_applicable_off_by_policy() {
    let name = "rest-assessments.json";
    assert_eq!(kind_of(&fixture(name)), Some(casefile::bundle::recommendations::KIND));
    let e = recs(name);
    let mut c = Check::default();
    c.eq("records", e.records, 3);
    c.eq("items", e.items.len(), 3);
    c.eq("superseded", e.superseded, 0);
    c.eq("healthy", by_key(&e, PUBLIC_ACCESS).map(|r| r.state), Some(RecState::Healthy));
    c.eq("unhealthy", by_key(&e, SHARED_KEY).map(|r| r.state), Some(RecState::Unhealthy));
    c.eq(
        "unhealthy resource",
        by_key(&e, SHARED_KEY).and_then(rid),
        Some(sa().to_lowercase()),
    );
    match by_key(&e, VMSS_EP) {
        None => c.0.push(format!("{VMSS_EP} missing")),
        Some(n) => {
            c.eq("OffByPolicy state", n.state, RecState::NotApplicable);
            c.ok(
                "OffByPolicy resource is the scale set",
                rid(n).is_some_and(|r| r.ends_with("/virtualmachinescalesets/aks-system-31415926-vmss")),
            );
            c.eq("severity (not in a plain assessment)", n.severity.as_deref(), None);
            c.eq(
                "first evaluated",
                n.first_evaluated.map(|t| t.rfc3339()),
                Some("2025-08-19T22:03:11Z".into()),
            );
            c.eq(
                "name",
                n.name.as_str(),
                "Install endpoint protection solution on virtual machine scale sets",
            );
        }
    }
    c.done(name);
}

#[test]
fn securityrecommendation_csv_keeps_latest_row_and_reads_min_value_as_null() {
    let name = "securityrecommendation.csv";
    assert_eq!(kind_of(&fixture(name)), Some(casefile::bundle::recommendations::KIND));
    let e = recs(name);
    let mut c = Check::default();
    c.eq("records", e.records, 4);
    c.eq("items", e.items.len(), 3);
    c.eq("superseded (older snapshot row of the same resource and key)", e.superseded, 1);
    c.eq(
        "exported at (latest TimeGenerated)",
        e.exported_at.map(|t| t.rfc3339()),
        Some("2025-12-04T13:21:07Z".into()),
    );
    match by_key(&e, NETWORK) {
        None => c.0.push(format!("{NETWORK} missing")),
        Some(n) => {
            c.eq("network restriction state (newer row)", n.state, RecState::Healthy);
            c.eq("network restriction severity", n.severity.as_deref(), Some("Low"));
            c.eq("network restriction resource", rid(n), Some(sa().to_lowercase()));
            c.eq(
                "status changed",
                n.status_changed.map(|t| t.rfc3339()),
                Some("2025-12-04T13:20:44Z".into()),
            );
            c.eq(
                "first evaluated",
                n.first_evaluated.map(|t| t.rfc3339()),
                Some("2025-06-10T01:37:20Z".into()),
            );
            c.eq(
                "name (RecommendationDisplayName)",
                n.name.as_str(),
                "Access to storage accounts with firewall and virtual network configurations should be restricted",
            );
        }
    }
    c.eq(
        "shared key state",
        by_key(&e, SHARED_KEY).map(|r| r.state),
        Some(RecState::Unhealthy),
    );
    c.eq(
        "shared key severity",
        by_key(&e, SHARED_KEY).and_then(|r| r.severity.clone()),
        Some("Medium".into()),
    );
    c.eq(
        "linux config state",
        by_key(&e, LINUX_CONFIG).map(|r| r.state),
        Some(RecState::NotApplicable),
    );
    c.eq(
        "linux config resource",
        by_key(&e, LINUX_CONFIG).and_then(rid),
        Some(vm().to_lowercase()),
    );
    c.done(name);
}

#[test]
fn recommendations_xlsx_reads_excel_date_cells_as_utc() {
    let name = "recommendations.xlsx";
    let e = recs(name);
    let mut c = Check::default();
    c.eq("records", e.records, 4);
    c.eq("items", e.items.len(), 4);
    c.eq("superseded", e.superseded, 0);
    c.eq(
        "exported at (date cell)",
        e.exported_at.map(|t| t.rfc3339()),
        Some("2025-12-05T10:00:00Z".into()),
    );
    match by_key(&e, OWNER_MFA) {
        None => c.0.push(format!("{OWNER_MFA} missing")),
        Some(m) => {
            c.eq("owner MFA state", m.state, RecState::Unhealthy);
            c.eq("owner MFA severity", m.severity.as_deref(), Some("High"));
            c.eq("owner MFA resource", rid(m), Some(format!("/subscriptions/{SUB}")));
            c.eq(
                "owner MFA first evaluated (date cell)",
                m.first_evaluated.map(|t| t.rfc3339()),
                Some("2025-03-02T04:11:52Z".into()),
            );
            c.ok(
                "origin names the sheet",
                m.origin.path.as_deref().is_some_and(|p| p.starts_with("Recommendations!")),
            );
        }
    }
    c.eq(
        "shared key state",
        by_key(&e, SHARED_KEY).map(|r| r.state),
        Some(RecState::Unhealthy),
    );
    c.eq(
        "public access state",
        by_key(&e, PUBLIC_ACCESS).map(|r| r.state),
        Some(RecState::Healthy),
    );
    match by_key(&e, LINUX_CONFIG) {
        None => c.0.push(format!("{LINUX_CONFIG} missing")),
        Some(l) => {
            c.eq("linux config state (notapplicable)", l.state, RecState::NotApplicable);
            c.eq("linux config resource", rid(l), Some(vm().to_lowercase()));
            c.eq(
                "linux config status changed (date cell)",
                l.status_changed.map(|t| t.rfc3339()),
                Some("2025-12-04T09:12:03Z".into()),
            );
            c.eq("linux config severity", l.severity.as_deref(), Some("Low"));
        }
    }
    c.done(name);
}

// ------------------------------------------------------ Azure Monitor diagnostic records

fn load_risk(name: &str) -> Vec<casefile::bundle::risk::RiskEvent> {
    casefile::bundle::risk::load(&fixture(name), &mut Span::default())
        .unwrap_or_else(|e| panic!("{name}: {}", e.render()))
        .0
}

#[test]
fn signinlogs_diagnostic_json_lines_read_properties_offsets_mfa_and_device() {
    let name = "diag-signinlogs.jsonl";
    assert_eq!(kind_of(&fixture(name)), Some(casefile::bundle::signins::KIND));
    let (rows, records) = load_signins(name);
    let mut c = Check::default();
    c.eq("records", records, 2);
    let office = &rows[0];
    c.eq(
        "[0] at from +11:00 createdDateTime",
        office.at.rfc3339().as_str(),
        "2025-12-04T08:19:41Z",
    );
    c.eq("[0] upn", upn_of(office), UPN);
    c.eq("[0] principal", office.principal, signins::Principal::User);
    c.eq("[0] ip", office.ip, ip(OFFICE));
    c.eq("[0] country (properties.location)", office.country.as_deref(), Some("AU"));
    c.eq("[0] city", office.city.as_deref(), Some("Melbourne"));
    c.eq("[0] succeeded", office.succeeded, true);
    c.eq("[0] CA", office.conditional_access, Some(CaStatus::Success));
    c.eq("[0] mfa", office.mfa, Some(signins::MfaResult::Satisfied));
    c.eq("[0] mfa method", office.mfa_method.as_deref(), Some("Mobile app notification"));
    c.eq("[0] compliant", office.device_compliant, Some(true));
    c.eq("[0] managed", office.device_managed, Some(true));
    c.eq(
        "[0] record id (properties.id)",
        office.record_id.as_deref(),
        Some("7c1e4b2a-9d3f-4e8a-b5c6-1a2b3c4d5e01"),
    );
    let attacker = &rows[1];
    c.eq(
        "[1] at from -05:00 createdDateTime",
        attacker.at.rfc3339().as_str(),
        "2025-12-04T08:27:03Z",
    );
    c.eq("[1] ip", attacker.ip, ip(ATTACKER));
    c.eq("[1] failed", attacker.succeeded, false);
    c.eq("[1] result code (status.errorCode)", attacker.result_code.as_deref(), Some("50126"));
    c.eq("[1] CA", attacker.conditional_access, Some(CaStatus::NotApplied));
    c.eq("[1] risk during", attacker.risk_during.as_deref(), Some("medium"));
    c.eq(
        "[1] risk events",
        attacker.risk_events.clone(),
        vec!["unfamiliarFeatures".to_string()],
    );
    c.eq("[1] compliant (absent)", attacker.device_compliant, None);
    c.eq("[1] mfa (failed password only)", attacker.mfa, None);
    c.eq("[1] origin line", attacker.origin.line, Some(2));
    c.done(name);
}

#[test]
fn noninteractive_diagnostic_array_reads_refresh_token_sign_ins() {
    let name = "diag-noninteractive-signins.json";
    assert_eq!(kind_of(&fixture(name)), Some(casefile::bundle::signins::KIND));
    let (rows, records) = load_signins(name);
    let mut c = Check::default();
    c.eq("records", records, 2);
    c.eq("[0] at", rows[0].at.rfc3339().as_str(), "2025-12-04T08:41:55Z");
    c.eq("[0] app", rows[0].app.as_deref(), Some("Microsoft Azure CLI"));
    c.eq("[0] risk aggregated", rows[0].risk_aggregated.as_deref(), Some("high"));
    c.eq("[0] risky", rows[0].risky(), true);
    c.eq(
        "[0] mfa: single factor, claim in the token",
        rows[0].mfa,
        Some(signins::MfaResult::NotRequired),
    );
    c.eq("[1] resource", rows[1].resource.as_deref(), Some("Azure Storage"));
    c.eq("[1] country", rows[1].country.as_deref(), Some("NL"));
    c.eq("[1] origin path", rows[1].origin.path.as_deref(), Some("[1]"));
    c.done(name);
}

#[test]
fn workload_identity_sign_ins_name_the_service_principal() {
    let mut c = Check::default();
    let (sp, records) = load_signins("diag-serviceprincipal-signins.json");
    c.eq("sp records (records wrapper)", records, 1);
    c.eq("sp principal", sp[0].principal, signins::Principal::ServicePrincipal);
    c.eq("sp name", upn_of(&sp[0]), "kf-backup-automation");
    c.eq("sp ip", sp[0].ip, ip(ATTACKER));
    c.eq("sp origin path", sp[0].origin.path.as_deref(), Some("records[0]"));
    let (mi, _) = load_signins("diag-managedidentity-signins.jsonl");
    c.eq("mi principal", mi[0].principal, signins::Principal::ManagedIdentity);
    c.eq("mi name", upn_of(&mi[0]), "vm-train-01");
    c.eq("mi ip (empty)", mi[0].ip, None);
    c.eq("mi resource", mi[0].resource.as_deref(), Some("Azure Key Vault"));
    c.done("workload identity sign-ins");
}

#[test]
fn user_risk_events_diagnostic_records_read_en_us_time_and_unpadded_hours() {
    let name = "diag-userriskevents.json";
    assert_eq!(kind_of(&fixture(name)), Some(casefile::bundle::risk::KIND));
    let rows = load_risk(name);
    let mut c = Check::default();
    c.eq("records", rows.len(), 4);
    let first = &rows[0];
    c.eq("[0] at (activityDateTime)", first.at.rfc3339().as_str(), "2025-12-04T08:28:14Z");
    c.eq("[0] type", first.risk_type.as_str(), "unfamiliarFeatures");
    c.eq("[0] level", first.level.as_deref(), Some("medium"));
    c.eq("[0] state", first.state.clone(), Some(casefile::bundle::risk::RiskState::AtRisk));
    c.eq(
        "[0] last updated (unpadded hour)",
        first.last_updated.map(|t| t.rfc3339()),
        Some("2025-12-04T08:31:07Z".into()),
    );
    c.eq("[0] ip", first.ip, ip(ATTACKER));
    c.eq("[0] open and serious", first.open_and_serious(), true);
    c.eq("[1] detail", rows[1].detail.as_deref(), Some("adminConfirmedSigninSafe"));
    c.done(name);
}

#[test]
fn risk_detections_keep_the_latest_update_of_each_detection() {
    let dir = crate::util::temp_dir("risk-latest");
    std::fs::create_dir_all(dir.join("evidence")).unwrap();
    std::fs::copy(fixture("diag-userriskevents.json"), dir.join("evidence/risk.json")).unwrap();
    std::fs::write(
        dir.join("case.toml"),
        "[case]\nid = \"KF-1\"\ntitle = \"t\"\norganisation = \"Kestrel Freight\"\ntimezone = \"Australia/Melbourne\"\nas_of = \"2025-12-05T00:00:00Z\"\n\n[[evidence]]\npath = \"evidence/risk.json\"\n",
    )
    .unwrap();
    let case = casefile::case::load_case(&dir).unwrap_or_else(|e| panic!("{}", e.render()));
    let bundle = casefile::bundle::load(&case.dir, &case.evidence).unwrap_or_else(|e| panic!("{}", e.render()));
    let risks = bundle.risk_events.provided().unwrap();
    let mut c = Check::default();
    c.eq("detections", risks.len(), 2);
    let unfamiliar = risks.iter().find(|r| r.risk_type == "unfamiliarFeatures").unwrap();
    c.eq(
        "later update wins (confirmedCompromised at 11:12)",
        unfamiliar.state.clone(),
        Some(casefile::bundle::risk::RiskState::ConfirmedCompromised),
    );
    c.eq("its detail", unfamiliar.detail.as_deref(), Some("adminConfirmedUserCompromised"));
    let anonymous = risks.iter().find(|r| r.risk_type == "anonymizedIPAddress").unwrap();
    c.eq(
        "later update listed first still wins (dismissed at 10:02)",
        anonymous.state.clone(),
        Some(casefile::bundle::risk::RiskState::Dismissed),
    );
    c.eq(
        "its last update",
        anonymous.last_updated.map(|t| t.rfc3339()),
        Some("2025-12-04T10:02:18Z".into()),
    );
    c.ok(
        "the file's report says rows were superseded",
        bundle.files[0].warnings.iter().any(|w| w.starts_with("2 rows are earlier")),
    );
    c.done("risk latest");
}

#[test]
fn risky_users_records_are_user_level_risk() {
    let name = "diag-riskyusers.jsonl";
    assert_eq!(kind_of(&fixture(name)), Some(casefile::bundle::risk::KIND));
    let rows = load_risk(name);
    let mut c = Check::default();
    c.eq("records", rows.len(), 1);
    c.eq("record", rows[0].record, casefile::bundle::risk::RiskRecord::RiskyUser);
    c.eq(
        "at (riskLastUpdatedDateTime)",
        rows[0].at.rfc3339().as_str(),
        "2025-12-04T11:12:40Z",
    );
    c.eq("level", rows[0].level.as_deref(), Some("high"));
    c.eq("ip", rows[0].ip, None);
    c.done(name);
}

#[test]
fn activity_diagnostic_records_read_upper_case_operations_and_claims() {
    let name = "diag-activity-pt1h.json";
    let p = fixture(name);
    assert_eq!(kind_of(&p), Some(casefile::bundle::activity::KIND));
    let (events, info) = activity::load(&p, &mut Span::default()).unwrap_or_else(|e| panic!("{}", e.render()));
    let mut c = Check::default();
    c.eq("records", info.records, 5);
    let start = &events[0];
    c.eq("[0] operation", start.operation.as_str(), "microsoft.compute/virtualmachines/write");
    c.eq("[0] status (resultType Start)", start.status.clone(), ActivityStatus::Started);
    c.eq(
        "[0] caller from identity.claims upn",
        start.caller.as_ref().map(|u| u.as_str()),
        Some(UPN),
    );
    c.eq("[0] caller ip", start.caller_ip, ip(ATTACKER));
    c.eq(
        "[0] resource id keeps its case (properties.entity)",
        start.resource_id.as_ref().map(|r| r.to_string()),
        Some(vm()),
    );
    c.eq("[0] resource group", start.resource_group.as_deref(), Some("rg-ml-sandbox"));
    c.eq(
        "[0] region from the request body",
        start.details.region.clone(),
        Some(Region::new("brazilsouth")),
    );
    c.eq("[0] size", start.details.vm_size.as_deref(), Some("Standard_NC24ads_A100_v4"));
    c.eq("[1] status (Success)", events[1].status.clone(), ActivityStatus::Succeeded);
    c.eq(
        "[1] substatus (properties.statusCode)",
        events[1].substatus.as_deref(),
        Some("Created"),
    );
    c.eq("[3] status (Failure)", events[3].status.clone(), ActivityStatus::Failed);
    let sp = &events[4];
    c.eq(
        "[4] service principal caller is its object id",
        sp.caller.as_ref().map(|u| u.as_str()),
        Some("2c4e6a8b-0d1f-4a3c-9e5b-7d9f1b3d5f70"),
    );
    c.eq("[4] no caller ip", sp.caller_ip, None);
    c.eq("[4] category", sp.category.as_deref(), Some("Administrative"));
    c.done(name);
}

#[test]
fn audit_log_diagnostic_records_give_response_actions() {
    let name = "diag-auditlogs.jsonl";
    assert_eq!(kind_of(&fixture(name)), Some(casefile::bundle::audit::KIND));
    let (events, _) = casefile::bundle::audit::load_with(&fixture(name), &Default::default(), &mut Span::default())
        .unwrap_or_else(|e| panic!("{}", e.render()));
    use casefile::bundle::audit::AuditAction;
    let mut c = Check::default();
    c.eq("events", events.len(), 2);
    c.eq("[0] action", events[0].action, AuditAction::RevokeSessions);
    c.eq("[0] at", events[0].at.map(|t| t.rfc3339()), Some("2025-12-04T11:05:12Z".into()));
    c.eq("[0] by", events[0].initiated_by.as_deref(), Some("soc.lead@kestrelfreight.com.au"));
    c.eq("[0] target", events[0].targets.clone(), vec![UPN.to_string()]);
    c.eq("[0] succeeded", events[0].succeeded(), true);
    c.eq("[1] action", events[1].action, AuditAction::ResetPassword);
    c.done(name);
}

#[test]
fn public_audit_log_export_reads_as_audit_events() {
    let p = crate::util::public_data().join("AuditLogs_Hunting.csv");
    let (events, info) =
        casefile::bundle::audit::load_with(&p, &Default::default(), &mut Span::default()).unwrap_or_else(|e| panic!("{}", e.render()));
    assert_eq!(events.len() as u64, info.records);
    assert!(!events.is_empty());
}

// ------------------------------------------------- never silently dropped, declared zones

/// A bundle with `files` (name, content) as evidence and `entries` as its `[[evidence]]`
/// lines (each a TOML table body).
fn bundle_with(name: &str, files: &[(&str, &[u8])], entries: &[&str], top: &str) -> PathBuf {
    let dir = crate::util::temp_dir(name);
    std::fs::create_dir_all(dir.join("evidence")).unwrap();
    for (file, content) in files {
        std::fs::write(dir.join("evidence").join(file), content).unwrap();
    }
    let mut case = format!(
        "{top}\n[case]\nid = \"KF-1\"\ntitle = \"Kestrel Freight\"\norganisation = \"Kestrel Freight\"\ntimezone = \"Australia/Melbourne\"\nas_of = \"2025-12-05T00:00:00Z\"\n"
    );
    for e in entries {
        case.push_str(&format!("\n[[evidence]]\n{e}\n"));
    }
    std::fs::write(dir.join("case.toml"), case).unwrap();
    dir
}

#[test]
fn a_listed_file_that_matches_no_source_is_an_error_naming_the_closest() {
    // A sign-in diagnostic record whose exporter dropped the IP address field.
    let record = r#"{"time":"2025-12-04T08:19:41Z","category":"SignInLogs","resourceId":"/tenants/x/providers/Microsoft.aadiam","properties":{"createdDateTime":"2025-12-04T08:19:41Z","userPrincipalName":"priya.raman@kestrelfreight.com.au"}}"#;
    let dir = bundle_with(
        "unmatched",
        &[("odd.jsonl", record.as_bytes())],
        &["path = \"evidence/odd.jsonl\""],
        "",
    );
    let o = crate::util::run(&["validate", dir.to_str().unwrap()]);
    let err = crate::util::stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("odd.jsonl"), "{err}");
    assert!(err.contains("matches no evidence source"), "{err}");
    assert!(err.contains("looks like sign-in log"), "{err}");
    assert!(err.contains("has no ipAddress"), "{err}");
    assert!(err.contains("kind = \"other\""), "{err}");
    // Declared as other, it is listed, hashed and not read.
    let dir = bundle_with(
        "declared-other",
        &[("odd.jsonl", record.as_bytes())],
        &["path = \"evidence/odd.jsonl\"\nkind = \"other\""],
        "",
    );
    let o = crate::util::run(&["validate", dir.to_str().unwrap()]);
    let out = crate::util::stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", crate::util::stderr(&o));
    assert!(out.contains("other file (declared, not used)"), "{out}");
}

#[test]
fn a_header_only_recommendations_export_is_a_valid_empty_export() {
    let header = "subscriptionId,subscriptionName,resourceGroup,resourceType,resourceName,resourceId,recommendationId,recommendationName,description,recommendationDisplayName,remediationSteps,severity,state,notApplicableReason,firstEvaluationDate,statusChangeDate,controls,azurePortalUri,nativeCloudAccountId,tactics,techniques,cloud,owner,eta,dueDate,gracePeriod,isSnapshot\n";
    let signins = std::fs::read(fixture("diag-signinlogs.jsonl")).unwrap();
    let dir = bundle_with(
        "header-only-recs",
        &[("recommendations.csv", header.as_bytes()), ("signins.jsonl", &signins)],
        &["path = \"evidence/signins.jsonl\"", "path = \"evidence/recommendations.csv\""],
        "recommendations = \"evidence/recommendations.csv\"",
    );
    let o = crate::util::run(&["validate", dir.to_str().unwrap()]);
    let out = crate::util::stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", crate::util::stderr(&o));
    assert!(out.contains("the export lists no assessments"), "{out}");
    assert_eq!(
        out.matches("evidence/recommendations.csv").count(),
        1,
        "listed once although it is also under [[evidence]]:\n{out}"
    );
    let export = load_recommendations(&dir.join("evidence/recommendations.csv")).unwrap();
    assert_eq!(export.records, 0);
    assert!(export.items.is_empty());
    // The table stays aligned: every row's kind column starts where the header's does.
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("file") || l.starts_with("evidence/"))
        .collect();
    let at = |l: &str, what: &str| l.find(what).unwrap();
    let kind_col = at(lines[0], "kind");
    assert_eq!(at(lines[1], "sign-in log"), kind_col, "{out}");
    assert_eq!(at(lines[2], "recommendations export"), kind_col, "{out}");
    // A header that is not a recommendations header is still an error.
    std::fs::write(dir.join("evidence/recommendations.csv"), "a,b,c\n").unwrap();
    assert!(load_recommendations(&dir.join("evidence/recommendations.csv")).is_err());
}

#[test]
fn pandas_alert_csv_needs_a_declared_zone_and_says_how() {
    let csv = std::fs::read(fixture("pandas-securityalert.csv")).unwrap();
    let dir = bundle_with(
        "pandas-undeclared",
        &[("alerts.csv", &csv)],
        &["path = \"evidence/alerts.csv\""],
        "",
    );
    let o = crate::util::run(&["validate", dir.to_str().unwrap()]);
    let err = crate::util::stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("alerts.csv:2"), "names the line: {err}");
    assert!(err.contains("2025-12-04 09:41:17"), "{err}");
    assert!(err.contains("timezone = \"UTC\""), "says how to declare the zone: {err}");

    let dir = bundle_with(
        "pandas-declared",
        &[("alerts.csv", &csv)],
        &["path = \"evidence/alerts.csv\"\ntimezone = \"UTC\""],
        "",
    );
    let case = casefile::case::load_case(&dir).unwrap();
    let bundle = casefile::bundle::load(&case.dir, &case.evidence).unwrap_or_else(|e| panic!("{}", e.render()));
    let alerts = bundle.alerts.provided().unwrap();
    let mut c = Check::default();
    c.eq("alerts", alerts.len(), 2);
    c.eq("[0] at (StartTime, UTC)", alerts[0].at.rfc3339().as_str(), "2025-12-04T08:53:10Z");
    c.eq(
        "[0] generated",
        alerts[0].generated.map(|t| t.rfc3339()),
        Some("2025-12-04T09:41:17Z".into()),
    );
    c.eq("[0] status", alerts[0].status.clone(), Some(alerts::AlertStatus::Resolved));
    c.eq(
        "[0] classification (ExtendedProperties)",
        alerts[0].classification.clone(),
        Some(alerts::AlertClassification::TruePositive),
    );
    c.eq("[0] product", alerts[0].product_kind(), alerts::AlertProduct::DefenderForStorage);
    c.eq("[1] product", alerts[1].product_kind(), alerts::AlertProduct::EntraIdProtection);
    c.eq("[1] status", alerts[1].status.clone(), Some(alerts::AlertStatus::New));
    c.eq("[1] no classification", alerts[1].classification.clone(), None);
    c.eq("entities", alerts[0].entities.ips.clone(), vec![ip(ATTACKER).unwrap()]);
    let report = &bundle.files[0];
    c.ok(
        "index column named, not listed as unknown",
        report.warnings.iter().any(|w| w.contains("pandas")) && !report.unknown_columns.iter().any(String::is_empty),
    );
    c.done("pandas-securityalert.csv");

    // A declared zone other than UTC shifts the zoneless values, and only them.
    let dir = bundle_with(
        "pandas-melbourne",
        &[("alerts.csv", &csv)],
        &["path = \"evidence/alerts.csv\"\ntimezone = \"Australia/Melbourne\""],
        "",
    );
    let case = casefile::case::load_case(&dir).unwrap();
    let bundle = casefile::bundle::load(&case.dir, &case.evidence).unwrap();
    let at = bundle.alerts.provided().unwrap()[0].at.rfc3339();
    assert_eq!(at, "2025-12-03T21:53:10Z", "08:53:10 in Melbourne (UTC+11)");
    // An unknown zone is a case-file error at its line.
    let dir = bundle_with(
        "pandas-badzone",
        &[("alerts.csv", &csv)],
        &["path = \"evidence/alerts.csv\"\ntimezone = \"Mars/Olympus\""],
        "",
    );
    let err = casefile::case::load_case(&dir).unwrap_err().render();
    assert!(err.contains("unknown time zone") && err.contains("Mars/Olympus"), "{err}");
}

#[test]
fn a_mixed_continuous_export_is_classified_record_by_record() {
    let name = "defender-continuous-export-mixed.json";
    let mixed = std::fs::read(fixture(name)).unwrap();
    let dir = bundle_with("mixed-export", &[("export.json", &mixed)], &["path = \"evidence/export.json\""], "");
    let case = casefile::case::load_case(&dir).unwrap();
    let bundle = casefile::bundle::load(&case.dir, &case.evidence).unwrap_or_else(|e| panic!("{}", e.render()));
    let mut c = Check::default();
    let alerts = bundle.alerts.provided().map(Vec::as_slice).unwrap_or(&[]);
    c.eq("alerts read", alerts.len(), 1);
    c.eq(
        "the alert",
        alerts.first().map(|a| a.alert_type.clone()),
        Some(Some("Storage.Blob_GeoAnomaly".to_string())),
    );
    c.eq(
        "handed to the recommendations reader",
        bundle.recommendation_files.clone(),
        vec![dir.join("evidence/export.json")],
    );
    let notes = &bundle.files[0].warnings;
    for want in [
        "1 alerts read as alerts",
        "2 assessments read as the recommendations export",
        "1 sub-assessments not used",
        "1 microsoft.security/securescores events not used",
    ] {
        c.ok(&format!("note {want:?} in {notes:?}"), notes.iter().any(|n| n.starts_with(want)));
    }
    let export = load_recommendations(&dir.join("evidence/export.json")).unwrap_or_else(|e| panic!("{}", e.render()));
    c.eq("assessment rows", export.records, 2);
    c.eq("assessments (latest per resource and key)", export.items.len(), 1);
    c.eq("latest state", export.items[0].state, RecState::Healthy);
    c.ok(
        "the other records are named",
        export.warnings.iter().any(|w| w.starts_with("3 records are not assessments")),
    );
    c.done(name);
    let o = crate::util::run(&["validate", dir.to_str().unwrap()]);
    let out = crate::util::stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", crate::util::stderr(&o));
    assert!(out.contains("alert export") && out.contains("recommendations export"), "{out}");
}

#[test]
fn per_record_anomalies_are_counted_not_dropped() {
    let record = |ip: &str, state: &str| {
        format!(
            r#"{{"time":"2025-12-04T08:31:07Z","category":"UserRiskEvents","resourceId":"/tenants/x/providers/Microsoft.aadiam","properties":{{"id":"{ip}{state}","riskEventType":"unfamiliarFeatures","riskLevel":"medium","riskState":"{state}","ipAddress":"{ip}","activityDateTime":"2025-12-04T08:28:14Z","userPrincipalName":"priya.raman@kestrelfreight.com.au"}}}}"#
        )
    };
    let text = [
        record("198.51.100.77", "atRisk"),
        record("not-an-ip", "atRisk"),
        record("198.51.100.78", "underReview"),
    ]
    .join("\n");
    let dir = bundle_with(
        "anomalies",
        &[("risk.jsonl", text.as_bytes())],
        &["path = \"evidence/risk.jsonl\""],
        "",
    );
    let case = casefile::case::load_case(&dir).unwrap();
    let bundle = casefile::bundle::load(&case.dir, &case.evidence).unwrap_or_else(|e| panic!("{}", e.render()));
    assert_eq!(bundle.risk_events.provided().unwrap().len(), 3, "every record is kept");
    let w = &bundle.files[0].warnings;
    assert!(
        w.iter()
            .any(|x| x == "1 record with invalid IP address in properties.ipaddress (read as unknown)"),
        "{w:?}"
    );
    assert!(
        w.iter().any(|x| x == "1 record with unknown riskState value \"underreview\""),
        "{w:?}"
    );
    let m = crate::util::model_json(&dir);
    let dq = m["data_quality"].to_string();
    assert!(dq.contains("invalid IP address"), "{dq}");
}

// ------------------------------------------------------------------------------ init

#[test]
fn init_lists_every_export_and_refuses_to_overwrite() {
    let dir = crate::util::temp_dir("init");
    crate::util::copy_tree(&crate::util::sample().join("evidence"), &dir.join("exports"));
    std::fs::copy(crate::util::sample().join("recommendations.csv"), dir.join("recommendations.csv")).unwrap();
    // A diagnostic archive's tree and a file casefile cannot use.
    let pt1h = dir.join("insights-logs-signinlogs/y=2025/m=12/d=04/h=08/m=00");
    std::fs::create_dir_all(&pt1h).unwrap();
    std::fs::copy(fixture("diag-signinlogs.jsonl"), pt1h.join("PT1H.json")).unwrap();
    std::fs::write(
        dir.join("exports/notes.csv"),
        "StartTime,EndTime,IPAddress\n2025-12-04T08:00:00Z,2025-12-04T09:00:00Z,198.51.100.77\n",
    )
    .unwrap();
    let o = crate::util::run(&["init", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", crate::util::stderr(&o));
    assert!(
        crate::util::stdout(&o).contains("6 of 7 files recognised"),
        "{}",
        crate::util::stdout(&o)
    );
    let case = std::fs::read_to_string(dir.join("case.toml")).unwrap();
    for want in [
        "recommendations = \"recommendations.csv\"",
        "path = \"exports/storage.csv\"\nkind = \"storage\"   # storage log: 1055 records, 2024-03-20T08:06:32Z → 2024-03-21T17:54:05Z",
        "path = \"insights-logs-signinlogs/y=2025/m=12/d=04/h=08/m=00/PT1H.json\"\nkind = \"signins\"   # sign-in log: 2 records",
        "as_of = \"2025-12-04T08:27:04Z\"",
        "# path = \"exports/notes.csv\"",
        "# [gdpr]",
    ] {
        assert!(case.contains(want), "{want:?} not in\n{case}");
    }
    let o = crate::util::run(&["validate", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "the written case validates: {}", crate::util::stderr(&o));
    let o = crate::util::run(&["init", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(crate::util::stderr(&o).contains("case.toml already exists"));
    assert_eq!(std::fs::read_to_string(dir.join("case.toml")).unwrap(), case, "never overwritten");
}
