//! The ACK for a non-2xx final response (RFC 3261 §17.1.1.3): same Request-URI, the
//! request's top Via only, its Route set, From and Call-ID, the response's To (with the
//! tag), the CSeq number with method ACK.

use bytes::{BufMut, Bytes, BytesMut};
use sip_msg::{HeaderName, Message};

/// Builds the hop-by-hop ACK for `response` to `request`.
pub fn ack_for(request: &Message, response: &Message) -> Option<Bytes> {
    let via = request.list(HeaderName::Via).next()?;
    let cseq = request.cseq().ok()?;
    let mut out = BytesMut::with_capacity(512);
    let mut line = |name: &str, value: &str| {
        out.put_slice(name.as_bytes());
        out.put_slice(b": ");
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
    };
    line("Via", via);
    for route in request.header_values(HeaderName::Route) {
        line("Route", route);
    }
    line("From", request.header(HeaderName::From)?);
    line("To", response.header(HeaderName::To)?);
    line("Call-ID", request.header(HeaderName::CallId)?);
    line("CSeq", &format!("{} ACK", cseq.seq));
    line("Max-Forwards", "70");
    line("Content-Length", "0");
    let mut msg = BytesMut::with_capacity(out.len() + 64);
    msg.put_slice(b"ACK ");
    msg.put_slice(request.request_uri_str()?.as_bytes());
    msg.put_slice(b" SIP/2.0\r\n");
    msg.put_slice(&out);
    msg.put_slice(b"\r\n");
    Some(msg.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_fields() {
        let req = Message::parse(Bytes::from_static(
            b"INVITE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP p;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP ua;branch=z9hG4bK0\r\nRoute: <sip:r1;lr>\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c\r\nCSeq: 5 INVITE\r\nContent-Length: 0\r\n\r\n",
        ))
        .expect("parses");
        let resp = Message::parse(Bytes::from_static(
            b"SIP/2.0 486 Busy\r\nVia: SIP/2.0/UDP p;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP ua;branch=z9hG4bK0\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@example.com>;tag=xyz\r\nCall-ID: c\r\nCSeq: 5 INVITE\r\nContent-Length: 0\r\n\r\n",
        ))
        .expect("parses");
        let ack = Message::parse(ack_for(&req, &resp).expect("ack")).expect("ack parses");
        assert_eq!(ack.method_str(), Some("ACK"));
        assert_eq!(ack.request_uri_str(), Some("sip:b@example.com"));
        assert_eq!(ack.count(HeaderName::Via), 1);
        assert_eq!(ack.top_via().expect("via").branch(), Some("z9hG4bK1"));
        assert_eq!(ack.to().expect("to").tag(), Some("xyz"));
        assert_eq!(ack.cseq().expect("cseq").seq, 5);
        assert_eq!(ack.header(HeaderName::Route), Some("<sip:r1;lr>"));
        assert_eq!(ack.validate(), Ok(()));
    }
}
