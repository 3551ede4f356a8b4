//! Byte classes (RFC 3261 §25.1) and a small cursor over header values.
//!
//! Header values are ranges of the original buffer, so a folded value still holds its
//! CRLF + whitespace. Inside a value a CR or LF is always followed by whitespace (the
//! indexer guarantees it), which is why [`is_lws`] simply treats SP, HTAB, CR and LF as
//! linear white space: skipping them implements every `LWS` / `SWS` rule of the grammar.
//!
//! Character classes are [`ByteClass`] tables, built at compile time, so that testing a
//! byte is one load whatever the size of the class.

/// A set of bytes, as a 256-entry table built at compile time.
#[derive(Debug)]
pub(crate) struct ByteClass([bool; 256]);

impl ByteClass {
    /// The ASCII letters and digits (when `alnum`) and the bytes of `extra`.
    pub(crate) const fn new(alnum: bool, extra: &[u8]) -> ByteClass {
        let mut t = [false; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = alnum && (i as u8).is_ascii_alphanumeric();
            i += 1;
        }
        ByteClass(t).with(extra)
    }

    /// This class with the bytes of `extra` added.
    pub(crate) const fn with(&self, extra: &[u8]) -> ByteClass {
        self.set(extra, true)
    }

    /// This class with the bytes of `removed` taken out.
    pub(crate) const fn without(&self, removed: &[u8]) -> ByteClass {
        self.set(removed, false)
    }

    const fn set(&self, bytes: &[u8], member: bool) -> ByteClass {
        let mut t = self.0;
        let mut j = 0;
        while j < bytes.len() {
            t[bytes[j] as usize] = member;
            j += 1;
        }
        ByteClass(t)
    }

    /// Whether `b` is in the class.
    #[inline]
    pub(crate) fn has(&self, b: u8) -> bool {
        self.0[b as usize]
    }

    /// How many bytes at the start of `b` are in the class.
    #[inline]
    pub(crate) fn run_len(&self, b: &[u8]) -> usize {
        b.iter().position(|&c| !self.has(c)).unwrap_or(b.len())
    }

    /// The position of the first byte of `b` that is in the class.
    #[inline]
    pub(crate) fn find(&self, b: &[u8]) -> Option<usize> {
        b.iter().position(|&c| self.has(c))
    }

    /// Whether every byte of `b` is in the class (true for an empty slice).
    #[inline]
    pub(crate) fn all(&self, b: &[u8]) -> bool {
        self.run_len(b) == b.len()
    }
}

/// The `token` rule: alphanumerics and `-.!%*_+`'~`.
pub(crate) static TOKEN: ByteClass = ByteClass::new(true, b"-.!%*_+`'~");

/// Linear white space inside a header value (see the module documentation).
static LWS: ByteClass = ByteClass::new(false, b" \t\r\n");

/// Whether `b` belongs to the `token` rule: alphanumerics and `-.!%*_+`'~`.
#[inline]
pub fn is_token(b: u8) -> bool {
    TOKEN.has(b)
}

/// Whether `b` is white space inside a (possibly folded) header value.
#[inline]
pub fn is_lws(b: u8) -> bool {
    LWS.has(b)
}

/// The length of the linear white space that starts `b` (most often none).
#[inline]
pub(crate) fn lws_len(b: &[u8]) -> usize {
    match b.first() {
        Some(&c) if is_lws(c) => LWS.run_len(b),
        _ => 0,
    }
}

/// Trims linear white space at both ends.
#[inline]
pub fn trim_lws(s: &str) -> &str {
    let s = trim_lws_start(s);
    let end = s.bytes().rposition(|c| !is_lws(c)).map_or(0, |i| i + 1);
    // White space is ASCII, so the end falls on a character boundary.
    s.get(..end).unwrap_or("")
}

/// Trims linear white space at the start.
#[inline]
pub(crate) fn trim_lws_start(s: &str) -> &str {
    s.get(lws_len(s.as_bytes())..).unwrap_or("")
}

/// Whether the whole string is a non-empty token.
pub fn is_token_str(s: &str) -> bool {
    !s.is_empty() && TOKEN.all(s.as_bytes())
}

/// The value of a non-empty run of ASCII digits: `None` when `s` is not one,
/// `Some(None)` when the value does not fit a `u32`.
fn digits_u32(s: &str) -> Option<Option<u32>> {
    if s.is_empty() {
        return None;
    }
    // Kept at most one past `u32::MAX`, so that it cannot overflow and still tells.
    const CAP: u64 = u32::MAX as u64 + 1;
    let mut value = 0u64;
    for &b in s.as_bytes() {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = (value * 10 + u64::from(digit)).min(CAP);
    }
    Some(u32::try_from(value).ok())
}

/// Parses a non-empty run of ASCII digits into a `u32`, refusing overflow.
pub fn parse_u32(s: &str) -> Option<u32> {
    digits_u32(s).flatten()
}

/// Parses a non-empty run of ASCII digits into a `u16` (a port), refusing overflow.
pub(crate) fn parse_u16(s: &str) -> Option<u16> {
    parse_u32(s).and_then(|v| u16::try_from(v).ok())
}

/// Parses a non-empty run of ASCII digits, saturating at `u32::MAX` (for values the RFC
/// says to treat as large rather than invalid, such as an overlarge Expires).
pub fn parse_u32_saturating(s: &str) -> Option<u32> {
    digits_u32(s).map(|v| v.unwrap_or(u32::MAX))
}

/// The length of the quoted string that starts `b`, both quotes included; `None` when
/// `b` does not start with `"` or the string is not closed.
pub(crate) fn quoted_len(b: &[u8]) -> Option<usize> {
    if b.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
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
    #[inline]
    pub fn skip_lws(&mut self) {
        self.pos += lws_len(&self.s.as_bytes()[self.pos..]);
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
    #[inline]
    pub fn token(&mut self) -> Option<&'a str> {
        self.take_while(is_token)
    }

    /// Consumes a non-empty run of bytes matching `f`.
    #[inline]
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
        let len = quoted_len(&self.s.as_bytes()[self.pos..])?;
        let inner = self.s.get(self.pos + 1..self.pos + len - 1)?;
        self.pos += len;
        Some(inner)
    }

    /// Consumes up to (not including) the first `stop` (an ASCII byte), or to the end.
    pub fn until(&mut self, stop: u8) -> &'a str {
        let start = self.pos;
        let rest = &self.s.as_bytes()[start..];
        self.pos += memchr::memchr(stop, rest).unwrap_or(rest.len());
        // An ASCII `stop` always falls on a character boundary.
        self.s.get(start..self.pos).unwrap_or("")
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
