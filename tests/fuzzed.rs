//! Replays fuzzing results through the exact harness the fuzz targets use
//! (`fuzz/src/harness.rs`, see fuzz/README.md): every saved crasher in
//! `tests/fuzz-crashers/<target>/` and every hostile input in `tests/hostile/` must come back
//! from every parser as `Ok` or `Err`, never as a panic.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

#[path = "../fuzz/src/harness.rs"]
#[allow(dead_code)]
mod harness;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    out.sort();
    out
}

/// Runs `data` through `target`; a panic becomes a failure line naming the input.
fn replay(target: &str, file: &Path, failures: &mut Vec<String>) {
    let data = std::fs::read(file).unwrap();
    match catch_unwind(AssertUnwindSafe(|| harness::run(target, &data))) {
        Ok(true) => {}
        Ok(false) => failures.push(format!("{}: no fuzz target named {target}", file.display())),
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("{target} panicked on {}: {msg}", file.display()));
        }
    }
}

/// Every minimised crasher the fuzzer found, replayed through the target that found it.
#[test]
fn fuzz_crashers_no_longer_panic() {
    let dir = root().join("tests/fuzz-crashers");
    let mut failures = Vec::new();
    let mut count = 0;
    if dir.is_dir() {
        for target_dir in files_in(&dir).into_iter().filter(|p| p.is_dir()) {
            let target = target_dir.file_name().unwrap().to_string_lossy().into_owned();
            for file in files_in(&target_dir).into_iter().filter(|p| p.is_file()) {
                count += 1;
                replay(&target, &file, &mut failures);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} crashers panic:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every hostile input (tests/hostile/**, the `.expected` files excepted) through every
/// parser, whatever it was written for: a CSV read as xlsx parts, TOML or JSON Lines must
/// still come back as an error, not a panic.
#[test]
fn hostile_inputs_do_not_panic_any_parser() {
    let mut inputs = Vec::new();
    for kind in files_in(&root().join("tests/hostile")) {
        if kind.is_dir() {
            inputs.extend(
                files_in(&kind)
                    .into_iter()
                    .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "expected")),
            );
        }
    }
    assert!(inputs.len() >= 20, "tests/hostile holds only {} inputs", inputs.len());
    let mut failures = Vec::new();
    for file in &inputs {
        for target in harness::TARGETS {
            replay(target, file, &mut failures);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The harness packs NUL-separated XML parts into a real workbook: the sample's
/// recommendations sheet rebuilt that way must load, or the xlsx fuzz target would only ever
/// reach the zip reader's error paths.
#[test]
fn xlsx_harness_builds_a_readable_workbook() {
    let seed = root().join("fuzz/seeds/recommendations.xlsx");
    let data = std::fs::read(&seed).unwrap();
    let mut failures = Vec::new();
    replay("recommendations_xlsx", &seed, &mut failures);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(data.starts_with(b"PK"));
    let seeded = casefile::posture::recommendations::load_recommendations(&seed);
    assert!(seeded.is_ok_and(|e| e.records == 7), "the workbook seed itself must load");
    let sheet = "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>\
        <row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>recommendationName</t></is></c><c r=\"B1\" t=\"inlineStr\"><is><t>state</t></is></c></row>\
        <row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>4fb67663-9ab9-475d-b026-8c544cced439</t></is></c><c r=\"B2\" t=\"inlineStr\"><is><t>Unhealthy</t></is></c></row>\
        </sheetData></worksheet>";
    let dir = std::env::temp_dir().join(format!("casefile-fuzzed-xlsx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("built.xlsx");
    std::fs::write(&path, harness::xlsx_from_parts(sheet.as_bytes())).unwrap();
    let r = casefile::posture::recommendations::load_recommendations(&path);
    std::fs::remove_dir_all(&dir).unwrap();
    match r {
        Ok(export) => assert_eq!((export.records, export.items.len()), (1, 1)),
        Err(e) => panic!("the harness's workbook did not load: {e}"),
    }
}
