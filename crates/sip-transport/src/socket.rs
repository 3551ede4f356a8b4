//! Creating listening sockets with the options a SIP server needs (socket2), before
//! handing them to tokio: buffer sizes, address reuse, and multicast group membership.

use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};

/// Backlog of pending TCP connections.
const TCP_BACKLOG: i32 = 1024;

/// A UDP socket bound to `addr`, non-blocking, with the receive and send buffers asked
/// for (a warning is logged when the kernel grants less).
pub(crate) fn bind_udp(
    addr: SocketAddr,
    recv_buffer: usize,
    send_buffer: usize,
) -> io::Result<tokio::net::UdpSocket> {
    let socket = new_udp_socket(addr, recv_buffer, send_buffer)?;
    // Linux hands a socket bound to a wildcard address the datagrams of every multicast
    // group any socket of the host joined (IP_MULTICAST_ALL): a multicast listen address
    // on the same port would deliver each of its datagrams twice.
    #[cfg(target_os = "linux")]
    if addr.is_ipv4() {
        socket.set_multicast_all_v4(false)?;
    } else {
        socket.set_multicast_all_v6(false)?;
    }
    socket.bind(&addr.into())?;
    tokio::net::UdpSocket::from_std(socket.into())
}

/// A UDP socket that receives the datagrams sent to the multicast group `group` (the
/// group address and port), after joining it on `interface` (IPv4) or `interface_v6`
/// (IPv6, an interface index; 0 lets the system choose).
///
/// The socket is bound to the group address itself, not to the wildcard address, so
/// that it gets only the group's datagrams (not those of other groups, nor unicast ones
/// to the port), and it shares the port (SO_REUSEADDR, SO_REUSEPORT) with the unicast
/// sockets of this server and with other processes listening to the group. It never
/// sends: the source of a datagram must be a unicast address.
pub(crate) fn bind_udp_multicast(
    group: SocketAddr,
    interface: Ipv4Addr,
    interface_v6: u32,
    recv_buffer: usize,
    send_buffer: usize,
) -> io::Result<tokio::net::UdpSocket> {
    let socket = new_udp_socket(group, recv_buffer, send_buffer)?;
    #[cfg(unix)]
    socket.set_reuse_port(true)?;
    match group {
        SocketAddr::V4(v4) => {
            socket.bind(&group.into())?;
            socket.join_multicast_v4(v4.ip(), &interface)?;
        }
        SocketAddr::V6(mut v6) => {
            // A link-local group (ff02::) is bound on the interface it is joined on.
            v6.set_scope_id(interface_v6);
            socket.bind(&SocketAddr::V6(v6).into())?;
            socket.join_multicast_v6(v6.ip(), interface_v6)?;
        }
    }
    tokio::net::UdpSocket::from_std(socket.into())
}

/// A UDP socket of `addr`'s family, not bound yet, with its buffers sized.
fn new_udp_socket(addr: SocketAddr, recv_buffer: usize, send_buffer: usize) -> io::Result<Socket> {
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
    Ok(socket)
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
