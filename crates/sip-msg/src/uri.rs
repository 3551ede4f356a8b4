//! URIs: `sip`, `sips` (RFC 3261 §19.1, with IPv6 references per RFC 5118) and `tel`
//! (RFC 3966); any other scheme is kept as an opaque [`Uri::Other`] so that a server can
//! answer 416 instead of 400. Comparison follows RFC 3261 §19.1.4.

use crate::error::ParseError;
use crate::params::Params;
use crate::scan::{ByteClass, is_token, parse_u16};
use memchr::memchr;
use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A parsed URI borrowing from the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uri<'a> {
    /// `sip:` or `sips:`.
    Sip(SipUri<'a>),
    /// `tel:`.
    Tel(TelUri<'a>),
    /// Any other scheme, unparsed.
    Other {
        /// The scheme, as written.
        scheme: &'a str,
        /// The whole URI.
        raw: &'a str,
    },
}

/// A `sip:` or `sips:` URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SipUri<'a> {
    /// `sips:` rather than `sip:`.
    pub secure: bool,
    /// The user part, still escaped (`%HH`).
    pub user: Option<&'a str>,
    /// The password, still escaped.
    pub password: Option<&'a str>,
    /// The host.
    pub host: Host<'a>,
    /// The explicit port, if any.
    pub port: Option<u16>,
    /// The URI parameters (`transport`, `lr`, `maddr`...).
    pub params: Params<'a>,
    /// The URI headers after `?`, still escaped.
    pub headers: Option<&'a str>,
    raw: &'a str,
}

/// A `tel:` URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelUri<'a> {
    /// The number, with its visual separators (`+1-201-555-0123`).
    pub number: &'a str,
    /// Parameters such as `phone-context`.
    pub params: Params<'a>,
    raw: &'a str,
}

/// The host of a SIP URI or a Via sent-by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Host<'a> {
    /// A host name, as written.
    Domain(&'a str),
    /// An IPv4 address.
    V4(Ipv4Addr),
    /// An IPv6 reference (written in brackets).
    V6(Ipv6Addr),
}

impl Host<'_> {
    /// Parses a host: a bracketed IPv6 reference, a dotted IPv4 address or a host name.
    pub fn parse(s: &str) -> Option<Host<'_>> {
        let (host, len) = Host::scan(s)?;
        (len == s.len()).then_some(host)
    }

    /// Reads the host that starts `s`: a bracketed IPv6 reference, a dotted IPv4 address
    /// (a run of digits and dots not followed by another host name character) or a host
    /// name. Returns the host and its length in `s`; the caller checks what follows.
    pub(crate) fn scan(s: &str) -> Option<(Host<'_>, usize)> {
        let b = s.as_bytes();
        if b.first() == Some(&b'[') {
            let close = memchr(b']', b)?;
            let v6 = s.get(1..close)?.parse().ok()?;
            return Some((Host::V6(v6), close + 1));
        }
        let ends_name = |len: usize| !b.get(len).is_some_and(|&c| HOST_NAME.has(c));
        if b.first().is_some_and(u8::is_ascii_digit) {
            if let Some((v4, len)) = ipv4_prefix(b)
                && ends_name(len)
            {
                return Some((Host::V4(v4), len));
            }
            // Digits and dots only, but not an IPv4 address.
            if ends_name(DIGIT_OR_DOT.run_len(b)) {
                return None;
            }
        }
        let len = domain_len(b)?;
        Some((Host::Domain(&s[..len]), len))
    }

    /// The address, when the host is an IP literal.
    pub fn ip(&self) -> Option<IpAddr> {
        match *self {
            Host::V4(a) => Some(IpAddr::V4(a)),
            Host::V6(a) => Some(IpAddr::V6(a)),
            Host::Domain(_) => None,
        }
    }

    /// Compares hosts as RFC 3261 §19.1.4 says: names case-insensitively, addresses by
    /// value.
    pub fn matches(&self, other: &Host<'_>) -> bool {
        match (self, other) {
            (Host::Domain(a), Host::Domain(b)) => a.eq_ignore_ascii_case(b),
            (a, b) => a.ip().is_some() && a.ip() == b.ip(),
        }
    }
}

impl fmt::Display for Host<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::V4(a) => write!(f, "{a}"),
            Host::V6(a) => write!(f, "[{a}]"),
        }
    }
}

/// The characters of a URI scheme after its first letter (RFC 3986 §3.1).
static SCHEME: ByteClass = ByteClass::new(true, b"+-.");

/// `user` characters: unreserved, escaped and `user-unreserved` (RFC 3261 §25.1).
static USER: ByteClass = ByteClass::new(true, b"-_.!~*'()%&=+$,;?/");

/// `password` characters: those of a user but `;`, `?` and `/`.
static PASSWORD: ByteClass = USER.without(b";?/");

/// The characters of URI headers (`hname=hvalue`): those of a user but `;` and `,`, and
/// `[`, `]`, `:` besides.
static URI_HEADER: ByteClass = USER.without(b";,").with(b"[]:");

/// The characters of a tel number after its optional `+`.
static TEL: ByteClass = ByteClass::new(false, b"0123456789abcdefABCDEF+-.()*#");

/// The characters of a host name (and of a dotted IPv4 address).
static HOST_NAME: ByteClass = ByteClass::new(true, b"-._");

/// The characters of a dotted IPv4 address.
static DIGIT_OR_DOT: ByteClass = ByteClass::new(false, b"0123456789.");

/// Checks that every `%` starts a `%HH` escape.
fn escapes_ok(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().all(|(i, &c)| {
        c != b'%'
            || matches!(b.get(i + 1..i + 3), Some([h, l]) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit())
    })
}

/// The length of the host name that starts `b`: the run of letters, digits, `-`, `_`
/// and `.` (a trailing dot included), which must not start with `.` or `-` nor hold an
/// empty label (`..`).
fn domain_len(b: &[u8]) -> Option<usize> {
    let len = HOST_NAME.run_len(b);
    let name = &b[..len];
    if matches!(name.first(), None | Some(b'.' | b'-')) {
        return None;
    }
    // Without an early exit, so that the compiler can compare many pairs at once.
    let empty_label = name
        .iter()
        .zip(&name[1..])
        .fold(false, |found, (&x, &y)| found | (x == b'.' && y == b'.'));
    (!empty_label).then_some(len)
}

/// Reads the dotted quad that starts `b` as `std` parses one: four decimal octets up to
/// 255, without leading zeros (`0` itself is fine). Returns the address and its length;
/// the caller checks what follows.
fn ipv4_prefix(b: &[u8]) -> Option<(Ipv4Addr, usize)> {
    let mut octets = [0u8; 4];
    let mut len = 0;
    for (i, octet) in octets.iter_mut().enumerate() {
        if i > 0 {
            if b.get(len) != Some(&b'.') {
                return None;
            }
            len += 1;
        }
        let (value, digits) = octet_prefix(&b[len..])?;
        *octet = value;
        len += digits;
    }
    Some((Ipv4Addr::from(octets), len))
}

/// Reads the octet that starts `b`: `0`, or up to three digits not starting with `0`.
/// Returns its value and its number of digits.
fn octet_prefix(b: &[u8]) -> Option<(u8, usize)> {
    let digit = |i: usize| b.get(i).map(|c| c.wrapping_sub(b'0')).filter(|&d| d <= 9);
    let mut value = u16::from(digit(0)?);
    let mut len = 1;
    if value != 0 {
        while len < 3
            && let Some(d) = digit(len)
        {
            value = value * 10 + u16::from(d);
            len += 1;
        }
    }
    Some((u8::try_from(value).ok()?, len))
}

/// Parses a port: one to five digits, up to 65535.
fn parse_port(digits: &str) -> Option<u16> {
    if digits.len() > 5 {
        return None;
    }
    parse_u16(digits)
}

/// Decodes `%HH` escapes. The result is bytes: `%00` stays a NUL and never shortens the
/// value (RFC 4475 §3.1.1.4).
pub fn unescape(s: &str) -> Cow<'_, [u8]> {
    if !s.contains('%') {
        return Cow::Borrowed(s.as_bytes());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(out)
}

impl<'a> Uri<'a> {
    /// Parses a URI that spans the whole of `s` (no surrounding white space).
    pub fn parse(s: &'a str) -> Result<Uri<'a>, ParseError> {
        let b = s.as_bytes();
        let colon = SCHEME.run_len(b);
        if !b.first().is_some_and(u8::is_ascii_alphabetic) || b.get(colon) != Some(&b':') {
            return Err(ParseError::Uri);
        }
        let scheme = &s[..colon];
        let rest = &s[colon + 1..];
        if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") {
            SipUri::parse_after_scheme(s, rest, scheme.len() == 4).map(Uri::Sip)
        } else if scheme.eq_ignore_ascii_case("tel") {
            TelUri::parse_after_scheme(s, rest).map(Uri::Tel)
        } else if rest.is_empty() || rest.bytes().any(|b| b <= b' ' || b == b'<' || b == b'>') {
            Err(ParseError::Uri)
        } else {
            Ok(Uri::Other { scheme, raw: s })
        }
    }

    /// The URI as written.
    pub fn as_str(&self) -> &'a str {
        match self {
            Uri::Sip(u) => u.raw,
            Uri::Tel(u) => u.raw,
            Uri::Other { raw, .. } => raw,
        }
    }

    /// The SIP URI, if this is one.
    pub fn as_sip(&self) -> Option<&SipUri<'a>> {
        match self {
            Uri::Sip(u) => Some(u),
            _ => None,
        }
    }

    /// Equivalence by RFC 3261 §19.1.4 (sip/sips) and RFC 3966 §4 (tel); other schemes
    /// compare as case-insensitive text.
    pub fn matches(&self, other: &Uri<'_>) -> bool {
        match (self, other) {
            (Uri::Sip(a), Uri::Sip(b)) => a.matches(b),
            (Uri::Tel(a), Uri::Tel(b)) => a.matches(b),
            (Uri::Other { raw: a, .. }, Uri::Other { raw: b, .. }) => a.eq_ignore_ascii_case(b),
            _ => false,
        }
    }
}

impl fmt::Display for Uri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'a> SipUri<'a> {
    /// A URI from parts already parsed once (a cached parse, [`crate::parsed`]).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_parts(
        secure: bool,
        user: Option<&'a str>,
        password: Option<&'a str>,
        host: Host<'a>,
        port: Option<u16>,
        params: Params<'a>,
        headers: Option<&'a str>,
        raw: &'a str,
    ) -> SipUri<'a> {
        SipUri {
            secure,
            user,
            password,
            host,
            port,
            params,
            headers,
            raw,
        }
    }

    /// Parses what follows `sip:` or `sips:`, in one pass: userinfo, host, port,
    /// parameters, headers.
    fn parse_after_scheme(raw: &'a str, rest: &'a str, secure: bool) -> Result<Self, ParseError> {
        let err = ParseError::Uri;
        let (user, password, hostpart) = split_userinfo(rest).ok_or(err)?;
        let (host, mut pos) = Host::scan(hostpart).ok_or(err)?;
        let b = hostpart.as_bytes();
        let port = if b.get(pos) == Some(&b':') {
            let digits = &hostpart[pos + 1..];
            let len = digits.bytes().take_while(u8::is_ascii_digit).count();
            pos += 1 + len;
            Some(parse_port(&digits[..len]).ok_or(err)?)
        } else {
            None
        };
        let params = Params::scan_uri(&hostpart[pos..]);
        if !escapes_ok(params.as_str()) {
            return Err(err);
        }
        pos += params.as_str().len();
        let headers = match b.get(pos) {
            None => None,
            Some(b'?') if uri_headers_ok(&hostpart[pos + 1..]) => Some(&hostpart[pos + 1..]),
            Some(_) => return Err(err),
        };
        Ok(Self::from_parts(
            secure, user, password, host, port, params, headers, raw,
        ))
    }

    /// The URI as written.
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// The `transport` parameter.
    pub fn transport(&self) -> Option<&'a str> {
        self.params.get("transport").flatten()
    }

    /// Whether the `lr` parameter is present (a loose router, RFC 3261 §19.1.1).
    pub fn lr(&self) -> bool {
        self.params.has("lr")
    }

    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&'a str> {
        self.params.get("maddr").flatten()
    }

    /// The `user` parameter (`phone`, `ip`).
    pub fn user_param(&self) -> Option<&'a str> {
        self.params.get("user").flatten()
    }

    /// The `ttl` parameter.
    pub fn ttl(&self) -> Option<u8> {
        self.params
            .get("ttl")
            .flatten()
            .and_then(|v| v.parse().ok())
    }

    /// The `method` parameter.
    pub fn method(&self) -> Option<&'a str> {
        self.params.get("method").flatten()
    }

    /// The `r2` parameter (double Record-Route, as SER writes it).
    pub fn r2(&self) -> Option<&'a str> {
        self.params.get("r2").flatten()
    }

    /// Equivalence by RFC 3261 §19.1.4.
    pub fn matches(&self, other: &SipUri<'_>) -> bool {
        let opt_eq = |a: Option<&str>, b: Option<&str>| match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => unescape(a) == unescape(b),
            _ => false,
        };
        if self.secure != other.secure
            || !opt_eq(self.user, other.user)
            || !opt_eq(self.password, other.password)
            || !self.host.matches(&other.host)
            || self.port != other.port
        {
            return false;
        }
        if !params_match(&self.params, &other.params) || !params_match(&other.params, &self.params)
        {
            return false;
        }
        headers_match(self.headers, other.headers) && headers_match(other.headers, self.headers)
    }
}

/// Splits the userinfo off what follows the scheme of a SIP URI: the user and the
/// password (both still escaped) and the text after the `@`. Without an `@` there is no
/// userinfo; `None` when what precedes the first `@` is not a valid userinfo.
fn split_userinfo(rest: &str) -> Option<(Option<&str>, Option<&str>, &str)> {
    let b = rest.as_bytes();
    let user_end = USER.run_len(b);
    let (password, end) = if b.get(user_end) == Some(&b':') {
        let start = user_end + 1;
        let end = start + PASSWORD.run_len(&b[start..]);
        (Some(&rest[start..end]), end)
    } else {
        (None, user_end)
    };
    if b.get(end) != Some(&b'@') {
        // An `@` further on would end a userinfo holding a character it may not hold.
        return memchr(b'@', &b[end..])
            .is_none()
            .then_some((None, None, rest));
    }
    let user = &rest[..user_end];
    let ok = !user.is_empty() && escapes_ok(user) && password.is_none_or(escapes_ok);
    ok.then_some((Some(user), password, &rest[end + 1..]))
}

/// Checks the headers of a SIP URI (after the `?`): `hname=hvalue` pairs joined by `&`,
/// with valid escapes.
fn uri_headers_ok(h: &str) -> bool {
    !h.is_empty()
        && h.split('&').all(|kv| match kv.split_once('=') {
            Some((k, v)) => {
                !k.is_empty() && URI_HEADER.all(k.as_bytes()) && URI_HEADER.all(v.as_bytes())
            }
            None => false,
        })
        && escapes_ok(h)
}

/// Every parameter of `a` either matches a parameter of the same name in `b`, or is
/// absent from `b` and is not one of `transport`, `user`, `ttl`, `method`, `maddr`
/// (which never match their absence, even with their default value).
///
/// A name that appears twice (which RFC 3261 does not define) is compared against every
/// parameter of that name rather than the first, so that a URI always matches itself.
fn params_match(a: &Params<'_>, b: &Params<'_>) -> bool {
    a.iter().all(|p| {
        let name = unescape(p.name);
        let mut same_name = b
            .iter()
            .filter(|q| unescape(q.name).eq_ignore_ascii_case(&name))
            .peekable();
        if same_name.peek().is_none() {
            return !["transport", "user", "ttl", "method", "maddr"]
                .iter()
                .any(|n| n.as_bytes().eq_ignore_ascii_case(&name));
        }
        same_name.any(|q| match (p.value, q.value) {
            (None, None) => true,
            (Some(x), Some(y)) => unescape(x).eq_ignore_ascii_case(&unescape(y)),
            _ => false,
        })
    })
}

/// Every URI header of `a` is present in `b` with the same value.
fn headers_match(a: Option<&str>, b: Option<&str>) -> bool {
    let Some(a) = a else { return true };
    let Some(b) = b else { return false };
    a.split('&').all(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        b.split('&').any(|kv2| {
            let (k2, v2) = kv2.split_once('=').unwrap_or((kv2, ""));
            unescape(k).eq_ignore_ascii_case(&unescape(k2)) && unescape(v) == unescape(v2)
        })
    })
}

/// Splits `host[:port]`, where the host may be a bracketed IPv6 reference.
pub fn split_host_port(s: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if s.starts_with('[') {
        let close = s.find(']')?;
        let after = &s[close + 1..];
        match after.strip_prefix(':') {
            Some(p) => (&s[..=close], Some(p)),
            None if after.is_empty() => (&s[..=close], None),
            None => return None,
        }
    } else {
        match s.rfind(':') {
            Some(c) => (&s[..c], Some(&s[c + 1..])),
            None => (s, None),
        }
    };
    let port = match port {
        Some(p) => Some(parse_port(p)?),
        None => None,
    };
    Some((host, port))
}

impl<'a> TelUri<'a> {
    /// A URI from parts already parsed once (a cached parse, [`crate::parsed`]).
    pub(crate) fn from_parts(number: &'a str, params: Params<'a>, raw: &'a str) -> TelUri<'a> {
        TelUri {
            number,
            params,
            raw,
        }
    }

    fn parse_after_scheme(raw: &'a str, rest: &'a str) -> Result<Self, ParseError> {
        let (number, params) = rest.split_at(memchr(b';', rest.as_bytes()).unwrap_or(rest.len()));
        let digits = number.strip_prefix('+').unwrap_or(number);
        if digits.is_empty() || !TEL.all(digits.as_bytes()) {
            return Err(ParseError::Uri);
        }
        let params = Params::parse_uri(params).ok_or(ParseError::Uri)?;
        Ok(TelUri {
            number,
            params,
            raw,
        })
    }

    /// The number without visual separators (`-`, `.`, `(`, `)`).
    pub fn digits(&self) -> String {
        self.number
            .chars()
            .filter(|c| !matches!(c, '-' | '.' | '(' | ')'))
            .collect()
    }

    /// Whether the number is global (starts with `+`).
    pub fn is_global(&self) -> bool {
        self.number.starts_with('+')
    }

    /// Equivalence by RFC 3966 §4: same digits, same parameters.
    pub fn matches(&self, other: &TelUri<'_>) -> bool {
        self.digits().eq_ignore_ascii_case(&other.digits())
            && params_match(&self.params, &other.params)
            && params_match(&other.params, &self.params)
            && self.params.iter().count() == other.params.iter().count()
    }

    /// The URI as written.
    pub fn as_str(&self) -> &'a str {
        self.raw
    }
}

/// Whether `s` could be the scheme of a URI followed by `:` (a quick check used when
/// deciding whether a name-addr without brackets is an addr-spec).
pub fn looks_like_uri(s: &str) -> bool {
    match s.find(':') {
        Some(c) if c > 0 => s[..c].bytes().all(|b| is_token(b) && b != b'%'),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sip(s: &str) -> SipUri<'_> {
        match Uri::parse(s) {
            Ok(Uri::Sip(u)) => u,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn parts() {
        let u = sip(
            "sips:alice:pw@[2001:db8::10]:5070;transport=tcp;lr;maddr=239.1.1.1?Subject=x&h=%20",
        );
        assert!(u.secure);
        assert_eq!(u.user, Some("alice"));
        assert_eq!(u.password, Some("pw"));
        assert_eq!(u.host, Host::V6("2001:db8::10".parse().expect("v6")));
        assert_eq!(u.port, Some(5070));
        assert_eq!(u.transport(), Some("tcp"));
        assert!(u.lr());
        assert_eq!(u.maddr(), Some("239.1.1.1"));
        assert_eq!(u.headers, Some("Subject=x&h=%20"));
    }

    #[test]
    fn user_with_semicolons_and_escapes() {
        let u = sip("sip:user;par=u%40example.net@example.com");
        assert_eq!(u.user, Some("user;par=u%40example.net"));
        assert_eq!(u.host, Host::Domain("example.com"));
        let e = sip("sip:sips%3Auser%40example.com@example.net");
        assert_eq!(&*unescape(e.user.expect("user")), b"sips:user@example.com");
        let n = sip("sip:null-%00-null@example.com");
        assert_eq!(&*unescape(n.user.expect("user")), b"null-\0-null");
    }

    #[test]
    fn rejects() {
        for bad in [
            "sip:2001:db8::10",
            "sip:user@host:99999",
            "sip:user@",
            "sip:@host",
            "sip:us er@host",
            "sip:host;a b",
            "sip:host:",
            "sip:user@300.1.1.1",
            "sip:a%zz@host",
            "tel:",
            "nocolon",
            "1x:abc",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad} should fail");
        }
        assert!(matches!(
            Uri::parse("soap.beep://192.0.2.103:3002"),
            Ok(Uri::Other { .. })
        ));
        assert!(matches!(
            Uri::parse("tel:+1-201-555-0123;phone-context=x"),
            Ok(Uri::Tel(_))
        ));
    }

    #[test]
    fn dotted_quads_as_std_reads_them() {
        let parts = [
            "", "0", "00", "01", "7", "10", "99", "100", "199", "255", "256", "0255", "1000",
        ];
        for a in parts {
            for b in parts {
                for tail in ["", ".", ".9", ".1.2", ".1.2.3"] {
                    let s = format!("{a}.{b}{tail}");
                    let s = if tail.is_empty() {
                        format!("1.2.{s}")
                    } else {
                        s
                    };
                    let std = s.parse::<Ipv4Addr>().ok().map(Host::V4);
                    assert_eq!(Host::parse(&s), std, "{s}");
                }
            }
        }
        assert_eq!(Host::parse("1.2.3.4a"), Some(Host::Domain("1.2.3.4a")));
        assert_eq!(Host::parse("1.2.3"), None);
    }

    #[test]
    fn host_names() {
        for good in ["example.com", "example.com.", "a_b-c.d", "x"] {
            assert_eq!(Host::parse(good), Some(Host::Domain(good)), "{good}");
        }
        for bad in ["", ".example.com", "-a.b", "a..b", "a b", "[::1", "[::1]x"] {
            assert_eq!(Host::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_uri_with_a_repeated_parameter_matches_itself() {
        // Found by the property tests: only the first `method` was looked at, so the
        // second never matched and the URI differed from itself.
        let u = sip("sip:h.example;method=INVITE;lr;method=REGISTER");
        assert!(u.matches(&u));
        assert!(!u.matches(&sip("sip:h.example;method=INVITE;lr")));
    }

    #[test]
    fn comparison_rfc3261_19_1_4() {
        let eq = |a: &str, b: &str| sip(a).matches(&sip(b));
        // Equivalent (the RFC's own examples).
        assert!(eq(
            "sip:%61lice@atlanta.com;transport=TCP",
            "sip:alice@AtLanTa.CoM;Transport=tcp"
        ));
        assert!(eq(
            "sip:carol@chicago.com",
            "sip:carol@chicago.com;newparam=5"
        ));
        assert!(eq(
            "sip:carol@chicago.com;security=on",
            "sip:carol@chicago.com;newparam=5"
        ));
        assert!(eq(
            "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
            "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"
        ));
        assert!(eq(
            "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
            "sip:alice@atlanta.com?priority=urgent&subject=project%20x"
        ));
        // Not equivalent.
        assert!(!eq(
            "SIP:ALICE@AtLanTa.CoM;Transport=udp",
            "sip:alice@AtLanTa.CoM;Transport=UDP"
        ));
        assert!(!eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
        assert!(!eq(
            "sip:bob@biloxi.com",
            "sip:bob@biloxi.com;transport=udp"
        ));
        assert!(!eq(
            "sip:bob@biloxi.com",
            "sip:bob@biloxi.com:6000;transport=tcp"
        ));
        assert!(!eq(
            "sip:bob@biloxi.com",
            "sip:bob@biloxi.com;maddr=1.2.3.4"
        ));
        assert!(!eq(
            "sip:carol@chicago.com",
            "sip:carol@chicago.com?Subject=next%20meeting"
        ));
        assert!(!eq("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
        assert!(!eq("sip:bob@biloxi.com", "sips:bob@biloxi.com"));
        assert!(!eq("sip:bob@biloxi.com;user=phone", "sip:bob@biloxi.com"));
    }
}
