//! Outbound TCP connections: [`crate::Sender::try_send`] registers a pending connection
//! and hands a [`Dial`] to the connector task, which connects (within
//! `tcp_connect_timeout`) and then runs it as any accepted connection.
//!
//! The connector runs only while [`crate::Transports::run`] does: it owns the
//! [`TcpContext`] (handler, sender, table) that a connection needs, and the sender cannot
//! own it, since the context holds a sender.

use crate::tcp::{Connection, Queue, SHUTTING_DOWN, TcpContext};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

/// A connection to open: already in the table (senders queue on it meanwhile) and
/// holding its slot under `max_connections`.
pub(crate) struct Dial {
    pub(crate) remote: SocketAddr,
    pub(crate) queue: Queue,
}

impl Dial {
    /// Connects, then serves the connection; on failure, reports every queued message.
    async fn run(self, context: Arc<TcpContext>, shutdown: CancellationToken) {
        let Dial { remote, queue } = self;
        let id = queue.registration.id();
        let limit = context.config.tcp_connect_timeout;
        let connected = tokio::select! {
            biased;
            () = shutdown.cancelled() => Err(SHUTTING_DOWN.to_owned()),
            connected = timeout(limit, connect(remote)) => match connected {
                Ok(Ok(stream)) => Ok(stream),
                Ok(Err(err)) => Err(format!("connect: {err}")),
                Err(_) => Err(format!("no connection within {} ms", limit.as_millis())),
            },
        };
        match connected {
            Ok(stream) => {
                let local = unspecified_like(remote);
                Connection::new(stream, remote, local, queue)
                    .run(context, shutdown)
                    .await;
            }
            Err(reason) => {
                tracing::debug!(conn = %id, %remote, "tcp connection not opened: {reason}");
                queue.close(remote, None, &reason, &context);
            }
        }
    }
}

/// Opens a TCP connection to `remote` from an address the system chooses.
async fn connect(remote: SocketAddr) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect(remote).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// The unspecified address of `addr`'s family, port 0.
fn unspecified_like(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
        SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
    }
}

/// Opens the connections asked for on `dials` until `shutdown`; then reports the
/// messages of connections not yet started as unsent and waits for the others to close.
pub(crate) async fn connector(
    mut dials: mpsc::UnboundedReceiver<Dial>,
    context: Arc<TcpContext>,
    shutdown: CancellationToken,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            dial = dials.recv() => match dial {
                Some(dial) => {
                    connections.spawn(dial.run(Arc::clone(&context), shutdown.clone()));
                }
                // Cannot happen while the context holds a sender; wait for the end anyway.
                None => {
                    shutdown.cancelled().await;
                    break;
                }
            },
        }
    }
    // From here on `try_send` fails at once instead of asking for a connection.
    dials.close();
    while let Ok(dial) = dials.try_recv() {
        dial.queue.close(dial.remote, None, SHUTTING_DOWN, &context);
    }
    while connections.join_next().await.is_some() {}
}
