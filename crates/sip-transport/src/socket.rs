//! Creating listening sockets with the options a SIP server needs (socket2), before
//! handing them to tokio.

use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::SocketAddr;

/// Backlog of pending TCP connections.
const TCP_BACKLOG: i32 = 1024;

/// A UDP socket bound to `addr`, non-blocking, with the receive and send buffers asked
/// for (a warning is logged when the kernel grants less).
pub(crate) fn bind_udp(
    addr: SocketAddr,
    recv_buffer: usize,
    send_buffer: usize,
) -> io::Result<tokio::net::UdpSocket> {
    let socket = new_socket(addr, Type::DGRAM, Protocol::UDP)?;
    socket.set_recv_buffer_size(recv_buffer)?;
    socket.set_send_buffer_size(send_buffer)?;
    warn_if_capped(
        addr,
        "SO_RCVBUF",
        recv_buffer,
        socket.recv_buffer_size()?,
        "rmem_max",
    );
    warn_if_capped(
        addr,
        "SO_SNDBUF",
        send_buffer,
        socket.send_buffer_size()?,
        "wmem_max",
    );
    socket.bind(&addr.into())?;
    tokio::net::UdpSocket::from_std(socket.into())
}

/// A TCP listener bound to `addr`, non-blocking.
pub(crate) fn bind_tcp(addr: SocketAddr) -> io::Result<tokio::net::TcpListener> {
    let socket = new_socket(addr, Type::STREAM, Protocol::TCP)?;
    socket.set_tcp_nodelay(true)?;
    socket.bind(&addr.into())?;
    socket.listen(TCP_BACKLOG)?;
    tokio::net::TcpListener::from_std(socket.into())
}

/// A non-blocking socket of `addr`'s family with SO_REUSEADDR, and IPV6_V6ONLY for IPv6
/// (so `[::]` and `0.0.0.0` can be listened on side by side).
fn new_socket(addr: SocketAddr, kind: Type, protocol: Protocol) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), kind, Some(protocol))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// How much more than the size asked for the kernel reports for a buffer that it
/// granted in full: Linux doubles the value (it counts its own bookkeeping).
const REPORTED_FACTOR: usize = if cfg!(target_os = "linux") { 2 } else { 1 };

/// Logs a warning when the kernel granted a smaller buffer than asked for (on Linux,
/// capped by `net.core.<sysctl>`).
fn warn_if_capped(addr: SocketAddr, option: &str, asked: usize, reported: usize, sysctl: &str) {
    if reported < asked.saturating_mul(REPORTED_FACTOR) {
        let granted = reported / REPORTED_FACTOR;
        tracing::warn!(
            %addr,
            "{option} capped by the kernel at {granted} bytes (asked for {asked}); \
             raise net.core.{sysctl} to avoid dropping datagrams under load"
        );
    }
}
