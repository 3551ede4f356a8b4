//! TCP: the accept loop (bounded number of connections) and one task per connection that
//! frames messages out of the byte stream (RFC 3261 §18.3), answers CRLF keep-alive pings
//! (RFC 5626 §4.4.1), writes queued messages and closes idle or misbehaving connections.

use crate::connections::ConnectionTable;
use crate::{Handler, Inbound, Sender, TransportConfig};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use sip_msg::{Frame, Transport, frame_stream};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::sync::CancellationToken;

/// The answer to a CRLF CRLF ping.
const PONG: &[u8] = b"\r\n";
/// Room made in a connection's buffer before each read.
const READ_CHUNK: usize = 8192;
/// How long to wait before accepting again after the system refused (out of descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What every TCP task shares.
pub(crate) struct TcpContext {
    pub(crate) config: TransportConfig,
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) sender: Sender,
    pub(crate) connections: Arc<ConnectionTable>,
    /// One permit per connection that may be open.
    pub(crate) slots: Arc<Semaphore>,
}

/// Accepts connections on `listener` until `shutdown`, then waits for its connections
/// to close.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    local: SocketAddr,
    context: Arc<TcpContext>,
    shutdown: CancellationToken,
) {
    let mut connections = JoinSet::new();
    // Refusals are logged as a warning once per period of saturation, so that a flood of
    // connections does not also flood the log.
    let mut saturated = false;
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Ok(slot) = Arc::clone(&context.slots).try_acquire_owned() else {
                        let max = context.config.max_connections;
                        if saturated {
                            tracing::debug!(%peer, %local, "refusing TCP connection: {max} open");
                        } else {
                            tracing::warn!(
                                %peer, %local,
                                "refusing TCP connections: {max} are open (max_connections)"
                            );
                            saturated = true;
                        }
                        continue;
                    };
                    saturated = false;
                    let connection = Connection::open(stream, peer, local, &context, slot);
                    connections.spawn(connection.run(Arc::clone(&context), shutdown.clone()));
                }
                Err(err) => {
                    tracing::warn!(%local, "accepting a TCP connection: {err}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// Why a connection task stops.
enum Close {
    /// The peer closed its side, or the server is shutting down.
    Done,
    /// A reason worth a log line.
    Because(String),
}

/// One open TCP connection.
struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    outgoing: mpsc::Receiver<Bytes>,
    registration: crate::connections::Registration,
    /// Bytes read and not yet framed; never grows past `limits.max_message`.
    buffer: BytesMut,
    _slot: OwnedSemaphorePermit,
}

impl Connection {
    fn open(
        stream: TcpStream,
        peer: SocketAddr,
        listen: SocketAddr,
        context: &Arc<TcpContext>,
        slot: OwnedSemaphorePermit,
    ) -> Connection {
        let local = stream.local_addr().unwrap_or(listen);
        let (tx, outgoing) = mpsc::channel(context.config.connection_queue.max(1));
        let registration = context.connections.register(Transport::Tcp, peer, tx);
        tracing::debug!(conn = %registration.id(), %peer, %local, "tcp connection open");
        Connection {
            stream,
            peer,
            local,
            outgoing,
            registration,
            buffer: BytesMut::new(),
            _slot: slot,
        }
    }

    async fn run(mut self, context: Arc<TcpContext>, shutdown: CancellationToken) {
        let id = self.registration.id();
        match self.serve(&context, &shutdown).await {
            Close::Done => tracing::debug!(conn = %id, peer = %self.peer, "tcp connection closed"),
            Close::Because(reason) => {
                tracing::debug!(conn = %id, peer = %self.peer, "closing tcp connection: {reason}");
            }
        }
    }

    async fn serve(&mut self, context: &TcpContext, shutdown: &CancellationToken) -> Close {
        let idle = context.config.tcp_idle_timeout;
        let max_message = context.config.limits.max_message;
        let deadline = sleep_until(Instant::now() + idle);
        tokio::pin!(deadline);
        loop {
            let room = max_message.saturating_sub(self.buffer.len());
            if room == 0 {
                return Close::Because(format!("no complete message in {max_message} bytes"));
            }
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return Close::Done,
                () = &mut deadline => {
                    return Close::Because(format!("idle for {} s", idle.as_secs()));
                }
                Some(data) = self.outgoing.recv() => {
                    if let Err(reason) = write(&mut self.stream, &data, idle).await {
                        return Close::Because(reason);
                    }
                }
                read = read_some(&mut self.stream, &mut self.buffer, room) => match read {
                    Ok(0) => return Close::Done,
                    Ok(_) => {
                        if let Err(reason) = self.frame(context).await {
                            return Close::Because(reason);
                        }
                    }
                    Err(err) => return Close::Because(format!("read: {err}")),
                },
            }
            deadline.as_mut().reset(Instant::now() + idle);
        }
    }

    /// Hands over every complete message in the buffer and answers pings.
    async fn frame(&mut self, context: &TcpContext) -> Result<(), String> {
        loop {
            match frame_stream(&self.buffer, &context.config.limits) {
                Ok(Frame::Incomplete) => return Ok(()),
                Ok(Frame::KeepAlive { len: 0, .. } | Frame::Message(0)) => {
                    return Err("framing made no progress".to_owned());
                }
                Ok(Frame::KeepAlive { len, ping }) => {
                    self.buffer.advance(len.min(self.buffer.len()));
                    if ping {
                        write(&mut self.stream, PONG, context.config.tcp_idle_timeout).await?;
                    }
                }
                Ok(Frame::Message(len)) => {
                    let data = self.buffer.split_to(len.min(self.buffer.len())).freeze();
                    let inbound = Inbound {
                        data,
                        source: self.peer,
                        local: self.local,
                        transport: Transport::Tcp,
                        conn: Some(self.registration.id()),
                    };
                    context.handler.handle(inbound, &context.sender);
                    self.flush_queued(context.config.tcp_idle_timeout).await?;
                }
                Err(err) => return Err(format!("bad framing: {err}")),
            }
        }
    }

    /// Writes what is queued for the connection (the handler's replies), so that a peer
    /// sending many requests in one segment does not overflow the queue.
    async fn flush_queued(&mut self, limit: Duration) -> Result<(), String> {
        while let Ok(data) = self.outgoing.try_recv() {
            write(&mut self.stream, &data, limit).await?;
        }
        Ok(())
    }
}

/// Reads what is available into `buffer`, at most `room` bytes.
async fn read_some(
    stream: &mut TcpStream,
    buffer: &mut BytesMut,
    room: usize,
) -> std::io::Result<usize> {
    buffer.reserve(room.min(READ_CHUNK));
    stream.read_buf(&mut buffer.limit(room)).await
}

/// Writes all of `data`, giving up when the peer has not taken it within `limit`.
async fn write<W: AsyncWriteExt + Unpin>(
    writer: &mut W,
    data: &[u8],
    limit: Duration,
) -> Result<(), String> {
    match timeout(limit, writer.write_all(data)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(format!("write: {err}")),
        Err(_) => Err(format!("peer took no data for {} s", limit.as_secs())),
    }
}
