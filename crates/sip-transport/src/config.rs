//! The knobs of the transport layer, with the defaults a server starts with.

use sip_msg::Limits;
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
    /// Open TCP connections at most, over all listeners; more are refused.
    pub max_connections: usize,
    /// A TCP connection with no traffic either way for this long is closed.
    pub tcp_idle_timeout: Duration,
    /// Message size limits; `max_message` bounds each connection's read buffer.
    pub limits: Limits,
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
}

impl Default for TransportConfig {
    fn default() -> TransportConfig {
        TransportConfig {
            udp_recv_buffer: Self::DEFAULT_UDP_BUFFER,
            udp_send_buffer: Self::DEFAULT_UDP_BUFFER,
            udp_workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            tcp_idle_timeout: Self::DEFAULT_TCP_IDLE_TIMEOUT,
            limits: Limits::default(),
            connection_queue: 64,
        }
    }
}
