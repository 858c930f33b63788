//! `ReportModel`: the one structure every output is drawn from (JSON, text, PDFs). It holds
//! the analysis plus the display strings reports share, so a figure reads the same
//! everywhere. It computes no new figures; it only formats what the analysis concluded.
//! Its JSON is documented in README.md ("The report model").

use serde::Serialize;

use crate::analysis::{self, gaps::Verdict, response::ActionStatus, steps::Outcome};
use crate::bundle::{FileReport, SourceKind};
use crate::error::{Error, Result};
use crate::types::{thousands, trim_decimals, Bytes, StepKind, Timestamp};
use crate::CaseRun;

/// Schema identifier; bump when a field changes meaning.
pub const SCHEMA: &str = "casefile.model/1";

/// Printed wherever a source or input was not provided.
pub const NOT_PROVIDED: &str = "not provided";

#[derive(Debug, Clone, Serialize)]
pub struct CaseInfo {
    pub id: String,
    pub title: String,
    pub organisation: String,
    pub classification: String,
    pub timezone: String,
    pub as_of: Timestamp,
    pub as_of_local: String,
    pub prepared_by: Option<String>,
    /// Optional analyst-written summary from case.toml.
    pub summary: Option<String>,
    /// SHA-256 and size of case.toml, listed with the evidence inventory.
    pub file_sha256: String,
    pub file_bytes: u64,
}

/// One evidence source and whether it was provided.
#[derive(Debug, Clone, Serialize)]
pub struct SourceStatus {
    pub kind: SourceKind,
    pub label: String,
    pub provided: bool,
    pub files: usize,
    pub records: u64,
    /// What the reports cannot say without it (empty when provided).
    pub consequence: String,
}

/// Figures on the executive page, as display strings ("not provided" when unknown).
#[derive(Debug, Clone, Serialize)]
pub struct KeyFigures {
    pub data_exfiltrated: String,
    pub data_exfiltrated_bytes: Option<u64>,
    pub objects: String,
    pub containers: String,
    pub records: String,
    pub subjects: String,
    pub attacker_cost: String,
    pub compute_cost: String,
    pub first_attacker_activity: String,
    pub time_to_detect: String,
    pub time_to_contain: String,
    pub gdpr_status: String,
    pub gdpr_deadline: String,
    pub gdpr_deadline_local: String,
    pub identity: String,
    pub attacker_ips: String,
    pub vm_summary: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Improvement {
    pub rank: usize,
    pub control: String,
    pub title: String,
    pub text: String,
    pub verdict: String,
    pub steps: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportModel {
    pub schema: &'static str,
    pub generator: String,
    pub case: CaseInfo,
    pub sources: Vec<SourceStatus>,
    pub evidence: Vec<FileReport>,
    pub recommendations: Option<RecommendationsInfo>,
    pub figures: KeyFigures,
    pub done: Vec<String>,
    pub improvements: Vec<Improvement>,
    pub step_labels: Vec<StepLabel>,
    pub analysis: analysis::Analysis,
    pub assumptions: Vec<analysis::cost::Assumption>,
    pub data_quality: Vec<String>,
    pub units: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecommendationsInfo {
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    pub rows: u64,
    pub assessments: usize,
    pub exported_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepLabel {
    pub kind: StepKind,
    pub label: String,
    pub technique: String,
    pub technique_name: String,
}

fn duration_text(seconds: i64) -> String {
    if seconds < 60 {
        return "under 1 min".into();
    }
    let m = seconds / 60;
    match (m / 60, m % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// Builds the model from a finished run.
pub fn build_model(run: &CaseRun) -> ReportModel {
    let case = &run.case;
    let a = &run.analysis;
    let tz = case.timezone;
    let local = |t: Timestamp| analysis::gdpr::local(t, tz);
    let sources: Vec<SourceStatus> = [
        (
            SourceKind::Signins,
            "the identity compromise (how, from where, with which controls) cannot be shown",
        ),
        (
            SourceKind::Activity,
            "management-plane steps, attacker VM cost and lateral movement cannot be shown",
        ),
        (
            SourceKind::Storage,
            "data exposure (bytes, objects, containers) and the GDPR severity cannot be established",
        ),
        (SourceKind::Alerts, "detection times and alert entities cannot be shown"),
        (
            SourceKind::RiskEvents,
            "Entra ID Protection risk detections beyond those on sign-ins are not shown",
        ),
    ]
    .into_iter()
    .map(|(kind, consequence)| {
        let files: Vec<&FileReport> = run.bundle.files.iter().filter(|f| f.kind == Some(kind)).collect();
        SourceStatus {
            kind,
            label: kind.describe().to_string(),
            provided: !files.is_empty(),
            files: files.len(),
            records: files.iter().map(|f| f.records).sum(),
            consequence: if files.is_empty() { consequence.to_string() } else { String::new() },
        }
    })
    .collect();

    let exposure = a.exposure.provided();
    let np = || NOT_PROVIDED.to_string();
    let data_exfiltrated = exposure.map(|e| e.bytes.human()).unwrap_or_else(np);
    let first = a.window.map(|w| w.start);
    let detected = run.bundle.alerts.provided().and_then(|al| {
        al.iter()
            .filter_map(|x| x.generated.or(Some(x.at)))
            .filter(|t| first.is_none_or(|f| *t >= f))
            .min()
    });
    let contained = a
        .response
        .actions
        .iter()
        .filter(|x| matches!(x.status, ActionStatus::Done | ActionStatus::Reported))
        .filter(|x| x.id == "rotate-keys" || x.id == "contain-identity")
        .filter_map(|x| {
            x.at.map(|t| {
                (
                    t,
                    if x.id == "rotate-keys" {
                        "storage keys rotated"
                    } else {
                        "compromised identity contained"
                    },
                )
            })
        })
        .min_by_key(|(t, _)| *t);
    let gdpr_status = match &a.gdpr {
        None => "not assessed (no [gdpr] section in case.toml)".to_string(),
        Some(g) => match (&g.severity, g.art33.required, g.art34.required) {
            (Some(s), Some(a33), Some(a34)) => format!(
                "Severity {} (SE {}): {}; {}",
                s.band.name(),
                trim_decimals(s.se, 2),
                if a33 {
                    "notify the supervisory authority (Art. 33)"
                } else {
                    "no Art. 33 notification under the stated policy"
                },
                if a34 {
                    "inform data subjects (Art. 34)"
                } else {
                    "no Art. 34 communication under the stated policy"
                }
            ),
            _ => format!("not scored: {} not provided", g.missing_inputs.join("; ")),
        },
    };
    let vm_summary = {
        let vms = &a.cost.vms;
        if vms.is_empty() {
            if a.operations_of_attacker.is_provided() {
                "none found".to_string()
            } else {
                np()
            }
        } else {
            vms.iter()
                .map(|v| {
                    format!(
                        "{} ({}, {})",
                        v.name,
                        v.size.as_deref().unwrap_or("size unknown"),
                        v.region
                            .as_ref()
                            .map(|r| r.display_name().to_string())
                            .unwrap_or_else(|| "region unknown".into())
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let figures = KeyFigures {
        data_exfiltrated: data_exfiltrated.clone(),
        data_exfiltrated_bytes: exposure.map(|e| e.bytes.0),
        objects: exposure.map(|e| thousands(e.distinct_objects)).unwrap_or_else(np),
        containers: exposure
            .map(|e| {
                if e.containers_read.is_empty() {
                    "none".into()
                } else {
                    e.containers_read.join(", ")
                }
            })
            .unwrap_or_else(np),
        records: exposure
            .and_then(|e| e.records)
            .map(|r| format!("up to {}", thousands(r)))
            .unwrap_or_else(np),
        subjects: exposure
            .and_then(|e| e.subjects)
            .map(|s| format!("up to {}", thousands(s)))
            .unwrap_or_else(np),
        attacker_cost: a.cost.total.map(|c| c.to_string()).unwrap_or_else(np),
        compute_cost: match (&a.cost.compute, a.cost.vms.is_empty()) {
            (Some(c), false) => format!("${:.0}", c.0),
            (_, true) if a.operations_of_attacker.is_provided() => "no attacker VMs".into(),
            _ => np(),
        },
        first_attacker_activity: first.map(|f| format!("{} ({})", f, local(f))).unwrap_or_else(np),
        time_to_detect: match (first, detected) {
            (Some(f), Some(d)) => format!("{} (first alert {})", duration_text(f.seconds_until(d)), d.hhmm()),
            _ => np(),
        },
        time_to_contain: match (first, contained) {
            (Some(f), Some((t, what))) => format!("{} ({what} at {})", duration_text(f.seconds_until(t)), t.hhmm()),
            (Some(_), None) => "not yet contained according to the evidence".into(),
            _ => np(),
        },
        gdpr_status,
        gdpr_deadline: a.gdpr.as_ref().map(|g| g.deadline.deadline.to_string()).unwrap_or_else(np),
        gdpr_deadline_local: a.gdpr.as_ref().map(|g| g.deadline.deadline_local.clone()).unwrap_or_else(np),
        identity: if a.scope.identities.is_empty() {
            "none identified".into()
        } else {
            a.scope.identities.keys().map(|u| u.to_string()).collect::<Vec<_>>().join(", ")
        },
        attacker_ips: if a.scope.ips.is_empty() {
            "none identified".into()
        } else {
            a.scope.ips.keys().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
        },
        vm_summary,
    };
    let done: Vec<String> = a
        .response
        .actions
        .iter()
        .filter(|x| matches!(x.status, ActionStatus::Done | ActionStatus::Reported))
        .map(|x| {
            let how = if x.status == ActionStatus::Reported {
                ", reported by the analyst"
            } else {
                ""
            };
            format!(
                "{}{}{how}",
                x.done_text,
                x.at.map(|t| format!(" ({})", local(t))).unwrap_or_default()
            )
        })
        .collect();
    let mut improvements: Vec<Improvement> = a
        .gaps
        .controls
        .iter()
        .filter(|c| c.relevant_to_incident && c.verdict != Verdict::Present)
        .map(|c| Improvement {
            rank: 0,
            control: c.id.0.clone(),
            title: c.title.clone(),
            text: c.improvement.clone(),
            verdict: c.verdict_label.clone(),
            steps: c
                .affects
                .iter()
                .map(|(k, e)| {
                    format!(
                        "{} ({})",
                        k.label(),
                        serde_json::to_value(e)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default()
                    )
                })
                .collect(),
        })
        .collect();
    for (i, imp) in improvements.iter_mut().enumerate() {
        imp.rank = i + 1;
    }
    let mut data_quality: Vec<String> = a.warnings.clone();
    for f in &run.bundle.files {
        for w in &f.warnings {
            data_quality.push(format!("{}: {w}", f.path.display()));
        }
        if !f.unknown_columns.is_empty() {
            data_quality.push(format!(
                "{}: {} columns not used by casefile",
                f.path.display(),
                f.unknown_columns.len()
            ));
        }
    }
    for s in a.steps.iter().filter(|s| s.outcome == Outcome::Unknown) {
        data_quality.push(format!("{} {}: started but no final status in the export", s.id, s.action));
    }
    for s in sources.iter().filter(|s| !s.provided) {
        data_quality.push(format!("{} not provided: {}", s.label, s.consequence));
    }
    let recommendations = run.export.provided().map(|e| RecommendationsInfo {
        file: e.path.display().to_string(),
        sha256: e.sha256.clone(),
        bytes: e.bytes,
        rows: e.records,
        assessments: e.items.len(),
        exported_at: e.exported_at,
    });
    if recommendations.is_none() {
        data_quality.push("recommendations export not provided: control gaps rest on the evidence alone".into());
    }
    if let Some(e) = run.export.provided() {
        data_quality.extend(e.warnings.iter().map(|w| format!("{}: {w}", e.path.display())));
    }
    let step_labels = StepKind::ALL
        .iter()
        .map(|k| StepLabel {
            kind: *k,
            label: k.label().to_string(),
            technique: k.attack().0.to_string(),
            technique_name: k.attack().1.to_string(),
        })
        .collect();
    let mut evidence = run.bundle.files.clone();
    for f in &mut evidence {
        if let Ok(rel) = f.path.strip_prefix(&case.dir) {
            f.path = rel.to_path_buf();
        }
    }
    ReportModel {
        schema: SCHEMA,
        generator: format!("casefile {}", env!("CARGO_PKG_VERSION")),
        case: CaseInfo {
            id: case.id.clone(),
            title: case.title.clone(),
            organisation: case.organisation.clone(),
            classification: case.classification.clone(),
            timezone: case.timezone.name().to_string(),
            as_of: case.as_of,
            as_of_local: local(case.as_of),
            prepared_by: case.prepared_by.clone(),
            summary: case.summary.clone(),
            file_sha256: case.sha256.clone(),
            file_bytes: case.bytes,
        },
        sources,
        evidence,
        recommendations,
        figures,
        done,
        improvements,
        step_labels,
        assumptions: a.cost.assumptions.clone(),
        analysis: a.clone(),
        data_quality,
        units: "Data volumes use decimal units: 1 GB = 1,000,000,000 bytes; 1 MB = 1,000,000 bytes. Times are UTC unless marked local."
            .into(),
    }
}

/// Pretty JSON of the model, paths relative to the bundle so output is machine-independent.
pub fn to_json(model: &ReportModel) -> Result<String> {
    let mut s = serde_json::to_string_pretty(model).map_err(|e| Error::Render {
        report: "model.json".into(),
        message: e.to_string(),
    })?;
    s.push('\n');
    Ok(s)
}

/// Shorthand for display of optional bytes.
pub fn bytes_or_np(b: Option<Bytes>) -> String {
    b.map(|b| b.human()).unwrap_or_else(|| NOT_PROVIDED.to_string())
}
