//! The message: start line, header index and body over one buffer (RFC 3261 §7).
//! Framing on streams is [`crate::framing`]'s.
//!
//! Parsing does the least a server needs before it decides anything: the start line,
//! one range per header field (folded lines included), Content-Length and the body.
//! Typed header values are parsed later, on demand, by the [`crate::headers`] modules.

use crate::error::ParseError;
use crate::head::{content_length, leading_crlf, split_header_line};
use crate::header::{HeaderName, split_list};
pub use crate::limits::Limits;
pub use crate::method::Method;
use crate::scan::is_token;
use crate::uri::Uri;
use bytes::Bytes;
use bytestring::ByteString;
use memchr::memchr;
use std::fmt;

/// A range of the message buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) end: u32,
}

impl Span {
    fn new(start: usize, end: usize) -> Span {
        // Messages are bounded by `Limits::max_message`, far below u32::MAX.
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    pub(crate) fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// The first line of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartLine {
    /// `Method SP Request-URI SP SIP/2.0`.
    Request {
        /// The method.
        method: Method,
    },
    /// `SIP/2.0 SP Status-Code SP Reason-Phrase`.
    Response {
        /// The status code, 100 to 699.
        code: u16,
    },
}

/// One header field of the index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub(crate) name: HeaderName,
    pub(crate) name_span: Span,
    /// The value, LWS-trimmed at both ends (it may still contain folds).
    pub(crate) value: Span,
    /// The whole line or lines, from the name to the final line end included.
    pub(crate) line: Span,
}

/// A header field as seen through [`Message::headers`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderRef<'a> {
    /// The recognised name.
    pub name: HeaderName,
    /// The name as written.
    pub name_str: &'a str,
    /// The value, trimmed (folded lines keep their CRLF and white space).
    pub value: &'a str,
}

/// A parsed SIP request or response.
#[derive(Clone)]
pub struct Message {
    /// The message bytes (trailing octets after the body are cut off).
    buf: Bytes,
    /// The start line and header section, checked to be UTF-8.
    head: ByteString,
    start: StartLine,
    /// Request: the method token. Response: the status code digits.
    start_a: Span,
    /// Request: the Request-URI. Response: the reason phrase.
    start_b: Span,
    /// The start line, line end included.
    start_line: Span,
    pub(crate) fields: Vec<Field>,
    /// Where the empty line that ends the header section begins.
    pub(crate) head_end: u32,
    body: Span,
    /// The Request-URI, top Via, From and To, once parsed.
    pub(crate) parsed: crate::parsed::Parsed,
}

impl Message {
    /// Parses one message with the default [`Limits`]. For a datagram, the datagram is
    /// the message: octets after Content-Length are ignored, and without Content-Length
    /// the body runs to the end (RFC 3261 §18.3).
    pub fn parse(buf: Bytes) -> Result<Message, ParseError> {
        Self::parse_with(buf, &Limits::default())
    }

    /// Parses one message with the given limits.
    pub fn parse_with(mut buf: Bytes, limits: &Limits) -> Result<Message, ParseError> {
        if buf.len() > limits.max_message {
            return Err(ParseError::MessageTooLarge);
        }
        let b: &[u8] = &buf;
        let first = leading_crlf(b);
        if first == b.len() || b[first..].iter().all(|c| c.is_ascii_whitespace()) {
            return Err(ParseError::Empty);
        }
        // Start line.
        let nl = memchr(b'\n', &b[first..])
            .map(|o| first + o)
            .ok_or(ParseError::Unterminated)?;
        let line_end = if nl > first && b[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        let (start, start_a, start_b) = parse_start_line(b, first, line_end)?;
        let start_line = Span::new(first, nl + 1);

        // Header fields: one pass of a newline iterator over the rest of the buffer. A
        // line end followed by SP or HT folds the next line into the field.
        let mut fields: Vec<Field> = Vec::with_capacity(16);
        let mut newlines = memchr::memchr_iter(b'\n', &b[nl + 1..]).map(|o| nl + 1 + o);
        let mut pos = nl + 1;
        let (head_end, body_start) = loop {
            if pos >= b.len() {
                // A datagram may end right after the last header (RFC 4475 §3.1.2.15).
                break (b.len(), b.len());
            }
            let Some(mut end_nl) = newlines.next() else {
                // Every header line ends with a line end (RFC 3261 §7.3): a datagram may
                // lack the empty line after the last header (RFC 4475 §3.1.2.15), not the
                // CRLF of the line itself, which would leave an edit nowhere to append a
                // header. A lone CR is an unterminated empty line.
                if &b[pos..] == b"\r" {
                    break (pos, b.len());
                }
                return Err(ParseError::Unterminated);
            };
            if end_nl == pos || (end_nl == pos + 1 && b[pos] == b'\r') {
                break (pos, end_nl + 1);
            }
            while matches!(b.get(end_nl + 1), Some(b' ' | b'\t')) {
                match newlines.next() {
                    Some(n) => end_nl = n,
                    None => return Err(ParseError::Unterminated),
                }
            }
            let line_stop = end_nl + 1;
            let value_end = if b[end_nl - 1] == b'\r' {
                end_nl - 1
            } else {
                end_nl
            };
            let (name_end, value_start) =
                split_header_line(&b[pos..value_end]).ok_or(ParseError::HeaderLine)?;
            let (vs, ve) = trim_span(b, pos + value_start, value_end);
            fields.push(Field {
                name: HeaderName::Other, // classified below, once the text is known UTF-8
                name_span: Span::new(pos, pos + name_end),
                value: Span::new(vs, ve),
                line: Span::new(pos, line_stop),
            });
            if fields.len() > limits.max_headers {
                return Err(ParseError::TooManyHeaders);
            }
            pos = line_stop;
            if pos > limits.max_header_section {
                return Err(ParseError::HeaderSectionTooLarge);
            }
        };
        if head_end > limits.max_header_section {
            return Err(ParseError::HeaderSectionTooLarge);
        }
        let head = ByteString::try_from(buf.slice(..head_end)).map_err(|_| ParseError::NotUtf8)?;
        for f in &mut fields {
            f.name = HeaderName::from_name(head.get(f.name_span.range()).unwrap_or(""));
        }

        // Body.
        let cl = content_length(
            fields
                .iter()
                .filter(|f| f.name == HeaderName::ContentLength)
                .map(|f| &b[f.value.range()]),
        )?;
        let body_end = match cl {
            Some(n) if body_start + n > b.len() => return Err(ParseError::BodyTruncated),
            Some(n) => body_start + n,
            None => b.len(),
        };
        buf.truncate(body_end);
        Ok(Message {
            buf,
            head,
            start,
            start_a,
            start_b,
            start_line,
            fields,
            head_end: head_end as u32,
            body: Span::new(body_start, body_end),
            parsed: crate::parsed::Parsed::default(),
        })
    }

    fn text(&self, span: Span) -> &str {
        self.head.get(span.range()).unwrap_or("")
    }

    /// The whole message as received (without trailing octets beyond the body).
    pub fn as_bytes(&self) -> &Bytes {
        &self.buf
    }

    /// The start line.
    pub fn start_line(&self) -> StartLine {
        self.start
    }

    /// Whether this is a request.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The method of a request (`None` for a response; see [`Message::cseq`] there).
    pub fn method(&self) -> Option<Method> {
        match self.start {
            StartLine::Request { method } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The method token of a request, as written (also for extension methods).
    pub fn method_str(&self) -> Option<&str> {
        self.is_request().then(|| self.text(self.start_a))
    }

    /// The Request-URI text of a request.
    pub fn request_uri_str(&self) -> Option<&str> {
        self.is_request().then(|| self.text(self.start_b))
    }

    /// The Request-URI of a request (checked when the message was parsed; parsed once).
    pub fn request_uri(&self) -> Option<Uri<'_>> {
        let text = self.request_uri_str()?;
        crate::parsed::cached(
            &self.parsed.request_uri,
            self.head_str(),
            || Uri::parse(text),
            crate::parsed::UriRel::detach,
            crate::parsed::UriRel::attach,
        )
        .ok()
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { code } => Some(code),
            StartLine::Request { .. } => None,
        }
    }

    /// The reason phrase of a response.
    pub fn reason(&self) -> Option<&str> {
        (!self.is_request()).then(|| self.text(self.start_b))
    }

    /// Every header field, in order.
    pub fn headers(&self) -> impl Iterator<Item = HeaderRef<'_>> + '_ {
        self.fields.iter().map(|f| HeaderRef {
            name: f.name,
            name_str: self.text(f.name_span),
            value: self.text(f.value),
        })
    }

    /// The value of every field called `name`, one per header line, in order.
    pub fn header_values(&self, name: HeaderName) -> impl Iterator<Item = &str> + '_ {
        self.fields
            .iter()
            .filter(move |f| f.name == name)
            .map(|f| self.text(f.value))
    }

    /// The value of the first field called `name`.
    pub fn header(&self, name: HeaderName) -> Option<&str> {
        self.header_values(name).next()
    }

    /// The value of every field whose name is `name` (any case, long or compact form),
    /// for extension headers that have no [`HeaderName`] of their own.
    pub fn header_values_by_name<'s>(
        &'s self,
        name: &'s str,
    ) -> impl Iterator<Item = &'s str> + 's {
        let known = HeaderName::from_name(name);
        self.fields
            .iter()
            .filter(move |f| {
                if known == HeaderName::Other {
                    f.name == HeaderName::Other && self.text(f.name_span).eq_ignore_ascii_case(name)
                } else {
                    f.name == known
                }
            })
            .map(|f| self.text(f.value))
    }

    /// The elements of a list header across all its lines (RFC 3261 §7.3.1), in order.
    pub fn list(&self, name: HeaderName) -> impl Iterator<Item = &str> + '_ {
        self.header_values(name).flat_map(split_list)
    }

    /// How many lines carry the header `name`.
    pub fn count(&self, name: HeaderName) -> usize {
        self.fields.iter().filter(|f| f.name == name).count()
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.buf[self.body.range()]
    }

    /// The body as a shared slice of the message buffer.
    pub fn body_bytes(&self) -> Bytes {
        self.buf.slice(self.body.range())
    }

    pub(crate) fn head_str(&self) -> &str {
        &self.head
    }

    pub(crate) fn start_spans(&self) -> (Span, Span, Span) {
        (self.start_a, self.start_b, self.start_line)
    }

    /// The offset in the buffer of a string slice taken from this message's header
    /// section (the views returned by the typed accessors).
    pub(crate) fn offset_of(&self, s: &str) -> Option<usize> {
        let base = self.head.as_ptr() as usize;
        let p = s.as_ptr() as usize;
        (p >= base && p + s.len() <= base + self.head.len()).then(|| p - base)
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("start", &self.text(self.start_line).trim_end())
            .field("headers", &self.fields.len())
            .field("body_len", &self.body().len())
            .finish()
    }
}

fn trim_span(b: &[u8], mut s: usize, mut e: usize) -> (usize, usize) {
    while s < e && crate::scan::is_lws(b[s]) {
        s += 1;
    }
    while e > s && crate::scan::is_lws(b[e - 1]) {
        e -= 1;
    }
    (s, e)
}

/// Parses the start line `b[from..to]` (line end excluded).
fn parse_start_line(
    b: &[u8],
    from: usize,
    to: usize,
) -> Result<(StartLine, Span, Span), ParseError> {
    let line = &b[from..to];
    // The version is case-insensitive (RFC 3261 §7.1): `sip/2.0 200 OK` is a response.
    if line
        .get(..4)
        .is_some_and(|v| v.eq_ignore_ascii_case(b"SIP/"))
    {
        // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
        let sp = memchr(b' ', line).ok_or(ParseError::StartLine)?;
        check_version(&line[..sp])?;
        let rest = &line[sp + 1..];
        let code_len = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        if code_len != 3 || !(rest.len() == 3 || rest[3] == b' ') {
            return Err(ParseError::StatusCode);
        }
        let code =
            (rest[0] - b'0') as u16 * 100 + (rest[1] - b'0') as u16 * 10 + (rest[2] - b'0') as u16;
        if !(100..=699).contains(&code) {
            return Err(ParseError::StatusCode);
        }
        let code_start = from + sp + 1;
        let reason_start = (code_start + 4).min(to);
        return Ok((
            StartLine::Response { code },
            Span::new(code_start, code_start + 3),
            Span::new(reason_start, to),
        ));
    }
    // Request-Line = Method SP Request-URI SP SIP-Version
    let sp1 = memchr(b' ', line).ok_or(ParseError::StartLine)?;
    let sp2 = memchr::memrchr(b' ', line).ok_or(ParseError::StartLine)?;
    if sp1 == 0 || sp2 <= sp1 + 1 {
        return Err(ParseError::StartLine);
    }
    if !line[..sp1].iter().all(|&c| is_token(c)) {
        return Err(ParseError::Method);
    }
    check_version(&line[sp2 + 1..])?;
    let uri = &line[sp1 + 1..sp2];
    if uri.iter().any(|c| c.is_ascii_whitespace()) {
        return Err(ParseError::RequestUri);
    }
    let uri_str = std::str::from_utf8(uri).map_err(|_| ParseError::RequestUri)?;
    match Uri::parse(uri_str) {
        Ok(Uri::Sip(u)) if u.headers.is_some() => return Err(ParseError::RequestUri),
        Ok(_) => {}
        Err(_) => return Err(ParseError::RequestUri),
    }
    let method_str = std::str::from_utf8(&line[..sp1]).map_err(|_| ParseError::Method)?;
    Ok((
        StartLine::Request {
            method: Method::from_token(method_str),
        },
        Span::new(from, from + sp1),
        Span::new(from + sp1 + 1, from + sp2),
    ))
}

/// Accepts `SIP/2.0`; another well-formed version is [`ParseError::Version`] (505).
fn check_version(v: &[u8]) -> Result<(), ParseError> {
    if v.eq_ignore_ascii_case(b"SIP/2.0") {
        return Ok(());
    }
    let well_formed = v.len() > 4
        && v[..4].eq_ignore_ascii_case(b"SIP/")
        && match v[4..].iter().position(|&c| c == b'.') {
            Some(dot) => {
                let (major, minor) = (&v[4..4 + dot], &v[5 + dot..]);
                !major.is_empty()
                    && !minor.is_empty()
                    && major.iter().all(u8::is_ascii_digit)
                    && minor.iter().all(u8::is_ascii_digit)
            }
            None => false,
        };
    Err(if well_formed {
        ParseError::Version
    } else {
        ParseError::StartLine
    })
}

#[cfg(test)]
mod tests;
