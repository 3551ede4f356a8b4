//! The transaction layer and proxy core on a whole call, no sockets: INVITE (100 Trying,
//! routing decision, forwarded), 180, 200, ACK and BYE routed by Record-Route, 200 for
//! the BYE, then every timer run out so that the transactions are reaped. 6 messages in,
//! 7 out, as the perf harness's CALL workload makes the server do.
//!
//! `cargo bench -p sip-core --bench call`

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use sip_core::proxy::routing::Interface;
use sip_core::proxy::{Peer, Proxy, ProxyConfig, default_decision};
use sip_msg::{HeaderName, Message, ResponseBuilder, Transport};
use std::hint::black_box;
use std::time::{Duration, Instant};

const UAC: &str = "10.0.0.1:5070";
const UAS: &str = "10.0.0.2:5090";
const PROXY: &str = "192.0.2.1:5060";

fn peer(addr: &str) -> Peer {
    Peer {
        transport: Transport::Udp,
        remote: addr.parse().expect("address"),
        local: Some(PROXY.parse().expect("address")),
        conn: None,
    }
}

fn proxy() -> Proxy {
    Proxy::new(
        ProxyConfig::new(
            vec!["example.com".into()],
            vec![Interface {
                transport: Transport::Udp,
                bind: PROXY.parse().expect("address"),
                advertise: PROXY.into(),
            }],
            "Serval bench".into(),
        ),
        Instant::now(),
    )
}

const SDP: &str = "v=0\r\no=alice 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n";

fn invite(n: u64) -> Bytes {
    Bytes::from(format!(
        "INVITE sip:bob@{UAS} SIP/2.0\r\nVia: SIP/2.0/UDP {UAC};branch=z9hG4bK{n}i;rport\r\nMax-Forwards: 70\r\nFrom: \"Alice\" <sip:alice@example.com>;tag={n}a\r\nTo: <sip:bob@example.com>\r\nCall-ID: {n}@bench\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@{UAC}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
        SDP.len()
    ))
}

fn in_dialog(method: &str, n: u64, cseq: u32, route: &str) -> Bytes {
    Bytes::from(format!(
        "{method} sip:bob@{UAS} SIP/2.0\r\nVia: SIP/2.0/UDP {UAC};branch=z9hG4bK{n}{method};rport\r\nRoute: {route}\r\nMax-Forwards: 70\r\nFrom: \"Alice\" <sip:alice@example.com>;tag={n}a\r\nTo: <sip:bob@example.com>;tag={n}b\r\nCall-ID: {n}@bench\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n"
    ))
}

/// The callee's answer to a request the proxy forwarded.
fn answer(req: &Message, code: u16, n: u64) -> Bytes {
    let tag = format!("{n}b");
    let mut b = ResponseBuilder::new(req, code, "X").to_tag(&tag);
    let rr: Vec<String> = req
        .header_values(HeaderName::RecordRoute)
        .map(str::to_owned)
        .collect();
    for r in &rr {
        b = b.header("Record-Route", r);
    }
    b.header("Contact", &format!("<sip:bob@{UAS}>")).build()
}

/// One call through `p`; returns how many messages it sent.
fn call(p: &mut Proxy, n: u64, now: Instant) -> usize {
    let mut sent = 0;
    let mut last_forwarded = None;
    let mut step = |p: &mut Proxy, data: Bytes, from: &str| {
        p.handle(data, peer(from), now);
        while let Some(req) = p.poll_event() {
            let d = default_decision(&req, true);
            p.decide(&req.id, d, now);
        }
        while let Some(t) = p.poll_transmit() {
            sent += 1;
            if t.to.remote == peer(UAS).remote {
                last_forwarded = Some(t.data);
            }
        }
        last_forwarded.clone()
    };
    let fwd = step(p, invite(n), UAC).expect("INVITE forwarded");
    let fwd = Message::parse(fwd).expect("parses");
    step(p, answer(&fwd, 180, n), UAS);
    step(p, answer(&fwd, 200, n), UAS);
    let route = format!("<sip:{PROXY};lr>");
    step(p, in_dialog("ACK", n, 1, &route), UAC);
    let bye = step(p, in_dialog("BYE", n, 2, &route), UAC).expect("BYE forwarded");
    let bye = Message::parse(bye).expect("parses");
    step(p, answer(&bye, 200, n), UAS);
    // Every timer out: the transactions are reaped.
    let later = now + Duration::from_secs(64);
    while p.poll_timeout().is_some_and(|t| t <= later) {
        p.handle_timeout(later);
        while p.poll_transmit().is_some() {}
    }
    sent
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("proxy");
    g.bench_function("call (6 in, 7 out, transactions reaped)", |b| {
        let mut p = proxy();
        let mut n = 0u64;
        let now = Instant::now();
        b.iter(|| {
            n += 1;
            black_box(call(&mut p, n, now))
        });
        assert_eq!(p.transaction_count(), (0, 0), "nothing left behind");
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
