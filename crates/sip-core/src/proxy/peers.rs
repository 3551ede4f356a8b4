//! Peers and flows: whether a URI names us or one of our domains, which of our
//! interfaces a message leaves from, and where a response goes by its Via.

use super::*;

impl Proxy {
    pub(super) fn own_uri(&self, uri: &Uri<'_>) -> bool {
        uri.as_sip()
            .is_some_and(|u| self.cfg.domains.is_own_uri(u, self.binds()))
    }

    pub(super) fn is_local_domain(&self, uri: &Uri<'_>) -> bool {
        uri.as_sip()
            .is_some_and(|u| self.cfg.domains.is_local_domain(u, self.binds()))
    }

    /// The addresses our sockets are bound to.
    fn binds(&self) -> impl Iterator<Item = SocketAddr> + Clone + '_ {
        self.cfg.interfaces.iter().map(|i| i.bind)
    }

    /// The interface a message to `remote` leaves from: the one bound to `local` when
    /// the caller chose the socket, else one of the transport and address family, on the
    /// loopback when the destination is.
    pub(super) fn interface_for(
        &self,
        transport: Transport,
        remote: SocketAddr,
        local: Option<SocketAddr>,
    ) -> Option<&Interface> {
        let same =
            |i: &&Interface| i.transport == transport && i.bind.is_ipv4() == remote.is_ipv4();
        let ifaces = &self.cfg.interfaces;
        local
            .and_then(|l| ifaces.iter().filter(same).find(|i| i.bind == l))
            .or_else(|| {
                ifaces
                    .iter()
                    .filter(same)
                    .find(|i| i.bind.ip().is_loopback() == remote.ip().is_loopback())
            })
            .or_else(|| ifaces.iter().find(same))
    }

    /// Fills in the local socket of a destination that has none, when it is known.
    pub(super) fn resolve_local(&self, to: Peer) -> Peer {
        if to.local.is_some() {
            return to;
        }
        Peer {
            local: self
                .interface_for(to.transport, to.remote, None)
                .filter(|i| !i.bind.ip().is_unspecified())
                .map(|i| i.bind),
            ..to
        }
    }
}

/// Where a response goes by this Via (§18.2.2, RFC 3581): received/rport, else sent-by.
pub(super) fn via_destination(via: &sip_msg::headers::Via<'_>) -> Option<Peer> {
    let transport = via.transport()?;
    let ip = via.received().or_else(|| via.host.ip())?;
    let port = via.rport().flatten().unwrap_or(via.sent_by_port());
    Some(Peer::at(transport, SocketAddr::new(ip, port)))
}
