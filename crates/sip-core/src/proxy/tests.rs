//! The proxy driven message by message with virtual time: a UAC at 10.0.0.1:5070, the
//! proxy at 192.0.2.1:5060 (UDP and TCP), a UAS at 10.0.0.2:5090.

use super::routing::Interface;
use super::*;

const UAC: &str = "10.0.0.1:5070";
const UAS: &str = "10.0.0.2:5090";

fn proxy() -> Proxy {
    let iface = |t, a: &str| Interface {
        transport: t,
        bind: a.parse().expect("addr"),
        advertise: a.to_owned(),
    };
    let cfg = ProxyConfig::new(
        vec!["example.com".into()],
        vec![
            iface(Transport::Udp, "192.0.2.1:5060"),
            iface(Transport::Tcp, "192.0.2.1:5060"),
        ],
        "Serval test".into(),
    );
    Proxy::new(cfg, Instant::now())
}

fn udp(addr: &str) -> Peer {
    Peer {
        transport: Transport::Udp,
        remote: addr.parse().expect("addr"),
        local: Some("192.0.2.1:5060".parse().expect("addr")),
        conn: None,
    }
}

fn invite(extra: &str) -> Bytes {
    Bytes::from(format!(
        "INVITE sip:bob@{UAS} SIP/2.0\r\nVia: SIP/2.0/UDP {UAC};branch=z9hG4bKuac1;rport\r\nMax-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@{UAS}>\r\nCall-ID: call-1\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@{UAC}>\r\n{extra}Content-Length: 0\r\n\r\n"
    ))
}

/// What the proxy sends, once pending routing decisions are taken by
/// [`default_decision`] with IP-literal relaying allowed.
fn drain(p: &mut Proxy) -> Vec<(SocketAddr, Message)> {
    drain_with(p, |req| default_decision(req, true))
}

fn drain_with(
    p: &mut Proxy,
    mut decide: impl FnMut(&RoutingRequest) -> Decision,
) -> Vec<(SocketAddr, Message)> {
    while let Some(req) = p.poll_event() {
        let d = decide(&req);
        p.decide(&req.id, d, Instant::now());
    }
    std::iter::from_fn(|| p.poll_transmit())
        .map(|t| {
            (
                t.to.remote,
                Message::parse(t.data).expect("proxy output parses"),
            )
        })
        .collect()
}

/// The response a UAS gives to the request the proxy forwarded.
fn answer(req: &Message, code: u16, to_tag: &str) -> Bytes {
    let b = ResponseBuilder::new(req, code, "X").to_tag(to_tag);
    let b = if (200..300).contains(&code) {
        b.header("Contact", &format!("<sip:bob@{UAS}>"))
    } else {
        b
    };
    let mut out = b.build().to_vec();
    // Record-Route is copied into 18x/2xx by the UAS (§12.1.1).
    if (101..300).contains(&code) {
        let rr: Vec<&str> = req.header_values(HeaderName::RecordRoute).collect();
        let head = rr
            .iter()
            .map(|r| format!("Record-Route: {r}\r\n"))
            .collect::<String>();
        let pos = out.windows(2).position(|w| w == b"\r\n").expect("line") + 2;
        out.splice(pos..pos, head.into_bytes());
    }
    Bytes::from(out)
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("addr")
}

#[test]
fn invite_forwarded_with_via_rr_and_max_forwards() {
    let mut p = proxy();
    let now = Instant::now();
    p.handle(invite(""), udp(UAC), now);
    let out = drain(&mut p);
    assert_eq!(out.len(), 2);
    assert_eq!((out[0].0, out[0].1.status()), (addr(UAC), Some(100)));
    let (to, fwd) = &out[1];
    assert_eq!(*to, addr(UAS));
    assert_eq!(fwd.max_forwards(), Ok(Some(69)));
    let vias: Vec<_> = fwd.vias().map(|v| v.expect("via")).collect();
    assert_eq!(vias.len(), 2);
    assert_eq!(vias[0].host_str, "192.0.2.1");
    assert!(vias[0].has_rfc3261_branch());
    assert_eq!(vias[1].rport(), Some(Some(5070)));
    assert_eq!(vias[1].received(), Some(addr(UAC).ip()));
    let rr: Vec<_> = fwd
        .record_routes()
        .map(|r| r.expect("rr").uri.to_string())
        .collect();
    assert_eq!(rr, ["sip:192.0.2.1:5060;lr"]);
}

#[test]
fn declined_call_603_acked_hop_by_hop_and_forwarded() {
    let mut p = proxy();
    let now = Instant::now();
    p.handle(invite(""), udp(UAC), now);
    let fwd = drain(&mut p).remove(1).1;
    p.handle(answer(&fwd, 180, "b1"), udp(UAS), now);
    let ringing = drain(&mut p);
    assert_eq!(ringing.len(), 1);
    assert_eq!(ringing[0].1.status(), Some(180));
    assert_eq!(ringing[0].1.count(HeaderName::Via), 1, "our Via removed");
    p.handle(answer(&fwd, 603, "b1"), udp(UAS), now);
    let out = drain(&mut p);
    let ack = out
        .iter()
        .find(|(_, m)| m.method() == Some(Method::Ack))
        .expect("ACK to the UAS");
    assert_eq!(ack.0, addr(UAS));
    let decline = out
        .iter()
        .find(|(_, m)| m.status() == Some(603))
        .expect("603 upstream");
    assert_eq!(decline.0, addr(UAC));
    // The caller's ACK for the 603 is absorbed by the server transaction.
    let ack_up = String::from_utf8_lossy(&invite(""))
        .replace("INVITE sip", "ACK sip")
        .replace("1 INVITE", "1 ACK");
    p.handle(Bytes::from(ack_up), udp(UAC), now);
    assert!(drain(&mut p).is_empty());
}

#[test]
fn cancel_before_answer() {
    let mut p = proxy();
    let now = Instant::now();
    p.handle(invite(""), udp(UAC), now);
    let fwd = drain(&mut p).remove(1).1;
    p.handle(answer(&fwd, 180, "b1"), udp(UAS), now);
    drain(&mut p);
    let cancel = String::from_utf8_lossy(&invite(""))
        .replace("INVITE sip", "CANCEL sip")
        .replace("1 INVITE", "1 CANCEL");
    p.handle(Bytes::from(cancel), udp(UAC), now);
    let out = drain(&mut p);
    assert!(out.iter().any(|(to, m)| *to == addr(UAC)
        && m.status() == Some(200)
        && m.cseq().expect("cseq").method == Method::Cancel));
    let down = out
        .iter()
        .find(|(_, m)| m.method() == Some(Method::Cancel))
        .expect("CANCEL downstream");
    assert_eq!(down.0, addr(UAS));
    assert_eq!(
        down.1.top_via().expect("via").branch(),
        fwd.top_via().expect("via").branch()
    );
    p.handle(answer(&down.1, 200, "b1"), udp(UAS), now);
    p.handle(answer(&fwd, 487, "b1"), udp(UAS), now);
    let out = drain(&mut p);
    assert!(
        out.iter()
            .any(|(to, m)| *to == addr(UAS) && m.method() == Some(Method::Ack))
    );
    assert!(
        out.iter()
            .any(|(to, m)| *to == addr(UAC) && m.status() == Some(487))
    );
}

/// The CANCEL and the ACK of a branch are written from what the proxy put in the
/// INVITE, never parsed back from it: check them against the INVITE as it went out,
/// with a Request-URI and a Route (Path) of the target's.
#[test]
fn the_cancel_and_the_ack_of_a_branch_repeat_its_invite() {
    let mut p = proxy();
    let now = Instant::now();
    let ev = invite_local(&mut p, now);
    let target = Target {
        request_uri: Some(format!("sip:bob@{UAS};ob")),
        route: vec!["<sip:edge.example.net;lr>".into()],
        ..target(UAS)
    };
    p.decide(&ev.id, Decision::Relay(vec![vec![target]]), now);
    let fwd = sent_to(&drain(&mut p), UAS).remove(0);
    p.handle(answer(&fwd, 180, "b1"), udp(UAS), now);
    drain(&mut p);
    let cancel = String::from_utf8_lossy(&invite(""))
        .replace(
            &format!("INVITE sip:bob@{UAS}"),
            "CANCEL sip:bob@example.com",
        )
        .replace("1 INVITE", "1 CANCEL");
    p.handle(Bytes::from(cancel), udp(UAC), now);
    let down = sent_to(&drain(&mut p), UAS).remove(0);
    p.handle(answer(&fwd, 487, "b1"), udp(UAS), now);
    let ack = sent_to(&drain(&mut p), UAS).remove(0);
    let routes = |m: &Message| {
        m.list(HeaderName::Route)
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(routes(&fwd), ["<sip:edge.example.net;lr>"]);
    for (method, m) in [("CANCEL", &down), ("ACK", &ack)] {
        assert_eq!(m.method_str(), Some(method));
        assert_eq!(m.request_uri_str(), fwd.request_uri_str(), "{method}");
        assert_eq!(
            m.list(HeaderName::Via).collect::<Vec<_>>(),
            [fwd.list(HeaderName::Via).next().expect("via")],
            "{method}"
        );
        assert_eq!(routes(m), routes(&fwd), "{method}");
        for h in [HeaderName::From, HeaderName::CallId] {
            assert_eq!(m.header(h), fwd.header(h), "{method} {h:?}");
        }
        assert_eq!(m.cseq().expect("cseq").seq, 1);
        assert_eq!(m.cseq().expect("cseq").method_str, method);
        assert_eq!(m.validate(), Ok(()), "{method}");
    }
    assert_eq!(down.header(HeaderName::To), fwd.header(HeaderName::To));
    assert_eq!(
        ack.to().expect("to").tag(),
        Some("b1"),
        "the ACK has the 487's To"
    );
}

#[test]
fn cancel_matching_nothing_gets_481() {
    let mut p = proxy();
    let cancel = String::from_utf8_lossy(&invite(""))
        .replace("INVITE sip", "CANCEL sip")
        .replace("1 INVITE", "1 CANCEL");
    p.handle(Bytes::from(cancel), udp(UAC), Instant::now());
    assert_eq!(drain(&mut p)[0].1.status(), Some(481));
}

#[test]
fn accepted_call_then_in_dialog_bye_loose_routed() {
    let mut p = proxy();
    let now = Instant::now();
    p.handle(invite(""), udp(UAC), now);
    let fwd = drain(&mut p).remove(1).1;
    p.handle(answer(&fwd, 200, "b1"), udp(UAS), now);
    let ok = drain(&mut p);
    assert_eq!((ok[0].0, ok[0].1.status()), (addr(UAC), Some(200)));
    // A retransmitted 200 (lost ACK) is forwarded too.
    p.handle(
        answer(&fwd, 200, "b1"),
        udp(UAS),
        now + Duration::from_millis(500),
    );
    assert_eq!(drain(&mut p).len(), 1);
    // ACK and BYE from the caller, routed by the Record-Route.
    for (method, branch) in [("ACK", "z9hG4bKack"), ("BYE", "z9hG4bKbye")] {
        let req = format!(
            "{method} sip:bob@{UAS} SIP/2.0\r\nVia: SIP/2.0/UDP {UAC};branch={branch}\r\nRoute: <sip:192.0.2.1:5060;lr>\r\nMax-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@{UAS}>;tag=b1\r\nCall-ID: call-1\r\nCSeq: {} {method}\r\nContent-Length: 0\r\n\r\n",
            if method == "ACK" { 1 } else { 2 }
        );
        p.handle(Bytes::from(req), udp(UAC), now);
        let out = drain(&mut p);
        assert_eq!(out.len(), 1, "{method}");
        assert_eq!(out[0].0, addr(UAS));
        assert_eq!(
            out[0].1.count(HeaderName::Route),
            0,
            "our Route entry popped"
        );
        assert_eq!(
            out[0].1.count(HeaderName::RecordRoute),
            0,
            "no Record-Route in dialog"
        );
        if method == "BYE" {
            p.handle(answer(&out[0].1, 200, "b1"), udp(UAS), now);
            assert_eq!(drain(&mut p)[0].1.status(), Some(200));
        }
    }
}

#[test]
fn a_provisional_overtaken_by_the_2xx_is_not_forwarded() {
    // UDP does not keep order, and neither do concurrent receivers: the 180 sent before
    // the 200 may be handled after it. The caller must not see it after the 200.
    let mut p = proxy();
    let now = Instant::now();
    p.handle(invite(""), udp(UAC), now);
    let fwd = drain(&mut p).remove(1).1;
    p.handle(answer(&fwd, 200, "b1"), udp(UAS), now);
    assert_eq!(drain(&mut p)[0].1.status(), Some(200));
    p.handle(answer(&fwd, 180, "b1"), udp(UAS), now);
    let late: Vec<_> = drain(&mut p)
        .iter()
        .map(|(to, m)| (*to, m.status()))
        .collect();
    assert_eq!(late, [], "nothing goes upstream after the 200");
}

#[test]
fn no_answer_times_out_with_408() {
    let mut p = proxy();
    let now = Instant::now();
    p.handle(invite(""), udp(UAC), now);
    drain(&mut p);
    let mut t = now;
    let mut upstream = Vec::new();
    while let Some(next) = p.poll_timeout() {
        if next > now + Duration::from_secs(100) {
            break;
        }
        t = next;
        p.handle_timeout(t);
        upstream.extend(drain(&mut p).into_iter().filter(|(to, _)| *to == addr(UAC)));
    }
    assert_eq!(upstream.first().and_then(|(_, m)| m.status()), Some(408));
    assert!(t >= now + Duration::from_secs(32));
}

#[test]
fn timer_c_cancels_a_branch_that_rings_forever() {
    let mut p = proxy();
    let now = Instant::now();
    p.handle(invite(""), udp(UAC), now);
    let fwd = drain(&mut p).remove(1).1;
    p.handle(answer(&fwd, 180, "b1"), udp(UAS), now);
    drain(&mut p);
    p.handle_timeout(now + Duration::from_secs(181));
    let out = drain(&mut p);
    assert!(
        out.iter()
            .any(|(to, m)| *to == addr(UAS) && m.method() == Some(Method::Cancel))
    );
}

#[test]
fn max_forwards_and_loops() {
    let mut p = proxy();
    let now = Instant::now();
    let zero = String::from_utf8_lossy(&invite("")).replace("Max-Forwards: 70", "Max-Forwards: 0");
    p.handle(Bytes::from(zero), udp(UAC), now);
    let out = drain(&mut p);
    assert_eq!(out.last().and_then(|(_, m)| m.status()), Some(483));
    // The forwarded request coming back unchanged is a loop.
    let mut p = proxy();
    p.handle(invite(""), udp(UAC), now);
    let fwd = drain(&mut p).remove(1).1;
    p.handle(fwd.as_bytes().clone(), udp(UAS), now);
    assert_eq!(
        drain(&mut p).last().and_then(|(_, m)| m.status()),
        Some(482)
    );
}

#[test]
fn relay_policy_and_local_users() {
    let mut no_relay = proxy();
    let now = Instant::now();
    no_relay.handle(invite(""), udp(UAC), now);
    assert_eq!(
        drain_with(&mut no_relay, |req| default_decision(req, false))
            .last()
            .and_then(|(_, m)| m.status()),
        Some(403)
    );
    let mut p = proxy();
    let local = String::from_utf8_lossy(&invite("")).replace(
        &format!("INVITE sip:bob@{UAS}"),
        "INVITE sip:bob@example.com",
    );
    p.handle(Bytes::from(local), udp(UAC), now);
    assert_eq!(
        drain(&mut p).last().and_then(|(_, m)| m.status()),
        Some(404)
    );
}

#[test]
fn stray_response_forwarded_by_via() {
    let mut p = proxy();
    let stray = format!(
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKgone\r\nVia: SIP/2.0/UDP {UAC};branch=z9hG4bKuac1;received=10.0.0.1;rport=5070\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    );
    p.handle(Bytes::from(stray.clone()), udp(UAS), Instant::now());
    let out = drain(&mut p);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, addr(UAC));
    assert_eq!(out[0].1.count(HeaderName::Via), 1);
    // A stray provisional: nothing waits for it.
    let ringing = stray.replace("200 OK", "180 Ringing");
    p.handle(Bytes::from(ringing), udp(UAS), Instant::now());
    assert!(drain(&mut p).is_empty());
    // Not ours: dropped.
    let foreign = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 203.0.113.9;branch=z9hG4bKx\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKy\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    p.handle(
        Bytes::from_static(foreign.as_bytes()),
        udp(UAS),
        Instant::now(),
    );
    assert!(drain(&mut p).is_empty());
}

#[test]
fn double_record_route_when_transport_changes() {
    let mut p = proxy();
    let req = String::from_utf8_lossy(&invite("")).replace(
        &format!("INVITE sip:bob@{UAS}"),
        &format!("INVITE sip:bob@{UAS};transport=tcp"),
    );
    p.handle(Bytes::from(req), udp(UAC), Instant::now());
    let fwd = drain(&mut p).remove(1).1;
    let rr: Vec<_> = fwd
        .record_routes()
        .map(|r| r.expect("rr").uri.to_string())
        .collect();
    assert_eq!(
        rr,
        [
            "sip:192.0.2.1:5060;transport=tcp;lr;r2=on",
            "sip:192.0.2.1:5060;lr;r2=on"
        ]
    );
    assert_eq!(
        fwd.top_via().expect("via").transport(),
        Some(Transport::Tcp)
    );
}

fn target(addr_str: &str) -> Target {
    Target {
        request_uri: Some(format!("sip:bob@{addr_str}")),
        route: Vec::new(),
        to: udp(addr_str),
        failover: Vec::new(),
    }
}

/// An INVITE for the local user bob@example.com, handed up for a decision.
fn invite_local(p: &mut Proxy, now: Instant) -> RoutingRequest {
    let req = String::from_utf8_lossy(&invite("")).replace(
        &format!("INVITE sip:bob@{UAS}"),
        "INVITE sip:bob@example.com",
    );
    p.handle(Bytes::from(req), udp(UAC), now);
    let ev = p.poll_event().expect("a routing decision is asked for");
    assert_eq!(ev.destination, Destination::LocalDomain);
    ev
}

#[test]
fn serial_forking_tries_the_next_group_after_a_failure() {
    let mut p = proxy();
    let now = Instant::now();
    let ev = invite_local(&mut p, now);
    let (first, second) = ("10.0.0.2:5090", "10.0.0.3:5090");
    p.decide(
        &ev.id,
        Decision::Relay(vec![vec![target(first)], vec![target(second)]]),
        now,
    );
    let out = drain(&mut p);
    let fwd = out
        .iter()
        .find(|(to, _)| *to == addr(first))
        .map(|(_, m)| m.clone())
        .expect("first group tried");
    assert_eq!(fwd.request_uri_str(), Some(&*format!("sip:bob@{first}")));
    assert!(out.iter().all(|(to, _)| *to != addr(second)));
    p.handle(answer(&fwd, 486, "b1"), udp(first), now);
    let out = drain(&mut p);
    assert!(
        out.iter().any(|(to, m)| *to == addr(second)
            && m.request_uri_str() == Some(&*format!("sip:bob@{second}"))),
        "second group tried after the 486"
    );
    assert!(
        !out.iter()
            .any(|(to, m)| *to == addr(UAC) && m.status() == Some(486)),
        "the 486 is kept until every group failed"
    );
    let fwd2 = out
        .into_iter()
        .find(|(to, _)| *to == addr(second))
        .expect("forwarded")
        .1;
    p.handle(answer(&fwd2, 480, "b2"), udp(second), now);
    let out = drain(&mut p);
    assert_eq!(
        out.iter()
            .find(|(to, m)| *to == addr(UAC) && m.status().is_some_and(|c| c >= 200))
            .and_then(|(_, m)| m.status()),
        Some(486),
        "the best of all groups goes upstream (4xx: the first received)"
    );
}

#[test]
fn a_6xx_stops_serial_forking() {
    let mut p = proxy();
    let now = Instant::now();
    let ev = invite_local(&mut p, now);
    p.decide(
        &ev.id,
        Decision::Relay(vec![vec![target(UAS)], vec![target("10.0.0.3:5090")]]),
        now,
    );
    let fwd = drain(&mut p).remove(1).1;
    p.handle(answer(&fwd, 603, "b1"), udp(UAS), now);
    let out = drain(&mut p);
    assert!(out.iter().all(|(to, _)| *to != addr("10.0.0.3:5090")));
    assert!(
        out.iter()
            .any(|(to, m)| *to == addr(UAC) && m.status() == Some(603))
    );
}

#[test]
fn pending_decision_absorbs_retransmissions_and_yields_to_cancel() {
    let mut p = proxy();
    let now = Instant::now();
    let ev = invite_local(&mut p, now);
    assert_eq!(drain(&mut p)[0].1.status(), Some(100));
    // The INVITE again: absorbed, the 100 replayed, no second decision asked for.
    let again = String::from_utf8_lossy(&invite("")).replace(
        &format!("INVITE sip:bob@{UAS}"),
        "INVITE sip:bob@example.com",
    );
    p.handle(
        Bytes::from(again),
        udp(UAC),
        now + Duration::from_millis(500),
    );
    assert!(p.poll_event().is_none());
    let out = drain(&mut p);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].1.status(), Some(100));
    // CANCEL while the decision is pending: 200 for the CANCEL, 487 for the INVITE.
    let cancel = String::from_utf8_lossy(&invite(""))
        .replace(
            &format!("INVITE sip:bob@{UAS}"),
            "CANCEL sip:bob@example.com",
        )
        .replace("1 INVITE", "1 CANCEL");
    p.handle(Bytes::from(cancel), udp(UAC), now);
    let codes: Vec<_> = drain(&mut p)
        .iter()
        .map(|(_, m)| (m.status(), m.cseq().expect("cseq").method))
        .collect();
    assert!(codes.contains(&(Some(200), Method::Cancel)));
    assert!(codes.contains(&(Some(487), Method::Invite)));
    // The decision arrives late: dropped, nothing is forwarded.
    p.decide(&ev.id, Decision::Relay(vec![vec![target(UAS)]]), now);
    assert!(drain(&mut p).is_empty());
}

#[test]
fn a_relay_decision_without_targets_is_480() {
    let mut p = proxy();
    let now = Instant::now();
    let ev = invite_local(&mut p, now);
    p.decide(&ev.id, Decision::Relay(Vec::new()), now);
    assert_eq!(
        drain(&mut p).last().and_then(|(_, m)| m.status()),
        Some(480)
    );
}

#[test]
fn a_reply_decision_carries_its_headers() {
    let mut p = proxy();
    let now = Instant::now();
    let ev = invite_local(&mut p, now);
    p.decide(
        &ev.id,
        Decision::Reply(Reply::new(407, "Proxy Authentication Required").header(
            "Proxy-Authenticate",
            "Digest realm=\"example.com\", nonce=\"n\"",
        )),
        now,
    );
    let out = drain(&mut p);
    let resp = &out.last().expect("answered").1;
    assert_eq!(resp.status(), Some(407));
    assert_eq!(resp.challenges(true).count(), 1);
    assert!(resp.to().expect("To").tag().is_some());
}

#[test]
fn path_becomes_route_on_the_branch() {
    let mut p = proxy();
    let now = Instant::now();
    let ev = invite_local(&mut p, now);
    let mut t = target(UAS);
    t.route = vec!["<sip:edge.example.net;lr>".into()];
    p.decide(&ev.id, Decision::Relay(vec![vec![t]]), now);
    let fwd = drain(&mut p).remove(1).1;
    let routes: Vec<_> = fwd
        .routes()
        .map(|r| r.expect("route").uri.to_string())
        .collect();
    assert_eq!(routes, ["sip:edge.example.net;lr"]);
}

#[test]
fn a_foreign_route_set_is_policy_not_loose_routing() {
    let mut p = proxy();
    let req = String::from_utf8_lossy(&invite("Route: <sip:10.9.9.9;lr>\r\n")).into_owned();
    p.handle(Bytes::from(req), udp(UAC), Instant::now());
    assert_eq!(
        drain_with(&mut p, |r| default_decision(r, false))
            .last()
            .and_then(|(_, m)| m.status()),
        Some(403),
        "no open relay through a preloaded foreign Route"
    );
}

#[test]
fn a_branch_that_cannot_be_sent_fails_at_once_with_503_kept_as_500_upstream() {
    let mut p = proxy();
    let now = Instant::now();
    p.handle(invite(""), udp(UAC), now);
    let out: Vec<_> = std::iter::from_fn(|| {
        while let Some(req) = p.poll_event() {
            let d = default_decision(&req, true);
            p.decide(&req.id, d, now);
        }
        p.poll_transmit()
    })
    .collect();
    let owner = out
        .iter()
        .find(|t| t.to.remote == addr(UAS))
        .expect("forwarded")
        .owner
        .clone()
        .expect("sent by its branch");
    p.send_failed(&owner, now);
    let up = drain(&mut p);
    let fin = up
        .iter()
        .find(|(to, m)| *to == addr(UAC) && m.status().is_some_and(|c| c >= 200))
        .map(|(_, m)| m.status());
    assert_eq!(
        fin,
        Some(Some(500)),
        "a transport error is a 503 on the branch (§8.1.3.1), which goes up as 500 (§16.7)"
    );
}

#[test]
fn a_user_at_our_address_behind_our_route_is_not_strict_routing() {
    let mut p = proxy();
    let req = String::from_utf8_lossy(&invite("Route: <sip:192.0.2.1:5060;lr>\r\n")).replace(
        &format!("INVITE sip:bob@{UAS}"),
        "INVITE sip:bob@192.0.2.1:5060",
    );
    p.handle(Bytes::from(req), udp(UAC), Instant::now());
    let ev = p.poll_event().expect("handed up");
    assert_eq!(ev.destination, Destination::LocalDomain);
}

/// Runs every timer until none is left, starting at `now`.
fn run_timers_out(p: &mut Proxy, now: Instant) {
    let mut rounds = 0;
    while let Some(t) = p.poll_timeout() {
        p.handle_timeout(t.max(now));
        drain(p);
        rounds += 1;
        assert!(rounds < 10_000, "timers never settle");
    }
}

#[test]
fn finished_transactions_are_forgotten() {
    let mut p = proxy();
    let now = Instant::now();
    // A declined call (server and client INVITE transactions, the hop-by-hop ACK)...
    p.handle(invite(""), udp(UAC), now);
    let fwd = drain(&mut p).remove(1).1;
    p.handle(answer(&fwd, 603, "b1"), udp(UAS), now);
    drain(&mut p);
    // ...and a request answered by the proxy itself.
    let local = String::from_utf8_lossy(&invite(""))
        .replace(
            &format!("INVITE sip:bob@{UAS}"),
            "OPTIONS sip:192.0.2.1:5060",
        )
        .replace("1 INVITE", "1 OPTIONS")
        .replace("z9hG4bKuac1", "z9hG4bKuac2");
    p.handle(Bytes::from(local), udp(UAC), now);
    assert_eq!(
        drain(&mut p).last().and_then(|(_, m)| m.status()),
        Some(200)
    );
    assert_eq!(
        p.transaction_count().0,
        1,
        "the INVITE's server transaction waits for Timer H; the OPTIONS left nothing"
    );
    run_timers_out(&mut p, now);
    assert_eq!(p.transaction_count(), (0, 0));
    assert_eq!(p.poll_timeout(), None);
}

#[test]
fn our_credentials_are_consumed_others_passed_on() {
    let mut p = proxy();
    let req = String::from_utf8_lossy(&invite(
        "Proxy-Authorization: Digest username=\"alice\", realm=\"example.com\", nonce=\"n\", uri=\"sip:x\", response=\"0\"\r\nProxy-Authorization: Digest username=\"alice\", realm=\"other.net\", nonce=\"m\", uri=\"sip:x\", response=\"1\"\r\n",
    ))
    .into_owned();
    p.handle(Bytes::from(req), udp(UAC), Instant::now());
    let fwd = drain(&mut p).remove(1).1;
    let left: Vec<_> = fwd
        .header_values(HeaderName::ProxyAuthorization)
        .map(str::to_owned)
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].contains("other.net"));
}

#[test]
fn past_the_transaction_bound_new_requests_get_503_without_state() {
    let mut p = proxy();
    p.cfg.max_transactions = 1;
    let now = Instant::now();
    p.handle(invite(""), udp(UAC), now);
    drain(&mut p);
    let second = String::from_utf8_lossy(&invite(""))
        .replace("z9hG4bKuac1", "z9hG4bKuac9")
        .replace("call-1", "call-9");
    p.handle(Bytes::from(second), udp(UAC), now);
    let out = drain(&mut p);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].1.status(), Some(503));
    assert_eq!(out[0].1.header(HeaderName::RetryAfter), Some("1"));
    assert_eq!(p.transaction_count().0, 1, "no state for the refused one");
}

/// A BYE for the dialog of `invite()`, from the caller, routed through us.
fn bye(branch: &str) -> Bytes {
    Bytes::from(format!(
        "BYE sip:bob@{UAS} SIP/2.0\r\nVia: SIP/2.0/UDP {UAC};branch={branch}\r\nMax-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@{UAS}>;tag=b1\r\nCall-ID: call-1\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n"
    ))
}

#[test]
fn a_finished_transaction_lingers_small_and_still_absorbs_retransmissions() {
    let mut p = proxy();
    let now = Instant::now();
    p.handle(bye("z9hG4bKbye1"), udp(UAC), now);
    let fwd = drain(&mut p).remove(0).1;
    assert_eq!(p.working_count(), 1, "forwarding");
    p.handle(answer(&fwd, 200, "b1"), udp(UAS), now);
    assert_eq!(drain(&mut p)[0].1.status(), Some(200));
    assert_eq!(p.working_count(), 0, "nothing left to forward");
    assert_eq!(p.transaction_count().0, 1, "lingering until Timer J");
    // The caller did not get the 200: its retransmission gets the same 200 again, and
    // nothing goes downstream.
    p.handle(
        bye("z9hG4bKbye1"),
        udp(UAC),
        now + Duration::from_millis(500),
    );
    let out = drain(&mut p);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(
        (out[0].0, out[0].1.status()),
        (addr(UAC), Some(200)),
        "replayed upstream"
    );
    // The INVITE side: after the 2xx, a retransmitted INVITE is absorbed, not forked
    // again (RFC 6026 Accepted), though its forwarding state is gone.
    p.handle(invite(""), udp(UAC), now);
    let fwd = drain(&mut p).remove(1).1;
    p.handle(answer(&fwd, 200, "b1"), udp(UAS), now);
    drain(&mut p);
    assert_eq!(p.working_count(), 0);
    assert_eq!(
        p.transaction_count().1,
        1,
        "the answered INVITE branch is gone (the BYE's client lingers for Timer K)"
    );
    p.handle(invite(""), udp(UAC), now + Duration::from_millis(500));
    assert_eq!(drain(&mut p).len(), 0, "absorbed");
    run_timers_out(&mut p, now);
    assert_eq!(p.transaction_count(), (0, 0));
}

#[test]
fn the_transaction_bound_counts_only_transactions_at_work() {
    let mut p = proxy();
    p.cfg.max_transactions = 1;
    let now = Instant::now();
    for n in 0..3 {
        p.handle(bye(&format!("z9hG4bKbye{n}")), udp(UAC), now);
        let fwd = drain(&mut p);
        assert_eq!(fwd.len(), 1);
        assert_eq!(fwd[0].0, addr(UAS), "BYE {n} relayed, not refused");
        p.handle(answer(&fwd[0].1, 200, "b1"), udp(UAS), now);
        drain(&mut p);
    }
    assert_eq!(p.transaction_count().0, 3, "three lingering");
}

/// A target reached at `first`, then at each of `then` in turn (RFC 3263 failover).
fn target_with_failover(first: &str, then: &[&str]) -> Target {
    Target {
        failover: then.iter().map(|a| udp(a)).collect(),
        ..target(first)
    }
}

/// The requests the proxy sent to `to` in `out`.
fn sent_to(out: &[(SocketAddr, Message)], to: &str) -> Vec<Message> {
    out.iter()
        .filter(|(a, m)| *a == addr(to) && m.is_request())
        .map(|(_, m)| m.clone())
        .collect()
}

/// The transaction that sent the one request the proxy sends to `to` now.
fn owner_of_request_to(p: &mut Proxy, to: &str) -> Owner {
    let owners: Vec<Owner> = std::iter::from_fn(|| p.poll_transmit())
        .filter(|t| t.to.remote == addr(to))
        .filter_map(|t| t.owner)
        .collect();
    assert_eq!(owners.len(), 1, "{owners:?}");
    owners[0].clone()
}

fn final_upstream(out: &[(SocketAddr, Message)]) -> Option<u16> {
    out.iter()
        .filter(|(to, _)| *to == addr(UAC))
        .filter_map(|(_, m)| m.status())
        .find(|c| *c >= 200)
}

/// bob@example.com's INVITE relayed to a target at `A`, with `B` to fail over to.
const A: &str = "10.0.0.2:5090";
const B: &str = "10.0.0.3:5090";

fn relayed_with_failover() -> (Proxy, Instant, &'static str, &'static str) {
    let mut p = proxy();
    let now = Instant::now();
    let ev = invite_local(&mut p, now);
    p.decide(
        &ev.id,
        Decision::Relay(vec![vec![target_with_failover(A, &[B])]]),
        now,
    );
    (p, now, A, B)
}

#[test]
fn a_silent_destination_fails_over_to_the_next_and_is_reported() {
    let (mut p, now, a, b) = relayed_with_failover();
    let first = sent_to(&drain(&mut p), a);
    assert_eq!(first.len(), 1);
    // Timer A retransmits to a; nothing goes to b before the failover timeout.
    let mut t = now;
    let mut to_b = Vec::new();
    while to_b.is_empty() {
        t = p.poll_timeout().expect("a timer is armed");
        assert!(t < now + Duration::from_secs(5), "failover within 4 s");
        p.handle_timeout(t);
        to_b = sent_to(&drain(&mut p), b);
    }
    assert!(
        t >= now + Duration::from_secs(4),
        "not before the failover timeout"
    );
    assert_eq!(p.poll_unreachable().map(|u| u.peer.remote), Some(addr(a)));
    assert_eq!(p.poll_unreachable(), None);
    let retry = &to_b[0];
    assert_ne!(
        retry.top_via().expect("via").branch(),
        first[0].top_via().expect("via").branch(),
        "a new client transaction"
    );
    assert_eq!(retry.request_uri_str(), first[0].request_uri_str());
    // a is given up: no more retransmissions to it.
    p.handle_timeout(t + Duration::from_secs(8));
    assert!(sent_to(&drain(&mut p), a).is_empty());
    p.handle(answer(retry, 200, "b2"), udp(b), t);
    assert_eq!(final_upstream(&drain(&mut p)), Some(200));
}

#[test]
fn a_503_fails_over_and_the_last_answer_goes_upstream() {
    let (mut p, now, a, b) = relayed_with_failover();
    let first = sent_to(&drain(&mut p), a).remove(0);
    let busy = String::from_utf8_lossy(&answer(&first, 503, "a1"))
        .replace("Content-Length: 0", "Retry-After: 120\r\nContent-Length: 0");
    p.handle(Bytes::from(busy), udp(a), now);
    let out = drain(&mut p);
    assert_eq!(
        sent_to(&out, a)
            .iter()
            .map(|m| m.method_str().unwrap_or("").to_owned())
            .collect::<Vec<_>>(),
        ["ACK"],
        "the 503 is acknowledged hop by hop"
    );
    let retry = sent_to(&out, b).remove(0);
    assert_eq!(final_upstream(&out), None, "the 503 is not passed upstream");
    assert_eq!(
        p.poll_unreachable().map(|u| (u.peer.remote, u.retry_after)),
        Some((addr(a), Some(Duration::from_secs(120)))),
        "reported with its Retry-After"
    );
    p.handle(answer(&retry, 486, "b2"), udp(b), now);
    assert_eq!(final_upstream(&drain(&mut p)), Some(486));
}

#[test]
fn a_transport_error_fails_over_and_when_all_fail_the_caller_gets_an_error() {
    let (mut p, now, a, b) = relayed_with_failover();
    let first = owner_of_request_to(&mut p, a);
    p.send_failed(&first, now);
    let retry = owner_of_request_to(&mut p, b);
    p.send_failed(&retry, now);
    assert_eq!(final_upstream(&drain(&mut p)), Some(500));
    let failed: Vec<_> = std::iter::from_fn(|| p.poll_unreachable())
        .map(|u| u.peer.remote)
        .collect();
    assert_eq!(failed, [addr(a), addr(b)]);
}

#[test]
fn no_failover_after_the_caller_cancelled() {
    let (mut p, now, a, b) = relayed_with_failover();
    let first = sent_to(&drain(&mut p), a).remove(0);
    p.handle(answer(&first, 180, "a1"), udp(a), now);
    drain(&mut p);
    let cancel = String::from_utf8_lossy(&invite(""))
        .replace(
            &format!("INVITE sip:bob@{UAS}"),
            "CANCEL sip:bob@example.com",
        )
        .replace("1 INVITE", "1 CANCEL");
    p.handle(Bytes::from(cancel), udp(UAC), now);
    let out = drain(&mut p);
    assert!(
        sent_to(&out, a)
            .iter()
            .any(|m| m.method_str() == Some("CANCEL"))
    );
    p.handle(answer(&first, 503, "a1"), udp(a), now);
    let out = drain(&mut p);
    assert!(sent_to(&out, b).is_empty(), "cancelled: b is not tried");
    assert_eq!(final_upstream(&out), Some(500));
}

#[test]
fn a_natted_caller_and_callee_get_their_contacts_made_reachable() {
    let mut p = proxy();
    let now = Instant::now();
    // alice behind a NAT: private Via and Contact, arriving from the NAT's public side.
    let nat = "198.51.100.7:40001";
    let req = String::from_utf8_lossy(&invite(""))
        .replace(
            &format!("Via: SIP/2.0/UDP {UAC}"),
            "Via: SIP/2.0/UDP 192.168.1.10:5060",
        )
        .replace(
            &format!("<sip:alice@{UAC}>"),
            "<sip:alice@192.168.1.10:5060;ob>",
        );
    p.handle(Bytes::from(req), udp(nat), now);
    let fwd = drain(&mut p).remove(1).1;
    assert_eq!(
        fwd.header(HeaderName::Contact),
        Some("<sip:alice@198.51.100.7:40001;ob>"),
        "{fwd:?}"
    );
    // bob answers from behind another NAT (reached at its public address): his 200's
    // private Contact is rewritten on the way up too.
    let ok = String::from_utf8_lossy(&answer(&fwd, 200, "b1"))
        .replace(&format!("<sip:bob@{UAS}>"), "<sip:bob@10.9.9.9:5062>");
    p.handle(Bytes::from(ok), udp(UAS), now);
    let up = drain(&mut p);
    let ok = &up
        .iter()
        .find(|(to, _)| *to == addr(nat))
        .expect("200 to the NAT")
        .1;
    assert_eq!(
        ok.header(HeaderName::Contact),
        Some(&*format!("<sip:bob@{UAS}>"))
    );
    // Switched off, nothing is touched.
    let mut off = proxy();
    off.cfg.nat.enabled = false;
    let req = String::from_utf8_lossy(&invite("")).replace(
        &format!("<sip:alice@{UAC}>"),
        "<sip:alice@192.168.1.10:5060>",
    );
    off.handle(Bytes::from(req), udp(nat), now);
    let fwd = drain(&mut off).remove(1).1;
    assert_eq!(
        fwd.header(HeaderName::Contact),
        Some("<sip:alice@192.168.1.10:5060>")
    );
}

#[test]
fn an_outbound_caller_s_flow_is_named_in_record_route_and_used_back() {
    let mut p = proxy();
    let now = Instant::now();
    // alice uses RFC 5626 outbound (ob), over TCP from 198.51.100.7:40001.
    let flow = Peer::at(Transport::Tcp, addr("198.51.100.7:40001"));
    let req = String::from_utf8_lossy(&invite(""))
        .replace(
            "SIP/2.0/UDP 10.0.0.1:5070",
            "SIP/2.0/TCP 198.51.100.7:40001",
        )
        .replace(
            &format!("<sip:alice@{UAC}>"),
            "<sip:alice@198.51.100.7:40001;transport=tcp;ob>",
        );
    p.handle(Bytes::from(req), flow, now);
    let fwd = drain(&mut p).remove(1).1;
    let rr: Vec<String> = fwd
        .record_routes()
        .map(|r| r.expect("rr").uri.as_str().to_owned())
        .collect();
    // Leaving over UDP: the r2 pair, the token in the TCP entry facing alice.
    assert_eq!(rr.len(), 2, "{rr:?}");
    let token = flow::encode(flow, &p.cfg.flow_secret);
    assert_eq!(
        rr[1],
        format!("sip:{token}@192.0.2.1:5060;transport=tcp;lr;r2=on")
    );
    // bob's BYE comes back through the Record-Route, its Request-URI an address
    // nobody can reach: it goes down alice's flow.
    let bye = |from_uas: bool| {
        format!(
            "BYE sip:alice@192.168.1.10:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKbye{}\r\nRoute: <{}>, <{}>\r\nMax-Forwards: 70\r\nFrom: <sip:bob@{UAS}>;tag=b1\r\nTo: <sip:alice@example.com>;tag=a1\r\nCall-ID: call-1\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
            if from_uas { UAS } else { "198.51.100.7:40001" },
            u8::from(from_uas),
            rr[0],
            rr[1]
        )
    };
    p.handle(Bytes::from(bye(true)), udp(UAS), now);
    let out = drain(&mut p);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, addr("198.51.100.7:40001"), "down the flow");
    // The same Route coming over the flow itself is alice's own request: routed by its
    // Request-URI, not sent back to her.
    p.handle(Bytes::from(bye(false)), flow, now);
    let out = drain(&mut p);
    assert!(
        out.iter().all(|(to, _)| *to != addr("198.51.100.7:40001")),
        "{out:?}"
    );
}

#[test]
fn the_deadline_heap_stays_in_proportion_to_live_transactions() {
    let mut p = proxy();
    let now = Instant::now();
    // 10 000 answered calls: each leaves an Accepted server transaction, and stale heap
    // entries from its branch (Timer A, then Timer C after the 180: 3 minutes).
    for n in 0..10_000 {
        let req = String::from_utf8_lossy(&invite(""))
            .replace("z9hG4bKuac1", &format!("z9hG4bKuac-{n}"))
            .replace("call-1", &format!("call-{n}"));
        p.handle(Bytes::from(req), udp(UAC), now);
        let fwd = drain(&mut p).remove(1).1;
        p.handle(answer(&fwd, 180, "b1"), udp(UAS), now);
        p.handle(answer(&fwd, 200, "b1"), udp(UAS), now);
        drain(&mut p);
    }
    let (servers, clients) = p.transaction_count();
    assert_eq!((servers, clients), (10_000, 0));
    assert!(
        p.timers.len() <= 2 * servers + 4096,
        "{} heap entries for {servers} transactions",
        p.timers.len()
    );
    run_timers_out(&mut p, now);
    assert_eq!(p.transaction_count(), (0, 0));
}
