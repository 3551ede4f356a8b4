//! TCP: the accept loop (bounded number of connections) and one task per connection that
//! frames messages out of the byte stream (RFC 3261 §18.3), answers CRLF keep-alive pings
//! (RFC 5626 §4.4.1), writes queued messages and closes idle or misbehaving connections.
//! Connections the server opens (`connect`) run the same [`Connection`] code once
//! connected. Whatever a connection leaves unsent is reported to
//! [`Handler::send_failed`].

use crate::connections::{ConnectionTable, Registration};
use crate::message::Outgoing;
use crate::{Handler, Inbound, SendFailure, Sender, TransportConfig};
use bytes::{Buf, BufMut, BytesMut};
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
                    let queue = Queue::register(&context, peer, slot);
                    let connection = Connection::new(stream, peer, local, queue);
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
    /// The peer closed its side.
    PeerClosed,
    /// The server is shutting down.
    Shutdown,
    /// A reason worth a log line.
    Because(String),
}

impl Close {
    fn reason(&self) -> &str {
        match self {
            Close::PeerClosed => "peer closed the connection",
            Close::Shutdown => SHUTTING_DOWN,
            Close::Because(reason) => reason,
        }
    }
}

/// The reason given for messages left unsent by a shutdown.
pub(crate) const SHUTTING_DOWN: &str = "transport shutting down";

/// A connection's place in the table, the receiving end of its send queue and the slot
/// it holds under `max_connections`: everything a connection owns before it has a socket
/// (an outbound connection gets them when `try_send` asks for it, before it connects).
pub(crate) struct Queue {
    pub(crate) registration: Registration,
    pub(crate) outgoing: mpsc::Receiver<Outgoing>,
    pub(crate) slot: OwnedSemaphorePermit,
}

impl Queue {
    /// Registers a connection to `peer` with a new empty send queue, taking the peer's
    /// entry in the table (an accepted connection).
    pub(crate) fn register(
        context: &TcpContext,
        peer: SocketAddr,
        slot: OwnedSemaphorePermit,
    ) -> Queue {
        let (tx, outgoing) = mpsc::channel(context.config.connection_queue.max(1));
        let registration = context.connections.register(Transport::Tcp, peer, tx);
        Queue {
            registration,
            outgoing,
            slot,
        }
    }

    /// Ends the connection: takes it out of the table so that nothing more is queued,
    /// then reports `first` (a message whose write failed) and every queued message to
    /// the handler as unsent.
    pub(crate) fn close(
        self,
        peer: SocketAddr,
        first: Option<Outgoing>,
        reason: &str,
        context: &TcpContext,
    ) {
        let Queue {
            registration,
            mut outgoing,
            slot,
        } = self;
        let conn = registration.id();
        // Senders queue while holding the table's lock on the entry: once it is gone,
        // nothing else arrives.
        drop(registration);
        outgoing.close();
        let queued = std::iter::from_fn(|| outgoing.try_recv().ok());
        for Outgoing { data, token } in first.into_iter().chain(queued) {
            let failure = SendFailure {
                conn,
                transport: Transport::Tcp,
                remote: peer,
                data,
                token,
                reason: reason.to_owned(),
            };
            context.handler.send_failed(failure, &context.sender);
        }
        drop(slot);
    }
}

/// One open TCP connection, accepted or opened by the server: both run the same code.
pub(crate) struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    queue: Queue,
    /// Bytes read and not yet framed; never grows past `limits.max_message`.
    buffer: BytesMut,
    /// A message taken off the queue whose write failed.
    unsent: Option<Outgoing>,
}

impl Connection {
    /// A connection on `stream` to `peer`; `local` stands in for the stream's own address
    /// if the system cannot tell it.
    pub(crate) fn new(
        stream: TcpStream,
        peer: SocketAddr,
        local: SocketAddr,
        queue: Queue,
    ) -> Connection {
        let local = stream.local_addr().unwrap_or(local);
        tracing::debug!(conn = %queue.registration.id(), %peer, %local, "tcp connection open");
        Connection {
            stream,
            peer,
            local,
            queue,
            buffer: BytesMut::new(),
            unsent: None,
        }
    }

    /// Serves the connection until it closes, then reports what was left unsent.
    pub(crate) async fn run(mut self, context: Arc<TcpContext>, shutdown: CancellationToken) {
        let id = self.queue.registration.id();
        let close = self.serve(&context, &shutdown).await;
        match &close {
            Close::Because(reason) => {
                tracing::debug!(conn = %id, peer = %self.peer, "closing tcp connection: {reason}");
            }
            _ => tracing::debug!(conn = %id, peer = %self.peer, "tcp connection closed"),
        }
        let Connection {
            stream,
            peer,
            queue,
            unsent,
            ..
        } = self;
        drop(stream);
        queue.close(peer, unsent, close.reason(), &context);
        if !matches!(close, Close::Shutdown) {
            context.handler.connection_closed(Transport::Tcp, peer);
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
                () = shutdown.cancelled() => return Close::Shutdown,
                () = &mut deadline => {
                    return Close::Because(format!("idle for {idle:?}"));
                }
                Some(data) = self.queue.outgoing.recv() => {
                    if let Err(reason) = write(&mut self.stream, &data.data, idle).await {
                        self.unsent = Some(data);
                        return Close::Because(reason);
                    }
                }
                read = read_some(&mut self.stream, &mut self.buffer, room) => match read {
                    Ok(0) => return Close::PeerClosed,
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
                        conn: Some(self.queue.registration.id()),
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
        while let Ok(data) = self.queue.outgoing.try_recv() {
            if let Err(reason) = write(&mut self.stream, &data.data, limit).await {
                self.unsent = Some(data);
                return Err(reason);
            }
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
        Err(_) => Err(format!("peer took no data for {limit:?}")),
    }
}
