//! Reading a file of queries: one per line, blank lines and `#` comments skipped, every line
//! bounded in length, read lazily so that any size of input streams through.

use std::io::{BufRead, Read};

use crate::error::{Error, ErrorKind};
use crate::query::Query;

/// Longest line read as a query; longer ones are an error of their own (and skipped).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// A query line: its number (from 1) and text, and the query or why it is not one. The shape
/// fits [`Client::balances_stream_tagged`](crate::Client::balances_stream_tagged), which
/// carries the number and text to each result.
pub type QueryLine = ((u64, String), Result<Query, Error>);

/// The query lines of `reader`, lazily. A line that is too long, not UTF-8, or not a query
/// is an `Err` of its own (`invalid_input`); a read error ends the input with one last item
/// that carries it.
///
/// ```
/// use tokbal::query::QueryLines;
/// let input = "# owners\naptos:0x1\n\naptos:0xZZ\n";
/// let lines: Vec<_> = QueryLines::new(input.as_bytes()).collect();
/// assert_eq!(lines.len(), 2);
/// assert_eq!(lines[0].0, (2, "aptos:0x1".to_string()));
/// assert!(lines[1].1.is_err());
/// ```
pub struct QueryLines<R> {
    reader: R,
    line: u64,
    buf: Vec<u8>,
    done: bool,
}

impl<R: BufRead> QueryLines<R> {
    /// Lines from `reader`, numbered from 1.
    pub fn new(reader: R) -> Self {
        QueryLines {
            reader,
            line: 0,
            buf: Vec::new(),
            done: false,
        }
    }

    /// Reads one line of at most `MAX_LINE_BYTES`; `Ok(None)` at the end of the input,
    /// `Ok(Some(Err(len)))` for a longer line (whose rest is skipped).
    fn read_line(&mut self) -> std::io::Result<Option<Result<(), usize>>> {
        self.buf.clear();
        let limit = MAX_LINE_BYTES as u64 + 1;
        let n = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(None);
        }
        if self.buf.last() == Some(&b'\n') || self.buf.len() <= MAX_LINE_BYTES {
            return Ok(Some(Ok(())));
        }
        // Too long: skip to the end of the line without keeping it.
        let mut skipped = self.buf.len();
        let mut scratch = Vec::new();
        loop {
            scratch.clear();
            let n = (&mut self.reader)
                .take(MAX_LINE_BYTES as u64)
                .read_until(b'\n', &mut scratch)?;
            skipped += n;
            if n == 0 || scratch.last() == Some(&b'\n') {
                return Ok(Some(Err(skipped)));
            }
        }
    }
}

impl<R: BufRead> Iterator for QueryLines<R> {
    type Item = QueryLine;

    fn next(&mut self) -> Option<QueryLine> {
        while !self.done {
            self.line += 1;
            let read = match self.read_line() {
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Ok(Some(r)) => r,
                Err(e) => {
                    self.done = true;
                    let err = Error::new(
                        ErrorKind::InvalidInput,
                        format!("cannot read the input at line {}: {e}", self.line),
                    );
                    return Some(((self.line, String::new()), Err(err)));
                }
            };
            if let Err(len) = read {
                let excerpt =
                    String::from_utf8_lossy(&self.buf[..64.min(self.buf.len())]).into_owned();
                let err = Error::invalid_input(
                    "query",
                    &excerpt,
                    format!("line is {len} bytes long; at most {MAX_LINE_BYTES} are read"),
                );
                return Some(((self.line, format!("{excerpt}...")), Err(err)));
            }
            let text = match std::str::from_utf8(&self.buf) {
                Ok(t) => t.trim(),
                Err(_) => {
                    let shown = String::from_utf8_lossy(&self.buf).trim().to_string();
                    let err = Error::invalid_input("query", &shown, "not UTF-8 text");
                    return Some(((self.line, shown), Err(err)));
                }
            };
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            return Some(((self.line, text.to_string()), text.parse()));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<(u64, String, Option<ErrorKind>)> {
        QueryLines::new(input)
            .map(|((n, text), r)| (n, text, r.err().map(|e| e.kind())))
            .collect()
    }

    #[test]
    fn skips_blanks_and_comments_and_numbers_lines() {
        let got = lines(b"# header\n\naptos:0x1\r\n   \n  aptos:0x2  \n#x\naptos:0xZZ");
        assert_eq!(
            got,
            [
                (3, "aptos:0x1".into(), None),
                (5, "aptos:0x2".into(), None),
                (7, "aptos:0xZZ".into(), Some(ErrorKind::InvalidInput)),
            ]
        );
    }

    #[test]
    fn long_and_non_utf8_lines_are_errors_of_their_own() {
        let mut input = b"aptos:0x1\n".to_vec();
        input.extend(std::iter::repeat_n(b'a', 1_000_000));
        input.extend(b"\n\xff\xfe\naptos:0x2\n");
        let got = lines(&input);
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].2, None);
        assert_eq!((got[1].0, got[1].2), (2, Some(ErrorKind::InvalidInput)));
        assert!(got[1].1.len() < 100);
        assert_eq!((got[2].0, got[2].2), (3, Some(ErrorKind::InvalidInput)));
        assert_eq!(
            (got[3].0, got[3].1.as_str(), got[3].2),
            (4, "aptos:0x2", None)
        );
    }
}
