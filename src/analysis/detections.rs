//! The detection rules this investigation suggests (seed: "From investigation to detection
//! rules"), each with its Sentinel KQL and a native evaluation on the case's own evidence, so
//! the report can say whether the rule would have fired. Parameters (approved regions,
//! windows) come from the case.

use serde::Serialize;

use super::exposure::{KeyUseHit, KEY_USE_WINDOW_SECONDS};
use super::lateral::{LateralFinding, MIN_TYPES, WINDOW_SECONDS};
use super::steps::{ArmOperation, Outcome};
use crate::bundle::signins::SignIn;
use crate::case::Environment;
use crate::error::Location;
use crate::types::Timestamp;

#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub at: Timestamp,
    pub summary: String,
    pub evidence: Vec<Location>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Detection {
    pub id: String,
    pub name: String,
    pub severity: String,
    pub tactics: Vec<String>,
    pub techniques: Vec<String>,
    pub description: String,
    pub kql: String,
    /// The KQL split into lines, for typesetting (every string reaching a template is
    /// flattened to one line by the sanitiser).
    pub kql_lines: Vec<String>,
    /// None when a table the rule needs was not provided.
    pub hits: Option<Vec<Hit>>,
    pub needs: Vec<String>,
    /// When the rule would first have fired, compared with the first alert and the stated
    /// awareness time; None without hits.
    pub timing: Option<String>,
}

impl Detection {
    fn with_lines(mut self) -> Detection {
        self.kql_lines = self.kql.lines().map(str::to_string).collect();
        self
    }
}

/// A KQL string literal: the value escaped (quote, backslash, line breaks and tabs), never
/// able to close the literal. Other control characters are left out.
pub fn kql_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The items of a KQL `dynamic([…])` list, each a [`kql_string`].
fn kql_list(items: &[String]) -> String {
    items.iter().map(|s| kql_string(s)).collect::<Vec<_>>().join(", ")
}

/// Rule 1: a VM created outside the approved regions.
pub fn vm_unapproved_region(ops: Option<&[ArmOperation]>, env: &Environment) -> Detection {
    let regions: Vec<String> = env.approved_regions.iter().map(|r| r.as_str().to_string()).collect();
    let hits = ops.map(|ops| {
        ops.iter()
            .filter(|o| o.operation == "microsoft.compute/virtualmachines/write" && o.outcome == Outcome::Succeeded)
            .filter_map(|o| {
                let r = o.details.region.as_ref()?;
                (!env.approved_regions.is_empty() && !env.region_approved(r)).then(|| Hit {
                    at: o.start,
                    summary: format!(
                        "{} created {} in {} (size {})",
                        o.caller.as_ref().map(|c| c.to_string()).unwrap_or_else(|| "unknown caller".into()),
                        o.resource_id.as_ref().map(|r| r.name().to_string()).unwrap_or_default(),
                        r.display_name(),
                        o.details.vm_size.as_deref().unwrap_or("unknown")
                    ),
                    evidence: o.events.clone(),
                })
            })
            .collect()
    });
    Detection {
        id: "vm-unapproved-region".into(),
        name: "VM created in a region outside the approved list".into(),
        severity: "High".into(),
        tactics: vec!["DefenseEvasion".into(), "Impact".into()],
        techniques: vec!["T1535".into(), "T1578.002".into(), "T1496.001".into()],
        description: "An identity creates a virtual machine in a region the organisation does not use. Catches crypto-mining deployments as soon as ARM accepts them.".into(),
        kql: format!(
            "let approved = dynamic([{}]);\nAzureActivity\n| where OperationNameValue =~ \"Microsoft.Compute/virtualMachines/write\"\n| where ActivityStatusValue in~ (\"Success\", \"Succeeded\")\n| extend body = parse_json(tostring(parse_json(Properties).responseBody))\n| extend Region = tolower(tostring(body.location)), VmSize = tostring(body.properties.hardwareProfile.vmSize)\n| where isnotempty(Region) and Region !in (approved)\n| project TimeGenerated, Caller, CallerIpAddress, ResourceGroup, _ResourceId, Region, VmSize",
            kql_list(&regions)
        ),
        hits,
        needs: vec!["AzureActivity".into()],
        kql_lines: Vec::new(),
        timing: None,
    }
    .with_lines()
}

/// Rule 2: key listing followed by account-key access from an address new to the account.
pub fn key_listing_then_new_ip(hits: Option<&[KeyUseHit]>) -> Detection {
    Detection {
        id: "storage-key-listing-then-new-ip".into(),
        name: "Storage keys listed, then account-key access from a new address".into(),
        severity: "High".into(),
        tactics: vec!["CredentialAccess".into(), "Collection".into()],
        techniques: vec!["T1552".into(), "T1530".into()],
        description: format!(
            "An identity lists a storage account's keys and within {} minutes the account serves account-key requests from an address that had not used it before the listing. Keying on addresses new to the account also catches an attacker who lists the keys and uses them from the same address.",
            KEY_USE_WINDOW_SECONDS / 60
        ),
        kql: format!(
            "let window = {}m;\nlet listings = AzureActivity\n| where OperationNameValue =~ \"Microsoft.Storage/storageAccounts/listKeys/action\" and ActivityStatusValue in~ (\"Success\", \"Succeeded\")\n| extend AccountName = tolower(tostring(split(_ResourceId, \"/\")[8]))\n| project ListTime = TimeGenerated, AccountName, Lister = Caller, ListerIp = CallerIpAddress;\nlet known = StorageBlobLogs\n| where TimeGenerated between (ago(14d) .. ago(1h))\n| extend Ip = tostring(split(CallerIpAddress, \":\")[0])\n| distinct AccountName = tolower(AccountName), Ip;\nStorageBlobLogs\n| where AuthenticationType == \"AccountKey\" and StatusCode startswith \"2\"\n| extend Ip = tostring(split(CallerIpAddress, \":\")[0]), AccountName = tolower(AccountName)\n| join kind=inner listings on AccountName\n| where TimeGenerated between (ListTime .. (ListTime + window))\n| join kind=leftanti known on AccountName, Ip\n| summarize Requests = count(), FirstUse = min(TimeGenerated) by AccountName, Ip, Lister, ListerIp, ListTime",
            KEY_USE_WINDOW_SECONDS / 60
        ),
        hits: hits.map(|h| {
            h.iter()
                .map(|k| Hit {
                    at: k.first_use,
                    summary: format!(
                        "{} listed keys of {} at {}; {} account-key requests from {} followed (first at {})",
                        k.listed_by.as_deref().unwrap_or("unknown caller"),
                        k.account,
                        k.listed_at.hhmm_utc(),
                        k.requests,
                        k.ip,
                        k.first_use.hhmm_utc()
                    ),
                    evidence: k.evidence.clone(),
                })
                .collect()
        }),
        needs: vec!["AzureActivity".into(), "StorageBlobLogs".into()],
        kql_lines: Vec::new(),
        timing: None,
    }
    .with_lines()
}

/// Rule 3: one identity touching several resource types in a short window.
pub fn multi_resource_types(findings: Option<&[LateralFinding]>) -> Detection {
    Detection {
        id: "identity-multi-resource-types".into(),
        name: format!("One identity changes {MIN_TYPES}+ resource types within {} minutes", WINDOW_SECONDS / 60),
        severity: "Medium".into(),
        tactics: vec!["Discovery".into(), "LateralMovement".into()],
        techniques: vec!["T1526".into(), "T1580".into()],
        description: "A single identity changes three or more Azure resource types within any thirty-minute window (sliding, anchored at each operation): management-plane lateral movement.".into(),
        // A sliding window anchored at every operation (a self-join), not fixed bins: a
        // 26-minute burst that straddles a bin boundary is still one hit. Per caller the
        // window with the most types, then operations, then the earliest start is kept,
        // exactly as the native evaluation below does.
        kql: format!(
            "let window = {}m;\n\
             let ops = AzureActivity\n\
             | where OperationNameValue endswith \"/WRITE\" or OperationNameValue endswith \"/ACTION\" or OperationNameValue endswith \"/DELETE\"\n\
             | summarize Start = min(TimeGenerated), Ok = countif(ActivityStatusValue in~ (\"Success\", \"Succeeded\")) by CorrelationId, OperationNameValue, Caller\n\
             | where Ok > 0\n\
             | extend ResourceType = tolower(tostring(split(OperationNameValue, \"/\")[1])), OpKey = strcat(CorrelationId, \"|\", OperationNameValue);\n\
             ops\n\
             | join kind=inner (ops | project Caller, Later = Start, LaterType = ResourceType, LaterKey = OpKey) on Caller\n\
             | where Later between (Start .. (Start + window))\n\
             | summarize ResourceTypes = make_set(LaterType), Operations = dcount(LaterKey), End = max(Later) by Caller, Start\n\
             | extend Types = array_length(ResourceTypes)\n\
             | where Types >= {MIN_TYPES}\n\
             | sort by Caller asc, Types desc, Operations desc, Start asc\n\
             | extend Rank = row_number(1, prev(Caller) != Caller)\n\
             | where Rank == 1\n\
             | extend Minutes = datetime_diff(\"minute\", End, Start)",
            WINDOW_SECONDS / 60
        ),
        hits: findings.map(|f| {
            f.iter()
                .map(|l| Hit {
                    // The rule can match only once the third type is there.
                    at: l.threshold_at,
                    summary: format!("{}: {} types, {} operations in {} min ({})", l.caller, l.resource_types.len(), l.operations, l.minutes, l.resource_types.join(", ")),
                    evidence: l.evidence.clone(),
                })
                .collect()
        }),
        needs: vec!["AzureActivity".into()],
        kql_lines: Vec::new(),
        timing: None,
    }
    .with_lines()
}

/// Minutes between a risky sign-in and the ARM changes that follow it (rule 4).
pub const SIGNIN_THEN_CHANGE_MINUTES: i64 = 60;

/// Rule 4: a risky or untrusted-country sign-in followed by ARM changes of the same identity.
pub fn risky_signin_then_changes(signins: Option<&[SignIn]>, ops: Option<&[ArmOperation]>, env: &Environment) -> Detection {
    let countries = env.trusted_countries.clone();
    let suspicious = |s: &SignIn| {
        s.succeeded
            && (s.risky()
                || s.country
                    .as_deref()
                    .is_some_and(|c| !countries.is_empty() && !env.country_trusted(c)))
    };
    let hits = match (signins, ops) {
        (Some(signins), Some(ops)) => Some(
            signins
                .iter()
                .filter(|s| suspicious(s))
                .filter_map(|s| {
                    let changes: Vec<&ArmOperation> = ops
                        .iter()
                        .filter(|o| o.outcome == Outcome::Succeeded && o.is_change())
                        .filter(|o| o.caller.as_ref() == Some(&s.upn))
                        .filter(|o| (0..=SIGNIN_THEN_CHANGE_MINUTES * 60).contains(&s.at.seconds_until(o.start)))
                        .collect();
                    let first = changes.iter().map(|o| o.start).min()?;
                    let mut evidence = vec![s.origin.clone()];
                    evidence.extend(changes.iter().take(3).map(|o| o.events[0].clone()));
                    Some(Hit {
                        at: first,
                        summary: format!(
                            "{} signed in from {} ({}) at {}; {} ARM changes followed within {} minutes (first at {})",
                            s.upn,
                            s.ip.map(|i| i.to_string()).unwrap_or_else(|| "an unknown address".into()),
                            if s.risky() { "risky sign-in" } else { "untrusted country" },
                            s.at.hhmm_utc(),
                            changes.len(),
                            SIGNIN_THEN_CHANGE_MINUTES,
                            first.hhmm_utc()
                        ),
                        evidence,
                    })
                })
                .collect(),
        ),
        _ => None,
    };
    let country_clause = if countries.is_empty() {
        String::new()
    } else {
        " or (isnotempty(Location) and Location !in~ (trusted_countries))".into()
    };
    Detection {
        id: "risky-signin-then-arm-changes".into(),
        name: "Risky or untrusted-country sign-in followed by ARM changes".into(),
        severity: "High".into(),
        tactics: vec!["InitialAccess".into(), "Persistence".into(), "Impact".into()],
        techniques: vec!["T1078.004".into(), "T1098".into()],
        description: format!("A successful sign-in that Entra ID rated medium or high risk (not dismissed or remediated), or that came from a country outside the trusted list, is followed within {SIGNIN_THEN_CHANGE_MINUTES} minutes by management-plane changes of the same identity: a stolen credential being used."),
        kql: format!(
            "let trusted_countries = dynamic([{}]);\nlet window = {SIGNIN_THEN_CHANGE_MINUTES}m;\nlet suspicious = union SigninLogs, AADNonInteractiveUserSignInLogs\n| where ResultType == \"0\"\n| where ((RiskLevelDuringSignIn in~ (\"medium\", \"high\") or RiskLevelAggregated in~ (\"medium\", \"high\")) and RiskState !in~ (\"dismissed\", \"remediated\", \"confirmedSafe\")){country_clause}\n| project SigninTime = TimeGenerated, Upn = tolower(UserPrincipalName), SigninIp = IPAddress, Country = Location, Risk = RiskLevelDuringSignIn;\nAzureActivity\n| where ActivityStatusValue in~ (\"Success\", \"Succeeded\")\n| where OperationNameValue endswith \"/write\" or OperationNameValue endswith \"/action\" or OperationNameValue endswith \"/delete\"\n| extend Upn = tolower(Caller)\n| join kind=inner suspicious on Upn\n| where TimeGenerated between (SigninTime .. (SigninTime + window))\n| summarize Changes = dcount(CorrelationId), Operations = make_set(OperationNameValue, 20), FirstChange = min(TimeGenerated), ChangeIp = take_any(CallerIpAddress) by Caller, SigninIp, Country, Risk, SigninTime",
            kql_list(&countries)
        ),
        hits,
        needs: vec!["SigninLogs".into(), "AzureActivity".into()],
        kql_lines: Vec::new(),
        timing: None,
    }
    .with_lines()
}

/// `2 h 05 min` / `8 min` for a non-negative number of seconds.
fn span_text(seconds: i64) -> String {
    let m = seconds / 60;
    if m >= 60 {
        format!("{} h {:02} min", m / 60, m % 60)
    } else {
        format!("{m} min")
    }
}

/// "N before/after <what> at <time>", the time in UTC with the case's zone beside it.
fn relative(first: Timestamp, other: Timestamp, what: &str, tz: chrono_tz::Tz) -> String {
    let d = first.seconds_until(other);
    match d {
        0 => format!("at the same time as {what}, {}", other.hhmm_zoned(tz)),
        d if d > 0 => format!("{} before {what} at {}", span_text(d), other.display_zoned(tz)),
        d => format!("{} after {what} at {}", span_text(-d), other.display_zoned(tz)),
    }
}

/// States when each rule would first have fired, against the first alert in the evidence and
/// the controller's stated awareness time (either may be unknown, which is said). Times are
/// UTC with the case's zone `tz` beside them.
pub fn add_timing(detections: &mut [Detection], first_alert: Option<Timestamp>, aware_at: Option<Timestamp>, tz: chrono_tz::Tz) {
    for d in detections {
        let Some(first) = d.hits.as_ref().and_then(|h| h.iter().map(|x| x.at).min()) else {
            continue;
        };
        let alert = match first_alert {
            Some(a) => relative(first, a, "the first alert", tz),
            None => "no alert in the evidence to compare with".into(),
        };
        let aware = match aware_at {
            Some(a) => relative(first, a, "the stated awareness time", tz),
            None => "no awareness time stated (case.toml [gdpr] aware_at)".into(),
        };
        d.timing = Some(format!("First matching event at {}: {alert}; {aware}.", first.display_zoned(tz)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kql_literals_escape_backslash_and_quote() {
        // A value ending in a backslash would escape the closing quote if not doubled.
        assert_eq!(kql_string("eu\\"), "\"eu\\\\\"");
        assert_eq!(kql_string("x\") or true or (\"\\"), "\"x\\\") or true or (\\\"\\\\\"");
        assert_eq!(kql_string("a\nb\u{7}"), "\"a\\nb\"");
        assert_eq!(kql_list(&["westeurope".into(), "a\"b".into()]), "\"westeurope\", \"a\\\"b\"");
    }
}
