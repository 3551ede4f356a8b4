//! Property tests of the parser and the printer.
//!
//! (a) Messages generated from a structured model (`common/model.rs`) and written with
//!     every liberty the grammar allows: parsing gives back the model's fields; an editor
//!     with no edits writes the input back byte for byte; random edits show up after a
//!     second parse and leave every other header as it was.
//! (b) Arbitrary bytes, SIP-flavoured fragments and mutations of valid messages never
//!     panic and keep the invariants of `common/exercise.rs` (the same checks the fuzz
//!     target runs).
//!
//! The case counts are small so that the suite stays fast in debug builds; run longer
//! with `PROPTEST_CASES=5000 cargo test -p sip-msg --test roundtrip`.

mod common;

use bytes::Bytes;
use common::exercise::exercise;
use common::model::*;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use sip_msg::headers::{Contact, NameAddr, Via};
use sip_msg::{Frame, HeaderName, Host, Limits, Message, Params, ParseError, Uri, frame_stream};
use std::net::IpAddr;

/// The configured number of cases, unless `PROPTEST_CASES` says otherwise.
fn config(cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = cases;
    }
    c
}

// ---------------------------------------------------------------------------------------
// Comparing what was parsed with the model.
// ---------------------------------------------------------------------------------------

fn check_host(h: &Host<'_>, m: &HostM) {
    match (h, m) {
        (Host::Domain(d), HostM::Name(n)) => assert!(d.eq_ignore_ascii_case(n), "{d} vs {n}"),
        (Host::V4(a), HostM::V4(b)) => assert_eq!(a, b),
        (Host::V6(a), HostM::V6(b)) => assert_eq!(a, b),
        _ => panic!("host {h:?} vs model {m:?}"),
    }
}

/// Every model parameter is there with its value, and there are no others.
fn check_params(p: &Params<'_>, m: &[ParamM]) {
    for (name, value) in m {
        assert_eq!(
            p.get(name),
            Some(value.as_deref()),
            "parameter {name} of {p:?}"
        );
    }
    assert_eq!(p.iter().count(), m.len(), "parameters {p:?} vs {m:?}");
}

fn check_uri(u: &Uri<'_>, m: &UriM) {
    let Uri::Sip(s) = u else {
        panic!("not a SIP URI: {u:?}")
    };
    assert_eq!(s.secure, m.secure);
    assert_eq!(s.user, m.user.as_deref());
    assert_eq!(s.password, m.password.as_deref());
    check_host(&s.host, &m.host);
    assert_eq!(s.port, m.port);
    check_params(&s.params, &m.params);
    let headers = (!m.headers.is_empty()).then(|| {
        m.headers
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    });
    assert_eq!(s.headers, headers.as_deref());
    // The same URI written canonically is equivalent (RFC 3261 §19.1.4).
    let canonical = uri_text(m, &mut Style::new(0));
    let again = Uri::parse(&canonical).expect("canonical URI parses");
    assert!(u.matches(&again), "{u} should match {canonical}");
}

fn check_name_addr(na: &NameAddr<'_>, m: &NameAddrM) {
    let display = na.display_name();
    match &m.display {
        None => assert_eq!(display, None),
        Some(DisplayM::Tokens(t)) => {
            // A display name is only kept when the URI is in brackets, which it always is
            // when there is a display name.
            assert_eq!(display.as_deref(), Some(t.join(" ").as_str()));
            assert!(!na.display_quoted);
        }
        Some(DisplayM::Quoted(q)) => {
            assert_eq!(display.as_deref(), Some(q.as_str()));
            assert!(na.display_quoted);
        }
    }
    check_uri(&na.uri, &m.uri);
    check_params(&na.params, &m.params);
}

fn check_via(v: &Via<'_>, m: &ViaM, received: Option<IpAddr>, rport: Option<u16>) {
    assert!(v.transport_token.eq_ignore_ascii_case(&m.transport));
    assert_eq!(v.protocol.to_ascii_uppercase(), "SIP");
    assert_eq!(v.version, "2.0");
    check_host(&v.host, &m.host);
    assert_eq!(v.port, m.port);
    let mut params: Vec<ParamM> = m.params.clone();
    if let Some(ip) = received {
        assert_eq!(v.received(), Some(ip), "received set by the edit");
        params.retain(|(n, _)| n != "received");
    }
    if let Some(port) = rport {
        assert_eq!(v.rport(), Some(Some(port)), "rport filled in by the edit");
        params.retain(|(n, _)| n != "rport");
    }
    for (name, value) in &params {
        assert_eq!(
            v.params.get(name),
            Some(value.as_deref()),
            "Via parameter {name}"
        );
    }
    let expected_count =
        params.len() + usize::from(received.is_some()) + usize::from(rport.is_some());
    assert_eq!(v.params.iter().count(), expected_count, "{:?}", v.raw);
    assert_eq!(v.branch(), m.params[0].1.as_deref());
}

fn check_message(msg: &Message, m: &MsgM) {
    match &m.start {
        StartM::Request { method, uri } => {
            assert_eq!(msg.method_str(), Some(method.as_str()));
            check_uri(&msg.request_uri().expect("R-URI"), uri);
        }
        StartM::Response { code, reason } => {
            assert_eq!(msg.status(), Some(*code));
            assert_eq!(msg.reason(), Some(reason.as_str()));
        }
    }
    assert_eq!(msg.validate(), Ok(()));
    let vias: Vec<_> = msg.vias().map(|v| v.expect("Via parses")).collect();
    let model_vias = m.vias();
    assert_eq!(vias.len(), model_vias.len());
    for (v, mv) in vias.iter().zip(model_vias) {
        check_via(v, mv, None, None);
    }
    check_name_addr(
        &msg.from().expect("From"),
        m.line(|l| match l {
            LineM::From(na) => Some(na),
            _ => None,
        })
        .expect("model From"),
    );
    check_name_addr(
        &msg.to().expect("To"),
        m.line(|l| match l {
            LineM::To(na) => Some(na),
            _ => None,
        })
        .expect("model To"),
    );
    let call_id = m.line(|l| match l {
        LineM::CallId(c) => Some(c.as_str()),
        _ => None,
    });
    assert_eq!(msg.call_id().ok(), call_id);
    let cseq = msg.cseq().expect("CSeq");
    assert_eq!(
        Some(cseq.seq),
        m.line(|l| match l {
            LineM::CSeq(n) => Some(*n),
            _ => None,
        })
    );
    assert_eq!(cseq.method_str, m.cseq_method);
    assert_eq!(
        msg.max_forwards(),
        Ok(m.line(|l| match l {
            LineM::MaxForwards(n) => Some(*n),
            _ => None,
        }))
    );
    assert_eq!(
        msg.expires(),
        Ok(m.line(|l| match l {
            LineM::Expires(n) => Some(*n),
            _ => None,
        }))
    );
    let contacts: Vec<_> = msg.contacts().map(|c| c.expect("Contact parses")).collect();
    let model_contacts = m.list(|l| match l {
        LineM::Contact(c) => Some(c),
        _ => None,
    });
    assert_eq!(contacts.len(), model_contacts.len());
    for (c, mc) in contacts.iter().zip(model_contacts) {
        let Contact::Addr(na) = c else { panic!("*") };
        check_name_addr(na, mc);
        let q = mc
            .params
            .iter()
            .find(|(n, _)| n == "q")
            .and_then(|(_, v)| v.as_deref());
        let thousandths = q.map(|q| {
            let f: f64 = q.parse().expect("q");
            (f * 1000.0).round() as u16
        });
        assert_eq!(na.q(), thousandths);
        let expires = mc.params.iter().find(|(n, _)| n == "expires");
        assert_eq!(
            na.expires(),
            expires.and_then(|(_, v)| v.as_deref()?.parse().ok())
        );
        let reg_id = mc.params.iter().find(|(n, _)| n == "reg-id");
        assert_eq!(
            na.reg_id(),
            reg_id.and_then(|(_, v)| v.as_deref()?.parse().ok())
        );
        if let Some((_, Some(inst))) = mc.params.iter().find(|(n, _)| n == "+sip.instance") {
            let inner = inst
                .trim_matches('"')
                .trim_start_matches('<')
                .trim_end_matches('>');
            assert_eq!(na.instance().as_deref(), Some(inner));
        }
    }
    let routes: Vec<_> = msg.routes().map(|r| r.expect("Route parses")).collect();
    let model_routes = m.list(|l| match l {
        LineM::Route(r) => Some(r),
        _ => None,
    });
    assert_eq!(routes.len(), model_routes.len());
    for (r, mr) in routes.iter().zip(model_routes) {
        check_name_addr(r, mr);
        assert!(r.uri.as_sip().expect("sip").lr());
    }
    check_record_routes(
        msg,
        &m.list(|l| match l {
            LineM::RecordRoute(r) => Some(r),
            _ => None,
        }),
    );
    let supported: Vec<&str> = msg.supported().map(|t| t.expect("token")).collect();
    let model_supported: Vec<&str> = m
        .line(|l| match l {
            LineM::Supported(t) => Some(t.iter().map(String::as_str).collect()),
            _ => None,
        })
        .unwrap_or_default();
    assert_eq!(supported, model_supported);
    for l in &m.lines {
        if let LineM::Ext(name, value) = l {
            let got: Vec<&str> = msg.header_values_by_name(name).collect();
            assert_eq!(got.len(), 1, "{name}");
            let unfolded: String = got[0].replace("\r\n ", " ").replace("\n ", " ");
            assert_eq!(&unfolded, value, "{name}");
        }
    }
    assert_eq!(msg.content_length(), Some(m.body.len() as u32));
    assert_eq!(msg.body(), &m.body[..]);
}

fn check_record_routes(msg: &Message, model: &[&NameAddrM]) {
    let rrs: Vec<_> = msg
        .record_routes()
        .map(|r| r.expect("Record-Route parses"))
        .collect();
    assert_eq!(rrs.len(), model.len());
    for (r, mr) in rrs.iter().zip(model) {
        check_name_addr(r, mr);
    }
}

// ---------------------------------------------------------------------------------------
// (a) The model round trip.
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(96))]

    /// print → parse gives back the model; the editor with no edits gives back the
    /// bytes; the trailing octets of the datagram are cut off; a stream frames the same
    /// message.
    #[test]
    fn print_then_parse_gives_the_model(m in message()) {
        let (printed, datagram) = print(&m);
        let msg = Message::parse(Bytes::from(datagram.clone())).unwrap_or_else(|e| {
            panic!("{e:?} for\n{}", String::from_utf8_lossy(&datagram))
        });
        prop_assert_eq!(&msg.as_bytes()[..], &printed[..]);
        if let Err(e) = msg.validate() {
            panic!("{e:?} for\n{}", String::from_utf8_lossy(&datagram))
        }
        check_message(&msg, &m);
        prop_assert_eq!(&msg.edit().to_bytes()[..], &printed[..]);
        prop_assert_eq!(
            frame_stream(&datagram, &Limits::default()),
            Ok(Frame::Message(printed.len()))
        );
        // Every prefix of a stream is incomplete, never an error.
        let cut = printed.len() / 2;
        prop_assert_eq!(frame_stream(&printed[..cut], &Limits::default()), Ok(Frame::Incomplete));
        exercise(&datagram);
    }
}

/// One edit of the proxy's list.
#[derive(Debug, Clone)]
enum EditM {
    PushVia(ViaM),
    RemoveTopVia,
    PushRecordRoute(NameAddrM),
    SetRequestUri(UriM),
    SetMaxForwards(u32),
    SetViaReceived(IpAddr, u16),
}

fn edits() -> impl Strategy<Value = Vec<EditM>> {
    (
        via().boxed(),
        route().prop_map(Some).boxed(),
        uri(false).boxed(),
        0u32..=255,
        ip(),
        any::<u16>(),
        Just((0..6usize).collect::<Vec<_>>()).prop_shuffle(),
        0usize..=6,
    )
        .prop_map(|(via, rr, ruri, mf, ip, port, order, n)| {
            order
                .into_iter()
                .take(n)
                .filter_map(|k| {
                    Some(match k {
                        0 => EditM::PushVia(via.clone()),
                        1 => EditM::RemoveTopVia,
                        2 => EditM::PushRecordRoute(rr.clone()?),
                        3 => EditM::SetRequestUri(ruri.clone()),
                        4 => EditM::SetMaxForwards(mf),
                        _ => EditM::SetViaReceived(ip, port),
                    })
                })
                .collect()
        })
}

/// The header lines an edit list does not touch, as (name, value) text.
fn untouched(msg: &Message) -> Vec<(String, String)> {
    msg.headers()
        .filter(|h| {
            !matches!(
                h.name,
                HeaderName::Via | HeaderName::RecordRoute | HeaderName::MaxForwards
            )
        })
        .map(|h| (h.name_str.to_owned(), h.value.to_owned()))
        .collect()
}

proptest! {
    #![proptest_config(config(96))]

    /// Random proxy edits, in random order: after a second parse each edit is visible
    /// and every other header is unchanged.
    #[test]
    fn edits_show_and_leave_the_rest(m in message(), edits in edits()) {
        let (printed, _) = print(&m);
        let msg = Message::parse(Bytes::from(printed)).expect("parses");
        let mut st = Style::new(m.style.rotate_left(7));
        let mut editor = msg.edit();
        for e in &edits {
            match e {
                EditM::PushVia(v) => { editor.push_via(&via_text(v, &mut st)); }
                EditM::RemoveTopVia => { editor.remove_top_via(); }
                EditM::PushRecordRoute(r) => { editor.push_record_route(&name_addr_text(r, &mut st)); }
                EditM::SetRequestUri(u) => { editor.set_request_uri(&uri_text(u, &mut st)); }
                EditM::SetMaxForwards(n) => { editor.set_max_forwards(*n); }
                EditM::SetViaReceived(ip, port) => { editor.set_via_received(*ip, *port); }
            }
        }
        let out = editor.to_bytes();
        let edited = Message::parse(out.clone()).unwrap_or_else(|e| {
            panic!("{e:?} after {edits:?}:\n{}", String::from_utf8_lossy(&out))
        });

        // Via: the expected list, with the received/rport the edit adds to the top one.
        let mut vias: Vec<(ViaM, Option<IpAddr>, Option<u16>)> =
            m.vias().into_iter().map(|v| (v.clone(), None, None)).collect();
        if let Some(EditM::SetViaReceived(ip, port)) =
            edits.iter().find(|e| matches!(e, EditM::SetViaReceived(..)))
        {
            let top = &vias[0].0;
            let rport_requested = top.params.iter().any(|(n, v)| n == "rport" && v.is_none());
            let has_received = top.params.iter().any(|(n, _)| n == "received");
            let host_ip = match top.host {
                HostM::V4(a) => Some(IpAddr::V4(a)),
                HostM::V6(a) => Some(IpAddr::V6(a)),
                HostM::Name(_) => None,
            };
            if host_ip != Some(*ip) || rport_requested || has_received {
                vias[0].1 = Some(*ip);
            }
            if rport_requested {
                vias[0].2 = Some(*port);
            }
        }
        if edits.iter().any(|e| matches!(e, EditM::RemoveTopVia)) {
            vias.remove(0);
        }
        if let Some(EditM::PushVia(v)) = edits.iter().find(|e| matches!(e, EditM::PushVia(_))) {
            vias.insert(0, (v.clone(), None, None));
        }
        // Removing the only Via leaves a message a proxy would not send, and says so.
        let valid = if vias.is_empty() { Err(ParseError::Missing(HeaderName::Via)) } else { Ok(()) };
        prop_assert_eq!(edited.validate(), valid);
        let got: Vec<_> = edited.vias().map(|v| v.expect("Via parses")).collect();
        prop_assert_eq!(got.len(), vias.len());
        for (g, (mv, received, rport)) in got.iter().zip(&vias) {
            check_via(g, mv, *received, *rport);
        }

        // Record-Route.
        let mut rrs = m.list(|l| match l {
            LineM::RecordRoute(r) => Some(r),
            _ => None,
        });
        if let Some(EditM::PushRecordRoute(r)) =
            edits.iter().find(|e| matches!(e, EditM::PushRecordRoute(_)))
        {
            rrs.insert(0, r);
        }
        check_record_routes(&edited, &rrs);

        // Request-URI and Max-Forwards.
        match (&m.start, edits.iter().find(|e| matches!(e, EditM::SetRequestUri(_)))) {
            (StartM::Request { .. }, Some(EditM::SetRequestUri(u))) => {
                check_uri(&edited.request_uri().expect("R-URI"), u);
            }
            (StartM::Request { uri, .. }, _) => check_uri(&edited.request_uri().expect("R-URI"), uri),
            (StartM::Response { code, reason }, _) => {
                prop_assert_eq!(edited.status(), Some(*code));
                prop_assert_eq!(edited.reason(), Some(reason.as_str()));
            }
        }
        let mf = match edits.iter().find(|e| matches!(e, EditM::SetMaxForwards(_))) {
            Some(EditM::SetMaxForwards(n)) => Some(*n),
            _ => m.line(|l| match l {
                LineM::MaxForwards(n) => Some(*n),
                _ => None,
            }),
        };
        prop_assert_eq!(edited.max_forwards(), Ok(mf));

        // Everything else, byte for byte.
        prop_assert_eq!(untouched(&edited), untouched(&msg));
        prop_assert_eq!(edited.body(), msg.body());
    }
}

// ---------------------------------------------------------------------------------------
// (b) Nothing panics.
// ---------------------------------------------------------------------------------------

/// Pieces of SIP that make random input reach deep into the parser.
const FRAGMENTS: &[&str] = &[
    "INVITE ",
    "REGISTER ",
    "OPTIONS ",
    "SIP/2.0",
    "SIP/2.0 200 OK",
    " ",
    "  ",
    "\t",
    "\r\n",
    "\n",
    "\r\n ",
    "\r\n\r\n",
    ":",
    ";",
    ",",
    "=",
    "/",
    "<",
    ">",
    "\"",
    "\\",
    "@",
    "?",
    "&",
    "%",
    "%00",
    "%4",
    "[",
    "]",
    "::",
    "sip:",
    "sips:",
    "tel:+1",
    "user",
    "example.com",
    "192.0.2.1",
    "[2001:db8::1]",
    "5060",
    ":5060",
    "99999",
    "Via: ",
    "v: ",
    "SIP/2.0/UDP ",
    "branch=z9hG4bK",
    ";rport",
    ";received=",
    "From: ",
    "To: ",
    "f: ",
    "t: ",
    ";tag=",
    "Call-ID: ",
    "i: ",
    "CSeq: ",
    "1 INVITE",
    "Contact: ",
    "m: ",
    "*",
    ";q=0.5",
    ";expires=",
    "Max-Forwards: ",
    "Route: ",
    "Record-Route: ",
    "<sip:p.example.com;lr>",
    "Content-Length: ",
    "l: ",
    "0",
    "10",
    "-1",
    "4294967296",
    "Content-Type: ",
    "application/sdp",
    "Expires: ",
    "Require: ",
    "Proxy-Require: ",
    "Authorization: ",
    "Digest ",
    "username=\"a\"",
    "WWW-Authenticate: ",
    "Retry-After: ",
    "Warning: ",
    "399 h \"x\"",
    "\u{0}",
    "\u{7f}",
    "\u{e9}",
    "\u{fffd}",
];

fn fragments() -> impl Strategy<Value = Vec<u8>> {
    vec(select(FRAGMENTS), 0..80).prop_map(|f| f.concat().into_bytes())
}

/// One change to a byte string.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Insert(Index, &'static str),
    Delete(Index, usize),
    Duplicate(Index, usize),
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<Index>(), select(FRAGMENTS)).prop_map(|(i, f)| Mutation::Insert(i, f)),
        (any::<Index>(), 1usize..20).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<Index>(), 1usize..40).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        any::<Index>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(data: &mut Vec<u8>, muts: &[Mutation]) {
    for m in muts {
        let len = data.len();
        let at = |i: &Index| if len == 0 { 0 } else { i.index(len + 1) };
        match m {
            Mutation::Flip(i, b) if len > 0 => {
                let p = i.index(len);
                data[p] = *b;
            }
            Mutation::Flip(..) => {}
            Mutation::Insert(i, f) => {
                let p = at(i);
                data.splice(p..p, f.bytes());
            }
            Mutation::Delete(i, n) => {
                let p = at(i).min(len);
                data.drain(p..(p + n).min(len));
            }
            Mutation::Duplicate(i, n) => {
                let p = at(i).min(len);
                let piece = data[p..(p + n).min(len)].to_vec();
                data.splice(p..p, piece);
            }
            Mutation::Truncate(i) => data.truncate(at(i)),
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_bytes_never_panic(data in vec(any::<u8>(), 0..700)) {
        exercise(&data);
    }

    #[test]
    fn sip_fragments_never_panic(data in fragments()) {
        exercise(&data);
    }

    #[test]
    fn mutated_messages_never_panic(m in message(), muts in vec(mutation(), 1..6)) {
        let (_, mut data) = print(&m);
        mutate(&mut data, &muts);
        exercise(&data);
    }
}
