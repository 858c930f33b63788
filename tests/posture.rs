//! The posture findings of the review (issue 8, part 4) on every sample: the Azure Policy
//! region control judged "present but not sufficient" when it refused part of the attack;
//! the no-compromise case's pre-existing gaps ranked with one numbering; the password-spray
//! and workload-identity controls hooked to the steps that show them; a service principal's
//! steps mapped to workload-identity controls, never to user MFA or Conditional Access; the
//! ranking putting proven data-plane preventers above controls that could not be assessed; and
//! the attack-path figure labelling each step with its own breaking control. Asserted on the
//! model (orderings) and on the PDFs' text (through the `pdf` module's helpers).

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::Value;

use crate::pdf::{has, pdf_text, squash};
use crate::util::{control, report, root, stderr, temp_dir};

/// The sample's four reports and model, rendered once per sample for all tests.
fn rendered(sample: &str) -> &'static PathBuf {
    static NORTHGATE: OnceLock<PathBuf> = OnceLock::new();
    static BRUNNWALD: OnceLock<PathBuf> = OnceLock::new();
    static QUIET: OnceLock<PathBuf> = OnceLock::new();
    let cell = match sample {
        "northgate" => &NORTHGATE,
        "brunnwald" => &BRUNNWALD,
        "quiet" => &QUIET,
        other => panic!("no sample {other}"),
    };
    cell.get_or_init(|| {
        let out = temp_dir(&format!("posture-{sample}"));
        let o = report(&root().join("samples").join(sample), &out, &[]);
        assert!(o.status.success(), "report {sample} failed: {}", stderr(&o));
        out
    })
}

fn model(sample: &str) -> Value {
    serde_json::from_slice(&std::fs::read(rendered(sample).join("model.json")).unwrap()).unwrap()
}

fn text(sample: &str, pdf: &str) -> String {
    squash(&pdf_text(&rendered(sample).join(pdf)))
}

fn rank(m: &Value, id: &str) -> Option<u64> {
    m["improvements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["control"] == id)
        .map(|i| i["rank"].as_u64().unwrap())
}

fn step_gap<'a>(m: &'a Value, id: &str) -> &'a Value {
    m["analysis"]["gaps"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

fn step_controls(m: &Value, id: &str) -> Vec<String> {
    step_gap(m, id)["controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["control"].as_str().unwrap().to_string())
        .collect()
}

/// The id of the step whose summary contains `needle`.
fn step_id(m: &Value, needle: &str) -> String {
    m["analysis"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["summary"].as_str().unwrap().contains(needle))
        .unwrap_or_else(|| panic!("no step with {needle:?}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

// ---------------------------------------------------------------------------------- finding 1

#[test]
fn region_policy_that_refused_one_deployment_and_let_another_through_is_present_but_not_sufficient() {
    let m = model("brunnwald");
    let c = control(&m, "allowed-locations");
    assert_eq!(c["verdict"], "partially-effective");
    let refused = step_id(&m, "refused by policy");
    let through = step_id(&m, "created in East US (");
    let proofs: String = c["proofs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert!(proofs.contains(&format!("Refused: {refused}")), "{proofs}");
    assert!(proofs.contains("Not refused:") && proofs.contains(&through), "{proofs}");
    // The improvement fixes the existing assignment, from the case's regions.
    let imp = c["improvement"].as_str().unwrap();
    assert!(
        imp.contains("Japan East") && imp.contains("East US") && imp.contains("Germany West Central"),
        "{imp}"
    );
    // Every report that prints verdicts handles the new value.
    let posture = text("brunnwald", "posture.pdf");
    for needle in [
        "Present but not sufficient",
        &format!("Refused: {refused}"),
        "Not refused:",
        "Fix the existing Azure Policy restriction",
    ] {
        assert!(has(&posture, needle), "posture.pdf lacks {needle:?}");
    }
    let technical = text("brunnwald", "technical.pdf");
    assert!(
        has(&technical, "present but not sufficient"),
        "technical.pdf lacks the short verdict"
    );
    assert!(
        has(&technical, "refused it"),
        "technical.pdf does not say the control refused the step"
    );
    assert!(
        !has(&technical, "partially-effective") && !has(&posture, "partially-effective"),
        "raw verdict id printed"
    );
    // Where nothing was refused, the control stays missing (Northgate).
    assert_eq!(control(&model("northgate"), "allowed-locations")["verdict"], "missing-evidence");
}

#[test]
fn the_region_policy_is_mapped_only_to_deployments_outside_the_approved_regions() {
    let m = model("brunnwald");
    let approved = step_id(&m, "created in Germany West Central");
    let outside = step_id(&m, "created in East US (");
    assert!(!step_controls(&m, &approved).contains(&"allowed-locations".to_string()));
    assert!(step_controls(&m, &outside).contains(&"allowed-locations".to_string()));
}

// ---------------------------------------------------------------------------------- finding 2

#[test]
fn quiet_ranks_its_pre_existing_gaps_by_severity_and_effort_with_one_numbering() {
    let m = model("quiet");
    let imps = m["improvements"].as_array().unwrap();
    assert!(!imps.is_empty(), "pre-existing gaps are not ranked");
    let ranks: Vec<u64> = imps.iter().map(|i| i["rank"].as_u64().unwrap()).collect();
    assert_eq!(ranks, (1..=imps.len() as u64).collect::<Vec<_>>());
    // Every ranked control is a proven gap, and every proven gap is ranked.
    for c in m["analysis"]["gaps"]["controls"].as_array().unwrap() {
        let proven = c["verdict"].as_str().unwrap().starts_with("missing");
        assert_eq!(rank(&m, c["id"].as_str().unwrap()).is_some(), proven, "{}", c["id"]);
    }
    // A High recommendation ranks above a Low one.
    assert!(rank(&m, "mgmt-ports-nsg") < rank(&m, "storage-network-restriction"));
    let posture = text("quiet", "posture.pdf");
    assert!(has(&posture, "ranked by the severity of their Defender for Cloud recommendation"));
    assert!(has(&posture, &format!("Improvement 1 · {}", imps[0]["control"].as_str().unwrap())));
    let executive = text("quiet", "executive.pdf");
    assert!(has(&executive, "pre-existing gaps"));
    assert!(has(&executive, imps[0]["title"].as_str().unwrap()));
}

// ---------------------------------------------------------------------------------- finding 3

#[test]
fn password_guessing_and_a_service_principal_hook_the_new_controls() {
    let m = model("brunnwald");
    let facts: Vec<&str> = m["analysis"]["gaps"]["facts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fact"].as_str().unwrap())
        .collect();
    assert!(
        facts.contains(&"signin-password-guessing") && facts.contains(&"workload-identity-acted"),
        "{facts:?}"
    );
    for id in [
        "password-protection-lockout",
        "signin-failure-detection",
        "ca-workload-identities",
        "workload-credential-hygiene",
    ] {
        let c = control(&m, id);
        assert_eq!(c["relevant_to_incident"], true, "{id}");
        // No proof exists either way in the bundle: each says what settles it.
        assert_eq!(c["verdict"], "not-assessable", "{id}");
        assert!(rank(&m, id).is_some(), "{id} not ranked");
    }
    let posture = text("brunnwald", "posture.pdf");
    assert!(has(&posture, "Conditional Access for workload identities (service principals)"));
    assert!(has(&posture, "Entra smart lockout and password protection (banned passwords)"));
    // Northgate has neither guessing nor a service principal acting for the attacker.
    let n = model("northgate");
    for id in [
        "password-protection-lockout",
        "ca-workload-identities",
        "workload-credential-hygiene",
    ] {
        assert_eq!(control(&n, id)["relevant_to_incident"], false, "{id}");
    }
}

// ---------------------------------------------------------------------------------- finding 4

#[test]
fn a_service_principals_steps_map_to_workload_identity_controls_not_user_mfa() {
    let m = model("brunnwald");
    let sp_steps: Vec<&Value> = m["analysis"]["gaps"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["actor"] == "workload")
        .collect();
    assert!(sp_steps.len() >= 4, "service principal steps not recognised");
    for s in &sp_steps {
        let ids: Vec<&str> = s["controls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["control"].as_str().unwrap())
            .collect();
        for user_control in [
            "mfa-azure-mgmt",
            "ca-trusted-location",
            "risk-based-conditional-access",
            "pim-jit-elevation",
        ] {
            assert!(!ids.contains(&user_control), "{} mapped to {user_control}", s["step"]);
        }
        if s["kind"] != "lateral-movement" {
            assert!(ids.contains(&"ca-workload-identities"), "{} lacks the workload CA", s["step"]);
        }
        assert!(s["actor_note"]
            .as_str()
            .unwrap()
            .contains("user multifactor authentication and user Conditional Access do not apply"));
    }
    // The user's own steps keep the user controls.
    let signin = step_id(&m, "Sign-in of j.keller");
    assert!(step_controls(&m, &signin).contains(&"mfa-azure-mgmt".to_string()));
    let mfa = control(&m, "mfa-azure-mgmt");
    assert!(!mfa["workload_steps"].as_array().unwrap().is_empty());
    let posture = text("brunnwald", "posture.pdf");
    assert!(has(&posture, "this control guards user sign-ins only"));
    assert!(has(
        &posture,
        "by a workload identity: user MFA and Conditional Access do not apply"
    ));
    let technical = text("brunnwald", "technical.pdf");
    assert!(has(&technical, "a service principal or managed identity (a workload identity)"));
}

// ---------------------------------------------------------------------------------- finding 5

/// Controls that would prevent a data-plane step and are proven missing outrank every control
/// that could not be assessed, in every sample with an incident; MFA stays first.
#[test]
fn proven_data_plane_preventers_outrank_unassessed_controls_in_each_sample() {
    for sample in ["northgate", "brunnwald"] {
        let m = model(sample);
        assert_eq!(rank(&m, "mfa-azure-mgmt"), Some(1), "{sample}: MFA must rank first");
        let unassessed: Vec<u64> = m["improvements"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["verdict_id"] == "not-assessable")
            .map(|i| i["rank"].as_u64().unwrap())
            .collect();
        assert!(!unassessed.is_empty());
        for id in ["storage-rbac-only", "storage-network-restriction"] {
            assert!(
                control(&m, id)["verdict"].as_str().unwrap().starts_with("missing"),
                "{sample}: {id}"
            );
            let r = rank(&m, id).unwrap();
            assert!(
                unassessed.iter().all(|u| r < *u),
                "{sample}: {id} ranked {r}, unassessed at {unassessed:?}"
            );
        }
        // Ranks follow the scores, one numbering, no gaps.
        let scores: Vec<f64> = m["analysis"]["ranking"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["score"].as_f64().unwrap())
            .collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{sample}: {scores:?}");
    }
}

// ---------------------------------------------------------------------------------- finding 6

/// One step's entry in the squashed attack-path text: from its id up to the next step id
/// ("S" and two digits) that opens another entry.
fn path_entry<'a>(path: &'a str, id: &str) -> &'a str {
    // A refused step is labelled as an attempt ("VM creation — did not succeed").
    let start = [format!("{id}·VMcreated"), format!("{id}failed·VMcreation")]
        .iter()
        .find_map(|n| path.find(n.as_str()))
        .unwrap_or_else(|| panic!("no entry for {id} in the attack path"));
    let rest = &path[start..];
    let b = rest.as_bytes();
    let end = (3..b.len().saturating_sub(2))
        .find(|&i| b[i] == b'S' && b[i + 1].is_ascii_digit() && b[i + 2].is_ascii_digit())
        .unwrap_or(rest.len());
    &rest[..end]
}

/// The attack-path figure labels each step with its own breaking controls: the deployment in an
/// approved region is not labelled with the region policy; the one outside it is, and the
/// refused one names the policy that refused it.
#[test]
fn the_attack_path_labels_each_step_with_its_own_breaking_control() {
    let m = model("brunnwald");
    let posture = text("brunnwald", "posture.pdf");
    // The last occurrences: the headings, not their table-of-contents entries.
    let path = &posture[posture.rfind(&squash("Attack path and the controls that break it")).unwrap()..];
    let path = &path[..path.rfind(&squash("Coverage of the attack steps")).unwrap()];
    let entry = |id: &str| -> &str { path_entry(path, id) };
    let approved = step_id(&m, "created in Germany West Central");
    let outside = step_id(&m, "created in East US (");
    let refused = step_id(&m, "refused by policy");
    let region = squash("Azure Policy restriction of deployment regions");
    assert!(!entry(&approved).contains(&region), "{}", entry(&approved));
    assert!(entry(&outside).contains(&region), "{}", entry(&outside));
    assert!(entry(&refused).contains(&squash("refused by:")), "{}", entry(&refused));
    // The user's sign-in edge names MFA; the service principal's deployment edge does not.
    assert!(!entry(&outside).contains(&squash("Multifactor authentication")));
    let north = text("northgate", "posture.pdf");
    assert!(has(&north, "Risky sign-in") && has(&north, "stopped by:"));
}
