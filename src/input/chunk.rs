//! Record-aligned chunks of a text stream, so one large file can be parsed on every core.
//!
//! A [`Splitter`] reads decoded text into buffers of about [`Limits::chunk_bytes`] and cuts
//! each at the last record boundary in it: the last newline for JSON Lines. For CSV it first
//! takes the last newline outside quotes by quote parity (a newline preceded by an even
//! number of `"` since the chunk started, which also holds for `""` escapes): a memchr count,
//! exact as long as the chunk's quotes are plain RFC 4180. A quote inside an unquoted field
//! (`a"b`, which `csv` keeps as a literal) flips the parity, so such a cut is only
//! [`End::Parity`]: the parser, which sees every quote, checks it, and where the chunk does
//! not end between records in `csv`'s reading it gives the text from the record in progress
//! back ([`Splitter::give_back`]); the next chunk is cut where `csv_core` (the `csv` crate's
//! own state machine) ends records ([`End::Certain`]), and the ones after it by parity again.
//! Where parity finds no cut at all, `csv_core` is asked before the buffer grows. A record
//! longer than a chunk makes the buffer grow (doubling), up to [`Limits::max_record_bytes`];
//! beyond that the file is an input error naming its line, never an allocation of the file's
//! size. The cuts depend on the text alone, not on how much of it was read ahead, so the
//! mapped splitter ([`mapped`](super::mapped)) cuts exactly where this one does. The text's
//! last chunk ends [`End::Last`]. Inside the text a UTF-8 byte-order mark is data to every
//! `csv` reader here (see [`csv_guard`]): a fresh reader would take it off its input's start.
//!
//! [`HashingReader`] hashes the raw bytes as they are read, so a file is read once: for its
//! SHA-256 and for its records.

use std::cell::RefCell;
use std::io::{self, Read};
use std::ops::Range;
use std::rc::Rc;
use std::sync::{mpsc, Arc};

use sha2::{Digest, Sha256};

/// Bounds on what one record may take, and the size chunks aim at.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of decoded text handed to a worker at a time.
    pub chunk_bytes: usize,
    /// The largest record (line, or CSV record with quoted newlines) accepted.
    pub max_record_bytes: usize,
}

/// 64 MiB: far above any real storage log record, far below a file's size.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 64 << 20;

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            chunk_bytes: 4 << 20,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
        }
    }
}

/// How records end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// Every newline ends a record (JSON Lines).
    Lines,
    /// A newline outside double quotes ends a record (RFC 4180 CSV with this delimiter).
    CsvRecords { delimiter: u8 },
}

/// How sure the end of a chunk is to be the end of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The end of the text: nothing follows.
    Last,
    /// A JSON Lines newline, or where `csv`'s own reading ends a record.
    Certain,
    /// A CSV newline outside quotes by quote parity: a record's end when the chunk's quotes
    /// are plain RFC 4180, which the parser checks (see the module note).
    Parity,
}

/// A record-aligned piece of a file's decoded text.
#[derive(Debug)]
pub struct Chunk {
    /// 0-based position of the chunk in its file.
    pub index: usize,
    pub data: Vec<u8>,
    /// 1-based line of the chunk's first byte.
    pub first_line: u64,
    /// How sure its end is to be a record's end.
    pub end: End,
}

/// A chunk's bytes: read into a buffer of its own, or a window of a memory-mapped file
/// (shared, without a copy, by the worker that parses it and the thread that hashes it).
#[derive(Debug, Clone)]
pub enum Text {
    Owned(Vec<u8>),
    Mapped { map: Arc<memmap2::Mmap>, range: Range<usize> },
}

impl Text {
    /// The text without its first `n` bytes.
    pub fn skip(self, n: usize) -> Text {
        match self {
            Text::Owned(mut v) => {
                v.drain(..n.min(v.len()));
                Text::Owned(v)
            }
            Text::Mapped { map, range } => Text::Mapped {
                map,
                range: (range.start + n).min(range.end)..range.end,
            },
        }
    }

    /// The text's first `n` bytes.
    pub fn take_front(self, n: usize) -> Text {
        match self {
            Text::Owned(mut v) => {
                v.truncate(n);
                Text::Owned(v)
            }
            Text::Mapped { map, range } => Text::Mapped {
                map,
                range: range.start..(range.start + n).min(range.end),
            },
        }
    }

    pub fn into_vec(self) -> Vec<u8> {
        match self {
            Text::Owned(v) => v,
            Text::Mapped { .. } => self.to_vec(),
        }
    }
}

impl std::ops::Deref for Text {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Text::Owned(v) => v,
            Text::Mapped { map, range } => &map[range.clone()],
        }
    }
}

/// A record that outgrew [`Limits::max_record_bytes`].
#[derive(Debug)]
pub struct RecordTooLong {
    /// 1-based line where the record starts.
    pub line: u64,
    pub limit: usize,
}

/// Why the splitter stopped.
#[derive(Debug)]
pub enum SplitError {
    Io(io::Error),
    TooLong(RecordTooLong),
}

/// Cuts a reader's text into record-aligned chunks.
pub struct Splitter<R: Read> {
    inner: R,
    boundary: Boundary,
    limits: Limits,
    carry: Vec<u8>,
    next_line: u64,
    index: usize,
    eof: bool,
    /// Whether the next chunk's CSV is cut where `csv` ends records (after text was given
    /// back), not by parity: only the chunk where parity went wrong pays for `csv`'s reading.
    exact_next: bool,
    /// A read error, reported after the whole records read before it.
    failed: Option<io::Error>,
}

impl<R: Read> Splitter<R> {
    /// `prefix` is text already read from `inner` (a sniffed head); `first_line` the line
    /// it starts on.
    pub fn new(inner: R, prefix: Vec<u8>, first_line: u64, boundary: Boundary, mut limits: Limits) -> Self {
        // Chunks no larger than the record limit, so any record over it makes the buffer
        // outgrow the limit and is reported.
        limits.chunk_bytes = limits.chunk_bytes.min(limits.max_record_bytes).max(1);
        Splitter {
            inner,
            boundary,
            limits,
            carry: prefix,
            next_line: first_line,
            index: 0,
            eof: false,
            exact_next: false,
            failed: None,
        }
    }

    /// Cuts the first chunk's CSV where `csv` ends records (for text read again from a
    /// record's start after a parity cut went wrong).
    pub fn exactly(mut self) -> Self {
        self.exact_next = true;
        self
    }

    /// Takes back the end of the last chunk, `rest`, which its parser did not read (its
    /// [`End::Parity`] cut is not where `csv` ends a record): it starts the next chunk, which
    /// is cut where `csv` ends records.
    pub fn give_back(&mut self, mut rest: Vec<u8>) {
        self.next_line -= memchr::memchr_iter(b'\n', &rest).count() as u64;
        rest.append(&mut self.carry);
        self.carry = rest;
        self.exact_next = true;
    }

    /// The next chunk, or None at the end of the text. The cut is looked for in the first
    /// `target` bytes (the text may hold more, read ahead before), which grows while they
    /// hold no record's end: the cuts depend on the text alone, not on how it was read.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, SplitError> {
        let mut buf = std::mem::take(&mut self.carry);
        let mut target = self.limits.chunk_bytes.max(1);
        loop {
            let window = target.min(self.limits.max_record_bytes.saturating_add(self.limits.chunk_bytes));
            if !self.eof && buf.len() < window {
                if let Err(e) = self.fill(&mut buf, window) {
                    self.eof = true;
                    self.failed = Some(e);
                }
            }
            if let Some(e) = self.failed.take() {
                // The whole records read before a read error come first (as the text before
                // it does, whatever the chunks), then the error.
                if let Some((cut, end)) = cut(self.boundary, &buf, self.exact_next).filter(|&(at, _)| at > 0) {
                    self.failed = Some(e);
                    self.carry = buf.split_off(cut);
                    return Ok(Some(self.emit(buf, end)));
                }
                return Err(SplitError::Io(e));
            }
            if self.eof && buf.len() < window {
                if buf.is_empty() {
                    return Ok(None);
                }
                let last = last_record_start(self.boundary, &buf, self.exact_next, self.limits.max_record_bytes);
                if buf.len() - last > self.limits.max_record_bytes {
                    self.next_line += memchr::memchr_iter(b'\n', &buf[..last]).count() as u64;
                    return Err(self.too_long());
                }
                return Ok(Some(self.emit(buf, End::Last)));
            }
            if let Some((cut, end)) = cut(self.boundary, &buf[..window], self.exact_next) {
                self.carry = buf.split_off(cut);
                return Ok(Some(self.emit(buf, end)));
            }
            if window > self.limits.max_record_bytes {
                return Err(self.too_long());
            }
            target = grown(target, self.limits.chunk_bytes);
        }
    }

    fn too_long(&self) -> SplitError {
        SplitError::TooLong(RecordTooLong {
            line: self.next_line,
            limit: self.limits.max_record_bytes,
        })
    }

    fn emit(&mut self, data: Vec<u8>, end: End) -> Chunk {
        self.exact_next = false;
        let chunk = Chunk {
            index: self.index,
            first_line: self.next_line,
            data,
            end,
        };
        self.index += 1;
        self.next_line += memchr::memchr_iter(b'\n', &chunk.data).count() as u64;
        chunk
    }

    /// Reads until `buf` holds `cap` bytes or the input ends.
    fn fill(&mut self, buf: &mut Vec<u8>, cap: usize) -> io::Result<()> {
        // Reserved, not zeroed (`read_to_end` reads into spare capacity): a small input costs
        // a small buffer (the fuzzer's inputs).
        let want = cap.saturating_sub(buf.len());
        buf.reserve(want);
        let n = (&mut self.inner).take(want as u64).read_to_end(buf)?;
        if n < want {
            self.eof = true;
        }
        Ok(())
    }
}

/// Up to `n` bytes from the start of `reader`, read with as few calls as it allows (one read
/// of a file for a head, where `take(n).read_to_end` starts small and doubles: four reads for
/// 64 KiB).
///
/// # Errors
/// The reader's error.
pub fn read_up_to(reader: &mut impl Read, n: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0; n];
    let mut filled = 0;
    while filled < n {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

/// The size to read up to when `len` bytes hold no record's end: a chunk more, or twice as
/// much when that is more, so that a long record is looked through a few times, not once
/// per chunk's worth of it.
pub fn grown(len: usize, chunk_bytes: usize) -> usize {
    len.saturating_add(chunk_bytes.max(1)).max(len.saturating_mul(2))
}

/// Where a chunk of `buf` (text from a record's start) ends: just after its last record
/// boundary, and how sure that is; None when there is none. `exact`: CSV only where `csv`
/// ends records (no parity cut).
pub fn cut(boundary: Boundary, buf: &[u8], exact: bool) -> Option<(usize, End)> {
    match boundary {
        Boundary::Lines => memchr::memrchr(b'\n', buf).map(|i| (i + 1, End::Certain)),
        Boundary::CsvRecords { delimiter } => {
            if !exact {
                if let Some(at) = csv_parity_cut(buf) {
                    return Some((at, End::Parity));
                }
            }
            // `csv` ends a record that a cut may follow only at a `\n`.
            memchr::memchr(b'\n', buf)?;
            csv_reading(buf, delimiter).last_newline.map(|at| (at, End::Certain))
        }
    }
}

/// Where the last record of `buf` (the rest of a text, from a record's start) starts, for the
/// check that it is not longer than `max` bytes: a parity cut that would make it too long
/// is checked against `csv`'s own reading.
pub fn last_record_start(boundary: Boundary, buf: &[u8], exact: bool, max: usize) -> usize {
    match cut(boundary, buf, exact) {
        Some((at, End::Parity)) if buf.len() - at > max => cut(boundary, buf, true).map_or(0, |(at, _)| at),
        found => found.map_or(0, |(at, _)| at),
    }
}

/// The offset after the last newline that has an even number of quotes before it.
pub fn csv_parity_cut(buf: &[u8]) -> Option<usize> {
    let total = memchr::memchr_iter(b'"', buf).count();
    let mut quotes_after = 0usize;
    for i in memchr::memrchr2_iter(b'"', b'\n', buf) {
        if buf[i] == b'"' {
            quotes_after += 1;
        } else if (total - quotes_after).is_multiple_of(2) {
            return Some(i + 1);
        }
    }
    None
}

/// Whether `csv`, reading `text` from a record's start, ends it between records (after a
/// record's terminator, or blank lines), not inside one.
pub fn csv_ends_between_records(text: &[u8], delimiter: u8) -> bool {
    csv_reading(text, delimiter).ends_between_records
}

/// Whether `csv`, reading `text` from a record's start, ends at least one record in it.
pub fn csv_ends_a_record(text: &[u8], delimiter: u8) -> bool {
    csv_reading(text, delimiter).ended_one
}

/// What `csv_core` makes of text that starts at a record's start.
struct CsvReading {
    ended_one: bool,
    /// The offset just after the last `\n` that ends a record.
    last_newline: Option<usize>,
    ends_between_records: bool,
}

fn csv_reading(text: &[u8], delimiter: u8) -> CsvReading {
    use csv_core::ReadFieldResult;
    let mut reader = csv_core_reader(delimiter);
    // The fields' bytes are not wanted: they go to a scratch buffer, overwritten.
    let mut scratch = [0u8; 4096];
    let (mut at, mut record_end, mut last_newline) = (0usize, 0usize, None);
    while at < text.len() {
        let (result, read, _) = reader.read_field(&text[at..], &mut scratch);
        at += read;
        if read == 0 && matches!(result, ReadFieldResult::InputEmpty | ReadFieldResult::OutputFull) {
            // No progress possible (not seen; a guard against a loop).
            break;
        }
        match result {
            ReadFieldResult::Field { record_end: true } => {
                record_end = at;
                // The terminator is read with the record: `\n`, or `\r` (whose `\n`, if
                // any, the next read takes).
                if text[..at].ends_with(b"\n") {
                    last_newline = Some(at);
                } else if text[at..].starts_with(b"\n") {
                    last_newline = Some(at + 1);
                }
            }
            ReadFieldResult::End => break,
            ReadFieldResult::Field { record_end: false } | ReadFieldResult::InputEmpty | ReadFieldResult::OutputFull => {}
        }
    }
    CSV_CORE.with(|cached| cached.set(Some((delimiter, reader))));
    CsvReading {
        ended_one: record_end > 0,
        last_newline,
        // After a record's end, `csv` skips line breaks; anything else starts a record.
        ends_between_records: text[record_end..].iter().all(|b| matches!(b, b'\r' | b'\n')),
    }
}

thread_local! {
    /// The last `csv_core` reader this thread used, with its delimiter: building one (its
    /// DFA) costs far more than reading a small chunk, and a file's chunks all share one.
    static CSV_CORE: std::cell::Cell<Option<(u8, csv_core::Reader)>> = const { std::cell::Cell::new(None) };
}

/// A `csv_core` reader at a record's start, with `csv`'s defaults as every CSV reader here
/// builds it (`"` quotes, `""` escapes one, CR, LF and CRLF end records) and `delimiter`.
fn csv_core_reader(delimiter: u8) -> csv_core::Reader {
    let mut reader = match CSV_CORE.with(std::cell::Cell::take) {
        Some((cached, mut reader)) if cached == delimiter => {
            reader.reset();
            reader
        }
        _ => csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
    };
    // `csv_core` takes a UTF-8 byte-order mark off the start of its first read, as at a
    // file's start. The text here is inside a file (the decoder took the file's mark off),
    // where a mark is data: a first read with no room for output reads nothing, and the mark
    // is then kept. (`csv` is kept from taking it off by [`NO_BOM_STRIP`].)
    let _ = reader.read_field(b" ", &mut []);
    reader
}

/// Put before a text that starts with a UTF-8 byte-order mark, for a `csv` reader to read it
/// as data, as it does anywhere but at the start of its input: `csv` skips this blank line
/// (a lone CR), which holds no line break, so lines and records count as without it; byte
/// positions are one more.
pub const NO_BOM_STRIP: &[u8] = b"\r";

/// [`NO_BOM_STRIP`], where `text` needs it.
pub fn csv_guard(text: &[u8]) -> &'static [u8] {
    if text.starts_with(b"\xEF\xBB\xBF") {
        NO_BOM_STRIP
    } else {
        b""
    }
}

/// SHA-256 and size of the bytes that passed through a [`HashingReader`].
#[derive(Default)]
pub struct HashState {
    hasher: Hasher,
    pub bytes: u64,
}

/// Where the hashing is done.
enum Hasher {
    /// On the thread that reads.
    Here(Sha256),
    /// On a thread of its own: the reading thread only copies the bytes into blocks, so on
    /// a machine with a core to spare, reading and hashing a large file overlap.
    Elsewhere(Background),
    /// Nowhere: a file read a second time, whose hash the first reading took.
    Nowhere,
}

impl Default for Hasher {
    fn default() -> Self {
        Hasher::Here(Sha256::new())
    }
}

/// Bytes handed to the hashing thread at a time.
const HASH_BLOCK: usize = 1 << 20;

/// What the reading side sends to a [`HashThread`] about file `id`.
enum HashMsg {
    /// The file starts: its blocks go back on `give_back`, its hasher on `done`.
    Start {
        id: u64,
        give_back: mpsc::Sender<Vec<u8>>,
        done: mpsc::Sender<Sha256>,
    },
    Data(u64, Text),
    End(u64),
}

/// A thread that hashes the files sent to it, so a tree of many small files costs one
/// thread, not one per file. The reading side may start the next files before it asks for a
/// digest (their messages interleave). The thread stops when every handle is gone.
#[derive(Clone)]
pub struct HashThread {
    // At most a few blocks or windows wait: memory stays bounded whatever the input's size.
    to_hash: mpsc::SyncSender<HashMsg>,
    next_id: Arc<std::sync::atomic::AtomicU64>,
}

impl HashThread {
    pub fn spawn() -> HashThread {
        let (to_hash, messages) = mpsc::sync_channel::<HashMsg>(4);
        std::thread::spawn(move || {
            type Open = (Sha256, mpsc::Sender<Vec<u8>>, mpsc::Sender<Sha256>);
            let mut open: std::collections::HashMap<u64, Open> = std::collections::HashMap::new();
            for msg in messages {
                match msg {
                    HashMsg::Start { id, give_back, done } => {
                        open.insert(id, (Sha256::new(), give_back, done));
                    }
                    HashMsg::Data(id, text) => {
                        if let Some((hasher, give_back, _)) = open.get_mut(&id) {
                            hasher.update(&*text);
                            if let Text::Owned(mut block) = text {
                                block.clear();
                                let _ = give_back.send(block);
                            }
                        }
                    }
                    HashMsg::End(id) => {
                        if let Some((hasher, _, done)) = open.remove(&id) {
                            // Nobody waits when the file was abandoned.
                            let _ = done.send(hasher);
                        }
                    }
                }
            }
        });
        HashThread {
            to_hash,
            next_id: Arc::default(),
        }
    }

    fn send(&self, msg: HashMsg) {
        // The thread only stops when every handle is gone, so the send cannot fail.
        let _ = self.to_hash.send(msg);
    }
}

/// The reading side of one file on a [`HashThread`]: blocks go out full, come back hashed
/// (for reuse, so no block is allocated or zeroed per megabyte), and the thread returns the
/// hasher after the file's end. Windows of a memory map go out as they are, without a copy.
struct Background {
    id: u64,
    block: Vec<u8>,
    thread: HashThread,
    hashed: mpsc::Receiver<Vec<u8>>,
    done: mpsc::Receiver<Sha256>,
    ended: bool,
}

impl Background {
    fn start(thread: &HashThread) -> Background {
        let id = thread.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (give_back, hashed) = mpsc::channel();
        let (done_tx, done) = mpsc::channel();
        let thread = thread.clone();
        thread.send(HashMsg::Start {
            id,
            give_back,
            done: done_tx,
        });
        Background {
            id,
            block: Vec::new(),
            thread,
            hashed,
            done,
            ended: false,
        }
    }

    fn update(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.block.capacity() == 0 {
                self.block = self.hashed.try_recv().unwrap_or_else(|_| Vec::with_capacity(HASH_BLOCK));
            }
            let room = HASH_BLOCK - self.block.len();
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            self.block.extend_from_slice(now);
            bytes = later;
            if self.block.len() == HASH_BLOCK {
                self.send_block();
            }
        }
    }

    fn send_block(&mut self) {
        let full = std::mem::take(&mut self.block);
        self.send(Text::Owned(full));
    }

    fn send(&self, text: Text) {
        self.thread.send(HashMsg::Data(self.id, text));
    }

    fn finish(mut self) -> Sha256 {
        if !self.block.is_empty() {
            self.send_block();
        }
        self.ended = true;
        self.thread.send(HashMsg::End(self.id));
        // The thread answers every End it receives; it is gone only after a panic.
        self.done.recv().unwrap_or_else(|_| panic!("the hashing thread stopped"))
    }
}

impl Drop for Background {
    /// An abandoned file's state is let go on the thread too.
    fn drop(&mut self) {
        if !self.ended {
            self.thread.send(HashMsg::End(self.id));
        }
    }
}

impl HashState {
    /// A state that hashes on a thread of its own (see [`Hasher::Elsewhere`]).
    pub fn on_own_thread() -> HashState {
        HashState::on(&HashThread::spawn())
    }
    /// A state that hashes on `thread`, after the files sent to it before.
    pub fn on(thread: &HashThread) -> HashState {
        HashState {
            hasher: Hasher::Elsewhere(Background::start(thread)),
            bytes: 0,
        }
    }
    /// A state that hashes nothing (its digest is empty).
    pub fn nowhere() -> HashState {
        HashState {
            hasher: Hasher::Nowhere,
            bytes: 0,
        }
    }
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.hasher {
            Hasher::Here(h) => h.update(bytes),
            Hasher::Elsewhere(b) => b.update(bytes),
            Hasher::Nowhere => {}
        }
        self.bytes += bytes.len() as u64;
    }
    /// Hashes `text` next, handing it to the hashing thread as it is (no copy) when there
    /// is one.
    pub fn update_shared(&mut self, text: Text) {
        self.bytes += text.len() as u64;
        match &mut self.hasher {
            Hasher::Here(h) => h.update(&*text),
            Hasher::Elsewhere(b) => {
                if !b.block.is_empty() {
                    b.send_block();
                }
                b.send(text);
            }
            Hasher::Nowhere => {}
        }
    }
    /// Lower-case hex digest and the number of bytes hashed (waiting for the hashing
    /// thread, if any, to finish).
    pub fn digest(self) -> (String, u64) {
        let bytes = self.bytes;
        (self.hex(), bytes)
    }
    /// Lower-case hex digest.
    pub fn hex(self) -> String {
        let hasher = match self.hasher {
            Hasher::Here(h) => h,
            Hasher::Elsewhere(b) => b.finish(),
            Hasher::Nowhere => return String::new(),
        };
        hex(&hasher.finalize())
    }
}

/// Lower-case hex of a digest.
pub fn hex(digest: &[u8]) -> String {
    use std::fmt::Write;
    digest.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Hashes everything read through it; the state is shared so it can be read after the
/// reader has been handed to decoders.
pub struct HashingReader<R: Read> {
    inner: R,
    state: Rc<RefCell<HashState>>,
}

impl<R: Read> HashingReader<R> {
    /// Hashes on the reading thread.
    pub fn new(inner: R) -> (Self, Rc<RefCell<HashState>>) {
        Self::with(inner, HashState::default())
    }

    /// Hashes into `state` (see [`HashState::on_own_thread`]).
    pub fn with(inner: R, state: HashState) -> (Self, Rc<RefCell<HashState>>) {
        let state = Rc::new(RefCell::new(state));
        (
            HashingReader {
                inner,
                state: Rc::clone(&state),
            },
            state,
        )
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.state.borrow_mut().update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str, boundary: Boundary, chunk: usize) -> Vec<(u64, String)> {
        let limits = Limits {
            chunk_bytes: chunk,
            max_record_bytes: 1 << 20,
        };
        let mut s = Splitter::new(text.as_bytes(), Vec::new(), 1, boundary, limits);
        let mut out = Vec::new();
        while let Some(c) = s.next_chunk().unwrap() {
            out.push((c.first_line, String::from_utf8(c.data).unwrap()));
        }
        out
    }

    #[test]
    fn csv_chunks_never_cut_a_quoted_newline() {
        let text = "a,\"x\ny\",b\nc,\"\"\"q\"\"\n\",d\ne,f,g\n";
        for size in 1..text.len() + 2 {
            let chunks = split(text, Boundary::CsvRecords { delimiter: b',' }, size);
            let joined: String = chunks.iter().map(|c| c.1.as_str()).collect();
            assert_eq!(joined, text, "chunk size {size}");
            for (_, c) in &chunks {
                assert!(c.matches('"').count() % 2 == 0, "chunk {c:?} at size {size}");
                assert!(c.ends_with('\n'));
            }
            let mut line = 1;
            for (first, c) in &chunks {
                assert_eq!(*first, line);
                line += c.matches('\n').count() as u64;
            }
        }
    }

    #[test]
    fn a_literal_quote_makes_the_parity_cut_uncertain_and_csv_decides() {
        let csv = Boundary::CsvRecords { delimiter: b',' };
        // `a"b` is a literal quote to csv: the quoted newline after it is inside a field, and
        // parity takes it for a record's end.
        let text = b"k,a\"b\nk,\"x\ny\"\nk,z\n";
        assert_eq!(cut(csv, text, false), Some((11, End::Parity)));
        assert!(!csv_ends_between_records(&text[..11], b','));
        assert_eq!(cut(csv, text, true), Some((text.len(), End::Certain)));
        assert!(csv_ends_between_records(text, b','));
        // CRLF: the cut is after the LF; blank lines at the end are between records.
        assert_eq!(cut(csv, b"a\r\nb\r\nc", true), Some((6, End::Certain)));
        assert!(csv_ends_between_records(b"a\r\nb\r\n\r\n\n", b','));
        assert!(!csv_ends_between_records(b"a\r\nb", b','));
        // The delimiter decides whether a quote opens a field.
        let semi = Boundary::CsvRecords { delimiter: b';' };
        assert_eq!(cut(semi, b"a;\"x\ny\nb", true), None);
        assert_eq!(cut(csv, b"a;\"x\ny\nb", true), Some((7, End::Certain)));
        // A reader left inside a quoted field starts the next text afresh.
        assert!(!csv_ends_a_record(b"\"a\nb", b','));
        assert!(csv_ends_a_record(b"a\nb", b','));
        assert!(csv_ends_a_record(b"a\rb", b';'));
        assert!(!csv_ends_a_record(b"\n\r\na", b','));
        // A byte-order mark inside a text is data (`csv_core` would take it off the start of
        // its first read, and a quote after it would open a field).
        assert!(csv_ends_between_records(b"\xEF\xBB\xBF\"a\n", b','));
        assert_eq!(cut(csv, b"\xEF\xBB\xBF\"a\nb", true), Some((6, End::Certain)));
    }

    #[test]
    fn a_literal_quote_never_passes_for_a_record_too_long() {
        // Parity finds no record end after the odd quote; csv's reading does.
        let mut text = String::from("k,a\"b\n");
        for i in 0..200 {
            text.push_str(&format!("k,{i}\n"));
        }
        let limits = Limits {
            chunk_bytes: 16,
            max_record_bytes: 64,
        };
        let mut s = Splitter::new(text.as_bytes(), Vec::new(), 1, Boundary::CsvRecords { delimiter: b',' }, limits);
        let mut joined = Vec::new();
        while let Some(c) = s.next_chunk().unwrap() {
            assert!(c.data.len() <= 64 + 16, "{}", c.data.len());
            joined.extend(c.data);
        }
        assert_eq!(joined, text.as_bytes());
    }

    #[test]
    fn text_given_back_starts_the_next_chunk_cut_where_csv_ends_records() {
        let text = "k,a\"b\nk,\"x\ny\"\nk,z\nk,w\n";
        let limits = Limits {
            chunk_bytes: 12,
            max_record_bytes: 1 << 10,
        };
        let mut s = Splitter::new(text.as_bytes(), Vec::new(), 1, Boundary::CsvRecords { delimiter: b',' }, limits);
        let first = s.next_chunk().unwrap().unwrap();
        assert_eq!((first.data.as_slice(), first.end), (&b"k,a\"b\nk,\"x\n"[..], End::Parity));
        // The parser read the first record and gives back the second, whose end is unsure.
        s.give_back(first.data[6..].to_vec());
        let next = s.next_chunk().unwrap().unwrap();
        assert_eq!((next.first_line, next.end), (2, End::Certain));
        assert!(next.data.starts_with(b"k,\"x\ny\"\n"), "{:?}", String::from_utf8_lossy(&next.data));
    }

    #[test]
    fn line_chunks_keep_a_record_longer_than_a_chunk_whole() {
        let long = "x".repeat(100);
        let text = format!("a\n{long}\nb\r\nc\n{}", "d\n".repeat(40));
        let chunks = split(&text, Boundary::Lines, 8);
        assert!(chunks.iter().any(|c| c.0 == 2 && c.1.starts_with(&format!("{long}\n"))));
        assert_eq!(chunks.iter().map(|c| c.1.as_str()).collect::<String>(), text);
        // After it, chunks of about the chunk size again.
        assert!(chunks.last().is_some_and(|c| c.1.len() <= 8), "{chunks:?}");
    }

    #[test]
    fn a_record_over_the_limit_is_an_error_with_its_line() {
        let text = format!("ok\nok\n\"{}", "x".repeat(5000));
        let limits = Limits {
            chunk_bytes: 64,
            max_record_bytes: 1000,
        };
        let mut s = Splitter::new(text.as_bytes(), Vec::new(), 1, Boundary::CsvRecords { delimiter: b',' }, limits);
        let mut err = None;
        loop {
            match s.next_chunk() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        match err {
            Some(SplitError::TooLong(t)) => assert_eq!(t.line, 3),
            other => panic!("expected a too-long error, got {other:?}"),
        }
    }
}
