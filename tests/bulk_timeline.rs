//! Bulk runs on the timeline (issue 10, item 9): a password spray of many like failed sign-ins
//! is one row in the technical report's timeline, one marker in the charts, and every event
//! stays listed, record by record, in the technical report's "Full timeline" appendix. Short
//! runs (a handful of guesses) stay row by row.

use std::path::Path;

use crate::util::{copy_sample, model_json, report, root, stderr, temp_dir};

const SPRAY: usize = 45;

/// Appends `n` failed sign-ins from the sample's attacker address, 0.3 s apart, before its
/// first success (the same shape as the bench's generated case).
pub fn add_spray(bundle: &Path, n: usize) {
    let path = bundle.join("evidence/signins.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header = reader.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().unwrap();
    let ip = header.iter().position(|h| h == "IPAddress").unwrap();
    let template = rows
        .iter()
        .find(|r| r.get(ip).is_some_and(|v| v.starts_with("198.51.100.")))
        .unwrap()
        .clone();
    let mut w = csv::Writer::from_path(&path).unwrap();
    w.write_record(&header).unwrap();
    for r in &rows {
        w.write_record(r).unwrap();
    }
    for i in 0..n {
        let at = format!("3/21/2024, 2:00:{:02}.{:03} AM", i * 3 / 10, (i * 300) % 1000);
        let fields: Vec<String> = header
            .iter()
            .zip(template.iter())
            .map(|(h, v)| match h {
                "TimeGenerated [UTC]" | "CreatedDateTime [UTC]" => at.clone(),
                "ResultType" => "50126".into(),
                "ResultDescription" => "Error validating credentials due to invalid username or password.".into(),
                "Id" | "CorrelationId" | "OriginalRequestId" | "UniqueTokenIdentifier" => format!("{i:08x}-spray-0000-0000-000000000000"),
                _ => v.to_string(),
            })
            .collect();
        w.write_record(&fields).unwrap();
    }
    w.flush().unwrap();
}

fn rows_cover_the_timeline(analysis: &serde_json::Value) {
    let entries = analysis["timeline"].as_array().unwrap().len();
    let mut next = 0;
    for row in analysis["timeline_rows"].as_array().unwrap() {
        assert_eq!(row["first"].as_u64().unwrap() as usize, next, "rows are in order, without gaps");
        next += row["count"].as_u64().unwrap() as usize;
    }
    assert_eq!(next, entries, "the rows cover every timeline entry once");
}

#[test]
fn a_password_spray_is_one_row_and_every_event_is_in_the_appendix() {
    let bundle = copy_sample("bulk-spray");
    add_spray(&bundle, SPRAY);
    let model = model_json(&bundle);
    let a = &model["analysis"];
    rows_cover_the_timeline(a);
    let bulk: Vec<&serde_json::Value> = a["timeline_rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["bulk"].is_null())
        .collect();
    assert_eq!(bulk.len(), 1, "one bulk run: {bulk:?}");
    assert_eq!(bulk[0]["count"], SPRAY);
    let run = &bulk[0]["bulk"];
    assert_eq!(run["outcome"], "Failed");
    assert_eq!(run["addresses"].as_array().unwrap().len(), 1);
    let summary = run["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(&format!("{SPRAY} times: ")) && summary.contains("failed"),
        "{summary}"
    );

    // The spray's risky sign-ins are one reason on the address, with their count.
    let ip = &run["addresses"][0];
    let reasons = a["scope"]["ips"][ip.as_str().unwrap()]["for"].as_array().unwrap();
    let grouped: Vec<&str> = reasons
        .iter()
        .filter_map(|r| r.as_str())
        .filter(|r| r.contains("sign-in risk"))
        .collect();
    // (The sample's own risky sign-ins from that address join them.)
    let counted = |r: &str| {
        r.split(" (")
            .nth(1)
            .and_then(|t| t.strip_suffix(')').unwrap_or(t).split(" records").next())
            .and_then(|n| n.replace(',', "").parse::<usize>().ok())
    };
    assert!(grouped.len() == 1 && counted(grouped[0]).is_some_and(|n| n >= SPRAY), "{grouped:?}");

    // The compromised account's sign-ins: the spray is one line with its count, from its first
    // to its last sign-in; every sign-in is counted in exactly one line.
    let timeline = a["timeline"].as_array().unwrap();
    let at = timeline.iter().position(|e| e["step"] == run["first_step"]).unwrap();
    let lines = a["signins_of_compromised"]["value"].as_array().unwrap();
    let folded: Vec<&serde_json::Value> = lines.iter().filter(|l| l["count"] != 1).collect();
    assert_eq!(folded.len(), 1, "{folded:?}");
    assert_eq!(folded[0]["count"], SPRAY);
    assert_eq!(
        folded[0]["origin"], timeline[at]["evidence"],
        "the line starts at the run's first record"
    );
    assert_eq!(
        folded[0]["last"]["origin"],
        timeline[at + SPRAY - 1]["evidence"],
        "and ends at its last"
    );
    let counted: u64 = lines.iter().map(|l| l["count"].as_u64().unwrap()).sum();
    assert_eq!(counted, SPRAY as u64 + 3, "the sample's three sign-ins of the admin, and the spray");
    // The password-guessing cause cites each failure once, however many successes it preceded.
    let causes = a["root_cause"]["causes"].as_array().unwrap();
    let guessing = causes.iter().find(|c| c["fact"] == "signin-password-guessing").unwrap();
    let ev = guessing["evidence"].as_array().unwrap();
    let distinct: std::collections::BTreeSet<String> = ev.iter().map(|e| e.to_string()).collect();
    assert_eq!(distinct.len(), ev.len(), "a record cited twice");
    assert_eq!(ev.len(), SPRAY + 2, "the failures and the two successful sign-ins");

    let out = temp_dir("bulk-spray-out");
    let o = report(&bundle, &out, &[]);
    assert!(o.status.success(), "report failed: {}", stderr(&o));
    let squash = |s: String| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let technical = squash(pdf_extract::extract_text(out.join("technical.pdf")).unwrap());
    assert!(
        technical.contains("FullTimeline") || technical.contains("Fulltimeline"),
        "no appendix"
    );
    let (body, appendix) = technical.split_at(technical.rfind("Fulltimeline").or(technical.rfind("FullTimeline")).unwrap());
    assert!(body.contains(&squash(summary.to_string())), "the run's summary is one body row");
    assert!(
        body.contains(&format!("{SPRAY}×")) && body.contains(&format!("{SPRAY}records:thefirst")),
        "the sign-in tables give the spray one line with its count and first and last record"
    );
    assert!(
        body.contains("morerecords,everyonelistedinmodel.json"),
        "a long citation list is cut with its count"
    );
    // A reference to the appendix reads as its heading does.
    assert!(
        body.contains("stepseachlistedinAppendixE") && !technical.contains("SectionAppendix"),
        "the run's row points at the appendix by its name"
    );
    // Every event of the run, with its record, is in the appendix.
    let first = run["first_step"].as_str().unwrap();
    let entries = a["timeline"].as_array().unwrap();
    let start = entries.iter().position(|e| e["step"] == first).unwrap();
    // The run's header names the record file; each entry is its step, time and line.
    assert!(appendix.contains(&squash(run["evidence"]["file"].as_str().unwrap().to_string())));
    for e in &entries[start..start + SPRAY] {
        let at = e["at"].as_str().unwrap();
        let item = format!("{}{}{}", e["step"].as_str().unwrap(), &at[11..19], e["evidence"]["line"]);
        assert!(appendix.contains(&item), "{item} missing from the appendix");
    }
    let executive = squash(pdf_extract::extract_text(out.join("executive.pdf")).unwrap());
    let marker = format!("{first}–{}", run["last_step"].as_str().unwrap());
    assert!(
        executive.contains(&marker),
        "the executive chart key has one line for the run ({marker})"
    );
}

#[test]
fn a_handful_of_guesses_stays_row_by_row_and_needs_no_appendix() {
    // Brunnwald's ten failed sign-ins before the breach are under the bulk threshold.
    let a = &model_json(&root().join("samples/brunnwald"))["analysis"];
    rows_cover_the_timeline(a);
    let rows = a["timeline_rows"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["bulk"].is_null() && r["count"] == 1));
    let out = temp_dir("bulk-brunnwald-out");
    let o = report(&root().join("samples/brunnwald"), &out, &["--kind", "technical"]);
    assert!(o.status.success(), "report failed: {}", stderr(&o));
    let text = pdf_extract::extract_text(out.join("technical.pdf")).unwrap();
    assert!(!text.contains("Full timeline") && !text.contains("Full Timeline"));
}

/// Past a hundred steps, text order is not step order ("S100" sorts before "S11"): every
/// indicator's steps are listed in the order the steps are numbered.
#[test]
fn indicator_step_lists_are_in_step_order_past_a_hundred_steps() {
    let bundle = copy_sample("bulk-ioc-order");
    add_spray(&bundle, 120);
    let model = model_json(&bundle);
    let number = |id: &serde_json::Value| -> u64 {
        let id = id.as_str().unwrap();
        id.trim_start_matches('S')
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let iocs = model["analysis"]["iocs"].as_array().unwrap();
    let mut longest = 0;
    for ioc in iocs {
        let nums: Vec<u64> = ioc["steps"].as_array().unwrap().iter().map(number).collect();
        assert!(nums.is_sorted(), "{}: {nums:?}", ioc["value"]);
        longest = longest.max(nums.last().copied().unwrap_or(0));
    }
    assert!(
        longest >= 100,
        "an indicator spans step 100 or later (the order is tested): {longest}"
    );
}
