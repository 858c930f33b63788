//! Defender for Cloud, Entra ID Protection and Sentinel alerts: the SecurityAlert table (Log
//! Analytics CSV or query JSON) and the continuous-export alert JSON. Entities use Json.NET
//! `$id`/`$ref` back-references, which are resolved before accounts and IPs are read.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::records::{self, json_str, Row, TableInfo};
use super::Span;
use crate::error::{Location, Result};
use crate::types::{parse_ip, Timestamp, Upn};

const WHAT: &str = "alert export";

pub const COLUMNS: &[&str] = &[
    "timegenerated",
    "starttime",
    "endtime",
    "alertname",
    "displayname",
    "alertdisplayname",
    "alertseverity",
    "severity",
    "alerttype",
    "productname",
    "providername",
    "tactics",
    "intent",
    "description",
    "entities",
    "resourceid",
    "azureresourceid",
    "compromisedentity",
    "status",
    "classification",
    "systemalertid",
    "vendororiginalid",
    "starttimeutc",
    "endtimeutc",
];

/// Entities an alert names, after `$ref` resolution.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AlertEntities {
    pub accounts: Vec<Upn>,
    pub ips: Vec<IpAddr>,
    pub resources: Vec<String>,
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
    pub status: Option<String>,
    /// The analyst's classification when the alert was closed (`TruePositive`,
    /// `BenignPositive`, `FalsePositive`, `Undetermined`), where the export carries it.
    pub classification: Option<String>,
    pub id: Option<String>,
    pub entities: AlertEntities,
    pub origin: Location,
}

impl Alert {
    /// Why the alert was closed as not malicious, when its own record says so: dismissed, or
    /// resolved with a benign-positive or false-positive classification.
    pub fn cleared_as(&self) -> Option<String> {
        let status = self.status.as_deref().unwrap_or("").to_ascii_lowercase();
        let class = self
            .classification
            .as_deref()
            .unwrap_or("")
            .to_ascii_lowercase()
            .replace(['_', ' ', '-'], "");
        let benign = matches!(class.as_str(), "benignpositive" | "falsepositive");
        if status == "dismissed" {
            Some(format!(
                "dismissed{}",
                self.classification.as_ref().map(|c| format!(" as {c}")).unwrap_or_default()
            ))
        } else if benign {
            Some(format!(
                "{} as {}",
                if status.is_empty() { "closed" } else { &status },
                self.classification.as_deref().unwrap_or_default()
            ))
        } else {
            None
        }
    }
    /// The analyst classified the alert as a true positive.
    pub fn true_positive(&self) -> bool {
        self.classification
            .as_deref()
            .is_some_and(|c| c.to_ascii_lowercase().replace(['_', ' ', '-'], "") == "truepositive")
    }

    /// Which product raised it, in words a reader knows.
    pub fn source_product(&self) -> &'static str {
        let t = self.alert_type.as_deref().unwrap_or("");
        let p = self.product.as_deref().unwrap_or("").to_ascii_lowercase();
        let prov = self.provider.as_deref().unwrap_or("").to_ascii_lowercase();
        if t.starts_with("Storage.") {
            "Defender for Storage"
        } else if t.starts_with("ARM_") {
            "Defender for Resource Manager"
        } else if prov == "ipc" || p.contains("identity protection") {
            "Entra ID Protection"
        } else if p.contains("sentinel") {
            "Microsoft Sentinel"
        } else if p.contains("defender") || p.contains("security center") {
            "Defender for Cloud"
        } else {
            "alert"
        }
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
                        if let Some(u) = upn.map(|u| Upn::new(&u)) {
                            if !e.accounts.contains(&u) {
                                e.accounts.push(u);
                            }
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
        status: row.string(&["status", "properties.status"]),
        classification: row.string(&["classification", "properties.classification"]),
        id: row.string(&["systemalertid", "vendororiginalid", "properties.systemalertid"]),
        entities,
        origin: row.location().clone(),
    })
}

/// Reads every record of a file.
pub fn load(path: &Path, span: &mut Span) -> Result<(Vec<Alert>, TableInfo)> {
    records::load_records(path, WHAT, span, parse_row, |x| x.at)
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
    fn self_referencing_entities_do_not_loop() {
        let v: Value = serde_json::from_str(r#"[{"$id":"1","Self":{"$ref":"1"},"Type":"ip","Address":"1.2.3.4"}]"#).unwrap();
        let e = entities_from(&v);
        assert_eq!(e.ips.len(), 1);
    }
}
