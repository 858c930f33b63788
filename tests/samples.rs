//! The two further sample bundles, `samples/quiet` (no attacker: alerts that turn out benign)
//! and `samples/brunnwald` (a different attack in different export shapes), asserted figure by
//! figure against `casefile analyze <dir> --format json`. Each sample's README.md explains
//! where every figure comes from.
//!
//! The first part asserts what the analysis already computes correctly. The second part
//! (`truth_*`) asserts what a correct report must say per issue 7 and the samples' READMEs;
//! those tests fail until the analysis is fixed, and name the behaviour they wait for.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use crate::util::{control, copy_tree, model_json, report, root, run, stderr, stdout, temp_dir};

pub const QUIET: &str = "samples/quiet";
pub const BRUNNWALD: &str = "samples/brunnwald";

/// The sample's directory in the repository.
pub fn sample_dir(rel: &str) -> PathBuf {
    root().join(rel)
}

/// The sample's directory.
pub fn bundle(rel: &str) -> PathBuf {
    sample_dir(rel)
}

fn model(rel: &str) -> &'static Value {
    static QUIET_M: OnceLock<Value> = OnceLock::new();
    static BRUNNWALD_M: OnceLock<Value> = OnceLock::new();
    let cell = if rel == QUIET { &QUIET_M } else { &BRUNNWALD_M };
    cell.get_or_init(|| model_json(&bundle(rel)))
}

fn steps(m: &Value) -> &Vec<Value> {
    m["analysis"]["steps"].as_array().expect("steps")
}

/// The step whose action starts with `action` at UTC `hhmm` on `date` (YYYY-MM-DD).
fn step<'a>(m: &'a Value, action: &str, date: &str, hhmm: &str) -> &'a Value {
    steps(m)
        .iter()
        .find(|s| {
            let at = s["at"].as_str().unwrap_or("");
            s["action"].as_str().is_some_and(|a| a.starts_with(action)) && at.starts_with(date) && at[11..16] == *hhmm
        })
        .unwrap_or_else(|| panic!("no step {action} at {date} {hhmm}"))
}

fn container<'a>(m: &'a Value, name: &str) -> &'a Value {
    m["analysis"]["exposure"]["value"]["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .find(|c| c["container"] == name)
        .unwrap_or_else(|| panic!("no exposure row for {name}"))
}

fn evidence_records(m: &Value) -> Vec<(String, u64)> {
    m["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .map(|e| (e["path"].as_str().unwrap().to_string(), e["records"].as_u64().unwrap()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Quiet: what the current analysis already gets right
// ---------------------------------------------------------------------------------------------

#[test]
fn quiet_every_input_is_read_with_its_record_count() {
    let m = model(QUIET);
    assert_eq!(m["case"]["id"], "VDK-2025-1013");
    assert_eq!(m["case"]["timezone"], "Europe/Amsterdam");
    assert_eq!(
        evidence_records(m),
        vec![
            ("evidence/signins.json".to_string(), 43),
            ("evidence/riskdetections.csv".to_string(), 2),
            ("evidence/activity.csv".to_string(), 8),
            ("evidence/storage.csv".to_string(), 848),
            ("evidence/alerts.csv".to_string(), 2),
        ]
    );
    assert_eq!(m["analysis"]["storage_requests"]["value"][0], 848);
    let o = run(&["validate", sample_dir(QUIET).to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("all inputs read"));
}

/// (assessment key, state) of every recommendation the gap analysis reports.
fn recommendation_states(m: &Value) -> Vec<(String, String)> {
    let gaps = &m["analysis"]["gaps"];
    let mut out = Vec::new();
    let mapped = gaps["controls"]
        .as_array()
        .expect("controls")
        .iter()
        .flat_map(|c| c["recommendations"].as_array().cloned().unwrap_or_default());
    let unmapped = gaps["unmapped_unhealthy"].as_array().cloned().unwrap_or_default();
    for r in mapped.chain(unmapped) {
        out.push((r["key"].as_str().unwrap().to_string(), r["state"].as_str().unwrap().to_string()));
    }
    out
}

#[test]
fn quiet_recommendations_export_gives_the_posture_gaps() {
    let m = model(QUIET);
    assert_eq!(m["recommendations"]["assessments"], 8);
    assert_eq!(m["analysis"]["gaps"]["recommendations_provided"], true);
    let states = recommendation_states(m);
    for key in [
        "3b363842-30f5-4056-980d-3a40fa5de8b3", // shared key access, vdkpraktijkdata
        "45d313c3-3fca-5040-035f-d61928366d31", // storage network restriction
        "56a6e81f-7413-4f72-9a1b-aaeeaa87c872", // Defender for Servers
        "805651bc-6ecd-4c73-9b55-97a19d0582d0", // JIT on vm-pacs-01
    ] {
        assert!(
            states.contains(&(key.to_string(), "unhealthy".to_string())),
            "{key} not reported unhealthy: {states:?}"
        );
    }
}

#[test]
fn quiet_gdpr_inputs_are_read_from_the_case_file() {
    let m = model(QUIET);
    let g = m["analysis"]["gdpr"].to_string();
    assert!(g.contains("2025-10-13T08:30:00Z"), "awareness time");
    assert!(g.contains("Autoriteit Persoonsgegevens (NL)"));
}

// ---------------------------------------------------------------------------------------------
// Brunnwald: what the current analysis already gets right
// ---------------------------------------------------------------------------------------------

#[test]
fn brunnwald_every_input_is_read_in_its_shape() {
    let m = model(BRUNNWALD);
    assert_eq!(m["case"]["id"], "BWL-2025-0611");
    assert_eq!(
        evidence_records(m),
        vec![
            ("evidence/signins-graph.json".to_string(), 27),
            ("evidence/activity-az.json".to_string(), 29),
            ("evidence/storageread-bwlcoredata.jsonl".to_string(), 399),
            ("evidence/alerts-defender.json".to_string(), 3),
        ]
    );
    let shapes: Vec<&str> = m["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["shape"].as_str().unwrap())
        .collect();
    assert_eq!(shapes, vec!["json-records", "json-records", "json-lines", "json-records"]);
    assert_eq!(m["recommendations"]["assessments"], 11);
    assert_eq!(m["analysis"]["storage_requests"]["value"][0], 399);
}

#[test]
fn brunnwald_attacker_identity_and_address_are_inferred_from_alerts_and_sign_ins() {
    let text = std::fs::read_to_string(sample_dir(BRUNNWALD).join("case.toml")).unwrap();
    assert!(!text.contains("attacker_identities") && !text.contains("198.51.100.23"));
    let scope = &model(BRUNNWALD)["analysis"]["scope"];
    assert_eq!(scope["source"], "inferred");
    assert!(scope["identities"].get("j.keller@brunnwald.de").is_some());
    assert!(scope["ips"].get("198.51.100.23").is_some());
}

#[test]
fn brunnwald_single_factor_sign_in_with_conditional_access_not_applied() {
    let s = step(model(BRUNNWALD), "Sign-in", "2025-06-11", "02:14");
    assert_eq!(s["outcome"], "Succeeded");
    assert_eq!(s["ip"], "198.51.100.23");
    let d = s["detail"].as_str().unwrap();
    assert!(
        d.contains("CA: notApplied") && d.contains("single factor") && d.contains("US"),
        "{d}"
    );
}

#[test]
fn brunnwald_arm_operations_with_outcome_region_and_size() {
    let m = model(BRUNNWALD);
    let ra = step(m, "roleAssignments/write", "2025-06-11", "02:19");
    assert_eq!(ra["outcome"], "Succeeded");
    assert!(ra["detail"].as_str().unwrap().contains("role Contributor"));
    assert!(ra["target"].as_str().unwrap().contains("rg-logistik-prod"));
    let ok = step(m, "storageAccounts/listKeys/action", "2025-06-11", "02:24");
    assert!(ok["target"].as_str().unwrap().starts_with("bwlcoredata"));
    assert_eq!(ok["outcome"], "Succeeded");
    let denied = step(m, "storageAccounts/listKeys/action", "2025-06-11", "02:25");
    assert!(denied["target"].as_str().unwrap().starts_with("bwlarchive"));
    assert_eq!(denied["outcome"], "Failed");
    for (hhmm, vm, region, outcome) in [
        ("02:36", "vm-etl-07", "Germany West Central", "Succeeded"),
        ("02:41", "vm-etl-08", "East US", "Succeeded"),
        ("02:47", "vm-etl-09", "Japan East", "Failed"),
    ] {
        let s = step(m, "virtualMachines/write", "2025-06-11", hhmm);
        assert!(s["target"].as_str().unwrap().starts_with(vm), "{s}");
        assert!(s["detail"].as_str().unwrap().contains(region), "{s}");
        assert_eq!(s["outcome"], outcome, "{vm}");
        assert_eq!(s["actor"], "95ca549f-5bdb-4512-bda4-9b4aaf205abf", "the service principal acts");
    }
    assert!(step(m, "virtualMachines/write", "2025-06-11", "02:47")["detail"]
        .as_str()
        .unwrap()
        .contains("Standard_ND96asr_v4"));
}

#[test]
fn brunnwald_payroll_reads_and_the_failures_after_the_key_rotation() {
    let m = model(BRUNNWALD);
    let g = step(m, "GetBlob × 212", "2025-06-11", "02:28");
    assert_eq!(g["bytes"], 1_842_000_000u64);
    assert_eq!(g["target"], "bwlcoredata [gehaltsdaten]");
    assert_eq!(g["outcome"], "Succeeded");
    let t = step(m, "GetBlob × 64", "2025-06-11", "03:40");
    assert_eq!(t["bytes"], 613_500_000u64);
    assert_eq!(t["target"], "bwlcoredata [tourenplanung]");
    let failed = step(m, "GetBlob × 14", "2025-06-11", "04:20");
    assert_eq!(failed["outcome"], "Failed");
    assert_eq!(step(m, "ListBlobs × 1", "2025-06-11", "04:20")["outcome"], "Failed");
    let c = container(m, "gehaltsdaten");
    assert_eq!(c["bytes"], 1_842_000_000u64);
    assert_eq!(c["read_requests"], 212);
    assert_eq!(c["distinct_objects"], 204, "8 blobs were read as two 206 ranges each");
    assert_eq!(c["failed_requests"], 15);
    assert_eq!(c["listing_requests"], 1);
}

#[test]
fn brunnwald_vm_lifetimes_and_the_priced_vm() {
    let cost = &model(BRUNNWALD)["analysis"]["cost"];
    let vms = cost["vms"].as_array().unwrap();
    assert_eq!(vms.len(), 2, "the refused VM costs nothing");
    let v7 = vms.iter().find(|v| v["name"] == "vm-etl-07").unwrap();
    assert_eq!(v7["hours"], 57.4);
    assert_eq!(v7["region"]["name"], "Germany West Central");
    assert_eq!(v7["region"]["id"], "germanywestcentral");
    assert_eq!(v7["end_basis"], "still present at the report's as-of time");
    let v8 = vms.iter().find(|v| v["name"] == "vm-etl-08").unwrap();
    assert_eq!(v8["hours"], 6.5);
    assert_eq!(v8["usd_per_hour"], 3.673);
    assert_eq!(v8["cost_display"], "$23.87");
    let pip = &cost["public_ips"][0];
    assert_eq!(pip["name"], "pip-etl-08");
    assert_eq!(pip["cost_display"], "$0.03");
    assert_eq!(cost["egress"], 0.0);
}

#[test]
fn brunnwald_benign_activity_is_excluded() {
    let m = model(BRUNNWALD);
    let ex = m["analysis"]["excluded"].as_array().unwrap();
    let restart = ex
        .iter()
        .find(|e| e["what"] == "virtualMachines/restart/action")
        .expect("Keller's own VM restart");
    assert!(restart["reason"].as_str().unwrap().contains("trusted address 203.0.113.140"));
    let actors: Vec<&str> = ex.iter().filter_map(|e| e["actor"].as_str()).collect();
    for who in ["m.brandt@brunnwald.de", "l.hoffmann@brunnwald.de", "t.schulz@brunnwald.de"] {
        assert!(actors.contains(&who), "{who} not excluded");
    }
    let backup: u64 = m["analysis"]["storage_excluded"]["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["reason"].as_str().unwrap().contains("20.113.50.4"))
        .map(|g| g["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(backup, 93, "three nights of the backup service principal: 3 listings and 90 reads");
}

#[test]
fn brunnwald_key_rotation_is_found_and_is_partial() {
    let actions = model(BRUNNWALD)["analysis"]["response"]["actions"].as_array().unwrap().clone();
    let rotate = actions.iter().find(|a| a["id"] == "rotate-keys").expect("rotate-keys");
    assert_eq!(rotate["status"], "partial", "key1 regenerated, key2 not");
    assert_eq!(rotate["at"], "2025-06-11T04:05:12Z");
    let role = actions
        .iter()
        .find(|a| a["id"] == "revert-role-assignment")
        .expect("role assignment removal");
    assert_eq!(role["status"], "done");
    let reported = actions.iter().find(|a| a["id"] == "contain-identity" && a["status"] == "reported");
    assert!(reported.is_some(), "the reported securing of the identities");
}

// ---------------------------------------------------------------------------------------------
// truth_*: what a correct report must say (issue 7). These wait for the analysis fixes; each
// names the item it checks. They run on the sample directories themselves.
// ---------------------------------------------------------------------------------------------

/// The text of a PDF, zero-width spaces removed.
pub fn pdf_text(pdf: &Path) -> String {
    let text = pdf_extract::extract_text(pdf).unwrap_or_else(|e| panic!("cannot extract text from {}: {e}", pdf.display()));
    text.replace('\u{200B}', "")
}

pub fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// All four reports of a sample directory, rendered once.
pub fn rendered(rel: &'static str) -> PathBuf {
    static DIRS: OnceLock<std::sync::Mutex<std::collections::BTreeMap<&'static str, PathBuf>>> = OnceLock::new();
    let dirs = DIRS.get_or_init(Default::default);
    let mut map = dirs.lock().unwrap_or_else(|e| e.into_inner());
    map.entry(rel)
        .or_insert_with(|| {
            let out = temp_dir(&format!("samples-pdf-{}", rel.rsplit('/').next().unwrap()));
            let o = report(&sample_dir(rel), &out, &[]);
            assert!(o.status.success(), "report {rel} failed: {}", stderr(&o));
            out
        })
        .clone()
}

const REPORTS: [&str; 4] = ["executive.pdf", "technical.pdf", "gdpr.pdf", "posture.pdf"];

/// Item 0: a case with no attacker says so in the text summary.
#[test]
fn truth_quiet_text_summary_says_no_compromise_established() {
    let o = run(&["analyze", sample_dir(QUIET).to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("No compromise established"), "{}", stdout(&o));
}

/// Item 0: every report of a case with no attacker opens with the verdict.
#[test]
fn truth_quiet_every_pdf_says_no_compromise_established() {
    let out = rendered(QUIET);
    for pdf in REPORTS {
        let text = squash(&pdf_text(&out.join(pdf)));
        assert!(text.contains(&squash("No compromise established")), "{pdf} lacks the verdict");
    }
}

/// Item 0: no steps, no exposure, no attacker, no containment aimed at the organisation's own
/// pipeline or VPN.
#[test]
fn truth_quiet_model_claims_no_steps_exposure_or_containment() {
    let m = model_json(&sample_dir(QUIET));
    let a = &m["analysis"];
    assert_eq!(a["steps"].as_array().map(Vec::len), Some(0), "steps: {}", a["steps"]);
    let bytes = a["exposure"]["value"]["bytes"].as_u64().unwrap_or(0);
    assert_eq!(bytes, 0, "the nightly copy and the controller's own reads are not exfiltration");
    let outstanding: Vec<&Value> = a["response"]["actions"]
        .as_array()
        .map(|v| v.iter().filter(|x| x["status"] == "outstanding").collect())
        .unwrap_or_default();
    for act in outstanding {
        let t = act["action"].as_str().unwrap_or("");
        assert!(
            !t.contains("20.61.14.9") && !t.contains("r.devries"),
            "containment against the organisation itself: {t}"
        );
    }
}

/// Item 0/5: no GDPR Art. 33 duty without a breach.
#[test]
fn truth_quiet_no_art33_duty() {
    let m = model_json(&sample_dir(QUIET));
    let g = &m["analysis"]["gdpr"];
    assert_ne!(
        g["art33"]["required"], true,
        "Art. 33 decided for a case with no attacker: {}",
        g["art33"]
    );
    assert_ne!(g["art34"]["required"], true);
}

/// Item 0: a risk detection's later row (same Id, later LastUpdatedDateTime) is its state,
/// not a duplicate.
#[test]
fn truth_quiet_latest_risk_detection_row_is_kept() {
    let m = model_json(&sample_dir(QUIET));
    let risk = m["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "evidence/riskdetections.csv")
        .unwrap();
    assert_eq!(risk["duplicates"], 0, "the confirmedSafe row was dropped as a duplicate");
    assert!(m["analysis"]["scope"]["identities"]
        .get("r.devries@veldhuisvet.nl")
        .is_none_or(|r| r.to_string().contains("cleared")) /* cleared, or not in scope at all */);
}

/// Item 5: `personal_data = false` is accepted.
#[test]
fn truth_brunnwald_case_file_with_personal_data_false_is_accepted() {
    let o = run(&["validate", sample_dir(BRUNNWALD).to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
}

fn brunnwald_truth_model() -> Value {
    model_json(&sample_dir(BRUNNWALD))
}

/// Item 4(a): the failed guesses before the compromise are attacker attempts.
#[test]
fn truth_brunnwald_failed_guesses_are_attacker_attempts() {
    let m = brunnwald_truth_model();
    assert!(
        m["analysis"]["scope"]["ips"].get("192.0.2.201").is_some(),
        "guessing address not attacker infrastructure"
    );
    let attempts = steps(&m)
        .iter()
        .filter(|s| s["phase"] == "Identity" && s["outcome"] == "Failed" && s.to_string().contains("192.0.2.201"))
        .count();
    assert!(attempts >= 1, "no failed sign-in attempt among the steps");
    assert!(
        !m["analysis"]["excluded"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["reason"].as_str().is_some_and(|r| r.contains("192.0.2.201"))
                || (e["actor"] == "j.keller@brunnwald.de" && e["at"].as_str().is_some_and(|t| t >= "2025-06-10T20:00"))),
        "failed guesses filed as excluded benign activity"
    );
}

/// Item 4(b): an attacker address on any event of an operation puts it in scope.
#[test]
fn truth_brunnwald_rule_write_with_attacker_address_on_its_final_event_is_a_step() {
    let m = brunnwald_truth_model();
    let s = step(&m, "networkSecurityGroups/securityRules/write", "2025-06-11", "02:43");
    assert_eq!(s["outcome"], "Succeeded");
}

/// Item 4(d): the receiving principal, the role's name and the scope are named.
#[test]
fn truth_brunnwald_role_assignment_names_principal_role_and_scope() {
    let m = brunnwald_truth_model();
    let s = step(&m, "roleAssignments/write", "2025-06-11", "02:19").to_string();
    for needle in ["95ca549f-5bdb-4512-bda4-9b4aaf205abf", "Contributor", "rg-logistik-prod"] {
        assert!(s.contains(needle), "{needle} missing from {s}");
    }
}

/// Item 4(f): the legitimate user's own earlier work does not count as the attacker's.
#[test]
fn truth_brunnwald_legitimate_users_own_reads_are_excluded() {
    let m = brunnwald_truth_model();
    let t = container(&m, "tourenplanung");
    assert_eq!(t["bytes"], 613_500_000u64);
    assert_eq!(t["read_requests"], 64);
    assert_eq!(t["distinct_objects"], 64);
    assert_eq!(t["listing_requests"], 1);
    assert_eq!(m["analysis"]["exposure"]["value"]["bytes"], 2_455_500_000u64);
    let first = steps(&m).iter().filter_map(|s| s["at"].as_str()).min().unwrap().to_string();
    assert!(
        first.as_str() >= "2025-06-10T20:10:00Z",
        "first attacker activity {first} is the user's own work"
    );
}

/// Item 6: a cost with an unpriced VM is a lower bound in USD, naming what is missing.
#[test]
fn truth_brunnwald_cost_is_a_lower_bound_naming_the_unpriced_vm() {
    let m = brunnwald_truth_model();
    let total = m["analysis"]["cost"]["total"].as_f64().expect("a total, as a lower bound");
    assert!((23.90..23.91).contains(&total), "{total}");
    let fig = m["figures"]["attacker_cost"].as_str().unwrap_or("");
    assert!(
        fig.contains("at least") && fig.contains("not included: unpriced VM vm-etl-07"),
        "{fig}"
    );
    // Where it runs and what it may cost is told once, with the compute figure.
    let compute = m["figures"]["compute_cost"].as_str().unwrap_or("");
    assert!(
        compute.contains("Germany West Central") && compute.contains("indicative about"),
        "{compute}"
    );
    assert!(!fig.contains("indicative"), "{fig}");
}

/// Item 5: GDPR is decided on the one personal-data container read.
#[test]
fn truth_brunnwald_gdpr_is_decided_on_the_payroll_container() {
    let m = brunnwald_truth_model();
    let g = &m["analysis"]["gdpr"];
    assert_eq!(g["art33"]["required"], true, "{}", g["art33"]);
    assert_eq!(g["art34"]["required"], true, "{}", g["art34"]);
    assert!(
        m["figures"]["records"].as_str().unwrap_or("").contains("1,180"),
        "{}",
        m["figures"]["records"]
    );
    assert!(
        m["figures"]["subjects"].as_str().unwrap_or("").contains("1,150"),
        "{}",
        m["figures"]["subjects"]
    );
}

/// Item 3: no "done" for a snapshot the evidence does not show; capture advice while a VM runs.
#[test]
fn truth_brunnwald_response_claims_only_what_the_evidence_shows() {
    let m = brunnwald_truth_model();
    for a in m["analysis"]["response"]["actions"].as_array().unwrap() {
        if a["status"] == "done" {
            assert!(!a["action"].as_str().unwrap().to_lowercase().contains("snapshot"), "{a}");
        }
    }
    let technical = pdf_text(&rendered(BRUNNWALD).join("technical.pdf"));
    assert!(
        !squash(&technical).contains(&squash("not possible any more")),
        "vm-etl-07 still runs"
    );
}

/// The step markers (UTC HH:MM, resource) of every failed attacker step of a sample.
fn failed_markers(rel: &str) -> Vec<(&'static str, &'static str)> {
    match rel {
        BRUNNWALD => vec![("02:25", "bwlarchive"), ("02:47", "vm-etl-09"), ("04:20", "gehaltsdaten")],
        _ => vec![("03:29", "customer-data")],
    }
}

/// Item 1: every executive/technical timeline row of a failed step carries its outcome.
fn assert_failed_rows_carry_outcome(rel: &'static str) {
    let out = if rel == "samples/northgate" {
        let out = temp_dir("samples-pdf-northgate");
        let o = report(&sample_dir(rel), &out, &["--kind", "all"]);
        assert!(o.status.success(), "{}", stderr(&o));
        out
    } else {
        rendered(rel)
    };
    let mut bad = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for pdf in ["executive.pdf", "technical.pdf"] {
        let text = pdf_text(&out.join(pdf));
        let lines: Vec<&str> = text.lines().collect();
        for (n, line) in lines.iter().enumerate() {
            for (hhmm, what) in failed_markers(rel) {
                let Some(i) = line.find(hhmm) else { continue };
                // A row starts at its time and runs to the next time (two-column legends);
                // cells that wrap continue on the next lines.
                let window = lines[n..(n + 4).min(lines.len())].join(" ");
                let row = &window[i..];
                let end = (5..row.len())
                    .find(|&k| row.get(k..k + 5).is_some_and(is_hhmm))
                    .unwrap_or(row.len());
                let row = &row[..end];
                // pdf-extract turns the break points of long tokens into spaces.
                if !squash(row).contains(&squash(what)) {
                    continue;
                }
                seen.insert((pdf, hhmm));
                let lower = row.to_lowercase();
                if !["failed", "refused", "denied"].iter().any(|w| lower.contains(w)) {
                    bad.push(format!("{pdf}: {row}"));
                }
            }
        }
    }
    for (hhmm, what) in failed_markers(rel) {
        // Guards against a vacuous pass: each failed step must be found on the executive
        // timeline (times in UTC, HH:MM, as the timeline prints them).
        assert!(
            seen.contains(&("executive.pdf", hhmm)),
            "no executive timeline row for the failed step {hhmm} {what}"
        );
    }
    assert!(
        bad.is_empty(),
        "timeline rows of failed steps without their outcome:\n{}",
        bad.join("\n")
    );
}

fn is_hhmm(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 5 && b[2] == b':' && b[..2].iter().chain(&b[3..]).all(u8::is_ascii_digit)
}

#[test]
fn truth_brunnwald_timeline_rows_of_failed_steps_carry_their_outcome() {
    assert_failed_rows_carry_outcome(BRUNNWALD);
}

#[test]
fn truth_northgate_timeline_rows_of_failed_steps_carry_their_outcome() {
    assert_failed_rows_carry_outcome("samples/northgate");
}

/// The identifiers a sample's model names: organisation, case id, storage accounts and
/// containers, identities and addresses that were leads, attacker VM names and the
/// inventory's accounts and containers.
fn identifiers(m: &Value) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut add = |v: &Value| {
        if let Some(s) = v.as_str().filter(|s| s.len() >= 6) {
            out.insert(s.to_string());
        }
    };
    add(&m["case"]["organisation"]);
    add(&m["case"]["id"]);
    for key in ["identities", "ips"] {
        if let Some(map) = m["analysis"]["scope"][key].as_object() {
            for k in map.keys() {
                add(&Value::String(k.clone()));
            }
        }
    }
    if let Some(e) = m["analysis"]["exposure"]["value"]["containers"].as_array() {
        for c in e {
            add(&c["account"]);
            add(&c["container"]);
        }
    }
    for v in m["analysis"]["cost"]["vms"].as_array().into_iter().flatten() {
        add(&v["name"]);
    }
    out
}

/// Issue 7 item 2: no report of a sample carries an identifier that occurs only in another
/// sample (a value of one case leaking through the catalog, the templates or the code).
#[test]
fn no_report_names_another_samples_identifiers() {
    const SAMPLES: [&str; 3] = ["samples/northgate", BRUNNWALD, QUIET];
    let ids: Vec<std::collections::BTreeSet<String>> = SAMPLES.iter().map(|s| identifiers(&model_json(&sample_dir(s)))).collect();
    let mut checked = 0;
    for (i, s) in SAMPLES.iter().enumerate() {
        let own = &ids[i];
        let foreign: Vec<&String> = ids
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .flat_map(|(_, set)| set.iter())
            .filter(|x| !own.contains(*x))
            .collect();
        assert!(foreign.len() >= 5, "too few foreign identifiers to test {s}: {foreign:?}");
        let dir = rendered(s);
        for pdf in REPORTS {
            let text = squash(&pdf_text(&dir.join(pdf)));
            for x in &foreign {
                assert!(!text.contains(&squash(x)), "{s}/{pdf} names {x:?}, which belongs to another sample");
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} checks");
}

/// Issue 8: a case with no compromise is not described as an attack on any cover or lead.
#[test]
fn truth_quiet_reports_do_not_presume_an_attack() {
    let out = rendered(QUIET);
    for (pdf, wrong) in [
        ("executive.pdf", "What was compromised"),
        ("technical.pdf", "Rules that would have caught this attack"),
        ("technical.pdf", "Identity compromise, management-plane operations"),
        ("posture.pdf", "Which controls would have stopped or limited this attack"),
        ("posture.pdf", "bear on the steps of this attack"),
    ] {
        let text = squash(&pdf_text(&out.join(pdf)));
        assert!(
            !text.contains(&squash(wrong)),
            "{pdf} says {wrong:?} although no compromise is established"
        );
    }
    // The same sentences are there when there was an attack.
    let text = squash(&pdf_text(&rendered("samples/northgate").join("technical.pdf")));
    assert!(text.contains(&squash("Rules that would have caught this attack")));
}

/// Issue 8: one reported action that covers two identities is stated once, and covers only
/// the steps the report names: "sessions revoked and password reset" for the person, "client
/// secret removed" for the service principal; disabling the account and withdrawing the
/// principal's roles stay open. The service principal is named as the alert names it.
#[test]
fn truth_brunnwald_one_report_for_two_identities_is_stated_once() {
    let m = model_json(&sample_dir(BRUNNWALD));
    let actions = m["analysis"]["response"]["actions"].as_array().unwrap();
    let contain: Vec<&Value> = actions.iter().filter(|a| a["kind"] == "contain-identity").collect();
    let reported: Vec<&&Value> = contain.iter().filter(|a| a["status"] == "reported").collect();
    assert_eq!(reported.len(), 1, "{contain:?}");
    let text = reported[0]["action"].as_str().unwrap();
    assert!(text.contains("j.keller@") && text.contains("sp-routing-batch"), "{text}");
    assert!(
        !text.contains("disable"),
        "the report does not say the account was disabled: {text}"
    );
    let open: Vec<&str> = contain
        .iter()
        .filter(|a| a["status"] == "outstanding")
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert!(open.iter().any(|t| t.starts_with("Disable j.keller@")), "{open:?}");
    // The attacker's Contributor grant to the principal is shown removed by the Activity log:
    // removing its role assignments is not also left open.
    assert!(!open.iter().any(|t| t.contains("role assignments of")), "{open:?}");
    let exec = pdf_text(&rendered(BRUNNWALD).join("executive.pdf"));
    let doubled = squash("password reset; the client secret of sp-routing-batch removed (Entra audit log not in this bundle) (2025-06-11 06:02 CEST), reported by the analyst; Reported by the organisation");
    assert!(!squash(&exec).contains(&doubled), "the reported note is repeated");
    assert!(squash(&exec).contains(&squash("sessions revoked and password reset")));
    assert!(
        !squash(&exec).contains(&squash("non-personal the identity")),
        "the executive's id rule left a stray article"
    );
    let gdpr = pdf_text(&rendered(BRUNNWALD).join("gdpr.pdf"));
    assert!(
        squash(&gdpr).contains(&squash(
            "Further steps to secure the account the attacker misused are still to be taken: disabling the account"
        )),
        "the regulator is told what is still open"
    );
}

/// Issue 8: the sign-in table states each sign-in's result next to its facts.
#[test]
fn brunnwald_sign_in_table_has_a_result_column() {
    let text = squash(&pdf_text(&rendered(BRUNNWALD).join("technical.pdf")));
    assert!(text.contains(&squash("Resource Result CA status")), "no Result column");
}

// ---------------------------------------------------------------------------------------------
// GDPR report review (issue 8, item 3): what the DPO's report and its drafts say per case.
// ---------------------------------------------------------------------------------------------

const NORTHGATE: &str = "samples/northgate";

/// The text of the gdpr report, squashed, and the part from its last heading `from` on up to
/// the next `to` (the contents list names the headings too, so the last occurrence is taken).
fn gdpr_section(rel: &'static str, from: &str, to: &str) -> String {
    let text = squash(&pdf_text(&rendered(rel).join("gdpr.pdf")));
    let start = text.rfind(&squash(from)).unwrap_or_else(|| panic!("{rel}: no section {from}"));
    let rest = &text[start..];
    let end = rest.find(&squash(to)).unwrap_or(rest.len());
    rest[..end].to_string()
}

/// Item 1: one attacker VM removed, one still there: each is named with its own state.
#[test]
fn gdpr_brunnwald_measures_name_each_attacker_vm_by_its_state() {
    let text = squash(&pdf_text(&rendered(BRUNNWALD).join("gdpr.pdf")));
    assert!(!text.contains(&squash("The computing resources the attacker created were removed")));
    assert!(text.contains(&squash("The virtual machine vm-etl-08 that the attacker created was removed")));
    // The activity log ends two days before the as-of time: the VM is not shown deleted in
    // it, which is not that it still exists then.
    assert!(text.contains(&squash(
        "The virtual machine vm-etl-07 that the attacker created is not yet shown removed: it is to be preserved as evidence, then deleted"
    )));
    assert!(!text.contains("still exist"));
    assert!(text.contains(&squash("no deletion in the activity log, which ends 2025-06-11 09:14:11 UTC")));
}

/// What the activity log does not show is said up to its last operation, not up to the
/// report's as-of time, which it does not reach.
#[test]
fn technical_brunnwald_open_actions_end_where_the_activity_log_ends() {
    let text = squash(&pdf_text(&rendered(BRUNNWALD).join("technical.pdf")));
    assert!(!text.contains("still exist"));
    assert!(text.contains(&squash("No lock writes in the activity log, which ends 2025-06-11 09:14:11 UTC")));
    assert!(text.contains(&squash("no deletion in the activity log, which ends 2025-06-11 09:14:11 UTC")));
    assert!(!text.contains(&squash("up to 2025-06-13 12:00:00 UTC")));
}

/// Item 2: no breach, no deadline: the awareness check gives no earlier deadline and the
/// deadline section no deadline rows.
#[test]
fn gdpr_quiet_no_deadline_rows_without_a_breach() {
    let text = squash(&pdf_text(&rendered(QUIET).join("gdpr.pdf")));
    for absent in [
        "Deadline counted from that alert",
        "notify by the earlier deadline",
        "Hours left",
        "Deadline (UTC)",
        "Time left at as-of",
    ] {
        assert!(!text.contains(&squash(absent)), "quiet gdpr.pdf says {absent:?}");
    }
    assert_eq!(text.matches(&squash("No deadline runs")).count(), 1);
}

/// Item 3: no breach wording in a case without a breach; one heading for the record.
#[test]
fn gdpr_quiet_speaks_of_an_assessed_incident_not_a_breach() {
    let text = squash(&pdf_text(&rendered(QUIET).join("gdpr.pdf")));
    for absent in [
        "Measures taken to address the breach",
        "could not be scored",
        "Record of a personal data breach",
        "not provided",
    ] {
        assert!(!text.contains(&squash(absent)), "quiet gdpr.pdf says {absent:?}");
    }
    assert!(text.contains(&squash("No personal data breach established.")));
    assert!(text.contains(&squash("Record of an assessed incident (no personal data breach)")));
}

/// Item 4: Art. 34 goes to the people in the datasets whose own severity meets the
/// threshold; the letter, the decision and the board's decision agree.
#[test]
fn gdpr_northgate_art34_is_scoped_to_the_datasets_meeting_the_threshold() {
    let m = model_json(&sample_dir(NORTHGATE));
    let scope = &m["analysis"]["gdpr"]["art34_scope"];
    assert_eq!(scope["included"], serde_json::json!(["proddata/financial-reports"]));
    assert_eq!(
        scope["excluded"],
        serde_json::json!(["proddata/customer-data (Medium; up to 148,500 people)"])
    );
    assert_eq!(scope["subjects"], 2100);
    assert_eq!(scope["subjects_read"], 150_600);
    let letter = gdpr_section(NORTHGATE, "Draft communication to the people affected", "Record under");
    assert!(
        letter.contains(&squash("The files held: Customer account and payment details.")),
        "{letter}"
    );
    assert!(!letter.contains(&squash("Names and contact details")), "{letter}");
    assert!(letter.contains(&squash(
        "proddata/customer-data (Medium; up to 148,500 people) is below it and not included"
    )));
    let exec = squash(&pdf_text(&rendered(NORTHGATE).join("executive.pdf")));
    assert!(
        exec.contains(&squash(
            "Approve informing the up to 2,100 people affected (of up to 150,600 whose data is in the containers read) in proddata/financial-reports"
        )),
        "{exec}"
    );
    assert!(!exec.contains(&squash("up to 150,600 people affected directly")));
}

/// Item 5: the drafts to the regulator and to the people affected state measures in plain
/// words; the evidence basis stays in the internal table.
#[test]
fn gdpr_drafts_carry_no_internal_evidence_wording() {
    for rel in [BRUNNWALD, NORTHGATE] {
        let drafts = gdpr_section(rel, "Draft notification to the supervisory authority", "Record under");
        for internal in [
            "(partial)",
            "audit records",
            "audit log",
            "Reported by",
            "not shown regenerated",
            "listing returned",
        ] {
            assert!(!drafts.contains(&squash(internal)), "{rel}: drafts say {internal:?}");
        }
    }
    let drafts = gdpr_section(BRUNNWALD, "Draft notification to the supervisory authority", "Record under");
    assert!(drafts.contains(&squash("Measures still being taken:")));
    assert!(drafts.contains(&squash("The other access key of storage account bwlcoredata")));
}

/// Item 6: the letter dates the data access, names the authority, and adds no "the" before a
/// name that has its own article.
#[test]
fn gdpr_letters_date_the_access_and_name_the_authority() {
    let b = gdpr_section(BRUNNWALD, "Draft communication to the people affected", "Record under");
    assert!(b.contains(&squash("What happened. On 11 June 2025, someone")), "{b}");
    assert!(b.contains(&squash("complain to Der Hamburgische Beauftragte")), "{b}");
    for pdf in ["gdpr.pdf", "executive.pdf"] {
        let text = squash(&pdf_text(&rendered(BRUNNWALD).join(pdf)));
        assert!(!text.to_lowercase().contains(&squash("the der ")), "{pdf} says \"the Der\"");
    }
    let n = gdpr_section(NORTHGATE, "Draft communication to the people affected", "Record under");
    assert!(n.contains(&squash("complain to the Information Commissioner's Office")), "{n}");
}

/// Item 7: the regime line is a fact; the analyst's to-do is a `validate` warning.
#[test]
fn gdpr_regime_hint_is_a_validate_warning_not_report_text() {
    let text = squash(&pdf_text(&rendered(BRUNNWALD).join("gdpr.pdf")));
    assert!(!text.contains(&squash("state it in the case file")));
    let o = run(&["validate", sample_dir(BRUNNWALD).to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("[gdpr] regime is not stated"), "{}", stdout(&o));
    let o = run(&["validate", sample_dir(NORTHGATE).to_str().unwrap()]);
    assert!(!stdout(&o).contains("regime is not stated"), "{}", stdout(&o));
}

/// No page of the GDPR report is left with a line or two (a caption parted from its table).
#[test]
fn gdpr_reports_have_no_near_empty_pages() {
    for rel in [NORTHGATE, BRUNNWALD, QUIET] {
        let pages = pdf_extract::extract_text_by_pages(rendered(rel).join("gdpr.pdf")).unwrap();
        for (i, p) in pages.iter().enumerate() {
            let lines = p.lines().filter(|l| l.chars().any(char::is_alphanumeric)).count();
            assert!(lines >= 8, "{rel} gdpr.pdf page {} has {lines} lines", i + 1);
        }
    }
}

/// Issue 8 (review): the multi-resource-type rule can match only once the third resource
/// type appears, so its first hit is then, not at the window's first operation.
#[test]
fn lateral_rule_first_matches_when_the_third_type_appears() {
    for (sample, at) in [("samples/northgate", "2024-03-21T03:17:05Z"), (BRUNNWALD, "2025-06-11T02:43:19Z")] {
        let m = model_json(&sample_dir(sample));
        let d = m["analysis"]["detections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == "identity-multi-resource-types")
            .unwrap();
        assert_eq!(d["hits"][0]["at"], at, "{sample}: {}", d["hits"]);
    }
}

/// Issue 8: one numbering — the technical report names a control by the posture report's
/// improvement rank, not by a catalog priority.
#[test]
fn technical_report_uses_the_posture_improvement_numbers() {
    let text = squash(&pdf_text(&rendered("samples/northgate").join("technical.pdf")));
    assert!(
        text.contains(&squash("mfa-azure-mgmt · improvement 1 (the posture report")),
        "no improvement number"
    );
    assert!(!text.contains(&squash("· priority ")), "a second numbering is back");
}

/// Issue 8: the executive glossary explains only terms the case uses.
#[test]
fn executive_glossary_lists_only_terms_the_case_uses() {
    let quiet = squash(&pdf_text(&rendered(QUIET).join("executive.pdf")));
    let northgate = squash(&pdf_text(&rendered("samples/northgate").join("executive.pdf")));
    // MFA and Conditional Access only when the report uses them: quiet's top improvements
    // (management ports, Defender for Servers, storage RBAC) do not.
    for term in [
        "Virtual machine (VM)",
        "Role assignment",
        "Storage account key",
        "Multifactor authentication (MFA)",
        "Conditional Access Microsoft Entra ID rules",
    ] {
        assert!(!quiet.contains(&squash(term)), "quiet explains {term:?}, which did not occur");
        assert!(northgate.contains(&squash(term)), "northgate lacks {term:?}");
    }
}

/// Issue 8 (review): with no compromise, the export's unhealthy recommendations are shown as
/// pre-existing gaps (judged against the assessment time), not as "not assessable".
#[test]
fn truth_quiet_unhealthy_recommendations_are_pre_existing_gaps() {
    let m = model_json(&sample_dir(QUIET));
    let verdict = |id: &str| {
        m["analysis"]["gaps"]["controls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["verdict"].as_str().unwrap_or("").to_string())
    };
    for id in [
        "storage-rbac-only",
        "storage-network-restriction",
        "mgmt-ports-nsg",
        "defender-for-servers",
    ] {
        assert_eq!(verdict(id).as_deref(), Some("missing-recommendation"), "{id}");
    }
    let posture = squash(&pdf_text(&rendered(QUIET).join("posture.pdf")));
    assert!(posture.contains(&squash("before this assessment (no incident is established)")));
    assert!(!posture.contains(&squash("before the incident began")));
}

/// Issue 8: a lead's reasons are stated once per claim, citing every record that shows it (ten
/// failed sign-ins from one address are one reason, not ten bullets).
#[test]
fn leads_state_each_claim_once_with_all_its_records() {
    let m = model_json(&sample_dir(BRUNNWALD));
    let reasons = m["analysis"]["scope"]["ips"]["192.0.2.201"]["for"].as_array().unwrap();
    let failed: Vec<&str> = reasons
        .iter()
        .filter_map(|r| r.as_str())
        .filter(|r| r.starts_with("failed sign-in"))
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].contains("10 records"), "{}", failed[0]);
    let text = squash(&pdf_text(&rendered(BRUNNWALD).join("technical.pdf")));
    // Once in the verdict's basis, once in the leads table.
    assert_eq!(text.matches(&squash("failed sign-in on compromised")).count(), 2);
}

/// Issue 8: without a compromise the executive report states the cleared leads once (at the
/// top), in plain words, with each alert at the time it was raised; it has no empty key
/// figures or containment sections.
#[test]
fn quiet_executive_states_cleared_leads_once() {
    let out = rendered(QUIET);
    let text = squash(&pdf_text(&out.join("executive.pdf")));
    assert_eq!(
        text.matches(&squash("was later marked confirmedSafe")).count(),
        2,
        "bullet + alert table"
    );
    for wrong in ["without entities", "Key figures", "What is still open", "Steps that failed", "(S…)"] {
        assert!(!text.contains(&squash(wrong)), "{wrong:?} in the quiet executive report");
    }
    assert!(text.contains(&squash("2 alerts: none points to attacker activity")));
    // The identity's clearance gives the sign-in's own evidence too, not only a later mark.
    assert!(
        text.contains(&squash(
            "confirmedSafe; the flagged sign-in passed multifactor authentication and Conditional Access"
        )),
        "the board sees why the sign-in was the user's"
    );
    // The storage alert was raised at 02:11 UTC for activity that started at 01:00.
    let m = model_json(&sample_dir(QUIET));
    let alerts = m["analysis"]["scope"]["alerts"].as_array().unwrap();
    assert!(alerts.iter().any(|a| a["at"] == "2025-10-13T02:11:48Z"), "{alerts:?}");
    assert!(text.contains(&squash("2025-10-13 02:11")));
}

/// Issue 8: a principal the attacker granted a role is weighed as a lead. Granted and then
/// acting from an attacker address: confirmed, with both reasons. Granted but never seen
/// acting: an open foothold (listed, an indicator, to be reviewed), not a compromised account.
#[test]
fn grantees_of_attacker_role_assignments_are_leads() {
    let m = model_json(&sample_dir(BRUNNWALD));
    let sp = &m["analysis"]["scope"]["identities"]["95ca549f-5bdb-4512-bda4-9b4aaf205abf"];
    assert_eq!(sp["confidence"], "confirmed");
    let reasons: Vec<&str> = sp["for"].as_array().unwrap().iter().filter_map(|r| r.as_str()).collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("granted Contributor by compromised j.keller@brunnwald.de")),
        "{reasons:?}"
    );
    // The same grant to a principal that never acts.
    let dir = temp_dir("grantee-lead");
    copy_tree(&sample_dir(BRUNNWALD), &dir);
    let path = dir.join("evidence/activity-az.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let granted = text.replace(
        r#"\"principalId\": \"95ca549f-5bdb-4512-bda4-9b4aaf205abf\""#,
        r#"\"principalId\": \"00000000-0000-4000-8000-00000000beef\""#,
    );
    assert_ne!(granted, text, "the sample's grant was not found");
    std::fs::write(&path, granted).unwrap();
    let m = model_json(&dir);
    let scope = &m["analysis"]["scope"];
    assert!(
        scope["identities"].get("00000000-0000-4000-8000-00000000beef").is_none(),
        "a grant alone does not make a compromised account"
    );
    let footholds = scope["footholds"].as_array().unwrap();
    assert_eq!(footholds.len(), 1, "{footholds:?}");
    assert_eq!(footholds[0]["principal"], "00000000-0000-4000-8000-00000000beef");
    assert_eq!(footholds[0]["role"], "Contributor");
    let iocs = m["analysis"]["iocs"].as_array().unwrap();
    assert!(iocs
        .iter()
        .any(|i| i["value"] == "00000000-0000-4000-8000-00000000beef" && i["role"].as_str().unwrap().contains("not seen acting")));
}

/// Issue 8 review: what a report states as done is what the evidence shows. The attacker
/// granted a role to another principal (not "itself"); reviewing that principal is an open
/// action (no record shows it); a reported account lock-down is the organisation's report.
#[test]
fn truth_grants_reviews_and_reported_lockdowns_are_worded_as_shown() {
    let out = rendered("samples/northgate");
    for pdf in ["executive.pdf", "technical.pdf", "gdpr.pdf"] {
        let text = squash(&pdf_text(&out.join(pdf)));
        assert!(!text.contains(&squash("granted itself")), "{pdf}");
        assert!(!text.contains(&squash("reported by the analyst; Reported")), "{pdf}");
    }
    let gdpr = squash(&pdf_text(&out.join("gdpr.pdf")));
    assert!(gdpr.contains(&squash(
        "The organisation reports that the account the attacker misused was secured"
    )));
    let m = model_json(&sample_dir("samples/northgate"));
    let actions = m["analysis"]["response"]["actions"].as_array().unwrap();
    let review = actions
        .iter()
        .find(|a| a["kind"] == "review-grantee")
        .expect("a review of the grantee");
    assert_eq!(review["status"], "outstanding");
    assert!(review["action"].as_str().unwrap().contains("50ee2351-c6c8-4e66-a91b-3243193171b9"));
    let revert = actions.iter().find(|a| a["kind"] == "revert-role-assignment").unwrap();
    assert!(
        !revert["action"].as_str().unwrap().contains("review"),
        "the done removal does not carry the open review"
    );
}

/// Review finding: alert triage "within the hour" limits only what a response within the hour
/// could have cut short: steps after that hour, or what a step left in place (a VM, a rule, a
/// role, listed keys) when containment came later. A data read that ended before the alert is
/// not limited by it.
#[test]
fn alert_triage_limits_only_what_a_response_in_the_hour_could_cut_short() {
    let m = model_json(&sample_dir(BRUNNWALD));
    let steps = m["analysis"]["gaps"]["steps"].as_array().unwrap();
    let all = m["analysis"]["steps"].as_array().unwrap();
    let kind = |id: &str| all.iter().find(|s| s["id"] == id).unwrap()["kind"].as_str().unwrap().to_string();
    let limited: Vec<String> = steps
        .iter()
        .filter(|s| {
            s["controls"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["control"] == "alert-triage-response")
        })
        .map(|s| kind(s["step"].as_str().unwrap()))
        .collect();
    assert!(limited.iter().any(|k| k == "vm-create"), "{limited:?}");
    for k in &limited {
        assert!(
            !["blob-read", "blob-listing", "signin"].contains(&k.as_str()),
            "{k} cannot be cut short: {limited:?}"
        );
    }
}

/// Review finding: the board's "what has been done" is in time order and includes the partly
/// done key rotation.
#[test]
fn what_has_been_done_is_in_time_order_with_partial_actions() {
    let text = pdf_text(&rendered(BRUNNWALD).join("executive.pdf"));
    let from = text.rfind("What has been done").expect("section");
    let to = text[from..].find("What is still open").map_or(text.len(), |i| from + i);
    let section = &text[from..to];
    assert!(section.contains("key1"), "the partial rotation is listed: {section}");
    let times: Vec<&str> = section
        .match_indices("2025-06-11 ")
        .map(|(i, _)| &section[i + 11..i + 16])
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert!(times.len() >= 4 && times == sorted, "{times:?}");
}

/// The timeline's steps are numbered S01, S02 … without gaps; lateral-movement findings,
/// which summarise other steps and are not on the timeline, are L1, L2 … after them, so no
/// report cites a step number the timeline does not show.
#[test]
fn timeline_steps_are_numbered_without_gaps_and_findings_apart() {
    for m in [model(BRUNNWALD), &model_json(&crate::util::sample())] {
        let mut timeline = 0;
        let mut findings = 0;
        for s in steps(m) {
            let id = s["id"].as_str().unwrap();
            if s["kind"] == "lateral-movement" {
                findings += 1;
                assert_eq!(id, format!("L{findings}"));
            } else {
                assert_eq!(findings, 0, "{id} comes after a finding");
                timeline += 1;
                assert_eq!(id, format!("S{timeline:02}"));
            }
        }
        assert!(timeline > 0 && findings > 0, "the sample has both");
    }
}

/// A workload cleared by its routine, whose run on the alert's day was far larger than any
/// earlier day, is cleared with the comparison stated and a decision to confirm the run.
#[test]
fn quiet_clearance_of_an_unusually_large_run_states_the_volume_and_asks_for_confirmation() {
    let m = model(QUIET);
    assert_eq!(m["analysis"]["scope"]["verdict"], "not-established");
    let reasons = m["analysis"]["scope"]["ips"]["20.61.14.9"]["against"].to_string();
    assert!(
        reasons.contains("420 successful blob reads (5.45 GB), against 29–46 a day"),
        "{reasons}"
    );
    let decisions = m["analysis"]["briefing"]["decisions"].as_array().unwrap();
    assert!(
        decisions.iter().any(|d| d["decision"]
            .as_str()
            .unwrap()
            .starts_with("Confirm with the owner of the workload at 20.61.14.9")
            && d["owner_role"] == "security-operations"),
        "{decisions:?}"
    );
    // The no-breach decision states the condition it rests on.
    let nature = m["analysis"]["gdpr"]["fields"][0]["value"].as_str().unwrap();
    assert!(
        nature.contains("this rests on the owners confirming that the workload runs were planned"),
        "{nature}"
    );
}

/// Issue 8, third image review: what each sentence says holds for this case.
#[test]
fn review_statements_hold_for_the_case() {
    let b = model(BRUNNWALD);
    // An address is seen at its own events: the IPv6 address sent only the Started event of
    // S20 (02:43:19); the Succeeded event came from 198.51.100.23, which S20 therefore lists.
    let ioc = |v: &str| {
        b["analysis"]["iocs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["value"] == v)
            .cloned()
            .unwrap_or_else(|| panic!("no IoC {v}"))
    };
    let v6 = ioc("2001:db8:5e11:7::23");
    assert_eq!(
        (v6["first_seen"].as_str(), v6["last_seen"].as_str()),
        (Some("2025-06-11T02:43:19Z"), Some("2025-06-11T02:43:19Z"))
    );
    assert!(
        ioc("198.51.100.23")["steps"].as_array().unwrap().iter().any(|s| s == "S20"),
        "{}",
        ioc("198.51.100.23")
    );
    // A VM deleted without a snapshot: the done action does not claim its disks were preserved.
    for a in b["analysis"]["response"]["actions"].as_array().unwrap() {
        let text = a["action"].as_str().unwrap();
        assert!(!(a["status"] == "done" && text.contains("once its disks are preserved")), "{text}");
    }
    // The az CLI's read of the Activity log proves no export, so preservation still asks for
    // one; a service principal among the compromised is an identity, not an account.
    let rows = b["analysis"]["response"]["preservation"].as_array().unwrap();
    let export = rows.iter().find(|r| r["item"] == "Activity log export").unwrap();
    assert!(export["status"].as_str().unwrap().starts_with("Export before"), "{export}");
    let nature = b["analysis"]["gdpr"]["fields"][0]["value"].as_str().unwrap();
    assert!(nature.contains("the compromised Azure identities"), "{nature}");
    assert!(
        nature.contains("which holds personal data, while tourenplanung holds none"),
        "{nature}"
    );
    // The containment sentence tells what remains once, not also inside what was done.
    let effect = b["analysis"]["response"]["contained_by_effect"]["text"].as_str().unwrap();
    assert_eq!(effect.matches("key2").count(), 1, "{effect}");
    // Times quoted inside action sentences carry their zone.
    let actions = b["analysis"]["response"]["actions"].to_string();
    assert!(actions.contains("Role assignment created at 02:19 UTC removed"), "{actions}");
    // The first activity is not said to come from every attacker address.
    let summary = squash(&pdf_text(&rendered(BRUNNWALD).join("executive.pdf")));
    assert!(
        !summary.contains(&squash("20:10:00 UTC (2025-06-10 22:10 CEST), from")),
        "first activity tied to all addresses"
    );
    assert!(summary.contains(&squash("The attacker's addresses:")));
    assert!(summary.contains(&squash("Steps that failed are outlined in red on the chart")));
    // Machine codes stay out of the board report; the technical report keeps them.
    assert!(!summary.contains("(AuthorizationFailed)") && !summary.contains("(HTTP403)"));
    let technical = squash(&pdf_text(&rendered(BRUNNWALD).join("technical.pdf")));
    assert!(technical.contains("AuthorizationFailed"));
    // With no incident, a workspace's AzureActivity rows and storage resource logs still show
    // the logging that produced them.
    let q = model(QUIET);
    assert_eq!(control(q, "activity-log-export")["verdict"], "present");
    assert_eq!(control(q, "storage-resource-logging")["verdict"], "present");
    // Advice for a control the export shows partly healthy names the healthy part.
    let contacts = control(q, "security-contacts");
    assert!(
        contacts["improvement"]
            .as_str()
            .unwrap()
            .contains("The export already shows \"Subscriptions should have a contact email address for security issues\" healthy"),
        "{contacts}"
    );
}

/// With no compromise, the technical report gives no advice about attacker VMs or resources
/// and its timeline lead speaks of alerts only.
#[test]
fn quiet_technical_report_gives_no_attacker_preservation_advice() {
    let text = squash(&pdf_text(&rendered(QUIET).join("technical.pdf")));
    for absent in ["Markers carry the step number", "attacker-created resources", "packet capture"] {
        assert!(!text.contains(&squash(absent)), "quiet technical report says {absent:?}");
    }
    assert!(text.contains(&squash("no attacker resource to preserve")));
}

/// A group of steps of one kind where some failed: every step says its outcome, so a
/// successful listing is never read as denied with the one after it.
#[test]
fn technical_brunnwald_mixed_step_groups_give_each_outcome() {
    let text = squash(&pdf_text(&rendered(BRUNNWALD).join("technical.pdf")));
    assert!(text.contains(&squash("S15 succeeded, S23 failed · Blobs listed")));
    assert!(text.contains(&squash(
        "S15 02:27:05 ListBlobs × 2 — succeeded · S23 04:20:14 ListBlobs × 1 — denied (HTTP 403)"
    )));
    assert!(text.contains(&squash("K6 Blobs downloaded (S16 succeeded, S22 succeeded, S24 failed)")));
    assert!(!text.contains(&squash("S15, S23 failed")));
}
