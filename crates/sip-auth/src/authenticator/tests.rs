//! End-to-end checks of the exchange: challenge, a client's answer computed here
//! independently of the crate's digest code (plain `format!` and the hash crates),
//! verdict.

use super::*;
use crate::ha1::ha1;
use bytes::Bytes;
use md5::Md5;
use sha2::{Digest, Sha256, Sha512_256};
use sip_msg::headers::AuthValue;
use std::sync::Arc;

const REALM: &str = "atlanta.example.com";

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

const T0: u64 = 1_700_000_000;

fn secret() -> Secret {
    Secret::from_bytes([42; 32])
}

fn auth(cfg: DigestConfig) -> Authenticator {
    Authenticator::new(cfg, secret())
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `H(s)` in hex, by algorithm token (`-sess` already stripped).
fn hash(alg: &str, s: &[u8]) -> String {
    match alg.to_ascii_uppercase().as_str() {
        "MD5" => hex_of(&Md5::digest(s)),
        "SHA-256" => hex_of(&Sha256::digest(s)),
        "SHA-512-256" => hex_of(&Sha512_256::digest(s)),
        other => panic!("test client has no {other}"),
    }
}

/// A user agent answering a challenge.
#[derive(Clone)]
struct Client {
    user: &'static str,
    password: &'static str,
    method: &'static str,
    ruri: &'static str,
    /// The digest `uri`, when not the Request-URI.
    digest_uri: Option<&'static str>,
    /// `None`: RFC 2069 style.
    qop: Option<&'static str>,
    nc: u32,
    cnonce: &'static str,
    /// Use the `-sess` variant of the challenge's algorithm.
    sess: bool,
    body: &'static str,
    /// Replace the nonce of the challenge by this one.
    nonce: Option<String>,
    /// Use this HA1 rather than the one of `user` and `password`.
    ha1: Option<String>,
    kind: Kind,
}

impl Default for Client {
    fn default() -> Self {
        Client {
            user: "alice",
            password: "secret",
            method: "REGISTER",
            ruri: "sip:atlanta.example.com",
            digest_uri: None,
            qop: Some("auth"),
            nc: 1,
            cnonce: "0a4f113b",
            sess: false,
            body: "",
            nonce: None,
            ha1: None,
            kind: Kind::Www,
        }
    }
}

impl Client {
    /// The credentials answering `challenge`.
    fn authorization(&self, challenge: &str) -> String {
        let c = AuthValue::parse(challenge, HeaderName::WwwAuthenticate).expect("challenge");
        let realm = c.realm().expect("realm").into_owned();
        let nonce = self
            .nonce
            .clone()
            .unwrap_or_else(|| c.nonce().expect("nonce").into_owned());
        let alg = c.algorithm().map_or("MD5".to_owned(), |a| a.into_owned());
        let uri = self.digest_uri.unwrap_or(self.ruri);
        let mut ha1 = self.ha1.clone().unwrap_or_else(|| {
            hash(
                &alg,
                format!("{}:{realm}:{}", self.user, self.password).as_bytes(),
            )
        });
        if self.sess {
            ha1 = hash(&alg, format!("{ha1}:{nonce}:{}", self.cnonce).as_bytes());
        }
        let ha2 = if self.qop == Some("auth-int") {
            let hb = hash(&alg, self.body.as_bytes());
            hash(&alg, format!("{}:{uri}:{hb}", self.method).as_bytes())
        } else {
            hash(&alg, format!("{}:{uri}", self.method).as_bytes())
        };
        let nc = format!("{:08x}", self.nc);
        let response = match self.qop {
            Some(qop) => hash(
                &alg,
                format!("{ha1}:{nonce}:{nc}:{}:{qop}:{ha2}", self.cnonce).as_bytes(),
            ),
            None => hash(&alg, format!("{ha1}:{nonce}:{ha2}").as_bytes()),
        };
        let sess = if self.sess { "-sess" } else { "" };
        let mut s = format!(
            "Digest username=\"{}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
             response=\"{response}\", algorithm={alg}{sess}",
            self.user
        );
        if let Some(qop) = self.qop {
            s += &format!(", qop={qop}, nc={nc}, cnonce=\"{}\"", self.cnonce);
        } else if self.sess {
            s += &format!(", cnonce=\"{}\"", self.cnonce);
        }
        s
    }

    /// The request carrying the credentials answering `challenge`.
    fn request(&self, challenge: &str) -> Message {
        let header = match self.kind {
            Kind::Www => "Authorization",
            Kind::Proxy => "Proxy-Authorization",
        };
        message(
            self.method,
            self.ruri,
            &[(header, &self.authorization(challenge))],
            self.body,
        )
    }
}

fn message(method: &str, ruri: &str, headers: &[(&str, &str)], body: &str) -> Message {
    let mut s = format!(
        "{method} {ruri} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n\
         Max-Forwards: 70\r\n\
         To: <sip:alice@atlanta.example.com>\r\n\
         From: <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
         Call-ID: a84b4c76e66710\r\n\
         CSeq: 1 {method}\r\n"
    );
    for (name, value) in headers {
        s += &format!("{name}: {value}\r\n");
    }
    s += &format!("Content-Length: {}\r\n\r\n{body}", body.len());
    Message::parse(Bytes::from(s)).expect("test request parses")
}

fn alice(alg: Algorithm) -> Ha1 {
    ha1(alg, "alice", REALM, "secret")
}

/// The first challenge of `a` for `alg`.
fn challenge(a: &Authenticator, alg: Algorithm, at: u64) -> String {
    let mut s = String::new();
    a.write_challenge(alg, REALM, false, t(at), &mut s);
    s
}

/// Reads the credentials of `req` and verifies them with alice's HA1 at `at`.
fn verdict(a: &Authenticator, req: &Message, kind: Kind, ha1: Option<&Ha1>, at: u64) -> Verdict {
    match a.credentials(req, kind, REALM) {
        None => panic!("no credentials found"),
        Some(Err(m)) => Verdict::Malformed(m),
        Some(Ok(c)) => a.verify(req, &c, ha1, t(at)),
    }
}

fn run(a: &Authenticator, client: &Client, alg: Algorithm, at: u64) -> Verdict {
    let req = client.request(&challenge(a, alg, T0));
    verdict(a, &req, client.kind, Some(&alice(alg)), at)
}

#[test]
fn send_and_sync() {
    fn assert<T: Send + Sync>() {}
    assert::<Authenticator>();
}

#[test]
fn kinds() {
    assert_eq!(Kind::Www.status(), 401);
    assert_eq!(Kind::Proxy.status(), 407);
    assert_eq!(Kind::Www.challenge_header(), HeaderName::WwwAuthenticate);
    assert_eq!(
        Kind::Proxy.challenge_header(),
        HeaderName::ProxyAuthenticate
    );
    assert_eq!(Kind::Www.credentials_header(), HeaderName::Authorization);
    assert_eq!(
        Kind::Proxy.credentials_header(),
        HeaderName::ProxyAuthorization
    );
}

#[test]
fn one_challenge_by_default_md5_first() {
    let a = auth(DigestConfig::default());
    let cs = a.challenges(REALM, false, None, t(T0));
    assert_eq!(cs.len(), 1, "{cs:?}");
    let p = AuthValue::parse(&cs[0], HeaderName::WwwAuthenticate).expect("parses");
    assert_eq!(p.algorithm().as_deref(), Some("MD5"));
    // Asked for (initial empty Authorization, or the algorithm of a stale answer).
    let cs = a.challenges(REALM, true, Some(Algorithm::Sha256), t(T0));
    assert_eq!(cs.len(), 1);
    let p = AuthValue::parse(&cs[0], HeaderName::WwwAuthenticate).expect("parses");
    assert_eq!(p.algorithm().as_deref(), Some("SHA-256"));
    assert!(p.stale());
    // Not accepted: the preferred one instead.
    let cs = a.challenges(REALM, false, Some(Algorithm::Sha512_256), t(T0));
    let p = AuthValue::parse(&cs[0], HeaderName::WwwAuthenticate).expect("parses");
    assert_eq!(p.algorithm().as_deref(), Some("MD5"));
}

#[test]
fn all_challenges_in_order_with_stale() {
    let a = auth(DigestConfig {
        algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
        offer: Offer::All,
        ..DigestConfig::default()
    });
    let cs = a.challenges(REALM, false, None, t(T0));
    assert_eq!(cs.len(), 2);
    let parsed: Vec<_> = cs
        .iter()
        .map(|c| AuthValue::parse(c, HeaderName::WwwAuthenticate).expect("parses"))
        .collect();
    assert_eq!(parsed[0].algorithm().as_deref(), Some("SHA-256"));
    assert_eq!(parsed[1].algorithm().as_deref(), Some("MD5"));
    for p in &parsed {
        assert!(p.is_digest());
        assert_eq!(p.realm().as_deref(), Some(REALM));
        assert_eq!(p.qop().as_deref(), Some("auth"));
        assert!(p.params.is_quoted("qop"));
        assert!(p.params.is_quoted("nonce"));
        assert!(!p.stale());
    }
    assert_ne!(parsed[0].nonce(), parsed[1].nonce());
    assert!(cs[0].starts_with("Digest realm=\"atlanta.example.com\", nonce=\""));
    assert!(!cs[0].contains("stale"));

    let stale = a.challenges(REALM, true, None, t(T0));
    assert!(stale[0].ends_with(", stale=true"), "{}", stale[0]);
    for c in &stale {
        let p = AuthValue::parse(c, HeaderName::WwwAuthenticate).expect("parses");
        assert!(p.stale());
    }
    // Asked for one: only that one.
    assert_eq!(
        a.challenges(REALM, false, Some(Algorithm::Md5), t(T0))
            .len(),
        1
    );

    let int = auth(DigestConfig {
        qop_auth_int: true,
        algorithms: vec![Algorithm::Md5],
        ..DigestConfig::default()
    });
    let cs = int.challenges("we \"quote\" \\", false, None, t(T0));
    assert_eq!(cs.len(), 1);
    let p = AuthValue::parse(&cs[0], HeaderName::WwwAuthenticate).expect("parses");
    assert_eq!(p.qop().as_deref(), Some("auth,auth-int"));
    assert_eq!(p.realm().as_deref(), Some("we \"quote\" \\"));

    let empty = auth(DigestConfig {
        algorithms: vec![],
        offer: Offer::All,
        ..DigestConfig::default()
    });
    assert_eq!(
        empty.challenges(REALM, false, None, t(T0)).len(),
        2,
        "empty = default"
    );
}

#[test]
fn an_initial_empty_authorization_asks_for_its_algorithm() {
    let a = auth(DigestConfig::default());
    let ask = |value: &str| {
        let req = message(
            "REGISTER",
            "sip:atlanta.example.com",
            &[("Authorization", value)],
            "",
        );
        (
            a.asked_algorithm(&req, Kind::Www, REALM),
            a.credentials(&req, Kind::Www, REALM).is_none(),
        )
    };
    // pjsip's auth_initial_empty with auth_initial_algorithm = SHA-256.
    assert_eq!(
        ask(
            "Digest username=\"alice\", realm=\"atlanta.example.com\", nonce=\"\", uri=\"sip:atlanta.example.com\", response=\"\", algorithm=SHA-256"
        ),
        (Some(Algorithm::Sha256), true),
        "asked for, and no answer to check: challenge"
    );
    // pjsip with its credentials' realm "*" (any realm), and a UA naming no realm.
    assert_eq!(
        ask(
            "digest username=\"alice\", realm=\"*\", nonce=\"\", uri=\"sip:atlanta.example.com\", response=\"\", algorithm=SHA-256"
        ),
        (Some(Algorithm::Sha256), true)
    );
    assert_eq!(
        ask(
            "Digest username=\"alice\", nonce=\"\", uri=\"sip:atlanta.example.com\", response=\"\", algorithm=SHA-256"
        ),
        (Some(Algorithm::Sha256), true)
    );
    // No algorithm: MD5.
    assert_eq!(
        ask(
            "Digest username=\"alice\", realm=\"atlanta.example.com\", nonce=\"\", uri=\"sip:atlanta.example.com\", response=\"\""
        ),
        (Some(Algorithm::Md5), true)
    );
    // Another realm, or an algorithm not accepted: no ask.
    assert_eq!(
        ask(
            "Digest username=\"alice\", realm=\"elsewhere\", nonce=\"\", uri=\"sip:x\", response=\"\", algorithm=SHA-256"
        ),
        (None, true)
    );
    assert_eq!(
        ask(
            "Digest username=\"alice\", realm=\"atlanta.example.com\", nonce=\"\", uri=\"sip:x\", response=\"\", algorithm=SHA-512-256"
        ),
        (None, true)
    );
}

#[test]
fn right_password_is_authorized_for_every_algorithm() {
    let a = auth(DigestConfig {
        algorithms: vec![Algorithm::Sha256, Algorithm::Md5, Algorithm::Sha512_256],
        offer: Offer::All,
        ..DigestConfig::default()
    });
    for (i, &alg) in a.config().algorithms.iter().enumerate() {
        let cs = a.challenges(REALM, false, None, t(T0));
        let req = Client::default().request(&cs[i]);
        let creds = a
            .credentials(&req, Kind::Www, REALM)
            .expect("found")
            .expect("well-formed");
        assert_eq!(creds.username(), "alice");
        assert_eq!(creds.realm(), REALM);
        assert_eq!(creds.algorithm(), alg);
        assert_eq!(
            a.verify(&req, &creds, Some(&alice(alg)), t(T0 + 1)),
            Verdict::Authorized,
            "{alg}"
        );
    }
}

#[test]
fn wrong_password_and_unknown_user_are_rejected() {
    let a = auth(DigestConfig::default());
    for alg in [Algorithm::Sha256, Algorithm::Md5] {
        let wrong = Client {
            password: "guess",
            ..Client::default()
        };
        assert_eq!(run(&a, &wrong, alg, T0), Verdict::Rejected, "{alg}");
        let req = Client::default().request(&challenge(&a, alg, T0));
        assert_eq!(verdict(&a, &req, Kind::Www, None, T0), Verdict::Rejected);
        // An HA1 for the other algorithm cannot check this response.
        let other = if alg == Algorithm::Md5 {
            Algorithm::Sha256
        } else {
            Algorithm::Md5
        };
        assert_eq!(
            verdict(&a, &req, Kind::Www, Some(&alice(other)), T0),
            Verdict::Rejected
        );
        // Someone who knows the dummy HA1 still gets nowhere: an unknown user is never
        // authorized, whatever the response.
        let req = Client {
            user: "mallory",
            ha1: Some(a.dummy_ha1.truncated(alg.hex_len()).as_str().to_owned()),
            ..Client::default()
        }
        .request(&challenge(&a, alg, T0));
        assert_eq!(verdict(&a, &req, Kind::Www, None, T0), Verdict::Rejected);
    }
}

#[test]
fn expired_nonce() {
    let a = auth(DigestConfig::default());
    let c = Client::default();
    assert_eq!(
        run(&a, &c, Algorithm::Sha256, T0 + 300),
        Verdict::Authorized
    );
    assert_eq!(run(&a, &c, Algorithm::Sha256, T0 + 301), Verdict::Stale);
    let wrong = Client {
        password: "guess",
        ..Client::default()
    };
    assert_eq!(
        run(&a, &wrong, Algorithm::Sha256, T0 + 301),
        Verdict::Rejected
    );
    // A nonce issued "later" than allowed for clock skew is not ours.
    assert_eq!(run(&a, &c, Algorithm::Md5, T0 - 11), Verdict::Stale);
    assert_eq!(run(&a, &c, Algorithm::Md5, T0 - 10), Verdict::Authorized);
}

#[test]
fn nonce_from_another_secret_or_tampered() {
    let a = auth(DigestConfig::default());
    let other = Authenticator::new(DigestConfig::default(), Secret::from_bytes([1; 32]));
    let foreign = challenge(&other, Algorithm::Sha256, T0);
    let req = Client::default().request(&foreign);
    let ha1 = alice(Algorithm::Sha256);
    assert_eq!(verdict(&a, &req, Kind::Www, Some(&ha1), T0), Verdict::Stale);
    let wrong = Client {
        password: "guess",
        ..Client::default()
    };
    let req = wrong.request(&foreign);
    assert_eq!(
        verdict(&a, &req, Kind::Www, Some(&ha1), T0),
        Verdict::Rejected
    );

    // A nonce with one character changed (the client computed its response over the
    // changed nonce): the response is right for it, the nonce is not ours.
    let c = challenge(&a, Algorithm::Sha256, T0);
    let nonce = AuthValue::parse(&c, HeaderName::WwwAuthenticate)
        .expect("parses")
        .nonce()
        .expect("nonce")
        .into_owned();
    let mut tampered = nonce.into_bytes();
    tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    let forger = Client {
        nonce: Some(tampered.clone()),
        ..Client::default()
    };
    let req = forger.request(&c);
    assert_eq!(verdict(&a, &req, Kind::Www, Some(&ha1), T0), Verdict::Stale);
    let forger = Client {
        nonce: Some(tampered),
        password: "guess",
        ..Client::default()
    };
    let req = forger.request(&c);
    assert_eq!(
        verdict(&a, &req, Kind::Www, Some(&ha1), T0),
        Verdict::Rejected
    );
    // Not even base64url.
    let junk = Client {
        nonce: Some("dcd98b7102dd2f0e8b11d0f600bfb0c093".to_owned()),
        ..Client::default()
    };
    let req = junk.request(&c);
    assert_eq!(verdict(&a, &req, Kind::Www, Some(&ha1), T0), Verdict::Stale);
}

#[test]
fn cluster_nodes_share_nonces() {
    let a = auth(DigestConfig::default());
    let b = auth(DigestConfig::default());
    let req = Client::default().request(&challenge(&a, Algorithm::Md5, T0));
    assert_eq!(
        verdict(&b, &req, Kind::Www, Some(&alice(Algorithm::Md5)), T0 + 5),
        Verdict::Authorized
    );
}

#[test]
fn nonce_count_replay_window() {
    let a = auth(DigestConfig::default());
    let ha1 = alice(Algorithm::Sha256);
    let c = challenge(&a, Algorithm::Sha256, T0);
    let with_nc = |nc| {
        Client {
            nc,
            ..Client::default()
        }
        .request(&c)
    };
    let v = |nc| verdict(&a, &with_nc(nc), Kind::Www, Some(&ha1), T0 + 1);
    assert_eq!(v(1), Verdict::Authorized);
    assert_eq!(v(1), Verdict::Stale, "same nc twice");
    assert_eq!(v(3), Verdict::Authorized);
    assert_eq!(v(2), Verdict::Authorized, "out of order, inside the window");
    assert_eq!(v(2), Verdict::Stale);
    assert_eq!(v(3), Verdict::Stale);
    assert_eq!(v(100), Verdict::Authorized);
    assert_eq!(v(36), Verdict::Stale, "more than 63 below the highest");
    assert_eq!(v(37), Verdict::Authorized);
    assert_eq!(a.tracked_nonces(), 1);

    // A wrong response is not recorded: the right one with that nc still passes.
    let wrong = Client {
        nc: 101,
        password: "guess",
        ..Client::default()
    }
    .request(&c);
    assert_eq!(
        verdict(&a, &wrong, Kind::Www, Some(&ha1), T0 + 1),
        Verdict::Rejected
    );
    assert_eq!(v(101), Verdict::Authorized);

    // Another nonce has its own counts.
    let other = Client::default().request(&challenge(&a, Algorithm::Sha256, T0));
    assert_eq!(
        verdict(&a, &other, Kind::Www, Some(&ha1), T0 + 1),
        Verdict::Authorized
    );
    assert_eq!(a.tracked_nonces(), 2);
    a.purge(t(T0 + 300));
    assert_eq!(a.tracked_nonces(), 2);
    a.purge(t(T0 + 301));
    assert_eq!(a.tracked_nonces(), 0);
}

#[test]
fn evicted_nonce_is_not_replayable() {
    let a = auth(DigestConfig {
        max_tracked_nonces: 1,
        ..DigestConfig::default()
    });
    let ha1 = alice(Algorithm::Md5);
    let first = challenge(&a, Algorithm::Md5, T0);
    let second = challenge(&a, Algorithm::Md5, T0 + 1);
    let v = |c: &str, nc| {
        let req = Client {
            nc,
            ..Client::default()
        }
        .request(c);
        verdict(&a, &req, Kind::Www, Some(&ha1), T0 + 2)
    };
    assert_eq!(v(&first, 1), Verdict::Authorized);
    assert_eq!(v(&second, 1), Verdict::Authorized, "evicts the first");
    assert_eq!(v(&first, 2), Verdict::Stale, "no longer tracked: refused");
    assert_eq!(v(&first, 1), Verdict::Stale);
    assert_eq!(v(&second, 2), Verdict::Authorized);
}

#[test]
fn concurrent_counts_are_accepted_once() {
    let a = Arc::new(auth(DigestConfig::default()));
    let c = challenge(&a, Algorithm::Md5, T0);
    let reqs: Arc<Vec<Message>> = Arc::new(
        (1..=64)
            .map(|nc| {
                Client {
                    nc,
                    ..Client::default()
                }
                .request(&c)
            })
            .collect(),
    );
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let a = Arc::clone(&a);
            let reqs = Arc::clone(&reqs);
            std::thread::spawn(move || {
                let ha1 = alice(Algorithm::Md5);
                reqs.iter()
                    .filter(|r| verdict(&a, r, Kind::Www, Some(&ha1), T0) == Verdict::Authorized)
                    .count()
            })
        })
        .collect();
    let total: usize = threads.into_iter().map(|h| h.join().expect("thread")).sum();
    assert_eq!(
        total, 64,
        "each of the 64 counts exactly once over 4 threads"
    );
}

#[test]
fn uri_check() {
    let a = auth(DigestConfig::default());
    let sipp = Client {
        digest_uri: Some("sip:192.0.2.10:5060"),
        ..Client::default()
    };
    assert_eq!(
        run(&a, &sipp, Algorithm::Sha256, T0),
        Verdict::Malformed(Malformed::UriMismatch)
    );
    let lenient = auth(DigestConfig {
        check_uri: false,
        ..DigestConfig::default()
    });
    assert_eq!(
        run(&lenient, &sipp, Algorithm::Sha256, T0),
        Verdict::Authorized
    );
    // Equivalent by RFC 3261 §19.1.4: the host is case-insensitive.
    let equivalent = Client {
        digest_uri: Some("sip:ATLANTA.example.com"),
        ..Client::default()
    };
    assert_eq!(
        run(&a, &equivalent, Algorithm::Sha256, T0),
        Verdict::Authorized
    );
}

#[test]
fn a_digest_uri_naming_this_server_is_taken_when_the_caller_says_so() {
    let a = auth(DigestConfig::default());
    let at_server = |client: &Client| {
        let req = client.request(&challenge(&a, Algorithm::Md5, T0));
        let creds = a
            .credentials(&req, client.kind, REALM)
            .expect("credentials")
            .expect("readable");
        a.verify_at_server(&req, &creds, Some(&alice(Algorithm::Md5)), t(T0), |uri| {
            uri.as_sip()
                .is_some_and(|sip| sip.host.to_string() == "192.0.2.10")
        })
    };
    let sipp = Client {
        digest_uri: Some("sip:192.0.2.10:5060"),
        ..Client::default()
    };
    assert_eq!(at_server(&sipp), Verdict::Authorized);
    let elsewhere = Client {
        digest_uri: Some("sip:198.51.100.7:5060"),
        ..Client::default()
    };
    assert_eq!(
        at_server(&elsewhere),
        Verdict::Malformed(Malformed::UriMismatch)
    );
    let not_a_uri = Client {
        digest_uri: Some("192.0.2.10"),
        ..Client::default()
    };
    assert_eq!(
        at_server(&not_a_uri),
        Verdict::Malformed(Malformed::UriMismatch)
    );
    // The Request-URI itself still is.
    assert_eq!(at_server(&Client::default()), Verdict::Authorized);
}

#[test]
fn auth_int_covers_the_body() {
    let a = auth(DigestConfig {
        qop_auth_int: true,
        ..DigestConfig::default()
    });
    let c = Client {
        method: "INVITE",
        ruri: "sip:bob@biloxi.example.com",
        qop: Some("auth-int"),
        body: "v=0\r\no=alice 1 1 IN IP4 192.0.2.1\r\n",
        ..Client::default()
    };
    for alg in [Algorithm::Sha256, Algorithm::Md5] {
        assert_eq!(run(&a, &c, alg, T0), Verdict::Authorized, "{alg}");
        // The body changed on the way: the client hashed another one.
        let ch = challenge(&a, alg, T0);
        let auth_value = c.authorization(&ch);
        let req = message(
            c.method,
            c.ruri,
            &[("Authorization", &auth_value)],
            "v=0\r\no=mallory 1 1 IN IP4 192.0.2.6\r\n",
        );
        assert_eq!(
            verdict(&a, &req, Kind::Www, Some(&alice(alg)), T0),
            Verdict::Rejected
        );
    }
    // Accepted even when only "auth" was offered.
    let plain = auth(DigestConfig::default());
    assert_eq!(run(&plain, &c, Algorithm::Sha256, T0), Verdict::Authorized);
}

#[test]
fn sess_and_no_qop() {
    let a = auth(DigestConfig::default());
    let sess = Client {
        sess: true,
        ..Client::default()
    };
    assert_eq!(run(&a, &sess, Algorithm::Sha256, T0), Verdict::Authorized);
    let sess_no_qop = Client {
        sess: true,
        qop: None,
        ..Client::default()
    };
    assert_eq!(
        run(&a, &sess_no_qop, Algorithm::Md5, T0),
        Verdict::Authorized
    );
    let rfc2069 = Client {
        qop: None,
        ..Client::default()
    };
    assert_eq!(run(&a, &rfc2069, Algorithm::Md5, T0), Verdict::Authorized);
    let strict = auth(DigestConfig {
        require_qop: true,
        ..DigestConfig::default()
    });
    assert_eq!(
        run(&strict, &rfc2069, Algorithm::Md5, T0),
        Verdict::Malformed(Malformed::MissingQop)
    );
}

#[test]
fn algorithm_not_offered() {
    let a = auth(DigestConfig {
        algorithms: vec![Algorithm::Sha256],
        ..DigestConfig::default()
    });
    // An MD5 answer to a challenge issued by a node that offers MD5.
    let md5_node = auth(DigestConfig::default());
    let req = Client::default().request(&challenge(&md5_node, Algorithm::Md5, T0));
    assert_eq!(
        verdict(&a, &req, Kind::Www, Some(&alice(Algorithm::Md5)), T0),
        Verdict::Malformed(Malformed::UnsupportedAlgorithm)
    );
}

#[test]
fn finding_credentials() {
    let a = auth(DigestConfig::default());
    let c = challenge(&a, Algorithm::Sha256, T0);
    let good = Client::default().authorization(&c);

    let none = message("REGISTER", "sip:atlanta.example.com", &[], "");
    assert!(a.credentials(&none, Kind::Www, REALM).is_none());

    let req = message(
        "REGISTER",
        "sip:atlanta.example.com",
        &[("Authorization", &good)],
        "",
    );
    assert!(
        a.credentials(&req, Kind::Www, "biloxi.example.com")
            .is_none(),
        "realm"
    );
    assert!(
        a.credentials(&req, Kind::Proxy, REALM).is_none(),
        "header kind"
    );

    // Several values: another scheme and another realm are skipped.
    let other_realm = good.replace(REALM, "biloxi.example.com");
    let req = message(
        "INVITE",
        "sip:atlanta.example.com",
        &[
            ("Proxy-Authorization", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
            ("Proxy-Authorization", &other_realm),
            ("Proxy-Authorization", &good),
        ],
        "",
    );
    let creds = a
        .credentials(&req, Kind::Proxy, REALM)
        .expect("found")
        .expect("well-formed");
    assert_eq!(creds.realm(), REALM);
    let proxy = Client {
        kind: Kind::Proxy,
        method: "INVITE",
        ..Client::default()
    };
    assert_eq!(run(&a, &proxy, Algorithm::Sha256, T0), Verdict::Authorized);

    // Missing parameters.
    for (drop, want) in [
        ("username", Malformed::MissingUsername),
        ("nonce", Malformed::MissingNonce),
        ("uri", Malformed::MissingUri),
        ("response", Malformed::MissingResponse),
        ("cnonce", Malformed::MissingCnonce),
        ("nc", Malformed::BadNc),
    ] {
        let kept: Vec<&str> = good
            .trim_start_matches("Digest ")
            .split(", ")
            .filter(|p| !p.starts_with(&format!("{drop}=")))
            .collect();
        let value = format!("Digest {}", kept.join(", "));
        let req = message(
            "REGISTER",
            "sip:atlanta.example.com",
            &[("Authorization", &value)],
            "",
        );
        assert_eq!(
            a.credentials(&req, Kind::Www, REALM).map(|r| r.err()),
            Some(Some(want)),
            "{value}"
        );
    }

    // A Digest value we cannot read, and nothing else for us: 400.
    let req = message(
        "REGISTER",
        "sip:atlanta.example.com",
        &[(
            "Authorization",
            "Digest realm=\"atlanta.example.com\" nonce",
        )],
        "",
    );
    assert_eq!(
        a.credentials(&req, Kind::Www, REALM).map(|r| r.err()),
        Some(Some(Malformed::Syntax))
    );
}

#[test]
fn verify_needs_a_request() {
    let a = auth(DigestConfig::default());
    let req = Client::default().request(&challenge(&a, Algorithm::Md5, T0));
    let creds = a
        .credentials(&req, Kind::Www, REALM)
        .expect("found")
        .expect("well-formed");
    let resp = Message::parse(Bytes::from_static(
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nTo: <sip:a@b>;tag=2\r\nFrom: <sip:a@b>;tag=1\r\nCall-ID: x\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n",
    ))
    .expect("parses");
    assert_eq!(
        a.verify(&resp, &creds, Some(&alice(Algorithm::Md5)), t(T0)),
        Verdict::Malformed(Malformed::NotARequest)
    );
}
