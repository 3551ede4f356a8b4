//! The transport layer on real sockets on 127.0.0.1: what a peer sends and what it gets
//! back on the wire.
//!
//! One test binary; the helpers are here, and each module covers one feature.

mod alias;
#[cfg(target_os = "linux")]
mod multicast;
mod outbound;

use bytes::Bytes;
use sip_msg::Transport;
use sip_transport::{
    BindError, Handler, Inbound, ListenSpec, Route, SendFailure, Sender, TransportConfig,
    Transports,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::time::timeout;

/// How long a test waits for something that should happen.
const PATIENCE: Duration = Duration::from_secs(5);
/// How long a test waits to be sure that something does not happen.
const QUIET: Duration = Duration::from_millis(300);

fn options(call_id: &str, body: &str) -> String {
    format!(
        "OPTIONS sip:127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK{call_id}\r\n\
         From: <sip:a@127.0.0.1>;tag=1\r\n\
         To: <sip:127.0.0.1>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Max-Forwards: 70\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Sends every message back where it came from, and reports it and every send failure
/// to the test.
struct Echo {
    seen: mpsc::UnboundedSender<Inbound>,
    failed: mpsc::UnboundedSender<SendFailure>,
}

impl Echo {
    fn new() -> (
        Arc<Echo>,
        mpsc::UnboundedReceiver<Inbound>,
        mpsc::UnboundedReceiver<SendFailure>,
    ) {
        let (seen, seen_rx) = mpsc::unbounded_channel();
        let (failed, failed_rx) = mpsc::unbounded_channel();
        (Arc::new(Echo { seen, failed }), seen_rx, failed_rx)
    }
}

impl Handler for Echo {
    fn handle(&self, inbound: Inbound, sender: &Sender) {
        // A test that stopped listening no longer cares.
        let _ = self.seen.send(inbound.clone());
        sender
            .try_send(&inbound.reply_route(), inbound.data)
            .expect("reply sent");
    }

    fn send_failed(&self, failure: SendFailure, _sender: &Sender) {
        let _ = self.failed.send(failure);
    }
}

struct Server {
    udp: Option<SocketAddr>,
    tcp: Option<SocketAddr>,
    sender: Sender,
    seen: mpsc::UnboundedReceiver<Inbound>,
    failed: mpsc::UnboundedReceiver<SendFailure>,
}

impl Server {
    async fn next_message(&mut self) -> Inbound {
        timeout(PATIENCE, self.seen.recv())
            .await
            .expect("a message within the patience")
            .expect("server running")
    }

    async fn next_failure(&mut self) -> SendFailure {
        timeout(PATIENCE, self.failed.recv())
            .await
            .expect("a send failure within the patience")
            .expect("server running")
    }

    async fn assert_no_message(&mut self) {
        assert!(
            timeout(QUIET, self.seen.recv()).await.is_err(),
            "unexpected message"
        );
    }
}

fn start(specs: &[&str], config: TransportConfig) -> Server {
    let specs: Vec<ListenSpec> = specs.iter().map(|s| s.parse().expect("spec")).collect();
    let transports = Transports::bind(&specs, config).expect("bound");
    let mut udp = None;
    let mut tcp = None;
    for spec in transports.local_specs() {
        assert_ne!(spec.addr.port(), 0);
        match spec.transport {
            Transport::Udp => udp = Some(spec.addr),
            _ => tcp = Some(spec.addr),
        }
    }
    let (echo, seen, failed) = Echo::new();
    let sender = transports.sender();
    tokio::spawn(transports.run(echo, std::future::pending()));
    Server {
        udp,
        tcp,
        sender,
        seen,
        failed,
    }
}

fn default_server() -> Server {
    start(
        &["udp:127.0.0.1:0", "tcp:127.0.0.1:0"],
        TransportConfig::default(),
    )
}

async fn read_exactly(stream: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut data = vec![0; len];
    timeout(PATIENCE, stream.read_exact(&mut data))
        .await
        .expect("data within the patience")
        .expect("read");
    data
}

/// Asserts that the server closes the connection (EOF or reset) without sending more.
async fn assert_closed(stream: &mut TcpStream) {
    let mut rest = Vec::new();
    match timeout(PATIENCE, stream.read_to_end(&mut rest)).await {
        Ok(Ok(_)) => assert!(
            rest.is_empty(),
            "sent {:?} before closing",
            String::from_utf8_lossy(&rest)
        ),
        Ok(Err(err)) => assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}"),
        Err(_) => panic!("connection still open"),
    }
}

#[tokio::test]
async fn udp_datagram_is_delivered_and_answered_from_the_same_socket() {
    let mut server = default_server();
    let server_addr = server.udp.expect("udp");
    let client = UdpSocket::bind("127.0.0.1:0").await.expect("client");
    let message = options("udp1", "");
    client
        .send_to(message.as_bytes(), server_addr)
        .await
        .expect("sent");

    let mut reply = vec![0; 65_536];
    let (len, from) = timeout(PATIENCE, client.recv_from(&mut reply))
        .await
        .expect("reply within the patience")
        .expect("received");
    assert_eq!(&reply[..len], message.as_bytes());
    assert_eq!(from, server_addr);

    let inbound = server.next_message().await;
    assert_eq!(inbound.transport, Transport::Udp);
    assert_eq!(inbound.source, client.local_addr().expect("addr"));
    assert_eq!(inbound.local, server_addr);
    assert_eq!(inbound.conn, None);
}

#[tokio::test]
async fn udp_keep_alives_are_not_delivered() {
    let mut server = default_server();
    let client = UdpSocket::bind("127.0.0.1:0").await.expect("client");
    client
        .send_to(b"\r\n\r\n", server.udp.expect("udp"))
        .await
        .expect("sent");
    server.assert_no_message().await;
}

#[tokio::test]
async fn udp_peer_route_reaches_an_address_that_never_wrote() {
    let server = default_server();
    let peer = UdpSocket::bind("127.0.0.1:0").await.expect("peer");
    let route = Route::Peer {
        transport: Transport::Udp,
        remote: peer.local_addr().expect("addr"),
    };
    server
        .sender
        .try_send(&route, Bytes::from_static(b"hello"))
        .expect("sent");
    let mut data = [0; 16];
    let (len, from) = timeout(PATIENCE, peer.recv_from(&mut data))
        .await
        .expect("datagram within the patience")
        .expect("received");
    assert_eq!(&data[..len], b"hello");
    assert_eq!(from, server.udp.expect("udp"));
}

#[tokio::test]
async fn tcp_two_messages_in_one_write_are_framed_apart() {
    let mut server = default_server();
    let mut client = TcpStream::connect(server.tcp.expect("tcp"))
        .await
        .expect("connect");
    let first = options("tcp1", "");
    let second = options("tcp2", "v=0\r\n");
    client
        .write_all(format!("{first}{second}").as_bytes())
        .await
        .expect("sent");

    let one = server.next_message().await;
    let two = server.next_message().await;
    assert_eq!(one.data, first.as_bytes());
    assert_eq!(two.data, second.as_bytes());
    assert_eq!(one.transport, Transport::Tcp);
    assert_eq!(one.source, client.local_addr().expect("addr"));
    assert!(one.conn.is_some());
    assert_eq!(one.conn, two.conn);

    let echoed = read_exactly(&mut client, first.len() + second.len()).await;
    assert_eq!(echoed, format!("{first}{second}").as_bytes());
}

#[tokio::test]
async fn tcp_many_pipelined_messages_are_all_answered_in_order() {
    // A queue of one: replies must be written as each message is handled, not pile up.
    let config = TransportConfig {
        connection_queue: 1,
        ..TransportConfig::default()
    };
    let server = start(&["tcp:127.0.0.1:0"], config);
    let mut client = TcpStream::connect(server.tcp.expect("tcp"))
        .await
        .expect("connect");
    let messages: String = (0..300).map(|i| options(&format!("pipe{i}"), "")).collect();
    let (mut reader, mut writer) = client.split();
    let (written, echoed) = tokio::join!(writer.write_all(messages.as_bytes()), async {
        let mut data = vec![0; messages.len()];
        timeout(PATIENCE, reader.read_exact(&mut data))
            .await
            .expect("all answers within the patience")
            .map(|_| data)
    });
    written.expect("sent");
    assert!(
        echoed.expect("read") == messages.as_bytes(),
        "answers out of order"
    );
}

#[tokio::test]
async fn tcp_message_split_over_writes_is_delivered_once_complete() {
    let mut server = default_server();
    let mut client = TcpStream::connect(server.tcp.expect("tcp"))
        .await
        .expect("connect");
    client.set_nodelay(true).expect("nodelay");
    let message = options("split", "hello body");
    let bytes = message.as_bytes();
    let (head, rest) = bytes.split_at(40);
    let (middle, tail) = rest.split_at(rest.len() - 4);

    client.write_all(head).await.expect("sent");
    server.assert_no_message().await;
    client.write_all(middle).await.expect("sent");
    server.assert_no_message().await;
    client.write_all(tail).await.expect("sent");

    assert_eq!(server.next_message().await.data, bytes);
    assert_eq!(read_exactly(&mut client, bytes.len()).await, bytes);
}

#[tokio::test]
async fn tcp_double_crlf_ping_gets_a_single_crlf_pong() {
    let mut server = default_server();
    let mut client = TcpStream::connect(server.tcp.expect("tcp"))
        .await
        .expect("connect");
    client.write_all(b"\r\n\r\n").await.expect("sent");
    assert_eq!(read_exactly(&mut client, 2).await, b"\r\n");
    server.assert_no_message().await;

    // The connection still carries messages after a ping.
    let message = options("after-ping", "");
    client.write_all(message.as_bytes()).await.expect("sent");
    assert_eq!(
        read_exactly(&mut client, message.len()).await,
        message.as_bytes()
    );
}

#[tokio::test]
async fn tcp_connection_over_the_limit_is_closed() {
    let config = TransportConfig {
        max_connections: 1,
        ..TransportConfig::default()
    };
    let server = start(&["tcp:127.0.0.1:0"], config);
    let addr = server.tcp.expect("tcp");
    let mut first = TcpStream::connect(addr).await.expect("connect");
    let message = options("first", "");
    first.write_all(message.as_bytes()).await.expect("sent");
    assert_eq!(
        read_exactly(&mut first, message.len()).await,
        message.as_bytes()
    );

    let mut second = TcpStream::connect(addr).await.expect("connect");
    assert_closed(&mut second).await;

    // Closing the first connection frees its slot.
    drop(first);
    let mut third = loop {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let message = options("third", "");
        stream.write_all(message.as_bytes()).await.expect("sent");
        let mut data = vec![0; message.len()];
        match timeout(PATIENCE, stream.read_exact(&mut data)).await {
            Ok(Ok(_)) => break stream,
            // The server had not yet seen the first connection close: try again.
            Ok(Err(_)) => continue,
            Err(_) => panic!("no answer on a connection within the limit"),
        }
    };
    third.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn tcp_malformed_framing_closes_the_connection() {
    let mut server = default_server();
    let mut client = TcpStream::connect(server.tcp.expect("tcp"))
        .await
        .expect("connect");
    let bad = options("bad", "").replace("Content-Length: 0", "Content-Length: many");
    client.write_all(bad.as_bytes()).await.expect("sent");
    assert_closed(&mut client).await;
    server.assert_no_message().await;
}

#[tokio::test]
async fn tcp_header_section_over_the_limit_closes_the_connection() {
    let config = TransportConfig {
        limits: sip_msg::Limits {
            max_message: 2048,
            max_header_section: 1024,
            ..sip_msg::Limits::default()
        },
        ..TransportConfig::default()
    };
    let server = start(&["tcp:127.0.0.1:0"], config);
    let mut client = TcpStream::connect(server.tcp.expect("tcp"))
        .await
        .expect("connect");
    let endless = format!(
        "OPTIONS sip:127.0.0.1 SIP/2.0\r\nX-Fill: {}\r\n",
        "a".repeat(4096)
    );
    // The server may close before it has read everything: a failed write is fine.
    let _ = client.write_all(endless.as_bytes()).await;
    assert_closed(&mut client).await;
}

#[tokio::test]
async fn tcp_idle_connection_is_closed() {
    let config = TransportConfig {
        tcp_idle_timeout: Duration::from_millis(100),
        ..TransportConfig::default()
    };
    let server = start(&["tcp:127.0.0.1:0"], config);
    let mut client = TcpStream::connect(server.tcp.expect("tcp"))
        .await
        .expect("connect");
    assert_closed(&mut client).await;
}

#[tokio::test]
async fn tcp_peer_route_reuses_the_open_connection() {
    let mut server = default_server();
    let mut client = TcpStream::connect(server.tcp.expect("tcp"))
        .await
        .expect("connect");
    let message = options("reuse", "");
    client.write_all(message.as_bytes()).await.expect("sent");
    read_exactly(&mut client, message.len()).await;
    server.next_message().await;

    let route = Route::Peer {
        transport: Transport::Tcp,
        remote: client.local_addr().expect("addr"),
    };
    server
        .sender
        .try_send(&route, Bytes::from_static(b"pushed"))
        .expect("sent on the open connection");
    assert_eq!(read_exactly(&mut client, 6).await, b"pushed");
}

#[tokio::test]
async fn shutdown_closes_listeners_and_connections() {
    let specs: Vec<ListenSpec> = vec!["tcp:127.0.0.1:0".parse().expect("spec")];
    let transports = Transports::bind(&specs, TransportConfig::default()).expect("bound");
    let addr = transports.local_specs()[0].addr;
    let (echo, _seen, _failed) = Echo::new();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(transports.run(echo, async {
        let _ = stopped.await;
    }));
    let mut client = TcpStream::connect(addr).await.expect("connect");
    stop.send(()).expect("running");
    timeout(PATIENCE, running)
        .await
        .expect("stopped within the patience")
        .expect("no panic");
    assert_closed(&mut client).await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "listener still open"
    );
}

#[tokio::test]
async fn tls_and_websocket_listeners_are_refused_with_a_clear_error() {
    for (spec, expected) in [
        ("tls:127.0.0.1:0", "tls listeners are not supported yet"),
        ("ws:127.0.0.1:0", "ws listeners are not supported yet"),
        ("wss:127.0.0.1:0", "wss listeners are not supported yet"),
    ] {
        let specs: Vec<ListenSpec> = vec![
            "udp:127.0.0.1:0".parse().expect("spec"),
            spec.parse().expect("spec"),
        ];
        let err = match Transports::bind(&specs, TransportConfig::default()) {
            Ok(_) => panic!("{spec} bound"),
            Err(err) => err,
        };
        assert!(matches!(err, BindError::Unsupported { .. }));
        assert!(err.to_string().contains(expected), "{err}");
    }
}

#[tokio::test]
async fn an_address_in_use_is_reported_with_the_listen_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let spec: ListenSpec = format!("tcp:{}", taken.local_addr().expect("addr"))
        .parse()
        .expect("spec");
    let err = match Transports::bind(&[spec], TransportConfig::default()) {
        Ok(_) => panic!("bound a port in use"),
        Err(err) => err.to_string(),
    };
    assert!(err.starts_with(&format!("{spec}: cannot listen:")), "{err}");
}
