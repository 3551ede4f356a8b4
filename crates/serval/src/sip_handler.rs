//! The bridge from the transport layer to the sans-IO SIP core: each received message
//! goes to [`sip_core::Endpoint::handle`], and a reply goes back where the message came
//! from (the same TCP connection, or the source address from the receiving UDP socket).

use sip_core::{Endpoint, InboundMeta, Outcome};
use sip_transport::{Handler, Inbound, Sender};

/// Where the SIP message trace is logged (`RUST_LOG=sip=trace`, or `-vv`).
const TRACE_TARGET: &str = "sip";

/// Hands messages to a SIP [`Endpoint`] and sends its replies.
pub struct EndpointHandler {
    endpoint: Endpoint,
}

impl EndpointHandler {
    /// A handler for `endpoint`.
    pub fn new(endpoint: Endpoint) -> EndpointHandler {
        EndpointHandler { endpoint }
    }
}

impl Handler for EndpointHandler {
    fn handle(&self, inbound: Inbound, sender: &Sender) {
        tracing::trace!(
            target: TRACE_TARGET,
            "received from {}:{}:\n{}",
            inbound.transport.uri_token(),
            inbound.source,
            String::from_utf8_lossy(&inbound.data)
        );
        let meta = InboundMeta {
            transport: inbound.transport,
            source: inbound.source,
            local: inbound.local,
        };
        let route = inbound.reply_route();
        match self.endpoint.handle(inbound.data, &meta) {
            Outcome::Reply(reply) => {
                tracing::trace!(
                    target: TRACE_TARGET,
                    "sending to {route}:\n{}",
                    String::from_utf8_lossy(&reply)
                );
                if let Err(err) = sender.try_send(&route, reply) {
                    tracing::debug!("reply to {} not sent: {err}", meta.source);
                }
            }
            Outcome::Drop => {}
        }
    }
}
