//! Listen addresses in the `PROTO:ADDR:PORT` form used on the command line and in the
//! config file: `udp:0.0.0.0:5060`, `tcp:127.0.0.1:5070`, `udp:[::1]:5060`.

use serde::{Deserialize, Deserializer};
use sip_msg::Transport;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// The transports a listen address may name.
const LISTEN_TRANSPORTS: [Transport; 5] = [
    Transport::Udp,
    Transport::Tcp,
    Transport::Tls,
    Transport::Ws,
    Transport::Wss,
];

/// One address to listen on: a transport and a socket address.
///
/// Parsing accepts every transport a SIP server may listen on (udp, tcp, tls, ws, wss);
/// whether it can be bound yet is decided by [`crate::Transports::bind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenSpec {
    /// The transport protocol.
    pub transport: Transport,
    /// The local address; port 0 lets the system choose a free port.
    pub addr: SocketAddr,
}

impl ListenSpec {
    /// A listen address for `transport` on `addr`.
    pub fn new(transport: Transport, addr: SocketAddr) -> ListenSpec {
        ListenSpec { transport, addr }
    }

    /// Whether the address is the unspecified address (`0.0.0.0` or `::`).
    pub fn is_wildcard(&self) -> bool {
        self.addr.ip().is_unspecified()
    }

    /// Whether the address is a multicast group (`224.0.0.0/4` or `ff00::/8`).
    pub fn is_multicast(&self) -> bool {
        self.addr.ip().is_multicast()
    }
}

/// Why a string is not a `PROTO:ADDR:PORT` listen address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListenSpecError {
    /// There is no `PROTO:` prefix.
    #[error("`{0}` is not PROTO:ADDR:PORT (for example udp:0.0.0.0:5060 or udp:[::1]:5060)")]
    Shape(String),
    /// The protocol is not one a SIP server listens on.
    #[error("unknown transport `{0}` (expected udp, tcp, tls, ws or wss)")]
    Transport(String),
    /// The address has no port.
    #[error("`{0}` has no port (write ADDR:PORT, for example 0.0.0.0:5060)")]
    MissingPort(String),
    /// The port is not a number in 0..=65535.
    #[error("invalid port `{0}` (expected a number from 0 to 65535)")]
    Port(String),
    /// An IPv6 address written without brackets.
    #[error("IPv6 address `{0}` must be written in brackets, for example [::1]:5060")]
    Ipv6Brackets(String),
    /// The address is not an IP address.
    #[error(
        "invalid IP address `{0}` (host names are not accepted here; use an IPv4 or bracketed IPv6 address)"
    )]
    Address(String),
}

impl FromStr for ListenSpec {
    type Err = ListenSpecError;

    fn from_str(text: &str) -> Result<ListenSpec, ListenSpecError> {
        let (proto, rest) = text
            .split_once(':')
            .ok_or_else(|| ListenSpecError::Shape(text.to_owned()))?;
        let transport = Transport::from_token(proto)
            .filter(|t| LISTEN_TRANSPORTS.contains(t))
            .ok_or_else(|| ListenSpecError::Transport(proto.to_owned()))?;
        let addr = parse_socket_addr(rest)?;
        Ok(ListenSpec { transport, addr })
    }
}

/// Parses `ADDR:PORT`, explaining what is wrong when it is not a socket address.
fn parse_socket_addr(text: &str) -> Result<SocketAddr, ListenSpecError> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if text.is_empty() {
        return Err(ListenSpecError::MissingPort(text.to_owned()));
    }
    if let Some(bracketed) = text.strip_prefix('[') {
        let Some((host, after)) = bracketed.split_once(']') else {
            return Err(ListenSpecError::Address(text.to_owned()));
        };
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(ListenSpecError::Address(host.to_owned()));
        }
        return match after.strip_prefix(':') {
            Some(port) => Err(ListenSpecError::Port(port.to_owned())),
            None => Err(ListenSpecError::MissingPort(text.to_owned())),
        };
    }
    if text.parse::<std::net::Ipv6Addr>().is_ok() || text.matches(':').count() > 1 {
        return Err(ListenSpecError::Ipv6Brackets(text.to_owned()));
    }
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(ListenSpecError::MissingPort(text.to_owned()));
    };
    if host.parse::<IpAddr>().is_err() {
        return Err(ListenSpecError::Address(host.to_owned()));
    }
    Err(ListenSpecError::Port(port.to_owned()))
}

impl fmt::Display for ListenSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport.uri_token(), self.addr)
    }
}

impl<'de> Deserialize<'de> for ListenSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ListenSpec, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ListenSpec, ListenSpecError> {
        text.parse()
    }

    #[test]
    fn parses_every_listen_transport() {
        for (text, transport) in [
            ("udp:0.0.0.0:5060", Transport::Udp),
            ("tcp:127.0.0.1:5070", Transport::Tcp),
            ("tls:0.0.0.0:5061", Transport::Tls),
            ("ws:0.0.0.0:80", Transport::Ws),
            ("wss:0.0.0.0:443", Transport::Wss),
            ("UDP:0.0.0.0:5060", Transport::Udp),
        ] {
            let spec = parse(text).expect(text);
            assert_eq!(spec.transport, transport, "{text}");
        }
    }

    #[test]
    fn parses_ipv6_in_brackets() {
        let spec = parse("udp:[::1]:5060").expect("valid");
        assert_eq!(spec.addr, "[::1]:5060".parse().expect("socket address"));
        assert_eq!(spec.to_string(), "udp:[::1]:5060");
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "udp:0.0.0.0:5060",
            "tcp:127.0.0.1:5070",
            "udp:[::1]:5060",
            "wss:[2001:db8::1]:443",
        ] {
            let spec = parse(text).expect(text);
            assert_eq!(spec.to_string(), text);
            assert_eq!(parse(&spec.to_string()), Ok(spec));
        }
    }

    #[test]
    fn explains_bad_input() {
        let cases = [
            ("udp", "is not PROTO:ADDR:PORT"),
            ("0.0.0.0:5060", "unknown transport `0.0.0.0`"),
            ("sctp:0.0.0.0:5060", "unknown transport `sctp`"),
            ("foo:0.0.0.0:5060", "unknown transport `foo`"),
            ("udp:0.0.0.0", "has no port"),
            ("udp:", "has no port"),
            ("udp:[::1]", "has no port"),
            ("udp:0.0.0.0:70000", "invalid port `70000`"),
            ("udp:0.0.0.0:x", "invalid port `x`"),
            ("udp:[::1]:port", "invalid port `port`"),
            ("udp:::1:5060", "must be written in brackets"),
            ("udp:example.com:5060", "invalid IP address `example.com`"),
            ("udp:[nothing]:5060", "invalid IP address `nothing`"),
        ];
        for (text, expected) in cases {
            let message = parse(text).expect_err(text).to_string();
            assert!(message.contains(expected), "{text}: {message}");
        }
    }

    #[test]
    fn wildcard_addresses_are_recognised() {
        assert!(parse("udp:0.0.0.0:5060").expect("valid").is_wildcard());
        assert!(parse("tcp:[::]:5060").expect("valid").is_wildcard());
        assert!(!parse("tcp:127.0.0.1:5060").expect("valid").is_wildcard());
    }

    #[test]
    fn multicast_groups_are_recognised() {
        assert!(parse("udp:224.0.1.75:5060").expect("valid").is_multicast());
        assert!(parse("udp:[ff02::75]:5060").expect("valid").is_multicast());
        assert!(!parse("udp:0.0.0.0:5060").expect("valid").is_multicast());
    }
}
