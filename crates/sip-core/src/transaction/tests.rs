//! Every timer path of the four transaction machines, with virtual time: the clock is
//! an `Instant` taken once and moved by hand, nothing sleeps.

use super::TimerConfig;
use super::client::{ClientEvent, ClientState, ClientTransaction};
use super::server::{ServerEvent, ServerState, ServerTransaction};
use bytes::Bytes;
use sip_msg::Message;
use std::time::{Duration, Instant};

const T: TimerConfig = TimerConfig {
    t1: Duration::from_millis(500),
    t2: Duration::from_secs(4),
    t4: Duration::from_secs(5),
};

fn request(method: &str) -> Message {
    Message::parse(Bytes::from(format!(
        "{method} sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKc1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )))
    .expect("parses")
}

fn response(code: u16, method: &str) -> Message {
    Message::parse(Bytes::from(format!(
        "SIP/2.0 {code} X\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKc1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@example.com>;tag=t\r\nCall-ID: c\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
    )))
    .expect("parses")
}

/// Runs the client's timers up to `until`, returning when each transmission happened
/// (milliseconds after `start`).
fn run_client(tx: &mut ClientTransaction, start: Instant, until: Duration) -> Vec<u128> {
    let mut sent = Vec::new();
    while tx.poll_transmit().is_some() {
        sent.push(0);
    }
    while let Some(at) = tx.poll_timeout() {
        if at > start + until {
            break;
        }
        tx.handle_timeout(at);
        while tx.poll_transmit().is_some() {
            sent.push((at - start).as_millis());
        }
    }
    sent
}

fn run_server(tx: &mut ServerTransaction, start: Instant, until: Duration) -> Vec<u128> {
    let mut sent = Vec::new();
    while let Some(at) = tx.poll_timeout() {
        if at > start + until {
            break;
        }
        tx.handle_timeout(at);
        while tx.poll_transmit().is_some() {
            sent.push((at - start).as_millis());
        }
    }
    sent
}

#[test]
fn invite_client_timer_a_then_b_gives_408() {
    let now = Instant::now();
    let mut tx = ClientTransaction::new(request("INVITE"), false, T, now);
    let sent = run_client(&mut tx, now, Duration::from_secs(60));
    // Timer A: 0.5, 1, 2, 4, 8, 16 s intervals until timer B at 32 s.
    assert_eq!(sent, [0, 500, 1500, 3500, 7500, 15500, 31500]);
    assert!(matches!(tx.poll_event(), Some(ClientEvent::Timeout)));
    assert!(tx.is_terminated());
}

#[test]
fn invite_client_over_tcp_never_retransmits() {
    let now = Instant::now();
    let mut tx = ClientTransaction::new(request("INVITE"), true, T, now);
    assert_eq!(run_client(&mut tx, now, Duration::from_secs(60)), [0]);
    assert!(matches!(tx.poll_event(), Some(ClientEvent::Timeout)));
}

#[test]
fn invite_client_provisional_stops_retransmissions() {
    let now = Instant::now();
    let mut tx = ClientTransaction::new(request("INVITE"), false, T, now);
    tx.poll_transmit();
    tx.handle_timeout(now + Duration::from_millis(500));
    assert!(tx.poll_transmit().is_some());
    tx.on_response(response(180, "INVITE"), now + Duration::from_millis(600));
    assert_eq!(tx.state(), ClientState::Proceeding);
    assert!(matches!(tx.poll_event(), Some(ClientEvent::Response(r)) if r.status() == Some(180)));
    // No timer remains: Timer C belongs to the proxy.
    assert_eq!(tx.poll_timeout(), None);
}

#[test]
fn invite_client_non_2xx_is_acked_hop_by_hop_and_retransmissions_reacked() {
    let now = Instant::now();
    let mut tx = ClientTransaction::new(request("INVITE"), false, T, now);
    tx.poll_transmit();
    tx.on_response(response(486, "INVITE"), now);
    let ack = Message::parse(tx.poll_transmit().expect("ack")).expect("ack parses");
    assert_eq!(ack.method_str(), Some("ACK"));
    assert_eq!(ack.top_via().expect("via").branch(), Some("z9hG4bKc1"));
    assert!(matches!(tx.poll_event(), Some(ClientEvent::Response(r)) if r.status() == Some(486)));
    assert_eq!(tx.state(), ClientState::Completed);
    // The 486 is retransmitted (our ACK was lost): ACK again, nothing passed up.
    tx.on_response(response(486, "INVITE"), now + Duration::from_secs(1));
    assert!(tx.poll_transmit().is_some());
    assert!(tx.poll_event().is_none());
    // Timer D: 32 s.
    assert_eq!(tx.poll_timeout(), Some(now + Duration::from_secs(32)));
    tx.handle_timeout(now + Duration::from_secs(32));
    assert!(tx.is_terminated());
}

#[test]
fn invite_client_2xx_retransmissions_pass_up_until_timer_m() {
    let now = Instant::now();
    let mut tx = ClientTransaction::new(request("INVITE"), false, T, now);
    tx.poll_transmit();
    tx.on_response(response(200, "INVITE"), now);
    assert_eq!(tx.state(), ClientState::Accepted);
    assert!(
        tx.poll_transmit().is_none(),
        "no ACK for a 2xx from the transaction"
    );
    // The 200 is retransmitted by the UAS because the end-to-end ACK was lost: each
    // copy goes up so that a proxy forwards it.
    tx.on_response(response(200, "INVITE"), now + Duration::from_millis(500));
    assert_eq!(
        tx.poll_event().into_iter().chain(tx.poll_event()).count(),
        2
    );
    // A late provisional is absorbed.
    tx.on_response(response(180, "INVITE"), now + Duration::from_secs(1));
    assert!(tx.poll_event().is_none());
    tx.handle_timeout(now + T.timeout());
    assert!(tx.is_terminated());
}

#[test]
fn non_invite_client_timer_e_caps_at_t2_and_f_times_out() {
    let now = Instant::now();
    let mut tx = ClientTransaction::new(request("OPTIONS"), false, T, now);
    let sent = run_client(&mut tx, now, Duration::from_secs(40));
    assert_eq!(
        sent,
        [
            0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
        ]
    );
    assert!(matches!(tx.poll_event(), Some(ClientEvent::Timeout)));
}

#[test]
fn non_invite_client_proceeding_retransmits_every_t2_then_completes() {
    let now = Instant::now();
    let mut tx = ClientTransaction::new(request("REGISTER"), false, T, now);
    tx.poll_transmit();
    tx.on_response(response(100, "REGISTER"), now + Duration::from_millis(100));
    tx.poll_event();
    let sent = run_client(&mut tx, now, Duration::from_secs(9));
    assert_eq!(sent, [500, 4500, 8500]);
    tx.on_response(response(200, "REGISTER"), now + Duration::from_secs(9));
    assert!(matches!(tx.poll_event(), Some(ClientEvent::Response(r)) if r.status() == Some(200)));
    // Retransmitted 200 and late provisional: absorbed.
    tx.on_response(response(200, "REGISTER"), now + Duration::from_secs(10));
    tx.on_response(response(180, "REGISTER"), now + Duration::from_secs(10));
    assert!(tx.poll_event().is_none());
    // Timer K: T4.
    assert_eq!(tx.poll_timeout(), Some(now + Duration::from_secs(14)));
}

#[test]
fn client_transport_error_reports_once() {
    let now = Instant::now();
    let mut tx = ClientTransaction::new(request("INVITE"), true, T, now);
    tx.on_transport_error();
    assert!(matches!(tx.poll_event(), Some(ClientEvent::TransportError)));
    assert!(tx.is_terminated());
}

/// A failed ACK of a non-2xx (the only thing sent after the final response) leaves the
/// transaction absorbing the retransmitted response, with an ACK again for each.
#[test]
fn a_transport_error_after_the_final_response_changes_nothing() {
    let now = Instant::now();
    let mut tx = ClientTransaction::new(request("INVITE"), false, T, now);
    while tx.poll_transmit().is_some() {}
    tx.on_response(response(486, "INVITE"), now);
    assert!(matches!(tx.poll_event(), Some(ClientEvent::Response(_))));
    assert!(tx.poll_transmit().is_some(), "the ACK");
    tx.on_transport_error();
    assert!(tx.poll_event().is_none());
    assert_eq!(tx.state(), ClientState::Completed);
    tx.on_response(response(486, "INVITE"), now + Duration::from_millis(500));
    assert!(tx.poll_event().is_none(), "the retransmission is absorbed");
    assert!(tx.poll_transmit().is_some(), "and acknowledged again");
}

#[test]
fn invite_server_lost_ack_timer_g_then_h() {
    let now = Instant::now();
    let mut tx = ServerTransaction::new(true, false, T);
    tx.send_response(486, Bytes::from_static(b"486"), now);
    assert!(tx.poll_transmit().is_some());
    let sent = run_server(&mut tx, now, Duration::from_secs(40));
    // Timer G: 0.5, 1, 2, 4, 4, 4... until timer H at 32 s.
    assert_eq!(
        sent,
        [
            500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
        ]
    );
    assert_eq!(tx.poll_event(), Some(ServerEvent::AckTimeout));
    assert!(tx.is_terminated());
}

#[test]
fn invite_server_ack_confirms_and_timer_i_absorbs_acks() {
    let now = Instant::now();
    let mut tx = ServerTransaction::new(true, false, T);
    tx.send_response(100, Bytes::from_static(b"100"), now);
    tx.on_request(false, now);
    // A retransmitted INVITE in Proceeding gets the last provisional again.
    assert_eq!(tx.poll_transmit().as_deref(), Some(&b"100"[..]));
    assert_eq!(tx.poll_transmit().as_deref(), Some(&b"100"[..]));
    tx.send_response(603, Bytes::from_static(b"603"), now);
    tx.poll_transmit();
    tx.on_request(false, now + Duration::from_millis(200));
    assert_eq!(
        tx.poll_transmit().as_deref(),
        Some(&b"603"[..]),
        "retransmitted INVITE gets the 603 again"
    );
    tx.on_request(true, now + Duration::from_millis(300));
    assert_eq!(tx.state(), ServerState::Confirmed);
    tx.on_request(true, now + Duration::from_millis(400));
    assert!(tx.poll_transmit().is_none());
    assert_eq!(
        tx.poll_timeout(),
        Some(now + Duration::from_millis(300) + T.t4)
    );
    tx.handle_timeout(now + Duration::from_millis(300) + T.t4);
    assert!(tx.is_terminated());
    assert!(tx.poll_event().is_none());
}

#[test]
fn invite_server_accepted_passes_2xx_and_absorbs_invites() {
    let now = Instant::now();
    let mut tx = ServerTransaction::new(true, false, T);
    tx.send_response(200, Bytes::from_static(b"200"), now);
    assert!(tx.poll_transmit().is_some());
    tx.on_request(false, now);
    assert!(
        tx.poll_transmit().is_none(),
        "the 2xx is retransmitted end to end, not by us"
    );
    tx.send_response(
        200,
        Bytes::from_static(b"200"),
        now + Duration::from_millis(500),
    );
    assert!(
        tx.poll_transmit().is_some(),
        "a 2xx retransmission from downstream is forwarded"
    );
    tx.handle_timeout(now + T.timeout());
    assert!(tx.is_terminated());
}

#[test]
fn non_invite_server_replays_final_until_timer_j() {
    let now = Instant::now();
    let mut tx = ServerTransaction::new(false, false, T);
    tx.on_request(false, now);
    assert!(tx.poll_transmit().is_none(), "Trying absorbs silently");
    tx.send_response(200, Bytes::from_static(b"200"), now);
    tx.poll_transmit();
    tx.on_request(false, now + Duration::from_secs(10));
    assert_eq!(tx.poll_transmit().as_deref(), Some(&b"200"[..]));
    tx.send_response(500, Bytes::from_static(b"500"), now);
    assert!(tx.poll_transmit().is_none(), "no second final response");
    tx.handle_timeout(now + T.timeout());
    assert!(tx.is_terminated());
}

#[test]
fn reliable_server_transactions_end_at_once() {
    let now = Instant::now();
    let mut tx = ServerTransaction::new(false, true, T);
    tx.send_response(200, Bytes::from_static(b"200"), now);
    assert!(tx.is_terminated());
    let mut inv = ServerTransaction::new(true, true, T);
    inv.send_response(404, Bytes::from_static(b"404"), now);
    assert_eq!(
        inv.poll_timeout(),
        Some(now + T.timeout()),
        "timer H still runs over TCP"
    );
    inv.on_request(true, now);
    assert!(inv.is_terminated(), "timer I is zero over TCP");
}
