//! A user agent behind a masquerading NAT, as falco was in the seed: its own address is
//! private and unreachable, every message to it must go through the NAT's mapping.
//!
//! Three network namespaces: `lan` (bob's or alice's phone at 192.168.N.10, default route
//! through the gateway), `gw` (the NAT: iptables MASQUERADE on its public side, and a
//! FORWARD policy that lets in only replies to flows started inside), and `srv` (serval
//! at 10.88.N.2, and the other user's phone beside it). `srv` has no route to the
//! private network: a message sent to the private Contact is lost.
//!
//! Calls to and from the NATed phone, registered over UDP and over TCP, with the BYE
//! from each side; the same call fails with `[nat] enabled = false`. And a STUN client
//! (Debian's stun-client) behind the NAT learns the NAT's public address from serval.
//!
//! Needs root, sipp, iptables and stun-client: `.ci/test` installs them.

#[path = "support/sipp.rs"]
#[allow(dead_code)]
mod sipp;
#[allow(dead_code)]
mod support;

use sipp::{SipLog, Sipp, SippRun, Transport, all_succeed, work_dir};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use support::{Netns, Serval, start_router_in};

const DOMAIN: &str = "enst.fr";

/// The NAT, serval and the namespaces, numbered `net`.
struct Site {
    net: u8,
    serval: Serval,
    lan: Netns,
    srv: Netns,
    _gw: Netns,
}

fn public(net: u8, host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 88, net, host))
}

fn private(net: u8, host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 168, net, host))
}

impl Site {
    fn new(test: &str, net: u8, nat_handling: bool) -> Site {
        Site::with(test, net, &format!("enabled = {nat_handling}"))
    }

    /// A site whose serval has these `[nat]` lines.
    fn with(test: &str, net: u8, nat: &str) -> Site {
        let name = |part: &str| format!("sv{}-nat{net}-{part}", std::process::id());
        let (lan, gw, srv) = (
            Netns::new(&name("lan")),
            Netns::new(&name("gw")),
            Netns::new(&name("srv")),
        );
        gw.link("lan0", &format!("{}/24", private(net, 1)), &lan, "eth0");
        lan.ip(&[
            "addr",
            "add",
            &format!("{}/24", private(net, 10)),
            "dev",
            "eth0",
        ]);
        lan.ip(&[
            "route",
            "add",
            "default",
            "via",
            &private(net, 1).to_string(),
        ]);
        gw.link("wan0", &format!("{}/24", public(net, 1)), &srv, "eth0");
        srv.ip(&[
            "addr",
            "add",
            &format!("{}/24", public(net, 2)),
            "dev",
            "eth0",
        ]);
        // The gateway forwards and masquerades; from outside, only replies get in.
        run(&gw, "sysctl", &["-qw", "net.ipv4.ip_forward=1"]);
        for rule in [
            "-t nat -A POSTROUTING -o wan0 -j MASQUERADE",
            "-P FORWARD DROP",
            "-A FORWARD -i lan0 -o wan0 -j ACCEPT",
            "-A FORWARD -i wan0 -o lan0 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
        ] {
            run(&gw, "iptables", &rule.split(' ').collect::<Vec<_>>());
        }
        let serval = start_router_in(
            &srv,
            public(net, 2),
            DOMAIN,
            &format!("nat-{test}"),
            &format!("[nat]\n{nat}"),
        );
        Site {
            net,
            serval,
            lan,
            srv,
            _gw: gw,
        }
    }

    fn server(&self) -> SocketAddr {
        SocketAddr::new(public(self.net, 2), 5060)
    }
}

/// Runs `program args` in `ns`; fails the test if it fails.
fn run(ns: &Netns, program: &str, args: &[&str]) {
    let out = ns
        .command(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs ({e}): iptables and procps are needed"));
    assert!(
        out.status.success(),
        "{program} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Who is behind the NAT, and who hangs up.
#[derive(Clone, Copy, PartialEq)]
enum Natted {
    Callee,
    Caller,
}

#[derive(Clone, Copy, PartialEq)]
enum Bye {
    Caller,
    Callee,
}

/// The SIPps of one call: alice calls bob; `natted` is behind the NAT over `transport`,
/// the other one beside serval over UDP. Returns the started SIPps (caller, callee).
fn start_call(
    site: &Site,
    test: &str,
    natted: Natted,
    transport: Transport,
    bye: Bye,
    timeout: Option<&str>,
) -> (Sipp, Sipp) {
    let dir = work_dir(&format!("nat-{test}"));
    let call_id = format!("nat-{test}-{}@serval.test", std::process::id());
    let (uac_scenario, uas_scenario) = match bye {
        Bye::Caller => ("uac_hangs_up.xml", "uas_hung_up_on.xml"),
        Bye::Callee => ("uac_hung_up_on.xml", "uas_hangs_up.xml"),
    };
    let behind = SocketAddr::new(private(site.net, 10), 5070);
    let beside = SocketAddr::new(public(site.net, 2), 5080);
    let (callee_ns, callee_at, callee_t) = match natted {
        Natted::Callee => (&site.lan, behind, transport),
        Natted::Caller => (&site.srv, beside, Transport::Udp),
    };
    let (caller_ns, caller_at, caller_t) = match natted {
        Natted::Callee => (&site.srv, beside, Transport::Udp),
        Natted::Caller => (&site.lan, behind, transport),
    };
    let limit = |mut extra: Vec<String>| {
        if let Some(t) = timeout {
            extra.extend(["-timeout".to_owned(), t.to_owned()]);
        }
        extra
    };
    let uas = Sipp::start_in(
        Some(callee_ns),
        &dir,
        SippRun {
            name: "uas",
            scenario: uas_scenario,
            local: callee_at,
            transport: callee_t,
            remote: site.server(),
            call_id: &call_id,
            extra: limit(vec!["-key".into(), "domain".into(), DOMAIN.into()]),
        },
    );
    site.serval
        .wait_for_log(&format!("REGISTER bob@{DOMAIN}: 1 binding"));
    let uac = Sipp::start_in(
        Some(caller_ns),
        &dir,
        SippRun {
            name: "uac",
            scenario: uac_scenario,
            local: caller_at,
            transport: caller_t,
            remote: site.server(),
            call_id: &call_id,
            extra: limit(
                [
                    "-s",
                    "bob",
                    "-key",
                    "callee",
                    DOMAIN,
                    "-key",
                    "caller_domain",
                    DOMAIN,
                ]
                .map(String::from)
                .to_vec(),
            ),
        },
    );
    (uac, uas)
}

/// One call that must succeed; returns what the NATed phone received.
fn call(test: &str, net: u8, natted: Natted, transport: Transport, bye: Bye) -> SipLog {
    let site = Site::new(test, net, true);
    let (uac, uas) = start_call(&site, test, natted, transport, bye, None);
    let mut logs = all_succeed(vec![uac, uas]).into_iter();
    let (caller, callee) = (logs.next().expect("uac"), logs.next().expect("uas"));
    let nat_side = match natted {
        Natted::Callee => callee,
        Natted::Caller => caller,
    };
    // Everything the NATed phone received came from serval, through the NAT.
    assert!(nat_side.received().count() >= 4, "{:#?}", nat_side.messages);
    nat_side
}

#[test]
fn a_call_to_a_natted_udp_phone_hung_up_by_the_caller() {
    let log = call(
        "udp-callee-caller-bye",
        1,
        Natted::Callee,
        Transport::Udp,
        Bye::Caller,
    );
    // The in-dialog BYE reached it: its Contact in the 200 had been made public.
    log.request("BYE");
}

#[test]
fn a_call_to_a_natted_udp_phone_hung_up_by_it() {
    call(
        "udp-callee-callee-bye",
        2,
        Natted::Callee,
        Transport::Udp,
        Bye::Callee,
    );
}

#[test]
fn a_call_from_a_natted_udp_phone_hung_up_by_the_callee() {
    let log = call(
        "udp-caller-callee-bye",
        3,
        Natted::Caller,
        Transport::Udp,
        Bye::Callee,
    );
    log.request("BYE");
}

#[test]
fn a_call_from_a_natted_udp_phone_hung_up_by_it() {
    call(
        "udp-caller-caller-bye",
        4,
        Natted::Caller,
        Transport::Udp,
        Bye::Caller,
    );
}

#[test]
fn a_call_to_a_natted_tcp_phone_hung_up_by_the_caller() {
    let log = call(
        "tcp-callee-caller-bye",
        5,
        Natted::Callee,
        Transport::Tcp,
        Bye::Caller,
    );
    log.request("BYE");
}

#[test]
fn a_call_from_a_natted_tcp_phone_hung_up_by_the_callee() {
    let log = call(
        "tcp-caller-callee-bye",
        6,
        Natted::Caller,
        Transport::Tcp,
        Bye::Callee,
    );
    log.request("BYE");
}

#[test]
fn without_nat_handling_the_natted_phone_is_never_reached() {
    // The control: the same call, NAT handling off. The INVITE goes to bob's private
    // Contact, which nothing routes to.
    let site = Site::new("off", 7, false);
    let (mut uac, mut uas) = start_call(
        &site,
        "off",
        Natted::Callee,
        Transport::Udp,
        Bye::Caller,
        Some("4s"),
    );
    let (caller, callee) = (uac.wait(), uas.wait());
    assert!(!caller.success() && !callee.success(), "{caller} {callee}");
    assert!(
        !uas.log().received().any(|m| m.method() == Some("INVITE")),
        "the INVITE reached the NATed phone without NAT handling: the test proves nothing"
    );
}

#[test]
fn a_stun_client_behind_the_nat_learns_the_public_address() {
    let site = Site::new("stun", 8, true);
    let out = site
        .lan
        .command("stun")
        .args([&site.server().to_string(), "-v"])
        .output()
        .expect("stun runs (Debian package stun-client)");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let mapped = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("MappedAddress = "))
        .unwrap_or_else(|| panic!("no MappedAddress in: {text}"));
    let mapped: SocketAddr = mapped.trim().parse().expect("an address");
    assert_eq!(mapped.ip(), public(8, 1), "the NAT's public side: {text}");
}

#[test]
fn keep_alives_hold_a_natted_binding_and_drop_it_when_its_phone_is_gone() {
    // Pings every second; two unanswered in a row and the binding is removed.
    let site = Site::with(
        "keepalive",
        9,
        "keepalive_interval = 1\nkeepalive_max_missed = 2",
    );
    let dir = work_dir("nat-keepalive");
    let ooc =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp/ooc_answers_options.xml");
    let phone = Sipp::start_in(
        Some(&site.lan),
        &dir,
        SippRun {
            name: "phone",
            scenario: "uas_registers_and_waits.xml",
            local: SocketAddr::new(private(9, 10), 5070),
            transport: Transport::Udp,
            remote: site.server(),
            call_id: "keepalive",
            extra: vec![
                "-key".into(),
                "domain".into(),
                DOMAIN.into(),
                "-oocsf".into(),
                ooc.to_string_lossy().into_owned(),
            ],
        },
    );
    site.serval
        .wait_for_log(&format!("REGISTER bob@{DOMAIN}: 1 binding"));
    let logs = all_succeed(vec![phone]);
    let pinged = logs[0]
        .received()
        .filter(|m| m.method() == Some("OPTIONS"))
        .count();
    assert!(
        pinged >= 2,
        "keep-alives through the NAT: {:#?}",
        logs[0].messages
    );
    let while_there = site.serval.log_so_far();
    assert!(
        !while_there.iter().any(|l| l.contains("binding removed")),
        "removed while the phone answered"
    );
    // The phone is gone: the pings go unanswered and the binding goes.
    site.serval.wait_for_log(&format!(
        "bob@{DOMAIN} at sip:bob@{}:5070;transport=UDP: 2 keep-alives unanswered, binding removed",
        private(9, 10)
    ));
}
