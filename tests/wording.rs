//! Issue 8, reviewers' wording: sentences a report's reader found untrue or unhelpful. Each
//! test states the rule for any case (and, where the samples show only one side, builds the
//! other side from a copied sample).

use serde_json::Value;

use crate::samples::{pdf_text, rendered, squash, BRUNNWALD, QUIET};
use crate::util::{copy_sample, model_json, report, stderr, temp_dir};

const NORTHGATE: &str = "samples/northgate";
const INCIDENTS: [&str; 2] = [NORTHGATE, BRUNNWALD];

fn text_of(rel: &'static str, pdf: &str) -> String {
    pdf_text(&rendered(rel).join(pdf))
}

fn model_of(rel: &str) -> Value {
    model_json(&crate::samples::sample_dir(rel))
}

fn actions(m: &Value) -> Vec<Value> {
    m["analysis"]["response"]["actions"].as_array().unwrap().clone()
}

/// Item 1: an action the organisation reported (no record shows it) carries a short
/// "(reported)" mark on its line; what the mark means is said once under the list, not as a
/// long prefix and parenthetical on every line.
#[test]
fn reported_actions_carry_a_mark_and_the_caveat_is_said_once() {
    for rel in INCIDENTS {
        let m = model_of(rel);
        assert!(actions(&m).iter().any(|a| a["status"] == "reported"), "{rel}: no reported action");
        let exec = squash(&text_of(rel, "executive.pdf"));
        let caveat = squash("stated by the organisation in the case file; no record in the evidence provided shows it");
        // Once under the summary's list, once under the "what has been done" table.
        let said = exec.matches(&caveat).count();
        assert!(
            (1..=2).contains(&said),
            "{rel}: the caveat is said {said} times in the executive report"
        );
        assert!(exec.contains(&squash("(reported)")), "{rel}: a reported line lost its mark");
        for report in ["executive.pdf", "gdpr.pdf"] {
            let text = squash(&text_of(rel, report));
            for repeated in [
                "Reported by the organisation:",
                "(reported done by the organisation; not visible in the evidence)",
            ] {
                assert!(!text.contains(&squash(repeated)), "{rel} {report}: still repeats '{repeated}'");
            }
        }
    }
}

/// Item 2: the draft communication to the people affected names no infrastructure: no
/// resource, storage account, container, address or identity of the organisation's systems;
/// it keeps the categories of data and the dates.
#[test]
fn letter_to_data_subjects_names_no_infrastructure() {
    for rel in INCIDENTS {
        let m = model_of(rel);
        let gdpr = squash(&text_of(rel, "gdpr.pdf"));
        let start = gdpr
            .rfind(&squash("Subject: Important information about your personal data"))
            .unwrap_or_else(|| panic!("{rel}: no letter"));
        let letter = &gdpr[start..];
        let letter = &letter[..letter.find(&squash("We are sorry this has happened")).unwrap()];
        let mut names: Vec<String> = actions(&m)
            .iter()
            .filter_map(|a| a["target"].as_str().map(str::to_string))
            .collect();
        for key in ["accounts", "containers_read"] {
            names.extend(
                m["analysis"]["exposure"]["value"][key]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_string)),
            );
        }
        names.extend(
            m["analysis"]["scope"]["ips"]
                .as_object()
                .into_iter()
                .flat_map(|o| o.keys().cloned()),
        );
        names.extend(["storageaccount", "virtualmachine", "firewallrule", "publicIP"].map(String::from));
        assert!(names.len() > 4, "{rel}: too few names to check: {names:?}");
        for n in names {
            assert!(!letter.contains(&squash(&n)), "{rel}: the letter names '{n}'");
        }
        let scope = &m["analysis"]["gdpr"]["art34_scope"]["categories"];
        let first = scope[0].as_str().unwrap_or_else(|| panic!("{rel}: no categories: {scope}"));
        assert!(letter.contains(&squash(first)), "{rel}: the letter lost the data categories");
        let dates = m["analysis"]["gdpr_regime"]["incident_dates"].as_str().unwrap();
        assert!(letter.contains(&squash(dates)), "{rel}: the letter lost the dates");
    }
}

/// Item 3: the awareness check calls an alert "about the personal data" only when it was
/// about access to the data (Defender for Storage on an account holding it); an alert about
/// keys, a sign-in or a management operation is an earlier lead, described as such.
#[test]
fn only_alerts_about_access_to_the_data_count_for_awareness() {
    for rel in [NORTHGATE, BRUNNWALD, QUIET] {
        let m = model_of(rel);
        let aw = &m["analysis"]["gdpr_regime"]["awareness"];
        let earliest = aw["earliest_alert"].as_str().unwrap_or("");
        for not_data in ["key listing", "sign-in", "Resource Manager", "'Execution'"] {
            assert!(
                !earliest.contains(not_data),
                "{rel}: '{earliest}' is called an alert about the personal data"
            );
        }
        for lead in aw["earlier_leads"].as_array().unwrap() {
            assert!(lead["about"].as_str().unwrap().contains("not"), "{rel}: lead {lead}");
        }
    }
    let m = model_of(BRUNNWALD);
    let aw = &m["analysis"]["gdpr_regime"]["awareness"];
    let leads = aw["earlier_leads"].as_array().unwrap();
    let keys = leads
        .iter()
        .find(|l| l["name"].as_str().unwrap().contains("key listing"))
        .expect("the key-listing alert is an earlier lead");
    assert!(keys["about"].as_str().unwrap().contains("credentials"), "{keys}");
    let gdpr = squash(&text_of(BRUNNWALD, "gdpr.pdf"));
    assert!(gdpr.contains(&squash("Earlier leads (not about the data)")));
}

/// Item 4: with containment actions still open there is no clean time to contain: the
/// figure says containment is not complete and how many actions are open.
#[test]
fn time_to_contain_is_not_complete_while_actions_are_open() {
    for rel in INCIDENTS {
        let m = model_of(rel);
        let open = actions(&m)
            .iter()
            .filter(|a| a["status"] == "outstanding" || a["status"] == "partial")
            .count();
        assert!(open > 0, "{rel}: the sample has no open action");
        let exec = squash(&text_of(rel, "executive.pdf"));
        let said = squash(&format!("Time to contain: not complete ({open} containment actions still open"));
        assert!(exec.contains(&said), "{rel}: no 'not complete' with {open} open actions");
        assert!(
            exec.contains(&squash("TIME TO CONTAIN not complete")),
            "{rel}: the key figure gives a time"
        );
    }
}

/// Item 4, the other side: once every action is done or reported, the figure is a time again.
#[test]
fn time_to_contain_is_a_time_when_no_action_is_open() {
    let dir = copy_sample("northgate");
    let m = model_json(&dir);
    let mut extra = String::new();
    for a in actions(&m)
        .iter()
        .filter(|a| a["status"] == "outstanding" || a["status"] == "partial")
    {
        extra.push_str(&format!(
            "\n[[response]]\naction = \"{}\"\nat = \"2024-03-22T10:00:00Z\"\nby = \"soc.lead@northgateeng.com\"\nnote = \"done\"\n",
            a["id"].as_str().unwrap()
        ));
    }
    let case = dir.join("case.toml");
    let toml = std::fs::read_to_string(&case).unwrap();
    // Appended after the last table of the case file would change that table; insert the
    // responses before the first [[evidence]] instead.
    let at = toml.find("[[evidence]]").unwrap();
    std::fs::write(&case, format!("{}{extra}\n{}", &toml[..at], &toml[at..])).unwrap();
    let out = temp_dir("wording-contained");
    let o = report(&dir, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let model: Value = serde_json::from_str(&std::fs::read_to_string(out.join("model.json")).unwrap()).unwrap();
    let ttc = model["figures"]["time_to_contain"].as_str().unwrap();
    assert!(ttc.starts_with(|c: char| c.is_ascii_digit()), "no time when nothing is open: {ttc}");
    assert!(!ttc.contains("still open"), "{ttc}");
}

/// Item 5: the ATT&CK table states each technique's outcome plainly, and a technique whose
/// steps all failed never reads as achieved; failed steps say how they failed.
#[test]
fn attack_table_states_outcomes_plainly() {
    for rel in INCIDENTS {
        let m = model_of(rel);
        let steps = m["analysis"]["steps"].as_array().unwrap();
        for row in m["analysis"]["attack"].as_array().unwrap() {
            let outcome = row["outcome"].as_str().unwrap();
            if row["attempt_only"] == true {
                assert!(outcome.starts_with("failed attempts only"), "{rel}: {row}");
            } else if row["technique"] == "T1110" && outcome.starts_with("no guess succeeded") {
                // Guessing that was followed by a successful sign-in to the same account is
                // not "failed attempts only", though each guess failed.
                assert!(
                    outcome.contains("a successful sign-in to the same account followed (S"),
                    "{rel}: {row}"
                );
            } else {
                assert!(outcome.starts_with("succeeded"), "{rel}: {row}");
            }
            for label in row["steps"].as_array().unwrap() {
                let label = label.as_str().unwrap();
                let id = label.split(' ').next().unwrap();
                let step = steps.iter().find(|s| s["id"] == id).unwrap();
                assert_eq!(
                    step["attempt"] == true,
                    label.contains('('),
                    "{rel}: {label} vs {}",
                    step["outcome_text"]
                );
            }
        }
        let tech = squash(&text_of(rel, "technical.pdf"));
        assert!(!tech.contains(&squash("Brute Force attempt")), "{rel}");
        assert!(
            !tech.contains(&squash("— attempt")),
            "{rel}: a failed step is labelled as its success plus 'attempt'"
        );
    }
    let m = model_of(BRUNNWALD);
    let brute = m["analysis"]["attack"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["technique"] == "T1110")
        .cloned()
        .unwrap();
    // Each guess failed, but the guessed account then signed in from the attacker (S11): the
    // guessing is not "failed attempts only".
    assert_eq!(
        brute["outcome"],
        "no guess succeeded as such, but a successful sign-in to the same account followed (S11): the password was likely found"
    );
    assert_eq!(brute["attempt_only"], false);
    assert!(squash(&text_of(BRUNNWALD, "technical.pdf")).contains(&squash("Brute Force (password guessing)")));
}

/// Item 6: a management request refused by policy (or denied) says so and that nothing was
/// created, wherever the step is told.
#[test]
fn a_refused_deployment_says_nothing_was_created() {
    let m = model_of(BRUNNWALD);
    let refused: Vec<&Value> = m["analysis"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["outcome_text"].as_str().unwrap().starts_with("refused by policy"))
        .collect();
    assert!(!refused.is_empty(), "the sample has a refused deployment");
    for s in refused {
        let summary = s["summary"].as_str().unwrap();
        assert!(
            summary.contains("refused by policy") && summary.ends_with(": nothing was created"),
            "{summary}"
        );
        // The board report leaves out the machine code beside the plain outcome.
        let plain = summary
            .replace(" (RequestDisallowedByPolicy)", "")
            .replace(" (Standard_ND96asr_v4)", " (GPU machine)");
        for (report, told) in [("executive.pdf", plain.as_str()), ("technical.pdf", summary)] {
            assert!(
                squash(&text_of(BRUNNWALD, report)).contains(&squash(told)),
                "{report} does not tell {told}"
            );
        }
        let attack = m["analysis"]["attack"].as_array().unwrap();
        let id = s["id"].as_str().unwrap();
        // Where the step is grouped by kind (attack path, steps by control), the group of
        // failed steps is named as an attempt, not as "VM created".
        for report in ["technical.pdf", "posture.pdf"] {
            let text = squash(&text_of(BRUNNWALD, report));
            assert!(
                !text.contains(&squash(&format!("{id} failed · VM created"))),
                "{report}: {id} is labelled as created"
            );
            assert!(
                text.contains(&squash(&format!("{id} failed · VM creation — did not succeed"))),
                "{report}"
            );
        }
        assert!(attack
            .iter()
            .flat_map(|r| r["steps"].as_array().unwrap())
            .filter(|l| l.as_str().unwrap().starts_with(id))
            .all(|l| l.as_str().unwrap().ends_with("(refused by policy)")));
    }
}

/// Item 7: with no compromise established, the technical and posture reports speak of the
/// assessment and its leads, never of "the attack" or its steps.
#[test]
fn no_compromise_reports_do_not_speak_of_an_attack() {
    for report in ["executive.pdf", "technical.pdf", "gdpr.pdf", "posture.pdf"] {
        let text = text_of(QUIET, report)
            .to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for phrase in [
            "the attack ",
            "the attack.",
            "attack steps",
            "this attack",
            "stopped the attack",
            "not in the attacker scope",
            "effect on an attack",
        ] {
            assert!(!text.contains(phrase), "quiet {report}: says '{phrase}'");
        }
    }
}

/// Issue 8: the board report carries no machine vocabulary: no VM size codes (a GPU size is
/// "GPU machine"), no log field values ("AccountKey"), no ENISA level code beside its name;
/// a licence or rollout term an improvement needs is in the glossary. The technical report
/// keeps them all.
#[test]
fn the_board_report_speaks_plainly_and_the_technical_report_keeps_the_codes() {
    for rel in INCIDENTS {
        let exec = text_of(rel, "executive.pdf");
        let flat = squash(&exec);
        for code in ["Standard_", "AccountKey", "(SE 4)", "(SE 3)"] {
            assert!(!flat.contains(&squash(code)), "{rel}: the executive report prints {code}");
        }
        assert!(
            flat.contains(&squash("(GPU machine")),
            "{rel}: the attacker's GPU VM is named as such"
        );
        assert!(flat.contains(&squash("account key)")), "{rel}: how the data was read, in words");
        if flat.contains(&squash("report-only")) {
            assert!(
                flat.contains(&squash("Report-only mode A Conditional Access policy")),
                "{rel}: report-only not explained"
            );
        }
        if flat.contains(&squash("Entra ID P2")) {
            assert!(
                flat.contains(&squash("Entra ID P1 / P2 Paid Microsoft Entra ID licence levels")),
                "{rel}: P2 not explained"
            );
        }
        let tech = squash(&text_of(rel, "technical.pdf"));
        assert!(
            tech.contains(&squash("Standard_NC24ads_A100_v4")) && tech.contains("AccountKey"),
            "{rel}: the technical report keeps the codes"
        );
    }
}

/// Issue 8: when the Art. 34 communication is scoped to the datasets at or above the
/// controller's threshold, the DPO sees how many people it leaves out and is asked to confirm;
/// the draft to the authority states the scoping without the internal question.
#[test]
fn a_scoped_art34_communication_counts_who_is_left_out_and_asks_the_dpo() {
    let m = model_of(NORTHGATE);
    let scope = &m["analysis"]["gdpr"]["art34_scope"];
    let (inc, read) = (scope["subjects"].as_u64().unwrap(), scope["subjects_read"].as_u64().unwrap());
    assert!(inc < read, "the sample scopes the communication: {inc} of {read}");
    let fmt = casefile::types::thousands;
    let exec = squash(&text_of(NORTHGATE, "executive.pdf"));
    assert!(exec.contains(&squash(&format!(
        "up to {} people affected (of up to {} whose data is in the containers read)",
        fmt(inc),
        fmt(read)
    ))));
    assert!(exec.contains(&squash("confirm leaving them out, or inform them too")));
    let gdpr = text_of(NORTHGATE, "gdpr.pdf");
    let flat = squash(&gdpr);
    assert!(
        flat.contains(&squash("To confirm. The communication goes to up to")),
        "the DPO's note"
    );
    assert!(flat.contains(&squash(&format!("of up to {} whose data is in the containers read", fmt(read)))));
    let draft = &flat[flat.find(&squash("DRAFT — REVIEW BEFORE SENDING")).unwrap()..];
    let draft = &draft[..draft.find(&squash("Yours faithfully")).unwrap()];
    assert!(
        !draft.contains(&squash("confirm leaving")),
        "the letter to the authority carries no internal question"
    );
    // Brunnwald's container below the threshold holds no personal data: nothing to confirm.
    assert!(!squash(&text_of(BRUNNWALD, "gdpr.pdf")).contains(&squash("To confirm. The communication goes to")));
}

/// Issue 8: the Art. 33(3)(d) item states each measure once, in the regulator's words: a key
/// rotated halfway is told once as taken and once as still to be taken, not three times with
/// the activity-log detail.
#[test]
fn the_measures_item_tells_each_measure_once_in_plain_words() {
    let gdpr = squash(&text_of(BRUNNWALD, "gdpr.pdf"));
    let start = gdpr.find(&squash("33(3)(d) Measures taken or proposed")).expect("the item");
    let end = gdpr[start..].find(&squash("Severity assessment (ENISA)")).unwrap() + start;
    let cell = &gdpr[start..end];
    assert_eq!(cell.matches(&squash("One of the two access keys")).count(), 1, "{cell}");
    assert_eq!(cell.matches(&squash("other access key")).count(), 1, "{cell}");
    for jargon in ["regenerated", "Containment confirmed by its effect", "(proposed)", "activity log"] {
        assert!(!cell.contains(&squash(jargon)), "{jargon} in the measures item: {cell}");
    }
    assert!(cell.contains(&squash("Outstanding: the other access key")));
    // Art. 33(3)(d) includes measures to mitigate the possible adverse effects.
    assert!(
        cell.contains(&squash(
            "Proposed to mitigate the possible adverse effects on the people affected: inform the people affected"
        )),
        "{cell}"
    );
}

/// Issue 8: with no compromise established, the posture report's recommendation tables have no
/// "Timing" (before or after the incident) or "Relevant" (to the attacker's resources)
/// column: there is no incident for either to refer to. An incident's report keeps them.
#[test]
fn recommendation_tables_speak_of_an_incident_only_when_there_is_one() {
    let quiet = squash(&text_of(QUIET, "posture.pdf"));
    assert!(quiet.contains(&squash("Recommendation and resource State First evaluated Status changed")));
    assert!(!quiet.contains(&squash("Status changed Timing Relevant")), "quiet posture");
    for rel in INCIDENTS {
        assert!(
            squash(&text_of(rel, "posture.pdf")).contains(&squash("Status changed Timing Relevant")),
            "{rel}"
        );
    }
}

/// Issue 8: the board report states findings without record references (the technical report
/// keeps each one).
#[test]
fn the_board_report_carries_no_record_references() {
    for rel in [NORTHGATE, BRUNNWALD, QUIET] {
        let exec = text_of(rel, "executive.pdf");
        assert!(!exec.contains("evidence/"), "{rel}: a record reference in the executive report");
        assert!(
            text_of(rel, "technical.pdf").contains("evidence/"),
            "{rel}: the technical report keeps them"
        );
    }
}
