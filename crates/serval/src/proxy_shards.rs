//! The bridge from the transport layer to the sans-IO proxy.
//!
//! The proxy's state is split into shards, one task each, chosen by a hash of the
//! Call-ID: every message of a call (requests, responses, CANCEL, ACK) meets the same
//! transactions, and no lock is taken per message. A receive task parses the message,
//! picks the shard and hands it over on a bounded queue; the shard task runs the proxy,
//! its timers, and sends what the proxy emits.

use bytes::Bytes;
use sip_core::proxy::{Peer, Proxy, ProxyConfig, Transmit};
use sip_msg::{Limits, Message, Transport};
use sip_transport::{Handler, Inbound, Route, Sender};
use std::hash::{DefaultHasher, Hash, Hasher};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Where the SIP message trace is logged (`RUST_LOG=sip=trace`, or `-vv`).
const TRACE_TARGET: &str = "sip";

/// Messages waiting for a shard, at most (then new ones are dropped: overload).
const SHARD_QUEUE: usize = 8192;

enum Input {
    Parsed(Message),
    /// Unparsable: the proxy answers 400 when it can find the headers to do so.
    Raw(Bytes),
}

/// Hands each message to the proxy shard of its call.
pub struct ProxyHandler {
    shards: Vec<mpsc::Sender<(Input, Peer)>>,
    limits: Limits,
}

impl ProxyHandler {
    /// Starts `shards` proxy tasks on the current runtime, sending through `sender`.
    pub fn start(config: ProxyConfig, shards: usize, sender: Sender) -> ProxyHandler {
        let limits = config.limits;
        let shards = (0..shards.max(1))
            .map(|_| {
                let (tx, rx) = mpsc::channel(SHARD_QUEUE);
                tokio::spawn(run_shard(Proxy::new(config.clone()), rx, sender.clone()));
                tx
            })
            .collect();
        ProxyHandler { shards, limits }
    }
}

impl Handler for ProxyHandler {
    fn handle(&self, inbound: Inbound, _sender: &Sender) {
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
        };
        let (input, shard) = match Message::parse_with(inbound.data.clone(), &self.limits) {
            Ok(msg) => {
                let mut h = DefaultHasher::new();
                msg.call_id().unwrap_or("").hash(&mut h);
                let shard = (h.finish() % self.shards.len() as u64) as usize;
                (Input::Parsed(msg), shard)
            }
            Err(_) => (Input::Raw(inbound.data), 0),
        };
        if self.shards[shard].try_send((input, peer)).is_err() {
            tracing::warn!(
                "proxy shard {shard} is saturated: message from {} dropped",
                inbound.source
            );
        }
    }
}

async fn run_shard(mut proxy: Proxy, mut rx: mpsc::Receiver<(Input, Peer)>, sender: Sender) {
    loop {
        let deadline = proxy.poll_timeout().map(Instant::from_std);
        tokio::select! {
            input = rx.recv() => {
                let Some((input, peer)) = input else { break };
                let now = Instant::now().into_std();
                match input {
                    Input::Parsed(msg) => proxy.handle_message(msg, peer, now),
                    Input::Raw(data) => proxy.handle(data, peer, now),
                }
            }
            () = sleep_until(deadline), if deadline.is_some() => {
                proxy.handle_timeout(Instant::now().into_std());
            }
        }
        while let Some(t) = proxy.poll_transmit() {
            send(&sender, t);
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(d) = deadline {
        tokio::time::sleep_until(d).await;
    }
}

fn send(sender: &Sender, t: Transmit) {
    let route = match (t.to.transport, t.to.local) {
        (Transport::Udp, Some(local)) => Route::Datagram {
            local,
            remote: t.to.remote,
        },
        (transport, _) => Route::Peer {
            transport,
            remote: t.to.remote,
        },
    };
    tracing::trace!(target: TRACE_TARGET, "sending to {route}:\n{}", String::from_utf8_lossy(&t.data));
    if let Err(err) = sender.try_send(&route, t.data) {
        tracing::debug!("not sent to {route}: {err}");
    }
}
