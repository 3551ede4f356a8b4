//! The bridge from the transport layer to the sans-IO proxy.
//!
//! The proxy's state is split into shards, one task each, chosen by a hash of the
//! Call-ID: every message of a call (requests, responses, CANCEL, ACK) meets the same
//! transactions, and no lock is taken per message. A receive task parses the message,
//! picks the shard and hands it over on a bounded queue; the shard task runs the proxy,
//! its timers, and sends what the proxy emits.
//!
//! New requests go to the [`Router`] for a decision. When it can decide at once (the
//! location table is in memory) the shard applies it in the same turn; when it must wait
//! (a database round trip) the wait runs in its own task, and the decision comes back to
//! the shard on its queue.
//!
//! What crosses the seam has an identity: a message that came on a stream connection
//! carries the transport's connection id up ([`Peer::conn`]), and what goes back to that
//! peer goes down the same connection. What the proxy sends names the transaction that
//! sent it ([`Transmit::owner`]); over a stream it travels with the message as a token,
//! so that a message the transport could not deliver goes back to its shard and
//! transaction without being read again.

use crate::keepalive::Keepalive;
use crate::router::Router;
use bytes::Bytes;
use futures_util::FutureExt;
use registrar::LocationStore;
use sip_core::proxy::{
    ConnectionId, Decision, Owner, Peer, Proxy, ProxyConfig, Reply, RoutingRequest, Transmit,
};
use sip_core::transaction::TransactionKey;
use sip_msg::{Limits, Message, Transport};
use sip_transport::{ConnId, Handler, Inbound, Route, SendFailure, SendToken, Sender};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Where the SIP message trace is logged (`RUST_LOG=sip=trace`, or `-vv`).
const TRACE_TARGET: &str = "sip";

/// Messages waiting for a shard, at most (then new ones are dropped: overload).
const SHARD_QUEUE: usize = 8192;

/// Once a shard's queue has fewer free places than this, new requests (out of any
/// dialog) get 503 with Retry-After from the receive task at once, and only messages
/// that complete work already started (responses, in-dialog requests, ACK, CANCEL) are
/// queued. Dropping datagrams instead would only bring their retransmissions back and
/// feed the overload (congestion collapse).
const SHED_BELOW: usize = SHARD_QUEUE / 4;

/// Routing decisions a shard lets wait for the database at once. Beyond that the
/// database is the bottleneck and waiting longer only grows memory and latency: new
/// requests that would wait are answered 503 with Retry-After at once.
const MAX_WAITING_DECISIONS: usize = 1024;

// Most inputs are parsed messages: boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
enum Input {
    Parsed(Message, Peer),
    /// Unparsable: the proxy answers 400 when it can find the headers to do so.
    Raw(Bytes, Peer),
    /// A routing decision that had to wait.
    Decided(TransactionKey, Decision),
    /// The transport could not deliver a message of this transaction.
    Undelivered(Owner),
}

/// The token a message sent over a stream carries through the transport: whose it is.
struct Sent {
    shard: usize,
    owner: Owner,
}

/// Hands each message to the proxy shard of its call.
pub struct ProxyHandler {
    shards: Vec<mpsc::Sender<Input>>,
    /// Picks the shard of a Call-ID.
    hasher: foldhash::fast::RandomState,
    limits: Limits,
    /// The Server header of our own answers.
    server: String,
    /// Takes the answers to NAT keep-alives before the proxy.
    keepalive: Option<Arc<Keepalive>>,
    /// Told when a stream connection closes (the bindings reached through it go).
    flow_closed: Option<FlowClosed>,
}

/// What to do when a stream connection to a peer closes.
pub type FlowClosed = Box<dyn Fn(Transport, std::net::SocketAddr) + Send + Sync>;

impl ProxyHandler {
    /// Starts `shards` proxy tasks on the current runtime, routing with `router` and
    /// sending through `sender`.
    pub fn start<S: LocationStore>(
        config: ProxyConfig,
        router: Arc<Router<S>>,
        shards: usize,
        sender: Sender,
        keepalive: Option<Arc<Keepalive>>,
        flow_closed: Option<FlowClosed>,
    ) -> ProxyHandler {
        let limits = config.limits;
        let server = config.server.clone();
        let shards = (0..shards.max(1))
            .map(|index| {
                let (tx, rx) = mpsc::channel(SHARD_QUEUE);
                let shard = Shard {
                    index,
                    proxy: Proxy::new(config.clone(), Instant::now().into_std()),
                    router: router.clone(),
                    sender: sender.clone(),
                    queue: tx.clone(),
                    waiting: 0,
                };
                tokio::spawn(shard.run(rx));
                tx
            })
            .collect();
        ProxyHandler {
            shards,
            hasher: foldhash::fast::RandomState::default(),
            limits,
            server,
            keepalive,
            flow_closed,
        }
    }
}

impl ProxyHandler {
    /// The shard of a call.
    fn shard_of(&self, call_id: &str) -> usize {
        (self.hasher.hash_one(call_id) % self.shards.len() as u64) as usize
    }
}

/// RFC 5923: a request over a connection whose top Via carries `alias` asks us to reuse
/// the connection for requests to its sent-by address.
fn honour_alias(msg: &Message, inbound: &Inbound, sender: &Sender) {
    let Some(conn) = inbound.conn else { return };
    let Ok(via) = msg.top_via() else { return };
    if !via.alias() {
        return;
    }
    let Some(ip) = via.host.ip() else { return };
    let addr = std::net::SocketAddr::new(ip, via.sent_by_port());
    if let Err(e) = sender.alias(conn, inbound.transport, addr) {
        tracing::debug!("Via alias {addr} on {conn} not taken: {e}");
    }
}

impl Handler for ProxyHandler {
    fn connection_closed(&self, transport: Transport, remote: std::net::SocketAddr) {
        if let Some(f) = &self.flow_closed {
            f(transport, remote);
        }
    }

    fn send_failed(&self, failure: SendFailure, _sender: &Sender) {
        tracing::debug!(
            "not delivered to {}:{}: {}",
            failure.transport.uri_token(),
            failure.remote,
            failure.reason
        );
        // Only tracked sends (a transaction's) are worth reporting.
        let Some(sent) = failure.token.and_then(|t| t.downcast::<Sent>().ok()) else {
            return;
        };
        let Some(queue) = self.shards.get(sent.shard) else {
            return;
        };
        if queue
            .try_send(Input::Undelivered(sent.owner.clone()))
            .is_err()
        {
            tracing::warn!(
                "proxy shard {} is saturated: a delivery failure was dropped",
                sent.shard
            );
        }
    }

    fn handle(&self, inbound: Inbound, sender: &Sender) {
        tracing::trace!(
            target: TRACE_TARGET,
            "received from {}:{}:\n{}",
            inbound.transport.uri_token(),
            inbound.source,
            String::from_utf8_lossy(&inbound.data)
        );
        let peer = Peer {
            transport: inbound.transport,
            remote: inbound.source,
            local: Some(inbound.local),
            conn: inbound.conn.map(|c| ConnectionId(c.raw())),
        };
        let (input, shard) = match Message::parse_with(inbound.data.clone(), &self.limits) {
            Ok(msg) => {
                if msg.is_request() {
                    honour_alias(&msg, &inbound, sender);
                } else if self.keepalive.as_ref().is_some_and(|k| k.pong(&msg)) {
                    return;
                }
                let shard = self.shard_of(msg.call_id().unwrap_or(""));
                if self.shards[shard].capacity() < SHED_BELOW && starts_work(&msg) {
                    self.shed(&msg, &inbound, sender);
                    return;
                }
                (Input::Parsed(msg, peer), shard)
            }
            Err(_) => (Input::Raw(inbound.data, peer), 0),
        };
        if self.shards[shard].try_send(input).is_err() {
            tracing::warn!(
                "proxy shard {shard} is saturated: message from {} dropped",
                inbound.source
            );
        }
    }
}

/// Whether `msg` is a request that starts new work: out of any dialog (no To tag), and
/// neither ACK nor CANCEL (which belong to work already started).
fn starts_work(msg: &Message) -> bool {
    msg.is_request()
        && !matches!(
            msg.method(),
            Some(sip_msg::Method::Ack | sip_msg::Method::Cancel)
        )
        && msg.to().is_ok_and(|to| to.tag().is_none())
}

impl ProxyHandler {
    /// Answers a new request 503 with Retry-After, without state, from the receive task.
    fn shed(&self, msg: &Message, inbound: &Inbound, sender: &Sender) {
        tracing::debug!(
            "overload: new {} from {} answered 503",
            msg.method_str().unwrap_or("?"),
            inbound.source
        );
        let busy = Reply::new(503, "Service Unavailable").header("Retry-After", "2");
        let data = sip_core::proxy::build_reply(msg, &busy, inbound.source, &self.server);
        if let Err(e) = sender.try_send(&inbound.reply_route(), data) {
            tracing::debug!("503 to {} not sent: {e}", inbound.source);
        }
    }
}

/// One shard: its proxy state, and what it needs to route and send.
struct Shard<S> {
    /// Its place among the shards (what a delivery failure names to come back here).
    index: usize,
    proxy: Proxy,
    router: Arc<Router<S>>,
    sender: Sender,
    /// Its own queue, for decisions that come back later.
    queue: mpsc::Sender<Input>,
    /// Decisions being waited for.
    waiting: usize,
}

impl<S: LocationStore> Shard<S> {
    /// Takes inputs one at a time, and after each routes what it started, sends what it
    /// made and sets the timer for the proxy's next deadline. (Taking up to 64 queued
    /// inputs before sending cost more, not less: 14 % more CPU per REGISTER and 18 % per
    /// call at the `bench/run.sh fixed` rates; BENCHMARKS.md, issue 17.)
    ///
    /// One timer serves the shard's whole life, moved only when the proxy needs it
    /// earlier than it is set (it may then fire early, which costs one empty turn). A new
    /// timer per turn cost a timer-wheel insertion and removal, and, whenever it was due
    /// before the runtime's own wake-up, a write to the runtime's eventfd: about one for
    /// every three datagrams sent at CALL 2 500/s, 0.02 per call after.
    async fn run(mut self, mut rx: mpsc::Receiver<Input>) {
        let timer = tokio::time::sleep(std::time::Duration::ZERO);
        tokio::pin!(timer);
        let mut armed: Option<Instant> = None;
        loop {
            if let Some(due) = self.proxy.poll_timeout().map(Instant::from_std)
                && armed.is_none_or(|at| due < at)
            {
                timer.as_mut().reset(due);
                armed = Some(due);
            }
            tokio::select! {
                input = rx.recv() => {
                    let Some(input) = input else { break };
                    self.take(input);
                }
                () = &mut timer, if armed.is_some() => {
                    armed = None;
                    self.proxy.handle_timeout(Instant::now().into_std());
                }
            }
            while let Some(req) = self.proxy.poll_event() {
                self.route(req);
            }
            while let Some(failed) = self.proxy.poll_unreachable() {
                self.router.outbound().unreachable(failed);
            }
            self.flush();
        }
    }

    /// Hands one input to the proxy.
    fn take(&mut self, input: Input) {
        let now = Instant::now().into_std();
        match input {
            Input::Parsed(msg, peer) => self.proxy.handle_message(msg, peer, now),
            Input::Raw(data, peer) => self.proxy.handle(data, peer, now),
            Input::Decided(id, decision) => {
                self.waiting = self.waiting.saturating_sub(1);
                self.proxy.decide(&id, decision, now)
            }
            Input::Undelivered(owner) => self.proxy.send_failed(&owner, now),
        }
    }

    /// Sends what the proxy emitted. What the transport refuses at once goes back to the
    /// proxy as a transport error, which may emit more (a 500 upstream): a few rounds at
    /// most, since a failed response emits nothing.
    fn flush(&mut self) {
        for _ in 0..4 {
            let mut refused = Vec::new();
            while let Some(t) = self.proxy.poll_transmit() {
                if let Err(Some(owner)) = send(&self.sender, t, self.index) {
                    refused.push(owner);
                }
            }
            if refused.is_empty() {
                return;
            }
            let now = Instant::now().into_std();
            for owner in &refused {
                self.proxy.send_failed(owner, now);
            }
        }
    }

    /// Asks the router; applies its decision now if it has one, else when it comes.
    fn route(&mut self, req: RoutingRequest) {
        let id = req.id.clone();
        let router = self.router.clone();
        let mut decision = Box::pin(async move { router.decide(&req, SystemTime::now()).await });
        if let Some(d) = decision.as_mut().now_or_never() {
            return self.proxy.decide(&id, d, Instant::now().into_std());
        }
        if self.waiting >= MAX_WAITING_DECISIONS {
            tracing::debug!("{} decisions waiting for the database: 503", self.waiting);
            let busy = Decision::Reply(Reply::new(503, "Server Busy").header("Retry-After", "1"));
            return self.proxy.decide(&id, busy, Instant::now().into_std());
        }
        self.waiting += 1;
        let queue = self.queue.clone();
        tokio::spawn(async move {
            let d = decision.await;
            // The shard is gone only at shutdown.
            let _ = queue.send(Input::Decided(id, d)).await;
        });
    }
}

/// Sends `t` from shard `shard`; gives its owner back when the transport refused it at
/// once. A message for a peer that came on a connection goes down that connection, or,
/// when it has closed, to the peer's address as any other (§18.2.2).
fn send(sender: &Sender, t: Transmit, shard: usize) -> Result<(), Option<Owner>> {
    let by_address = match (t.to.transport, t.to.local) {
        (Transport::Udp, Some(local)) => Route::Datagram {
            local,
            remote: t.to.remote,
        },
        (transport, _) => Route::Peer {
            transport,
            remote: t.to.remote,
        },
    };
    let route = match t.to.conn {
        Some(conn) => Route::Connection(ConnId::from_raw(conn.0)),
        None => by_address,
    };
    tracing::trace!(target: TRACE_TARGET, "sending to {route}:\n{}", String::from_utf8_lossy(&t.data));
    // What fails later (a refused connection) comes back through `send_failed`, with
    // the token of a transaction's message over a stream.
    let token: Option<SendToken> = match &t.owner {
        Some(owner) if t.to.transport.is_stream() => Some(Arc::new(Sent {
            shard,
            owner: owner.clone(),
        })),
        _ => None,
    };
    let try_send = |route: &Route| match &token {
        Some(token) => sender.try_send_tracked(route, t.data.clone(), token.clone()),
        None => sender.try_send(route, t.data.clone()),
    };
    let result = match try_send(&route) {
        Err(sip_transport::SendError::ConnectionClosed(_)) if route != by_address => {
            try_send(&by_address)
        }
        result => result,
    };
    result.map_err(|err| {
        tracing::debug!("not sent to {route}: {err}");
        t.owner
    })
}

#[cfg(test)]
mod tests {
    use super::starts_work;
    use sip_msg::Message;

    fn msg(first: &str, to_tag: &str, cseq: &str) -> Message {
        Message::parse(bytes::Bytes::from(format!(
            "{first}\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>{to_tag}\r\nCall-ID: c\r\nCSeq: {cseq}\r\nContent-Length: 0\r\n\r\n"
        )))
        .expect("parses")
    }

    #[test]
    fn only_new_requests_are_shed() {
        let cases = [
            ("INVITE sip:b@example.com SIP/2.0", "", "1 INVITE", true),
            ("REGISTER sip:example.com SIP/2.0", "", "1 REGISTER", true),
            // Work already started: in-dialog requests, ACK, CANCEL, responses.
            ("BYE sip:b@192.0.2.2 SIP/2.0", ";tag=2", "2 BYE", false),
            ("ACK sip:b@example.com SIP/2.0", "", "1 ACK", false),
            ("CANCEL sip:b@example.com SIP/2.0", "", "1 CANCEL", false),
            ("SIP/2.0 180 Ringing", ";tag=2", "1 INVITE", false),
        ];
        for (first, to_tag, cseq, new_work) in cases {
            assert_eq!(starts_work(&msg(first, to_tag, cseq)), new_work, "{first}");
        }
    }
}
