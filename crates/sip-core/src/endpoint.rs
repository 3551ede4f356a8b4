//! The request pipeline as it stands today (ARCHITECTURE.md steps 1 and 6 for requests
//! addressed to the server itself): parse, sanity, then answer.
//!
//! [`Endpoint::handle`] takes the bytes of one complete message and where it came from
//! and says what to send back. It holds no socket and no clock; the transport shell
//! calls it from as many tasks as it likes (`&self`, no lock).

use crate::rescue::rescue_request;
use crate::sanity::{Rejection, SUPPORTED_EXTENSIONS, check_request};
use bytes::Bytes;
use sip_msg::{Host, Limits, Message, Method, ParseError, ResponseBuilder, Transport, Uri};
use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::SocketAddr;

/// The methods this server answers for itself.
pub const ALLOWED_METHODS: &str = "OPTIONS, ACK";

/// What the endpoint needs to know about the server.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// The local domains and aliases (host names and addresses), any case.
    pub local_domains: Vec<String>,
    /// The Server header value.
    pub server: String,
    /// Parsing limits.
    pub limits: Limits,
}

/// Where a message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboundMeta {
    /// The transport it arrived on.
    pub transport: Transport,
    /// The peer's address (for a datagram, its source).
    pub source: SocketAddr,
    /// Our address it arrived at.
    pub local: SocketAddr,
}

/// What to do after a message was handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Send these bytes back to where the message came from (the same connection for a
    /// stream, the source address for a datagram).
    Reply(Bytes),
    /// Nothing to send.
    Drop,
}

/// Handles messages for one server.
#[derive(Debug)]
pub struct Endpoint {
    domains: HashSet<String>,
    server: String,
    limits: Limits,
}

impl Endpoint {
    /// Creates the endpoint.
    pub fn new(config: EndpointConfig) -> Self {
        Endpoint {
            domains: config
                .local_domains
                .iter()
                .map(|d| normalise_host(d))
                .collect(),
            server: config.server,
            limits: config.limits,
        }
    }

    /// Whether `host` names this server.
    pub fn is_local(&self, host: &Host<'_>) -> bool {
        let key = match host {
            Host::Domain(d) => d.to_ascii_lowercase(),
            Host::V4(a) => a.to_string(),
            Host::V6(a) => a.to_string(),
        };
        self.domains.contains(&key)
    }

    /// Handles one complete message.
    pub fn handle(&self, data: Bytes, meta: &InboundMeta) -> Outcome {
        match Message::parse_with(data.clone(), &self.limits) {
            Ok(msg) if msg.is_request() => self.on_request(&msg, meta),
            // No transactions yet: a response matches nothing, so it is dropped
            // (stateless forwarding by Via comes with the proxy).
            Ok(_) => Outcome::Drop,
            Err(e) => self.on_unparsable(&data, e, meta),
        }
    }

    fn on_unparsable(&self, data: &[u8], err: ParseError, meta: &InboundMeta) -> Outcome {
        match rescue_request(data) {
            Some(req) => self.reply(&req, &Rejection::from(err), meta),
            None => Outcome::Drop,
        }
    }

    fn on_request(&self, msg: &Message, meta: &InboundMeta) -> Outcome {
        let for_us = msg
            .request_uri()
            .and_then(|u| u.as_sip().map(|s| self.is_local(&s.host)))
            .unwrap_or(false);
        if msg.method() == Some(Method::Ack) {
            // An ACK is never answered (RFC 3261 §17.2.1 absorbs it in the transaction).
            return Outcome::Drop;
        }
        if let Err(rejection) = check_request(msg, for_us) {
            return self.reply(msg, &rejection, meta);
        }
        let rejection = match (for_us, msg.method()) {
            (true, Some(Method::Options)) => return self.reply_options(msg, meta),
            (true, Some(Method::Other)) | (true, Some(Method::Register)) => {
                Rejection::new(501, "Not Implemented")
            }
            (true, _) => Rejection::new(404, "Not Found"),
            (false, _) => match msg.request_uri() {
                Some(Uri::Tel(_)) => Rejection::new(404, "Not Found"),
                _ => Rejection::new(403, "Relaying Denied"),
            },
        };
        self.reply(msg, &rejection, meta)
    }

    fn reply_options(&self, msg: &Message, meta: &InboundMeta) -> Outcome {
        let tag = to_tag(msg);
        let resp = ResponseBuilder::new(msg, 200, "OK")
            .to_tag(&tag)
            .received_from(meta.source)
            .header("Allow", ALLOWED_METHODS)
            .header("Supported", &SUPPORTED_EXTENSIONS.join(", "))
            .header("Accept", "application/sdp")
            .header("Server", &self.server)
            .build();
        Outcome::Reply(resp)
    }

    fn reply(&self, msg: &Message, rejection: &Rejection, meta: &InboundMeta) -> Outcome {
        let tag = to_tag(msg);
        let mut b = ResponseBuilder::new(msg, rejection.code, &rejection.reason)
            .to_tag(&tag)
            .received_from(meta.source)
            .header("Server", &self.server);
        let unsupported = rejection.unsupported.join(", ");
        if rejection.code == 420 {
            b = b.header("Unsupported", &unsupported);
        }
        if rejection.code == 501 || rejection.code == 405 {
            b = b.header("Allow", ALLOWED_METHODS);
        }
        Outcome::Reply(b.build())
    }
}

/// A To tag derived from the request, so that a retransmitted request answered without
/// state gets the same tag (RFC 3261 §8.2.6.2).
pub(crate) fn to_tag(msg: &Message) -> String {
    let mut h = DefaultHasher::new();
    msg.call_id().unwrap_or("").hash(&mut h);
    msg.from()
        .ok()
        .and_then(|f| f.tag())
        .unwrap_or("")
        .hash(&mut h);
    msg.top_via()
        .ok()
        .and_then(|v| v.branch())
        .unwrap_or("")
        .hash(&mut h);
    format!("{:016x}", h.finish())
}

/// Lower-cases a host and strips IPv6 brackets, as [`Endpoint::is_local`] compares.
fn normalise_host(h: &str) -> String {
    let h = h.trim().trim_start_matches('[').trim_end_matches(']');
    match h.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => h.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip_msg::HeaderName;

    fn endpoint() -> Endpoint {
        Endpoint::new(EndpointConfig {
            local_domains: vec![
                "Example.COM".into(),
                "192.0.2.1".into(),
                "[2001:db8::1]".into(),
            ],
            server: "Serval test".into(),
            limits: Limits::default(),
        })
    }

    fn meta() -> InboundMeta {
        InboundMeta {
            transport: Transport::Udp,
            source: "198.51.100.7:5099".parse().expect("addr"),
            local: "192.0.2.1:5060".parse().expect("addr"),
        }
    }

    fn request(first: &str, extra: &str) -> Bytes {
        Bytes::from(format!(
            "{first}\r\nVia: SIP/2.0/UDP 10.1.1.1:5060;branch=z9hG4bKabc;rport\r\nFrom: <sip:u@example.com>;tag=f1\r\nTo: <sip:example.com>\r\nCall-ID: cid\r\nCSeq: 1 {}\r\nMax-Forwards: 70\r\n{extra}Content-Length: 0\r\n\r\n",
            first.split(' ').next().unwrap_or("")
        ))
    }

    fn answer(data: Bytes) -> Option<Message> {
        match endpoint().handle(data, &meta()) {
            Outcome::Reply(b) => Some(Message::parse(b).expect("our reply parses")),
            Outcome::Drop => None,
        }
    }

    #[test]
    fn options_for_us() {
        for host in [
            "example.com",
            "EXAMPLE.com:5060",
            "192.0.2.1",
            "[2001:db8::1]",
        ] {
            let r = answer(request(&format!("OPTIONS sip:{host} SIP/2.0"), "")).expect("answered");
            assert_eq!(r.status(), Some(200), "{host}");
            assert!(
                r.header(HeaderName::Allow)
                    .is_some_and(|a| a.contains("OPTIONS"))
            );
            assert!(r.header(HeaderName::Supported).is_some());
            assert_eq!(r.server(), Some("Serval test"));
            let via = r.top_via().expect("via");
            assert_eq!(via.rport(), Some(Some(5099)));
            assert_eq!(via.received(), Some("198.51.100.7".parse().expect("ip")));
            assert!(r.to().expect("to").tag().is_some());
        }
    }

    #[test]
    fn rejections() {
        let cases = [
            (
                request("OPTIONS sip:example.com SIP/2.0", "Proxy-Require: foo\r\n"),
                420,
            ),
            (
                request("OPTIONS sip:example.com SIP/2.0", "Require: bar\r\n"),
                420,
            ),
            (
                request("OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0", ""),
                416,
            ),
            (request("INVITE sip:bob@elsewhere.test SIP/2.0", ""), 403),
            (request("INVITE sip:bob@example.com SIP/2.0", ""), 404),
            (request("FOO sip:example.com SIP/2.0", ""), 501),
            (request("OPTIONS sip:example.com SIP/7.0", ""), 505),
            (request("OPTIONS <sip:example.com> SIP/2.0", ""), 400),
        ];
        for (req, code) in cases {
            let r = answer(req.clone()).expect("answered");
            assert_eq!(r.status(), Some(code), "{}", String::from_utf8_lossy(&req));
            if code == 420 {
                assert!(r.header(HeaderName::Unsupported).is_some());
            }
            assert_eq!(r.call_id(), Ok("cid"));
        }
    }

    #[test]
    fn max_forwards_zero() {
        let mf0 = |first: &str| {
            let req = String::from_utf8_lossy(&request(first, ""))
                .replace("Max-Forwards: 70", "Max-Forwards: 0");
            answer(Bytes::from(req)).expect("answered").status()
        };
        assert_eq!(mf0("OPTIONS sip:example.com SIP/2.0"), Some(200));
        assert_eq!(mf0("INVITE sip:bob@elsewhere.test SIP/2.0"), Some(483));
    }

    #[test]
    fn drops() {
        assert_eq!(
            answer(Bytes::from_static(b"SIP/2.0 200 OK\r\nVia: x\r\n\r\n")).map(|m| m.status()),
            None
        );
        assert!(answer(Bytes::from_static(b"\x00\x01garbage")).is_none());
        assert!(answer(request("ACK sip:example.com SIP/2.0", "")).is_none());
        let reason = answer(Bytes::from(
            String::from_utf8_lossy(&request("OPTIONS sip:example.com SIP/2.0", ""))
                .replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE"),
        ))
        .expect("answered");
        assert_eq!(reason.status(), Some(400));
        assert_eq!(
            reason.reason(),
            Some("CSeq method does not match the request method")
        );
    }
}
