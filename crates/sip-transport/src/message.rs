//! What the transport hands to the server (an [`Inbound`] message) and where the server
//! can send bytes back ([`Route`]).

use bytes::Bytes;
use sip_msg::Transport;
use std::fmt;
use std::net::SocketAddr;

/// Names one stream connection (TCP now; TLS and WebSocket later) for as long as it is open.
///
/// Ids are never reused while the process runs, so a stale id finds no connection rather
/// than a different peer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub(crate) u64);

impl ConnId {
    /// The id as a number, for a layer above that names connections without depending on
    /// this crate (the proxy core's `ConnectionId`).
    pub fn raw(self) -> u64 {
        self.0
    }

    /// The id [`ConnId::raw`] gave. A number that was never an id finds no connection.
    pub fn from_raw(raw: u64) -> ConnId {
        ConnId(raw)
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}

/// One complete SIP message as it arrived: a datagram, or one framed message of a stream.
#[derive(Debug, Clone)]
pub struct Inbound {
    /// The message bytes (a zero-copy slice of the receive buffer).
    pub data: Bytes,
    /// The peer's address.
    pub source: SocketAddr,
    /// The local address of the socket that received it (the listen address for UDP,
    /// the group's for a multicast listen address, the connection's local address for
    /// TCP).
    pub local: SocketAddr,
    /// The transport it came over.
    pub transport: Transport,
    /// The connection it came on, for stream transports.
    pub conn: Option<ConnId>,
}

impl Inbound {
    /// Where a reply to this message goes: the same connection, or the source address
    /// from the socket that received it.
    pub fn reply_route(&self) -> Route {
        match self.conn {
            Some(conn) => Route::Connection(conn),
            None => Route::Datagram {
                local: self.local,
                remote: self.source,
            },
        }
    }
}

/// Where to send bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// On an open stream connection.
    Connection(ConnId),
    /// A UDP datagram to `remote`, from the UDP socket bound to `local` (from a unicast
    /// socket of the same family if `local` is a multicast listen address).
    Datagram {
        /// The bound address of the sending socket.
        local: SocketAddr,
        /// The destination.
        remote: SocketAddr,
    },
    /// To `remote` over `transport`: a UDP socket of the destination's address family,
    /// or the connection open to that peer (or aliased to it, RFC 5923), which over TCP
    /// is opened when there is none ([`crate::Sender::try_send`]).
    Peer {
        /// The transport to use.
        transport: Transport,
        /// The destination.
        remote: SocketAddr,
    },
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Route::Connection(conn) => write!(f, "{conn}"),
            Route::Datagram { local, remote } => write!(f, "udp {local} -> {remote}"),
            Route::Peer { transport, remote } => {
                write!(f, "{} -> {remote}", transport.uri_token())
            }
        }
    }
}

/// What the sender of a message wants back with its [`SendFailure`] if it is never
/// written: the transport only carries it ([`crate::Sender::try_send_tracked`]).
pub type SendToken = std::sync::Arc<dyn std::any::Any + Send + Sync>;

/// A message queued on a stream connection, with its sender's token.
#[derive(Clone)]
pub(crate) struct Outgoing {
    pub(crate) data: Bytes,
    pub(crate) token: Option<SendToken>,
}

/// A message that [`crate::Sender::try_send`] accepted for a stream connection and that
/// never reached the socket: the connection could not be opened, or it closed with the
/// message still queued.
///
/// For the transaction that sent it this is a transport error, which RFC 3261 §8.1.3.1
/// and §17.1.4 tell a client to treat as a 503 (Service Unavailable) at once, rather
/// than wait for its timer to fire.
#[derive(Clone)]
pub struct SendFailure {
    /// The connection the message was queued on.
    pub conn: ConnId,
    /// Its transport.
    pub transport: Transport,
    /// The peer it was for.
    pub remote: SocketAddr,
    /// The unsent message, exactly as it was given to `try_send`.
    pub data: Bytes,
    /// The token it was sent with ([`crate::Sender::try_send_tracked`]).
    pub token: Option<SendToken>,
    /// What went wrong, for a log line ("connect: Connection refused", "no connection
    /// within 5000 ms", "transport shutting down"...).
    pub reason: String,
}

impl fmt::Debug for SendFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFailure")
            .field("conn", &self.conn)
            .field("transport", &self.transport)
            .field("remote", &self.remote)
            .field("data", &self.data)
            .field("token", &self.token.is_some())
            .field("reason", &self.reason)
            .finish()
    }
}

/// The server side of the transport: called once per received message.
///
/// It runs on the task that received the message, so it must not block; work that waits
/// (DNS, databases) belongs on a task of its own. `sender` reaches every socket and
/// connection of the transport layer, including the one the message came on
/// ([`Inbound::reply_route`]).
pub trait Handler: Send + Sync + 'static {
    /// Handles one message.
    fn handle(&self, inbound: Inbound, sender: &crate::Sender);

    /// Called when a stream connection to `remote` has closed (the peer closed it, it
    /// failed, or it sat idle too long), but not at shutdown: whatever was reached
    /// through that connection (a registered flow) no longer is. The default does
    /// nothing.
    fn connection_closed(&self, transport: Transport, remote: std::net::SocketAddr) {
        let _ = (transport, remote);
    }

    /// Called once for each message that `try_send` accepted (returned `Ok`) for a
    /// stream connection and that was not written: the connection could not be opened
    /// (refused, unreachable, [`crate::TransportConfig::tcp_connect_timeout`] passed),
    /// it closed or failed with the message queued, or the transport shut down first.
    /// A message that `try_send` refused (returned `Err`) is never reported here.
    ///
    /// Called from a connection's task, with the same rule as [`Handler::handle`]: do
    /// not block. `sender` can send the message elsewhere (the next target of
    /// RFC 3263 §4.3). The default does nothing but log at debug level.
    fn send_failed(&self, failure: SendFailure, sender: &crate::Sender) {
        let _ = sender;
        tracing::debug!(
            conn = %failure.conn,
            remote = %failure.remote,
            "{} bytes not sent: {}",
            failure.data.len(),
            failure.reason
        );
    }
}
