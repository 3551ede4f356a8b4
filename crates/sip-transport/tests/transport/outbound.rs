//! TCP connections the server opens to a peer when it sends to one it has no connection
//! to; a plain tokio listener stands in for the peer.

use super::{Echo, PATIENCE, QUIET, default_server, options, read_exactly, start};
use bytes::Bytes;
use sip_msg::Transport;
use sip_transport::{ListenSpec, Route, SendError, TransportConfig, Transports};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

fn tcp_to(remote: SocketAddr) -> Route {
    Route::Peer {
        transport: Transport::Tcp,
        remote,
    }
}

async fn peer() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("peer");
    let addr = listener.local_addr().expect("addr");
    (listener, addr)
}

async fn accept(listener: &TcpListener) -> TcpStream {
    let (stream, _) = timeout(PATIENCE, listener.accept())
        .await
        .expect("a connection within the patience")
        .expect("accepted");
    stream
}

/// An address on this host where nothing listens: a port just bound, then let go.
fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

/// A listener on 127.0.0.1 that never answers a connection attempt: its accept queue
/// is full (backlog 0, filled by connections never accepted), so the system drops the
/// SYNs of new ones and `connect` waits. The filling connections must be kept open.
async fn unanswering_peer() -> (socket2::Socket, Vec<TcpStream>, SocketAddr) {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .expect("bind");
    socket.listen(0).expect("listen");
    let addr = socket
        .local_addr()
        .expect("addr")
        .as_socket()
        .expect("inet");
    let mut filling = Vec::new();
    for _ in 0..8 {
        match timeout(Duration::from_millis(200), TcpStream::connect(addr)).await {
            Ok(stream) => filling.push(stream.expect("connect")),
            // The queue is full: this attempt got no answer.
            Err(_) => return (socket, filling, addr),
        }
    }
    panic!("the accept queue of a backlog-0 listener never filled");
}

#[tokio::test]
async fn messages_to_a_new_peer_share_one_connection_in_order() {
    let mut server = default_server();
    let (listener, peer_addr) = peer().await;
    let messages: Vec<String> = (0..3).map(|i| options(&format!("out{i}"), "")).collect();
    for message in &messages {
        server
            .sender
            .try_send(&tcp_to(peer_addr), Bytes::from(message.clone()))
            .expect("queued");
    }
    let mut stream = accept(&listener).await;
    let all = messages.concat();
    assert_eq!(read_exactly(&mut stream, all.len()).await, all.as_bytes());

    // A later message reuses the connection.
    let later = options("out-later", "");
    server
        .sender
        .try_send(&tcp_to(peer_addr), Bytes::from(later.clone()))
        .expect("queued");
    assert_eq!(
        read_exactly(&mut stream, later.len()).await,
        later.as_bytes()
    );
    assert!(
        timeout(QUIET, listener.accept()).await.is_err(),
        "a second connection was opened"
    );

    // What the peer sends back on it reaches the handler as from the peer.
    let reply = options("reply", "");
    stream.write_all(reply.as_bytes()).await.expect("sent");
    let inbound = server.next_message().await;
    assert_eq!(inbound.data, reply.as_bytes());
    assert_eq!(inbound.transport, Transport::Tcp);
    assert_eq!(inbound.source, peer_addr);
    assert_eq!(inbound.local, stream.peer_addr().expect("addr"));
    assert!(inbound.conn.is_some());
    // The echo went back on the same connection.
    assert_eq!(
        read_exactly(&mut stream, reply.len()).await,
        reply.as_bytes()
    );
}

#[tokio::test]
async fn messages_to_a_closed_port_are_reported_unsent_at_once() {
    // A connect timeout far above the patience: only the refusal can end the wait.
    let config = TransportConfig {
        tcp_connect_timeout: Duration::from_secs(60),
        ..TransportConfig::default()
    };
    let mut server = start(&["tcp:127.0.0.1:0"], config);
    let closed = closed_port();
    let first = Bytes::from(options("refused1", ""));
    let second = Bytes::from(options("refused2", ""));
    server
        .sender
        .try_send(&tcp_to(closed), first.clone())
        .expect("queued");
    // The second carries its sender's token, which comes back with it.
    let token: sip_transport::SendToken = std::sync::Arc::new(42_u32);
    server
        .sender
        .try_send_tracked(&tcp_to(closed), second.clone(), token)
        .expect("queued");
    for (expected, token) in [(&first, None), (&second, Some(42_u32))] {
        let failure = server.next_failure().await;
        assert_eq!(&failure.data, expected);
        let back = failure.token.as_ref().and_then(|t| t.downcast_ref::<u32>());
        assert_eq!(back, token.as_ref(), "the token it was sent with");
        assert_eq!(failure.remote, closed);
        assert_eq!(failure.transport, Transport::Tcp);
        assert!(
            failure.reason.to_lowercase().contains("refused"),
            "{}",
            failure.reason
        );
    }

    // The failed connection left the table: the next message tries again.
    server
        .sender
        .try_send(&tcp_to(closed), first.clone())
        .expect("queued");
    assert_eq!(server.next_failure().await.data, first);
}

#[tokio::test]
async fn a_connect_that_gets_no_answer_times_out() {
    let limit = Duration::from_millis(200);
    let config = TransportConfig {
        tcp_connect_timeout: limit,
        ..TransportConfig::default()
    };
    let mut server = start(&["tcp:127.0.0.1:0"], config);
    let (_listener, _filling, silent) = unanswering_peer().await;
    let data = Bytes::from(options("timeout", ""));
    let started = Instant::now();
    server
        .sender
        .try_send(&tcp_to(silent), data.clone())
        .expect("queued");
    let failure = server.next_failure().await;
    assert!(started.elapsed() >= limit, "failed before the timeout");
    assert_eq!(failure.data, data);
    assert_eq!(failure.remote, silent);
    assert!(
        failure.reason.contains("no connection within 200 ms"),
        "{}",
        failure.reason
    );
}

#[tokio::test]
async fn opening_a_connection_over_the_limit_fails_at_once() {
    let config = TransportConfig {
        max_connections: 1,
        ..TransportConfig::default()
    };
    let server = start(&["tcp:127.0.0.1:0"], config);
    let (first, first_addr) = peer().await;
    let (_second, second_addr) = peer().await;
    server
        .sender
        .try_send(&tcp_to(first_addr), Bytes::from_static(b"one"))
        .expect("queued");
    let err = server
        .sender
        .try_send(&tcp_to(second_addr), Bytes::from_static(b"two"))
        .expect_err("over the limit");
    assert!(matches!(err, SendError::ConnectionLimit(1)), "{err}");
    assert!(err.to_string().contains("max_connections"), "{err}");
    // The connection within the limit is unaffected.
    let mut stream = accept(&first).await;
    assert_eq!(read_exactly(&mut stream, 3).await, b"one");
}

#[tokio::test]
async fn no_connection_is_opened_before_run_or_after_shutdown() {
    let specs: Vec<ListenSpec> = vec!["tcp:127.0.0.1:0".parse().expect("spec")];
    let transports = Transports::bind(&specs, TransportConfig::default()).expect("bound");
    let sender = transports.sender();
    let (_listener, peer_addr) = peer().await;
    let before = sender.try_send(&tcp_to(peer_addr), Bytes::from_static(b"early"));
    assert!(matches!(before, Err(SendError::NotRunning)), "{before:?}");

    let (echo, _seen, _failed) = Echo::new();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(transports.run(echo, async {
        let _ = stopped.await;
    }));
    stop.send(()).expect("running");
    timeout(PATIENCE, running)
        .await
        .expect("stopped within the patience")
        .expect("no panic");
    let after = sender.try_send(&tcp_to(peer_addr), Bytes::from_static(b"late"));
    assert!(matches!(after, Err(SendError::NotRunning)), "{after:?}");
}

#[tokio::test]
async fn messages_still_waiting_for_a_connection_at_shutdown_are_reported() {
    let config = TransportConfig {
        tcp_connect_timeout: Duration::from_secs(60),
        ..TransportConfig::default()
    };
    let specs: Vec<ListenSpec> = vec!["tcp:127.0.0.1:0".parse().expect("spec")];
    let transports = Transports::bind(&specs, config).expect("bound");
    let sender = transports.sender();
    let (echo, _seen, mut failed) = Echo::new();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(transports.run(echo, async {
        let _ = stopped.await;
    }));
    let (_listener, _filling, silent) = unanswering_peer().await;
    let data = Bytes::from(options("stranded", ""));
    sender
        .try_send(&tcp_to(silent), data.clone())
        .expect("queued");
    stop.send(()).expect("running");
    let failure = timeout(PATIENCE, failed.recv())
        .await
        .expect("a failure within the patience")
        .expect("reported");
    assert_eq!(failure.data, data);
    assert_eq!(failure.reason, "transport shutting down");
    timeout(PATIENCE, running)
        .await
        .expect("stopped within the patience")
        .expect("no panic");
}

#[tokio::test]
async fn messages_queued_on_a_connection_that_dies_are_reported() {
    // The peer never reads: the server's writes stall, and after the idle timeout the
    // connection is closed with messages still queued.
    let config = TransportConfig {
        tcp_idle_timeout: Duration::from_millis(200),
        connection_queue: 4,
        ..TransportConfig::default()
    };
    let mut server = start(&["tcp:127.0.0.1:0"], config);
    let mut client = TcpStream::connect(server.tcp.expect("tcp"))
        .await
        .expect("connect");
    let hello = options("stall", "");
    client.write_all(hello.as_bytes()).await.expect("sent");
    let conn = server.next_message().await.conn.expect("a connection");

    let chunk = Bytes::from(vec![b'x'; 256 * 1024]);
    let mut queued = 0;
    loop {
        match server
            .sender
            .try_send(&Route::Connection(conn), chunk.clone())
        {
            Ok(()) => queued += 1,
            Err(SendError::Congested(_)) => break,
            Err(err) => panic!("{err}"),
        }
        assert!(queued < 1000, "the queue never filled");
        // Lets the connection take messages off the queue until its write stalls.
        tokio::task::yield_now().await;
    }
    let failure = server.next_failure().await;
    assert_eq!(failure.conn, conn);
    assert_eq!(failure.remote, client.local_addr().expect("addr"));
    assert_eq!(failure.data, chunk);
    assert!(
        failure.reason.contains("took no data"),
        "{}",
        failure.reason
    );
}
