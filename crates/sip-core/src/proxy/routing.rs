//! Pure routing decisions of a proxy (RFC 3261 §16.4–§16.6): recognising our own URIs,
//! popping our Route entries, the strict-router fix-up, the next hop, and the branch with
//! its loop-detection hash (§16.3 step 4, §16.6 step 8).

use sip_msg::headers::{NameAddr, Via};
use sip_msg::uri::split_host_port;
use sip_msg::{HeaderName, Host, Message, SipUri, Transport, Uri};
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::SocketAddr;

/// One address the server listens on and advertises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// The transport.
    pub transport: Transport,
    /// The bound address (may be a wildcard).
    pub bind: SocketAddr,
    /// The host and port written in Via and Record-Route for this interface.
    pub advertise: String,
}

/// Where to send a request next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextHop {
    /// The transport.
    pub transport: Transport,
    /// The address.
    pub addr: SocketAddr,
}

/// Resolves a URI that names its host by IP address (domain names need RFC 3263 and come
/// with the DNS resolver). The transport comes from the `transport` parameter, else
/// `sips` means TLS, else UDP (RFC 3263 §4.1 for a numeric host).
pub fn numeric_next_hop(uri: &SipUri<'_>) -> Option<NextHop> {
    let host = match uri.maddr().and_then(Host::parse) {
        Some(h) => h,
        None => uri.host,
    };
    let ip = host.ip()?;
    let transport = match uri.transport() {
        Some(t) => Transport::from_token(t)?,
        None if uri.secure => Transport::Tls,
        None => Transport::Udp,
    };
    let port = uri.port.unwrap_or(transport.default_port());
    Some(NextHop {
        transport,
        addr: SocketAddr::new(ip, port),
    })
}

/// A hash that is the same for the same input throughout the process (and across
/// processes): loop hashes and stateless To tags must come out the same when a request
/// comes back or is retransmitted.
pub(crate) const FIXED_HASH: foldhash::fast::FixedState =
    foldhash::fast::FixedState::with_seed(0x5e7a_1c0d_e5ca_11ed);

/// The loop-detection part of our branch: a hash of what stays the same when a request
/// comes back to us unchanged (RFC 3261 §16.6 step 8): Request-URI, From tag, To tag,
/// Call-ID, CSeq number, Route values and Proxy-Require.
pub fn loop_hash(msg: &Message) -> u64 {
    let mut h = FIXED_HASH.build_hasher();
    msg.request_uri_str().hash(&mut h);
    msg.from().ok().and_then(|f| f.tag()).hash(&mut h);
    msg.to().ok().and_then(|t| t.tag()).hash(&mut h);
    msg.call_id().ok().hash(&mut h);
    msg.cseq().ok().map(|c| c.seq).hash(&mut h);
    for r in msg.list(HeaderName::Route) {
        r.hash(&mut h);
    }
    for r in msg.list(HeaderName::ProxyRequire) {
        r.hash(&mut h);
    }
    h.finish()
}

/// Whether `via` is one of ours: its sent-by is the advertised host and port of one of
/// our interfaces.
pub fn is_our_via(via: &Via<'_>, interfaces: &[Interface]) -> bool {
    interfaces.iter().any(|i| {
        split_host_port(&i.advertise)
            .is_some_and(|(host, port)| host.eq_ignore_ascii_case(via.host_str) && port == via.port)
    })
}

/// Whether the request already went through us with the same loop hash: a loop (482),
/// as opposed to a spiral, where the Request-URI changed in between. The hash is only
/// computed when one of the Vias is ours: most requests never went through us.
pub fn is_loop(msg: &Message, interfaces: &[Interface]) -> bool {
    // Having gone through us, it carries our Via and the sender's at least: one Via
    // alone (a request straight from a user agent) is never a loop.
    if msg.list(HeaderName::Via).nth(1).is_none() {
        return false;
    }
    let mut hash = None;
    msg.vias().flatten().any(|v| {
        is_our_via(&v, interfaces)
            && v.branch().and_then(|b| b.get(7..23)).is_some_and(|marker| {
                u64::from_str_radix(marker, 16) == Ok(*hash.get_or_insert_with(|| loop_hash(msg)))
            })
    })
}

/// A Route entry: its URI, when it is a SIP URI.
pub fn route_uri<'a>(r: &NameAddr<'a>) -> Option<SipUri<'a>> {
    match r.uri {
        Uri::Sip(u) => Some(u),
        _ => None,
    }
}
