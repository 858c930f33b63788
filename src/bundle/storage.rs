//! Storage blob resource logs: StorageBlobLogs (Log Analytics CSV or query JSON) and raw
//! StorageRead/StorageWrite records (JSON Lines from `insights-logs-storage*`, or one JSON
//! record). Records are streamed one at a time to a visitor and never collected, so a log of
//! ten million requests needs no more memory than one of ten.

use std::net::IpAddr;
use std::path::Path;

use serde::Serialize;

use super::records::{self, Row, TableInfo, Visit};
use super::Span;
use crate::error::{Location, Result};
use crate::types::{parse_ip, Bytes, Timestamp, Upn};

const WHAT: &str = "storage log";

pub const COLUMNS: &[&str] = &[
    "timegenerated",
    "time",
    "accountname",
    "operationname",
    "statuscode",
    "statustext",
    "authenticationtype",
    "authenticationhash",
    "calleripaddress",
    "objectkey",
    "uri",
    "responsebodysize",
    "requesterupn",
    "requesterappid",
    "requesterobjectid",
    "useragentheader",
    "category",
    "identity",
    "properties",
    "correlationid",
];

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
    fn parse(s: &str) -> AuthType {
        match s.trim().to_ascii_lowercase().replace(' ', "").as_str() {
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
        match self {
            AuthType::AccountKey => "AccountKey".into(),
            AuthType::Sas => "SAS".into(),
            AuthType::OAuth => "OAuth".into(),
            AuthType::Anonymous => "Anonymous".into(),
            AuthType::Other(s) => s.clone(),
        }
    }
}

/// One blob-service request.
#[derive(Debug, Clone, Serialize)]
pub struct BlobRequest {
    pub at: Timestamp,
    pub account: String,
    /// `GetBlob`, `ListBlobs`, `PutBlob` …
    pub operation: String,
    pub status_code: u16,
    pub auth: AuthType,
    pub auth_hash: Option<String>,
    pub caller_ip: Option<IpAddr>,
    pub container: Option<String>,
    pub blob: Option<String>,
    /// Body bytes returned; for a ranged read (206) this is the range's size.
    pub response_bytes: Bytes,
    pub requester_upn: Option<Upn>,
    pub requester_app: Option<String>,
    pub user_agent: Option<String>,
    /// The request id (`CorrelationId`), for de-duplication of overlapping exports.
    pub request_id: Option<String>,
    pub origin: Location,
}

impl BlobRequest {
    /// 2xx responses, including 206 Partial Content for ranged reads.
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status_code)
    }
    /// Operations that return blob content.
    pub fn is_data_read(&self) -> bool {
        matches!(self.operation.as_str(), "GetBlob" | "CopyBlobSource" | "GetBlobContent")
    }
    /// Operations that enumerate.
    pub fn is_listing(&self) -> bool {
        matches!(self.operation.as_str(), "ListBlobs" | "ListContainers" | "ListBlobHierarchySegment")
    }
}

/// `/account/container/dir/blob` → (container, blob). The docs say ObjectKey is quoted;
/// raw samples are not (formats.md §2.4), so one pair of quotes is stripped.
fn split_object_key(key: &str) -> (Option<String>, Option<String>) {
    let key = key.trim().trim_matches('"');
    let mut parts = key.trim_start_matches('/').splitn(3, '/');
    let _account = parts.next();
    let container = parts.next().filter(|c| !c.is_empty()).map(|c| c.to_lowercase());
    let blob = parts.next().filter(|b| !b.is_empty()).map(str::to_string);
    (container, blob)
}

/// Container and blob from a request URI when ObjectKey is absent.
fn split_uri(uri: &str) -> (Option<String>, Option<String>) {
    let path = uri.split('?').next().unwrap_or("");
    let after_host = path.split("://").nth(1).unwrap_or(path);
    let mut parts = after_host.splitn(2, '/');
    let _host = parts.next();
    let rest = parts.next().unwrap_or("");
    let mut p = rest.splitn(2, '/');
    let container = p.next().filter(|c| !c.is_empty()).map(|c| c.to_lowercase());
    let blob = p.next().filter(|b| !b.is_empty()).map(str::to_string);
    (container, blob)
}

pub fn parse_row(row: &Row) -> Result<BlobRequest> {
    let at = row.timestamp(WHAT, &["timegenerated", "time"])?;
    let status = row.required(WHAT, &["statuscode"])?;
    let status_code = status
        .value
        .trim()
        .trim_end_matches(".0")
        .parse::<u16>()
        .map_err(|_| row.bad(WHAT, "invalid status code", status, "an HTTP status code such as 200"))?;
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
    Ok(BlobRequest {
        at,
        account,
        operation: row.string(&["operationname"]).unwrap_or_default(),
        status_code,
        auth: row
            .str(&["authenticationtype", "identity.type"])
            .map(AuthType::parse)
            .unwrap_or(AuthType::Other(String::new())),
        auth_hash: row.string(&["authenticationhash", "identity.tokenhash"]),
        caller_ip: row.str(&["calleripaddress"]).and_then(parse_ip),
        container,
        blob,
        response_bytes: Bytes(
            row.opt_u64(WHAT, &["responsebodysize", "properties.responsebodysize"])?
                .unwrap_or(0),
        ),
        requester_upn: row.str(&["requesterupn", "identity.requester.upn"]).map(Upn::new),
        requester_app: row.string(&["requesterappid", "identity.requester.appid"]),
        user_agent: row.string(&["useragentheader", "properties.useragentheader"]),
        request_id: row.string(&["correlationid"]),
        origin: row.location().clone(),
    })
}

/// Streams every request of a file to `visit`; returns the file's record count and span.
pub fn stream(path: &Path, visit: &mut dyn FnMut(BlobRequest) -> Result<()>) -> Result<(TableInfo, Span)> {
    let mut span = Span::default();
    let info = records::read_table(path, WHAT, &mut |row| {
        let r = parse_row(row)?;
        span.add(r.at);
        visit(r)?;
        Ok(Visit::Continue)
    })?;
    Ok((info, span))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn key_signed_sas_counts_as_account_key_use() {
        assert!(AuthType::Sas.uses_account_key(Some("key1(4C81),SasSignature(6E8F)")));
        assert!(!AuthType::OAuth.uses_account_key(None));
    }
}
