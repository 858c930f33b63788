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

pub mod alloc;
pub mod analysis;
pub mod bundle;
pub mod case;
pub mod cli;
pub mod error;
pub mod init;
pub mod input;
pub mod posture;
pub mod report;
pub mod soc;
pub mod types;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bundle::{recommendations, Bundle, Registry, Source};
use cli::{Command, Common, Format};
use error::{Error, Result};
use posture::recommendations::RecommendationExport;

/// Everything one run produced, before formatting.
pub struct CaseRun {
    pub case: case::Case,
    /// The evidence sources the bundle was read with.
    pub sources: Registry,
    pub bundle: Bundle,
    pub catalog: posture::catalog::Catalog,
    pub export: Source<RecommendationExport>,
    pub analysis: analysis::Analysis,
    /// The saved Azure Retail Prices pages (`[rates] retail_prices`), for the inventory.
    pub retail_prices: Option<soc::prices::PricesFile>,
}

fn recommendations_path(common: &Common, case: &case::Case, bundle: &Bundle) -> Option<PathBuf> {
    common
        .recommendations
        .clone()
        .or_else(|| case.recommendations.clone())
        .or_else(|| bundle.recommendation_files.first().cloned())
}

/// The whole pipeline for one bundle.
///
/// # Errors
/// An input error naming file, record and field for the case file, the catalog, the recommendations export or any evidence file.
pub fn analyse_bundle(dir: &Path, recommendations: Option<&Path>, controls: Option<&Path>) -> Result<CaseRun> {
    analyse_bundle_with(dir, recommendations, controls, &input::ingest::Options::default())
}

/// [`analyse_bundle`] with explicit ingest options (threads, record limit, progress).
///
/// # Errors
/// As [`analyse_bundle`].
pub fn analyse_bundle_with(
    dir: &Path,
    recommendations: Option<&Path>,
    controls: Option<&Path>,
    ingest: &input::ingest::Options,
) -> Result<CaseRun> {
    analyse_bundle_in(&Registry::default(), dir, recommendations, controls, ingest)
}

/// [`analyse_bundle_with`] reading the evidence with the sources of `sources`.
///
/// # Errors
/// As [`analyse_bundle`].
pub fn analyse_bundle_in(
    sources: &Registry,
    dir: &Path,
    recommendations: Option<&Path>,
    controls: Option<&Path>,
    ingest: &input::ingest::Options,
) -> Result<CaseRun> {
    let mut case = case::load_case(dir)?;
    let retail_prices = soc::prices::apply_retail_prices(&mut case)?;
    let catalog = posture::catalog::load_catalog(controls)?;
    let mut bundle = bundle::load_with(sources, &case.dir, &case.evidence)?;
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
    let mut prep = analysis::prepare(&case, &bundle);
    weigh_storage_history(&case, &bundle, &mut prep)?;
    let storage = stream_storage(&case, &mut bundle, &prep, ingest)?;
    bundle.tree_summaries = bundle
        .trees
        .iter()
        .map(|t| input::tree::summarise(t, &case.dir, &bundle.files))
        .collect();
    let analysis = analysis::conclude(&case, &bundle, &catalog, export.provided(), prep, storage);
    Ok(CaseRun {
        case,
        sources: sources.clone(),
        bundle,
        catalog,
        export,
        analysis,
        retail_prices,
    })
}

/// When leads rest on addresses nothing corroborates, reads their earlier storage history:
/// an address that is the organisation's own nightly workload clears the lead. Costs one
/// extra pass over the storage logs, only in that case.
fn weigh_storage_history(case: &case::Case, bundle: &Bundle, prep: &mut analysis::Prepared) -> Result<()> {
    use analysis::exposure::RequestGroup;
    let mut history = prep.scope.history_targets();
    if history.is_empty() || !(bundle.storage.is_provided() || bundle.storage_summary.is_provided()) {
        return Ok(());
    }
    for path in bundle.storage.provided().into_iter().flatten() {
        bundle::storage::stream(path, &mut |r| {
            analysis::scope::record_history(&mut history, &RequestGroup::from(r));
            Ok(())
        })?;
    }
    for row in bundle.storage_summary.provided().into_iter().flatten() {
        analysis::scope::record_history(&mut history, &RequestGroup::from(row.clone()));
    }
    analysis::scope::apply_history(&mut prep.scope, case, &history);
    Ok(())
}

/// Streams every storage file through the aggregator, on every core (see `input::ingest`):
/// requests whose effect depends on order reach the main aggregator in log order, the rest
/// are aggregated per chunk and merged in chunk order. Records each file's hash, count and
/// span. Then adds the rows of storage summaries (requests aggregated in the workspace).
///
/// # Errors
/// An input error naming the file, record and field of the first unreadable request, in every storage file that has one.
pub fn stream_storage(
    case: &case::Case,
    bundle: &mut Bundle,
    prep: &analysis::Prepared,
    options: &input::ingest::Options,
) -> Result<Source<analysis::exposure::StorageFindings>> {
    use analysis::exposure::StorageAggregator;
    if !bundle.storage.is_provided() && !bundle.storage_summary.is_provided() {
        return Ok(Source::NotProvided);
    }
    let files = bundle.storage.provided().cloned().unwrap_or_default();
    let mut agg = StorageAggregator::new(&prep.scope, &case.environment, prep.key_listings.clone());
    let template = agg.part();
    let mut duplicates = vec![0u64; files.len()];
    let results = input::ingest::ingest(
        &files,
        options,
        &|| (template.part(), Vec::new()),
        &|(part, ordered): &mut (StorageAggregator, Vec<bundle::storage::BlobRequest<'static>>), r| {
            if part.must_see_in_order(&r) {
                ordered.push(r.into_owned());
            } else {
                part.add(r);
            }
        },
        &mut |file, (part, ordered), offset| {
            let before = agg.duplicates;
            agg.merge(part, offset);
            for mut r in ordered {
                r.origin.shift(offset);
                agg.add(r);
            }
            duplicates[file] += agg.duplicates - before;
        },
    );
    let mut errors = Vec::new();
    // Each path's (first) report, by index: a tree may list thousands of files.
    let index: HashMap<PathBuf, usize> = bundle.files.iter().enumerate().rev().map(|(i, f)| (f.path.clone(), i)).collect();
    for ((path, result), dups) in files.iter().zip(results).zip(duplicates) {
        match result {
            Ok(r) => {
                if let Some(report) = index.get(path).map(|&i| &mut bundle.files[i]) {
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
    let twice = agg.add_summary(bundle.storage_summary.provided().cloned().unwrap_or_default());
    if let Some((account, at)) = twice.into_iter().next() {
        return Err(error::InputError::new("storage summary", "counts raw requests twice", at)
            .found(&format!("a row of account {account} in the time the raw storage logs of that account cover"))
            .expected("a storage summary in place of the raw storage logs of an account and time, not beside them")
            .hint("list either the raw rows (07-collect-storagebloblogs.kql) or the summary (08-aggregate-storagebloblogs.kql) for one account and time; declare the other with kind = \"other\" to keep it hashed in the inventory")
            .into());
    }
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
///
/// # Errors
/// The command's error: bad input (exit 1), output that cannot be produced or written (exit 3).
pub fn run(command: Command) -> Result<String> {
    // `--threads N`: what runs on rayon (file heads, the reports' models) gets a pool of N
    // for this command (the storage parser and typesetting take N themselves).
    let pool = match command.threads() {
        0 => None,
        n => rayon::ThreadPoolBuilder::new().num_threads(n).build().ok(),
    };
    match pool {
        Some(pool) => pool.install(|| run_command(command)),
        // No pool could be started (the system refused a thread): the process's own.
        None => run_command(command),
    }
}

/// [`run`] on the threads it was given.
fn run_command(command: Command) -> Result<String> {
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
        Command::Init { dir } => init::init(&dir),
        Command::Report {
            common,
            kind,
            out,
            templates,
            pdf_standard,
        } => {
            let run = analyse_common(&common)?;
            let model = report::model::build_model(&run);
            let bundle_dir = run.case.dir.clone();
            // The model holds all the reports read: the run's memory serves typesetting.
            drop(run);
            let threads = common.ingest.threads.unwrap_or(0);
            report::render_reports(&model, kind, &out, templates.as_deref(), pdf_standard, &bundle_dir, threads)
        }
        Command::Timeline { common, format, out } => soc::run_timeline(&common, format, out.as_deref()),
        Command::Rules { common, out } => soc::run_rules(&common, &out),
        Command::Queries { common, out, margin_hours } => soc::run_queries(&common, &out, margin_hours),
        Command::Prices { common } => soc::run_prices(&common),
    }
}

/// `casefile validate`: reads every input and describes it; exit 0 only if all could be read.
fn validate(common: &Common) -> Result<String> {
    Ok(validate_text(&analyse_common(common)?))
}

/// What `validate` prints for a run: every file read, directory trees, what is missing.
pub fn validate_text(run: &CaseRun) -> String {
    let mut out = format!("case {} — {}\n\n", run.case.id, run.case.title);
    out.push_str(&validate_table(run));
    out.push('\n');
    for tree in &run.bundle.tree_summaries {
        out.push_str(&describe_tree(tree));
    }
    out.push_str(&validate_missing(run));
    out.push_str(&validate_case_warnings(&run.case));
    out.push_str(&format!(
        "catalog: {} controls ({})\n",
        run.catalog.controls.len(),
        run.catalog.source
    ));
    out.push_str("all inputs read\n");
    out
}

/// One row of `validate`'s file table.
struct FileRow {
    file: String,
    kind: String,
    records: u64,
    dropped: u64,
    span: String,
    notes: Vec<String>,
}

/// The notes `validate` prints for one evidence file: warnings, what was dropped and why,
/// and the columns no parser read.
fn file_notes(f: &bundle::FileReport) -> Vec<String> {
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
    notes
}

/// Every input file once, in case order; the recommendations export used by the analysis
/// is described by its own reader (it may also be listed under `[[evidence]]`).
fn validate_rows(run: &CaseRun) -> Vec<FileRow> {
    let rel = |p: &Path| p.strip_prefix(&run.case.dir).unwrap_or(p).display().to_string();
    let export = run.export.provided();
    let export_row = |e: &RecommendationExport| {
        let mut notes = e.warnings.clone();
        if e.superseded > 0 {
            notes.push(format!("{} superseded rows dropped", e.superseded));
        }
        FileRow {
            file: rel(&e.path),
            kind: recommendations::KIND.describe().to_string(),
            records: e.records,
            dropped: e.superseded,
            span: e
                .exported_at
                .map(|t| format!("latest assessment {}", t.0.format("%Y-%m-%d %H:%M")))
                .unwrap_or_else(|| "—".into()),
            notes,
        }
    };
    let mut rows = Vec::new();
    let mut export_shown = false;
    for f in &run.bundle.files {
        if let Some(e) = export.filter(|e| e.path == f.path && f.kind == Some(recommendations::KIND)) {
            rows.push(export_row(e));
            export_shown = true;
            continue;
        }
        let mut notes = file_notes(f);
        if f.kind == Some(recommendations::KIND) {
            notes.push("not used: another recommendations export was given".into());
        }
        rows.push(FileRow {
            file: rel(&f.path),
            kind: f.kind.map(|k| k.describe()).unwrap_or("unrecognised").to_string(),
            records: f.records,
            dropped: f.duplicates,
            span: match (f.first, f.last) {
                (Some(a), Some(b)) => format!("{} → {}", a.0.format("%Y-%m-%d %H:%M"), b.0.format("%Y-%m-%d %H:%M")),
                _ => "—".into(),
            },
            notes,
        });
    }
    if let (Some(e), false) = (export, export_shown) {
        rows.push(export_row(e));
    }
    if let Some(p) = &run.retail_prices {
        rows.push(FileRow {
            file: p.path.clone(),
            kind: "retail prices".into(),
            records: p.items,
            dropped: 0,
            span: match (p.effective_from, p.effective_to) {
                (Some(a), Some(b)) => format!("effective {} → {}", a.0.format("%Y-%m-%d"), b.0.format("%Y-%m-%d")),
                _ => "—".into(),
            },
            notes: vec![format!("[rates] retail_prices: {} VM size/region pairs priced", p.priced)],
        });
    }
    rows
}

/// The file table, its columns as wide as their longest cell.
fn validate_table(run: &CaseRun) -> String {
    let rows = validate_rows(run);
    let width = |head: &str, cell: &dyn Fn(&FileRow) -> usize| rows.iter().map(cell).max().unwrap_or(0).max(head.chars().count());
    let wf = width("file", &|r| r.file.chars().count());
    let wk = width("kind", &|r| r.kind.chars().count());
    let ws = width("time span (UTC)", &|r| r.span.chars().count());
    let mut out = format!(
        "{:<wf$}  {:<wk$}  {:>8}  {:>10}  {:<ws$}  {}\n",
        "file", "kind", "records", "duplicates", "time span (UTC)", "notes"
    );
    for r in &rows {
        out.push_str(&format!(
            "{:<wf$}  {:<wk$}  {:>8}  {:>10}  {:<ws$}  {}\n",
            r.file,
            r.kind,
            r.records,
            r.dropped,
            r.span,
            r.notes.join("; ")
        ));
    }
    out
}

/// Which expected sources are missing and what the reports cannot say without them.
/// Case-file settings casefile had to infer: the analyst's to-do, kept out of the reports.
fn validate_case_warnings(case: &case::Case) -> String {
    let mut out = String::new();
    if let Some(g) = case.gdpr.as_ref().filter(|g| !g.regime_stated) {
        let (taken, key) = match g.regime {
            case::GdprRegime::UkGdpr => ("UK GDPR", "uk-gdpr"),
            case::GdprRegime::EuGdpr => ("EU GDPR", "eu-gdpr"),
        };
        out.push_str(&format!(
            "warning: case.toml [gdpr] regime is not stated; taken as {taken} from the supervisory authority named. State it: regime = \"{key}\"\n"
        ));
    }
    out
}

fn validate_missing(run: &CaseRun) -> String {
    let mut out = String::new();
    for (kind, consequence) in run.sources.expected() {
        if !run
            .bundle
            .files
            .iter()
            .any(|f| f.kind.map(bundle::SourceKind::findings_of) == Some(kind))
        {
            out.push_str(&format!("missing: {} — {consequence}\n", kind.describe()));
        }
    }
    if !run.export.is_provided() {
        out.push_str("missing: recommendations export — control gaps can be proven only from the evidence itself\n");
    }
    out
}
