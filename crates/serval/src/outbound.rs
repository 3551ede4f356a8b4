//! Requests for other domains: where they go (RFC 3263 through DNS, ENUM for telephone
//! numbers), over which transport (the `[routing]` policy), and which servers failed
//! lately (the blocklist, shared by every transaction and shard).
//!
//! A destination that failed (a transport error, silence, a 503) is not dropped from
//! later answers: it is tried after the others until its entry expires. So one failed
//! call never makes every later call to that domain fail, and a server that comes back
//! is used again as soon as the healthy ones fail too.

use crate::config::{Routing, TransportPolicy};
use sip_core::proxy::{Decision, Peer, Reply, RoutingRequest, Target, Unreachable};
use sip_dns::{Blocklist, HickoryLookup, Hop, LocateError, LocateTarget, Locator, Lookup};
use sip_msg::{Host, SipUri, Transport, Uri};
use std::time::{Duration, Instant};

/// The longest a 503's Retry-After keeps a server on the blocklist.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Routing to other domains.
pub struct Outbound<L: Lookup = HickoryLookup> {
    locator: Locator<L>,
    blocklist: Blocklist,
    policy: TransportPolicy,
    domain_transport: Vec<(String, Transport)>,
    enum_suffix: Option<String>,
    blocklist_ttl: Duration,
}

impl<L: Lookup> Outbound<L> {
    /// Routing by `lookup`, as `routing` says, sending over the `supported` transports
    /// (ours, in order of preference).
    pub fn new(lookup: L, routing: &Routing, supported: Vec<Transport>) -> Self {
        Outbound {
            locator: Locator::new(lookup, supported),
            blocklist: Blocklist::new(),
            policy: routing.transport,
            domain_transport: routing.domain_transport.clone(),
            enum_suffix: routing.enum_suffix.clone(),
            blocklist_ttl: routing.blocklist_ttl,
        }
    }

    /// The branch for a request to another domain: to its top Route when it carries
    /// one, else to `request_uri` (the Request-URI, or what ENUM made of it).
    pub async fn relay(&self, req: &RoutingRequest, request_uri: Option<String>) -> Decision {
        let route = req.message.routes().next().and_then(Result::ok);
        let text = match (&route, &request_uri) {
            (Some(r), _) => r.uri.as_str(),
            (None, Some(uri)) => uri.as_str(),
            (None, None) => req.message.request_uri_str().unwrap_or(""),
        };
        let Some(target) = Uri::parse(text).ok().and_then(|u| {
            u.as_sip()
                .map(|sip| self.locate_target(sip, req.from.transport))
        }) else {
            return reply(416, "Unsupported URI Scheme");
        };
        let hops = match self.locator.locate(&target).await {
            Ok(hops) => hops,
            Err(LocateError::NotFound(_)) => Vec::new(),
            Err(LocateError::Unsupported(why)) => {
                tracing::debug!("{}: {why}", target.host);
                return reply(503, "No Supported Transport");
            }
            Err(LocateError::Failed(why)) => {
                tracing::warn!("DNS lookup for {} failed: {why}", target.host);
                return Decision::Reply(Reply::new(503, "DNS Failure").header("Retry-After", "5"));
            }
        };
        let mut peers = self
            .blocklist
            .order(hops, Instant::now())
            .into_iter()
            .map(|hop| Peer::at(hop.transport, hop.addr));
        let Some(to) = peers.next() else {
            tracing::debug!("{}: no such domain", target.host);
            return reply(404, "Domain Not Found");
        };
        Decision::Relay(vec![vec![Target {
            request_uri,
            route: Vec::new(),
            to,
            failover: peers.collect(),
        }]])
    }

    /// What to look up for `uri`: its host (or `maddr`), port and transport, with the
    /// transport policy applied (a domain's own setting first).
    fn locate_target(&self, uri: &SipUri<'_>, inbound: Transport) -> LocateTarget {
        let host = match uri.maddr() {
            Some(maddr) => maddr
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            None => match uri.host {
                Host::Domain(name) => name.to_owned(),
                Host::V4(ip) => ip.to_string(),
                Host::V6(ip) => ip.to_string(),
            },
        };
        let named = self
            .domain_transport
            .iter()
            .find(|(d, _)| d.eq_ignore_ascii_case(&host))
            .map(|&(_, t)| t);
        let transport = named.or(match self.policy {
            TransportPolicy::Rfc3263 => uri.transport().and_then(Transport::from_token),
            TransportPolicy::Inbound => Some(inbound),
            TransportPolicy::Fixed(t) => Some(t),
        });
        LocateTarget {
            host,
            port: uri.port,
            transport,
            secure: uri.secure,
        }
    }

    /// The SIP URI ENUM gives a telephone number (RFC 6116), when ENUM is on and the
    /// number has an entry.
    pub async fn enum_uri(&self, number: &str) -> Option<String> {
        let suffix = self.enum_suffix.as_deref()?;
        match self.locator.enum_lookup(number, suffix).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!("ENUM lookup for {number} failed: {e}");
                None
            }
        }
    }

    /// Notes that a destination failed: later requests try it after the others for
    /// `blocklist_ttl`, or for as long as its 503's Retry-After asked (at most an hour).
    pub fn unreachable(&self, failed: Unreachable) {
        let hop = Hop {
            transport: failed.peer.transport,
            addr: failed.peer.remote,
        };
        let ttl = failed
            .retry_after
            .map_or(self.blocklist_ttl, |t| t.min(MAX_RETRY_AFTER));
        self.blocklist.block(hop, ttl, Instant::now());
    }

    /// Forgets expired blocklist entries.
    pub fn purge(&self) {
        self.blocklist.purge(Instant::now());
    }
}

fn reply(code: u16, reason: &'static str) -> Decision {
    Decision::Reply(Reply::new(code, reason))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip_dns::{DnsError, Naptr, Srv};
    use std::net::{IpAddr, SocketAddr};

    /// A DNS that knows nothing: these tests look at what would be asked.
    struct NoDns;

    impl Lookup for NoDns {
        async fn naptr(&self, _: &str) -> Result<Vec<Naptr>, DnsError> {
            Err(DnsError::NotFound)
        }
        async fn srv(&self, _: &str) -> Result<Vec<Srv>, DnsError> {
            Err(DnsError::NotFound)
        }
        async fn ips(&self, _: &str) -> Result<Vec<IpAddr>, DnsError> {
            Err(DnsError::NotFound)
        }
    }

    fn outbound(policy: TransportPolicy, domains: &[(&str, Transport)]) -> Outbound<NoDns> {
        let routing = Routing {
            transport: policy,
            domain_transport: domains.iter().map(|(d, t)| (d.to_string(), *t)).collect(),
            ..Routing::default()
        };
        Outbound::new(NoDns, &routing, vec![Transport::Udp, Transport::Tcp])
    }

    fn target(o: &Outbound<NoDns>, uri: &str, inbound: Transport) -> LocateTarget {
        let uri = Uri::parse(uri).expect("URI");
        o.locate_target(uri.as_sip().expect("SIP URI"), inbound)
    }

    #[test]
    fn the_uri_decides_by_default() {
        let o = outbound(TransportPolicy::Rfc3263, &[]);
        let t = target(&o, "sip:bob@enst.fr", Transport::Tcp);
        assert_eq!(
            (t.host.as_str(), t.port, t.transport, t.secure),
            ("enst.fr", None, None, false)
        );
        let t = target(&o, "sips:bob@Enst.fr:5071;transport=tcp", Transport::Udp);
        assert_eq!(
            (t.host.as_str(), t.port, t.transport, t.secure),
            ("Enst.fr", Some(5071), Some(Transport::Tcp), true)
        );
        let t = target(&o, "sip:bob@enst.fr;maddr=[2001:db8::1]", Transport::Udp);
        assert_eq!(t.host, "2001:db8::1", "maddr wins over the host");
        let t = target(&o, "sip:bob@[2001:db8::2]:5062", Transport::Udp);
        assert_eq!((t.host.as_str(), t.port), ("2001:db8::2", Some(5062)));
    }

    #[test]
    fn the_policy_forces_the_transport() {
        let inbound = outbound(TransportPolicy::Inbound, &[]);
        let t = target(&inbound, "sip:bob@enst.fr;transport=udp", Transport::Tcp);
        assert_eq!(
            t.transport,
            Some(Transport::Tcp),
            "the transport it came in on"
        );
        let fixed = outbound(
            TransportPolicy::Fixed(Transport::Tcp),
            &[("falco.bz", Transport::Udp)],
        );
        assert_eq!(
            target(&fixed, "sip:bob@enst.fr", Transport::Udp).transport,
            Some(Transport::Tcp)
        );
        assert_eq!(
            target(&fixed, "sip:bob@FALCO.bz", Transport::Tcp).transport,
            Some(Transport::Udp),
            "a named domain's own transport first"
        );
    }

    #[test]
    fn a_503_s_retry_after_sets_how_long_a_server_is_tried_last() {
        let o = outbound(TransportPolicy::Rfc3263, &[]);
        let peer = |port| Peer::at(Transport::Udp, SocketAddr::from(([192, 0, 2, 1], port)));
        let hop = |port| Hop {
            transport: Transport::Udp,
            addr: SocketAddr::from(([192, 0, 2, 1], port)),
        };
        let now = Instant::now();
        o.unreachable(Unreachable {
            peer: peer(5060),
            retry_after: Some(Duration::from_secs(2)),
        });
        o.unreachable(Unreachable {
            peer: peer(5070),
            retry_after: None,
        });
        assert!(
            o.blocklist
                .is_blocked(&hop(5060), now + Duration::from_secs(1))
        );
        assert!(
            !o.blocklist
                .is_blocked(&hop(5060), now + Duration::from_secs(3))
        );
        assert!(
            o.blocklist
                .is_blocked(&hop(5070), now + Duration::from_secs(30)),
            "blocklist_ttl (60 s) without a Retry-After"
        );
    }

    #[tokio::test]
    async fn an_unknown_domain_is_404_and_a_non_sip_target_416() {
        let o = outbound(TransportPolicy::Rfc3263, &[]);
        let msg = sip_msg::Message::parse(bytes::Bytes::from_static(
            b"INVITE sip:bob@nowhere.test SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKx\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@nowhere.test>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
        ))
        .expect("parses");
        let req = RoutingRequest {
            id: sip_core::transaction::TransactionKey::for_request(&msg).expect("key"),
            message: msg,
            from: Peer::at(Transport::Udp, "192.0.2.9:5060".parse().expect("addr")),
            destination: sip_core::proxy::Destination::Foreign,
        };
        let code = |d: Decision| match d {
            Decision::Reply(r) => r.code,
            Decision::Relay(_) => 0,
        };
        assert_eq!(code(o.relay(&req, None).await), 404);
        assert_eq!(
            code(o.relay(&req, Some("mailto:bob@nowhere.test".into())).await),
            416
        );
    }
}
