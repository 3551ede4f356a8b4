//! A structured model of a valid SIP message, the proptest strategies that generate it,
//! and a printer that writes it with every liberty RFC 3261 §7.3.1 and §25.1 allow:
//! compact and long header names in random case, LWS and line folding wherever the
//! grammar has `SWS` or `LWS`, several values per line and repeated lines, quoted and
//! token display names, addr-spec and name-addr forms, leading zeros, bare-LF line ends,
//! a body framed by Content-Length and trailing octets after it.
//!
//! The model holds the *meaning*; the way it is written is chosen by a small
//! deterministic generator seeded from the model (`style`), so that shrinking works on
//! both.

#![allow(dead_code)]

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

// ---------------------------------------------------------------------------------------
// The model.
// ---------------------------------------------------------------------------------------

/// A host.
#[derive(Debug, Clone, PartialEq)]
pub enum HostM {
    /// A host name (lower case in the model; printed in random case).
    Name(String),
    /// An IPv4 address.
    V4(Ipv4Addr),
    /// An IPv6 reference.
    V6(Ipv6Addr),
}

/// A parameter `name[=value]`.
pub type ParamM = (String, Option<String>);

/// A sip or sips URI.
#[derive(Debug, Clone, PartialEq)]
pub struct UriM {
    pub secure: bool,
    pub user: Option<String>,
    pub password: Option<String>,
    pub host: HostM,
    pub port: Option<u16>,
    pub params: Vec<ParamM>,
    pub headers: Vec<(String, String)>,
}

/// A display name.
#[derive(Debug, Clone, PartialEq)]
pub enum DisplayM {
    /// Tokens separated by single spaces.
    Tokens(Vec<String>),
    /// The unescaped content of a quoted string.
    Quoted(String),
}

/// A name-addr or addr-spec with header parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct NameAddrM {
    pub display: Option<DisplayM>,
    pub uri: UriM,
    /// Header parameters; values are printed as they are (tokens or quoted strings).
    pub params: Vec<ParamM>,
}

/// One Via value.
#[derive(Debug, Clone, PartialEq)]
pub struct ViaM {
    pub transport: String,
    pub host: HostM,
    pub port: Option<u16>,
    /// `branch` first, then the others.
    pub params: Vec<ParamM>,
}

/// One header line.
#[derive(Debug, Clone, PartialEq)]
pub enum LineM {
    Via(Vec<ViaM>),
    From(NameAddrM),
    To(NameAddrM),
    CallId(String),
    CSeq(u32),
    MaxForwards(u32),
    Contact(Vec<NameAddrM>),
    Route(Vec<NameAddrM>),
    RecordRoute(Vec<NameAddrM>),
    Expires(u32),
    Supported(Vec<String>),
    ContentType(String),
    ContentLength,
    Ext(String, String),
}

/// The start line.
#[derive(Debug, Clone, PartialEq)]
pub enum StartM {
    Request { method: String, uri: UriM },
    Response { code: u16, reason: String },
}

/// A whole message.
#[derive(Debug, Clone, PartialEq)]
pub struct MsgM {
    pub start: StartM,
    /// The CSeq method (the request's method for a request).
    pub cseq_method: String,
    pub lines: Vec<LineM>,
    pub body: Vec<u8>,
    /// Octets after the body in the datagram, ignored by the receiver.
    pub trailing: Vec<u8>,
    /// Chooses how the message is written.
    pub style: u64,
}

impl MsgM {
    pub fn vias(&self) -> Vec<&ViaM> {
        self.lines
            .iter()
            .flat_map(|l| match l {
                LineM::Via(v) => v.iter().collect(),
                _ => Vec::new(),
            })
            .collect()
    }

    pub fn list(&self, pick: fn(&LineM) -> Option<&Vec<NameAddrM>>) -> Vec<&NameAddrM> {
        self.lines.iter().filter_map(pick).flatten().collect()
    }

    pub fn line<'s, T>(&'s self, pick: impl Fn(&'s LineM) -> Option<T>) -> Option<T> {
        self.lines.iter().find_map(pick)
    }
}

// ---------------------------------------------------------------------------------------
// Strategies.
// ---------------------------------------------------------------------------------------

pub fn domain() -> impl Strategy<Value = String> {
    "([a-z0-9]([a-z0-9-]{0,4}[a-z0-9])?\\.){0,3}[a-z]([a-z0-9-]{0,5}[a-z0-9])?"
}

pub fn host() -> impl Strategy<Value = HostM> {
    prop_oneof![
        3 => domain().prop_map(HostM::Name),
        1 => any::<[u8; 4]>().prop_map(|b| HostM::V4(Ipv4Addr::from(b))),
        1 => any::<[u16; 8]>().prop_map(|s| HostM::V6(Ipv6Addr::from(s))),
        1 => any::<[u8; 4]>().prop_map(|b| HostM::V6(Ipv4Addr::from(b).to_ipv6_mapped())),
        1 => (any::<u16>(), any::<u16>()).prop_map(|(a, b)| HostM::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, a, b))),
    ]
}

pub fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u16; 8]>().prop_map(|s| IpAddr::from(Ipv6Addr::from(s))),
    ]
}

pub fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9.!%*_+`'~-]{1,10}"
}

/// A token parameter name that is none of the names the tests look up.
fn ext_name() -> impl Strategy<Value = String> {
    "x[a-z0-9-]{0,6}"
}

/// Removes parameters whose name repeats an earlier one (case-insensitively), so that
/// lookups by name are unambiguous.
fn dedup(mut params: Vec<ParamM>) -> Vec<ParamM> {
    let mut seen = Vec::<String>::new();
    params.retain(|(n, _)| {
        let l = n.to_ascii_lowercase();
        let new = !seen.contains(&l);
        seen.push(l);
        new
    });
    params
}

fn uri_param() -> impl Strategy<Value = ParamM> {
    let unreserved_value = "([a-zA-Z0-9_.!~*'()-]|%[0-9A-F]{2}){1,8}";
    prop_oneof![
        select(vec!["udp", "tcp", "tls", "sctp", "ws"])
            .prop_map(|t| ("transport".to_owned(), Some(t.to_owned()))),
        Just(("lr".to_owned(), None)),
        any::<[u8; 4]>().prop_map(|b| ("maddr".to_owned(), Some(Ipv4Addr::from(b).to_string()))),
        select(vec!["phone", "ip"]).prop_map(|u| ("user".to_owned(), Some(u.to_owned()))),
        any::<u8>().prop_map(|t| ("ttl".to_owned(), Some(t.to_string()))),
        select(vec!["INVITE", "REGISTER"]).prop_map(|m| ("method".to_owned(), Some(m.to_owned()))),
        (ext_name(), proptest::option::of(unreserved_value)),
    ]
}

pub fn uri(with_headers: bool) -> impl Strategy<Value = UriM> {
    let user = "([a-zA-Z0-9_.!~*'()&=+$,;?/-]|%[0-9A-Fa-f]{2}){1,12}";
    let password = "([a-zA-Z0-9_.!~*'()&=+$,-]|%[0-9A-Fa-f]{2}){0,8}";
    let headers = if with_headers {
        vec(
            (
                "[a-zA-Z][a-zA-Z0-9-]{0,6}",
                "([a-zA-Z0-9_.!~*'()]|%[0-9A-F]{2}){0,8}",
            ),
            0..3,
        )
        .boxed()
    } else {
        Just(Vec::new()).boxed()
    };
    (
        any::<bool>(),
        proptest::option::weighted(0.8, (user, proptest::option::weighted(0.2, password))),
        host(),
        proptest::option::weighted(0.4, any::<u16>()),
        vec(uri_param(), 0..4).prop_map(dedup),
        headers,
    )
        .prop_map(|(secure, userinfo, host, port, params, headers)| UriM {
            secure,
            user: userinfo.as_ref().map(|(u, _)| u.clone()),
            password: userinfo.and_then(|(_, p)| p),
            host,
            port,
            params,
            headers,
        })
}

fn display() -> impl Strategy<Value = DisplayM> {
    prop_oneof![
        vec(token(), 1..4).prop_map(DisplayM::Tokens),
        "([a-zA-Z0-9 ,;:<>@!#$%&'()*+./=?_~\"\\\\\u{e9}\u{263a}-]){0,16}"
            .prop_map(DisplayM::Quoted),
    ]
}

fn header_param() -> impl Strategy<Value = ParamM> {
    prop_oneof![
        (ext_name(), proptest::option::of(token())),
        (
            ext_name(),
            "[a-zA-Z0-9 ;,=<>:@]{0,10}".prop_map(|v| Some(format!("\"{v}\"")))
        ),
    ]
}

/// A name-addr; URI headers only where RFC 3261 §19.1.1 allows them (Contact).
pub fn name_addr(with_tag: bool, with_headers: bool) -> impl Strategy<Value = NameAddrM> {
    (
        proptest::option::weighted(0.6, display()),
        uri(with_headers),
        vec(header_param(), 0..3),
        proptest::option::weighted(0.8, token()).prop_map(move |t| t.filter(|_| with_tag)),
    )
        .prop_map(|(display, uri, mut params, tag)| {
            if let Some(t) = tag {
                params.insert(0, ("tag".to_owned(), Some(t)));
            }
            NameAddrM {
                display,
                uri,
                params: dedup(params),
            }
        })
}

fn contact() -> impl Strategy<Value = NameAddrM> {
    let q = select(vec!["0", "0.5", "1", "0.333", "1.0", "0.01", "1.000"]);
    (
        name_addr(false, true),
        proptest::option::of(q),
        proptest::option::of(any::<u32>()),
        proptest::option::weighted(0.3, (any::<u128>(), 0u32..10)),
    )
        .prop_map(|(mut na, q, expires, outbound)| {
            if let Some(q) = q {
                na.params.push(("q".to_owned(), Some(q.to_owned())));
            }
            if let Some(e) = expires {
                na.params.push(("expires".to_owned(), Some(e.to_string())));
            }
            if let Some((uuid, reg_id)) = outbound {
                na.params.push((
                    "+sip.instance".to_owned(),
                    Some(format!("\"<urn:uuid:{uuid:032x}>\"")),
                ));
                na.params
                    .push(("reg-id".to_owned(), Some(reg_id.to_string())));
            }
            na.params = dedup(na.params);
            na
        })
}

pub fn route() -> impl Strategy<Value = NameAddrM> {
    (uri(false), vec(header_param(), 0..2)).prop_map(|(mut uri, params)| {
        uri.params.retain(|(n, _)| n != "lr");
        uri.params.push(("lr".to_owned(), None));
        NameAddrM {
            display: None,
            uri,
            params: dedup(params),
        }
    })
}

pub fn via() -> impl Strategy<Value = ViaM> {
    let transport = select(vec!["UDP", "TCP", "TLS", "SCTP", "WS", "WSS", "X-NEW"]);
    let extra = prop_oneof![
        proptest::option::of(any::<u16>())
            .prop_map(|p| ("rport".to_owned(), p.map(|p| p.to_string()))),
        (ip(), any::<bool>()).prop_map(|(ip, brackets)| {
            let text = match ip {
                IpAddr::V6(a) if brackets => format!("[{a}]"),
                a => a.to_string(),
            };
            ("received".to_owned(), Some(text))
        }),
        any::<[u8; 4]>().prop_map(|b| ("maddr".to_owned(), Some(Ipv4Addr::from(b).to_string()))),
        any::<u8>().prop_map(|t| ("ttl".to_owned(), Some(t.to_string()))),
        Just(("alias".to_owned(), None)),
        header_param(),
    ];
    (
        transport,
        host(),
        proptest::option::weighted(0.5, any::<u16>()),
        "[a-zA-Z0-9.!%*_+`'~-]{1,12}",
        vec(extra, 0..4),
    )
        .prop_map(|(transport, host, port, branch, extra)| {
            let mut params = vec![("branch".to_owned(), Some(format!("z9hG4bK{branch}")))];
            params.extend(extra);
            ViaM {
                transport: transport.to_owned(),
                host,
                port,
                params: dedup(params),
            }
        })
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(vec![
            "INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "INFO", "UPDATE", "PRACK",
            "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "PUBLISH",
        ])
        .prop_map(str::to_owned),
        1 => "[A-Za-z][a-zA-Z0-9.!%*_+`'~-]{0,9}",
    ]
}

fn start() -> impl Strategy<Value = StartM> {
    prop_oneof![
        3 => (method(), uri(false)).prop_map(|(method, uri)| StartM::Request { method, uri }),
        1 => (100u16..700, "[ -~\u{e9}]{0,20}").prop_map(|(code, reason)| StartM::Response { code, reason }),
    ]
}

/// Splits a list into 1 to 3 lines.
fn lines_of<T: Clone + std::fmt::Debug>(
    items: Vec<T>,
    cuts: Vec<usize>,
    make: fn(Vec<T>) -> LineM,
) -> Vec<LineM> {
    let mut cuts: Vec<usize> = cuts
        .into_iter()
        .filter(|&c| c > 0 && c < items.len())
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut out = Vec::new();
    let mut from = 0;
    for c in cuts.into_iter().chain(std::iter::once(items.len())) {
        if c > from {
            out.push(make(items[from..c].to_vec()));
            from = c;
        }
    }
    out
}

/// A valid message: every mandatory header once, lists spread over lines, all lines
/// in a random order.
pub fn message() -> BoxedStrategy<MsgM> {
    let lists = (
        (vec(via().boxed(), 1..5), vec(0usize..5, 0..3)),
        (vec(contact().boxed(), 0..4), vec(0usize..4, 0..2)),
        (vec(route().boxed(), 0..3), vec(0usize..3, 0..2)),
        (vec(route().boxed(), 0..3), vec(0usize..3, 0..2)),
    )
        .boxed();
    let singles = (
        name_addr(true, false).boxed(),
        name_addr(true, false).boxed(),
        "[a-zA-Z0-9.!%*_+`'~()<>:\\\\/\"\\[\\]?{}-]{1,16}(@[a-z0-9.]{1,10})?",
        any::<u32>(),
        proptest::option::of(0u32..=255),
        proptest::option::weighted(0.3, any::<u32>()),
        proptest::option::weighted(0.3, vec("[a-z][a-z0-9.-]{0,8}", 1..4)),
        vec(("X-[A-Za-z0-9-]{1,8}", "[!-~]([ -~]{0,18}[!-~])?"), 0..3),
    )
        .boxed();
    (
        start().boxed(),
        method(),
        lists,
        singles,
        vec(any::<u8>(), 0..64),
        vec(any::<u8>(), 0..8),
        any::<u64>(),
    )
        .prop_map(
            |(start, other_method, lists, singles, body, trailing, style)| {
                let ((vias, vc), (contacts, cc), (routes, rc), (rrs, rrc)) = lists;
                let (from, to, call_id, cseq, mf, expires, supported, ext) = singles;
                let mut lines = Vec::new();
                lines.extend(lines_of(vias, vc, LineM::Via));
                lines.extend(lines_of(contacts, cc, LineM::Contact));
                lines.extend(lines_of(routes, rc, LineM::Route));
                lines.extend(lines_of(rrs, rrc, LineM::RecordRoute));
                lines.push(LineM::From(from));
                lines.push(LineM::To(to));
                lines.push(LineM::CallId(call_id));
                lines.push(LineM::CSeq(cseq));
                if let Some(mf) = mf {
                    lines.push(LineM::MaxForwards(mf));
                }
                if let Some(e) = expires {
                    lines.push(LineM::Expires(e));
                }
                if let Some(s) = supported {
                    lines.push(LineM::Supported(s));
                }
                let mut names = Vec::<String>::new();
                for (name, value) in ext {
                    if !names.contains(&name.to_ascii_lowercase()) {
                        names.push(name.to_ascii_lowercase());
                        lines.push(LineM::Ext(name, value));
                    }
                }
                if !body.is_empty() {
                    lines.push(LineM::ContentType(
                        if style % 2 == 0 {
                            "application/sdp"
                        } else {
                            "text/plain;charset=utf-8"
                        }
                        .to_owned(),
                    ));
                }
                lines.push(LineM::ContentLength);
                let cseq_method = match &start {
                    StartM::Request { method, .. } => method.clone(),
                    StartM::Response { .. } => other_method,
                };
                (start, cseq_method, lines, body, trailing, style)
            },
        )
        .prop_flat_map(|(start, cseq_method, lines, body, trailing, style)| {
            (Just(lines).prop_shuffle()).prop_map(move |lines| MsgM {
                start: start.clone(),
                cseq_method: cseq_method.clone(),
                lines,
                body: body.clone(),
                trailing: trailing.clone(),
                style,
            })
        })
        .boxed()
}

// ---------------------------------------------------------------------------------------
// Printing.
// ---------------------------------------------------------------------------------------

/// Picks the liberties taken while printing.
pub struct Style {
    state: u64,
    /// `\n` or `\r\n`.
    pub eol: &'static str,
}

impl Style {
    pub fn new(seed: u64) -> Style {
        let mut s = Style {
            state: seed ^ 0x9E37_79B9_7F4A_7C15,
            eol: "\r\n",
        };
        if s.below(8) == 0 {
            s.eol = "\n";
        }
        s
    }

    fn next(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.state.max(1);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn fold(&self) -> String {
        format!("{} ", self.eol)
    }

    /// Optional white space (`SWS`): mostly nothing.
    pub fn sws(&mut self) -> String {
        match self.below(12) {
            0 => " ".into(),
            1 => "  ".into(),
            2 => "\t".into(),
            3 => self.fold(),
            4 => format!(" {}\t", self.eol),
            _ => String::new(),
        }
    }

    /// Required white space (`LWS`): mostly one space.
    pub fn lws(&mut self) -> String {
        match self.below(10) {
            0 => "  ".into(),
            1 => "\t".into(),
            2 => self.fold(),
            3 => format!("  {}   ", self.eol),
            _ => " ".into(),
        }
    }

    /// Random case.
    pub fn case(&mut self, s: &str) -> String {
        match self.below(4) {
            0 => s.to_ascii_uppercase(),
            1 => s.to_ascii_lowercase(),
            2 => s
                .chars()
                .map(|c| {
                    if self.below(2) == 0 {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect(),
            _ => s.to_owned(),
        }
    }

    /// A header name: long or compact form, random case, then `HCOLON` with the white
    /// space it allows (SP/HTAB before the colon, `SWS` after).
    pub fn name(&mut self, long: &str, compact: Option<&str>) -> String {
        let name = match compact {
            Some(c) if self.below(3) == 0 => c.to_owned(),
            _ => long.to_owned(),
        };
        let name = self.case(&name);
        let before = ["", "", "", " ", "\t", "  "][self.below(6) as usize];
        let after = match self.below(6) {
            0 => String::new(),
            1 => self.sws(),
            _ => " ".into(),
        };
        format!("{name}{before}:{after}")
    }

    /// A number with up to two leading zeros.
    pub fn number(&mut self, n: u32) -> String {
        let zeros = if self.below(5) == 0 { self.below(3) } else { 0 };
        format!("{}{n}", "0".repeat(zeros as usize))
    }
}

pub fn host_text(h: &HostM, st: &mut Style) -> String {
    match h {
        HostM::Name(n) => st.case(n),
        HostM::V4(a) => a.to_string(),
        HostM::V6(a) => format!("[{a}]"),
    }
}

/// A URI as written, with no white space (none is allowed in a URI).
pub fn uri_text(u: &UriM, st: &mut Style) -> String {
    let mut s = st.case(if u.secure { "sips:" } else { "sip:" });
    if let Some(user) = &u.user {
        s.push_str(user);
        if let Some(p) = &u.password {
            s.push(':');
            s.push_str(p);
        }
        s.push('@');
    }
    s.push_str(&host_text(&u.host, st));
    if let Some(p) = u.port {
        let _ = write!(s, ":{p}");
    }
    for (n, v) in &u.params {
        s.push(';');
        s.push_str(n);
        if let Some(v) = v {
            s.push('=');
            s.push_str(v);
        }
    }
    for (i, (n, v)) in u.headers.iter().enumerate() {
        s.push(if i == 0 { '?' } else { '&' });
        let _ = write!(s, "{n}={v}");
    }
    s
}

fn params_text(params: &[ParamM], st: &mut Style) -> String {
    let mut s = String::new();
    for (n, v) in params {
        s.push_str(&st.sws());
        s.push(';');
        s.push_str(&st.sws());
        s.push_str(n);
        if let Some(v) = v {
            s.push_str(&st.sws());
            s.push('=');
            s.push_str(&st.sws());
            s.push_str(v);
        }
    }
    s
}

/// Whether a name-addr may be written as a bare addr-spec: nothing that a `;`, `?` or
/// `,` would make ambiguous (RFC 3261 §20.10).
pub fn addr_spec_allowed(na: &NameAddrM) -> bool {
    na.display.is_none()
        && na.uri.params.is_empty()
        && na.uri.headers.is_empty()
        && na
            .uri
            .user
            .as_deref()
            .is_none_or(|u| !u.contains([';', '?', ',']))
        && na
            .uri
            .password
            .as_deref()
            .is_none_or(|p| !p.contains([';', '?', ',']))
}

pub fn name_addr_text(na: &NameAddrM, st: &mut Style) -> String {
    let mut s = String::new();
    let bare = addr_spec_allowed(na) && st.below(2) == 0;
    if bare {
        s.push_str(&uri_text(&na.uri, st));
    } else {
        match &na.display {
            Some(DisplayM::Tokens(t)) => {
                s.push_str(&t.join(" "));
                // No LWS is legal here per RFC 4475 §3.1.1.6, so sometimes leave it out.
                s.push_str(&st.sws());
            }
            Some(DisplayM::Quoted(q)) => {
                s.push('"');
                for c in q.chars() {
                    if c == '"' || c == '\\' {
                        s.push('\\');
                    }
                    s.push(c);
                }
                s.push('"');
                s.push_str(&st.sws());
            }
            None => {}
        }
        s.push('<');
        s.push_str(&uri_text(&na.uri, st));
        s.push('>');
    }
    s.push_str(&params_text(&na.params, st));
    s
}

pub fn via_text(v: &ViaM, st: &mut Style) -> String {
    let mut s = st.case("SIP");
    for part in ["2.0", &st.case(&v.transport)] {
        s.push_str(&st.sws());
        s.push('/');
        s.push_str(&st.sws());
        s.push_str(part);
    }
    s.push_str(&st.lws());
    s.push_str(&host_text(&v.host, st));
    if let Some(p) = v.port {
        let _ = write!(s, "{}:{}{p}", st.sws(), st.sws());
    }
    s.push_str(&params_text(&v.params, st));
    s
}

fn list_text<T>(items: &[T], st: &mut Style, each: fn(&T, &mut Style) -> String) -> String {
    let mut s = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            let _ = write!(s, "{},{}", st.sws(), st.sws());
        }
        s.push_str(&each(item, st));
    }
    s
}

/// Folds a text value at one of its spaces, sometimes.
fn maybe_fold(v: &str, st: &mut Style) -> String {
    match v.find(' ') {
        Some(i) if st.below(3) == 0 => format!("{}{}{}", &v[..i], st.fold(), &v[i + 1..]),
        _ => v.to_owned(),
    }
}

/// Prints one header line (its line end included) and returns it.
pub fn line_text(l: &LineM, m: &MsgM, st: &mut Style) -> String {
    let (name, value) = match l {
        LineM::Via(v) => (st.name("Via", Some("v")), list_text(v, st, via_text)),
        LineM::From(na) => (st.name("From", Some("f")), name_addr_text(na, st)),
        LineM::To(na) => (st.name("To", Some("t")), name_addr_text(na, st)),
        LineM::CallId(c) => (st.name("Call-ID", Some("i")), c.clone()),
        LineM::CSeq(n) => {
            let v = format!("{}{}{}", st.number(*n), st.lws(), m.cseq_method);
            (st.name("CSeq", None), v)
        }
        LineM::MaxForwards(n) => (st.name("Max-Forwards", None), st.number(*n)),
        LineM::Contact(c) => (
            st.name("Contact", Some("m")),
            list_text(c, st, name_addr_text),
        ),
        LineM::Route(r) => (st.name("Route", None), list_text(r, st, name_addr_text)),
        LineM::RecordRoute(r) => (
            st.name("Record-Route", None),
            list_text(r, st, name_addr_text),
        ),
        LineM::Expires(n) => (st.name("Expires", None), st.number(*n)),
        LineM::Supported(tags) => (
            st.name("Supported", Some("k")),
            list_text(tags, st, |t, _| t.clone()),
        ),
        LineM::ContentType(ct) => (st.name("Content-Type", Some("c")), ct.clone()),
        LineM::ContentLength => (
            st.name("Content-Length", Some("l")),
            st.number(m.body.len() as u32),
        ),
        LineM::Ext(n, v) => (format!("{n}: "), maybe_fold(v, st)),
    };
    format!("{name}{value}{}", st.eol)
}

/// The start line as written.
pub fn start_text(m: &MsgM, st: &mut Style) -> String {
    let version = st.case("SIP/2.0");
    match &m.start {
        StartM::Request { method, uri } => {
            format!("{method} {} {version}{}", uri_text(uri, st), st.eol)
        }
        StartM::Response { code, reason } => format!("{version} {code} {reason}{}", st.eol),
    }
}

/// The message as written, without and with the trailing octets.
pub fn print(m: &MsgM) -> (Vec<u8>, Vec<u8>) {
    let mut st = Style::new(m.style);
    let mut out = start_text(m, &mut st).into_bytes();
    for l in &m.lines {
        out.extend_from_slice(line_text(l, m, &mut st).as_bytes());
    }
    out.extend_from_slice(st.eol.as_bytes());
    out.extend_from_slice(&m.body);
    let mut with_trailing = out.clone();
    with_trailing.extend_from_slice(&m.trailing);
    (out, with_trailing)
}
