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

/// Runs `data` through `target` in this process; a panic becomes a failure line naming the
/// input.
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

/// Env var that makes [`replay_child`] replay one crasher: `<target>:<path>`.
const REPLAY_ENV: &str = "CASEFILE_FUZZ_REPLAY";

/// The child side of [`fuzz_crashers_no_longer_panic`]: a no-op unless `REPLAY_ENV` is set.
#[test]
fn replay_child() {
    if let Ok(spec) = std::env::var(REPLAY_ENV) {
        let (target, path) = spec.split_once(':').unwrap();
        let data = std::fs::read(path).unwrap();
        assert!(harness::run(target, &data), "no fuzz target named {target}");
    }
}

/// Every saved crasher (`tests/fuzz-crashers/<target>/<name>`), each replayed through the
/// target that found it in a child process of this test binary, so an abort (a failed
/// allocation, a stack overflow) fails this test with the file's name instead of killing
/// every other test. The directory must not be empty: the fuzzer found crashes (see
/// fuzz/README.md), and a fixed one stays here as a regression test.
#[test]
fn fuzz_crashers_no_longer_panic() {
    let dir = root().join("tests/fuzz-crashers");
    let mut crashers = Vec::new();
    for target_dir in files_in(&dir).into_iter().filter(|p| p.is_dir()) {
        let target = target_dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            harness::TARGETS.contains(&target.as_str()),
            "{}: no fuzz target named {target}",
            target_dir.display()
        );
        for file in files_in(&target_dir).into_iter().filter(|p| p.is_file()) {
            crashers.push((target.clone(), file));
        }
    }
    assert!(!crashers.is_empty(), "tests/fuzz-crashers holds no crasher");
    let exe = std::env::current_exe().unwrap();
    let mut failures = Vec::new();
    for (target, file) in &crashers {
        let mut child = std::process::Command::new(&exe)
            .args(["fuzzed::replay_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(REPLAY_ENV, format!("{target}:{}", file.display()))
            .env("RUST_BACKTRACE", "0")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Read stderr on a thread so a chatty child cannot block on a full pipe.
        let mut stderr = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
            s
        });
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if started.elapsed() > std::time::Duration::from_secs(60) {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let err = reader.join().unwrap();
        match status {
            Some(s) if s.success() => {}
            Some(s) => {
                let why: Vec<&str> = err
                    .lines()
                    .filter(|l| {
                        l.contains("panicked")
                            || l.contains("memory allocation")
                            || l.contains("overflow")
                            || l.starts_with("no fuzz target")
                    })
                    .take(2)
                    .collect();
                failures.push(format!("{target} on {} ({s}): {}", file.display(), why.join(" | ")));
            }
            None => failures.push(format!("{target} on {}: still running after 60 s", file.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} crashers still fail:\n{}",
        failures.len(),
        crashers.len(),
        failures.join("\n")
    );
}

/// The `storage` target reads each input in chunks of one size taken from its bytes; the
/// inputs that found a chunked reading differing from the whole (and every hostile input)
/// are read here in chunks of every size it can take, 3 to 130 bytes (7 and 61 among them,
/// the sizes the target used when they were found).
#[test]
fn storage_reads_alike_in_chunks_of_every_size() {
    let mut inputs = files_in(&root().join("tests/fuzz-crashers/storage"));
    inputs.extend(files_in(&root().join("tests/hostile/storage")));
    let mut failures = Vec::new();
    for file in inputs
        .iter()
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "expected"))
    {
        let data = std::fs::read(file).unwrap();
        for chunk_bytes in 3..=130 {
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| harness::storage_chunks_agree(&data, chunk_bytes))) {
                let msg = p.downcast_ref::<String>().cloned().unwrap_or_default();
                failures.push(format!("{} in {chunk_bytes}-byte chunks: {msg}", file.display()));
                break;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
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
