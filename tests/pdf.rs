//! The PDFs: rendered from the sample case, their text extracted in process with the
//! `pdf-extract` crate (so a fresh machine needs no system tools) and checked for the seed's
//! figures, compared with all whitespace removed so layout and letter-spacing do not matter;
//! rendered twice for byte-identical output; and rendered from a hostile bundle to check that
//! attacker-chosen text appears literally and is never interpreted.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::util::{copy_sample, report, sample, stderr, temp_dir};

/// The text of a PDF. Zero-width spaces (break opportunities in long tokens) are removed.
fn pdf_text(pdf: &Path) -> String {
    let text = pdf_extract::extract_text(pdf).unwrap_or_else(|e| panic!("cannot extract text from {}: {e}", pdf.display()));
    assert!(!text.trim().is_empty(), "{} has no extractable text", pdf.display());
    text.replace('\u{200B}', "")
}

/// The sample's reports, rendered once for all tests.
fn rendered() -> &'static PathBuf {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        let out = temp_dir("pdf-sample");
        let o = report(&sample(), &out, &[]);
        assert!(o.status.success(), "report failed: {}", stderr(&o));
        out
    })
}

/// Text without any whitespace, for layout-independent matching.
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn has(text: &str, needle: &str) -> bool {
    text.contains(&squash(needle))
}

#[test]
fn report_writes_four_pdfs_and_the_model() {
    let out = rendered();
    for f in ["executive.pdf", "technical.pdf", "gdpr.pdf", "posture.pdf", "model.json"] {
        let p = out.join(f);
        assert!(p.exists(), "{f} missing");
        assert!(std::fs::metadata(&p).unwrap().len() > 1000, "{f} is tiny");
    }
    let model: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("model.json")).unwrap()).unwrap();
    assert_eq!(model["figures"]["data_exfiltrated"], "2.45 GB");
}

#[test]
fn executive_report_carries_the_seed_figures() {
    let text = squash(&pdf_text(&rendered().join("executive.pdf")));
    for needle in [
        "2.45 GB",
        "$340",
        "Brazil South",
        "2024-03-24 09:30",
        "CONFIDENTIAL",
        "NG-2024-0321",
    ] {
        assert!(has(&text, needle), "executive.pdf lacks {needle:?}");
    }
}

#[test]
fn technical_report_carries_every_phase_of_the_seed() {
    let text = squash(&pdf_text(&rendered().join("technical.pdf")));
    for needle in [
        "03:12",
        "03:14",
        "03:16",
        "03:17",
        "03:18",
        "03:22",
        "03:24",
        "03:38",
        "roleAssignments/write",
        "virtualMachines/write",
        "storageAccounts/listKeys/action",
        "rg-brazil-temp",
        "rg-production",
        "847",
        "2.3 GB",
        "145 MB",
        "2.45 GB",
        "Brazil South",
        "Standard_NC24ads_A100_v4",
        "26",
        "admin@northgateeng.com",
        "198.51.100.77",
    ] {
        assert!(has(&text, needle), "technical.pdf lacks {needle:?}");
    }
    // The evidence inventory prints every input's SHA-256.
    let model: serde_json::Value = serde_json::from_slice(&std::fs::read(rendered().join("model.json")).unwrap()).unwrap();
    let mut hashes: Vec<&str> = model["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["sha256"].as_str().unwrap())
        .collect();
    hashes.push(model["case"]["file_sha256"].as_str().unwrap());
    hashes.push(model["recommendations"]["sha256"].as_str().unwrap());
    for hash in hashes {
        assert_eq!(hash.len(), 64);
        assert!(has(&text, hash), "technical.pdf lacks hash {hash}");
    }
}

#[test]
fn gdpr_report_states_the_deadline_and_the_decisions() {
    let text = squash(&pdf_text(&rendered().join("gdpr.pdf")));
    for needle in [
        "72",
        "2024-03-24 09:30",
        "Art. 33",
        "Art. 34",
        "Very High",
        "dpo@northgateeng.com",
        "148,500",
    ] {
        assert!(has(&text, needle), "gdpr.pdf lacks {needle:?}");
    }
}

#[test]
fn posture_report_lists_the_seed_improvements() {
    let text = squash(&pdf_text(&rendered().join("posture.pdf")));
    for needle in [
        "Conditional Access",
        "Allowed locations",
        "RBAC",
        "PIM",
        "Defender CSPM",
        "3b363842-30f5-4056-980d-3a40fa5de8b3",
    ] {
        assert!(has(&text.to_lowercase(), &needle.to_lowercase()), "posture.pdf lacks {needle:?}");
    }
}

#[test]
fn pdfs_are_pdf_a_with_metadata() {
    let bytes = std::fs::read(rendered().join("executive.pdf")).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("pdfaid:part"), "no PDF/A identification");
    assert!(text.contains("Compromised Azure administrator account"), "no title metadata");
}

#[test]
fn pdf_a3b_attaches_the_model_and_ua1_declares_itself() {
    let a3 = temp_dir("pdf-a3b");
    let o = report(&sample(), &a3, &["--kind", "executive", "--pdf-standard", "a3b"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(a3.join("executive.pdf")).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("<pdfaid:part>3</pdfaid:part>") || text.contains("pdfaid:part=\"3\""),
        "not PDF/A-3"
    );
    assert!(
        text.contains("/EmbeddedFiles") && text.contains("model.json"),
        "model.json not attached"
    );
    let ua = temp_dir("pdf-ua1");
    let o = report(&sample(), &ua, &["--kind", "gdpr", "--pdf-standard", "ua1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&std::fs::read(ua.join("gdpr.pdf")).unwrap()).into_owned();
    assert!(text.contains("pdfuaid:part"), "not PDF/UA");
    // The default (PDF/A-2b) attaches nothing.
    let default = String::from_utf8_lossy(&std::fs::read(rendered().join("executive.pdf")).unwrap()).into_owned();
    assert!(!default.contains("/EmbeddedFiles"));
}

#[test]
fn the_same_bundle_renders_byte_identical_pdfs() {
    let a = temp_dir("det-a");
    let b = temp_dir("det-b");
    for d in [&a, &b] {
        let o = report(&sample(), d, &[]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    for f in ["executive.pdf", "technical.pdf", "gdpr.pdf", "posture.pdf", "model.json"] {
        assert!(
            std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(),
            "{f} differs between renders"
        );
    }
}

/// Strings an attacker controls, each of which must appear literally in the PDF text.
const HOSTILE: &[&str] = &[
    "#read(\"/etc/passwd\")",
    "#panic(\"boom\")",
    "$x^2$",
    "]#panic(\"y\")[",
    "// not a comment",
    "*/ stray close",
    "{{triple}}",
    "= heading? no",
    "@ref <label>",
];

#[test]
fn attacker_text_stays_literal_in_every_report() {
    let dir = copy_sample("pdf-hostile");
    // Put hostile strings into the attacker's sign-in user agent, an NSG rule name (via the
    // resource id) and a blob name, which all reach the technical report.
    let signins = dir.join("evidence/signins.csv");
    let mut rdr = csv::ReaderBuilder::new().from_path(&signins).unwrap();
    let headers = rdr.headers().unwrap().clone();
    let ua = headers.iter().position(|h| h == "UserAgent").unwrap();
    let ip = headers.iter().position(|h| h == "IPAddress").unwrap();
    let tmp = dir.join("evidence/signins2.csv");
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_path(&tmp).unwrap();
    w.write_record(&headers).unwrap();
    let hostile = format!(
        "{} \u{202E}cod.exe tail-{} {}",
        HOSTILE.join(" "),
        "Z".repeat(5000),
        "\u{0}NUL 漢字 \u{1F600}"
    );
    for r in rdr.records() {
        let r = r.unwrap();
        let mut v: Vec<String> = r.iter().map(str::to_string).collect();
        if v[ip] == "198.51.100.77" {
            v[ua] = hostile.clone();
        }
        w.write_record(&v).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    std::fs::rename(&tmp, &signins).unwrap();
    let out = temp_dir("pdf-hostile-out");
    let o = report(&dir, &out, &["--kind", "technical"]);
    assert!(o.status.success(), "hostile render failed: {}", stderr(&o));
    let text = pdf_text(&out.join("technical.pdf"));
    let flat = squash(&text);
    for h in HOSTILE {
        assert!(has(&flat, h), "{h:?} not literal in the PDF");
    }
    assert!(has(&flat, "[U+202E]cod.exe"), "bidi override not made visible");
    assert!(has(&flat, "[U+0000]NUL"), "NUL not made visible");
    assert!(has(&flat, "[U+6F22][U+5B57]"), "CJK without a font not spelled out");
    assert!(has(&flat, "[U+1F600]"), "emoji not spelled out");
    assert!(flat.contains(&"Z".repeat(5000)), "the 5,000-character token was clipped");
}

#[test]
fn unknown_template_field_is_an_error_not_an_empty_string() {
    let tpl = temp_dir("tpl-strict");
    std::fs::write(tpl.join("executive-summary.hbs"), "Cost: {{figures.no_such_field}}").unwrap();
    let out = temp_dir("tpl-strict-out");
    let o = report(&sample(), &out, &["--templates", tpl.to_str().unwrap(), "--kind", "executive"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("executive-summary.hbs"), "{}", stderr(&o));
    assert!(std::fs::read_dir(&out).unwrap().next().is_none(), "nothing may be written");
}

/// Rewrites chosen columns of a CSV export with `f(column, old value)`.
fn rewrite_csv(path: &Path, columns: &[&str], f: &dyn Fn(&str, &str) -> String) {
    let mut rdr = csv::ReaderBuilder::new().from_path(path).unwrap();
    let headers = rdr.headers().unwrap().clone();
    let idx: Vec<(usize, String)> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| columns.contains(&h.trim_start_matches('\u{feff}')))
        .map(|(i, h)| (i, h.to_string()))
        .collect();
    assert_eq!(idx.len(), columns.len(), "columns missing in {}", path.display());
    let tmp = path.with_extension("tmp");
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_path(&tmp).unwrap();
    w.write_record(&headers).unwrap();
    for r in rdr.records() {
        let mut v: Vec<String> = r.unwrap().iter().map(str::to_string).collect();
        for (i, name) in &idx {
            v[*i] = f(name, &v[*i]);
        }
        w.write_record(&v).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn markup_in_every_free_text_field_renders_as_text_in_all_reports() {
    const MARK: &str = "#panic(\"x\") {{y}} $z$ ]";
    let dir = copy_sample("pdf-markup-everywhere");
    let ev = dir.join("evidence");
    rewrite_csv(
        &ev.join("signins.csv"),
        &["UserAgent", "UserDisplayName", "AppDisplayName", "ResourceDisplayName"],
        &|_, v| format!("{v} {MARK}"),
    );
    // Blob names: keep the account/container prefix so the request stays attributable.
    rewrite_csv(&ev.join("storage.csv"), &["ObjectKey", "UserAgentHeader"], &|c, v| {
        if c == "ObjectKey" && v.matches('/').count() >= 3 {
            format!("{v}-{}", MARK.replace(' ', "_"))
        } else {
            format!("{v} {MARK}")
        }
    });
    let alerts_path = ev.join("alerts.json");
    let mut alerts: serde_json::Value = serde_json::from_slice(&std::fs::read(&alerts_path).unwrap()).unwrap();
    let cols: Vec<String> = alerts["tables"][0]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    for row in alerts["tables"][0]["rows"].as_array_mut().unwrap() {
        for name in ["AlertName", "DisplayName", "Description"] {
            let i = cols.iter().position(|c| c == name).unwrap();
            let old = row[i].as_str().unwrap_or("").to_string();
            row[i] = serde_json::Value::String(format!("{old} {MARK}"));
        }
    }
    std::fs::write(&alerts_path, serde_json::to_vec(&alerts).unwrap()).unwrap();
    rewrite_csv(
        &dir.join("recommendations.csv"),
        &["recommendationDisplayName", "description"],
        &|_, v| format!("{v} {MARK}"),
    );
    let case = std::fs::read_to_string(dir.join("case.toml"))
        .unwrap()
        .replace(
            "title = \"Compromised Azure administrator account\"",
            "title = \"Compromised account #panic(\\\"x\\\") {{y}} $z$ ]\"",
        )
        .replace(
            "name = \"Names and contact details\"",
            "name = \"Names {{y}} #panic(\\\"x\\\") $z$ ]\"",
        );
    std::fs::write(dir.join("case.toml"), case).unwrap();
    let out = temp_dir("pdf-markup-everywhere-out");
    let o = report(&dir, &out, &[]);
    assert!(o.status.success(), "render failed: {}", stderr(&o));
    for report in ["executive.pdf", "technical.pdf", "gdpr.pdf", "posture.pdf"] {
        let text = squash(&pdf_text(&out.join(report)));
        assert!(
            has(&text, "Compromised account #panic(\"x\") {{y}} $z$ ]"),
            "{report}: title not literal"
        );
    }
    let technical = squash(&pdf_text(&out.join("technical.pdf")));
    assert!(
        technical.matches(&squash(MARK)).count() >= 5,
        "markup from evidence fields not shown literally"
    );
    // Blob names reach the model (and its counts) but the reports show containers, not names.
    let model: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("model.json")).unwrap()).unwrap();
    assert_eq!(model["figures"]["data_exfiltrated"], "2.45 GB");
}
