//! RFC 5923 aliases: a connection a user agent opened stands for its Via address.

use super::{QUIET, default_server, options, read_exactly};
use bytes::Bytes;
use sip_msg::Transport;
use sip_transport::{ConnId, Route};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

fn tcp_to(remote: SocketAddr) -> Route {
    Route::Peer {
        transport: Transport::Tcp,
        remote,
    }
}

/// Connects to the server and sends one request, as a user agent would before asking
/// for an alias; returns the stream and the connection's id on the server.
async fn connect(server: &mut super::Server, call_id: &str) -> (TcpStream, ConnId) {
    let mut stream = TcpStream::connect(server.tcp.expect("tcp"))
        .await
        .expect("connect");
    let request = options(call_id, "");
    stream.write_all(request.as_bytes()).await.expect("sent");
    read_exactly(&mut stream, request.len()).await;
    let conn = server.next_message().await.conn.expect("a connection");
    (stream, conn)
}

#[tokio::test]
async fn a_request_to_an_aliased_address_reuses_the_connection() {
    let mut server = default_server();
    let (mut stream, conn) = connect(&mut server, "alias").await;
    // The user agent's own listening address (its Via sent-by): a listener that must
    // see no connection.
    let via = TcpListener::bind("127.0.0.1:0").await.expect("listener");
    let via_addr = via.local_addr().expect("addr");
    server
        .sender
        .alias(conn, Transport::Tcp, via_addr)
        .expect("aliased");

    let request = options("to-alias", "");
    server
        .sender
        .try_send(&tcp_to(via_addr), Bytes::from(request.clone()))
        .expect("queued");
    assert_eq!(
        read_exactly(&mut stream, request.len()).await,
        request.as_bytes()
    );
    assert!(
        timeout(QUIET, via.accept()).await.is_err(),
        "a new connection was opened to the aliased address"
    );
}

#[tokio::test]
async fn an_alias_does_not_take_over_a_connection_from_that_address() {
    let mut server = default_server();
    let (mut first, _) = connect(&mut server, "first").await;
    let (mut second, second_conn) = connect(&mut server, "second").await;
    let first_addr = first.local_addr().expect("addr");
    server
        .sender
        .alias(second_conn, Transport::Tcp, first_addr)
        .expect("reachable");
    server
        .sender
        .try_send(&tcp_to(first_addr), Bytes::from_static(b"mine"))
        .expect("queued");
    assert_eq!(read_exactly(&mut first, 4).await, b"mine");
    let mut nothing = [0; 1];
    assert!(
        timeout(QUIET, second.read(&mut nothing)).await.is_err(),
        "the aliasing connection got the message"
    );
}
