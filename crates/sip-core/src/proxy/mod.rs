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
//! This file holds the data (the proxy, its transactions' state) and the public entry
//! points; the work is done in rooms, each an `impl Proxy` with one role:
//! - `server_side`: a request arrives, gets its server transaction, and is answered.
//! - `forward`: where a request goes, and the copy each branch sends.
//! - `branches`: forking, the branches' responses, failover, finishing.
//! - `cancel`: CANCEL and the CANCELs we send.
//! - `timeouts`: firing due timers and re-arming them.
//! - `peers`: our URIs and domains, our interfaces, where a response goes.
//!
//! And the pure parts they use:
//! - [`decision`]: the routing seam: [`RoutingRequest`] up, [`Decision`] down.
//! - [`routing`]: pure decisions: next hop, Route handling, loop detection.
//! - [`response`]: choosing the best final response among the branches.
//! - [`timers`]: the deadlines of every transaction, in a timing wheel.
//! - [`flow`]: RFC 5626 flow tokens; [`nat`]: NAT detection and fix-ups.

pub mod decision;
pub mod flow;
pub mod nat;
pub mod response;
pub mod routing;
pub mod timers;

mod branches;
mod cancel;
mod forward;
mod peers;
mod server_side;
mod timeouts;

pub use server_side::build_reply;

#[cfg(test)]
mod tests;

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
use sip_msg::LocalDomains;
use sip_msg::{HeaderName, Limits, Message, Method, ResponseBuilder, Transport, Uri};
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use timers::TimerQueue;

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
    /// The stream connection it came on, as the transport named it: what is sent back
    /// to this peer (the responses of its transactions) goes down that connection,
    /// which a peer that does not listen (a browser's WebSocket, a phone behind a NAT)
    /// can only be reached through. `None` for datagrams and for destinations chosen by
    /// address.
    pub conn: Option<ConnectionId>,
}

impl Peer {
    /// A destination chosen by transport and address (no socket or connection of ours
    /// picked yet).
    pub fn at(transport: Transport, remote: SocketAddr) -> Peer {
        Peer {
            transport,
            remote,
            local: None,
            conn: None,
        }
    }
}

/// The transport's name for one of its stream connections, opaque to the proxy: handed
/// up with each message that came on it ([`Peer::conn`]) and handed back down with what
/// is sent to that peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

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
    /// The transaction that sends it, named back in [`Proxy::send_failed`] when the
    /// transport cannot deliver it; `None` for what goes on without a transaction (an
    /// ACK for a 2xx, a stray 2xx, a stateless answer).
    pub owner: Option<Owner>,
}

/// One of this proxy's transactions: whose deadline a timer is, whose message a
/// [`Transmit`] carries.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Owner {
    /// A server transaction.
    Server(TransactionKey),
    /// A client transaction (a branch), including its Timer C.
    Client(TransactionKey),
    /// A CANCEL we sent.
    Cancel(TransactionKey),
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
    touched: Vec<Owner>,
    /// Server transactions that still hold their forwarding state (the ones
    /// `max_transactions` bounds; finished ones only linger, small, until their timer).
    working: usize,
    /// Requests forwarded so far: part of each branch id.
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

    /// Reports that a message sent by `owner` ([`Transmit::owner`]) could not be
    /// delivered (no route, a refused or timed-out connection). A branch fails at once,
    /// as on a 503 (RFC 3261 §16.7 step 4 via §8.1.3.1); a server transaction whose
    /// response was lost fails too (§17.2.4).
    pub fn send_failed(&mut self, owner: &Owner, now: Instant) {
        self.fail_delivery(owner, now);
        self.rearm();
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
