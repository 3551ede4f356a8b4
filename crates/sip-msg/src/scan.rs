//! Byte classes (RFC 3261 §25.1) and a small cursor over header values.
//!
//! Header values are ranges of the original buffer, so a folded value still holds its
//! CRLF + whitespace. Inside a value a CR or LF is always followed by whitespace (the
//! indexer guarantees it), which is why [`is_lws`] simply treats SP, HTAB, CR and LF as
//! linear white space: skipping them implements every `LWS` / `SWS` rule of the grammar.

/// Whether `b` belongs to the `token` rule: alphanumerics and `-.!%*_+`'~`.
#[inline]
pub fn is_token(b: u8) -> bool {
    TOKEN[b as usize]
}

/// Whether `b` is white space inside a (possibly folded) header value.
#[inline]
pub fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

static TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        i += 1;
    }
    t
};

/// Trims linear white space at both ends.
#[inline]
pub fn trim_lws(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii() && is_lws(c as u8))
}

/// Whether the whole string is a non-empty token.
pub fn is_token_str(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token)
}

/// Parses a non-empty run of ASCII digits into a `u32`, refusing overflow.
pub fn parse_u32(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses a non-empty run of ASCII digits, saturating at `u32::MAX` (for values the RFC
/// says to treat as large rather than invalid, such as an overlarge Expires).
pub fn parse_u32_saturating(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse().unwrap_or(u32::MAX))
}

/// A cursor over a header value. Every method that fails leaves the position unchanged.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// Starts at the beginning of `s`.
    pub fn new(s: &'a str) -> Self {
        Cursor { s, pos: 0 }
    }

    /// The byte offset of the cursor in the string it was created on.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Moves back to a position returned by [`Cursor::pos`].
    pub fn set_pos(&mut self, pos: usize) {
        self.pos = pos.min(self.s.len());
    }

    /// The text between two positions returned by [`Cursor::pos`].
    pub fn slice(&self, start: usize, end: usize) -> &'a str {
        self.s.get(start..end).unwrap_or("")
    }

    /// What remains after the cursor.
    pub fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    /// Whether everything was consumed.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.s.len()
    }

    /// The next byte, if any.
    pub fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    /// Skips linear white space.
    pub fn skip_lws(&mut self) {
        let b = self.s.as_bytes();
        while self.pos < b.len() && is_lws(b[self.pos]) {
            self.pos += 1;
        }
    }

    /// Consumes `c` if it is next (no white space skipped).
    pub fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes optional white space, `c`, optional white space (the `SEMI`, `COMMA`,
    /// `EQUAL`, `SLASH`, `COLON` rules). On failure nothing is consumed.
    pub fn eat_sep(&mut self, c: u8) -> bool {
        let save = self.pos;
        self.skip_lws();
        if self.eat(c) {
            self.skip_lws();
            true
        } else {
            self.pos = save;
            false
        }
    }

    /// Consumes a non-empty token.
    pub fn token(&mut self) -> Option<&'a str> {
        self.take_while(is_token)
    }

    /// Consumes a non-empty run of bytes matching `f`.
    pub fn take_while(&mut self, f: impl Fn(u8) -> bool) -> Option<&'a str> {
        let b = self.s.as_bytes();
        let start = self.pos;
        let mut end = start;
        while end < b.len() && f(b[end]) {
            end += 1;
        }
        if end == start {
            return None;
        }
        // Every predicate used stops on ASCII bytes only, or takes whole UTF-8 sequences.
        let out = self.s.get(start..end)?;
        self.pos = end;
        Some(out)
    }

    /// Consumes a quoted string and returns what is between the quotes, still escaped.
    pub fn quoted(&mut self) -> Option<&'a str> {
        let b = self.s.as_bytes();
        if b.get(self.pos) != Some(&b'"') {
            return None;
        }
        let mut i = self.pos + 1;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'"' => {
                    let inner = self.s.get(self.pos + 1..i)?;
                    self.pos = i + 1;
                    return Some(inner);
                }
                _ => i += 1,
            }
        }
        None
    }

    /// Consumes up to (not including) the first byte in `stops`, or to the end.
    pub fn until_any(&mut self, stops: &[u8]) -> &'a str {
        let b = self.s.as_bytes();
        let start = self.pos;
        let mut end = start;
        while end < b.len() && !stops.contains(&b[end]) {
            end += 1;
        }
        self.pos = end;
        &self.s[start..end]
    }
}

/// Removes the backslash escapes of a quoted string's content (RFC 3261 `quoted-pair`).
pub fn unquote(inner: &str) -> std::borrow::Cow<'_, str> {
    if !inner.contains('\\') {
        return std::borrow::Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lws_and_separators() {
        let mut c = Cursor::new("  ;\r\n  tag = 98asjd8");
        assert!(c.eat_sep(b';'));
        assert_eq!(c.token(), Some("tag"));
        assert!(c.eat_sep(b'='));
        assert_eq!(c.token(), Some("98asjd8"));
        assert!(c.is_empty());
    }

    #[test]
    fn quoted_strings_keep_escapes_until_unquoted() {
        let mut c = Cursor::new(r#""J Rosenberg \\\"" <x>"#);
        let inner = c.quoted().expect("quoted");
        assert_eq!(inner, r#"J Rosenberg \\\""#);
        assert_eq!(unquote(inner), r#"J Rosenberg \""#);
        assert_eq!(Cursor::new("\"open").quoted(), None);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u32("0068"), Some(68));
        assert_eq!(parse_u32("36893488147419103232"), None);
        assert_eq!(parse_u32_saturating("36893488147419103232"), Some(u32::MAX));
        assert_eq!(parse_u32("-1"), None);
        assert_eq!(parse_u32(""), None);
    }
}
