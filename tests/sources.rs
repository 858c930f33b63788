//! The "add an evidence source" path is as short as ARCHITECTURE.md says: one module (here
//! `firewall`, in the test tree) implementing `EvidenceSource`, one registration
//! (`Registry::default().with(firewall::KIND)`), and a fixture. The test checks the file is
//! recognised, parsed into typed records, its unknown columns derived from what the parser
//! asked for, and that `validate` and the report model list the source.

use std::path::Path;

use casefile::bundle::{Registry, Source};
use casefile::input::ingest::Options;

use crate::util::{copy_tree, root, temp_dir};

/// A new source, complete in one module: Azure Firewall network rule logs (AZFWNetworkRule).
mod firewall {
    use std::net::IpAddr;

    use casefile::bundle::source::{need, EvidenceSource, FileIn, Intake, Signature, SourceKind};
    use casefile::error::Result;
    use casefile::input::table::Row;
    use casefile::types::Timestamp;

    const WHAT: &str = "Azure Firewall network rule log";

    /// One allowed or denied flow.
    #[derive(Debug, Clone)]
    pub struct Flow {
        pub at: Timestamp,
        pub source_ip: Option<IpAddr>,
        pub destination_ip: Option<IpAddr>,
        pub port: Option<u64>,
        pub action: String,
    }

    fn parse_row(row: &Row) -> Result<Flow> {
        Ok(Flow {
            at: row.timestamp(WHAT, &["timegenerated"])?,
            source_ip: row.ip(&["sourceip"]),
            destination_ip: row.ip(&["destinationip"]),
            port: row.opt_u64(WHAT, &["destinationport"])?,
            action: row.required(WHAT, &["action"])?.value.to_string(),
        })
    }

    const SIGNATURES: &[Signature] = &[Signature {
        shape: "Azure Firewall network rule log (AZFWNetworkRule)",
        needs: &[
            need(&["sourceip"], "SourceIp"),
            need(&["destinationip"], "DestinationIp"),
            need(&["rulecollectiongroup"], "RuleCollectionGroup"),
        ],
    }];

    pub struct Firewall;

    pub const KIND: SourceKind = SourceKind::of(&Firewall);

    impl EvidenceSource for Firewall {
        fn key(&self) -> &'static str {
            "azure-firewall"
        }
        fn describe(&self) -> &'static str {
            WHAT
        }
        fn signatures(&self) -> &'static [Signature] {
            SIGNATURES
        }
        fn consequence(&self) -> Option<&'static str> {
            Some("network flows to and from the attacker cannot be shown")
        }
        fn load(&self, file: &FileIn, intake: &mut Intake) -> Result<()> {
            let flows = intake.read_all(file, WHAT, parse_row, |f| Some(f.at))?;
            intake.keep_unique(
                KIND,
                flows,
                |b| b.store.list_mut(KIND),
                |f| format!("{}|{:?}|{:?}|{:?}", f.at.rfc3339(), f.source_ip, f.destination_ip, f.port),
            );
            Ok(())
        }
    }
}

/// A Log Analytics "Export to CSV" of AZFWNetworkRule: three rows, the last one repeated.
const FLOWS: &str = "\
TenantId,TimeGenerated [UTC],SourceIp,SourcePort,DestinationIp,DestinationPort,Protocol,Action,Policy,RuleCollectionGroup,RuleCollection,Rule,ActionReason,Type
00000000-0000-0000-0000-000000000001,\"10/13/2025, 7:01:02.000 AM\",10.64.0.12,51234,198.51.100.7,443,TCP,Allow,fw-policy,DefaultNetworkRuleCollectionGroup,allow-web,https-out,,AZFWNetworkRule
00000000-0000-0000-0000-000000000001,\"10/13/2025, 7:02:10.000 AM\",10.64.0.12,51240,203.0.113.50,22,TCP,Deny,fw-policy,DefaultNetworkRuleCollectionGroup,deny-all,default-deny,Default action,AZFWNetworkRule
00000000-0000-0000-0000-000000000001,\"10/13/2025, 7:02:10.000 AM\",10.64.0.12,51240,203.0.113.50,22,TCP,Deny,fw-policy,DefaultNetworkRuleCollectionGroup,deny-all,default-deny,Default action,AZFWNetworkRule
";

/// The Quiet sample, with the firewall export added under `[[evidence]]` when `with_file`.
fn quiet_case(name: &str, with_file: bool) -> std::path::PathBuf {
    let dir = temp_dir(name);
    copy_tree(&root().join("samples/quiet"), &dir);
    if with_file {
        std::fs::write(dir.join("evidence/azfw-network.csv"), FLOWS).unwrap();
        let mut case = std::fs::read_to_string(dir.join("case.toml")).unwrap();
        case.push_str("\n[[evidence]]\npath = \"evidence/azfw-network.csv\"\n");
        std::fs::write(dir.join("case.toml"), case).unwrap();
    }
    dir
}

fn analyse(registry: &Registry, dir: &Path) -> casefile::error::Result<casefile::CaseRun> {
    casefile::analyse_bundle_in(registry, dir, None, None, &Options::default())
}

#[test]
fn a_source_added_in_one_module_is_recognised_parsed_and_validated() {
    let dir = quiet_case("source-added", true);
    let registry = Registry::default().with(firewall::KIND);
    let run = analyse(&registry, &dir).unwrap_or_else(|e| panic!("{}", e.render()));

    let file = run
        .bundle
        .files
        .iter()
        .find(|f| f.path.ends_with("azfw-network.csv"))
        .expect("the firewall file is in the inventory");
    assert_eq!(file.kind, Some(firewall::KIND), "recognised by its signature");
    assert_eq!(file.records, 3);
    assert_eq!(file.duplicates, 1, "the repeated row counts once");
    assert_eq!(file.sha256.len(), 64, "hashed");
    assert_eq!(
        file.first.map(|t| t.rfc3339()).as_deref(),
        Some("2025-10-13T07:01:02Z"),
        "span from the parsed times"
    );
    // Derived from the fields `parse_row` asked for: nothing to list by hand.
    let unknown: Vec<&str> = file.unknown_columns.iter().map(String::as_str).collect();
    assert_eq!(
        unknown,
        [
            "tenantid",
            "sourceport",
            "protocol",
            "policy",
            "rulecollectiongroup",
            "rulecollection",
            "rule",
            "actionreason",
            "type"
        ]
    );

    let Source::Provided(flows) = run.bundle.records::<firewall::Flow>(firewall::KIND) else {
        panic!("the flows are provided");
    };
    assert_eq!(flows.len(), 2);
    assert_eq!(flows[1].action, "Deny");
    assert_eq!(flows[1].port, Some(22));
    assert_eq!(flows[1].destination_ip.map(|ip| ip.to_string()).as_deref(), Some("203.0.113.50"));

    let text = casefile::validate_text(&run);
    let row = text
        .lines()
        .find(|l| l.starts_with("evidence/azfw-network.csv"))
        .unwrap_or_else(|| panic!("validate lists the file:\n{text}"));
    assert!(row.contains("Azure Firewall network rule log"), "{row}");
    assert!(row.contains("9 unknown columns ignored"), "{row}");
    assert!(!text.contains("missing: Azure Firewall"), "{text}");

    let model = casefile::report::model::build_model(&run);
    let status = model
        .sources
        .iter()
        .find(|s| s.kind == firewall::KIND)
        .expect("listed in the model");
    assert!(status.provided);
    assert_eq!(status.records, 3);
}

#[test]
fn a_registered_source_without_a_file_is_reported_missing() {
    let dir = quiet_case("source-missing", false);
    let registry = Registry::default().with(firewall::KIND);
    let run = analyse(&registry, &dir).unwrap_or_else(|e| panic!("{}", e.render()));
    let text = casefile::validate_text(&run);
    assert!(
        text.contains("missing: Azure Firewall network rule log — network flows to and from the attacker cannot be shown"),
        "{text}"
    );
    assert!(matches!(run.bundle.records::<firewall::Flow>(firewall::KIND), Source::NotProvided));
    let model = casefile::report::model::build_model(&run);
    let status = model
        .sources
        .iter()
        .find(|s| s.kind == firewall::KIND)
        .expect("listed in the model");
    assert!(!status.provided);
}

#[test]
fn without_the_registration_the_file_is_an_error_not_dropped() {
    let dir = quiet_case("source-unregistered", true);
    let e = analyse(&Registry::default(), &dir).err().expect("an unrecognised file is an error");
    let text = e.render();
    assert_eq!(e.exit_code(), 1, "{text}");
    assert!(text.contains("azfw-network.csv"), "{text}");
    assert!(text.contains("matches no evidence source"), "{text}");
}
