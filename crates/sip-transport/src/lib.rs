//! Tokio listeners and connections for SIP: this crate only moves bytes.
//!
//! [`Transports::bind`] binds every [`ListenSpec`] up front (all or nothing), and
//! [`Transports::run`] hands each received message to a [`Handler`] as an [`Inbound`]:
//! one UDP datagram, or one message framed out of a TCP stream by
//! [`sip_msg::frame_stream`]. The handler, or any task holding a [`Sender`], sends bytes
//! back along a [`Route`]: the connection a message came on, a datagram from the socket
//! that received it, or a peer reached by transport and address.
//!
//! Everything is bounded: the number of TCP connections, their idle time, the time to
//! open one, the size of a connection's read buffer (the largest message) and of its send
//! queue. A message accepted for a connection and never written is handed back to
//! [`Handler::send_failed`], with the token it was sent with
//! ([`Sender::try_send_tracked`]), so the server can fail its transaction at once without
//! reading the message again.
//!
//! # Layout
//! - [`listen`]: `PROTO:ADDR:PORT` listen addresses.
//! - [`config`]: buffer sizes, limits and timeouts, with their defaults.
//! - [`message`]: [`Inbound`], [`ConnId`], [`Route`] and the [`Handler`] trait.
//! - `transports`: binding and running every listener.
//! - `socket`: socket options (buffer sizes, SO_REUSEADDR, IPV6_V6ONLY) and multicast
//!   group membership via socket2.
//! - `udp`: the receive tasks of a UDP socket (several per socket, no lock between them).
//! - `tcp`: the accept loop and the per-connection task (framing, keep-alive, idle timeout).
//! - `connect`: opening TCP connections to peers for [`Sender::try_send`].
//! - `connections`: the sharded table of open connections, by id and by peer.
//! - `sender`: [`Sender`], which reaches every socket and connection.
//! - [`error`]: [`BindError`] and [`SendError`].
//!
//! TLS, WS and WSS listen addresses parse, but binding them fails with
//! [`BindError::Unsupported`] until those transports exist.

pub mod config;
pub mod error;
pub mod listen;
pub mod message;
pub mod stun;

mod connect;
mod connections;
mod sender;
mod socket;
mod tcp;
mod transports;
mod udp;

pub use config::TransportConfig;
pub use error::{BindError, SendError};
pub use listen::{ListenSpec, ListenSpecError};
pub use message::{ConnId, Handler, Inbound, Route, SendFailure, SendToken};
pub use sender::Sender;
pub use transports::Transports;
