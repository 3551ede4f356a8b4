//! Lexing a header section, shared by parsing and stream framing: where it ends, its
//! lines with their continuations, a line's name and value, the CR/LF run before a
//! message, and Content-Length.

use crate::error::ParseError;
use crate::scan::{is_token, trim_lws};
use memchr::memchr;

/// Finds the end of the header section: returns (where the empty line starts, where the
/// body starts). Accepts bare LF line ends as well as CRLF.
pub(crate) fn find_head_end(b: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut pos = from;
    while let Some(off) = memchr(b'\n', &b[pos..]) {
        let nl = pos + off;
        match (b.get(nl + 1), b.get(nl + 2)) {
            (Some(b'\n'), _) => return Some((nl + 1, nl + 2)),
            (Some(b'\r'), Some(b'\n')) => return Some((nl + 1, nl + 3)),
            _ => pos = nl + 1,
        }
    }
    None
}

/// Length of the CR/LF run at the start of `b`.
pub(crate) fn leading_crlf(b: &[u8]) -> usize {
    b.iter().take_while(|&&c| c == b'\r' || c == b'\n').count()
}

/// Combines the Content-Length values of a message: they must parse and agree.
pub(crate) fn content_length<'a>(
    values: impl Iterator<Item = &'a [u8]>,
) -> Result<Option<usize>, ParseError> {
    let mut found: Option<usize> = None;
    for raw in values {
        let v = std::str::from_utf8(raw).map_err(|_| ParseError::ContentLength)?;
        let n = crate::scan::parse_u32(trim_lws(v)).ok_or(ParseError::ContentLength)? as usize;
        match found {
            Some(prev) if prev != n => return Err(ParseError::ContentLengthConflict),
            _ => found = Some(n),
        }
    }
    Ok(found)
}

/// Splits a header line `name HCOLON value` into (name end, value start), or `None`
/// when there is no token name followed by a colon.
pub(crate) fn split_header_line(line: &[u8]) -> Option<(usize, usize)> {
    let name_end = line
        .iter()
        .position(|&c| !is_token(c))
        .unwrap_or(line.len());
    if name_end == 0 {
        return None;
    }
    let mut i = name_end;
    while i < line.len() && (line[i] == b' ' || line[i] == b'\t') {
        i += 1;
    }
    (line.get(i) == Some(&b':')).then_some((name_end, i + 1))
}

/// The lines of a header section with their continuation lines (a folded value stays
/// one line, folds included), without the final line end.
pub(crate) fn unfolded_lines(head: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos >= head.len() {
            return None;
        }
        let start = pos;
        loop {
            match memchr(b'\n', &head[pos..]) {
                Some(o) => pos += o + 1,
                None => pos = head.len(),
            }
            if !matches!(head.get(pos), Some(b' ' | b'\t')) {
                break;
            }
        }
        let line = &head[start..pos];
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    })
}
