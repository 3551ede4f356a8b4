//! Binding every listen address up front, then running the receive tasks until shutdown.

use crate::connect::{Dial, connector};
use crate::connections::ConnectionTable;
use crate::socket::{bind_tcp, bind_udp, bind_udp_multicast};
use crate::tcp::{TcpContext, accept_loop};
use crate::udp::UdpReceiver;
use crate::{BindError, Handler, ListenSpec, Sender, TransportConfig};
use sip_msg::Transport;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The bound sockets of a server: created by [`Transports::bind`], served by
/// [`Transports::run`].
pub struct Transports {
    udp: Vec<(SocketAddr, Arc<UdpSocket>)>,
    tcp: Vec<(SocketAddr, TcpListener)>,
    connections: Arc<ConnectionTable>,
    slots: Arc<Semaphore>,
    sender: Sender,
    config: TransportConfig,
}

impl Transports {
    /// Binds every listen address, or none: on error, the sockets bound so far are closed.
    ///
    /// A UDP address whose IP is a multicast group (`udp:224.0.1.75:5060`, the SIP group
    /// of RFC 3261 §18.1.1 and §10.2.6) joins the group on
    /// [`TransportConfig::multicast_interface`] and receives what is sent to it, with the
    /// group as [`crate::Inbound::local`]; replies along its [`crate::Route::Datagram`]
    /// leave from a unicast UDP socket of the same family, which must also be listed.
    ///
    /// Must be called from within a tokio runtime.
    pub fn bind(specs: &[ListenSpec], config: TransportConfig) -> Result<Transports, BindError> {
        if let Some(spec) = specs
            .iter()
            .find(|spec| !matches!(spec.transport, Transport::Udp | Transport::Tcp))
        {
            return Err(BindError::Unsupported { spec: *spec });
        }
        check_multicast(specs)?;
        let mut udp = Vec::new();
        let mut tcp = Vec::new();
        for spec in specs {
            let io_error = |source| BindError::Io {
                spec: *spec,
                source,
            };
            match spec.transport {
                Transport::Udp if spec.is_multicast() => {
                    let socket = bind_udp_multicast(
                        spec.addr,
                        config.multicast_interface,
                        config.multicast_interface_v6,
                        config.udp_recv_buffer,
                        config.udp_send_buffer,
                    )
                    .map_err(io_error)?;
                    udp.push((socket.local_addr().map_err(io_error)?, Arc::new(socket)));
                }
                Transport::Udp => {
                    let socket =
                        bind_udp(spec.addr, config.udp_recv_buffer, config.udp_send_buffer)
                            .map_err(io_error)?;
                    udp.push((socket.local_addr().map_err(io_error)?, Arc::new(socket)));
                }
                _ => {
                    let listener = bind_tcp(spec.addr).map_err(io_error)?;
                    tcp.push((listener.local_addr().map_err(io_error)?, listener));
                }
            }
        }
        let connections = Arc::new(ConnectionTable::new());
        let slots = Arc::new(Semaphore::new(config.max_connections));
        let sender = Sender::new(
            udp.clone().into(),
            Arc::clone(&connections),
            Arc::clone(&slots),
            &config,
        );
        Ok(Transports {
            udp,
            tcp,
            connections,
            slots,
            sender,
            config,
        })
    }

    /// The addresses actually bound, in the order asked for per transport (UDP first);
    /// port 0 is replaced by the port the system chose.
    pub fn local_specs(&self) -> Vec<ListenSpec> {
        let udp = self
            .udp
            .iter()
            .map(|(addr, _)| ListenSpec::new(Transport::Udp, *addr));
        let tcp = self
            .tcp
            .iter()
            .map(|(addr, _)| ListenSpec::new(Transport::Tcp, *addr));
        udp.chain(tcp).collect()
    }

    /// A handle to send on these sockets and their connections.
    pub fn sender(&self) -> Sender {
        self.sender.clone()
    }

    /// Hands every received message to `handler` until `shutdown` completes, then closes
    /// the listeners and every connection and completes once all tasks have ended.
    ///
    /// [`Sender::try_send`] can open TCP connections to peers from the moment `run` is
    /// called (a task spawned on the returned future need not have started), until the
    /// future completes or is dropped; before and after, asking for a new connection
    /// fails with [`crate::SendError::NotRunning`]. Messages still queued on a connection
    /// when it closes, shutdown included, are reported to [`Handler::send_failed`].
    pub fn run(
        self,
        handler: Arc<dyn Handler>,
        shutdown: impl Future<Output = ()>,
    ) -> impl Future<Output = ()> {
        let (dials, dialed) = mpsc::unbounded_channel();
        self.sender.start_connector(dials);
        self.serve(handler, dialed, shutdown)
    }

    async fn serve(
        self,
        handler: Arc<dyn Handler>,
        dialed: mpsc::UnboundedReceiver<Dial>,
        shutdown: impl Future<Output = ()>,
    ) {
        let stop = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let workers = self.config.udp_workers.max(1);
        for (local, socket) in &self.udp {
            for _ in 0..workers {
                let receiver = UdpReceiver {
                    socket: Arc::clone(socket),
                    local: *local,
                    handler: Arc::clone(&handler),
                    sender: self.sender.clone(),
                    stun: self.config.stun && !local.ip().is_multicast(),
                };
                tasks.spawn(receiver.run(stop.clone()));
            }
        }
        let context = Arc::new(TcpContext {
            slots: self.slots,
            config: self.config,
            handler,
            sender: self.sender,
            connections: self.connections,
        });
        tasks.spawn(connector(dialed, Arc::clone(&context), stop.clone()));
        for (local, listener) in self.tcp {
            tasks.spawn(accept_loop(
                listener,
                local,
                Arc::clone(&context),
                stop.clone(),
            ));
        }
        shutdown.await;
        stop.cancel();
        while let Some(result) = tasks.join_next().await {
            if let Err(err) = result {
                tracing::error!("transport task failed: {err}");
            }
        }
    }
}

/// Multicast listen addresses are UDP ones, and their replies leave from a unicast UDP
/// socket of the same family, which must therefore be listed too.
fn check_multicast(specs: &[ListenSpec]) -> Result<(), BindError> {
    for spec in specs.iter().filter(|spec| spec.is_multicast()) {
        let problem = if spec.transport != Transport::Udp {
            "a multicast address can only be listened on over udp"
        } else if !specs.iter().any(|other| {
            other.transport == Transport::Udp
                && !other.is_multicast()
                && other.addr.is_ipv4() == spec.addr.is_ipv4()
        }) {
            "a multicast address needs a unicast udp address of the same family to send from"
        } else {
            continue;
        };
        return Err(BindError::Multicast {
            spec: *spec,
            problem,
        });
    }
    Ok(())
}
