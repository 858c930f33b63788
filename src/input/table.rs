//! Shared reading of tabular evidence: Log Analytics "Export to CSV", the Log Analytics query
//! API JSON (`tables/columns/rows`), and JSON record exports (an array, a Graph/REST `value`
//! page, or JSON Lines). Each record reaches the per-source parsers as a [`Row`] that knows
//! its [`Location`], so every typed record can be traced to its file and line.
//!
//! This module knows formats and quirks (BOM, CRLF, ` [UTC]` headers, `_dynamic`/`_string`
//! unions, locale timestamps, JSON inside cells) but nothing about what the columns mean;
//! that is left to `signins`, `activity`, `storage` and `alerts`.
//!
//! CSV is streamed record by record with one reused `StringRecord`, so memory does not grow
//! with the number of rows. JSON documents are parsed whole (API pages are bounded by the
//! service); JSON Lines are streamed line by line.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

use crate::error::{Error, InputError, Location, Result};
use crate::types::Timestamp;

/// The physical shape of a table file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// Log Analytics / portal CSV download (any column order, subset or superset).
    Csv,
    /// Log Analytics query REST API response: `{"tables":[{"columns":[..],"rows":[[..]]}]}`.
    LogAnalyticsJson,
    /// A JSON array of objects, or an object whose `value` (Graph, REST) or `data` (Resource
    /// Graph) member is one.
    JsonRecords,
    /// One JSON object per line (raw resource logs from a diagnostic-settings archive).
    JsonLines,
}

/// Column names normalised for matching: BOM, ` [UTC]` and union type suffixes removed,
/// whitespace collapsed, lower-cased. The first of duplicate names wins.
#[derive(Debug, Default, Clone)]
pub struct Columns {
    index: BTreeMap<String, usize>,
    /// Original header spelling, for messages.
    original: Vec<String>,
    /// Columns whose header says their values are UTC (Log Analytics adds ` [UTC]`).
    utc: Vec<bool>,
    /// Normalised names that appeared more than once (kept: the first).
    pub duplicates: Vec<String>,
}

/// Normalises one header cell; returns the key and whether it was marked UTC.
pub fn normalise_header(raw: &str) -> (String, bool) {
    let mut s = raw.trim_start_matches('\u{feff}').trim().to_string();
    let mut utc = false;
    for suffix in [" [UTC]", " [utc]"] {
        if let Some(stripped) = s.strip_suffix(suffix) {
            s = stripped.to_string();
            utc = true;
        }
    }
    let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut key = collapsed.to_lowercase();
    // A union of SigninLogs (dynamic) and AADNonInteractiveUserSignInLogs (string) renames
    // clashing columns `X_dynamic` / `X_string` (formats.md Q6); both mean X.
    for suffix in ["_dynamic", "_string"] {
        if let Some(stripped) = key.strip_suffix(suffix) {
            key = stripped.to_string();
        }
    }
    (key, utc)
}

impl Columns {
    pub fn new<'a>(headers: impl IntoIterator<Item = &'a str>) -> Columns {
        let mut c = Columns::default();
        for (i, h) in headers.into_iter().enumerate() {
            let (key, utc) = normalise_header(h);
            c.original.push(h.trim_start_matches('\u{feff}').to_string());
            c.utc.push(utc);
            match c.index.entry(key) {
                std::collections::btree_map::Entry::Occupied(e) => {
                    if !c.duplicates.contains(e.key()) {
                        c.duplicates.push(e.key().clone());
                    }
                }
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(i);
                }
            }
        }
        c
    }
    /// Normalised names in header order, for kind detection and "unknown columns" lists.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<(usize, &String)> = self.index.iter().map(|(k, i)| (*i, k)).collect();
        v.sort();
        v.into_iter().map(|(_, k)| k.clone()).collect()
    }
    pub fn len(&self) -> usize {
        self.original.len()
    }
    pub fn is_empty(&self) -> bool {
        self.original.is_empty()
    }
    fn find(&self, alias: &str) -> Option<usize> {
        self.index.get(alias).copied()
    }
}

/// One record, whatever the file shape. Empty cells read as absent (Log Analytics writes
/// null as an empty cell).
pub struct Row<'a> {
    inner: RowInner<'a>,
    location: Location,
    /// Worksheet name and 1-based sheet row, for `Sheet!D14` cell references.
    sheet: Option<(&'a str, u64)>,
    /// The file's day/month order, decided once per file.
    order: &'a Dates<'a>,
    /// The reading options of the file (declared zone, field tracking).
    options: &'a TableOptions<'a>,
    /// An Azure Monitor resource-log record (`time`, `category`, `properties` object, as a
    /// diagnostic setting writes to a storage account or event hub): a field is looked up
    /// under `properties.` first, then at the top level.
    envelope: bool,
}

/// How a table file is read, beyond its own content.
#[derive(Default)]
pub struct TableOptions<'a> {
    /// The zone declared for the file's zoneless timestamps (`[[evidence]] timezone`).
    pub zone: Option<chrono_tz::Tz>,
    /// When set, every field name a parser asks for is recorded here, so that "unknown
    /// columns" are derived from what the parser actually reads and cannot drift from it.
    pub track: Option<&'a std::cell::RefCell<std::collections::BTreeSet<String>>>,
    /// When set, per-record anomalies that do not stop the read (an invalid address, a
    /// value outside a documented set) are counted here by description.
    pub anomalies: Option<&'a std::cell::RefCell<BTreeMap<String, u64>>>,
}

impl TableOptions<'_> {
    /// No declared zone, no tracking: the defaults, for readers with no options.
    pub const NONE: TableOptions<'static> = TableOptions {
        zone: None,
        track: None,
        anomalies: None,
    };

    fn note(&self, alias: &str) {
        if let Some(t) = self.track {
            let mut t = t.borrow_mut();
            if !t.contains(alias) {
                t.insert(alias.to_string());
            }
        }
    }
}

/// Whether a flattened JSON record follows the Azure Monitor resource-log common schema.
fn is_envelope(map: &BTreeMap<String, String>) -> bool {
    map.contains_key("time") && map.contains_key("category") && map.get("properties").is_some_and(|p| p.starts_with('{'))
}

enum RowInner<'a> {
    Csv {
        columns: &'a Columns,
        record: &'a csv::StringRecord,
    },
    Map(&'a BTreeMap<String, String>),
}

/// A field's value together with the name it was found under and whether it is UTC.
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    pub name: &'a str,
    pub value: &'a str,
    pub utc: bool,
}

impl<'a> Row<'a> {
    /// A CSV record as a row (the storage reader parses chunks itself and falls back to
    /// [`Row`] for anything irregular, so messages stay the same).
    pub fn csv(columns: &'a Columns, record: &'a csv::StringRecord, location: Location, order: &'a Dates<'a>) -> Row<'a> {
        Row {
            inner: RowInner::Csv { columns, record },
            location,
            sheet: None,
            order,
            options: &TableOptions::NONE,
            envelope: false,
        }
    }

    /// A flattened JSON record as a row (see [`flatten`]).
    pub fn map(map: &'a BTreeMap<String, String>, location: Location, order: &'a Dates<'a>) -> Row<'a> {
        Row {
            inner: RowInner::Map(map),
            location,
            sheet: None,
            order,
            options: &TableOptions::NONE,
            envelope: false,
        }
    }

    /// The first non-empty value among `aliases` (normalised, lower-case names).
    pub fn field(&self, aliases: &[&str]) -> Option<Field<'a>> {
        if self.options.track.is_some() {
            for a in aliases {
                self.options.note(a);
                if self.envelope {
                    self.options.note(&format!("properties.{a}"));
                }
            }
        }
        for alias in aliases {
            if self.envelope && !alias.starts_with("properties.") {
                if let RowInner::Map(map) = &self.inner {
                    if let Some((k, v)) = map.get_key_value(&format!("properties.{alias}")) {
                        if !v.is_empty() {
                            return Some(Field {
                                name: k,
                                value: v,
                                utc: false,
                            });
                        }
                    }
                }
            }
            match &self.inner {
                RowInner::Csv { columns, record } => {
                    if let Some(i) = columns.find(alias) {
                        let value = record.get(i).unwrap_or("");
                        if !value.is_empty() {
                            return Some(Field {
                                name: &columns.original[i],
                                value,
                                utc: columns.utc[i],
                            });
                        }
                    }
                }
                RowInner::Map(map) => {
                    if let Some((k, v)) = map.get_key_value(*alias) {
                        if !v.is_empty() {
                            // JSON exports carry ISO timestamps with their own zone; a value
                            // without a zone is an error, except in a resource-log record's
                            // `time`, which the common schema defines as UTC (UserRiskEvents
                            // records write it en-US without a zone).
                            return Some(Field {
                                name: k,
                                value: v,
                                utc: self.envelope && k == "time",
                            });
                        }
                    }
                }
            }
        }
        None
    }

    pub fn str(&self, aliases: &[&str]) -> Option<&'a str> {
        self.field(aliases).map(|f| f.value)
    }

    pub fn string(&self, aliases: &[&str]) -> Option<String> {
        self.str(aliases).map(|s| s.trim().to_string())
    }

    /// Where this record is; add `.with_field(..)` for a field-level message.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The file's own spelling of the first alias that exists as a column, else the alias.
    fn column_name(&self, aliases: &[&str]) -> String {
        for alias in aliases {
            match &self.inner {
                RowInner::Csv { columns, .. } => {
                    if let Some(i) = columns.find(alias) {
                        return columns.original[i].clone();
                    }
                }
                RowInner::Map(map) => {
                    if map.contains_key(*alias) {
                        return (*alias).to_string();
                    }
                }
            }
        }
        aliases.first().copied().unwrap_or("").to_string()
    }

    /// A required field, or an error naming the record and the column.
    ///
    /// # Errors
    /// An input error naming the record and column when the field is absent or empty.
    pub fn required(&self, what: &str, aliases: &[&str]) -> Result<Field<'a>> {
        self.field(aliases).ok_or_else(|| {
            let name = self.column_name(aliases);
            let expected = if aliases.len() > 1 {
                format!("a non-empty value (column {} or an equivalent: {})", name, aliases.join(", "))
            } else {
                format!("a non-empty value in column {name}")
            };
            InputError::new(what, "missing value", self.location.clone().with_field(&name))
                .expected(&expected)
                .into()
        })
    }

    /// A required timestamp.
    ///
    /// # Errors
    /// An input error naming the record and column when the timestamp is absent, null or invalid.
    pub fn timestamp(&self, what: &str, aliases: &[&str]) -> Result<Timestamp> {
        let f = self.required(what, aliases)?;
        match parse_timestamp_in(f.value, f.utc, self.order).or_else(|e| self.in_declared_zone(f.value).ok_or(e)) {
            Ok(Some(t)) => Ok(t),
            Ok(None) => Err(InputError::new(what, "null timestamp", self.location.clone().with_field(f.name))
                .found(f.value)
                .expected("a real date")
                .into()),
            Err(expected) => {
                let reason = if expected == AMBIGUOUS {
                    "ambiguous day/month order"
                } else {
                    "invalid timestamp"
                };
                Err(self.bad(what, reason, f, expected))
            }
        }
    }

    /// An optional timestamp; present but unparseable is an error, never silently None.
    ///
    /// # Errors
    /// An input error naming the record and column when the value is present but not a timestamp.
    pub fn opt_timestamp(&self, what: &str, aliases: &[&str]) -> Result<Option<Timestamp>> {
        match self.field(aliases) {
            None => Ok(None),
            Some(f) => parse_timestamp(f.value, f.utc)
                .or_else(|e| self.in_declared_zone(f.value).ok_or(e))
                .map_err(|expected| self.bad(what, "invalid timestamp", f, expected)),
        }
    }

    /// A zoneless timestamp read in the zone declared for the file, if one was declared.
    fn in_declared_zone(&self, raw: &str) -> Option<Option<Timestamp>> {
        let zone = self.options.zone?;
        let naive = match parse_timestamp_in(raw, true, self.order) {
            Ok(Some(t)) => t.0.naive_utc(),
            _ => return None,
        };
        zone.from_local_datetime(&naive)
            .earliest()
            .map(|t| Some(Timestamp(t.with_timezone(&Utc))))
    }

    /// Counts an anomaly of this record that does not stop the read; it reaches data quality.
    pub fn anomaly(&self, description: &str) {
        if let Some(a) = self.options.anomalies {
            *a.borrow_mut().entry(description.to_string()).or_default() += 1;
        }
    }

    /// An optional IP address. A value that is not one (and not a `<Redacted>`-style
    /// placeholder) is counted as an anomaly and read as unknown.
    pub fn ip(&self, aliases: &[&str]) -> Option<std::net::IpAddr> {
        let f = self.field(aliases)?;
        let ip = crate::types::parse_ip(f.value);
        if ip.is_none() && !f.value.trim().starts_with('<') {
            self.anomaly(&format!("invalid IP address in {} (read as unknown)", f.name));
        }
        ip
    }

    /// Whether this record is an Azure Monitor resource-log record (fields under `properties`).
    pub fn is_resource_log(&self) -> bool {
        self.envelope
    }

    /// An optional unsigned integer (sizes, status codes).
    ///
    /// # Errors
    /// An input error naming the record and column when the value is present but not an unsigned integer.
    pub fn opt_u64(&self, what: &str, aliases: &[&str]) -> Result<Option<u64>> {
        match self.field(aliases) {
            None => Ok(None),
            Some(f) => {
                let t = f.value.trim();
                // The query API and Excel write integers as floats ("99.0").
                let parsed = t.parse::<u64>().ok().or_else(|| t.strip_suffix(".0").and_then(|s| s.parse().ok()));
                parsed
                    .map(Some)
                    .ok_or_else(|| self.bad(what, "invalid number", f, "a whole number of bytes or a code"))
            }
        }
    }

    /// A JSON-valued field (dynamic column or JSON text in a string column), parsed.
    ///
    /// # Errors
    /// An input error naming the record and column when the value is present but not JSON.
    pub fn json(&self, what: &str, aliases: &[&str]) -> Result<Option<Value>> {
        match self.field(aliases) {
            None => Ok(None),
            Some(f) => parse_json_cell(f.value)
                .map(Some)
                .map_err(|e| self.bad(what, "invalid JSON in cell", f, &format!("JSON ({e})"))),
        }
    }

    /// An error about `field` of this record.
    pub fn bad(&self, what: &str, reason: &str, field: Field<'_>, expected: &str) -> Error {
        let mut location = self.location.clone().with_field(field.name);
        if let (Some((sheet, row)), RowInner::Csv { columns, .. }) = (self.sheet, &self.inner) {
            if let Some(i) = columns.original.iter().position(|o| o == field.name) {
                location = location.with_path(format!("{sheet}!{}{row}", column_letters(i)));
            }
        }
        InputError::new(what, reason, location).found(field.value).expected(expected).into()
    }
}

/// Statistics about one table file, gathered while streaming it.
#[derive(Debug, Clone, Default)]
pub struct TableInfo {
    pub columns: Vec<String>,
    pub records: u64,
    pub duplicate_columns: Vec<String>,
}

/// A streaming reader over an input's text.
pub type Input = Box<dyn BufRead>;

/// Opens an input read-only as UTF-8 text: gzip is decompressed on the fly; a UTF-16 LE/BE
/// byte-order mark (Windows PowerShell's `>`/Out-File) selects transcoding; a UTF-8 BOM is
/// stripped; text without a BOM passes through byte for byte, so invalid UTF-8 is reported
/// with its position instead of being replaced.
///
/// # Errors
/// An input error naming the file when it cannot be opened or decoded.
pub fn open(path: &Path, what: &str) -> Result<Input> {
    open_reader(path, what, open_file(path, what)?)
}

fn open_file(path: &Path, what: &str) -> Result<File> {
    File::open(path).map_err(|e| {
        Error::from(
            InputError::new(what, "cannot open file", Location::file(path))
                .found(&e.to_string())
                .expected("a readable file"),
        )
    })
}

/// [`open`] over bytes already open (in memory, a network stream): `name` stands for the
/// file in messages.
pub fn open_reader(name: &Path, what: &str, raw: impl Read + 'static) -> Result<Input> {
    decode(raw).map_err(|e| io_error(name, what, e))
}

/// [`open`]'s decoding (gzip, UTF-16, BOM) over any byte reader, for inputs already open
/// (a hashing reader, bytes in memory).
///
/// # Errors
/// The I/O error of reading the first bytes.
pub fn decode(raw: impl Read + 'static) -> std::io::Result<Input> {
    let mut raw = BufReader::with_capacity(1 << 16, raw);
    let gz = raw.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let inner: Box<dyn Read> = if gz {
        Box::new(flate2::read::MultiGzDecoder::new(raw))
    } else {
        Box::new(raw)
    };
    let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
        .bom_sniffing(true)
        .strip_bom(true)
        .utf8_passthru(true)
        .build(inner);
    Ok(Box::new(BufReader::with_capacity(1 << 16, decoded)))
}

/// How much decoded text shape and delimiter sniffing look at.
pub const HEAD_BYTES: usize = 64 * 1024;

/// A file's first bytes, read once: plain text (no gzip, no UTF-16 byte order mark) as its
/// head and the rest, which is what [`decode`] would make of it; anything else as a reader
/// of all its bytes, to decode.
enum RawHead {
    Plain { head: Vec<u8>, rest: Input },
    Encoded(std::io::Chain<std::io::Cursor<Vec<u8>>, File>),
}

fn raw_head(path: &Path, what: &str) -> Result<RawHead> {
    use super::mapped::{read_head, Head};
    let mut file = open_file(path, what)?;
    let mut head = match read_head(&mut file, HEAD_BYTES).map_err(|e| io_error(path, what, e))? {
        Head::Plain { text, .. } => text,
        Head::Encoded(bytes) => return Ok(RawHead::Encoded(std::io::Cursor::new(bytes).chain(file))),
    };
    let beyond = head.split_off(head.len().min(HEAD_BYTES));
    let rest = BufReader::with_capacity(1 << 13, std::io::Cursor::new(beyond).chain(file));
    Ok(RawHead::Plain {
        head,
        rest: Box::new(rest),
    })
}

fn io_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    InputError::new(what, "read error", Location::file(path))
        .found(&e.to_string())
        .into()
}

/// Sniffs the shape from the first non-whitespace bytes and the file name.
pub fn sniff_shape(path: &Path, head: &[u8]) -> Shape {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    if ext == "jsonl" || ext == "ndjson" {
        return Shape::JsonLines;
    }
    let first = head.iter().find(|b| !b.is_ascii_whitespace()).copied();
    match first {
        Some(b'[') => Shape::JsonRecords,
        // The key is ASCII: found in the bytes exactly where it is in their lossy text.
        Some(b'{') if memchr::memmem::find(head, b"\"tables\"").is_some() => Shape::LogAnalyticsJson,
        Some(b'{') => {
            let text = simdutf8::basic::from_utf8(head).map_or_else(|_| String::from_utf8_lossy(head), std::borrow::Cow::Borrowed);
            // One object per line, or one object wrapping `value`.
            let mut lines = text.lines().filter(|l| !l.trim().is_empty());
            let first_line = lines.next().unwrap_or("");
            let complete = serde_json::from_str::<Value>(first_line).is_ok();
            if complete && lines.next().is_some() {
                Shape::JsonLines
            } else {
                Shape::JsonRecords
            }
        }
        _ => Shape::Csv,
    }
}

/// What the first record of a file shows, for kind detection and "unknown columns".
#[derive(Debug, Clone)]
pub struct Peek {
    pub shape: Shape,
    /// Field names as parsers ask for them (a resource-log record's `properties.*` fields
    /// without the prefix), for kind detection.
    pub names: Vec<String>,
    /// Field names as they are in the file, for listing the ones no parser read.
    pub raw: Vec<String>,
}

/// Reads the header (or, for JSON, the first record's keys) only, for kind detection.
///
/// # Errors
/// An input error when the file cannot be opened, decoded or parsed up to its first record.
pub fn peek_columns(path: &Path, what: &str) -> Result<(Shape, Vec<String>)> {
    peek(path, what).map(|p| (p.shape, p.names))
}

/// Reads the header (or, for JSON, the first record) only.
///
/// # Errors
/// An input error when the file cannot be opened, decoded or parsed up to its first record.
pub fn peek(path: &Path, what: &str) -> Result<Peek> {
    let mut found = None;
    // Only the first record's names are read, no date: its day/month order is not needed.
    let order = HeadOrder::known(DateOrder::Unknown);
    let visit = &mut |row: &Row| {
        found = Some(row.names());
        Ok(Visit::Stop)
    };
    let options = TableOptions::default();
    let (shape, info) = match raw_head(path, what)? {
        // Plain text is its own decoding: its head is read once, not through the decoder.
        RawHead::Plain { head, rest } => read_after_head(path, what, head, rest, &options, Some(order), visit),
        RawHead::Encoded(input) => read_shaped(path, what, open_reader(path, what, input)?, &options, Some(order), visit),
    }?;
    let (names, raw) = found.unwrap_or_else(|| (info.columns.clone(), info.columns));
    Ok(Peek { shape, names, raw })
}

impl Row<'_> {
    /// (names for detection, names as in the file).
    fn names(&self) -> (Vec<String>, Vec<String>) {
        match &self.inner {
            RowInner::Csv { columns, .. } => (columns.names(), columns.names()),
            RowInner::Map(m) => (record_names(m), m.keys().cloned().collect()),
        }
    }
}

/// Whether the reader should go on after a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visit {
    Continue,
    Stop,
}

/// Streams every record of a table file to `visit`. Stops at the first error, which names
/// the file, line and record.
///
/// # Errors
/// An input error naming the file and record where the table cannot be read, or the visitor's error.
pub fn read_table(path: &Path, what: &str, visit: &mut dyn FnMut(&Row) -> Result<Visit>) -> Result<TableInfo> {
    read_table_with(path, what, &TableOptions::default(), visit)
}

/// [`read_table`] with reading options (a declared zone, field tracking).
///
/// # Errors
/// The first input error the reader or `visit` meets, naming the file, line and record.
pub fn read_table_with(path: &Path, what: &str, options: &TableOptions, visit: &mut dyn FnMut(&Row) -> Result<Visit>) -> Result<TableInfo> {
    read_table_from_with(path, what, open(path, what)?, options, visit)
}

/// [`read_table`] over decoded text already open (see [`decode`]); `path` names it in
/// messages and, by its extension, helps tell the shape.
///
/// # Errors
/// An input error naming the file and record where the table cannot be read, or the visitor's error.
pub fn read_table_from(path: &Path, what: &str, input: Input, visit: &mut dyn FnMut(&Row) -> Result<Visit>) -> Result<TableInfo> {
    read_table_from_with(path, what, input, &TableOptions::default(), visit)
}

fn read_table_from_with(
    path: &Path,
    what: &str,
    input: Input,
    options: &TableOptions,
    visit: &mut dyn FnMut(&Row) -> Result<Visit>,
) -> Result<TableInfo> {
    read_shaped(path, what, input, options, None, visit).map(|(_, info)| info)
}

/// Reads the table, telling its shape from the head of the text, and the day/month order of
/// its dates from the head too unless `order` is given.
fn read_shaped(
    path: &Path,
    what: &str,
    mut input: Input,
    options: &TableOptions,
    order: Option<HeadOrder>,
    visit: &mut dyn FnMut(&Row) -> Result<Visit>,
) -> Result<(Shape, TableInfo)> {
    let mut head = Vec::with_capacity(HEAD_BYTES);
    (&mut input)
        .take(HEAD_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| io_error(path, what, e))?;
    read_after_head(path, what, head, input, options, order, visit)
}

/// [`read_shaped`] over a text's first [`HEAD_BYTES`] (fewer only when that is all of it) and
/// the reader of the rest.
fn read_after_head(
    path: &Path,
    what: &str,
    head: Vec<u8>,
    rest: Input,
    options: &TableOptions,
    order: Option<HeadOrder>,
    visit: &mut dyn FnMut(&Row) -> Result<Visit>,
) -> Result<(Shape, TableInfo)> {
    let shape = sniff_shape(path, &head);
    let (head_order, head) = match order {
        Some(order) => (order, head),
        None => (HeadOrder::of(head.clone()), head),
    };
    // A chain of two buffered readers is buffered itself.
    let reader: Input = Box::new(std::io::Cursor::new(head).chain(rest));
    let order = Dates::new(&head_order);
    let ctx = ReadCtx {
        path,
        file: std::sync::Arc::from(path),
        what,
        order: &order,
        options,
    };
    let info = match shape {
        Shape::Csv => read_csv(&ctx, reader, visit),
        Shape::LogAnalyticsJson => read_la_json(&ctx, reader, visit),
        Shape::JsonRecords => read_json_records(&ctx, reader, visit),
        Shape::JsonLines => read_json_lines(&ctx, reader, visit),
    }?;
    Ok((shape, info))
}

/// What every reader needs besides the text: where it is, what it is, and how to read it.
struct ReadCtx<'a> {
    path: &'a Path,
    /// `path` as every record's location shares it.
    file: std::sync::Arc<Path>,
    what: &'a str,
    order: &'a Dates<'a>,
    options: &'a TableOptions<'a>,
}

impl<'a> ReadCtx<'a> {
    fn map_row<'r>(&'r self, map: &'r BTreeMap<String, String>, location: Location) -> Row<'r> {
        Row {
            inner: RowInner::Map(map),
            location,
            sheet: None,
            order: self.order,
            options: self.options,
            envelope: is_envelope(map),
        }
    }
}

/// Line breaks of a CSV stream not yet behind the record being read: (offset, is `\n`).
#[derive(Default)]
struct LineBreaks {
    pending: std::collections::VecDeque<(u64, bool)>,
    newlines: u64,
}

impl LineBreaks {
    /// Newlines before the first byte of the record csv places at `at` (csv may place it
    /// on a line break before the record, or on blank lines before it). Records come in
    /// order, so breaks behind one are dropped.
    fn newlines_before(&mut self, at: u64) -> u64 {
        let mut next = at;
        while let Some(&(offset, newline)) = self.pending.front() {
            if offset > next {
                break;
            }
            if offset == next {
                next += 1;
            }
            self.newlines += u64::from(newline);
            self.pending.pop_front();
        }
        self.newlines
    }
}

/// Notes the line breaks of everything csv reads.
struct BreakTracker<R> {
    inner: R,
    offset: u64,
    breaks: Rc<RefCell<LineBreaks>>,
}

impl<R: Read> Read for BreakTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut breaks = self.breaks.borrow_mut();
        for i in memchr::memchr2_iter(b'\r', b'\n', &buf[..n]) {
            breaks.pending.push_back((self.offset + i as u64, buf[i] == b'\n'));
        }
        self.offset += n as u64;
        Ok(n)
    }
}

fn read_csv(ctx: &ReadCtx, mut reader: Input, visit: &mut dyn FnMut(&Row) -> Result<Visit>) -> Result<TableInfo> {
    let (path, what) = (ctx.path, ctx.what);
    // PowerShell 5.1's Export-Csv writes a `#TYPE System.Management.Automation...` line
    // before the header (formats.md Q10).
    let mut skipped_lines = 0u64;
    {
        let head = reader.fill_buf().map_err(|e| io_error(path, what, e))?;
        if head.starts_with(b"#TYPE") {
            let mut line = Vec::new();
            reader.read_until(b'\n', &mut line).map_err(|e| io_error(path, what, e))?;
            skipped_lines = 1;
        }
    }
    let delimiter = sniff_delimiter(reader.fill_buf().map_err(|e| io_error(path, what, e))?);
    // A record's line is its first byte's, counted from the line breaks read (csv's own
    // count lags after CRLF and blank lines); the chunked storage reader counts the same way.
    let breaks = Rc::new(RefCell::new(LineBreaks::default()));
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(false)
        .has_headers(true)
        .from_reader(BreakTracker {
            inner: reader,
            offset: 0,
            breaks: Rc::clone(&breaks),
        });
    let headers = csv.headers().map_err(|e| csv_error(path, what, e, skipped_lines))?.clone();
    let line_of = |byte: u64| 1 + skipped_lines + breaks.borrow_mut().newlines_before(byte);
    if headers.is_empty() || (headers.len() == 1 && headers.get(0).is_some_and(|h| h.trim().is_empty())) {
        return Err(InputError::new(what, "empty file", Location::file(path))
            .expected("a header row naming the columns")
            .into());
    }
    let columns = Columns::new(headers.iter());
    let mut info = TableInfo {
        columns: columns.names(),
        records: 0,
        duplicate_columns: columns.duplicates.clone(),
    };
    let mut record = csv::StringRecord::new();
    loop {
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| line_of(p.byte()));
                let mut err = csv_error(path, what, e, skipped_lines);
                if let (Error::Input(ie), Some(line)) = (&mut err, line) {
                    ie.location.line = Some(line);
                }
                return Err(err);
            }
        }
        let (line, rec) = record
            .position()
            .map(|p| (line_of(p.byte()), p.record()))
            .unwrap_or((0, info.records + 1));
        info.records += 1;
        let row = Row {
            inner: RowInner::Csv {
                columns: &columns,
                record: &record,
            },
            location: Location::record_in(&ctx.file, line, rec),
            sheet: None,
            order: ctx.order,
            options: ctx.options,
            envelope: false,
        };
        if visit(&row)? == Visit::Stop {
            break;
        }
    }
    Ok(info)
}

/// `,` unless the header line has more `;` or tabs outside quotes (fr-FR/de-DE exports and
/// `ConvertTo-Csv -Delimiter ";"`, formats.md Q11).
pub(crate) fn sniff_delimiter(head: &[u8]) -> u8 {
    let line = &head[..memchr::memchr(b'\n', head).unwrap_or(head.len())];
    let count = |text: &[u8], of: u8| text.iter().filter(|&&b| b == of).count();
    // The line's stretches between quotes, every other one outside them.
    let (mut comma, mut semi, mut tab) = (0, 0, 0);
    let mut quotes = memchr::memchr_iter(b'"', line);
    let mut from = 0;
    loop {
        let (open, close) = (quotes.next(), quotes.next());
        let outside = &line[from..open.unwrap_or(line.len())];
        comma += count(outside, b',');
        semi += count(outside, b';');
        tab += count(outside, b'\t');
        match close {
            Some(close) => from = close + 1,
            None => break,
        }
    }
    if semi > comma && semi >= tab {
        b';'
    } else if tab > comma && tab > semi {
        b'\t'
    } else {
        b','
    }
}

pub(crate) fn csv_error(path: &Path, what: &str, e: csv::Error, skipped: u64) -> Error {
    let (line, record) = e
        .position()
        .map(|p| (Some(p.line() + skipped), Some(p.record())))
        .unwrap_or((None, None));
    let mut loc = Location::file(path);
    loc.line = line;
    loc.record = record;
    let (reason, expected) = match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => (
            "wrong number of fields",
            format!("{expected_len} fields like the header, found {len}"),
        ),
        csv::ErrorKind::Utf8 { err, .. } => ("invalid UTF-8", format!("UTF-8 text (bad byte in field {})", err.field() + 1)),
        _ => ("malformed CSV", "RFC 4180 CSV".to_string()),
    };
    InputError::new(what, reason, loc)
        .expected(&expected)
        .hint("export again from Log Analytics (Export → CSV, all columns) and do not edit the file")
        .into()
}

pub(crate) fn json_parse_error(path: &Path, what: &str, e: serde_json::Error) -> Error {
    let mut loc = Location::file(path);
    loc.line = Some(e.line() as u64);
    let reason = if e.is_eof() { "truncated JSON" } else { "malformed JSON" };
    InputError::new(what, reason, loc.with_path(format!("column {}", e.column())))
        .found(&e.to_string())
        .expected("complete JSON")
        .into()
}

/// Parses a JSON document. serde_json limits nesting to 128 levels, so a hostile deeply
/// nested file fails cleanly instead of overflowing the stack.
fn parse_document(path: &Path, what: &str, reader: Input) -> Result<Value> {
    serde_json::from_reader(reader).map_err(|e| json_parse_error(path, what, e))
}

fn read_la_json(ctx: &ReadCtx, reader: Input, visit: &mut dyn FnMut(&Row) -> Result<Visit>) -> Result<TableInfo> {
    let (path, what) = (ctx.path, ctx.what);
    let doc = parse_document(path, what, reader)?;
    let bad_shape = |p: &str| -> Error {
        InputError::new(what, "unexpected JSON shape", Location::file(path).with_path(p.to_string()))
            .expected("a Log Analytics query response: {\"tables\":[{\"columns\":[...],\"rows\":[[...]]}]}")
            .into()
    };
    let table = doc
        .get("tables")
        .and_then(|t| t.as_array())
        .and_then(|t| t.first())
        .ok_or_else(|| bad_shape("tables[0]"))?;
    let cols = table
        .get("columns")
        .and_then(|c| c.as_array())
        .ok_or_else(|| bad_shape("tables[0].columns"))?;
    let names: Vec<String> = cols
        .iter()
        .map(|c| c.get("name").and_then(|n| n.as_str()).unwrap_or("").to_string())
        .collect();
    let keys: Vec<String> = names.iter().map(|n| normalise_header(n).0).collect();
    let rows = table
        .get("rows")
        .and_then(|r| r.as_array())
        .ok_or_else(|| bad_shape("tables[0].rows"))?;
    let mut info = TableInfo {
        columns: keys.clone(),
        ..TableInfo::default()
    };
    for (i, row) in rows.iter().enumerate() {
        let cells = row.as_array().ok_or_else(|| bad_shape(&format!("tables[0].rows[{i}]")))?;
        let mut map = BTreeMap::new();
        for (key, cell) in keys.iter().zip(cells) {
            map.entry(key.clone()).or_insert_with(|| scalar_text(cell));
        }
        info.records += 1;
        let row = Row {
            inner: RowInner::Map(&map),
            location: Location::in_file(&ctx.file).with_path(format!("tables[0].rows[{i}]")),
            sheet: None,
            order: ctx.order,
            options: ctx.options,
            envelope: false,
        };
        if visit(&row)? == Visit::Stop {
            break;
        }
    }
    Ok(info)
}

/// A JSON value as cell text: strings as they are, null as empty, others as JSON text.
fn scalar_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Flattens a JSON object into lower-cased dotted keys (`properties.objectkey`). Objects and
/// arrays are also kept whole under their own key, so `status` and `status.errorcode` both
/// resolve.
pub fn flatten(value: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    flatten_into(value, "", &mut out, 0);
    out
}

fn flatten_into(value: &Value, prefix: &str, out: &mut BTreeMap<String, String>, depth: usize) {
    if let Value::Object(map) = value {
        if depth > 8 {
            return;
        }
        for (k, v) in map {
            let key = if prefix.is_empty() {
                k.to_lowercase()
            } else {
                format!("{prefix}.{}", k.to_lowercase())
            };
            if v.is_object() {
                flatten_into(v, &key, out, depth + 1);
            }
            out.entry(key).or_insert_with(|| scalar_text(v));
        }
    }
}

fn read_json_records(ctx: &ReadCtx, reader: Input, visit: &mut dyn FnMut(&Row) -> Result<Visit>) -> Result<TableInfo> {
    let (path, what) = (ctx.path, ctx.what);
    let doc = parse_document(path, what, reader)?;
    let (items, base) = match record_list(&doc) {
        Some(found) => found,
        None => {
            return Err(InputError::new(what, "unexpected JSON shape", Location::file(path))
                .expected("an array of records, or an object with a `value`, `data` or `records` array")
                .into())
        }
    };
    let mut info = TableInfo::default();
    for (i, item) in items.iter().enumerate() {
        let map = flatten(item);
        if i == 0 {
            info.columns = record_names(&map);
        }
        info.records += 1;
        let p = if base.is_empty() {
            format!("[{i}]")
        } else {
            format!("{base}[{i}]")
        };
        let row = ctx.map_row(&map, Location::in_file(&ctx.file).with_path(p));
        if visit(&row)? == Visit::Stop {
            break;
        }
    }
    Ok(info)
}

/// The records of a JSON document: an array; the `value` array of a Graph/REST page; the
/// `data` array of a Resource Graph response; the `records` array that Azure Monitor writes
/// to storage (`PT1H.json`) and event hubs; or one object on its own.
fn record_list(doc: &Value) -> Option<(Vec<&Value>, &'static str)> {
    match doc {
        Value::Array(a) => Some((a.iter().collect(), "")),
        Value::Object(o) => Some(
            match ["value", "data", "records"].iter().find_map(|k| match o.get(*k) {
                Some(Value::Array(a)) => Some((a, *k)),
                _ => None,
            }) {
                Some((a, k)) => (a.iter().collect(), k),
                None => (vec![doc], ""),
            },
        ),
        _ => None,
    }
}

/// The field names of a flattened record, for kind detection and "unknown columns": a
/// resource-log record's `properties.*` fields are named without the prefix (that is how
/// its parser reads them), its envelope fields as they are.
pub fn record_names(map: &BTreeMap<String, String>) -> Vec<String> {
    if !is_envelope(map) {
        return map.keys().cloned().collect();
    }
    let mut names: Vec<String> = map
        .keys()
        .filter(|k| k.as_str() != "properties")
        .map(|k| k.strip_prefix("properties.").unwrap_or(k).to_string())
        .collect();
    names.sort();
    names.dedup();
    names
}

fn read_json_lines(ctx: &ReadCtx, reader: Input, visit: &mut dyn FnMut(&Row) -> Result<Visit>) -> Result<TableInfo> {
    let (path, what) = (ctx.path, ctx.what);
    let mut info = TableInfo::default();
    let mut line_no = 0u64;
    for line in reader.lines() {
        line_no += 1;
        let line = line.map_err(|e| io_error(path, what, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(&line).map_err(|e| {
            let mut err = json_parse_error(path, what, e);
            if let Error::Input(ie) = &mut err {
                ie.location.line = Some(line_no);
            }
            err
        })?;
        // An event hub capture or a `PT1H.json` of the older layout holds one
        // `{"records": [...]}` batch per line.
        let batch: Vec<&Value> = match value.get("records") {
            Some(Value::Array(a)) if value.as_object().is_some_and(|o| o.len() == 1) => a.iter().collect(),
            _ => vec![&value],
        };
        for item in batch {
            let map = flatten(item);
            if info.records == 0 {
                info.columns = record_names(&map);
            }
            info.records += 1;
            let row = ctx.map_row(&map, Location::record_in(&ctx.file, line_no, info.records));
            if visit(&row)? == Visit::Stop {
                return Ok(info);
            }
        }
    }
    Ok(info)
}

/// Spreadsheet column letters for a 0-based index (0 → A, 27 → AB).
pub fn column_letters(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8_lossy(&s).into_owned()
}

/// Streams the rows of a worksheet already read into memory (xlsx via calamine). The first
/// row is the header; errors name the sheet and cell (`Recommendations!D14`).
/// `rows` carry their 1-based sheet row numbers (empty rows are absent).
///
/// # Errors
/// An input error naming the file, sheet and cell, or the visitor's error.
pub fn read_sheet(
    path: &Path,
    sheet: &str,
    rows: Vec<(u64, Vec<String>)>,
    visit: &mut dyn FnMut(&Row) -> Result<Visit>,
) -> Result<TableInfo> {
    let unknown = HeadOrder::known(DateOrder::Unknown);
    let order = Dates::new(&unknown);
    let options = TableOptions::default();
    let mut iter = rows.into_iter();
    let file: std::sync::Arc<Path> = std::sync::Arc::from(path);
    let header = iter.next().map(|(_, h)| h).unwrap_or_default();
    let columns = Columns::new(header.iter().map(String::as_str));
    let mut info = TableInfo {
        columns: columns.names(),
        records: 0,
        duplicate_columns: columns.duplicates.clone(),
    };
    for (sheet_row, cells) in iter {
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let record = csv::StringRecord::from(cells);
        info.records += 1;
        let row = Row {
            inner: RowInner::Csv {
                columns: &columns,
                record: &record,
            },
            location: Location::in_file(&file).with_path(format!("{sheet}!A{sheet_row}")),
            sheet: Some((sheet, sheet_row)),
            order: &order,
            options: &options,
            envelope: false,
        };
        if visit(&row)? == Visit::Stop {
            break;
        }
    }
    Ok(info)
}

/// Parses a cell holding JSON. Exports nest JSON in strings (`Properties_d.responseBody`), so
/// a JSON string whose content is itself an object or array is parsed once more. Windows
/// PowerShell's `Export-Csv` writes nested objects as `@{key=value; …}`; that notation is
/// read too.
///
/// # Errors
/// serde_json's error when the text is neither JSON nor PowerShell's object notation.
pub fn parse_json_cell(text: &str) -> std::result::Result<Value, serde_json::Error> {
    let t = text.trim();
    if t.starts_with("@{") {
        if let Some(v) = parse_ps_hashtable(t) {
            return Ok(v);
        }
    }
    let v: Value = serde_json::from_str(t)?;
    Ok(unwrap_json_string(v))
}

/// Reads PowerShell's `@{a=1; b=@{c=x}; d=}` text form of an object into JSON. Values stay
/// strings (PowerShell does not quote them); an empty value is null. Returns None when the
/// text is not in that form.
pub fn parse_ps_hashtable(text: &str) -> Option<Value> {
    fn object(chars: &[char], pos: &mut usize, depth: usize) -> Option<Value> {
        if depth > 32 || chars.get(*pos) != Some(&'@') || chars.get(*pos + 1) != Some(&'{') {
            return None;
        }
        *pos += 2;
        let mut map = serde_json::Map::new();
        loop {
            while chars.get(*pos).is_some_and(|c| *c == ' ' || *c == ';') {
                *pos += 1;
            }
            match chars.get(*pos) {
                Some('}') => {
                    *pos += 1;
                    return Some(Value::Object(map));
                }
                None => return None,
                _ => {}
            }
            let key_start = *pos;
            while chars.get(*pos).is_some_and(|c| *c != '=' && *c != '}' && *c != ';') {
                *pos += 1;
            }
            if chars.get(*pos) != Some(&'=') {
                return None;
            }
            let key: String = chars[key_start..*pos].iter().collect::<String>().trim().to_string();
            *pos += 1;
            let value = if chars.get(*pos) == Some(&'@') && chars.get(*pos + 1) == Some(&'{') {
                object(chars, pos, depth + 1)?
            } else {
                let start = *pos;
                while chars.get(*pos).is_some_and(|c| *c != ';' && *c != '}') {
                    *pos += 1;
                }
                let v: String = chars[start..*pos].iter().collect::<String>().trim().to_string();
                if v.is_empty() {
                    Value::Null
                } else {
                    Value::String(v)
                }
            };
            map.insert(key, value);
        }
    }
    let chars: Vec<char> = text.trim().chars().collect();
    let mut pos = 0;
    let v = object(&chars, &mut pos, 0)?;
    (pos == chars.len()).then_some(v)
}

/// If `v` is a string holding a JSON object/array, returns the parsed inner value.
pub fn unwrap_json_string(v: Value) -> Value {
    if let Value::String(s) = &v {
        let t = s.trim_start();
        if t.starts_with('{') || t.starts_with('[') {
            if let Ok(inner) = serde_json::from_str::<Value>(s) {
                return inner;
            }
        }
    }
    v
}

/// Case-insensitive lookup of a dotted path in JSON (`properties.responseBody`), descending
/// through JSON-encoded strings on the way (formats.md Q5: JSON nested twice).
pub fn json_path<'v>(value: &'v Value, path: &str) -> Option<std::borrow::Cow<'v, Value>> {
    use std::borrow::Cow;
    let mut current: Cow<'v, Value> = Cow::Borrowed(value);
    for segment in path.split('.') {
        let next = match &current {
            Cow::Borrowed(Value::Object(map)) => map
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(segment))
                .map(|(_, v)| Cow::Borrowed(v)),
            Cow::Owned(Value::Object(map)) => map
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(segment))
                .map(|(_, v)| Cow::Owned(v.clone())),
            _ => None,
        }?;
        current = match next {
            Cow::Borrowed(Value::String(s)) if s.trim_start().starts_with('{') => Cow::Owned(unwrap_json_string(Value::String(s.clone()))),
            other => other,
        };
    }
    Some(current)
}

/// The string at a dotted JSON path, if it is a non-empty string.
pub fn json_str(value: &Value, path: &str) -> Option<String> {
    json_path(value, path)
        .and_then(|v| v.as_str().map(str::to_string))
        .filter(|s| !s.is_empty())
}

/// Parses the timestamp forms real exports use (formats.md Q3, Q4, Q9). Returns `Ok(None)`
/// for the .NET `DateTime.MinValue` placeholder (`1/1/1, 12:00:00.000 AM`, `0001-01-01…`),
/// which means null. A value without a zone is accepted only when `utc` says the column is
/// UTC (Log Analytics' ` [UTC]` headers); elsewhere it is an error, never a guess.
///
/// # Errors
/// What was expected, when the value is not a timestamp or has no zone outside a UTC column.
pub fn parse_timestamp(raw: &str, utc: bool) -> std::result::Result<Option<Timestamp>, &'static str> {
    const EXPECTED: &str = "an ISO 8601 timestamp with zone such as 2024-03-21T03:12:40Z, or a Log Analytics export time such as \"3/21/2024, 3:12:40.221 AM\" in a [UTC] column";
    let s = raw.trim();
    if s.starts_with("0001-01-01") || s.starts_with("1/1/1,") || s.starts_with("1/1/0001") {
        return Ok(None);
    }
    if let Some(t) = iso_utc_plain(s) {
        return Ok(Some(Timestamp(Utc.from_utc_datetime(&t))));
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Ok(Some(Timestamp(dt.with_timezone(&Utc))));
    }
    // Offsets written without a colon (+0000) or with a space before Z.
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(dt) = DateTime::parse_from_str(s, fmt) {
            return Ok(Some(Timestamp(dt.with_timezone(&Utc))));
        }
    }
    // `2024-03-21T3:12:40.22Z`: an unpadded hour (UserRiskEvents records) with a Z.
    if let Some(zoned) = s.strip_suffix('Z').and_then(parse_naive) {
        return Ok(Some(Timestamp(Utc.from_utc_datetime(&zoned))));
    }
    let naive = parse_naive(s);
    match naive {
        Some(n) if utc => Ok(Some(Timestamp(Utc.from_utc_datetime(&n)))),
        Some(_) => Err(ZONELESS),
        None => Err(EXPECTED),
    }
}

/// A number of `min..=max` ASCII digits at the start of `b`, and the rest.
#[inline]
pub fn leading_number(b: &[u8], min: usize, max: usize) -> Option<(u32, &[u8])> {
    let n = b.iter().take(max).take_while(|c| c.is_ascii_digit()).count();
    if n < min {
        return None;
    }
    let v = b[..n].iter().fold(0u32, |v, c| v * 10 + u32::from(c - b'0'));
    Some((v, &b[n..]))
}

/// An optional fraction of a second at the start of `b` (`.` and one to nine digits) as
/// nanoseconds, and the rest; None for a `.` not followed by one to nine digits.
#[inline]
pub fn fraction_nanos(b: &[u8]) -> Option<(u32, &[u8])> {
    let Some(rest) = b.strip_prefix(b".") else {
        return Some((0, b));
    };
    let n = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if !(1..=9).contains(&n) {
        return None;
    }
    let (v, rest) = leading_number(rest, n, n)?;
    Some((v * 10u32.pow(9 - n as u32), rest))
}

/// The resource logs' own form, `2024-03-21T03:12:40.2210000Z`, read digit by digit: four-digit
/// year, two-digit month, day, hour, minute and second (no leap second), an optional fraction
/// of one to nine digits, a capital `T` and `Z`. None for anything else, which chrono's RFC 3339
/// parser then reads; what this takes chrono reads the same (`iso_plain_is_chronos`). chrono's
/// general parser costs more than the rest of a storage record's fields together.
fn iso_utc_plain(s: &str) -> Option<NaiveDateTime> {
    fn two(b: &[u8], sep: u8) -> Option<(u32, &[u8])> {
        let (v, rest) = leading_number(b.strip_prefix(&[sep])?, 2, 2)?;
        Some((v, rest))
    }
    let b = s.as_bytes();
    let (year, b) = leading_number(b, 4, 4)?;
    let (month, b) = two(b, b'-')?;
    let (day, b) = two(b, b'-')?;
    let (hour, b) = two(b, b'T')?;
    let (minute, b) = two(b, b':')?;
    let (second, b) = two(b, b':')?;
    let (nanos, b) = fraction_nanos(b)?;
    if b != b"Z" || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?.and_hms_nano_opt(hour, minute, second, nanos)
}

/// The message for a zoneless timestamp in a column that does not say its zone.
pub const ZONELESS: &str = "a timestamp with a zone (Z or +00:00); this column does not say it is UTC. If you know the zone the file was written in, declare it in case.toml under the file's [[evidence]] entry, e.g. timezone = \"UTC\" (any IANA zone)";

/// Day/month order of numeric dates such as `05/01/2024` in one file (formats.md Q11). It is
/// decided once per file from the first date that settles it, never guessed per value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrder {
    Unknown,
    DayFirst,
    MonthFirst,
}

/// The day/month order a file's head settles, decided the first time one of the file's dates
/// needs it: most files hold ISO 8601 dates only and never ask, so a tree of many files is not
/// scanned head by head for numeric dates. The threads parsing one file's chunks share it.
#[derive(Debug)]
pub struct HeadOrder {
    sample: Box<[u8]>,
    order: std::sync::OnceLock<DateOrder>,
}

impl HeadOrder {
    /// The order the first [`HEAD_BYTES`] of `head` settle, decided when first asked.
    pub fn of(mut head: Vec<u8>) -> HeadOrder {
        head.truncate(HEAD_BYTES);
        HeadOrder {
            sample: head.into_boxed_slice(),
            order: std::sync::OnceLock::new(),
        }
    }

    /// An order known without a sample.
    pub fn known(order: DateOrder) -> HeadOrder {
        HeadOrder {
            sample: Box::default(),
            order: std::sync::OnceLock::from(order),
        }
    }

    pub fn get(&self) -> DateOrder {
        *self.order.get_or_init(|| {
            let text =
                simdutf8::basic::from_utf8(&self.sample).map_or_else(|_| String::from_utf8_lossy(&self.sample), std::borrow::Cow::Borrowed);
            decide_date_order(&text)
        })
    }
}

/// The day/month order one reader of a file goes by: the head's (asked only when a numeric
/// date needs it) until a date of the file settles it.
#[derive(Debug)]
pub struct Dates<'a> {
    head: &'a HeadOrder,
    settled: Cell<Option<DateOrder>>,
}

impl<'a> Dates<'a> {
    pub fn new(head: &'a HeadOrder) -> Dates<'a> {
        Dates {
            head,
            settled: Cell::new(None),
        }
    }

    pub fn get(&self) -> DateOrder {
        self.settled.get().unwrap_or_else(|| self.head.get())
    }

    fn set(&self, order: DateOrder) {
        self.settled.set(Some(order));
    }
}

/// The message for a date whose order the file has not settled.
pub const AMBIGUOUS: &str = "a file whose dates settle day/month order (every numeric date so far has day and month of 12 or less); re-export with ISO 8601 timestamps such as 2024-03-05T10:00:00Z";

/// Splits `21/03/2024 03:12:40` or `21.03.2024 03:12` into (first, second, year, time).
/// Returns None for anything else, including en-US values with AM/PM (month first, parsed
/// elsewhere).
fn split_numeric_date(s: &str) -> Option<(u32, u32, i32, &str)> {
    let s = s.trim();
    if s.ends_with("AM") || s.ends_with("PM") {
        return None;
    }
    let (date, time) = s.split_once([' ', 'T']).unwrap_or((s, ""));
    let date = date.trim_end_matches(',');
    let mut parts = date.split(['/', '.', '-']);
    let (Some(a), Some(b), Some(year), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    if year.len() != 4 || a.len() > 2 || b.len() > 2 {
        return None;
    }
    Some((a.parse().ok()?, b.parse().ok()?, year.parse().ok()?, time.trim()))
}

/// The order settled by the numeric dates in a sample of a file's text, if any.
pub fn decide_date_order(sample: &str) -> DateOrder {
    // Tokens between `,` `;` tab `"` and newline, found 64 bytes at a time (the sample is a
    // file's head; a tree of many files has it read per file).
    let mut start = 0;
    for end in token_ends(sample.as_bytes()).chain(std::iter::once(sample.len())) {
        // The delimiters are ASCII, so both ends are on character boundaries.
        let token = &sample[start..end];
        start = end + 1;
        // A numeric date's first part is a number of one or two characters (`u32` parsing
        // takes a leading `+`), so its first separator is the second or third character: the
        // keys, words, addresses and ISO dates of a sample are passed over without splitting
        // them. An ASCII first byte that is not a space spares the trimming.
        let start_trimmed = match token.as_bytes().first() {
            Some(&b) if b.is_ascii() && !b.is_ascii_whitespace() => token,
            _ => token.trim_start(),
        };
        let t = start_trimmed.as_bytes();
        let candidate = t.first().is_some_and(|&b| b.is_ascii_digit() || b == b'+')
            && t.get(1..t.len().min(3))
                .is_some_and(|s| s.iter().any(|&b| matches!(b, b'/' | b'.' | b'-')));
        if !candidate {
            continue;
        }
        if let Some((a, b, _, _)) = split_numeric_date(token) {
            if a > 12 && b <= 12 {
                return DateOrder::DayFirst;
            }
            if b > 12 && a <= 12 {
                return DateOrder::MonthFirst;
            }
        }
    }
    DateOrder::Unknown
}

/// Offsets of the token delimiters `,` `;` tab `"` and newline in `bytes`, in order: each
/// 64-byte block becomes a bit mask (SIMD compares), whose set bits are read off.
fn token_ends(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    fn mask(block: &[u8; 64]) -> u64 {
        use wide::u8x16;
        let mut bits = 0u64;
        for (k, lane) in block.chunks_exact(16).enumerate() {
            let mut b = [0u8; 16];
            b.copy_from_slice(lane);
            let v = u8x16::new(b);
            let hit = v.simd_eq(u8x16::splat(b','))
                | v.simd_eq(u8x16::splat(b';'))
                | v.simd_eq(u8x16::splat(b'\t'))
                | v.simd_eq(u8x16::splat(b'"'))
                | v.simd_eq(u8x16::splat(b'\n'));
            bits |= u64::from(hit.to_bitmask()) << (k * 16);
        }
        bits
    }
    bytes.chunks(64).enumerate().flat_map(|(i, chunk)| {
        // The last block is padded with spaces, which delimit nothing.
        let mut block = [b' '; 64];
        block[..chunk.len()].copy_from_slice(chunk);
        let mut bits = mask(&block);
        std::iter::from_fn(move || {
            (bits != 0).then(|| {
                let at = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                i * 64 + at
            })
        })
    })
}

/// [`parse_timestamp`], plus numeric day/month dates in the order the file settles.
///
/// # Errors
/// As [`parse_timestamp`], and [`AMBIGUOUS`] for a date whose day/month order the file has not settled.
pub fn parse_timestamp_in(raw: &str, utc: bool, order: &Dates) -> std::result::Result<Option<Timestamp>, &'static str> {
    let first = parse_timestamp(raw, utc);
    if first.is_ok() {
        return first;
    }
    let Some((a, b, year, time)) = split_numeric_date(raw) else {
        return first;
    };
    let current = match order.get() {
        DateOrder::Unknown if a > 12 => DateOrder::DayFirst,
        DateOrder::Unknown if b > 12 => DateOrder::MonthFirst,
        DateOrder::Unknown => return Err(AMBIGUOUS),
        known => known,
    };
    order.set(current);
    let (day, month) = if current == DateOrder::DayFirst { (a, b) } else { (b, a) };
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or("a real calendar date")?;
    let time = ["%H:%M:%S%.f", "%H:%M"]
        .iter()
        .find_map(|f| chrono::NaiveTime::parse_from_str(time, f).ok())
        .or_else(|| time.is_empty().then(chrono::NaiveTime::default))
        .ok_or("a time such as 03:12:40")?;
    if !utc {
        return Err(ZONELESS);
    }
    Ok(Some(Timestamp(Utc.from_utc_datetime(&date.and_time(time)))))
}

fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    // en-US Log Analytics display: "3/21/2024, 3:12:40.221 AM" (month first, 12-hour clock).
    const FORMATS: &[&str] = &[
        "%m/%d/%Y, %I:%M:%S%.f %p",
        "%m/%d/%Y %I:%M:%S%.f %p",
        "%m/%d/%Y, %I:%M:%S %p",
        "%m/%d/%Y %I:%M:%S %p",
        "%Y/%m/%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ];
    for fmt in FORMATS {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(n);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// Reads every record of a file with `parse`, widening `span` with each record's time. For
/// the small sources (sign-ins, activity, alerts, risk); storage logs stream instead.
///
/// # Errors
/// An input error naming the file, record and field of the first record that cannot be read.
pub fn load_records<T>(
    path: &Path,
    what: &str,
    options: &TableOptions,
    span: &mut crate::types::Span,
    parse: fn(&Row) -> Result<T>,
    at: fn(&T) -> Timestamp,
) -> Result<(Vec<T>, TableInfo)> {
    load_records_from(path, what, open(path, what)?, options, span, parse, at)
}

/// [`load_records`] over decoded text already open (see [`decode`]); `path` names it in
/// messages and, by its extension, helps tell the shape.
pub fn load_records_from<T>(
    path: &Path,
    what: &str,
    input: Input,
    options: &TableOptions,
    span: &mut crate::types::Span,
    parse: fn(&Row) -> Result<T>,
    at: fn(&T) -> Timestamp,
) -> Result<(Vec<T>, TableInfo)> {
    let mut out = Vec::new();
    let info = read_table_from_with(path, what, input, options, &mut |row| {
        let item = parse(row)?;
        span.add(at(&item));
        out.push(item);
        Ok(Visit::Continue)
    })?;
    Ok((out, info))
}

/// Reads a whole small file to a string (case.toml, catalog), naming the file on failure.
///
/// # Errors
/// An input error when the file cannot be opened or is not UTF-8 text.
pub fn read_text(path: &Path, what: &str) -> Result<String> {
    let mut reader = open(path, what)?;
    let mut s = String::new();
    reader.read_to_string(&mut s).map_err(|e| {
        Error::from(
            InputError::new(what, "not UTF-8 text", Location::file(path))
                .found(&e.to_string())
                .expected("UTF-8 text"),
        )
    })?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the digit-by-digit reading takes, chrono's RFC 3339 parser reads the same;
    /// the usual forms are taken.
    #[test]
    fn iso_plain_is_chronos() {
        let chrono_reads = |s: &str| DateTime::parse_from_rfc3339(s).ok().map(|d| d.naive_utc());
        let bases = [
            "2024-03-21T03:12:40Z",
            "2024-03-21T03:12:40.2210000Z",
            "2024-02-29T23:59:59.123456789Z",
            "2023-02-29T00:00:00Z",
            "1999-12-31T24:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-00-10T00:00:00Z",
            "2024-04-31T10:60:00Z",
            "2024-03-21T03:12:60Z",
            "2024-03-21T03:12:40.1234567891Z",
            "0001-01-01T00:00:00Z",
        ];
        let mut taken = 0;
        let mut check = |s: &str| {
            if let Some(t) = iso_utc_plain(s) {
                assert_eq!(Some(t), chrono_reads(s), "{s}");
                taken += 1;
            }
        };
        for base in bases {
            check(base);
            let chars: Vec<char> = base.chars().collect();
            for i in 0..=chars.len() {
                if i < chars.len() {
                    let mut cut = chars.clone();
                    cut.remove(i);
                    check(&cut.iter().collect::<String>());
                }
                for c in ['0', '9', '.', 'Z', 'z', 't', ' ', '+', '-', ':', 'T', '\u{660}'] {
                    let mut put = chars.clone();
                    put.insert(i, c);
                    check(&put.iter().collect::<String>());
                    if i < chars.len() {
                        let mut swapped = chars.clone();
                        swapped[i] = c;
                        check(&swapped.iter().collect::<String>());
                    }
                }
            }
        }
        assert!(taken > 150, "{taken}");
        for usual in ["2024-03-21T03:12:40Z", "2024-03-21T03:12:40.2210000Z", "2024-03-21T03:12:40.221Z"] {
            assert!(iso_utc_plain(usual).is_some(), "{usual}");
        }
    }

    /// `peek` of plain text reads its head once, without the decoder; it must find what the
    /// decoder's path finds (here the same text gzipped), head edges and errors included.
    #[test]
    fn a_plain_file_is_peeked_as_the_decoder_would_read_it() {
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("casefile-peek-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let long = format!("{{\"a\":\"{}\",\"b\":1}}\n{{\"a\":\"x\",\"b\":2}}\n", "y".repeat(HEAD_BYTES + 10));
        let edge = |n: usize| {
            let row = "1,2\n";
            let mut t = String::from("A,B\n");
            while t.len() + row.len() <= n {
                t.push_str(row);
            }
            t.push_str(&"9".repeat(n - t.len()));
            t
        };
        let cases: Vec<(&str, String)> = vec![
            ("csv", "TimeGenerated,Name\n2024-03-21T03:12:40Z,x\n".into()),
            ("csv", "\u{feff}TimeGenerated,Name\n2024-03-21T03:12:40Z,x\n".into()),
            ("json", "{\"a\":1,\"properties\":{\"b\":2}}\n{\"a\":2}\n".into()),
            ("json", format!("\u{feff}{}", "{\"a\":1}\n{\"a\":2}\n")),
            ("json", long.clone()),
            ("jsonl", long),
            ("json", "[{\"a\":1},{\"a\":2}]".into()),
            (
                "json",
                "{\"tables\":[{\"name\":\"t\",\"columns\":[{\"name\":\"A\",\"type\":\"string\"}],\"rows\":[[\"x\"]]}]}".into(),
            ),
            ("csv", edge(HEAD_BYTES)),
            ("csv", edge(HEAD_BYTES + 1)),
            ("csv", edge(HEAD_BYTES + 3)),
            ("csv", edge(HEAD_BYTES + 4)),
            ("csv", "".into()),
            ("json", "{\"a\":\n".into()),
        ];
        let show = |r: Result<Peek>, path: &Path| match r {
            Ok(p) => format!("{:?} {:?} {:?}", p.shape, p.names, p.raw),
            Err(e) => e.render().replace(&path.display().to_string(), "FILE"),
        };
        for (i, (ext, text)) in cases.iter().enumerate() {
            let plain = dir.join(format!("{i}.{ext}"));
            std::fs::write(&plain, text).unwrap();
            let gz_dir = dir.join(format!("gz{i}"));
            std::fs::create_dir_all(&gz_dir).unwrap();
            let gz = gz_dir.join(format!("{i}.{ext}"));
            let mut enc = flate2::write::GzEncoder::new(File::create(&gz).unwrap(), flate2::Compression::fast());
            enc.write_all(text.as_bytes()).unwrap();
            enc.finish().unwrap();
            assert_eq!(show(peek(&plain, "x"), &plain), show(peek(&gz, "x"), &gz), "case {i} ({ext})");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn log_analytics_headers_normalise() {
        assert_eq!(normalise_header("\u{feff}TimeGenerated [UTC]"), ("timegenerated".into(), true));
        assert_eq!(normalise_header("LocationDetails_dynamic"), ("locationdetails".into(), false));
        assert_eq!(
            normalise_header("Autonomous system  number"),
            ("autonomous system number".into(), false)
        );
        assert_eq!(normalise_header("Application ID "), ("application id".into(), false));
    }

    #[test]
    fn timestamps_in_every_export_form() {
        let t = |s: &str, utc| parse_timestamp(s, utc).unwrap().unwrap().rfc3339();
        assert_eq!(t("3/21/2024, 3:12:40.221 AM", true), "2024-03-21T03:12:40Z");
        assert_eq!(t("4/28/2021, 2:32:14.029 PM", true), "2021-04-28T14:32:14Z");
        assert_eq!(t("2022-06-28T10:05:18.8858964Z", false), "2022-06-28T10:05:18Z");
        assert_eq!(t("2024-03-21T03:12:40+00:00", false), "2024-03-21T03:12:40Z");
        assert_eq!(t("2024-03-21T04:12:40+01:00", false), "2024-03-21T03:12:40Z");
        assert_eq!(t("2020/10/16 0:00:01.403", true), "2020-10-16T00:00:01Z");
    }

    #[test]
    fn dotnet_min_value_is_null_not_year_one() {
        assert_eq!(parse_timestamp("1/1/1, 12:00:00.000 AM", true), Ok(None));
        assert_eq!(parse_timestamp("0001-01-01T00:00:00Z", false), Ok(None));
    }

    #[test]
    fn zoneless_timestamp_outside_utc_column_is_an_error() {
        assert!(parse_timestamp("2024-03-21T03:12:40", false).is_err());
        assert!(parse_timestamp("2024-03-21T03:12:40", true).is_ok());
        assert!(parse_timestamp("21/03/2024 03:12", true).is_err());
    }

    #[test]
    fn day_first_files_are_decided_once_and_ambiguity_is_reported() {
        let day_first = HeadOrder::of(b"x,21/03/2024 03:12:40,y".to_vec());
        let order = Dates::new(&day_first);
        assert_eq!(order.get(), DateOrder::DayFirst);
        let t = parse_timestamp_in("05/01/2024 10:00", true, &order).unwrap().unwrap();
        assert_eq!(t.rfc3339(), "2024-01-05T10:00:00Z");
        let month_first = HeadOrder::of(b"1/30/2024 10:00".to_vec());
        let us = Dates::new(&month_first);
        assert_eq!(
            parse_timestamp_in("05/01/2024 10:00", true, &us).unwrap().unwrap().rfc3339(),
            "2024-05-01T10:00:00Z"
        );
        let undecided = HeadOrder::of(b"x,2024-03-05T10:00:00Z,05/01/2024".to_vec());
        let unknown = Dates::new(&undecided);
        assert_eq!(parse_timestamp_in("05/01/2024 10:00", true, &unknown), Err(AMBIGUOUS));
        assert_eq!(
            parse_timestamp_in("21.03.2024 03:12", true, &unknown).unwrap().unwrap().rfc3339(),
            "2024-03-21T03:12:00Z"
        );
        assert_eq!(unknown.get(), DateOrder::DayFirst);
    }

    #[test]
    fn the_head_is_read_for_dates_only_when_a_numeric_date_needs_it() {
        let head = HeadOrder::of(b"a,b\n21/03/2024 03:12:40,x\n".to_vec());
        let dates = Dates::new(&head);
        let iso = parse_timestamp_in("2024-03-05T10:00:00Z", false, &dates).unwrap().unwrap();
        assert_eq!(iso.rfc3339(), "2024-03-05T10:00:00Z");
        assert_eq!(head.order.get(), None, "an ISO date decided the head's order");
        let numeric = parse_timestamp_in("05/01/2024 10:00", true, &dates).unwrap().unwrap();
        assert_eq!(numeric.rfc3339(), "2024-01-05T10:00:00Z");
        assert_eq!(head.order.get(), Some(&DateOrder::DayFirst));
        // A second reader of the same file (another chunk) shares the decision.
        let other = Dates::new(&head);
        assert_eq!(other.get(), DateOrder::DayFirst);
    }

    /// The plain reading of the rule: every token, trimmed, through `split_numeric_date`.
    fn date_order_plainly(sample: &str) -> DateOrder {
        for token in sample.split([',', ';', '\t', '"', '\n']) {
            if let Some((a, b, _, _)) = split_numeric_date(token) {
                if a > 12 && b <= 12 {
                    return DateOrder::DayFirst;
                }
                if b > 12 && a <= 12 {
                    return DateOrder::MonthFirst;
                }
            }
        }
        DateOrder::Unknown
    }

    #[test]
    fn date_order_passes_over_only_tokens_that_cannot_settle_it() {
        let alphabet: Vec<char> = "0123456789+/.-/ T,;\"\n\t\u{2003}aé".chars().collect();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..200_000 {
            let len = (next() % 24) as usize;
            let sample: String = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
            assert_eq!(decide_date_order(&sample), date_order_plainly(&sample), "{sample:?}");
        }
    }

    #[test]
    fn token_ends_are_the_delimiters_of_any_text() {
        let text = "a,b;c\td\"e\nf".repeat(20) + "é,1/30/2024 10:00";
        for len in 0..text.len() {
            let Some(sample) = text.get(..len) else { continue };
            let slow: Vec<usize> = sample
                .bytes()
                .enumerate()
                .filter(|(_, b)| matches!(b, b',' | b';' | b'\t' | b'"' | b'\n'))
                .map(|(i, _)| i)
                .collect();
            assert_eq!(token_ends(sample.as_bytes()).collect::<Vec<_>>(), slow, "length {len}");
        }
        assert_eq!(decide_date_order(&text), DateOrder::MonthFirst);
        assert_eq!(decide_date_order("x, \u{2003}21/03/2024"), DateOrder::DayFirst);
        assert_eq!(decide_date_order("x,+1/30/2024"), DateOrder::MonthFirst);
    }

    #[test]
    fn json_nested_in_strings_is_reached_case_insensitively() {
        let v: Value = serde_json::from_str(
            r#"{"responseBody":"{\"location\":\"brazilsouth\",\"properties\":{\"hardwareProfile\":{\"vmSize\":\"NC24\"}}}"}"#,
        )
        .unwrap();
        assert_eq!(json_str(&v, "responsebody.location").as_deref(), Some("brazilsouth"));
        assert_eq!(
            json_str(&v, "responseBody.properties.hardwareProfile.vmSize").as_deref(),
            Some("NC24")
        );
    }

    #[test]
    fn powershell_object_notation_reads_as_json() {
        let v =
            parse_json_cell("@{city=Amsterdam; state=Noord-Holland; countryOrRegion=NL; geoCoordinates=@{altitude=; latitude=52.3676}}")
                .unwrap();
        assert_eq!(json_str(&v, "countryOrRegion").as_deref(), Some("NL"));
        assert_eq!(json_str(&v, "geoCoordinates.latitude").as_deref(), Some("52.3676"));
        assert!(json_path(&v, "geoCoordinates.altitude").is_some_and(|a| a.is_null()));
        assert!(parse_ps_hashtable("@{unterminated=1").is_none());
    }

    #[test]
    fn delimiter_sniffing_ignores_quoted_separators() {
        assert_eq!(sniff_delimiter(b"a;b;c\n1;2;3"), b';');
        assert_eq!(sniff_delimiter(b"\"a;x\",b,c\n"), b',');
        assert_eq!(sniff_delimiter(b"a\tb\t\"c,d,e\"\n"), b'\t');
        assert_eq!(sniff_delimiter(b"a;b,\"c;d;e"), b',');
        assert_eq!(sniff_delimiter(b"\"\"\"\";;;\"\",,\n,,,,"), b';');
        // Counted as a byte-by-byte walk that toggles at each quote counts them.
        let walk = |head: &[u8]| {
            let (mut n, mut quoted) = ([0; 3], false);
            for &b in head.split(|&b| b == b'\n').next().unwrap() {
                match b {
                    b'"' => quoted = !quoted,
                    b',' | b';' | b'\t' if !quoted => n[[b',', b';', b'\t'].iter().position(|&d| d == b).unwrap()] += 1,
                    _ => {}
                }
            }
            if n[1] > n[0] && n[1] >= n[2] {
                b';'
            } else if n[2] > n[0] && n[2] > n[1] {
                b'\t'
            } else {
                b','
            }
        };
        let mut state = 7u64;
        for _ in 0..2000 {
            let head: Vec<u8> = (0..(state % 40) as usize)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    b"\",;\t\na"[(state % 6) as usize]
                })
                .collect();
            assert_eq!(sniff_delimiter(&head), walk(&head), "{:?}", String::from_utf8_lossy(&head));
        }
    }
}
