//! Runs everything a server does with received bytes through the parser, and checks the
//! invariants that must hold for *any* input. Shared by the property tests
//! (`tests/roundtrip.rs`) and the cargo-fuzz target (`fuzz/fuzz_targets/parse_message.rs`
//! includes this file with `#[path]`), so a fuzz finding reproduces as a unit test.
//!
//! The invariants:
//! - nothing panics (parse, validate, every typed accessor, `frame_stream`);
//! - a parsed message is a prefix of the input and parses again the same way;
//! - an editor with no edits writes the message back byte for byte;
//! - each edit on a parsed message gives a message that parses, shows the edit and
//!   keeps the other headers;
//! - a SIP URI matches itself (RFC 3261 §19.1.4 is an equivalence).

#![allow(dead_code)]

use bytes::Bytes;
use sip_msg::headers::{Contact, NameAddr};
use sip_msg::{
    Frame, HeaderName, Host, Limits, Message, ParseError, Uri, frame_stream, uri::unescape,
};
use std::net::IpAddr;

/// Small limits, so that the limit checks are reached by small inputs too.
pub const SMALL: Limits = Limits {
    max_message: 600,
    max_header_section: 300,
    max_headers: 12,
};

/// Parses `data` with the default and with small limits and runs every check. Returns
/// the message parsed with the default limits.
pub fn exercise(data: &[u8]) -> Option<Message> {
    exercise_framing(data);
    if let Ok(m) = Message::parse_with(Bytes::copy_from_slice(data), &SMALL) {
        exercise_message(data, &m);
    }
    let m = Message::parse(Bytes::copy_from_slice(data)).ok()?;
    exercise_message(data, &m);
    Some(m)
}

/// `frame_stream` never claims more bytes than it was given, and agrees with itself.
pub fn exercise_framing(data: &[u8]) {
    for limits in [Limits::default(), SMALL] {
        match frame_stream(data, &limits) {
            Ok(Frame::Message(len)) => {
                assert!(len <= data.len(), "frame longer than the input");
                assert!(len <= limits.max_message, "frame over the size limit");
                // The message alone frames to itself.
                assert_eq!(
                    frame_stream(&data[..len], &limits),
                    Ok(Frame::Message(len)),
                    "a framed message frames alone"
                );
            }
            Ok(Frame::KeepAlive { len, .. }) => {
                assert!(len > 0 && len <= data.len(), "keep-alive length");
            }
            Ok(Frame::Incomplete) | Err(_) => {}
        }
    }
}

/// All the checks on one parsed message.
pub fn exercise_message(data: &[u8], m: &Message) {
    let bytes = m.as_bytes();
    assert!(
        data.starts_with(bytes),
        "the message is a prefix of the input"
    );
    match Message::parse(bytes.clone()) {
        Ok(again) => {
            assert_eq!(again.as_bytes(), bytes, "parsing is idempotent");
            assert_eq!(again.headers().count(), m.headers().count());
            assert_eq!(again.body(), m.body());
        }
        // The default limits can be wider than the ones `m` was parsed with, never
        // narrower; a prefix that parsed once parses again.
        Err(e) if bytes.len() <= Limits::default().max_message => {
            panic!("the parsed prefix does not parse again: {e:?}")
        }
        Err(_) => {}
    }
    touch_everything(m);
    assert_eq!(
        &m.edit().to_bytes(),
        bytes,
        "an editor without edits copies"
    );
    exercise_edits(m);
}

/// Calls every accessor, deep into the typed values.
pub fn touch_everything(m: &Message) {
    let _ = m.validate();
    let _ = (
        m.start_line(),
        m.method(),
        m.method_str(),
        m.status(),
        m.reason(),
    );
    if let Some(u) = m.request_uri() {
        touch_uri(&u);
    }
    for h in m.headers() {
        let _ = HeaderName::from_name(h.name_str);
        let _ = m.header_values_by_name(h.name_str).count();
        let _ = m.single(h.name);
        if h.name.is_list() {
            let _ = m.list(h.name).count();
        }
    }
    for v in m.vias().flatten() {
        let _ = (
            v.transport(),
            v.branch(),
            v.has_rfc3261_branch(),
            v.received(),
        );
        let _ = (v.rport(), v.maddr(), v.ttl(), v.alias(), v.sent_by_port());
        assert_host_round_trip(&v.host);
        touch_params(v.params);
    }
    let _ = m.top_via();
    for na in [m.from(), m.to()].into_iter().flatten() {
        touch_name_addr(&na);
    }
    let _ = (
        m.call_id(),
        m.cseq(),
        m.max_forwards(),
        m.expires(),
        m.min_expires(),
    );
    for c in m.contacts().flatten() {
        if let Contact::Addr(na) = c {
            touch_name_addr(&na);
        }
    }
    for na in m
        .routes()
        .chain(m.record_routes())
        .chain(m.paths())
        .flatten()
    {
        touch_name_addr(&na);
    }
    let _ = m.content_length();
    if let Ok(Some(ct)) = m.content_type() {
        let _ = ct.is("application", "sdp");
        touch_params(ct.params);
    }
    let tokens = m
        .require()
        .chain(m.proxy_require())
        .chain(m.supported())
        .chain(m.unsupported())
        .chain(m.allow());
    let _ = tokens.count();
    for proxy in [false, true] {
        for a in m.challenges(proxy).chain(m.credentials(proxy)).flatten() {
            let _ = (a.is_digest(), a.realm(), a.nonce(), a.opaque_param());
            let _ = (a.algorithm(), a.qop(), a.stale(), a.domain(), a.username());
            let _ = (a.uri(), a.response(), a.cnonce(), a.nc());
            for p in a.params.iter() {
                let _ = (p.unquoted(), a.params.is_quoted(p.name));
            }
        }
    }
    if let Ok(Some(info)) = m.authentication_info() {
        let _ = info.params.iter().count();
    }
    let _ = (m.user_agent(), m.server());
    for w in m.warnings().flatten() {
        let _ = (w.code, w.agent, w.text);
    }
    if let Ok(Some(r)) = m.retry_after() {
        let _ = r.duration();
    }
    let _ = (m.body(), m.body_bytes());
}

fn touch_params(p: sip_msg::Params<'_>) {
    for param in p.iter() {
        let _ = (param.unquoted(), p.get(param.name), p.value(param.name));
    }
}

fn touch_name_addr(na: &NameAddr<'_>) {
    let _ = (na.display_name(), na.tag(), na.q(), na.expires());
    let _ = (na.instance(), na.reg_id(), na.methods().count());
    touch_params(na.params);
    touch_uri(&na.uri);
}

fn touch_uri(u: &Uri<'_>) {
    assert!(u.matches(u), "a URI matches itself: {u}");
    assert_eq!(
        Uri::parse(u.as_str()).as_ref(),
        Ok(u),
        "a URI parses the same again"
    );
    match u {
        Uri::Sip(s) => {
            let _ = (s.transport(), s.lr(), s.maddr(), s.user_param(), s.ttl());
            let _ = (s.method(), s.r2());
            let _ = s.user.map(unescape);
            assert_host_round_trip(&s.host);
            touch_params(s.params);
        }
        Uri::Tel(t) => {
            let _ = (t.digits(), t.is_global());
            touch_params(t.params);
        }
        Uri::Other { .. } => {}
    }
}

/// A host printed and parsed again is the same host.
fn assert_host_round_trip(h: &Host<'_>) {
    let text = h.to_string();
    let again = Host::parse(&text).unwrap_or_else(|| panic!("host {text} does not parse"));
    assert!(h.matches(&again), "host {text} round trip");
}

const VIA: &str = "SIP/2.0/UDP edit.example.net:5062;branch=z9hG4bKedit1";
const RR: &str = "<sip:rr.example.net;lr>";
const RURI: &str = "sip:edited@example.net";

fn reparse(what: &str, m: &Message, out: Bytes) -> Message {
    Message::parse(out.clone()).unwrap_or_else(|e| {
        panic!(
            "after {what} the message does not parse ({e:?}).\nbefore: {:?}\nafter: {:?}",
            String::from_utf8_lossy(m.as_bytes()),
            String::from_utf8_lossy(&out)
        )
    })
}

/// The header lines other than `except`, as (name, value) text.
fn other_headers(m: &Message, except: &[HeaderName]) -> Vec<(String, String)> {
    m.headers()
        .filter(|h| !except.contains(&h.name))
        .map(|h| (h.name_str.to_owned(), h.value.to_owned()))
        .collect()
}

/// Each edit alone, then all of them together.
pub fn exercise_edits(m: &Message) {
    if m.as_bytes().len() + 200 > Limits::default().max_message {
        return;
    }
    let vias = m.list(HeaderName::Via).count();
    let via_lines = m.count(HeaderName::Via);

    // push_via
    let out = reparse("push_via", m, m.edit().push_via(VIA).to_bytes());
    assert_eq!(out.list(HeaderName::Via).next(), Some(VIA));
    assert_eq!(out.list(HeaderName::Via).count(), vias + 1);
    assert_eq!(
        other_headers(&out, &[HeaderName::Via]),
        other_headers(m, &[HeaderName::Via])
    );
    assert_eq!(out.body(), m.body());

    // remove_top_via
    if via_lines > 0 {
        let first_line_values = m
            .header(HeaderName::Via)
            .map_or(0, |v| sip_msg::header::split_list(v).count());
        let out = reparse("remove_top_via", m, m.edit().remove_top_via().to_bytes());
        // The exact count only holds for well-formed lists (an empty element, as in
        // `Via: a,`, may go with the one before it).
        let well_formed = m.vias().all(|v| v.is_ok());
        let expect = vias - usize::from(first_line_values > 0);
        assert!(
            !well_formed || out.list(HeaderName::Via).count() == expect,
            "one Via removed from {:?}: {:?}",
            String::from_utf8_lossy(m.as_bytes()),
            String::from_utf8_lossy(out.as_bytes())
        );
        assert!(out.list(HeaderName::Via).count() <= vias, "no Via added");
        let rest: Vec<_> = m.list(HeaderName::Via).skip(1).collect();
        if first_line_values > 0 && well_formed {
            assert_eq!(out.list(HeaderName::Via).collect::<Vec<_>>(), rest);
        }
        assert_eq!(
            other_headers(&out, &[HeaderName::Via]),
            other_headers(m, &[HeaderName::Via])
        );
    }

    // push_record_route
    let out = reparse(
        "push_record_route",
        m,
        m.edit().push_record_route(RR).to_bytes(),
    );
    assert_eq!(out.list(HeaderName::RecordRoute).next(), Some(RR));
    assert_eq!(
        out.list(HeaderName::RecordRoute).count(),
        m.list(HeaderName::RecordRoute).count() + 1
    );
    assert_eq!(
        other_headers(&out, &[HeaderName::RecordRoute]),
        other_headers(m, &[HeaderName::RecordRoute])
    );

    // set_max_forwards
    let out = reparse(
        "set_max_forwards",
        m,
        m.edit().set_max_forwards(69).to_bytes(),
    );
    if m.count(HeaderName::MaxForwards) <= 1 {
        assert_eq!(out.max_forwards(), Ok(Some(69)));
    }
    assert_eq!(
        other_headers(&out, &[HeaderName::MaxForwards]),
        other_headers(m, &[HeaderName::MaxForwards])
    );

    // set_request_uri
    let out = reparse(
        "set_request_uri",
        m,
        m.edit().set_request_uri(RURI).to_bytes(),
    );
    if m.is_request() {
        assert_eq!(out.request_uri_str(), Some(RURI));
    }
    assert_eq!(other_headers(&out, &[]), other_headers(m, &[]));

    // set_via_received
    for (ip, port) in [
        ("192.0.2.77".parse::<IpAddr>().ok(), 40000),
        ("2001:db8::77".parse::<IpAddr>().ok(), 5062),
    ] {
        let Some(ip) = ip else { continue };
        let out = reparse(
            "set_via_received",
            m,
            m.edit().set_via_received(ip, port).to_bytes(),
        );
        if let Ok(before) = m.top_via() {
            let after = out
                .top_via()
                .unwrap_or_else(|e| panic!("top Via broken by set_via_received: {e:?}"));
            let rport_requested = before.params.get("rport") == Some(None);
            if before.host.ip() != Some(ip) || rport_requested || before.received().is_some() {
                assert_eq!(after.received(), Some(ip), "received set");
            }
            if rport_requested {
                assert_eq!(after.rport(), Some(Some(port)), "rport filled in");
            }
            assert_eq!(after.branch(), before.branch());
            assert_eq!(after.host, before.host);
        }
        assert_eq!(
            out.list(HeaderName::Via).count(),
            m.list(HeaderName::Via).count()
        );
        assert_eq!(
            other_headers(&out, &[HeaderName::Via]),
            other_headers(m, &[HeaderName::Via])
        );
    }

    // Everything at once, as a proxy does.
    let mut e = m.edit();
    e.set_request_uri(RURI)
        .remove_top_via()
        .set_via_received(
            "192.0.2.78".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
            1,
        )
        .push_via(VIA)
        .push_record_route(RR)
        .set_max_forwards(68);
    let out = reparse("all edits", m, e.to_bytes());
    assert_eq!(out.list(HeaderName::Via).next(), Some(VIA));
    assert_eq!(out.body(), m.body());
}

/// Whether an error is one the parser may give for a complete datagram.
pub fn is_parse_error(e: ParseError) -> bool {
    e.status() >= 400
}
