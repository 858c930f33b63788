//! Byte classes of text, one bit per byte, 64 bytes at a time: the first step of the CSV
//! field index ([`csv_index`](super::csv_index)) and of the JSON cursor
//! ([`json_scan`](super::json_scan)).
//!
//! The portable version compares 16 bytes at a time with `wide` (SSE2 on x86-64, the
//! baseline every x86-64 CPU has). Where the CPU has AVX2 (checked once, at run time, by the
//! standard library) the same bits come from 32-byte compares, half the instructions for the
//! pass over every byte of a storage log. The two versions must give the same bits for every
//! input; a unit test compares them on random and boundary text.

/// Quotes, delimiters, `\n` and `\r` of one 64-byte block of CSV text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CsvBits {
    pub quotes: u64,
    pub delimiters: u64,
    pub lf: u64,
    pub cr: u64,
}

/// The bits of up to `out.len()` consecutive 64-byte blocks from the start of `data`; a last
/// block shorter than 64 bytes is padded with NUL bytes (the caller masks off what lies past
/// the text). Returns the number of blocks filled (0 only when `data` is empty).
pub fn csv_blocks(data: &[u8], delimiter: u8, out: &mut [CsvBits]) -> usize {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { avx2::csv_blocks(data, delimiter, out) };
    }
    portable::csv_blocks(data, delimiter, out)
}

/// Appends, per 64-byte block of `text` (the last one padded with spaces), the bits of quotes
/// and backslashes to `marks` and the bits of control characters (bytes below 0x20, line
/// breaks among them) to `controls`.
pub fn json_marks(text: &[u8], marks: &mut Vec<u64>, controls: &mut Vec<u64>) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { avx2::json_marks(text, marks, controls) };
    }
    portable::json_marks(text, marks, controls);
}

/// Calls `each` with every 64-byte block of `data`, the last one padded with `pad`, up to
/// `limit` blocks; returns how many.
#[inline(always)]
fn for_blocks(data: &[u8], pad: u8, limit: usize, mut each: impl FnMut(usize, &[u8; 64])) -> usize {
    let (blocks, rest) = data.as_chunks::<64>();
    let mut n = 0;
    for block in blocks.iter().take(limit) {
        each(n, block);
        n += 1;
    }
    if n == blocks.len() && n < limit && !rest.is_empty() {
        let mut block = [pad; 64];
        block[..rest.len()].copy_from_slice(rest);
        each(n, &block);
        n += 1;
    }
    n
}

mod portable {
    use super::{for_blocks, CsvBits};
    use wide::u8x16;

    pub fn csv_blocks(data: &[u8], delimiter: u8, out: &mut [CsvBits]) -> usize {
        let (quote, delim, lf, cr) = (
            u8x16::splat(b'"'),
            u8x16::splat(delimiter),
            u8x16::splat(b'\n'),
            u8x16::splat(b'\r'),
        );
        for_blocks(data, 0, out.len(), |i, block| {
            let mut bits = CsvBits::default();
            for (k, lane) in block.as_chunks::<16>().0.iter().enumerate() {
                let v = u8x16::new(*lane);
                let shift = k * 16;
                bits.quotes |= u64::from(v.simd_eq(quote).to_bitmask()) << shift;
                bits.delimiters |= u64::from(v.simd_eq(delim).to_bitmask()) << shift;
                bits.lf |= u64::from(v.simd_eq(lf).to_bitmask()) << shift;
                bits.cr |= u64::from(v.simd_eq(cr).to_bitmask()) << shift;
            }
            out[i] = bits;
        })
    }

    pub fn json_marks(text: &[u8], marks: &mut Vec<u64>, controls: &mut Vec<u64>) {
        let (quote, escape, control) = (u8x16::splat(b'"'), u8x16::splat(b'\\'), u8x16::splat(0x1f));
        for_blocks(text, b' ', usize::MAX, |_, block| {
            let (mut m, mut c) = (0u64, 0u64);
            for (k, lane) in block.as_chunks::<16>().0.iter().enumerate() {
                let v = u8x16::new(*lane);
                let shift = k * 16;
                m |= u64::from((v.simd_eq(quote) | v.simd_eq(escape)).to_bitmask()) << shift;
                c |= u64::from(v.min(control).simd_eq(v).to_bitmask()) << shift;
            }
            marks.push(m);
            controls.push(c);
        });
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{for_blocks, CsvBits};
    use std::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_min_epu8, _mm256_movemask_epi8, _mm256_set1_epi8, _mm256_setr_epi8,
        _mm256_shuffle_epi8,
    };

    /// The two 32-byte halves of a block.
    #[target_feature(enable = "avx2")]
    fn halves(block: &[u8; 64]) -> (__m256i, __m256i) {
        // SAFETY: both loads read 32 bytes inside the 64-byte array (unaligned loads).
        unsafe {
            (
                _mm256_loadu_si256(block.as_ptr().cast::<__m256i>()),
                _mm256_loadu_si256(block.as_ptr().add(32).cast::<__m256i>()),
            )
        }
    }

    /// One bit per byte of the block from a compare of each half.
    #[target_feature(enable = "avx2")]
    fn bits(lo: __m256i, hi: __m256i) -> u64 {
        // `movemask` packs the top bit of each byte: a compare's all-ones bytes.
        u64::from(_mm256_movemask_epi8(lo).cast_unsigned()) | (u64::from(_mm256_movemask_epi8(hi).cast_unsigned()) << 32)
    }

    #[target_feature(enable = "avx2")]
    fn eq(lo: __m256i, hi: __m256i, byte: u8) -> u64 {
        let b = _mm256_set1_epi8(byte.cast_signed());
        bits(_mm256_cmpeq_epi8(lo, b), _mm256_cmpeq_epi8(hi, b))
    }

    #[target_feature(enable = "avx2")]
    pub fn csv_blocks(data: &[u8], delimiter: u8, out: &mut [CsvBits]) -> usize {
        for_blocks(data, 0, out.len(), |i, block| {
            // The closure has this function's target features: no `unsafe` needed.
            let (lo, hi) = halves(block);
            out[i] = CsvBits {
                quotes: eq(lo, hi, b'"'),
                delimiters: eq(lo, hi, delimiter),
                lf: eq(lo, hi, b'\n'),
                cr: eq(lo, hi, b'\r'),
            };
        })
    }

    #[target_feature(enable = "avx2")]
    pub fn json_marks(text: &[u8], marks: &mut Vec<u64>, controls: &mut Vec<u64>) {
        for_blocks(text, b' ', usize::MAX, |_, block| {
            let (lo, hi) = halves(block);
            // `"` (0x22) and `\` (0x5C) by one lookup on the low four bits: the table holds
            // each at its low nibble and 0xFF (no ASCII byte) elsewhere; a byte with its top
            // bit set looks up 0. (Two compares ORed make LLVM take the 64 bits apart one by
            // one on AVX2, many times slower.)
            let table = _mm256_setr_epi8(
                -1, -1, 0x22, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0x5C, -1, -1, -1, //
                -1, -1, 0x22, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0x5C, -1, -1, -1,
            );
            marks.push(bits(
                _mm256_cmpeq_epi8(_mm256_shuffle_epi8(table, lo), lo),
                _mm256_cmpeq_epi8(_mm256_shuffle_epi8(table, hi), hi),
            ));
            // A byte is at most 0x1f when the minimum of it and 0x1f is itself.
            let c = _mm256_set1_epi8(0x1f);
            controls.push(bits(
                _mm256_cmpeq_epi8(_mm256_min_epu8(lo, c), lo),
                _mm256_cmpeq_epi8(_mm256_min_epu8(hi, c), hi),
            ));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Text of every length up to 200 (short blocks, whole blocks, a short last block),
    /// random bytes weighted towards the classes, every delimiter the CSV reader takes.
    fn texts() -> Vec<Vec<u8>> {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = b"\",;\t|\n\r\\. a\x00\x1f\x20\x7f\x80\xbf\xc3\xff";
        let mut out = Vec::new();
        for len in 0..200 {
            for _ in 0..20 {
                let t: Vec<u8> = (0..len)
                    .map(|_| {
                        let r = next();
                        if r % 3 == 0 {
                            (r >> 8) as u8
                        } else {
                            alphabet[(r >> 8) as usize % alphabet.len()]
                        }
                    })
                    .collect();
                out.push(t);
            }
        }
        out
    }

    /// Every bit taken one byte at a time, the definition the SIMD versions must meet.
    fn csv_reference(data: &[u8], delimiter: u8, limit: usize) -> Vec<CsvBits> {
        data.chunks(64)
            .take(limit)
            .map(|block| {
                let mut b = CsvBits::default();
                for (i, &c) in block.iter().enumerate() {
                    b.quotes |= u64::from(c == b'"') << i;
                    b.delimiters |= u64::from(c == delimiter) << i;
                    b.lf |= u64::from(c == b'\n') << i;
                    b.cr |= u64::from(c == b'\r') << i;
                }
                b
            })
            .collect()
    }

    fn json_reference(text: &[u8]) -> (Vec<u64>, Vec<u64>) {
        let (mut marks, mut controls) = (Vec::new(), Vec::new());
        for block in text.chunks(64) {
            let (mut m, mut c) = (0u64, 0u64);
            for (i, &b) in block.iter().enumerate() {
                m |= u64::from(b == b'"' || b == b'\\') << i;
                c |= u64::from(b < 0x20) << i;
            }
            marks.push(m);
            controls.push(c);
        }
        (marks, controls)
    }

    #[test]
    fn csv_bits_are_the_bytes_classes_on_every_path() {
        for text in texts() {
            for delimiter in [b',', b';', b'\t', b'|'] {
                for limit in [1, 3, 8] {
                    let want = csv_reference(&text, delimiter, limit);
                    let mut out = [CsvBits::default(); 8];
                    let n = portable::csv_blocks(&text, delimiter, &mut out[..limit]);
                    assert_eq!(&out[..n], &want[..], "portable {text:?}");
                    #[cfg(target_arch = "x86_64")]
                    if std::is_x86_feature_detected!("avx2") {
                        let mut out = [CsvBits::default(); 8];
                        // SAFETY: the CPU has AVX2.
                        let n = unsafe { avx2::csv_blocks(&text, delimiter, &mut out[..limit]) };
                        assert_eq!(&out[..n], &want[..], "avx2 {text:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn json_bits_are_the_bytes_classes_on_every_path() {
        for text in texts() {
            let want = json_reference(&text);
            let (mut marks, mut controls) = (Vec::new(), Vec::new());
            portable::json_marks(&text, &mut marks, &mut controls);
            assert_eq!((marks, controls), want, "portable {text:?}");
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx2") {
                let (mut marks, mut controls) = (Vec::new(), Vec::new());
                // SAFETY: the CPU has AVX2.
                unsafe { avx2::json_marks(&text, &mut marks, &mut controls) };
                assert_eq!((marks, controls), want, "avx2 {text:?}");
            }
        }
    }
}
