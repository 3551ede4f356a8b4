//! The knobs of the transport layer, with the defaults a server starts with.

use sip_msg::Limits;
use std::net::Ipv4Addr;
use std::time::Duration;

/// How sockets are sized and connections bounded.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// SO_RCVBUF asked for on each UDP socket, in bytes.
    pub udp_recv_buffer: usize,
    /// SO_SNDBUF asked for on each UDP socket, in bytes.
    pub udp_send_buffer: usize,
    /// How many tasks receive on each UDP socket (default: one per core).
    pub udp_workers: usize,
    /// Open TCP connections at most, accepted on any listener or opened to a peer; more
    /// are refused (an accepted one is closed, opening one fails).
    pub max_connections: usize,
    /// A TCP connection with no traffic either way for this long is closed.
    pub tcp_idle_timeout: Duration,
    /// How long opening a TCP connection to a peer may take before the messages queued
    /// on it are reported as unsent ([`crate::Handler::send_failed`]).
    pub tcp_connect_timeout: Duration,
    /// Message size limits; `max_message` bounds each connection's read buffer.
    pub limits: Limits,
    /// The interface, named by one of its IPv4 addresses, on which IPv4 multicast listen
    /// addresses join their group; `0.0.0.0` (the default) lets the system choose the
    /// interface of its route to the group (usually that of the default route).
    pub multicast_interface: Ipv4Addr,
    /// The index of the interface on which IPv6 multicast listen addresses join their
    /// group (and to which a link-local group such as `ff02::75` is scoped); 0 (the
    /// default) lets the system choose.
    pub multicast_interface_v6: u32,
    /// Whether STUN Binding requests on the UDP sockets are answered ([`crate::stun`]).
    pub stun: bool,
    /// Messages queued for sending on one connection at most; more are refused.
    pub connection_queue: usize,
}

impl TransportConfig {
    /// The default SO_RCVBUF / SO_SNDBUF for UDP sockets: 4 MiB.
    pub const DEFAULT_UDP_BUFFER: usize = 4 * 1024 * 1024;
    /// The default bound on TCP connections.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
    /// The default idle timeout of TCP connections.
    pub const DEFAULT_TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
    /// The default connect timeout: 5 s. Long enough for a SYN lost twice (the system
    /// sends it again after 1 s and 3 s, RFC 6298 §2 and §5.5), short enough to leave most
    /// of a transaction's 32 s (RFC 3261 Timer B and F, 64*T1) for the next target
    /// (RFC 3263 §4.3) when the peer is down.
    pub const DEFAULT_TCP_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
}

impl Default for TransportConfig {
    fn default() -> TransportConfig {
        TransportConfig {
            udp_recv_buffer: Self::DEFAULT_UDP_BUFFER,
            udp_send_buffer: Self::DEFAULT_UDP_BUFFER,
            udp_workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            tcp_idle_timeout: Self::DEFAULT_TCP_IDLE_TIMEOUT,
            tcp_connect_timeout: Self::DEFAULT_TCP_CONNECT_TIMEOUT,
            limits: Limits::default(),
            multicast_interface: Ipv4Addr::UNSPECIFIED,
            multicast_interface_v6: 0,
            stun: true,
            connection_queue: 64,
        }
    }
}
