//! Parallel storage ingest (issue 10): results identical for any thread count and chunk size,
//! identical to the record-by-record reader (`records::read_table` + `storage::parse_row`),
//! chunk boundaries in awkward places, evidence as a directory or glob, a record over the
//! limit as an input error, and no progress bar off a terminal.

use std::path::{Path, PathBuf};

use casefile::analysis::{self, exposure::StorageAggregator};
use casefile::bundle::storage::{self, BlobRequest};
use casefile::input::chunk::Limits;
use casefile::input::ingest::{Options, Step};
use casefile::input::table::{self as records, Visit};

use crate::util::{copy_sample, run, sample, stderr, stdout, temp_dir};

/// Ingest options with this many threads and chunks of this size, no progress bar.
fn options(threads: usize, chunk_bytes: usize) -> Options {
    Options {
        threads,
        limits: Limits {
            chunk_bytes,
            ..Limits::default()
        },
        progress: false,
    }
}

/// The analysis and inventory of a bundle with the given ingest options, as JSON.
fn analyse(bundle: &Path, threads: usize, chunk_bytes: usize) -> serde_json::Value {
    let options = options(threads, chunk_bytes);
    let run = casefile::analyse_bundle_with(bundle, None, None, &options)
        .map_err(|e| e.render())
        .unwrap();
    let model = casefile::report::model::build_model(&run);
    serde_json::json!({
        "model": casefile::report::model_value(&model, &run.case.dir).unwrap(),
        "files": serde_json::to_value(&run.bundle.files).unwrap(),
    })
}

/// Every request of a file through the general, record-by-record reader.
fn reference(path: &Path) -> Vec<String> {
    let mut out = Vec::new();
    records::read_table(path, "storage log", &mut |row| {
        out.push(format!("{:?}", storage::parse_row(row)?));
        Ok(Visit::Continue)
    })
    .map_err(|e| e.render())
    .unwrap();
    out
}

/// The general, record-by-record reader's error on a file that has one.
fn general_error(path: &Path) -> String {
    records::read_table(path, "storage log", &mut |row| {
        storage::parse_row(row)?;
        Ok(Visit::Continue)
    })
    .unwrap_err()
    .render()
}

fn fast(path: &Path) -> Vec<String> {
    let mut out = Vec::new();
    storage::stream(path, &mut |r: BlobRequest| {
        out.push(format!("{r:?}"));
        Ok(())
    })
    .map_err(|e| e.render())
    .unwrap();
    out
}

/// The requests of one file through the parallel ingest (`threads` workers, chunks of
/// `chunk_bytes`: a file no larger than a chunk is read whole by a worker, a larger one is
/// cut by the reader thread), in order, with the file's SHA-256 as the ingest took it.
fn ingested(path: &Path, threads: usize, chunk_bytes: usize) -> (Vec<String>, String) {
    let mut out = Vec::new();
    let results = casefile::input::ingest::ingest(
        &[path.to_path_buf()],
        &options(threads, chunk_bytes),
        &Vec::new,
        &|part: &mut Vec<BlobRequest<'static>>, r| part.push(r.into_owned()),
        &mut |_, part, offset| {
            for mut r in part {
                r.origin.shift(offset);
                out.push(format!("{r:?}"));
            }
        },
    );
    let result = results.into_iter().next().unwrap().map_err(|e| e.render()).unwrap();
    (out, result.sha256)
}

/// The requests of one file read in order on one thread in chunks of `chunk_bytes` (from
/// the file, or from `bytes` in memory standing for it), as `storage::stream` reads them.
fn sequential(path: &Path, bytes: Option<&[u8]>, chunk_bytes: usize) -> Vec<String> {
    let mut out = Vec::new();
    let limits = options(1, chunk_bytes).limits;
    let mut on = |step: Step<'_>| {
        if let Step::Request(r) = step {
            out.push(format!("{r:?}"));
        }
    };
    match bytes {
        Some(b) => casefile::input::ingest::read_sequentially_from(path, Box::new(std::io::Cursor::new(b.to_vec())), limits, &mut on),
        None => casefile::input::ingest::read_file_sequentially(path, limits, &mut on),
    }
    .map_err(|e| e.render())
    .unwrap();
    out
}

#[test]
fn results_do_not_depend_on_threads_or_chunk_size() {
    let one = analyse(&sample(), 1, 4 << 20);
    for (threads, chunk) in [(1, 4096), (2, 4096), (3, 777), (2, 4 << 20), (4, 100_000)] {
        assert_eq!(analyse(&sample(), threads, chunk), one, "{threads} threads, {chunk}-byte chunks");
    }
}

#[test]
fn parallel_merge_equals_one_sequential_pass_of_the_general_reader() {
    let case = casefile::case::load_case(&sample()).unwrap();
    let mut bundle = casefile::bundle::load(&case.dir, &case.evidence).unwrap();
    let prep = analysis::prepare(&case, &bundle);
    let mut agg = StorageAggregator::new(&prep.scope, &case.environment, prep.key_listings.clone());
    let files: Vec<PathBuf> = bundle.storage.provided().cloned().unwrap();
    for f in &files {
        records::read_table(f, "storage log", &mut |row| {
            agg.add(storage::parse_row(row)?);
            Ok(Visit::Continue)
        })
        .unwrap();
    }
    let expected = serde_json::to_value(agg.finish()).unwrap();
    let options = options(2, 3000);
    let got = casefile::stream_storage(&case, &mut bundle, &prep, &options).unwrap();
    assert_eq!(serde_json::to_value(got.provided().unwrap()).unwrap(), expected);
}

#[test]
fn fast_readers_give_the_general_readers_requests() {
    let dir = temp_dir("ingest-shapes");
    let csv = sample().join("evidence/storage.csv");
    let gz = crate::util::root().join("tests/fixtures/storageread.jsonl.gz");
    // Quoted newlines, CRLF, a BOM, escapes, a float size, a duplicate key, a dotted key,
    // nulls, blank JSON lines and a `#TYPE` line: each either on the fast path or sent to the
    // general one, never read differently.
    let odd_csv = dir.join("odd.csv");
    std::fs::write(
        &odd_csv,
        "#TYPE Selected.System.Management.Automation.PSCustomObject\r\n\u{feff}TimeGenerated [UTC],AccountName,OperationName,AuthenticationType,StatusCode,CallerIpAddress,ObjectKey,ResponseBodySize,UserAgentHeader\r\n\
         \"3/20/2024, 8:06:32.729 AM\",ProdData,GetBlob,OAuth,200,20.50.12.34:51303,\"/proddata/c/a\"\"b\nc.txt\",12.0,\"agent, with comma\"\r\n\
         2024-03-20T08:07:00Z,proddata,ListBlobs,SAS,206.0,[2001:db8::1]:443,,,\r\n",
    )
    .unwrap();
    let odd_jsonl = dir.join("odd.jsonl");
    std::fs::write(
        &odd_jsonl,
        concat!(
            "{\"time\":\"2024-03-20T08:06:32Z\",\"operationName\":\"GetBlob\",\"statusCode\":200,\"properties\":{\"accountName\":\"A\",\"objectKey\":\"/a/c/\\u00e9.txt\",\"responseBodySize\":10.0}}\r\n",
            "\n",
            "{\"TIME\":\"2024-03-20T08:06:33Z\",\"OperationName\":\"GetBlob\",\"statusCode\":\"404\",\"identity\":{\"type\":\"SAS\",\"tokenHash\":\"key1(X)\",\"requester\":{\"upn\":\"A@B.com\"}},\"uri\":\"https://a.blob.core.windows.net/c/x\"}\n",
            "{\"time\":\"2024-03-20T08:06:34Z\",\"time\":\"2024-03-20T08:06:35Z\",\"statusCode\":200,\"properties\":null,\"identity\":[1]}\n",
            "{\"time\":\"2024-03-20T08:06:36Z\",\"properties.objectKey\":\"/a/dotted/x\",\"statusCode\":200,\"callerIpAddress\":null}\n",
            "{\"time\":\"2024-03-20T08:06:37Z\",\"statusCode\":200,\"properties\":{\"objectKey\":\"/a/b/c\"},\"properties\":{\"accountName\":\"twice\"}}\n",
        ),
    )
    .unwrap();
    // Quotes the SIMD field index does not read (a quote inside an unquoted field, text
    // after a closing quote, a quote left open), after regular records: those go to `csv`
    // from the record in progress. Also a lone CR, a last line without a newline and a quoted
    // field across 64-byte blocks. (CRLF, blank lines and quoted newlines:
    // `line_numbers_agree_after_crlf_blank_lines_and_quoted_newlines`.)
    let irregular_csv = dir.join("irregular.csv");
    let pad = "p".repeat(61);
    std::fs::write(
        &irregular_csv,
        format!(
            "TimeGenerated [UTC],AccountName,OperationName,StatusCode,ObjectKey,UserAgentHeader\n\
             \"3/20/2024, 8:06:32.729 AM\",acct,GetBlob,200,\"/a/c/{pad},\"\"{pad}\",\"a \"\"b\"\"\"\n\
             2024-03-20T08:07:00Z,acct,GetBlob,200,/a/c/x,one\r2024-03-20T08:07:01Z,acct,GetBlob,200,/a/c/y,two\n\
             2024-03-20T08:07:02Z,acct,GetBlob,200,/a/c/z,ag\"ent\n\
             2024-03-20T08:07:03Z,acct,GetBlob,200,\"/a/c/w\"tail,agent\n\
             2024-03-20T08:07:04Z,acct,GetBlob,200,/a/c/v,\"open"
        ),
    )
    .unwrap();
    let jsonl = dir.join("storage.jsonl");
    std::fs::write(&jsonl, crate::shapes::storage_as_jsonl(&csv)).unwrap();
    // A UTF-8 BOM at the very start: hashed, not text (on disk, such a file is mapped).
    let bom_csv = dir.join("bom.csv");
    std::fs::write(&bom_csv, [b"\xEF\xBB\xBF".as_slice(), &std::fs::read(&csv).unwrap()].concat()).unwrap();
    let bom_jsonl = dir.join("bom.jsonl");
    std::fs::write(&bom_jsonl, [b"\xEF\xBB\xBF".as_slice(), &std::fs::read(&jsonl).unwrap()].concat()).unwrap();
    for path in [&csv, &gz, &odd_csv, &irregular_csv, &odd_jsonl, &jsonl, &bom_csv, &bom_jsonl] {
        let expected = reference(path);
        assert!(!expected.is_empty(), "{}", path.display());
        assert_eq!(fast(path), expected, "{}", path.display());
        // In parallel: read whole by a worker (the file is smaller than a chunk), and cut
        // into chunks by the reader thread; the same requests, and the file's own hash.
        let (sha256, _) = casefile::input::hash::hash_file(path, "storage log")
            .map_err(|e| e.render())
            .unwrap();
        for chunk_bytes in [4 << 20, 1000] {
            let (requests, hashed) = ingested(path, 2, chunk_bytes);
            assert_eq!(requests, expected, "{} in {chunk_bytes}-byte chunks", path.display());
            assert_eq!(hashed, sha256, "{} in {chunk_bytes}-byte chunks", path.display());
        }
    }
}

/// The line of each record by the general reader and by the chunked reader (chunks of
/// `chunk_bytes`).
fn lines_both_ways(path: &Path, chunk_bytes: usize) -> (Vec<Option<u64>>, Vec<Option<u64>>) {
    let mut general = Vec::new();
    records::read_table(path, "storage log", &mut |row| {
        general.push(row.location().line);
        Ok(Visit::Continue)
    })
    .map_err(|e| e.render())
    .unwrap();
    let mut chunked = Vec::new();
    let limits = Limits {
        chunk_bytes,
        ..Limits::default()
    };
    casefile::input::ingest::read_file_sequentially(path, limits, &mut |step| {
        if let Step::Request(r) = step {
            chunked.push(r.origin.line);
        }
    })
    .map_err(|e| e.render())
    .unwrap();
    (general, chunked)
}

/// Both readers give a record the line of its first byte after CRLF, blank lines (CRLF and
/// LF) and quoted newlines (CRLF and LF inside quotes), on the SIMD field index and on the
/// `csv` fallback after an irregular quote, whatever the chunk size.
#[test]
fn line_numbers_agree_after_crlf_blank_lines_and_quoted_newlines() {
    let dir = temp_dir("ingest-lines");
    let regular = "TimeGenerated [UTC],AccountName,OperationName,StatusCode,ObjectKey,UserAgentHeader\r\n\
        2024-03-20T08:07:00Z,acct,GetBlob,200,/a/c/x,one\r\n\
        \r\n\
        2024-03-20T08:07:01Z,acct,GetBlob,200,\"/a/c/two\r\nlines\",two\r\n\
        \n\r\n\
        2024-03-20T08:07:02Z,acct,GetBlob,200,/a/c/z,\"three\nlines\nhere\"\r\n\
        2024-03-20T08:07:03Z,acct,GetBlob,200,/a/c/w,four\r\n";
    let irregular = format!(
        "{regular}2024-03-20T08:07:04Z,acct,GetBlob,200,\"/a/c/v\"tail,agent\r\n\r\n\
         2024-03-20T08:07:05Z,acct,GetBlob,200,\"/a/c/q\nq\",after\r\n\
         2024-03-20T08:07:06Z,acct,GetBlob,200,/a/c/r,last"
    );
    let cases = [
        ("regular.csv", regular.to_string(), vec![2, 4, 8, 11]),
        ("irregular.csv", irregular, vec![2, 4, 8, 11, 12, 14, 16]),
    ];
    for (name, text, lines) in cases {
        let path = dir.join(name);
        std::fs::write(&path, &text).unwrap();
        let want: Vec<Option<u64>> = lines.into_iter().map(Some).collect();
        for chunk in [16, 50, 100, 1 << 20] {
            let (general, chunked) = lines_both_ways(&path, chunk);
            assert_eq!(general, want, "{name}: general reader");
            assert_eq!(chunked, want, "{name}: chunked reader, {chunk}-byte chunks");
        }
        assert_eq!(fast(&path), reference(&path), "{name}");
    }
}

/// Random CSV exports (fields quoted or not, with `""`, commas and newlines inside quotes,
/// LF and CRLF line ends, blank lines, runs long enough to cross 64-byte blocks, now and then
/// a quote the field index does not read, a last line without a newline) give the same
/// requests, with the same lines and record numbers, on the fast reader (the SIMD field
/// index, block by block) as on the general reader; and cut in chunks of a few hundred bytes,
/// parallel and sequential, mapped, gzip and in memory, also where a quote inside an unquoted
/// field misleads the quote-parity cut.
#[test]
fn random_csv_reads_as_the_general_reader_reads_it() {
    let dir = temp_dir("ingest-random-csv");
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let header = "TimeGenerated [UTC],AccountName,OperationName,AuthenticationType,StatusCode,CallerIpAddress,ObjectKey,ResponseBodySize,UserAgentHeader";
    let pick = |options: &[&str], r: u64| options[r as usize % options.len()].to_string();
    let mut irregular_files = 0;
    for file in 0..200 {
        let mut text = String::from(header);
        let mut irregular = false;
        for _ in 0..next(12) + 1 {
            text.push_str(if next(3) == 0 { "\r\n" } else { "\n" });
            if next(8) == 0 {
                text.push('\n');
            }
            // Text for the free-text columns: plain, or quoted with the characters quoting
            // allows, or (rarely) a quote the field index leaves to `csv`.
            let mut free = |next: &mut dyn FnMut(u64) -> u64| -> String {
                let mut t = String::new();
                for _ in 0..next(6) {
                    t.push_str(&pick(&["x", "é", "p".repeat(next(70) as usize).as_str(), "/", " ", "-"], next(6)));
                }
                match next(10) {
                    0..=4 => t,
                    5..=8 => {
                        let mut q = String::new();
                        for _ in 0..next(5) {
                            q.push_str(&pick(&[",", "\"\"", "\n", "\r\n", "y", &"q".repeat(next(90) as usize)], next(6)));
                        }
                        format!("\"{t}{q}\"")
                    }
                    _ => {
                        irregular = true;
                        format!("{t}a\"b")
                    }
                }
            };
            let fields = [
                pick(
                    &[
                        "\"3/20/2024, 8:06:32.729 AM\"",
                        "2024-03-20T08:07:00Z",
                        "\"3/20/2024, 12:00:00.000 PM\"",
                    ],
                    next(3),
                ),
                pick(&["acct", "ProdData", "\"acct\""], next(3)),
                pick(&["GetBlob", "ListBlobs", "\"Get,Blob\"", "PutBlob"], next(4)),
                pick(&["OAuth", "AccountKey", "SAS", ""], next(4)),
                pick(&["200", "206.0", "404", "\"200\""], next(4)),
                pick(&["20.50.12.34:51303", "[2001:db8::1]:443", "", "10.0.0.1"], next(4)),
                match free(&mut next) {
                    k if k.starts_with('"') => format!("\"/acct/c/{}", &k[1..]),
                    k => format!("/acct/c/{k}"),
                },
                pick(&["12", "12.0", "", "1814880"], next(4)),
                free(&mut next),
            ];
            text.push_str(&fields.join(","));
        }
        if next(2) == 0 {
            text.push('\n');
        }
        irregular_files += usize::from(irregular);
        let path = dir.join(format!("random-{file}.csv"));
        std::fs::write(&path, &text).unwrap();
        let want = reference(&path);
        assert_eq!(fast(&path), want, "{text:?}");
        let gz = dir.join(format!("random-{file}.csv.gz"));
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut encoder, text.as_bytes()).unwrap();
        std::fs::write(&gz, encoder.finish().unwrap()).unwrap();
        for chunk in [97, 400] {
            assert_eq!(ingested(&path, 2, chunk).0, want, "{chunk}-byte chunks: {text:?}");
            let unzipped: Vec<String> = ingested(&gz, 2, chunk).0.iter().map(|r| r.replace(".csv.gz", ".csv")).collect();
            assert_eq!(unzipped, want, "{chunk}-byte chunks, gzip: {text:?}");
            assert_eq!(sequential(&path, None, chunk), want, "{chunk}-byte chunks, sequential: {text:?}");
            assert_eq!(
                sequential(&path, Some(text.as_bytes()), chunk),
                want,
                "{chunk}-byte chunks, in memory: {text:?}"
            );
        }
    }
    // Both kinds occur: files the index reads to the end and files it hands over in part.
    assert!(irregular_files > 10 && irregular_files < 190, "{irregular_files}");
}

/// A file of several default-sized chunks read by `storage::stream` (the history pass and the
/// fuzz harness) numbers records and lines as the general reader does, chunk after chunk.
#[test]
fn a_file_of_several_chunks_streams_with_the_files_numbers() {
    let dir = temp_dir("ingest-several-chunks");
    let path = dir.join("big.jsonl");
    let chunk = Limits::default().chunk_bytes;
    let mut text = String::new();
    let mut i = 0u64;
    while text.len() < 2 * chunk + chunk / 2 {
        // A blank line now and then, so lines and records part.
        if i.is_multiple_of(97) {
            text.push('\n');
        }
        text.push_str(&format!(
            "{{\"time\":\"2024-03-20T08:{:02}:{:02}Z\",\"operationName\":\"GetBlob\",\"statusCode\":200,\"properties\":{{\"accountName\":\"a\",\"objectKey\":\"/a/c/{i}.txt\",\"responseBodySize\":{i},\"pad\":\"{}\"}}}}\n",
            i / 60 % 60,
            i % 60,
            "x".repeat(300)
        ));
        i += 1;
    }
    std::fs::write(&path, &text).unwrap();
    let streamed = fast(&path);
    assert_eq!(streamed.len() as u64, i);
    assert_eq!(streamed, reference(&path));
}

#[test]
fn errors_name_the_same_record_as_the_general_reader() {
    let dir = temp_dir("ingest-errors");
    let bad = dir.join("bad.jsonl");
    let mut text = String::new();
    for i in 0..2000 {
        text.push_str(&format!("{{\"time\":\"2024-03-20T08:06:32Z\",\"statusCode\":200,\"n\":{i}}}\n"));
    }
    text.push_str("{\"time\":\"not a time\",\"statusCode\":200}\n");
    std::fs::write(&bad, &text).unwrap();
    let general = general_error(&bad);
    let got = storage::stream(&bad, &mut |_| Ok(())).unwrap_err().render();
    assert_eq!(got, general);
    assert!(got.contains(":2001 (record 2001)"), "{got}");

    // CSV: a record with a field too many after 2,000 read by the SIMD field index (one
    // with a quoted newline, so lines and records part).
    let bad = dir.join("bad.csv");
    let mut text = String::from("TimeGenerated [UTC],StatusCode,UserAgentHeader\r\n");
    text.push_str("2024-03-20T08:06:32Z,200,\"two\nlines\"\r\n");
    for _ in 1..2000 {
        text.push_str("\"3/20/2024, 8:06:32.729 AM\",200,agent\r\n");
    }
    text.push_str("2024-03-20T08:06:32Z,200,agent,extra\r\n");
    std::fs::write(&bad, &text).unwrap();
    let general = general_error(&bad);
    let got = storage::stream(&bad, &mut |_| Ok(())).unwrap_err().render();
    assert!(got.contains(":2003 (record 2001)"), "{got}");
    assert!(
        got.contains("wrong number of fields") && general.contains(":2003"),
        "{got}\n{general}"
    );

    // A bad value in a column that is read, before columns that are only counted: the
    // record goes to the general reading with all its fields, and the message is its.
    let bad = dir.join("bad-status.csv");
    let mut text = String::from("TimeGenerated [UTC],StatusCode,UserAgentHeader,Extra\r\n");
    for _ in 0..2000 {
        text.push_str("2024-03-20T08:06:32Z,200,\"agent, \"\"x\"\"\",e\r\n");
    }
    text.push_str("2024-03-20T08:06:32Z,two hundred,\"agent\nmore\",e\r\n");
    std::fs::write(&bad, &text).unwrap();
    let general = general_error(&bad);
    let got = storage::stream(&bad, &mut |_| Ok(())).unwrap_err().render();
    assert_eq!(got, general);
    assert!(got.contains(":2002 (record 2001)") && got.contains("two hundred"), "{got}");
}

/// The sample split into hourly files laid out like a diagnostic-settings archive.
fn hourly_tree(bundle: &Path) -> usize {
    let csv = std::fs::read_to_string(bundle.join("evidence/storage.csv")).unwrap();
    let header = csv.split_inclusive('\n').next().unwrap().to_string();
    let mut by_hour: std::collections::BTreeMap<String, String> = Default::default();
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(csv.as_bytes());
    let mut pos = Vec::new();
    for r in reader.records() {
        let r = r.unwrap();
        pos.push((r.position().unwrap().byte() as usize, r.get(2).unwrap().to_string()));
    }
    for (i, (start, time)) in pos.iter().enumerate() {
        let end = pos.get(i + 1).map_or(csv.len(), |p| p.0);
        let t = chrono::NaiveDateTime::parse_from_str(time, "%m/%d/%Y, %I:%M:%S%.f %p").unwrap();
        let key = t.format("y=%Y/m=%m/d=%d/h=%H/m=00").to_string();
        by_hour.entry(key).or_insert_with(|| header.clone()).push_str(&csv[*start..end]);
    }
    for (key, body) in &by_hour {
        let d = bundle.join("evidence/archive/resourceId=/SUBS/X").join(key);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("PT1H.csv"), body).unwrap();
    }
    std::fs::remove_file(bundle.join("evidence/storage.csv")).unwrap();
    by_hour.len()
}

fn set_storage(bundle: &Path, path: &str) {
    let toml = std::fs::read_to_string(bundle.join("case.toml")).unwrap();
    let toml = toml.replace("path = \"evidence/storage.csv\"", &format!("path = \"{path}\""));
    std::fs::write(bundle.join("case.toml"), toml).unwrap();
}

fn storage_figures(v: &serde_json::Value) -> serde_json::Value {
    let mut f = serde_json::json!({
        "exposure": v["model"]["analysis"]["exposure"],
        "requests": v["model"]["analysis"]["storage_requests"],
        "excluded": v["model"]["analysis"]["storage_excluded"],
    });
    crate::shapes::normalise(&mut f);
    f
}

#[test]
fn a_directory_or_glob_of_hourly_files_reads_like_the_one_file() {
    let expected = storage_figures(&analyse(&sample(), 2, 4 << 20));
    for pattern in ["evidence/archive/", "evidence/archive/**/PT1H.csv"] {
        let dir = copy_sample("ingest-tree");
        let hours = hourly_tree(&dir);
        set_storage(&dir, pattern);
        let got = analyse(&dir, 2, 4096);
        assert_eq!(storage_figures(&got), expected, "{pattern}");
        let files = got["files"].as_array().unwrap();
        let parts: Vec<&serde_json::Value> = files.iter().filter(|f| f["path"].as_str().unwrap().ends_with("PT1H.csv")).collect();
        assert_eq!(parts.len(), hours);
        assert!(parts.iter().all(|f| f["sha256"].as_str().unwrap().len() == 64));
        // The report model lists the tree with its summary.
        let trees = got["model"]["evidence_trees"].as_array().unwrap();
        assert_eq!(trees.len(), 1, "{pattern}");
        assert_eq!(
            (trees[0]["files"].as_u64(), trees[0]["records"].as_u64()),
            (Some(hours as u64), Some(1055))
        );
        assert!(trees[0]["gaps"].is_array() && trees[0]["first"].is_string(), "{}", trees[0]);
        let o = run(&["validate", dir.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        let text = stdout(&o);
        let shown = pattern.trim_end_matches('/');
        assert!(text.contains(&format!("tree {shown}: {hours} files, 1055 records")), "{text}");
        assert!(text.contains("list digest "), "{text}");
    }
}

#[test]
fn a_glob_that_matches_nothing_is_an_error_at_its_line() {
    let dir = copy_sample("ingest-nomatch");
    set_storage(&dir, "evidence/nothing/**/PT1H.json");
    let o = run(&["validate", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("evidence not found") && err.contains("case.toml:"), "{err}");
}

#[test]
fn a_record_over_the_limit_is_an_input_error_naming_file_and_line() {
    let dir = copy_sample("ingest-long");
    let path = dir.join("evidence/storage.csv");
    let mut csv = std::fs::read_to_string(&path).unwrap();
    csv.push_str(&format!("x,\"{}", "y".repeat(300_000)));
    std::fs::write(&path, csv).unwrap();
    let o = run(&["analyze", dir.to_str().unwrap(), "--max-record-bytes", "100000"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("record too long") && err.contains("storage.csv:1057"), "{err}");
}

#[test]
fn no_progress_bar_when_stderr_is_not_a_terminal() {
    // The test harness captures stderr: not a terminal, so nothing may be drawn.
    let o = run(&["analyze", sample().to_str().unwrap()]);
    assert!(o.status.success());
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    assert!(!casefile::input::progress::Progress::new(true, u64::MAX).shown());
}

#[test]
fn an_error_in_one_small_file_of_a_tree_names_that_file_and_line_whole_or_chunked() {
    let dir = copy_sample("ingest-tree-error");
    hourly_tree(&dir);
    set_storage(&dir, "evidence/archive/");
    let mut files: Vec<PathBuf> = Vec::new();
    let mut stack = vec![dir.join("evidence/archive")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() > 2);
    // A record with a field too many at the end of a file in the middle of the tree.
    let bad = &files[files.len() / 2];
    let mut text = std::fs::read_to_string(bad).unwrap();
    let line = text.matches('\n').count() + 1;
    text.push_str("x,y\r\n");
    std::fs::write(bad, &text).unwrap();
    let general = general_error(bad);
    assert!(general.contains(&format!(":{line}")), "{general}");
    // Default chunks: every hourly file goes whole to a worker; 512-byte chunks: each is cut.
    for chunk_bytes in [4 << 20, 512] {
        for threads in [1, 2] {
            let options = options(threads, chunk_bytes);
            let err = casefile::analyse_bundle_with(&dir, None, None, &options)
                .map(|_| ())
                .unwrap_err()
                .render();
            // The hour's own path (every file is named PT1H.csv): day, hour and name.
            let parts: Vec<_> = bad.components().rev().take(4).collect();
            let shown: PathBuf = parts.into_iter().rev().collect();
            assert!(
                err.contains(&format!("{}:{line}", shown.display())) && err.contains("wrong number of fields"),
                "{chunk_bytes}-byte chunks, {threads} threads: {err}\ngeneral: {general}"
            );
        }
    }
}
