//! Driving the sans-IO proxy in tests: one request in, what it answers out, with routing
//! decisions taken by [`default_decision`] (no location service, no open relay).

use bytes::Bytes;
use sip_core::proxy::routing::Interface;
use sip_core::proxy::{Peer, Proxy, ProxyConfig, default_decision};
use sip_msg::{Message, Transport};
use std::net::SocketAddr;
use std::time::Instant;

/// Our address in these tests.
pub const SERVER: &str = "192.0.2.1:5060";

/// A proxy for `domains`, listening on UDP and TCP at [`SERVER`].
pub fn proxy(domains: &[&str], server: &str) -> Proxy {
    let iface = |transport| Interface {
        transport,
        bind: SERVER.parse().expect("address"),
        advertise: SERVER.to_owned(),
    };
    Proxy::new(
        ProxyConfig::new(
            domains.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            vec![iface(Transport::Udp), iface(Transport::Tcp)],
            server.to_owned(),
        ),
        Instant::now(),
    )
}

/// Everything `p` sends after `data` arrives over UDP from `source` at `now`, routing
/// decisions included.
pub fn exchange(p: &mut Proxy, data: Bytes, source: SocketAddr, now: Instant) -> Vec<Bytes> {
    let from = Peer {
        transport: Transport::Udp,
        remote: source,
        local: Some(SERVER.parse().expect("address")),
        conn: None,
    };
    p.handle(data, from, now);
    while let Some(req) = p.poll_event() {
        let decision = default_decision(&req, false);
        p.decide(&req.id, decision, now);
    }
    std::iter::from_fn(|| p.poll_transmit())
        .map(|t| t.data)
        .collect()
}

/// The final response a fresh proxy for `domains` sends back for `data`, if any; panics
/// when what it sends does not parse.
pub fn final_answer(domains: &[&str], data: &Bytes, source: &str) -> Option<Message> {
    let mut p = proxy(domains, "Serval test");
    let source = source.parse().expect("address");
    exchange(&mut p, data.clone(), source, Instant::now())
        .into_iter()
        .map(|out| {
            Message::parse(out.clone()).unwrap_or_else(|e| {
                panic!(
                    "our output does not parse ({e}):\n{}",
                    String::from_utf8_lossy(&out)
                )
            })
        })
        .find(|m| m.status().is_some_and(|c| c >= 200))
}
