//! The `analyze --format text` summary: the seed's phases as plain text tables, drawn from
//! the report model only.

use std::fmt::Write as _;

use super::model::{ReportModel, NOT_PROVIDED};
use crate::bundle::Source;

fn section(out: &mut String, title: &str) {
    let _ = writeln!(out, "\n{title}\n{}", "-".repeat(title.chars().count()));
}

/// Renders the summary.
pub fn render_text(m: &ReportModel) -> String {
    let a = &m.analysis;
    let f = &m.figures;
    let mut out = String::new();
    let _ = writeln!(out, "{} — {} ({})", m.case.id, m.case.title, m.case.organisation);
    let _ = writeln!(out, "as of {} ({})", m.case.as_of, m.case.as_of_local);

    section(&mut out, &f.verdict);
    for b in &a.scope.verdict_basis {
        let _ = writeln!(out, "- {b}");
    }
    for j in a.scope.alerts.iter().filter(|j| j.cleared) {
        let _ = writeln!(out, "- alert {} \"{}\": {}", j.at.hhmm(), j.name, j.why);
    }

    section(&mut out, "Key figures");
    for (k, v) in [
        ("Compromised identity", &f.identity),
        ("Attacker addresses", &f.attacker_ips),
        ("First attacker activity", &f.first_attacker_activity),
        ("First successful action", &f.first_success),
        ("Data accessed", &f.data_accessed),
        ("Data exfiltrated", &f.data_exfiltrated),
        ("Objects / containers", &format!("{} / {}", f.objects, f.containers)),
        ("Records / data subjects", &format!("{} / {}", f.records, f.subjects)),
        ("Attacker VMs", &f.vm_summary),
        ("Attacker compute cost", &f.compute_cost),
        ("Attacker-caused cost (total)", &f.attacker_cost),
        ("Time to detect", &f.time_to_detect),
        ("Time to respond", &f.time_to_respond),
        ("Time to contain", &f.time_to_contain),
        ("GDPR", &f.gdpr_status),
        ("GDPR deadline", &format!("{} ({})", f.gdpr_deadline, f.gdpr_deadline_local)),
    ] {
        let _ = writeln!(out, "{k:<30} {v}");
    }

    section(&mut out, "Sources");
    for s in &m.sources {
        if s.provided {
            let _ = writeln!(
                out,
                "{:<22} {}, {}",
                s.label,
                crate::types::counted(s.files as u64, "file", "files"),
                crate::types::counted(s.records, "record", "records")
            );
        } else {
            let _ = writeln!(out, "{:<22} {NOT_PROVIDED}: {}", s.label, s.consequence);
        }
    }

    section(&mut out, "Attack steps");
    if a.steps.is_empty() {
        let _ = writeln!(out, "none identified in the evidence provided (see Sources for what is missing)");
    }
    for s in &a.steps {
        let _ = writeln!(
            out,
            "{} {}  {:<8} {:<46} {:<38} {}",
            s.id,
            s.at.hhmm(),
            s.phase.label(),
            s.action,
            s.target,
            s.outcome_text
        );
    }

    section(&mut out, "Cross-product timeline");
    if a.timeline.is_empty() {
        let _ = writeln!(out, "no entries: no attacker steps or alerts in the evidence provided");
    }
    for t in &a.timeline {
        let status = if t.outcome.is_none() {
            format!("  [{}]", t.outcome_text)
        } else {
            String::new()
        };
        let _ = writeln!(out, "{}  {:<8} {}{status}", t.at.hhmm(), t.phase.label(), t.summary);
    }

    section(&mut out, "Lateral movement");
    match &a.lateral {
        Source::NotProvided => {
            let _ = writeln!(out, "{NOT_PROVIDED} (activity log)");
        }
        Source::Provided(list) if list.is_empty() => {
            let _ = writeln!(out, "no identity touched 3 or more resource types within 30 minutes");
        }
        Source::Provided(list) => {
            for l in list {
                let _ = writeln!(
                    out,
                    "{}  types {:?}  count {}  duration {} min",
                    l.caller, l.resource_types, l.operations, l.minutes
                );
            }
        }
    }

    section(&mut out, "Data exposure");
    match &a.exposure {
        Source::NotProvided => {
            let _ = writeln!(out, "{NOT_PROVIDED} (storage logs)");
        }
        Source::Provided(e) => {
            for c in &e.containers {
                let _ = writeln!(
                    out,
                    "{}/{:<20} reads {:>5}  {:>10}  objects {}{:>5}  listings {:>3}  failed {:>3}",
                    c.account,
                    c.container,
                    c.read_requests,
                    c.bytes.human(),
                    if c.distinct_objects_at_least { "≥" } else { "" },
                    c.distinct_objects,
                    c.listing_requests,
                    c.failed_requests
                );
            }
            let _ = writeln!(out, "total {} ({} bytes)", e.bytes.human(), e.bytes.0);
            if e.uncertain_requests > 0 {
                let _ = writeln!(
                    out,
                    "lower bounds: {} requests of storage-summary rows span the start of a compromise window and could not be attributed",
                    e.uncertain_requests
                );
            }
        }
    }

    section(&mut out, "Control gaps");
    for c in a.gaps.controls.iter().filter(|c| c.relevant_to_incident) {
        let _ = writeln!(out, "{:<32} {}", c.id.0, c.verdict_label);
    }

    section(&mut out, "Cost");
    for v in &a.cost.vms {
        let _ = writeln!(
            out,
            "{} {} {} {:.1} h: {}",
            v.name,
            v.size.as_deref().unwrap_or(NOT_PROVIDED),
            v.region
                .as_ref()
                .map(|r| r.display_name().to_string())
                .unwrap_or_else(|| NOT_PROVIDED.into()),
            v.hours,
            v.arithmetic.as_deref().unwrap_or(NOT_PROVIDED)
        );
    }

    section(&mut out, "Response");
    for x in &a.response.actions {
        let _ = writeln!(out, "[{}] {} — {}", x.status.phrase(), x.action, x.detail);
    }
    if let Some(c) = &a.response.contained_by_effect {
        let _ = writeln!(out, "Contained by effect: {}", c.text);
    }
    if !m.data_quality.is_empty() {
        section(&mut out, "Data quality");
        for d in &m.data_quality {
            let _ = writeln!(out, "- {d}");
        }
    }
    out
}
