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
pub mod input;
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
    analyse_bundle_with(dir, recommendations, controls, &input::ingest::Options::default())
}

/// [`analyse_bundle`] with explicit ingest options (threads, record limit, progress).
pub fn analyse_bundle_with(
    dir: &Path,
    recommendations: Option<&Path>,
    controls: Option<&Path>,
    ingest: &input::ingest::Options,
) -> Result<CaseRun> {
    let case = case::load_case(dir)?;
    let catalog = posture::catalog::load_catalog(controls)?;
    let mut bundle = bundle::load(&case)?;
    let common = Common {
        bundle: dir.to_path_buf(),
        recommendations: recommendations.map(Path::to_path_buf),
        controls: None,
        ingest: cli::IngestArgs::default(),
    };
    let export = match recommendations_path(&common, &case, &bundle) {
        Some(p) => Source::Provided(posture::recommendations::load_recommendations(&p)?),
        None => Source::NotProvided,
    };
    let prep = analysis::prepare(&case, &bundle);
    let storage = stream_storage(&case, &mut bundle, &prep, ingest)?;
    let analysis = analysis::conclude(&case, &bundle, &catalog, export.provided(), prep, storage);
    Ok(CaseRun {
        case,
        bundle,
        catalog,
        export,
        analysis,
    })
}

/// Streams every storage file through the aggregator, on every core (see `input::ingest`):
/// requests whose effect depends on order reach the main aggregator in log order, the rest
/// are aggregated per chunk and merged in chunk order. Records each file's hash, count and
/// span.
pub fn stream_storage(
    case: &case::Case,
    bundle: &mut Bundle,
    prep: &analysis::Prepared,
    options: &input::ingest::Options,
) -> Result<Source<analysis::exposure::StorageFindings>> {
    use analysis::exposure::StorageAggregator;
    let Some(files) = bundle.storage.provided().cloned() else {
        return Ok(Source::NotProvided);
    };
    let mut agg = StorageAggregator::new(&prep.scope, &case.environment, prep.key_listings.clone());
    let template = agg.part();
    let mut duplicates = vec![0u64; files.len()];
    let results = input::ingest::ingest(
        &files,
        options,
        &|| (template.part(), Vec::new()),
        &|(part, ordered): &mut (StorageAggregator, Vec<bundle::storage::BlobRequest>), r| {
            if part.must_see_in_order(&r) {
                ordered.push(r);
            } else {
                part.add(r);
            }
        },
        &mut |file, (part, ordered), offset| {
            let before = agg.duplicates;
            agg.merge(part, offset);
            for mut r in ordered {
                if let Some(n) = r.origin.record.as_mut() {
                    *n += offset;
                }
                agg.add(r);
            }
            duplicates[file] += agg.duplicates - before;
        },
    );
    let mut errors = Vec::new();
    for ((path, result), dups) in files.iter().zip(results).zip(duplicates) {
        match result {
            Ok(r) => {
                if let Some(report) = bundle.files.iter_mut().find(|f| &f.path == path) {
                    report.records = r.records;
                    report.duplicates = dups;
                    report.first = r.span.first;
                    report.last = r.span.last;
                    report.sha256 = r.sha256;
                    report.bytes = r.bytes;
                }
            }
            Err(e) => errors.push(e),
        }
    }
    Error::collect(errors)?;
    Ok(Source::Provided(agg.finish()))
}

/// The pipeline with the command line's options.
fn analyse_common(common: &Common) -> Result<CaseRun> {
    let mut options = input::ingest::Options {
        threads: common.ingest.threads.unwrap_or(0),
        progress: !common.ingest.quiet,
        ..Default::default()
    };
    if let Some(max) = common.ingest.max_record_bytes {
        options.limits.max_record_bytes = max;
    }
    analyse_bundle_with(
        &common.bundle,
        common.recommendations.as_deref(),
        common.controls.as_deref(),
        &options,
    )
}

/// `validate`'s lines for an evidence directory or glob.
fn describe_tree(t: &input::tree::TreeSummary) -> String {
    let fmt = |ts: Option<types::Timestamp>| ts.map_or("—".to_string(), |t| t.0.format("%Y-%m-%d %H:%M").to_string());
    let mut s = format!(
        "tree {}: {} files, {} records, {} bytes, {} → {} (UTC), list digest {}\n",
        t.pattern,
        t.files,
        t.records,
        t.bytes,
        fmt(t.first),
        fmt(t.last),
        t.digest
    );
    if t.gaps.is_empty() {
        s.push_str("  hourly sequence: no gaps\n");
    }
    for (a, b) in &t.gaps {
        s.push_str(&format!(
            "  gap in the hourly sequence: no file for {} → {} (UTC)\n",
            a.0.format("%Y-%m-%d %H:00"),
            b.0.format("%Y-%m-%d %H:59")
        ));
    }
    s
}

/// Runs one command and returns what to print on stdout.
pub fn run(command: Command) -> Result<String> {
    match command {
        Command::Analyze { common, format } => {
            let run = analyse_common(&common)?;
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
            let run = analyse_common(&common)?;
            let model = report::model::build_model(&run);
            report::render_reports(&model, kind, &out, templates.as_deref(), pdf_standard, &run.case.dir)
        }
    }
}

/// `casefile validate`: reads every input and describes it; exit 0 only if all could be read.
fn validate(common: &Common) -> Result<String> {
    let run = analyse_common(common)?;
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
    for tree in &run.bundle.trees {
        out.push_str(&describe_tree(&input::tree::summarise(tree, &run.case.dir, &run.bundle.files)));
    }
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
