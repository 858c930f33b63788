//! Benchmarks, not tests: how fast casefile streams storage logs and how much memory that
//! takes as the log grows, and how long each report takes to render. Timings belong here,
//! never in `cargo test`.
//!
//! ```text
//! cargo run --release --bin bench -- [--records N] [--keep]
//! ```
//! It writes synthetic StorageBlobLogs exports of N/10 and N records (default 1,000,000;
//! the target is 10,000,000) into `target/bench`, analyses the sample case with each in place
//! of its storage log, and prints records per second and peak resident memory after each
//! size. Memory that stays flat between the two sizes is the point.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use casefile::cli::PdfStandard;

/// Peak resident set size of this process, from /proc (Linux); None elsewhere.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn rss() -> String {
    peak_rss_mb().map(|m| format!("{m:.0} MB")).unwrap_or_else(|| "unknown".into())
}

/// Writes `n` storage requests: the sample's attacker reads every 1000th record, the rest an
/// application's OAuth reads, all in time order.
fn write_storage_log(path: &Path, n: u64) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    w.write_all(b"TimeGenerated [UTC],AccountName,OperationName,AuthenticationType,StatusCode,CallerIpAddress,ObjectKey,ResponseBodySize,RequesterAppId,CorrelationId,UserAgentHeader\r\n")?;
    let start = chrono::DateTime::parse_from_rfc3339("2024-03-20T00:00:00Z").map_err(std::io::Error::other)?;
    for i in 0..n {
        let t = start + chrono::Duration::milliseconds((i * 50) as i64);
        let ts = t.format("%Y-%m-%dT%H:%M:%S%.3fZ");
        if i % 1000 == 0 {
            writeln!(w, "{ts},proddata,GetBlob,AccountKey,200,198.51.100.77:{},/proddata/customer-data/bench/{i}.parquet,{},,req-{i},azsdk-python-storage-blob/12.19.0\r", 40000 + i % 20000, 1000 + i % 5000)?;
        } else {
            writeln!(w, "{ts},proddata,GetBlob,OAuth,200,20.50.12.34:{},/proddata/customer-data/app/{}.parquet,{},a7e1c0de-1111-4222-8333-944455556666,req-{i},azsdk-net-Storage.Blobs/12.19.1\r", 50000 + i % 10000, i % 50_000, 2000 + i % 9000)?;
        }
    }
    w.flush()
}

/// A copy of the sample bundle without its storage log, which the caller generates.
fn bundle_with(dir: &Path) -> std::io::Result<PathBuf> {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/northgate");
    std::fs::create_dir_all(dir.join("evidence"))?;
    for f in [
        "evidence/signins.csv",
        "evidence/activity.csv",
        "evidence/alerts.json",
        "recommendations.csv",
    ] {
        std::fs::copy(sample.join(f), dir.join(f))?;
    }
    std::fs::copy(sample.join("case.toml"), dir.join("case.toml"))?;
    Ok(dir.to_path_buf())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let records: u64 = args
        .iter()
        .position(|a| a == "--records")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let keep = args.iter().any(|a| a == "--keep");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir)?;
    println!("casefile bench — storage streaming and report rendering (release build expected)\n");
    println!(
        "{:>12} {:>10} {:>10} {:>14} {:>12} {:>14}",
        "records", "file MB", "seconds", "records/s", "MB/s", "peak RSS"
    );
    for n in [records / 10, records] {
        let bundle = bundle_with(&dir.join(format!("bundle-{n}")))?;
        let log = bundle.join("evidence/storage.csv");
        write_storage_log(&log, n)?;
        let size = std::fs::metadata(&log)?.len() as f64 / 1e6;
        let t = Instant::now();
        let run = casefile::analyse_bundle(&bundle, None, None).map_err(|e| e.render())?;
        let secs = t.elapsed().as_secs_f64();
        let counted = run.analysis.storage_requests.provided().map(|r| r.0).unwrap_or(0);
        assert_eq!(counted, n, "every record must be read");
        println!(
            "{:>12} {:>10.0} {:>10.2} {:>14.0} {:>12.0} {:>14}",
            n,
            size,
            secs,
            n as f64 / secs,
            size / secs,
            rss()
        );
        if !keep {
            std::fs::remove_file(&log)?;
        }
    }
    println!("\nrender times for samples/northgate (warm process, release):");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/northgate");
    let run = casefile::analyse_bundle(&sample, None, None).map_err(|e| e.render())?;
    let model = casefile::report::model::build_model(&run);
    for (name, kind) in casefile::report::KINDS {
        let out = dir.join("reports");
        let t = Instant::now();
        casefile::report::render_reports(&model, kind, &out, None, PdfStandard::A2b, &run.case.dir).map_err(|e| e.render())?;
        println!("  {name:<10} {:>6.0} ms", t.elapsed().as_secs_f64() * 1000.0);
    }
    println!("peak RSS {}", rss());
    Ok(())
}
