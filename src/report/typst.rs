//! `CaseWorld`: an in-memory typst `World` that serves only the embedded fonts, the report
//! templates, `model.json` and `narrative.json`, with `today()` fixed to the case's as-of
//! date. No file system, no packages, no clock; so a render depends on its inputs alone and
//! the same case gives byte-identical PDFs. Also the sanitiser (`report::sanitize`) with the
//! embedded fonts' coverage.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{Datelike, Timelike};
use serde_json::Value;
use typst::diag::{FileError, FileResult, PackageError, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Dict, IntoValue};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World, WorldExt};
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards};

use crate::error::{Error, Result, TemplateError};
use crate::types::Timestamp;

struct Fonts {
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

/// Fonts are parsed once per process (about 3 ms).
fn fonts() -> &'static Fonts {
    static FONTS: OnceLock<Fonts> = OnceLock::new();
    FONTS.get_or_init(|| {
        let fonts: Vec<Font> = typst_assets::fonts().flat_map(|data| Font::iter(Bytes::new(data))).collect();
        Fonts {
            book: LazyHash::new(FontBook::from_fonts(&fonts)),
            fonts,
        }
    })
}

/// Whether some embedded font can draw `c`. Printable ASCII always can (every embedded text
/// font covers it), which spares the font scan for almost every character.
fn drawable(c: char) -> bool {
    if c.is_ascii_graphic() {
        return true;
    }
    static CACHE: OnceLock<Vec<Font>> = OnceLock::new();
    let fonts = CACHE.get_or_init(|| fonts().fonts.clone());
    fonts.iter().any(|f| f.info().coverage.contains(c as u32))
}

/// [`sanitize::sanitize_with`](super::sanitize::sanitize_with) with the embedded fonts
/// deciding which characters can be drawn.
pub fn sanitize(s: &str) -> String {
    super::sanitize::sanitize_with(s, drawable)
}

/// Sanitises every string in a JSON value (keys are ours and left alone).
pub fn sanitize_value(v: &mut Value) {
    super::sanitize::sanitize_value_with(v, &drawable);
}

/// A projection's kept values as typst is given them: every string sanitised.
pub struct Typeset;

impl super::projection::Leaves for Typeset {
    fn serialize_value<S: serde::Serializer>(&self, value: &Value, s: S) -> Result<S::Ok, S::Error> {
        use serde::Serialize;
        super::sanitize::Sanitized {
            value,
            drawable: &drawable,
        }
        .serialize(s)
    }
}

/// A typst date-time for a UTC instant (typst's range is narrower than chrono's).
fn datetime(t: Timestamp) -> Option<Datetime> {
    let t = t.0;
    Datetime::from_ymd_hms(
        t.year(),
        t.month() as u8,
        t.day() as u8,
        t.hour() as u8,
        t.minute() as u8,
        t.second() as u8,
    )
}

fn file_id(path: &str) -> Result<FileId> {
    let vpath = VirtualPath::new(path).map_err(|e| Error::Render {
        report: path.into(),
        message: format!("{e:?}"),
    })?;
    Ok(RootedPath::new(VirtualRoot::Project, vpath).intern())
}

/// The in-memory world for one report.
pub struct CaseWorld {
    library: LazyHash<Library>,
    main: FileId,
    sources: HashMap<FileId, Source>,
    files: HashMap<FileId, Bytes>,
    today: Datetime,
    /// The directory of user-supplied templates and the names taken from it, so that a
    /// diagnostic in one of them names its real path and counts as bad input.
    user: Option<(std::path::PathBuf, Vec<String>)>,
}

impl CaseWorld {
    /// `main` is the template to compile; `sources` are all .typ templates; `files` are data
    /// files such as `/model.json` (shared, not copied).
    ///
    /// # Errors
    /// A render error when a template or data file cannot be served.
    pub fn new(main: &str, sources: &[(String, String)], files: &[(String, Bytes)], today: Timestamp, inputs: Dict) -> Result<CaseWorld> {
        let mut srcs = HashMap::new();
        for (name, text) in sources {
            let id = file_id(&format!("/{name}"))?;
            srcs.insert(id, Source::new(id, text.clone()));
        }
        let mut fs = HashMap::new();
        for (name, bytes) in files {
            fs.insert(file_id(&format!("/{name}"))?, bytes.clone());
        }
        let main = file_id(&format!("/{main}"))?;
        if !srcs.contains_key(&main) {
            return Err(Error::Render {
                report: main_name(main),
                message: "template not found".into(),
            });
        }
        let today = datetime(today).ok_or_else(|| Error::Render {
            report: "date".into(),
            message: "as-of time out of range".into(),
        })?;
        Ok(CaseWorld {
            library: LazyHash::new(Library::builder().with_inputs(inputs).build()),
            main,
            sources: srcs,
            files: fs,
            today,
            user: None,
        })
    }

    /// Marks `names` as taken from the user's template directory `dir`.
    pub fn with_user_templates(mut self, dir: Option<&std::path::Path>, names: &[String]) -> CaseWorld {
        self.user = dir.map(|d| (d.to_path_buf(), names.to_vec()));
        self
    }

    /// A typst diagnostic as a typed error at its template file, line and column.
    fn template_error(&self, report: &str, d: &SourceDiagnostic) -> Error {
        let id = d.span.id();
        let name = id.map(|i| i.vpath().get_without_slash().to_string());
        let source = id.and_then(|i| self.sources.get(&i));
        let range = self.range(d.span);
        let (line, column) = match (source, &range) {
            (Some(src), Some(r)) => src
                .lines()
                .byte_to_line_column(r.start)
                .map_or((None, None), |(l, c)| (Some(l + 1), Some(c + 1))),
            _ => (None, None),
        };
        let text = match (source, range) {
            (Some(src), Some(r)) => src.text().get(r).map(str::to_string),
            _ => None,
        };
        let user = match (&self.user, &name) {
            (Some((dir, names)), Some(n)) if names.contains(n) => Some(dir.join(n)),
            _ => None,
        };
        Error::Template(Box::new(TemplateError {
            report: report.to_string(),
            file: match (&user, name) {
                (Some(path), _) => path.display().to_string(),
                (None, Some(n)) => format!("{n} (built-in)"),
                (None, None) => "(no file)".to_string(),
            },
            line,
            column,
            text,
            message: d.message.to_string(),
            hints: d.hints.iter().map(|h| h.v.to_string()).collect(),
            user_supplied: user.is_some(),
        }))
    }
}

fn main_name(id: FileId) -> String {
    format!("{:?}", id.vpath())
}

impl World for CaseWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }
    fn book(&self) -> &LazyHash<FontBook> {
        &fonts().book
    }
    fn main(&self) -> FileId {
        self.main
    }
    fn source(&self, id: FileId) -> FileResult<Source> {
        if let VirtualRoot::Package(p) = id.root() {
            return Err(FileError::Package(PackageError::NotFound(p.clone())));
        }
        self.sources
            .get(&id)
            .cloned()
            .ok_or_else(|| FileError::NotFound(id.vpath().get_without_slash().into()))
    }
    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if let VirtualRoot::Package(p) = id.root() {
            return Err(FileError::Package(PackageError::NotFound(p.clone())));
        }
        if let Some(s) = self.sources.get(&id) {
            return Ok(Bytes::from_string(s.clone()));
        }
        self.files
            .get(&id)
            .cloned()
            .ok_or_else(|| FileError::NotFound(id.vpath().get_without_slash().into()))
    }
    fn font(&self, index: usize) -> Option<Font> {
        fonts().fonts.get(index).cloned()
    }
    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        Some(self.today)
    }
}

/// Which archival/accessibility standards a PDF must meet.
#[derive(Debug, Clone, Copy)]
pub enum Conformance {
    A2b,
    A3b,
    A2bUa1,
}

/// Lays out the world's main template.
///
/// # Errors
/// A template error at its file, line and column.
pub fn compile_document(world: &CaseWorld, report: &str) -> Result<PagedDocument> {
    let fail = |msgs: Vec<String>| Error::Render {
        report: report.to_string(),
        message: msgs.join("; "),
    };
    let warned = typst::compile::<PagedDocument>(world);
    warned.output.map_err(|diags| {
        let errors: Vec<Error> = diags.iter().map(|d| world.template_error(report, d)).collect();
        match Error::collect(errors) {
            Err(e) => e,
            Ok(()) => fail(vec!["compilation failed without a diagnostic".into()]),
        }
    })
}

/// One run of text as laid out: page (1-based), left, right, top and baseline in points.
#[derive(Debug, Clone)]
pub struct TextBox {
    pub page: usize,
    pub x0: f64,
    pub x1: f64,
    pub top: f64,
    pub baseline: f64,
    pub text: String,
}

fn collect_text(frame: &typst::layout::Frame, ts: typst::layout::Transform, page: usize, out: &mut Vec<TextBox>) {
    use typst::layout::{FrameItem, Transform};
    for (pos, item) in frame.items() {
        match item {
            FrameItem::Group(g) => {
                let inner = ts.pre_concat(Transform::translate(pos.x, pos.y)).pre_concat(g.transform);
                collect_text(&g.frame, inner, page, out);
            }
            FrameItem::Text(t) => {
                let origin = pos.transform(ts);
                let scale = ts.sx.get();
                let size = t.size.to_pt() * scale;
                out.push(TextBox {
                    page,
                    x0: origin.x.to_pt(),
                    x1: origin.x.to_pt() + t.width().to_pt() * scale,
                    top: origin.y.to_pt() - 0.7 * size,
                    baseline: origin.y.to_pt(),
                    text: t.text.to_string(),
                });
            }
            _ => {}
        }
    }
}

/// Text that prints over other text (a cell running into the next column) or past the page's
/// right edge: a layout defect, whatever the content. Each entry names the page and the two
/// runs.
pub fn overprints(doc: &PagedDocument) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, page) in doc.pages().iter().enumerate() {
        let mut boxes = Vec::new();
        collect_text(&page.frame, typst::layout::Transform::identity(), i + 1, &mut boxes);
        let width = page.frame.width().to_pt();
        boxes.sort_by(|a, b| a.x0.total_cmp(&b.x0));
        for (j, a) in boxes.iter().enumerate() {
            if a.x1 > width + 0.5 {
                problems.push(format!("page {}: \"{}\" runs past the page edge", a.page, a.text));
            }
            for b in boxes[j + 1..].iter().take_while(|b| b.x0 < a.x1 - 0.5) {
                let v = a.baseline.min(b.baseline) - a.top.max(b.top);
                if v > 0.5 && a.x1 - b.x0 > 0.5 {
                    problems.push(format!("page {}: \"{}\" prints over \"{}\"", a.page, a.text, b.text));
                }
            }
        }
    }
    problems
}

/// Compiles the world's main template to PDF bytes.
///
/// # Errors
/// A template error at its file, line and column, or a render error from the PDF export.
pub fn compile_pdf(world: &CaseWorld, report: &str, ident: &str, created: Timestamp, conformance: Conformance) -> Result<Vec<u8>> {
    let pdf = compile_document(world, report).and_then(|doc| export_pdf(&doc, report, ident, created, conformance));
    // Keep memory flat when several reports render in one process (typst-notes §4).
    comemo::evict(0);
    pdf
}

/// Exports a laid-out document as PDF bytes.
///
/// # Errors
/// A render error when the PDF cannot be exported.
pub fn export_pdf(doc: &PagedDocument, report: &str, ident: &str, created: Timestamp, conformance: Conformance) -> Result<Vec<u8>> {
    let fail = |msgs: Vec<String>| Error::Render {
        report: report.to_string(),
        message: msgs.join("; "),
    };
    let standards = match conformance {
        Conformance::A2b => vec![PdfStandard::A_2b],
        Conformance::A3b => vec![PdfStandard::A_3b],
        Conformance::A2bUa1 => vec![PdfStandard::A_2b, PdfStandard::Ua_1],
    };
    let standards = PdfStandards::new(&standards).map_err(|e| fail(vec![e.message().to_string()]))?;
    let dt = datetime(created).ok_or_else(|| fail(vec!["creation time out of range".into()]))?;
    let options = PdfOptions {
        ident: typst::foundations::Smart::Custom(ident.to_string()),
        creator: typst::foundations::Smart::Custom(Some(format!("casefile {}", env!("CARGO_PKG_VERSION")))),
        timestamp: Some(typst_pdf::Timestamp::new_utc(dt)),
        page_ranges: None,
        standards,
        tagged: true,
        pretty: false,
    };
    typst_pdf::pdf(doc, &options).map_err(|diags| fail(diags.iter().map(|d| d.message.to_string()).collect()))
}

/// `sys.inputs` for templates.
pub fn inputs(attach_model: bool) -> Dict {
    let mut d = Dict::new();
    d.insert("attach-model".into(), attach_model.into_value());
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broken_world(user: bool) -> CaseWorld {
        let sources = vec![("main.typ".to_string(), "= Title\n\nText #undefined-thing here\n".to_string())];
        let t = Timestamp(
            chrono::DateTime::parse_from_rfc3339("2024-03-23T12:00:00Z")
                .unwrap()
                .with_timezone(&chrono::Utc),
        );
        let world = CaseWorld::new("main.typ", &sources, &[], t, Dict::new()).unwrap();
        if user {
            world.with_user_templates(Some(std::path::Path::new("my-templates")), &["main.typ".to_string()])
        } else {
            world
        }
    }

    #[test]
    fn template_errors_name_file_line_column_and_text() {
        let t = Timestamp(
            chrono::DateTime::parse_from_rfc3339("2024-03-23T12:00:00Z")
                .unwrap()
                .with_timezone(&chrono::Utc),
        );
        let e = compile_pdf(&broken_world(true), "x.pdf", "x", t, Conformance::A2b).unwrap_err();
        let Error::Template(te) = &e else {
            panic!("not a template error: {e:?}")
        };
        assert_eq!(te.file, std::path::Path::new("my-templates").join("main.typ").display().to_string());
        assert_eq!((te.line, te.column), (Some(3), Some(7)));
        assert_eq!(te.text.as_deref(), Some("undefined-thing"));
        assert!(te.message.contains("unknown variable"), "{}", te.message);
        assert_eq!(e.exit_code(), 1, "a user's template is bad input");
        assert!(e.render().contains("main.typ:3:7"), "{}", e.render());
        let internal = compile_pdf(&broken_world(false), "x.pdf", "x", t, Conformance::A2b).unwrap_err();
        assert_eq!(internal.exit_code(), 3, "a built-in template error is casefile's");
        assert!(internal.render().contains("main.typ (built-in):3:7"), "{}", internal.render());
    }

    #[test]
    fn bidi_and_control_characters_become_visible() {
        assert_eq!(sanitize("invoice\u{202E}fdp.exe"), "invoice[U+202E]fdp.exe");
        assert_eq!(sanitize("a\u{0}b"), "a[U+0000]b");
        assert_eq!(sanitize("line1\nline2"), "line1 line2");
    }

    #[test]
    fn long_tokens_and_hashes_pass_unchanged() {
        let hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        assert_eq!(sanitize(hash), hash);
        assert_eq!(sanitize(&"A".repeat(100)), "A".repeat(100));
        assert_eq!(sanitize("a\u{200B}b"), "a[U+200B]b");
        let id = "/subscriptions/3f1c2b7e-8d4a-4e61-9b2f-6a0d5c7e9f12/resourceGroups/rg";
        assert_eq!(sanitize(id), id);
    }

    #[test]
    fn characters_without_a_glyph_are_spelled_out() {
        assert_eq!(sanitize("\u{1F600}"), "[U+1F600]");
        assert_eq!(sanitize("漢"), "[U+6F22]");
        assert_eq!(sanitize("café"), "café");
    }
}
