//! Parsing and framing whole messages.

use super::*;
use crate::framing::{Frame, frame_stream};

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
    let m = Message::parse(Bytes::from_static(b"SIP/2.0 100 \r\nl: 0\r\n\r\n")).expect("parses");
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
    let m =
        Message::parse(Bytes::from_static(b"sip/2.0 180 Ringing\r\nl: 0\r\n\r\n")).expect("parses");
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
    let m =
        Message::parse(Bytes::from_static(b"OPTIONS sip:a@b SIP/2.0\r\nl: 0\r\n")).expect("parses");
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
