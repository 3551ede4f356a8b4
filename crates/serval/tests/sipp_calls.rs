//! The seed's call flows end to end: a real SIPp caller and a real SIPp callee (Debian
//! `sip-tester`) through a running `serval`, over UDP and over TCP.
//!
//! - Each test starts its own `serval` on 127.0.0.1 (ports it picks) and its SIPps on an
//!   address of their own, 127.0.0.N: outside the proxy's local addresses, and no port
//!   shared with a test running in parallel.
//! - As in the seed, both users are subscribers of the domain (`enst.fr` here) and
//!   authenticate: the callee registers (REGISTER, 401, REGISTER with credentials, 200
//!   listing its binding with `expires=900`), the caller's INVITE for `sip:bob@enst.fr`
//!   is challenged (407, ACK, INVITE with credentials) and the proxy finds bob by the
//!   location service. Over TCP the REGISTER opens the connection the proxy then
//!   reaches bob over. The test starts the caller once the proxy logged the
//!   registration. The server runs its default authentication settings: one MD5
//!   challenge (SIPp 3.6 reads only the first challenge and knows only MD5), and a
//!   digest `uri` naming the server itself accepted (SIPp puts the address it sends
//!   to there, not the Request-URI).
//! - Each SIPp runs one call (`-m 1`) and gives up after `-timeout 20s`: the tests wait
//!   on their exit status (0: the call went as its scenario says), then check what they
//!   received: our Via and Record-Route on the way in, in-dialog requests back through
//!   the proxy with its Route entries removed, responses without our Via.

#[allow(dead_code)]
#[path = "support/sipp.rs"]
mod sipp;
#[allow(dead_code)]
mod support;

use sipp::{SipLog, SipMessage, Sipp, SippRun, Transport, all_succeed, free_ports, work_dir};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use support::{Serval, fresh_sqlite_url, temp_file};

/// The domain of the single-proxy tests.
const DOMAIN: &str = "enst.fr";
/// Every SIP message traced to the log, and registrations.
const LOG: &str = "info,serval::router=debug,registrar::respond=debug,sip=trace";

/// The seed's four call flows, by their caller and callee scenarios.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    /// INVITE, 180, 603 Decline, ACK.
    Declined,
    /// INVITE, 180, CANCEL, 200 (CANCEL), 487, ACK.
    CallerCancels,
    /// INVITE, 180, 200, ACK, BYE from the caller, 200.
    CallerHangsUp,
    /// INVITE, 180, 200, ACK, BYE from the callee (routed by Record-Route), 200.
    CalleeHangsUp,
}

impl Flow {
    fn scenarios(self) -> (&'static str, &'static str) {
        match self {
            Flow::Declined => ("uac_declined.xml", "uas_declines.xml"),
            Flow::CallerCancels => ("uac_cancels.xml", "uas_cancelled.xml"),
            Flow::CallerHangsUp => ("uac_hangs_up.xml", "uas_hung_up_on.xml"),
            Flow::CalleeHangsUp => ("uac_hung_up_on.xml", "uas_hangs_up.xml"),
        }
    }
}

/// A serval for `domain` whose subscribers are alice and bob of `domain`, and bob of
/// 127.0.0.1 (an address of the server, so a local domain too). Authenticated local
/// users may reach other domains (the chained tests route to the second proxy by its
/// address).
fn start_proxy(test: &str, domain: &str) -> Serval {
    start_proxy_on(test, domain, &fresh_sqlite_url())
}

/// [`start_proxy`] with its data in the database at `db`.
fn start_proxy_on(test: &str, domain: &str, db: &str) -> Serval {
    let config = temp_file(
        &format!("sipp-{test}.toml"),
        &format!("[server]\ndomains = [\"{domain}\"]\n"),
    );
    support::add_subscribers(
        db,
        &[
            ("alice", domain, "alice-secret"),
            ("bob", domain, "bob-secret"),
            ("bob", "127.0.0.1", "bob-secret"),
        ],
    );
    Serval::start_logging(
        LOG,
        &["-c", config.to_str().expect("UTF-8 path"), "--db", db],
    )
}

fn listener(proxy: &Serval, transport: Transport) -> SocketAddr {
    match transport {
        Transport::Udp => proxy.udp,
        Transport::Tcp => proxy.tcp,
    }
}

/// The Record-Route value the proxy writes for its listener on `transport`.
fn record_route(proxy: &Serval, transport: Transport, r2: bool) -> String {
    let t = match transport {
        Transport::Udp => "",
        Transport::Tcp => ";transport=tcp",
    };
    let r2 = if r2 { ";r2=on" } else { "" };
    format!("<sip:{}{t};lr{r2}>", listener(proxy, transport))
}

/// 127.0.0.`n`: the SIPps' address for one test.
fn sipp_host(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
}

/// The callee's address as a Request-URI host part.
fn callee_uri_host(callee: SocketAddr, transport: Transport) -> String {
    format!("{callee};transport={}", transport.token())
}

/// Starts the callee SIPp (`scenario`), which registers as `bob@domain` with `proxy`,
/// and waits until the proxy has saved its binding.
fn start_callee(
    dir: &std::path::Path,
    proxy: &Serval,
    scenario: &str,
    at: SocketAddr,
    transport: Transport,
    call_id: &str,
    domain: &str,
) -> Sipp {
    let uas = Sipp::start(
        dir,
        SippRun {
            name: "uas",
            scenario,
            local: at,
            transport,
            remote: listener(proxy, transport),
            call_id,
            extra: vec!["-key".into(), "domain".into(), domain.into()],
        },
    );
    // The AOR has no port (`domain` may name the server as HOST:PORT).
    let aor_domain = domain.split(':').next().unwrap_or(domain);
    proxy.wait_for_log(&format!("REGISTER bob@{aor_domain}: 1 binding"));
    uas
}

/// What the caller and the callee received in one call.
struct Call {
    proxy: Serval,
    caller: SipLog,
    callee: SipLog,
}

/// Runs `flow` through one proxy: caller over `caller_t`, callee over `callee_t`.
fn call(test: &str, host: u8, flow: Flow, caller_t: Transport, callee_t: Transport) -> Call {
    call_on(&fresh_sqlite_url(), test, host, flow, caller_t, callee_t)
}

/// [`call`] through a proxy whose data is in the database at `db`.
fn call_on(
    db: &str,
    test: &str,
    host: u8,
    flow: Flow,
    caller_t: Transport,
    callee_t: Transport,
) -> Call {
    let dir = work_dir(test);
    let proxy = start_proxy_on(test, DOMAIN, db);
    let ip = sipp_host(host);
    let ports = free_ports(ip, 2);
    let (callee_at, caller_at) = (SocketAddr::new(ip, ports[0]), SocketAddr::new(ip, ports[1]));
    let call_id = format!("{test}-{}@serval.test", std::process::id());
    let (uac_scenario, uas_scenario) = flow.scenarios();
    let uas = start_callee(
        &dir,
        &proxy,
        uas_scenario,
        callee_at,
        callee_t,
        &call_id,
        DOMAIN,
    );
    let uac = Sipp::start(
        &dir,
        SippRun {
            name: "uac",
            scenario: uac_scenario,
            local: caller_at,
            transport: caller_t,
            remote: listener(&proxy, caller_t),
            call_id: &call_id,
            extra: vec![
                "-s".into(),
                "bob".into(),
                "-key".into(),
                "callee".into(),
                DOMAIN.into(),
                "-key".into(),
                "caller_domain".into(),
                DOMAIN.into(),
            ],
        },
    );
    let mut logs = all_succeed(vec![uac, uas]).into_iter();
    let (caller, callee) = (logs.next().expect("uac log"), logs.next().expect("uas log"));
    let call = Call {
        proxy,
        caller,
        callee,
    };
    check_flow(&call, flow, caller_t, callee_t, callee_at);
    call
}

/// What every flow shows, and what each one shows of its own.
fn check_flow(
    call: &Call,
    flow: Flow,
    caller_t: Transport,
    callee_t: Transport,
    callee: SocketAddr,
) {
    let proxy = &call.proxy;
    let expected_rr = if caller_t == callee_t {
        vec![record_route(proxy, callee_t, false)]
    } else {
        // Leaving over another transport: the outgoing interface first, then the
        // incoming one (the r2=on pair).
        vec![
            record_route(proxy, callee_t, true),
            record_route(proxy, caller_t, true),
        ]
    };

    // The INVITE reached the callee through the proxy.
    // The Request-URI is the Contact bob registered (SIPp writes its transport in
    // upper case).
    let invite = call.callee.request("INVITE");
    let registered = format!("sip:bob@{}", callee_uri_host(callee, callee_t));
    assert!(
        invite
            .request_uri()
            .is_some_and(|u| u.eq_ignore_ascii_case(&registered)),
        "Request-URI {registered} expected: {}",
        invite.raw
    );
    let vias = invite.list("via");
    assert_eq!(vias.len(), 2, "our Via over the caller's: {}", invite.raw);
    let ours = format!(
        "SIP/2.0/{} {};branch=z9hG4bK",
        callee_t.token().to_ascii_uppercase(),
        listener(proxy, callee_t)
    );
    assert!(
        vias[0].starts_with(&ours),
        "top Via {} in {}",
        vias[0],
        invite.raw
    );
    assert!(
        vias[1].contains("received=") && vias[1].contains(";rport="),
        "received and rport on the caller's Via: {}",
        invite.raw
    );
    assert_eq!(invite.header("Max-Forwards"), Some("69"), "{}", invite.raw);
    assert_eq!(invite.list("Record-Route"), expected_rr, "{}", invite.raw);

    // Every response the caller got went through the proxy: our Via removed.
    for response in call.caller.received().filter(|m| m.code().is_some()) {
        assert_eq!(response.list("via").len(), 1, "{}", response.raw);
    }
    assert_eq!(
        call.caller.codes().first(),
        Some(&100),
        "the proxy answers 100 Trying first"
    );

    match flow {
        Flow::Declined => {
            call.caller.response(603, "INVITE");
            // The proxy's own ACK for the 603, hop by hop: its Via only, its branch.
            let ack = call.callee.request("ACK");
            assert_hop_by_hop(ack, invite);
        }
        Flow::CallerCancels => {
            call.caller.response(200, "CANCEL");
            call.caller.response(487, "INVITE");
            let cancel = call.callee.request("CANCEL");
            assert_hop_by_hop(cancel, invite);
            let ack = call.callee.request("ACK");
            assert_hop_by_hop(ack, invite);
        }
        Flow::CallerHangsUp => {
            let ok = call.caller.response(200, "INVITE");
            assert_eq!(ok.list("Record-Route"), expected_rr, "{}", ok.raw);
            assert_routed_through(call.callee.request("ACK"));
            assert_routed_through(call.callee.request("BYE"));
            call.caller.response(200, "BYE");
        }
        Flow::CalleeHangsUp => {
            let ok = call.caller.response(200, "INVITE");
            assert_eq!(ok.list("Record-Route"), expected_rr, "{}", ok.raw);
            assert_routed_through(call.callee.request("ACK"));
            assert_routed_through(call.caller.request("BYE"));
            call.callee.response(200, "BYE");
        }
    }
}

/// A request the proxy made itself for `invite`'s branch (CANCEL, ACK for a non-2xx).
fn assert_hop_by_hop(request: &SipMessage, invite: &SipMessage) {
    assert_eq!(request.list("via").len(), 1, "{}", request.raw);
    assert_eq!(request.top_branch(), invite.top_branch(), "{}", request.raw);
}

/// An in-dialog request that came through the proxy: its Via over the sender's, and the
/// proxy's Route entries removed (it was the whole route set).
fn assert_routed_through(request: &SipMessage) {
    assert_eq!(request.list("via").len(), 2, "{}", request.raw);
    assert_eq!(
        request.list("Route"),
        Vec::<String>::new(),
        "{}",
        request.raw
    );
}

#[test]
fn udp_callee_declines_with_603() {
    call(
        "udp-declined",
        2,
        Flow::Declined,
        Transport::Udp,
        Transport::Udp,
    );
}

#[test]
fn udp_caller_cancels_while_it_rings() {
    call(
        "udp-cancel",
        3,
        Flow::CallerCancels,
        Transport::Udp,
        Transport::Udp,
    );
}

#[test]
fn udp_caller_hangs_up() {
    call(
        "udp-caller-bye",
        4,
        Flow::CallerHangsUp,
        Transport::Udp,
        Transport::Udp,
    );
}

#[test]
fn udp_callee_hangs_up() {
    call(
        "udp-callee-bye",
        5,
        Flow::CalleeHangsUp,
        Transport::Udp,
        Transport::Udp,
    );
}

#[test]
fn tcp_callee_declines_with_603() {
    call(
        "tcp-declined",
        6,
        Flow::Declined,
        Transport::Tcp,
        Transport::Tcp,
    );
}

#[test]
fn tcp_caller_cancels_while_it_rings() {
    call(
        "tcp-cancel",
        7,
        Flow::CallerCancels,
        Transport::Tcp,
        Transport::Tcp,
    );
}

#[test]
fn tcp_caller_hangs_up() {
    call(
        "tcp-caller-bye",
        8,
        Flow::CallerHangsUp,
        Transport::Tcp,
        Transport::Tcp,
    );
}

#[test]
fn tcp_callee_hangs_up() {
    call(
        "tcp-callee-bye",
        9,
        Flow::CalleeHangsUp,
        Transport::Tcp,
        Transport::Tcp,
    );
}

// A TCP caller and a UDP callee: the proxy changes transport and record-routes twice
// (the r2=on pair). The in-dialog flows (BYE from either side) are not here yet: the
// proxy removes only the first of its two Route entries from the ACK and the BYE.
#[test]
fn tcp_caller_udp_callee_declines_with_603() {
    call(
        "tcp-udp-declined",
        10,
        Flow::Declined,
        Transport::Tcp,
        Transport::Udp,
    );
}

#[test]
fn tcp_caller_udp_callee_caller_cancels() {
    call(
        "tcp-udp-cancel",
        11,
        Flow::CallerCancels,
        Transport::Tcp,
        Transport::Udp,
    );
}

#[test]
fn tcp_caller_udp_callee_caller_hangs_up() {
    call(
        "tcp-udp-caller-bye",
        12,
        Flow::CallerHangsUp,
        Transport::Tcp,
        Transport::Udp,
    );
}

#[test]
fn tcp_caller_udp_callee_callee_hangs_up() {
    call(
        "tcp-udp-callee-bye",
        13,
        Flow::CalleeHangsUp,
        Transport::Tcp,
        Transport::Udp,
    );
}

/// Caller -> first serval -> second serval -> callee, over UDP: the first relays to the
/// second by the INVITE's preloaded Route, the second to the callee's IP literal. Both
/// record-route; the caller's ACK and BYE follow both entries.
#[test]
fn udp_call_through_two_chained_proxies() {
    let test = "two-proxies";
    let dir = work_dir(test);
    // alice belongs to the first proxy's domain (which challenges her), bob registers
    // with the second as bob@127.0.0.1 (its REGISTER names the second by address and
    // port).
    let first = start_proxy(&format!("{test}-first"), DOMAIN);
    let second = start_proxy(&format!("{test}-second"), "falco.bz");
    let ip = sipp_host(14);
    let ports = free_ports(ip, 2);
    let (callee_at, caller_at) = (SocketAddr::new(ip, ports[0]), SocketAddr::new(ip, ports[1]));
    let call_id = format!("{test}-{}@serval.test", std::process::id());
    let uas = start_callee(
        &dir,
        &second,
        "uas_hung_up_on.xml",
        callee_at,
        Transport::Udp,
        &call_id,
        &second.udp.to_string(),
    );
    let uac = Sipp::start(
        &dir,
        SippRun {
            name: "uac",
            scenario: "uac_two_proxies.xml",
            local: caller_at,
            transport: Transport::Udp,
            remote: first.udp,
            call_id: &call_id,
            extra: vec![
                "-s".into(),
                "bob".into(),
                "-key".into(),
                "callee".into(),
                second.udp.to_string(),
                "-key".into(),
                "next_hop".into(),
                second.udp.to_string(),
                "-key".into(),
                "caller_domain".into(),
                DOMAIN.into(),
            ],
        },
    );
    let logs = all_succeed(vec![uac, uas]);
    let (caller, callee) = (&logs[0], &logs[1]);

    let invite = callee.request("INVITE");
    assert_eq!(
        invite.list("via").len(),
        3,
        "two proxies' Vias: {}",
        invite.raw
    );
    assert_eq!(invite.header("Max-Forwards"), Some("68"), "{}", invite.raw);
    assert_eq!(invite.list("Route"), Vec::<String>::new(), "{}", invite.raw);
    let rr = vec![
        record_route(&second, Transport::Udp, false),
        record_route(&first, Transport::Udp, false),
    ];
    assert_eq!(invite.list("Record-Route"), rr, "{}", invite.raw);
    let ok = caller.response(200, "INVITE");
    assert_eq!(ok.list("Record-Route"), rr, "{}", ok.raw);
    assert_eq!(ok.list("via").len(), 1, "{}", ok.raw);
    for method in ["ACK", "BYE"] {
        let request = callee.request(method);
        assert_eq!(request.list("via").len(), 3, "{}", request.raw);
        assert_eq!(
            request.list("Route"),
            Vec::<String>::new(),
            "{}",
            request.raw
        );
    }
    caller.response(200, "BYE");
}

/// An INVITE with Max-Forwards: 1 through two chained servals: the first forwards it
/// with Max-Forwards 0, the second answers 483 Too Many Hops, which reaches the caller
/// through the first.
#[test]
fn max_forwards_1_gets_483_from_the_second_proxy() {
    let test = "max-forwards";
    let dir = work_dir(test);
    let first = start_proxy(&format!("{test}-first"), DOMAIN);
    let second = start_proxy(&format!("{test}-second"), "falco.bz");
    let ip = sipp_host(15);
    let ports = free_ports(ip, 2);
    let (nobody, caller_at) = (SocketAddr::new(ip, ports[0]), SocketAddr::new(ip, ports[1]));
    let call_id = format!("{test}-{}@serval.test", std::process::id());
    let uac = Sipp::start(
        &dir,
        SippRun {
            name: "uac",
            scenario: "uac_too_many_hops.xml",
            local: caller_at,
            transport: Transport::Udp,
            remote: first.udp,
            call_id: &call_id,
            extra: vec![
                "-s".into(),
                "bob".into(),
                "-key".into(),
                "callee".into(),
                nobody.to_string(),
                "-key".into(),
                "next_hop".into(),
                second.udp.to_string(),
                "-key".into(),
                "caller_domain".into(),
                DOMAIN.into(),
            ],
        },
    );
    let logs = all_succeed(vec![uac]);
    let response = logs[0].response(483, "INVITE");
    assert_eq!(response.list("via").len(), 1, "{}", response.raw);

    // The 483 is the second's: it got the INVITE from the first with Max-Forwards 0.
    second.wait_for_log(&format!("received from udp:{}", first.udp));
    second.wait_for_log("Max-Forwards: 0");
    second.wait_for_log("SIP/2.0 483");
    first.wait_for_log(&format!("received from udp:{}", second.udp));
    first.wait_for_log("SIP/2.0 483");
}

// The same calls with the subscribers and bindings in PostgreSQL and in MariaDB.

#[test]
fn udp_caller_hangs_up_postgres() {
    let db = support::databases::postgres();
    call_on(
        &db.url,
        "udp-bye-pg",
        16,
        Flow::CallerHangsUp,
        Transport::Udp,
        Transport::Udp,
    );
}

#[test]
fn tcp_callee_hangs_up_postgres() {
    let db = support::databases::postgres();
    call_on(
        &db.url,
        "tcp-bye-pg",
        17,
        Flow::CalleeHangsUp,
        Transport::Tcp,
        Transport::Tcp,
    );
}

#[test]
fn udp_caller_hangs_up_mariadb() {
    let db = support::databases::mariadb();
    call_on(
        &db.url,
        "udp-bye-my",
        18,
        Flow::CallerHangsUp,
        Transport::Udp,
        Transport::Udp,
    );
}

#[test]
fn tcp_callee_hangs_up_mariadb() {
    let db = support::databases::mariadb();
    call_on(
        &db.url,
        "tcp-bye-my",
        19,
        Flow::CalleeHangsUp,
        Transport::Tcp,
        Transport::Tcp,
    );
}
