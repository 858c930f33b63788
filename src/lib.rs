//! casefile turns an Azure incident case bundle into what three audiences need: executives,
//! engineers and the regulator.
//!
//! # Steps
//! 1. **Case**: `case::load_case` reads `case.toml` (what evidence cannot say).
//! 2. **Ingest**: `bundle::load` reads sign-ins, Activity log, alerts and risk detections;
//!    `posture` reads the recommendations export and the control catalog.
//! 3. **Analyse**: `analysis::prepare` settles the attacker scope; storage logs stream through
//!    `analysis::exposure::StorageAggregator`; `analysis::conclude` builds steps, timeline,
//!    gaps, exposure, cost, GDPR, response and detections.
//! 4. **Report**: `report::model` builds the one model every output is drawn from; `report`
//!    renders text, JSON and PDFs; `report::output` writes files atomically.

pub mod analysis;
pub mod bundle;
pub mod case;
pub mod cli;
pub mod error;
pub mod posture;
pub mod report;
pub mod types;

use std::path::{Path, PathBuf};

use bundle::{Bundle, Source, SourceKind};
use cli::{Command, Common, Format};
use error::{Error, Result};
use posture::recommendations::RecommendationExport;

/// Everything one run produced, before formatting.
pub struct CaseRun {
    pub case: case::Case,
    pub bundle: Bundle,
    pub catalog: posture::catalog::Catalog,
    pub export: Source<RecommendationExport>,
    pub analysis: analysis::Analysis,
}

fn recommendations_path(common: &Common, case: &case::Case, bundle: &Bundle) -> Option<PathBuf> {
    common
        .recommendations
        .clone()
        .or_else(|| case.recommendations.clone())
        .or_else(|| bundle.recommendation_files.first().cloned())
}

/// The whole pipeline for one bundle.
pub fn analyse_bundle(dir: &Path, recommendations: Option<&Path>, controls: Option<&Path>) -> Result<CaseRun> {
    let case = case::load_case(dir)?;
    let catalog = posture::catalog::load_catalog(controls)?;
    let mut bundle = bundle::load(&case)?;
    let common = Common {
        bundle: dir.to_path_buf(),
        recommendations: recommendations.map(Path::to_path_buf),
        controls: None,
    };
    let export = match recommendations_path(&common, &case, &bundle) {
        Some(p) => Source::Provided(posture::recommendations::load_recommendations(&p)?),
        None => Source::NotProvided,
    };
    let mut prep = analysis::prepare(&case, &bundle);
    weigh_storage_history(&case, &bundle, &mut prep)?;
    let storage = stream_storage(&case, &mut bundle, &prep)?;
    let analysis = analysis::conclude(&case, &bundle, &catalog, export.provided(), prep, storage);
    Ok(CaseRun {
        case,
        bundle,
        catalog,
        export,
        analysis,
    })
}

/// When leads rest on addresses nothing corroborates, reads their earlier storage history:
/// an address that is the organisation's own nightly workload clears the lead. Costs one
/// extra pass over the storage logs, only in that case.
fn weigh_storage_history(case: &case::Case, bundle: &Bundle, prep: &mut analysis::Prepared) -> Result<()> {
    let mut history = prep.scope.history_targets();
    let Some(files) = bundle.storage.provided() else { return Ok(()) };
    if history.is_empty() {
        return Ok(());
    }
    for path in files {
        bundle::storage::stream(path, &mut |r| {
            analysis::scope::record_history(&mut history, &r);
            Ok(())
        })?;
    }
    analysis::scope::apply_history(&mut prep.scope, case, &history);
    Ok(())
}

/// Streams every storage file through one aggregator; records each file's count and span.
fn stream_storage(
    case: &case::Case,
    bundle: &mut Bundle,
    prep: &analysis::Prepared,
) -> Result<Source<analysis::exposure::StorageFindings>> {
    let Some(files) = bundle.storage.provided().cloned() else {
        return Ok(Source::NotProvided);
    };
    let mut agg = analysis::exposure::StorageAggregator::new(&prep.scope, &case.environment, prep.key_listings.clone());
    let mut errors = Vec::new();
    for path in &files {
        let before = agg.duplicates;
        match bundle::storage::stream(path, &mut |r| {
            agg.add(r);
            Ok(())
        }) {
            Ok((info, span)) => {
                if let Some(report) = bundle.files.iter_mut().find(|f| &f.path == path) {
                    report.records = info.records;
                    report.duplicates = agg.duplicates - before;
                    report.first = span.first;
                    report.last = span.last;
                }
            }
            Err(e) => errors.push(e),
        }
    }
    Error::collect(errors)?;
    Ok(Source::Provided(agg.finish()))
}

/// Runs one command and returns what to print on stdout.
pub fn run(command: Command) -> Result<String> {
    match command {
        Command::Analyze { common, format } => {
            let run = analyse_bundle(&common.bundle, common.recommendations.as_deref(), common.controls.as_deref())?;
            let model = report::model::build_model(&run);
            match format {
                Format::Json => {
                    let v = report::model_value(&model, &run.case.dir)?;
                    let mut s = serde_json::to_string_pretty(&v).map_err(|e| Error::Render {
                        report: "model".into(),
                        message: e.to_string(),
                    })?;
                    s.push('\n');
                    Ok(s)
                }
                Format::Text => Ok(report::text::render_text(&model)),
            }
        }
        Command::Validate { common } => validate(&common),
        Command::Report {
            common,
            kind,
            out,
            templates,
            pdf_standard,
        } => {
            let run = analyse_bundle(&common.bundle, common.recommendations.as_deref(), common.controls.as_deref())?;
            let model = report::model::build_model(&run);
            report::render_reports(&model, kind, &out, templates.as_deref(), pdf_standard, &run.case.dir)
        }
    }
}

/// `casefile validate`: reads every input and describes it; exit 0 only if all could be read.
fn validate(common: &Common) -> Result<String> {
    let run = analyse_bundle(&common.bundle, common.recommendations.as_deref(), common.controls.as_deref())?;
    let mut out = String::new();
    out.push_str(&format!("case {} — {}\n\n", run.case.id, run.case.title));
    let rel = |p: &Path| p.strip_prefix(&run.case.dir).unwrap_or(p).display().to_string();
    let w = run
        .bundle
        .files
        .iter()
        .map(|f| rel(&f.path).chars().count())
        .max()
        .unwrap_or(4)
        .max(4)
        + 1;
    out.push_str(&format!(
        "{:<w$} {:<22} {:>8} {:>10}  {:<36} {}\n",
        "file", "kind", "records", "duplicates", "time span (UTC)", "notes"
    ));
    for f in &run.bundle.files {
        let name = rel(&f.path);
        let span = match (f.first, f.last) {
            (Some(a), Some(b)) => format!("{} → {}", a.0.format("%Y-%m-%d %H:%M"), b.0.format("%Y-%m-%d %H:%M")),
            _ => "—".into(),
        };
        let mut notes = f.warnings.clone();
        if f.duplicates > 0 {
            notes.push(format!("{} duplicate records dropped", f.duplicates));
        }
        if !f.unknown_columns.is_empty() {
            let shown: Vec<&str> = f.unknown_columns.iter().take(5).map(String::as_str).collect();
            let more = f.unknown_columns.len().saturating_sub(shown.len());
            notes.push(format!(
                "{} unknown columns ignored ({}{})",
                f.unknown_columns.len(),
                shown.join(", "),
                if more > 0 { format!(", … {more} more") } else { String::new() }
            ));
        }
        out.push_str(&format!(
            "{:<w$} {:<22} {:>8} {:>10}  {:<36} {}\n",
            name,
            f.kind.map(|k| k.describe()).unwrap_or("unrecognised"),
            f.records,
            f.duplicates,
            span,
            notes.join("; ")
        ));
    }
    if let Source::Provided(e) = &run.export {
        out.push_str(&format!(
            "{:<w$} {:<22} {:>8} {:>10}  {:<36} {}\n",
            rel(&e.path),
            "recommendations export",
            e.records,
            e.superseded,
            e.exported_at
                .map(|t| format!("exported {}", t.0.format("%Y-%m-%d %H:%M")))
                .unwrap_or_default(),
            if e.superseded > 0 {
                format!("{} superseded rows dropped", e.superseded)
            } else {
                String::new()
            }
        ));
    }
    out.push('\n');
    for (kind, consequence) in [
        (
            SourceKind::Signins,
            "the identity compromise (how, from where, with which controls) cannot be shown",
        ),
        (
            SourceKind::Activity,
            "management-plane steps, VM cost and lateral movement cannot be shown",
        ),
        (
            SourceKind::Storage,
            "data exposure (bytes, objects, containers) and the GDPR severity cannot be established",
        ),
        (SourceKind::Alerts, "detection times and alert entities cannot be shown"),
    ] {
        if !run.bundle.files.iter().any(|f| f.kind == Some(kind)) {
            out.push_str(&format!("missing: {} — {consequence}\n", kind.describe()));
        }
    }
    if !run.export.is_provided() {
        out.push_str("missing: recommendations export — control gaps can be proven only from the evidence itself\n");
    }
    out.push_str(&format!(
        "catalog: {} controls ({})\n",
        run.catalog.controls.len(),
        run.catalog.source
    ));
    out.push_str("all inputs read\n");
    Ok(out)
}
