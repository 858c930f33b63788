//! The same evidence in other export shapes gives the same analysis: the Northgate sample's
//! Log Analytics exports are converted here to UTF-16 CSV (Windows PowerShell), Microsoft
//! Graph `auditLogs/signIns` JSON, `az monitor activity-log list` JSON, gzip, and raw storage
//! resource-log JSON Lines; the model must match the original in everything but where each
//! record sits in its file.

use std::path::Path;

use casefile::input::table::parse_timestamp;
use serde_json::{json, Map, Value};

use crate::util::{control, copy_sample, model_json, sample};

fn rows(path: &Path) -> Vec<Map<String, Value>> {
    let mut rdr = csv::ReaderBuilder::new().from_path(path).unwrap();
    let headers: Vec<String> = rdr
        .headers()
        .unwrap()
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').replace(" [UTC]", ""))
        .collect();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .cloned()
                .zip(r.iter().map(|v| Value::String(v.to_string())))
                .collect()
        })
        .collect()
}

fn s<'a>(r: &'a Map<String, Value>, k: &str) -> &'a str {
    r.get(k).and_then(|v| v.as_str()).unwrap_or("")
}

fn iso(la: &str) -> String {
    parse_timestamp(la, true)
        .unwrap()
        .unwrap()
        .0
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn parsed(r: &Map<String, Value>, k: &str) -> Value {
    serde_json::from_str(s(r, k)).unwrap_or(Value::Null)
}

/// Graph `signIn` objects in a `value` page.
fn signins_as_graph(csv: &Path) -> Value {
    let value: Vec<Value> = rows(csv)
        .iter()
        .map(|r| {
            let loc = parsed(r, "LocationDetails");
            json!({
                "id": s(r, "Id"), "createdDateTime": iso(s(r, "CreatedDateTime")), "userDisplayName": s(r, "UserDisplayName"),
                "userPrincipalName": s(r, "UserPrincipalName"), "ipAddress": s(r, "IPAddress"), "appDisplayName": s(r, "AppDisplayName"),
                "resourceDisplayName": s(r, "ResourceDisplayName"), "correlationId": s(r, "CorrelationId"),
                "conditionalAccessStatus": s(r, "ConditionalAccessStatus"), "authenticationRequirement": s(r, "AuthenticationRequirement"),
                "riskLevelDuringSignIn": s(r, "RiskLevelDuringSignIn"), "riskLevelAggregated": s(r, "RiskLevelAggregated"),
                "riskState": s(r, "RiskState"), "riskEventTypes_v2": parsed(r, "RiskEventTypes_V2"), "userAgent": s(r, "UserAgent"),
                "clientAppUsed": s(r, "ClientAppUsed"),
                "status": {"errorCode": s(r, "ResultType").parse::<i64>().unwrap(), "failureReason": s(r, "ResultDescription")},
                "location": {"city": loc["city"], "state": loc["state"], "countryOrRegion": loc["countryOrRegion"]},
                "deviceDetail": parsed(r, "DeviceDetail"), "authenticationDetails": parsed(r, "AuthenticationDetails"),
                "appliedConditionalAccessPolicies": parsed(r, "ConditionalAccessPolicies"),
            })
        })
        .collect();
    json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns", "value": value})
}

/// `az monitor activity-log list` EventData objects.
fn activity_as_az(csv: &Path) -> Value {
    let events: Vec<Value> = rows(csv)
        .iter()
        .map(|r| {
            let authz = parsed(r, "Authorization_d");
            let status = match s(r, "ActivityStatusValue") {
                "Start" => "Started",
                "Success" => "Succeeded",
                "Failure" => "Failed",
                other => other,
            };
            let mut e = json!({
                "eventTimestamp": iso(s(r, "TimeGenerated")), "caller": s(r, "Caller"), "correlationId": s(r, "CorrelationId"),
                "eventDataId": s(r, "EventDataId"), "operationId": s(r, "OperationId"), "resourceId": s(r, "ResourceId"),
                "resourceGroupName": s(r, "ResourceGroup"), "category": {"value": s(r, "CategoryValue")},
                "operationName": {"value": authz["action"], "localizedValue": s(r, "OperationName")},
                "status": {"value": status, "localizedValue": status}, "subStatus": {"value": s(r, "ActivitySubstatusValue")},
                "authorization": authz, "properties": parsed(r, "Properties_d"),
            });
            if !s(r, "CallerIpAddress").is_empty() {
                e["httpRequest"] = json!({"clientIpAddress": s(r, "CallerIpAddress")});
            }
            e
        })
        .collect();
    Value::Array(events)
}

/// Raw StorageRead/StorageWrite resource-log records, one per line.
pub fn storage_as_jsonl(csv: &Path) -> String {
    let mut out = String::new();
    for r in rows(csv) {
        let mut identity = json!({"type": s(&r, "AuthenticationType"), "tokenHash": s(&r, "AuthenticationHash")});
        if !s(&r, "RequesterAppId").is_empty() || !s(&r, "RequesterUpn").is_empty() {
            identity["requester"] =
                json!({"appId": s(&r, "RequesterAppId"), "upn": s(&r, "RequesterUpn"), "objectId": s(&r, "RequesterObjectId")});
        }
        let rec = json!({
            "time": iso(s(&r, "TimeGenerated")), "resourceId": s(&r, "_ResourceId"), "category": s(&r, "Category"),
            "operationName": s(&r, "OperationName"), "statusCode": s(&r, "StatusCode").parse::<u64>().unwrap(),
            "statusText": s(&r, "StatusText"), "callerIpAddress": s(&r, "CallerIpAddress"), "correlationId": s(&r, "CorrelationId"),
            "identity": identity, "uri": s(&r, "Uri"), "location": s(&r, "Location"),
            "properties": {"accountName": s(&r, "AccountName"), "objectKey": s(&r, "ObjectKey"), "userAgentHeader": s(&r, "UserAgentHeader"),
                "responseBodySize": s(&r, "ResponseBodySize").parse::<u64>().unwrap_or(0), "serviceType": "blob"},
        });
        out.push_str(&rec.to_string());
        out.push('\n');
    }
    out
}

/// `createdDateTime` as Entra writes it in diagnostic records: with an explicit offset. Odd
/// rows are written at -05:00, so the offset must be applied, not ignored.
fn with_offset(la: &str, odd: bool) -> String {
    let t = parse_timestamp(la, true).unwrap().unwrap().0;
    if odd {
        let zone = chrono::FixedOffset::west_opt(5 * 3600).unwrap();
        t.with_timezone(&zone).to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
    } else {
        t.to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
    }
}

/// Sign-in diagnostic-setting records (`insights-logs-signinlogs`): the Azure Monitor common
/// envelope with the Graph `signIn` fields under `properties`.
fn signins_as_diagnostic(csv: &Path) -> Vec<Value> {
    rows(csv)
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let tenant = s(r, "AADTenantId");
            let mut properties = json!({
                "id": s(r, "Id"), "createdDateTime": with_offset(s(r, "CreatedDateTime"), i % 2 == 1),
                "userDisplayName": s(r, "UserDisplayName"), "userPrincipalName": s(r, "UserPrincipalName"), "userId": s(r, "UserId"),
                "appId": s(r, "AppId"), "appDisplayName": s(r, "AppDisplayName"), "ipAddress": s(r, "IPAddress"),
                "status": parsed(r, "Status"), "clientAppUsed": s(r, "ClientAppUsed"), "userAgent": s(r, "UserAgent"),
                "deviceDetail": parsed(r, "DeviceDetail"), "location": parsed(r, "LocationDetails"), "mfaDetail": parsed(r, "MfaDetail"),
                "correlationId": s(r, "CorrelationId"), "conditionalAccessStatus": s(r, "ConditionalAccessStatus"),
            });
            let more = json!({
                "appliedConditionalAccessPolicies": parsed(r, "ConditionalAccessPolicies"), "originalRequestId": s(r, "OriginalRequestId"),
                "isInteractive": s(r, "IsInteractive") == "true", "authenticationDetails": parsed(r, "AuthenticationDetails"),
                "authenticationRequirement": s(r, "AuthenticationRequirement"), "riskDetail": s(r, "RiskDetail"),
                "riskLevelAggregated": s(r, "RiskLevelAggregated"), "riskLevelDuringSignIn": s(r, "RiskLevelDuringSignIn"),
                "riskState": s(r, "RiskState"), "riskEventTypes": parsed(r, "RiskEventTypes"), "riskEventTypes_v2": parsed(r, "RiskEventTypes_V2"),
                "resourceDisplayName": s(r, "ResourceDisplayName"), "resourceId": s(r, "ResourceIdentity"),
                "tokenIssuerType": s(r, "TokenIssuerType"), "userType": s(r, "UserType"),
            });
            if let (Some(p), Some(m)) = (properties.as_object_mut(), more.as_object()) {
                p.extend(m.clone());
            }
            json!({
                "time": iso(s(r, "TimeGenerated")), "resourceId": format!("/tenants/{tenant}/providers/Microsoft.aadiam"),
                "operationName": "Sign-in activity", "operationVersion": "1.0", "category": s(r, "Category"), "tenantId": tenant,
                "resultType": s(r, "ResultType"), "resultSignature": "None", "resultDescription": s(r, "ResultDescription"),
                "durationMs": 0, "callerIpAddress": s(r, "IPAddress"), "correlationId": s(r, "CorrelationId"),
                "identity": s(r, "UserDisplayName"), "Level": 4, "location": s(r, "Location"),
                "properties": properties,
            })
        })
        .collect()
}

/// Activity-log diagnostic-setting records (`insights-activity-logs`): upper-case
/// `operationName` and `resourceId`, `resultType` Start/Success/Failure, the caller only in
/// `identity.claims`, and the event's own properties (natural-case `entity`).
fn activity_as_diagnostic(csv: &Path) -> Vec<Value> {
    rows(csv)
        .iter()
        .map(|r| {
            let mut props = parsed(r, "Properties_d");
            if let Some(p) = props.as_object_mut() {
                // Only the claims name the caller in these records.
                p.remove("caller");
                p.remove("eventDataId");
                p.insert("statusCode".into(), json!(s(r, "ActivitySubstatusValue")));
            }
            let signature = match s(r, "ActivityStatusValue") {
                "Start" => "Started.".to_string(),
                "Success" => format!("Succeeded.{}", s(r, "ActivitySubstatusValue")),
                other => format!("Failed.{other}"),
            };
            let mut rec = json!({
                "time": iso(s(r, "TimeGenerated")), "resourceId": s(r, "ResourceId").to_uppercase(),
                "operationName": s(r, "OperationNameValue").to_uppercase(), "category": s(r, "CategoryValue"),
                "resultType": s(r, "ActivityStatusValue"), "resultSignature": signature, "durationMs": 0,
                "correlationId": s(r, "CorrelationId"), "level": "Information", "location": "global",
                "identity": {"authorization": parsed(r, "Authorization_d"), "claims": parsed(r, "Claims_d")},
                "properties": props,
            });
            if !s(r, "CallerIpAddress").is_empty() {
                rec["callerIpAddress"] = json!(s(r, "CallerIpAddress"));
            }
            rec
        })
        .collect()
}

/// Records in one of the three shapes Azure Monitor writes: JSON Lines (a storage-account
/// `PT1H.json` today), a JSON array, or the `{"records": [...]}` wrapper (event hubs and the
/// older `PT1H.json`).
fn write_records(path: &Path, records: &[Value], shape: &str) {
    let text = match shape {
        "jsonl" => records.iter().map(|r| r.to_string() + "\n").collect::<String>(),
        "array" => serde_json::to_string_pretty(records).unwrap(),
        _ => json!({ "records": records }).to_string(),
    };
    std::fs::write(path, text).unwrap();
}

/// Drops where records sit (file, line, JSON path), which legitimately differs by shape.
pub fn normalise(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for k in ["evidence", "origin", "example", "events", "file", "line", "record", "path"] {
                m.remove(k);
            }
            m.values_mut().for_each(normalise);
        }
        Value::Array(a) => a.iter_mut().for_each(normalise),
        Value::String(s) => {
            // Citations inside sentences: "(evidence/signins.csv:123)".
            while let Some(i) = s.find("(evidence/") {
                let end = s[i..].find(')').map(|j| i + j + 1).unwrap_or(s.len());
                s.replace_range(i..end, "(…)");
            }
        }
        _ => {}
    }
}

fn comparable(bundle: &Path) -> Value {
    let m = model_json(bundle);
    let mut v = json!({"figures": m["figures"], "analysis": m["analysis"], "improvements": m["improvements"], "done": m["done"]});
    normalise(&mut v);
    drop_export_provenance(&mut v);
    v
}

/// The one judgement a file's shape may change: whether the Activity log records prove an
/// export (a workspace table or diagnostic records do; the az CLI's read of the platform's
/// 90-day history does not). Removes that control, its fact, the preservation row that names
/// the export and the ranks it shifts.
fn drop_export_provenance(v: &mut Value) {
    const ID: &str = "activity-log-export";
    match v {
        Value::Object(m) => {
            m.remove("rank");
            m.values_mut().for_each(drop_export_provenance);
        }
        Value::Array(a) => {
            a.retain(|x| x["id"] != ID && x["control"] != ID && x["fact"] != "activity-log-exported" && x["item"] != "Activity log export");
            a.iter_mut().for_each(drop_export_provenance);
        }
        _ => {}
    }
}

/// The verdict of the Activity log export control in a bundle's model.
fn export_verdict(bundle: &Path) -> Value {
    control(&model_json(bundle), "activity-log-export")["verdict"].clone()
}

fn set_evidence(dir: &Path, from: &str, to: &str) {
    let case = std::fs::read_to_string(dir.join("case.toml")).unwrap();
    assert!(case.contains(from));
    std::fs::write(dir.join("case.toml"), case.replace(from, to)).unwrap();
}

#[test]
fn northgate_in_other_export_shapes_gives_the_same_analysis() {
    let expected = comparable(&sample());
    let dir = copy_sample("shapes");
    let ev = dir.join("evidence");
    std::fs::write(
        ev.join("signins.json"),
        serde_json::to_vec_pretty(&signins_as_graph(&ev.join("signins.csv"))).unwrap(),
    )
    .unwrap();
    std::fs::write(
        ev.join("activity.json"),
        serde_json::to_vec_pretty(&activity_as_az(&ev.join("activity.csv"))).unwrap(),
    )
    .unwrap();
    std::fs::write(ev.join("storage.jsonl"), storage_as_jsonl(&ev.join("storage.csv"))).unwrap();
    set_evidence(&dir, "evidence/signins.csv", "evidence/signins.json");
    set_evidence(&dir, "evidence/activity.csv", "evidence/activity.json");
    set_evidence(&dir, "evidence/storage.csv", "evidence/storage.jsonl");
    // Workspace rows prove an Activity log export; the az CLI's read of the platform's own
    // history does not.
    assert_eq!(export_verdict(&sample()), "present");
    assert_eq!(export_verdict(&dir), "not-assessable");
    let got = comparable(&dir);
    assert_eq!(got["figures"], expected["figures"]);
    assert_eq!(got["analysis"]["steps"], expected["analysis"]["steps"]);
    assert_eq!(got, expected, "Graph / az / raw JSON Lines shapes changed the analysis");
}

#[test]
fn utf16_powershell_csv_and_gzip_give_the_same_analysis() {
    let expected = comparable(&sample());
    let dir = copy_sample("shapes-utf16");
    let ev = dir.join("evidence");
    // Windows PowerShell 5.1 `>` writes UTF-16 LE with a BOM.
    let text = std::fs::read_to_string(ev.join("signins.csv")).unwrap();
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in text.trim_start_matches('\u{feff}').encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    std::fs::write(ev.join("signins.csv"), utf16).unwrap();
    // Big-endian too, for the activity log.
    let text = std::fs::read_to_string(ev.join("activity.csv")).unwrap();
    let mut be = vec![0xFE, 0xFF];
    for unit in text.trim_start_matches('\u{feff}').encode_utf16() {
        be.extend_from_slice(&unit.to_be_bytes());
    }
    std::fs::write(ev.join("activity.csv"), be).unwrap();
    let storage = std::fs::read(ev.join("storage.csv")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &storage).unwrap();
    std::fs::write(ev.join("storage.csv.gz"), gz.finish().unwrap()).unwrap();
    set_evidence(&dir, "evidence/storage.csv\"", "evidence/storage.csv.gz\"");
    assert_eq!(comparable(&dir), expected);
}

#[test]
fn overlapping_exports_count_each_record_once() {
    let expected = comparable(&sample());
    let dir = copy_sample("shapes-overlap");
    let ev = dir.join("evidence");
    // The same storage log twice (once as CSV, once as raw JSON Lines) and sign-ins twice.
    std::fs::write(ev.join("storage.jsonl"), storage_as_jsonl(&ev.join("storage.csv"))).unwrap();
    std::fs::write(
        ev.join("signins.json"),
        serde_json::to_vec(&signins_as_graph(&ev.join("signins.csv"))).unwrap(),
    )
    .unwrap();
    let mut case = std::fs::read_to_string(dir.join("case.toml")).unwrap();
    case.push_str("\n[[evidence]]\npath = \"evidence/storage.jsonl\"\n\n[[evidence]]\npath = \"evidence/signins.json\"\n");
    std::fs::write(dir.join("case.toml"), case).unwrap();
    let got = comparable(&dir);
    assert_eq!(got["figures"], expected["figures"], "bytes must never be double-counted");
    assert_eq!(got["analysis"]["exposure"], expected["analysis"]["exposure"]);
    let o = crate::util::run(&["validate", dir.to_str().unwrap()]);
    let out = crate::util::stdout(&o);
    assert!(out.contains("885 duplicate records dropped"), "{out}");
    assert!(out.contains("10 duplicate records dropped"), "{out}");
}

/// The Northgate sign-ins, activity and storage logs as Azure Monitor diagnostic-setting
/// records (alerts have no such shape and stay in Defender JSON), in each record shape.
#[test]
fn northgate_as_diagnostic_setting_records_gives_the_same_analysis() {
    let expected = comparable(&sample());
    for (signins_shape, activity_shape) in [("jsonl", "records"), ("records", "array"), ("array", "jsonl")] {
        let dir = copy_sample(&format!("shapes-diag-{signins_shape}"));
        let ev = dir.join("evidence");
        let signins = signins_as_diagnostic(&ev.join("signins.csv"));
        let activity = activity_as_diagnostic(&ev.join("activity.csv"));
        write_records(&ev.join("PT1H-signins.json"), &signins, signins_shape);
        write_records(&ev.join("PT1H-activity.json"), &activity, activity_shape);
        std::fs::write(ev.join("PT1H-storage.json"), storage_as_jsonl(&ev.join("storage.csv"))).unwrap();
        set_evidence(&dir, "evidence/signins.csv", "evidence/PT1H-signins.json");
        set_evidence(&dir, "evidence/activity.csv", "evidence/PT1H-activity.json");
        set_evidence(&dir, "evidence/storage.csv", "evidence/PT1H-storage.json");
        assert_eq!(export_verdict(&dir), "present", "diagnostic records prove the export");
        let got = comparable(&dir);
        assert_eq!(got["figures"], expected["figures"], "{signins_shape}/{activity_shape}");
        assert_eq!(
            got["analysis"]["steps"], expected["analysis"]["steps"],
            "{signins_shape}/{activity_shape}"
        );
        assert_eq!(
            got, expected,
            "diagnostic records ({signins_shape}/{activity_shape}) changed the analysis"
        );
    }
}
