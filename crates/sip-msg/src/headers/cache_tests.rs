//! The typed values cached in a message ([`crate::parsed`]) are the ones parsing gives,
//! errors included.

use crate::header::HeaderName;
use crate::headers::{NameAddr, Via};
use crate::message::Message;
use bytes::Bytes;

fn message(via: &str, from: &str, to: &str) -> Message {
    Message::parse(Bytes::from(format!(
        "OPTIONS sip:a@example.com SIP/2.0\r\nVia: {via}\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n"
    )))
    .expect("parses")
}

/// What the cache gives, first and second time, and on a clone, is what parsing the
/// text gives.
#[test]
fn cached_values_are_the_parsed_ones() {
    let cases = [
        (
            "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport, SIP/2.0/TCP b",
            "\"A \\\"B\\\"\" <sip:a:pw@[2001:db8::1]:5070;transport=tcp;lr?h=v>;tag=x",
            "<tel:+1-201-555-0123;phone-context=example.com>",
        ),
        (
            "SIP/2.0/TLS [2001:db8::9];received=192.0.2.7",
            "sip:alice@example.com;tag=1",
            "Bob <urn:service:sos>;tag=2",
        ),
        (
            "SIP/2.0/UDP host.example.com",
            "<sip:example.com>",
            "x <sips:b@example.com>",
        ),
    ];
    for (via, from, to) in cases {
        let msg = message(via, from, to);
        let direct_via = Via::parse(msg.list(HeaderName::Via).next().expect("via"));
        let direct_from = NameAddr::parse(
            msg.header(HeaderName::From).expect("from"),
            HeaderName::From,
        );
        let direct_to = NameAddr::parse(msg.header(HeaderName::To).expect("to"), HeaderName::To);
        for m in [&msg, &msg, &msg.clone()] {
            assert_eq!(m.top_via(), direct_via, "{via}");
            assert_eq!(m.from(), direct_from, "{from}");
            assert_eq!(m.to(), direct_to, "{to}");
        }
        assert_eq!(
            msg.request_uri(),
            msg.request_uri_str()
                .and_then(|u| crate::uri::Uri::parse(u).ok())
        );
        assert_eq!(msg.clone().request_uri(), msg.request_uri());
        // The attached strings are the message's own: edits find them by address.
        let via = msg.top_via().expect("via");
        assert!(msg.offset_of(via.raw).is_some());
        assert!(msg.offset_of(via.host_str).is_some());
    }
}

#[test]
fn errors_are_cached_too() {
    let msg = message("SIP/2.0/UDP", "<sip:a@b", "<sip:c@d>");
    assert!(msg.top_via().is_err());
    assert_eq!(msg.top_via(), msg.top_via());
    assert!(msg.from().is_err());
    assert_eq!(msg.from(), msg.from());
}
