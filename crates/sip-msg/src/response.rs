//! Building a response to a request (RFC 3261 §8.2.6): the Via lines, From, To,
//! Call-ID and CSeq are copied from the request (Via with `received`/`rport` filled in
//! when asked), a To tag is added when the request had none, then the caller's headers
//! and body, and Content-Length.

use crate::edit::Editor;
use crate::header::HeaderName;
use crate::message::Message;
use bytes::{BufMut, Bytes, BytesMut};
use std::net::SocketAddr;

/// Builds one response to one request.
#[derive(Debug)]
pub struct ResponseBuilder<'m> {
    req: &'m Message,
    code: u16,
    reason: &'m str,
    to_tag: Option<&'m str>,
    source: Option<SocketAddr>,
    headers: String,
    body: Option<(&'m str, &'m [u8])>,
}

impl<'m> ResponseBuilder<'m> {
    /// Starts a response. Line breaks in `reason` are replaced by spaces.
    pub fn new(req: &'m Message, code: u16, reason: &'m str) -> Self {
        ResponseBuilder {
            req,
            code,
            reason,
            to_tag: None,
            source: None,
            headers: String::with_capacity(256),
            body: None,
        }
    }

    /// The tag to put on To if the request's To has none (not used for 100).
    pub fn to_tag(mut self, tag: &'m str) -> Self {
        self.to_tag = Some(tag);
        self
    }

    /// Fills `received`/`rport` in the top Via with the address the request came from
    /// (RFC 3261 §18.2.1, RFC 3581).
    pub fn received_from(mut self, source: SocketAddr) -> Self {
        self.source = Some(source);
        self
    }

    /// Adds a header line.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push_str(name);
        self.headers.push_str(": ");
        self.headers.push_str(value);
        self.headers.push_str("\r\n");
        self
    }

    /// Sets the body and its Content-Type.
    pub fn body(mut self, content_type: &'m str, body: &'m [u8]) -> Self {
        self.body = Some((content_type, body));
        self
    }

    /// Writes the response.
    pub fn build(self) -> Bytes {
        let req = self.req;
        let mut out = BytesMut::with_capacity(512 + self.headers.len());
        out.put_slice(b"SIP/2.0 ");
        out.put_slice(itoa::Buffer::new().format(self.code).as_bytes());
        out.put_u8(b' ');
        for b in self.reason.bytes() {
            out.put_u8(if b == b'\r' || b == b'\n' { b' ' } else { b });
        }
        out.put_slice(b"\r\n");
        let mut editor: Editor<'_> = req.edit();
        if let Some(src) = self.source {
            editor.set_via_received(src.ip(), src.port());
        }
        for f in req.fields.iter() {
            let copy = match f.name {
                HeaderName::Via | HeaderName::From | HeaderName::CallId | HeaderName::CSeq => true,
                HeaderName::Timestamp => self.code == 100,
                HeaderName::To => {
                    let needs_tag = || self.code > 100 && req.to().is_ok_and(|t| t.tag().is_none());
                    match self.to_tag.filter(|_| needs_tag()) {
                        Some(tag) => {
                            let value = req.header(HeaderName::To).unwrap_or("");
                            out.put_slice(b"To: ");
                            out.put_slice(value.as_bytes());
                            out.put_slice(b";tag=");
                            out.put_slice(tag.as_bytes());
                            out.put_slice(b"\r\n");
                            false
                        }
                        None => true,
                    }
                }
                _ => false,
            };
            if copy {
                editor.write_range(f.line.start as usize, f.line.end as usize, &mut out);
            }
        }
        out.put_slice(self.headers.as_bytes());
        let (ctype, body) = self.body.unwrap_or(("", b""));
        if !ctype.is_empty() {
            out.put_slice(b"Content-Type: ");
            out.put_slice(ctype.as_bytes());
            out.put_slice(b"\r\n");
        }
        out.put_slice(b"Content-Length: ");
        out.put_slice(itoa::Buffer::new().format(body.len()).as_bytes());
        out.put_slice(b"\r\n\r\n");
        out.put_slice(body);
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_what_the_rfc_says() {
        let req = Message::parse(Bytes::from_static(
            b"OPTIONS sip:srv.example.com SIP/2.0\r\n\
v: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1;rport\r\n\
Via: SIP/2.0/TCP relay;branch=z9hG4bK0\r\n\
From: <sip:a@example.com>;tag=9\r\n\
To: <sip:srv.example.com>\r\n\
Call-ID: c1\r\n\
CSeq: 7 OPTIONS\r\n\
Max-Forwards: 70\r\n\
Content-Length: 0\r\n\r\n",
        ))
        .expect("parses");
        let resp = ResponseBuilder::new(&req, 200, "OK")
            .to_tag("srv1")
            .received_from("192.0.2.9:40000".parse().expect("addr"))
            .header("Allow", "INVITE, ACK")
            .build();
        let r = Message::parse(resp).expect("response parses");
        assert_eq!(r.status(), Some(200));
        assert_eq!(r.validate(), Ok(()));
        assert_eq!(r.count(HeaderName::Via), 2);
        let top = r.top_via().expect("via");
        assert_eq!(top.received(), Some("192.0.2.9".parse().expect("ip")));
        assert_eq!(top.rport(), Some(Some(40000)));
        assert_eq!(r.to().expect("to").tag(), Some("srv1"));
        assert_eq!(r.from().expect("from").tag(), Some("9"));
        assert_eq!(r.cseq().expect("cseq").seq, 7);
        assert_eq!(r.header(HeaderName::Allow), Some("INVITE, ACK"));
        assert_eq!(r.header(HeaderName::MaxForwards), None);
        assert_eq!(r.content_length(), Some(0));
    }
}
