//! What a client transaction keeps of the INVITE it sent, to build the two requests
//! that repeat its fields: the CANCEL (RFC 3261 §9.1) and the hop-by-hop ACK of a
//! non-2xx final response (§17.1.1.3). Both carry the INVITE's Request-URI, its one Via
//! (ours), its Route set, From, Call-ID and CSeq number; the CANCEL the INVITE's To, the
//! ACK the response's (with the callee's tag).
//!
//! The fields are given by whoever wrote the INVITE (the proxy knows every value it
//! put in), so a request we sent is never parsed back; [`SentInvite::of`] reads them
//! from a parsed request for those who have one.

use bytes::{BufMut, Bytes, BytesMut};
use sip_msg::{HeaderName, Message};

/// The fields of a sent INVITE that its CANCEL and its ACK repeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentInvite {
    request_uri: String,
    /// `Via`, every `Route`, `From` and `Call-ID`, as header lines.
    lines: String,
    to: String,
    cseq: u32,
}

impl SentInvite {
    /// The fields as written in the INVITE: `via` is its only (top) Via value, `routes`
    /// its Route values in order.
    pub fn new<'a>(
        request_uri: &str,
        via: &str,
        routes: impl IntoIterator<Item = &'a str>,
        from: &str,
        to: &str,
        call_id: &str,
        cseq: u32,
    ) -> SentInvite {
        let mut lines = String::with_capacity(256);
        let mut line = |name: &str, value: &str| {
            lines.push_str(name);
            lines.push_str(": ");
            lines.push_str(value);
            lines.push_str("\r\n");
        };
        line("Via", via);
        for route in routes {
            line("Route", route);
        }
        line("From", from);
        line("Call-ID", call_id);
        SentInvite {
            request_uri: request_uri.to_owned(),
            lines,
            to: to.to_owned(),
            cseq,
        }
    }

    /// The fields of a parsed request (its top Via only).
    pub fn of(request: &Message) -> Option<SentInvite> {
        Some(SentInvite::new(
            request.request_uri_str()?,
            request.list(HeaderName::Via).next()?,
            request.list(HeaderName::Route),
            request.header(HeaderName::From)?,
            request.header(HeaderName::To)?,
            request.header(HeaderName::CallId)?,
            request.cseq().ok()?.seq,
        ))
    }

    /// The CANCEL of this INVITE (§9.1).
    pub fn cancel(&self) -> Bytes {
        self.write("CANCEL", &self.to)
    }

    /// The ACK of a non-2xx final response whose To (with the tag) is `response_to`
    /// (§17.1.1.3).
    pub fn ack(&self, response_to: &str) -> Bytes {
        self.write("ACK", response_to)
    }

    fn write(&self, method: &str, to: &str) -> Bytes {
        let mut out = BytesMut::with_capacity(self.lines.len() + to.len() + 128);
        out.put_slice(method.as_bytes());
        out.put_u8(b' ');
        out.put_slice(self.request_uri.as_bytes());
        out.put_slice(b" SIP/2.0\r\n");
        out.put_slice(self.lines.as_bytes());
        out.put_slice(b"To: ");
        out.put_slice(to.as_bytes());
        out.put_slice(b"\r\nCSeq: ");
        out.put_slice(itoa::Buffer::new().format(self.cseq).as_bytes());
        out.put_u8(b' ');
        out.put_slice(method.as_bytes());
        out.put_slice(b"\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n");
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &[u8] = b"INVITE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP p;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP ua;branch=z9hG4bK0\r\nRoute: <sip:r1;lr>, <sip:r2;lr>\r\nRoute: <sip:r3;lr>\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c\r\nCSeq: 5 INVITE\r\nContent-Length: 0\r\n\r\n";

    fn sent() -> SentInvite {
        SentInvite::of(&Message::parse(Bytes::from_static(INVITE)).expect("parses"))
            .expect("fields")
    }

    fn routes(msg: &Message) -> Vec<&str> {
        msg.list(HeaderName::Route).collect()
    }

    #[test]
    fn the_ack_repeats_the_invite_with_the_response_to() {
        let ack = Message::parse(sent().ack("<sip:b@example.com>;tag=xyz")).expect("parses");
        assert_eq!(ack.method_str(), Some("ACK"));
        assert_eq!(ack.request_uri_str(), Some("sip:b@example.com"));
        assert_eq!(ack.count(HeaderName::Via), 1);
        assert_eq!(ack.top_via().expect("via").branch(), Some("z9hG4bK1"));
        assert_eq!(ack.to().expect("to").tag(), Some("xyz"));
        assert_eq!(ack.cseq().expect("cseq").seq, 5);
        assert_eq!(ack.cseq().expect("cseq").method_str, "ACK");
        assert_eq!(routes(&ack), ["<sip:r1;lr>", "<sip:r2;lr>", "<sip:r3;lr>"]);
        assert_eq!(ack.header(HeaderName::CallId), Some("c"));
        assert_eq!(ack.validate(), Ok(()));
    }

    #[test]
    fn the_cancel_repeats_the_invite_with_its_own_to() {
        let cancel = Message::parse(sent().cancel()).expect("parses");
        assert_eq!(cancel.method_str(), Some("CANCEL"));
        assert_eq!(cancel.request_uri_str(), Some("sip:b@example.com"));
        assert_eq!(cancel.count(HeaderName::Via), 1);
        assert_eq!(cancel.top_via().expect("via").branch(), Some("z9hG4bK1"));
        assert_eq!(cancel.to().expect("to").tag(), None);
        assert_eq!(cancel.header(HeaderName::From), Some("<sip:a@x>;tag=1"));
        assert_eq!(cancel.cseq().expect("cseq").seq, 5);
        assert_eq!(cancel.cseq().expect("cseq").method_str, "CANCEL");
        assert_eq!(
            routes(&cancel),
            ["<sip:r1;lr>", "<sip:r2;lr>", "<sip:r3;lr>"]
        );
        assert_eq!(cancel.max_forwards(), Ok(Some(70)));
        assert_eq!(cancel.validate(), Ok(()));
    }
}
