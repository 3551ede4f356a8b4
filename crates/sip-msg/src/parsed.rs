//! The typed values every component reads (the Request-URI, the top Via, From, To),
//! parsed once per message.
//!
//! A proxy, a registrar and the response builder each ask for the top Via or the To tag
//! of the same request: parsing them again each time was most of the work done per
//! message. A parsed value borrows from the message, so it cannot be stored in it as it
//! is; it is stored *detached* instead, every borrowed string replaced by its place in
//! the header section ([`Rel`]), and *attached* back to the message text when read,
//! which costs a few slice operations.

use crate::error::ParseError;
use crate::headers::{NameAddr, Via};
use crate::params::Params;
use crate::uri::{Host, SipUri, TelUri, Uri};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

/// The cached values of one message. Cloning a message clones what was already parsed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Parsed {
    pub(crate) top_via: OnceLock<Detached<ViaRel>>,
    pub(crate) from: OnceLock<Detached<NameAddrRel>>,
    pub(crate) to: OnceLock<Detached<NameAddrRel>>,
    pub(crate) request_uri: OnceLock<Detached<UriRel>>,
}

/// A parse result as cached: the value detached, the error as it was, or `None` when
/// the value could not be detached (a string from elsewhere than the message text,
/// which parsing never returns): it is then parsed again on each use.
pub(crate) type Detached<T> = Option<Result<T, ParseError>>;

/// Caches `parse`'s result in `cell`, detached from `base`, and returns it attached.
pub(crate) fn cached<'a, V, R: Copy>(
    cell: &OnceLock<Detached<R>>,
    base: &'a str,
    parse: impl Fn() -> Result<V, ParseError>,
    detach: impl Fn(&V, &str) -> Option<R>,
    attach: impl Fn(R, &'a str) -> V,
) -> Result<V, ParseError> {
    let stored = cell.get_or_init(|| match parse() {
        Ok(v) => detach(&v, base).map(Ok),
        Err(e) => Some(Err(e)),
    });
    match stored {
        Some(Ok(r)) => Ok(attach(*r, base)),
        Some(Err(e)) => Err(*e),
        None => parse(),
    }
}

/// Where a string lies in the header section. Two bytes each keep a message's cache
/// small; a header section past 64 KB (above any sane limit) is not cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rel {
    start: u16,
    len: u16,
}

impl Rel {
    /// An empty string from outside the message (a constant such as [`Params::EMPTY`]).
    const OUTSIDE_EMPTY: Rel = Rel {
        start: u16::MAX,
        len: 0,
    };

    fn of(base: &str, s: &str) -> Option<Rel> {
        let (b, p) = (base.as_ptr() as usize, s.as_ptr() as usize);
        if p >= b && p + s.len() <= b + base.len() {
            Some(Rel {
                start: u16::try_from(p - b).ok()?,
                len: u16::try_from(s.len()).ok()?,
            })
        } else if s.is_empty() {
            Some(Rel::OUTSIDE_EMPTY)
        } else {
            None
        }
    }

    fn of_opt(base: &str, s: Option<&str>) -> Option<Option<Rel>> {
        match s {
            None => Some(None),
            Some(s) => Rel::of(base, s).map(Some),
        }
    }

    fn get(self, base: &str) -> &str {
        if self == Rel::OUTSIDE_EMPTY {
            return "";
        }
        let start = self.start as usize;
        base.get(start..start + self.len as usize).unwrap_or("")
    }
}

#[derive(Debug, Clone, Copy)]
enum HostRel {
    Domain(Rel),
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

impl HostRel {
    fn of(base: &str, h: &Host<'_>) -> Option<HostRel> {
        Some(match *h {
            Host::Domain(d) => HostRel::Domain(Rel::of(base, d)?),
            Host::V4(a) => HostRel::V4(a),
            Host::V6(a) => HostRel::V6(a),
        })
    }

    fn get(self, base: &str) -> Host<'_> {
        match self {
            HostRel::Domain(d) => Host::Domain(d.get(base)),
            HostRel::V4(a) => Host::V4(a),
            HostRel::V6(a) => Host::V6(a),
        }
    }
}

/// A detached [`Via`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ViaRel {
    protocol: Rel,
    version: Rel,
    transport_token: Rel,
    host: HostRel,
    host_str: Rel,
    port: Option<u16>,
    params: Rel,
    raw: Rel,
}

impl ViaRel {
    pub(crate) fn detach(v: &Via<'_>, base: &str) -> Option<ViaRel> {
        Some(ViaRel {
            protocol: Rel::of(base, v.protocol)?,
            version: Rel::of(base, v.version)?,
            transport_token: Rel::of(base, v.transport_token)?,
            host: HostRel::of(base, &v.host)?,
            host_str: Rel::of(base, v.host_str)?,
            port: v.port,
            params: Rel::of(base, v.params.as_str())?,
            raw: Rel::of(base, v.raw)?,
        })
    }

    pub(crate) fn attach(self, base: &str) -> Via<'_> {
        Via {
            protocol: self.protocol.get(base),
            version: self.version.get(base),
            transport_token: self.transport_token.get(base),
            host: self.host.get(base),
            host_str: self.host_str.get(base),
            port: self.port,
            params: Params::from_validated(self.params.get(base)),
            raw: self.raw.get(base),
        }
    }
}

/// A detached [`SipUri`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct SipUriRel {
    secure: bool,
    user: Option<Rel>,
    password: Option<Rel>,
    host: HostRel,
    port: Option<u16>,
    params: Rel,
    headers: Option<Rel>,
    raw: Rel,
}

/// A detached [`Uri`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum UriRel {
    Sip(SipUriRel),
    Tel { number: Rel, params: Rel, raw: Rel },
    Other { scheme: Rel, raw: Rel },
}

impl UriRel {
    pub(crate) fn detach(u: &Uri<'_>, base: &str) -> Option<UriRel> {
        Some(match u {
            Uri::Sip(s) => UriRel::Sip(SipUriRel {
                secure: s.secure,
                user: Rel::of_opt(base, s.user)?,
                password: Rel::of_opt(base, s.password)?,
                host: HostRel::of(base, &s.host)?,
                port: s.port,
                params: Rel::of(base, s.params.as_str())?,
                headers: Rel::of_opt(base, s.headers)?,
                raw: Rel::of(base, s.as_str())?,
            }),
            Uri::Tel(t) => UriRel::Tel {
                number: Rel::of(base, t.number)?,
                params: Rel::of(base, t.params.as_str())?,
                raw: Rel::of(base, t.as_str())?,
            },
            Uri::Other { scheme, raw } => UriRel::Other {
                scheme: Rel::of(base, scheme)?,
                raw: Rel::of(base, raw)?,
            },
        })
    }

    pub(crate) fn attach(self, base: &str) -> Uri<'_> {
        match self {
            UriRel::Sip(s) => Uri::Sip(SipUri::from_parts(
                s.secure,
                s.user.map(|r| r.get(base)),
                s.password.map(|r| r.get(base)),
                s.host.get(base),
                s.port,
                Params::from_validated(s.params.get(base)),
                s.headers.map(|r| r.get(base)),
                s.raw.get(base),
            )),
            UriRel::Tel {
                number,
                params,
                raw,
            } => Uri::Tel(TelUri::from_parts(
                number.get(base),
                Params::from_validated(params.get(base)),
                raw.get(base),
            )),
            UriRel::Other { scheme, raw } => Uri::Other {
                scheme: scheme.get(base),
                raw: raw.get(base),
            },
        }
    }
}

/// A detached [`NameAddr`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct NameAddrRel {
    display: Option<Rel>,
    display_quoted: bool,
    uri: UriRel,
    bracketed: bool,
    params: Rel,
}

impl NameAddrRel {
    pub(crate) fn detach(n: &NameAddr<'_>, base: &str) -> Option<NameAddrRel> {
        Some(NameAddrRel {
            display: Rel::of_opt(base, n.display)?,
            display_quoted: n.display_quoted,
            uri: UriRel::detach(&n.uri, base)?,
            bracketed: n.bracketed,
            params: Rel::of(base, n.params.as_str())?,
        })
    }

    pub(crate) fn attach(self, base: &str) -> NameAddr<'_> {
        NameAddr {
            display: self.display.map(|r| r.get(base)),
            display_quoted: self.display_quoted,
            uri: self.uri.attach(base),
            bracketed: self.bracketed,
            params: Params::from_validated(self.params.get(base)),
        }
    }
}

#[cfg(test)]
mod tests {
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
            let direct_to =
                NameAddr::parse(msg.header(HeaderName::To).expect("to"), HeaderName::To);
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
}
