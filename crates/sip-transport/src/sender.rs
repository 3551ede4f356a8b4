//! Sending bytes from any task: to an open connection (opening one to a TCP peer when
//! needed), or as a datagram from one of the bound UDP sockets.

use crate::connect::Dial;
use crate::connections::ConnectionTable;
use crate::message::Outgoing;
use crate::tcp::Queue;
use crate::{ConnId, Route, SendError, SendToken, TransportConfig};
use bytes::Bytes;
use sip_msg::Transport;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tokio::net::UdpSocket;
use tokio::sync::{Semaphore, mpsc};

/// A cheap, cloneable handle that sends on the sockets and connections of a
/// [`crate::Transports`]. It never waits: a full socket buffer or connection queue is an
/// error, not a stall of the calling task. The UDP sockets stay open while a `Sender`
/// exists, even after [`crate::Transports::run`] has returned.
#[derive(Clone)]
pub struct Sender {
    inner: Arc<Inner>,
}

struct Inner {
    /// Bound UDP sockets by local address; fixed once bound, so read without a lock.
    udp: Box<[(SocketAddr, Arc<UdpSocket>)]>,
    connections: Arc<ConnectionTable>,
    /// One permit per TCP connection that may be open, accepted or opened.
    slots: Arc<Semaphore>,
    max_connections: usize,
    connection_queue: usize,
    /// Where connections to open go; set when [`crate::Transports::run`] starts, closed
    /// when it stops.
    connector: OnceLock<mpsc::UnboundedSender<Dial>>,
}

impl Sender {
    pub(crate) fn new(
        udp: Box<[(SocketAddr, Arc<UdpSocket>)]>,
        connections: Arc<ConnectionTable>,
        slots: Arc<Semaphore>,
        config: &TransportConfig,
    ) -> Sender {
        Sender {
            inner: Arc::new(Inner {
                udp,
                connections,
                slots,
                max_connections: config.max_connections,
                connection_queue: config.connection_queue.max(1),
                connector: OnceLock::new(),
            }),
        }
    }

    /// Lets `try_send` open connections, through the connector task reading `dials`.
    pub(crate) fn start_connector(&self, dials: mpsc::UnboundedSender<Dial>) {
        if self.inner.connector.set(dials).is_err() {
            tracing::error!("transport connector started twice");
        }
    }

    /// Sends `data` along `route` without waiting.
    ///
    /// [`Route::Datagram`] from a multicast listen address sends from a unicast socket,
    /// picked as for [`Route::Peer`]. [`Route::Peer`] over UDP picks a unicast socket of
    /// the destination's address family (preferring one bound to the wildcard address,
    /// or of the same scope: loopback or not). Over TCP it queues `data` on the connection open to that peer; when there is
    /// none it opens one:
    ///
    /// - A pending connection takes the peer's place in the table at once, so later
    ///   messages to the same peer queue behind `data` on it rather than open more
    ///   connections, and one of the `max_connections` slots; when none is free this
    ///   fails with [`SendError::ConnectionLimit`].
    /// - The connect runs on a task of [`crate::Transports::run`], within
    ///   [`TransportConfig::tcp_connect_timeout`]. Once connected, the connection is
    ///   served like an accepted one: what the peer sends on it reaches the handler.
    /// - If the connection cannot be opened, or closes with messages still queued, each
    ///   such message is handed back to [`crate::Handler::send_failed`].
    /// - Before `run` has started and once it has stopped there is no task to connect:
    ///   this fails at once with [`SendError::NotRunning`] (the message is not queued).
    ///
    /// Other stream transports (TLS, WebSocket) only reuse a connection already open,
    /// and fail with [`SendError::NoRoute`] when there is none.
    pub fn try_send(&self, route: &Route, data: Bytes) -> Result<(), SendError> {
        self.send(route, Outgoing { data, token: None })
    }

    /// Sends like [`Sender::try_send`]; if the message is queued on a stream connection
    /// and never written, `token` comes back with it in [`crate::Handler::send_failed`]
    /// (so that the sender knows whose message it was without reading it).
    pub fn try_send_tracked(
        &self,
        route: &Route,
        data: Bytes,
        token: SendToken,
    ) -> Result<(), SendError> {
        let token = Some(token);
        self.send(route, Outgoing { data, token })
    }

    fn send(&self, route: &Route, data: Outgoing) -> Result<(), SendError> {
        match *route {
            Route::Connection(id) => self.inner.connections.send(id, data),
            Route::Datagram { local, remote } => {
                let socket = self.udp_socket(local).ok_or(SendError::NoSocket(local))?;
                if local.ip().is_multicast() {
                    // A reply to a datagram sent to a group leaves from a unicast socket.
                    let socket = self
                        .udp_socket_for(remote)
                        .ok_or(SendError::NoSocket(local))?;
                    return send_datagram(socket, remote, &data.data);
                }
                send_datagram(socket, remote, &data.data)
            }
            Route::Peer {
                transport: Transport::Udp,
                remote,
            } => {
                let socket = self
                    .udp_socket_for(remote)
                    .ok_or(SendError::NoRoute(*route))?;
                send_datagram(socket, remote, &data.data)
            }
            Route::Peer {
                transport: Transport::Tcp,
                remote,
            } => self.send_tcp(remote, data),
            Route::Peer { transport, remote } => {
                let id = self
                    .inner
                    .connections
                    .find(transport, remote)
                    .ok_or(SendError::NoRoute(*route))?;
                self.inner.connections.send(id, data)
            }
        }
    }

    /// Makes `Route::Peer { transport, remote: addr }` reach connection `conn` too, for as
    /// long as it is open: RFC 5923 connection reuse, asked for by a user agent that put
    /// `;alias` in the Via of a request it sent on `conn` (`addr` is that Via's sent-by).
    /// `transport` must be the connection's own.
    ///
    /// A connection to `addr` itself always takes precedence: an alias never replaces it
    /// (and `Ok` is still returned, since `addr` is reachable without a new connection),
    /// while a connection to or from `addr` opened later replaces the alias. Between two
    /// aliases for the same address, the later one wins. The alias goes when `conn`
    /// closes; it is not restored if it was refused or replaced.
    ///
    /// Fails with [`SendError::ConnectionClosed`] when `conn` is not open and with
    /// [`SendError::AliasTransport`] when it is not a `transport` connection.
    pub fn alias(
        &self,
        conn: ConnId,
        transport: Transport,
        addr: SocketAddr,
    ) -> Result<(), SendError> {
        self.inner.connections.alias(conn, transport, addr)
    }

    /// Queues `data` on the TCP connection to `remote`, opening one if needed.
    fn send_tcp(&self, remote: SocketAddr, data: Outgoing) -> Result<(), SendError> {
        let connections = &self.inner.connections;
        let data = match connections.find(Transport::Tcp, remote) {
            None => data,
            Some(id) => match connections.queue(id, data) {
                Ok(()) => return Ok(()),
                // It closed since it was found: open another.
                Err((SendError::ConnectionClosed(_), data)) => data,
                Err((err, _)) => return Err(err),
            },
        };
        self.open_tcp(remote, data)
    }

    /// Registers a pending connection to `remote` with `data` queued on it and asks the
    /// connector to open it.
    fn open_tcp(&self, remote: SocketAddr, data: Outgoing) -> Result<(), SendError> {
        let connector = self
            .inner
            .connector
            .get()
            .filter(|connector| !connector.is_closed())
            .ok_or(SendError::NotRunning)?;
        let slot = Arc::clone(&self.inner.slots)
            .try_acquire_owned()
            .map_err(|_| SendError::ConnectionLimit(self.inner.max_connections))?;
        let (tx, mut outgoing) = mpsc::channel(self.inner.connection_queue);
        // Queued before the connection is visible, so that it is first in line.
        if let Err(err) = tx.try_send(data) {
            // The queue is new and holds one message at least: not reached.
            tracing::error!(%remote, "a new connection queue refused a message");
            return Err(SendError::Io {
                remote,
                source: std::io::Error::other(err.to_string()),
            });
        }
        let connections = &self.inner.connections;
        let registration = match connections.register_unless_present(Transport::Tcp, remote, tx) {
            Ok(registration) => registration,
            // Another task registered one meanwhile: queue on it.
            Err(existing) => {
                let Ok(data) = outgoing.try_recv() else {
                    return Err(SendError::ConnectionClosed(existing));
                };
                return connections.send(existing, data);
            }
        };
        let queue = Queue {
            registration,
            outgoing,
            slot,
        };
        // Only fails if `run` stopped since the check above; dropping the dial takes the
        // pending connection out of the table.
        connector
            .send(Dial { remote, queue })
            .map_err(|_| SendError::NotRunning)
    }

    fn udp_socket(&self, local: SocketAddr) -> Option<&UdpSocket> {
        self.inner
            .udp
            .iter()
            .find(|(addr, _)| *addr == local)
            .map(|(_, socket)| socket.as_ref())
    }

    /// The unicast UDP socket best placed to reach `remote`.
    fn udp_socket_for(&self, remote: SocketAddr) -> Option<&UdpSocket> {
        let same_family = || {
            self.inner.udp.iter().filter(move |(addr, _)| {
                addr.is_ipv4() == remote.is_ipv4() && !addr.ip().is_multicast()
            })
        };
        let fits = |addr: &SocketAddr| {
            addr.ip().is_unspecified() || addr.ip().is_loopback() == remote.ip().is_loopback()
        };
        same_family()
            .find(|(addr, _)| fits(addr))
            .or_else(|| same_family().next())
            .map(|(_, socket)| socket.as_ref())
    }
}

/// Sends one datagram now. The system call is made directly rather than through tokio's
/// readiness tracking, which reports "would block" until the reactor has seen the socket
/// writable once; a real full send buffer is still reported as an error.
fn send_datagram(socket: &UdpSocket, remote: SocketAddr, data: &[u8]) -> Result<(), SendError> {
    socket2::SockRef::from(socket)
        .send_to(data, &remote.into())
        .map(drop)
        .map_err(|source| SendError::Io { remote, source })
}
