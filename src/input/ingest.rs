//! Storage logs on every core, read once.
//!
//! One reader thread walks the files in their given order. A file larger than a chunk it
//! reads once (memory-mapped when it is plain text, else through a [`HashingReader`] that
//! decodes gzip, UTF-16 and a BOM), learns the layout from the head and cuts the text into
//! record-aligned chunks; its SHA-256 is taken from the same bytes on a hashing thread. A file
//! no larger than a chunk (the hourly blobs of a diagnostic-settings archive) goes whole to a
//! worker, which reads it with one call (no mapping to set up and tear down), parses and
//! hashes it itself, so many small files are read on every core. Worker threads parse
//! chunks into per-chunk parts. The calling thread merges the parts in file and chunk order,
//! so the result does not depend on the number of threads or on which worker finished first.
//! A CSV chunk cut by quote parity whose quotes turn out not to be plain RFC 4180, so that its
//! end is not where `csv` ends a record (see [`chunk`](super::chunk)), is read up to the
//! record in progress; the calling thread reads the rest of that file again itself (the first
//! chunk cut where `csv` ends a record), and sets the workers' later chunks of it aside.
//! The chunks and files queued or being parsed hold at most [`QUEUED_CHUNKS`] × threads ×
//! chunk size of text (a budget of bytes, not of jobs: a tree of small files keeps as many
//! files in the queue as one large file keeps chunks), so memory is bounded whatever the size
//! of the input.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use super::chunk::{End, HashState, HashThread, HashingReader, Limits, SplitError, Splitter, Text};
use super::mapped::{self, MappedSplitter};
use super::progress::Progress;
use crate::bundle::storage::{self, BlobRequest, ChunkStats, FileFormat, Layout, Parsed};
use crate::bundle::Span;
use crate::error::{Error, InputError, Location, Offset, Result};
use crate::input::table::{self as records, Input};
use crate::input::table::{DateOrder, HeadOrder};

const WHAT: &str = "storage log";

/// Files read ahead of their hash (see the reader thread in [`ingest`]).
const HASH_LAG: usize = 8;

/// Chunks of the full size queued or being parsed, per worker (see [`Budget`]).
const QUEUED_CHUNKS: usize = 2;

/// Bytes of chunk text queued or being parsed: the reader takes a chunk's size before it
/// queues it and waits while the budget is spent; a worker gives it back when it has parsed
/// the chunk. A chunk larger than the whole budget goes when nothing else is queued.
struct Budget {
    used: Mutex<usize>,
    freed: std::sync::Condvar,
    limit: usize,
}

impl Budget {
    fn new(limit: usize) -> Budget {
        Budget {
            used: Mutex::new(0),
            freed: std::sync::Condvar::new(),
            limit,
        }
    }

    fn take(&self, n: usize) {
        let mut used = self.used.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while *used > 0 && used.saturating_add(n) > self.limit {
            used = self.freed.wait(used).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *used += n;
    }

    fn give(&self, n: usize) {
        let mut used = self.used.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *used = used.saturating_sub(n);
        self.freed.notify_one();
    }
}

/// The workers' queue, within the budget.
struct Queue<'a> {
    jobs: mpsc::Sender<Job<'a>>,
    budget: &'a Budget,
}

impl<'a> Queue<'a> {
    /// Queues `job` once the budget allows; false when the workers are gone.
    fn push(&self, job: Job<'a>) -> bool {
        let size = job.size();
        self.budget.take(size);
        let sent = self.jobs.send(job).is_ok();
        if !sent {
            self.budget.give(size);
        }
        sent
    }
}

/// How to ingest (the default: a thread per core, default limits, no progress bar).
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Parsing threads (besides the reader); 0 means one per core.
    pub threads: usize,
    pub limits: Limits,
    /// Show a progress bar on stderr when it is a terminal and the input is large.
    pub progress: bool,
}

impl Options {
    fn workers(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }
}

/// What reading one file established.
#[derive(Debug, Clone)]
pub struct FileResult {
    pub sha256: String,
    pub bytes: u64,
    pub records: u64,
    pub span: Span,
}

/// One file, open: its layout and the rest of its text.
struct FileReader {
    path: PathBuf,
    format: Arc<FileFormat>,
    source: Source,
    /// Chunk 0's text after the header, waiting to be handed out.
    pending: Option<Piece>,
    /// Where the next chunk starts in the file's text.
    text_at: u64,
}

/// A chunk of a file's text as the reader hands it out.
struct Piece {
    text: Text,
    /// Its first line in its own numbering: 1, or for a CSV file's first chunk the line
    /// after the header. (Each chunk's parser counts its lines; the merge adds the lines of
    /// the chunks before.)
    line: u64,
    end: End,
    /// Where it starts in the file's text.
    at: u64,
}

/// Where a file's text comes from.
enum Source {
    /// A plain text file no larger than a chunk, read whole with one call and hashed on the
    /// thread that reads it (taken once).
    Whole { text: Option<Text>, hash: HashState },
    /// A plain text file on disk whose records are cut into chunks: mapped, not read.
    Mapped(MappedSplitter),
    /// Anything else (compressed, UTF-16, a JSON document, bytes in memory): read through a
    /// [`HashingReader`] and decoded. `on_disk`: whether `finish` may reopen the file to hash
    /// what the decoder left unread.
    Stream {
        text: Streamed,
        hash: Rc<RefCell<HashState>>,
        on_disk: bool,
    },
}

enum Streamed {
    Chunks(Splitter<Input>),
    /// A document parsed whole (taken when it is handed out).
    Document(Option<Input>),
}

fn open_error(path: &Path, e: std::io::Error) -> Error {
    InputError::new(WHAT, "cannot open file", Location::file(path))
        .found(&e.to_string())
        .expected("a readable file")
        .into()
}

fn read_error(path: &Path, e: std::io::Error) -> Error {
    InputError::new(WHAT, "read error", Location::file(path))
        .found(&e.to_string())
        .into()
}

fn split_error(path: &Path, e: SplitError) -> Error {
    match e {
        SplitError::Io(e) => read_error(path, e),
        SplitError::TooLong(t) => {
            let mut loc = Location::file(path);
            loc.line = Some(t.line);
            InputError::new(WHAT, "record too long", loc)
                .found(&format!("a record of more than {} bytes", t.limit))
                .expected("records shorter than the limit")
                .hint("raise the limit with --max-record-bytes if the record is genuine")
                .into()
        }
    }
}

impl FileReader {
    /// Opens a file on disk: mapped when it is plain text cut into chunks, otherwise read as
    /// a stream. Its hash is taken on `hasher` when given (a thread of its own, so reading
    /// and hashing overlap), else on this thread.
    fn open(path: &Path, limits: Limits, hasher: Option<&HashThread>) -> Result<FileReader> {
        let mut file = File::open(path).map_err(|e| open_error(path, e))?;
        let hash = || hasher.map_or_else(HashState::default, HashState::on);
        if let Some(reader) = FileReader::mapped(path, &file, limits, hash)? {
            return Ok(reader);
        }
        file.seek(SeekFrom::Start(0)).map_err(|e| read_error(path, e))?;
        let (hashing, hash) = HashingReader::with(Box::new(file) as Box<dyn Read>, hash());
        FileReader::streamed(path, hashing, hash, limits, true)
    }

    /// A file no larger than a chunk (an hourly blob of a diagnostic-settings archive), read
    /// with one call into memory and hashed here when it is plain text cut into chunks (no
    /// mapping to set up and tear down, no separate read of its head). Any other file (gzip,
    /// UTF-16, a JSON document, one larger than a record may be) is opened again as
    /// [`FileReader::open`] opens it: its decoder reads from the disk, and what it leaves
    /// unread is still hashed from there.
    fn whole(path: &Path, limits: Limits) -> Result<FileReader> {
        // One chunk holds it, and no record in it can be longer than a record may be; the
        // splitter decides everything else (and says where a record is too long).
        let fits = |n: usize| n > 0 && n <= limits.chunk_bytes.min(limits.max_record_bytes);
        let mut file = File::open(path).map_err(|e| open_error(path, e))?;
        let len = file.metadata().map_err(|e| read_error(path, e))?.len();
        if !usize::try_from(len).is_ok_and(fits) {
            return FileReader::open(path, limits, None);
        }
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.read_to_end(&mut bytes).map_err(|e| read_error(path, e))?;
        let bom = bytes.starts_with(mapped::UTF8_BOM);
        let head = &bytes[if bom { mapped::UTF8_BOM.len() } else { 0 }..];
        // Checked again on what was read: the file may have changed size since.
        if !fits(bytes.len()) || !mapped::is_plain(&bytes) {
            return FileReader::open(path, limits, None);
        }
        let (layout, order) = storage::sniff(path, head[..head.len().min(records::HEAD_BYTES)].to_vec());
        if layout.boundary().is_none() {
            return FileReader::open(path, limits, None);
        }
        let mut hash = HashState::default();
        hash.update(&bytes);
        let mut text = Text::Owned(bytes);
        if bom {
            text = text.skip(mapped::UTF8_BOM.len());
        }
        FileReader::chunked(path, layout, order, Source::Whole { text: Some(text), hash })
    }

    /// `file` as a mapped file, if it is a non-empty regular file of plain text (not gzip, not
    /// UTF-16) whose layout is cut into chunks (CSV, JSON Lines).
    fn mapped(path: &Path, file: &File, limits: Limits, hash: impl FnOnce() -> HashState) -> Result<Option<FileReader>> {
        let meta = file.metadata().map_err(|e| read_error(path, e))?;
        let len = match usize::try_from(meta.len()) {
            Ok(len) if meta.is_file() && len > 0 => len,
            _ => return Ok(None),
        };
        let (head, bom) = match mapped::read_head(&mut &*file, records::HEAD_BYTES).map_err(|e| read_error(path, e))? {
            mapped::Head::Plain { text, bom } => (text, bom),
            mapped::Head::Encoded(_) => return Ok(None),
        };
        let (layout, order) = storage::sniff(path, head);
        let Some(boundary) = layout.boundary() else {
            return Ok(None);
        };
        let file = file.try_clone().map_err(|e| open_error(path, e))?;
        // A file system that cannot map files (some network and FUSE mounts) is read as a stream.
        let Ok(splitter) = MappedSplitter::new(file, len, bom, boundary, limits, hash()) else {
            return Ok(None);
        };
        FileReader::chunked(path, layout, order, Source::Mapped(splitter)).map(Some)
    }

    /// The text of `path` again, from `at` bytes into it (a record's start, on line `line`),
    /// its first chunk cut where `csv` ends a record: for text a worker gave back (see [`Parsed`]) after the
    /// chunks that follow it were cut from the wrong place. Its hash is not wanted (the first
    /// reading takes it).
    fn reopen(path: &Path, format: &Arc<FileFormat>, at: u64, line: u64, limits: Limits) -> Result<FileReader> {
        let not_cut = || read_error(path, std::io::Error::other("a JSON document is read whole, not cut"));
        let boundary = format.layout.boundary().ok_or_else(not_cut)?;
        let mut file = File::open(path).map_err(|e| open_error(path, e))?;
        let len = file.metadata().map_err(|e| read_error(path, e))?.len();
        let head = mapped::read_head(&mut &file, 0).map_err(|e| read_error(path, e))?;
        let splitter = match (head, usize::try_from(len)) {
            (mapped::Head::Plain { bom, .. }, Ok(len)) => file
                .try_clone()
                .ok()
                .and_then(|f| MappedSplitter::new(f, len, bom, boundary, limits, HashState::nowhere()).ok()),
            _ => None,
        };
        let source = if let Some(mut m) = splitter {
            m.resume_at(usize::try_from(at).unwrap_or(usize::MAX));
            Source::Mapped(m)
        } else {
            // Decoded again from the start (gzip, UTF-16, or a file that cannot be mapped).
            file.seek(SeekFrom::Start(0)).map_err(|e| read_error(path, e))?;
            let (hashing, hash) = HashingReader::with(Box::new(file) as Box<dyn Read>, HashState::nowhere());
            let mut input = records::decode(hashing).map_err(|e| read_error(path, e))?;
            std::io::copy(&mut (&mut input).take(at), &mut std::io::sink()).map_err(|e| read_error(path, e))?;
            Source::Stream {
                text: Streamed::Chunks(Splitter::new(input, Vec::new(), line, boundary, limits).exactly()),
                hash,
                on_disk: false,
            }
        };
        Ok(FileReader {
            path: path.to_path_buf(),
            format: Arc::clone(format),
            source,
            pending: None,
            text_at: at,
        })
    }

    /// `raw` holds the file's bytes; `path` names it in messages (and its extension helps
    /// tell the shape). `on_disk`: whether `finish` may reopen `path` to hash what the decoder
    /// left unread.
    fn from_reader(path: &Path, raw: Box<dyn Read>, limits: Limits, on_disk: bool) -> Result<FileReader> {
        let (hashing, hash) = HashingReader::new(raw);
        FileReader::streamed(path, hashing, hash, limits, on_disk)
    }

    fn streamed(
        path: &Path,
        hashing: HashingReader<Box<dyn Read>>,
        hash: Rc<RefCell<HashState>>,
        limits: Limits,
        on_disk: bool,
    ) -> Result<FileReader> {
        let mut input = records::decode(hashing).map_err(|e| read_error(path, e))?;
        let mut head = Vec::with_capacity(records::HEAD_BYTES);
        (&mut input)
            .take(records::HEAD_BYTES as u64)
            .read_to_end(&mut head)
            .map_err(|e| read_error(path, e))?;
        let (layout, order) = storage::sniff(path, head.clone());
        let text = match layout.boundary() {
            None => Streamed::Document(Some(Box::new(std::io::Cursor::new(head).chain(input)))),
            Some(b) => Streamed::Chunks(Splitter::new(input, head, 1, b, limits)),
        };
        FileReader::chunked(path, layout, order, Source::Stream { text, hash, on_disk })
    }

    /// The reader over `source`, with the CSV header (if any) read from the first chunk.
    fn chunked(path: &Path, mut layout: Layout, order: HeadOrder, source: Source) -> Result<FileReader> {
        let mut reader = FileReader {
            path: path.to_path_buf(),
            // A stand-in until the header is read.
            format: Arc::new(FileFormat {
                path: path.to_path_buf(),
                layout: Layout::Document,
                order: HeadOrder::known(DateOrder::Unknown),
            }),
            source,
            pending: None,
            text_at: 0,
        };
        if layout.boundary().is_some() {
            let mut first = reader.next()?;
            if let Layout::Csv(csv) = &mut layout {
                // A header after more line breaks than a chunk holds, or cut by parity inside
                // its quotes: the chunks are joined until one holds it (as one chunk would).
                let header = loop {
                    let (text, end) = first.as_ref().map_or((&[][..], End::Last), |p| (&p.text[..], p.end));
                    if let Some(header) = storage::read_csv_header(path, csv, text, end)? {
                        break header;
                    }
                    first = match (first.take(), reader.next()?) {
                        (Some(p), Some(next)) => Some(Piece {
                            text: Text::Owned([&p.text[..], &next.text[..]].concat()),
                            end: next.end,
                            ..p
                        }),
                        // The end of the text.
                        (p, None) => p.map(|p| Piece { end: End::Last, ..p }),
                        (None, next) => next,
                    };
                };
                // The data starts on the line after the header.
                reader.pending = first.map(|p| Piece {
                    line: p.line + memchr::memchr_iter(b'\n', &p.text[..header]).count() as u64,
                    at: p.at + header as u64,
                    text: p.text.skip(header),
                    end: p.end,
                });
            } else {
                reader.pending = first;
            }
        }
        reader.format = Arc::new(FileFormat {
            path: path.to_path_buf(),
            layout,
            order,
        });
        Ok(reader)
    }

    /// The next chunk.
    fn next(&mut self) -> Result<Option<Piece>> {
        if let Some(p) = self.pending.take() {
            return Ok(Some(p));
        }
        let path = &self.path;
        let next = match &mut self.source {
            Source::Whole { text, .. } => text.take().map(|t| (t, End::Last)),
            Source::Mapped(m) => m.next_chunk().map_err(|e| split_error(path, e))?,
            Source::Stream {
                text: Streamed::Chunks(s), ..
            } => s
                .next_chunk()
                .map_err(|e| split_error(path, e))?
                .map(|c| (Text::Owned(c.data), c.end)),
            Source::Stream {
                text: Streamed::Document(doc),
                ..
            } => match doc.take() {
                Some(mut doc) => {
                    let mut all = Vec::new();
                    doc.read_to_end(&mut all).map_err(|e| read_error(path, e))?;
                    Some((Text::Owned(all), End::Last))
                }
                None => None,
            },
        };
        Ok(next.map(|(text, end)| {
            let at = self.text_at;
            self.text_at += text.len() as u64;
            Piece { text, line: 1, end, at }
        }))
    }

    /// Takes back the end of the last chunk, which its parser did not read (see
    /// [`Parsed`]): it starts the next chunk, which is cut where `csv` ends a record.
    fn give_back(&mut self, rest: Text) {
        self.text_at -= rest.len() as u64;
        match &mut self.source {
            Source::Whole { text, .. } => *text = Some(rest),
            Source::Mapped(m) => m.give_back(rest.len()),
            Source::Stream {
                text: Streamed::Chunks(s), ..
            } => s.give_back(rest.into_vec()),
            // A document is one chunk, read whole.
            Source::Stream {
                text: Streamed::Document(_),
                ..
            } => {}
        }
    }

    /// Raw bytes read so far.
    fn bytes_read(&self) -> u64 {
        match &self.source {
            Source::Whole { hash, .. } => hash.bytes,
            Source::Mapped(m) => m.position(),
            Source::Stream { hash, .. } => hash.borrow().bytes,
        }
    }

    /// The file's SHA-256 and size, hashing whatever was left unread.
    fn finish(self) -> Result<(String, u64)> {
        self.finish_reading().map(HashState::digest)
    }

    /// Hands whatever was left unread to the hash; returns the hash, which may still be at
    /// work on its own thread (so the next file can be read meanwhile).
    fn finish_reading(self) -> Result<HashState> {
        let path = self.path;
        let (text, hash, on_disk) = match self.source {
            Source::Whole { hash, .. } => return Ok(hash),
            Source::Mapped(m) => return m.finish().map_err(|e| read_error(&path, e)),
            Source::Stream { text, hash, on_disk } => (text, hash, on_disk),
        };
        drop(text);
        let mut state = Rc::try_unwrap(hash).map_or_else(|rc| std::mem::take(&mut *rc.borrow_mut()), RefCell::into_inner);
        if !on_disk {
            return Ok(state);
        }
        let mut file = File::open(&path).map_err(|e| open_error(&path, e))?;
        file.seek(SeekFrom::Start(state.bytes)).map_err(|e| read_error(&path, e))?;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = file.read(&mut buf).map_err(|e| read_error(&path, e))?;
            if n == 0 {
                break;
            }
            state.update(&buf[..n]);
        }
        Ok(state)
    }
}

/// A hashing thread when there is a core to spare for it.
fn hash_thread() -> Option<HashThread> {
    std::thread::available_parallelism()
        .is_ok_and(|n| n.get() > 1)
        .then(HashThread::spawn)
}

fn shift_error(mut e: Error, by: Offset) -> Error {
    if let Error::Input(ie) = &mut e {
        ie.location.shift(by);
    }
    e
}

impl Offset {
    /// The offset of the chunk after one read with this offset.
    fn after(self, chunk: &ChunkStats) -> Offset {
        Offset {
            records: self.records + chunk.records,
            lines: self.lines + chunk.next_line.saturating_sub(1),
        }
    }
}

/// What reading a file in order yields: each request (record and line numbers counted from
/// the file's start), and after a chunk's requests the chunk's statistics.
// Handed to a callback by value and never stored: boxing the request would allocate per record.
#[allow(clippy::large_enum_variant)]
pub enum Step<'a> {
    Request(BlobRequest<'a>),
    ChunkEnd(ChunkStats),
}

/// Reads one file on this thread, chunk by chunk, handing each request to `on` as it is
/// parsed (borrowing the chunk's text, so nothing is copied). Returns the file's SHA-256 and
/// size.
pub fn read_file_sequentially(path: &Path, limits: Limits, on: &mut dyn FnMut(Step<'_>)) -> Result<(String, u64)> {
    read_sequentially(FileReader::open(path, limits, hash_thread().as_ref())?, on)
}

/// [`read_file_sequentially`] over bytes already open (in memory, for the fuzz harness);
/// `name` stands for the file in messages.
pub fn read_sequentially_from(name: &Path, raw: Box<dyn Read>, limits: Limits, on: &mut dyn FnMut(Step<'_>)) -> Result<(String, u64)> {
    read_sequentially(FileReader::from_reader(name, raw, limits, false)?, on)
}

fn read_sequentially(mut reader: FileReader, on: &mut dyn FnMut(Step<'_>)) -> Result<(String, u64)> {
    let format = Arc::clone(&reader.format);
    let mut offset = Offset::default();
    while let Some(piece) = reader.next()? {
        let Parsed { stats, unread } = storage::parse_chunk(&format, piece.text, piece.line, piece.end, &mut |mut r| {
            r.origin.shift(offset);
            on(Step::Request(r));
        })
        .map_err(|e| shift_error(e, offset))?;
        offset = offset.after(&stats);
        on(Step::ChunkEnd(stats));
        if let Some(rest) = unread {
            reader.give_back(rest);
        }
    }
    reader.finish()
}

/// What a worker is given.
enum Job<'a> {
    /// One chunk of a file the reader thread cuts.
    Chunk {
        file: usize,
        index: usize,
        format: Arc<FileFormat>,
        piece: Piece,
    },
    /// A file no larger than a chunk, opened, cut, parsed and hashed by the worker itself:
    /// a tree of many small files is read on every core, hashes included, and the reader
    /// thread does not open each one in turn.
    Whole { file: usize, path: &'a Path, size: usize },
}

impl Job<'_> {
    /// Bytes of text it holds (of the budget).
    fn size(&self) -> usize {
        match self {
            Job::Chunk { piece, .. } => piece.text.len(),
            Job::Whole { size, .. } => *size,
        }
    }
}

/// A parsed chunk, or None when its file had already failed and it was skipped.
type ChunkResult<P> = Option<Result<Done<P>>>;

/// What a worker made of a chunk.
struct Done<P> {
    part: P,
    stats: ChunkStats,
    /// Where the text its parser gave back starts (see [`Parsed`]): the chunks after it were
    /// cut from the wrong place, and the file is read again from there.
    reread: Option<Reread>,
}

/// A file to read again from `at` in its text.
struct Reread {
    format: Arc<FileFormat>,
    at: u64,
}

enum Msg<P> {
    Chunk {
        file: usize,
        index: usize,
        result: ChunkResult<P>,
    },
    FileEnd {
        file: usize,
        chunks: usize,
        result: Result<(String, u64)>,
    },
}

/// Per-file merge state on the calling thread.
#[derive(Default)]
struct Tally {
    next: usize,
    chunks: Option<usize>,
    end: Option<Result<(String, u64)>>,
    /// Records and lines of the chunks merged so far.
    offset: Offset,
    span: Span,
    error: Option<Error>,
    /// Whether the rest of the file was read again on the calling thread (see [`Reread`]):
    /// the workers' later chunks of it are left aside.
    reread: bool,
}

impl Tally {
    /// Counts a chunk merged.
    fn add(&mut self, stats: &ChunkStats) {
        self.offset = self.offset.after(stats);
        if let (Some(a), Some(b)) = (stats.span.first, stats.span.last) {
            self.span.add(a);
            self.span.add(b);
        }
    }
}

/// Ingests `files` on `options.threads` workers. Each chunk's requests go to a fresh part
/// (`new_part`, `add`); parts reach `merge` in file and chunk order with the records and
/// lines of that file before them (to shift record and line numbers). Returns each file's outcome;
/// a file's first error (in record order) stops that file only.
pub fn ingest<P: Send>(
    files: &[PathBuf],
    options: &Options,
    new_part: &(dyn Fn() -> P + Sync),
    add: &(dyn Fn(&mut P, BlobRequest<'_>) + Sync),
    merge: &mut dyn FnMut(usize, P, Offset),
) -> Vec<Result<FileResult>> {
    let workers = options.workers();
    let cancelled: Vec<AtomicBool> = files.iter().map(|_| AtomicBool::new(false)).collect();
    let sizes: Vec<Option<u64>> = files.iter().map(|f| std::fs::metadata(f).ok().map(|m| m.len())).collect();
    let total: u64 = sizes.iter().flatten().sum();
    // Files small enough to be one chunk go to a worker whole (see `Job::Whole`).
    let whole = |file: usize| {
        sizes[file]
            .and_then(|n| usize::try_from(n).ok())
            .filter(|&n| n <= options.limits.chunk_bytes)
    };
    let progress = Progress::new(options.progress, total);
    let done_bytes = AtomicU64::new(0);
    let mut tallies: Vec<Tally> = files.iter().map(|_| Tally::default()).collect();
    let budget = Budget::new(QUEUED_CHUNKS * workers * options.limits.chunk_bytes.max(1));
    let (job_tx, job_rx) = mpsc::channel::<Job>();
    let job_rx = Mutex::new(job_rx);
    let (msg_tx, msg_rx) = mpsc::channel::<Msg<P>>();
    std::thread::scope(|s| {
        let limits = options.limits;
        for _ in 0..workers {
            let (msg_tx, job_rx, cancelled, budget) = (msg_tx.clone(), &job_rx, &cancelled, &budget);
            s.spawn(move || loop {
                let job = match job_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok(job) = job else { return };
                let size = job.size();
                match job {
                    Job::Chunk {
                        file,
                        index,
                        format,
                        piece,
                    } => {
                        let result = (!cancelled[file].load(Ordering::Relaxed)).then(|| {
                            let mut part = new_part();
                            let chunk_end = piece.at + piece.text.len() as u64;
                            let parsed = storage::parse_chunk(&format, piece.text, piece.line, piece.end, &mut |r| add(&mut part, r));
                            parsed.map(|Parsed { stats, unread }| Done {
                                part,
                                stats,
                                reread: unread.map(|rest| Reread {
                                    format: Arc::clone(&format),
                                    at: chunk_end - rest.len() as u64,
                                }),
                            })
                        });
                        let _ = msg_tx.send(Msg::Chunk { file, index, result });
                    }
                    Job::Whole { file, path, .. } => read_whole(file, path, limits, new_part, add, &|msg| {
                        let _ = msg_tx.send(msg);
                    }),
                }
                budget.give(size);
            });
        }
        {
            let (msg_tx, cancelled, progress, done_bytes, budget, whole) =
                (msg_tx.clone(), &cancelled, &progress, &done_bytes, &budget, &whole);
            s.spawn(move || {
                let end = |file, chunks, result| {
                    let _ = msg_tx.send(Msg::FileEnd { file, chunks, result });
                };
                // Files whose hash is still at work on its thread, oldest first: the next file
                // is read meanwhile (a tree of small files would otherwise wait for each one's
                // hash), at most HASH_LAG of them.
                let mut hashing: VecDeque<(usize, usize, HashState)> = VecDeque::new();
                let hasher = hash_thread();
                let queue = Queue { jobs: job_tx, budget };
                for (file, path) in files.iter().enumerate() {
                    progress.file(path);
                    if let Some(size) = whole(file) {
                        if !queue.push(Job::Whole { file, path, size }) {
                            break;
                        }
                        progress.set(done_bytes.fetch_add(size as u64, Ordering::Relaxed) + size as u64);
                        continue;
                    }
                    let (chunks, result) = read_one(file, path, limits, hasher.as_ref(), &queue, &cancelled[file], &|n| {
                        progress.set(done_bytes.load(Ordering::Relaxed) + n)
                    });
                    match result {
                        Ok(hash) => {
                            done_bytes.fetch_add(hash.bytes, Ordering::Relaxed);
                            hashing.push_back((file, chunks, hash));
                        }
                        Err(e) => end(file, chunks, Err(e)),
                    }
                    while hashing.len() > HASH_LAG {
                        if let Some((file, chunks, hash)) = hashing.pop_front() {
                            end(file, chunks, Ok(hash.digest()));
                        }
                    }
                }
                for (file, chunks, hash) in hashing {
                    end(file, chunks, Ok(hash.digest()));
                }
            });
        }
        drop(msg_tx);
        let mut pending: BTreeMap<(usize, usize), ChunkResult<P>> = BTreeMap::new();
        let mut current = 0usize;
        for msg in msg_rx {
            match msg {
                Msg::Chunk { file, index, result } => {
                    pending.insert((file, index), result);
                }
                Msg::FileEnd { file, chunks, result } => {
                    tallies[file].chunks = Some(chunks);
                    tallies[file].end = Some(result);
                }
            }
            while current < files.len() {
                let t = &mut tallies[current];
                if let Some(result) = pending.remove(&(current, t.next)) {
                    t.next += 1;
                    match result {
                        _ if t.error.is_some() || t.reread => {}
                        Some(Ok(Done { part, stats, reread })) => {
                            merge(current, part, t.offset);
                            t.add(&stats);
                            if let Some(reread) = reread {
                                // The workers stop on this file; the reader thread only hashes
                                // the rest of it.
                                cancelled[current].store(true, Ordering::Relaxed);
                                t.reread = true;
                                let merge_here = &mut |part, offset| merge(current, part, offset);
                                if let Err(e) = read_again(&files[current], &reread, options.limits, t, new_part, add, merge_here) {
                                    t.error = Some(e);
                                }
                            }
                        }
                        Some(Err(e)) => {
                            t.error = Some(shift_error(e, t.offset));
                            cancelled[current].store(true, Ordering::Relaxed);
                        }
                        None => {}
                    }
                } else if t.chunks == Some(t.next) {
                    current += 1;
                } else {
                    break;
                }
            }
        }
    });
    progress.finish();
    tallies
        .into_iter()
        .map(|t| {
            if let Some(e) = t.error {
                return Err(e);
            }
            let (sha256, bytes) = t
                .end
                .unwrap_or_else(|| Err(InputError::new(WHAT, "not read", Location::file(Path::new(""))).into()))?;
            Ok(FileResult {
                sha256,
                bytes,
                records: t.offset.records,
                span: t.span,
            })
        })
        .collect()
}

/// Reads a file again on this thread from where a worker gave text back ([`Reread`]), its
/// first chunk cut where `csv` ends a record, each chunk into a part for `merge`, counted in
/// `tally`.
fn read_again<P>(
    path: &Path,
    reread: &Reread,
    limits: Limits,
    tally: &mut Tally,
    new_part: &dyn Fn() -> P,
    add: &dyn Fn(&mut P, BlobRequest<'_>),
    merge: &mut dyn FnMut(P, Offset),
) -> Result<()> {
    let mut reader = FileReader::reopen(path, &reread.format, reread.at, tally.offset.lines + 1, limits)?;
    while let Some(piece) = reader.next()? {
        let mut part = new_part();
        let Parsed { stats, unread } = storage::parse_chunk(&reread.format, piece.text, piece.line, piece.end, &mut |r| add(&mut part, r))
            .map_err(|e| shift_error(e, tally.offset))?;
        merge(part, tally.offset);
        tally.add(&stats);
        if let Some(rest) = unread {
            reader.give_back(rest);
        }
    }
    Ok(())
}

/// A worker's work for a whole file ([`Job::Whole`]): each chunk's part, then the file's end
/// with its hash (taken on this thread), to `send`. A chunk that fails ends the file.
fn read_whole<P>(
    file: usize,
    path: &Path,
    limits: Limits,
    new_part: &dyn Fn() -> P,
    add: &dyn Fn(&mut P, BlobRequest<'_>),
    send: &dyn Fn(Msg<P>),
) {
    let mut reader = match FileReader::whole(path, limits) {
        Ok(r) => r,
        Err(e) => {
            return send(Msg::FileEnd {
                file,
                chunks: 0,
                result: Err(e),
            })
        }
    };
    let format = Arc::clone(&reader.format);
    let mut index = 0;
    let result = loop {
        match reader.next() {
            Ok(Some(piece)) => {
                let mut part = new_part();
                let parsed = storage::parse_chunk(&format, piece.text, piece.line, piece.end, &mut |r| add(&mut part, r));
                let failed = parsed.is_err();
                let result = parsed.map(|Parsed { stats, unread }| {
                    // The reader is this thread's: text given back is simply cut again.
                    if let Some(rest) = unread {
                        reader.give_back(rest);
                    }
                    Done { part, stats, reread: None }
                });
                send(Msg::Chunk {
                    file,
                    index,
                    result: Some(result),
                });
                index += 1;
                if failed {
                    break reader.finish();
                }
            }
            Ok(None) => break reader.finish(),
            Err(e) => break Err(e),
        }
    };
    send(Msg::FileEnd {
        file,
        chunks: index,
        result,
    });
}

/// The reader thread's work for one file: chunks to the queue until the end, an error or a
/// worker's error cancels the file. Returns how many chunks were queued and the hash (which
/// may still be at work).
fn read_one(
    file: usize,
    path: &Path,
    limits: Limits,
    hasher: Option<&HashThread>,
    queue: &Queue,
    cancelled: &AtomicBool,
    progress: &dyn Fn(u64),
) -> (usize, Result<HashState>) {
    let mut reader = match FileReader::open(path, limits, hasher) {
        Ok(r) => r,
        Err(e) => return (0, Err(e)),
    };
    let mut index = 0;
    loop {
        if cancelled.load(Ordering::Relaxed) {
            return (index, reader.finish_reading());
        }
        match reader.next() {
            Ok(Some(piece)) => {
                let job = Job::Chunk {
                    file,
                    index,
                    format: Arc::clone(&reader.format),
                    piece,
                };
                if !queue.push(job) {
                    return (index, reader.finish_reading());
                }
                index += 1;
                progress(reader.bytes_read());
            }
            Ok(None) => return (index, reader.finish_reading()),
            Err(e) => return (index, Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_lets_a_large_chunk_through_alone_and_waits_for_room() {
        let budget = Budget::new(100);
        // Larger than the budget, but nothing else is queued: it goes.
        budget.take(250);
        let waited = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                budget.take(10);
                waited.store(true, Ordering::SeqCst);
            });
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert!(!waited.load(Ordering::SeqCst), "taken while the budget was spent");
            budget.give(250);
        });
        assert!(waited.load(Ordering::SeqCst));
        budget.take(90);
        budget.give(100);
        assert_eq!(*budget.used.lock().unwrap_or_else(std::sync::PoisonError::into_inner), 0);
    }
}
