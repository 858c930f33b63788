//! Regression tests, named after the issue whose work found the bug.

use crate::util::{run, stderr, temp_dir};

const CASE: &str = "[case]\nid = \"r\"\ntitle = \"t\"\norganisation = \"o\"\ntimezone = \"UTC\"\nas_of = \"2024-03-23T00:00:00Z\"\n[[evidence]]\npath = \"s.csv\"\n";

// See: issue #2 — csv reports lines one too low in CRLF files, so messages pointed at the
// line above the bad record.
#[test]
fn r2_crlf_error_names_the_real_line() {
    let dir = temp_dir("r2-crlf");
    std::fs::write(dir.join("case.toml"), CASE).unwrap();
    std::fs::write(
        dir.join("s.csv"),
        "TimeGenerated [UTC],AccountName,ObjectKey,AuthenticationType,StatusCode,OperationName\r\n2024-03-21T03:00:00Z,a,/a/c/b,OAuth,200,GetBlob\r\n2024-03-21T03:00:00Z,a,/a/c/b,OAuth,2x0,GetBlob\r\n",
    )
    .unwrap();
    let o = run(&["analyze", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("s.csv:3 (record 2), field \"StatusCode\""), "{}", stderr(&o));
}

// See: issue #2 — 2,445,000,000 bytes printed as "2.44 GB" through binary float rounding.
#[test]
fn r2_seed_total_prints_as_2_45_gb() {
    assert_eq!(casefile::types::Bytes(2_445_000_000).human(), "2.45 GB");
}
