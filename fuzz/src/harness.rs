//! One function per fuzz target: each feeds arbitrary bytes to a casefile parser through its
//! public entry point and fails (panics) only if casefile itself panics or breaks a stated
//! guarantee. Shared, byte for byte, by the fuzz targets (`fuzz/fuzz_targets/*.rs`, through
//! `fuzz/src/lib.rs`) and the regression test `tests/fuzzed.rs` (through `#[path]`), so a saved
//! crasher is replayed exactly as the fuzzer ran it. Uses only `std`, `casefile` and `csv`.
//!
//! Every target runs in memory: the parsers take readers or bytes (paths only name the input
//! in messages and, by their extension, tell its shape), so no input is written to a file.

use std::fmt::Write as _;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use casefile::bundle::Span;
use casefile::input::table::{self as records, Row, Visit};

/// Every target, in the order of fuzz/README.md.
pub const TARGETS: &[&str] = &[
    "csv_table",
    "la_json",
    "json_lines",
    "signins",
    "activity",
    "storage",
    "alerts",
    "risk",
    "recommendations_csv",
    "recommendations_xlsx",
    "case_toml",
    "controls_toml",
    "sanitize",
];

/// Runs `data` through the target named `target`; false if there is no such target.
pub fn run(target: &str, data: &[u8]) -> bool {
    match target {
        "csv_table" => csv_table(data),
        "la_json" => la_json(data),
        "json_lines" => json_lines(data),
        "signins" => signins(data),
        "activity" => activity(data),
        "storage" => storage(data),
        "alerts" => alerts(data),
        "risk" => risk(data),
        "recommendations_csv" => recommendations_csv(data),
        "recommendations_xlsx" => recommendations_xlsx(data),
        "case_toml" => case_toml(data),
        "controls_toml" => controls_toml(data),
        "sanitize" => sanitize(data),
        _ => return false,
    }
    true
}

// ---------------------------------------------------------------------------------------------
// Where case_toml resolves evidence paths

/// `/dev/shm` when there is one, else the system temp directory (nothing is written there).
pub fn scratch_dir() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// Formats an error the way the CLI prints it, so message building is exercised too.
fn show<T, E: std::fmt::Display + std::fmt::Debug>(r: &Result<T, E>) {
    if let Err(e) = r {
        let mut s = String::new();
        let _ = write!(s, "{e} {e:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Generic table reader

/// The first record (for the columns), kind detection, then `records::read_table_from` over
/// the decoded bytes with every field accessor on every column (timestamps, numbers, JSON
/// cells, dotted JSON paths).
fn table_in_memory(data: &[u8], name: &str) {
    let path = Path::new(name);
    let open = || records::decode(Cursor::new(data.to_vec()));
    let mut columns = Vec::new();
    match open() {
        Ok(input) => {
            let r = records::read_table_from(path, "fuzz input", input, &mut |_: &Row| Ok(Visit::Stop));
            if let Ok(info) = &r {
                columns = info.columns.iter().take(32).cloned().collect();
            }
            show(&r);
        }
        Err(e) => show::<(), _>(&Err(e)),
    }
    let _ = casefile::bundle::Registry::default().detect(&columns);
    let Ok(input) = open() else { return };
    let r = records::read_table_from(path, "fuzz input", input, &mut |row: &Row| {
        for c in &columns {
            let one = [c.as_str()];
            let _ = row.field(&one);
            let _ = row.string(&one);
            show(&row.timestamp("fuzz input", &one));
            show(&row.opt_timestamp("fuzz input", &one));
            show(&row.opt_u64("fuzz input", &one));
            match row.json("fuzz input", &one) {
                Ok(Some(v)) => {
                    let _ = records::json_str(&v, "properties.responsebody.id");
                    let _ = records::json_path(&v, "a.b");
                    let _ = records::flatten(&v);
                }
                other => show(&other),
            }
        }
        show(&row.required("fuzz input", &["no such column", "nor this"]));
        let _ = row.location().to_string();
        Ok(Visit::Continue)
    });
    show(&r);
}

pub fn csv_table(data: &[u8]) {
    table_in_memory(data, "fuzz-input.csv");
}

pub fn la_json(data: &[u8]) {
    table_in_memory(data, "fuzz-input.json");
}

pub fn json_lines(data: &[u8]) {
    table_in_memory(data, "fuzz-input.jsonl");
}

// ---------------------------------------------------------------------------------------------
// Typed evidence parsers (shape sniffed from content; `.jsonl` forces JSON Lines)

pub fn signins(data: &[u8]) {
    let r = casefile::bundle::signins::load_from(Path::new("fuzz-input.csv"), Cursor::new(data.to_vec()), &mut Span::default());
    if let Ok((rows, _)) = &r {
        for s in rows {
            let _ = (s.risky(), s.single_factor());
        }
    }
    show(&r);
}

pub fn activity(data: &[u8]) {
    let r = casefile::bundle::activity::load_from(Path::new("fuzz-input.csv"), Cursor::new(data.to_vec()), &mut Span::default());
    if let Ok((rows, _)) = &r {
        for e in rows {
            let _ = e.status.is_final();
        }
    }
    show(&r);
}

/// Storage logs are streamed; raw resource logs come as JSON Lines, so both the sniffed path
/// and the forced JSON Lines path are run on every input, each also in chunks of one size
/// (3 to 130 bytes) taken from the input's bytes: every size is tried as the fuzzer mutates
/// them.
pub fn storage(data: &[u8]) {
    csv_index_agrees_with_csv(data);
    let hash = data.iter().fold(0usize, |h, &b| h.wrapping_mul(31).wrapping_add(usize::from(b)));
    storage_chunks_agree(data, 3 + hash % 128);
    // The JSON Lines cursor must read every line it takes as serde reads it.
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = casefile::bundle::storage::cursor_agrees_with_serde(text) {
            panic!("{e}");
        }
    }
}

/// Cut into chunks of `chunk_bytes` (by quote parity for CSV, the text a parser gives back
/// cut again where `csv` ends records), a storage log must read exactly as
/// `storage::stream_from` reads it in one chunk, as CSV and as JSON Lines: the same requests
/// with the same locations, and the same outcome. Panics on any difference.
pub fn storage_chunks_agree(data: &[u8], chunk_bytes: usize) {
    for name in ["fuzz-input.csv", "fuzz-input.jsonl"] {
        let whole = read_whole(name, data);
        let chunked = read_in_chunks(name, data, chunk_bytes);
        assert_eq!(chunked, whole, "{name} read in {chunk_bytes}-byte chunks differs from one chunk");
    }
}

/// What a storage reading gave: the requests, and the outcome (the error, rendered).
type Reading = (Vec<String>, Result<(), String>);

/// `storage::stream_from`, with every request accessor called on every request.
fn read_whole(name: &str, data: &[u8]) -> Reading {
    let mut requests = Vec::new();
    let raw: Box<dyn std::io::Read> = Box::new(Cursor::new(data.to_vec()));
    let r = casefile::bundle::storage::stream_from(Path::new(name), raw, &mut |req| {
        let _ = (req.succeeded(), req.is_data_read(), req.is_listing(), req.auth.name());
        let _ = req.auth.uses_account_key(req.auth_hash.as_deref());
        requests.push(format!("{req:?}"));
        Ok(())
    });
    show(&r);
    (requests, r.map(|_| ()).map_err(|e| e.render()))
}

/// The sequential reader `stream_from` is built on, in chunks of `chunk_bytes`.
fn read_in_chunks(name: &str, data: &[u8], chunk_bytes: usize) -> Reading {
    use casefile::input::chunk::Limits;
    use casefile::input::ingest::{read_sequentially_from, Step};
    let mut requests = Vec::new();
    let limits = Limits {
        chunk_bytes,
        ..Limits::default()
    };
    let raw: Box<dyn std::io::Read> = Box::new(Cursor::new(data.to_vec()));
    let r = read_sequentially_from(Path::new(name), raw, limits, &mut |step| {
        if let Step::Request(r) = step {
            requests.push(format!("{r:?}"));
        }
    });
    (requests, r.map(|_| ()).map_err(|e| e.render()))
}

/// The storage reader's SIMD CSV field index must split records and fields exactly as the
/// `csv` crate does, up to the point where it hands the rest to `csv` (irregular quotes).
/// Panics (a crash for the fuzzer) on any difference.
fn csv_index_agrees_with_csv(data: &[u8]) {
    use casefile::input::csv_index::{Item, Scanner};
    // `csv` drops a leading UTF-8 BOM; casefile's decoder has taken it off before the index.
    if data.starts_with(b"\xEF\xBB\xBF") {
        return;
    }
    let unquote = |raw: &[u8]| -> Vec<u8> {
        match raw.strip_prefix(b"\"") {
            Some(rest) => {
                let inner = rest.strip_suffix(b"\"").unwrap_or(rest);
                let mut out = Vec::with_capacity(inner.len());
                let mut i = 0;
                while i < inner.len() {
                    out.push(inner[i]);
                    i += if inner[i] == b'"' { 2 } else { 1 };
                }
                out
            }
            None => raw.to_vec(),
        }
    };
    let mut ours: Vec<Vec<Vec<u8>>> = Vec::new();
    let (mut fields, mut start, mut record_start, mut complete) = (Vec::new(), 0usize, 0usize, true);
    for item in Scanner::new(data, b',').items() {
        match item {
            Item::Delimiter(at) => {
                fields.push(unquote(&data[start..at]));
                start = at + 1;
            }
            Item::LineEnd(at) => {
                if at > record_start {
                    fields.push(unquote(&data[start..at]));
                    ours.push(std::mem::take(&mut fields));
                }
                start = at + 1;
                record_start = start;
            }
            Item::QuotedNewline => {}
            Item::Irregular => {
                complete = false;
                break;
            }
        }
    }
    if complete && record_start < data.len() {
        fields.push(unquote(&data[start..]));
        ours.push(fields);
    }
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(data);
    let theirs: Vec<Vec<Vec<u8>>> = reader
        .byte_records()
        .take(ours.len() + usize::from(complete))
        .map_while(Result::ok)
        .map(|r| r.iter().map(<[u8]>::to_vec).collect())
        .collect();
    assert_eq!(
        ours,
        theirs[..theirs.len().min(ours.len() + usize::from(complete))],
        "CSV field index and csv differ"
    );
    if complete {
        assert_eq!(
            ours.len(),
            theirs.len(),
            "CSV field index and csv read a different number of records"
        );
    }
}

pub fn alerts(data: &[u8]) {
    let r = casefile::bundle::alerts::load_from(Path::new("fuzz-input.json"), Cursor::new(data.to_vec()), &mut Span::default());
    if let Ok((rows, _)) = &r {
        for a in rows {
            let _ = a.source_product();
        }
    }
    show(&r);
}

pub fn risk(data: &[u8]) {
    let r = casefile::bundle::risk::load_from(Path::new("fuzz-input.csv"), Cursor::new(data.to_vec()), &mut Span::default());
    if let Ok((rows, _)) = &r {
        for e in rows {
            let _ = e.open_and_serious();
        }
    }
    show(&r);
}

// ---------------------------------------------------------------------------------------------
// Recommendations

fn recommendations(name: &str, data: &[u8]) {
    let r = casefile::posture::recommendations::load_recommendations_from(Path::new(name), data);
    if let Ok(export) = &r {
        for item in &export.items {
            let _ = (item.state_since(), item.resource_name());
        }
    }
    show(&r);
}

pub fn recommendations_csv(data: &[u8]) {
    recommendations("fuzz-input.csv", data);
}

/// An input starting with `PK` is written as it is (a whole .xlsx). Any other input is the
/// workbook's XML parts separated by NUL bytes — `sheet1.xml`, `sharedStrings.xml`,
/// `styles.xml`, `sheet2.xml`, all optional — packed here into a stored (uncompressed) zip
/// with correct CRCs, so mutations reach calamine's XML readers and casefile's cell handling
/// instead of dying at the zip checksum.
pub fn recommendations_xlsx(data: &[u8]) {
    if data.starts_with(b"PK") {
        recommendations("fuzz-input.xlsx", data);
    } else {
        recommendations("fuzz-input.xlsx", &xlsx_from_parts(data));
    }
}

/// Builds an .xlsx from NUL-separated XML parts (see [`recommendations_xlsx`]).
pub fn xlsx_from_parts(data: &[u8]) -> Vec<u8> {
    let mut parts = data.splitn(4, |&b| b == 0);
    let sheet1 = parts.next().unwrap_or_default();
    let shared = parts.next();
    let styles = parts.next();
    let sheet2 = parts.next();

    let mut types = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#,
    );
    let mut sheets = String::from(r#"<sheet name="Recommendations" sheetId="1" r:id="rId1"/>"#);
    let mut rels = String::from(
        r#"<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>"#,
    );
    let mut files: Vec<(&str, Vec<u8>)> = vec![("xl/worksheets/sheet1.xml", sheet1.to_vec())];
    if let Some(s) = shared {
        types.push_str(r#"<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>"#);
        rels.push_str(r#"<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>"#);
        files.push(("xl/sharedStrings.xml", s.to_vec()));
    }
    if let Some(s) = styles {
        types.push_str(
            r#"<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>"#,
        );
        rels.push_str(r#"<Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>"#);
        files.push(("xl/styles.xml", s.to_vec()));
    }
    if let Some(s) = sheet2 {
        types.push_str(r#"<Override PartName="/xl/worksheets/sheet2.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#);
        sheets.push_str(r#"<sheet name="Other" sheetId="2" r:id="rId2"/>"#);
        rels.push_str(r#"<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet2.xml"/>"#);
        files.push(("xl/worksheets/sheet2.xml", s.to_vec()));
    }
    types.push_str("</Types>");
    let workbook = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>{sheets}</sheets></workbook>"#
    );
    let wb_rels = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>"#
    );
    let root_rels = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
    files.push(("[Content_Types].xml", types.into_bytes()));
    files.push(("_rels/.rels", root_rels.as_bytes().to_vec()));
    files.push(("xl/workbook.xml", workbook.into_bytes()));
    files.push(("xl/_rels/workbook.xml.rels", wb_rels.into_bytes()));
    stored_zip(&files)
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A zip archive whose entries are stored uncompressed.
fn stored_zip(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    fn u16le(v: &mut Vec<u8>, x: u16) {
        v.extend_from_slice(&x.to_le_bytes());
    }
    fn u32le(v: &mut Vec<u8>, x: u32) {
        v.extend_from_slice(&x.to_le_bytes());
    }
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, body) in files {
        let offset = out.len() as u32;
        let crc = crc32(body);
        let len = body.len() as u32;
        // local file header: version 2.0, no flags, stored, 1980-01-01 00:00
        u32le(&mut out, 0x0403_4b50);
        for x in [20u16, 0, 0, 0, 0x21] {
            u16le(&mut out, x);
        }
        for x in [crc, len, len] {
            u32le(&mut out, x);
        }
        u16le(&mut out, name.len() as u16);
        u16le(&mut out, 0);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(body);
        // central directory entry
        u32le(&mut central, 0x0201_4b50);
        for x in [20u16, 20, 0, 0, 0, 0x21] {
            u16le(&mut central, x);
        }
        for x in [crc, len, len] {
            u32le(&mut central, x);
        }
        for x in [name.len() as u16, 0, 0, 0, 0] {
            u16le(&mut central, x);
        }
        u32le(&mut central, 0);
        u32le(&mut central, offset);
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    let cd_size = central.len() as u32;
    out.extend_from_slice(&central);
    u32le(&mut out, 0x0605_4b50);
    for x in [0u16, 0, files.len() as u16, files.len() as u16] {
        u16le(&mut out, x);
    }
    u32le(&mut out, cd_size);
    u32le(&mut out, cd_offset);
    u16le(&mut out, 0);
    out
}

// ---------------------------------------------------------------------------------------------
// TOML

/// `case.toml` text (invalid UTF-8 replaced); evidence paths resolve against a scratch
/// directory that holds nothing.
pub fn case_toml(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let dir = scratch_dir().join("casefile-fuzz-bundle");
    let r = casefile::case::parse_case(&text, &dir, &dir.join("case.toml"));
    show(&r);
}

/// One or more control files separated by NUL bytes (TOML cannot contain NUL). Each is named
/// after its own `id = "…"` line when it has one, so valid catalogs parse all the way.
pub fn controls_toml(data: &[u8]) {
    let files: Vec<(PathBuf, String)> = data
        .split(|&b| b == 0)
        .enumerate()
        .map(|(i, part)| {
            let text = String::from_utf8_lossy(part).into_owned();
            let stem = text
                .lines()
                .find_map(|l| {
                    let l = l.trim();
                    let rest = l.strip_prefix("id")?.trim_start().strip_prefix('=')?.trim();
                    let id = rest.strip_prefix('"')?.split('"').next()?;
                    (!id.is_empty() && !id.contains(['/', '\\', '.'])).then(|| id.to_string())
                })
                .unwrap_or_else(|| format!("control-{i}"));
            (PathBuf::from("controls").join(format!("{stem}.toml")), text)
        })
        .collect();
    let r = casefile::posture::catalog::parse_catalog(&files, "controls");
    if let Ok(c) = &r {
        for control in &c.controls {
            let _ = c.get(&control.id.0);
        }
    }
    show(&r);
}

// ---------------------------------------------------------------------------------------------
// Typst text sanitiser

/// `sanitize` must never panic, and its output must hold no control character (line breaks
/// become spaces, others `[U+XXXX]`) and no bidi override or isolate. The fuzz build has no
/// typst (`default-features = false`), so the embedded fonts' coverage that
/// `report::typst::sanitize` passes is stood in for by a rule that rejects every other
/// non-ASCII code point: both the drawn and the spelled-out path run.
pub fn sanitize(data: &[u8]) {
    use casefile::report::sanitize::{sanitize_value_with, sanitize_with, Sanitized};
    let text = String::from_utf8_lossy(data);
    let drawable = |c: char| c.is_ascii() || (c as u32).is_multiple_of(2);
    let out = sanitize_with(&text, drawable);
    // A model's strings sanitised while serialising (the reports' path) and in place agree,
    // and both are `sanitize_with`'s text.
    let value = serde_json::json!({ "k": [text.as_ref(), { "n": text.as_ref() }] });
    let serialised = serde_json::to_value(Sanitized {
        value: &value,
        drawable: &drawable,
    })
    .expect("a JSON value serialises");
    let mut in_place = value.clone();
    sanitize_value_with(&mut in_place, &drawable);
    assert_eq!(serialised, in_place, "serialised and in-place sanitising differ for {text:?}");
    assert_eq!(serialised["k"][0].as_str(), Some(out.as_str()), "for {text:?}");
    if let Some(c) = out
        .chars()
        .find(|&c| c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'))
    {
        panic!("sanitize left U+{:04X} in its output for {text:?}: {out:?}", c as u32);
    }
}
