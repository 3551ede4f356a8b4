//! Receiving UDP datagrams: several tasks share each socket (one per core by default), so
//! datagrams are handled in parallel with no lock between them.

use crate::{Handler, Inbound, Sender};
use bytes::BytesMut;
use sip_msg::Transport;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

/// Room made before each receive: the largest UDP payload.
const MAX_DATAGRAM: usize = 65_536;
/// Each task's receive buffer; received datagrams are split off it without copying.
const RECEIVE_BUFFER: usize = 4 * MAX_DATAGRAM;

/// One receive task of a UDP socket bound to `local`.
pub(crate) struct UdpReceiver {
    pub(crate) socket: Arc<UdpSocket>,
    pub(crate) local: SocketAddr,
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) sender: Sender,
}

impl UdpReceiver {
    /// Receives and hands over datagrams until `shutdown` is cancelled.
    pub(crate) async fn run(self, shutdown: CancellationToken) {
        let mut buffer = BytesMut::with_capacity(RECEIVE_BUFFER);
        loop {
            buffer.reserve(MAX_DATAGRAM);
            let received = tokio::select! {
                biased;
                () = shutdown.cancelled() => return,
                received = self.socket.recv_buf_from(&mut buffer) => received,
            };
            match received {
                Ok((len, source)) => {
                    let data = buffer.split_to(len).freeze();
                    if is_keep_alive(&data) {
                        tracing::trace!(%source, local = %self.local, "udp keep-alive");
                        continue;
                    }
                    let inbound = Inbound {
                        data,
                        source,
                        local: self.local,
                        transport: Transport::Udp,
                        conn: None,
                    };
                    self.handler.handle(inbound, &self.sender);
                }
                // An ICMP error reported for an earlier send, a signal...: the socket
                // itself is still good.
                Err(err) => tracing::debug!(local = %self.local, "udp receive: {err}"),
            }
        }
    }
}

/// Whether a datagram holds only line breaks (CRLF keep-alives that some user agents
/// send over UDP): nothing to hand over.
fn is_keep_alive(data: &[u8]) -> bool {
    data.iter().all(|&b| b == b'\r' || b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::is_keep_alive;

    #[test]
    fn only_line_breaks_are_keep_alives() {
        assert!(is_keep_alive(b"\r\n\r\n"));
        assert!(is_keep_alive(b""));
        assert!(!is_keep_alive(b"\r\nOPTIONS"));
    }
}
