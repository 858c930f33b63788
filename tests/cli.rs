//! The binary on the sample case: the seed's figures, asserted one by one, plus exit codes
//! and "not provided" behaviour.

use serde_json::Value;

use crate::util::{control, copy_sample, model_json, run, sample, stderr, stdout};

fn steps(m: &Value) -> Vec<Value> {
    m["analysis"]["steps"].as_array().expect("steps").clone()
}

fn step<'a>(steps: &'a [Value], action: &str, hhmm: &str) -> &'a Value {
    steps
        .iter()
        .find(|s| s["action"].as_str().is_some_and(|a| a.starts_with(action)) && s["at"].as_str().is_some_and(|t| t[11..16] == *hhmm))
        .unwrap_or_else(|| panic!("no step {action} at {hhmm}"))
}

#[test]
fn sample_case_names_no_attacker_so_the_analysis_must_find_it() {
    let text = std::fs::read_to_string(sample().join("case.toml")).unwrap();
    assert!(!text.contains("attacker_identities") && !text.contains("attacker_ips") && !text.contains("198.51.100.77"));
    let m = model_json(&sample());
    let scope = &m["analysis"]["scope"];
    assert_eq!(scope["source"], "inferred");
    assert_eq!(
        scope["identities"].as_object().unwrap().keys().collect::<Vec<_>>(),
        vec!["admin@northgateeng.com"]
    );
    assert_eq!(scope["ips"].as_object().unwrap().keys().collect::<Vec<_>>(), vec!["198.51.100.77"]);
}

#[test]
fn phase1_the_three_sign_ins_of_the_compromised_admin() {
    let m = model_json(&sample());
    let s = m["analysis"]["signins_of_compromised"]["value"].as_array().unwrap();
    let rows: Vec<(String, String, String, String)> = s
        .iter()
        .map(|x| {
            (
                x["at"].as_str().unwrap()[5..16].to_string(),
                x["ip"].as_str().unwrap().into(),
                x["country"].as_str().unwrap().into(),
                x["resource"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                "03-20T17:30".into(),
                "10.0.1.10".into(),
                "GB".into(),
                "Windows Azure Service Management API".into()
            ),
            (
                "03-21T03:12".into(),
                "198.51.100.77".into(),
                "US".into(),
                "Windows Azure Service Management API".into()
            ),
            ("03-21T03:14".into(), "198.51.100.77".into(), "US".into(), "Azure Storage".into()),
        ]
    );
    assert_eq!(s[1]["risk_during"], "high");
    assert_eq!(s[0]["risk_during"], "none");
    let st = steps(&m);
    let first = st.iter().map(|x| x["at"].as_str().unwrap()).min().unwrap();
    assert_eq!(first, "2024-03-21T03:12:40Z", "first malicious sign-in at 03:12");
}

#[test]
fn phase2_arm_operations_with_region_and_status() {
    let m = model_json(&sample());
    let st = steps(&m);
    let ra = step(&st, "roleAssignments/write", "03:14");
    assert_eq!(ra["target"], "Subscription level");
    assert_eq!(ra["outcome"], "Succeeded");
    let vm = step(&st, "virtualMachines/write", "03:16");
    assert!(vm["target"].as_str().unwrap().contains("rg-brazil-temp"));
    assert!(vm["detail"].as_str().unwrap().contains("Brazil South"));
    assert!(vm["detail"].as_str().unwrap().contains("Standard_NC24ads_A100_v4"));
    assert!(step(&st, "publicIPAddresses/write", "03:17")["target"]
        .as_str()
        .unwrap()
        .contains("rg-brazil-temp"));
    assert!(step(&st, "networkSecurityGroups/securityRules/write", "03:18")["target"]
        .as_str()
        .unwrap()
        .contains("rg-brazil-temp"));
    let lk = step(&st, "storageAccounts/listKeys/action", "03:22");
    assert!(lk["target"].as_str().unwrap().contains("rg-production"));
    for s in st.iter().filter(|s| s["phase"] == "ARM") {
        assert_eq!(s["outcome"], "Succeeded", "{s}");
        assert_eq!(s["actor"], "admin@northgateeng.com");
    }
}

#[test]
fn phase3_storage_reads_match_the_seed_exactly() {
    let m = model_json(&sample());
    let st = steps(&m);
    let lb = step(&st, "ListBlobs", "03:22");
    assert_eq!(lb["count"], 12);
    assert_eq!(lb["target"], "proddata [backups, customer-data, financial-reports]");
    let g1 = step(&st, "GetBlob × 847", "03:24");
    assert_eq!(g1["count"], 847);
    assert_eq!(g1["bytes"], 2_300_000_000u64);
    assert_eq!(g1["target"], "proddata [customer-data]");
    let g2 = step(&st, "GetBlob × 23", "03:38");
    assert_eq!(g2["bytes"], 145_000_000u64);
    assert_eq!(g2["target"], "proddata [financial-reports]");
    // The three 404s are kept apart, not counted as data.
    let failed = step(&st, "GetBlob × 3", "03:29");
    assert_eq!(failed["outcome"], "Failed");
    let e = &m["analysis"]["exposure"]["value"];
    assert_eq!(e["bytes"], 2_445_000_000u64);
    assert_eq!(m["figures"]["data_exfiltrated"], "2.45 GB");
    let cd = e["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["container"] == "customer-data")
        .unwrap();
    assert_eq!(cd["distinct_objects"], 812, "35 blobs were read as two 206 ranges each");
    assert_eq!(cd["read_requests"], 847);
}

#[test]
fn benign_activity_in_the_same_logs_is_excluded_with_reasons() {
    let m = model_json(&sample());
    let ex = m["analysis"]["excluded"].as_array().unwrap();
    let actors: Vec<&str> = ex.iter().filter_map(|e| e["actor"].as_str()).collect();
    for who in [
        "k.owen@northgateeng.com",
        "m.patel@northgateeng.com",
        "soc.lead@northgateeng.com",
        "j.smith@northgateeng.com",
    ] {
        assert!(actors.contains(&who), "{who} not excluded");
    }
    // The admin's own normal activity from the office network is not attacker activity.
    let admin_normal = ex
        .iter()
        .find(|e| e["actor"] == "admin@northgateeng.com" && e["what"] == "virtualMachines/write")
        .unwrap();
    assert!(admin_normal["reason"].as_str().unwrap().contains("trusted address 10.0.1.10"));
    let storage: u64 = m["analysis"]["storage_excluded"]["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(storage, 170, "150 app reads and 20 backup writes");
    assert_eq!(m["analysis"]["storage_requests"]["value"], serde_json::json!([1055, 885]));
}

#[test]
fn lateral_movement_row_matches_the_seed() {
    let m = model_json(&sample());
    let l = &m["analysis"]["lateral"]["value"][0];
    assert_eq!(l["caller"], "admin@northgateeng.com");
    assert_eq!(l["resource_types"].as_array().unwrap().len(), 5);
    for t in [
        "virtualMachines",
        "storageAccounts",
        "roleAssignments",
        "networkSecurityGroups",
        "publicIPAddresses",
    ] {
        assert!(l["resource_types"].as_array().unwrap().iter().any(|x| x == t), "{t}");
    }
    assert_eq!(l["operations"], 7);
    assert_eq!(l["minutes"], 26);
}

#[test]
fn three_alerts_sit_in_the_timeline() {
    let m = model_json(&sample());
    let alerts: Vec<(String, String)> = m["analysis"]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["phase"] == "Alert")
        .map(|t| {
            (
                t["at"].as_str().unwrap()[11..16].to_string(),
                t["detail"].as_str().unwrap().split(" | ").next().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        alerts,
        vec![
            ("03:12".into(), "High".into()),
            ("03:16".into(), "Medium".into()),
            ("03:22".into(), "Medium".into())
        ]
    );
}

#[test]
fn attacker_compute_cost_is_about_340_dollars_from_size_lifetime_and_rate() {
    let m = model_json(&sample());
    let vm = &m["analysis"]["cost"]["vms"][0];
    assert_eq!(vm["size"], "Standard_NC24ads_A100_v4");
    assert_eq!(vm["region"]["name"], "Brazil South");
    assert_eq!(vm["region"]["id"], "brazilsouth");
    assert!((vm["hours"].as_f64().unwrap() - 46.3).abs() < 1e-9);
    assert!((vm["cost"].as_f64().unwrap() - 340.1198).abs() < 1e-6);
    assert_eq!(m["figures"]["compute_cost"], "$340");
    assert!(m["assumptions"].as_array().unwrap().iter().any(|a| a["topic"] == "VM rate"));
}

#[test]
fn gdpr_deadline_is_awareness_plus_72_hours_and_severity_is_scored() {
    let m = model_json(&sample());
    let g = &m["analysis"]["gdpr"];
    assert_eq!(g["deadline"]["deadline"], "2024-03-24T09:30:00Z");
    assert_eq!(g["severity"]["se"], 4.0);
    assert_eq!(g["severity"]["band"], "Very High");
    assert_eq!(g["art33"]["required"], true);
    assert_eq!(g["art34"]["required"], true);
}

#[test]
fn control_verdicts_are_proven_from_the_evidence_and_the_export() {
    let m = model_json(&sample());
    let verdict = |id: &str| control(&m, id)["verdict"].as_str().unwrap().to_string();
    assert_eq!(verdict("ca-trusted-location"), "missing-evidence");
    assert_eq!(verdict("allowed-locations"), "missing-evidence");
    assert_eq!(verdict("storage-rbac-only"), "missing-evidence");
    assert_eq!(verdict("defender-for-storage"), "present");
    assert_eq!(verdict("defender-for-servers"), "missing-recommendation");
    // JIT is unhealthy only on a VM the attacker never used, and "management ports closed"
    // turned unhealthy only after the attacker made a VM: neither proves a pre-existing gap.
    assert_eq!(verdict("mgmt-ports-nsg"), "not-assessable");
}

#[test]
fn listed_keys_not_rotated_come_first_in_the_response() {
    let dir = copy_sample("no-rotation");
    let activity = dir.join("evidence/activity.csv");
    // Drop whole records (a record spans several lines) with the csv crate.
    let mut rdr = csv::ReaderBuilder::new().from_path(&activity).unwrap();
    let headers = rdr.headers().unwrap().clone();
    let op = headers.iter().position(|h| h == "OperationNameValue").unwrap();
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_path(dir.join("evidence/activity2.csv"))
        .unwrap();
    w.write_record(&headers).unwrap();
    for r in rdr.records() {
        let r = r.unwrap();
        if !r[op].contains("REGENERATEKEY") {
            w.write_record(&r).unwrap();
        }
    }
    w.flush().unwrap();
    std::fs::rename(dir.join("evidence/activity2.csv"), &activity).unwrap();
    let m = model_json(&dir);
    let first = &m["analysis"]["response"]["actions"][0];
    assert_eq!(first["id"], "rotate-keys");
    assert_eq!(first["status"], "outstanding");
}

#[test]
fn a_missing_source_is_not_provided_never_zero() {
    let dir = copy_sample("no-storage");
    let case = std::fs::read_to_string(dir.join("case.toml"))
        .unwrap()
        .replace("[[evidence]]\npath = \"evidence/storage.csv\"\n", "");
    std::fs::write(dir.join("case.toml"), case).unwrap();
    let m = model_json(&dir);
    assert_eq!(m["analysis"]["exposure"]["status"], "not-provided");
    assert_eq!(m["figures"]["data_exfiltrated"], "not provided");
    assert_eq!(m["figures"]["objects"], "not provided");
    assert!(m["analysis"]["gdpr"]["severity"].is_null());
    let text = stdout(&run(&["analyze", dir.to_str().unwrap()]));
    assert!(text.contains("Data exfiltrated               not provided"), "{text}");
    assert!(text.contains("storage log            not provided"), "{text}");
    assert!(!text.contains("0 bytes"));
}

#[test]
fn validate_describes_each_file_and_exits_zero() {
    let o = run(&["validate", sample().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for needle in [
        "evidence/signins.csv",
        "sign-in log",
        "1055",
        "storage log",
        "recommendations export",
        "all inputs read",
    ] {
        assert!(out.contains(needle), "{needle} missing from:\n{out}");
    }
}

#[test]
fn exit_codes_distinguish_usage_and_input_errors() {
    assert_eq!(run(&["analyze"]).status.code(), Some(2));
    assert_eq!(run(&["frobnicate"]).status.code(), Some(2));
    let o = run(&["analyze", "/nonexistent/bundle"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/nonexistent/bundle/case.toml"), "{}", stderr(&o));
}

#[test]
fn text_summary_shows_the_seed_timeline() {
    let out = stdout(&run(&["analyze", sample().to_str().unwrap()]));
    for needle in [
        "03:12  Identity",
        "03:14  ARM      roleAssignments/write",
        "03:24  Storage  GetBlob × 847",
        "03:38  Storage  GetBlob × 23",
        "2.45 GB",
    ] {
        assert!(out.contains(needle), "{needle} missing");
    }
}
