//! The message: start line, header index and body over one buffer (RFC 3261 §7), and
//! [`frame_stream`], the incremental entry point for stream transports (§18.3).
//!
//! Parsing does the least a server needs before it decides anything: the start line,
//! one range per header field (folded lines included), Content-Length and the body.
//! Typed header values are parsed later, on demand, by the [`crate::headers`] modules.

use crate::error::ParseError;
use crate::header::{HeaderName, split_list};
use crate::scan::{is_token, trim_lws};
use crate::uri::Uri;
use bytes::Bytes;
use bytestring::ByteString;
use memchr::memchr;
use std::fmt;

/// Size limits applied while parsing and framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message accepted, headers and body (a larger one gets 513).
    pub max_message: usize,
    /// Largest header section (start line included).
    pub max_header_section: usize,
    /// Most header fields (lines) accepted.
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message: 65_535,
            max_header_section: 16_384,
            max_headers: 256,
        }
    }
}

/// A request method. Methods are case-sensitive (RFC 3261 §7.1): `invite` is an
/// extension method, not INVITE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// INVITE (RFC 3261).
    Invite,
    /// ACK (RFC 3261).
    Ack,
    /// BYE (RFC 3261).
    Bye,
    /// CANCEL (RFC 3261).
    Cancel,
    /// REGISTER (RFC 3261).
    Register,
    /// OPTIONS (RFC 3261).
    Options,
    /// INFO (RFC 6086).
    Info,
    /// UPDATE (RFC 3311).
    Update,
    /// PRACK (RFC 3262).
    Prack,
    /// SUBSCRIBE (RFC 6665).
    Subscribe,
    /// NOTIFY (RFC 6665).
    Notify,
    /// REFER (RFC 3515).
    Refer,
    /// MESSAGE (RFC 3428).
    Message,
    /// PUBLISH (RFC 3903).
    Publish,
    /// Any other token; its text is in the message.
    Other,
}

impl Method {
    const KNOWN: [(&'static str, Method); 14] = [
        ("INVITE", Method::Invite),
        ("ACK", Method::Ack),
        ("BYE", Method::Bye),
        ("CANCEL", Method::Cancel),
        ("REGISTER", Method::Register),
        ("OPTIONS", Method::Options),
        ("INFO", Method::Info),
        ("UPDATE", Method::Update),
        ("PRACK", Method::Prack),
        ("SUBSCRIBE", Method::Subscribe),
        ("NOTIFY", Method::Notify),
        ("REFER", Method::Refer),
        ("MESSAGE", Method::Message),
        ("PUBLISH", Method::Publish),
    ];

    /// Recognises a method token (case-sensitive).
    pub fn from_token(token: &str) -> Method {
        Self::KNOWN
            .iter()
            .find(|(name, _)| *name == token)
            .map_or(Method::Other, |&(_, m)| m)
    }

    /// The method's name, `None` for [`Method::Other`].
    pub fn name(self) -> Option<&'static str> {
        Self::KNOWN
            .iter()
            .find(|(_, m)| *m == self)
            .map(|&(n, _)| n)
    }
}

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

/// What [`frame_stream`] found at the start of a stream buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// More bytes are needed.
    Incomplete,
    /// CR/LF keep-alive bytes to discard before anything else (RFC 5626 §4.4.1). `ping`
    /// is set for a double CRLF, which the receiver answers with a single CRLF.
    KeepAlive {
        /// How many bytes to discard.
        len: usize,
        /// Whether they hold a double-CRLF ping.
        ping: bool,
    },
    /// A complete message occupies the first `len` bytes.
    Message(usize),
}

/// Finds the end of the header section: returns (where the empty line starts, where the
/// body starts). Accepts bare LF line ends as well as CRLF.
fn find_head_end(b: &[u8], from: usize) -> Option<(usize, usize)> {
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
fn leading_crlf(b: &[u8]) -> usize {
    b.iter().take_while(|&&c| c == b'\r' || c == b'\n').count()
}

/// Combines the Content-Length values of a message: they must parse and agree.
fn content_length<'a>(values: impl Iterator<Item = &'a [u8]>) -> Result<Option<usize>, ParseError> {
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
fn split_header_line(line: &[u8]) -> Option<(usize, usize)> {
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
fn unfolded_lines(head: &[u8]) -> impl Iterator<Item = &[u8]> {
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

/// Frames the first message of a stream buffer (RFC 3261 §18.3): leading CR/LF
/// keep-alives, then a header section ended by an empty line, then exactly
/// Content-Length octets of body (none when Content-Length is absent).
///
/// Errors are unrecoverable for the connection: a header section over the limit, a
/// message over the limit, a missing or contradictory Content-Length framing.
pub fn frame_stream(b: &[u8], limits: &Limits) -> Result<Frame, ParseError> {
    let lead = leading_crlf(b);
    if lead > 0 {
        let ping = b[..lead].windows(4).any(|w| w == b"\r\n\r\n") || b[..lead].starts_with(b"\n\n");
        return Ok(Frame::KeepAlive { len: lead, ping });
    }
    let Some((head_end, body_start)) = find_head_end(b, 0) else {
        if b.len() > limits.max_header_section {
            return Err(ParseError::HeaderSectionTooLarge);
        }
        return Ok(Frame::Incomplete);
    };
    if head_end > limits.max_header_section {
        return Err(ParseError::HeaderSectionTooLarge);
    }
    let head = &b[..head_end];
    let cl_values = unfolded_lines(head).skip(1).filter_map(|line| {
        let (name_end, value_start) = split_header_line(line)?;
        let name = std::str::from_utf8(&line[..name_end]).ok()?;
        (HeaderName::from_name(name) == HeaderName::ContentLength).then(|| &line[value_start..])
    });
    let body_len = content_length(cl_values)?.unwrap_or(0);
    let total = body_start + body_len;
    if total > limits.max_message {
        return Err(ParseError::MessageTooLarge);
    }
    Ok(if b.len() < total {
        Frame::Incomplete
    } else {
        Frame::Message(total)
    })
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
mod tests {
    use super::*;

    const INVITE: &[u8] = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.example.com>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\n";

    #[test]
    fn request_parts() {
        let m = Message::parse(Bytes::from_static(INVITE)).expect("parses");
        assert_eq!(m.method(), Some(Method::Invite));
        assert_eq!(m.request_uri_str(), Some("sip:bob@biloxi.example.com"));
        assert_eq!(
            m.header(HeaderName::CallId),
            Some("a84b4c76e66710@pc33.atlanta.example.com")
        );
        assert_eq!(m.headers().count(), 9);
        assert_eq!(m.body(), b"v=0\n");
    }

    #[test]
    fn response_parts() {
        let m =
            Message::parse(Bytes::from_static(b"SIP/2.0 100 \r\nl: 0\r\n\r\n")).expect("parses");
        assert_eq!(m.status(), Some(100));
        assert_eq!(m.reason(), Some(""));
        for bad in [
            &b"SIP/2.0 4294967301 Big\r\n\r\n"[..],
            b"SIP/2.0 99 Low\r\n\r\n",
            b"SIP/2.0 20 x\r\n\r\n",
        ] {
            assert_eq!(
                Message::parse(Bytes::from_static(bad)).err(),
                Some(ParseError::StatusCode)
            );
        }
    }

    #[test]
    fn lower_case_version_in_a_status_line() {
        // Found by the property tests: `sip/2.0` was read as a request method.
        let m = Message::parse(Bytes::from_static(b"sip/2.0 180 Ringing\r\nl: 0\r\n\r\n"))
            .expect("parses");
        assert_eq!(m.status(), Some(180));
        assert_eq!(m.reason(), Some("Ringing"));
    }

    #[test]
    fn start_line_errors() {
        let cases: [(&[u8], ParseError); 6] = [
            (b"OPTIONS sip:a@b SIP/7.0\r\n\r\n", ParseError::Version),
            (b"OPTIONS  sip:a@b SIP/2.0\r\n\r\n", ParseError::RequestUri),
            (b"OPTIONS sip:a@b SIP/2.0 \r\n\r\n", ParseError::StartLine),
            (b"INVITE <sip:a@b> SIP/2.0\r\n\r\n", ParseError::RequestUri),
            (
                b"INVITE sip:a@b?Route=x SIP/2.0\r\n\r\n",
                ParseError::RequestUri,
            ),
            (b"\r\n\r\n", ParseError::Empty),
        ];
        for (input, err) in cases {
            assert_eq!(
                Message::parse(Bytes::from_static(input)).err(),
                Some(err),
                "{input:?}"
            );
        }
    }

    #[test]
    fn content_length_framing() {
        let trunc = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 10\r\n\r\nabc";
        assert_eq!(
            Message::parse(Bytes::from_static(trunc)).err(),
            Some(ParseError::BodyTruncated)
        );
        let extra = b"OPTIONS sip:a@b SIP/2.0\r\nl: 2\r\n\r\nabcdef";
        let m = Message::parse(Bytes::from_static(extra)).expect("parses");
        assert_eq!(m.body(), b"ab");
        assert_eq!(m.as_bytes().len(), extra.len() - 4);
        let conflict = b"OPTIONS sip:a@b SIP/2.0\r\nl: 2\r\nContent-Length: 3\r\n\r\nabc";
        assert_eq!(
            Message::parse(Bytes::from_static(conflict)).err(),
            Some(ParseError::ContentLengthConflict)
        );
        let neg = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -9\r\n\r\n";
        assert_eq!(
            Message::parse(Bytes::from_static(neg)).err(),
            Some(ParseError::ContentLength)
        );
    }

    #[test]
    fn stream_framing() {
        let limits = Limits::default();
        assert_eq!(
            frame_stream(b"\r\n\r\nINV", &limits),
            Ok(Frame::KeepAlive { len: 4, ping: true })
        );
        assert_eq!(
            frame_stream(b"\r\n", &limits),
            Ok(Frame::KeepAlive {
                len: 2,
                ping: false
            })
        );
        assert_eq!(frame_stream(&INVITE[..100], &limits), Ok(Frame::Incomplete));
        assert_eq!(
            frame_stream(&INVITE[..INVITE.len() - 1], &limits),
            Ok(Frame::Incomplete)
        );
        let mut two = INVITE.to_vec();
        two.extend_from_slice(INVITE);
        assert_eq!(
            frame_stream(&two, &limits),
            Ok(Frame::Message(INVITE.len()))
        );
        let small = Limits {
            max_header_section: 64,
            ..limits
        };
        assert_eq!(
            frame_stream(&INVITE[..100], &small),
            Err(ParseError::HeaderSectionTooLarge)
        );
        let tiny = Limits {
            max_message: 100,
            ..limits
        };
        assert_eq!(
            frame_stream(INVITE, &tiny),
            Err(ParseError::MessageTooLarge)
        );
        assert_eq!(
            frame_stream(
                b"OPTIONS sip:a SIP/2.0\r\nContent-Length: x\r\n\r\n",
                &limits
            ),
            Err(ParseError::ContentLength)
        );
    }

    #[test]
    fn folded_content_length_on_a_stream() {
        // Found by the property tests: `frame_stream` read Content-Length line by line,
        // so a value folded after the colon (legal LWS) was a framing error.
        let msg = b"OPTIONS sip:a@b SIP/2.0\r\nl:\r\n 3\r\nSubject: x\r\n\r\nabcOPTIONS";
        assert_eq!(
            frame_stream(msg, &Limits::default()),
            Ok(Frame::Message(msg.len() - 7))
        );
        let m = Message::parse(Bytes::from_static(msg)).expect("parses");
        assert_eq!(m.body(), b"abc");
    }

    #[test]
    fn header_line_without_line_end() {
        // Found by the property tests: a datagram ending inside its last header line was
        // accepted, and an edit appending a header glued it to that line.
        for bad in [
            &b"OPTIONS sip:a@b SIP/2.0\r\nCSeq: 1 OPTIONS"[..],
            b"OPTIONS sip:a@b SIP/2.0\r\nSubject: a\r\n b",
        ] {
            assert_eq!(
                Message::parse(Bytes::from_static(bad)).err(),
                Some(ParseError::Unterminated)
            );
        }
        // Without the empty line, but with the line end: accepted (RFC 4475 §3.1.2.15).
        let m = Message::parse(Bytes::from_static(b"OPTIONS sip:a@b SIP/2.0\r\nl: 0\r\n"))
            .expect("parses");
        let out = m.edit().set_max_forwards(70).to_bytes();
        assert_eq!(
            &out[..],
            b"OPTIONS sip:a@b SIP/2.0\r\nl: 0\r\nMax-Forwards: 70\r\n"
        );
    }

    #[test]
    fn folded_headers_and_lf_only() {
        let m = Message::parse(Bytes::from_static(
            b"OPTIONS sip:a@b SIP/2.0\nSubject: one\n  two\nl: 0\n\n",
        ))
        .expect("parses");
        assert_eq!(m.header(HeaderName::Subject), Some("one\n  two"));
        assert_eq!(m.header(HeaderName::ContentLength), Some("0"));
    }
}
