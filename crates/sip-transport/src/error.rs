//! Errors of the transport layer: binding listeners and sending bytes.

use crate::{ConnId, ListenSpec, Route};
use sip_msg::Transport;
use std::io;
use std::net::SocketAddr;

/// Why the listeners could not be set up. Nothing is left bound when this is returned.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// The transport is recognised but has no implementation yet.
    #[error("{spec}: {} listeners are not supported yet", .spec.transport.uri_token())]
    Unsupported {
        /// The listen address asked for.
        spec: ListenSpec,
    },
    /// A multicast listen address that cannot work as listed.
    #[error("{spec}: {problem}")]
    Multicast {
        /// The listen address asked for.
        spec: ListenSpec,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The system refused the socket (address in use, not an address of this host...).
    #[error("{spec}: cannot listen: {source}")]
    Io {
        /// The listen address asked for.
        spec: ListenSpec,
        /// What the system said.
        source: io::Error,
    },
}

/// Why bytes could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The connection has closed (or never existed).
    #[error("{0} is closed")]
    ConnectionClosed(ConnId),
    /// The connection's send queue is full: the peer does not read fast enough.
    #[error("{0} is not reading; its send queue is full")]
    Congested(ConnId),
    /// No UDP socket is bound to that local address.
    #[error("no UDP socket is bound to {0}")]
    NoSocket(SocketAddr),
    /// No socket or open connection can reach the destination.
    #[error("no way to send to {0}")]
    NoRoute(Route),
    /// A connection cannot stand for a peer of another transport.
    #[error("{conn} is not a {} connection", .transport.uri_token())]
    AliasTransport {
        /// The connection to alias.
        conn: ConnId,
        /// The transport asked for.
        transport: Transport,
    },
    /// A new TCP connection is needed and `max_connections` are already open.
    #[error("cannot open a connection: {0} are open (max_connections)")]
    ConnectionLimit(usize),
    /// A new connection is needed and the transport is not running: before
    /// [`crate::Transports::run`] has started, or after it has stopped.
    #[error("cannot open a connection: the transport is not running")]
    NotRunning,
    /// The system refused the datagram.
    #[error("sending to {remote}: {source}")]
    Io {
        /// The destination.
        remote: SocketAddr,
        /// What the system said.
        source: io::Error,
    },
}
