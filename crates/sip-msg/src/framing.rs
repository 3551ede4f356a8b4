//! Framing on stream transports (RFC 3261 §18.3): where the first message of a TCP
//! buffer ends, and CR/LF keep-alives before it (RFC 5626 §4.4.1).

use crate::error::ParseError;
use crate::head::{content_length, find_head_end, leading_crlf, split_header_line, unfolded_lines};
use crate::header::HeaderName;
use crate::limits::Limits;

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
