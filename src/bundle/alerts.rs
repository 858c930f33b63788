//! Defender for Cloud, Entra ID Protection and Sentinel alerts: the SecurityAlert table (Log
//! Analytics CSV or query JSON) and the continuous-export alert JSON. Entities use Json.NET
//! `$id`/`$ref` back-references, which are resolved before accounts and IPs are read.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::source::{need, EvidenceSource, FileIn, Intake, Signature, SourceKind};
use super::Span;
use crate::error::{Location, Result};
use crate::input::table::{self as records, json_str, Row, TableInfo, TableOptions};
use crate::types::{parse_ip, Timestamp, Upn};

const WHAT: &str = "alert export";

/// Entities an alert names, after `$ref` resolution.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AlertEntities {
    pub accounts: Vec<Upn>,
    pub ips: Vec<IpAddr>,
    pub resources: Vec<String>,
    /// Identities the alert names by object id and display name only (a service principal or
    /// managed identity: `AadUserId` with `Name`, no UPN): the id and its name.
    pub names: Vec<(Upn, String)>,
}

/// The alert's triage status: SecurityAlert `Status` (New, InProgress, Resolved, Dismissed),
/// Defender for Cloud alert JSON `properties.status` (Active, InProgress, Resolved,
/// Dismissed), Graph `status` (new, inProgress, resolved).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertStatus {
    New,
    Active,
    InProgress,
    Resolved,
    Dismissed,
    /// A value not in the documented set; kept verbatim.
    Other(String),
}

impl AlertStatus {
    pub fn parse(s: &str) -> AlertStatus {
        match s.trim().to_ascii_lowercase().replace([' ', '_'], "").as_str() {
            "new" => AlertStatus::New,
            "active" => AlertStatus::Active,
            "inprogress" => AlertStatus::InProgress,
            "resolved" | "closed" => AlertStatus::Resolved,
            "dismissed" => AlertStatus::Dismissed,
            _ => AlertStatus::Other(s.trim().to_string()),
        }
    }
    /// Resolved or dismissed: someone closed it.
    pub fn is_closed(&self) -> bool {
        matches!(self, AlertStatus::Resolved | AlertStatus::Dismissed)
    }
    pub fn label(&self) -> &str {
        match self {
            AlertStatus::New => "New",
            AlertStatus::Active => "Active",
            AlertStatus::InProgress => "InProgress",
            AlertStatus::Resolved => "Resolved",
            AlertStatus::Dismissed => "Dismissed",
            AlertStatus::Other(s) => s,
        }
    }
}

/// How an analyst classified the alert when closing it (Sentinel `Classification`, Graph
/// `classification`, or `Classification` in SecurityAlert `ExtendedProperties`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertClassification {
    TruePositive,
    /// Real activity, but expected (Graph `informationalExpectedActivity`).
    BenignPositive,
    FalsePositive,
    Undetermined,
    Other(String),
}

impl AlertClassification {
    pub fn parse(s: &str) -> AlertClassification {
        match s.trim().to_ascii_lowercase().replace([' ', '_', '-'], "").as_str() {
            "truepositive" => AlertClassification::TruePositive,
            "benignpositive" | "informationalexpectedactivity" => AlertClassification::BenignPositive,
            "falsepositive" => AlertClassification::FalsePositive,
            "undetermined" | "unknown" => AlertClassification::Undetermined,
            _ => AlertClassification::Other(s.trim().to_string()),
        }
    }
    pub fn label(&self) -> &str {
        match self {
            AlertClassification::TruePositive => "TruePositive",
            AlertClassification::BenignPositive => "BenignPositive",
            AlertClassification::FalsePositive => "FalsePositive",
            AlertClassification::Undetermined => "Undetermined",
            AlertClassification::Other(s) => s,
        }
    }
}

/// Which product raised an alert, in words a reader knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertProduct {
    DefenderForStorage,
    DefenderForResourceManager,
    EntraIdProtection,
    Sentinel,
    DefenderForCloud,
    Other,
}

impl AlertProduct {
    pub fn label(self) -> &'static str {
        match self {
            AlertProduct::DefenderForStorage => "Defender for Storage",
            AlertProduct::DefenderForResourceManager => "Defender for Resource Manager",
            AlertProduct::EntraIdProtection => "Entra ID Protection",
            AlertProduct::Sentinel => "Microsoft Sentinel",
            AlertProduct::DefenderForCloud => "Defender for Cloud",
            AlertProduct::Other => "alert",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    /// When the suspicious activity started (StartTime), else when the alert was generated.
    pub at: Timestamp,
    pub generated: Option<Timestamp>,
    pub name: String,
    pub alert_type: Option<String>,
    pub severity: String,
    pub product: Option<String>,
    pub provider: Option<String>,
    pub tactics: Vec<String>,
    pub description: Option<String>,
    pub resource_id: Option<String>,
    /// Triage status, where the export carries it.
    pub status: Option<AlertStatus>,
    /// Analyst classification, where the export carries it.
    pub classification: Option<AlertClassification>,
    pub id: Option<String>,
    pub entities: AlertEntities,
    pub origin: Location,
}

impl Alert {
    /// When the alert was raised (TimeGenerated), which is when anyone could have seen it;
    /// `at` (StartTime) is when the activity it describes began. Time to detect, time to
    /// respond and the awareness check count from this.
    pub fn raised_at(&self) -> Timestamp {
        self.generated.filter(|g| *g >= self.at).unwrap_or(self.at)
    }

    /// Which product raised it.
    pub fn product_kind(&self) -> AlertProduct {
        let t = self.alert_type.as_deref().unwrap_or("");
        let p = self.product.as_deref().unwrap_or("").to_ascii_lowercase();
        let prov = self.provider.as_deref().unwrap_or("").to_ascii_lowercase();
        if t.starts_with("Storage.") {
            AlertProduct::DefenderForStorage
        } else if t.starts_with("ARM_") {
            AlertProduct::DefenderForResourceManager
        } else if prov == "ipc" || p.contains("identity protection") {
            AlertProduct::EntraIdProtection
        } else if p.contains("sentinel") {
            AlertProduct::Sentinel
        } else if p.contains("defender") || p.contains("security center") {
            AlertProduct::DefenderForCloud
        } else {
            AlertProduct::Other
        }
    }
    /// Which product raised it, in words a reader knows.
    pub fn source_product(&self) -> &'static str {
        self.product_kind().label()
    }
    /// Why the alert was closed as not malicious, when its own record says so: dismissed, or
    /// closed with a benign-positive or false-positive classification. A "Resolved" status
    /// alone clears nothing: true positives are resolved too.
    pub fn cleared_as(&self) -> Option<String> {
        let class = self.classification.as_ref();
        let benign = matches!(
            class,
            Some(AlertClassification::BenignPositive | AlertClassification::FalsePositive)
        );
        let as_class = class.map(|c| format!(" as {}", c.label())).unwrap_or_default();
        match &self.status {
            Some(AlertStatus::Dismissed) => Some(format!("dismissed{as_class}")),
            Some(s) if benign => Some(format!("{}{as_class}", s.label().to_ascii_lowercase())),
            None if benign => Some(format!("classified{as_class}")),
            _ => None,
        }
    }
    /// The analyst classified the alert as a true positive.
    pub fn true_positive(&self) -> bool {
        self.classification == Some(AlertClassification::TruePositive)
    }
}

/// Replaces `{"$ref": "n"}` with the object whose `$id` is n, anywhere in the tree.
pub fn resolve_refs(v: &Value) -> Value {
    fn collect(v: &Value, ids: &mut BTreeMap<String, Value>, depth: usize) {
        if depth > 64 {
            return;
        }
        match v {
            Value::Object(m) => {
                if let Some(id) = m
                    .get("$id")
                    .and_then(|i| i.as_str().map(str::to_string).or_else(|| i.as_u64().map(|n| n.to_string())))
                {
                    ids.entry(id).or_insert_with(|| v.clone());
                }
                m.values().for_each(|c| collect(c, ids, depth + 1));
            }
            Value::Array(a) => a.iter().for_each(|c| collect(c, ids, depth + 1)),
            _ => {}
        }
    }
    fn replace(v: &Value, ids: &BTreeMap<String, Value>, depth: usize) -> Value {
        if depth > 64 {
            return Value::Null;
        }
        match v {
            Value::Object(m) => {
                if let Some(r) = m.get("$ref") {
                    let key = r.as_str().map(str::to_string).or_else(|| r.as_u64().map(|n| n.to_string()));
                    if let Some(target) = key.and_then(|k| ids.get(&k)) {
                        return replace(target, ids, depth + 1);
                    }
                }
                Value::Object(m.iter().map(|(k, c)| (k.clone(), replace(c, ids, depth + 1))).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(|c| replace(c, ids, depth + 1)).collect()),
            other => other.clone(),
        }
    }
    let mut ids = BTreeMap::new();
    collect(v, &mut ids, 0);
    replace(v, &ids, 0)
}

fn entities_from(v: &Value) -> AlertEntities {
    let mut e = AlertEntities::default();
    let resolved = resolve_refs(v);
    let mut stack = vec![&resolved];
    let mut seen = 0;
    while let Some(node) = stack.pop() {
        seen += 1;
        if seen > 10_000 {
            break;
        }
        match node {
            Value::Array(a) => stack.extend(a.iter()),
            Value::Object(m) => {
                let ty = m
                    .get("Type")
                    .or_else(|| m.get("type"))
                    .and_then(|t| t.as_str())
                    .unwrap_or("")
                    .to_ascii_lowercase();
                match ty.as_str() {
                    "account" => {
                        let upn = json_str(node, "UPN").or_else(|| match (json_str(node, "Name"), json_str(node, "UPNSuffix")) {
                            (Some(n), Some(s)) => Some(format!("{n}@{s}")),
                            _ => None,
                        });
                        let id_name = (json_str(node, "AadUserId"), json_str(node, "Name"));
                        match (upn.map(|u| Upn::new(&u)), id_name) {
                            (Some(u), _) if !e.accounts.contains(&u) => e.accounts.push(u),
                            (None, (Some(id), Some(name))) if !name.trim().is_empty() => {
                                let id = Upn::new(&id);
                                if !e.names.iter().any(|(i, _)| *i == id) {
                                    e.names.push((id, name.trim().to_string()));
                                }
                            }
                            _ => {}
                        }
                    }
                    "ip" => {
                        if let Some(ip) = json_str(node, "Address").and_then(|a| parse_ip(&a)) {
                            if !e.ips.contains(&ip) {
                                e.ips.push(ip);
                            }
                        }
                    }
                    "azure-resource" => {
                        if let Some(r) = json_str(node, "ResourceId") {
                            if !e.resources.contains(&r) {
                                e.resources.push(r);
                            }
                        }
                    }
                    _ => {}
                }
                stack.extend(m.values().filter(|c| c.is_object() || c.is_array()));
            }
            _ => {}
        }
    }
    e
}

/// # Errors
/// An input error naming the file, record and field of the first record that cannot be read.
pub fn parse_row(row: &Row) -> Result<Alert> {
    let generated = row.opt_timestamp(WHAT, &["timegenerated", "properties.timegeneratedutc"])?;
    let start = row.opt_timestamp(WHAT, &["starttime", "starttimeutc", "properties.starttimeutc"])?;
    let at = match start.or(generated) {
        Some(t) => t,
        None => row.timestamp(WHAT, &["timegenerated", "starttime"])?,
    };
    let entities = row
        .json(WHAT, &["entities", "properties.entities"])?
        .map(|v| entities_from(&v))
        .unwrap_or_default();
    let tactics = row
        .string(&["tactics", "intent", "properties.intent"])
        .map(|t| {
            t.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty() && s != "Unknown")
                .collect()
        })
        .unwrap_or_default();
    Ok(Alert {
        at,
        generated,
        name: row
            .required(
                WHAT,
                &["alertname", "displayname", "alertdisplayname", "properties.alertdisplayname"],
            )?
            .value
            .to_string(),
        alert_type: row.string(&["alerttype", "properties.alerttype"]),
        severity: row
            .string(&["alertseverity", "severity", "properties.severity"])
            .unwrap_or_else(|| "Unknown".into()),
        product: row.string(&["productname", "properties.productname"]),
        provider: row.string(&["providername", "properties.providername"]),
        tactics,
        description: row.string(&["description", "properties.description"]),
        resource_id: row.string(&["resourceid", "azureresourceid", "properties.azureresourceid"]),
        status: row.str(&["status", "properties.status"]).map(AlertStatus::parse).inspect(|s| {
            if let AlertStatus::Other(v) = s {
                row.anomaly(&format!("unknown alert status {v:?}"));
            }
        }),
        classification: classification(row).inspect(|c| {
            if let AlertClassification::Other(v) = c {
                row.anomaly(&format!("unknown alert classification {v:?}"));
            }
        }),
        id: row.string(&["systemalertid", "vendororiginalid", "properties.systemalertid"]),
        entities,
        origin: row.location().clone(),
    })
}

/// The classification column, or `Classification` inside `ExtendedProperties`.
fn classification(row: &Row) -> Option<AlertClassification> {
    if let Some(c) = row.str(&["classification", "properties.classification"]) {
        return Some(AlertClassification::parse(c));
    }
    // ExtendedProperties is free-form; a cell that is not JSON simply has no classification.
    let extended = row
        .str(&["extendedproperties", "properties.extendedproperties"])
        .and_then(|t| records::parse_json_cell(t).ok());
    extended
        .as_ref()
        .and_then(|e| json_str(e, "Classification"))
        .map(|c| AlertClassification::parse(&c))
}

/// Reads every record of a file.
///
/// # Errors
/// An input error naming the file, record and field of the first record that cannot be read.
pub fn load(path: &Path, span: &mut Span) -> Result<(Vec<Alert>, TableInfo)> {
    load_with(path, &TableOptions::default(), span)
}

/// [`load`] with reading options (a declared zone, field tracking).
///
/// # Errors
/// An input error naming the file, record and field of the first record that cannot be read.
pub fn load_with(path: &Path, options: &TableOptions, span: &mut Span) -> Result<(Vec<Alert>, TableInfo)> {
    records::load_records(path, WHAT, options, span, parse_row, |x| x.at)
}

/// How a file of this source is recognised, most specific shape first.
const SIGNATURES: &[Signature] = &[Signature {
    shape: "alerts (SecurityAlert, Defender for Cloud alert JSON)",
    needs: &[
        need(
            &["alertname", "alertdisplayname", "properties.alertdisplayname"],
            "an alert name (AlertName, properties.alertDisplayName)",
        ),
        need(
            &["alertseverity", "severity", "properties.severity"],
            "a severity (AlertSeverity, properties.severity)",
        ),
    ],
}];

/// Defender / Sentinel alerts as an evidence source (SecurityAlert, Defender for Cloud alert
/// JSON, continuous export).
pub struct Alerts;

/// The kind of [`Alerts`].
pub const KIND: SourceKind = SourceKind::of(&Alerts);

/// How alerts are told apart when the same alert is exported twice.
pub(crate) fn dedup_key(a: &Alert) -> String {
    a.id.clone().unwrap_or_else(|| format!("{}|{}", a.at.rfc3339(), a.name))
}

impl EvidenceSource for Alerts {
    fn key(&self) -> &'static str {
        "alerts"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["securityalert"]
    }
    fn describe(&self) -> &'static str {
        WHAT
    }
    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }
    fn precedence(&self) -> u8 {
        30
    }
    fn consequence(&self) -> Option<&'static str> {
        Some("detection times and alert entities cannot be shown")
    }
    fn load(&self, file: &FileIn, intake: &mut Intake) -> Result<()> {
        if super::mixed::load_if_mixed(file, intake)? {
            return Ok(());
        }
        let items = intake.read_all(file, WHAT, parse_row, |a| Some(a.at))?;
        intake.keep_unique(KIND, items, |b| &mut b.alerts, dedup_key);
        Ok(())
    }
}

/// [`load`] over bytes already open (in memory, for the fuzz harness): `name` stands for the
/// file in messages and, by its extension, helps tell the shape.
///
/// # Errors
/// An input error naming the file, record and field of the first record that cannot be read.
pub fn load_from(name: &Path, raw: impl std::io::Read + 'static, span: &mut Span) -> Result<(Vec<Alert>, TableInfo)> {
    let input = records::open_reader(name, WHAT, raw)?;
    records::load_records_from(name, WHAT, input, &TableOptions::default(), span, parse_row, |x| x.at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_back_references_are_resolved() {
        let v: Value = serde_json::from_str(
            r#"[{"$id":"2","Name":"admin","UPNSuffix":"northgateeng.com","Type":"account"},
                {"$id":"3","Address":"198.51.100.77","Type":"ip"},
                {"$id":"4","Account":{"$ref":"2"},"Type":"mailbox"},
                {"$ref":"3"}]"#,
        )
        .unwrap();
        let e = entities_from(&v);
        assert_eq!(e.accounts, vec![Upn::new("admin@northgateeng.com")]);
        assert_eq!(e.ips, vec!["198.51.100.77".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn an_identity_without_upn_is_named_by_its_object_id() {
        let v: Value = serde_json::from_str(
            r#"[{"$id":"2","AadUserId":"0B5E6F2A-0000-4000-8000-000000000001","Name":"app-batch","Type":"account"},
                {"$id":"3","AadUserId":"1c2d","Name":"ana","UPNSuffix":"example.org","Type":"account"}]"#,
        )
        .unwrap();
        let e = entities_from(&v);
        assert_eq!(
            e.names,
            vec![(Upn::new("0b5e6f2a-0000-4000-8000-000000000001"), "app-batch".to_string())]
        );
        assert_eq!(
            e.accounts,
            vec![Upn::new("ana@example.org")],
            "a person is named by the UPN, not as a workload"
        );
    }

    #[test]
    fn self_referencing_entities_do_not_loop() {
        let v: Value = serde_json::from_str(r#"[{"$id":"1","Self":{"$ref":"1"},"Type":"ip","Address":"1.2.3.4"}]"#).unwrap();
        let e = entities_from(&v);
        assert_eq!(e.ips.len(), 1);
    }
}
