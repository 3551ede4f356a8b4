//! Answering a request that could not be parsed. RFC 3261 §8.2 wants a 400 with a
//! reason when the headers needed to route a response (Via, From, To, Call-ID, CSeq)
//! can still be read. This module keeps those lines from the broken message, puts a
//! neutral request line in front of them and parses that. It runs only on the error
//! path, so its copy costs nothing on the hot path.

use bytes::{BufMut, BytesMut};
use sip_msg::{HeaderName, Message};

/// Builds a parsable request holding the routing headers of `raw`, or `None` when they
/// cannot be found (then the request is dropped: nobody can be answered).
pub fn rescue_request(raw: &[u8]) -> Option<Message> {
    if raw
        .get(..4)
        .is_some_and(|v| v.eq_ignore_ascii_case(b"SIP/"))
    {
        return None;
    }
    let mut out = BytesMut::with_capacity(raw.len().min(8192) + 32);
    out.put_slice(b"OPTIONS sip:invalid SIP/2.0\r\n");
    let mut keep = false;
    let mut lines = raw.split(|&b| b == b'\n').skip(1);
    for line in lines.by_ref() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            if keep {
                out.put_slice(line);
                out.put_slice(b"\r\n");
            }
            continue;
        }
        let name_end = line
            .iter()
            .position(|&b| b == b':' || b == b' ' || b == b'\t')
            .unwrap_or(line.len());
        let name = std::str::from_utf8(&line[..name_end]).unwrap_or("");
        keep = matches!(
            HeaderName::from_name(name),
            HeaderName::Via
                | HeaderName::From
                | HeaderName::To
                | HeaderName::CallId
                | HeaderName::CSeq
        );
        if keep {
            out.put_slice(line);
            out.put_slice(b"\r\n");
        }
    }
    out.put_slice(b"\r\n");
    let msg = Message::parse(out.freeze()).ok()?;
    msg.top_via().ok()?;
    Some(msg)
}
