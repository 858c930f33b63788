//! Azure Activity log: AzureActivity (current and legacy columns) from Log Analytics CSV or
//! query JSON, and REST / `az monitor activity-log list` JSON. Turns rows into
//! [`ActivityEvent`]s, reading the region, VM size and rule details that only the nested
//! request/response bodies carry.

use std::net::IpAddr;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::source::{need, Capability, EvidenceSource, FileIn, Intake, Signature, SourceKind};
use super::Span;
use crate::error::{Location, Result};
use crate::input::table::{self as records, json_path, json_str, Row, TableInfo, TableOptions};
use crate::types::{parse_ip, Region, ResourceId, Timestamp, Upn};

const WHAT: &str = "activity log";

/// The lifecycle state of one Activity log event. Log Analytics writes Start/Accept/Success/
/// Failure; REST and legacy columns write Started/Accepted/Succeeded/Failed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActivityStatus {
    Started,
    Accepted,
    Succeeded,
    Failed,
    Other(String),
}

impl ActivityStatus {
    fn parse(s: &str) -> ActivityStatus {
        match s.trim().to_ascii_lowercase().as_str() {
            "start" | "started" => ActivityStatus::Started,
            "accept" | "accepted" => ActivityStatus::Accepted,
            "success" | "succeeded" => ActivityStatus::Succeeded,
            "failure" | "failed" => ActivityStatus::Failed,
            other => ActivityStatus::Other(other.to_string()),
        }
    }
    pub fn is_final(&self) -> bool {
        matches!(self, ActivityStatus::Succeeded | ActivityStatus::Failed)
    }
}

/// A network security rule as written in a request or response body.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RuleDetails {
    pub direction: Option<String>,
    pub access: Option<String>,
    pub port: Option<String>,
    pub source: Option<String>,
}

/// What the nested bodies say about the resource an operation wrote.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OperationDetails {
    /// Region of the written resource (`location` in the request/response body).
    pub region: Option<Region>,
    pub vm_size: Option<String>,
    pub sku: Option<String>,
    pub rule: Option<RuleDetails>,
    pub role_definition: Option<String>,
    pub principal_id: Option<String>,
    /// A command carried by the request (VM extension `commandToExecute`); attacker text.
    pub command: Option<String>,
    /// The error code of a failed operation (`statusMessage` → `error.code`, such as
    /// `RequestDisallowedByPolicy` or `AuthorizationFailed`).
    pub error_code: Option<String>,
    /// The key a `regenerateKey` request named (`key1`, `key2`).
    pub key_name: Option<String>,
}

/// The route by which an Activity log record left Azure, where the record itself shows one
/// that only a diagnostic setting (or the legacy log profile) provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExportRoute {
    /// A row of a Log Analytics workspace's `AzureActivity` table.
    LogAnalytics,
    /// A diagnostic-setting record (`insights-activity-logs` in a storage account or event hub).
    DiagnosticRecord,
}

impl ExportRoute {
    /// Where the record shows the export went, in a report's words.
    pub fn describe(self) -> &'static str {
        match self {
            ExportRoute::LogAnalytics => "rows of a Log Analytics workspace's AzureActivity table",
            ExportRoute::DiagnosticRecord => "diagnostic-setting records (insights-activity-logs)",
        }
    }

    /// The route a record's own shape proves, if any: the platform's 90-day history (portal,
    /// REST, az CLI) proves none.
    fn of(row: &Row) -> Option<ExportRoute> {
        let la_table = ["type", "$table"]
            .iter()
            .any(|c| row.str(&[c]).is_some_and(|t| t.eq_ignore_ascii_case("AzureActivity")));
        if row.is_resource_log() {
            Some(ExportRoute::DiagnosticRecord)
        } else if la_table || row.field(&["sourcesystem"]).is_some() {
            Some(ExportRoute::LogAnalytics)
        } else {
            None
        }
    }
}

/// One Activity log event (a row). Several events with one correlation id form an operation.
#[derive(Debug, Clone, Serialize)]
pub struct ActivityEvent {
    pub at: Timestamp,
    /// Resource-provider operation, lower-cased (`microsoft.compute/virtualmachines/write`).
    pub operation: String,
    pub display_name: Option<String>,
    pub status: ActivityStatus,
    pub substatus: Option<String>,
    pub caller: Option<Upn>,
    pub caller_ip: Option<IpAddr>,
    pub correlation_id: Option<String>,
    pub operation_id: Option<String>,
    /// `EventDataId`, unique per event, for de-duplication.
    pub event_id: Option<String>,
    pub resource_id: Option<ResourceId>,
    pub resource_group: Option<String>,
    pub category: Option<String>,
    pub details: OperationDetails,
    /// How the record left Azure, where its shape shows an export.
    pub exported: Option<ExportRoute>,
    pub origin: Location,
}

/// Canonical spelling of resource-provider path segments, so that reports show
/// `virtualMachines/write` whatever case the export used (formats.md Q12).
const SEGMENTS: &[&str] = &[
    "Microsoft",
    "Authorization",
    "Compute",
    "Network",
    "Storage",
    "Resources",
    "Insights",
    "Web",
    "KeyVault",
    "roleAssignments",
    "roleDefinitions",
    "elevateAccess",
    "virtualMachines",
    "extensions",
    "publicIPAddresses",
    "networkSecurityGroups",
    "securityRules",
    "networkInterfaces",
    "virtualNetworks",
    "subnets",
    "storageAccounts",
    "listKeys",
    "regenerateKey",
    "listAccountSas",
    "blobServices",
    "containers",
    "resourceGroups",
    "deployments",
    "diagnosticSettings",
    "sites",
    "vaults",
    "subscriptions",
    "disks",
    "snapshots",
    "runCommand",
    "locks",
    "policyAssignments",
    "write",
    "delete",
    "action",
    "read",
];

/// `MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE` → `Microsoft.Compute/virtualMachines/write`.
pub fn canonical_operation(op: &str) -> String {
    op.split('/')
        .map(|seg| {
            seg.split('.')
                .map(|part| {
                    SEGMENTS
                        .iter()
                        .find(|s| s.eq_ignore_ascii_case(part))
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| part.to_ascii_lowercase())
                })
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Portal display names → operations, for the portal CSV which has no operation column.
const DISPLAY_NAMES: &[(&str, &str)] = &[
    ("create role assignment", "microsoft.authorization/roleassignments/write"),
    ("delete role assignment", "microsoft.authorization/roleassignments/delete"),
    ("create or update virtual machine", "microsoft.compute/virtualmachines/write"),
    ("delete virtual machine", "microsoft.compute/virtualmachines/delete"),
    (
        "create or update virtual machine extension",
        "microsoft.compute/virtualmachines/extensions/write",
    ),
    ("create or update public ip address", "microsoft.network/publicipaddresses/write"),
    (
        "create or update security rule",
        "microsoft.network/networksecuritygroups/securityrules/write",
    ),
    (
        "create or update network security group",
        "microsoft.network/networksecuritygroups/write",
    ),
    ("list storage account keys", "microsoft.storage/storageaccounts/listkeys/action"),
    (
        "regenerate storage account keys",
        "microsoft.storage/storageaccounts/regeneratekey/action",
    ),
    ("delete diagnostic setting", "microsoft.insights/diagnosticsettings/delete"),
    ("create or update network interface", "microsoft.network/networkinterfaces/write"),
    ("delete network interface", "microsoft.network/networkinterfaces/delete"),
    ("delete public ip address", "microsoft.network/publicipaddresses/delete"),
    (
        "delete security rule",
        "microsoft.network/networksecuritygroups/securityrules/delete",
    ),
    ("delete network security group", "microsoft.network/networksecuritygroups/delete"),
    ("create or update storage account", "microsoft.storage/storageaccounts/write"),
    (
        "create or update resource group",
        "microsoft.resources/subscriptions/resourcegroups/write",
    ),
    ("delete resource group", "microsoft.resources/subscriptions/resourcegroups/delete"),
    ("create deployment", "microsoft.resources/deployments/write"),
    ("create or update diagnostic setting", "microsoft.insights/diagnosticsettings/write"),
    (
        "returns storage account sas token",
        "microsoft.storage/storageaccounts/listaccountsas/action",
    ),
    ("create or update disk", "microsoft.compute/disks/write"),
    ("create or update snapshot", "microsoft.compute/snapshots/write"),
    ("create management lock", "microsoft.authorization/locks/write"),
];

fn looks_like_operation(s: &str) -> bool {
    s.contains('/') && s.to_ascii_lowercase().starts_with("microsoft.")
}

/// The body (request or response) as JSON, wherever the export put it.
fn bodies(props: Option<&Value>) -> Vec<Value> {
    let Some(p) = props else { return Vec::new() };
    ["responseBody", "requestbody", "requestBody"]
        .iter()
        .filter_map(|k| json_path(p, k).map(|v| records::unwrap_json_string(v.into_owned())))
        .filter(|v| v.is_object())
        .collect()
}

fn details_from(props: Option<&Value>) -> OperationDetails {
    let mut d = OperationDetails::default();
    for body in bodies(props) {
        let get = |p: &str| json_str(&body, p);
        d.region = d.region.or_else(|| get("location").map(|l| Region::new(&l)));
        d.vm_size = d.vm_size.or_else(|| get("properties.hardwareProfile.vmSize"));
        d.sku = d.sku.or_else(|| get("sku.name"));
        d.role_definition = d.role_definition.or_else(|| get("properties.roleDefinitionId"));
        d.principal_id = d.principal_id.or_else(|| get("properties.principalId"));
        d.key_name = d.key_name.or_else(|| get("keyName"));
        d.command = d.command.or_else(|| {
            get("properties.settings.commandToExecute")
                .or_else(|| get("properties.protectedSettings.commandToExecute"))
                .or_else(|| get("properties.settings.script"))
        });
        if d.rule.is_none() && get("properties.direction").is_some() {
            d.rule = Some(RuleDetails {
                direction: get("properties.direction"),
                access: get("properties.access"),
                port: get("properties.destinationPortRange"),
                source: get("properties.sourceAddressPrefix"),
            });
        }
    }
    d.error_code = props
        .and_then(|p| json_path(p, "statusMessage"))
        .map(|v| records::unwrap_json_string(v.into_owned()))
        .and_then(|v| json_str(&v, "error.code").or_else(|| json_str(&v, "code")));
    // Policy events carry the region here; the resource-log `location` is not the
    // resource's region (activity-log schema doc), so it is never used.
    if d.region.is_none() {
        d.region = props.and_then(|p| json_str(p, "resourceLocation")).map(|l| Region::new(&l));
    }
    d
}

/// # Errors
/// An input error naming the file, record and field of the first record that cannot be read.
pub fn parse_row(row: &Row) -> Result<ActivityEvent> {
    let at = row.timestamp(WHAT, &["timegenerated", "eventtimestamp", "time", "eventsubmissiontimestamp"])?;
    let props = row.json(WHAT, &["properties_d", "properties"])?;
    let authz = row.json(WHAT, &["authorization_d", "authorization"])?;
    let display = row
        .string(&["operationname.localizedvalue", "operation name", "operationname"])
        .filter(|s| !looks_like_operation(s) && !s.starts_with('{'));
    let operation = row
        .string(&["operationnamevalue", "operationname.value"])
        .or_else(|| row.string(&["operationname"]).filter(|s| looks_like_operation(s)))
        .or_else(|| authz.as_ref().and_then(|a| json_str(a, "action")))
        .or_else(|| {
            props
                .as_ref()
                .and_then(|p| json_str(p, "message"))
                .filter(|s| looks_like_operation(s))
        })
        .or_else(|| {
            display.as_ref().and_then(|d| {
                DISPLAY_NAMES
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(d))
                    .map(|(_, op)| op.to_string())
            })
        });
    let Some(operation) = operation else {
        let f = row.required(WHAT, &["operationnamevalue", "operationname", "operation name"])?;
        return Err(row.bad(
            WHAT,
            "unknown operation",
            f,
            "a resource-provider operation such as Microsoft.Compute/virtualMachines/write",
        ));
    };
    // Diagnostic-setting records (`insights-activity-logs`) carry the status as `resultType`.
    let status_field = row.required(
        WHAT,
        &["activitystatusvalue", "status.value", "activitystatus", "status", "resulttype"],
    )?;
    let status_text = if status_field.value.trim_start().starts_with('{') {
        records::parse_json_cell(status_field.value)
            .ok()
            .and_then(|v| json_str(&v, "value"))
            .unwrap_or_default()
    } else {
        status_field.value.to_string()
    };
    let http = row.json(WHAT, &["httprequest"])?;
    let caller_ip = row
        .ip(&["calleripaddress", "httprequest.clientipaddress"])
        .or_else(|| {
            http.as_ref()
                .and_then(|h| json_str(h, "clientIpAddress"))
                .and_then(|s| parse_ip(&s))
        })
        .or_else(|| {
            props
                .as_ref()
                .and_then(|p| json_str(p, "httpRequest.clientIpAddress"))
                .and_then(|s| parse_ip(&s))
        });
    // A diagnostic record's top-level `resourceId` is upper-cased; `properties.entity` keeps
    // the resource's own spelling.
    let entity = if row.is_resource_log() { row.string(&["entity"]) } else { None };
    let resource_id = entity
        .or_else(|| row.string(&["resourceid", "_resourceid", "authorization.scope"]))
        .or_else(|| {
            row.string(&["resource"])
                .filter(|r| r.to_ascii_lowercase().starts_with("/subscriptions/"))
        })
        .or_else(|| authz.as_ref().and_then(|a| json_str(a, "scope")))
        .map(|r| ResourceId::new(&r));
    Ok(ActivityEvent {
        exported: ExportRoute::of(row),
        at,
        operation: operation.to_ascii_lowercase(),
        display_name: display,
        status: match ActivityStatus::parse(&status_text) {
            ActivityStatus::Other(v) => {
                row.anomaly(&format!("unknown status value {v:?}"));
                ActivityStatus::Other(v)
            }
            known => known,
        },
        substatus: row.string(&["activitysubstatusvalue", "substatus.value", "activitysubstatus", "statuscode"]),
        caller: row
            .str(&["caller", "event initiated by"])
            .map(Upn::new)
            .or_else(|| caller_from_claims(row).map(|c| Upn::new(&c))),
        caller_ip,
        correlation_id: row.string(&["correlationid", "correlation id"]),
        operation_id: row.string(&["operationid"]),
        event_id: row.string(&["eventdataid"]),
        resource_group: row.string(&["resourcegroup", "resourcegroupname", "resource group"]).or_else(|| {
            resource_id
                .as_ref()
                .and_then(|r| r.segment_after("resourceGroups").map(str::to_string))
        }),
        resource_id,
        category: row.string(&["categoryvalue", "category.value", "category"]),
        details: details_from(props.as_ref()),
        origin: row.location().clone(),
    })
}

/// The claims that name the caller, most specific first: a user's UPN, then the object id
/// of a service principal or managed identity, then its application id.
const CALLER_CLAIMS: &[&str] = &[
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
    "upn",
    // A service principal's object id is what Log Analytics' `Caller` shows for it.
    "http://schemas.microsoft.com/identity/claims/objectidentifier",
    "oid",
    "appid",
];

/// The caller from the token claims (`identity.claims` in a diagnostic record, `Claims_d` in
/// Log Analytics, `claims` in REST), for exports without a `Caller` column. Claim names hold
/// dots, so the claims object is searched by exact key, not by dotted path.
fn caller_from_claims(row: &Row) -> Option<String> {
    let claims = row.json(WHAT, &["identity.claims", "claims_d", "claims"]).ok().flatten()?;
    let map = claims.as_object()?;
    CALLER_CLAIMS.iter().find_map(|c| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(c))
            .and_then(|(_, v)| v.as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    })
}

/// Reads every record of a file.
///
/// # Errors
/// An input error naming the file, record and field of the first record that cannot be read.
pub fn load(path: &Path, span: &mut Span) -> Result<(Vec<ActivityEvent>, TableInfo)> {
    load_with(path, &TableOptions::default(), span)
}

/// [`load`] with reading options (a declared zone, field tracking).
///
/// # Errors
/// An input error naming the file, record and field of the first record that cannot be read.
pub fn load_with(path: &Path, options: &TableOptions, span: &mut Span) -> Result<(Vec<ActivityEvent>, TableInfo)> {
    records::load_records(path, WHAT, options, span, parse_row, |x| x.at)
}

/// How a file of this source is recognised, most specific shape first.
const SIGNATURES: &[Signature] = &[
    Signature {
        shape: "activity log (AzureActivity, REST, az CLI)",
        needs: &[need(
            &["operationnamevalue", "operationname.value"],
            "OperationNameValue or operationName.value",
        )],
    },
    Signature {
        shape: "activity log (legacy columns)",
        needs: &[
            need(&["caller"], "Caller"),
            need(&["activitystatus", "activitystatusvalue", "status.value"], "ActivityStatus"),
        ],
    },
    Signature {
        shape: "activity log (portal CSV)",
        needs: &[
            need(&["event initiated by"], "Event initiated by"),
            need(&["operation name"], "Operation name"),
        ],
    },
    Signature {
        shape: "activity log diagnostic records (insights-activity-logs)",
        needs: &[
            need(&["operationname"], "operationName"),
            need(&["resulttype"], "resultType"),
            need(
                &["identity.claims", "identity.authorization"],
                "identity.claims or identity.authorization",
            ),
        ],
    },
];

/// The Azure Activity log as an evidence source (AzureActivity, REST, az CLI, portal CSV,
/// diagnostic archive).
pub struct Activity;

/// The kind of [`Activity`].
pub const KIND: SourceKind = SourceKind::of(&Activity);

impl EvidenceSource for Activity {
    fn key(&self) -> &'static str {
        "activity"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["azureactivity"]
    }
    fn describe(&self) -> &'static str {
        WHAT
    }
    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }
    fn precedence(&self) -> u8 {
        50
    }
    fn capabilities(&self) -> &'static [Capability] {
        &[
            Capability {
                any: &["calleripaddress", "httprequest"],
                without: "caller IP address: operations are attributed by caller only",
            },
            Capability {
                any: &["properties", "properties_d", "requestbody", "responsebody"],
                without: "request or response bodies: regions and VM sizes (and so VM cost) are unknown",
            },
            Capability {
                any: &["resourceid", "_resourceid", "authorization", "authorization_d"],
                without: "resource ids: affected resources are named only by group and name",
            },
        ]
    }
    fn consequence(&self) -> Option<&'static str> {
        Some("management-plane steps, attacker VM cost and lateral movement cannot be shown")
    }
    fn load(&self, file: &FileIn, intake: &mut Intake) -> Result<()> {
        let items = intake.read_all(file, WHAT, parse_row, |e| Some(e.at))?;
        intake.keep_unique(
            KIND,
            items,
            |b| &mut b.activity,
            |e| {
                e.event_id.clone().unwrap_or_else(|| {
                    format!(
                        "{}|{}|{:?}|{:?}",
                        e.at.0.timestamp_micros(),
                        e.operation,
                        e.status,
                        e.correlation_id
                    )
                })
            },
        );
        Ok(())
    }
}

/// [`load`] over bytes already open (in memory, for the fuzz harness): `name` stands for the
/// file in messages and, by its extension, helps tell the shape.
///
/// # Errors
/// An input error naming the file, record and field of the first record that cannot be read.
pub fn load_from(name: &Path, raw: impl std::io::Read + 'static, span: &mut Span) -> Result<(Vec<ActivityEvent>, TableInfo)> {
    let input = records::open_reader(name, WHAT, raw)?;
    records::load_records_from(name, WHAT, input, &TableOptions::default(), span, parse_row, |x| x.at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_get_canonical_case() {
        assert_eq!(
            canonical_operation("MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/WRITE"),
            "Microsoft.Network/networkSecurityGroups/securityRules/write"
        );
        assert_eq!(
            canonical_operation("microsoft.storage/storageaccounts/listkeys/action"),
            "Microsoft.Storage/storageAccounts/listKeys/action"
        );
    }

    #[test]
    fn region_and_size_come_from_the_nested_response_body() {
        let props: Value = serde_json::from_str(
            r#"{"responseBody":"{\"location\":\"brazilsouth\",\"properties\":{\"hardwareProfile\":{\"vmSize\":\"Standard_NC24ads_A100_v4\"}}}"}"#,
        )
        .unwrap();
        let d = details_from(Some(&props));
        assert_eq!(d.region, Some(Region::new("Brazil South")));
        assert_eq!(d.vm_size.as_deref(), Some("Standard_NC24ads_A100_v4"));
    }
}
