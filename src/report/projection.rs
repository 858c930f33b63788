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

/// How the values a projection keeps are serialised: as they are ([`AsIs`]), or as a report
/// sets them (sanitised, `report::typst`).
pub trait Leaves {
    /// Serialises `value`, a whole value the projection keeps.
    ///
    /// # Errors
    /// The serializer's error.
    fn serialize_value<S: Serializer>(&self, value: &Value, s: S) -> Result<S::Ok, S::Error>;
}

/// Kept values serialised as they are.
pub struct AsIs;

impl Leaves for AsIs {
    fn serialize_value<S: Serializer>(&self, value: &Value, s: S) -> Result<S::Ok, S::Error> {
        value.serialize(s)
    }
}

/// `value` serialised without `omit` (paths relative to `value`), without copying it; what is
/// kept is serialised by `leaves`.
pub struct Projected<'a, L> {
    pub value: &'a Value,
    pub omit: &'a [Path],
    pub leaves: &'a L,
}

impl<L: Leaves> Serialize for Projected<'_, L> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Value::Object(map) = self.value else {
            return self.leaves.serialize_value(self.value, s);
        };
        if self.omit.is_empty() {
            return self.leaves.serialize_value(self.value, s);
        }
        let mut out = s.serialize_map(None)?;
        for (key, v) in map {
            if self.omit.iter().any(|p| p.len() == 1 && p[0] == key) {
                continue;
            }
            let deeper: Vec<Path> = self.omit.iter().filter(|p| p.len() > 1 && p[0] == key).map(|p| &p[1..]).collect();
            out.serialize_entry(
                key,
                &Projected {
                    value: v,
                    omit: &deeper,
                    leaves: self.leaves,
                },
            )?;
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
        let projected = serde_json::to_value(Projected {
            value: &v,
            omit,
            leaves: &AsIs,
        })
        .unwrap();
        assert_eq!(
            projected,
            serde_json::json!({"analysis": {"steps": [1], "gaps": {"controls": [4]}}, "case": {"id": "x"}})
        );
    }
}
