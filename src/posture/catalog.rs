//! Loads the control catalog (`controls/*.toml`, embedded at build time unless a directory is
//! given) into checked [`Control`]s, reporting every problem in every file at once. Knows what
//! a control claims; `analysis::gaps` decides verdicts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, InputError, Location, Result};
use crate::types::{ControlId, Fact, StepKind};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}
pub use embedded::TEMPLATES as EMBEDDED_TEMPLATES;

const WHAT: &str = "control catalog";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EffectKind {
    Prevent,
    Limit,
    Detect,
}

impl EffectKind {
    pub fn verb(self) -> &'static str {
        match self {
            EffectKind::Prevent => "would have prevented",
            EffectKind::Limit => "would have limited",
            EffectKind::Detect => "would have detected",
        }
    }
}

/// Who performed a step, as far as the record says (closed set). A user's controls (MFA,
/// Conditional Access for users) do not apply to a workload identity's own token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Actor {
    /// A person's account (a UPN).
    User,
    /// A service principal or managed identity (an object or application id, no UPN).
    Workload,
    /// No identity in the record (an account-key or SAS request).
    Unidentified,
}

impl Actor {
    /// The class of a step's recorded actor: Entra and the Activity log name a user by UPN
    /// and a service principal or managed identity by its object or application id.
    pub fn of(actor: Option<&str>) -> Actor {
        match actor {
            None => Actor::Unidentified,
            Some(a) if a.trim().is_empty() => Actor::Unidentified,
            Some(a) if a.contains('@') => Actor::User,
            Some(_) => Actor::Workload,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Effect {
    pub kind: EffectKind,
    pub steps: Vec<StepKind>,
    /// The actors whose steps the effect bears on; empty means any. User MFA and Conditional
    /// Access name `["user", "unidentified"]`: they never apply to a service principal's steps.
    #[serde(default)]
    pub actors: Vec<Actor>,
    /// May name `{approved_regions}`, `{attacker_regions}` and `{accounts}`, filled from the
    /// case; a control text never carries a particular case's values.
    pub why: String,
    /// Facts this effect rests on: it applies to a step only when every one holds in the case
    /// (MFA stops a password-only takeover only if the sign-in was single-factor).
    #[serde(default)]
    pub requires: Vec<Fact>,
}

impl Effect {
    /// The effect names this step kind and this actor (or any actor).
    pub fn bears_on(&self, step: StepKind, actor: Actor) -> bool {
        self.steps.contains(&step) && (self.actors.is_empty() || self.actors.contains(&actor))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecommendationRef {
    pub key: String,
    pub name: String,
    pub severity: String,
    #[serde(default)]
    pub deprecated: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRule {
    #[serde(default)]
    pub missing_when: Vec<Fact>,
    #[serde(default)]
    pub present_when: Vec<Fact>,
    /// Facts showing the control acted in this incident (refused an attacker action). With a
    /// missing fact as well, the control was present but not sufficient.
    #[serde(default)]
    pub acted_when: Vec<Fact>,
    /// Facts showing the control in place but not covering the attack (a policy that applied
    /// to other sign-ins and whose conditions left the attacker's out): present but not
    /// sufficient, whatever else holds.
    #[serde(default)]
    pub bypassed_when: Vec<Fact>,
}

/// State of a control's recommendations in an example, relative to the incident start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExampleRecommendation {
    None,
    Healthy,
    UnhealthyBefore,
    UnhealthyAfter,
}

/// Verdict names used by examples (mirrors `analysis::gaps::Verdict`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpectedVerdict {
    MissingEvidence,
    MissingRecommendation,
    PartiallyEffective,
    Present,
    NotAssessable,
}

/// A positive or negative example that the catalog test runs through the verdict logic.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub facts: Vec<Fact>,
    pub recommendation: ExampleRecommendation,
    pub expect: ExpectedVerdict,
}

/// What putting a control in place takes (closed set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effort {
    Low,
    Medium,
    High,
}

impl Effort {
    pub fn label(self) -> &'static str {
        match self {
            Effort::Low => "low",
            Effort::Medium => "medium",
            Effort::High => "high",
        }
    }
}

/// The role that owns an improvement; `[[owners]]` in the case file maps roles to names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OwnerRole {
    Ciso,
    Dpo,
    CloudPlatform,
    Identity,
    SecurityOperations,
    Network,
    Legal,
    Communications,
}

impl OwnerRole {
    pub const ALL: [OwnerRole; 8] = [
        OwnerRole::Ciso,
        OwnerRole::Dpo,
        OwnerRole::CloudPlatform,
        OwnerRole::Identity,
        OwnerRole::SecurityOperations,
        OwnerRole::Network,
        OwnerRole::Legal,
        OwnerRole::Communications,
    ];
    /// The key used in catalog and case files.
    pub fn key(self) -> &'static str {
        match self {
            OwnerRole::Ciso => "ciso",
            OwnerRole::Dpo => "dpo",
            OwnerRole::CloudPlatform => "cloud-platform",
            OwnerRole::Identity => "identity",
            OwnerRole::SecurityOperations => "security-operations",
            OwnerRole::Network => "network",
            OwnerRole::Legal => "legal",
            OwnerRole::Communications => "communications",
        }
    }
    /// The role in words, printed when the case file names no person for it.
    pub fn label(self) -> &'static str {
        match self {
            OwnerRole::Ciso => "Chief Information Security Officer",
            OwnerRole::Dpo => "Data Protection Officer",
            OwnerRole::CloudPlatform => "Cloud platform team lead",
            OwnerRole::Identity => "Identity and access team lead",
            OwnerRole::SecurityOperations => "Security operations lead",
            OwnerRole::Network => "Network team lead",
            OwnerRole::Legal => "General counsel",
            OwnerRole::Communications => "Head of communications",
        }
    }
    pub fn parse(s: &str) -> Option<OwnerRole> {
        OwnerRole::ALL.into_iter().find(|r| r.key() == s.trim().to_ascii_lowercase())
    }
}

/// One control: what it stops, and how its presence or absence can be proven.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    pub id: ControlId,
    pub title: String,
    pub summary: String,
    pub improvement: String,
    /// The improvement when the control is present but not sufficient (it refused part of the
    /// attack); the same parameters as `improvement`, plus `{refused_regions}`.
    #[serde(default)]
    pub improvement_partial: Option<String>,
    /// 1 = most important improvement for an identity-to-data attack chain (catalog order and
    /// tie-break; the report ranks by impact on the incident and effort).
    pub priority: u32,
    /// What putting it in place takes, and why.
    pub effort: Effort,
    pub effort_reason: String,
    /// The role that owns the improvement.
    pub owner: OwnerRole,
    #[serde(default)]
    pub mcsb: Vec<String>,
    #[serde(default)]
    pub attack: Vec<String>,
    pub settled_by: String,
    #[serde(rename = "effect")]
    pub effects: Vec<Effect>,
    #[serde(default, rename = "recommendation")]
    pub recommendations: Vec<RecommendationRef>,
    #[serde(default, rename = "policy")]
    pub policies: Vec<PolicyRef>,
    #[serde(default)]
    pub evidence: EvidenceRule,
    #[serde(default, rename = "example")]
    pub examples: Vec<Example>,
}

impl Control {
    /// The strongest effect this control has on a step of this kind by this actor, if any,
    /// among the effects whose required facts hold.
    pub fn effect_on(&self, step: StepKind, actor: Actor, holds: &dyn Fn(Fact) -> bool) -> Option<&Effect> {
        self.effects
            .iter()
            .filter(|e| e.bears_on(step, actor) && e.requires.iter().all(|f| holds(*f)))
            .min_by_key(|e| e.kind)
    }
    /// Effects on a step that do not apply because a fact they rest on does not hold.
    pub fn not_exploited_on(&self, step: StepKind, actor: Actor, holds: &dyn Fn(Fact) -> bool) -> bool {
        self.effect_on(step, actor, holds).is_none()
            && self
                .effects
                .iter()
                .any(|e| e.bears_on(step, actor) && !e.requires.iter().all(|f| holds(*f)))
    }
    /// The control addresses this step kind, but not when this actor performs it (a user's
    /// MFA on a service principal's step).
    pub fn excludes_actor(&self, step: StepKind, actor: Actor) -> bool {
        let on_kind: Vec<&Effect> = self.effects.iter().filter(|e| e.steps.contains(&step)).collect();
        !on_kind.is_empty() && on_kind.iter().all(|e| !e.bears_on(step, actor))
    }
}

/// All controls, ordered by priority.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub controls: Vec<Control>,
    /// Where the catalog came from: "embedded" or a directory.
    pub source: String,
}

impl Catalog {
    pub fn get(&self, id: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.id.0 == id)
    }
}

/// Parses and checks a set of (file name, text) pairs; every problem is reported.
///
/// # Errors
/// Every problem in every control file at once, each at its file and line.
pub fn parse_catalog(files: &[(PathBuf, String)], source: &str) -> Result<Catalog> {
    let mut problems: Vec<Error> = Vec::new();
    let mut controls: Vec<Control> = Vec::new();
    for (path, text) in files {
        match toml::from_str::<Control>(text) {
            Ok(c) => {
                let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
                let loc = Location::file(path).with_field("id");
                if c.id.0 != stem {
                    problems.push(
                        InputError::new(WHAT, "id does not match file name", loc.clone())
                            .found(&c.id.0)
                            .expected(&format!("\"{stem}\""))
                            .into(),
                    );
                }
                if c.effort_reason.trim().is_empty() {
                    problems.push(
                        InputError::new(WHAT, "missing effort reason", loc.clone().with_field("effort_reason"))
                            .expected(&format!("why putting the control in place is {} effort", c.effort.label()))
                            .into(),
                    );
                }
                if c.effects.is_empty() {
                    problems.push(
                        InputError::new(WHAT, "no effect", loc.clone().with_field("effect"))
                            .expected("at least one [[effect]]")
                            .into(),
                    );
                }
                let expects_missing = c.examples.iter().any(|e| {
                    matches!(
                        e.expect,
                        ExpectedVerdict::MissingEvidence | ExpectedVerdict::MissingRecommendation | ExpectedVerdict::PartiallyEffective
                    )
                });
                let expects_other = c
                    .examples
                    .iter()
                    .any(|e| matches!(e.expect, ExpectedVerdict::Present | ExpectedVerdict::NotAssessable));
                if !expects_other || (!expects_missing && (!c.recommendations.is_empty() || !c.evidence.missing_when.is_empty())) {
                    problems.push(
                        InputError::new(WHAT, "examples incomplete", loc.with_field("example"))
                            .expected("one example expecting a missing verdict (when the control can be proven missing) and one expecting present or not-assessable")
                            .into(),
                    );
                }
                controls.push(c);
            }
            Err(e) => {
                let mut loc = Location::file(path);
                if let Some(span) = e.span() {
                    loc.line = Some(crate::error::line_of(text, span.start));
                }
                problems.push(
                    InputError::new(WHAT, "invalid control", loc)
                        .found(e.message())
                        .expected("the control schema in README.md")
                        .into(),
                );
            }
        }
    }
    let mut by_priority: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
    for c in &controls {
        by_priority.entry(c.priority).or_default().push(&c.id.0);
    }
    for (p, ids) in &by_priority {
        if ids.len() > 1 {
            problems.push(
                InputError::new(WHAT, "duplicate priority", Location::file(Path::new(source)).with_field("priority"))
                    .found(&format!("{p} in {}", ids.join(", ")))
                    .expected("a unique priority per control")
                    .into(),
            );
        }
    }
    Error::collect(problems)?;
    if controls.is_empty() {
        return Err(InputError::new(WHAT, "no controls", Location::file(Path::new(source)))
            .expected("at least one controls/*.toml")
            .into());
    }
    controls.sort_by_key(|c| c.priority);
    Ok(Catalog {
        controls,
        source: source.to_string(),
    })
}

/// Loads the catalog from `dir`, or the embedded one when `dir` is None.
///
/// # Errors
/// An input error when a control file cannot be read, or every problem in the catalog at once.
pub fn load_catalog(dir: Option<&Path>) -> Result<Catalog> {
    let files: Vec<(PathBuf, String)> = match dir {
        None => embedded::CONTROLS
            .iter()
            .map(|(name, bytes)| (PathBuf::from("controls").join(name), String::from_utf8_lossy(bytes).into_owned()))
            .collect(),
        Some(d) => {
            let rd = std::fs::read_dir(d)
                .map_err(|e| Error::from(InputError::new(WHAT, "cannot read directory", Location::file(d)).found(&e.to_string())))?;
            let mut paths: Vec<PathBuf> = rd
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            paths.sort();
            let mut out = Vec::new();
            for p in paths {
                let text = crate::input::table::read_text(&p, WHAT)?;
                out.push((p, text));
            }
            out
        }
    };
    let files: Vec<(PathBuf, String)> = files
        .into_iter()
        .filter(|(p, _)| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    parse_catalog(&files, &dir.map(|d| d.display().to_string()).unwrap_or_else(|| "embedded".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_loads_with_at_least_fourteen_controls() {
        let c = load_catalog(None).unwrap();
        assert!(c.controls.len() >= 14, "{}", c.controls.len());
        assert_eq!(c.controls[0].priority, 1);
    }

    #[test]
    fn every_problem_in_every_file_is_reported() {
        let files = vec![
            (PathBuf::from("controls/a.toml"), "id = \"b\"\n".to_string()),
            (PathBuf::from("controls/c.toml"), "id = \"c\"\ncolour = 1\n".to_string()),
        ];
        let e = parse_catalog(&files, "test").unwrap_err();
        assert!(matches!(e, Error::Many(ref v) if v.len() == 2), "{}", e.render());
        assert!(e.render().contains("controls/a.toml"));
        assert!(e.render().contains("controls/c.toml"));
    }
}
