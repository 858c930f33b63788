//! Storage blob resource logs: StorageBlobLogs (Log Analytics CSV or query JSON) and raw
//! StorageRead/StorageWrite records (JSON Lines from `insights-logs-storage*`, or one JSON
//! record). Records are streamed one at a time to a visitor and never collected, so a log of
//! ten million requests needs no more memory than one of ten.

use std::borrow::Cow;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::source::{need, Capability, EvidenceSource, FieldList, FileIn, Intake, Signature, SourceKind};
use super::{Source, Span};
use crate::error::{InputError, Location, Result};
use crate::input::chunk::{self, Boundary, End, Limits, Text};
use crate::input::ingest::Step;
use crate::input::table::{self as records, Columns, Dates, HeadOrder, Row, Shape, TableInfo, Visit};
use crate::types::{parse_ip, trim, Bytes, Timestamp, Upn};

const WHAT: &str = "storage log";

/// How a storage request was authorised (`AuthenticationType`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthType {
    /// Shared Key: the account key itself.
    AccountKey,
    /// Shared access signature (account key or user-delegation signed).
    Sas,
    /// Entra ID (RBAC).
    OAuth,
    Anonymous,
    Other(String),
}

impl AuthType {
    pub fn parse(s: &str) -> AuthType {
        // The usual spellings without allocating; the same result as the general match.
        const PLAIN: [(&str, AuthType); 5] = [
            ("accountkey", AuthType::AccountKey),
            ("sas", AuthType::Sas),
            ("saskey", AuthType::Sas),
            ("oauth", AuthType::OAuth),
            ("anonymous", AuthType::Anonymous),
        ];
        let t = trim(s);
        if let Some((_, auth)) = PLAIN.iter().find(|(name, _)| t.eq_ignore_ascii_case(name)) {
            return auth.clone();
        }
        match t.to_ascii_lowercase().replace(' ', "").as_str() {
            "accountkey" => AuthType::AccountKey,
            "sas" | "saskey" => AuthType::Sas,
            "oauth" => AuthType::OAuth,
            "anonymous" => AuthType::Anonymous,
            other => AuthType::Other(other.to_string()),
        }
    }
    /// True when the request was signed with an account key, directly or through a SAS
    /// whose hash names `key1`/`key2` (formats.md §2.4: the signing key is recoverable).
    pub fn uses_account_key(&self, hash: Option<&str>) -> bool {
        match self {
            AuthType::AccountKey => true,
            AuthType::Sas => hash.is_some_and(|h| h.starts_with("key1") || h.starts_with("key2")),
            _ => false,
        }
    }
    pub fn name(&self) -> String {
        self.as_str().to_string()
    }
    /// [`name`](Self::name) without allocating.
    pub fn as_str(&self) -> &str {
        match self {
            AuthType::AccountKey => "AccountKey",
            AuthType::Sas => "SAS",
            AuthType::OAuth => "OAuth",
            AuthType::Anonymous => "Anonymous",
            AuthType::Other(s) => s,
        }
    }
}

/// One blob-service request.
#[derive(Debug, Clone, Serialize)]
///
/// Text borrows from the record where it can (`'a`, the chunk being parsed): most requests
/// are counted and dropped, and only what the aggregation keeps is copied
/// ([`BlobRequest::into_owned`] for a request kept as it is).
pub struct BlobRequest<'a> {
    pub at: Timestamp,
    pub account: Cow<'a, str>,
    /// `GetBlob`, `ListBlobs`, `PutBlob` …
    pub operation: Cow<'a, str>,
    pub status_code: u16,
    pub auth: AuthType,
    pub auth_hash: Option<Cow<'a, str>>,
    pub caller_ip: Option<IpAddr>,
    pub container: Option<Cow<'a, str>>,
    pub blob: Option<Cow<'a, str>>,
    /// Body bytes returned; for a ranged read (206) this is the range's size.
    pub response_bytes: Bytes,
    pub requester_upn: Option<Upn>,
    pub requester_app: Option<Cow<'a, str>>,
    /// The request id (`CorrelationId`), for de-duplication of overlapping exports.
    pub request_id: Option<Cow<'a, str>>,
    pub origin: Location,
}

/// A copy that owns its text.
fn owned(text: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(text.into_owned())
}

/// 2xx responses, including 206 Partial Content for ranged reads.
pub fn status_succeeded(status_code: u16) -> bool {
    (200..300).contains(&status_code)
}

/// Operations that return blob content.
pub fn is_data_read_operation(operation: &str) -> bool {
    matches!(operation, "GetBlob" | "CopyBlobSource" | "GetBlobContent")
}

/// Operations that enumerate.
pub fn is_listing_operation(operation: &str) -> bool {
    matches!(operation, "ListBlobs" | "ListContainers" | "ListBlobHierarchySegment")
}

/// The `StatusCode` field as a number ("200", or "200.0" from a numeric export).
///
/// # Errors
/// An input error naming the record and field when it is missing or not a status code.
pub fn status_code_of(row: &Row, what: &str) -> Result<u16> {
    let status = row.required(what, &["statuscode"])?;
    without_zero_fractions(status.value.trim())
        .parse::<u16>()
        .map_err(|_| row.bad(what, "invalid status code", status, "an HTTP status code such as 200"))
}

/// `s.trim_end_matches(".0")` without building a substring searcher per call: "200.0"
/// (a numeric export's status code) → "200".
fn without_zero_fractions(s: &str) -> &str {
    let mut t = s;
    while let Some(rest) = t.strip_suffix(".0") {
        t = rest;
    }
    t
}

impl BlobRequest<'_> {
    /// The request with its text copied out of the record it was read from.
    pub fn into_owned(self) -> BlobRequest<'static> {
        BlobRequest {
            at: self.at,
            account: owned(self.account),
            operation: owned(self.operation),
            status_code: self.status_code,
            auth: self.auth,
            auth_hash: self.auth_hash.map(owned),
            caller_ip: self.caller_ip,
            container: self.container.map(owned),
            blob: self.blob.map(owned),
            response_bytes: self.response_bytes,
            requester_upn: self.requester_upn,
            requester_app: self.requester_app.map(owned),
            request_id: self.request_id.map(owned),
            origin: self.origin,
        }
    }
    /// 2xx responses, including 206 Partial Content for ranged reads.
    pub fn succeeded(&self) -> bool {
        status_succeeded(self.status_code)
    }
    /// Operations that return blob content.
    pub fn is_data_read(&self) -> bool {
        is_data_read_operation(&self.operation)
    }
    /// Operations that enumerate.
    pub fn is_listing(&self) -> bool {
        is_listing_operation(&self.operation)
    }
}

/// `str::to_lowercase`: the text itself when it has no upper-case letter, and without the
/// Unicode tables for ASCII text (the same result).
fn lower(s: &str) -> Cow<'_, str> {
    if !s.is_ascii() {
        let low = s.to_lowercase();
        return if low == s { Cow::Borrowed(s) } else { Cow::Owned(low) };
    }
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// `/account/container/dir/blob` → (container, blob). The docs say ObjectKey is quoted;
/// raw samples are not (formats.md §2.4), so one pair of quotes is stripped.
fn split_object_key(key: &str) -> (Option<Cow<'_, str>>, Option<Cow<'_, str>>) {
    let key = trim(key).trim_matches('"').trim_start_matches('/');
    // The slashes are ASCII, so the cuts are on character boundaries.
    let slash = |s: &str| memchr::memchr(b'/', s.as_bytes());
    let Some(after_account) = slash(key).map(|i| &key[i + 1..]) else {
        return (None, None);
    };
    let (container, blob) = match slash(after_account) {
        Some(i) => (&after_account[..i], Some(&after_account[i + 1..])),
        None => (after_account, None),
    };
    let container = Some(container).filter(|c| !c.is_empty()).map(lower);
    let blob = blob.filter(|b| !b.is_empty()).map(Cow::Borrowed);
    (container, blob)
}

/// Container and blob from a request URI when ObjectKey is absent.
fn split_uri(uri: &str) -> (Option<Cow<'_, str>>, Option<Cow<'_, str>>) {
    let path = uri.split('?').next().unwrap_or("");
    let after_host = path.split("://").nth(1).unwrap_or(path);
    let mut parts = after_host.splitn(2, '/');
    let _host = parts.next();
    let rest = parts.next().unwrap_or("");
    let mut p = rest.splitn(2, '/');
    let container = p.next().filter(|c| !c.is_empty()).map(lower);
    let blob = p.next().filter(|b| !b.is_empty()).map(Cow::Borrowed);
    (container, blob)
}

pub fn parse_row(row: &Row) -> Result<BlobRequest<'static>> {
    let at = row.timestamp(WHAT, &["timegenerated", "time"])?;
    let status_code = status_code_of(row, WHAT)?;
    let (mut container, mut blob) = row
        .str(&["objectkey", "properties.objectkey"])
        .map(split_object_key)
        .unwrap_or((None, None));
    if container.is_none() {
        if let Some(uri) = row.str(&["uri"]) {
            (container, blob) = split_uri(uri);
        }
    }
    let account = row
        .string(&["accountname", "properties.accountname"])
        .map(|a| a.to_lowercase())
        .unwrap_or_default();
    let string = |names: &[&str]| row.string(names).map(Cow::Owned);
    Ok(BlobRequest {
        at,
        account: Cow::Owned(account),
        operation: string(&["operationname"]).unwrap_or_default(),
        status_code,
        auth: row
            .str(&["authenticationtype", "identity.type"])
            .map(AuthType::parse)
            .unwrap_or(AuthType::Other(String::new())),
        auth_hash: string(&["authenticationhash", "identity.tokenhash"]),
        caller_ip: row.str(&["calleripaddress"]).and_then(parse_ip),
        container: container.map(owned),
        blob: blob.map(owned),
        response_bytes: Bytes(
            row.opt_u64(WHAT, &["responsebodysize", "properties.responsebodysize"])?
                .unwrap_or(0),
        ),
        requester_upn: row.str(&["requesterupn", "identity.requester.upn"]).map(Upn::new),
        requester_app: string(&["requesterappid", "identity.requester.appid"]),
        request_id: string(&["correlationid"]),
        origin: row.location().clone(),
    })
}

// ---------------------------------------------------------------------------------------------
// Fast, field-selective reading
//
// `parse_row` reads a record through `Row`, which allocates a map per JSON record and looks
// every alias up by name. The readers below fetch only the fields `parse_row` reads, by
// column index (CSV) or by a borrowed, case-insensitive walk of the JSON (serde with
// borrowed strings, everything else skipped with `IgnoredAny`). Anything irregular — a
// value `parse_row` would reject, a float, a duplicate or dotted key, invalid UTF-8 — sends
// that one record through `Row` and `parse_row`, so results and messages are the same.

/// Every name `parse_row` reads, normalised; a field's slot is its index here.
const NAMES: [&str; 21] = [
    "timegenerated",
    "time",
    "accountname",
    "properties.accountname",
    "operationname",
    "statuscode",
    "authenticationtype",
    "identity.type",
    "authenticationhash",
    "identity.tokenhash",
    "calleripaddress",
    "objectkey",
    "properties.objectkey",
    "uri",
    "responsebodysize",
    "properties.responsebodysize",
    "requesterupn",
    "identity.requester.upn",
    "requesterappid",
    "identity.requester.appid",
    "correlationid",
];
const SLOTS: usize = NAMES.len();
// Alias groups, in `parse_row`'s order of preference.
const G_TIME: &[usize] = &[0, 1];
const G_ACCOUNT: &[usize] = &[2, 3];
const G_OPERATION: &[usize] = &[4];
const G_STATUS: &[usize] = &[5];
const G_AUTH: &[usize] = &[6, 7];
const G_HASH: &[usize] = &[8, 9];
const G_IP: &[usize] = &[10];
const G_OBJECT: &[usize] = &[11, 12];
const G_URI: &[usize] = &[13];
const G_SIZE: &[usize] = &[14, 15];
const G_UPN: &[usize] = &[16, 17];
const G_APP: &[usize] = &[18, 19];
const G_REQUEST: &[usize] = &[20];

/// The values of one record's wanted fields.
struct Fields<'a> {
    values: [Option<Cow<'a, str>>; SLOTS],
    utc: [bool; SLOTS],
}

impl Default for Fields<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> Fields<'a> {
    fn new() -> Self {
        Fields {
            values: std::array::from_fn(|_| None),
            utc: [false; SLOTS],
        }
    }
    /// As [`new`](Self::new) gives it.
    fn clear(&mut self) {
        self.values.iter_mut().for_each(|v| *v = None);
        self.utc = [false; SLOTS];
    }
    /// The first non-empty value of a group, as `Row::field` finds it.
    fn get(&self, group: &[usize]) -> Option<(&str, bool)> {
        group
            .iter()
            .find_map(|&i| self.values[i].as_deref().filter(|v| !v.is_empty()).map(|v| (v, self.utc[i])))
    }
    fn str(&self, group: &[usize]) -> Option<&str> {
        self.get(group).map(|f| f.0)
    }
    fn string(&self, group: &[usize]) -> Option<Cow<'_, str>> {
        self.str(group).map(|s| Cow::Borrowed(trim(s)))
    }
}

/// `parse_row` over [`Fields`], the request's text borrowed from them; the origin back
/// wherever `parse_row` might return an error (the caller then asks `parse_row`).
fn build<'f>(f: &'f Fields, order: &Dates, origin: Location) -> std::result::Result<BlobRequest<'f>, Location> {
    build_fields(f, order, &origin).ok_or(origin)
}

/// [`build`] with the origin borrowed (a clone of it goes into the request).
fn build_fields<'f>(f: &'f Fields, order: &Dates, origin: &Location) -> Option<BlobRequest<'f>> {
    let (time, utc) = f.get(G_TIME)?;
    let at = match la_export_time(time, utc) {
        Some(t) => t,
        None => records::parse_timestamp_in(time, utc, order).ok()??,
    };
    let status_code = without_zero_fractions(trim(f.str(G_STATUS)?)).parse::<u16>().ok()?;
    let (mut container, mut blob) = f.str(G_OBJECT).map(split_object_key).unwrap_or((None, None));
    if container.is_none() {
        if let Some(uri) = f.str(G_URI) {
            (container, blob) = split_uri(uri);
        }
    }
    let response_bytes = match f.str(G_SIZE) {
        None => 0,
        Some(v) => {
            let t = trim(v);
            t.parse::<u64>()
                .ok()
                .or_else(|| t.strip_suffix(".0").and_then(|s| s.parse().ok()))?
        }
    };
    Some(BlobRequest {
        at,
        account: f.str(G_ACCOUNT).map(|a| lower(trim(a))).unwrap_or_default(),
        operation: f.string(G_OPERATION).unwrap_or_default(),
        status_code,
        auth: f.str(G_AUTH).map(AuthType::parse).unwrap_or(AuthType::Other(String::new())),
        auth_hash: f.string(G_HASH),
        caller_ip: f.str(G_IP).and_then(parse_ip),
        container,
        blob,
        response_bytes: Bytes(response_bytes),
        requester_upn: f.str(G_UPN).map(Upn::new),
        requester_app: f.string(G_APP),
        request_id: f.string(G_REQUEST),
        origin: origin.clone(),
    })
}

/// The Log Analytics export's own form (`3/21/2024, 3:12:40.221 AM` in a `[UTC]` column),
/// parsed with format items prepared once. It is the form `records::parse_timestamp` reaches
/// first for such text (after the .NET null placeholders, handled there), so the result is
/// the same; anything else goes the general way.
fn la_export_time(raw: &str, utc: bool) -> Option<Timestamp> {
    use chrono::format::{parse, Item, Parsed, StrftimeItems};
    static ITEMS: std::sync::OnceLock<Vec<Item<'static>>> = std::sync::OnceLock::new();
    let s = trim(raw);
    if !utc || s.starts_with("1/1/1,") || s.starts_with("1/1/0001") {
        return None;
    }
    if let Some(naive) = la_export_time_plain(s) {
        return Some(Timestamp(chrono::TimeZone::from_utc_datetime(&chrono::Utc, &naive)));
    }
    let items = ITEMS.get_or_init(|| StrftimeItems::new("%m/%d/%Y, %I:%M:%S%.f %p").collect());
    let mut parsed = Parsed::new();
    parse(&mut parsed, s, items.iter()).ok()?;
    let naive = parsed.to_naive_datetime_with_offset(0).ok()?;
    Some(Timestamp(chrono::TimeZone::from_utc_datetime(&chrono::Utc, &naive)))
}

/// The export's form in its plainest spelling, read digit by digit (chrono's format
/// parser costs more than the rest of a record): `M/D/YYYY, H:MM:SS[.f] AM` with a one- or
/// two-digit month, day and hour (1–12), two-digit minutes and seconds (no leap second),
/// one to nine fraction digits and `AM`/`PM` in one case. None for anything else, which
/// chrono then reads; what this takes chrono reads the same (`la_time_plain_is_chronos`).
fn la_export_time_plain(s: &str) -> Option<chrono::NaiveDateTime> {
    use crate::input::table::leading_number as number;
    fn sep<'b>(b: &'b [u8], text: &[u8]) -> Option<&'b [u8]> {
        b.strip_prefix(text)
    }
    let b = s.as_bytes();
    let (month, b) = number(b, 1, 2)?;
    let (day, b) = number(sep(b, b"/")?, 1, 2)?;
    let (year, b) = number(sep(b, b"/")?, 4, 4)?;
    let (hour, b) = number(sep(b, b", ")?, 1, 2)?;
    let (minute, b) = number(sep(b, b":")?, 2, 2)?;
    let (second, b) = number(sep(b, b":")?, 2, 2)?;
    let (nanos, b) = crate::input::table::fraction_nanos(b)?;
    let pm = match b {
        b" AM" | b" am" => false,
        b" PM" | b" pm" => true,
        _ => return None,
    };
    if !(1..=12).contains(&hour) || minute > 59 || second > 59 {
        return None;
    }
    let hour = hour % 12 + if pm { 12 } else { 0 };
    chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?.and_hms_nano_opt(hour, minute, second, nanos)
}

/// A CSV file's header, resolved once: which column holds each wanted field.
pub struct CsvLayout {
    delimiter: u8,
    columns: Columns,
    width: usize,
    slots: [Option<usize>; SLOTS],
    utc: [bool; SLOTS],
}

/// How one storage file's text is read.
pub enum Layout {
    Csv(Box<CsvLayout>),
    JsonLines,
    /// A JSON document (array, `value` page, query API tables), read whole.
    Document,
}

/// What the reader learned from a file's head, shared by the workers parsing its chunks.
pub struct FileFormat {
    pub path: PathBuf,
    pub layout: Layout,
    /// Day/month order settled by the head, as `records::read_table` decides it.
    pub order: HeadOrder,
}

impl Layout {
    /// How the file's records end, or None for a document read whole.
    pub fn boundary(&self) -> Option<Boundary> {
        match self {
            Layout::Csv(csv) => Some(Boundary::CsvRecords { delimiter: csv.delimiter }),
            Layout::JsonLines => Some(Boundary::Lines),
            Layout::Document => None,
        }
    }
}

/// Records, lines and time span of one chunk.
#[derive(Debug, Default, Clone, Copy)]
pub struct ChunkStats {
    pub records: u64,
    /// The line the text after the chunk starts on, in the chunk's numbering (its first line
    /// plus its line breaks): the parser counts lines as it reads, so the reader need not.
    pub next_line: u64,
    pub span: Span,
}

/// One chunk parsed: its records' statistics, and the text it gave back unread, if any: a
/// CSV chunk whose [`End::Parity`] cut is not where `csv` ends a record (its quotes are not
/// plain RFC 4180) is read up to the start of the record in progress where they stop being
/// plain, and the rest must be cut again where `csv` ends records.
pub struct Parsed {
    pub stats: ChunkStats,
    pub unread: Option<Text>,
}

/// Decides a file's layout from its first [`records::HEAD_BYTES`] of decoded text, which
/// then serve for its dates' day/month order.
pub fn sniff(path: &Path, head: Vec<u8>) -> (Layout, HeadOrder) {
    let shape = records::sniff_shape(path, &head[..head.len().min(records::HEAD_BYTES)]);
    let delimiter = records::sniff_delimiter(&head[type_line_len(&head)..]);
    let order = HeadOrder::of(head);
    let layout = match shape {
        Shape::Csv => Layout::Csv(Box::new(CsvLayout {
            delimiter,
            columns: Columns::default(),
            width: 0,
            slots: [None; SLOTS],
            utc: [false; SLOTS],
        })),
        Shape::JsonLines => Layout::JsonLines,
        Shape::LogAnalyticsJson | Shape::JsonRecords => Layout::Document,
    };
    (layout, order)
}

/// The length of a PowerShell `#TYPE` line at the start of `text` (0 when there is none).
fn type_line_len(text: &[u8]) -> usize {
    if text.starts_with(b"#TYPE") {
        memchr::memchr(b'\n', text).map_or(text.len(), |i| i + 1)
    } else {
        0
    }
}

/// Reads the CSV header at the start of `first` (the first chunk, whose end is as sure as
/// `end` says), with the delimiter the head showed (the chunks were cut with it); returns how
/// many bytes the header (and a PowerShell `#TYPE` line) took, for the data to start after
/// them, or None when `first` may not hold the whole header (only line breaks, only a
/// `#TYPE` line, or a parity cut inside the header's quotes) and is not the text's last
/// chunk: the caller joins the next chunk.
pub fn read_csv_header(path: &Path, layout: &mut CsvLayout, first: &[u8], end: End) -> Result<Option<usize>> {
    let type_line = type_line_len(first);
    let text = &first[type_line..];
    // A chunk that is not the text's last may end before the header's end (inside its
    // quotes, after line breaks only, which `csv` skips before a record, or after a
    // PowerShell `#TYPE` line only): no `csv` reader is built for it, which matters when a
    // long header spans many small chunks, each joined in turn.
    if end != End::Last && !chunk::csv_ends_a_record(text, layout.delimiter) {
        return Ok(None);
    }
    let guard = chunk::csv_guard(text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(layout.delimiter)
        .has_headers(true)
        .from_reader(std::io::Read::chain(guard, text));
    let skipped = u64::from(type_line > 0);
    let headers = reader.headers().map_err(|e| records::csv_error(path, WHAT, e, skipped))?.clone();
    let header_end = type_line + (reader.position().byte() as usize).saturating_sub(guard.len());
    if end != End::Last && !chunk::csv_ends_between_records(&first[type_line..header_end], layout.delimiter) {
        return Ok(None);
    }
    if headers.is_empty() || (headers.len() == 1 && headers.get(0).is_some_and(|h| h.trim().is_empty())) {
        return Err(InputError::new(WHAT, "empty file", Location::file(path))
            .expected("a header row naming the columns")
            .into());
    }
    layout.columns = Columns::new(headers.iter());
    layout.width = headers.len();
    let mut seen = std::collections::BTreeSet::new();
    for (i, h) in headers.iter().enumerate() {
        let (key, utc) = records::normalise_header(h);
        if !seen.insert(key.clone()) {
            continue;
        }
        if let Some(slot) = NAMES.iter().position(|n| *n == key) {
            layout.slots[slot] = Some(i);
            layout.utc[slot] = utc;
        }
    }
    Ok(Some(header_end))
}

/// Parses one chunk of a file, calling `visit` with each request in order. Record numbers
/// in locations and errors count from the chunk's start; the caller shifts them. `end`: how
/// sure the chunk's end is to be a record's end.
pub fn parse_chunk(format: &FileFormat, data: Text, first_line: u64, end: End, visit: &mut dyn FnMut(BlobRequest<'_>)) -> Result<Parsed> {
    let whole = |stats| Parsed { stats, unread: None };
    match &format.layout {
        Layout::Csv(layout) => {
            let (stats, unread_from) = parse_csv_chunk(format, layout, &data, first_line, end, visit)?;
            Ok(Parsed {
                stats,
                unread: unread_from.map(|from| data.skip(from)),
            })
        }
        Layout::JsonLines => parse_jsonl_chunk(format, &data, first_line, visit).map(whole),
        Layout::Document => parse_document(format, data.into_vec(), visit).map(whole),
    }
}

fn parse_document(format: &FileFormat, data: Vec<u8>, visit: &mut dyn FnMut(BlobRequest<'_>)) -> Result<ChunkStats> {
    // One chunk, whose records the table reader locates itself.
    let mut stats = ChunkStats {
        next_line: 1,
        ..ChunkStats::default()
    };
    let input: records::Input = Box::new(std::io::Cursor::new(data));
    records::read_table_from(&format.path, WHAT, input, &mut |row| {
        let r = parse_row(row)?;
        stats.records += 1;
        stats.span.add(r.at);
        visit(r);
        Ok(Visit::Continue)
    })?;
    Ok(stats)
}

/// The file's path for the locations of one chunk's records: a copy of its own, which each
/// record's location shares (no allocation per record, and no count shared between the
/// threads that parse the file's chunks).
fn chunk_file(format: &FileFormat) -> Arc<Path> {
    Arc::from(format.path.as_path())
}

/// A CSV chunk's records; also where the text it left unread starts (see [`Parsed`]).
fn parse_csv_chunk(
    format: &FileFormat,
    layout: &CsvLayout,
    data: &[u8],
    first_line: u64,
    end: End,
    visit: &mut dyn FnMut(BlobRequest<'_>),
) -> Result<(ChunkStats, Option<usize>)> {
    let order = Dates::new(&format.order);
    let mut stats = ChunkStats::default();
    let file = chunk_file(format);
    // Invalid UTF-8 anywhere: every record the general way, for its exact message.
    let (from, line) = match simdutf8::basic::from_utf8(data) {
        Ok(text) => parse_csv_indexed(&file, layout, text, first_line, &order, &mut stats, visit)?,
        Err(_) => (0, first_line),
    };
    stats.next_line = line;
    if from < data.len() {
        // The index read every quote as `csv` does up to `from` (the start of a record), so
        // a parity cut is only in doubt from there.
        if end == End::Parity && !chunk::csv_ends_between_records(&data[from..], layout.delimiter) {
            return Ok((stats, Some(from)));
        }
        parse_csv_general(&file, layout, &data[from..], line, &order, &mut stats, visit)?;
        stats.next_line += memchr::memchr_iter(b'\n', &data[from..]).count() as u64;
    }
    Ok((stats, None))
}

/// A record's fields as the [`Scanner`](crate::input::csv_index::Scanner) delimits them:
/// the first `width` spans are kept (more make the record wrong anyway), all are counted.
struct Spans {
    /// `width` slots, of which the first `count` (at most all) hold the record's fields.
    spans: Box<[(usize, usize)]>,
    count: usize,
}

impl Spans {
    fn new(width: usize) -> Spans {
        Spans {
            spans: vec![(0, 0); width].into_boxed_slice(),
            count: 0,
        }
    }
    #[inline]
    fn push(&mut self, span: (usize, usize)) {
        if let Some(slot) = self.spans.get_mut(self.count) {
            *slot = span;
        }
        self.count += 1;
    }
    fn clear(&mut self) {
        self.count = 0;
    }
    /// The fields kept.
    fn kept(&self) -> &[(usize, usize)] {
        &self.spans[..self.count.min(self.spans.len())]
    }
}

/// The chunk's records through the SIMD field index, until the text ends or its quotes stop
/// being plain RFC 4180. Returns where the records it did not read start, and their line.
fn parse_csv_indexed(
    file: &Arc<Path>,
    layout: &CsvLayout,
    text: &str,
    first_line: u64,
    order: &Dates,
    stats: &mut ChunkStats,
    visit: &mut dyn FnMut(BlobRequest<'_>),
) -> Result<(usize, u64)> {
    use crate::input::csv_index::Scanner;
    let mut fields = Spans::new(layout.width);
    // Newlines before `record_start`, and since it inside quotes.
    let (mut newlines, mut quoted) = (0u64, 0u64);
    let (mut record_start, mut field_start) = (0usize, 0usize);
    let mut scanner = Scanner::new(text.as_bytes(), layout.delimiter);
    while let Some(block) = scanner.next_block() {
        // The delimiters (most of the bits) up to each other item in a loop of their own.
        let mut delimiters = block.wanted & block.delimiters;
        let mut others = block.wanted & !block.delimiters;
        loop {
            let before = if others == 0 {
                u64::MAX
            } else {
                (others & others.wrapping_neg()) - 1
            };
            let mut run = delimiters & before;
            delimiters &= !before;
            while run != 0 {
                let at = block.base + run.trailing_zeros() as usize;
                run &= run - 1;
                fields.push((field_start, at));
                field_start = at + 1;
            }
            if others == 0 {
                break;
            }
            let bit = others.trailing_zeros();
            others &= others - 1;
            if block.quoted_newlines & (1u64 << bit) != 0 {
                quoted += 1;
                continue;
            }
            // A line end.
            let at = block.base + bit as usize;
            let is_newline = text.as_bytes()[at] == b'\n';
            if at > record_start {
                fields.push((field_start, at));
                let line = first_line + newlines;
                take_csv_record(file, layout, text, &fields, line, order, stats, visit)?;
                fields.clear();
            }
            newlines += quoted + u64::from(is_newline);
            quoted = 0;
            record_start = at + 1;
            field_start = record_start;
        }
        if block.irregular {
            return Ok((record_start, first_line + newlines));
        }
    }
    if record_start < text.len() {
        fields.push((field_start, text.len()));
        take_csv_record(file, layout, text, &fields, first_line + newlines, order, stats, visit)?;
    }
    Ok((text.len(), first_line + newlines + quoted))
}

/// One record read by [`parse_csv_indexed`]: checked, built, visited.
#[allow(clippy::too_many_arguments)]
fn take_csv_record(
    file: &Arc<Path>,
    layout: &CsvLayout,
    text: &str,
    fields: &Spans,
    line: u64,
    order: &Dates,
    stats: &mut ChunkStats,
    visit: &mut dyn FnMut(BlobRequest<'_>),
) -> Result<()> {
    use crate::input::csv_index::field_text;
    stats.records += 1;
    let origin = Location::record_in(file, line, stats.records);
    if fields.count != layout.width {
        return Err(wrong_width(layout.width, fields.count, origin));
    }
    let mut f = Fields::new();
    for (slot, col) in layout.slots.iter().enumerate() {
        if let Some(&(a, b)) = col.and_then(|i| fields.kept().get(i)) {
            f.values[slot] = Some(field_text(&text[a..b]));
            f.utc[slot] = layout.utc[slot];
        }
    }
    let r = match build(&f, order, origin) {
        Ok(r) => r,
        Err(origin) => {
            let record: csv::ByteRecord = fields.kept().iter().map(|&(a, b)| field_text(&text[a..b]).into_owned()).collect();
            csv_row_slowly(layout, &record, origin, order)?
        }
    };
    stats.span.add(r.at);
    visit(r);
    Ok(())
}

fn wrong_width(width: usize, found: usize, origin: Location) -> crate::error::Error {
    InputError::new(WHAT, "wrong number of fields", origin)
        .expected(&format!("{width} fields like the header, found {found}"))
        .hint("export again from Log Analytics (Export → CSV, all columns) and do not edit the file")
        .into()
}

/// CSV text read by the `csv` crate, record by record (text that is not UTF-8 or whose
/// quotes are irregular); `first_line` is the line `data` starts on.
fn parse_csv_general(
    file: &Arc<Path>,
    layout: &CsvLayout,
    data: &[u8],
    first_line: u64,
    order: &Dates,
    stats: &mut ChunkStats,
    visit: &mut dyn FnMut(BlobRequest<'_>),
) -> Result<()> {
    let path: &Path = file;
    let valid_utf8 = std::str::from_utf8(data).is_ok();
    let guard = chunk::csv_guard(data);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(layout.delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(std::io::Read::chain(guard, data));
    let mut record = csv::ByteRecord::new();
    let (mut line, mut counted_to) = (first_line, 0usize);
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(records::csv_error(path, WHAT, e, first_line - 1)),
        }
        // The record's first byte (csv may place the position on a preceding line break).
        let mut start = record.position().map_or(0, |p| (p.byte() as usize).saturating_sub(guard.len()));
        while start < data.len() && matches!(data[start], b'\r' | b'\n') {
            start += 1;
        }
        line += memchr::memchr_iter(b'\n', &data[counted_to..start.max(counted_to)]).count() as u64;
        counted_to = counted_to.max(start);
        stats.records += 1;
        let origin = Location::record_in(file, line, stats.records);
        if record.len() != layout.width {
            return Err(wrong_width(layout.width, record.len(), origin));
        }
        let mut f = Fields::new();
        let fast = if valid_utf8 {
            for (slot, col) in layout.slots.iter().enumerate() {
                if let Some(i) = col {
                    f.values[slot] = record.get(*i).and_then(|b| std::str::from_utf8(b).ok()).map(Cow::Borrowed);
                    f.utc[slot] = layout.utc[slot];
                }
            }
            build(&f, order, origin)
        } else {
            Err(origin)
        };
        let r = match fast {
            Ok(r) => r,
            Err(origin) => csv_row_slowly(layout, &record, origin, order)?,
        };
        stats.span.add(r.at);
        visit(r);
    }
    Ok(())
}

/// One CSV record through `Row` and `parse_row`, for its exact result or message.
fn csv_row_slowly(layout: &CsvLayout, record: &csv::ByteRecord, origin: Location, order: &Dates) -> Result<BlobRequest<'static>> {
    let text = csv::StringRecord::from_byte_record(record.clone()).map_err(|e| {
        crate::error::Error::from(
            InputError::new(WHAT, "invalid UTF-8", origin.clone())
                .expected(&format!("UTF-8 text (bad byte in field {})", e.utf8_error().field() + 1)),
        )
    })?;
    parse_row(&Row::csv(&layout.columns, &text, origin, order))
}

fn parse_jsonl_chunk(format: &FileFormat, data: &[u8], first_line: u64, visit: &mut dyn FnMut(BlobRequest<'_>)) -> Result<ChunkStats> {
    let path = &format.path;
    let file = chunk_file(format);
    let order = Dates::new(&format.order);
    // The SIMD check first; std's only on failure, for where the bad byte is. The lines
    // before the one holding it are read first (the reader reports the first error in line
    // order, whatever the chunks).
    let (text, bad_line) = match simdutf8::basic::from_utf8(data) {
        Ok(text) => (text, None),
        Err(_) => {
            let valid = std::str::from_utf8(data).map_or_else(|e| e.valid_up_to(), |t| t.len());
            let line_start = memchr::memrchr(b'\n', &data[..valid]).map_or(0, |i| i + 1);
            let line = first_line + memchr::memchr_iter(b'\n', &data[..line_start]).count() as u64;
            (std::str::from_utf8(&data[..line_start]).unwrap_or_default(), Some(line))
        }
    };
    let stats = read_json_lines(format, &file, text, first_line, &order, visit)?;
    match bad_line {
        None => Ok(stats),
        Some(line) => {
            let mut loc = Location::file(path);
            loc.line = Some(line);
            Err(InputError::new(WHAT, "invalid UTF-8", loc).expected("UTF-8 text").into())
        }
    }
}

/// The records of JSON Lines `text` (from line `first_line`), in order.
fn read_json_lines(
    format: &FileFormat,
    file: &Arc<Path>,
    text: &str,
    first_line: u64,
    order: &Dates,
    visit: &mut dyn FnMut(BlobRequest<'_>),
) -> Result<ChunkStats> {
    let path = &format.path;
    let mut stats = ChunkStats::default();
    let mut scan = JsonScan::default();
    // `split('\n')`: the cursor finds each line's end as it marks the line's bytes. The last
    // piece follows the last line break.
    scan.cursor.start(text);
    let mut start = 0;
    for line_no in first_line.. {
        let (end, plain) = scan.cursor.line(start);
        let line = text.get(start..end).unwrap_or_default();
        stats.next_line = line_no;
        if !trim(line).is_empty() {
            stats.records += 1;
            let origin = Location::record_in(file, line_no, stats.records);
            let scanned = if plain { scan_line(&mut scan) } else { None };
            let by_serde;
            let fields = match scanned {
                Some(f) => Some(f),
                None => {
                    by_serde = serde_json::from_str::<JsonFields>(line).ok().filter(|f| !f.irregular);
                    by_serde.as_ref().map(|f| &f.fields)
                }
            };
            let r = match fields.and_then(|f| build_fields(f, order, &origin)) {
                Some(r) => r,
                None => json_line_slowly(path, line, origin, order)?,
            };
            stats.span.add(r.at);
            visit(r);
        }
        if end >= text.len() {
            break;
        }
        start = end + 1;
    }
    Ok(stats)
}

/// Reads `text` as the JSON Lines reader reads a chunk and checks it line by line: the
/// cursor's lines are `split('\n')`'s, and whatever record the cursor takes serde reads the
/// same (the invariant `scan_and_serde_agree` tests on chosen records), with keys
/// remembered from line to line as the reader has them. For the fuzz harness, which runs it
/// on every input.
///
/// # Errors
/// The first difference, described.
pub fn cursor_agrees_with_serde(text: &str) -> std::result::Result<(), String> {
    let mut scan = JsonScan::default();
    scan.cursor.start(text);
    let mut pieces = text.split('\n');
    let mut start = 0;
    loop {
        let (end, plain) = scan.cursor.line(start);
        let line = text.get(start..end).unwrap_or_default();
        if pieces.next() != Some(line) {
            return Err(format!("the line at byte {start} ends at {end}, not where split('\\n') ends it"));
        }
        if let Some(values) = plain.then(|| scan_line(&mut scan).map(|f| f.values.clone())).flatten() {
            match serde_json::from_str::<JsonFields>(line) {
                Ok(serde) if !serde.irregular && serde.fields.values == values => {}
                Ok(serde) => {
                    return Err(format!(
                        "the cursor read {line:?} as {values:?}, serde as {:?} (irregular: {})",
                        serde.fields.values, serde.irregular
                    ))
                }
                Err(e) => return Err(format!("the cursor took {line:?}, which serde refuses: {e}")),
            }
        }
        if end >= text.len() {
            return match pieces.next() {
                None => Ok(()),
                Some(_) => Err("split('\\n') finds more lines than the cursor".into()),
            };
        }
        start = end + 1;
    }
}

/// One JSON line through `flatten`, `Row` and `parse_row`, for its exact result or message.
fn json_line_slowly(path: &Path, line: &str, origin: Location, order: &Dates) -> Result<BlobRequest<'static>> {
    let value: serde_json::Value = serde_json::from_str(line).map_err(|e| {
        let mut err = records::json_parse_error(path, WHAT, e);
        if let crate::error::Error::Input(ie) = &mut err {
            ie.location.line = origin.line;
        }
        err
    })?;
    let map = records::flatten(&value);
    parse_row(&Row::map(&map, origin, order))
}

/// The byte cursor ([`json_scan`](crate::input::json_scan)) over one chunk's lines, and the
/// keys of the record before.
#[derive(Default)]
struct JsonScan<'a> {
    cursor: crate::input::json_scan::Cursor<'a>,
    keys: KeyOrder,
    /// The last record's fields, cleared for the next (not built and moved per record).
    fields: Fields<'a>,
}

/// The keys of the last record read, object by object and in order, each as the bytes it was
/// written with (`"name":`, after the first key `,"name":`) and what it asked for. The records
/// of one log are written by one program, key for key in the same order, so the next
/// record's keys are mostly a comparison of bytes away: no search for the key's closing
/// quote, no look-up of its name, no separate step for the comma before it. Only keys the
/// general step read as plain (no escape, dot or non-ASCII character) are remembered; a text
/// that matches those bytes is that comma, key and colon, as the general steps would read
/// them (whitespace anywhere in between just does not match, and is read the general way).
#[derive(Default)]
struct KeyOrder {
    /// By [`Level`]: the keys of the object at that level.
    levels: [Vec<KnownKey>; 4],
}

struct KnownKey {
    /// `"name":` as written, with the comma before it (`,"name":`) but for the first key.
    bytes: crate::input::json_scan::Expected,
    action: KeyAction,
}

impl KeyOrder {
    /// Keys longer than this are read the general way each time.
    const LONGEST: usize = 64;

    /// The `i`-th key of the object at `level`, when the text at the cursor is the `i`-th key
    /// of the record before (with the comma before it, but for the first): the cursor is
    /// moved past it and its colon.
    #[inline]
    fn take(&self, level: Level, i: usize, c: &mut crate::input::json_scan::Cursor<'_>) -> Option<KeyAction> {
        let known = self.levels[level as usize].get(i)?;
        c.eat_expected(&known.bytes).then_some(known.action)
    }

    /// Remembers `key` (read the general way, with the comma before it but for the first,
    /// and its colon) as the `i`-th key at `level`, unless it is too long or a key before it
    /// at that level is not remembered.
    fn learn(&mut self, level: Level, i: usize, key: &str, action: KeyAction) {
        let keys = &mut self.levels[level as usize];
        if key.len() > Self::LONGEST || i > keys.len() {
            return;
        }
        if i == keys.len() {
            keys.push(KnownKey {
                bytes: crate::input::json_scan::Expected::default(),
                action,
            });
        }
        let known = &mut keys[i];
        let comma: &[u8] = if i > 0 { b"," } else { b"" };
        known
            .bytes
            .set([comma, b"\"", key.as_bytes(), b"\":"].into_iter().flatten().copied());
        known.action = action;
    }
}

/// The wanted fields of one record read by the byte cursor
/// ([`json_scan`](crate::input::json_scan)), or None when the record is outside the
/// cursor's plain subset or irregular: serde (below) then reads it. What it returns is what
/// the serde walk returns for the same line (`scan_and_serde_agree` checks it on mutated
/// records, read afresh and right after the record they were made from).
#[cfg(test)]
fn scan_json_fields<'s, 'a>(scan: &'s mut JsonScan<'a>, line: &'a str) -> Option<&'s Fields<'a>> {
    if !scan.cursor.reset(line) {
        return None;
    }
    scan_line(scan)
}

/// [`scan_json_fields`] of the line the cursor stands at.
fn scan_line<'s, 'a>(scan: &'s mut JsonScan<'a>) -> Option<&'s Fields<'a>> {
    let JsonScan { cursor: c, keys, fields } = scan;
    fields.clear();
    if !c.eat(b'{') {
        return None;
    }
    scan_object(c, keys, Level::Top, fields, &mut 0)?;
    c.at_end().then_some(&*fields)
}

/// The members of an object whose `{` the cursor has consumed, through its `}`; `seen` as
/// in [`ObjectSeed`]. Keys are taken from `keys` where the record before had the same.
fn scan_object<'a>(
    c: &mut crate::input::json_scan::Cursor<'a>,
    keys: &mut KeyOrder,
    level: Level,
    fields: &mut Fields<'a>,
    seen: &mut u8,
) -> Option<()> {
    use crate::input::json_scan::Scalar as Plain;
    if c.eat(b'}') {
        return Some(());
    }
    let mut i = 0;
    loop {
        let action = match keys.take(level, i, c) {
            Some(action) => action,
            None => {
                if i > 0 {
                    if c.eat(b'}') {
                        return Some(());
                    }
                    if !c.eat(b',') {
                        return None;
                    }
                }
                let key = c.plain_key()?;
                if !c.eat(b':') {
                    return None;
                }
                let action = key_action(level, key);
                keys.learn(level, i, key, action);
                action
            }
        };
        i += 1;
        match action {
            KeyAction::Slot(slot) => {
                let slot = usize::from(slot);
                if fields.values[slot].is_some() {
                    return None;
                }
                let text = match c.scalar()? {
                    Plain::Str(s) | Plain::Int(s) => s,
                    Plain::Bool(true) => "true",
                    Plain::Bool(false) => "false",
                    Plain::Null => "",
                };
                fields.values[slot] = Some(Cow::Borrowed(text));
            }
            KeyAction::Descend(next) => {
                let bit = 1u8 << (next as u8);
                if *seen & bit != 0 {
                    return None;
                }
                *seen |= bit;
                // Not an object: skipped as serde skips it; strings and numbers serde
                // decodes in full, so only their plainest forms are taken here.
                match c.peek()? {
                    b'{' => {
                        c.eat(b'{');
                        scan_object(c, keys, next, fields, seen)?;
                    }
                    b'"' => {
                        c.plain_string()?;
                    }
                    b'[' | b't' | b'f' | b'n' => c.skip_value()?,
                    _ => return None,
                }
            }
            KeyAction::Skip => c.skip_value()?,
        }
    }
}

/// The wanted fields of one raw resource-log record, read without building the JSON tree.
/// `irregular` marks what only the general path reads exactly (see the section note).
struct JsonFields<'de> {
    fields: Fields<'de>,
    irregular: bool,
}

/// Which object the walk is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Top,
    Properties,
    Identity,
    Requester,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyAction {
    /// The field's slot in [`Fields`] (a byte: the action is copied for every key read).
    Slot(u8),
    Descend(Level),
    Skip,
}

#[inline]
fn key_action(level: Level, key: &str) -> KeyAction {
    use KeyAction::{Descend, Slot};
    // The one wanted name (see NAMES) of this length and first letter in this object, if
    // any; most keys of a record are not wanted, and this is asked for every key. Names are
    // spelled as resource logs spell them, so most hits are one plain comparison.
    let k = key.as_bytes();
    let (Some(first), Some(last)) = (k.first(), k.last()) else {
        return KeyAction::Skip;
    };
    let first = first.to_ascii_lowercase();
    let candidate = match level {
        Level::Top => match (k.len(), first) {
            (4, b't') => ("time", Slot(1)),
            (3, b'u') => ("uri", Slot(13)),
            (8, b'i') => ("identity", Descend(Level::Identity)),
            (9, b'o') => ("objectKey", Slot(11)),
            (10, b's') => ("statusCode", Slot(5)),
            (10, b'p') => ("properties", Descend(Level::Properties)),
            (11, b'a') => ("accountName", Slot(2)),
            (12, b'r') => ("requesterUpn", Slot(16)),
            (13, b't') => ("timeGenerated", Slot(0)),
            (13, b'o') => ("operationName", Slot(4)),
            (13, b'c') => ("correlationId", Slot(20)),
            (14, b'r') => ("requesterAppId", Slot(18)),
            (15, b'c') => ("callerIpAddress", Slot(10)),
            (16, b'r') => ("responseBodySize", Slot(14)),
            (18, b'a') if last.eq_ignore_ascii_case(&b'e') => ("authenticationType", Slot(6)),
            (18, b'a') => ("authenticationHash", Slot(8)),
            _ => return KeyAction::Skip,
        },
        Level::Properties => match (k.len(), first) {
            (9, b'o') => ("objectKey", Slot(12)),
            (11, b'a') => ("accountName", Slot(3)),
            (16, b'r') => ("responseBodySize", Slot(15)),
            _ => return KeyAction::Skip,
        },
        Level::Identity => match (k.len(), first) {
            (4, b't') => ("type", Slot(7)),
            (9, b't') => ("tokenHash", Slot(9)),
            (9, b'r') => ("requester", Descend(Level::Requester)),
            _ => return KeyAction::Skip,
        },
        Level::Requester => match (k.len(), first) {
            (3, b'u') => ("upn", Slot(17)),
            (5, b'a') => ("appId", Slot(19)),
            _ => return KeyAction::Skip,
        },
    };
    if crate::input::json_scan::same_bytes(candidate.0.as_bytes(), k) || candidate.0.as_bytes().eq_ignore_ascii_case(k) {
        candidate.1
    } else {
        KeyAction::Skip
    }
}

impl<'de> serde::Deserialize<'de> for JsonFields<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let mut out = JsonFields {
            fields: Fields::new(),
            irregular: false,
        };
        d.deserialize_map(ObjectSeed {
            out: &mut out,
            level: Level::Top,
            seen: &mut 0,
        })?;
        Ok(out)
    }
}

/// Walks one object of the record.
struct ObjectSeed<'o, 'de> {
    out: &'o mut JsonFields<'de>,
    level: Level,
    /// Nested objects already walked (bit per level), to spot duplicate keys.
    seen: &'o mut u8,
}

impl<'de> serde::de::DeserializeSeed<'de> for ObjectSeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ObjectSeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let key = key.0;
            // Dotted or non-ASCII keys flatten in ways only the general path reproduces.
            if key.bytes().any(|b| b == b'.' || b >= 0x80) {
                self.out.irregular = true;
            }
            match key_action(self.level, &key) {
                KeyAction::Slot(slot) => {
                    let slot = usize::from(slot);
                    if self.out.fields.values[slot].is_some() {
                        self.out.irregular = true;
                    }
                    let v = map.next_value::<Scalar<'de>>()?;
                    match v {
                        Scalar::Text(t) => self.out.fields.values[slot] = Some(t),
                        Scalar::Irregular => self.out.irregular = true,
                    }
                }
                KeyAction::Descend(level) => {
                    let bit = 1u8 << (level as u8);
                    if *self.seen & bit != 0 {
                        self.out.irregular = true;
                    }
                    *self.seen |= bit;
                    map.next_value_seed(ObjectSeed {
                        out: &mut *self.out,
                        level,
                        seen: &mut *self.seen,
                    })?;
                }
                KeyAction::Skip => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
    // A nested member that is not an object is not descended (as `flatten` does not).
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> std::result::Result<(), E> {
        Ok(())
    }
}

/// A key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// A wanted field's value as `records::flatten` would write it, when that is plain.
enum Scalar<'de> {
    Text(Cow<'de, str>),
    /// Floats, objects and arrays: left to the general path.
    Irregular,
}

impl<'de> serde::Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a value")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> std::result::Result<Scalar<'de>, E> {
                Ok(Scalar::Text(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> std::result::Result<Scalar<'de>, E> {
                Ok(Scalar::Text(Cow::Owned(s.to_string())))
            }
            fn visit_u64<E>(self, n: u64) -> std::result::Result<Scalar<'de>, E> {
                Ok(Scalar::Text(Cow::Owned(n.to_string())))
            }
            fn visit_i64<E>(self, n: i64) -> std::result::Result<Scalar<'de>, E> {
                Ok(Scalar::Text(Cow::Owned(n.to_string())))
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<Scalar<'de>, E> {
                Ok(Scalar::Irregular)
            }
            fn visit_bool<E>(self, b: bool) -> std::result::Result<Scalar<'de>, E> {
                Ok(Scalar::Text(Cow::Borrowed(if b { "true" } else { "false" })))
            }
            fn visit_unit<E>(self) -> std::result::Result<Scalar<'de>, E> {
                Ok(Scalar::Text(Cow::Borrowed("")))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<Scalar<'de>, A::Error> {
                while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
                Ok(Scalar::Irregular)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Scalar<'de>, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Scalar::Irregular)
            }
        }
        d.deserialize_any(V)
    }
}

/// Streams every request of a file to `visit`, in order, on this thread; returns the file's
/// record count and span. (`crate::input::ingest` reads many files on every core.)
pub fn stream(path: &Path, visit: &mut dyn FnMut(BlobRequest<'_>) -> Result<()>) -> Result<(TableInfo, Span)> {
    stream_with(visit, |on| {
        crate::input::ingest::read_file_sequentially(path, Limits::default(), on)
    })
}

/// [`stream`] over bytes already open (`name` stands for the file in messages), so a parser
/// can be driven from memory (the fuzz harness).
pub fn stream_from(
    name: &Path,
    raw: Box<dyn std::io::Read>,
    visit: &mut dyn FnMut(BlobRequest<'_>) -> Result<()>,
) -> Result<(TableInfo, Span)> {
    stream_with(visit, |on| {
        crate::input::ingest::read_sequentially_from(name, raw, Limits::default(), on)
    })
}

type OnStep<'a> = &'a mut dyn FnMut(Step<'_>);

fn stream_with(
    visit: &mut dyn FnMut(BlobRequest<'_>) -> Result<()>,
    read: impl FnOnce(OnStep) -> Result<(String, u64)>,
) -> Result<(TableInfo, Span)> {
    let mut span = Span::default();
    let mut records = 0u64;
    let mut failure = None;
    read(&mut |step| match step {
        _ if failure.is_some() => {}
        // Record and line numbers are the file's already.
        Step::Request(r) => failure = visit(r).err(),
        Step::ChunkEnd(stats) => {
            records += stats.records;
            if let (Some(a), Some(b)) = (stats.span.first, stats.span.last) {
                span.add(a);
                span.add(b);
            }
        }
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    let info = TableInfo {
        records,
        ..TableInfo::default()
    };
    Ok((info, span))
}

/// How a file of this source is recognised, most specific shape first.
const SIGNATURES: &[Signature] = &[
    Signature {
        shape: "storage logs (StorageBlobLogs, StorageRead/StorageWrite records)",
        needs: &[need(&["objectkey", "properties.objectkey"], "ObjectKey")],
    },
    Signature {
        shape: "storage logs (StorageBlobLogs)",
        needs: &[
            need(&["accountname"], "AccountName"),
            need(&["authenticationtype"], "AuthenticationType"),
        ],
    },
];

/// Storage blob resource logs as an evidence source (StorageBlobLogs, StorageRead/Write
/// records). Its files are streamed through the analysis, not held in the bundle.
pub struct StorageLogs;

/// The kind of [`StorageLogs`].
pub const KIND: SourceKind = SourceKind::of(&StorageLogs);

impl EvidenceSource for StorageLogs {
    fn key(&self) -> &'static str {
        "storage"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["storagebloblogs"]
    }
    fn describe(&self) -> &'static str {
        WHAT
    }
    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }
    fn precedence(&self) -> u8 {
        40
    }
    // The fast path reads exactly `NAMES` (and falls back to `parse_row`, which reads the
    // same names; see `parse_row_reads_exactly_the_fast_path_names`).
    fn fields(&self) -> FieldList {
        FieldList::Declared(&NAMES)
    }
    fn capabilities(&self) -> &'static [Capability] {
        &[
            Capability {
                any: &["authenticationtype", "identity"],
                without: "authentication type: account-key use cannot be shown",
            },
            Capability {
                any: &["responsebodysize", "properties"],
                without: "response sizes: bytes read cannot be counted",
            },
        ]
    }
    fn consequence(&self) -> Option<&'static str> {
        Some("data exposure (bytes, objects, containers) and the GDPR severity cannot be established")
    }
    fn streamed(&self) -> bool {
        true
    }
    // Counted, spanned and hashed when the analysis streams the file.
    fn load(&self, file: &FileIn, intake: &mut Intake) -> Result<()> {
        let path = file.path.to_path_buf();
        match &mut intake.bundle().storage {
            Source::Provided(files) => files.push(path),
            storage @ Source::NotProvided => *storage = Source::Provided(vec![path]),
        }
        Ok(())
    }
    fn survey(&self, path: &Path) -> Result<(u64, Span)> {
        stream(path, &mut |_| Ok(())).map(|(info, span)| (info.records, span))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain reading of an object key: `/account/container/blob…` split on its first two
    /// slashes after the leading ones.
    fn split_object_key_plainly(key: &str) -> (Option<String>, Option<String>) {
        let key = trim(key).trim_matches('"');
        let mut parts = key.trim_start_matches('/').splitn(3, '/');
        let _account = parts.next();
        let container = parts.next().filter(|c| !c.is_empty()).map(str::to_lowercase);
        let blob = parts.next().filter(|b| !b.is_empty()).map(str::to_string);
        (container, blob)
    }

    #[test]
    fn object_keys_split_as_the_plain_reading_does() {
        let alphabet = ["/", "a", "\"", "B", " ", "é"];
        let mut keys = vec![String::new()];
        let mut frontier = keys.clone();
        for _ in 0..5 {
            frontier = frontier
                .iter()
                .flat_map(|k| alphabet.iter().map(move |c| format!("{k}{c}")))
                .collect();
            keys.extend(frontier.iter().cloned());
        }
        keys.push("\"/acct/Container/dir/blob.csv\"".to_string());
        keys.push("//acct//blob".to_string());
        for key in &keys {
            let (container, blob) = split_object_key(key);
            let got = (container.map(Cow::into_owned), blob.map(Cow::into_owned));
            assert_eq!(got, split_object_key_plainly(key), "{key:?}");
        }
    }

    #[test]
    fn object_keys_split_into_container_and_blob() {
        assert_eq!(
            split_object_key("\"/proddata/customer-data/exports/a.parquet\""),
            (Some("customer-data".into()), Some("exports/a.parquet".into()))
        );
        assert_eq!(split_object_key("/proddata/backups"), (Some("backups".into()), None));
    }

    #[test]
    fn uri_gives_container_when_object_key_is_missing() {
        assert_eq!(
            split_uri("https://acct.blob.core.windows.net:443/securacontainer/passwords.txt?sig=XXXXX"),
            (Some("securacontainer".into()), Some("passwords.txt".into()))
        );
    }

    #[test]
    fn parse_row_reads_exactly_the_fast_path_names() {
        use crate::input::table::{read_table_with, TableOptions, Visit};
        let dir = std::env::temp_dir().join(format!("casefile-storage-names-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("storage.csv");
        // One row with an object key, one with only a URI, so every branch asks its fields.
        std::fs::write(
            &path,
            "TimeGenerated [UTC],AccountName,OperationName,StatusCode,AuthenticationType,AuthenticationHash,CallerIpAddress,ObjectKey,Uri,ResponseBodySize,RequesterUpn,RequesterAppId,UserAgentHeader,CorrelationId\n\
             3/21/2024 3:12:40.221 AM,acct,GetBlob,200,AccountKey,key1(ABCD),203.0.113.9,/acct/c/b.txt,,10,a@example.org,app,ua,id1\n\
             3/21/2024 3:12:41.221 AM,acct,GetBlob,200,AccountKey,key1(ABCD),203.0.113.9,,https://acct.blob.core.windows.net/c/b,10,a@example.org,app,ua,id2\n",
        )
        .unwrap();
        let asked = std::cell::RefCell::new(std::collections::BTreeSet::new());
        let options = TableOptions {
            track: Some(&asked),
            ..TableOptions::default()
        };
        read_table_with(&path, WHAT, &options, &mut |row| {
            parse_row(row)?;
            Ok(Visit::Continue)
        })
        .unwrap();
        let names: std::collections::BTreeSet<String> = NAMES.iter().map(|n| (*n).to_string()).collect();
        assert_eq!(asked.into_inner(), names);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Real records (the gzip fixture), records in the bench's shape and odd ones, each
    /// also with every character deleted and with JSON's special characters inserted at
    /// every position: whenever the byte cursor takes a line, serde reads the same fields
    /// from it and finds nothing irregular.
    #[test]
    fn scan_and_serde_agree() {
        use std::io::Read;
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/storageread.jsonl.gz");
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(fixture).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        let mut lines: Vec<String> = text.lines().take(2).map(str::to_string).collect();
        lines.push(
            r#"{"callerIpAddress":"198.51.100.7:1","category":"StorageRead","durationMs":3,"identity":{"requester":{"appId":"a","objectId":"o","upn":"u@x.org"},"tokenHash":"","type":"OAuth"},"properties":{"accountName":"Acct","objectKey":"/acct/c/b.txt","responseBodySize":10,"tlsVersion":"TLS 1.2"},"statusCode":206,"time":"2024-03-20T00:00:00.05Z","uri":"https://a/c/b"}"#
                .to_string(),
        );
        // The same names first in the record, in `properties` and in `identity`: each
        // level's keys are its own.
        lines.push(r#"{"accountName":"top","objectKey":"/top/c/b","properties":{"accountName":"inner","objectKey":"/inner/c/b"},"identity":{"type":"SAS"},"time":"2024-03-20T00:00:01Z","statusCode":200}"#.to_string());
        lines.push(r#" {"TIME":"2024-03-20T08:06:33Z","statusCode":"404","properties":null,"identity":[1,{"a":[]}],"n":-1.5e3,"x":true,"y":false,"z":"q\"\u00e9"} "#.to_string());
        let inserts = [
            "\"", "\\", ".", "{", "}", "[", "]", ",", ":", "0", "-", "e", " ", "\t", "\r", "\\u00e9", "null", "é", "1.5",
        ];
        let mut checked = 0usize;
        for line in &lines {
            agree(line, line);
            for (i, ch) in line.char_indices() {
                let mut cut = line.clone();
                cut.replace_range(i..i + ch.len_utf8(), "");
                agree(line, &cut);
                for ins in inserts {
                    let mut more = line.clone();
                    more.insert_str(i, ins);
                    agree(line, &more);
                    checked += 1;
                }
            }
            assert!(scan_json_fields(&mut Default::default(), line).is_some(), "{line}");
        }
        assert!(checked > 10_000);
    }

    /// Every spelling the plain reader takes (and many it leaves) reads as chrono reads it.
    #[test]
    fn la_time_plain_is_chronos() {
        use chrono::format::{parse, Parsed, StrftimeItems};
        let chrono_reads = |s: &str| {
            let mut parsed = Parsed::new();
            parse(&mut parsed, s, StrftimeItems::new("%m/%d/%Y, %I:%M:%S%.f %p")).ok()?;
            parsed.to_naive_datetime_with_offset(0).ok()
        };
        let mut taken = 0;
        let dates = [
            "3/21/2024",
            "03/01/2024",
            "12/31/1999",
            "2/29/2024",
            "2/29/2023",
            "13/1/2024",
            "0/1/2024",
            "1/32/2024",
            "1/1/24",
            "1/1/20245",
            "1//2024",
        ];
        let clocks = [
            "12:00:00",
            "12:59:59",
            "1:02:03",
            "01:02:03",
            "11:59:60",
            "0:00:00",
            "13:00:00",
            "9:5:00",
            "9:05:7",
            "10:30:00.1",
            "10:30:00.221",
            "10:30:00.123456789",
            "10:30:00.1234567891",
            "10:30:00.",
            "10:30:00,5",
        ];
        let marks = [" AM", " PM", " am", " pm", " Am", "AM", " AM ", " XM", ""];
        for d in dates {
            for c in clocks {
                for m in marks {
                    for sep in [", ", " ", ","] {
                        let s = format!("{d}{sep}{c}{m}");
                        if let Some(t) = la_export_time_plain(&s) {
                            assert_eq!(Some(t), chrono_reads(&s), "{s}");
                            taken += 1;
                        }
                    }
                }
            }
        }
        assert!(taken > 100, "{taken}");
    }

    /// Each level's wanted names, as NAMES lists them (dotted below `properties`,
    /// `identity` and `identity.requester`), are found in any letter case; no other key is.
    #[test]
    fn key_action_finds_exactly_the_wanted_names() {
        let levels = [
            (Level::Top, ""),
            (Level::Properties, "properties."),
            (Level::Identity, "identity."),
            (Level::Requester, "identity.requester."),
        ];
        let mut keys: Vec<String> = NAMES.iter().flat_map(|n| n.split('.')).map(str::to_string).collect();
        keys.extend(["statustext", "category", "resourceid", "authenticationtypo", "tim", "times", ""].map(str::to_string));
        for (level, prefix) in levels {
            for key in &keys {
                let want = if let Some(slot) = NAMES.iter().position(|n| *n == format!("{prefix}{key}")) {
                    KeyAction::Slot(u8::try_from(slot).unwrap())
                } else {
                    match (level, key.as_str()) {
                        (Level::Top, "properties") => KeyAction::Descend(Level::Properties),
                        (Level::Top, "identity") => KeyAction::Descend(Level::Identity),
                        (Level::Identity, "requester") => KeyAction::Descend(Level::Requester),
                        _ => KeyAction::Skip,
                    }
                };
                for spelled in [key.clone(), key.to_uppercase(), camel(key)] {
                    assert_eq!(key_action(level, &spelled), want, "{level:?} {spelled}");
                }
            }
        }
    }

    fn camel(key: &str) -> String {
        key.char_indices()
            .map(|(i, c)| if i % 3 == 1 { c.to_ascii_uppercase() } else { c })
            .collect()
    }

    /// `line` (a mutation of `base`) reads as serde reads it: afresh, right after `base`
    /// (its keys remembered, as the next record of a log is read), and `base` right after it.
    /// The remembered keys change nothing: the cursor takes the same records, with the same
    /// values, whatever it read before.
    fn agree(base: &str, line: &str) {
        let fresh = agree_in(&mut JsonScan::default(), line);
        let mut scan = JsonScan::default();
        agree_in(&mut scan, base);
        assert_eq!(agree_in(&mut scan, line), fresh, "{line} after {base}");
        agree_in(&mut scan, base);
    }

    fn agree_in<'a>(scan: &mut JsonScan<'a>, line: &'a str) -> Option<Vec<Option<Cow<'a, str>>>> {
        let f = scan_json_fields(scan, line)?;
        let serde = serde_json::from_str::<JsonFields>(line).unwrap_or_else(|e| panic!("cursor took invalid JSON ({e}): {line}"));
        assert!(!serde.irregular, "cursor took an irregular record: {line}");
        assert_eq!(f.values, serde.fields.values, "{line}");
        Some(f.values.to_vec())
    }

    /// The fuzz harness's check passes on records of the logs' shape (keys remembered across
    /// them, CRLF, blank lines, no line break at the end) and on text the cursor leaves to
    /// serde.
    #[test]
    fn cursor_agrees_with_serde_on_log_shaped_lines() {
        let lines = [
            r#"{"time":"2024-03-20T08:06:32Z","operationName":"GetBlob","statusCode":200,"properties":{"accountName":"a","objectKey":"/a/c/x"}}"#,
            r#"{"time":"2024-03-20T08:06:33Z","operationName":"GetBlob","statusCode":206,"properties":{"accountName":"a","objectKey":"/a/c/y"}}"#,
            r#"{"time":"2024-03-20T08:06:34Z","operationName":"ListBlobs","statusCode":200,"identity":{"type":"SAS","tokenHash":"key1(X)"}}"#,
        ];
        for text in [
            lines.join("\n"),
            lines.join("\r\n") + "\r\n",
            format!("\n{}\n\n", lines.join("\n \n")),
        ] {
            assert_eq!(cursor_agrees_with_serde(&text), Ok(()), "{text}");
        }
        // Text no JSON reader takes (the cursor refuses it too), and text whose values the
        // cursor leaves to serde: agreement either way.
        assert_eq!(cursor_agrees_with_serde("{\"time\":1.5e3}\n{\"a\" 1}\n{"), Ok(()));
    }

    #[test]
    fn key_signed_sas_counts_as_account_key_use() {
        assert!(AuthType::Sas.uses_account_key(Some("key1(4C81),SasSignature(6E8F)")));
        assert!(!AuthType::OAuth.uses_account_key(None));
    }
}
