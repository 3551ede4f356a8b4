//! Sending bytes from any task: to an open connection, or as a datagram from one of the
//! bound UDP sockets.

use crate::connections::ConnectionTable;
use crate::{Route, SendError};
use bytes::Bytes;
use sip_msg::Transport;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::UdpSocket;

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
}

impl Sender {
    pub(crate) fn new(
        udp: Box<[(SocketAddr, Arc<UdpSocket>)]>,
        connections: Arc<ConnectionTable>,
    ) -> Sender {
        Sender {
            inner: Arc::new(Inner { udp, connections }),
        }
    }

    /// Sends `data` along `route` without waiting.
    ///
    /// [`Route::Peer`] over UDP picks a socket of the destination's address family
    /// (preferring one bound to the wildcard address, or of the same scope: loopback or
    /// not); over a stream transport it reuses a connection already open to that peer
    /// and fails with [`SendError::NoRoute`] when there is none.
    pub fn try_send(&self, route: &Route, data: Bytes) -> Result<(), SendError> {
        match *route {
            Route::Connection(id) => self.inner.connections.send(id, data),
            Route::Datagram { local, remote } => {
                let socket = self.udp_socket(local).ok_or(SendError::NoSocket(local))?;
                send_datagram(socket, remote, &data)
            }
            Route::Peer {
                transport: Transport::Udp,
                remote,
            } => {
                let socket = self
                    .udp_socket_for(remote)
                    .ok_or(SendError::NoRoute(*route))?;
                send_datagram(socket, remote, &data)
            }
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

    fn udp_socket(&self, local: SocketAddr) -> Option<&UdpSocket> {
        self.inner
            .udp
            .iter()
            .find(|(addr, _)| *addr == local)
            .map(|(_, socket)| socket.as_ref())
    }

    /// The UDP socket best placed to reach `remote`.
    fn udp_socket_for(&self, remote: SocketAddr) -> Option<&UdpSocket> {
        let same_family = || {
            self.inner
                .udp
                .iter()
                .filter(move |(addr, _)| addr.is_ipv4() == remote.is_ipv4())
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
