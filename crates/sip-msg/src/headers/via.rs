//! Via (RFC 3261 §20.42, §18.2.1; RFC 3581 `rport`; RFC 5923 `alias`).

use crate::Transport;
use crate::error::ParseError;
use crate::header::HeaderName;
use crate::params::Params;
use crate::parsed::{HostRel, Rel, ViaRel};
use crate::scan::{Cursor, parse_u16};
use crate::uri::Host;
use std::net::IpAddr;

/// One Via value: `SIP/2.0/UDP host:port;params`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Via<'a> {
    /// `SIP` in practice.
    pub protocol: &'a str,
    /// `2.0` in practice.
    pub version: &'a str,
    /// The transport token as written (`UDP`, `TCP`, `UNKNOWN`...).
    pub transport_token: &'a str,
    /// The sent-by host.
    pub host: Host<'a>,
    /// The sent-by host as written (brackets kept for IPv6).
    pub host_str: &'a str,
    /// The sent-by port, if written.
    pub port: Option<u16>,
    /// The via-params.
    pub params: Params<'a>,
    /// The whole value as written.
    pub raw: &'a str,
}

/// The RFC 3261 magic cookie that starts every compliant branch.
pub const BRANCH_COOKIE: &str = "z9hG4bK";

impl<'a> Via<'a> {
    /// Parses one Via value (one element of the comma-separated list).
    pub fn parse(s: &'a str) -> Result<Via<'a>, ParseError> {
        let err = ParseError::Malformed(HeaderName::Via);
        let mut c = Cursor::new(s);
        c.skip_lws();
        let protocol = c.token().ok_or(err)?;
        if !c.eat_sep(b'/') {
            return Err(err);
        }
        let version = c.token().ok_or(err)?;
        if !c.eat_sep(b'/') {
            return Err(err);
        }
        let transport_token = c.token().ok_or(err)?;
        c.skip_lws();
        let (host, host_str) = sent_by_host(&mut c).ok_or(err)?;
        let port = if c.eat_sep(b':') {
            let digits = c.take_while(|b| b.is_ascii_digit()).ok_or(err)?;
            Some(parse_u16(digits).ok_or(err)?)
        } else {
            None
        };
        let params = Params::parse_header(&mut c).ok_or(err)?;
        c.skip_lws();
        if !c.is_empty() {
            return Err(err);
        }
        Ok(Via {
            protocol,
            version,
            transport_token,
            host,
            host_str,
            port,
            params,
            raw: crate::scan::trim_lws(s),
        })
    }

    /// The transport, when it is one we know.
    pub fn transport(&self) -> Option<Transport> {
        Transport::from_token(self.transport_token)
    }

    /// The `branch` parameter.
    pub fn branch(&self) -> Option<&'a str> {
        self.params.get("branch").flatten()
    }

    /// Whether the branch starts with the RFC 3261 magic cookie and has something after
    /// it (RFC 4475 §3.2.1: a bare cookie identifies nothing).
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch()
            .is_some_and(|b| b.len() > BRANCH_COOKIE.len() && b.starts_with(BRANCH_COOKIE))
    }

    /// The `received` parameter, as an address (with or without IPv6 brackets).
    pub fn received(&self) -> Option<IpAddr> {
        parse_received(self.params.get("received").flatten()?)
    }

    /// The `rport` parameter (RFC 3581): `Some(None)` when present without a value (a
    /// request for it) or with one that is not a port, `Some(Some(p))` once filled in.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params
            .get("rport")
            .map(|v| v.and_then(|p| p.parse().ok()))
    }

    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&'a str> {
        self.params.get("maddr").flatten()
    }

    /// The `ttl` parameter.
    pub fn ttl(&self) -> Option<u8> {
        self.params
            .get("ttl")
            .flatten()
            .and_then(|v| v.parse().ok())
    }

    /// Whether the `alias` parameter (RFC 5923) asks to reuse the connection.
    pub fn alias(&self) -> bool {
        self.params.has("alias")
    }

    /// The port responses go to when no rport applies: sent-by port or the transport's
    /// default (RFC 3261 §18.2.2).
    pub fn sent_by_port(&self) -> u16 {
        self.port
            .unwrap_or_else(|| self.transport().map_or(5060, Transport::default_port))
    }
}

/// Consumes the host of a sent-by: the host and its text (brackets kept for IPv6).
fn sent_by_host<'a>(c: &mut Cursor<'a>) -> Option<(Host<'a>, &'a str)> {
    if c.peek() == Some(b'[') {
        let start = c.pos();
        c.until(b']');
        if !c.eat(b']') {
            return None;
        }
        // From the last `[`: `[[::1]` is read as `[::1]`.
        let bracketed = c.slice(start, c.pos());
        let host_str = &bracketed[bracketed.rfind('[')?..];
        return Some((Host::parse(host_str)?, host_str));
    }
    let (host, len) = Host::scan(c.rest())?;
    let host_str = c.slice(c.pos(), c.pos() + len);
    c.set_pos(c.pos() + len);
    Some((host, host_str))
}

/// A `received` value as an address (with or without IPv6 brackets).
pub(crate) fn parse_received(v: &str) -> Option<IpAddr> {
    let v = v
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(v);
    v.parse().ok()
}

/// Its detached form, cached in the message ([`crate::parsed`]).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_via_with_lws_everywhere() {
        let v =
            Via::parse("SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw").expect("valid");
        assert_eq!(v.transport(), Some(Transport::Udp));
        assert_eq!(v.host, Host::V4("192.0.2.2".parse().expect("v4")));
        assert_eq!(v.branch(), Some("390skdjuw"));
        assert!(!v.has_rfc3261_branch());
        let v = Via::parse(
            "SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8",
        )
        .expect("valid");
        assert_eq!(v.host_str, "spindle.example.com");
        assert_eq!(v.branch(), Some("z9hG4bK9ikj8"));
        assert!(v.has_rfc3261_branch());
    }

    #[test]
    fn params_and_ipv6() {
        let v = Via::parse(
            "SIP/2.0/TCP [2001:db8::9:1]:6050;received=2001:db8::9:255;rport;alias;ttl=3",
        )
        .expect("valid");
        assert_eq!(v.port, Some(6050));
        assert_eq!(v.received(), Some("2001:db8::9:255".parse().expect("ip")));
        assert_eq!(v.rport(), Some(None));
        assert!(v.alias());
        assert_eq!(v.ttl(), Some(3));
        let v = Via::parse("SIP/2.0/UDP h;received=[2001:db8::9:255];rport=7").expect("valid");
        assert_eq!(v.received(), Some("2001:db8::9:255".parse().expect("ip")));
        assert_eq!(v.rport(), Some(Some(7)));
        assert_eq!(
            Via::parse("SIP/2.0/UNKNOWN h").expect("valid").transport(),
            None
        );
    }

    #[test]
    fn malformed() {
        for bad in [
            "SIP/2.0/UDP",
            "SIP/2.0 h",
            "SIP/2.0/UDP h;;branch=x",
            "SIP/2.0/UDP h:99999",
            "SIP/2.0/UDP h junk",
            "",
        ] {
            assert!(Via::parse(bad).is_err(), "{bad:?}");
        }
    }
}
