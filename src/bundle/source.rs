//! The contract every evidence source implements, and the registry that iterates them.
//!
//! A source is one module under `bundle/` holding everything casefile knows about one kind of
//! export: its name, how a file of it is recognised (its [`Signature`]s, as data), which
//! fields its parser reads (from which "unknown columns" are derived, so the two cannot
//! drift), how its records are parsed and kept, what a file without certain fields cannot
//! tell ([`Capability`], as data) and what the reports cannot say when it is missing. In the
//! spirit of ripgrep's `Sink`: the loader drives, the source only answers.
//!
//! [`SourceKind`] is a handle to a registered source: it compares, sorts and serialises by
//! the source's key (`"signins"`), so a source added in one module needs no enum variant.
//! [`Registry`] is the ordered list the loader, `validate`, `init`, the case file and the
//! report model ask; [`super::SOURCES`] is the built-in list.

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use super::{Bundle, FileReport, Source};
use crate::error::Result;
use crate::input::table::{self, Shape, TableOptions, Visit};
use crate::types::{Span, Timestamp};

/// One evidence source. Implement it on a unit struct in the source's module and add one
/// line to [`super::SOURCES`].
pub trait EvidenceSource: Sync {
    /// The stable key: `kind = "…"` in case.toml and `casefile init`, and the kind in JSON
    /// output.
    fn key(&self) -> &'static str;

    /// Other names accepted for `kind` in case.toml (Log Analytics table names), lower-case.
    fn aliases(&self) -> &'static [&'static str] {
        &[]
    }

    /// What a reader calls this source in messages and reports ("sign-in log").
    fn describe(&self) -> &'static str;

    /// The export shapes that identify a file of this source, most specific first. A source
    /// without signatures is used only when declared (`kind = "…"`).
    fn signatures(&self) -> &'static [Signature] {
        &[]
    }

    /// When its signatures are tried, lowest first; ties keep the order of registration. A
    /// source whose shapes share fields with broader ones goes first (risk detections carry
    /// a user and an address, as sign-ins do). The default, 0, tries a new source before
    /// the built-in ones, so a specific new shape is not taken for a broader one.
    fn precedence(&self) -> u8 {
        0
    }

    /// Which fields its parser reads, for the "unknown columns" of each file.
    fn fields(&self) -> FieldList {
        FieldList::Asked
    }

    /// What a file without certain fields cannot tell; `validate` and the report's data
    /// quality say it once per file.
    fn capabilities(&self) -> &'static [Capability] {
        &[]
    }

    /// What the reports cannot say when no file of this source is provided. `Some` makes it
    /// an expected source: listed in the report's sources and in `validate`'s "missing" lines.
    fn consequence(&self) -> Option<&'static str> {
        None
    }

    /// The source whose findings this one gives in another shape (a storage summary stands
    /// for the storage log): "provided" and coverage checks then see one source.
    fn stands_for(&self) -> Option<SourceKind> {
        None
    }

    /// Whether the file is hashed and counted later, while its records stream through the
    /// analysis (storage logs: one read of a large file, not two).
    fn streamed(&self) -> bool {
        false
    }

    /// Reads one file's records into the bundle: sets the report's record count, widens the
    /// span, and keeps the records (see [`Intake`]).
    ///
    /// # Errors
    /// An input error naming the file, record and field of the first record that cannot be read.
    fn load(&self, file: &FileIn, intake: &mut Intake) -> Result<()>;

    /// How many records a file holds and their time span, for `casefile init`. By default the
    /// file is loaded into a scratch bundle.
    ///
    /// # Errors
    /// As [`EvidenceSource::load`].
    fn survey(&self, path: &Path) -> Result<(u64, Span)> {
        let mut bundle = Bundle::default();
        let mut seen = Seen::default();
        let mut report = FileReport::new(path, None, Shape::Csv);
        let mut span = Span::default();
        let file = FileIn {
            path,
            shape: table::peek(path, "export")?.shape,
            options: &TableOptions::NONE,
        };
        self.load(&file, &mut Intake::new(&mut bundle, &mut seen, &mut report, &mut span))?;
        Ok((report.records, span))
    }
}

/// Which fields a source reads.
#[derive(Debug, Clone, Copy)]
pub enum FieldList {
    /// Every field its parser asks a [`table::Row`] for, recorded while the file is read:
    /// the list is the parser's own requests.
    Asked,
    /// A fixed list, for a parser that reads fields without asking a `Row` (storage's fast
    /// path), which is also the list that parser looks up.
    Declared(&'static [&'static str]),
    /// The records are not read as evidence here (declared `other`; the recommendations
    /// export, which `posture` reads): no "unknown columns".
    NotRead,
}

/// One requirement of a [`Signature`]: any of these (normalised) names, and how to say that
/// none was there.
#[derive(Debug, Clone, Copy)]
pub struct Need {
    pub any: &'static [&'static str],
    pub what: &'static str,
}

/// Shorthand for a [`Need`] in a `const` signature list.
pub const fn need(any: &'static [&'static str], what: &'static str) -> Need {
    Need { any, what }
}

/// How one export shape of one source is recognised from its column (field) names. A
/// resource-log record's `properties.*` fields are matched by their bare names (see
/// `table::record_names`).
#[derive(Debug, Clone, Copy)]
pub struct Signature {
    /// The shape in words, for "looks like …" messages.
    pub shape: &'static str,
    pub needs: &'static [Need],
}

impl Signature {
    fn met(&self, columns: &[String]) -> usize {
        self.needs
            .iter()
            .filter(|n| n.any.iter().any(|a| columns.iter().any(|c| c == a)))
            .count()
    }
    /// The first requirement the columns do not meet.
    fn lacks(&self, columns: &[String]) -> Option<&'static str> {
        self.needs
            .iter()
            .find(|n| !n.any.iter().any(|a| columns.iter().any(|c| c == a)))
            .map(|n| n.what)
    }
}

/// Something a file of a source can tell only when it has one of these fields (a column, or
/// an object holding it).
#[derive(Debug, Clone, Copy)]
pub struct Capability {
    pub any: &'static [&'static str],
    /// What is lost without it, completing "no …".
    pub without: &'static str,
}

impl Capability {
    fn present(&self, columns: &[String]) -> bool {
        self.any.iter().any(|n| {
            columns
                .iter()
                .any(|c| c == n || c.strip_prefix(n).is_some_and(|r| r.starts_with('.')))
        })
    }
}

/// A handle to a registered source; compares, sorts and serialises by its key.
#[derive(Clone, Copy)]
pub struct SourceKind(&'static dyn EvidenceSource);

impl SourceKind {
    /// The kind of a source (a unit struct, promoted to `'static`).
    pub const fn of(source: &'static dyn EvidenceSource) -> SourceKind {
        SourceKind(source)
    }
    /// The source itself.
    pub fn source(self) -> &'static dyn EvidenceSource {
        self.0
    }
    /// The stable key (`"signins"`).
    pub fn key(self) -> &'static str {
        self.0.key()
    }
    /// What a reader calls it ("sign-in log").
    pub fn describe(self) -> &'static str {
        self.0.describe()
    }
    /// The source whose findings it gives: itself, or the one it stands for.
    pub fn findings_of(self) -> SourceKind {
        self.0.stands_for().unwrap_or(self)
    }
}

impl PartialEq for SourceKind {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for SourceKind {}
impl PartialOrd for SourceKind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for SourceKind {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(other.key())
    }
}
impl std::hash::Hash for SourceKind {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}
impl std::fmt::Debug for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}
impl Serialize for SourceKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.key())
    }
}

/// The sources casefile knows, in the order their signatures are tried.
#[derive(Debug, Clone)]
pub struct Registry {
    sources: Vec<SourceKind>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new(super::SOURCES)
    }
}

impl Registry {
    /// A registry of exactly these sources, tried in this order.
    pub fn new(sources: &[SourceKind]) -> Registry {
        Registry { sources: sources.to_vec() }
    }
    /// This registry with `kind` added after the others (its signatures are tried by its
    /// [`EvidenceSource::precedence`]).
    #[must_use]
    pub fn with(mut self, kind: SourceKind) -> Registry {
        self.sources.retain(|k| *k != kind);
        self.sources.push(kind);
        self
    }
    /// The sources in order of registration (the order reports list them in).
    pub fn iter(&self) -> impl Iterator<Item = SourceKind> + '_ {
        self.sources.iter().copied()
    }
    /// The sources the reports expect, with what they cannot say without each.
    pub fn expected(&self) -> impl Iterator<Item = (SourceKind, &'static str)> + '_ {
        self.iter().filter_map(|k| k.source().consequence().map(|c| (k, c)))
    }
    /// The kind named in case.toml (`kind = "signins"`, or a table name such as `SigninLogs`).
    pub fn parse_kind(&self, name: &str) -> Option<SourceKind> {
        let name = name.to_ascii_lowercase();
        self.iter()
            .find(|k| k.key() == name || k.source().aliases().contains(&name.as_str()))
    }
    /// The keys `kind` accepts, for "expected …" messages.
    pub fn expected_kinds(&self) -> String {
        let keys: Vec<&str> = self.iter().map(SourceKind::key).collect();
        match keys.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            Some((last, _)) => (*last).to_string(),
            None => String::new(),
        }
    }
    /// Every signature, in the order they are tried.
    fn signatures(&self) -> impl Iterator<Item = (SourceKind, &'static Signature)> + '_ {
        let mut by_precedence = self.sources.clone();
        by_precedence.sort_by_key(|k| k.source().precedence());
        by_precedence
            .into_iter()
            .flat_map(|k| k.source().signatures().iter().map(move |s| (k, s)))
    }
    /// Decides a table's kind from its (normalised) column names: the first signature all of
    /// whose needs are met. None when none is; the caller then reports the file instead of
    /// guessing.
    pub fn detect(&self, columns: &[String]) -> Option<SourceKind> {
        self.signatures().find(|(_, s)| s.met(columns) == s.needs.len()).map(|(k, _)| k)
    }
    /// For a file that matches no shape: the shape it comes closest to and what it lacks.
    pub fn closest(&self, columns: &[String]) -> Option<(&'static Signature, &'static str)> {
        self.signatures()
            .map(|(_, s)| s)
            .filter(|s| s.met(columns) > 0)
            .max_by_key(|s| (s.met(columns) * 100 / s.needs.len(), s.met(columns)))
            .and_then(|s| s.lacks(columns).map(|l| (s, l)))
    }
}

/// What a file's columns cannot tell, said once per file so reports can qualify their
/// findings (the portal's Activity-log CSV, for one, has no caller IP, region or request body).
pub fn missing_capabilities(kind: SourceKind, columns: &[String]) -> Vec<String> {
    kind.source()
        .capabilities()
        .iter()
        .filter(|c| !c.present(columns))
        .map(|c| format!("no {}", c.without))
        .collect()
}

/// The file a source is asked to load.
pub struct FileIn<'a> {
    pub path: &'a Path,
    pub shape: Shape,
    /// The declared zone, field tracking and anomaly counts, for [`table::read_table_with`].
    pub options: &'a TableOptions<'a>,
}

/// Record keys already kept, per source, for de-duplication across files.
#[derive(Default)]
pub struct Seen {
    keys: BTreeMap<SourceKind, BTreeSet<String>>,
    /// Per source: key → index of the record kept for it.
    index: BTreeMap<SourceKind, BTreeMap<String, usize>>,
}

/// Where a source puts what it read from one file: the bundle, the file's report and span.
pub struct Intake<'a> {
    bundle: &'a mut Bundle,
    seen: &'a mut Seen,
    pub report: &'a mut FileReport,
    pub span: &'a mut Span,
}

impl<'a> Intake<'a> {
    /// An intake into `bundle` for the file `report` describes.
    pub fn new(bundle: &'a mut Bundle, seen: &'a mut Seen, report: &'a mut FileReport, span: &'a mut Span) -> Self {
        Intake {
            bundle,
            seen,
            report,
            span,
        }
    }

    /// The bundle, for what is not a list of records (a file to read later).
    pub fn bundle(&mut self) -> &mut Bundle {
        self.bundle
    }

    /// Adds a file's records to the list `select` picks, dropping records whose key an
    /// earlier file or record had (the same event in two overlapping exports counts once);
    /// the dropped ones are counted as the file's duplicates.
    pub fn keep_unique<T>(
        &mut self,
        kind: SourceKind,
        items: Vec<T>,
        select: impl FnOnce(&mut Bundle) -> &mut Source<Vec<T>>,
        key: impl Fn(&T) -> String,
    ) {
        let seen = self.seen.keys.entry(kind).or_default();
        let mut kept = Vec::with_capacity(items.len());
        for item in items {
            if seen.insert(key(&item)) {
                kept.push(item);
            } else {
                self.report.duplicates += 1;
            }
        }
        match select(self.bundle) {
            Source::Provided(v) => v.extend(kept),
            source @ Source::NotProvided => *source = Source::Provided(kept),
        }
    }

    /// Adds records keeping one per key: the one `newer` prefers (a record exported again
    /// on every update). Returns how many rows were replaced or not taken.
    pub fn keep_latest<T>(
        &mut self,
        kind: SourceKind,
        items: Vec<T>,
        select: impl FnOnce(&mut Bundle) -> &mut Source<Vec<T>>,
        key: impl Fn(&T) -> String,
        newer: impl Fn(&T, &T) -> bool,
    ) -> u64 {
        let index = self.seen.index.entry(kind).or_default();
        let source = select(self.bundle);
        if let Source::NotProvided = source {
            *source = Source::Provided(Vec::new());
        }
        let Source::Provided(kept) = source else { return 0 };
        let mut superseded = 0;
        for item in items {
            match index.get(&key(&item)) {
                Some(&i) => {
                    superseded += 1;
                    if newer(&item, &kept[i]) {
                        kept[i] = item;
                    }
                }
                None => {
                    index.insert(key(&item), kept.len());
                    kept.push(item);
                }
            }
        }
        superseded
    }

    /// Reads every record of the file with `parse`, widening the span by `at`; sets the
    /// file's record count. The common path of a source whose records are a table.
    ///
    /// # Errors
    /// The parser's error for the first record that cannot be read.
    pub fn read_all<T>(
        &mut self,
        file: &FileIn,
        what: &str,
        parse: impl Fn(&table::Row) -> Result<T>,
        at: impl Fn(&T) -> Option<Timestamp>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        let span = &mut *self.span;
        let info = table::read_table_with(file.path, what, file.options, &mut |row| {
            let item = parse(row)?;
            if let Some(t) = at(&item) {
                span.add(t);
            }
            out.push(item);
            Ok(Visit::Continue)
        })?;
        self.report.records = info.records;
        Ok(out)
    }
}

/// Records of sources that have no field of their own in [`Bundle`], by kind. A source added
/// in one module keeps its records here; the analysis reads them with
/// [`Bundle::records`].
#[derive(Default)]
pub struct Store(BTreeMap<SourceKind, Box<dyn Any + Send + Sync>>);

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Store {
    /// The records of `kind`, when a file of it was read and they are of type `T`.
    pub fn get<T: 'static>(&self, kind: SourceKind) -> Option<&Vec<T>> {
        match self.0.get(&kind)?.downcast_ref::<Source<Vec<T>>>()? {
            Source::Provided(v) => Some(v),
            Source::NotProvided => None,
        }
    }
    /// The list of `kind`'s records, created "not provided" on first use.
    ///
    /// # Panics
    /// When `kind` was stored with another record type: two types for one source is a
    /// programming error in that source's module.
    pub fn list_mut<T: Send + Sync + 'static>(&mut self, kind: SourceKind) -> &mut Source<Vec<T>> {
        self.0
            .entry(kind)
            .or_insert_with(|| Box::new(Source::<Vec<T>>::NotProvided))
            .downcast_mut::<Source<Vec<T>>>()
            .expect("one record type per source")
    }
}
