use super::*;
use bytes::Bytes;
use sip_msg::Transport;

const NOW: i64 = 1_800_000_000;

fn reach() -> Reach {
    Reach {
        transport: Transport::Udp,
        remote: "203.0.113.5:40000".parse().expect("addr"),
        local: Some("192.0.2.1:5060".parse().expect("addr")),
        nat: false,
    }
}

fn register(call_id: &str, cseq: u32, extra: &str) -> Message {
    Message::parse(Bytes::from(format!(
        "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK{cseq}\r\nMax-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=1\r\nTo: <sip:alice@example.com>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\nUser-Agent: test UA\r\n{extra}Content-Length: 0\r\n\r\n"
    )))
    .expect("REGISTER parses")
}

fn aor() -> Aor {
    Aor::from_text("alice@EXAMPLE.com")
}

fn run(req: &Message, current: &[Binding]) -> Result<Plan, Reply> {
    plan(
        req,
        &aor(),
        current,
        reach(),
        NOW,
        &RegistrarConfig::default(),
    )
}

fn contacts(p: &Plan) -> Vec<(&str, u32)> {
    p.bindings
        .iter()
        .map(|b| (&*b.contact, b.remaining(NOW)))
        .collect()
}

#[test]
fn aor_domain_is_lower_case_user_is_not() {
    assert_eq!(aor().as_str(), "alice@example.com");
    assert_eq!(Aor::from_text("Alice@Example.COM").user(), "Alice");
}

#[test]
fn expiry_from_contact_param_then_header_then_default() {
    let req = register(
        "c1",
        1,
        "Contact: <sip:alice@10.0.0.1:5060>;expires=900, <sip:alice@10.0.0.1:5070>\r\nExpires: 1200\r\n",
    );
    let p = run(&req, &[]).expect("accepted");
    assert_eq!(
        contacts(&p),
        [
            ("sip:alice@10.0.0.1:5060", 900),
            ("sip:alice@10.0.0.1:5070", 1200)
        ]
    );
    assert_eq!(p.changes.len(), 2);
    let b = &p.bindings[0];
    assert_eq!(b.reach, Some(reach()));
    assert_eq!(b.user_agent.as_deref(), Some("test UA"));
    assert_eq!((&*b.call_id, b.cseq), ("c1", 1));
    let req = register("c1", 1, "Contact: <sip:alice@10.0.0.1:5060>\r\n");
    assert_eq!(run(&req, &[]).expect("ok").bindings[0].remaining(NOW), 3600);
}

#[test]
fn too_brief_is_423_with_min_expires_and_long_is_clamped() {
    let req = register("c1", 1, "Contact: <sip:alice@10.0.0.1>;expires=10\r\n");
    let r = run(&req, &[]).expect_err("too brief");
    assert_eq!((r.code, r.header_value("Min-Expires")), (423, Some("60")));
    let req = register("c1", 1, "Contact: <sip:alice@10.0.0.1>;expires=999999\r\n");
    assert_eq!(
        run(&req, &[]).expect("ok").bindings[0].remaining(NOW),
        86_400
    );
}

#[test]
fn refresh_replaces_and_older_cseq_of_same_call_is_refused() {
    let first = run(
        &register("c1", 5, "Contact: <sip:alice@10.0.0.1>;expires=100\r\n"),
        &[],
    )
    .expect("ok");
    let refresh = run(
        &register("c1", 6, "Contact: <sip:alice@10.0.0.1>;expires=300\r\n"),
        &first.bindings,
    )
    .expect("ok");
    assert_eq!(contacts(&refresh), [("sip:alice@10.0.0.1", 300)]);
    let stale = run(
        &register("c1", 5, "Contact: <sip:alice@10.0.0.1>;expires=300\r\n"),
        &refresh.bindings,
    )
    .expect_err("same Call-ID, lower CSeq");
    assert_eq!(stale.code, 400);
    let again = run(
        &register("c1", 6, "Contact: <sip:alice@10.0.0.1>;expires=300\r\n"),
        &refresh.bindings,
    )
    .expect("the same request again is not out of order");
    assert_eq!(contacts(&again), [("sip:alice@10.0.0.1", 300)]);
    // Another Call-ID (the UA rebooted) may use any CSeq.
    let other = run(
        &register("c2", 1, "Contact: <SIP:alice@10.0.0.1>;expires=200\r\n"),
        &refresh.bindings,
    )
    .expect("ok");
    assert_eq!(other.bindings.len(), 1, "same URI by RFC 3261 comparison");
    assert_eq!(other.bindings[0].remaining(NOW), 200);
}

#[test]
fn expires_zero_removes_one_and_star_removes_all() {
    let two = run(
        &register(
            "c1",
            1,
            "Contact: <sip:alice@10.0.0.1>, <sip:alice@10.0.0.2>\r\n",
        ),
        &[],
    )
    .expect("ok");
    let one = run(
        &register("c1", 2, "Contact: <sip:alice@10.0.0.1>;expires=0\r\n"),
        &two.bindings,
    )
    .expect("ok");
    assert_eq!(contacts(&one), [("sip:alice@10.0.0.2", 3600)]);
    assert_eq!(
        one.changes,
        [Change::Delete(aor(), "sip:alice@10.0.0.1".into())]
    );
    let bad = run(&register("c1", 3, "Contact: *\r\n"), &one.bindings).expect_err("no Expires: 0");
    assert_eq!(bad.code, 400);
    let none = run(
        &register("c1", 3, "Contact: *\r\nExpires: 0\r\n"),
        &two.bindings,
    )
    .expect("ok");
    assert!(none.bindings.is_empty());
    assert_eq!(none.changes.len(), 2);
}

#[test]
fn a_query_changes_nothing_and_skips_expired() {
    let mut b = run(&register("c1", 1, "Contact: <sip:alice@10.0.0.1>\r\n"), &[])
        .expect("ok")
        .bindings;
    b[0].expires = NOW - 1;
    let q = run(&register("c1", 2, ""), &b).expect("ok");
    assert!(q.bindings.is_empty() && q.changes.is_empty());
}

#[test]
fn same_instance_and_reg_id_replace_the_old_contact() {
    let inst = "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\";reg-id=1";
    let first = run(
        &register(
            "c1",
            1,
            &format!("Contact: <sip:alice@10.0.0.1:5060>;{inst}\r\n"),
        ),
        &[],
    )
    .expect("ok");
    let moved = run(
        &register(
            "c9",
            1,
            &format!("Contact: <sip:alice@10.0.0.7:6000>;{inst}\r\n"),
        ),
        &first.bindings,
    )
    .expect("ok");
    assert_eq!(contacts(&moved), [("sip:alice@10.0.0.7:6000", 3600)]);
    assert!(
        moved
            .changes
            .contains(&Change::Delete(aor(), "sip:alice@10.0.0.1:5060".into()))
    );
    let values = contact_values(&moved.bindings, NOW);
    assert_eq!(
        values,
        [
            "<sip:alice@10.0.0.7:6000>;expires=3600;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\";reg-id=1"
        ]
    );
}

#[test]
fn path_and_q_are_kept() {
    let p = run(
        &register(
            "c1",
            1,
            "Contact: <sip:alice@10.0.0.1>;q=0.5\r\nPath: <sip:edge1.example.net;lr>, <sip:edge2.example.net;lr>\r\n",
        ),
        &[],
    )
    .expect("ok");
    assert_eq!(
        p.bindings[0].path,
        ["<sip:edge1.example.net;lr>", "<sip:edge2.example.net;lr>"]
    );
    assert_eq!(p.bindings[0].q, 500);
    assert_eq!(
        contact_values(&p.bindings, NOW),
        ["<sip:alice@10.0.0.1>;expires=3600;q=0.5"]
    );
}

#[test]
fn too_many_contacts_refused() {
    let cfg = RegistrarConfig {
        max_contacts: 1,
        ..RegistrarConfig::default()
    };
    let req = register(
        "c1",
        1,
        "Contact: <sip:alice@10.0.0.1>, <sip:alice@10.0.0.2>\r\n",
    );
    let r = plan(&req, &aor(), &[], reach(), NOW, &cfg).expect_err("two for one slot");
    assert_eq!(r.code, 403);
}

#[test]
fn malformed_contact_is_400() {
    let r = run(&register("c1", 1, "Contact: <sip:alice@10.0.0.1\r\n"), &[]).expect_err("bad");
    assert_eq!(r.code, 400);
}
