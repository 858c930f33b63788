//! `casefile queries`: Log Analytics queries that do the heavy filtering where the rows are.
//! Collection queries return, per table, only the case's identities, addresses and resources in
//! the incident window ± a margin, projecting only columns casefile reads; aggregation queries
//! compute storage exposure inside Kusto for workspaces whose raw rows are too many to export.
//! Scope comes from the analysis of the small sources already in the bundle, so the README
//! written next to the queries gives the order to run them in.

use std::collections::BTreeSet;

use crate::analysis::Window;
use crate::error::Result;
use crate::types::Timestamp;
use crate::CaseRun;

use super::rules::kql_dynamic;
use crate::bundle::storage_summary::OBJECT_NAMES_CAP;

/// Log Analytics columns the sign-in reader uses (both sign-in tables have them).
pub const SIGNIN_COLUMNS: &[&str] = &[
    "TimeGenerated",
    "CreatedDateTime",
    "Id",
    "CorrelationId",
    "UserPrincipalName",
    "UserDisplayName",
    "IPAddress",
    "LocationDetails",
    "AppDisplayName",
    "ResourceDisplayName",
    "ResultType",
    "ResultDescription",
    "Status",
    "ConditionalAccessStatus",
    "AuthenticationRequirement",
    "RiskLevelDuringSignIn",
    "RiskLevelAggregated",
    "RiskState",
    "RiskEventTypes_V2",
    "RiskEventTypes",
    "UserAgent",
    "DeviceDetail",
    "AuthenticationDetails",
];
/// Log Analytics columns the Activity reader uses.
pub const ACTIVITY_COLUMNS: &[&str] = &[
    "TimeGenerated",
    "EventSubmissionTimestamp",
    "OperationNameValue",
    "OperationName",
    "ActivityStatusValue",
    "ActivitySubstatusValue",
    "Caller",
    "CallerIpAddress",
    "HTTPRequest",
    "CorrelationId",
    "OperationId",
    "EventDataId",
    "ResourceId",
    "_ResourceId",
    "ResourceGroup",
    "Properties",
    "Authorization",
    "CategoryValue",
];
/// Log Analytics columns the storage reader uses (its `NAMES`, as Log Analytics spells them).
pub const STORAGE_COLUMNS: &[&str] = &[
    "TimeGenerated",
    "AccountName",
    "OperationName",
    "StatusCode",
    "AuthenticationType",
    "AuthenticationHash",
    "CallerIpAddress",
    "ObjectKey",
    "Uri",
    "ResponseBodySize",
    "RequesterUpn",
    "RequesterAppId",
    "CorrelationId",
];
/// Log Analytics columns the alert reader uses.
pub const ALERT_COLUMNS: &[&str] = &[
    "TimeGenerated",
    "StartTime",
    "AlertName",
    "DisplayName",
    "AlertSeverity",
    "AlertType",
    "ProductName",
    "ProviderName",
    "Tactics",
    "Description",
    "Entities",
    "ResourceId",
    "Status",
    "SystemAlertId",
    "VendorOriginalId",
];
/// Log Analytics columns the risk-detection reader uses.
pub const RISK_COLUMNS: &[&str] = &[
    "TimeGenerated",
    "ActivityDateTime",
    "DetectedDateTime",
    "UserPrincipalName",
    "IpAddress",
    "RiskEventType",
    "RiskLevel",
    "RiskState",
    "RiskDetail",
];
/// Log Analytics columns the recommendations reader uses.
pub const RECOMMENDATION_COLUMNS: &[&str] = &[
    "TimeGenerated",
    "RecommendationId",
    "RecommendationName",
    "RecommendationDisplayName",
    "RecommendationSeverity",
    "RecommendationState",
    "AssessedResourceId",
    "FirstEvaluationDate",
    "StatusChangeDate",
];

/// What the queries are scoped to, taken from the analysis.
#[derive(Debug, Clone)]
pub struct QueryScope {
    pub start: Timestamp,
    pub end: Timestamp,
    /// How the window was found, for the README.
    pub window_basis: String,
    pub identities: Vec<String>,
    pub ips: Vec<String>,
    /// Storage accounts the attacker touched (lower case).
    pub accounts: Vec<String>,
}

/// One emitted query.
#[derive(Debug, Clone)]
pub struct Query {
    /// File name, numbered in the order to run.
    pub file: String,
    pub table: &'static str,
    pub purpose: String,
    pub text: String,
}

/// The scope of a run: incident window ± margin (else the evidence's span, else the 30 days
/// before the as-of time), attacker identities, addresses and storage accounts.
pub fn scope_of(run: &CaseRun, margin_hours: u32) -> QueryScope {
    let margin = i64::from(margin_hours) * 3600;
    let span = || -> Option<Window> {
        let first = run.bundle.files.iter().filter_map(|f| f.first).min()?;
        let last = run.bundle.files.iter().filter_map(|f| f.last).max()?;
        Some(Window {
            start: first,
            end: last,
            first_success: None,
            data_access_start: None,
            data_access_end: None,
        })
    };
    let (w, basis) = match (run.analysis.window, span()) {
        (Some(w), _) => (w, format!("the incident window (first to last attacker step) ± {margin_hours} h")),
        (None, Some(w)) => (
            w,
            format!("no attacker step was found: the evidence's time span ± {margin_hours} h"),
        ),
        (None, None) => (
            Window {
                start: run.case.as_of.plus_seconds(-30 * 86_400),
                end: run.case.as_of,
                first_success: None,
                data_access_start: None,
                data_access_end: None,
            },
            format!("no evidence with times: the 30 days before the case's as-of time ± {margin_hours} h"),
        ),
    };
    let mut accounts: BTreeSet<String> = BTreeSet::new();
    if let Some(e) = run.analysis.exposure.provided() {
        accounts.extend(e.accounts.iter().map(|a| a.to_lowercase()));
    }
    for s in &run.analysis.steps {
        if let Some(a) = s.resource.as_ref().and_then(|r| r.segment_after("storageAccounts")) {
            accounts.insert(a.to_lowercase());
        }
    }
    QueryScope {
        start: w.start.plus_seconds(-margin),
        end: w.end.plus_seconds(margin),
        window_basis: basis,
        identities: run.analysis.scope.identities.keys().map(|u| u.to_string()).collect(),
        ips: run.analysis.scope.ips.keys().map(|i| i.to_string()).collect(),
        accounts: accounts.into_iter().filter(|a| !a.is_empty()).collect(),
    }
}

fn datetime(t: Timestamp) -> String {
    format!("datetime({})", t.rfc3339())
}

fn time_filter(s: &QueryScope, column: &str) -> String {
    format!("| where {column} between ({} .. {})", datetime(s.start), datetime(s.end))
}

fn lets(s: &QueryScope) -> String {
    format!(
        "let identities = {};\nlet addresses = {};\nlet accounts = {};\n",
        kql_dynamic(&s.identities),
        kql_dynamic(&s.ips),
        kql_dynamic(&s.accounts)
    )
}

fn project(columns: &[&str]) -> String {
    format!("| project {}", columns.join(", "))
}

/// The address part of `CallerIpAddress` as casefile reads it (`types::parse_ip`): storage and
/// Activity logs add the client port (`1.2.3.4:5678`, `[2001:db8::1]:443`); a bare IPv6
/// address has more than one colon and no port.
const CALLER_IP: &str = "iff(CallerIpAddress startswith \"[\", extract(@\"^\\[([^\\]]*)\\]\", 1, CallerIpAddress), iff(countof(CallerIpAddress, \":\") == 1, tostring(split(CallerIpAddress, \":\")[0]), CallerIpAddress))";

fn signins(s: &QueryScope, table: &'static str, n: usize) -> Query {
    Query {
        file: format!("{n:02}-collect-{}.kql", table.to_lowercase()),
        table,
        purpose: format!("{table}: sign-ins of the attacker identities or from attacker addresses"),
        text: format!(
            "{}{table}\n{}\n| where tolower(UserPrincipalName) in (identities) or IPAddress in (addresses)\n{}",
            lets(s),
            time_filter(s, "TimeGenerated"),
            project(SIGNIN_COLUMNS)
        ),
    }
}

/// Every collection and aggregation query, in the order to run them.
pub fn build_queries(s: &QueryScope) -> Vec<Query> {
    let mut out = vec![
        signins(s, "SigninLogs", 1),
        signins(s, "AADNonInteractiveUserSignInLogs", 2),
        Query {
            file: "03-collect-azureactivity.kql".into(),
            table: "AzureActivity",
            purpose: "AzureActivity: operations by the attacker identities or addresses, and every operation on the storage accounts they touched (key listings, rotations)".into(),
            text: format!(
                "{}AzureActivity\n{}\n| where tolower(Caller) in (identities) or {CALLER_IP} in (addresses) or tolower(tostring(split(_ResourceId, \"/\")[8])) in (accounts)\n{}",
                lets(s),
                time_filter(s, "TimeGenerated"),
                project(ACTIVITY_COLUMNS)
            ),
        },
        Query {
            file: "04-collect-securityalert.kql".into(),
            table: "SecurityAlert",
            purpose: "SecurityAlert: every alert in the window (alerts are few and name the entities the scope is inferred from)".into(),
            text: format!("SecurityAlert\n{}\n{}", time_filter(s, "TimeGenerated"), project(ALERT_COLUMNS)),
        },
        Query {
            file: "05-collect-aaduserriskevents.kql".into(),
            table: "AADUserRiskEvents",
            purpose: "AADUserRiskEvents: risk detections of the attacker identities or addresses".into(),
            text: format!(
                "{}AADUserRiskEvents\n{}\n| where tolower(UserPrincipalName) in (identities) or IpAddress in (addresses)\n{}",
                lets(s),
                time_filter(s, "TimeGenerated"),
                project(RISK_COLUMNS)
            ),
        },
        Query {
            file: "06-collect-securityrecommendation.kql".into(),
            table: "SecurityRecommendation",
            purpose: "SecurityRecommendation: the latest state of every recommendation per resource as of the window's end".into(),
            text: format!(
                "SecurityRecommendation\n| where TimeGenerated <= {}\n| summarize arg_max(TimeGenerated, *) by RecommendationId, AssessedResourceId\n{}",
                datetime(s.end),
                project(RECOMMENDATION_COLUMNS)
            ),
        },
        Query {
            file: "07-collect-storagebloblogs.kql".into(),
            table: "StorageBlobLogs",
            purpose: "StorageBlobLogs: every request to the storage accounts the attacker touched and every request from attacker addresses (raw rows; use 08 instead when they are too many)".into(),
            text: format!(
                "{}StorageBlobLogs\n{}\n| where tolower(AccountName) in (accounts) or {CALLER_IP} in (addresses)\n{}",
                lets(s),
                time_filter(s, "TimeGenerated"),
                project(STORAGE_COLUMNS)
            ),
        },
    ];
    out.push(storage_summary(s));
    out
}

/// Storage exposure computed in Kusto: one row per day, account, container, caller address,
/// authentication type, signing key, operation, status and requester, with requests, bytes,
/// exact distinct objects, the object names (capped) and first/last time. Every derived
/// column mirrors how casefile reads a raw row (`bundle::storage`), so the summary gives the
/// raw rows' figures (`bundle::storage_summary` reads it):
/// - the object key without quotes, else the request URI's path, names container and blob;
/// - the container is lower-cased; the blob is what follows it;
/// - `SigningKey` keeps what account-key use needs of `AuthenticationHash` (`key1`/`key2`);
/// - requester and day let the analysis attribute rows to compromised identities inside
///   their compromise window and weigh an address's earlier days.
///
/// Distinct objects cannot be summed across rows, so each row lists its blobs
/// (`make_set_if`, at most [`OBJECT_NAMES_CAP`]); `DistinctObjects` stays exact per row.
fn storage_summary(s: &QueryScope) -> Query {
    Query {
        file: "08-aggregate-storagebloblogs.kql".into(),
        table: "StorageBlobLogs",
        purpose: format!("StorageBlobLogs aggregated in the workspace, for when the raw rows are too many to export: per day, account, container, caller address, authentication type, signing key, operation, status and requester: requests, bytes, exact distinct objects, their names (at most {OBJECT_NAMES_CAP} per row) and first/last time"),
        text: format!(
            "{lets}StorageBlobLogs\n{time}\n| extend CallerIp = {CALLER_IP}\n| where tolower(AccountName) in (accounts) or CallerIp in (addresses)\n\
             | extend Key = trim(@'\"', ObjectKey)\n\
             | extend Key = iff(isnotempty(tostring(split(Key, \"/\")[2])), Key, strcat(\"/\", AccountName, tostring(parse_url(Uri).Path)))\n\
             | extend Container = tolower(tostring(split(Key, \"/\")[2])), Blob = extract(@\"^/*[^/]*/[^/]*/(.+)$\", 1, Key)\n\
             | extend SigningKey = case(AuthenticationHash startswith_cs \"key1\", \"key1\", AuthenticationHash startswith_cs \"key2\", \"key2\", \"\")\n\
             | summarize Requests = count(), Bytes = sum(ResponseBodySize), DistinctObjects = count_distinctif(Blob, isnotempty(Blob)), Objects = make_set_if(Blob, isnotempty(Blob), {OBJECT_NAMES_CAP}), FirstTime = min(TimeGenerated), LastTime = max(TimeGenerated)\n    \
             by Day = startofday(TimeGenerated), AccountName, Container, CallerIp, AuthenticationType, SigningKey, OperationName, StatusCode, RequesterUpn, RequesterAppId\n\
             | order by AccountName asc, Container asc, FirstTime asc",
            lets = lets(s),
            time = time_filter(s, "TimeGenerated"),
        ),
    }
}

fn readme(run: &CaseRun, s: &QueryScope, queries: &[Query]) -> String {
    let list = |v: &[String]| {
        if v.is_empty() {
            "none known yet".to_string()
        } else {
            v.iter().map(|x| super::md_text(x)).collect::<Vec<_>>().join(", ")
        }
    };
    let mut out = format!(
        "# Log Analytics queries for case {}\n\nGenerated by `casefile queries` from what the bundle already shows. Run them in the\nworkspace (Log Analytics, Sentinel or Azure Data Explorer), export each result as CSV, add the\nfiles to the bundle's case.toml `[[evidence]]` and run `casefile report` again.\n\n",
        run.case.id
    );
    out.push_str(&format!(
        "Scope:\n\n- window: {} → {} ({})\n- identities: {}\n- addresses: {}\n- storage accounts: {}\n\n",
        s.start.rfc3339(),
        s.end.rfc3339(),
        s.window_basis,
        list(&s.identities),
        list(&s.ips),
        list(&s.accounts)
    ));
    out.push_str("Order: the scope is inferred from the small sources, so export sign-ins, Activity log and\nalerts first, run `casefile queries` again on that bundle, then run the storage queries.\n\n");
    out.push_str("| file | table | what it is for |\n|---|---|---|\n");
    for q in queries {
        out.push_str(&format!("| {} | {} | {} |\n", q.file, q.table, q.purpose));
    }
    out.push_str(&format!(
        "\n08 computes the storage exposure inside the workspace for when 07's raw rows are too many to\n\
         export. Export its result (CSV, or the query JSON) unchanged, list it in case.toml\n\
         `[[evidence]]` instead of 07's rows (casefile recognises it as a storage summary; listing both\n\
         for the same account and time counts requests twice), and casefile gives the exposure it\n\
         gives from the raw rows. Distinct objects cannot be added across rows (an object read from\n\
         two addresses counts once), so each row lists its blob names, at most {OBJECT_NAMES_CAP}: when a\n\
         container's count rests on a row that reached the cap and on other rows, the report says\n\
         \"at least\". Timeline steps from a summary are its rows (first to last request), coarser\n\
         than from raw rows.\n"
    ));
    out
}

/// Every file `casefile queries` writes, as (relative path, bytes).
///
/// # Errors
/// A render error when a query file cannot be serialised.
pub fn render(run: &CaseRun, margin_hours: u32) -> Result<Vec<(String, Vec<u8>)>> {
    let scope = scope_of(run, margin_hours);
    let queries = build_queries(&scope);
    let mut files: Vec<(String, Vec<u8>)> = queries
        .iter()
        .map(|q| (q.file.clone(), format!("{}\n", q.text).into_bytes()))
        .collect();
    files.push(("README.md".into(), readme(run, &scope, &queries).into_bytes()));
    Ok(files)
}
