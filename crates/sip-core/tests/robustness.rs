//! No input makes the request pipelines panic or send something unparsable: arbitrary
//! bytes, SIP-flavoured fragments, the torture corpus mutated, and generated messages
//! mutated all go through `Endpoint::handle` and the stateful `Proxy::handle`; a reply to
//! a well-formed request is itself well formed.
//!
//! The generator and the parser checks are sip-msg's (`crates/sip-msg/tests/common`),
//! shared with its property tests and the fuzz target. Run longer with
//! `PROPTEST_CASES=5000 cargo test -p sip-core --test robustness`.

#[path = "../../sip-msg/tests/common/exercise.rs"]
mod exercise;
#[path = "../../sip-msg/tests/common/model.rs"]
mod model;

use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use sip_core::proxy::routing::Interface;
use sip_core::proxy::{Peer, Proxy, ProxyConfig};
use sip_core::{Endpoint, EndpointConfig, InboundMeta, Outcome};
use sip_msg::{Limits, Message, Transport};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const DOMAINS: [&str; 3] = ["example.com", "registrar.example.com", "[2001:db8::10]"];

fn config(cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = cases;
    }
    c
}

fn endpoint() -> &'static Endpoint {
    static EP: OnceLock<Endpoint> = OnceLock::new();
    EP.get_or_init(|| {
        Endpoint::new(EndpointConfig {
            local_domains: DOMAINS.iter().map(|d| d.to_string()).collect(),
            server: "Serval robustness".into(),
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
        "Serval robustness".into(),
    );
    cfg.relay_ip_literals = true;
    Proxy::new(cfg)
}

fn must_parse(what: &str, input: &[u8], out: &Bytes) -> Message {
    Message::parse(out.clone()).unwrap_or_else(|e| {
        panic!(
            "{what} sent something unparsable ({e:?}) for {:?}:\n{:?}",
            String::from_utf8_lossy(input),
            String::from_utf8_lossy(out)
        )
    })
}

/// Runs both pipelines on `data` and checks every output; returns the endpoint's reply.
fn run(data: &[u8]) -> Option<Message> {
    exercise::exercise(data);
    let bytes = Bytes::copy_from_slice(data);
    let meta = InboundMeta {
        transport: Transport::Udp,
        source: "198.51.100.7:5099".parse().expect("address"),
        local: "192.0.2.1:5060".parse().expect("address"),
    };
    let reply = match endpoint().handle(bytes.clone(), &meta) {
        Outcome::Reply(r) => Some(must_parse("the endpoint", data, &r)),
        Outcome::Drop => None,
    };
    let mut p = proxy();
    let from = Peer {
        transport: Transport::Udp,
        remote: meta.source,
        local: Some(meta.local),
    };
    let now = Instant::now();
    p.handle(bytes.clone(), from, now);
    p.handle(bytes, from, now + Duration::from_millis(10));
    let mut later = now;
    for _ in 0..4 {
        while let Some(t) = p.poll_transmit() {
            must_parse("the proxy", data, &t.data);
        }
        match p.poll_timeout() {
            Some(t) => later = t.max(later),
            None => break,
        }
        p.handle_timeout(later);
    }
    reply
}

fn corpus() -> &'static Vec<Vec<u8>> {
    static FILES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = match std::env::var_os("SIP_TORTURE_DIR") {
            Some(d) => PathBuf::from(d),
            None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sip-torture"),
        };
        let mut files = Vec::new();
        for sub in ["rfc4475", "rfc5118"] {
            let d = dir.join("corpus").join(sub);
            let entries = std::fs::read_dir(&d)
                .unwrap_or_else(|e| panic!("the torture corpus is missing ({}): {e}", d.display()));
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|x| x == "dat") {
                    files.push(std::fs::read(&path).expect("readable"));
                }
            }
        }
        files.sort();
        files
    })
}

const FRAGMENTS: &[&str] = &[
    "INVITE ",
    "ACK ",
    "CANCEL ",
    "OPTIONS ",
    "SIP/2.0",
    "SIP/2.0 180 Ringing",
    "SIP/2.0 200 OK",
    " ",
    "\r\n",
    "\r\n ",
    "\r\n\r\n",
    ":",
    ";",
    ",",
    "=",
    "<",
    ">",
    "\"",
    "\\",
    "@",
    "?",
    "%00",
    "[",
    "]",
    "sip:",
    "sips:",
    "tel:+1",
    "example.com",
    "192.0.2.1",
    "192.0.2.99:5070",
    "[2001:db8::10]",
    "Via: SIP/2.0/UDP ",
    "v: SIP/2.0/TCP ",
    ";branch=z9hG4bK1",
    ";rport",
    ";received=",
    "From: <sip:a@example.com>;tag=1",
    "To: <sip:b@example.com>",
    ";tag=",
    "Call-ID: c",
    "CSeq: 1 INVITE",
    "CSeq: 1 ACK",
    "CSeq: 1 CANCEL",
    "Contact: *",
    "Max-Forwards: 0",
    "Max-Forwards: 70",
    "Route: <sip:192.0.2.1;lr>",
    "Record-Route: <sip:p.example.com;lr>",
    "Content-Length: 0",
    "l: 4",
    "Require: x",
    "Proxy-Require: y",
    "0",
    "-1",
    "99999999999",
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Insert(Index, &'static str),
    Delete(Index, usize),
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<Index>(), select(FRAGMENTS)).prop_map(|(i, f)| Mutation::Insert(i, f)),
        (any::<Index>(), 1usize..30).prop_map(|(i, n)| Mutation::Delete(i, n)),
        any::<Index>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(data: &mut Vec<u8>, muts: &[Mutation]) {
    for m in muts {
        let len = data.len();
        let at = |i: &Index| i.index(len + 1);
        match m {
            Mutation::Flip(i, b) if len > 0 => {
                let p = i.index(len);
                data[p] = *b;
            }
            Mutation::Flip(..) => {}
            Mutation::Insert(i, f) => {
                let p = at(i);
                data.splice(p..p, f.bytes());
            }
            Mutation::Delete(i, n) => {
                let p = at(i);
                data.drain(p..(p + n).min(len));
            }
            Mutation::Truncate(i) => data.truncate(at(i)),
        }
    }
}

#[test]
fn the_corpus_itself() {
    for data in corpus() {
        run(data);
    }
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn arbitrary_bytes(data in vec(any::<u8>(), 0..600)) {
        run(&data);
    }

    #[test]
    fn sip_fragments(parts in vec(select(FRAGMENTS), 0..60)) {
        run(parts.concat().as_bytes());
    }

    #[test]
    fn mutated_torture_messages(i in any::<Index>(), muts in vec(mutation(), 1..8)) {
        let files = corpus();
        let mut data = files[i.index(files.len())].clone();
        mutate(&mut data, &muts);
        run(&data);
    }

    #[test]
    fn mutated_generated_messages(m in model::message(), muts in vec(mutation(), 0..4)) {
        let (_, mut data) = model::print(&m);
        mutate(&mut data, &muts);
        run(&data);
    }

    /// A well-formed request gets a well-formed reply for the same transaction.
    #[test]
    fn replies_to_valid_requests_are_valid(m in model::message()) {
        let (_, data) = model::print(&m);
        let req = Message::parse(Bytes::from(data.clone())).expect("the model is valid");
        prop_assert_eq!(req.validate(), Ok(()));
        if let Some(reply) = run(&data) {
            prop_assert!(req.is_request());
            prop_assert_eq!(reply.validate(), Ok(()));
            prop_assert_eq!(reply.call_id(), req.call_id());
            prop_assert_eq!(reply.cseq(), req.cseq());
            prop_assert_eq!(reply.vias().count(), req.vias().count());
            prop_assert_eq!(reply.from(), req.from());
        }
    }
}
