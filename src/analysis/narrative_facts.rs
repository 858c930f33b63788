//! Sentences about the breach that the regulator's documents carry (the nature of the breach,
//! the measures taken), each assembled from what this case's evidence shows: which identities
//! (and what they were observed doing), which credentials reached the data, what was read,
//! and which measures a record or the analyst's report supports. No fixed phrase about a
//! particular kind of attack.

use super::exposure::Exposure;
use super::scope::{CaseVerdict, Scope};
use super::steps::{Outcome, Step};
use super::Window;
use crate::types::StepKind;

/// Words for what a compromised identity was observed doing ("granted roles, created
/// resources"), or None when it did nothing observable.
pub fn observed_role(steps: &[Step], who: &crate::types::Upn) -> Option<String> {
    let mine = || {
        steps
            .iter()
            .filter(|s| s.actor.as_ref() == Some(who) && s.outcome == Outcome::Succeeded)
    };
    let mut did = Vec::new();
    if mine().any(|s| s.kind == StepKind::RoleAssignment) {
        did.push("granted Azure roles");
    }
    if mine().any(|s| {
        matches!(
            s.kind,
            StepKind::VmCreate | StepKind::PublicIpCreate | StepKind::NsgRuleChange | StepKind::OtherWrite
        )
    }) {
        did.push("created or changed Azure resources");
    }
    if mine().any(|s| s.kind == StepKind::StorageKeyListing) {
        did.push("listed storage account keys");
    }
    (!did.is_empty()).then(|| did.join(", "))
}

/// How the attacker's data reads were authorised, from the storage steps ("the storage
/// account key", "Entra ID (OAuth) tokens", "shared access signatures").
fn credentials_used(steps: &[Step]) -> Vec<&'static str> {
    let mut out = Vec::new();
    for s in steps
        .iter()
        .filter(|s| s.kind == StepKind::BlobRead && s.outcome == Outcome::Succeeded)
    {
        let d = s.detail.to_ascii_lowercase();
        for (needle, words) in [
            ("accountkey", "the storage account key"),
            ("account key", "the storage account key"),
            ("sas", "shared access signatures"),
            ("oauth", "Entra ID (OAuth) tokens"),
            ("anonymous", "anonymous public access"),
        ] {
            if d.contains(needle) && !out.contains(&words) {
                out.push(words);
            }
        }
    }
    out
}

/// The nature of the breach (Art. 33(3)(a)), from the facts of the case.
pub fn nature_of_breach(scope: &Scope, steps: &[Step], exposure: Option<&Exposure>, window: Option<Window>) -> String {
    if scope.verdict == CaseVerdict::NotEstablished {
        let pending: Vec<String> = scope
            .unusual_runs
            .iter()
            .map(|r| format!("{} ran a far larger job than usual on {}", r.ip, r.day))
            .collect();
        let condition = if pending.is_empty() {
            String::new()
        } else {
            format!(
                "; this rests on the owners confirming that the workload runs were planned ({}): the assessment is to be reopened if they were not",
                crate::types::join_words(&pending)
            )
        };
        return format!(
            "No personal data breach has been established: the alerts and leads were investigated and cleared, and the evidence shows no attacker activity{condition}"
        );
    }
    let who: Vec<String> = scope
        .identities_in_scope()
        .map(|u| match observed_role(steps, u) {
            Some(r) => format!("{} (which then {r})", scope.label(u)),
            None => scope.label(u),
        })
        .collect();
    let certainty = if scope.verdict == CaseVerdict::CompromiseSuspected {
        "A suspected confidentiality breach: an unauthorised party may have used"
    } else {
        "Confidentiality breach: an unauthorised party used"
    };
    let mut n = if who.is_empty() {
        format!("{certainty} attacker-controlled addresses")
    } else {
        // A service principal is an identity, not an account.
        let people = scope.identities_in_scope().all(|u| u.as_str().contains('@'));
        format!(
            "{certainty} the compromised Azure {}{} {}",
            if people { "account" } else { "identit" },
            match (people, who.len() > 1) {
                (true, true) => "s",
                (true, false) => "",
                (false, true) => "ies",
                (false, false) => "y",
            },
            who.join(", ")
        )
    };
    if let Some(e) = exposure.filter(|e| e.read_requests > 0) {
        let creds = credentials_used(steps);
        let with = if creds.is_empty() {
            String::new()
        } else {
            format!(" with {}", creds.join(" and "))
        };
        n.push_str(&format!(
            " and read {}{} ({}{} objects){with} from {}",
            if e.uncertain_requests > 0 { "at least " } else { "" },
            e.bytes,
            if e.distinct_objects_at_least || e.uncertain_requests > 0 {
                "at least "
            } else {
                ""
            },
            e.distinct_objects,
            e.containers_read.join(", ")
        ));
        let (personal, other): (Vec<_>, Vec<_>) = e
            .containers
            .iter()
            .filter(|c| c.read_requests > 0)
            .partition(|c| c.inventory.as_ref().is_none_or(|i| i.personal_data));
        if !other.is_empty() {
            let bytes = personal.iter().fold(crate::types::Bytes(0), |a, c| a.saturating_add(c.bytes));
            let verb = |n: usize| if n == 1 { "holds" } else { "hold" };
            n.push_str(&format!(
                "; of this, {bytes} came from {}, which {} personal data, while {} {} none",
                personal.iter().map(|c| c.container.as_str()).collect::<Vec<_>>().join(", "),
                verb(personal.len()),
                other.iter().map(|c| c.container.as_str()).collect::<Vec<_>>().join(", "),
                verb(other.len())
            ));
        }
    } else if exposure.is_some() {
        n.push_str("; the storage logs show no successful data read by the attacker");
    }
    if let Some(w) = window {
        n.push_str(&format!("; attacker activity from {} to {}", w.start, w.end));
        if let (Some(a), Some(b)) = (w.data_access_start, w.data_access_end) {
            n.push_str(&format!(", data accessed from {a} to {b}"));
        }
    }
    n
}
