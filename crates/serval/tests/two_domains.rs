//! The seed's two domains, end to end: falco.bz and enst.fr each have their own serval
//! router in a network namespace of its own, and a real DNS server (Debian's dnsmasq)
//! in a third namespace knows them as the seed's DNS did:
//!
//! - enst.fr by SRV only: `_sip._udp.enst.fr` names sipmob.enst.fr:5060 (priority 10:
//!   the failover test puts a dead server before it), enst.fr's own
//!   A record points at an address where nobody listens (a router that skipped SRV
//!   would send the call there and fail);
//! - falco.bz by its A record only.
//!
//! SIPp users register with the router of their domain (401, then credentials), and
//! call a user of the other domain through both routers: the caller authenticates with
//! its own router (407), which finds the other domain in DNS; the other router finds
//! the callee in its location table. The BYE comes from either side, along the
//! Record-Route of both routers. Router A reads its DNS server from `[routing]
//! dns_servers`, router B from the namespace's `/etc/resolv.conf` (`ip netns exec`
//! mounts `/etc/netns/NAME/resolv.conf` there).
//!
//! Needs root (namespaces), sipp and dnsmasq: `.ci/test` installs them.

#[path = "support/sipp.rs"]
#[allow(dead_code)]
mod sipp;
#[allow(dead_code)]
mod support;

use sipp::{SipLog, Sipp, SippRun, Transport, all_succeed, work_dir};
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use support::{Netns, Serval, start_router_in};

const FALCO: &str = "falco.bz";
const ENST: &str = "enst.fr";

/// The two routers, their DNS and their namespaces, on 10.77.`net`.0/24.
struct World {
    net: u8,
    /// The routers talk over TCP (else UDP).
    tcp_between: bool,
    /// Router A, falco.bz, at .1.
    falco: Serval,
    /// Router B, enst.fr (sipmob.enst.fr), at .2.
    enst: Serval,
    a: Netns,
    b: Netns,
    _dns: Dns,
    _resolv: EtcNetns,
    _hub: Netns,
}

/// dnsmasq, stopped when dropped.
struct Dns(Child);

impl Drop for Dns {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `/etc/netns/NAME/`, removed when dropped.
struct EtcNetns(PathBuf);

impl Drop for EtcNetns {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn addr(net: u8, host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 77, net, host))
}

/// What the DNS and the routers are given beyond the seed's setup.
#[derive(Default)]
struct Extra {
    /// More dnsmasq options.
    dns: Vec<String>,
    /// More `[routing]` lines for router A.
    falco_routing: String,
    /// Router B reaches falco.bz over TCP (`domain_transport`), UDP elsewhere.
    enst_to_falco_tcp: bool,
}

impl World {
    /// Builds the namespaces and starts dnsmasq and both routers.
    fn new(test: &str, net: u8) -> World {
        World::with(test, net, Extra::default())
    }

    /// [`World::new`] with `extra` records and settings.
    fn with(test: &str, net: u8, extra: Extra) -> World {
        let name = |part: &str| format!("sv{}-{net}-{part}", std::process::id());
        let hub = Netns::new(&name("hub"));
        let a = Netns::new(&name("falco"));
        let b = Netns::new(&name("enst"));
        hub.ip(&["link", "add", "br0", "type", "bridge"]);
        hub.ip(&[
            "addr",
            "add",
            &format!("{}/24", addr(net, 53)),
            "dev",
            "br0",
        ]);
        hub.ip(&["link", "set", "br0", "up"]);
        for (ns, host, port) in [(&a, 1, "pa"), (&b, 2, "pb")] {
            ns.link("eth0", &format!("{}/24", addr(net, host)), &hub, port);
            hub.ip(&["link", "set", port, "master", "br0"]);
        }
        let dns = start_dns(&hub, net, &extra.dns);
        let etc = PathBuf::from("/etc/netns").join(&b.name);
        std::fs::create_dir_all(&etc).expect("/etc/netns/NAME");
        std::fs::write(
            etc.join("resolv.conf"),
            format!("nameserver {}\n", addr(net, 53)),
        )
        .expect("resolv.conf for router B");
        let resolv = EtcNetns(etc);
        let falco = start_router(
            test,
            &a,
            addr(net, 1),
            FALCO,
            &format!(
                "dns_servers = [\"{}\"]\n{}",
                addr(net, 53),
                extra.falco_routing
            ),
        );
        let forced = if extra.enst_to_falco_tcp {
            "domain_transport = { \"falco.bz\" = \"tcp\" }"
        } else {
            ""
        };
        let enst = start_router(test, &b, addr(net, 2), ENST, forced);
        World {
            net,
            tcp_between: extra.enst_to_falco_tcp,
            falco,
            enst,
            a,
            b,
            _dns: dns,
            _resolv: resolv,
            _hub: hub,
        }
    }

    /// A router's UDP address.
    fn router(&self, domain: &str) -> SocketAddr {
        let host = if domain == FALCO { 1 } else { 2 };
        SocketAddr::new(addr(self.net, host), 5060)
    }

    /// The router, namespace and user address of `domain`.
    fn side(&self, domain: &str) -> (&Serval, &Netns, SocketAddr) {
        if domain == FALCO {
            (
                &self.falco,
                &self.a,
                SocketAddr::new(addr(self.net, 1), 5070),
            )
        } else {
            (
                &self.enst,
                &self.b,
                SocketAddr::new(addr(self.net, 2), 5070),
            )
        }
    }
}

/// dnsmasq in `hub` with the seed's records; returns once it serves.
fn start_dns(hub: &Netns, net: u8, extra: &[String]) -> Dns {
    let mut child = hub
        .command("dnsmasq")
        .args([
            "--no-daemon",
            "--log-facility=-",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--port=53",
            "--local-ttl=300",
            // Names under these domains that have no record: NXDOMAIN, not REFUSED.
            "--local=/enst.fr/",
            "--local=/falco.bz/",
        ])
        .arg(format!("--listen-address={}", addr(net, 53)))
        .arg("--srv-host=_sip._udp.enst.fr,sipmob.enst.fr,5060,10,0")
        .arg(format!("--host-record=sipmob.enst.fr,{}", addr(net, 2)))
        .arg(format!("--host-record=enst.fr,{}", addr(net, 99)))
        .arg(format!("--host-record=falco.bz,{}", addr(net, 1)))
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dnsmasq starts (Debian package dnsmasq-base)");
    let stderr = child.stderr.take().expect("stderr piped");
    let mut lines = BufReader::new(stderr).lines();
    // dnsmasq logs "started" once its sockets are bound; it exits at once on an error.
    loop {
        match lines.next() {
            Some(Ok(line)) if line.contains("started, version") => break,
            Some(Ok(_)) => {}
            _ => panic!("dnsmasq stopped before serving: {:?}", child.wait()),
        }
    }
    // Keep reading, so that dnsmasq never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Dns(child)
}

/// A serval for `domain` in `ns` at `ip`, with alice and bob as subscribers.
fn start_router(test: &str, ns: &Netns, ip: IpAddr, domain: &str, dns: &str) -> Serval {
    let name = format!("two-domains-{test}-{domain}");
    start_router_in(ns, ip, domain, &name, &format!("[routing]\n{dns}"))
}

/// Which side hangs up.
#[derive(Clone, Copy)]
enum Bye {
    Caller,
    Callee,
}

/// alice of `from` calls bob of `to`; the BYE comes from `bye`. Returns what the caller
/// and the callee received.
fn call(test: &str, net: u8, from: &str, to: &str, bye: Bye) -> (World, SipLog, SipLog) {
    let world = World::new(test, net);
    let (caller, callee) = call_in(&world, test, from, to, bye);
    (world, caller, callee)
}

/// [`call`] in an existing world.
fn call_in(world: &World, test: &str, from: &str, to: &str, bye: Bye) -> (SipLog, SipLog) {
    dial(world, test, from, to, ("bob", to), bye)
}

/// alice of `from` dials `user@host` (its Request-URI), which reaches bob of `to`.
fn dial(
    world: &World,
    test: &str,
    from: &str,
    to: &str,
    (user, host): (&str, &str),
    bye: Bye,
) -> (SipLog, SipLog) {
    let dir = work_dir(&format!("two-domains-{test}"));
    let call_id = format!("{test}-{}@serval.test", std::process::id());
    let (uac_scenario, uas_scenario) = match bye {
        Bye::Caller => ("uac_hangs_up.xml", "uas_hung_up_on.xml"),
        Bye::Callee => ("uac_hung_up_on.xml", "uas_hangs_up.xml"),
    };
    let (callee_router, callee_ns, callee_at) = world.side(to);
    let uas = Sipp::start_in(
        Some(callee_ns),
        &dir,
        SippRun {
            name: "uas",
            scenario: uas_scenario,
            local: callee_at,
            transport: Transport::Udp,
            remote: world.router(to),
            call_id: &call_id,
            extra: vec!["-key".into(), "domain".into(), to.into()],
        },
    );
    callee_router.wait_for_log(&format!("REGISTER bob@{to}: 1 binding"));
    let (_, caller_ns, caller_at) = world.side(from);
    let caller_at = SocketAddr::new(caller_at.ip(), caller_at.port() + 1);
    let uac = Sipp::start_in(
        Some(caller_ns),
        &dir,
        SippRun {
            name: "uac",
            scenario: uac_scenario,
            local: caller_at,
            transport: Transport::Udp,
            remote: world.router(from),
            call_id: &call_id,
            extra: [
                "-s",
                user,
                "-key",
                "callee",
                host,
                "-key",
                "caller_domain",
                from,
            ]
            .map(String::from)
            .to_vec(),
        },
    );
    let mut logs = all_succeed(vec![uac, uas]).into_iter();
    let (caller, callee) = (logs.next().expect("uac log"), logs.next().expect("uas log"));
    check_call(world, from, to, bye, &caller, &callee);
    (caller, callee)
}

/// What every call between the domains shows: through both routers, each in Via and in
/// Record-Route, and the BYE along that route.
fn check_call(world: &World, from: &str, to: &str, bye: Bye, caller: &SipLog, callee: &SipLog) {
    let (first, second) = (world.router(from), world.router(to));
    let rr = |r: SocketAddr| format!("<sip:{r};lr>");
    // Over TCP between them, each router writes the r2=on pair: the interface towards
    // the other router, then the one towards its user (UDP).
    let route: Vec<String> = if world.tcp_between {
        let pair = |r: SocketAddr, towards_other_first: bool| {
            let tcp = format!("<sip:{r};transport=tcp;lr;r2=on>");
            let udp = format!("<sip:{r};lr;r2=on>");
            if towards_other_first {
                [tcp, udp]
            } else {
                [udp, tcp]
            }
        };
        pair(second, false)
            .into_iter()
            .chain(pair(first, true))
            .collect()
    } else {
        vec![rr(second), rr(first)]
    };
    let invite = callee.request("INVITE");
    let vias = invite.list("via");
    assert_eq!(
        vias.len(),
        3,
        "both routers' Via over the caller's: {}",
        invite.raw
    );
    assert!(vias[0].contains(&second.to_string()), "{}", invite.raw);
    assert!(vias[1].contains(&first.to_string()), "{}", invite.raw);
    assert_eq!(invite.header("Max-Forwards"), Some("68"), "{}", invite.raw);
    assert_eq!(invite.list("Record-Route"), route, "{}", invite.raw);
    assert_eq!(
        invite.list("Proxy-Authorization"),
        Vec::<String>::new(),
        "the caller's credentials stay with its own router: {}",
        invite.raw
    );
    let ok = caller.response(200, "INVITE");
    assert_eq!(ok.list("Record-Route"), route, "{}", ok.raw);
    assert_eq!(ok.list("via").len(), 1, "{}", ok.raw);
    let (bye_request, bye_answer) = match bye {
        Bye::Caller => (callee.request("BYE"), caller.response(200, "BYE")),
        Bye::Callee => (caller.request("BYE"), callee.response(200, "BYE")),
    };
    assert_eq!(
        bye_request.list("via").len(),
        3,
        "the BYE came through both routers: {}",
        bye_request.raw
    );
    assert_eq!(
        bye_request.list("Route"),
        Vec::<String>::new(),
        "{}",
        bye_request.raw
    );
    assert_eq!(bye_answer.list("via").len(), 1, "{}", bye_answer.raw);
}

#[test]
fn falco_calls_enst_found_by_srv_and_hangs_up() {
    let (world, _, _) = call("srv-caller-bye", 1, FALCO, ENST, Bye::Caller);
    // The INVITE went where SRV said, not to enst.fr's own A record.
    world
        .falco
        .wait_for_log(&format!("-> {}:", world.router(ENST)));
}

#[test]
fn falco_calls_enst_and_the_callee_hangs_up() {
    call("srv-callee-bye", 2, FALCO, ENST, Bye::Callee);
}

#[test]
fn enst_calls_falco_found_by_its_a_record_and_hangs_up() {
    let (world, _, _) = call("a-caller-bye", 3, ENST, FALCO, Bye::Caller);
    world
        .enst
        .wait_for_log(&format!("-> {}:", world.router(FALCO)));
}

#[test]
fn enst_calls_falco_and_the_callee_hangs_up() {
    call("a-callee-bye", 4, ENST, FALCO, Bye::Callee);
}

#[test]
fn max_forwards_1_gets_483_from_the_second_router() {
    let world = World::new("max-forwards", 5);
    let dir = work_dir("two-domains-max-forwards");
    let call_id = format!("max-forwards-{}@serval.test", std::process::id());
    let (_, ns, at) = world.side(FALCO);
    // The INVITE carries a preloaded Route to the other domain, found by DNS.
    let uac = Sipp::start_in(
        Some(ns),
        &dir,
        SippRun {
            name: "uac",
            scenario: "uac_too_many_hops.xml",
            local: at,
            transport: Transport::Udp,
            remote: world.router(FALCO),
            call_id: &call_id,
            extra: [
                "-s",
                "bob",
                "-key",
                "callee",
                ENST,
                "-key",
                "next_hop",
                ENST,
                "-key",
                "caller_domain",
                FALCO,
            ]
            .map(String::from)
            .to_vec(),
        },
    );
    let logs = all_succeed(vec![uac]);
    let response = logs[0].response(483, "INVITE");
    assert_eq!(response.list("via").len(), 1, "{}", response.raw);
    // enst.fr's router answered it: it got the INVITE from falco.bz's with Max-Forwards 0.
    world
        .enst
        .wait_for_log(&format!("received from udp:{}", world.router(FALCO)));
    world.enst.wait_for_log("Max-Forwards: 0");
    world.enst.wait_for_log("SIP/2.0 483");
    world
        .falco
        .wait_for_log(&format!("received from udp:{}", world.router(ENST)));
}

#[test]
fn a_dead_server_first_in_srv_is_failed_over_then_tried_last() {
    // enst.fr's SRV names a server at .98 first (priority 0), where nobody answers,
    // then sipmob (priority 10).
    let net = 6;
    let dead = SocketAddr::new(addr(net, 98), 5060);
    let world = World::with(
        "failover",
        net,
        Extra {
            dns: vec![
                "--srv-host=_sip._udp.enst.fr,dead.enst.fr,5060,0,0".into(),
                format!("--host-record=dead.enst.fr,{}", dead.ip()),
            ],
            falco_routing: "failover_timeout = 1".into(),
            ..Extra::default()
        },
    );
    let to_dead = format!("-> {dead}:");
    // The first call tries .98, hears nothing for a second, and goes on to sipmob.
    call_in(&world, "failover-1", FALCO, ENST, Bye::Caller);
    world.falco.wait_for_log(&to_dead);
    world
        .falco
        .wait_for_log(&format!("-> {}:", world.router(ENST)));
    let first = world.falco.log_so_far();
    // The second call goes to sipmob first: .98 is on the blocklist, tried last.
    call_in(&world, "failover-2", FALCO, ENST, Bye::Caller);
    let second = world.falco.log_so_far();
    assert!(
        !second.iter().any(|l| l.contains(&to_dead)),
        "the second call went to the dead server again (first call: {} lines)",
        first.len()
    );
    assert!(
        second
            .iter()
            .any(|l| l.contains(&format!("-> {}:", world.router(ENST)))),
        "the second call went to sipmob"
    );
}

#[test]
fn a_number_dialled_in_one_domain_is_found_by_enum_in_the_other() {
    // The seed's first example: a telephone number whose ENUM record names a SIP URI.
    // alice@falco.bz dials +33 1 44 22 12 34 as sip:+33144221234@falco.bz;user=phone;
    // ENUM says sip:bob@enst.fr, found by SRV as ever.
    let world = World::with(
        "enum",
        7,
        Extra {
            dns: vec![
                "--local=/e164.arpa/".into(),
                "--naptr-record=4.3.2.1.2.2.4.4.1.3.3.e164.arpa,100,10,u,E2U+sip,!^.*$!sip:bob@enst.fr!".into(),
            ],
            ..Extra::default()
        },
    );
    let (_, callee) = dial(
        &world,
        "enum",
        FALCO,
        ENST,
        ("+33144221234", "falco.bz;user=phone"),
        Bye::Caller,
    );
    let invite = callee.request("INVITE");
    assert!(
        invite
            .request_uri()
            .is_some_and(|u| u.starts_with("sip:bob@")),
        "bob's registered Contact: {}",
        invite.raw
    );
}

#[test]
fn a_domain_s_transport_forced_to_tcp_by_config() {
    // What the seed patched SER's source for: enst.fr's router reaches falco.bz over TCP
    // although DNS (an A record) would say UDP.
    let world = World::with(
        "forced-tcp",
        8,
        Extra {
            enst_to_falco_tcp: true,
            ..Extra::default()
        },
    );
    call_in(&world, "forced-tcp", ENST, FALCO, Bye::Callee);
    // The INVITE and the callee's BYE back: both between the routers over one TCP
    // connection, opened by enst.fr's router.
    world
        .falco
        .wait_for_log(&format!("received from tcp:{}", world.router(ENST).ip()));
}
