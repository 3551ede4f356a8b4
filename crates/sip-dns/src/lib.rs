//! Locating SIP servers by DNS.
//!
//! A SIP element that forwards a request to a URI whose host is a domain
//! name has to turn that URI into a list of concrete places to send to: a
//! transport, an IP address and a port. This crate does that the way
//! RFC 3263 §4 describes:
//!
//! - an IP literal is used as it is, with the URI's port or the default one;
//! - a domain with an explicit port is resolved with A/AAAA only;
//! - a domain with a `transport=` parameter but no port is resolved with the
//!   SRV records of that transport (RFC 2782), then A/AAAA;
//! - otherwise the domain's NAPTR records (RFC 3403) choose the transports
//!   and point at SRV records; without them, the SRV records of every
//!   transport we support are tried, and last A/AAAA with UDP (TLS for
//!   `sips:`).
//!
//! SRV records are tried by priority and, within a priority, in the
//! weighted random order of RFC 2782, so load spreads as the domain's
//! administrator asked. The result is the ordered list of [`Hop`]s to try:
//! failover goes down the list.
//!
//! The crate also maps telephone numbers to SIP URIs with ENUM
//! ([`Locator::enum_lookup`], RFC 6116) and keeps a shared list of
//! destinations that failed recently ([`Blocklist`]), which moves them to
//! the end of a hop list without ever removing them.
//!
//! DNS itself sits behind the [`Lookup`] trait: [`HickoryLookup`] is the real
//! resolver (hickory-resolver, with its TTL cache and UDP with TCP fallback),
//! and tests plug in their own tables.

mod blocklist;
mod e164;
mod hickory;
mod locate;
mod lookup;
mod srv;

use std::net::SocketAddr;

pub use blocklist::{Blocklist, DEFAULT_CAPACITY};
pub use e164::{application_unique_string, enum_domain};
pub use hickory::HickoryLookup;
pub use locate::{Locator, MAX_ENUM_HOPS, MAX_SRV_TARGETS};
pub use lookup::{DnsError, Lookup, Naptr, Srv};
pub use sip_msg::Transport;

/// One place to send a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hop {
    /// The transport to send on.
    pub transport: Transport,
    /// The address and port to send to.
    pub addr: SocketAddr,
}

/// What to locate: taken from a SIP URI by the caller.
#[derive(Debug, Clone)]
pub struct LocateTarget {
    /// A domain name or an IP literal (IPv6 without brackets). The caller
    /// passes the URI's `maddr` here when it has one.
    pub host: String,
    /// The explicit port of the URI, if any.
    pub port: Option<u16>,
    /// The URI's `transport=` parameter, if any.
    pub transport: Option<Transport>,
    /// Whether the URI is a `sips:` URI (TLS required on every hop).
    pub secure: bool,
}

/// Why [`Locator::locate`] or [`Locator::enum_lookup`] found nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocateError {
    /// The domain does not exist or has no usable records.
    #[error("not found: {0}")]
    NotFound(String),
    /// The domain can be reached only over transports we do not support.
    #[error("unsupported transport: {0}")]
    Unsupported(String),
    /// DNS failed (timeout, SERVFAIL, refused) and no hop was found.
    #[error("DNS failure: {0}")]
    Failed(String),
}

/// The port used when a URI has none and SRV gave none (RFC 3261 §19.1.2,
/// RFC 7118 for WebSocket).
///
/// UDP, TCP and SCTP use 5060; TLS uses 5061. WebSocket has no SIP default
/// port of its own (RFC 7118 §5.2 leaves it to the HTTP scheme), so WS uses
/// 80 and WSS 443, like the `ws:`/`wss:` URI schemes.
pub fn default_port(transport: Transport) -> u16 {
    match transport {
        Transport::Udp | Transport::Tcp | Transport::Sctp => 5060,
        Transport::Tls => 5061,
        Transport::Ws => 80,
        Transport::Wss => 443,
    }
}
