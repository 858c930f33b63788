//! Golden JSON: the whole model of the sample case, compared as parsed JSON with a readable
//! list of differences. Regenerate with `CASEFILE_BLESS=1 cargo test` and review the diff.
//! The seed's figures are asserted separately in `cli`, so a bless cannot accept a wrong one.

use serde_json::Value;

use std::path::Path;

use crate::samples;
use crate::util::{model_json, root, sample};

fn diff(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    if out.len() > 40 {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                diff(
                    &format!("{path}.{k}"),
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                out.push(format!("{path}: {} items, expected {}", x.len(), y.len()));
            }
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff(&format!("{path}[{i}]"), p, q, out);
            }
        }
        _ if a != b => out.push(format!("{path}: got {a}, expected {b}")),
        _ => {}
    }
}

/// Compares (or, with CASEFILE_BLESS, rewrites) `tests/golden/<name>.json` for one bundle.
fn check_golden(name: &str, bundle: &Path) {
    let golden = root().join(format!("tests/golden/{name}.json"));
    let got = model_json(bundle);
    if std::env::var_os("CASEFILE_BLESS").is_some() {
        let mut text = serde_json::to_string_pretty(&got).unwrap();
        text.push('\n');
        std::fs::write(&golden, text).unwrap();
        return;
    }
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(&golden).unwrap_or_else(|_| panic!("tests/golden/{name}.json; run with CASEFILE_BLESS=1 to create")),
    )
    .unwrap();
    let mut out = Vec::new();
    diff("$", &got, &expected, &mut out);
    assert!(
        out.is_empty(),
        "{name}: model differs from the golden file (CASEFILE_BLESS=1 regenerates):\n{}",
        out.join("\n")
    );
}

#[test]
fn northgate_model_matches_the_golden_file() {
    check_golden("northgate", &sample());
}

/// Every further sample bundle has its golden file too (Brunnwald: see `samples::bundle`).
#[test]
fn other_sample_models_match_their_golden_files() {
    for (name, rel) in [("quiet", samples::QUIET), ("brunnwald", samples::BRUNNWALD)] {
        check_golden(name, &samples::bundle(rel));
    }
}

#[test]
fn the_model_is_identical_across_runs() {
    assert_eq!(model_json(&sample()), model_json(&sample()));
}
