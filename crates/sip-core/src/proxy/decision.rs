//! The seam between the proxy core and the routing logic above it.
//!
//! The core does what the RFC obliges a proxy to do whatever its policy: sanity checks,
//! transactions, Max-Forwards, loops, CANCEL, loose routing of requests that carry a Route
//! past us. Every other new request is handed up as a [`RoutingRequest`] (SER's
//! `route{}` block, Kamailio's `request_route`): the layer above authenticates it, looks
//! the user up, resolves the domain, and answers with a [`Decision`] through
//! [`super::Proxy::decide`]. Meanwhile the server transaction absorbs retransmissions and
//! a CANCEL still works, so the decision may take a database round trip.

use super::Peer;
use super::routing::NextHop;
use crate::transaction::TransactionKey;
use sip_msg::{Message, Method};

/// A new request waiting for a routing decision.
#[derive(Debug, Clone)]
pub struct RoutingRequest {
    /// Which server transaction the decision is for.
    pub id: TransactionKey,
    /// The request as received.
    pub message: Message,
    /// Where it came from.
    pub from: Peer,
    /// What its target is, once our own Route entries are taken off.
    pub destination: Destination,
}

/// What the Request-URI of a request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// This server itself (one of its addresses and ports, no user part needed).
    Server,
    /// A user in one of our domains.
    LocalDomain,
    /// Somewhere else.
    Foreign,
}

pub use crate::reply::Reply;

/// What to do with a [`RoutingRequest`].
#[derive(Debug, Clone)]
pub enum Decision {
    /// Answer it ourselves.
    Reply(Reply),
    /// Forward it. The outer list is tried in order (serial forking, by falling q); the
    /// targets of one group are tried at once (parallel forking). An empty list is 480.
    Relay(Vec<Vec<Target>>),
}

/// One branch of a relayed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The new Request-URI (a registered Contact), or `None` to keep the request's.
    pub request_uri: Option<String>,
    /// Route entries to put on top (a binding's Path, RFC 3327).
    pub route: Vec<String>,
    /// Where to send it: transport, address, and the local socket when it matters (a
    /// binding is reached from the socket it registered on).
    pub to: Peer,
    /// Where to send it next, in order, when `to` fails: a transport error, no answer
    /// within [`super::ProxyConfig::failover_timeout`], or a 503 (RFC 3263 §4.3). Each
    /// try is a new client transaction of the same branch slot.
    pub failover: Vec<Peer>,
}

impl Target {
    /// A branch to `hop`, Request-URI unchanged.
    pub fn to_hop(hop: NextHop) -> Target {
        Target {
            request_uri: None,
            route: Vec::new(),
            to: Peer::at(hop.transport, hop.addr),
            failover: Vec::new(),
        }
    }

    /// The same target sent to its next failover destination, if it has one.
    pub fn next_destination(&self) -> Option<Target> {
        let (&to, rest) = self.failover.split_first()?;
        Some(Target {
            request_uri: self.request_uri.clone(),
            route: self.route.clone(),
            to,
            failover: rest.to_vec(),
        })
    }
}

/// What a proxy with no location service or DNS decides: OPTIONS to the server is
/// answered 200, REGISTER and unknown methods 501, other requests for the server or a
/// local user 404; a foreign destination (the top Route when the request carries one,
/// else the Request-URI) naming an IP address and port is relayed there when
/// `relay_ip_literals` allows it, else 403 (no open relay); a telephone number gets 404
/// (ENUM comes with the DNS resolver).
pub fn default_decision(req: &RoutingRequest, relay_ip_literals: bool) -> Decision {
    let reply = |code, reason| Decision::Reply(Reply::new(code, reason));
    let method = req.message.method();
    match req.destination {
        Destination::Server if method == Some(Method::Options) => reply(200, "OK"),
        Destination::Server | Destination::LocalDomain
            if matches!(method, Some(Method::Register | Method::Other)) =>
        {
            reply(501, "Not Implemented")
        }
        Destination::Server | Destination::LocalDomain => reply(404, "Not Found"),
        Destination::Foreign => {
            let route = req.message.routes().next().and_then(Result::ok);
            let uri = match &route {
                Some(r) => Some(r.uri),
                None => req.message.request_uri(),
            };
            let Some(sip) = uri.as_ref().and_then(|u| u.as_sip()) else {
                return reply(404, "Not Found");
            };
            match super::routing::numeric_next_hop(sip) {
                Some(hop) if relay_ip_literals => Decision::Relay(vec![vec![Target::to_hop(hop)]]),
                _ => reply(403, "Relaying Denied"),
            }
        }
    }
}
