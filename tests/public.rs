//! Real public exports no one here wrote (`../shared/data/public/`): each is read as its kind,
//! or named as a kind casefile does not use, and real values come out of it.

use std::path::Path;

use casefile::bundle::{activity, alerts, signins, storage, SourceKind, Span};
use casefile::input::table::{peek_columns, read_table, Visit};

use crate::util::public_data;

fn file(name: &str) -> std::path::PathBuf {
    let p = public_data().join(name);
    assert!(
        p.exists(),
        "{} is missing: the shared data folder must sit beside the repository",
        p.display()
    );
    p
}

fn kind_of(p: &Path) -> Option<SourceKind> {
    casefile::bundle::Registry::default().detect(&peek_columns(p, "test").unwrap().1)
}

#[test]
fn every_public_file_is_read_or_named() {
    let expected = [
        ("azureActivity_adele.csv", Some(casefile::bundle::activity::KIND)),
        ("sign-in_adelete.csv", Some(casefile::bundle::signins::KIND)),
        ("signinLogs.csv", None),
        ("AuditLogs_Hunting.csv", Some(casefile::bundle::audit::KIND)),
        ("az_mon_raw_query_SecurityAlert.json", Some(casefile::bundle::alerts::KIND)),
        ("GetBlob_SAS.json", Some(casefile::bundle::storage::KIND)),
        ("ListBlobs_AccountKey.json", Some(casefile::bundle::storage::KIND)),
        ("storageAccounts_write_BeginRequest.json", Some(casefile::bundle::activity::KIND)),
    ];
    let on_disk = std::fs::read_dir(public_data()).unwrap().count();
    assert_eq!(on_disk, expected.len(), "a public file has no expectation here");
    for (name, kind) in expected {
        assert_eq!(kind_of(&file(name)), kind, "{name}");
    }
}

#[test]
fn sentinel_lab_activity_export_reads_23_events_with_real_values() {
    let (events, info) = activity::load(&file("azureActivity_adele.csv"), &mut Span::default()).unwrap();
    assert_eq!(info.records, 23);
    assert_eq!(events.len(), 23);
    let first = &events[0];
    assert_eq!(first.operation, "microsoft.web/sites/delete");
    assert_eq!(first.caller.as_ref().unwrap().as_str(), "adelev@m365x816222.onmicrosoft.com");
    assert_eq!(first.caller_ip.unwrap().to_string(), "37.142.150.162");
    assert!(events.iter().all(|e| e.at.0.format("%Y-%m-%d").to_string() == "2021-04-28"));
}

#[test]
fn sentinel_lab_signin_union_export_reads_56_rows() {
    let (rows, info) = signins::load(&file("sign-in_adelete.csv"), &mut Span::default()).unwrap();
    assert_eq!(info.records, 56);
    assert!(rows.iter().all(|s| s.ip.map(|i| i.to_string()) == Some("175.45.176.99".into())));
    assert!(rows.iter().all(|s| s.country.as_deref() == Some("IL")));
    let first = rows.iter().find(|s| s.at.rfc3339() == "2021-04-28T14:08:45Z").unwrap();
    assert_eq!(first.app.as_deref(), Some("Azure Portal"));
    assert_eq!(first.resource.as_deref(), Some("Windows Azure Service Management API"));
    assert!(first.succeeded);
    assert!(first.single_factor());
    let codes: std::collections::BTreeSet<_> = rows.iter().filter_map(|s| s.result_code.clone()).collect();
    assert!(
        codes.contains("0") && codes.contains("50058") && codes.contains("16000"),
        "{codes:?}"
    );
}

#[test]
fn msticpy_query_api_alerts_read_three_rows() {
    let (alerts, info) = alerts::load(&file("az_mon_raw_query_SecurityAlert.json"), &mut Span::default()).unwrap();
    assert_eq!(info.records, 3);
    assert!(alerts.iter().all(|a| a.product.as_deref() == Some("Azure Sentinel")));
    assert!(alerts.iter().all(|a| a.source_product() == "Microsoft Sentinel"));
}

#[test]
fn raw_storage_records_give_ranged_sas_read_and_account_key_listing() {
    let mut got = Vec::new();
    storage::stream(&file("GetBlob_SAS.json"), &mut |r| {
        got.push(r.into_owned());
        Ok(())
    })
    .unwrap();
    storage::stream(&file("ListBlobs_AccountKey.json"), &mut |r| {
        got.push(r.into_owned());
        Ok(())
    })
    .unwrap();
    let get = &got[0];
    assert_eq!(get.operation, "GetBlob");
    assert_eq!(get.status_code, 206);
    assert_eq!(get.response_bytes.0, 99);
    assert_eq!(get.container.as_deref(), Some("securacontainer"));
    assert_eq!(get.blob.as_deref(), Some("passwords.txt"));
    assert_eq!(get.caller_ip.unwrap().to_string(), "52.239.246.0");
    assert!(get.auth.uses_account_key(get.auth_hash.as_deref()), "SAS signed with key1");
    assert_eq!(got[1].operation, "ListBlobs");
    assert!(got[1].auth.uses_account_key(None));
}

#[test]
fn rest_activity_event_reads_natural_case_operation_and_redacted_ip() {
    let (events, _) = activity::load(&file("storageAccounts_write_BeginRequest.json"), &mut Span::default()).unwrap();
    let e = &events[0];
    assert_eq!(e.operation, "microsoft.storage/storageaccounts/write");
    assert_eq!(e.status, activity::ActivityStatus::Started);
    assert_eq!(e.caller.as_ref().unwrap().as_str(), "attacker@securathesis.onmicrosoft.com");
    assert_eq!(e.caller_ip, None, "<Redacted> is unknown, not an address");
    assert_eq!(e.at.rfc3339(), "2022-06-28T10:05:18Z");
}

#[test]
fn custom_projection_and_audit_log_are_read_but_not_used() {
    for name in ["signinLogs.csv", "AuditLogs_Hunting.csv"] {
        let mut n = 0;
        read_table(&file(name), "test", &mut |_| {
            n += 1;
            Ok(Visit::Continue)
        })
        .unwrap();
        assert!(n >= 1, "{name}");
    }
}
