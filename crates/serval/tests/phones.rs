//! The phones operators' users run, against serval on its default configuration (only
//! `-d example.com` and the two subscribers, as `servalctl user add` makes them):
//! baresip 1.0 (Debian's `baresip-core`) as alice and pjsip 2.15 (the `pjsua2-python`
//! wheel) as bob register with digest, call each other through serval with either side
//! hanging up, and exchange a MESSAGE, over UDP and over TCP.
//!
//! On TCP bob asks for SHA-256 (pjsip's initial empty Authorization, RFC 8760): the
//! default challenge is MD5 alone, which baresip needs, and SHA-256 is given to the
//! phones that ask for it.

#[allow(dead_code)]
mod support;

use support::phones::{Baresip, BaresipAccount, Phone, Pjsua, PjsuaAccount, Transport};
use support::{Serval, add_subscribers, fresh_sqlite_url, with_store};

const ALICE: &str = "sip:alice@example.com";
const BOB: &str = "sip:bob@example.com";

/// One call from `caller` to `callee`, hung up by the caller or by the callee.
fn call(caller: &mut dyn Phone, callee: &mut dyn Phone, caller_hangs_up: bool) {
    caller.dial(callee.aor());
    let from = callee.wait_incoming();
    assert!(
        from.contains(caller.aor()),
        "{} rang with {from}, not {}",
        callee.aor(),
        caller.aor()
    );
    callee.accept();
    caller.wait_established();
    callee.wait_established();
    if caller_hangs_up {
        caller.hangup();
    } else {
        callee.hangup();
    }
    caller.wait_closed();
    callee.wait_closed();
}

fn message(from: &mut dyn Phone, to: &mut dyn Phone, text: &str) {
    let aor = to.aor().to_owned();
    from.message(&aor, text);
    let sender = to.wait_message(text);
    assert!(
        sender.contains(from.aor()),
        "{aor} got {text:?} from {sender}, not {}",
        from.aor()
    );
}

fn phones_work_on_the_defaults(transport: Transport) {
    let db = fresh_sqlite_url();
    add_subscribers(
        &db,
        &[
            ("alice", "example.com", "alice-Pa55"),
            ("bob", "example.com", "bob-Pa55"),
        ],
    );
    let serval = Serval::start(&["-d", "example.com", "--db", &db]);
    let server = match transport {
        Transport::Udp => serval.udp,
        Transport::Tcp => serval.tcp,
    }
    .to_string();

    let mut alice = Baresip::start(
        BaresipAccount::new("alice@example.com", "alice-Pa55", &server, transport).contact(BOB),
    );
    let mut bob = Pjsua::start(PjsuaAccount {
        user: "bob".into(),
        domain: "example.com".into(),
        password: "bob-Pa55".into(),
        server: server.clone(),
        transport,
        initial_algorithm: (transport == Transport::Tcp).then_some("SHA-256"),
    });
    alice.wait_registered();
    bob.wait_registered();

    // Both bindings are in the location table, with the transport they came over.
    for aor in [ALICE, BOB] {
        let contacts = with_store(&db, |store| async move {
            let rows = store
                .bindings(aor.trim_start_matches("sip:"))
                .await
                .expect("bindings");
            rows.into_iter().map(|r| r.contact).collect::<Vec<_>>()
        });
        assert_eq!(contacts.len(), 1, "{aor}: {contacts:?}");
        if transport == Transport::Tcp {
            assert!(
                contacts[0].to_ascii_lowercase().contains("transport=tcp"),
                "{aor}: {contacts:?}"
            );
        }
    }
    if transport == Transport::Tcp {
        let answered = bob
            .log()
            .lines()
            .filter(|l| l.starts_with("Authorization: Digest") && l.contains("algorithm=SHA-256"))
            .any(|l| !l.contains("response=\"\""));
        assert!(answered, "bob answered a SHA-256 challenge:\n{}", bob.log());
    }

    call(&mut alice, &mut bob, true);
    call(&mut alice, &mut bob, false);
    call(&mut bob, &mut alice, true);
    call(&mut bob, &mut alice, false);

    message(&mut alice, &mut bob, "hello-bob");
    message(&mut bob, &mut alice, "hello-alice");
}

#[test]
fn baresip_and_pjsua_register_call_and_message_over_udp() {
    phones_work_on_the_defaults(Transport::Udp);
}

#[test]
fn baresip_and_pjsua_register_call_and_message_over_tcp() {
    phones_work_on_the_defaults(Transport::Tcp);
}
