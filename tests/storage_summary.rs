//! Storage summaries: the export of `casefile queries`' aggregation query
//! (08-aggregate-storagebloblogs.kql) must give the exposure the raw rows give.
//!
//! [`summarise`] computes that query's result from a sample's raw storage rows the way Kusto
//! does, expression by expression (it is this test's own code, not casefile's reader: the
//! derived columns follow the KQL text). Each sample is then analysed twice, once with its raw
//! storage logs and once with the summary in their place, as Log Analytics CSV and as query
//! JSON, and the exposure sections are compared. The query's scope filter is left out here:
//! it is the same for the raw-row query (07) and the summary (08), so leaving it out compares
//! the aggregation alone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use casefile::input::table::{self as records, Visit};
use casefile::types::Timestamp;
use serde_json::{json, Value};

use crate::util::{copy_tree, model_json, root, run, stderr, stdout, temp_dir};

/// `make_set_if`'s cap in the query (kept in step with `storage_summary::OBJECT_NAMES_CAP`).
const CAP: usize = casefile::bundle::storage_summary::OBJECT_NAMES_CAP as usize;

/// One row of the query's result.
#[derive(Default, Debug)]
struct Group {
    requests: u64,
    bytes: u64,
    distinct: BTreeSet<String>,
    /// `make_set_if(Blob, isnotempty(Blob), CAP)`: the first CAP distinct blobs.
    objects: Vec<String>,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

/// The grouping columns: Day, AccountName, Container, CallerIp, AuthenticationType,
/// SigningKey, OperationName, StatusCode, RequesterUpn, RequesterAppId.
type Key = (String, String, String, String, String, String, String, String, String, String);

/// `iff(CallerIpAddress startswith "[", extract(@"^\[([^\]]*)\]", 1, …),
///  iff(countof(CallerIpAddress, ":") == 1, tostring(split(CallerIpAddress, ":")[0]), CallerIpAddress))`
fn caller_ip(raw: &str) -> String {
    if let Some(rest) = raw.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("").to_string();
    }
    if raw.matches(':').count() == 1 {
        return raw.split(':').next().unwrap_or("").to_string();
    }
    raw.to_string()
}

/// `tostring(split(s, "/")[i])`
fn split_at(s: &str, i: usize) -> String {
    s.split('/').nth(i).unwrap_or("").to_string()
}

/// `tostring(parse_url(Uri).Path)`
fn url_path(uri: &str) -> String {
    let Some((_, rest)) = uri.split_once("://") else {
        return String::new();
    };
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    rest.find('/').map(|i| rest[i..].to_string()).unwrap_or_default()
}

/// `extract(@"^/*[^/]*/[^/]*/(.+)$", 1, Key)`
fn blob(key: &str) -> String {
    let mut parts = key.trim_start_matches('/').splitn(3, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(_), Some(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// The query's result over every raw row of `files`.
fn summarise(files: &[PathBuf]) -> BTreeMap<Key, Group> {
    let mut groups: BTreeMap<Key, Group> = BTreeMap::new();
    for path in files {
        records::read_table(path, "storage log", &mut |row| {
            let get = |aliases: &[&str]| row.str(aliases).unwrap_or("").to_string();
            let at = row.timestamp("storage log", &["timegenerated", "time"])?;
            let account = get(&["accountname", "properties.accountname"]);
            let ip = caller_ip(&get(&["calleripaddress"]));
            let mut key = get(&["objectkey", "properties.objectkey"]).trim_matches('"').to_string();
            if split_at(&key, 2).is_empty() {
                key = format!("/{account}{}", url_path(&get(&["uri"])));
            }
            let hash = get(&["authenticationhash", "identity.tokenhash"]);
            let signing = ["key1", "key2"].into_iter().find(|k| hash.starts_with(k)).unwrap_or("");
            let day = at.0.date_naive().to_string();
            let k: Key = (
                day,
                account,
                split_at(&key, 2).to_lowercase(),
                ip,
                get(&["authenticationtype", "identity.type"]),
                signing.to_string(),
                get(&["operationname"]),
                get(&["statuscode"]),
                get(&["requesterupn", "identity.requester.upn"]),
                get(&["requesterappid", "identity.requester.appid"]),
            );
            let g = groups.entry(k).or_default();
            g.requests += 1;
            g.bytes += get(&["responsebodysize", "properties.responsebodysize"])
                .parse::<u64>()
                .unwrap_or(0);
            let b = blob(&key);
            if !b.is_empty() && g.distinct.insert(b.clone()) && g.objects.len() < CAP {
                g.objects.push(b);
            }
            g.first = Some(g.first.map_or(at, |f| f.min(at)));
            g.last = Some(g.last.map_or(at, |l| l.max(at)));
            Ok(Visit::Continue)
        })
        .unwrap();
    }
    groups
}

const HEADER: [&str; 16] = [
    "Day",
    "AccountName",
    "Container",
    "CallerIp",
    "AuthenticationType",
    "SigningKey",
    "OperationName",
    "StatusCode",
    "RequesterUpn",
    "RequesterAppId",
    "Requests",
    "Bytes",
    "DistinctObjects",
    "Objects",
    "FirstTime",
    "LastTime",
];

/// The row's cells as strings; times through `time`.
fn cells(k: &Key, g: &Group, time: &dyn Fn(Timestamp) -> String) -> Vec<String> {
    let day = Timestamp(k.0.parse::<chrono::NaiveDate>().unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc());
    vec![
        time(day),
        k.1.clone(),
        k.2.clone(),
        k.3.clone(),
        k.4.clone(),
        k.5.clone(),
        k.6.clone(),
        k.7.clone(),
        k.8.clone(),
        k.9.clone(),
        g.requests.to_string(),
        g.bytes.to_string(),
        g.distinct.len().to_string(),
        serde_json::to_string(&g.objects).unwrap(),
        time(g.first.unwrap()),
        time(g.last.unwrap()),
    ]
}

/// The result as the Log Analytics portal exports it (CSV, `[UTC]` headers, en-US times).
fn write_csv(groups: &BTreeMap<Key, Group>, path: &Path) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(HEADER.iter().map(|h| match *h {
        "Day" | "FirstTime" | "LastTime" => format!("{h} [UTC]"),
        other => other.to_string(),
    }))
    .unwrap();
    let time = |t: Timestamp| t.0.format("%-m/%-d/%Y, %-I:%M:%S%.3f %p").to_string();
    for (k, g) in groups {
        w.write_record(cells(k, g, &time)).unwrap();
    }
    w.flush().unwrap();
}

/// The result as the Log Analytics query API returns it (typed columns, ISO times,
/// the dynamic column as JSON text).
fn write_json(groups: &BTreeMap<Key, Group>, path: &Path) {
    let types = [
        "datetime", "string", "string", "string", "string", "string", "string", "string", "string", "string", "long", "long", "long",
        "dynamic", "datetime", "datetime",
    ];
    let time = |t: Timestamp| t.rfc3339();
    let rows: Vec<Value> = groups
        .iter()
        .map(|(k, g)| {
            let c = cells(k, g, &time);
            Value::Array(
                c.into_iter()
                    .zip(types)
                    .map(|(v, t)| match t {
                        "long" => json!(v.parse::<u64>().unwrap()),
                        _ => json!(v),
                    })
                    .collect(),
            )
        })
        .collect();
    let doc = json!({"tables": [{
        "name": "PrimaryResult",
        "columns": HEADER.iter().zip(types).map(|(n, t)| json!({"name": n, "type": t})).collect::<Vec<_>>(),
        "rows": rows,
    }]});
    std::fs::write(path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
}

/// The sample's storage files, from its case.toml (detected by name: they are the files
/// `validate` calls storage logs).
fn storage_files(bundle: &Path) -> Vec<String> {
    let o = run(&["validate", bundle.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let toml: toml::Value = toml::from_str(&std::fs::read_to_string(bundle.join("case.toml")).unwrap()).unwrap();
    toml["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_string())
        .filter(|p| {
            let line = stdout(&o).lines().find(|l| l.contains(p.as_str())).unwrap_or("").to_string();
            line.contains("storage log")
        })
        .collect()
}

/// A copy of `sample` whose raw storage logs are replaced by `summary` (written by `write`).
fn bundle_with_summary(sample: &str, name: &str, write: fn(&BTreeMap<Key, Group>, &Path)) -> (PathBuf, usize) {
    let src = root().join("samples").join(sample);
    let raw = storage_files(&src);
    assert!(!raw.is_empty(), "{sample} has storage logs");
    let groups = summarise(&raw.iter().map(|p| src.join(p)).collect::<Vec<_>>());
    let dir = temp_dir(&format!("summary-{sample}"));
    copy_tree(&src, &dir);
    for p in &raw {
        std::fs::remove_file(dir.join(p)).unwrap();
    }
    write(&groups, &dir.join("evidence").join(name));
    let mut toml = std::fs::read_to_string(dir.join("case.toml")).unwrap();
    for p in &raw {
        toml = toml.replace(&format!("path = \"{p}\"\n"), "path = \"evidence/REPLACED\"\n");
    }
    let first = toml.find("evidence/REPLACED").unwrap();
    toml.replace_range(first..first + "evidence/REPLACED".len(), &format!("evidence/{name}"));
    assert!(!toml.contains("REPLACED"), "one storage file per sample");
    std::fs::write(dir.join("case.toml"), toml).unwrap();
    (dir, groups.len())
}

/// A JSON value without its `evidence` lists (they name the file each figure came from,
/// which differs by construction).
fn without_evidence(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| k.as_str() != "evidence")
                .map(|(k, v)| (k.clone(), without_evidence(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_evidence).collect()),
        other => other.clone(),
    }
}

fn assert_same_exposure(sample: &str, name: &str, write: fn(&BTreeMap<Key, Group>, &Path)) {
    let raw = model_json(&root().join("samples").join(sample));
    let (dir, rows) = bundle_with_summary(sample, name, write);
    let o = run(&["validate", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).lines().any(|l| l.contains(name) && l.contains("storage summary")),
        "{}",
        stdout(&o)
    );
    let summary = model_json(&dir);
    let (a, b) = (&raw["analysis"], &summary["analysis"]);
    assert!(a["exposure"]["status"] == "provided", "{sample}: raw exposure provided");
    // The figures the reports state, one by one (clearer failures), then the whole section.
    for field in [
        "bytes",
        "read_requests",
        "distinct_objects",
        "containers_read",
        "accounts",
        "records",
        "subjects",
    ] {
        assert_eq!(
            a["exposure"]["value"][field], b["exposure"]["value"][field],
            "{sample} ({name}, {rows} summary rows): exposure {field}"
        );
    }
    assert_eq!(
        without_evidence(&a["exposure"]),
        without_evidence(&b["exposure"]),
        "{sample} ({name}): exposure section"
    );
    assert_eq!(
        a["storage_requests"], b["storage_requests"],
        "{sample}: requests read, attacker requests"
    );
    assert_eq!(a["scope"]["verdict"], b["scope"]["verdict"], "{sample}: verdict");
    assert_eq!(summary["analysis"]["exposure"]["value"]["distinct_objects_at_least"], Value::Null);
}

#[test]
fn summary_gives_the_raw_rows_exposure_on_every_sample() {
    for sample in ["northgate", "brunnwald", "quiet"] {
        assert_same_exposure(sample, "storage-summary.csv", write_csv);
        assert_same_exposure(sample, "storage-summary.json", write_json);
    }
}

const FIXTURE_HEADER: &str = "Day [UTC],AccountName,Container,CallerIp,AuthenticationType,SigningKey,OperationName,StatusCode,RequesterUpn,RequesterAppId,Requests,Bytes,DistinctObjects,Objects,FirstTime [UTC],LastTime [UTC]";

/// A copy of the northgate sample whose storage log is replaced by `csv` (a summary).
fn northgate_with(name: &str, csv: &str) -> PathBuf {
    let src = root().join("samples/northgate");
    let dir = temp_dir(name);
    copy_tree(&src, &dir);
    std::fs::remove_file(dir.join("evidence/storage.csv")).unwrap();
    std::fs::write(dir.join("evidence/summary.csv"), csv).unwrap();
    let toml = std::fs::read_to_string(dir.join("case.toml")).unwrap();
    assert!(toml.contains("path = \"evidence/storage.csv\""));
    std::fs::write(
        dir.join("case.toml"),
        toml.replace("path = \"evidence/storage.csv\"", "path = \"evidence/summary.csv\""),
    )
    .unwrap();
    dir
}

fn names(prefix: &str, n: usize) -> String {
    let v: Vec<String> = (0..n).map(|i| format!("{prefix}/{i:05}.parquet")).collect();
    serde_json::to_string(&v).unwrap().replace('"', "\"\"")
}

/// Hand-computed figures: the attacker's (198.51.100.77) rows add up per container, objects
/// read from two rows count once, failures and listings are counted apart, bytes of failed
/// requests are not counted, and the benign workload is left out.
#[test]
fn summary_fixture_figures() {
    let day = "\"3/21/2024, 12:00:00.000 AM\"";
    let t = |hms: &str| format!("\"3/21/2024, {hms} AM\"");
    let rows = [
        format!(
            "{day},proddata,customer-data,198.51.100.77,AccountKey,key1,GetBlob,200,,,5,5000,3,\"[\"\"a\"\",\"\"b\"\",\"\"c\"\"]\",{},{}",
            t("3:24:00.000"),
            t("3:25:00.000")
        ),
        format!(
            "{day},proddata,customer-data,198.51.100.77,AccountKey,key1,GetBlob,206,,,2,700,2,\"[\"\"c\"\",\"\"d\"\"]\",{},{}",
            t("3:26:00.000"),
            t("3:27:00.000")
        ),
        format!(
            "{day},proddata,customer-data,198.51.100.77,AccountKey,key1,GetBlob,403,,,3,999,1,\"[\"\"e\"\"]\",{},{}",
            t("3:23:00.000"),
            t("3:23:30.000")
        ),
        format!(
            "{day},proddata,customer-data,198.51.100.77,AccountKey,key1,ListBlobs,200,,,4,4000,0,[],{},{}",
            t("3:22:00.000"),
            t("3:22:10.000")
        ),
        format!(
            "{day},proddata,customer-data,20.50.12.34,OAuth,,GetBlob,200,,a7e1c0de-1111-4222-8333-944455556666,10,1000000,10,[],{},{}",
            t("1:00:00.000"),
            t("1:10:00.000")
        ),
    ];
    let csv = format!("{FIXTURE_HEADER}\n{}\n", rows.join("\n"));
    // The benign row lists no names although it counts 10 objects: a capped list (not read
    // as the attacker's, so it changes nothing).
    let dir = northgate_with("summary-fixture", &csv);
    let a = model_json(&dir)["analysis"].clone();
    let e = &a["exposure"]["value"];
    let c = e["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["container"] == "customer-data")
        .unwrap();
    assert_eq!(c["read_requests"], 7, "{c}");
    assert_eq!(c["bytes"], 5700, "{c}");
    assert_eq!(c["distinct_objects"], 4, "a, b, c, d: c counted once: {c}");
    assert_eq!(c["failed_requests"], 3);
    assert_eq!(c["listing_requests"], 4);
    assert_eq!(c["first"], "2024-03-21T03:22:00Z");
    assert_eq!(c["last"], "2024-03-21T03:27:00Z");
    assert!(c.get("distinct_objects_at_least").is_none());
    assert_eq!(e["bytes"], 5700);
    assert_eq!(e["distinct_objects"], 4);
    assert_eq!(a["storage_requests"]["value"], json!([24, 14]));
    let excluded = a["storage_excluded"]["value"].as_array().unwrap();
    assert!(excluded
        .iter()
        .any(|g| g["requests"] == 10 && g["reason"].as_str().unwrap().contains("20.50.12.34")));
}

/// A row that reached the name cap: alone its exact count stands; with another row in the
/// same container the union is a lower bound, and the reports say "at least".
#[test]
fn capped_object_lists_give_an_exact_count_alone_and_a_stated_lower_bound_together() {
    let day = "\"3/21/2024, 12:00:00.000 AM\"";
    let capped = format!(
        "{day},proddata,customer-data,198.51.100.77,AccountKey,key1,GetBlob,200,,,1500,15000,1200,\"{}\",\"3/21/2024, 3:24:00.000 AM\",\"3/21/2024, 3:30:00.000 AM\"",
        names("x", CAP)
    );
    let other = format!(
        "{day},proddata,customer-data,198.51.100.77,AccountKey,key1,GetBlob,206,,,2,20,2,\"[\"\"zzz\"\",\"\"x/00001.parquet\"\"]\",\"3/21/2024, 3:31:00.000 AM\",\"3/21/2024, 3:32:00.000 AM\""
    );
    let alone = model_json(&northgate_with("summary-capped-alone", &format!("{FIXTURE_HEADER}\n{capped}\n")));
    let e = &alone["analysis"]["exposure"]["value"];
    assert_eq!(e["distinct_objects"], 1200);
    assert!(e.get("distinct_objects_at_least").is_none(), "one row's count is exact: {e}");

    let dir = northgate_with("summary-capped", &format!("{FIXTURE_HEADER}\n{capped}\n{other}\n"));
    let both = model_json(&dir);
    let e = &both["analysis"]["exposure"]["value"];
    assert_eq!(e["distinct_objects"], 1200, "max(union of names = 1001, largest row = 1200)");
    assert_eq!(e["distinct_objects_at_least"], true);
    assert_eq!(e["containers"][0]["distinct_objects_at_least"], true);
    assert_eq!(e["read_requests"], 1502);
    let o = run(&["analyze", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("objects ≥ 1200"), "{}", stdout(&o));
}

/// A summary that lost a column is an error naming the file and the column, not a storage
/// log with missing values and not a zero.
#[test]
fn summary_missing_a_column_names_file_and_column() {
    let row = "\"3/21/2024, 12:00:00.000 AM\",proddata,customer-data,198.51.100.77,AccountKey,key1,GetBlob,200,,,5,5000,3,[],\"3/21/2024, 3:24:00.000 AM\",\"3/21/2024, 3:25:00.000 AM\"";
    for (column, index) in [("Bytes", 11), ("DistinctObjects", 12), ("LastTime", 15)] {
        let drop = |line: &str| -> String {
            let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(line.as_bytes());
            let rec = r.records().next().unwrap().unwrap();
            let kept: Vec<&str> = rec.iter().enumerate().filter(|(i, _)| *i != index).map(|(_, v)| v).collect();
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(&kept).unwrap();
            String::from_utf8(w.into_inner().unwrap()).unwrap()
        };
        let csv = format!("{}{}", drop(FIXTURE_HEADER), drop(row));
        let dir = northgate_with("summary-near-miss", &csv);
        let o = run(&["validate", dir.to_str().unwrap()]);
        assert!(!o.status.success(), "{column}: {}", stdout(&o));
        let err = stderr(&o);
        assert!(
            err.contains("summary.csv") && err.contains("missing column") && err.contains(column),
            "{column}: {err}"
        );
        let o = run(&[
            "report",
            dir.to_str().unwrap(),
            "--out",
            temp_dir("summary-near-miss-out").to_str().unwrap(),
        ]);
        assert!(!o.status.success() && stderr(&o).contains(column));
    }
}

/// A row whose object list names more objects than it counts was edited: an error at the
/// record and field.
#[test]
fn summary_row_with_more_names_than_objects_is_an_error_at_its_field() {
    let row = "\"3/21/2024, 12:00:00.000 AM\",proddata,customer-data,198.51.100.77,AccountKey,key1,GetBlob,200,,,5,5000,1,\"[\"\"a\"\",\"\"b\"\"]\",\"3/21/2024, 3:24:00.000 AM\",\"3/21/2024, 3:25:00.000 AM\"";
    let dir = northgate_with("summary-bad-row", &format!("{FIXTURE_HEADER}\n{row}\n"));
    let o = run(&["validate", dir.to_str().unwrap()]);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("summary.csv") && err.contains("Objects") && err.contains("more object names than distinct objects"),
        "{err}"
    );
}

/// A summary listed beside the raw rows it summarises would count every request twice.
#[test]
fn summary_beside_the_same_raw_rows_is_an_error() {
    let src = root().join("samples/northgate");
    let dir = temp_dir("summary-and-raw");
    copy_tree(&src, &dir);
    write_csv(&summarise(&[src.join("evidence/storage.csv")]), &dir.join("evidence/summary.csv"));
    let toml = std::fs::read_to_string(dir.join("case.toml")).unwrap();
    std::fs::write(
        dir.join("case.toml"),
        format!("{toml}\n[[evidence]]\npath = \"evidence/summary.csv\"\n"),
    )
    .unwrap();
    let o = run(&["analyze", dir.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("counts raw requests twice") && err.contains("summary.csv") && err.contains("proddata"),
        "{err}"
    );
}

/// A row of the compromised identity (from an address that is not the attacker's and not
/// the organisation's) that spans the start of its compromise window (03:12:40) cannot be
/// split: its requests count neither way and the figures are stated as lower bounds; a row
/// wholly inside the window counts as the attacker's.
#[test]
fn summary_row_spanning_the_compromise_start_makes_figures_lower_bounds() {
    let day = "\"3/21/2024, 12:00:00.000 AM\"";
    let rows = [
        format!("{day},proddata,customer-data,192.0.2.55,OAuth,,GetBlob,200,admin@northgateeng.com,,6,600,2,\"[\"\"p\"\",\"\"q\"\"]\",\"3/21/2024, 3:00:00.000 AM\",\"3/21/2024, 3:20:00.000 AM\""),
        format!("{day},proddata,customer-data,192.0.2.55,OAuth,,GetBlob,200,admin@northgateeng.com,,4,400,1,\"[\"\"r\"\"]\",\"3/21/2024, 3:30:00.000 AM\",\"3/21/2024, 3:40:00.000 AM\""),
    ];
    let dir = northgate_with("summary-straddle", &format!("{FIXTURE_HEADER}\n{}\n", rows.join("\n")));
    let a = model_json(&dir)["analysis"].clone();
    let e = &a["exposure"]["value"];
    assert_eq!(e["read_requests"], 4, "{e}");
    assert_eq!(e["bytes"], 400);
    assert_eq!(e["distinct_objects"], 1);
    assert_eq!(e["uncertain_requests"], 6);
    assert_eq!(e["containers"][0]["uncertain_requests"], 6);
    let excluded = a["storage_excluded"]["value"].as_array().unwrap();
    assert!(excluded
        .iter()
        .any(|g| g["requests"] == 6 && g["reason"].as_str().unwrap().contains("spanning the start")));
    let o = run(&["analyze", dir.to_str().unwrap()]);
    assert!(stdout(&o).contains("lower bounds: 6 requests"), "{}", stdout(&o));
}
