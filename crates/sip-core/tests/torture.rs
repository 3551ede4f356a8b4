//! Every message of RFC 4475 (SIP torture tests) and RFC 5118 (IPv6 torture tests) is a
//! test: the parser reads it as the RFC says, and the server answers what
//! `manifest.tsv` expects.
//!
//! The corpus is vendored in `testdata/sip-torture/` at the repository root (see its
//! PROVENANCE.md); set `SIP_TORTURE_DIR` to
//! use another copy. Each file gets its own `#[test]` (named after the file), which runs:
//!
//! 1. the generic checks driven by the manifest row: a message of class `valid*` parses
//!    and validates; a request's answer is in the `ok` column and, unless a documented
//!    [`PREFER_WAIVERS`] entry says why not, in the `prefer` column; a response is
//!    dropped; every reply parses, validates and carries the request's Call-ID; the
//!    stream framer agrees with the `tcp` column; nothing panics;
//! 2. the spot checks of the file's section of the RFC (field values as the RFC reads
//!    them), written next to the file name in the `torture!` table below.

use bytes::Bytes;
mod common;

use sip_msg::headers::{Contact, NameAddr};
use sip_msg::uri::unescape;
use sip_msg::{
    Frame, HeaderName, Host, Limits, Message, Method, ParseError, Transport, Uri, frame_stream,
};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The local domains the server serves. `example.com` is the registrar domain of the
/// REGISTER tests (escnull, cparam01...); `registrar.example.com` is esc02's target (so the
/// unknown method reaches a UAS, which answers 501); `[2001:db8::10]` is the RFC 5118
/// Request-URI host, so that those requests are answered by the server itself and the
/// response carries an IPv6 Via.
const LOCAL_DOMAINS: &[&str] = &["example.com", "registrar.example.com", "[2001:db8::10]"];

/// Files whose answer is allowed outside the manifest's `ok` column, and why.
const OK_WAIVERS: &[(&str, &str, &[u16])] = &[
    (
        "rfc4475/cparam01.dat",
        "no registrar yet (issue 5): REGISTER is answered 501",
        &[501],
    ),
    (
        "rfc4475/cparam02.dat",
        "no registrar yet (issue 5): REGISTER is answered 501",
        &[501],
    ),
    (
        "rfc4475/regescrt.dat",
        "no registrar yet (issue 5): REGISTER is answered 501",
        &[501],
    ),
    (
        "rfc4475/unksm2.dat",
        "no registrar yet (issue 5): REGISTER is answered 501 before the To URI is judged",
        &[501],
    ),
];

/// `valid*` messages the parser may refuse, and why.
const PARSE_WAIVERS: &[(&str, &str)] = &[(
    "rfc5118/ipv6-bug-abnf-3-colons.dat",
    "[2001:db8:::192.0.2.1] is no IPv6 address; RFC 5118 §4.10 lets a receiver accept it \
     (the RFC 3261 ABNF bug) but does not require it. We refuse it with 400 rather than guess \
     which colon is extra; the manifest counts 400 as acceptable",
)];

/// Files whose answer is in the `ok` column but not in `prefer`, and why.
const PREFER_WAIVERS: &[(&str, &str)] = &[
    (
        "rfc4475/escnull.dat",
        "no registrar yet (issue 5): REGISTER is answered 501",
    ),
    (
        "rfc4475/dblreq.dat",
        "no registrar yet (issue 5): REGISTER is answered 501",
    ),
    (
        "rfc4475/regaut01.dat",
        "no registrar yet (issue 5): REGISTER is answered 501",
    ),
    (
        "rfc4475/unksm2.dat",
        "no registrar yet (issue 5): REGISTER is answered 501 before the To URI is judged",
    ),
    (
        "rfc4475/cparam01.dat",
        "no registrar yet (issue 5): REGISTER is answered 501",
    ),
    (
        "rfc4475/cparam02.dat",
        "no registrar yet (issue 5): REGISTER is answered 501",
    ),
    (
        "rfc4475/regescrt.dat",
        "no registrar yet (issue 5): REGISTER is answered 501",
    ),
    (
        "rfc4475/zeromf.dat",
        "the OPTIONS is addressed to the server itself, which answers it (RFC 3261 §16.3 \
         lets a proxy respond to an OPTIONS with Max-Forwards 0; RFC 4475 §3.3.11: an \
         endpoint processes it normally)",
    ),
    (
        "rfc4475/sdp01.dat",
        "406/400 is a UA's answer; the server is a proxy/registrar with no such user, so \
         the INVITE for sip:user@example.com gets 404 (RFC 4475 §3.3.15: a proxy routes it)",
    ),
];

/// Files the server may leave unanswered although the `ok` column allows anything.
const DROP_WAIVERS: &[(&str, &str)] = &[(
    "rfc4475/test.dat",
    "no SIP version on the request line and no Via: there is nobody to answer",
)];

// ---------------------------------------------------------------------------------------
// The corpus.
// ---------------------------------------------------------------------------------------

fn torture_dir() -> PathBuf {
    let dir = match std::env::var_os("SIP_TORTURE_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sip-torture"),
    };
    assert!(
        dir.join("manifest.tsv").is_file(),
        "the SIP torture corpus is missing: expected {}/manifest.tsv (testdata/sip-torture \
         in the repository, or the folder SIP_TORTURE_DIR names)",
        dir.display()
    );
    dir
}

type Row = HashMap<String, String>;

fn manifest() -> &'static HashMap<String, Row> {
    static ROWS: OnceLock<HashMap<String, Row>> = OnceLock::new();
    ROWS.get_or_init(|| {
        let path = torture_dir().join("manifest.tsv");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let mut lines = text.lines();
        let columns: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
        lines
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let row: Row = columns
                    .iter()
                    .zip(l.split('\t'))
                    .map(|(c, v)| (c.to_string(), v.to_string()))
                    .collect();
                (row["file"].clone(), row)
            })
            .collect()
    })
}

fn read(file: &str) -> Bytes {
    let path = torture_dir().join("corpus").join(file);
    Bytes::from(
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display())),
    )
}

// ---------------------------------------------------------------------------------------
// Status specifications of the manifest.
// ---------------------------------------------------------------------------------------

/// Whether `code` matches a list such as `400`, `2xx` or `4xx,5xx,6xx`.
fn code_in(list: &str, code: u16) -> bool {
    list.split(',').map(str::trim).any(|item| {
        let b = item.as_bytes();
        match b {
            [c, b'x', b'x'] if c.is_ascii_digit() => code / 100 == u16::from(c - b'0'),
            _ => item.parse::<u16>() == Ok(code),
        }
    })
}

/// Whether `code` satisfies the `ok` column (`*` anything but `fail`, `*!400` anything
/// but 400 and `fail`, else a list).
fn ok_allows(ok: &str, fail: &str, code: u16) -> bool {
    let failed = fail != "-" && code_in(fail, code);
    match ok {
        "*" => !failed,
        "-" => false,
        _ => match ok.strip_prefix("*!") {
            Some(not) => !failed && !code_in(not, code),
            None => code_in(ok, code),
        },
    }
}

// ---------------------------------------------------------------------------------------
// The generic checks.
// ---------------------------------------------------------------------------------------

/// Everything a server could touch on a message: no accessor may panic on any of them.
fn touch_everything(m: &Message) {
    let _ = m.validate();
    let _ = (
        m.method(),
        m.method_str(),
        m.request_uri(),
        m.status(),
        m.reason(),
    );
    for h in m.headers() {
        let _ = (h.name, h.name_str, h.value);
    }
    let _ = m.vias().count();
    let _ = m
        .top_via()
        .map(|v| (v.branch(), v.received(), v.rport(), v.sent_by_port()));
    let _ = (m.from(), m.to(), m.call_id(), m.cseq(), m.max_forwards());
    for c in m.contacts() {
        if let Ok(Contact::Addr(a)) = c {
            let _ = (
                a.display_name(),
                a.q(),
                a.expires(),
                a.instance(),
                a.reg_id(),
            );
        }
    }
    let _ = (
        m.routes().count(),
        m.record_routes().count(),
        m.paths().count(),
    );
    let _ = (
        m.expires(),
        m.min_expires(),
        m.content_length(),
        m.content_type(),
    );
    let _ = (
        m.require().count(),
        m.proxy_require().count(),
        m.supported().count(),
    );
    let _ = (
        m.unsupported().count(),
        m.allow().count(),
        m.warnings().count(),
    );
    let _ = (m.challenges(false).count(), m.challenges(true).count());
    let _ = (m.credentials(false).count(), m.credentials(true).count());
    let _ = (
        m.authentication_info(),
        m.retry_after(),
        m.user_agent(),
        m.server(),
    );
    let _ = m.body();
}

/// What the server answered: `None` for a drop, else the final response.
fn answer(data: &Bytes, source: &str) -> Option<Message> {
    let reply = common::final_answer(LOCAL_DOMAINS, data, source)?;
    assert!(!reply.is_request(), "a reply is a response");
    Some(reply)
}

fn waiver<'a>(list: &'a [(&'a str, &'a str)], file: &str) -> Option<&'a str> {
    list.iter().find(|(f, _)| *f == file).map(|&(_, why)| why)
}

/// Runs the manifest-driven checks and returns the parsed message, if it parses.
fn check_file(file: &str) -> Option<Message> {
    let row = manifest()
        .get(file)
        .unwrap_or_else(|| panic!("{file} is not in manifest.tsv"));
    let data = read(file);
    let class = row["class"].as_str();
    let parsed = Message::parse(data.clone());
    if let Ok(m) = &parsed {
        touch_everything(m);
        // An editor with no edits gives back the message byte for byte.
        assert_eq!(
            &m.edit().to_bytes(),
            m.as_bytes(),
            "{file}: unedited copy differs"
        );
    }
    if class.starts_with("valid") && waiver(PARSE_WAIVERS, file).is_none() {
        let m = parsed
            .as_ref()
            .unwrap_or_else(|e| panic!("{file}: a {class} message must parse, got {e:?}"));
        assert_eq!(
            m.validate(),
            Ok(()),
            "{file}: a {class} message must validate"
        );
    }

    match row["kind"].as_str() {
        "response" => {
            assert!(
                answer(&data, "192.0.2.200:5060").is_none(),
                "{file}: a response is dropped"
            );
        }
        _ => {
            for source in ["192.0.2.200:5060", "[2001:db8::9:255]:5062"] {
                check_request_answer(file, row, &data, parsed.as_ref().ok(), source);
            }
        }
    }
    check_stream_framing(file, row, &data, parsed.as_ref().ok());
    parsed.ok()
}

fn check_request_answer(file: &str, row: &Row, data: &Bytes, req: Option<&Message>, source: &str) {
    let (ok, fail, prefer) = (&row["ok"], &row["fail"], &row["prefer"]);
    let Some(reply) = answer(data, source) else {
        assert!(
            waiver(DROP_WAIVERS, file).is_some(),
            "{file}: the request was dropped, the manifest wants {ok}"
        );
        return;
    };
    let code = reply.status().unwrap_or(0);
    let why = format!("{file}: answered {code} {:?}", reply.reason().unwrap_or(""));
    let waived = OK_WAIVERS
        .iter()
        .any(|(f, _, codes)| *f == file && codes.contains(&code));
    assert!(
        ok_allows(ok, fail, code) || waived,
        "{why}; the manifest allows {ok} (fail: {fail})"
    );
    if prefer != "-" && !code_in(prefer, code) {
        assert!(
            waiver(PREFER_WAIVERS, file).is_some(),
            "{why}; the manifest prefers {prefer} and no waiver says why not"
        );
    }
    // The reply copies From, To, Call-ID, CSeq and Via (RFC 3261 §8.2.6.2): a reply to a
    // well-formed request is well formed, one to a broken request carries the same
    // breakage (the client matches it by Via branch and CSeq).
    let rescued;
    let req = match req {
        Some(m) => m,
        None => {
            rescued = sip_core::rescue::rescue_request(data).expect("answered, so rescued");
            &rescued
        }
    };
    if req.validate().is_ok() {
        assert_eq!(
            reply.validate(),
            Ok(()),
            "{file}: our reply does not validate"
        );
        assert!(reply.to().expect("To").tag().is_some(), "{file}: To tag");
    }
    if let Ok(cid) = req.call_id() {
        assert_eq!(reply.call_id(), Ok(cid), "{file}: reply Call-ID");
    }
    assert_eq!(
        reply.count(HeaderName::Via),
        req.count(HeaderName::Via),
        "{file}: Via lines"
    );
    if req.top_via().is_ok() {
        let via = reply.top_via().expect("reply has a Via");
        let src: std::net::SocketAddr = source.parse().expect("address");
        assert_eq!(
            via.received(),
            Some(src.ip()),
            "{file}: received in the reply's Via"
        );
    }
}

/// The `tcp` column: `same` frames the message as over UDP, `stream-wait` waits for more
/// bytes, `stream-close` is an unrecoverable framing error, `skip` means the file makes
/// no sense on a stream.
fn check_stream_framing(file: &str, row: &Row, data: &Bytes, parsed: Option<&Message>) {
    let framed = frame_stream(data, &Limits::default());
    match row["tcp"].as_str() {
        "same" => {
            let Ok(Frame::Message(len)) = framed else {
                panic!("{file}: over a stream it should frame as one message, got {framed:?}");
            };
            if let Some(m) = parsed {
                assert_eq!(
                    len,
                    m.as_bytes().len(),
                    "{file}: stream and datagram framing differ"
                );
            }
            assert!(
                data[len..].iter().all(|b| b.is_ascii_whitespace()),
                "{file}: bytes left over after the framed message"
            );
        }
        "stream-wait" => assert_eq!(framed, Ok(Frame::Incomplete), "{file}"),
        "stream-close" => assert!(framed.is_err(), "{file}: {framed:?}"),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// Helpers for the spot checks.
// ---------------------------------------------------------------------------------------

fn sip<'a>(u: &Uri<'a>) -> sip_msg::SipUri<'a> {
    *u.as_sip().unwrap_or_else(|| panic!("not a SIP URI: {u}"))
}

fn contacts(m: &Message) -> Vec<NameAddr<'_>> {
    m.contacts()
        .map(|c| match c.expect("contact parses") {
            Contact::Addr(a) => a,
            Contact::Star => panic!("unexpected *"),
        })
        .collect()
}

fn v6(s: &str) -> Host<'static> {
    Host::V6(s.parse().expect("v6"))
}

fn v4(s: &str) -> Host<'static> {
    Host::V4(s.parse().expect("v4"))
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn reply(file: &str) -> Message {
    answer(&read(file), "192.0.2.200:5060").expect("answered")
}

fn parse_err(file: &str) -> ParseError {
    Message::parse(read(file))
        .and_then(|m| m.validate())
        .expect_err("must not be accepted")
}

/// One test per corpus file, plus a test that the table and the manifest list the same
/// files.
macro_rules! torture {
    ($( $name:ident : $file:literal $(=> |$m:ident| $check:block)? ; )*) => {
        $(
            #[test]
            fn $name() {
                let _parsed = check_file($file);
                $(
                    let $m = _parsed.expect(concat!($file, " parses"));
                    let $m = &$m;
                    $check
                )?
            }
        )*

        const FILES: &[&str] = &[$($file),*];
    };
}

#[test]
fn every_manifest_row_has_a_test() {
    let mut in_manifest: Vec<&str> = manifest().keys().map(String::as_str).collect();
    in_manifest.sort_unstable();
    let mut here = FILES.to_vec();
    here.sort_unstable();
    assert_eq!(in_manifest, here);
    for (f, _, _) in OK_WAIVERS {
        assert!(FILES.contains(f), "waiver for unknown file {f}");
    }
    for (f, _) in PREFER_WAIVERS
        .iter()
        .chain(DROP_WAIVERS)
        .chain(PARSE_WAIVERS)
    {
        assert!(FILES.contains(f), "waiver for unknown file {f}");
    }
}

torture! {
    // §3.1.1.1: line folding, LWS around every separator, compact and long forms,
    // leading zeros, unknown parameters and headers.
    wsinv: "rfc4475/wsinv.dat" => |m| {
        assert_eq!(m.method(), Some(Method::Invite));
        let ruri = sip(&m.request_uri().expect("R-URI"));
        assert_eq!(ruri.user, Some("vivekg"));
        assert!(ruri.params.has("unknownparam"));
        let to = m.to().expect("To");
        assert_eq!(to.uri.as_str(), "sip:vivekg@chair-dnrc.example.com");
        assert!(!to.bracketed);
        assert_eq!(to.tag(), Some("1918181833n"));
        let from = m.from().expect("From");
        assert_eq!(from.display_name().as_deref(), Some(r#"J Rosenberg \""#));
        assert_eq!(from.uri.as_str(), "sip:jdrosen@example.com");
        assert_eq!(from.tag(), Some("98asjd8"));
        assert_eq!(m.max_forwards(), Ok(Some(68)));
        assert_eq!(m.call_id(), Ok("wsinv.ndaksdj@192.0.2.1"));
        assert_eq!(m.content_length(), Some(150));
        assert_eq!(m.body().len(), 150);
        let cseq = m.cseq().expect("CSeq");
        assert_eq!((cseq.seq, cseq.method), (9, Method::Invite));
        let vias: Vec<_> = m.vias().map(|v| v.expect("via")).collect();
        assert_eq!(vias.len(), 3);
        assert_eq!(vias[0].transport(), Some(Transport::Udp));
        assert_eq!(vias[0].host, v4("192.0.2.2"));
        assert_eq!(vias[0].branch(), Some("390skdjuw"));
        assert_eq!(vias[1].transport(), Some(Transport::Tcp));
        assert_eq!(vias[1].host_str, "spindle.example.com");
        assert_eq!(vias[1].branch(), Some("z9hG4bK9ikj8"));
        assert_eq!(vias[2].host, v4("192.168.255.111"));
        assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
        assert_eq!(m.header(HeaderName::Subject), Some(""));
        assert_eq!(
            m.header_values_by_name("newfangledheader").next(),
            Some("newfangled value\r\n continued newfangled value")
        );
        assert_eq!(m.header_values_by_name("UnknownHeaderWithUnusualValue").next(), Some(";;,,;;,;"));
        let route = m.routes().next().expect("Route").expect("parses");
        let r = sip(&route.uri);
        assert!(r.lr());
        assert_eq!(r.params.get("unknownwith"), Some(Some("value")));
        assert!(r.params.has("unknown-no-value"));
        let c = contacts(m);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].display_name().as_deref(), Some(r#"Quoted string """#));
        assert_eq!(c[0].params.value("newparam").as_deref(), Some("newvalue"));
        assert_eq!(c[0].params.get("secondparam"), Some(None));
        assert_eq!(c[0].q(), Some(330));
        assert!(m.content_type().expect("ok").expect("present").is("application", "sdp"));
    };
    // §3.1.1.2: every character the grammar allows, an unknown method.
    intmeth: "rfc4475/intmeth.dat" => |m| {
        let method = "!interesting-Method0123456789_*+`.%indeed'~";
        assert_eq!(m.method(), Some(Method::Other));
        assert_eq!(m.method_str(), Some(method));
        let ruri = sip(&m.request_uri().expect("R-URI"));
        assert_eq!(ruri.user, Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"));
        assert_eq!(ruri.password, Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"));
        assert_eq!(ruri.host, Host::Domain("example.com"));
        let to = m.to().expect("To");
        assert_eq!(to.display_name().as_deref(), Some("BEL:\x07 NUL:\0 DEL:\x7f"));
        assert_eq!(sip(&to.uri).user, Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"));
        let from = m.from().expect("From");
        assert_eq!(from.display, Some("token1~` token2'+_ token3*%!.-"));
        assert_eq!(from.tag(), Some("_token~1'+`*%!-."));
        assert_eq!(from.params.value("fromParam''~+*_!.-%").as_deref(), Some("\u{0440}\u{0430}\u{0431}\u{043e}\u{0442}\u{0430}\u{044e}\u{0449}\u{0438}\u{0439}"));
        assert_eq!(m.call_id(), Ok("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"));
        assert_eq!(m.cseq().expect("CSeq").method_str, method);
        assert_eq!(m.top_via().expect("via").branch(), Some("z9hG4bK-.!%66*_+`'~"));
        assert_eq!(m.header_values_by_name("extensionHeader-!.%*+_`'~").next(), Some("\u{FEFF}\u{5927}\u{505C}\u{96FB}"));
        let r = reply("rfc4475/intmeth.dat");
        assert_eq!(r.status(), Some(501));
        assert!(r.header(HeaderName::Allow).is_some(), "501 lists Allow");
    };
    // §3.1.1.3: %HH is the encoded character where `escaped` is allowed.
    esc01: "rfc4475/esc01.dat" => |m| {
        let ruri = sip(&m.request_uri().expect("R-URI"));
        assert_eq!(&*unescape(ruri.user.expect("user")), b"sips:user@example.com");
        assert_eq!(ruri.host, Host::Domain("example.net"));
        let to = m.to().expect("To");
        assert!(to.uri.matches(&Uri::parse("sip:user@example.com").expect("uri")));
        let from = m.from().expect("From");
        assert_eq!(&*unescape(sip(&from.uri).user.expect("user")), b"I have spaces");
        let c = contacts(m);
        assert_eq!(c.len(), 1);
        let cu = sip(&c[0].uri);
        assert_eq!(&*unescape(cu.user.expect("user")), b"caller");
        assert!(cu.matches(&sip(&Uri::parse("sip:caller@host5.example.net;lr;name=value%25%34%31").expect("uri"))));
        assert!(!cu.matches(&sip(&Uri::parse("sip:caller@host5.example.net;lr;name=value%41").expect("uri"))));
        assert!(m.content_type().expect("ok").expect("C").is("application", "sdp"));
    };
    // §3.1.1.4: %00 does not end the user name; two distinct contacts.
    escnull: "rfc4475/escnull.dat" => |m| {
        assert_eq!(&*unescape(sip(&m.to().expect("To").uri).user.expect("user")), b"null-\0-null");
        let c = contacts(m);
        assert_eq!(c.len(), 2);
        let (a, b) = (sip(&c[0].uri), sip(&c[1].uri));
        assert_eq!(&*unescape(a.user.expect("user")), b"\0");
        assert_eq!(&*unescape(b.user.expect("user")), b"\0\0");
        assert!(!a.matches(&b) && !b.matches(&a), "two distinct contacts");
        assert_eq!(m.content_length(), Some(0));
    };
    // §3.1.1.5: % that is not an escape; an unknown method; `C%6Fntact` is not Contact.
    esc02: "rfc4475/esc02.dat" => |m| {
        assert_eq!(m.method(), Some(Method::Other));
        assert_eq!(m.method_str(), Some("RE%47IST%45R"));
        assert_eq!(m.cseq().expect("CSeq").method, Method::Other);
        assert_eq!(m.to().expect("To").display_name().as_deref(), Some("%Z%45"));
        assert_eq!(m.top_via().expect("via").branch(), Some("z9hG4bK209%fzsnel234"));
        let c: Vec<_> = contacts(m).iter().map(|c| c.uri.to_string()).collect();
        assert_eq!(c, ["sip:alias1@host1.example.com", "sip:alias3@host3.example.com"]);
        assert_eq!(
            m.header_values_by_name("C%6Fntact").next(),
            Some("<sip:alias2@host2.example.com>")
        );
        let r = reply("rfc4475/esc02.dat");
        assert_eq!(r.status(), Some(501), "not REGISTER: an unknown method");
        assert!(r.contacts().next().is_none(), "no bindings listed");
    };
    // §3.1.1.6: no LWS between display name and `<`.
    lwsdisp: "rfc4475/lwsdisp.dat" => |m| {
        let from = m.from().expect("From");
        assert_eq!(from.display, Some("caller"));
        assert!(!from.display_quoted);
        assert_eq!(from.uri.as_str(), "sip:caller@example.com");
        assert_eq!(from.tag(), Some("323"));
    };
    // §3.1.1.7: long values, 34 Via values, long names.
    longreq: "rfc4475/longreq.dat" => |m| {
        let vias: Vec<_> = m.vias().map(|v| v.expect("via")).collect();
        assert_eq!(vias.len(), 34);
        for (i, v) in vias.iter().take(33).enumerate() {
            assert_eq!(v.host_str, format!("sip{}.example.com", 33 - i));
            assert_eq!(v.transport(), Some(Transport::Tcp));
        }
        assert_eq!(vias[33].received(), Some(ip("192.0.2.5")));
        assert!(vias[33].branch().expect("branch").ends_with("longbranchvalue"));
        let to = m.to().expect("To");
        assert!(to.display_name().expect("display").ends_with("extreme proportion"));
        let tu = sip(&to.uri);
        assert_eq!(tu.port, Some(6000));
        assert!(tu.params.has("verylonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglongParameterNameWithNoValue"));
        assert_eq!(to.tag(), None, "the parameters are inside the brackets");
        let from = m.from().expect("From");
        assert!(from.tag().expect("tag").ends_with("982424"));
        assert!(from.params.has("unknownValuelessparamnameparamnameparamnameparamnameparamnameparamnameparamnameparamnameparamnameparamname"));
        assert!(m.call_id().expect("Call-ID").ends_with("reallylongcallid"));
        let unknown: Vec<_> = m
            .headers()
            .filter(|h| h.name_str.starts_with("Unknown-LongLong"))
            .collect();
        assert_eq!(unknown.len(), 1);
        assert_eq!(m.content_length(), Some(150));
        assert_eq!(m.body().len(), 150);
    };
    // §3.1.1.8: the datagram's trailing INVITE is ignored.
    dblreq: "rfc4475/dblreq.dat" => |m| {
        assert_eq!(m.method(), Some(Method::Register));
        assert!(m.body().is_empty());
        let text = std::str::from_utf8(m.as_bytes()).expect("utf8");
        assert!(text.ends_with("Content-Length: 0\r\n\r\n"), "message ends at Content-Length");
        assert!(!text.contains("INVITE"));
        assert_eq!(m.edit().to_bytes().len(), m.as_bytes().len());
        let r = reply("rfc4475/dblreq.dat");
        assert_eq!(r.call_id(), Ok("dblreq.0ha0isndaksdj99sdfafnl3lk233412"));
        assert_eq!(r.cseq().expect("CSeq").method, Method::Register);
    };
    // §3.1.1.9: `;` in the user part.
    semiuri: "rfc4475/semiuri.dat" => |m| {
        let ruri = sip(&m.request_uri().expect("R-URI"));
        assert_eq!(ruri.user, Some("user;par=u%40example.net"));
        assert_eq!(&*unescape(ruri.user.expect("user")), b"user;par=u@example.net");
        assert_eq!(ruri.host, Host::Domain("example.com"));
        assert!(ruri.params.is_empty());
        let accept: Vec<_> = m.list(HeaderName::Accept).collect();
        assert_eq!(accept.len(), 6);
        assert_eq!(accept[5], "message/sipfrag");
    };
    // §3.1.1.10: known and unknown transports.
    transports: "rfc4475/transports.dat" => |m| {
        let t: Vec<_> = m.vias().map(|v| v.expect("via").transport_token).collect();
        assert_eq!(t, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
        let known: Vec<_> = m.vias().map(|v| v.expect("via").transport()).collect();
        assert_eq!(known[1], Some(Transport::Sctp));
        assert_eq!(known[3], None);
        assert_eq!(m.call_id(), Ok("transports.kijh4akdnaqjkwendsasfdj"));
    };
    // §3.1.1.11: a binary body framed by Content-Length.
    mpart01: "rfc4475/mpart01.dat" => |m| {
        assert_eq!(m.content_length(), Some(553));
        assert_eq!(m.body().len(), 553);
        assert!(m.body().contains(&0), "binary body with NUL octets");
        assert!(m.body().starts_with(b"--7a9cbec02ceef655\r\n"));
        assert!(m.body().ends_with(b"--7a9cbec02ceef655--\r\n"));
        let ct = m.content_type().expect("ok").expect("present");
        assert!(ct.is("multipart", "mixed"));
        assert_eq!(ct.params.value("boundary").as_deref(), Some("7a9cbec02ceef655"));
        let via = m.top_via().expect("via");
        assert_eq!((via.host, via.port, via.rport()), (v4("127.0.0.1"), Some(5070), Some(None)));
        assert_eq!(m.user_agent(), Some("SIPimp.org/0.2.5 (curses)"));
    };
    // §3.1.1.12: a UTF-8 reason phrase.
    unreason: "rfc4475/unreason.dat" => |m| {
        assert_eq!(m.status(), Some(200));
        assert_eq!(m.reason(), Some("= 2**3 * 5**2 \u{043d}\u{043e} \u{0441}\u{0442}\u{043e} \u{0434}\u{0435}\u{0432}\u{044f}\u{043d}\u{043e}\u{0441}\u{0442}\u{043e} \u{0434}\u{0435}\u{0432}\u{044f}\u{0442}\u{044c} - \u{043f}\u{0440}\u{043e}\u{0441}\u{0442}\u{043e}\u{0435}"));
        assert_eq!(m.body().len(), 154);
    };
    // §3.1.1.13: an empty reason phrase.
    noreason: "rfc4475/noreason.dat" => |m| {
        assert_eq!((m.status(), m.reason()), (Some(100), Some("")));
        assert_eq!(m.cseq().expect("CSeq").method, Method::Invite);
    };
    // §3.1.2.1: extra `;` and `,` in Via and Contact.
    badinv01: "rfc4475/badinv01.dat" => |m| {
        assert_eq!(m.validate(), Err(ParseError::Malformed(HeaderName::Via)));
        assert!(contacts_fail(m));
    };
    // §3.1.2.2: Content-Length larger than the datagram.
    clerr: "rfc4475/clerr.dat";
    // §3.1.2.3: negative Content-Length.
    ncl: "rfc4475/ncl.dat";
    // §3.1.2.4: overlarge CSeq (400); overlarge Max-Forwards and Expires saturate.
    scalar02: "rfc4475/scalar02.dat" => |m| {
        assert_eq!(m.cseq(), Err(ParseError::Malformed(HeaderName::CSeq)));
        assert_eq!(m.max_forwards(), Ok(Some(300)));
        assert_eq!(m.expires(), Ok(Some(u32::MAX)));
        assert_eq!(contacts(m)[0].expires(), Some(u32::MAX));
    };
    // §3.1.2.5: a response with overlarge scalars is dropped.
    scalarlg: "rfc4475/scalarlg.dat" => |m| {
        assert_eq!(m.validate(), Err(ParseError::Malformed(HeaderName::CSeq)));
        assert_eq!(m.retry_after().expect("ok").expect("present").seconds, u32::MAX);
        assert!(m.warnings().all(|w| w.is_err()), "a 4-digit warn-code is malformed");
    };
    // §3.1.2.6: unterminated quoted string.
    quotbal: "rfc4475/quotbal.dat" => |m| {
        assert_eq!(m.to(), Err(ParseError::Malformed(HeaderName::To)));
    };
    // §3.1.2.7 to §3.1.2.11: malformed request lines.
    ltgtruri: "rfc4475/ltgtruri.dat";
    lwsruri: "rfc4475/lwsruri.dat";
    lwsstart: "rfc4475/lwsstart.dat";
    trws: "rfc4475/trws.dat";
    escruri: "rfc4475/escruri.dat";
    // §3.1.2.12: a Date the server does not care about is not an error.
    baddate: "rfc4475/baddate.dat" => |m| {
        assert_eq!(m.header(HeaderName::Date), Some("Fri, 01 Jan 2010 16:00:00 EST"));
    };
    // §3.1.2.13: addr-spec with URI headers outside `<>`.
    regbadct: "rfc4475/regbadct.dat" => |m| {
        assert!(contacts_fail(m));
    };
    // §3.1.2.14: spaces inside `<>`.
    badaspec: "rfc4475/badaspec.dat" => |m| {
        assert_eq!(m.from().expect("From").display_name().as_deref(), Some("Bell, Alexander"));
        assert_eq!(m.to(), Err(ParseError::Malformed(HeaderName::To)));
    };
    // §3.1.2.15: unquoted display name with a comma (and no empty line at the end).
    baddn: "rfc4475/baddn.dat" => |m| {
        assert_eq!(m.from(), Err(ParseError::Malformed(HeaderName::From)));
        assert_eq!(m.to(), Err(ParseError::Malformed(HeaderName::To)));
        assert_eq!(m.content_length(), Some(0));
    };
    // §3.1.2.16: SIP/7.0.
    badvers: "rfc4475/badvers.dat";
    // §3.1.2.17 and §3.1.2.18: CSeq method mismatch.
    mismatch01: "rfc4475/mismatch01.dat" => |m| {
        assert_eq!(m.validate(), Err(ParseError::CSeqMethod));
    };
    mismatch02: "rfc4475/mismatch02.dat" => |m| {
        assert_eq!(m.validate(), Err(ParseError::CSeqMethod));
        assert_eq!(m.method(), Some(Method::Other));
        let r = reply("rfc4475/mismatch02.dat");
        assert_eq!(r.status(), Some(501));
        assert!(r.header(HeaderName::Allow).is_some());
    };
    // §3.1.2.19: response code 4294967301.
    bigcode: "rfc4475/bigcode.dat";
    // §3.2.1: a bare magic cookie is no transaction identifier.
    badbranch: "rfc4475/badbranch.dat" => |m| {
        let via = m.top_via().expect("via");
        assert_eq!(via.branch(), Some("z9hG4bK"));
        assert!(!via.has_rfc3261_branch());
    };
    // §3.3.1: no Call-ID, From or To.
    insuf: "rfc4475/insuf.dat";
    // §3.3.2 and §3.3.3: unknown and atypical Request-URI schemes.
    unkscm: "rfc4475/unkscm.dat" => |m| {
        assert!(matches!(m.request_uri(), Some(Uri::Other { scheme: "nobodyKnowsThisScheme", .. })));
        assert_eq!(reply("rfc4475/unkscm.dat").status(), Some(416));
    };
    novelsc: "rfc4475/novelsc.dat" => |m| {
        assert!(matches!(m.request_uri(), Some(Uri::Other { scheme: "soap.beep", .. })));
    };
    // §3.3.4: unknown schemes in To, From and Contact.
    unksm2: "rfc4475/unksm2.dat" => |m| {
        assert!(matches!(m.to().expect("To").uri, Uri::Other { scheme: "isbn", .. }));
        assert!(matches!(m.from().expect("From").uri, Uri::Other { scheme: "http", .. }));
        assert_eq!(contacts(m)[0].uri.as_str(), "name:John_Smith");
    };
    // §3.3.5: Require and Proxy-Require with unknown option tags.
    bext01: "rfc4475/bext01.dat" => |m| {
        assert_eq!(
            m.require().collect::<Result<Vec<_>, _>>(),
            Ok(vec!["nothingSupportsThis", "nothingSupportsThisEither"])
        );
        assert_eq!(m.top_via().expect("via").transport(), Some(Transport::Tls));
        let r = reply("rfc4475/bext01.dat");
        assert_eq!(r.status(), Some(420));
        let unsupported: Vec<_> = r.unsupported().map(|t| t.expect("token")).collect();
        // The server is the UAS here (sip:user@example.com is local): Require and
        // Proxy-Require both apply.
        for tag in ["nothingSupportsThis", "nothingSupportsThisEither", "noProxiesSupportThis", "norDoAnyProxiesSupportThis"] {
            assert!(unsupported.contains(&tag), "{tag} in Unsupported: {unsupported:?}");
        }
    };
    // §3.3.6: an unknown Content-Type is not a parse error.
    invut: "rfc4475/invut.dat" => |m| {
        assert!(m.content_type().expect("ok").expect("present").is("application", "unknownformat"));
    };
    // §3.3.7: an unknown authorization scheme.
    regaut01: "rfc4475/regaut01.dat" => |m| {
        let cred = m.credentials(false).next().expect("present").expect("parses");
        assert_eq!(cred.scheme, "NoOneKnowsThisScheme");
        assert!(!cred.is_digest());
        assert_eq!(m.content_length(), Some(0));
    };
    // §3.3.8: several values in single-valued headers.
    multi01: "rfc4475/multi01.dat" => |m| {
        assert_eq!(m.call_id(), Err(ParseError::Repeated(HeaderName::CallId)));
        assert_eq!(m.cseq(), Err(ParseError::Repeated(HeaderName::CSeq)));
        assert_eq!(m.from(), Err(ParseError::Repeated(HeaderName::From)));
        assert_eq!(m.to(), Err(ParseError::Repeated(HeaderName::To)));
        assert_eq!(m.max_forwards(), Err(ParseError::Repeated(HeaderName::MaxForwards)));
    };
    // §3.3.9: conflicting Content-Length values.
    mcl01: "rfc4475/mcl01.dat";
    // §3.3.10: a response with a broadcast Via is dropped, never forwarded.
    bcast: "rfc4475/bcast.dat" => |m| {
        assert_eq!(m.vias().nth(1).expect("second").expect("via").host, v4("255.255.255.255"));
    };
    // §3.3.11: Max-Forwards 0.
    zeromf: "rfc4475/zeromf.dat" => |m| {
        assert_eq!(m.max_forwards(), Ok(Some(0)));
    };
    // §3.3.12 and §3.3.13: contact parameter versus URI parameter.
    cparam01: "rfc4475/cparam01.dat" => |m| {
        let c = contacts(m);
        assert!(!c[0].bracketed);
        assert!(c[0].params.has("unknownparam"), "a contact-param");
        assert!(sip(&c[0].uri).params.is_empty(), "not a url-parameter");
        assert_eq!(sip(&c[0].uri).user, Some("+19725552222"));
    };
    cparam02: "rfc4475/cparam02.dat" => |m| {
        let c = contacts(m);
        assert!(c[0].params.is_empty());
        assert!(sip(&c[0].uri).params.has("unknownparam"), "a url-parameter");
    };
    // §3.3.14: an escaped Route header inside the Contact URI.
    regescrt: "rfc4475/regescrt.dat" => |m| {
        let c = contacts(m);
        let u = sip(&c[0].uri);
        assert_eq!(u.headers, Some("Route=%3Csip:sip.example.com%3E"));
        assert_eq!(&*unescape(u.headers.expect("headers")), b"Route=<sip:sip.example.com>");
    };
    // §3.3.15: Accept without application/sdp is not a parse error.
    sdp01: "rfc4475/sdp01.dat" => |m| {
        assert_eq!(m.header(HeaderName::Accept), Some("text/nobodyKnowsThis"));
    };
    // §3.4.1: RFC 2543 syntax: no branch, no tags, no Content-Length, no Max-Forwards.
    inv2543: "rfc4475/inv2543.dat" => |m| {
        assert_eq!(m.top_via().expect("via").branch(), None);
        assert_eq!(m.from().expect("From").tag(), None);
        assert_eq!(m.max_forwards(), Ok(None));
        assert_eq!(m.content_length(), None);
        assert!(m.body().starts_with(b"v=0\r\n"));
        assert!(m.body().ends_with(b"m=audio 49217 RTP/AVP 0\r\n"), "the body is the rest of the datagram");
        // Outside `<>`, `;user=phone` is a header parameter of To (RFC 3261 §20.10).
        let to = m.to().expect("To");
        assert_eq!(to.params.get("user"), Some(Some("phone")));
        assert!(sip(&to.uri).params.is_empty());
        let from = m.from().expect("From");
        assert_eq!(sip(&from.uri).user_param(), Some("phone"));
        let rr = m.record_routes().next().expect("RR").expect("parses");
        assert_eq!(sip(&rr.uri).maddr(), Some("ss1.example.com"));
    };
    // Not referenced by RFC 4475: no version on the request line, no Via.
    test: "rfc4475/test.dat";

    // RFC 5118 §4.1: IPv6 references everywhere.
    ipv6_good: "rfc5118/ipv6-good.dat" => |m| {
        let ruri = sip(&m.request_uri().expect("R-URI"));
        assert_eq!((ruri.host, ruri.port), (v6("2001:db8::10"), None));
        assert_eq!(m.top_via().expect("via").host, v6("2001:db8::9:1"));
        assert_eq!(m.top_via().expect("via").host_str, "[2001:db8::9:1]");
        assert_eq!(sip(&contacts(m)[0].uri).host, v6("2001:db8::1"));
    };
    // §4.2: an IPv6 address without brackets is not a host.
    ipv6_bad: "rfc5118/ipv6-bad.dat";
    // §4.3: inside the brackets, `:5070` is part of the address.
    port_ambiguous: "rfc5118/port-ambiguous.dat" => |m| {
        let ruri = sip(&m.request_uri().expect("R-URI"));
        assert_eq!(ruri.host, v6("2001:db8::10:5070"));
        assert_eq!(ruri.port, None);
    };
    // §4.4: the port after the brackets.
    port_unambiguous: "rfc5118/port-unambiguous.dat" => |m| {
        let ruri = sip(&m.request_uri().expect("R-URI"));
        assert_eq!((ruri.host, ruri.port), (v6("2001:db8::10"), Some(5070)));
    };
    // §4.5: received with and without brackets.
    via_received_param_with_delim: "rfc5118/via-received-param-with-delim.dat" => |m| {
        let via = m.top_via().expect("via");
        assert_eq!(via.received(), Some(ip("2001:db8::9:255")));
        assert_eq!(via.branch(), Some("z9hG4bKas3-111"));
        assert_eq!(m.to().expect("To").tag(), Some("bd76ya"));
    };
    via_received_param_no_delim: "rfc5118/via-received-param-no-delim.dat" => |m| {
        let via = m.top_via().expect("via");
        assert_eq!(via.received(), Some(ip("2001:db8::9:255")));
        assert_eq!(via.branch(), Some("z9hG4bKas3"));
        assert_eq!(reply("rfc5118/via-received-param-no-delim.dat").status(), Some(200));
    };
    // §4.6: IPv6 in the SDP body is the body's business.
    ipv6_in_sdp: "rfc5118/ipv6-in-sdp.dat" => |m| {
        assert_eq!(m.body().len(), 251);
        assert_eq!(m.top_via().expect("via").host, v6("2001:db8::20"));
    };
    // §4.7: IPv4 and IPv6 mixed in the Via list.
    mult_ip_in_header: "rfc5118/mult-ip-in-header.dat" => |m| {
        let vias: Vec<_> = m.vias().map(|v| v.expect("via")).collect();
        assert_eq!((vias[0].host, vias[0].port), (v6("2001:db8::9:1"), Some(6050)));
        assert_eq!(vias[1].host, v4("192.0.2.1"));
        assert_eq!(vias[2].host, v6("2001:db8::9:255"));
        assert_eq!(vias[2].received(), Some(ip("192.0.2.200")));
        assert_eq!(vias[2].transport(), Some(Transport::Tcp));
    };
    mult_ip_in_sdp: "rfc5118/mult-ip-in-sdp.dat" => |m| {
        assert_eq!(m.body().len(), 189);
    };
    // §4.9: IPv4-mapped IPv6 addresses.
    ipv4_mapped_ipv6: "rfc5118/ipv4-mapped-ipv6.dat" => |m| {
        let vias: Vec<_> = m.vias().map(|v| v.expect("via")).collect();
        assert_eq!((vias[0].host, vias[0].port), (v6("::ffff:192.0.2.10"), Some(19823)));
        let c = contacts(m);
        assert_eq!(c[0].display_name().as_deref(), Some("T. desk phone"));
        assert_eq!(sip(&c[0].uri).host, v6("::ffff:192.0.2.2"));
        assert_eq!(m.body().len(), 245);
    };
    // §4.10: the RFC 3261 ABNF bug (three colons) and the correct form.
    ipv6_bug_abnf_3_colons: "rfc5118/ipv6-bug-abnf-3-colons.dat";
    ipv6_correct_abnf_2_colons: "rfc5118/ipv6-correct-abnf-2-colons.dat" => |m| {
        let ruri = sip(&m.request_uri().expect("R-URI"));
        assert_eq!(ruri.host, v6("2001:db8::c000:201"));
        assert!(ruri.matches(&sip(&Uri::parse("sip:user@[2001:db8::192.0.2.1]").expect("uri"))));
    };
}

fn contacts_fail(m: &Message) -> bool {
    m.contacts().any(|c| c.is_err())
}

/// The invalid messages give an error precise enough for the right status code, and
/// the server's reason phrase says what is wrong.
#[test]
fn invalid_messages_say_what_is_wrong() {
    let cases: &[(&str, ParseError, u16, &str)] = &[
        (
            "rfc4475/badinv01.dat",
            ParseError::Malformed(HeaderName::Via),
            400,
            "Via",
        ),
        (
            "rfc4475/clerr.dat",
            ParseError::BodyTruncated,
            400,
            "Content-Length",
        ),
        (
            "rfc4475/ncl.dat",
            ParseError::ContentLength,
            400,
            "Content-Length",
        ),
        (
            "rfc4475/scalar02.dat",
            ParseError::Malformed(HeaderName::CSeq),
            400,
            "CSeq",
        ),
        (
            "rfc4475/quotbal.dat",
            ParseError::Malformed(HeaderName::To),
            400,
            "To",
        ),
        (
            "rfc4475/ltgtruri.dat",
            ParseError::RequestUri,
            400,
            "Request-URI",
        ),
        (
            "rfc4475/lwsruri.dat",
            ParseError::RequestUri,
            400,
            "Request-URI",
        ),
        (
            "rfc4475/lwsstart.dat",
            ParseError::RequestUri,
            400,
            "Request-URI",
        ),
        ("rfc4475/trws.dat", ParseError::StartLine, 400, "start line"),
        (
            "rfc4475/escruri.dat",
            ParseError::RequestUri,
            400,
            "Request-URI",
        ),
        (
            "rfc4475/regbadct.dat",
            ParseError::Malformed(HeaderName::Contact),
            400,
            "Contact",
        ),
        (
            "rfc4475/badaspec.dat",
            ParseError::Malformed(HeaderName::To),
            400,
            "To",
        ),
        (
            "rfc4475/baddn.dat",
            ParseError::Malformed(HeaderName::From),
            400,
            "From",
        ),
        ("rfc4475/badvers.dat", ParseError::Version, 505, "Version"),
        (
            "rfc4475/mismatch01.dat",
            ParseError::CSeqMethod,
            400,
            "CSeq",
        ),
        (
            "rfc4475/insuf.dat",
            ParseError::Missing(HeaderName::CallId),
            400,
            "Call-ID",
        ),
        (
            "rfc4475/multi01.dat",
            ParseError::Repeated(HeaderName::CallId),
            400,
            "Call-ID",
        ),
        (
            "rfc4475/mcl01.dat",
            ParseError::ContentLengthConflict,
            400,
            "Content-Length",
        ),
        (
            "rfc5118/ipv6-bad.dat",
            ParseError::RequestUri,
            400,
            "Request-URI",
        ),
    ];
    for &(file, err, code, says) in cases {
        let got = parse_err(file);
        assert_eq!(got, err, "{file}");
        assert_eq!(got.status(), code, "{file}");
        let r = reply(file);
        assert_eq!(r.status(), Some(code), "{file}");
        let reason = r.reason().unwrap_or("");
        assert!(
            reason.contains(says),
            "{file}: reason {reason:?} should name {says}"
        );
    }
    // Responses that are invalid are only dropped.
    assert_eq!(parse_err("rfc4475/bigcode.dat"), ParseError::StatusCode);
}
