//! The one error type of the crate: small, `Copy`, and precise enough for a server to
//! send the right status code with a reason phrase that says what is wrong.

use crate::header::HeaderName;
use std::fmt;

/// Why a message, or one of its header values, could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Nothing but white space.
    Empty,
    /// The request line or status line does not have the form the RFC gives.
    StartLine,
    /// The Request-URI is not a URI (or holds LWS, `<>`, or URI headers).
    RequestUri,
    /// The method is not a token.
    Method,
    /// The version is not `SIP/2.0` (answered with 505).
    Version,
    /// The status code is not three digits in 100..=699.
    StatusCode,
    /// A header line has no name or no colon.
    HeaderLine,
    /// The header section is not terminated by an empty line.
    Unterminated,
    /// The header section is larger than the configured limit.
    HeaderSectionTooLarge,
    /// More header fields than the configured limit.
    TooManyHeaders,
    /// The whole message is larger than the configured limit (answered with 513).
    MessageTooLarge,
    /// Header text that is not valid UTF-8.
    NotUtf8,
    /// Content-Length is not a number of octets.
    ContentLength,
    /// Several Content-Length values that disagree.
    ContentLengthConflict,
    /// The body is shorter than Content-Length says.
    BodyTruncated,
    /// A header the message must carry is absent.
    Missing(HeaderName),
    /// A header that may appear once appears several times.
    Repeated(HeaderName),
    /// A header value does not follow its grammar.
    Malformed(HeaderName),
    /// The CSeq method differs from the request method.
    CSeqMethod,
    /// A URI that does not follow RFC 3261 §19.1 or RFC 3966.
    Uri,
}

impl ParseError {
    /// The status code a server answers with when a request fails this way.
    pub fn status(self) -> u16 {
        match self {
            ParseError::Version => 505,
            ParseError::MessageTooLarge => 513,
            _ => 400,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Empty => f.write_str("Empty message"),
            ParseError::StartLine => f.write_str("Malformed start line"),
            ParseError::RequestUri => f.write_str("Malformed Request-URI"),
            ParseError::Method => f.write_str("Malformed method"),
            ParseError::Version => f.write_str("Version Not Supported"),
            ParseError::StatusCode => f.write_str("Malformed status code"),
            ParseError::HeaderLine => f.write_str("Malformed header line"),
            ParseError::Unterminated => f.write_str("Header section not terminated"),
            ParseError::HeaderSectionTooLarge => f.write_str("Header section too large"),
            ParseError::TooManyHeaders => f.write_str("Too many header fields"),
            ParseError::MessageTooLarge => f.write_str("Message Too Large"),
            ParseError::NotUtf8 => f.write_str("Header text is not UTF-8"),
            ParseError::ContentLength => f.write_str("Malformed Content-Length"),
            ParseError::ContentLengthConflict => f.write_str("Conflicting Content-Length values"),
            ParseError::BodyTruncated => f.write_str("Body shorter than Content-Length"),
            ParseError::Missing(h) => write!(f, "Missing {} header", h.canonical()),
            ParseError::Repeated(h) => write!(f, "More than one {} header", h.canonical()),
            ParseError::Malformed(h) => write!(f, "Malformed {} header", h.canonical()),
            ParseError::CSeqMethod => f.write_str("CSeq method does not match the request method"),
            ParseError::Uri => f.write_str("Malformed URI"),
        }
    }
}

impl std::error::Error for ParseError {}
