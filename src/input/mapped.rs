//! Plain text files on disk, cut into record-aligned chunks that are windows of a memory map.
//!
//! For an uncompressed UTF-8 file (the usual Log Analytics CSV or diagnostic-settings JSON
//! Lines export) the stream path of [`chunk`](super::chunk) copies every byte three times
//! before a worker sees it: from the page cache into a buffer, through the decoder, and into
//! the hashing thread's block. Here each chunk is a window of the file mapped read-only, shared
//! by the worker that parses it and the thread that hashes it; it is unmapped when both are
//! done, so memory stays bounded by the chunks in flight whatever the file's size. The cuts are
//! exactly the stream splitter's (the same rule over the same text from the same start), so
//! results and messages do not depend on the path.
//!
//! A mapped file must not shrink while it is read (the evidence of a case does not change).

use std::fs::File;
use std::io;
use std::sync::Arc;

use memmap2::{Mmap, MmapOptions};

use super::chunk::{cut, grown, last_record_start, Boundary, End, HashState, Limits, RecordTooLong, SplitError, Text};

/// The UTF-8 byte order mark, skipped (but hashed) as the stream decoder skips it.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Cuts a mapped file's text into record-aligned chunks, hashing every byte once.
pub struct MappedSplitter {
    file: File,
    len: usize,
    /// Where the next chunk starts.
    pos: usize,
    /// Bytes hashed (at least `pos`; more after text was given back).
    hashed: usize,
    /// Where the text starts (after a BOM).
    text_start: usize,
    boundary: Boundary,
    limits: Limits,
    hash: HashState,
    /// Whether the next chunk's CSV is cut where `csv` ends records (after text was given
    /// back), not by parity.
    exact_next: bool,
}

/// Whether `head` (a file's first bytes) is text the stream decoder would pass through
/// unchanged apart from a UTF-8 BOM: not gzip, not UTF-16.
pub fn is_plain(head: &[u8]) -> bool {
    !(head.starts_with(&[0x1f, 0x8b]) || head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]))
}

/// A file's first bytes, read with one call (where `take(n).read_to_end` makes four).
pub enum Head {
    /// Plain text ([`is_plain`]): the text the stream decoder would make of these bytes, at
    /// least `n` bytes of it unless the file is shorter (the UTF-8 BOM dropped; `bom` says
    /// whether there was one).
    Plain { text: Vec<u8>, bom: bool },
    /// Anything else (gzip, UTF-16): the bytes as read, for the decoder.
    Encoded(Vec<u8>),
}

/// Reads up to `n` bytes of text from the start of `reader` (and a BOM's length more, so that
/// a file with a UTF-8 BOM still yields `n` bytes of text).
///
/// # Errors
/// The reader's error.
pub fn read_head(reader: &mut impl io::Read, n: usize) -> io::Result<Head> {
    let mut bytes = super::chunk::read_up_to(reader, n + UTF8_BOM.len())?;
    if !is_plain(&bytes) {
        return Ok(Head::Encoded(bytes));
    }
    let bom = bytes.starts_with(UTF8_BOM);
    if bom {
        bytes.drain(..UTF8_BOM.len());
    }
    Ok(Head::Plain { text: bytes, bom })
}

impl MappedSplitter {
    /// Maps `file` (`len` bytes) window by window; `hash` takes every byte. `bom`: whether
    /// the file starts with a UTF-8 BOM (seen in its head, read already to tell its layout),
    /// which is hashed but not part of the text.
    pub fn new(file: File, len: usize, bom: bool, boundary: Boundary, mut limits: Limits, hash: HashState) -> io::Result<MappedSplitter> {
        limits.chunk_bytes = limits.chunk_bytes.min(limits.max_record_bytes).max(1);
        let mut splitter = MappedSplitter {
            file,
            len,
            pos: 0,
            hashed: 0,
            text_start: 0,
            boundary,
            limits,
            hash,
            exact_next: false,
        };
        if bom && len >= UTF8_BOM.len() {
            let bom = splitter.window(0, UTF8_BOM.len())?;
            splitter.take(bom, UTF8_BOM.len());
            splitter.text_start = UTF8_BOM.len();
        }
        Ok(splitter)
    }

    /// Bytes hashed so far.
    pub fn position(&self) -> u64 {
        self.hashed as u64
    }

    /// Takes back the last `n` bytes of the last chunk, which its parser did not read (its
    /// [`End::Parity`] cut is not where `csv` ends a record): they start the next chunk
    /// (hashed once all the same), and the next chunk is cut where `csv` ends records.
    pub fn give_back(&mut self, n: usize) {
        self.pos -= n.min(self.pos - self.text_start);
        self.exact_next = true;
    }

    /// Starts at `at` bytes into the text, hashing nothing before it, the first chunk cut
    /// where `csv` ends records (to read a file's text again from a record's start).
    pub fn resume_at(&mut self, at: usize) {
        self.pos = self.len.min(self.text_start.saturating_add(at));
        self.hashed = self.hashed.max(self.pos);
        self.exact_next = true;
    }

    /// The next chunk and how sure its end is, or None at the end of the text. Lines are not
    /// counted here: the parser counts the lines of the chunks it reads (only a record too
    /// long is located here, by counting the lines before it).
    pub fn next_chunk(&mut self) -> Result<Option<(Text, End)>, SplitError> {
        if self.pos >= self.len {
            return Ok(None);
        }
        let mut target = self.limits.chunk_bytes;
        loop {
            let cap = target.min(self.limits.max_record_bytes.saturating_add(self.limits.chunk_bytes));
            let wanted = self.pos.saturating_add(cap);
            let window = self.window(self.pos, self.len.min(wanted)).map_err(SplitError::Io)?;
            // The end of the text shows as a short window, as it shows to the stream
            // splitter as a short read.
            if wanted > self.len {
                let last = last_record_start(self.boundary, &window, self.exact_next, self.limits.max_record_bytes);
                if window.len() - last > self.limits.max_record_bytes {
                    return Err(self.too_long(self.pos + last));
                }
                let all = window.len();
                return Ok(Some((self.emit(window, all), End::Last)));
            }
            if let Some((at, end)) = cut(self.boundary, &window, self.exact_next) {
                return Ok(Some((self.emit(window, at), end)));
            }
            if window.len() > self.limits.max_record_bytes {
                return Err(self.too_long(self.pos));
            }
            target = grown(target, self.limits.chunk_bytes);
        }
    }

    /// Hands what was not handed out (a file stopped early) to the hash, and returns the
    /// hash, which may still be at work on its thread.
    pub fn finish(mut self) -> io::Result<HashState> {
        self.pos = self.pos.max(self.hashed);
        while self.pos < self.len {
            let end = self.len.min(self.pos + self.limits.chunk_bytes);
            let window = self.window(self.pos, end)?;
            let n = window.len();
            self.take(window, n);
        }
        Ok(self.hash)
    }

    /// The first `cut` bytes of `window` (which starts at `pos`) as the next chunk.
    fn emit(&mut self, window: Text, cut: usize) -> Text {
        self.exact_next = false;
        let chunk = window.take_front(cut);
        self.take(chunk.clone(), cut);
        chunk
    }

    /// Hashes the first `n` bytes of `text` (which starts at `pos`), those not hashed
    /// before, and moves past them.
    fn take(&mut self, text: Text, n: usize) {
        let end = self.pos + n;
        if end > self.hashed {
            let new = text.take_front(n).skip(self.hashed.saturating_sub(self.pos));
            self.hash.update_shared(new);
            self.hashed = end;
        }
        self.pos = end;
    }

    /// Bytes `from..to` of the file, mapped read-only.
    fn window(&self, from: usize, to: usize) -> io::Result<Text> {
        let len = to - from;
        // SAFETY: the map is read-only and casefile only reads it (no reference into it
        // outlives the `Arc` that owns it). The one hazard of a file mapping, another process
        // shrinking the file underneath it, is excluded by the contract above: evidence does
        // not change while it is analysed.
        let map: Mmap = unsafe { MmapOptions::new().offset(from as u64).len(len).populate().map(&self.file)? };
        Ok(Text::Mapped {
            map: Arc::new(map),
            range: 0..len,
        })
    }

    /// A record too long that starts at `at`, with its line (the text before it is
    /// counted again, window by window).
    fn too_long(&self, at: usize) -> SplitError {
        let mut line = 1u64;
        let mut from = self.text_start;
        while from < at {
            let to = at.min(from.saturating_add(self.limits.chunk_bytes));
            match self.window(from, to) {
                Ok(w) => line += memchr::memchr_iter(b'\n', &w).count() as u64,
                Err(e) => return SplitError::Io(e),
            }
            from = to;
        }
        SplitError::TooLong(RecordTooLong {
            line,
            limit: self.limits.max_record_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::chunk::Splitter;
    use sha2::{Digest, Sha256};

    type Cuts = Vec<(u64, Vec<u8>)>;

    fn limits(chunk: usize, max: usize) -> Limits {
        Limits {
            chunk_bytes: chunk,
            max_record_bytes: max,
        }
    }

    /// The stream splitter's chunks of `text` (already decoded), or the line of its error.
    fn streamed(text: &[u8], boundary: Boundary, limits: Limits) -> Result<Cuts, u64> {
        let mut s = Splitter::new(text, Vec::new(), 1, boundary, limits);
        let mut out = Vec::new();
        loop {
            match s.next_chunk() {
                Ok(Some(c)) => out.push((c.first_line, c.data)),
                Ok(None) => return Ok(out),
                Err(SplitError::TooLong(t)) => return Err(t.line),
                Err(e) => panic!("{e:?}"),
            }
        }
    }

    /// The mapped splitter's chunks of the file holding `bytes` and the file's hash.
    fn mapped(bytes: &[u8], boundary: Boundary, limits: Limits) -> (Result<Cuts, u64>, String) {
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("casefile-mapped-{}-{call}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{}.txt", file_name_for(bytes, limits.chunk_bytes)));
        std::fs::write(&path, bytes).unwrap();
        let file = File::open(&path).unwrap();
        let mut s = MappedSplitter::new(
            file,
            bytes.len(),
            bytes.starts_with(UTF8_BOM),
            boundary,
            limits,
            HashState::on_own_thread(),
        )
        .unwrap();
        let mut out = Vec::new();
        // Lines as the parser counts them: the chunks before, from line 1.
        let mut line = 1u64;
        let cuts = loop {
            match s.next_chunk() {
                Ok(Some((text, _))) => {
                    out.push((line, text.to_vec()));
                    line += memchr::memchr_iter(b'\n', &text).count() as u64;
                }
                Ok(None) => break Ok(out),
                Err(SplitError::TooLong(t)) => break Err(t.line),
                Err(e) => panic!("{e:?}"),
            }
        };
        let (hash, size) = s.finish().unwrap().digest();
        assert_eq!(size, bytes.len() as u64);
        std::fs::remove_dir_all(&dir).unwrap();
        (cuts, hash)
    }

    fn file_name_for(bytes: &[u8], chunk: usize) -> String {
        format!(
            "{:x}-{chunk}",
            Sha256::digest(bytes)[..8].iter().fold(0u64, |a, b| a << 8 | u64::from(*b))
        )
    }

    fn sha(bytes: &[u8]) -> String {
        crate::input::chunk::hex(&Sha256::digest(bytes))
    }

    /// For every chunk size: the same chunks and lines as the stream splitter over the text
    /// (the BOM stripped, as the decoder strips it), and the whole file's SHA-256.
    fn agree(file: &[u8], boundary: Boundary, max: usize) {
        let text = file.strip_prefix(UTF8_BOM).unwrap_or(file);
        for chunk in 1..file.len() + 3 {
            let (cuts, hash) = mapped(file, boundary, limits(chunk, max));
            assert_eq!(cuts, streamed(text, boundary, limits(chunk, max)), "chunk size {chunk}");
            assert_eq!(hash, sha(file), "chunk size {chunk}");
        }
    }

    #[test]
    fn csv_cuts_match_the_stream_splitter_across_quoted_newlines_and_crlf() {
        agree(
            b"h1,h2\r\na,\"x\r\ny\"\r\nc,\"\"\"q\"\"\n\"\r\ne,f",
            Boundary::CsvRecords { delimiter: b',' },
            1 << 20,
        );
        // A literal quote (`a"b`) before a quoted newline, and no record end by parity after it.
        agree(
            b"h1,h2\na\"b,\"x\ny\"\nc,d\ne,f\n",
            Boundary::CsvRecords { delimiter: b',' },
            1 << 20,
        );
        agree(b"h1,h2\na\"b,c\nd,e\nf,g\nh,i\n", Boundary::CsvRecords { delimiter: b',' }, 8);
    }

    #[test]
    fn a_bom_is_hashed_but_not_text() {
        agree(b"\xEF\xBB\xBF{\"a\":1}\n{\"b\":2}\n", Boundary::Lines, 1 << 20);
        agree(b"\xEF\xBB\xBF", Boundary::Lines, 1 << 20);
        let (cuts, _) = mapped(b"\xEF\xBB\xBFh\nx\n", Boundary::Lines, limits(4, 100));
        assert_eq!(cuts.unwrap().first().map(|c| c.1.clone()), Some(b"h\nx\n".to_vec()));
    }

    #[test]
    fn a_record_longer_than_a_chunk_stays_whole_and_one_over_the_limit_names_its_line() {
        let long = format!("a\n{}\nb\r\nc", "x".repeat(100));
        agree(long.as_bytes(), Boundary::Lines, 1 << 20);
        let over = format!("ok\nok\n\"{}", "x".repeat(300));
        agree(over.as_bytes(), Boundary::CsvRecords { delimiter: b',' }, 100);
        assert_eq!(
            mapped(over.as_bytes(), Boundary::CsvRecords { delimiter: b',' }, limits(16, 100)).0,
            Err(3)
        );
    }

    #[test]
    fn plain_text_is_neither_gzip_nor_utf16() {
        assert!(is_plain(b"TimeGenerated,x"));
        assert!(is_plain(b"\xEF\xBB\xBF{"));
        assert!(!is_plain(&[0x1f, 0x8b, 8]));
        assert!(!is_plain(&[0xFF, 0xFE, b'a', 0]));
        assert!(!is_plain(&[0xFE, 0xFF, 0, b'a']));
    }
}
