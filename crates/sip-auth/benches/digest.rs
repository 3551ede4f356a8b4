//! Digest authentication costs: `verify` of a REGISTER answered with qop=auth (MD5 and
//! SHA-256; each iteration uses a new nonce count, as a real client would), reading the
//! credentials, and building the challenges of a 401.

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use md5::Md5;
use sha2::{Digest, Sha256};
use sip_auth::{Algorithm, Authenticator, DigestConfig, Kind, Secret, Verdict, ha1};
use sip_msg::{HeaderName, Message, headers::AuthValue};
use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const REALM: &str = "atlanta.example.com";

fn hash(alg: Algorithm, s: &str) -> String {
    let bytes: Vec<u8> = match alg {
        Algorithm::Md5 => Md5::digest(s.as_bytes()).to_vec(),
        _ => Sha256::digest(s.as_bytes()).to_vec(),
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A REGISTER answering `challenge` with nonce count `nc`.
fn register(alg: Algorithm, challenge: &str, nc: u32) -> Message {
    let c = AuthValue::parse(challenge, HeaderName::WwwAuthenticate).expect("challenge");
    let nonce = c.nonce().expect("nonce");
    let uri = "sip:atlanta.example.com";
    let ha1 = hash(alg, &format!("alice:{REALM}:secret"));
    let ha2 = hash(alg, &format!("REGISTER:{uri}"));
    let nc = format!("{nc:08x}");
    let resp = hash(alg, &format!("{ha1}:{nonce}:{nc}:0a4f113b:auth:{ha2}"));
    let msg = format!(
        "REGISTER {uri} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n\
         Max-Forwards: 70\r\n\
         To: <sip:alice@atlanta.example.com>\r\n\
         From: <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
         Call-ID: a84b4c76e66710\r\n\
         CSeq: 1 REGISTER\r\n\
         Contact: <sip:alice@192.0.2.1:5060>\r\n\
         Authorization: Digest username=\"alice\", realm=\"{REALM}\", nonce=\"{nonce}\", \
         uri=\"{uri}\", response=\"{resp}\", algorithm={alg}, qop=auth, nc={nc}, \
         cnonce=\"0a4f113b\"\r\n\
         Content-Length: 0\r\n\r\n"
    );
    Message::parse(Bytes::from(msg)).expect("parses")
}

fn bench(c: &mut Criterion) {
    let auth = Authenticator::new(DigestConfig::default(), Secret::from_bytes([9; 32]));
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for alg in [Algorithm::Md5, Algorithm::Sha256] {
        // Each (nonce, nc) is accepted once, so every iteration needs a request of its
        // own: they are built outside the timed part, a nonce's worth at a time.
        const N: u32 = 4096;
        let stored = ha1(alg, "alice", REALM, "secret");
        let batch = |auth: &Authenticator| {
            let mut ch = String::new();
            auth.write_challenge(alg, REALM, false, now, &mut ch);
            (1..=N).map(|nc| register(alg, &ch, nc)).collect::<Vec<_>>()
        };
        c.bench_function(&format!("credentials+verify {alg} qop=auth"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let reqs = batch(&auth);
                    let n = left.min(u64::from(N));
                    let start = Instant::now();
                    for req in reqs.iter().take(n as usize) {
                        let creds = auth
                            .credentials(black_box(req), Kind::Www, REALM)
                            .expect("found")
                            .expect("well-formed");
                        let v = auth.verify(req, &creds, Some(&stored), now);
                        if v != Verdict::Authorized {
                            panic!("{v:?}");
                        }
                    }
                    total += start.elapsed();
                    left -= n;
                }
                total
            })
        });
        let reqs = batch(&auth);
        let req = &reqs[0];
        c.bench_function(&format!("credentials {alg}"), |b| {
            b.iter(|| {
                black_box(
                    auth.credentials(black_box(req), Kind::Www, REALM)
                        .expect("found")
                        .expect("well-formed"),
                )
            })
        });
        c.bench_function(&format!("verify {alg} unknown user"), |b| {
            let creds = auth
                .credentials(req, Kind::Www, REALM)
                .expect("found")
                .expect("well-formed");
            b.iter(|| black_box(auth.verify(black_box(req), &creds, None, now)))
        });
        c.bench_function(&format!("verify {alg} known user, nc replayed"), |b| {
            let creds = auth
                .credentials(req, Kind::Www, REALM)
                .expect("found")
                .expect("well-formed");
            // The first call records the count; every later one is the same work
            // (response, nonce MAC, window lookup) ending in Stale.
            let _ = auth.verify(req, &creds, Some(&stored), now);
            b.iter(|| black_box(auth.verify(black_box(req), &creds, Some(&stored), now)))
        });
    }
    c.bench_function("challenge (default: one, MD5)", |b| {
        b.iter(|| {
            black_box(auth.challenges(
                black_box(REALM),
                false,
                None,
                SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            ))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
