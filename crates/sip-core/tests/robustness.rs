//! No input makes the request pipelines panic or send something unparsable: arbitrary
//! bytes, SIP-flavoured fragments, the torture corpus mutated, and generated messages
//! mutated all go through the stateful `Proxy::handle`, twice (the second time a
//! retransmission), with its routing decisions and timers; everything it sends parses.
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
mod common;

use sip_msg::Message;
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

fn must_parse(what: &str, input: &[u8], out: &Bytes) -> Message {
    Message::parse(out.clone()).unwrap_or_else(|e| {
        panic!(
            "{what} sent something unparsable ({e:?}) for {:?}:\n{:?}",
            String::from_utf8_lossy(input),
            String::from_utf8_lossy(out)
        )
    })
}

/// Runs the proxy on `data` (and on its retransmission) and through its timers, and
/// checks that everything it sends parses.
fn run(data: &[u8]) {
    exercise::exercise(data);
    let bytes = Bytes::copy_from_slice(data);
    let mut p = common::proxy(&DOMAINS, "Serval robustness");
    let source = "198.51.100.7:5099".parse().expect("address");
    let now = Instant::now();
    let mut out = common::exchange(&mut p, bytes.clone(), source, now);
    out.extend(common::exchange(
        &mut p,
        bytes,
        source,
        now + Duration::from_millis(10),
    ));
    let mut later = now;
    for _ in 0..4 {
        for sent in out.drain(..) {
            must_parse("the proxy", data, &sent);
        }
        match p.poll_timeout() {
            Some(t) => later = t.max(later),
            None => break,
        }
        p.handle_timeout(later);
        out.extend(std::iter::from_fn(|| p.poll_transmit()).map(|t| t.data));
    }
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
        run(&data);
        if let Some(reply) = common::final_answer(&DOMAINS, &Bytes::from(data), "198.51.100.7:5099") {
            prop_assert!(req.is_request());
            prop_assert_eq!(reply.validate(), Ok(()));
            prop_assert_eq!(reply.call_id(), req.call_id());
            prop_assert_eq!(reply.cseq(), req.cseq());
            prop_assert_eq!(reply.vias().count(), req.vias().count());
            prop_assert_eq!(reply.from(), req.from());
        }
    }
}
