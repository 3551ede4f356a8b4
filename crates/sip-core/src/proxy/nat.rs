//! User agents behind a NAT (SER's nathelper, on by default): telling them apart, and
//! making the addresses they advertise reachable.
//!
//! A UA behind a NAT writes its private address in Via and Contact; what reaches us is
//! the NAT's public address and port. RFC 3581 (received and rport) already sends the
//! responses back through the NAT. For the rest:
//! - a REGISTER from such a UA keeps its source as the binding's destination (the
//!   registrar's `Reach`, flagged NAT), while the 200 still lists its own Contact;
//! - in a dialog, its Contact (in its requests and in its 18x/2xx) is rewritten to the
//!   public address and port it came from, over the transport it came on, so the other
//!   side's in-dialog requests, routed back through us by Record-Route, reach it through
//!   the NAT: over UDP to the NAT's mapping, over TCP down the connection it opened.

use super::Peer;
use ipnet::IpNet;
use sip_msg::headers::Contact;
use sip_msg::{HeaderName, Message, Transport, Uri};
use std::net::IpAddr;

/// NAT handling settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatConfig {
    /// Detect and handle NATed user agents (on by default).
    pub enabled: bool,
    /// Sources always treated as behind a NAT, whatever they write.
    pub force: Vec<IpNet>,
}

impl Default for NatConfig {
    fn default() -> Self {
        NatConfig {
            enabled: true,
            force: Vec::new(),
        }
    }
}

/// Addresses that cannot be reached from elsewhere: RFC 1918, RFC 6598 shared space,
/// link-local, IPv6 unique-local and link-local.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private() || v4.is_link_local() || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

/// Whether the sender of `msg`, as seen arriving from `from`, is behind a NAT.
///
/// A request counts only when it comes straight from its UA (one Via: through another
/// proxy, Via and Contact describe hosts further away): a source the config names, a
/// top Via that is not where it came from (address, and port over UDP), or a Contact at
/// a private address other than the source (Kamailio's `nat_uac_test` 1, 2 and 16). A response counts when
/// its Contact is a private address other than the one it came from (the callee cannot
/// be reached there, whoever is in between), or its source is one the config names.
pub fn behind_nat(msg: &Message, from: Peer, cfg: &NatConfig) -> bool {
    if !cfg.enabled {
        return false;
    }
    let source = from.remote;
    let forced = cfg.force.iter().any(|net| net.contains(&source.ip()));
    if !msg.is_request() {
        return forced || contact_ips(msg).any(|ip| is_private(ip) && ip != source.ip());
    }
    if msg.list(HeaderName::Via).nth(1).is_some() {
        return false;
    }
    if forced {
        return true;
    }
    let datagram = !from.transport.is_stream();
    if let Ok(via) = msg.top_via()
        && let Some(ip) = via.host.ip()
        && (ip != source.ip() || (datagram && via.sent_by_port() != source.port()))
    {
        return true;
    }
    // A Contact elsewhere than the source but public is not taken as a NAT: a phone may
    // register a contact of another device (third-party registration), as the perf
    // harness does; only a private one cannot be meant to be reached from here.
    contact_ips(msg).any(|ip| is_private(ip) && ip != source.ip())
}

/// The address of each Contact whose host is an IP address.
fn contact_ips(msg: &Message) -> impl Iterator<Item = IpAddr> + '_ {
    msg.contacts().flatten().filter_map(|c| match c {
        Contact::Addr(a) => a.uri.as_sip()?.host.ip(),
        Contact::Star => None,
    })
}

/// The first Contact of `msg` with its host and port replaced by `from`'s remote
/// address, over `from`'s transport: what the other side of the dialog must target.
/// `None` when there is no SIP Contact to rewrite.
pub fn public_contact(msg: &Message, from: Peer) -> Option<String> {
    let value = msg.header(HeaderName::Contact)?;
    let Ok(Contact::Addr(addr)) = Contact::parse(value) else {
        return None;
    };
    let Uri::Sip(uri) = addr.uri else { return None };
    let mut out = String::with_capacity(value.len() + 16);
    out.push('<');
    out.push_str(if uri.secure { "sips:" } else { "sip:" });
    if let Some(user) = uri.user {
        out.push_str(user);
        if let Some(password) = uri.password {
            out.push(':');
            out.push_str(password);
        }
        out.push('@');
    }
    // SocketAddr's text brackets an IPv6 address, as a SIP URI does.
    out.push_str(&from.remote.to_string());
    for p in uri.params.iter() {
        if p.name.eq_ignore_ascii_case("transport") || p.name.eq_ignore_ascii_case("maddr") {
            continue;
        }
        out.push(';');
        out.push_str(p.name);
        if let Some(v) = p.value {
            out.push('=');
            out.push_str(v);
        }
    }
    if from.transport != Transport::Udp {
        out.push_str(";transport=");
        out.push_str(from.transport.uri_token());
    }
    out.push('>');
    out.push_str(addr.params.as_str());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn msg(via: &str, contact: &str) -> Message {
        Message::parse(Bytes::from(format!(
            "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP {via};branch=z9hG4bK1\r\nFrom: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContact: {contact}\r\nContent-Length: 0\r\n\r\n"
        )))
        .expect("parses")
    }

    fn peer(transport: Transport, addr: &str) -> Peer {
        Peer::at(transport, addr.parse().expect("addr"))
    }

    #[test]
    fn private_ranges() {
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.10",
            "100.64.0.1",
            "169.254.1.1",
            "fd00::1",
            "fe80::1",
        ] {
            assert!(is_private(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["203.0.113.1", "100.128.0.1", "8.8.8.8", "2001:db8::1"] {
            assert!(!is_private(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[test]
    fn detection() {
        let cfg = NatConfig::default();
        let nat = peer(Transport::Udp, "203.0.113.5:40000");
        let lan = msg("192.168.1.10:5070", "<sip:alice@192.168.1.10:5070>");
        assert!(behind_nat(&lan, nat, &cfg), "private Via and Contact");
        let direct = msg("203.0.113.5:40000", "<sip:alice@203.0.113.5:40000>");
        assert!(
            !behind_nat(&direct, nat, &cfg),
            "everything matches the source"
        );
        let port = msg("203.0.113.5:5060", "<sip:alice@203.0.113.5:5060>");
        assert!(
            behind_nat(&port, nat, &cfg),
            "a port-translating NAT, over UDP"
        );
        let tcp = peer(Transport::Tcp, "203.0.113.5:40000");
        assert!(
            !behind_nat(&port, tcp, &cfg),
            "over TCP the source port is ephemeral"
        );
        let named = msg("pc.example.com:40000", "<sip:alice@pc.example.com:40000>");
        assert!(!behind_nat(&named, nat, &cfg), "names are not compared");
        let third_party = msg("203.0.113.5:40000", "<sip:alice@198.51.100.9:5090>");
        assert!(
            !behind_nat(&third_party, nat, &cfg),
            "a public Contact of another host"
        );
        let off = NatConfig {
            enabled: false,
            ..NatConfig::default()
        };
        assert!(!behind_nat(&lan, nat, &off));
        let forced = NatConfig {
            force: vec!["203.0.113.0/24".parse().expect("net")],
            ..NatConfig::default()
        };
        assert!(behind_nat(&direct, nat, &forced));
        // Through another proxy, Via and Contact are someone else's.
        let relayed = Message::parse(Bytes::from(
            String::from_utf8_lossy(lan.as_bytes()).replace(
                "Via: ",
                "Via: SIP/2.0/UDP 203.0.113.5:40000;branch=z9hG4bKp\r\nVia: ",
            ),
        ))
        .expect("parses");
        assert!(!behind_nat(&relayed, nat, &cfg));
        // A response: only a private Contact counts.
        let ok = |contact: &str| {
            Message::parse(Bytes::from(format!(
                "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContact: {contact}\r\nContent-Length: 0\r\n\r\n"
            )))
            .expect("parses")
        };
        assert!(behind_nat(&ok("<sip:b@10.1.1.1:5060>"), nat, &cfg));
        assert!(
            !behind_nat(&ok("<sip:b@198.51.100.1:5060>"), nat, &cfg),
            "a proxy in between"
        );
    }

    #[test]
    fn the_contact_is_rewritten_to_the_source() {
        let lan = msg(
            "192.168.1.10:5070",
            "\"Alice\" <sip:alice@192.168.1.10:5070;transport=udp;ob>;expires=60",
        );
        assert_eq!(
            public_contact(&lan, peer(Transport::Udp, "203.0.113.5:40000")).as_deref(),
            Some("<sip:alice@203.0.113.5:40000;ob>;expires=60")
        );
        assert_eq!(
            public_contact(&lan, peer(Transport::Tcp, "[2001:db8::5]:40001")).as_deref(),
            Some("<sip:alice@[2001:db8::5]:40001;ob;transport=tcp>;expires=60")
        );
        let star = msg("192.168.1.10:5070", "*");
        assert_eq!(
            public_contact(&star, peer(Transport::Udp, "203.0.113.5:1")),
            None
        );
    }
}
