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

    pub(crate) fn of(base: &str, s: &str) -> Option<Rel> {
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

    pub(crate) fn of_opt(base: &str, s: Option<&str>) -> Option<Option<Rel>> {
        match s {
            None => Some(None),
            Some(s) => Rel::of(base, s).map(Some),
        }
    }

    pub(crate) fn get(self, base: &str) -> &str {
        if self == Rel::OUTSIDE_EMPTY {
            return "";
        }
        let start = self.start as usize;
        base.get(start..start + self.len as usize).unwrap_or("")
    }
}

/// A detached [`Host`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum HostRel {
    Domain(Rel),
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

impl HostRel {
    pub(crate) fn of(base: &str, h: &Host<'_>) -> Option<HostRel> {
        Some(match *h {
            Host::Domain(d) => HostRel::Domain(Rel::of(base, d)?),
            Host::V4(a) => HostRel::V4(a),
            Host::V6(a) => HostRel::V6(a),
        })
    }

    pub(crate) fn get(self, base: &str) -> Host<'_> {
        match self {
            HostRel::Domain(d) => Host::Domain(d.get(base)),
            HostRel::V4(a) => Host::V4(a),
            HostRel::V6(a) => Host::V6(a),
        }
    }
}

/// A detached `Via` (its conversions are in `headers::via`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ViaRel {
    pub(crate) protocol: Rel,
    pub(crate) version: Rel,
    pub(crate) transport_token: Rel,
    pub(crate) host: HostRel,
    pub(crate) host_str: Rel,
    pub(crate) port: Option<u16>,
    pub(crate) params: Rel,
    pub(crate) raw: Rel,
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

/// A detached `NameAddr` (its conversions are in `headers::name_addr`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NameAddrRel {
    pub(crate) display: Option<Rel>,
    pub(crate) display_quoted: bool,
    pub(crate) uri: UriRel,
    pub(crate) bracketed: bool,
    pub(crate) params: Rel,
}
