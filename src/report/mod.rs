//! Reports: the model, text and JSON output, handlebars prose and typst PDFs. Rendering sees
//! only the `ReportModel`; nothing here computes figures.

pub mod model;
pub mod narrative;
pub mod output;
pub mod projection;
pub mod sanitize;
pub mod text;
/// PDF rendering: only with the `render` feature (on by default), so a build that needs the
/// parsers alone (the fuzz targets) does not compile typst.
#[cfg(feature = "render")]
pub mod typst;

use std::path::{Path, PathBuf};

#[cfg(feature = "render")]
use ::typst::foundations::Bytes;
use serde_json::Value;

use crate::cli::{PdfStandard, ReportKind};
use crate::error::{Error, InputError, Location, Result};
use crate::posture::catalog::EMBEDDED_TEMPLATES;
use model::ReportModel;

/// The four PDF reports, in the order they are written.
pub const KINDS: [(&str, ReportKind); 4] = [
    ("executive", ReportKind::Executive),
    ("technical", ReportKind::Technical),
    ("gdpr", ReportKind::Gdpr),
    ("posture", ReportKind::Posture),
];

/// Replaces absolute evidence paths with bundle-relative ones, so output does not depend on
/// where the bundle sits on disk.
pub fn relative_paths(v: &mut Value, base: &str) {
    if base.is_empty() {
        return;
    }
    let base = Base {
        finder: memchr::memmem::Finder::new(base),
        with_slash: format!("{base}/"),
        text: base,
    };
    base.relative(v);
}

/// A bundle directory, found in strings by one searcher built once (a model with thousands of
/// steps holds hundreds of thousands of strings).
struct Base<'a> {
    finder: memchr::memmem::Finder<'a>,
    with_slash: String,
    text: &'a str,
}

impl Base<'_> {
    fn relative(&self, v: &mut Value) {
        use rayon::prelude::*;
        match v {
            // Whole values (evidence `file`) and citations inside sentences (scope reasons).
            Value::String(s) if self.finder.find(s.as_bytes()).is_some() => {
                *s = s.replace(&self.with_slash, "").replace(self.text, ".");
            }
            // The long lists (steps, timeline, sign-ins) on every core.
            Value::Array(a) if a.len() >= 1024 => a.par_iter_mut().for_each(|x| self.relative(x)),
            Value::Array(a) => a.iter_mut().for_each(|x| self.relative(x)),
            Value::Object(m) => m.values_mut().for_each(|x| self.relative(x)),
            _ => {}
        }
    }
}

/// The model as JSON with bundle-relative paths.
///
/// # Errors
/// A render error when the model cannot be serialised.
pub fn model_value(model: &ReportModel, bundle_dir: &Path) -> Result<Value> {
    let mut v = serde_json::to_value(model).map_err(|e| Error::Render {
        report: "model.json".into(),
        message: e.to_string(),
    })?;
    relative_paths(&mut v, &bundle_dir.display().to_string());
    Ok(v)
}

/// Template files as (name, text).
pub type TemplateFiles = Vec<(String, String)>;

/// Template files: the built-in set, with any file of the same name in `dir` taking its
/// place. Returns (name, text) and the names that were overridden.
///
/// # Errors
/// An input error when the template directory or one of its files cannot be read.
pub fn load_templates(dir: Option<&Path>) -> Result<(TemplateFiles, Vec<String>)> {
    let mut files: Vec<(String, String)> = EMBEDDED_TEMPLATES
        .iter()
        .map(|(n, b)| (n.to_string(), String::from_utf8_lossy(b).into_owned()))
        .collect();
    let mut overridden = Vec::new();
    if let Some(d) = dir {
        let rd = std::fs::read_dir(d).map_err(|e| {
            Error::from(InputError::new("template directory", "cannot read directory", Location::file(d)).found(&e.to_string()))
        })?;
        let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect();
        paths.sort();
        for p in paths {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
            if !(name.ends_with(".typ") || name.ends_with(".hbs")) {
                continue;
            }
            let text = crate::input::table::read_text(&p, "template")?;
            match files.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = text,
                None => files.push((name.clone(), text)),
            }
            overridden.push(name);
        }
    }
    Ok((files, overridden))
}

/// Without the `render` feature there is no typst: `casefile report` fails with this error.
///
/// # Errors
/// Always a render error saying the build has no PDF rendering.
#[cfg(not(feature = "render"))]
pub fn render_reports(
    _model: &ReportModel,
    _kind: ReportKind,
    _out: &Path,
    _templates_dir: Option<&Path>,
    _standard: PdfStandard,
    _bundle_dir: &Path,
    _threads: usize,
) -> Result<String> {
    Err(Error::Render {
        report: "PDF reports".into(),
        message: "this casefile was built without the `render` feature (typst)".into(),
    })
}

/// The model as each of `kinds` reads it in typst: without the parts its template does not
/// read (`projection::of`), every string sanitised, serialised straight from the one
/// tree (no copy of it: with thousands of events a copy costs hundreds of MB, and typst
/// parses every byte it is given), the reports' side by side on the cores there are (in the
/// order of `kinds`). With a user-supplied `.typ` template (`user_typ`) every report gets the
/// whole model: a template of the user's own may read any part of it.
#[cfg(feature = "render")]
fn typst_models(model_json: &Value, kinds: &[(&str, ReportKind)], user_typ: bool) -> Result<Vec<Bytes>> {
    use rayon::prelude::*;
    kinds
        .par_iter()
        .map(|(_, k)| {
            let projection = if user_typ {
                projection::Projection::WHOLE
            } else {
                projection::of(*k)
            };
            let projected = projection::Projected {
                value: model_json,
                omit: projection.omit,
                narrow: projection.narrow,
                leaves: &typst::Typeset,
            };
            serde_json::to_vec(&projected).map(Bytes::new).map_err(|e| Error::Render {
                report: "model.json".into(),
                message: e.to_string(),
            })
        })
        .collect()
}

/// `model.json` as written: the model pretty-printed, with a final newline.
#[cfg(feature = "render")]
fn pretty_json(model_json: &Value) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(model_json).map_err(|e| Error::Render {
        report: "model.json".into(),
        message: e.to_string(),
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Renders the requested PDFs and model.json into `out`; returns a summary for stdout.
/// Only with the `render` feature (typst).
///
/// # Errors
/// A template error (exit 1 for a `--templates` file, 3 for a built-in one), or an output error when a file cannot be written.
#[cfg(feature = "render")]
pub fn render_reports(
    model: &ReportModel,
    kind: ReportKind,
    out: &Path,
    templates_dir: Option<&Path>,
    standard: PdfStandard,
    bundle_dir: &Path,
    threads: usize,
) -> Result<String> {
    let (templates, overridden) = load_templates(templates_dir)?;
    let mut model_json = model_value(model, bundle_dir)?;
    let origin = narrative::TemplateOrigin {
        dir: templates_dir,
        user: &overridden,
    };
    let narrative = narrative::render_narrative(&templates, &mut model_json, origin)?;
    // The reports to render, each with the model as it reads it.
    let kinds: Vec<(&str, ReportKind)> = KINDS.into_iter().filter(|(_, k)| kind == ReportKind::All || kind == *k).collect();
    let user_typ = overridden.iter().any(|n| n.ends_with(".typ"));
    // model.json as written and the reports' models, from the one tree side by side.
    let (model_bytes, safe_models, iocs) = std::thread::scope(|s| {
        let pretty = s.spawn(|| pretty_json(&model_json));
        let safe_models = typst_models(&model_json, &kinds, user_typ);
        let iocs = match kind {
            ReportKind::All | ReportKind::Technical => output::iocs_csv(&model_json).map(Some),
            _ => Ok(None),
        };
        let pretty = pretty.join().unwrap_or_else(|_| {
            Err(Error::Render {
                report: "model.json".into(),
                message: "the serialising thread panicked".into(),
            })
        });
        (pretty, safe_models, iocs)
    });
    // The tree (tens of MB of small objects, a tenth of a second to free at 10,000 events) is
    // freed beside the typesetting.
    std::thread::spawn(move || {
        drop(model_json);
        crate::alloc::release_freed_memory();
    });
    let (model_bytes, safe_models, iocs) = (model_bytes?, safe_models?, iocs?);
    // Files are written (and synced) in the background while the PDFs are typeset.
    let mut staged = output::Staged::new(out)?;
    let mut safe_narrative = serde_json::to_value(&narrative).map_err(|e| Error::Render {
        report: "narrative".into(),
        message: e.to_string(),
    })?;
    typst::sanitize_value(&mut safe_narrative);
    let mut shared_files = vec![(
        "narrative.json".to_string(),
        Bytes::new(serde_json::to_vec(&safe_narrative).map_err(|e| Error::Render {
            report: "narrative.json".into(),
            message: e.to_string(),
        })?),
    )];
    if matches!(standard, PdfStandard::A3b) {
        // The unsanitised model, attached to PDF/A-3 reports as machine-readable evidence.
        shared_files.push(("attachment/model.json".to_string(), Bytes::new(model_bytes.clone())));
    }
    staged.stage("model.json", model_bytes);
    if let Some(csv) = iocs {
        staged.stage("iocs.csv", csv);
    }
    let sources: Vec<(String, String)> = templates.iter().filter(|(n, _)| n.ends_with(".typ")).cloned().collect();
    let conformance = match standard {
        PdfStandard::A2b => typst::Conformance::A2b,
        PdfStandard::A3b => typst::Conformance::A3b,
        PdfStandard::Ua1 => typst::Conformance::A2bUa1,
    };
    let jobs: Vec<PdfJob> = kinds
        .into_iter()
        .zip(safe_models)
        .map(|((name, kind), safe_model)| {
            let mut data_files = vec![("model.json".to_string(), safe_model)];
            data_files.extend(shared_files.iter().cloned());
            PdfJob { name, kind, data_files }
        })
        .collect();
    let setting = PdfSetting {
        sources: &sources,
        model,
        standard: conformance,
        templates_dir,
        overridden: &overridden,
        threads,
    };
    let mut layout = Vec::new();
    for (name, pdf) in typeset_all(jobs, &setting)? {
        let Pdf { bytes, overprints } = pdf;
        if let Some(first) = overprints.first() {
            layout.push(format!(
                "layout warning: {name}.pdf has {} text run(s) printing over others or past the page edge; first: {first}",
                overprints.len(),
            ));
        }
        staged.stage(&format!("{name}.pdf"), bytes);
    }
    let written = staged.commit()?;
    let mut summary = String::new();
    for w in written {
        summary.push_str(&format!("wrote {}\n", w.display()));
    }
    for l in &layout {
        summary.push_str(l);
        summary.push('\n');
    }
    if !overridden.is_empty() {
        summary.push_str(&format!(
            "templates taken from {}: {}\n",
            templates_dir.map(|d| d.display().to_string()).unwrap_or_default(),
            overridden.join(", ")
        ));
    }
    Ok(summary)
}

/// One PDF to typeset: its name, kind and the data files its template reads.
#[cfg(feature = "render")]
struct PdfJob {
    name: &'static str,
    kind: ReportKind,
    data_files: Vec<(String, Bytes)>,
}

/// What every PDF of one run shares.
#[cfg(feature = "render")]
struct PdfSetting<'a> {
    sources: &'a [(String, String)],
    model: &'a ReportModel,
    standard: typst::Conformance,
    templates_dir: Option<&'a Path>,
    overridden: &'a [String],
    /// The threads asked for (`--threads`; 0: one per core).
    threads: usize,
}

/// A typeset PDF and the text runs its layout prints over others.
#[cfg(feature = "render")]
struct Pdf {
    bytes: Vec<u8>,
    overprints: Vec<String>,
}

/// Reports typeset at once, at most. The technical report takes about as long as the other
/// three together (10,000 events: 1.5–1.7 s against 1.8–2.0 s), so a third or fourth thread
/// would save little time and add a whole report's layout to the peak memory (100–150 MB).
#[cfg(feature = "render")]
const TYPESETTING_THREADS: usize = 2;

/// Reports typeset at once: the threads asked for (0: one per core), at most
/// [`TYPESETTING_THREADS`], no more than there are reports, at least one.
#[cfg(feature = "render")]
fn typesetting_threads(asked: usize, cores: usize, reports: usize) -> usize {
    let threads = if asked == 0 { cores } else { asked };
    threads.min(TYPESETTING_THREADS).min(reports).max(1)
}

/// The reports' typesetting work relative to one another, heaviest first: the technical
/// report carries every step, its evidence and the timeline.
#[cfg(feature = "render")]
fn weight(kind: ReportKind) -> u8 {
    match kind {
        ReportKind::Technical => 0,
        ReportKind::Posture => 1,
        ReportKind::Executive => 2,
        ReportKind::Gdpr | ReportKind::All => 3,
    }
}

/// Typesets `jobs` two at a time where there are two cores (see [`TYPESETTING_THREADS`]),
/// the heaviest report first and the others in turn beside it; returns the PDFs in the order
/// of `jobs`. typst's memo cache is emptied before they start: memory stays flat when several
/// runs render in one process (typst-notes §4), and the command line, which renders once,
/// does not spend a tenth of a second emptying a cache it gives back with the process
/// (emptying it after each report would throw away what a report typeset alongside still
/// uses).
///
/// # Errors
/// Every report's error (a template's, or the PDF export's), in the order of `jobs`.
#[cfg(feature = "render")]
fn typeset_all(jobs: Vec<PdfJob>, setting: &PdfSetting) -> Result<Vec<(&'static str, Pdf)>> {
    comemo::evict(0);
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| weight(jobs[i].kind));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = typesetting_threads(setting.threads, cores, jobs.len());
    let results: std::sync::Mutex<Vec<Option<Result<Pdf>>>> = std::sync::Mutex::new(jobs.iter().map(|_| None).collect());
    let store = |i: usize, pdf: Result<Pdf>| {
        if let Ok(mut r) = results.lock() {
            r[i] = Some(pdf);
        }
    };
    // This thread takes the heaviest report, the helpers the others in turn.
    let next = std::sync::atomic::AtomicUsize::new(1);
    let work = || {
        while let Some(&i) = order.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
            store(i, typeset(&jobs[i], setting));
        }
    };
    std::thread::scope(|s| {
        let helpers: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        if let Some(&i) = order.first() {
            store(i, typeset(&jobs[i], setting));
        }
        work();
        for h in helpers {
            // A panic in typst is typst's: let it surface as it would on this thread.
            if let Err(p) = h.join() {
                std::panic::resume_unwind(p);
            }
        }
    });
    let results = results.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut pdfs = Vec::new();
    let mut errors = Vec::new();
    for (job, pdf) in jobs.iter().zip(results) {
        match pdf {
            Some(Ok(pdf)) => pdfs.push((job.name, pdf)),
            Some(Err(e)) => errors.push(e),
            None => errors.push(Error::Render {
                report: format!("{}.pdf", job.name),
                message: "not typeset".into(),
            }),
        }
    }
    Error::collect(errors)?;
    Ok(pdfs)
}

/// Lays out one report, checks its text for overprinting and exports it.
#[cfg(feature = "render")]
fn typeset(job: &PdfJob, setting: &PdfSetting) -> Result<Pdf> {
    let name = job.name;
    let world = typst::CaseWorld::new(
        &format!("{name}.typ"),
        setting.sources,
        &job.data_files,
        setting.model.case.as_of,
        typst::inputs(matches!(setting.standard, typst::Conformance::A3b)),
    )?
    .with_user_templates(setting.templates_dir, setting.overridden);
    let doc = typst::compile_document(&world, &format!("{name}.pdf"))?;
    let overprints = typst::overprints(&doc);
    let bytes = typst::export_pdf(
        &doc,
        &format!("{name}.pdf"),
        &format!("{}-{name}", setting.model.case.id),
        setting.model.case.as_of,
        setting.standard,
    )?;
    Ok(Pdf { bytes, overprints })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typst_model(user_typ: bool) -> Value {
        let v = serde_json::json!({"analysis": {"signins_of_compromised": {"status": "provided", "value": ["a\u{202E}b"]}, "steps": []}});
        let out = typst_models(&v, &[("gdpr", ReportKind::Gdpr)], user_typ).unwrap();
        serde_json::from_slice(&out[0]).unwrap()
    }

    #[test]
    fn typesetting_takes_the_threads_asked_for_up_to_two() {
        assert_eq!(typesetting_threads(0, 8, 4), 2, "one per core, at most two");
        assert_eq!(typesetting_threads(0, 1, 4), 1, "one core");
        assert_eq!(typesetting_threads(1, 8, 4), 1, "--threads 1");
        assert_eq!(typesetting_threads(3, 8, 4), 2, "--threads 3");
        assert_eq!(typesetting_threads(0, 8, 1), 1, "one report");
    }

    #[test]
    fn built_in_templates_get_their_projection_and_user_templates_the_whole_model() {
        assert_eq!(typst_model(false), serde_json::json!({"analysis": {"steps": []}}));
        assert_eq!(
            typst_model(true)["analysis"]["signins_of_compromised"]["value"][0],
            "a[U+202E]b",
            "whole and sanitised"
        );
    }
}
