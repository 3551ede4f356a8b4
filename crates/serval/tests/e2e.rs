//! The `serval` binary end to end: started as a user would, spoken to over real UDP and
//! TCP sockets on 127.0.0.1, checked on what comes back on the wire.

#[allow(dead_code)]
mod support;

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::{PATIENCE, QUIET, Response, Serval, TcpClient, UdpClient, options, run, temp_file};

const SERVER_HEADER: &str = concat!("Serval/", env!("CARGO_PKG_VERSION"));

/// What every 200 to OPTIONS carries (RFC 3261 §11.2).
fn assert_options_ok(response: &Response, call_id: &str) {
    assert_eq!(response.code, 200, "{}", response.raw);
    assert_eq!(response.reason, "OK");
    let allow = response.header("Allow").expect("Allow header");
    assert!(allow.contains("OPTIONS"), "Allow: {allow}");
    assert!(
        response.header("Supported").is_some(),
        "Supported header in {}",
        response.raw
    );
    assert_eq!(response.header("Server"), Some(SERVER_HEADER));
    assert_eq!(
        response.header("Call-ID"),
        Some(format!("{call_id}@test").as_str())
    );
    assert_eq!(response.header("CSeq"), Some("1 OPTIONS"));
    let to = response.header("To").expect("To header");
    assert!(to.contains(";tag="), "To: {to}");
}

#[test]
fn options_over_udp_gets_200_with_allow_supported_and_server() {
    let server = Serval::start(&[]);
    let client = UdpClient::bind();
    let request = options(&server.udp.to_string(), "UDP", client.addr(), "udp-options");
    let response = client.request(server.udp, &request);
    assert_options_ok(&response, "udp-options");
}

#[test]
fn options_over_tcp_gets_200_on_the_same_connection() {
    let server = Serval::start(&[]);
    let mut client = TcpClient::connect(server.tcp);
    let request = options(&server.tcp.to_string(), "TCP", client.addr(), "tcp-options");
    assert_options_ok(&client.request(&request), "tcp-options");
    // The connection stays open for the next request.
    let again = options(&server.tcp.to_string(), "TCP", client.addr(), "tcp-again");
    assert_options_ok(&client.request(&again), "tcp-again");
}

#[test]
fn options_for_a_configured_domain_is_answered_by_the_server() {
    let server = Serval::start(&["-d", "sip.example.test"]);
    let client = UdpClient::bind();
    let request = options("sip.example.test", "UDP", client.addr(), "alias");
    assert_options_ok(&client.request(server.udp, &request), "alias");

    let foreign = options("elsewhere.example.org", "UDP", client.addr(), "foreign");
    let response = client.request(server.udp, &foreign);
    assert_ne!(
        response.code, 200,
        "a foreign domain is not ours: {}",
        response.raw
    );
}

#[test]
fn malformed_request_gets_400_with_a_reason_that_says_what_is_wrong() {
    let server = Serval::start(&[]);
    let client = UdpClient::bind();
    let request = options(&server.udp.to_string(), "UDP", client.addr(), "bad-cseq")
        .replace("CSeq: 1 OPTIONS", "CSeq: one OPTIONS");
    let response = client.request(server.udp, &request);
    assert_eq!(response.code, 400, "{}", response.raw);
    assert!(
        response.reason.contains("CSeq"),
        "reason: {}",
        response.reason
    );

    let mut tcp = TcpClient::connect(server.tcp);
    let request = options(&server.tcp.to_string(), "TCP", tcp.addr(), "no-call-id")
        .replace("Call-ID: no-call-id@test\r\n", "");
    let response = tcp.request(&request);
    assert_eq!(response.code, 400, "{}", response.raw);
    assert!(
        response.reason.contains("Call-ID"),
        "reason: {}",
        response.reason
    );
}

#[test]
fn malformed_response_is_dropped() {
    let server = Serval::start(&[]);
    let client = UdpClient::bind();
    client.send(
        server.udp,
        b"SIP/2.0 200 OK\r\nVia: nonsense\r\nCSeq: x\r\n\r\n",
    );
    assert!(
        client.receive(QUIET).is_none(),
        "a malformed response was answered"
    );
    let request = options(
        &server.udp.to_string(),
        "UDP",
        client.addr(),
        "after-response",
    );
    assert_options_ok(&client.request(server.udp, &request), "after-response");
}

#[test]
fn garbage_does_not_stop_the_server() {
    let server = Serval::start(&[]);
    let client = UdpClient::bind();
    let mut junk: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\r\n\r\n".to_vec(),
        b"\x00\xff\xfe\x80 INVITE".to_vec(),
        b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP".to_vec(),
        b"INVITE sip:a@b SIP/2.0\r\nContent-Length: 99999999999999999999\r\n\r\n".to_vec(),
        "\u{1F600} SIP/2.0\r\n\r\n".as_bytes().to_vec(),
    ];
    // A deterministic spread of binary noise.
    let mut state: u32 = 0x2545_f491;
    for len in [1, 7, 100, 1400, 9000] {
        let noise = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state.to_le_bytes()[0]
            })
            .collect();
        junk.push(noise);
    }
    for datagram in &junk {
        client.send(server.udp, datagram);
    }
    // Garbage on a TCP connection closes that connection, nothing more.
    let mut stream = TcpStream::connect(server.tcp).expect("connected");
    std::io::Write::write_all(
        &mut stream,
        b"\x16\x03\x01 not sip\r\nContent-Length: x\r\n\r\n",
    )
    .expect("sent");
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let mut rest = Vec::new();
    // Whatever the server answers (a 400 or nothing), it closes the connection.
    let _ = stream.read_to_end(&mut rest);

    let request = options(&server.udp.to_string(), "UDP", client.addr(), "after-junk");
    // Answers to junk that looked like a request may arrive first: skip them.
    client.send(server.udp, request.as_bytes());
    loop {
        let (raw, _) = client.receive(PATIENCE).expect("the server still answers");
        let response = Response::parse(&raw);
        if response.header("Call-ID") == Some("after-junk@test") {
            assert_options_ok(&response, "after-junk");
            break;
        }
    }
    let mut tcp = TcpClient::connect(server.tcp);
    let request = options(&server.tcp.to_string(), "TCP", tcp.addr(), "tcp-after-junk");
    assert_options_ok(&tcp.request(&request), "tcp-after-junk");
}

#[test]
fn tcp_keep_alive_ping_gets_a_pong() {
    let server = Serval::start(&[]);
    let mut stream = TcpStream::connect(server.tcp).expect("connected");
    std::io::Write::write_all(&mut stream, b"\r\n\r\n").expect("sent");
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let mut pong = [0; 2];
    stream.read_exact(&mut pong).expect("pong");
    assert_eq!(&pong, b"\r\n");
}

#[test]
fn sigterm_stops_the_server_cleanly_and_promptly() {
    let server = Serval::start(&[]);
    let tcp = server.tcp;
    let started = Instant::now();
    server.terminate();
    server.wait_for_log("received SIGTERM, shutting down");
    server.wait_for_log("stopped");
    let status = server.wait_for_exit();
    assert!(status.success(), "exit status {status}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        TcpStream::connect(tcp).is_err(),
        "still listening after exit"
    );
}

#[test]
fn check_config_accepts_the_example_config() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../serval.example.toml");
    let output = run(&["--check-config", "-c", example]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("configuration is valid"), "{stdout}");
}

#[test]
fn check_config_reports_file_and_line_of_an_error() {
    let path = temp_file(
        "check-config-bad.toml",
        "[server]\nlisten = [\"udp:0.0.0.0:5060\"]\n\n[limits]\nmax_connections = 0\n",
    );
    let path = path.to_str().expect("utf-8 path");
    let output = run(&["--check-config", "-c", path]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(&format!(
            "{path}:5:19: max_connections must be greater than 0"
        )),
        "{stderr}"
    );
}

#[test]
fn check_config_reports_an_unknown_key() {
    let path = temp_file("check-config-unknown.toml", "[server]\nlisen = []\n");
    let path = path.to_str().expect("utf-8 path");
    let output = run(&["--check-config", "-c", path]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(&format!("{path}:2:1: unknown field `lisen`")),
        "{stderr}"
    );
}

#[test]
fn bad_options_are_refused_before_anything_starts() {
    for (args, reason) in [
        (
            vec!["-l", "udp:localhost:5060"],
            "invalid IP address `localhost`",
        ),
        (
            vec!["--db", "redis://localhost"],
            "unsupported database URL",
        ),
        (vec!["-d", "not a domain"], "invalid domain"),
    ] {
        let output = run(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
}

#[test]
fn unsupported_transport_stops_the_start_with_a_clear_error() {
    let output = run(&["-l", "udp:127.0.0.1:0", "-l", "tls:127.0.0.1:0"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("tls listeners are not supported yet"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("listening on"),
        "started half-configured: {stderr}"
    );
}

#[test]
fn an_address_in_use_stops_the_start() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bound");
    let spec = format!("tcp:{}", taken.local_addr().expect("address"));
    let output = run(&["-l", "udp:127.0.0.1:0", "-l", &spec]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{spec}: cannot listen")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("listening on"),
        "started half-configured: {stderr}"
    );
}

#[test]
fn help_and_version() {
    let help = run(&["--help"]);
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for option in [
        "--config <FILE>",
        "--listen <PROTO:ADDR:PORT>",
        "--domain <NAME>",
        "--db <URL>",
        "--check-config",
        "--verbose",
    ] {
        assert!(
            text.contains(option),
            "{option} missing from --help:\n{text}"
        );
    }
    let version = run(&["--version"]);
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("serval {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_request_to_the_sip_multicast_group_is_answered_from_unicast() {
    // As the seed's SER listened on 224.0.1.75 too; joined on the loopback interface so
    // that nothing leaves the host.
    let port = std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.local_addr())
        .expect("a free port")
        .port();
    let group = format!("udp:224.0.1.75:{port}");
    let config = temp_file(
        "multicast.toml",
        "[server]\nmulticast_interface = \"127.0.0.1\"\n",
    );
    let server = Serval::start(&["-l", &group, "-c", config.to_str().expect("UTF-8 path")]);
    let client = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )
    .expect("socket");
    client
        .set_multicast_if_v4(&std::net::Ipv4Addr::LOCALHOST)
        .expect("multicast interface");
    client
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .expect("addr")
                .into(),
        )
        .expect("bind");
    let client: std::net::UdpSocket = client.into();
    let from = client.local_addr().expect("address");
    let request = options(&server.udp.to_string(), "UDP", from, "multicast");
    let to: std::net::SocketAddr = format!("224.0.1.75:{port}").parse().expect("group");
    client
        .send_to(request.as_bytes(), to)
        .expect("sent to the group");
    client.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let mut data = vec![0; 65_536];
    let (len, answered_from) = client.recv_from(&mut data).expect("an answer");
    let response = Response::parse(&String::from_utf8_lossy(&data[..len]));
    assert_options_ok(&response, "multicast");
    assert_eq!(
        answered_from, server.udp,
        "answered from the unicast socket, not the group: {}",
        response.raw
    );
}

#[test]
fn no_open_relay_strangers_get_403_for_other_domains() {
    let server = Serval::start(&["-d", "example.com"]);
    let client = UdpClient::bind();
    // A stranger (From in no domain of ours, unauthenticated) asking us to carry a
    // MESSAGE and an OPTIONS to another domain, by name and by address.
    for (n, target) in ["bob@elsewhere.test", "bob@192.0.2.77:5060"]
        .iter()
        .enumerate()
    {
        let request = options(target, "UDP", client.addr(), &format!("relay-{n}"))
            .replace("sip:tester@", "sip:mallory@evil.test;x=")
            .replace("OPTIONS sip:", "MESSAGE sip:")
            .replace("1 OPTIONS", "1 MESSAGE");
        let response = client.request(server.udp, &request);
        assert_eq!(response.code, 403, "{}", response.raw);
        assert_eq!(response.reason, "Relaying Denied", "{}", response.raw);
    }
}

#[test]
fn bindings_registered_over_a_tcp_connection_go_when_it_closes() {
    let config = temp_file(
        "flow-closed.toml",
        "[server]\ndomains = [\"example.com\"]\n[auth]\ntrusted = [\"127.0.0.0/8\"]\n",
    );
    let server = Serval::start_logging(
        "info,serval=debug",
        &["-c", config.to_str().expect("UTF-8 path")],
    );
    let mut client = TcpClient::connect(server.tcp);
    let from = client.addr();
    let register = format!(
        "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/TCP {from};branch=z9hG4bK-flow\r\nMax-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=f\r\nTo: <sip:alice@example.com>\r\nCall-ID: flow@test\r\nCSeq: 1 REGISTER\r\nContact: <sip:alice@{from};transport=tcp>\r\nContent-Length: 0\r\n\r\n"
    );
    let ok = client.request(&register);
    assert_eq!(ok.code, 200, "{}", ok.raw);
    drop(client);
    server.wait_for_log(&format!("tcp:{from} closed: 1 bindings removed"));
}
