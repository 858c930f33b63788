//! `casefile timeline`, `rules`, `queries` and `prices`, and the check of every query casefile
//! emits by Microsoft's Kusto language service and of every Sigma rule by pySigma.
//!
//! The checkers are external on purpose (the official parsers, not ours): tests/kusto/check.js
//! under node with the pinned @kusto/language-service-next, and tests/kusto/sigma_check.py in
//! the venv .ci/run creates. When either is missing these tests FAIL and say how to install it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

use crate::util::{root, run, sample, stderr, stdout, temp_dir};

fn kusto_dir() -> PathBuf {
    root().join("tests/kusto")
}

fn python() -> PathBuf {
    let p = std::env::var_os("CASEFILE_SIGMA_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".ci/venv/bin/python"));
    assert!(
        p.exists(),
        "pySigma is not installed: {} is missing. Run .ci/run, or: python3 -m venv .ci/venv && .ci/venv/bin/pip install -r tests/kusto/requirements.txt",
        p.display()
    );
    p
}

/// Runs the Kusto checker on `queries` ([name, query, required result columns]).
fn kusto_check(queries: &[(String, String, Vec<String>)]) -> Output {
    assert!(
        kusto_dir().join("node_modules/@kusto/language-service-next").is_dir(),
        "the Kusto language service is not installed: run .ci/run, or `npm ci --prefix tests/kusto` (needs node and npm)"
    );
    let tables: Value = serde_json::from_str(&std::fs::read_to_string(kusto_dir().join("tables.json")).unwrap()).unwrap();
    let input = json!({
        "tables": tables,
        "queries": queries.iter().map(|(n, q, o)| json!({"name": n, "query": q, "outputs": o})).collect::<Vec<_>>(),
    });
    let mut child = Command::new("node")
        .arg(kusto_dir().join("check.js"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): the Kusto check needs node on PATH"));
    child.stdin.take().unwrap().write_all(input.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_ne!(out.status.code(), Some(2), "Kusto checker could not start: {}", stderr(&out));
    out
}

fn assert_clean(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "the Kusto language service rejected {what}:\n{}{}",
        stdout(out),
        stderr(out)
    );
}

fn write_rules() -> PathBuf {
    let out = temp_dir("rules");
    let o = run(&["rules", sample().to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

fn yaml_files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

fn sentinel_rules(dir: &Path) -> Vec<(PathBuf, serde_yaml::Value)> {
    yaml_files(&dir.join("sentinel"), "yaml")
        .into_iter()
        .map(|p| {
            let v = serde_yaml::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (p, v)
        })
        .collect()
}

/// (name, query, entity-mapped columns) of every Sentinel rule.
fn rule_queries(dir: &Path) -> Vec<(String, String, Vec<String>)> {
    sentinel_rules(dir)
        .into_iter()
        .map(|(p, v)| {
            let columns = v["entityMappings"]
                .as_sequence()
                .unwrap()
                .iter()
                .flat_map(|m| m["fieldMappings"].as_sequence().unwrap().iter())
                .map(|f| f["columnName"].as_str().unwrap().to_string())
                .collect();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                v["query"].as_str().unwrap().to_string(),
                columns,
            )
        })
        .collect()
}

#[test]
fn timeline_timesketch_has_every_entry_with_its_evidence() {
    let o = run(&["timeline", sample().to_str().unwrap(), "--format", "timesketch"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let model = run(&["analyze", sample().to_str().unwrap(), "--format", "json"]);
    let model: Value = serde_json::from_slice(&model.stdout).unwrap();
    let entries = model["analysis"]["timeline"].as_array().unwrap();
    let lines: Vec<Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), entries.len());
    for (l, e) in lines.iter().zip(entries) {
        for key in [
            "message",
            "datetime",
            "timestamp_desc",
            "source",
            "phase",
            "operation",
            "outcome",
            "evidence",
        ] {
            assert!(l[key].as_str().is_some_and(|s| !s.is_empty()), "{key} missing in {l}");
        }
        chrono::DateTime::parse_from_rfc3339(l["datetime"].as_str().unwrap()).unwrap();
        assert_eq!(l["datetime"], e["at"]);
        assert_eq!(l["step"].as_str().unwrap(), e["step"].as_str().unwrap_or(""));
        // Evidence is bundle-relative and names a line or record.
        let ev = l["evidence"].as_str().unwrap();
        assert!(ev.starts_with("evidence/") && (ev.contains(':') || ev.contains(" at ")), "{ev}");
    }
    // Steps carry actor and address; alerts their product's name.
    let step = lines.iter().find(|l| l["phase"] == "ARM").unwrap();
    assert!(!step["actor"].as_str().unwrap().is_empty() && !step["address"].as_str().unwrap().is_empty());
    assert!(lines
        .iter()
        .any(|l| l["phase"] == "Alert" && l["timestamp_desc"] == "Alert Start Time"));
}

#[test]
fn timeline_csv_and_out_file() {
    let out = temp_dir("timeline");
    let file = out.join("t.csv");
    let o = run(&[
        "timeline",
        sample().to_str().unwrap(),
        "--format",
        "csv",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut r = csv::Reader::from_path(&file).unwrap();
    let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(
        headers,
        [
            "time",
            "end",
            "source",
            "phase",
            "actor",
            "address",
            "operation",
            "target",
            "outcome",
            "step",
            "evidence"
        ]
    );
    let rows = r.records().count();
    let jsonl = run(&["timeline", sample().to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(stdout(&jsonl).lines().count(), rows);
    assert!(rows > 10);
}

#[test]
fn rules_follow_the_sentinel_schema_with_stable_ids() {
    let a = write_rules();
    let b = write_rules();
    let rules = sentinel_rules(&a);
    assert_eq!(rules.len(), 4, "northgate parameterises all four rules");
    for (p, v) in &rules {
        for key in [
            "id",
            "name",
            "description",
            "severity",
            "requiredDataConnectors",
            "queryFrequency",
            "queryPeriod",
            "triggerOperator",
            "triggerThreshold",
            "tactics",
            "relevantTechniques",
            "query",
            "entityMappings",
            "version",
            "kind",
        ] {
            assert!(!v[key].is_null(), "{}: {key} missing", p.display());
        }
        assert_eq!(v["kind"], "Scheduled");
        let id = v["id"].as_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
        let again: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(b.join("sentinel").join(p.file_name().unwrap())).unwrap()).unwrap();
        assert_eq!(again["id"], v["id"], "GUID stable across runs");
    }
    let ids: std::collections::BTreeSet<&str> = rules.iter().map(|(_, v)| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 4);
    // Parameterised from case.toml, not constants.
    let region = std::fs::read_to_string(a.join("sentinel/vm-unapproved-region.yaml")).unwrap();
    assert!(region.contains("\"uksouth\"") && region.contains("\"westeurope\""));
    let signin = std::fs::read_to_string(a.join("sentinel/risky-signin-then-arm-changes.yaml")).unwrap();
    assert!(signin.contains("dynamic([\"GB\"])"));
    let lateral = std::fs::read_to_string(a.join("sentinel/identity-multi-resource-types.yaml")).unwrap();
    assert!(lateral.contains("203.0.113.0/24"));
    assert_eq!(yaml_files(&a.join("sigma"), "yml").len(), 2);
}

#[test]
fn rules_without_approved_regions_say_why() {
    let dir = crate::util::copy_sample("no-regions");
    let toml = std::fs::read_to_string(dir.join("case.toml")).unwrap();
    let changed = toml.replace("approved_regions = [\"uksouth\", \"westeurope\"]", "approved_regions = []");
    assert_ne!(toml, changed);
    std::fs::write(dir.join("case.toml"), changed).unwrap();
    let out = temp_dir("rules-no-regions");
    let o = run(&["rules", dir.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!out.join("sentinel/vm-unapproved-region.yaml").exists());
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(readme.contains("vm-unapproved-region") && readme.contains("no approved_regions"));
}

#[test]
fn every_emitted_query_passes_the_kusto_language_service() {
    let mut queries = rule_queries(&write_rules());
    let qdir = temp_dir("queries");
    let o = run(&["queries", sample().to_str().unwrap(), "--out", qdir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let kql = yaml_files(&qdir, "kql");
    assert_eq!(kql.len(), 8);
    for p in kql {
        // The aggregation query's result must have every column the summary reader requires.
        let outputs = if p.file_name().unwrap().to_string_lossy().starts_with("08-") {
            casefile::bundle::storage_summary::COLUMNS
                .iter()
                .map(|(_, c)| c.to_string())
                .collect()
        } else {
            vec![]
        };
        queries.push((p.display().to_string(), std::fs::read_to_string(&p).unwrap(), outputs));
    }
    let model = run(&["analyze", sample().to_str().unwrap(), "--format", "json"]);
    let model: Value = serde_json::from_slice(&model.stdout).unwrap();
    for d in model["analysis"]["detections"].as_array().unwrap() {
        queries.push((format!("detection {}", d["id"]), d["kql"].as_str().unwrap().to_string(), vec![]));
    }
    assert_clean(&kusto_check(&queries), "an emitted query");
}

#[test]
fn kusto_checker_is_live_on_an_unknown_column() {
    let mut queries = rule_queries(&write_rules());
    let (name, q, outputs) = queries.remove(0);
    let injected = q.replacen("TimeGenerated", "TimeGeneratedd", 1);
    assert_ne!(q, injected);
    let out = kusto_check(&[(name.clone(), injected, outputs.clone())]);
    assert!(!out.status.success());
    assert!(
        stdout(&out).contains("KS142") && stdout(&out).contains("TimeGeneratedd"),
        "{}",
        stdout(&out)
    );
    // And a missing entity column is caught too.
    let out = kusto_check(&[(name, q, vec!["NoSuchColumn".into()])]);
    assert!(!out.status.success() && stdout(&out).contains("NoSuchColumn"), "{}", stdout(&out));
}

fn sigma_check(files: &[PathBuf]) -> (Output, Value) {
    let out = Command::new(python())
        .arg(kusto_dir().join("sigma_check.py"))
        .args(files)
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(2), "pySigma could not start: {}", stderr(&out));
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    (out, v)
}

#[test]
fn sigma_rules_validate_convert_and_their_kql_passes_kusto() {
    let dir = write_rules();
    let files = yaml_files(&dir.join("sigma"), "yml");
    let (out, v) = sigma_check(&files);
    assert!(out.status.success(), "pySigma rejected a rule: {}", stdout(&out));
    let mut queries = Vec::new();
    for r in v["rules"].as_array().unwrap() {
        for q in r["queries"].as_array().unwrap() {
            queries.push((format!("sigma {}", r["file"]), q.as_str().unwrap().to_string(), vec![]));
        }
    }
    assert_eq!(queries.len(), files.len());
    assert_clean(&kusto_check(&queries), "a query pySigma converted");
}

#[test]
fn sigma_checker_is_live_on_an_unknown_field() {
    let dir = write_rules();
    let file = dir.join("sigma/vm-unapproved-region.yml");
    let text = std::fs::read_to_string(&file).unwrap();
    let injected = text.replace("ActivityStatusValue", "ActivityStatusValu");
    assert_ne!(text, injected);
    std::fs::write(&file, injected).unwrap();
    let (out, v) = sigma_check(&[file]);
    assert!(!out.status.success());
    assert!(v.to_string().contains("ActivityStatusValu"), "{v}");
}

/// Every column a collection query projects is one casefile reads: in the samples' Log
/// Analytics exports of each table, none of the projected columns is reported as unused.
#[test]
fn collection_queries_project_only_columns_casefile_reads() {
    use casefile::soc::queries::*;
    let mut checked = 0;
    for dir in ["samples/northgate", "samples/quiet"] {
        let m = crate::util::model_json(&crate::util::root().join(dir));
        for f in m["evidence"].as_array().unwrap() {
            let cols: &[&str] = match f["kind"].as_str().unwrap_or("") {
                "signins" => SIGNIN_COLUMNS,
                "activity" => ACTIVITY_COLUMNS,
                "storage" => STORAGE_COLUMNS,
                "alerts" => ALERT_COLUMNS,
                "risk-events" => RISK_COLUMNS,
                _ => continue,
            };
            let unknown: Vec<String> = f["unknown_columns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_lowercase())
                .collect();
            for c in cols {
                assert!(
                    !unknown.contains(&c.to_lowercase()),
                    "{c} is projected but not read ({})",
                    f["path"]
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} projected columns checked");
}

#[test]
fn queries_are_scoped_to_the_case() {
    let qdir = temp_dir("queries-scope");
    let o = run(&[
        "queries",
        sample().to_str().unwrap(),
        "--out",
        qdir.to_str().unwrap(),
        "--margin-hours",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let storage = std::fs::read_to_string(qdir.join("07-collect-storagebloblogs.kql")).unwrap();
    let model = run(&["analyze", sample().to_str().unwrap(), "--format", "json"]);
    let model: Value = serde_json::from_slice(&model.stdout).unwrap();
    let start = model["analysis"]["window"]["start"].as_str().unwrap();
    let start = chrono::DateTime::parse_from_rfc3339(start).unwrap() - chrono::Duration::hours(2);
    assert!(storage.contains(&format!(
        "datetime({})",
        start.to_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )));
    for ip in model["analysis"]["scope"]["ips"].as_object().unwrap().keys() {
        assert!(storage.contains(&format!("\"{ip}\"")), "{ip}");
    }
    let readme = std::fs::read_to_string(qdir.join("README.md")).unwrap();
    assert!(readme.contains("08-aggregate-storagebloblogs.kql"));
}

#[test]
fn prices_prints_the_filtered_api_url() {
    let o = run(&["prices", sample().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let url = text.lines().find(|l| l.starts_with("https://")).unwrap();
    assert!(url.starts_with("https://prices.azure.com/api/retail/prices?$filter="));
    assert!(url.contains("armSkuName%20eq%20%27Standard_"), "{url}");
    assert!(!url.contains(' '));
}

/// A saved Retail Prices page: the consumption Linux price must be chosen over Spot, Windows,
/// a reservation and a price that started after the case's as-of time.
fn price_page() -> Value {
    let item = |price: f64, product: &str, sku: &str, kind: &str, from: &str| {
        json!({
            "currencyCode": "USD", "retailPrice": price, "unitPrice": price, "armRegionName": "brazilsouth",
            "location": "BR South", "effectiveStartDate": from, "productName": product, "skuName": sku,
            "serviceName": "Virtual Machines", "unitOfMeasure": "1 Hour", "type": kind,
            "armSkuName": "Standard_NC24ads_A100_v4", "meterName": sku
        })
    };
    json!({
        "BillingCurrency": "USD",
        "Items": [
            item(1.234, "Virtual Machines NCads A100 v4 Series", "NC24ads A100 v4 Spot", "Consumption", "2023-01-01T00:00:00Z"),
            item(11.0, "Virtual Machines NCads A100 v4 Series Windows", "NC24ads A100 v4", "Consumption", "2023-01-01T00:00:00Z"),
            item(4.0, "Virtual Machines NCads A100 v4 Series", "NC24ads A100 v4", "Reservation", "2023-01-01T00:00:00Z"),
            item(8.125, "Virtual Machines NCads A100 v4 Series", "NC24ads A100 v4", "Consumption", "2023-06-01T00:00:00Z"),
            item(9.5, "Virtual Machines NCads A100 v4 Series", "NC24ads A100 v4", "Consumption", "2025-01-01T00:00:00Z"),
        ],
        "NextPageLink": null,
        "Count": 5
    })
}

fn with_prices(name: &str, page: &Value) -> PathBuf {
    let dir = crate::util::copy_sample(name);
    std::fs::write(dir.join("prices.json"), page.to_string()).unwrap();
    let mut toml = std::fs::read_to_string(dir.join("case.toml")).unwrap();
    assert!(!toml.contains("[rates]"));
    toml.push_str("\n[rates]\nretail_prices = \"prices.json\"\n");
    std::fs::write(dir.join("case.toml"), toml).unwrap();
    dir
}

#[test]
fn retail_prices_file_prices_the_vm_and_cites_file_and_date() {
    let dir = with_prices("retail", &price_page());
    let o = run(&["analyze", dir.to_str().unwrap(), "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let model: Value = serde_json::from_slice(&o.stdout).unwrap();
    let rate = model["analysis"]["cost"]["assumptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["topic"] == "VM rate")
        .unwrap()
        .clone();
    assert!(rate["text"].as_str().unwrap().contains("$8.125"), "{rate}");
    let source = rate["source"].as_str().unwrap();
    assert!(
        source.contains("prices.json") && source.contains("2023-06-01") && source.contains("Items[3]"),
        "{source}"
    );
}

#[test]
fn retail_prices_file_is_in_the_inventory_and_validate_with_its_hash() {
    use sha2::Digest;
    let dir = with_prices("retail-inventory", &price_page());
    let hash: String = sha2::Sha256::digest(std::fs::read(dir.join("prices.json")).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let o = run(&["analyze", dir.to_str().unwrap(), "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let model: Value = serde_json::from_slice(&o.stdout).unwrap();
    let p = &model["retail_prices"];
    assert_eq!(p["path"], "prices.json", "{p}");
    assert_eq!(p["sha256"], hash.as_str());
    assert_eq!(p["items"], 5);
    assert_eq!(p["priced"], 1);
    assert_eq!(p["effective_from"], "2023-06-01T00:00:00Z");
    let o = run(&["validate", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let line = stdout(&o)
        .lines()
        .find(|l| l.starts_with("prices.json"))
        .unwrap_or_default()
        .to_string();
    assert!(
        line.contains("retail prices") && line.contains("1 VM size/region pairs priced"),
        "{}",
        stdout(&o)
    );
    let out = crate::util::temp_dir("retail-inventory-out");
    let o = crate::util::report(&dir, &out, &["--kind", "technical"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let pdf = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "pdf"))
        .unwrap();
    let text: String = pdf_extract::extract_text(&pdf)
        .unwrap()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert!(
        text.contains("prices.json") && text.contains(&hash[..16]),
        "the technical report's inventory lists the prices file and its hash"
    );
}

#[test]
fn retail_prices_in_another_currency_is_an_error_naming_the_item() {
    let mut page = price_page();
    page["Items"][3]["currencyCode"] = json!("EUR");
    let dir = with_prices("retail-eur", &page);
    let o = run(&["analyze", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("prices.json") && e.contains("Items[3]") && e.contains("currencyCode") && e.contains("EUR"),
        "{e}"
    );
}

#[test]
fn every_exported_rule_is_evaluated_natively_with_its_timing() {
    let model = run(&["analyze", sample().to_str().unwrap(), "--format", "json"]);
    let model: Value = serde_json::from_slice(&model.stdout).unwrap();
    let detections = model["analysis"]["detections"].as_array().unwrap();
    let rules = write_rules();
    for (p, _) in sentinel_rules(&rules) {
        let id = p.file_stem().unwrap().to_string_lossy().into_owned();
        let d = detections
            .iter()
            .find(|d| d["id"] == id.as_str())
            .unwrap_or_else(|| panic!("rule {id} has no native evaluation"));
        let hits = d["hits"].as_array().unwrap();
        assert!(!hits.is_empty(), "{id} would have fired on northgate");
        let first = hits.iter().map(|h| h["at"].as_str().unwrap()).min().unwrap();
        let timing = d["timing"].as_str().unwrap();
        let shown = chrono::DateTime::parse_from_rfc3339(first)
            .unwrap()
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string();
        assert!(timing.contains(&shown), "{timing}");
        assert!(
            timing.contains("the first alert") && timing.contains("before the stated awareness time"),
            "{timing}"
        );
    }
}

#[test]
fn risky_signin_rule_needs_signins_and_activity() {
    let dir = crate::util::copy_sample("no-signins");
    let toml = std::fs::read_to_string(dir.join("case.toml")).unwrap();
    let without = toml.replace("[[evidence]]\npath = \"evidence/signins.csv\"\n", "");
    assert_ne!(toml, without, "sample lists evidence/signins.csv");
    std::fs::write(dir.join("case.toml"), without).unwrap();
    std::fs::remove_file(dir.join("evidence/signins.csv")).unwrap();
    let o = run(&["analyze", dir.to_str().unwrap(), "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let model: Value = serde_json::from_slice(&o.stdout).unwrap();
    let d = model["analysis"]["detections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "risky-signin-then-arm-changes")
        .unwrap()
        .clone();
    assert!(d["hits"].is_null(), "not provided, never 'no hits': {d}");
    assert!(d["timing"].is_null());
}

#[test]
fn hostile_identity_stays_a_string_literal_in_every_query() {
    let dir = crate::util::copy_sample("hostile-scope");
    let toml = std::fs::read_to_string(dir.join("case.toml")).unwrap();
    // An identity crafted to close the literal and append a clause.
    let hostile = r#"x") or true or tolower(Caller) in ("\"#;
    let with = format!("{toml}\n[scope]\nattacker_identities = [{}]\n", toml::Value::String(hostile.into()));
    assert!(!toml.contains("[scope]"));
    std::fs::write(dir.join("case.toml"), with).unwrap();
    let qdir = temp_dir("queries-hostile");
    let o = run(&["queries", dir.to_str().unwrap(), "--out", qdir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut queries = Vec::new();
    for p in yaml_files(&qdir, "kql") {
        let text = std::fs::read_to_string(&p).unwrap();
        if p.file_name().unwrap().to_string_lossy().starts_with("01-") {
            assert!(text.contains(r#""x\") or true or tolower(caller) in (\"\\""#), "{text}");
        }
        queries.push((p.display().to_string(), text, vec![]));
    }
    assert_clean(&kusto_check(&queries), "a query with a hostile identity");
}

/// Case values spliced into the detections' KQL (approved regions, trusted countries) stay
/// string literals: a backslash at the end or a quote cannot close the literal. Checked by
/// the Kusto language service on the reports' detections and on the exported rules.
#[test]
fn hostile_region_and_country_stay_string_literals_in_detections_and_rules() {
    let dir = crate::util::copy_sample("hostile-region");
    let toml = std::fs::read_to_string(dir.join("case.toml")).unwrap();
    let regions = toml::Value::Array(vec!["uksouth".into(), "eu\\".into(), "x\")or(1==1)or(\"".into()]);
    let countries = toml::Value::Array(vec!["GB".into(), "G\\".into()]);
    let with = toml
        .replace(
            "approved_regions = [\"uksouth\", \"westeurope\"]",
            &format!("approved_regions = {regions}"),
        )
        .replace("trusted_countries = [\"GB\"]", &format!("trusted_countries = {countries}"));
    assert_ne!(with, toml);
    std::fs::write(dir.join("case.toml"), with).unwrap();
    let model = crate::util::model_json(&dir);
    let mut queries = Vec::new();
    for d in model["analysis"]["detections"].as_array().unwrap() {
        let kql = d["kql"].as_str().unwrap().to_string();
        if d["id"] == "vm-unapproved-region" {
            assert!(kql.contains(r#""eu\\", "x\")or(1==1)or(\"""#), "{kql}");
        }
        queries.push((format!("detection {}", d["id"]), kql, vec![]));
    }
    let out = temp_dir("rules-hostile-region");
    let o = run(&["rules", dir.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    if o.status.success() {
        queries.extend(rule_queries(&out));
    } else {
        // A country that is not an ISO code may be refused outright: that is safe too.
        assert!(stderr(&o).contains("trusted_countries"), "{}", stderr(&o));
    }
    assert_clean(&kusto_check(&queries), "a query with a hostile region or country");
}
