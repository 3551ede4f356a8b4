//! Parse and print benchmarks for a typical INVITE and REGISTER.
//!
//! `cargo bench -p sip-msg --bench parse`. "parse" is what every received message
//! costs (start line, header index, Content-Length framing); "parse+validate" adds the
//! typed checks of the mandatory headers; "proxy edits" is what a proxy does to forward
//! a request (Via, Record-Route, Max-Forwards, Request-URI, received/rport) and write it.
//! The "typed" group times the on-demand parsers one value at a time: a SIP URI, a
//! From/To name-addr, a Via, the Contact list of a REGISTER, and `Message::validate` on
//! an already parsed REGISTER (every typed check, without the header indexing).

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sip_msg::headers::{NameAddr, Via};
use sip_msg::{HeaderName, Message, Uri};
use std::hint::black_box;

const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.example.com;transport=udp>\r\n\
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY\r\n\
Supported: replaces, timer\r\n\
User-Agent: Example SIP Phone 1.0\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 142\r\n\
\r\n\
v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\n\
s=-\r\n\
c=IN IP4 192.0.2.101\r\n\
t=0 0\r\n\
m=audio 49172 RTP/AVP 0\r\n\
a=rtpmap:0 PCMU/8000\r\n";

const REGISTER: &str = "REGISTER sip:registrar.biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP bobspc.biloxi.example.com:5060;branch=z9hG4bKnashds7;rport\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: Bob <sip:bob@biloxi.example.com>;tag=456248\r\n\
Call-ID: 843817637684230@998sdasdh09\r\n\
CSeq: 1826 REGISTER\r\n\
Contact: <sip:bob@192.0.2.4:5060>;expires=3600\r\n\
Authorization: Digest username=\"bob\", realm=\"biloxi.example.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"sip:registrar.biloxi.example.com\", response=\"245f23415f11432b3434341c022\", algorithm=MD5\r\n\
User-Agent: Example SIP Phone 1.0\r\n\
Content-Length: 0\r\n\
\r\n";

fn bench(c: &mut Criterion) {
    for (name, text) in [("INVITE", INVITE), ("REGISTER", REGISTER)] {
        let bytes = Bytes::from_static(text.as_bytes());
        assert!(
            Message::parse(bytes.clone())
                .and_then(|m| m.validate())
                .is_ok()
        );
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(1));
        g.bench_function("parse", |b| {
            b.iter(|| Message::parse(black_box(bytes.clone())).map(|m| m.headers().count()))
        });
        g.bench_function("parse+validate", |b| {
            b.iter(|| Message::parse(black_box(bytes.clone())).and_then(|m| m.validate()))
        });
        let msg = Message::parse(bytes.clone()).expect("parses");
        let mut out = BytesMut::with_capacity(2048);
        g.bench_function("proxy edits+print", |b| {
            b.iter(|| {
                let mut e = msg.edit();
                e.set_via_received("198.51.100.7".parse().expect("ip"), 40000)
                    .push_via("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKserval1")
                    .push_record_route("<sip:192.0.2.1;lr>")
                    .set_max_forwards(69)
                    .set_request_uri("sip:bob@192.0.2.4:5062");
                out.clear();
                e.write(&mut out);
                black_box(out.len())
            })
        });
        g.finish();
    }
}

fn bench_typed(c: &mut Criterion) {
    let mut g = c.benchmark_group("typed");
    g.throughput(Throughput::Elements(1));
    let uri = "sip:bob@192.0.2.4:5060;transport=udp;lr";
    assert!(Uri::parse(uri).is_ok());
    g.bench_function("Uri::parse", |b| b.iter(|| Uri::parse(black_box(uri))));
    let to = "Bob <sip:bob@biloxi.example.com>;tag=456248";
    assert!(NameAddr::parse(to, HeaderName::From).is_ok());
    g.bench_function("NameAddr::parse", |b| {
        b.iter(|| NameAddr::parse(black_box(to), HeaderName::From))
    });
    let via = "SIP/2.0/UDP bobspc.biloxi.example.com:5060;branch=z9hG4bKnashds7;rport";
    assert!(Via::parse(via).is_ok());
    g.bench_function("Via::parse", |b| b.iter(|| Via::parse(black_box(via))));
    let register = Message::parse(Bytes::from_static(REGISTER.as_bytes())).expect("parses");
    assert_eq!(register.contacts().filter(Result::is_ok).count(), 1);
    g.bench_function("REGISTER contacts", |b| {
        b.iter(|| {
            black_box(&register)
                .contacts()
                .filter(Result::is_ok)
                .count()
        })
    });
    g.bench_function("REGISTER validate", |b| {
        b.iter(|| black_box(&register).validate())
    });
    g.finish();
}

criterion_group!(benches, bench, bench_typed);
criterion_main!(benches);
