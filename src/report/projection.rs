//! Which parts of the model each PDF template reads. With thousands of attacker events the
//! step, timeline and sign-in lists are nearly all of the model's JSON (tens of MB); typst
//! parses every byte it is given, so each report is handed the model without the large lists
//! its template (and the `common.typ` functions it calls) never reads. A projection selects;
//! it computes and changes nothing.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use crate::cli::ReportKind;

/// A path of object keys from the model's root.
pub type Path = &'static [&'static str];

const SIGNINS: Path = &["analysis", "signins_of_compromised"];
const TIMELINE: Path = &["analysis", "timeline"];
/// Read by no template: the reports read the steps' mappings grouped (`gaps.step_groups`).
const GAP_STEPS: Path = &["analysis", "gaps", "steps"];
/// Read by no template (the posture facts are cited through the controls).
const GAP_FACTS: Path = &["analysis", "gaps", "facts"];
const CAUSES: Path = &["analysis", "root_cause", "causes"];

/// The large parts of the model a report's template does not read. `analysis.steps` is read
/// by every report (`common.typ` indexes the steps by id on import).
pub fn omitted(kind: ReportKind) -> &'static [Path] {
    match kind {
        // Timeline chart (timeline rows and entries, steps); root cause summary only.
        ReportKind::Executive => &[SIGNINS, GAP_STEPS, GAP_FACTS, CAUSES],
        // No step list, timeline, coverage matrix or root cause.
        ReportKind::Gdpr => &[SIGNINS, TIMELINE, GAP_STEPS, GAP_FACTS, CAUSES],
        // Attack path and coverage matrix (step groups, steps); no timeline or sign-ins.
        ReportKind::Posture => &[SIGNINS, TIMELINE, GAP_STEPS, GAP_FACTS, CAUSES],
        // Everything else.
        ReportKind::Technical | ReportKind::All => &[GAP_STEPS, GAP_FACTS],
    }
}

/// The paths omitted by every one of `kinds`: parts no requested report reads.
pub fn omitted_by_all(kinds: &[ReportKind]) -> Vec<Path> {
    let Some((first, rest)) = kinds.split_first() else {
        return Vec::new();
    };
    omitted(*first)
        .iter()
        .filter(|p| rest.iter().all(|k| omitted(*k).contains(p)))
        .copied()
        .collect()
}

/// Removes `paths` from `v` (a path that is not there is left alone).
pub fn remove(v: &mut Value, paths: &[Path]) {
    for path in paths {
        let Some((last, parents)) = path.split_last() else {
            continue;
        };
        let mut at = Some(&mut *v);
        for key in parents {
            at = at.and_then(|x| x.get_mut(*key));
        }
        if let Some(Value::Object(m)) = at {
            m.remove(*last);
        }
    }
}

/// `value` serialised without `omit` (paths relative to `value`), without copying it.
pub struct Projected<'a> {
    pub value: &'a Value,
    pub omit: &'a [Path],
}

impl Serialize for Projected<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Value::Object(map) = self.value else {
            return self.value.serialize(s);
        };
        if self.omit.is_empty() {
            return self.value.serialize(s);
        }
        let mut out = s.serialize_map(None)?;
        for (key, v) in map {
            if self.omit.iter().any(|p| p.len() == 1 && p[0] == key) {
                continue;
            }
            let deeper: Vec<Path> = self.omit.iter().filter(|p| p.len() > 1 && p[0] == key).map(|p| &p[1..]).collect();
            out.serialize_entry(key, &Projected { value: v, omit: &deeper })?;
        }
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_projection_leaves_out_exactly_the_omitted_paths() {
        let v =
            serde_json::json!({"analysis": {"steps": [1], "timeline": [2], "gaps": {"steps": [3], "controls": [4]}}, "case": {"id": "x"}});
        let omit: &[Path] = &[TIMELINE, GAP_STEPS];
        let projected = serde_json::to_value(Projected { value: &v, omit }).unwrap();
        assert_eq!(
            projected,
            serde_json::json!({"analysis": {"steps": [1], "gaps": {"controls": [4]}}, "case": {"id": "x"}})
        );
        let mut removed = v.clone();
        remove(&mut removed, omit);
        assert_eq!(removed, projected, "removing and projecting agree");
    }

    #[test]
    fn only_parts_no_requested_report_reads_are_removed() {
        assert_eq!(
            omitted_by_all(&[ReportKind::Gdpr, ReportKind::Posture]),
            vec![SIGNINS, TIMELINE, GAP_STEPS, GAP_FACTS, CAUSES]
        );
        assert_eq!(omitted_by_all(&[ReportKind::Technical]), vec![GAP_STEPS, GAP_FACTS]);
        assert_eq!(
            omitted_by_all(&[ReportKind::Technical, ReportKind::Executive]),
            vec![GAP_STEPS, GAP_FACTS]
        );
    }
}
