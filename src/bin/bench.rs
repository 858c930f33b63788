//! Benchmarks, not tests: how fast casefile reads storage logs against DuckDB on the same
//! files, how much memory that takes as the log grows, and how long each report takes to
//! render. Timings belong here, never in `cargo test`.
//!
//! ```text
//! cargo run --release --bin bench -- [--records N] [--big M] [--repeat R] [--keep] [--baseline]
//!                                    [--tree-files F] [--events E] [--ingest-only] [--no-duckdb]
//!                                    [--reports-only]
//! ```
//! It builds N (default 1,000,000) storage requests from the Northgate sample's real rows
//! (its attacker's reads every 1000th request, its application's reads otherwise) in both
//! shapes: a Log Analytics `StorageBlobLogs` CSV export and raw `insights-logs-storageread`
//! JSON Lines. Each is analysed in a fresh process (so its peak RSS is its own), R times
//! (default 3), best time kept. When `python3 -c "import duckdb"` works, DuckDB runs the
//! equivalent query on the same file (the attacker's successful GetBlob requests: count,
//! bytes and distinct objects per container), in alternation with casefile (a round is one
//! run of each, every run after reading the file once so both start from the page cache),
//! and the ratio printed is the median of the rounds' ratios: on a shared machine whose
//! speed drifts, a ratio of two best times taken minutes apart says more about the drift
//! than about the programs. The tree below is compared with its one file the same way.
//! Wall and CPU time (user + system) are both printed: on a shared machine the CPU time is
//! the steadier figure. `SHA s` is the file's SHA-256 alone on one thread, taken as
//! `analyze` takes it (its mapped splitter: read-only maps of chunk-sized windows, hashed in
//! order; best of R): every evidence byte is hashed for the inventory and DuckDB hashes nothing,
//! and one file's hash cannot be split between cores, so this is the floor of `analyze`'s
//! wall time on that file whatever the parse costs; on C cores the wall time is also at
//! least (its CPU time) ÷ C.
//! The results column is a digest of the whole analysis and file inventory, the
//! same in every run (checked) and comparable before and after a change. With `--big M`
//! both shapes are also built with M records for the memory check (peak RSS must stay
//! flat). `--ingest-only` stops after the shapes (no tree, no reports).
//! `--baseline` also times the reading casefile did before issue 10 (hash, then one thread
//! through the general record reader), for before/after figures; its ratio is its best time
//! over DuckDB's (not run in rounds with DuckDB).
//!
//! Then the same requests as a tree of `--tree-files` (default 1,000) hourly `PT1H.json`
//! blobs laid out as azcopy downloads a diagnostic-settings archive: `analyze` timed as
//! above, and `validate` (the `casefile` binary, with the tree's summary). Then the sample
//! with `--events` (default 10,000) extra attacker sign-ins, a password spray, each a
//! timeline event: each of the four reports rendered in a fresh process, with its time and
//! peak RSS against the target (≤ 3 s, ≤ 500 MB per PDF). `--reports-only` runs just that.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use casefile::cli::PdfStandard;

/// Peak resident set size of this process, from /proc (Linux); None elsewhere.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// CPU seconds (user and system, all threads) this process has used, from /proc (Linux, in
/// USER_HZ = 100 ticks a second); None elsewhere. On a shared machine the wall time of a
/// render depends on the load, its CPU time much less.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// The sample's header, then its storage rows split into the attacker's (198.51.100.0/24)
/// and the rest.
type Templates = (csv::StringRecord, Vec<csv::StringRecord>, Vec<csv::StringRecord>);

fn templates() -> Result<Templates, Box<dyn std::error::Error>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/northgate/evidence/storage.csv");
    let text = std::fs::read_to_string(path)?;
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header = reader.headers()?.clone();
    let ip = header.iter().position(|h| h == "CallerIpAddress").ok_or("no CallerIpAddress")?;
    let (mut attacker, mut other) = (Vec::new(), Vec::new());
    for r in reader.records() {
        let r = r?;
        if r.get(ip).is_some_and(|v| v.starts_with("198.51.100.")) {
            attacker.push(r);
        } else {
            other.push(r);
        }
    }
    Ok((header, attacker, other))
}

/// The `i`-th generated request, as (column, value) pairs in header order.
fn row(i: u64, header: &csv::StringRecord, attacker: &[csv::StringRecord], other: &[csv::StringRecord]) -> Vec<String> {
    let template = if i.is_multiple_of(1000) {
        &attacker[(i / 1000) as usize % attacker.len()]
    } else {
        &other[i as usize % other.len()]
    };
    let start = chrono::DateTime::parse_from_rfc3339("2024-03-20T00:00:00Z").map(|t| t.with_timezone(&chrono::Utc));
    let at = start
        .map(|s| s + chrono::Duration::milliseconds((i * 50) as i64))
        .unwrap_or_default();
    header
        .iter()
        .zip(template.iter())
        .map(|(h, v)| match h {
            "TimeGenerated [UTC]" => at.format("%-m/%-d/%Y, %-I:%M:%S%.3f %p").to_string(),
            "CorrelationId" => format!("{i:08x}-bench-0000-0000-000000000000"),
            _ => v.to_string(),
        })
        .collect()
}

fn write_csv(path: &Path, n: u64) -> Result<(), Box<dyn std::error::Error>> {
    let (header, attacker, other) = templates()?;
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?));
    w.write_record(&header)?;
    for i in 0..n {
        w.write_record(row(i, &header, &attacker, &other))?;
    }
    w.flush()?;
    Ok(())
}

/// Raw resource-log records (`insights-logs-storageread`), one per line, with the fields a
/// diagnostic setting writes.
fn write_jsonl(path: &Path, n: u64) -> Result<(), Box<dyn std::error::Error>> {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    write_jsonl_records(&mut w, 0..n, &|at| at)?;
    w.flush()?;
    Ok(())
}

/// A diagnostic-settings archive as azcopy downloads it: N requests in `files` hourly
/// `PT1H.json` blobs (`…/y=2024/m=03/d=20/h=00/m=00/PT1H.json`), each request moved into its
/// file's hour.
fn write_tree(root: &Path, n: u64, files: u64) -> Result<(), Box<dyn std::error::Error>> {
    let start = chrono::DateTime::parse_from_rfc3339("2024-03-20T00:00:00Z")?.with_timezone(&chrono::Utc);
    let per_file = n.div_ceil(files).max(1);
    for f in 0..files {
        let hour = start + chrono::Duration::hours(f as i64);
        let dir = root.join(hour.format("y=%Y/m=%m/d=%d/h=%H/m=00").to_string());
        std::fs::create_dir_all(&dir)?;
        let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(dir.join("PT1H.json"))?);
        let range = (f * per_file).min(n)..((f + 1) * per_file).min(n);
        let first = range.start;
        let spacing = 3_600_000 / per_file as i64;
        write_jsonl_records(&mut w, range, &|at: chrono::DateTime<chrono::Utc>| {
            let i = (at - start).num_milliseconds() / 50;
            hour + chrono::Duration::milliseconds((i - first as i64) * spacing)
        })?;
        w.flush()?;
    }
    Ok(())
}

type Retime<'a> = &'a dyn Fn(chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc>;

/// Requests `range` as raw resource-log records, their times passed through `retime`.
fn write_jsonl_records(w: &mut impl Write, range: std::ops::Range<u64>, retime: Retime) -> Result<(), Box<dyn std::error::Error>> {
    let (header, attacker, other) = templates()?;
    let col = |name: &str| header.iter().position(|h| h == name);
    let cols: Vec<Option<usize>> = [
        "TimeGenerated [UTC]",
        "_ResourceId",
        "OperationName",
        "StatusCode",
        "StatusText",
        "DurationMs",
        "CallerIpAddress",
        "CorrelationId",
        "AuthenticationType",
        "AuthenticationHash",
        "RequesterAppId",
        "RequesterUpn",
        "RequesterObjectId",
        "Location",
        "AccountName",
        "UserAgentHeader",
        "ClientRequestId",
        "ObjectKey",
        "ResponseBodySize",
        "Uri",
        "ServerLatencyMs",
        "RequestHeaderSize",
        "ResponseHeaderSize",
        "Etag",
    ]
    .iter()
    .map(|c| col(c))
    .collect();
    for i in range {
        let r = row(i, &header, &attacker, &other);
        let v = |k: usize| cols[k].and_then(|c| r.get(c)).map(String::as_str).unwrap_or("");
        let num = |k: usize| v(k).parse::<u64>().unwrap_or(0);
        let at = retime(chrono::NaiveDateTime::parse_from_str(v(0), "%m/%d/%Y, %I:%M:%S%.f %p")?.and_utc());
        let mut identity = serde_json::json!({"type": v(8), "tokenHash": v(9)});
        if !v(10).is_empty() || !v(11).is_empty() {
            identity["requester"] = serde_json::json!({"appId": v(10), "upn": v(11), "objectId": v(12)});
        }
        let rec = serde_json::json!({
            "time": at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            "resourceId": v(1), "category": "StorageRead", "operationName": v(2),
            "operationVersion": "2023-11-03", "schemaVersion": "1.0",
            "statusCode": num(3), "statusText": v(4), "durationMs": num(5),
            "callerIpAddress": v(6), "correlationId": v(7), "identity": identity, "location": v(13),
            "properties": {
                "accountName": v(14), "userAgentHeader": v(15), "clientRequestId": v(16), "etag": v(23),
                "serviceType": "blob", "objectKey": v(17), "metricResponseType": "Success",
                "serverLatencyMs": num(20), "requestHeaderSize": num(21), "responseHeaderSize": num(22),
                "responseBodySize": num(18), "tlsVersion": "TLS 1.2"
            },
            "uri": v(19), "protocol": "HTTPS", "resourceType": "Microsoft.Storage/storageAccounts/blobServices"
        });
        serde_json::to_writer(&mut *w, &rec)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// A password spray: the sample's sign-ins plus `n` failed sign-ins from the attacker's
/// address (the sample's first), 0.3 s apart before its successful one, each a timeline event.
fn write_spray(path: &Path, n: u64) -> Result<(), Box<dyn std::error::Error>> {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/northgate/evidence/signins.csv");
    let text = std::fs::read_to_string(sample)?;
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header = reader.headers()?.clone();
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
    let col = |name: &str| header.iter().position(|h| h == name);
    let ip = col("IPAddress").ok_or("no IPAddress")?;
    let template = rows
        .iter()
        .find(|r| r.get(ip).is_some_and(|v| v.starts_with("198.51.100.")))
        .ok_or("no attacker sign-in in the sample")?;
    let mut w = csv::Writer::from_writer(BufWriter::new(std::fs::File::create(path)?));
    w.write_record(&header)?;
    for r in &rows {
        w.write_record(r)?;
    }
    let start = chrono::DateTime::parse_from_rfc3339("2024-03-21T02:00:00Z")?.with_timezone(&chrono::Utc);
    for i in 0..n {
        let at = (start + chrono::Duration::milliseconds(i as i64 * 300))
            .format("%-m/%-d/%Y, %-I:%M:%S%.3f %p")
            .to_string();
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
        w.write_record(&fields)?;
    }
    w.flush()?;
    Ok(())
}

/// A copy of the sample bundle whose storage evidence is `log` (moved into it).
fn bundle_with(dir: &Path, log_name: &str) -> std::io::Result<PathBuf> {
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
    let toml = std::fs::read_to_string(sample.join("case.toml"))?
        .replace("path = \"evidence/storage.csv\"", &format!("path = \"evidence/{log_name}\""));
    std::fs::write(dir.join("case.toml"), toml)?;
    Ok(dir.to_path_buf())
}

/// SHA-256 of the analysis and of the file inventory as JSON, so runs before and after a
/// change can be checked to give the same results, not just the same count.
fn digest(run: &casefile::CaseRun) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(&run.analysis).unwrap_or_default());
    for f in &run.bundle.files {
        h.update(format!(
            "{} {} {} {:?} {:?} {} {}\n",
            f.sha256,
            f.bytes,
            f.records,
            f.first,
            f.last,
            f.duplicates,
            f.path.display()
        ));
    }
    h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Child mode: analyse one bundle, print "seconds peak_rss_mb requests cpu_seconds digest".
fn child(bundle: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let t = Instant::now();
    let cpu = cpu_seconds().unwrap_or(0.0);
    let run = casefile::analyse_bundle(bundle, None, None).map_err(|e| e.render())?;
    let secs = t.elapsed().as_secs_f64();
    let cpu = cpu_seconds().unwrap_or(0.0) - cpu;
    let counted = run.analysis.storage_requests.provided().map(|r| r.0).unwrap_or(0);
    println!(
        "{secs} {} {counted} {cpu} {} {}",
        peak_rss_mb().unwrap_or(0.0),
        digest(&run),
        figures_digest(&run)
    );
    Ok(())
}

/// SHA-256 of the report's key figures (exposure, records, cost: display strings that cite
/// no file or line), equal for the same records however they are split into files.
fn figures_digest(run: &casefile::CaseRun) -> String {
    use sha2::{Digest, Sha256};
    let figures = serde_json::to_vec(&casefile::report::model::build_model(run).figures).unwrap_or_default();
    Sha256::digest(figures).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Child mode `--child-report BUNDLE KIND`: analyse one bundle and render one report kind;
/// prints "timeline_events milliseconds peak_rss_mb cpu_seconds" (the analysis is in the
/// peak, not in the times).
fn child_report(bundle: &Path, kind: &str, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let (_, kind) = casefile::report::KINDS
        .into_iter()
        .find(|(name, _)| *name == kind)
        .ok_or_else(|| format!("no report kind {kind}"))?;
    let run = casefile::analyse_bundle(bundle, None, None).map_err(|e| e.render())?;
    let model = casefile::report::model::build_model(&run);
    // As `casefile report` does: the run is freed once the model is built.
    let (entries, dir) = (run.analysis.timeline.len(), run.case.dir.clone());
    drop(run);
    let (t, cpu) = (Instant::now(), cpu_seconds().unwrap_or(0.0));
    casefile::report::render_reports(&model, kind, out, None, PdfStandard::A2b, &dir, 0).map_err(|e| e.render())?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let cpu = cpu_seconds().unwrap_or(0.0) - cpu;
    println!("{entries} {ms} {} {cpu}", peak_rss_mb().unwrap_or(0.0));
    Ok(())
}

/// Child mode `--baseline`: the reading before issue 10, for before/after figures: the file
/// hashed in one read, then every record through the general reader (`records::read_table`,
/// `storage::parse_row`) into one aggregator on one thread.
fn child_baseline(bundle: &Path) -> Result<(), Box<dyn std::error::Error>> {
    use casefile::input::table::{self as records, Visit};
    let t = Instant::now();
    let case = casefile::case::load_case(bundle).map_err(|e| e.render())?;
    let data = casefile::bundle::load(&case.dir, &case.evidence).map_err(|e| e.render())?;
    let prep = casefile::analysis::prepare(&case, &data);
    let mut agg = casefile::analysis::exposure::StorageAggregator::new(&prep.scope, &case.environment, prep.key_listings.clone());
    for f in data.storage.provided().cloned().unwrap_or_default() {
        casefile::input::hash::hash_file(&f, "storage log").map_err(|e| e.render())?;
        records::read_table(&f, "storage log", &mut |row| {
            agg.add(casefile::bundle::storage::parse_row(row)?);
            Ok(Visit::Continue)
        })
        .map_err(|e| e.render())?;
    }
    let counted = agg.finish().requests;
    println!(
        "{} {} {counted} {} -",
        t.elapsed().as_secs_f64(),
        peak_rss_mb().unwrap_or(0.0),
        cpu_seconds().unwrap_or(0.0)
    );
    Ok(())
}

/// One measured run: the best wall time, its CPU time and peak RSS, and the digest of the
/// results (the same in every run, or the bench fails).
struct Measured {
    secs: f64,
    cpu: f64,
    rss: f64,
    digest: String,
    figures: String,
}

/// Runs the child once on `bundle`: its time, CPU time, peak RSS and digests. `expect`:
/// the requests it must count.
fn measure_once(bundle: &Path, expect: u64, mode: &str) -> Result<Measured, Box<dyn std::error::Error>> {
    let out = Command::new(std::env::current_exe()?).arg(mode).arg(bundle).output()?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let words: Vec<&str> = text.split_whitespace().collect();
    let num = |i: usize| words.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let counted = num(2) as u64;
    if counted != expect {
        return Err(format!("read {counted} requests, expected {expect}").into());
    }
    Ok(Measured {
        secs: num(0),
        rss: num(1),
        cpu: num(3),
        digest: words.get(4).unwrap_or(&"-").to_string(),
        figures: words.get(5).unwrap_or(&"-").to_string(),
    })
}

/// The best of several runs of one program on one input (the results digest checked equal
/// in every run), and each run's time, in order, to pair with another program's rounds.
#[derive(Default)]
struct Runs {
    best: Option<Measured>,
    times: Vec<f64>,
}

impl Runs {
    fn add(&mut self, run: Measured) -> Result<(), Box<dyn std::error::Error>> {
        if let Some(b) = &self.best {
            if b.digest != run.digest {
                return Err(format!("results differ between runs: {} and {}", b.digest, run.digest).into());
            }
        }
        self.times.push(run.secs);
        if self.best.as_ref().is_none_or(|b| run.secs < b.secs) {
            self.best = Some(run);
        }
        Ok(())
    }

    fn best(self) -> Result<Measured, Box<dyn std::error::Error>> {
        self.best.ok_or_else(|| "no run".into())
    }
}

/// The median of the ratios of paired rounds (`a[i] / b[i]`): two programs timed in
/// alternation see the same moments of a shared machine, so their ratio is steadier than
/// the ratio of two best times taken minutes apart.
fn paired_ratio(a: &[f64], b: &[f64]) -> f64 {
    let mut r: Vec<f64> = a.iter().zip(b).filter(|(_, y)| **y > 0.0).map(|(x, y)| x / y).collect();
    r.sort_by(f64::total_cmp);
    match r.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => r[n / 2],
        n => (r[n / 2 - 1] + r[n / 2]) / 2.0,
    }
}

/// Reads `paths` (files, or directories walked) once, so that every timed run starts
/// from the page cache: a machine that reclaims cold file pages (DAMON, memory pressure)
/// would otherwise make whichever program runs first after a pause read from disk.
fn warm(paths: &[&Path]) -> std::io::Result<()> {
    for path in paths {
        for entry in walkdir::WalkDir::new(path) {
            let entry = entry.map_err(std::io::Error::other)?;
            if entry.file_type().is_file() {
                std::io::copy(&mut std::fs::File::open(entry.path())?, &mut std::io::sink())?;
            }
        }
    }
    Ok(())
}

/// `repeat` rounds of the child on `bundle` (its storage log at `log`), each after
/// warming the log.
fn measure(bundle: &Path, log: &Path, repeat: usize, expect: u64, mode: &str) -> Result<Measured, Box<dyn std::error::Error>> {
    let mut runs = Runs::default();
    for _ in 0..repeat.max(1) {
        warm(&[log])?;
        runs.add(measure_once(bundle, expect, mode)?)?;
    }
    runs.best()
}

/// One run of DuckDB on the equivalent query (a fresh connection in a fresh process), when
/// its Python module is installed: wall seconds, peak RSS (MB) and the CPU seconds of the run.
fn duckdb(path: &Path, json: bool) -> Option<(f64, f64, f64)> {
    let source = if json {
        format!("read_json('{}', format='newline_delimited')", path.display())
    } else {
        format!("read_csv('{}', header=true)", path.display())
    };
    let (ip, op, status, key, size) = if json {
        (
            "callerIpAddress",
            "operationName",
            "statusCode",
            "properties.objectKey",
            "properties.responseBodySize",
        )
    } else {
        ("CallerIpAddress", "OperationName", "StatusCode", "ObjectKey", "ResponseBodySize")
    };
    let query = format!(
        "SELECT split_part({key}, '/', 3) AS container, count(*), sum({size}), count(DISTINCT {key}) \
         FROM {source} WHERE {ip} LIKE '198.51.100.%' AND {op} = 'GetBlob' AND {status} IN (200, 206) \
         GROUP BY 1 ORDER BY 1"
    );
    let script = format!(
        "import duckdb, time, resource\ndef cpu():\n    u = resource.getrusage(resource.RUSAGE_SELF)\n    return u.ru_utime + u.ru_stime\nt, c = time.perf_counter(), cpu()\ncon = duckdb.connect()\ncon.execute(\"\"\"{query}\"\"\").fetchall()\ncon.close()\ns, c = time.perf_counter() - t, cpu() - c\nprint(s, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, c)\n"
    );
    let out = Command::new("python3").arg("-c").arg(script).output().ok()?;
    if !out.status.success() {
        eprintln!("duckdb failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<f64> = text.split_whitespace().filter_map(|v| v.parse().ok()).collect();
    Some((*f.first()?, *f.get(1)?, *f.get(2)?))
}

fn has_duckdb() -> bool {
    Command::new("python3")
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The JSON Lines requests as a tree of hourly files: `analyze` (fresh process) and
/// `validate`'s tree summary (the `casefile` binary, when built alongside).
fn tree_case(dir: &Path, records: u64, files: u64, repeat: usize) -> Result<(), Box<dyn std::error::Error>> {
    let bundle = bundle_with(&dir.join(format!("bundle-tree-{records}-{files}")), "insights-logs-storageread/")?;
    let root = bundle.join("evidence/insights-logs-storageread/resourceId=/SUBSCRIPTIONS/BENCH/PROVIDERS/MICROSOFT.STORAGE/STORAGEACCOUNTS/PRODDATA/BLOBSERVICES/DEFAULT");
    if !root.exists() {
        write_tree(&root, records, files)?;
    }
    let mb = walk_bytes(&root) as f64 / 1e6;
    let one = one_file_of(&bundle, &dir.join(format!("bundle-tree-{records}-{files}-as-one")))?;
    let one_log = one.join("evidence");
    // The tree and the one file in alternation, each run on a warm page cache.
    let (mut tree, mut single) = (Runs::default(), Runs::default());
    for _ in 0..repeat.max(1) {
        warm(&[&root])?;
        tree.add(measure_once(&bundle, records, "--child")?)?;
        warm(&[&one_log])?;
        single.add(measure_once(&one, records, "--child")?)?;
    }
    let ratio = paired_ratio(&tree.times, &single.times);
    let (tree, single) = (tree.best()?, single.best()?);
    println!(
        "{:<22} {:>10} {:>8.0} {:>8.2} {:>12.0} {:>8.0} {:>6.0} MB   ({files} hourly PT1H.json files)",
        "raw JSON Lines, tree",
        records,
        mb,
        tree.secs,
        records as f64 / tree.secs,
        mb / tree.secs,
        tree.rss
    );
    if tree.figures != single.figures {
        return Err(format!(
            "the tree's figures ({}) differ from its files' as one file ({})",
            tree.figures, single.figures
        )
        .into());
    }
    println!(
        "  the same records as one file: {:.2} s ({:.2} s CPU); tree/one file {ratio:.2} (median of paired rounds; target ≤ 1.0), figures equal",
        single.secs,
        single.cpu,
    );
    let exe = std::env::current_exe()?.with_file_name("casefile");
    if exe.exists() {
        let t = Instant::now();
        let out = Command::new(&exe).arg("validate").arg(&bundle).arg("--quiet").output()?;
        let secs = t.elapsed().as_secs_f64();
        let text = String::from_utf8_lossy(&out.stdout);
        let summary = text.lines().find(|l| l.starts_with("tree ")).unwrap_or("(no tree line)");
        println!(
            "  validate: {secs:.2} s (whole run, new process): {}",
            summary.chars().take(110).collect::<String>()
        );
        if let Some(gaps) = text.lines().skip_while(|l| !l.starts_with("tree ")).nth(1) {
            println!("  {}", gaps.trim());
        }
    }
    Ok(())
}

/// A bundle whose storage log is the tree's files concatenated in the order casefile reads
/// them (built once, kept): the same records in one file, to compare the tree with.
fn one_file_of(tree_bundle: &Path, dir: &Path) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let bundle = bundle_with(dir, "storage.json")?;
    let log = bundle.join("evidence/storage.json");
    if !log.exists() {
        let files = casefile::input::tree::expand(tree_bundle, "evidence/insights-logs-storageread/")?.unwrap_or_default();
        let partial = log.with_extension("partial");
        let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&partial)?);
        for f in files {
            std::io::copy(&mut std::fs::File::open(f)?, &mut w)?;
        }
        w.flush()?;
        drop(w);
        std::fs::rename(partial, &log)?;
    }
    Ok(bundle)
}

fn walk_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .fold(0, |n, e| match e.file_type() {
            Ok(t) if t.is_dir() => n + walk_bytes(&e.path()),
            _ => n + e.metadata().map_or(0, |m| m.len()),
        })
}

/// Target for each PDF of the many-event case: seconds and peak RSS (MB).
const REPORT_TARGET: (f64, f64) = (3.0, 500.0);

/// The sample with `events` extra attacker sign-ins: each report rendered in a fresh process
/// (its own time and peak RSS, analysis included in the peak), checked against the target.
fn spray_case(dir: &Path, events: u64) -> Result<(), Box<dyn std::error::Error>> {
    let bundle = bundle_with(&dir.join(format!("bundle-spray-{events}")), "storage.csv")?;
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/northgate/evidence/storage.csv"),
        bundle.join("evidence/storage.csv"),
    )?;
    write_spray(&bundle.join("evidence/signins.csv"), events)?;
    let (secs_max, mb_max) = REPORT_TARGET;
    println!(
        "
{events} extra attacker sign-ins (password spray), each report in its own process (target ≤ {secs_max} s, ≤ {mb_max} MB):"
    );
    for (name, _) in casefile::report::KINDS {
        let out = Command::new(std::env::current_exe()?)
            .arg("--child-report")
            .arg(&bundle)
            .arg(name)
            .output()?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let f: Vec<f64> = text.split_whitespace().filter_map(|v| v.parse().ok()).collect();
        let [entries, ms, rss, cpu] = f[..] else {
            return Err(format!("unexpected child output: {text}").into());
        };
        let met = ms / 1000.0 <= secs_max && rss <= mb_max;
        println!(
            "  {name:<10} {entries:>6.0} timeline entries {:>7.2} s ({cpu:.2} s CPU) {rss:>7.0} MB  {}",
            ms / 1000.0,
            if met { "ok" } else { "MISSED" }
        );
    }
    // The command as an analyst runs it: analysis and all four reports in one process.
    let out = Command::new(std::env::current_exe()?).arg("--child-run").arg(&bundle).output()?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<f64> = text.split_whitespace().filter_map(|v| v.parse().ok()).collect();
    let [secs, rss, cpu] = f[..] else {
        return Err(format!("unexpected child output: {text}").into());
    };
    println!(
        "  `casefile report` (analysis and all four PDFs, one process): {secs:.2} s ({cpu:.2} s CPU), {rss:.0} MB  {}",
        if rss <= mb_max {
            "within the memory target"
        } else {
            "over the memory target"
        }
    );
    Ok(())
}

/// Child mode `--child-run BUNDLE`: `casefile report BUNDLE` as the command line runs it
/// (analysis, then every report, into BUNDLE/reports); prints "wall rss cpu".
fn child_run(bundle: &Path) -> Result<(), Box<dyn std::error::Error>> {
    use casefile::cli::{Command as Cli, Common, IngestArgs, ReportKind};
    let (t, cpu) = (Instant::now(), cpu_seconds().unwrap_or(0.0));
    casefile::run(Cli::Report {
        common: Common {
            bundle: bundle.to_path_buf(),
            recommendations: None,
            controls: None,
            ingest: IngestArgs {
                quiet: true,
                ..IngestArgs::default()
            },
        },
        kind: ReportKind::All,
        out: bundle.join("reports"),
        templates: None,
        pdf_standard: PdfStandard::A2b,
    })
    .map_err(|e| e.render())?;
    let cpu = cpu_seconds().unwrap_or(0.0) - cpu;
    println!("{} {} {cpu}", t.elapsed().as_secs_f64(), peak_rss_mb().unwrap_or(0.0));
    Ok(())
}

/// One shape with `n` requests: built (unless kept from an earlier run), analysed in a fresh
/// process, compared with DuckDB; one table line (and one for the reading before issue 10
/// with `--baseline`).
#[allow(clippy::too_many_arguments)]
fn shape_case(
    dir: &Path,
    ext: &str,
    n: u64,
    json: bool,
    repeat: usize,
    duck: bool,
    baseline: bool,
    keep: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let name = format!("storage.{ext}");
    let bundle = bundle_with(&dir.join(format!("bundle-{ext}-{n}")), &name)?;
    let log = bundle.join("evidence").join(&name);
    if !log.exists() {
        if json {
            write_jsonl(&log, n)?;
        } else {
            write_csv(&log, n)?;
        }
    }
    let mb = std::fs::metadata(&log)?.len() as f64 / 1e6;
    // casefile and DuckDB in alternation, each run on a warm page cache.
    let (mut ours, mut theirs) = (Runs::default(), Vec::new());
    for _ in 0..repeat.max(1) {
        warm(&[&log])?;
        ours.add(measure_once(&bundle, n, "--child")?)?;
        if duck {
            warm(&[&log])?;
            theirs.extend(duckdb(&log, json));
        }
    }
    let ratio = (theirs.len() == ours.times.len()).then(|| paired_ratio(&ours.times, &theirs.iter().map(|d| d.0).collect::<Vec<_>>()));
    let d = theirs.iter().copied().min_by(|a, b| a.0.total_cmp(&b.0));
    let m = ours.best()?;
    let hash = hash_alone(&log, json, repeat)?;
    let shape = if json { "raw JSON Lines" } else { "Log Analytics CSV" };
    let line = |label: &str, m: &Measured, ratio: Option<f64>| {
        println!(
            "{:<22} {:>10} {:>6.0} {:>7.2} {:>6.2} {:>7.2} {:>10.0} {:>6.0} {:>5.0} MB {:>9} {:>9} {:>6}  {}",
            label,
            n,
            mb,
            m.secs,
            m.cpu,
            hash,
            n as f64 / m.secs,
            mb / m.secs,
            m.rss,
            d.map_or("—".into(), |d| format!("{:.2}", d.0)),
            d.map_or("—".into(), |d| format!("{:.2}", d.2)),
            ratio.map_or("—".into(), |r| format!("{r:.2}")),
            m.digest,
        );
    };
    line(shape, &m, ratio);
    if baseline {
        let before = measure(&bundle, &log, repeat, n, "--child-baseline")?;
        line("  before (1 thread)", &before, d.map(|d| before.secs / d.0));
    }
    if !keep {
        std::fs::remove_file(&log)?;
    }
    Ok(())
}

/// Seconds (best of `repeat`) to take the file's SHA-256 alone on one thread as `analyze`
/// takes a plain file's: through its own mapped splitter (`input::mapped`: chunk-sized
/// windows mapped read-only, cut at record ends, hashed in order), here with the hash on the
/// same thread and nothing parsed. The part of `analyze`'s time that DuckDB does not spend,
/// and its floor.
fn hash_alone(log: &Path, json: bool, repeat: usize) -> Result<f64, Box<dyn std::error::Error>> {
    use casefile::input::chunk::{Boundary, HashState, Limits};
    use casefile::input::mapped::MappedSplitter;
    let boundary = if json {
        Boundary::Lines
    } else {
        Boundary::CsvRecords { delimiter: b',' }
    };
    let mut best = f64::INFINITY;
    for _ in 0..repeat {
        let t = Instant::now();
        let file = std::fs::File::open(log)?;
        let len = usize::try_from(file.metadata()?.len())?;
        let mut splitter = MappedSplitter::new(file, len, false, boundary, Limits::default(), HashState::default())?;
        while splitter.next_chunk().map_err(|e| format!("{e:?}"))?.is_some() {}
        std::hint::black_box(splitter.finish()?.digest());
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(best)
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

const USAGE: &str = "usage: bench [--records N] [--big M] [--repeat R] [--keep] [--baseline] \
[--tree-files F] [--events E] [--ingest-only] [--no-duckdb] [--reports-only]";

/// The first argument that is not one of the bench's flags or a flag's value (`--help`
/// included, so that asking for help never starts a benchmark).
fn unknown_flag(args: &[String]) -> Option<&str> {
    const VALUED: [&str; 5] = ["--records", "--big", "--repeat", "--tree-files", "--events"];
    const SWITCHES: [&str; 5] = ["--keep", "--baseline", "--ingest-only", "--no-duckdb", "--reports-only"];
    let mut rest = args.iter().skip(1);
    while let Some(a) = rest.next() {
        if VALUED.contains(&a.as_str()) {
            rest.next();
        } else if !SWITCHES.contains(&a.as_str()) {
            return Some(a);
        }
    }
    None
}

/// The allocator `casefile` runs on, so the figures here are the command's.
#[global_allocator]
static ALLOCATOR: casefile::alloc::Allocator = casefile::alloc::Allocator;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    casefile::alloc::tune();
    let args: Vec<String> = std::env::args().collect();
    if let Some(bundle) = arg::<PathBuf>(&args, "--child") {
        return child(&bundle);
    }
    if let Some(bundle) = arg::<PathBuf>(&args, "--child-baseline") {
        return child_baseline(&bundle);
    }
    if let Some(bundle) = arg::<PathBuf>(&args, "--child-run") {
        return child_run(&bundle);
    }
    if let Some(i) = args.iter().position(|a| a == "--child-report") {
        let (Some(bundle), Some(kind)) = (args.get(i + 1), args.get(i + 2)) else {
            return Err("--child-report BUNDLE KIND".into());
        };
        let bundle = PathBuf::from(bundle);
        return child_report(&bundle, kind, &bundle.join("reports"));
    }
    if let Some(flag) = unknown_flag(&args) {
        println!("{USAGE}");
        return if flag == "--help" || flag == "-h" {
            Ok(())
        } else {
            Err(format!("unknown argument {flag}").into())
        };
    }
    let records: u64 = arg(&args, "--records").unwrap_or(1_000_000);
    let big: Option<u64> = arg(&args, "--big");
    let repeat: usize = arg(&args, "--repeat").unwrap_or(3);
    let keep = args.iter().any(|a| a == "--keep");
    let events: u64 = arg(&args, "--events").unwrap_or(10_000);
    if args.iter().any(|a| a == "--reports-only") {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
        std::fs::create_dir_all(&dir)?;
        return spray_case(&dir, events);
    }
    let tree_files: u64 = arg(&args, "--tree-files").unwrap_or(1_000);
    let baseline = args.iter().any(|a| a == "--baseline");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("casefile bench — storage ingest and report rendering (release build expected)");
    println!(
        "{cores} cores, load average {}, best of {repeat}\n",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    let duck = !args.iter().any(|a| a == "--no-duckdb") && has_duckdb();
    if !duck {
        println!("(DuckDB not compared: --no-duckdb given, or `pip install duckdb` to compare)\n");
    }
    println!(
        "{:<22} {:>10} {:>6} {:>7} {:>6} {:>7} {:>10} {:>6} {:>8} {:>9} {:>9} {:>6}  results",
        "shape", "records", "MB", "wall s", "CPU s", "SHA s", "records/s", "MB/s", "peak RSS", "DuckDB s", "Duck CPU", "ratio"
    );
    let mut cases = vec![("csv", records, false), ("jsonl", records, true)];
    if let Some(m) = big {
        cases.push(("csv", m, false));
        cases.push(("jsonl", m, true));
    }
    for (ext, n, json) in cases {
        shape_case(&dir, ext, n, json, repeat, duck, baseline, keep)?;
    }
    if args.iter().any(|a| a == "--ingest-only") {
        return Ok(());
    }
    tree_case(&dir, records, tree_files, repeat)?;
    spray_case(&dir, events)?;
    println!("\nrender times for samples/northgate (warm process, release):");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/northgate");
    let run = casefile::analyse_bundle(&sample, None, None).map_err(|e| e.render())?;
    let model = casefile::report::model::build_model(&run);
    for (name, kind) in casefile::report::KINDS {
        let out = dir.join("reports");
        let t = Instant::now();
        casefile::report::render_reports(&model, kind, &out, None, PdfStandard::A2b, &run.case.dir, 0).map_err(|e| e.render())?;
        println!("  {name:<10} {:>6.0} ms", t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(())
}
