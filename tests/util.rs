//! Shared test helpers: a fresh temporary directory per test, the built binary, and paths to
//! the sample and the shared public data.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn sample() -> PathBuf {
    root().join("samples/northgate")
}

/// `../shared/data/public`, the real exports no one on the team wrote.
pub fn public_data() -> PathBuf {
    root().join("../shared/data/public")
}

/// A new empty directory under the target directory, unique per call.
pub fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = root()
        .join("target/test-tmp")
        .join(format!("{name}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

pub fn casefile() -> Command {
    Command::new(env!("CARGO_BIN_EXE_casefile"))
}

pub fn run(args: &[&str]) -> Output {
    casefile().args(args).output().expect("run casefile")
}

/// `casefile report <bundle> --out <out> [extra…]`.
pub fn report(bundle: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "report",
        bundle.to_str().expect("utf-8 path"),
        "--out",
        out.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Copies the sample bundle into a temp dir so a test can alter it.
pub fn copy_sample(name: &str) -> PathBuf {
    let dir = temp_dir(name);
    copy_tree(&sample(), &dir);
    dir
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// SHA-256 of every file under `dir`, to prove inputs were not modified.
pub fn hashes(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    use sha2::Digest;
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).expect("read");
                out.push((p, sha2::Sha256::digest(&bytes).to_vec()));
            }
        }
    }
    out.sort();
    out
}

/// The analysis JSON of a bundle.
pub fn model_json(bundle: &Path) -> serde_json::Value {
    let o = run(&["analyze", bundle.to_str().expect("utf-8 path"), "--format", "json"]);
    assert!(o.status.success(), "analyze failed: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("valid JSON")
}

/// A control's assessment in a model, by id.
pub fn control<'a>(m: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    m["analysis"]["gaps"]["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no control {id}"))
}
