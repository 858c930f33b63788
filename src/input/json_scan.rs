//! A byte-level reader for one line of JSON that takes only the plainest form of it.
//!
//! The storage reader walks each raw resource-log record with a [`Cursor`]: keys and wanted
//! values are read as borrowed text, every other value is skipped by scanning its bytes
//! (a bit scan to the end of each string, brackets counted), so nothing is decoded or built.
//! The cursor accepts a strict subset of JSON: whatever it accepts is valid JSON and reads
//! as `serde_json` reads it. Anything outside the subset (an escape in a key or in a wanted
//! value, a float or negative number where a value is wanted, a control character anywhere,
//! nesting deeper than [`MAX_DEPTH`]) makes it answer `None`, and the caller reads that
//! record with `serde_json`, which has the last word on what the text means.

/// Nesting depth beyond which the cursor gives up (serde_json, which skips values without
/// recursing, then reads the record).
pub const MAX_DEPTH: usize = 64;

/// A wanted value in its plain form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar<'a> {
    /// A string without escapes, its text between the quotes.
    Str(&'a str),
    /// A non-negative integer that fits in a `u64`, as written (no leading zeros).
    Int(&'a str),
    Bool(bool),
    Null,
}

/// A position in one line of JSON text, in a text of many lines (a chunk of a file), with
/// one bit per byte of that text for quotes and backslashes and one for control characters
/// (64-byte blocks, SIMD compares: [`simd`](super::simd)): the end of a string is a bit scan
/// away, and so is the end of a line (its line break is the first control character after
/// its start, unless the line holds another, which sends it to serde anyway). The bits are
/// taken a few blocks at a time as the lines are read, and dropped behind them, so they stay
/// few. One cursor is reused chunk after chunk (its bit buffers with it).
#[derive(Default)]
pub struct Cursor<'a> {
    /// The text whose lines are read (a chunk of a file, or one line).
    chunk: &'a str,
    /// The current line, without its line break and trailing spaces and carriage returns.
    text: &'a str,
    /// Where `text` starts in `chunk`.
    base: usize,
    /// The position in `text`.
    pos: usize,
    /// The block of `chunk` that `marks[0]` and `controls[0]` are for.
    first_block: usize,
    /// Quotes and backslashes, one bit per byte of `chunk`, from `first_block` on.
    marks: Vec<u64>,
    /// Bytes below 0x20, likewise.
    controls: Vec<u64>,
}

/// Blocks of bits taken at a time.
const STEP_BLOCKS: usize = 16;
/// Blocks kept behind the current line before they are dropped.
const KEPT_BLOCKS: usize = 256;

impl<'a> Cursor<'a> {
    /// A cursor over `line`, or None when it holds a control character (see
    /// [`Cursor::reset`]).
    pub fn new(line: &'a str) -> Option<Cursor<'a>> {
        let mut c = Cursor::default();
        c.reset(line).then_some(c)
    }

    /// Starts over on `line` as a text of one line, without its trailing spaces and carriage
    /// returns; false when what remains holds a control character (tabs and line breaks
    /// between tokens included: the cursor's subset has none, serde_json reads such lines).
    pub fn reset(&mut self, line: &'a str) -> bool {
        self.start(line);
        let (end, plain) = self.line(0);
        plain && end == line.len()
    }

    /// Starts on `chunk`, whose lines [`Cursor::line`] then reads in order.
    pub fn start(&mut self, chunk: &'a str) {
        self.chunk = chunk;
        self.text = "";
        self.base = 0;
        self.pos = 0;
        self.first_block = 0;
        self.marks.clear();
        self.controls.clear();
    }

    /// Goes to the line of the chunk that starts at `from` (0, or just after a line break;
    /// lines are read in order). Returns where the line ends (its line break, or the
    /// chunk's end) and whether the cursor stands at its start, ready to read it: false when
    /// the line, without its trailing spaces and carriage returns, holds a control character.
    pub fn line(&mut self, from: usize) -> (usize, bool) {
        let bytes = self.chunk.as_bytes();
        let control = self.next_control(from);
        let end = if control < bytes.len() && bytes[control] != b'\n' {
            memchr::memchr(b'\n', &bytes[control..]).map_or(bytes.len(), |i| control + i)
        } else {
            control
        };
        let mut last = end;
        while last > from && matches!(bytes[last - 1], b' ' | b'\r') {
            last -= 1;
        }
        // `from` follows a line break or is 0, `last` is at a space, a control character or
        // the end: character boundaries.
        self.text = self.chunk.get(from..last).unwrap_or_default();
        self.base = from;
        self.pos = 0;
        (end, control >= last)
    }

    /// The offset of the first control character at or after `from`, or the chunk's length;
    /// takes the bits of further blocks as needed.
    fn next_control(&mut self, from: usize) -> usize {
        let len = self.chunk.len();
        let mut block = from / 64;
        if block < self.first_block || block - self.first_block > KEPT_BLOCKS {
            // Behind the current line: dropped (the blocks from its own on are kept).
            let behind = block.saturating_sub(self.first_block).min(self.controls.len());
            self.marks.drain(..behind);
            self.controls.drain(..behind);
            self.first_block += behind;
            if block < self.first_block || self.controls.is_empty() {
                self.first_block = block;
                self.marks.clear();
                self.controls.clear();
            }
        }
        let mut mask = u64::MAX << (from % 64);
        loop {
            let Some(&bits) = self.controls.get(block - self.first_block) else {
                let at = (self.first_block + self.controls.len()) * 64;
                if at >= len {
                    return len;
                }
                let to = len.min(at + STEP_BLOCKS * 64);
                super::simd::json_marks(&self.chunk.as_bytes()[at..to], &mut self.marks, &mut self.controls);
                continue;
            };
            let bits = bits & mask;
            if bits != 0 {
                return len.min(block * 64 + bits.trailing_zeros() as usize);
            }
            block += 1;
            mask = u64::MAX;
        }
    }

    /// Offset in the line of the first `"` or `\` at or after `from`.
    #[inline]
    fn find_quote_or_escape(&self, from: usize) -> Option<usize> {
        let at = self.base + from;
        let end = self.base + self.text.len();
        let mut block = at / 64;
        let mut bits = self.marks.get(block.checked_sub(self.first_block)?)? & (u64::MAX << (at % 64));
        loop {
            if bits != 0 {
                let found = block * 64 + bits.trailing_zeros() as usize;
                return (found < end).then(|| found - self.base);
            }
            block += 1;
            if block * 64 >= end {
                return None;
            }
            bits = *self.marks.get(block - self.first_block)?;
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// Skips spaces (the only whitespace left after [`Cursor::new`]).
    #[inline]
    pub fn ws(&mut self) {
        while self.bytes().get(self.pos) == Some(&b' ') {
            self.pos += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    #[inline]
    pub fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.bytes().get(self.pos).copied()
    }

    /// [`Cursor::eat_bytes`] of `expected`'s bytes: when they are few and the line goes on
    /// for 32 bytes more, compared as four masked words (no loop, no branch per word).
    #[inline]
    pub fn eat_expected(&mut self, expected: &Expected) -> bool {
        if let Some(words) = expected.words.as_ref() {
            if let Some(text) = self.bytes().get(self.pos..).and_then(<[u8]>::first_chunk::<32>) {
                let text = text.as_chunks::<8>().0;
                let differ = (0..4).fold(0, |d, i| d | ((u64::from_le_bytes(text[i]) ^ words.words[i]) & words.masks[i]));
                if differ == 0 {
                    self.pos += expected.bytes.len();
                }
                return differ == 0;
            }
        }
        self.eat_bytes(&expected.bytes)
    }

    /// Consumes `bytes` when the text goes on with them (no whitespace skipped before).
    #[inline]
    pub fn eat_bytes(&mut self, bytes: &[u8]) -> bool {
        let hit = self
            .bytes()
            .get(self.pos..self.pos + bytes.len())
            .is_some_and(|t| same_bytes(t, bytes));
        if hit {
            self.pos += bytes.len();
        }
        hit
    }

    /// Consumes `b` (after whitespace) when it is next.
    #[inline]
    pub fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// True when only whitespace is left.
    pub fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    /// A string without escapes at the cursor (after whitespace), its text between the
    /// quotes; None when the next token is not such a string.
    #[inline]
    pub fn plain_string(&mut self) -> Option<&'a str> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.pos;
        let end = self.find_quote_or_escape(start)?;
        if self.bytes()[end] != b'"' {
            return None;
        }
        self.pos = end + 1;
        // Quotes are ASCII, so both ends are character boundaries.
        self.text.get(start..end)
    }

    /// [`Cursor::plain_string`] for a key: None also when it holds a dot or a non-ASCII
    /// character (a dotted key could stand for a nested field, and a non-ASCII one could
    /// fold to a wanted name: the general reader decides those).
    #[inline]
    pub fn plain_key(&mut self) -> Option<&'a str> {
        let key = self.plain_string()?;
        // Keys are short, and a record's keys are mostly taken from the record before
        // (`KeyOrder` in the storage reader), so their bytes are looked at here, not marked
        // for the whole line.
        (!key.bytes().any(|b| b == b'.' || !b.is_ascii())).then_some(key)
    }

    /// Skips a string whose opening quote has been consumed, escapes included (checked as
    /// serde_json checks skipped strings: the escape letter, four hex digits after `\u`).
    #[inline]
    fn skip_string_body(&mut self) -> Option<()> {
        let b = self.bytes();
        loop {
            let at = self.find_quote_or_escape(self.pos)?;
            if b[at] == b'"' {
                self.pos = at + 1;
                return Some(());
            }
            match *b.get(at + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.pos = at + 2,
                b'u' => {
                    let hex = b.get(at + 2..at + 6)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    self.pos = at + 6;
                }
                _ => return None,
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.bytes().get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// Skips a number, checking JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn skip_number(&mut self) -> Option<()> {
        if self.bytes().get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let first = *self.bytes().get(self.pos)?;
        let n = self.digits();
        if n == 0 || (first == b'0' && n > 1) {
            return None;
        }
        if self.bytes().get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.bytes().get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.bytes().get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.bytes().get(self.pos..self.pos + word.len())? == word {
            self.pos += word.len();
            Some(())
        } else {
            None
        }
    }

    /// Skips any value (after whitespace), checking its grammar; None outside the subset.
    /// A string (most skipped values) is skipped here, without the general walk's dispatch.
    #[inline]
    pub fn skip_value(&mut self) -> Option<()> {
        if self.peek()? == b'"' {
            // A string without escapes (most) ends at the next mark, a quote; the general
            // step reads the rest.
            let at = self.find_quote_or_escape(self.pos + 1)?;
            if self.bytes()[at] == b'"' {
                self.pos = at + 1;
                return Some(());
            }
            self.pos += 1;
            return self.skip_string_body();
        }
        self.skip_nested(0)
    }

    fn skip_nested(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => {
                self.pos += 1;
                self.skip_string_body()
            }
            b'{' | b'[' if depth >= MAX_DEPTH => None,
            b'{' => {
                self.pos += 1;
                if self.eat(b'}') {
                    return Some(());
                }
                loop {
                    if !self.eat(b'"') {
                        return None;
                    }
                    self.skip_string_body()?;
                    if !self.eat(b':') {
                        return None;
                    }
                    self.skip_nested(depth + 1)?;
                    if self.eat(b'}') {
                        return Some(());
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            b'[' => {
                self.pos += 1;
                if self.eat(b']') {
                    return Some(());
                }
                loop {
                    self.skip_nested(depth + 1)?;
                    if self.eat(b']') {
                        return Some(());
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.skip_number(),
            _ => None,
        }
    }

    /// A wanted value in its plain form (after whitespace); None for anything else (an
    /// escaped string, a negative, fractional or large number, an object, an array).
    pub fn scalar(&mut self) -> Option<Scalar<'a>> {
        match self.peek()? {
            b'"' => self.plain_string().map(Scalar::Str),
            b't' => self.literal(b"true").map(|()| Scalar::Bool(true)),
            b'f' => self.literal(b"false").map(|()| Scalar::Bool(false)),
            b'n' => self.literal(b"null").map(|()| Scalar::Null),
            b'0'..=b'9' => {
                let start = self.pos;
                let n = self.digits();
                let leading_zero = self.bytes()[start] == b'0' && n > 1;
                // 19 digits always fit in a u64; a fraction or exponent makes a float.
                if leading_zero || n > 19 || matches!(self.bytes().get(self.pos), Some(b'.' | b'e' | b'E')) {
                    return None;
                }
                self.text.get(start..self.pos).map(Scalar::Int)
            }
            _ => None,
        }
    }
}

/// Bytes [`Cursor::eat_expected`] looks for, kept also as words when there are at most 32.
#[derive(Debug, Default)]
pub struct Expected {
    bytes: Vec<u8>,
    words: Option<Words>,
}

/// Up to 32 bytes as four little-endian words, and a mask of the bytes that count.
#[derive(Debug)]
struct Words {
    words: [u64; 4],
    masks: [u64; 4],
}

impl Expected {
    /// Replaces the bytes looked for (keeping the allocation).
    pub fn set(&mut self, bytes: impl IntoIterator<Item = u8>) {
        self.bytes.clear();
        self.bytes.extend(bytes);
        self.words = (self.bytes.len() <= 32).then(|| {
            let (mut padded, mut mask) = ([0u8; 32], [0u8; 32]);
            padded[..self.bytes.len()].copy_from_slice(&self.bytes);
            mask[..self.bytes.len()].fill(0xff);
            let word = |b: &[u8; 32], i: usize| {
                let mut w = [0u8; 8];
                w.copy_from_slice(&b[i * 8..i * 8 + 8]);
                u64::from_le_bytes(w)
            };
            Words {
                words: std::array::from_fn(|i| word(&padded, i)),
                masks: std::array::from_fn(|i| word(&mask, i)),
            }
        });
    }
}

/// `a == b` for short texts (names, keys), eight bytes at a time in registers (a slice comparison calls
/// `memcmp`, which costs more than the comparison for names of a few bytes).
#[inline]
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    fn word(s: &[u8], at: usize) -> u64 {
        s.get(at..).and_then(<[u8]>::first_chunk::<8>).map_or(0, |w| u64::from_le_bytes(*w))
    }
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    // Whole words, then the last word (overlapping the one before when `n` is not a
    // multiple of eight).
    (0..n / 8).all(|i| word(a, i * 8) == word(b, i * 8)) && word(a, n - 8) == word(b, n - 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skips(text: &str) -> bool {
        Cursor::new(text).is_some_and(|mut c| c.skip_value().is_some() && c.at_end())
    }

    /// Whatever the bytes looked for (up to 40 of them) and the text after the cursor
    /// (shorter and longer than 32 bytes, equal, a prefix, or differing in any one byte),
    /// `eat_expected` answers and moves as `eat_bytes` does.
    #[test]
    fn eat_expected_is_eat_bytes() {
        let base: Vec<u8> = (0..48u8).map(|i| b'a' + i % 26).collect();
        let mut e = Expected::default();
        let mut compared = 0;
        for n in 0..=40 {
            e.set(base[..n].iter().copied());
            for rest in [0, 1, 5, 31, 32, 33, 40] {
                for change in std::iter::once(None).chain((0..n + rest).map(Some)) {
                    let mut text = base[..(n + rest).min(48)].to_vec();
                    if let Some(at) = change.filter(|&at| at < text.len()) {
                        text[at] = b'"';
                    }
                    let line = format!("{{{}", String::from_utf8(text).unwrap());
                    let (mut a, mut b) = (Cursor::new(&line).unwrap(), Cursor::new(&line).unwrap());
                    assert!(a.eat(b'{') && b.eat(b'{'));
                    assert_eq!(a.eat_expected(&e), b.eat_bytes(&base[..n]), "{n} {line}");
                    assert_eq!(a.pos, b.pos, "{n} {line}");
                    compared += 1;
                }
            }
        }
        assert!(compared > 5000, "{compared}");
    }

    #[test]
    fn same_bytes_is_slice_equality() {
        let names = [
            "",
            "a",
            "uri",
            "time",
            "objectKey",
            "accountName",
            "authenticationType",
            "responseBodySizes!",
            "\"callerIpAddress\":",
        ];
        for x in names {
            for y in names {
                assert_eq!(same_bytes(x.as_bytes(), y.as_bytes()), x == y, "{x} {y}");
                for at in 0..x.len() {
                    let mut z = x.as_bytes().to_vec();
                    z[at] ^= 1;
                    assert!(!same_bytes(x.as_bytes(), &z), "{x} with byte {at} changed");
                }
            }
        }
    }

    #[test]
    fn what_the_cursor_skips_is_valid_json() {
        let cases = [
            r#"{"a":[1,-2.5e+3,0,true,false,null,"x\"y\\\u00e9"],"b":{}}"#,
            r#"[]"#,
            r#" { "a" : { "b" : [ { } ] } } "#,
            r#"{"a":1,}"#,
            r#"{"a":01}"#,
            r#"{"a":-}"#,
            r#"{"a":1.}"#,
            r#"{"a":1e}"#,
            r#"{"a":"\x"}"#,
            r#"{"a":"\u12g4"}"#,
            r#"{"a":tru}"#,
            r#"{"a" 1}"#,
            r#"{"a":1 "b":2}"#,
            r#"[1,]"#,
            r#"{"a":"open}"#,
            "{\"a\":\"tab\there\"}",
            r#"{"a":1}x"#,
            r#"{a:1}"#,
        ];
        for text in cases {
            let valid = serde_json::from_str::<serde_json::Value>(text).is_ok();
            if skips(text) {
                assert!(valid, "skipped invalid JSON {text}");
            }
        }
        assert!(skips(cases[0]) && skips(cases[1]) && skips(cases[2]));
    }

    #[test]
    fn keys_with_a_dot_or_beyond_ascii_are_not_plain() {
        fn key(t: &str) -> Option<&str> {
            Cursor::new(t).and_then(|mut c| c.plain_key())
        }
        let long = "k".repeat(130);
        assert_eq!(key(r#""abc":1"#), Some("abc"));
        assert_eq!(key(r#""a.c":1"#), None);
        assert_eq!(key("\"é\":1"), None);
        assert_eq!(key(&format!("\"{long}\":\"a.b\"")), Some(long.as_str()));
        assert_eq!(key(&format!("\"{long}.\":1")), None);
        assert_eq!(key(&format!("\".{long}\":1")), None);
        for at in 0..long.len() {
            let mut k = long.clone();
            k.replace_range(at..=at, ".");
            assert_eq!(key(&format!("\"{k}\":1")), None, "dot at {at}");
        }
    }

    #[test]
    fn a_dot_is_seen_wherever_a_short_key_lies_across_blocks() {
        for pad in 0..70 {
            for len in [1, 2, 7, 8, 9, 31, 63, 64, 65] {
                let key = "k".repeat(len);
                let text = format!("{}\"{key}\":1", " ".repeat(pad));
                assert_eq!(
                    Cursor::new(&text).and_then(|mut c| c.plain_key()),
                    Some(key.as_str()),
                    "pad {pad} len {len}"
                );
                for at in 0..len {
                    for bad in [".", "é"] {
                        let mut k = key.clone();
                        k.replace_range(at..=at, bad);
                        let text = format!("{}\"{k}\":1", " ".repeat(pad));
                        assert_eq!(
                            Cursor::new(&text).and_then(|mut c| c.plain_key()),
                            None,
                            "pad {pad} len {len} {bad:?} at {at}"
                        );
                    }
                }
            }
        }
    }

    /// The lines of one text, read in order, end where `split('\n')` ends them, are plain
    /// when the line without its trailing spaces and carriage returns holds no control
    /// character, and read as each line on its own does, whatever the bits of the lines
    /// around them: lines across blocks, shorter than one, longer than the bits kept, blank,
    /// with CRLF, a tab, a lone CR, escapes, a last line with and without a line break.
    #[test]
    fn lines_of_a_text_read_as_each_line_alone() {
        let mut lines: Vec<String> = [
            "{\"a\":1}",
            "",
            "  ",
            "{\"a\":\"x\\\"y\"}\r",
            "{\"a\":\t1}",
            "{\"b\":\"\\u0041\"} \r ",
            "\r",
            "{\"a\":\"x\"}\ry",
            "{\"c\":[1,2,{\"d\":null}],\"e\":\"\"}",
            "{\"unclosed\":\"",
        ]
        .map(String::from)
        .to_vec();
        for n in [0, 1, 50, 53, 54, 55, 56, 57, 63, 64, 65, 127, 1000, 1024, 20_000, 40_000] {
            lines.push(format!("{{\"k\":\"{}\",\"n\":{n}}}", "x".repeat(n)));
            lines.push(format!("{{\"k\":\"{}\\n\"}}", "\"".repeat(n % 7).replace('"', "\\\"")));
        }
        fn reads<'a>(c: &mut Cursor<'a>) -> (bool, Option<&'a str>, Option<Scalar<'a>>) {
            let mut copy = Cursor {
                chunk: c.chunk,
                text: c.text,
                base: c.base,
                pos: c.pos,
                first_block: c.first_block,
                marks: c.marks.clone(),
                controls: c.controls.clone(),
            };
            let skipped = copy.skip_value().is_some() && copy.at_end();
            let key = c.eat(b'{').then(|| c.plain_key()).flatten();
            (skipped, key, c.eat(b':').then(|| c.scalar()).flatten())
        }
        for ending in ["", "\n", "\r\n"] {
            let text = lines.join("\n") + ending;
            let mut c = Cursor::default();
            c.start(&text);
            let mut start = 0;
            for piece in text.split('\n') {
                let (end, plain) = c.line(start);
                assert_eq!(&text[start..end], piece);
                let bare = piece.trim_end_matches([' ', '\r']);
                assert_eq!(plain, !bare.bytes().any(|b| b < 0x20), "{piece:?}");
                let alone = Cursor::new(piece);
                assert_eq!(plain, alone.is_some(), "{piece:?}");
                if let Some(mut alone) = alone {
                    assert_eq!(reads(&mut c), reads(&mut alone), "{piece:?}");
                }
                start = end + 1;
            }
            assert!(c.marks.len() <= KEPT_BLOCKS + 40_000 / 64 + 2 * STEP_BLOCKS, "{}", c.marks.len());
        }
    }

    #[test]
    fn deep_nesting_is_left_to_serde() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(!skips(&deep));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(skips(&ok));
    }

    #[test]
    fn scalars_in_plain_form_only() {
        let read = |t: &'static str| Cursor::new(t).and_then(|mut c| c.scalar());
        assert_eq!(read(r#""abc""#), Some(Scalar::Str("abc")));
        assert_eq!(read(r#""a\"c""#), None);
        assert_eq!(read("200"), Some(Scalar::Int("200")));
        assert_eq!(read("0"), Some(Scalar::Int("0")));
        assert_eq!(read("012"), None);
        assert_eq!(read("-1"), None);
        assert_eq!(read("1.0"), None);
        assert_eq!(read("1e3"), None);
        assert_eq!(read("12345678901234567890"), None);
        assert_eq!(read("null"), Some(Scalar::Null));
        assert_eq!(read("true"), Some(Scalar::Bool(true)));
        assert_eq!(read("{}"), None);
    }
}
