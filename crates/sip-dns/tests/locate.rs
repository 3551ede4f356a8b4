//! RFC 3263 location against a fake DNS.

mod common;

use std::net::SocketAddr;

use common::FakeDns;
use sip_dns::{Hop, LocateError, LocateTarget, Locator, Transport};

use Transport::{Sctp, Tcp, Tls, Udp, Ws, Wss};

fn target(
    host: &str,
    port: Option<u16>,
    transport: Option<Transport>,
    secure: bool,
) -> LocateTarget {
    LocateTarget {
        host: host.into(),
        port,
        transport,
        secure,
    }
}

fn plain(host: &str) -> LocateTarget {
    target(host, None, None, false)
}

fn hop(transport: Transport, addr: &str) -> Hop {
    Hop {
        transport,
        addr: addr.parse::<SocketAddr>().expect("test address"),
    }
}

fn locator(dns: FakeDns, supported: &[Transport]) -> Locator<FakeDns> {
    Locator::with_rng_seed(dns, supported.to_vec(), 1)
}

const ALL: &[Transport] = &[Udp, Tcp, Tls];

#[tokio::test]
async fn ip_literal_needs_no_dns() {
    let loc = locator(FakeDns::new(), &[Udp, Tcp, Tls, Ws, Wss]);
    let cases = [
        (
            target("192.0.2.1", None, None, false),
            hop(Udp, "192.0.2.1:5060"),
        ),
        (
            target("192.0.2.1", None, None, true),
            hop(Tls, "192.0.2.1:5061"),
        ),
        (
            target("2001:db8::1", None, None, false),
            hop(Udp, "[2001:db8::1]:5060"),
        ),
        (
            target("[2001:db8::1]", Some(5070), Some(Tcp), false),
            hop(Tcp, "[2001:db8::1]:5070"),
        ),
        (
            target("192.0.2.1", None, Some(Tcp), true),
            hop(Tls, "192.0.2.1:5061"),
        ),
        (
            target("192.0.2.1", None, Some(Ws), false),
            hop(Ws, "192.0.2.1:80"),
        ),
        (
            target("192.0.2.1", None, Some(Wss), false),
            hop(Wss, "192.0.2.1:443"),
        ),
        (
            target("192.0.2.1", Some(8080), Some(Ws), false),
            hop(Ws, "192.0.2.1:8080"),
        ),
    ];
    for (t, expected) in cases {
        assert_eq!(loc.locate(&t).await, Ok(vec![expected]), "{t:?}");
    }
    assert!(loc.lookup().queried().is_empty());
}

#[tokio::test]
async fn explicit_port_uses_a_records_only() {
    let dns = FakeDns::new()
        .naptr(
            "example.test",
            &[(10, 10, "s", "SIP+D2T", "_sip._tcp.example.test")],
        )
        .srv(
            "_sip._udp.example.test",
            &[(0, 0, 5070, "srv.example.test")],
        )
        .ip("example.test", &["192.0.2.1", "2001:db8::1"]);
    let loc = locator(dns, ALL);
    let hops = loc
        .locate(&target("example.test", Some(5080), None, false))
        .await;
    assert_eq!(
        hops,
        Ok(vec![
            hop(Udp, "192.0.2.1:5080"),
            hop(Udp, "[2001:db8::1]:5080")
        ])
    );
    assert_eq!(loc.lookup().queried(), ["A example.test"]);
    // sips: with a port: TLS on that port.
    let hops = loc
        .locate(&target("example.test.", Some(5081), None, true))
        .await;
    assert_eq!(hops.expect("hops")[0], hop(Tls, "192.0.2.1:5081"));
}

#[tokio::test]
async fn transport_param_uses_that_transports_srv() {
    let dns = FakeDns::new()
        .naptr(
            "example.test",
            &[(10, 10, "s", "SIP+D2U", "_sip._udp.example.test")],
        )
        .srv(
            "_sip._udp.example.test",
            &[(0, 0, 5070, "udp.example.test")],
        )
        .srv(
            "_sip._tcp.example.test",
            &[(0, 0, 5071, "tcp.example.test")],
        )
        .srv(
            "_sips._tcp.example.test",
            &[(0, 0, 5072, "tls.example.test")],
        )
        .ip("udp.example.test", &["192.0.2.1"])
        .ip("tcp.example.test", &["192.0.2.2"])
        .ip("tls.example.test", &["192.0.2.3"]);
    let loc = locator(dns, ALL);
    let tcp = loc
        .locate(&target("example.test", None, Some(Tcp), false))
        .await;
    assert_eq!(tcp, Ok(vec![hop(Tcp, "192.0.2.2:5071")]));
    assert_eq!(
        loc.lookup().queried(),
        ["SRV _sip._tcp.example.test", "A tcp.example.test"]
    );
    // sips: with transport=tcp is TLS, from _sips._tcp.
    let tls = loc
        .locate(&target("example.test", None, Some(Tcp), true))
        .await;
    assert_eq!(tls, Ok(vec![hop(Tls, "192.0.2.3:5072")]));
}

#[tokio::test]
async fn transport_param_without_srv_falls_back_to_a() {
    let dns = FakeDns::new().ip("example.test", &["192.0.2.1"]);
    let loc = locator(dns, &[Udp, Tcp, Tls, Ws]);
    let tls = loc
        .locate(&target("example.test", None, Some(Tls), false))
        .await;
    assert_eq!(tls, Ok(vec![hop(Tls, "192.0.2.1:5061")]));
    assert_eq!(
        loc.lookup().queried(),
        ["SRV _sips._tcp.example.test", "A example.test"]
    );
    // WebSocket has no SRV: straight to A.
    let ws = loc
        .locate(&target("example.test", None, Some(Ws), false))
        .await;
    assert_eq!(ws, Ok(vec![hop(Ws, "192.0.2.1:80")]));
    assert_eq!(
        loc.lookup().queried().last().map(String::as_str),
        Some("A example.test")
    );
    assert_eq!(loc.lookup().queried().len(), 3);
}

#[tokio::test]
async fn naptr_order_preference_and_filtering() {
    let dns = FakeDns::new()
        .naptr(
            "example.test",
            &[
                (50, 50, "s", "SIP+D2T", "_sip._tcp.example.test"),
                (90, 50, "S", "sip+d2u", "_sip._udp.example.test."),
                (50, 10, "s", "SIPS+D2T", "_sips._tcp.example.test"),
                // Not supported here, not followed.
                (10, 10, "s", "SIP+D2S", "_sip._sctp.example.test"),
                // Not an SRV pointer, unknown service: skipped.
                (10, 10, "a", "SIP+D2U", "a.example.test"),
                (10, 10, "s", "HTTP+D2T", "_http._tcp.example.test"),
            ],
        )
        .srv(
            "_sip._udp.example.test",
            &[(0, 0, 5060, "udp.example.test")],
        )
        .srv(
            "_sip._tcp.example.test",
            &[(0, 0, 5060, "tcp.example.test")],
        )
        .srv(
            "_sips._tcp.example.test",
            &[(0, 0, 5061, "tls.example.test")],
        )
        .srv(
            "_sip._sctp.example.test",
            &[(0, 0, 5060, "sctp.example.test")],
        )
        .ip("udp.example.test", &["192.0.2.1"])
        .ip("tcp.example.test", &["192.0.2.2"])
        .ip("tls.example.test", &["192.0.2.3"])
        .ip("sctp.example.test", &["192.0.2.4"]);
    let loc = locator(dns, ALL);
    let hops = loc.locate(&plain("example.test")).await;
    assert_eq!(
        hops,
        Ok(vec![
            hop(Tls, "192.0.2.3:5061"),
            hop(Tcp, "192.0.2.2:5060"),
            hop(Udp, "192.0.2.1:5060"),
        ])
    );
    let queried = loc.lookup().queried();
    assert_eq!(queried[0], "NAPTR example.test");
    assert!(
        !queried
            .iter()
            .any(|q| q.contains("sctp") || q.contains("http") || q.contains(" a.")),
        "{queried:?}"
    );

    // sips: only SIPS+ services.
    let secure = loc.locate(&target("example.test", None, None, true)).await;
    assert_eq!(secure, Ok(vec![hop(Tls, "192.0.2.3:5061")]));
}

#[tokio::test]
async fn naptr_filtered_by_supported_transports() {
    let dns = FakeDns::new()
        .naptr(
            "example.test",
            &[
                (10, 10, "s", "SIPS+D2T", "_sips._tcp.example.test"),
                (20, 10, "s", "SIP+D2U", "_sip._udp.example.test"),
            ],
        )
        .srv(
            "_sip._udp.example.test",
            &[(0, 0, 5060, "udp.example.test")],
        )
        .srv(
            "_sips._tcp.example.test",
            &[(0, 0, 5061, "tls.example.test")],
        )
        .ip("udp.example.test", &["192.0.2.1"])
        .ip("tls.example.test", &["192.0.2.3"]);
    let loc = locator(dns, &[Udp, Tcp]);
    assert_eq!(
        loc.locate(&plain("example.test")).await,
        Ok(vec![hop(Udp, "192.0.2.1:5060")])
    );
    assert!(!loc.lookup().queried().iter().any(|q| q.contains("_sips")));
}

#[tokio::test]
async fn naptr_with_only_unsupported_transports() {
    let dns = FakeDns::new()
        .naptr(
            "example.test",
            &[(10, 10, "s", "SIP+D2S", "_sip._sctp.example.test")],
        )
        .srv(
            "_sip._sctp.example.test",
            &[(0, 0, 5060, "sctp.example.test")],
        )
        .ip("sctp.example.test", &["192.0.2.4"])
        .ip("example.test", &["192.0.2.1"]);
    let loc = locator(dns, &[Udp, Tcp]);
    let result = loc.locate(&plain("example.test")).await;
    assert!(
        matches!(result, Err(LocateError::Unsupported(_))),
        "{result:?}"
    );
    // The SRV records of our transports were still asked; no A guess.
    assert_eq!(
        loc.lookup().queried(),
        [
            "NAPTR example.test",
            "SRV _sip._udp.example.test",
            "SRV _sip._tcp.example.test"
        ]
    );
}

#[tokio::test]
async fn unsupported_transport_param() {
    let loc = locator(
        FakeDns::new().ip("example.test", &["192.0.2.1"]),
        &[Udp, Tcp],
    );
    for t in [
        target("example.test", None, Some(Sctp), false),
        target("example.test", None, Some(Tls), false),
        target("example.test", None, None, true),
        target("192.0.2.1", None, Some(Ws), false),
        // sips: over UDP cannot be.
        target("example.test", None, Some(Udp), true),
    ] {
        let result = loc.locate(&t).await;
        assert!(
            matches!(result, Err(LocateError::Unsupported(_))),
            "{t:?}: {result:?}"
        );
    }
    // secure: TLS for the A fallback, which we lack.
    assert!(loc.lookup().queried().iter().all(|q| !q.starts_with("A ")));
}

#[tokio::test]
async fn srv_of_each_supported_transport_when_no_naptr() {
    let dns = FakeDns::new()
        .srv(
            "_sip._udp.example.test",
            &[(0, 0, 5060, "udp.example.test")],
        )
        .srv(
            "_sip._tcp.example.test",
            &[(0, 0, 5060, "tcp.example.test")],
        )
        .srv(
            "_sips._tcp.example.test",
            &[(0, 0, 5061, "tls.example.test")],
        )
        .ip("udp.example.test", &["192.0.2.1"])
        .ip("tcp.example.test", &["192.0.2.2"])
        .ip("tls.example.test", &["192.0.2.3"]);
    // Our preference order decides.
    let loc = locator(dns, &[Tcp, Tls, Udp]);
    assert_eq!(
        loc.locate(&plain("example.test")).await,
        Ok(vec![
            hop(Tcp, "192.0.2.2:5060"),
            hop(Tls, "192.0.2.3:5061"),
            hop(Udp, "192.0.2.1:5060"),
        ])
    );
    // sips: only _sips._tcp is asked.
    let before = loc.lookup().queried().len();
    assert_eq!(
        loc.locate(&target("example.test", None, None, true)).await,
        Ok(vec![hop(Tls, "192.0.2.3:5061")])
    );
    let queried = loc.lookup().queried();
    assert_eq!(
        &queried[before..],
        [
            "NAPTR example.test",
            "SRV _sips._tcp.example.test",
            "A tls.example.test"
        ]
    );
}

#[tokio::test]
async fn srv_priority_order() {
    let dns = FakeDns::new()
        .srv(
            "_sip._udp.example.test",
            &[
                (20, 100, 5060, "backup.example.test"),
                (10, 0, 5060, "main.example.test"),
                (30, 0, 5060, "last.example.test"),
            ],
        )
        .ip("backup.example.test", &["192.0.2.2"])
        .ip("main.example.test", &["192.0.2.1", "192.0.2.11"])
        .ip("last.example.test", &["192.0.2.3"]);
    let loc = locator(dns, &[Udp]);
    for _ in 0..20 {
        assert_eq!(
            loc.locate(&plain("example.test")).await,
            Ok(vec![
                hop(Udp, "192.0.2.1:5060"),
                hop(Udp, "192.0.2.11:5060"),
                hop(Udp, "192.0.2.2:5060"),
                hop(Udp, "192.0.2.3:5060"),
            ])
        );
    }
}

#[tokio::test]
async fn srv_weights_spread_first_hops() {
    let dns = FakeDns::new()
        .srv(
            "_sip._udp.example.test",
            &[
                (1, 60, 5060, "a.example.test"),
                (1, 30, 5060, "b.example.test"),
                (1, 10, 5060, "c.example.test"),
            ],
        )
        .ip("a.example.test", &["192.0.2.1"])
        .ip("b.example.test", &["192.0.2.2"])
        .ip("c.example.test", &["192.0.2.3"]);
    let loc = Locator::with_rng_seed(dns, vec![Udp], 2024);
    let mut firsts = [0u32; 3];
    const DRAWS: u32 = 3_000;
    for _ in 0..DRAWS {
        let hops = loc.locate(&plain("example.test")).await.expect("hops");
        assert_eq!(hops.len(), 3);
        let SocketAddr::V4(v4) = hops[0].addr else {
            panic!("IPv4 expected")
        };
        firsts[usize::from(v4.ip().octets()[3] - 1)] += 1;
    }
    for (count, expected) in firsts.iter().zip([0.6, 0.3, 0.1]) {
        let share = f64::from(*count) / f64::from(DRAWS);
        assert!((share - expected).abs() < 0.04, "{firsts:?}");
    }
}

#[tokio::test]
async fn dot_target_means_not_offered() {
    let dns = FakeDns::new()
        .srv("_sip._udp.example.test", &[(0, 0, 0, ".")])
        .ip("example.test", &["192.0.2.1"]);
    let loc = locator(dns, &[Udp]);
    let result = loc.locate(&plain("example.test")).await;
    assert!(
        matches!(result, Err(LocateError::NotFound(_))),
        "{result:?}"
    );
    let result = loc
        .locate(&target("example.test", None, Some(Udp), false))
        .await;
    assert!(
        matches!(result, Err(LocateError::NotFound(_))),
        "{result:?}"
    );
    // No A/AAAA guess after an SRV answer.
    assert!(!loc.lookup().queried().iter().any(|q| q.starts_with("A ")));
}

#[tokio::test]
async fn a_fallback_defaults() {
    let dns = FakeDns::new().ip("example.test", &["192.0.2.1", "2001:db8::1"]);
    let loc = locator(dns, ALL);
    assert_eq!(
        loc.locate(&plain("example.test")).await,
        Ok(vec![
            hop(Udp, "192.0.2.1:5060"),
            hop(Udp, "[2001:db8::1]:5060")
        ])
    );
    assert_eq!(
        loc.locate(&target("example.test", None, None, true)).await,
        Ok(vec![
            hop(Tls, "192.0.2.1:5061"),
            hop(Tls, "[2001:db8::1]:5061")
        ])
    );
    // Without UDP, TCP.
    let loc = locator(FakeDns::new().ip("example.test", &["192.0.2.1"]), &[Tcp]);
    assert_eq!(
        loc.locate(&plain("example.test")).await,
        Ok(vec![hop(Tcp, "192.0.2.1:5060")])
    );
}

#[tokio::test]
async fn not_found_everywhere() {
    let loc = locator(FakeDns::new(), ALL);
    let result = loc.locate(&plain("nowhere.test")).await;
    assert!(
        matches!(result, Err(LocateError::NotFound(_))),
        "{result:?}"
    );
    assert_eq!(
        loc.lookup().queried(),
        [
            "NAPTR nowhere.test",
            "SRV _sip._udp.nowhere.test",
            "SRV _sip._tcp.nowhere.test",
            "SRV _sips._tcp.nowhere.test",
            "A nowhere.test"
        ]
    );
    let result = loc
        .locate(&target("nowhere.test", Some(5060), None, false))
        .await;
    assert!(
        matches!(result, Err(LocateError::NotFound(_))),
        "{result:?}"
    );
    let result = loc.locate(&plain("")).await;
    assert!(
        matches!(result, Err(LocateError::NotFound(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn dns_failure_without_hops() {
    let dns = FakeDns::new()
        .failing("example.test")
        .failing("_sip._udp.example.test");
    let loc = locator(dns, &[Udp]);
    let result = loc.locate(&plain("example.test")).await;
    assert!(matches!(result, Err(LocateError::Failed(_))), "{result:?}");
    let result = loc
        .locate(&target("example.test", Some(5060), None, false))
        .await;
    assert!(matches!(result, Err(LocateError::Failed(_))), "{result:?}");

    // A failure alongside a found hop is not an error.
    let dns = FakeDns::new()
        .failing("example.test")
        .srv(
            "_sip._udp.example.test",
            &[
                (0, 0, 5060, "down.example.test"),
                (1, 0, 5060, "up.example.test"),
            ],
        )
        .failing("down.example.test")
        .ip("up.example.test", &["192.0.2.2"]);
    let loc = locator(dns, &[Udp]);
    assert_eq!(
        loc.locate(&plain("example.test")).await,
        Ok(vec![hop(Udp, "192.0.2.2:5060")])
    );
}

#[tokio::test]
async fn hops_are_unique() {
    let dns = FakeDns::new()
        .naptr(
            "example.test",
            &[
                (10, 10, "s", "SIP+D2U", "_sip._udp.example.test"),
                (20, 10, "s", "SIP+D2U", "_sip._udp.example.test"),
            ],
        )
        .srv(
            "_sip._udp.example.test",
            &[
                (0, 0, 5060, "a.example.test"),
                (1, 0, 5060, "b.example.test"),
            ],
        )
        .ip("a.example.test", &["192.0.2.1", "192.0.2.2"])
        .ip("b.example.test", &["192.0.2.2", "192.0.2.3"]);
    let loc = locator(dns, &[Udp]);
    assert_eq!(
        loc.locate(&plain("example.test")).await,
        Ok(vec![
            hop(Udp, "192.0.2.1:5060"),
            hop(Udp, "192.0.2.2:5060"),
            hop(Udp, "192.0.2.3:5060"),
        ])
    );
}

#[tokio::test]
async fn srv_targets_are_bounded() {
    let mut dns = FakeDns::new();
    let names: Vec<String> = (0..40).map(|i| format!("t{i}.example.test")).collect();
    let records: Vec<(u16, u16, u16, &str)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (i as u16, 0, 5060, n.as_str()))
        .collect();
    dns = dns.srv("_sip._udp.example.test", &records);
    for (i, n) in names.iter().enumerate() {
        dns = dns.ip(n, &[&format!("192.0.2.{}", i + 1)]);
    }
    let loc = locator(dns, &[Udp]);
    let hops = loc.locate(&plain("example.test")).await.expect("hops");
    assert_eq!(hops.len(), sip_dns::MAX_SRV_TARGETS);
    assert_eq!(hops[0], hop(Udp, "192.0.2.1:5060"));
    let a_queries = loc
        .lookup()
        .queried()
        .iter()
        .filter(|q| q.starts_with("A "))
        .count();
    assert_eq!(a_queries, sip_dns::MAX_SRV_TARGETS);
}
