//! Which parts of the model each PDF template reads. With thousands of attacker events the
//! step, timeline and sign-in lists are nearly all of the model's JSON (tens of MB); typst
//! parses every byte it is given, and keeps what it parsed while the run lasts, so each report
//! is handed the model without the large lists its template (and the `common.typ` functions
//! it calls) never reads, and with only the fields it reads of each step (and, for the
//! executive summary, of each timeline entry). A projection selects; it computes and changes
//! nothing (a test renders every sample and a spray from their projections and from the whole
//! model and requires the same PDF bytes).

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

use crate::cli::ReportKind;

/// A path of object keys from the model's root.
pub type Path = &'static [&'static str];

const SIGNINS: Path = &["analysis", "signins_of_compromised"];
const TIMELINE: Path = &["analysis", "timeline"];
const STEPS: Path = &["analysis", "steps"];
/// Read by no template: the reports read the steps' mappings grouped (`gaps.step_groups`).
const GAP_STEPS: Path = &["analysis", "gaps", "steps"];
/// Read by no template (the posture facts are cited through the controls).
const GAP_FACTS: Path = &["analysis", "gaps", "facts"];
const CAUSES: Path = &["analysis", "root_cause", "causes"];

/// The fields of a step `common.typ` reads on import and in its step functions (the index by
/// id, failed steps, `step-label-of`).
const STEP_FIELDS_COMMON: &[&str] = &["id", "attempt", "outcome_text"];
/// ... and the executive summary's own: the role grants (`kind`, `detail`), the timeline key
/// (`summary`) and the glossary of the terms it uses (`kind`, `phase`).
const STEP_FIELDS_EXECUTIVE: &[&str] = &["id", "attempt", "outcome_text", "kind", "detail", "summary", "phase"];

/// ... and the technical report's: the management-plane table (time, operation, target,
/// detail, outcome, records) and the coverage by attack step (time, operation).
const STEP_FIELDS_TECHNICAL: &[&str] = &[
    "id",
    "attempt",
    "outcome_text",
    "kind",
    "phase",
    "at",
    "action",
    "target",
    "detail",
    "evidence",
];

/// The fields of a timeline entry the executive summary's chart and key read (the entries the
/// timeline rows point at): a step's entry is described by its step, an alert's or a
/// response's by its action; a bulk row carries its own summary.
const TIMELINE_FIELDS_EXECUTIVE: &[&str] = &["at", "end", "phase", "step", "action", "outcome"];

/// What of the model one report is given.
pub struct Projection {
    /// The large parts its template does not read.
    pub omit: &'static [Path],
    /// Lists of objects of which it reads only some fields: (the list, the fields).
    pub narrow: &'static [(Path, &'static [&'static str])],
}

impl Projection {
    /// The whole model (a template of the user's own may read any part of it).
    pub const WHOLE: Projection = Projection { omit: &[], narrow: &[] };
}

/// What `kind`'s built-in template reads. `analysis.steps` is read by every report
/// (`common.typ` indexes the steps by id on import).
pub fn of(kind: ReportKind) -> Projection {
    match kind {
        // Timeline chart (timeline rows and entries, steps); root cause summary only.
        ReportKind::Executive => Projection {
            omit: &[SIGNINS, GAP_STEPS, GAP_FACTS, CAUSES],
            narrow: &[(STEPS, STEP_FIELDS_EXECUTIVE), (TIMELINE, TIMELINE_FIELDS_EXECUTIVE)],
        },
        // No step list, timeline, coverage matrix or root cause.
        ReportKind::Gdpr => Projection {
            omit: &[SIGNINS, TIMELINE, GAP_STEPS, GAP_FACTS, CAUSES],
            narrow: &[(STEPS, STEP_FIELDS_COMMON)],
        },
        // Attack path and coverage matrix (step groups, steps); no timeline or sign-ins.
        ReportKind::Posture => Projection {
            omit: &[SIGNINS, TIMELINE, GAP_STEPS, GAP_FACTS, CAUSES],
            narrow: &[(STEPS, STEP_FIELDS_COMMON)],
        },
        // Everything else.
        ReportKind::Technical | ReportKind::All => Projection {
            omit: &[GAP_STEPS, GAP_FACTS],
            narrow: &[(STEPS, STEP_FIELDS_TECHNICAL)],
        },
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

/// `value` serialised without `omit` and with only the kept fields of the lists in `narrow`
/// (paths relative to `value`), without copying it; what is kept is serialised by `leaves`.
pub struct Projected<'a, L> {
    pub value: &'a Value,
    pub omit: &'a [Path],
    pub narrow: &'a [(Path, &'static [&'static str])],
    pub leaves: &'a L,
}

impl<L: Leaves> Serialize for Projected<'_, L> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Value::Object(map) = self.value else {
            return self.leaves.serialize_value(self.value, s);
        };
        if self.omit.is_empty() && self.narrow.is_empty() {
            return self.leaves.serialize_value(self.value, s);
        }
        let mut out = s.serialize_map(None)?;
        for (key, v) in map {
            if self.omit.iter().any(|p| p.len() == 1 && p[0] == key) {
                continue;
            }
            if let Some((_, fields)) = self.narrow.iter().find(|(p, _)| p.len() == 1 && p[0] == key) {
                out.serialize_entry(
                    key,
                    &Narrowed {
                        value: v,
                        fields,
                        leaves: self.leaves,
                    },
                )?;
                continue;
            }
            let omit: Vec<Path> = self.omit.iter().filter(|p| p.len() > 1 && p[0] == key).map(|p| &p[1..]).collect();
            let narrow: Vec<(Path, &[&str])> = self
                .narrow
                .iter()
                .filter(|(p, _)| p.len() > 1 && p[0] == key)
                .map(|(p, f)| (&p[1..], *f))
                .collect();
            out.serialize_entry(
                key,
                &Projected {
                    value: v,
                    omit: &omit,
                    narrow: &narrow,
                    leaves: self.leaves,
                },
            )?;
        }
        out.end()
    }
}

/// A list of objects with only `fields` of each: the list's items are narrowed in turn, an
/// object keeps only `fields` (in its own order), and any other value is kept whole.
struct Narrowed<'a, L> {
    value: &'a Value,
    fields: &'a [&'a str],
    leaves: &'a L,
}

impl<L: Leaves> Serialize for Narrowed<'_, L> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::Array(items) => {
                let mut out = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&Narrowed { value: item, ..*self })?;
                }
                out.end()
            }
            Value::Object(map) => {
                let mut out = s.serialize_map(None)?;
                for (key, v) in map.iter().filter(|(k, _)| self.fields.contains(&k.as_str())) {
                    out.serialize_entry(
                        key,
                        &Leaf {
                            value: v,
                            leaves: self.leaves,
                        },
                    )?;
                }
                out.end()
            }
            _ => self.leaves.serialize_value(self.value, s),
        }
    }
}

/// A kept value, serialised by its [`Leaves`].
struct Leaf<'a, L> {
    value: &'a Value,
    leaves: &'a L,
}

impl<L: Leaves> Serialize for Leaf<'_, L> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.leaves.serialize_value(self.value, s)
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
            narrow: &[],
            leaves: &AsIs,
        })
        .unwrap();
        assert_eq!(
            projected,
            serde_json::json!({"analysis": {"steps": [1], "gaps": {"controls": [4]}}, "case": {"id": "x"}})
        );
    }

    #[test]
    fn a_narrowed_list_keeps_only_the_named_fields_of_each_object() {
        let v = serde_json::json!({"analysis": {"steps": [{"id": "S1", "summary": "x", "attempt": false}, {"id": "S2"}, 7], "timeline": [{"id": 1}]}});
        let narrow: &[(Path, &[&str])] = &[(STEPS, &["id", "attempt"])];
        let projected = serde_json::to_value(Projected {
            value: &v,
            omit: &[],
            narrow,
            leaves: &AsIs,
        })
        .unwrap();
        assert_eq!(
            projected,
            serde_json::json!({"analysis": {"steps": [{"id": "S1", "attempt": false}, {"id": "S2"}, 7], "timeline": [{"id": 1}]}})
        );
    }
}
