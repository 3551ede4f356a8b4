//! The stateful proxy (RFC 3261 §16), sans-IO: SER's `tm`, `sl`, `rr` and `maxfwd`.
//!
//! [`Proxy::handle`] takes one received message with where it came from and the current
//! time; [`Proxy::poll_transmit`] hands out what to send and where, and
//! [`Proxy::poll_timeout`] / [`Proxy::handle_timeout`] drive the timers. Every request
//! that is not a retransmission gets a server transaction; each branch it is forwarded
//! on gets a client transaction. Responses come back through the branches and the best
//! one goes upstream (§16.7). CANCEL (§16.10), Timer C (§16.8) and the hop-by-hop ACK are
//! handled here; an ACK for a 2xx and stray responses are forwarded statelessly.
//!
//! New requests that no Route entry sends past us are handed up for a routing decision
//! ([`Proxy::poll_event`], [`Proxy::decide`]): that is where authentication, the
//! location service and DNS plug in.
//!
//! # Layout
//! - [`decision`]: the routing seam: [`RoutingRequest`] up, [`Decision`] down.
//! - [`routing`]: pure decisions: own URIs, next hop, loop detection.
//! - [`response`]: choosing the best final response among the branches.
//! - [`timers`]: the deadlines of every transaction, in a heap.

pub mod decision;
pub mod flow;
pub mod nat;
pub mod response;
pub mod routing;
pub mod timers;

#[cfg(test)]
mod tests;

use crate::domains::LocalDomains;
use crate::rescue::rescue_request;
use crate::sanity::{SUPPORTED_HEADER, check_request};
use crate::transaction::{
    ClientEvent, ClientTransaction, ServerTransaction, TimerConfig, TransactionKey,
    client::ClientState,
};
use bytes::Bytes;
pub use decision::{Decision, Destination, Reply, RoutingRequest, Target, default_decision};
use response::Best;
use routing::{
    FIXED_HASH, Interface, NextHop, is_loop, is_our_via, loop_hash, numeric_next_hop, route_uri,
};
use sip_msg::{HeaderName, Limits, Message, Method, ResponseBuilder, Transport, Uri};
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use timers::{TimerOwner, TimerQueue};

/// Methods a proxy lists in Allow when it answers for itself.
pub const ALLOWED_METHODS: &str =
    "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, PRACK, SUBSCRIBE, NOTIFY, REFER, MESSAGE";

/// How the proxy is set up.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Local domains and aliases.
    pub domains: LocalDomains,
    /// Listening interfaces, with what to advertise in Via and Record-Route.
    pub interfaces: Vec<Interface>,
    /// The Server / User-Agent value.
    pub server: String,
    /// T1, T2, T4.
    pub timers: TimerConfig,
    /// Timer C: how long an INVITE branch may ring (more than 3 minutes, §16.6 step 11).
    pub timer_c: Duration,
    /// Parsing limits.
    pub limits: Limits,
    /// Server transactions at work (not yet finished forwarding) at most; a new request
    /// beyond that gets 503 with Retry-After at once, without state (overload: memory
    /// stays bounded). Finished transactions that only linger for their timer are small
    /// and bounded by the request rate times Timer J.
    pub max_transactions: usize,
    /// How long a branch that has somewhere else to go (a [`Target::failover`]) waits for
    /// any response, even a 100, before it moves on (RFC 3263 §4.3). Timer B's 32 s would
    /// outlast the caller's patience.
    pub failover_timeout: Duration,
    /// User agents behind a NAT.
    pub nat: nat::NatConfig,
    /// The key of this server's flow tokens ([`flow`]); random for each process.
    pub flow_secret: [u8; 16],
}

impl ProxyConfig {
    /// A configuration with the RFC defaults.
    pub fn new(
        domains: impl Into<LocalDomains>,
        interfaces: Vec<Interface>,
        server: String,
    ) -> Self {
        ProxyConfig {
            domains: domains.into(),
            interfaces,
            server,
            timers: TimerConfig::default(),
            timer_c: Duration::from_secs(180),
            limits: Limits::default(),
            max_transactions: 262_144,
            failover_timeout: Duration::from_secs(4),
            nat: nat::NatConfig::default(),
            flow_secret: random_secret(),
        }
    }
}

/// 16 bytes from the OS's randomness, as std's hash maps seed themselves.
fn random_secret() -> [u8; 16] {
    use std::hash::BuildHasher;
    let state = std::collections::hash_map::RandomState::new();
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&state.hash_one(1u8).to_le_bytes());
    out[8..].copy_from_slice(&state.hash_one(2u8).to_le_bytes());
    out
}

/// Transactions by key. foldhash with a per-process random seed: the keys are long
/// strings (branch and sent-by) hashed several times per message, where SipHash cost
/// more than the rest of the lookup, and a random seed keeps their collisions out of a
/// sender's reach.
type TxMap<V> = HashMap<TransactionKey, V, foldhash::quality::RandomState>;

/// Where a message came from or goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// The transport.
    pub transport: Transport,
    /// The remote address.
    pub remote: SocketAddr,
    /// Our address it came in on (replies over UDP leave from that socket).
    pub local: Option<SocketAddr>,
}

/// A destination that failed: a transport error, silence, or a 503 (with the
/// Retry-After it gave, if any).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreachable {
    /// Where.
    pub peer: Peer,
    /// How long the server asked to be left alone (a 503's Retry-After).
    pub retry_after: Option<Duration>,
}

/// Bytes to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where.
    pub to: Peer,
    /// What.
    pub data: Bytes,
}

struct ServerSide {
    tx: ServerTransaction,
    upstream: Peer,
    final_sent: bool,
    /// What relaying the request needs. Dropped once the final response is out and every
    /// branch has its own: what lingers until Timer J or L only absorbs retransmissions
    /// (the transaction replays its last response), so that 32 s of finished calls cost
    /// a few hundred bytes each, not a copy of every request.
    work: Option<Box<Forwarding>>,
}

/// The forwarding state of a server transaction that is still at work.
struct Forwarding {
    request: Message,
    branches: Vec<TransactionKey>,
    best: Best,
    /// Our Route entries taken off the request (applied to every branch).
    edits: RouteEdits,
    /// Target groups still to try, in order (serial forking).
    serial: VecDeque<Vec<Target>>,
    /// CANCELled by the caller: no new branch is started.
    cancelled: bool,
}

impl ServerSide {
    fn new(tx: ServerTransaction, request: Message, upstream: Peer) -> ServerSide {
        ServerSide {
            tx,
            upstream,
            final_sent: false,
            work: Some(Box::new(Forwarding {
                request,
                branches: Vec::new(),
                best: Best::default(),
                edits: RouteEdits::default(),
                serial: VecDeque::new(),
                cancelled: false,
            })),
        }
    }

    fn branches(&self) -> &[TransactionKey] {
        self.work.as_ref().map_or(&[], |w| &w.branches)
    }
}

struct ClientSide {
    tx: ClientTransaction,
    server: TransactionKey,
    to: Peer,
    provisional: bool,
    done: bool,
    cancel: CancelState,
    timer_c: Option<Instant>,
    /// The same target's next destination, when this one fails.
    retry: Option<Box<Target>>,
    /// When to move on to `retry` if nothing at all was heard.
    failover_at: Option<Instant>,
}

impl ClientSide {
    /// When the branch needs the proxy next: its transaction's timers, Timer C, or the
    /// failover timeout.
    fn deadline(&self) -> Option<Instant> {
        [self.tx.poll_timeout(), self.timer_c, self.failover_at]
            .into_iter()
            .flatten()
            .min()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CancelState {
    None,
    /// Asked to cancel before any provisional: the CANCEL waits for one (§9.1).
    Pending,
    Sent,
}

/// The stateful proxy.
pub struct Proxy {
    cfg: ProxyConfig,
    servers: TxMap<ServerSide>,
    clients: TxMap<ClientSide>,
    /// CANCELs we sent: their transactions only absorb the responses.
    cancels: TxMap<(ClientTransaction, Peer)>,
    outbox: VecDeque<Transmit>,
    events: VecDeque<RoutingRequest>,
    /// Destinations that failed (for the caller's blocklist).
    unreachable: VecDeque<Unreachable>,
    timers: TimerQueue,
    /// Transactions changed since the last re-arm: their deadlines may have moved.
    touched: Vec<TimerOwner>,
    /// Server transactions that still hold their forwarding state (the ones
    /// `max_transactions` bounds; finished ones only linger, small, until their timer).
    working: usize,
    /// The domains that are addresses, parsed once.
    seq: u64,
}

impl Proxy {
    /// Creates the proxy at `now` (where its timers start counting).
    pub fn new(cfg: ProxyConfig, now: Instant) -> Self {
        Proxy {
            cfg,
            servers: TxMap::default(),
            clients: TxMap::default(),
            cancels: TxMap::default(),
            outbox: VecDeque::new(),
            events: VecDeque::new(),
            unreachable: VecDeque::new(),
            timers: TimerQueue::new(now),
            touched: Vec::new(),
            working: 0,
            seq: 0,
        }
    }

    fn forwarding(&mut self, key: &TransactionKey) -> Option<&mut Forwarding> {
        self.servers.get_mut(key)?.work.as_deref_mut()
    }

    /// How many server and client transactions are alive.
    pub fn transaction_count(&self) -> (usize, usize) {
        (self.servers.len(), self.clients.len() + self.cancels.len())
    }

    /// How many server transactions are still forwarding (the rest of
    /// [`Proxy::transaction_count`]'s first figure only linger for their timer).
    pub fn working_count(&self) -> usize {
        self.working
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.outbox.pop_front()
    }

    /// The next request waiting for a routing decision; answer it with
    /// [`Proxy::decide`].
    pub fn poll_event(&mut self) -> Option<RoutingRequest> {
        self.events.pop_front()
    }

    /// The next destination that failed (a transport error, a timeout or a 503), for a
    /// blocklist that steers later requests away from it.
    pub fn poll_unreachable(&mut self) -> Option<Unreachable> {
        self.unreachable.pop_front()
    }

    /// Applies the routing decision for a request from [`Proxy::poll_event`]. A decision
    /// for a transaction that is gone or already answered (CANCELled meanwhile, say) is
    /// dropped.
    pub fn decide(&mut self, id: &TransactionKey, decision: Decision, now: Instant) {
        self.apply_decision(id, decision, now);
        self.rearm();
    }

    fn apply_decision(&mut self, id: &TransactionKey, decision: Decision, now: Instant) {
        let Some(s) = self.servers.get_mut(id) else {
            return;
        };
        let final_sent = s.final_sent;
        let Some(w) = s
            .work
            .as_deref_mut()
            .filter(|w| !final_sent && w.branches.is_empty())
        else {
            return;
        };
        match decision {
            Decision::Reply(reply) => self.answer(id, &reply, now),
            Decision::Relay(groups) => {
                w.serial = groups.into_iter().filter(|g| !g.is_empty()).collect();
                if w.serial.is_empty() {
                    return self.answer(id, &Reply::new(480, "Temporarily Unavailable"), now);
                }
                self.next_serial_group(id, now);
            }
        }
    }

    /// Starts the next group of targets; false when none is left.
    fn next_serial_group(&mut self, id: &TransactionKey, now: Instant) -> bool {
        let Some(group) = self.forwarding(id).and_then(|w| w.serial.pop_front()) else {
            return false;
        };
        self.fork_more(id, group, now)
    }

    /// Starts more branches of a server transaction's request (the next serial group, a
    /// failover), unless it was cancelled or has its final response.
    fn fork_more(&mut self, id: &TransactionKey, targets: Vec<Target>, now: Instant) -> bool {
        let Some(s) = self.servers.get(id) else {
            return false;
        };
        let from = s.upstream;
        let Some(w) = s.work.as_deref().filter(|w| !w.cancelled && !s.final_sent) else {
            return false;
        };
        let (msg, edits) = (w.request.clone(), w.edits.clone());
        self.fork(id, &msg, &edits, targets, from, now);
        true
    }

    /// Reports that `data`, which this proxy emitted, could not be sent (no route, a
    /// refused or timed-out connection). A request fails its branch at once, as a 503
    /// would (RFC 3261 §16.7 step 4 via §8.1.3.1); a response fails its server
    /// transaction (§17.2.4). Anything else is ignored.
    pub fn send_failed(&mut self, data: Bytes, now: Instant) {
        self.fail_delivery(data, now);
        self.rearm();
    }

    fn fail_delivery(&mut self, data: Bytes, now: Instant) {
        let Ok(msg) = Message::parse(data) else {
            return;
        };
        if msg.is_request() {
            if msg.method() == Some(Method::Ack) {
                return;
            }
            let Ok(key) = client_key(&msg) else { return };
            if let Some(c) = self.clients.get_mut(&key) {
                c.tx.on_transport_error();
                self.drain_client(&key, now);
            } else if let Some((tx, _)) = self.cancels.get_mut(&key) {
                tx.on_transport_error();
                while tx.poll_event().is_some() {}
                self.touched.push(TimerOwner::Cancel(key));
            }
            return;
        }
        let Some(key) = TransactionKey::for_sent_response(&msg) else {
            return;
        };
        if let Some(s) = self.servers.get_mut(&key) {
            s.tx.on_transport_error();
            self.flush_server(&key);
        }
    }

    /// When [`Proxy::handle_timeout`] must run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Handles one received message.
    pub fn handle(&mut self, data: Bytes, from: Peer, now: Instant) {
        match Message::parse_with(data.clone(), &self.cfg.limits) {
            Ok(msg) => self.handle_message(msg, from, now),
            Err(e) => {
                if let Some(req) = rescue_request(&data) {
                    self.reply_stateless(&req, &Reply::from(e), from);
                }
            }
        }
    }

    /// Handles a message the caller already parsed (to pick a shard by Call-ID, say).
    pub fn handle_message(&mut self, msg: Message, from: Peer, now: Instant) {
        if msg.is_request() {
            self.on_request(msg, from, now)
        } else {
            self.on_response(msg, now)
        }
        self.rearm();
    }

    fn own_uri(&self, uri: &Uri<'_>) -> bool {
        uri.as_sip()
            .is_some_and(|u| self.cfg.domains.is_own_uri(u, &self.cfg.interfaces))
    }

    fn is_local_domain(&self, uri: &Uri<'_>) -> bool {
        uri.as_sip()
            .is_some_and(|u| self.cfg.domains.is_local_domain(u, &self.cfg.interfaces))
    }

    fn on_request(&mut self, msg: Message, from: Peer, now: Instant) {
        let Ok(key) = TransactionKey::for_request(&msg) else {
            if let Err(e) = msg.validate() {
                self.reply_stateless(&msg, &Reply::from(e), from);
            }
            return;
        };
        let method = msg.method();
        if let Some(server) = self.servers.get_mut(&key) {
            server.tx.on_request(method == Some(Method::Ack), now);
            self.flush_server(&key);
            return;
        }
        if method == Some(Method::Ack) {
            // An ACK for a 2xx: end to end, forwarded without a transaction.
            if check_request(&msg, false).is_ok()
                && let Ok(Routed::Next(edits, hop)) = self.route(&msg, from)
            {
                let target = Target::to_hop(hop);
                let data = self.forwarded(&msg, &edits, &target, from, false);
                let to = self.resolve_local(target.to);
                self.outbox.push_back(Transmit { to, data });
            }
            return;
        }
        if method == Some(Method::Cancel) {
            self.on_cancel(msg, key, from, now);
            return;
        }
        if self.working >= self.cfg.max_transactions {
            let busy = Reply::new(503, "Server Busy");
            let data = build_reply(
                &msg,
                &busy.header("Retry-After", "1"),
                from.remote,
                &self.cfg.server,
            );
            self.outbox.push_back(Transmit { to: from, data });
            return;
        }
        let for_us = msg.request_uri().is_some_and(|u| self.own_uri(&u))
            && msg.count(HeaderName::Route) == 0;
        let reliable = from.transport.is_stream();
        let invite = method == Some(Method::Invite);
        // Checked before the copy kept by the transaction is made: the headers parsed
        // while checking are then parsed for both.
        let checked = check_request(&msg, for_us);
        self.insert_server(
            key.clone(),
            ServerSide::new(
                ServerTransaction::new(invite, reliable, self.cfg.timers),
                msg.clone(),
                from,
            ),
        );
        if let Err(r) = checked {
            return self.answer(&key, &r, now);
        }
        if is_loop(&msg, &self.cfg.interfaces) {
            return self.answer(&key, &Reply::new(482, "Loop Detected"), now);
        }
        if invite {
            self.answer(&key, &Reply::new(100, "Trying"), now);
        }
        match self.route(&msg, from) {
            Err(r) => self.answer(&key, &r, now),
            Ok(Routed::Next(edits, hop)) => {
                self.fork(&key, &msg, &edits, vec![Target::to_hop(hop)], from, now)
            }
            Ok(Routed::Decide(mut edits, destination)) => {
                edits.consume_credentials = true;
                if let Some(w) = self.forwarding(&key) {
                    w.edits = edits;
                }
                self.events.push_back(RoutingRequest {
                    id: key,
                    message: msg,
                    from,
                    destination,
                });
            }
        }
    }

    /// Where a request goes: on to the next Route entry, or up for a decision about its
    /// target, with the edits (Route popping, strict-router fix-up) either way.
    fn route(&self, msg: &Message, from: Peer) -> Result<Routed, Reply> {
        let routes: Vec<_> = msg
            .routes()
            .collect::<Result<_, _>>()
            .map_err(Reply::from)?;
        let mut edits = RouteEdits::default();
        let mut rest = &routes[..];
        // Strict-router compatibility (§16.4): the Request-URI is a Record-Route value
        // of ours (no user part: a user at our address is a real target); the real
        // target is the last Route.
        if let (Some(uri), Some(last)) = (msg.request_uri(), routes.last())
            && self.own_uri(&uri)
            && uri.as_sip().is_some_and(|u| u.user.is_none() && !u.lr())
            && !rest.is_empty()
        {
            edits.request_uri = Some(last.uri.as_str().to_owned());
            edits.drop_last_route = true;
            rest = &rest[..rest.len() - 1];
        }
        // Our own entries at the top (two of them after a double Record-Route), one of
        // them perhaps with a flow token.
        let mut flow = None;
        while let Some(first) = rest.first() {
            if !self.own_uri(&first.uri) {
                break;
            }
            flow = flow.or_else(|| {
                let user = first.uri.as_sip()?.user?;
                flow::decode(user, &self.cfg.flow_secret)
            });
            edits.pop_routes += 1;
            rest = &rest[1..];
        }
        // Down the flow, unless the request came over it (then it is the UA's own).
        if let Some((transport, addr)) = flow
            && rest.is_empty()
            && (transport, addr) != (from.transport, from.remote)
        {
            return Ok(Routed::Next(edits, NextHop { transport, addr }));
        }
        if let Some(next) = rest.first() {
            if edits.pop_routes == 0 && !edits.drop_last_route {
                // A Route set that did not bring the request through us: whether we relay
                // it is policy, as for any foreign destination.
                return Ok(Routed::Decide(edits, Destination::Foreign));
            }
            let uri = route_uri(next)
                .ok_or_else(|| Reply::new(416, "Unsupported URI Scheme in Route"))?;
            let hop =
                numeric_next_hop(&uri).ok_or_else(|| Reply::new(503, "Next Hop Not Resolvable"))?;
            return Ok(Routed::Next(edits, hop));
        }
        let target = match &edits.request_uri {
            Some(_) => routes.last().map(|r| r.uri),
            None => msg.request_uri(),
        };
        let Some(target) = target else {
            return Err(Reply::new(400, "Bad Request-URI"));
        };
        // Max-Forwards 0 passed the sanity checks only as an OPTIONS for us (§16.3).
        let last_hop = msg.max_forwards().ok().flatten() == Some(0);
        let destination = if self.own_uri(&target)
            && (last_hop || target.as_sip().is_some_and(|u| u.user.is_none()))
        {
            Destination::Server
        } else if self.is_local_domain(&target) || self.own_uri(&target) {
            Destination::LocalDomain
        } else if !matches!(target, Uri::Sip(_) | Uri::Tel(_)) {
            return Err(Reply::new(416, "Unsupported URI Scheme"));
        } else if edits.pop_routes > 0
            && let Some(hop) = target.as_sip().and_then(|u| numeric_next_hop(u))
        {
            // Loose routing brought it here for an address: the previous hop chose it.
            return Ok(Routed::Next(edits, hop));
        } else {
            Destination::Foreign
        };
        Ok(Routed::Decide(edits, destination))
    }

    /// The interface a message to `remote` leaves from: the one bound to `local` when
    /// the caller chose the socket, else one of the transport and address family, on the
    /// loopback when the destination is.
    fn interface_for(
        &self,
        transport: Transport,
        remote: SocketAddr,
        local: Option<SocketAddr>,
    ) -> Option<&Interface> {
        let same =
            |i: &&Interface| i.transport == transport && i.bind.is_ipv4() == remote.is_ipv4();
        let ifaces = &self.cfg.interfaces;
        local
            .and_then(|l| ifaces.iter().filter(same).find(|i| i.bind == l))
            .or_else(|| {
                ifaces
                    .iter()
                    .filter(same)
                    .find(|i| i.bind.ip().is_loopback() == remote.ip().is_loopback())
            })
            .or_else(|| ifaces.iter().find(same))
    }

    /// Fills in the local socket of a destination that has none, when it is known.
    fn resolve_local(&self, to: Peer) -> Peer {
        if to.local.is_some() {
            return to;
        }
        Peer {
            local: self
                .interface_for(to.transport, to.remote, None)
                .filter(|i| !i.bind.ip().is_unspecified())
                .map(|i| i.bind),
            ..to
        }
    }

    /// Writes the forwarded request (§16.6): Route popping, the target's Request-URI and
    /// Route (Path), Max-Forwards, Record-Route, our Via, received/rport on the previous
    /// hop's Via.
    fn forwarded(
        &mut self,
        msg: &Message,
        edits: &RouteEdits,
        target: &Target,
        from: Peer,
        record_route: bool,
    ) -> Bytes {
        self.seq += 1;
        let to = target.to;
        let out_if = self.interface_for(to.transport, to.remote, to.local);
        let in_if = self.interface_for(from.transport, from.remote, from.local);
        let advertise = out_if.map_or("invalid", |i| i.advertise.as_str());
        // The loop hash goes first in our branches (§16.6 step 8), for `is_loop`.
        let branch = format!("z9hG4bK{:016x}{:x}", loop_hash(msg), self.seq);
        let mf = msg
            .max_forwards()
            .ok()
            .flatten()
            .unwrap_or(70)
            .saturating_sub(1);
        let mut e = msg.edit();
        e.set_via_received(from.remote.ip(), from.remote.port());
        e.remove_first_values(HeaderName::Route, edits.pop_routes);
        if edits.drop_last_route {
            // Only reached with a single Route line in practice; rebuild the list.
            e.remove_header(HeaderName::Route);
            let kept: Vec<&str> = msg.list(HeaderName::Route).skip(edits.pop_routes).collect();
            for r in kept.iter().take(kept.len().saturating_sub(1)) {
                e.add_header("Route", r);
            }
        }
        for r in &target.route {
            e.add_header("Route", r);
        }
        if edits.consume_credentials {
            self.consume_credentials(msg, &mut e);
        }
        // An outbound UA (RFC 5626: `ob` in its Contact) right behind us: our
        // Record-Route names its flow.
        let flow_user = if record_route && outbound_ua(msg) {
            format!("{}@", flow::encode(from, &self.cfg.flow_secret))
        } else {
            String::new()
        };
        let contact = self.reachable_contact(msg, from);
        if let Some(contact) = &contact {
            e.remove_header(HeaderName::Contact);
            e.add_header("Contact", contact);
        }
        if let Some(uri) = target.request_uri.as_ref().or(edits.request_uri.as_ref()) {
            e.set_request_uri(uri);
        }
        e.set_max_forwards(mf);
        if record_route {
            let rr = |i: &Interface, user: &str| {
                let t = if i.transport == Transport::Udp {
                    String::new()
                } else {
                    format!(";transport={}", i.transport.uri_token())
                };
                format!("<sip:{user}{}{t};lr>", i.advertise)
            };
            match (out_if, in_if) {
                (Some(o), Some(i)) if o != i => {
                    // The flow token goes in the entry facing the UA.
                    let (o, i) = (
                        rr(o, "").replace(";lr>", ";lr;r2=on>"),
                        rr(i, &flow_user).replace(";lr>", ";lr;r2=on>"),
                    );
                    e.push_record_route(&o).push_record_route(&i);
                }
                (Some(o), _) => {
                    e.push_record_route(&rr(o, &flow_user));
                }
                _ => {}
            }
        }
        e.push_via(&format!(
            "SIP/2.0/{} {advertise};branch={branch};rport",
            to.transport.via_token()
        ));
        e.to_bytes()
    }

    /// The Contact to put in place of a NATed sender's own (§ [`nat`]): in requests that
    /// set a dialog's remote target, and in their 18x and 2xx.
    fn reachable_contact(&self, msg: &Message, from: Peer) -> Option<String> {
        let cseq = msg.cseq().ok()?;
        let sets_target = match cseq.method {
            Method::Invite | Method::Subscribe | Method::Notify | Method::Refer => true,
            Method::Other => cseq.method_str.eq_ignore_ascii_case("UPDATE"),
            _ => false,
        };
        if !sets_target || !nat::behind_nat(msg, from, &self.cfg.nat) {
            return None;
        }
        nat::public_contact(msg, from)
    }

    /// A response from a branch, for upstream: our Via off, and a NATed callee's
    /// Contact made reachable.
    fn upstream_response(&self, resp: &Message, from: Peer) -> Bytes {
        let mut e = resp.edit();
        e.remove_top_via();
        if let Some(contact) = self.reachable_contact(resp, from) {
            e.remove_header(HeaderName::Contact);
            e.add_header("Contact", &contact);
        }
        e.to_bytes()
    }

    /// Takes off the Proxy-Authorization values whose realm is one of our domains, and
    /// keeps the others (credentials for proxies further on, §22.3).
    fn consume_credentials(&self, msg: &Message, e: &mut sip_msg::Editor<'_>) {
        let ours = |realm: &str| self.cfg.domains.contains(realm);
        let values: Vec<(&str, bool)> = msg
            .header_values(HeaderName::ProxyAuthorization)
            .map(|v| {
                let mine = sip_msg::headers::AuthValue::parse(v, HeaderName::ProxyAuthorization)
                    .ok()
                    .and_then(|a| a.realm())
                    .is_some_and(|r| ours(&r));
                (v, mine)
            })
            .collect();
        if !values.iter().any(|&(_, mine)| mine) {
            return;
        }
        e.remove_header(HeaderName::ProxyAuthorization);
        for (v, _) in values.iter().filter(|&&(_, mine)| !mine) {
            e.add_header("Proxy-Authorization", v);
        }
    }

    /// Starts one client transaction per target (parallel forking, §16.6).
    fn fork(
        &mut self,
        key: &TransactionKey,
        msg: &Message,
        edits: &RouteEdits,
        targets: Vec<Target>,
        from: Peer,
        now: Instant,
    ) {
        let dialog_creating = matches!(
            msg.method(),
            Some(Method::Invite | Method::Subscribe | Method::Refer | Method::Notify)
        ) && msg.to().is_ok_and(|t| t.tag().is_none());
        let invite = msg.method() == Some(Method::Invite);
        for target in targets {
            let data = self.forwarded(msg, edits, &target, from, dialog_creating);
            let Ok(out) = Message::parse(data) else {
                continue;
            };
            let Ok(branch_key) = client_key(&out) else {
                continue;
            };
            let to = self.resolve_local(target.to);
            let retry = target.next_destination().map(Box::new);
            let failover_at = retry.as_ref().map(|_| now + self.cfg.failover_timeout);
            let mut tx =
                ClientTransaction::new(out, to.transport.is_stream(), self.cfg.timers, now);
            while let Some(data) = tx.poll_transmit() {
                self.outbox.push_back(Transmit { to, data });
            }
            self.clients.insert(
                branch_key.clone(),
                ClientSide {
                    tx,
                    server: key.clone(),
                    to,
                    provisional: false,
                    done: false,
                    cancel: CancelState::None,
                    timer_c: invite.then(|| now + self.cfg.timer_c),
                    retry,
                    failover_at,
                },
            );
            self.touched.push(TimerOwner::Client(branch_key.clone()));
            if let Some(w) = self.forwarding(key) {
                w.branches.push(branch_key);
            }
        }
    }

    fn on_cancel(&mut self, msg: Message, key: TransactionKey, from: Peer, now: Instant) {
        let invite_key = key.with_method("INVITE");
        let found = self.servers.get(&invite_key).is_some_and(|s| !s.final_sent);
        self.insert_server(
            key.clone(),
            ServerSide::new(
                ServerTransaction::new(false, from.transport.is_stream(), self.cfg.timers),
                msg,
                from,
            ),
        );
        if !found {
            return self.answer(
                &key,
                &Reply::new(481, "Call/Transaction Does Not Exist"),
                now,
            );
        }
        self.answer(&key, &Reply::new(200, "OK"), now);
        let Some(invite) = self.forwarding(&invite_key) else {
            return;
        };
        invite.cancelled = true;
        let branches = invite.branches.clone();
        let live = branches
            .iter()
            .any(|b| self.clients.get(b).is_some_and(|c| !c.done));
        if !live {
            // Still waiting for its routing decision, or between two serial groups.
            return self.answer(&invite_key, &Reply::new(487, "Request Terminated"), now);
        }
        for b in branches {
            self.cancel_branch(&b, now);
        }
    }

    fn cancel_branch(&mut self, key: &TransactionKey, now: Instant) {
        let Some(c) = self.clients.get_mut(key) else {
            return;
        };
        if c.done || c.cancel == CancelState::Sent {
            return;
        }
        if !c.provisional {
            c.cancel = CancelState::Pending;
            return;
        }
        c.cancel = CancelState::Sent;
        let to = c.to;
        let Some(cancel) = c.tx.request().and_then(cancel_for) else {
            return;
        };
        let Ok(cancel) = Message::parse(cancel) else {
            return;
        };
        let Ok(ckey) = client_key(&cancel) else {
            return;
        };
        let mut tx = ClientTransaction::new(cancel, to.transport.is_stream(), self.cfg.timers, now);
        while let Some(data) = tx.poll_transmit() {
            self.outbox.push_back(Transmit { to, data });
        }
        self.touched.push(TimerOwner::Cancel(ckey.clone()));
        self.cancels.insert(ckey, (tx, to));
    }

    fn on_response(&mut self, msg: Message, now: Instant) {
        let Ok(key) = TransactionKey::for_response(&msg) else {
            return;
        };
        if let Some((tx, to)) = self.cancels.get_mut(&key) {
            tx.on_response(msg, now);
            let to = *to;
            while let Some(data) = tx.poll_transmit() {
                self.outbox.push_back(Transmit { to, data });
            }
            while tx.poll_event().is_some() {}
            self.touched.push(TimerOwner::Cancel(key));
            return;
        }
        if let Some(c) = self.clients.get_mut(&key) {
            c.tx.on_response(msg, now);
            self.drain_client(&key, now);
            return;
        }
        self.forward_stray(&msg);
    }

    /// A response that matches no transaction goes on by its Via when the top Via is
    /// ours (§16.7, §18.2.2), e.g. a 2xx retransmission after our transaction ended.
    fn forward_stray(&mut self, msg: &Message) {
        let mut vias = msg.vias();
        let Some(Ok(top)) = vias.next() else { return };
        if !is_our_via(&top, &self.cfg.interfaces) {
            return;
        }
        let Some(Ok(next)) = vias.next() else { return };
        let Some(to) = via_destination(&next) else {
            return;
        };
        let data = msg.edit().remove_top_via().to_bytes();
        let to = self.resolve_local(to);
        self.outbox.push_back(Transmit { to, data });
    }

    fn drain_client(&mut self, key: &TransactionKey, now: Instant) {
        self.touched.push(TimerOwner::Client(key.clone()));
        loop {
            let Some(c) = self.clients.get_mut(key) else {
                return;
            };
            let to = c.to;
            while let Some(data) = c.tx.poll_transmit() {
                self.outbox.push_back(Transmit { to, data });
            }
            let Some(event) = c.tx.poll_event() else {
                return;
            };
            let server = c.server.clone();
            match event {
                ClientEvent::Response(resp) => self.branch_response(&server, key, resp, now),
                ClientEvent::Timeout => {
                    self.branch_failed(&server, key, 408, "Request Timeout", now)
                }
                ClientEvent::TransportError => {
                    self.branch_failed(&server, key, 503, "Service Unavailable", now)
                }
            }
        }
    }

    fn branch_response(
        &mut self,
        server: &TransactionKey,
        key: &TransactionKey,
        resp: Message,
        now: Instant,
    ) {
        let Some(code) = resp.status() else { return };
        let Some(c) = self.clients.get_mut(key) else {
            return;
        };
        c.failover_at = None;
        if code == 503 {
            // RFC 3261 §21.5.4: its Retry-After says for how long.
            let retry_after = resp
                .retry_after()
                .ok()
                .flatten()
                .map(|r| Duration::from_secs(u64::from(r.seconds)));
            self.unreachable.push_back(Unreachable {
                peer: c.to,
                retry_after,
            });
            if self.fail_over(server, key, now) {
                return;
            }
        }
        let Some(c) = self.clients.get_mut(key) else {
            return;
        };
        let branch_peer = c.to;
        if code < 200 {
            if code > 100 {
                c.timer_c = c.timer_c.map(|_| now + self.cfg.timer_c);
            }
            c.provisional = true;
            if c.cancel == CancelState::Pending {
                self.cancel_branch(key, now);
            }
            if code > 100 {
                let data = self.upstream_response(&resp, branch_peer);
                self.send_upstream(server, code, data, now);
            }
            return;
        }
        c.done = true;
        c.timer_c = None;
        if (200..300).contains(&code) {
            if let Some(s) = self.servers.get_mut(server) {
                s.final_sent = true;
            }
            let data = self.upstream_response(&resp, branch_peer);
            self.send_upstream(server, code, data, now);
            self.cancel_others(server, key, now);
            return;
        }
        if code >= 600 {
            self.cancel_others(server, key, now);
        }
        let data = resp.edit().remove_top_via().to_bytes();
        if let Some(w) = self.forwarding(server) {
            w.best.offer(code, Some(data));
        }
        self.maybe_finish(server, now);
    }

    fn branch_failed(
        &mut self,
        server: &TransactionKey,
        key: &TransactionKey,
        code: u16,
        _reason: &str,
        now: Instant,
    ) {
        if let Some(c) = self.clients.get_mut(key) {
            c.done = true;
            c.timer_c = None;
            self.unreachable.push_back(Unreachable {
                peer: c.to,
                retry_after: None,
            });
        }
        if self.fail_over(server, key, now) {
            return;
        }
        if let Some(w) = self.forwarding(server) {
            w.best.offer(code, None);
        }
        self.maybe_finish(server, now);
    }

    /// Sends a failed branch's request to its target's next destination, as a new client
    /// transaction (RFC 3263 §4.3), unless it has none or the caller cancelled.
    fn fail_over(&mut self, server: &TransactionKey, key: &TransactionKey, now: Instant) -> bool {
        let Some(c) = self.clients.get_mut(key) else {
            return false;
        };
        let Some(next) = c.retry.take() else {
            return false;
        };
        c.done = true;
        c.timer_c = None;
        c.failover_at = None;
        self.fork_more(server, vec![*next], now)
    }

    fn cancel_others(&mut self, server: &TransactionKey, except: &TransactionKey, now: Instant) {
        let branches = self
            .servers
            .get(server)
            .map(|s| s.branches().to_vec())
            .unwrap_or_default();
        for b in branches.iter().filter(|b| *b != except) {
            self.cancel_branch(b, now);
        }
    }

    /// Sends the best final response once every branch has one (§16.7 step 6).
    fn maybe_finish(&mut self, server: &TransactionKey, now: Instant) {
        let Some(s) = self.servers.get(server) else {
            return;
        };
        let Some(w) = s.work.as_deref().filter(|_| !s.final_sent) else {
            return;
        };
        if !w
            .branches
            .iter()
            .all(|b| self.clients.get(b).is_none_or(|c| c.done))
        {
            return;
        }
        // Serial forking: the next group, unless a 6xx said nobody will answer.
        if w.best.code().is_none_or(|c| c < 600) && self.next_serial_group(server, now) {
            return;
        }
        let Some((code, data)) = self.forwarding(server).and_then(|w| w.best.take()) else {
            return;
        };
        match data {
            // A 503 from downstream becomes 500 upstream (§16.7 step 6).
            Some(_) if code == 503 => {
                self.answer(server, &Reply::new(500, "Server Internal Error"), now)
            }
            Some(data) => self.send_upstream(server, code, data, now),
            None => {
                let r = if code == 408 {
                    Reply::new(408, "Request Timeout")
                } else {
                    Reply::new(500, "Server Internal Error")
                };
                self.answer(server, &r, now)
            }
        }
        if let Some(s) = self.servers.get_mut(server) {
            s.final_sent = true;
        }
    }

    fn send_upstream(&mut self, server: &TransactionKey, code: u16, data: Bytes, now: Instant) {
        if let Some(s) = self.servers.get_mut(server) {
            s.tx.send_response(code, data, now);
            if code >= 200 {
                s.final_sent = true;
            }
        }
        self.flush_server(server);
    }

    /// Answers a request from its server transaction.
    fn answer(&mut self, key: &TransactionKey, r: &Reply, now: Instant) {
        let Some(s) = self.servers.get_mut(key) else {
            return;
        };
        let Some(w) = s.work.as_deref() else { return };
        let data = build_reply(&w.request, r, s.upstream.remote, &self.cfg.server);
        let stateless =
            r.code >= 200 && w.branches.is_empty() && w.request.method() != Some(Method::Invite);
        s.tx.send_response(r.code, data, now);
        if r.code >= 200 {
            s.final_sent = true;
        }
        self.flush_server(key);
        if stateless {
            // Our own final answer to a non-INVITE request leaves no state behind, as a
            // stateless UAS (RFC 3261 §8.2.7; SER's sl_send_reply): a retransmission is
            // answered by running it again. Keeping the transaction for Timer J (32 s
            // over UDP) would hold a million REGISTERs at 30 000 a second.
            self.remove_server(key);
        }
    }

    fn reply_stateless(&mut self, req: &Message, r: &Reply, to: Peer) {
        if req.method() == Some(Method::Ack) {
            return;
        }
        let data = build_reply(req, r, to.remote, &self.cfg.server);
        self.outbox.push_back(Transmit { to, data });
    }

    fn flush_server(&mut self, key: &TransactionKey) {
        self.touched.push(TimerOwner::Server(key.clone()));
        let Some(s) = self.servers.get_mut(key) else {
            return;
        };
        let to = s.upstream;
        while let Some(data) = s.tx.poll_transmit() {
            self.outbox.push_back(Transmit { to, data });
        }
        while s.tx.poll_event().is_some() {}
    }

    /// Fires due timers and forgets finished transactions.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(owner) = self.timers.pop_due(now) {
            match owner {
                TimerOwner::Server(k) => {
                    if let Some(s) = self.servers.get_mut(&k)
                        && s.tx.poll_timeout().is_some_and(|t| t <= now)
                    {
                        s.tx.handle_timeout(now);
                    }
                    self.flush_server(&k);
                }
                TimerOwner::Client(k) => self.client_timeout(k, now),
                TimerOwner::Cancel(k) => {
                    if let Some((tx, to)) = self.cancels.get_mut(&k) {
                        if tx.poll_timeout().is_some_and(|t| t <= now) {
                            tx.handle_timeout(now);
                        }
                        while let Some(data) = tx.poll_transmit() {
                            self.outbox.push_back(Transmit { to: *to, data });
                        }
                        while tx.poll_event().is_some() {}
                    }
                    self.touched.push(TimerOwner::Cancel(k));
                }
            }
        }
        self.rearm();
    }

    /// A branch's timers: its transaction's, then Timer C, which cancels a branch that
    /// rang too long, or times it out if it never rang (§16.8).
    fn client_timeout(&mut self, k: TransactionKey, now: Instant) {
        let Some(c) = self.clients.get_mut(&k) else {
            return;
        };
        if c.tx.poll_timeout().is_some_and(|t| t <= now) {
            c.tx.handle_timeout(now);
            self.drain_client(&k, now);
        }
        if let Some(c) = self.clients.get_mut(&k)
            && c.failover_at.is_some_and(|t| t <= now)
        {
            // Nothing heard from this destination: on to the next one.
            c.failover_at = None;
            c.tx.abandon();
            let server = c.server.clone();
            self.branch_failed(&server, &k, 408, "Request Timeout", now);
        }
        if let Some(c) = self.clients.get_mut(&k)
            && c.timer_c.is_some_and(|t| t <= now)
        {
            c.timer_c = None;
            let server = c.server.clone();
            if c.provisional {
                self.cancel_branch(&k, now);
            } else {
                self.branch_failed(&server, &k, 408, "Request Timeout", now);
            }
        }
        self.touched.push(TimerOwner::Client(k));
    }

    /// Queues the new deadline of every transaction touched since the last call, and
    /// forgets the ones that are over (a server transaction once its branches are too).
    fn rearm(&mut self) {
        while let Some(owner) = self.touched.pop() {
            let deadline = match &owner {
                TimerOwner::Server(k) => {
                    self.settle_server(k);
                    self.servers.get(k).and_then(|s| s.tx.poll_timeout())
                }
                TimerOwner::Client(k) => match self.clients.get(k) {
                    // A branch answered 2xx has nothing left to do here: the 2xx
                    // retransmissions that Timer M would pass on go up by Via anyway
                    // (forward_stray), as RFC 3261 had it. Not keeping it for 32 s
                    // halves the state a call leaves behind.
                    Some(c)
                        if c.tx.is_terminated()
                            || (c.done && c.tx.state() == ClientState::Accepted) =>
                    {
                        let server = c.server.clone();
                        self.clients.remove(k);
                        self.settle_server(&server);
                        None
                    }
                    Some(c) => {
                        let deadline = c.deadline();
                        if c.done {
                            let server = c.server.clone();
                            self.settle_server(&server);
                        }
                        deadline
                    }
                    None => None,
                },
                TimerOwner::Cancel(k) => match self.cancels.get(k) {
                    Some((tx, _)) if tx.is_terminated() => {
                        self.cancels.remove(k);
                        None
                    }
                    Some((tx, _)) => tx.poll_timeout(),
                    None => None,
                },
            };
            if let Some(at) = deadline {
                self.timers.arm(at, owner);
            }
        }
        self.compact_timers();
    }

    /// Rebuilds the timer queue from the live transactions once stale entries (left by
    /// transactions that moved on or ended: an INVITE branch's Timer C entry stays 3
    /// minutes) outnumber them, so that the queue, and the keys its entries hold, stay
    /// in proportion to the transactions. Amortized: a rebuild follows at least as many
    /// pushes as it keeps.
    fn compact_timers(&mut self) {
        let live = self.servers.len() + self.clients.len() + self.cancels.len();
        if self.timers.len() <= 2 * live + 4096 {
            return;
        }
        let mut fresh = TimerQueue::new(self.timers.origin());
        for (k, s) in &self.servers {
            if let Some(at) = s.tx.poll_timeout() {
                fresh.arm(at, TimerOwner::Server(k.clone()));
            }
        }
        for (k, c) in &self.clients {
            if let Some(at) = c.deadline() {
                fresh.arm(at, TimerOwner::Client(k.clone()));
            }
        }
        for (k, (tx, _)) in &self.cancels {
            if let Some(at) = tx.poll_timeout() {
                fresh.arm(at, TimerOwner::Cancel(k.clone()));
            }
        }
        self.timers = fresh;
    }

    /// Forgets a terminated server transaction once none of its branches is left, and
    /// drops the forwarding state of one that has nothing left to forward: its final
    /// response is out and every branch has a final response of its own.
    fn settle_server(&mut self, key: &TransactionKey) {
        let Some(s) = self.servers.get(key) else {
            return;
        };
        let clients = &self.clients;
        let branches = s.branches();
        if s.tx.is_terminated() && !branches.iter().any(|b| clients.contains_key(b)) {
            self.remove_server(key);
        } else if s.final_sent
            && s.work.is_some()
            && branches
                .iter()
                .all(|b| clients.get(b).is_none_or(|c| c.done))
            && let Some(s) = self.servers.get_mut(key)
        {
            s.work = None;
            self.working -= 1;
        }
    }

    fn insert_server(&mut self, key: TransactionKey, server: ServerSide) {
        if let Some(old) = self.servers.insert(key, server)
            && old.work.is_some()
        {
            self.working -= 1;
        }
        self.working += 1;
    }

    fn remove_server(&mut self, key: &TransactionKey) {
        if let Some(old) = self.servers.remove(key)
            && old.work.is_some()
        {
            self.working -= 1;
        }
    }
}

/// Whether `msg` comes straight from a UA that uses RFC 5626 outbound (one Via, `ob` in
/// its Contact URI).
fn outbound_ua(msg: &Message) -> bool {
    msg.vias().nth(1).is_none()
        && msg.contacts().flatten().any(|c| match c {
            sip_msg::headers::Contact::Addr(a) => {
                a.uri.as_sip().is_some_and(|u| u.params.has("ob"))
            }
            sip_msg::headers::Contact::Star => false,
        })
}

/// Where [`Proxy::route`] sends a request.
enum Routed {
    /// On to the next hop: a Route entry past ours.
    Next(RouteEdits, NextHop),
    /// Up for a routing decision about its target.
    Decide(RouteEdits, Destination),
}

/// What routing changes in the request before it is forwarded.
#[derive(Debug, Default, Clone)]
struct RouteEdits {
    pop_routes: usize,
    drop_last_route: bool,
    request_uri: Option<String>,
    /// Remove the Proxy-Authorization credentials for our realms: they were meant for
    /// us, and the next hops have no use for them (Kamailio's `consume_credentials`).
    consume_credentials: bool,
}

fn client_key(out: &Message) -> Result<TransactionKey, sip_msg::ParseError> {
    let via = out.top_via()?;
    Ok(TransactionKey::for_client(
        via.branch().unwrap_or(""),
        out.method_str().unwrap_or(""),
    ))
}

/// The CANCEL for a request we sent (§9.1): same Request-URI, Call-ID, From, To, CSeq
/// number, Route, and our Via only.
fn cancel_for(req: &Message) -> Option<Bytes> {
    let via = req.list(HeaderName::Via).next()?;
    let mut s = format!(
        "CANCEL {} SIP/2.0\r\nVia: {via}\r\n",
        req.request_uri_str()?
    );
    for r in req.header_values(HeaderName::Route) {
        s.push_str(&format!("Route: {r}\r\n"));
    }
    s.push_str(&format!(
        "From: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {} CANCEL\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        req.header(HeaderName::From)?,
        req.header(HeaderName::To)?,
        req.header(HeaderName::CallId)?,
        req.cseq().ok()?.seq
    ));
    Some(Bytes::from(s))
}

/// Where a response goes by this Via (§18.2.2, RFC 3581): received/rport, else sent-by.
fn via_destination(via: &sip_msg::headers::Via<'_>) -> Option<Peer> {
    let transport = via.transport()?;
    let ip = via.received().or_else(|| via.host.ip())?;
    let port = via.rport().flatten().unwrap_or(via.sent_by_port());
    Some(Peer {
        transport,
        remote: SocketAddr::new(ip, port),
        local: None,
    })
}

/// The response `r` to `req`, built without a transaction: To tag derived from the
/// request, Via with received/rport for `source`, the Server header `server`. For
/// answers given before any state exists (overload shedding, say).
pub fn build_reply(req: &Message, r: &Reply, source: SocketAddr, server: &str) -> Bytes {
    let tag = to_tag(req);
    let mut b = ResponseBuilder::new(req, r.code, &r.reason)
        .to_tag(tag.as_str())
        .received_from(source)
        .header("Server", server);
    for (name, value) in &r.headers {
        b = b.header(name, value);
    }
    if r.code == 405 || r.code == 501 || (r.code == 200 && req.method() == Some(Method::Options)) {
        b = b
            .header("Allow", ALLOWED_METHODS)
            .header("Supported", SUPPORTED_HEADER);
    }
    b.build()
}

/// A To tag derived from the request, so that a retransmitted request answered without
/// state gets the same tag (RFC 3261 §8.2.6.2).
fn to_tag(msg: &Message) -> HexTag {
    // The texts as received (a retransmission repeats them byte for byte), not their
    // parsed tag and branch: no parameter walk per answer.
    let mut h = FIXED_HASH.build_hasher();
    msg.header(HeaderName::CallId).hash(&mut h);
    msg.header(HeaderName::From).hash(&mut h);
    msg.top_via().ok().map(|v| v.raw).hash(&mut h);
    HexTag::new(h.finish())
}

/// A 64-bit value as 16 lower-case hex digits, on the stack.
struct HexTag([u8; 16]);

impl HexTag {
    fn new(mut n: u64) -> HexTag {
        let mut digits = [b'0'; 16];
        for d in digits.iter_mut().rev() {
            *d = b"0123456789abcdef"[(n & 0xf) as usize];
            n >>= 4;
        }
        HexTag(digits)
    }

    fn as_str(&self) -> &str {
        // Only hex digits are written.
        std::str::from_utf8(&self.0).unwrap_or("0")
    }
}
