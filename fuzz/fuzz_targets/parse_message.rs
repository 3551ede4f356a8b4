//! Fuzz target for everything the server does with received bytes: `Message::parse`,
//! `validate`, every typed accessor, the editor (each proxy edit, then all of them),
//! `frame_stream`, and the two request pipelines of sip-core (`Endpoint::handle` and the
//! stateful `Proxy::handle`, whose every output must parse).
//!
//! The parser checks are the ones of `crates/sip-msg/tests/common/exercise.rs`, included
//! here, so that a crash found by the fuzzer reproduces in the property tests.
//!
//! Run from the repository root: `cargo +nightly fuzz run parse_message`
//! (seed the corpus first with `fuzz/seed-corpus.sh`).

#![no_main]

#[path = "../../crates/sip-msg/tests/common/exercise.rs"]
mod exercise;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sip_core::proxy::routing::Interface;
use sip_core::proxy::{Peer, Proxy, ProxyConfig};
use sip_core::{Endpoint, EndpointConfig, InboundMeta, Outcome};
use sip_msg::{Limits, Message, Transport};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const DOMAINS: [&str; 3] = ["example.com", "registrar.example.com", "[2001:db8::10]"];

fn endpoint() -> &'static Endpoint {
    static EP: OnceLock<Endpoint> = OnceLock::new();
    EP.get_or_init(|| {
        Endpoint::new(EndpointConfig {
            local_domains: DOMAINS.iter().map(|d| d.to_string()).collect(),
            server: "Serval fuzz".into(),
            limits: Limits::default(),
        })
    })
}

fn proxy() -> Proxy {
    let iface = |transport, a: &str| Interface {
        transport,
        bind: a.parse().expect("address"),
        advertise: a.to_owned(),
    };
    let mut cfg = ProxyConfig::new(
        DOMAINS.iter().map(|d| d.to_string()).collect(),
        vec![
            iface(Transport::Udp, "192.0.2.1:5060"),
            iface(Transport::Tcp, "192.0.2.1:5060"),
        ],
        "Serval fuzz".into(),
    );
    // Forward to IP literals too, so that the relay path (Via, Record-Route,
    // Max-Forwards edits) runs on the fuzzed messages.
    cfg.relay_ip_literals = true;
    Proxy::new(cfg)
}

/// What the server sends must always be a message it can parse back.
fn check_output(what: &str, data: &Bytes) {
    if let Err(e) = Message::parse(data.clone()) {
        panic!(
            "{what} sent something unparsable ({e:?}):\n{:?}",
            String::from_utf8_lossy(data)
        );
    }
}

fuzz_target!(|data: &[u8]| {
    exercise::exercise(data);
    let bytes = Bytes::copy_from_slice(data);

    for (transport, source) in [
        (Transport::Udp, "198.51.100.7:5099"),
        (Transport::Tcp, "[2001:db8::9:255]:40000"),
    ] {
        let meta = InboundMeta {
            transport,
            source: source.parse().expect("address"),
            local: "192.0.2.1:5060".parse().expect("address"),
        };
        if let Outcome::Reply(reply) = endpoint().handle(bytes.clone(), &meta) {
            check_output("the endpoint", &reply);
        }
    }

    let mut p = proxy();
    let from = Peer {
        transport: Transport::Udp,
        remote: "198.51.100.7:5099".parse().expect("address"),
        local: "192.0.2.1:5060".parse().ok(),
    };
    let now = Instant::now();
    // Twice: the second is a retransmission for the transaction layer.
    p.handle(bytes.clone(), from, now);
    p.handle(bytes, from, now + Duration::from_millis(10));
    let mut later = now;
    for _ in 0..4 {
        while let Some(t) = p.poll_transmit() {
            check_output("the proxy", &t.data);
        }
        match p.poll_timeout() {
            Some(t) => later = t.max(later),
            None => break,
        }
        p.handle_timeout(later);
    }
});
