//! `casefile rules`: the case's detections as deployable rules. Sentinel scheduled analytics
//! rules in the Azure-Sentinel repository's YAML schema (`DIR/sentinel/*.yaml`) and Sigma rules
//! (`DIR/sigma/*.yml`) wherever Sigma's single-event logic can express the rule. Every
//! parameter — approved regions, trusted countries and address ranges — comes from the case
//! file; a rule the case cannot parameterise is not written, and the README says why.
//!
//! The queries of the rules the reports already show come from `analysis::detections` (one
//! text, so the rule deployed is the rule evaluated); this module adds the Sentinel metadata,
//! and the trusted-address filter.

use serde::Serialize;
use uuid::Uuid;

use crate::analysis::detections::{Detection, SIGNIN_THEN_CHANGE_MINUTES};
use crate::case::{Case, Environment};
use crate::error::{Error, Result};
use crate::CaseRun;

/// Namespace of casefile's rule GUIDs: `id = UUIDv5(NAMESPACE, "<case id>/<format>/<rule>")`,
/// so a rule keeps its GUID every time the same case is exported and re-importing updates it.
const NAMESPACE: Uuid = Uuid::from_u128(0x9c5c_f2fe_9aa0_4c60_80ab_bf0c_ca85_27a6);

/// One rule before it is written in either format.
#[derive(Debug, Clone)]
pub struct RuleSpec {
    /// Stable short id, also the file name.
    pub id: &'static str,
    pub name: String,
    pub description: String,
    pub severity: &'static str,
    pub tactics: Vec<String>,
    pub techniques: Vec<String>,
    pub query: String,
    pub tables: Vec<&'static str>,
    pub frequency: &'static str,
    pub period: &'static str,
    /// (entity type, identifier, result column).
    pub entities: Vec<(&'static str, &'static str, &'static str)>,
    /// What the case supplied to the rule, in words (README).
    pub parameters: Vec<String>,
    pub sigma: Option<SigmaSpec>,
}

/// A Sigma rule's logsource service and detection block.
#[derive(Debug, Clone)]
pub struct SigmaSpec {
    pub service: &'static str,
    pub detection: serde_yaml::Mapping,
    pub falsepositives: Vec<String>,
    /// How the Sigma form differs from the Sentinel rule.
    pub note: String,
}

/// A rule the case could not parameterise.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub id: &'static str,
    pub reason: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Connector {
    connector_id: &'static str,
    data_types: Vec<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FieldMapping {
    identifier: &'static str,
    column_name: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EntityMapping {
    entity_type: &'static str,
    field_mappings: Vec<FieldMapping>,
}

/// The Azure-Sentinel repository's analytics rule schema (Detections/*/*.yaml).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SentinelRule<'a> {
    id: String,
    name: &'a str,
    description: String,
    severity: &'a str,
    required_data_connectors: Vec<Connector>,
    query_frequency: &'a str,
    query_period: &'a str,
    trigger_operator: &'a str,
    trigger_threshold: u32,
    tactics: &'a [String],
    relevant_techniques: &'a [String],
    query: &'a str,
    entity_mappings: Vec<EntityMapping>,
    version: &'a str,
    kind: &'a str,
}

#[derive(Serialize)]
struct SigmaLogsource {
    product: &'static str,
    service: &'static str,
}

/// The Sigma rule specification's fields, in its order.
#[derive(Serialize)]
struct SigmaRule<'a> {
    title: &'a str,
    id: String,
    status: &'a str,
    description: String,
    author: String,
    date: String,
    tags: Vec<String>,
    logsource: SigmaLogsource,
    detection: &'a serde_yaml::Mapping,
    falsepositives: &'a [String],
    level: String,
}

/// The data connector that fills a table, as the Azure-Sentinel repository names it.
fn connector(table: &str) -> &'static str {
    match table {
        "AzureActivity" => "AzureActivity",
        "StorageBlobLogs" => "AzureStorageAccount",
        _ => "AzureActiveDirectory",
    }
}

fn guid(case: &Case, format: &str, rule: &str) -> String {
    Uuid::new_v5(&NAMESPACE, format!("{}/{format}/{rule}", case.id).as_bytes()).to_string()
}

pub use crate::analysis::detections::kql_string;

/// `dynamic(["a", "b"])`.
pub fn kql_dynamic(items: &[String]) -> String {
    format!("dynamic([{}])", items.iter().map(|s| kql_string(s)).collect::<Vec<_>>().join(", "))
}

fn detection<'a>(run: &'a CaseRun, id: &str) -> Option<&'a Detection> {
    run.analysis.detections.iter().find(|d| d.id == id)
}

fn trusted_ranges(env: &Environment) -> (Vec<String>, Vec<String>) {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for n in &env.trusted_ip_ranges {
        match n {
            ipnet::IpNet::V4(_) => v4.push(n.to_string()),
            ipnet::IpNet::V6(_) => v6.push(n.to_string()),
        }
    }
    (v4, v6)
}

/// Every rule this case can parameterise, and the ones it cannot with the reason.
pub fn build_rules(run: &CaseRun) -> (Vec<RuleSpec>, Vec<Skipped>) {
    let mut rules = Vec::new();
    let mut skipped = Vec::new();
    for made in [
        vm_outside_regions(run),
        keys_then_new_address(run),
        multi_type_writes(run),
        signin_then_writes(run),
    ] {
        match made {
            Ok(r) => rules.push(r),
            Err(s) => skipped.push(s),
        }
    }
    (rules, skipped)
}

fn missing_detection(id: &'static str) -> Skipped {
    Skipped {
        id,
        reason: "the analysis did not produce this detection".into(),
    }
}

fn vm_outside_regions(run: &CaseRun) -> std::result::Result<RuleSpec, Skipped> {
    let id = "vm-unapproved-region";
    let env = &run.case.environment;
    if env.approved_regions.is_empty() {
        return Err(Skipped {
            id,
            reason: "case.toml [environment] lists no approved_regions; the rule would flag every VM".into(),
        });
    }
    let d = detection(run, id).ok_or_else(|| missing_detection(id))?;
    let regions: Vec<String> = env.approved_regions.iter().map(|r| r.as_str().to_string()).collect();
    let mut selection = serde_yaml::Mapping::new();
    selection.insert("OperationNameValue".into(), "Microsoft.Compute/virtualMachines/write".into());
    selection.insert("ActivityStatusValue".into(), yaml_list(&["Success", "Succeeded"]));
    let mut filter = serde_yaml::Mapping::new();
    filter.insert(
        "Properties|contains".into(),
        yaml_list(&regions.iter().map(String::as_str).collect::<Vec<_>>()),
    );
    let mut detection_block = serde_yaml::Mapping::new();
    detection_block.insert("selection".into(), selection.into());
    detection_block.insert("filter_approved_region".into(), filter.into());
    detection_block.insert("condition".into(), "selection and not filter_approved_region".into());
    Ok(RuleSpec {
        id,
        name: d.name.clone(),
        description: d.description.clone(),
        severity: "High",
        tactics: d.tactics.clone(),
        techniques: d.techniques.clone(),
        query: d.kql.clone(),
        tables: vec!["AzureActivity"],
        frequency: "1h",
        period: "1h",
        entities: vec![
            ("Account", "FullName", "Caller"),
            ("IP", "Address", "CallerIpAddress"),
            ("AzureResource", "ResourceId", "_ResourceId"),
        ],
        parameters: vec![format!("approved regions: {}", regions.join(", "))],
        sigma: Some(SigmaSpec {
            service: "activitylogs",
            detection: detection_block,
            falsepositives: vec!["A VM whose Properties mention an approved region elsewhere (a tag, a name) is not flagged".into()],
            note: "Sigma cannot parse the response body, so it excludes events whose Properties mention an approved region anywhere; the Sentinel rule reads the VM's location itself.".into(),
        }),
    })
}

fn keys_then_new_address(run: &CaseRun) -> std::result::Result<RuleSpec, Skipped> {
    let id = "storage-key-listing-then-new-ip";
    let d = detection(run, id).ok_or_else(|| missing_detection(id))?;
    Ok(RuleSpec {
        id,
        name: d.name.clone(),
        description: d.description.clone(),
        severity: "High",
        tactics: d.tactics.clone(),
        techniques: d.techniques.clone(),
        query: d.kql.clone(),
        tables: vec!["AzureActivity", "StorageBlobLogs"],
        frequency: "1h",
        period: "14d",
        entities: vec![("Account", "FullName", "Lister"), ("IP", "Address", "Ip")],
        parameters: vec!["none: the rule compares each account with its own history".into()],
        sigma: None,
    })
}

fn multi_type_writes(run: &CaseRun) -> std::result::Result<RuleSpec, Skipped> {
    let id = "identity-multi-resource-types";
    let d = detection(run, id).ok_or_else(|| missing_detection(id))?;
    let (v4, v6) = trusted_ranges(&run.case.environment);
    let (query, parameters) = if v4.is_empty() && v6.is_empty() {
        (
            d.kql.clone(),
            vec!["no trusted address ranges in case.toml: every address counts".to_string()],
        )
    } else {
        (
            // The trusted ranges filter the source rows, before the sliding window counts
            // them (the window's output no longer carries addresses).
            format!(
                "let trusted_v4 = {};\nlet trusted_v6 = {};\n{}",
                kql_dynamic(&v4),
                kql_dynamic(&v6),
                d.kql.replacen(
                    "AzureActivity\n",
                    "AzureActivity\n| where isempty(CallerIpAddress) or not(ipv4_is_in_any_range(CallerIpAddress, trusted_v4) or ipv6_is_in_any_range(CallerIpAddress, trusted_v6))\n",
                    1
                )
            ),
            vec![format!("trusted address ranges: {}", [v4, v6].concat().join(", "))],
        )
    };
    Ok(RuleSpec {
        id,
        name: format!("{} from an untrusted address", d.name),
        description: format!("{} Addresses inside the case's trusted ranges are excluded.", d.description),
        severity: "Medium",
        tactics: d.tactics.clone(),
        techniques: d.techniques.clone(),
        query,
        tables: vec!["AzureActivity"],
        frequency: "1h",
        period: "2h",
        entities: vec![("Account", "FullName", "Caller")],
        parameters,
        sigma: None,
    })
}

fn signin_then_writes(run: &CaseRun) -> std::result::Result<RuleSpec, Skipped> {
    let id = "risky-signin-then-arm-changes";
    let d = detection(run, id).ok_or_else(|| missing_detection(id))?;
    let countries: Vec<String> = run.case.environment.trusted_countries.clone();
    let mut parameters = vec![format!("window: {SIGNIN_THEN_CHANGE_MINUTES} minutes after the sign-in")];
    parameters.push(if countries.is_empty() {
        "no trusted countries in case.toml: only risky sign-ins count".into()
    } else {
        format!("trusted countries: {}", countries.join(", "))
    });
    Ok(RuleSpec {
        id,
        name: d.name.clone(),
        description: d.description.clone(),
        severity: "High",
        tactics: d.tactics.clone(),
        techniques: d.techniques.clone(),
        query: d.kql.clone(),
        tables: vec!["SigninLogs", "AADNonInteractiveUserSignInLogs", "AzureActivity"],
        frequency: "1h",
        period: "2h",
        entities: vec![("Account", "FullName", "Caller"), ("IP", "Address", "SigninIp")],
        parameters,
        sigma: Some(signin_sigma(&countries)),
    })
}

/// The sign-in half of rule (d) (Sigma has no cross-table sequence the Kusto backend converts).
fn signin_sigma(countries: &[String]) -> SigmaSpec {
    let mut success = serde_yaml::Mapping::new();
    // An integer: pySigma's number_as_string validator rejects "0", and Kusto compares the
    // string column with a number as Sentinel's own sign-in rules do.
    success.insert("ResultType".into(), 0.into());
    let mut risky = serde_yaml::Mapping::new();
    risky.insert("RiskLevelDuringSignIn".into(), yaml_list(&["medium", "high"]));
    let mut block = serde_yaml::Mapping::new();
    block.insert("selection_success".into(), success.into());
    block.insert("selection_risky".into(), risky.into());
    let condition = if countries.is_empty() {
        "selection_success and selection_risky"
    } else {
        let mut trusted = serde_yaml::Mapping::new();
        trusted.insert(
            "Location".into(),
            yaml_list(&countries.iter().map(String::as_str).collect::<Vec<_>>()),
        );
        block.insert("filter_trusted_country".into(), trusted.into());
        "selection_success and (selection_risky or not filter_trusted_country)"
    };
    block.insert("condition".into(), condition.into());
    SigmaSpec {
        service: "signinlogs",
        detection: block,
        falsepositives: vec!["Travel and VPN egress in another country".into()],
        note: "The sign-in half of the Sentinel rule: Sigma single-event rules cannot require the ARM writes that follow.".into(),
    }
}

fn yaml_list(items: &[&str]) -> serde_yaml::Value {
    serde_yaml::Value::Sequence(items.iter().map(|s| serde_yaml::Value::from(*s)).collect())
}

fn yaml_error(e: serde_yaml::Error) -> Error {
    Error::Render {
        report: "rules".into(),
        message: e.to_string(),
    }
}

/// The Sentinel rule as YAML.
///
/// # Errors
/// A render error when the rule cannot be serialised to YAML.
pub fn sentinel_yaml(case: &Case, r: &RuleSpec) -> Result<String> {
    let mut tables = r.tables.clone();
    tables.sort_by_key(|t| connector(t));
    let mut connectors: Vec<Connector> = Vec::new();
    for t in tables {
        match connectors.iter_mut().find(|c| c.connector_id == connector(t)) {
            Some(c) => c.data_types.push(t),
            None => connectors.push(Connector {
                connector_id: connector(t),
                data_types: vec![t],
            }),
        }
    }
    let rule = SentinelRule {
        id: guid(case, "sentinel", r.id),
        name: &r.name,
        description: format!("{}\nGenerated by casefile from case {}.", r.description, case.id),
        severity: r.severity,
        required_data_connectors: connectors,
        query_frequency: r.frequency,
        query_period: r.period,
        trigger_operator: "gt",
        trigger_threshold: 0,
        tactics: &r.tactics,
        relevant_techniques: &r.techniques,
        query: &r.query,
        entity_mappings: r
            .entities
            .iter()
            .map(|(t, i, c)| EntityMapping {
                entity_type: t,
                field_mappings: vec![FieldMapping {
                    identifier: i,
                    column_name: c,
                }],
            })
            .collect(),
        version: "1.0.0",
        kind: "Scheduled",
    };
    serde_yaml::to_string(&rule).map_err(yaml_error)
}

/// `DefenseEvasion` → `attack.defense-evasion`.
fn tactic_tag(t: &str) -> String {
    let mut out = String::from("attack.");
    for (i, c) in t.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The Sigma rule as YAML, when Sigma can express it.
///
/// # Errors
/// A render error when the rule cannot be serialised to YAML.
pub fn sigma_yaml(case: &Case, r: &RuleSpec) -> Result<Option<String>> {
    let Some(s) = &r.sigma else { return Ok(None) };
    let mut tags: Vec<String> = r.tactics.iter().map(|t| tactic_tag(t)).collect();
    tags.extend(r.techniques.iter().map(|t| format!("attack.{}", t.to_lowercase())));
    let rule = SigmaRule {
        title: &r.name,
        id: guid(case, "sigma", r.id),
        status: "experimental",
        description: format!("{} {} Generated by casefile from case {}.", r.description, s.note, case.id),
        author: "casefile".into(),
        date: case.as_of.0.format("%Y-%m-%d").to_string(),
        tags,
        logsource: SigmaLogsource {
            product: "azure",
            service: s.service,
        },
        detection: &s.detection,
        falsepositives: &s.falsepositives,
        level: r.severity.to_lowercase(),
    };
    serde_yaml::to_string(&rule).map(Some).map_err(yaml_error)
}

/// DIR/README.md: what each rule detects, what the case supplied, what was not written.
fn readme(case: &Case, rules: &[RuleSpec], skipped: &[Skipped]) -> String {
    let mut out = format!(
        "# Detection rules for case {}\n\nGenerated by `casefile rules` from the case file; GUIDs are stable for this case, so\nre-importing a rule updates it. See the project README, \"Deploying the rules\".\n\n",
        case.id
    );
    out.push_str("| rule | Sentinel | Sigma | parameters from the case |\n|---|---|---|---|\n");
    for r in rules {
        out.push_str(&format!(
            "| {} | sentinel/{}.yaml | {} | {} |\n",
            r.name,
            r.id,
            if r.sigma.is_some() {
                format!("sigma/{}.yml", r.id)
            } else {
                "— (needs a join or aggregation Sigma cannot express)".into()
            },
            super::md_text(&r.parameters.join("; "))
        ));
    }
    if !skipped.is_empty() {
        out.push_str("\n## Not written\n\n");
        for s in skipped {
            out.push_str(&format!("- `{}`: {}\n", s.id, s.reason));
        }
    }
    out
}

/// Every file `casefile rules` writes, as (relative path, bytes).
///
/// # Errors
/// A render error when a rule file cannot be serialised.
pub fn render(run: &CaseRun) -> Result<Vec<(String, Vec<u8>)>> {
    let (rules, skipped) = build_rules(run);
    let mut files = Vec::new();
    for r in &rules {
        files.push((format!("sentinel/{}.yaml", r.id), sentinel_yaml(&run.case, r)?.into_bytes()));
        if let Some(y) = sigma_yaml(&run.case, r)? {
            files.push((format!("sigma/{}.yml", r.id), y.into_bytes()));
        }
    }
    files.push(("README.md".into(), readme(&run.case, &rules, &skipped).into_bytes()));
    Ok(files)
}
