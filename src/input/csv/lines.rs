//! Lines of decoded text, each at most [`MAX_LINE_BYTES`] long, whatever
//! the file holds. A line ends at `\n`, `\r\n` or a lone `\r` (what Excel
//! for Mac writes as "CSV (Macintosh)"); a longer line is passed over
//! without being buffered, and said to be too long. Device CSVs never hold
//! a value that spans lines, so every record is one line: a bad line costs
//! that row, never the rest of the file, and a file of any shape is read in
//! constant memory.

use std::io::{self, BufRead};

/// Longest line read. A real row is one 4,000-character hash and a few
/// short values (about 4.2 KiB); the longest hash apctl takes
/// ([`super::checks::MAX_HASH_BYTES`]) is under 22 KiB of base64. A longer
/// line is a broken file, not a device.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// One line.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A line's text, without its line end.
    Text { number: u64, bytes: &'a [u8] },
    /// A line longer than the cap; `bytes` is how long it was.
    TooLong { number: u64, bytes: u64 },
}

/// Splits a byte stream into bounded lines.
pub struct Lines<R> {
    inner: R,
    /// The number the next line gets (1-based).
    next: u64,
    buf: Vec<u8>,
    cap: usize,
    /// The last line ended with `\r`: a `\n` right after it belongs to it.
    after_cr: bool,
}

impl<R: BufRead> Lines<R> {
    /// Lines of `inner`, capped at [`MAX_LINE_BYTES`].
    pub fn new(inner: R) -> Self {
        Self::with_cap(inner, MAX_LINE_BYTES)
    }

    /// Lines of `inner`, capped at `cap` bytes.
    pub fn with_cap(inner: R, cap: usize) -> Self {
        Self {
            inner,
            next: 1,
            buf: Vec::new(),
            cap,
            after_cr: false,
        }
    }

    /// The number of the line being read, or of the next one.
    pub fn line_number(&self) -> u64 {
        self.next
    }

    /// The next line, or `None` at the end of the text.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        if std::mem::take(&mut self.after_cr) {
            let data = self.inner.fill_buf()?;
            if data.first() == Some(&b'\n') {
                self.inner.consume(1);
            }
        }
        self.buf.clear();
        let mut seen: u64 = 0;
        let mut ended = false;
        loop {
            let data = self.inner.fill_buf()?;
            if data.is_empty() {
                break;
            }
            let end = memchr::memchr2(b'\n', b'\r', data);
            let take = end.unwrap_or(data.len());
            let room = self.cap.saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&data[..take.min(room)]);
            seen += take as u64;
            match end {
                Some(i) => {
                    self.after_cr = data[i] == b'\r';
                    self.inner.consume(i + 1);
                    ended = true;
                    break;
                }
                None => {
                    let n = data.len();
                    self.inner.consume(n);
                }
            }
        }
        if !ended && seen == 0 {
            return Ok(None);
        }
        let number = self.next;
        self.next += 1;
        if seen as usize > self.cap {
            self.buf = Vec::new();
            return Ok(Some(Line::TooLong { number, bytes: seen }));
        }
        Ok(Some(Line::Text {
            number,
            bytes: &self.buf,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &[u8], cap: usize) -> Vec<(u64, Result<String, u64>)> {
        // A tiny buffer so line ends straddle refills.
        let mut lines = Lines::with_cap(io::BufReader::with_capacity(3, text), cap);
        let mut out = Vec::new();
        while let Some(line) = lines.next_line().unwrap() {
            out.push(match line {
                Line::Text { number, bytes } => (number, Ok(String::from_utf8_lossy(bytes).into_owned())),
                Line::TooLong { number, bytes } => (number, Err(bytes)),
            });
        }
        out
    }

    fn text(v: &[(u64, &str)]) -> Vec<(u64, Result<String, u64>)> {
        v.iter().map(|(n, s)| (*n, Ok((*s).to_owned()))).collect()
    }

    #[test]
    fn every_line_end_counts_once() {
        let want = text(&[(1, "a,b"), (2, "c"), (3, ""), (4, "d")]);
        assert_eq!(all(b"a,b\nc\n\nd\n", 100), want);
        assert_eq!(all(b"a,b\r\nc\r\n\r\nd\r\n", 100), want);
        assert_eq!(all(b"a,b\rc\r\rd\r", 100), want, "CR only (Excel for Mac)");
        assert_eq!(all(b"a,b\rc\n\r\nd", 100), want, "mixed, no final line end");
    }

    #[test]
    fn long_lines_are_skipped_not_kept() {
        let mut data = b"head\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', 1000));
        data.extend(b"\r\nnext\n");
        let got = all(&data, 64);
        assert_eq!(got[0], (1, Ok("head".into())));
        assert_eq!(got[1], (2, Err(1000)));
        assert_eq!(got[2], (3, Ok("next".into())));
        assert_eq!(all(b"12345678", 8), text(&[(1, "12345678")]));
        assert_eq!(all(b"123456789", 8), vec![(1, Err(9))]);
    }

    #[test]
    fn empty_text_has_no_lines() {
        assert!(all(b"", 10).is_empty());
        assert_eq!(all(b"\n", 10), text(&[(1, "")]));
    }
}
