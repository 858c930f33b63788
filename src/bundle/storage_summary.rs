//! Storage summary: the result of the aggregation query `casefile queries` writes
//! (`08-aggregate-storagebloblogs.kql`), exported from Log Analytics as CSV or as query JSON.
//! One row stands for the StorageBlobLogs requests of one day that share account, container,
//! caller address, authentication type, signing key, operation, status and requester; it
//! carries their count, bytes, distinct objects (exact, `count_distinct`), the object names
//! (capped at [`OBJECT_NAMES_CAP`] by `make_set_if`) and the first and last request time.
//!
//! Distinct objects cannot be summed across rows (an object read from two addresses counts
//! once), so the names travel with each row: the union over the rows the analysis attributes
//! to the attacker is exact whenever no contributing row was capped, and a stated lower bound
//! otherwise (see `analysis::exposure::Objects`).
//!
//! Rows are few (days × principals × addresses × operations), so they are read whole.

use std::net::IpAddr;
use std::path::Path;

use serde::Serialize;

use super::source::{need, EvidenceSource, FieldList, FileIn, Intake, Signature, SourceKind};
use super::storage::AuthType;
use crate::error::{InputError, Location, Result};
use crate::input::table::{self as records, Row, TableInfo, TableOptions};
use crate::types::{parse_ip, Bytes, Span, Timestamp, Upn};

const WHAT: &str = "storage summary";

/// The most object names one row lists (`make_set_if`'s cap in the aggregation query). A row
/// with more distinct objects lists only this many; its `DistinctObjects` stays exact.
pub const OBJECT_NAMES_CAP: u64 = 1000;

/// Every column of the aggregation query's result (normalised names), in its order. All are
/// required: a summary without one of them cannot give the figures the raw rows give.
pub const COLUMNS: &[(&str, &str)] = &[
    ("accountname", "AccountName"),
    ("container", "Container"),
    ("callerip", "CallerIp"),
    ("authenticationtype", "AuthenticationType"),
    ("signingkey", "SigningKey"),
    ("operationname", "OperationName"),
    ("statuscode", "StatusCode"),
    ("requesterupn", "RequesterUpn"),
    ("requesterappid", "RequesterAppId"),
    ("requests", "Requests"),
    ("bytes", "Bytes"),
    ("distinctobjects", "DistinctObjects"),
    ("objects", "Objects"),
    ("firsttime", "FirstTime"),
    ("lasttime", "LastTime"),
];

/// Columns the query also writes that casefile does not need (the day is implied by the
/// first and last time).
pub const OPTIONAL_COLUMNS: &[&str] = &["day"];

/// Every name the reader takes, for the file's "unknown columns": [`COLUMNS`] and the
/// optional ones.
const NAMES: &[&str] = &[
    "accountname",
    "container",
    "callerip",
    "authenticationtype",
    "signingkey",
    "operationname",
    "statuscode",
    "requesterupn",
    "requesterappid",
    "requests",
    "bytes",
    "distinctobjects",
    "objects",
    "firsttime",
    "lasttime",
    "day",
];

/// Loose on purpose: a summary that lost a column is still recognised, and its reader names
/// the missing column ([`load_with`]).
const SIGNATURES: &[Signature] = &[Signature {
    shape: "storage summary (casefile's StorageBlobLogs aggregation query)",
    needs: &[
        need(&["requests"], "Requests"),
        need(
            &["distinctobjects", "objects", "firsttime", "lasttime"],
            "DistinctObjects, Objects, FirstTime or LastTime",
        ),
    ],
}];

/// StorageBlobLogs aggregated in the workspace by `casefile queries`' aggregation query, as
/// an evidence source standing for the storage log.
pub struct StorageSummary;

/// The kind of [`StorageSummary`].
pub const KIND: SourceKind = SourceKind::of(&StorageSummary);

impl EvidenceSource for StorageSummary {
    fn key(&self) -> &'static str {
        "storage-summary"
    }
    fn describe(&self) -> &'static str {
        WHAT
    }
    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }
    // Tried before the storage log's shapes, whose columns (AccountName…) it shares.
    fn precedence(&self) -> u8 {
        30
    }
    fn fields(&self) -> FieldList {
        FieldList::Declared(NAMES)
    }
    fn stands_for(&self) -> Option<SourceKind> {
        Some(super::storage::KIND)
    }
    fn load(&self, file: &FileIn, intake: &mut Intake) -> Result<()> {
        let (items, info) = load_with(file.path, file.options, intake.span)?;
        intake.report.records = info.records;
        intake.keep_unique(KIND, items, |b| &mut b.storage_summary, SummaryRow::key);
        Ok(())
    }
}

/// One row of the summary: the requests of one day sharing every grouping column.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryRow {
    /// Lower case, as the raw reader keeps it.
    pub account: String,
    /// Lower case; None for requests on the account itself.
    pub container: Option<String>,
    pub caller_ip: Option<IpAddr>,
    pub auth: AuthType,
    /// `key1`/`key2` when the request was signed with an account key (Shared Key or a SAS
    /// whose `AuthenticationHash` names the key), else None.
    pub signing_key: Option<String>,
    pub operation: String,
    pub status_code: u16,
    pub requester_upn: Option<Upn>,
    pub requester_app: Option<String>,
    pub requests: u64,
    /// Response body bytes summed over the row's requests.
    pub bytes: Bytes,
    /// Exact number of distinct objects among the row's requests.
    pub distinct_objects: u64,
    /// The objects' blob paths (inside the container), at most [`OBJECT_NAMES_CAP`].
    pub objects: Vec<String>,
    pub first: Timestamp,
    pub last: Timestamp,
    pub origin: Location,
}

impl SummaryRow {
    /// Whether `objects` names every distinct object of the row (the cap was not reached).
    pub fn objects_complete(&self) -> bool {
        self.objects.len() as u64 >= self.distinct_objects
    }
    /// Key for dropping a row exported twice (every column equal).
    pub fn key(&self) -> String {
        format!(
            "{}|{:?}|{:?}|{}|{:?}|{}|{}|{:?}|{:?}|{}|{}|{}|{}|{}",
            self.account,
            self.container,
            self.caller_ip,
            self.auth.name(),
            self.signing_key,
            self.operation,
            self.status_code,
            self.requester_upn,
            self.requester_app,
            self.requests,
            self.bytes.0,
            self.distinct_objects,
            self.first.rfc3339(),
            self.last.rfc3339()
        )
    }
}

/// The first column of [`COLUMNS`] that `names` (normalised) lack, in the query's spelling.
pub fn missing_column(names: &[String]) -> Option<&'static str> {
    COLUMNS.iter().find(|(n, _)| !names.iter().any(|c| c == n)).map(|(_, shown)| *shown)
}

fn count(row: &Row, column: &str) -> Result<u64> {
    Ok(row.opt_u64(WHAT, &[column])?.unwrap_or(0))
}

/// The `Objects` cell: a JSON array of blob paths (a dynamic column: JSON text in CSV, an
/// array or JSON text in query JSON). Empty means none.
fn object_names(row: &Row) -> Result<Vec<String>> {
    let Some(field) = row.field(&["objects"]) else {
        return Ok(Vec::new());
    };
    let value = row.json(WHAT, &["objects"])?.unwrap_or(serde_json::Value::Null);
    let bad = || {
        row.bad(
            WHAT,
            "invalid object list",
            field,
            "a JSON array of blob names, such as [\"exports/a.parquet\"]",
        )
    };
    match value {
        serde_json::Value::Null => Ok(Vec::new()),
        serde_json::Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => Ok(s),
                _ => Err(bad()),
            })
            .collect(),
        _ => Err(bad()),
    }
}

/// Parses one row, checking what the query guarantees (so an edited or truncated export is
/// an error, not a wrong figure).
pub fn parse_row(row: &Row) -> Result<SummaryRow> {
    let status_code = super::storage::status_code_of(row, WHAT)?;
    let requests = count(row, "requests")?;
    if requests == 0 {
        let f = row.required(WHAT, &["requests"])?;
        return Err(row.bad(
            WHAT,
            "invalid request count",
            f,
            "at least 1 (a row stands for the requests it counts)",
        ));
    }
    let distinct_objects = count(row, "distinctobjects")?;
    if distinct_objects > requests {
        let f = row.required(WHAT, &["distinctobjects"])?;
        return Err(row.bad(
            WHAT,
            "more distinct objects than requests",
            f,
            &format!("at most Requests ({requests})"),
        ));
    }
    let objects = object_names(row)?;
    if objects.len() as u64 > distinct_objects {
        let f = row.required(WHAT, &["objects"])?;
        return Err(row.bad(
            WHAT,
            "more object names than distinct objects",
            f,
            &format!("at most DistinctObjects ({distinct_objects}) names"),
        ));
    }
    let first = row.timestamp(WHAT, &["firsttime"])?;
    let last = row.timestamp(WHAT, &["lasttime"])?;
    if last < first {
        let f = row.required(WHAT, &["lasttime"])?;
        return Err(row.bad(
            WHAT,
            "last time before first time",
            f,
            &format!("a time at or after FirstTime ({})", first.rfc3339()),
        ));
    }
    let account = row.required(WHAT, &["accountname"])?.value.trim().to_lowercase();
    Ok(SummaryRow {
        account,
        container: row.string(&["container"]).map(|c| c.to_lowercase()),
        caller_ip: row.str(&["callerip"]).and_then(parse_ip),
        auth: row
            .str(&["authenticationtype"])
            .map(AuthType::parse)
            .unwrap_or(AuthType::Other(String::new())),
        signing_key: row.string(&["signingkey"]),
        operation: row.string(&["operationname"]).unwrap_or_default(),
        status_code,
        requester_upn: row.str(&["requesterupn"]).map(Upn::new),
        requester_app: row.string(&["requesterappid"]),
        requests,
        bytes: Bytes(count(row, "bytes")?),
        distinct_objects,
        objects,
        first,
        last,
        origin: row.location().clone(),
    })
}

/// Reads every row of a summary export, after checking its header has every column.
///
/// # Errors
/// An input error naming the file and the missing column, or the record and field of the
/// first row that cannot be read.
pub fn load_with(path: &Path, options: &TableOptions, span: &mut Span) -> Result<(Vec<SummaryRow>, TableInfo)> {
    let names = records::peek(path, WHAT)?.names;
    if let Some(column) = missing_column(&names) {
        return Err(InputError::new(WHAT, "missing column", Location::file(path).with_field(column))
            .found(&format!("columns {}", names.join(", ")))
            .expected(&format!(
                "every column of the aggregation query's result: {}",
                COLUMNS.iter().map(|(_, c)| *c).collect::<Vec<_>>().join(", ")
            ))
            .hint("run 08-aggregate-storagebloblogs.kql from `casefile queries` unchanged and export all its columns")
            .into());
    }
    let mut out = Vec::new();
    let info = records::read_table_with(path, WHAT, options, &mut |row| {
        let r = parse_row(row)?;
        span.add(r.first);
        span.add(r.last);
        out.push(r);
        Ok(records::Visit::Continue)
    })?;
    Ok((out, info))
}

/// [`load_with`] with no options.
///
/// # Errors
/// As [`load_with`].
pub fn load(path: &Path, span: &mut Span) -> Result<(Vec<SummaryRow>, TableInfo)> {
    load_with(path, &TableOptions::default(), span)
}
