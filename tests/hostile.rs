//! Hostile inputs: every file under `tests/hostile/<source>/` sits next to a `.expected` file.
//! Its first line is the exact first line casefile must print ("ok" when the file must be
//! accepted); later lines must each appear in the message (`{bundle}` stands for the bundle
//! directory). For each file: no panic, the right exit code, nothing written, inputs unchanged.

use std::path::{Path, PathBuf};

use crate::util::{hashes, report, root, run, stderr, temp_dir};

fn corpus() -> Vec<(String, PathBuf)> {
    let base = root().join("tests/hostile");
    let mut out = Vec::new();
    for source in std::fs::read_dir(&base).expect("tests/hostile") {
        let source = source.unwrap().path();
        for f in std::fs::read_dir(&source).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e != "expected") {
                out.push((source.file_name().unwrap().to_string_lossy().into_owned(), f));
            }
        }
    }
    out.sort();
    out
}

const CASE_HEAD: &str =
    "[case]\nid = \"H-1\"\ntitle = \"hostile\"\norganisation = \"o\"\ntimezone = \"UTC\"\nas_of = \"2024-03-23T00:00:00Z\"\n";

/// A bundle holding one hostile evidence file.
fn bundle_for(source: &str, file: &Path) -> PathBuf {
    let dir = temp_dir(&format!("hostile-{source}"));
    std::fs::create_dir_all(dir.join("evidence")).unwrap();
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::copy(file, dir.join("evidence").join(&name)).unwrap();
    let case = if source == "recommendations" {
        format!("recommendations = \"evidence/{name}\"\n{CASE_HEAD}")
    } else {
        format!("{CASE_HEAD}[[evidence]]\npath = \"evidence/{name}\"\nkind = \"{source}\"\n")
    };
    std::fs::write(dir.join("case.toml"), case).unwrap();
    dir
}

fn check(source: &str, dir: &Path, expected: &str) {
    let before = hashes(dir);
    let out = dir.join("out");
    let o = report(dir, &out, &["--kind", "executive"]);
    let err = stderr(&o).replace(&dir.display().to_string(), "{bundle}");
    assert!(!err.contains("panicked"), "{source}: panic\n{err}");
    let mut lines = expected.lines();
    let first = lines.next().unwrap_or("ok");
    if first == "ok" {
        assert!(o.status.success(), "{}: expected success, got\n{err}", dir.display());
    } else {
        assert_eq!(o.status.code(), Some(1), "{}: {err}", dir.display());
        assert_eq!(err.lines().next().unwrap_or(""), first, "{}: whole message:\n{err}", dir.display());
        for line in lines {
            assert!(err.contains(line.trim()), "{}: `{line}` not in\n{err}", dir.display());
        }
        assert!(
            !out.exists() || std::fs::read_dir(&out).unwrap().next().is_none(),
            "output written despite the error"
        );
    }
    let after: Vec<_> = hashes(dir).into_iter().filter(|(p, _)| !p.starts_with(&out)).collect();
    assert_eq!(before, after, "{source}: inputs changed");
}

#[test]
fn hostile_corpus_fails_cleanly_or_is_accepted() {
    let files = corpus();
    assert!(files.len() >= 20, "hostile corpus has only {} files", files.len());
    for (source, file) in files {
        let expected =
            std::fs::read_to_string(file.with_extension("expected")).unwrap_or_else(|_| panic!("{} has no .expected", file.display()));
        check(&source, &bundle_for(&source, &file), &expected);
    }
}

#[test]
fn a_ten_megabyte_field_is_read_without_trouble() {
    let dir = temp_dir("hostile-bigfield");
    let big = "A".repeat(10 * 1024 * 1024);
    let csv = format!(
        "TimeGenerated [UTC],UserPrincipalName,IPAddress,ResultType,UserAgent\r\n2024-03-21T03:12:40Z,a@x.com,198.51.100.7,0,{big}\r\n"
    );
    std::fs::write(dir.join("big.csv"), csv).unwrap();
    std::fs::write(
        dir.join("case.toml"),
        format!("{CASE_HEAD}[[evidence]]\npath = \"big.csv\"\nkind = \"signins\"\n"),
    )
    .unwrap();
    check("signins", &dir, "ok");
}

#[test]
fn a_hundred_thousand_columns_are_read_without_trouble() {
    let dir = temp_dir("hostile-wide");
    let mut header = String::from("TimeGenerated [UTC],UserPrincipalName,IPAddress,ResultType");
    let mut row = String::from("2024-03-21T03:12:40Z,a@x.com,198.51.100.7,0");
    for i in 0..100_000 {
        header.push_str(&format!(",c{i}"));
        row.push_str(",x");
    }
    std::fs::write(dir.join("wide.csv"), format!("{header}\r\n{row}\r\n")).unwrap();
    std::fs::write(
        dir.join("case.toml"),
        format!("{CASE_HEAD}[[evidence]]\npath = \"wide.csv\"\nkind = \"signins\"\n"),
    )
    .unwrap();
    check("signins", &dir, "ok");
}

#[test]
fn every_broken_file_is_reported_in_one_run() {
    let dir = temp_dir("hostile-several");
    let base = root().join("tests/hostile");
    std::fs::copy(base.join("signins/no_zone.csv"), dir.join("a.csv")).unwrap();
    std::fs::copy(base.join("storage/bad_status.csv"), dir.join("b.csv")).unwrap();
    std::fs::write(
        dir.join("case.toml"),
        format!("{CASE_HEAD}[[evidence]]\npath = \"a.csv\"\nkind = \"signins\"\n[[evidence]]\npath = \"b.csv\"\nkind = \"storage\"\n"),
    )
    .unwrap();
    let o = run(&["analyze", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("a.csv:2") && err.contains("b.csv:2"), "{err}");
    assert!(err.contains("2 problems found"), "{err}");
}

#[test]
fn broken_case_files_report_every_problem_with_lines() {
    let dir = temp_dir("hostile-case");
    std::fs::write(
        dir.join("case.toml"),
        "[case]\nid = \"x\"\ntitle = \"t\"\norganisation = \"o\"\ntimezone = \"Mars/Olympus\"\nas_of = \"soon\"\n[environment]\ntrusted_ip_ranges = [\"10.0.0.0/99\"]\n",
    )
    .unwrap();
    let o = run(&["analyze", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    for needle in [
        "case.toml:5",
        "unknown time zone",
        "case.toml:6",
        "invalid timestamp",
        "case.toml:8",
        "invalid IP range",
        "3 problems found",
    ] {
        assert!(err.contains(needle), "{needle} not in {err}");
    }
}
