//! Flow tokens (RFC 5626 §5.2): a proxy that is the first hop of a user agent's
//! connection or NAT mapping ("flow") writes, in the user part of its Record-Route entry,
//! a token naming that flow. An in-dialog request that comes back through that entry
//! from anyone else is sent down the flow (the same TCP connection, the same NAT
//! mapping), whatever its Request-URI says; a request that comes over the flow itself is
//! the UA's own and is routed normally.
//!
//! The token is the flow (transport, address, port) in hex and a 64-bit SipHash tag
//! under a secret of this server, so that nobody else can make us send down a flow.

use super::Peer;
use sip_msg::Transport;
use std::fmt::Write;
use std::hash::Hasher;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The first character of every flow token (a URI user part).
const PREFIX: char = 'F';

/// The token for the flow `peer` (its transport and remote address).
pub fn encode(peer: Peer, secret: &[u8; 16]) -> String {
    let body = body(peer.transport, peer.remote);
    let mut out = String::with_capacity(1 + 2 * body.len() + 16);
    out.push(PREFIX);
    for b in &body {
        let _ = write!(out, "{b:02x}");
    }
    let _ = write!(out, "{:016x}", tag(&body, secret));
    out
}

/// The flow a token names, if it is one of ours and intact.
pub fn decode(token: &str, secret: &[u8; 16]) -> Option<(Transport, SocketAddr)> {
    let hex = token.strip_prefix(PREFIX)?;
    if hex.len() < 16 || !hex.is_ascii() {
        return None;
    }
    let (body_hex, tag_hex) = hex.split_at(hex.len() - 16);
    let body = (0..body_hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(body_hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    if u64::from_str_radix(tag_hex, 16).ok()? != tag(&body, secret) {
        return None;
    }
    let (&kind, rest) = body.split_first()?;
    let transport = match kind {
        0 => Transport::Udp,
        1 => Transport::Tcp,
        2 => Transport::Tls,
        3 => Transport::Ws,
        4 => Transport::Wss,
        _ => return None,
    };
    let (ip, port): (IpAddr, &[u8]) = match rest.len() {
        6 => (
            Ipv4Addr::new(rest[0], rest[1], rest[2], rest[3]).into(),
            &rest[4..],
        ),
        18 => {
            let octets: [u8; 16] = rest[..16].try_into().ok()?;
            (Ipv6Addr::from(octets).into(), &rest[16..])
        }
        _ => return None,
    };
    Some((
        transport,
        SocketAddr::new(ip, u16::from_be_bytes([port[0], port[1]])),
    ))
}

fn body(transport: Transport, remote: SocketAddr) -> Vec<u8> {
    let kind = match transport {
        Transport::Udp | Transport::Sctp => 0,
        Transport::Tcp => 1,
        Transport::Tls => 2,
        Transport::Ws => 3,
        Transport::Wss => 4,
    };
    let mut out = vec![kind];
    match remote.ip() {
        IpAddr::V4(ip) => out.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => out.extend_from_slice(&ip.octets()),
    }
    out.extend_from_slice(&remote.port().to_be_bytes());
    out
}

/// SipHash of the secret and the body: a keyed tag (SipHash is a PRF for short inputs).
fn tag(body: &[u8], secret: &[u8; 16]) -> u64 {
    #[allow(deprecated)] // the std SipHash with explicit keys; DefaultHasher has none
    let mut h = std::hash::SipHasher::new_with_keys(
        u64::from_le_bytes(secret[..8].try_into().unwrap_or_default()),
        u64::from_le_bytes(secret[8..].try_into().unwrap_or_default()),
    );
    h.write(body);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: [u8; 16] = *b"0123456789abcdef";

    fn peer(t: Transport, a: &str) -> Peer {
        Peer::at(t, a.parse().expect("addr"))
    }

    #[test]
    fn round_trip_v4_and_v6() {
        for p in [
            peer(Transport::Udp, "203.0.113.5:40000"),
            peer(Transport::Tcp, "[2001:db8::5]:5061"),
        ] {
            let token = encode(p, &SECRET);
            assert!(token.bytes().all(|b| b.is_ascii_alphanumeric()), "{token}");
            assert_eq!(decode(&token, &SECRET), Some((p.transport, p.remote)));
        }
    }

    #[test]
    fn forged_or_foreign_tokens_are_refused() {
        let token = encode(peer(Transport::Tcp, "203.0.113.5:40000"), &SECRET);
        assert_eq!(
            decode(&token, b"another secret!!"),
            None,
            "another server's"
        );
        // Pointing it elsewhere without the secret: the tag no longer matches.
        let forged = token.replacen("cb007105", "cb007106", 1);
        assert_ne!(forged, token);
        assert_eq!(decode(&forged, &SECRET), None);
        for junk in ["", "F", "alice", "Fzz", "F00112233445566778899"] {
            assert_eq!(decode(junk, &SECRET), None, "{junk}");
        }
    }
}
