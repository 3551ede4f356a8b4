//! Requests for other domains: where they go (RFC 3263 through DNS, ENUM for telephone
//! numbers), over which transport (the `[routing]` policy), and which servers failed
//! lately (the blocklist, shared by every transaction and shard).
//!
//! A destination that failed (a transport error, silence, a 503) is not dropped from
//! later answers: it is tried after the others until its entry expires. So one failed
//! call never makes every later call to that domain fail, and a server that comes back
//! is used again as soon as the healthy ones fail too.

use crate::config::{Routing, TransportPolicy};
use sip_core::proxy::{Decision, Peer, Reply, RoutingRequest, Target};
use sip_dns::{Blocklist, HickoryLookup, Hop, LocateError, LocateTarget, Locator, Lookup};
use sip_msg::{Host, SipUri, Transport, Uri};
use std::time::{Duration, Instant};

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
            (Some(r), _) => r.uri.as_str().to_owned(),
            (None, Some(uri)) => uri.clone(),
            (None, None) => req.message.request_uri_str().unwrap_or("").to_owned(),
        };
        let Some(target) = Uri::parse(&text).ok().and_then(|u| {
            u.as_sip()
                .map(|sip| self.locate_target(sip, req.from.transport))
        }) else {
            return reply(416, "Unsupported URI Scheme");
        };
        let hops = match self.locator.locate(&target).await {
            Ok(hops) if !hops.is_empty() => hops,
            Ok(_) | Err(LocateError::NotFound(_)) => {
                tracing::debug!("{}: no such domain", target.host);
                return reply(404, "Domain Not Found");
            }
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
            .map(|hop| Peer {
                transport: hop.transport,
                remote: hop.addr,
                local: None,
            });
        let Some(to) = peers.next() else {
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

    /// Notes that `peer` failed: later requests try it after the others for a while.
    pub fn unreachable(&self, peer: Peer) {
        let hop = Hop {
            transport: peer.transport,
            addr: peer.remote,
        };
        self.blocklist
            .block(hop, self.blocklist_ttl, Instant::now());
    }

    /// Forgets expired blocklist entries.
    pub fn purge(&self) {
        self.blocklist.purge(Instant::now());
    }
}

fn reply(code: u16, reason: &'static str) -> Decision {
    Decision::Reply(Reply::new(code, reason))
}
