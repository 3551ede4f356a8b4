//! Forwarding a request (RFC 3261 §16.4–§16.6): where it goes (our Route entries taken
//! off, the strict-router fix, the next hop), and the copy each branch sends (Via,
//! Record-Route, Max-Forwards, our credentials consumed, NAT fix-ups), with the key of
//! the client transaction it will be.

use super::*;
use crate::transaction::SentInvite;

impl Proxy {
    /// Where a request goes: on to the next Route entry, or up for a decision about its
    /// target, with the edits (Route popping, strict-router fix-up) either way.
    pub(super) fn route(&self, msg: &Message, from: Peer) -> Result<Routed, Reply> {
        let routes: Vec<_> = msg
            .routes()
            .collect::<Result<_, _>>()
            .map_err(Reply::from)?;
        let mut edits = RouteEdits::default();
        let mut rest = &routes[..];
        // Strict-router compatibility (§16.4): the Request-URI is a Record-Route value
        // of ours (no user part: a user at our address is a real target); the real
        // target is the last Route.
        if let (Some(uri), Some(last)) = (msg.request_uri(), routes.last())
            && self.own_uri(&uri)
            && uri.as_sip().is_some_and(|u| u.user.is_none() && !u.lr())
            && !rest.is_empty()
        {
            edits.request_uri = Some(last.uri.as_str().to_owned());
            edits.drop_last_route = true;
            rest = &rest[..rest.len() - 1];
        }
        // Our own entries at the top (two of them after a double Record-Route), one of
        // them perhaps with a flow token.
        let mut flow = None;
        while let Some(first) = rest.first() {
            if !self.own_uri(&first.uri) {
                break;
            }
            flow = flow.or_else(|| {
                let user = first.uri.as_sip()?.user?;
                flow::decode(user, &self.cfg.flow_secret)
            });
            edits.pop_routes += 1;
            rest = &rest[1..];
        }
        // Down the flow, unless the request came over it (then it is the UA's own).
        if let Some((transport, addr)) = flow
            && rest.is_empty()
            && (transport, addr) != (from.transport, from.remote)
        {
            return Ok(Routed::Next(edits, NextHop { transport, addr }));
        }
        if let Some(next) = rest.first() {
            if edits.pop_routes == 0 && !edits.drop_last_route {
                // A Route set that did not bring the request through us: whether we relay
                // it is policy, as for any foreign destination.
                return Ok(Routed::Decide(edits, Destination::Foreign));
            }
            let uri = route_uri(next)
                .ok_or_else(|| Reply::new(416, "Unsupported URI Scheme in Route"))?;
            let hop =
                numeric_next_hop(&uri).ok_or_else(|| Reply::new(503, "Next Hop Not Resolvable"))?;
            return Ok(Routed::Next(edits, hop));
        }
        let target = match &edits.request_uri {
            Some(_) => routes.last().map(|r| r.uri),
            None => msg.request_uri(),
        };
        let Some(target) = target else {
            return Err(Reply::new(400, "Bad Request-URI"));
        };
        // Max-Forwards 0 passed the sanity checks only as an OPTIONS for us (§16.3).
        let last_hop = msg.max_forwards().ok().flatten() == Some(0);
        let destination = if self.own_uri(&target)
            && (last_hop || target.as_sip().is_some_and(|u| u.user.is_none()))
        {
            Destination::Server
        } else if self.is_local_domain(&target) || self.own_uri(&target) {
            Destination::LocalDomain
        } else if !matches!(target, Uri::Sip(_) | Uri::Tel(_)) {
            return Err(Reply::new(416, "Unsupported URI Scheme"));
        } else if edits.pop_routes > 0
            && let Some(hop) = target.as_sip().and_then(|u| numeric_next_hop(u))
        {
            // Loose routing brought it here for an address: the previous hop chose it.
            return Ok(Routed::Next(edits, hop));
        } else {
            Destination::Foreign
        };
        Ok(Routed::Decide(edits, destination))
    }

    /// Writes the forwarded request (§16.6): Route popping, the target's Request-URI and
    /// Route (Path), Max-Forwards, Record-Route, our Via, received/rport on the previous
    /// hop's Via. Its branch key, and for an INVITE the fields its CANCEL and ACK repeat,
    /// come from the values written, not from parsing what was written.
    pub(super) fn forwarded(
        &mut self,
        msg: &Message,
        edits: &RouteEdits,
        target: &Target,
        from: Peer,
        record_route: bool,
    ) -> Forwarded {
        self.seq += 1;
        let to = target.to;
        let out_if = self.interface_for(to.transport, to.remote, to.local);
        let in_if = self.interface_for(from.transport, from.remote, from.local);
        let advertise = out_if.map_or("invalid", |i| i.advertise.as_str());
        // The loop hash goes first in our branches (§16.6 step 8), for `is_loop`.
        let branch = format!("z9hG4bK{:016x}{:x}", loop_hash(msg), self.seq);
        let mf = msg
            .max_forwards()
            .ok()
            .flatten()
            .unwrap_or(70)
            .saturating_sub(1);
        let mut e = msg.edit();
        e.set_via_received(from.remote.ip(), from.remote.port());
        e.remove_first_values(HeaderName::Route, edits.pop_routes);
        // The Route values the branch carries, in order: what is left of the request's
        // (in place, or written again at the end when the last one goes), then the
        // target's, written at the end. Listed only when needed: to rebuild them, or for
        // an INVITE's CANCEL and ACK.
        let invite = msg.method() == Some(Method::Invite);
        let mut kept: Vec<&str> = if edits.drop_last_route || invite {
            msg.list(HeaderName::Route).skip(edits.pop_routes).collect()
        } else {
            Vec::new()
        };
        if edits.drop_last_route {
            // Only reached with a single Route line in practice; rebuild the list.
            kept.pop();
            e.remove_header(HeaderName::Route);
            for r in &kept {
                e.add_header("Route", r);
            }
        }
        let routes = kept
            .iter()
            .copied()
            .chain(target.route.iter().map(String::as_str));
        for r in &target.route {
            e.add_header("Route", r);
        }
        if edits.consume_credentials {
            self.consume_credentials(msg, &mut e);
        }
        // An outbound UA (RFC 5626: `ob` in its Contact) right behind us: our
        // Record-Route names its flow.
        let flow_user = if record_route && outbound_ua(msg) {
            format!("{}@", flow::encode(from, &self.cfg.flow_secret))
        } else {
            String::new()
        };
        let contact = self.reachable_contact(msg, from);
        if let Some(contact) = &contact {
            e.remove_header(HeaderName::Contact);
            e.add_header("Contact", contact);
        }
        let new_uri = target.request_uri.as_ref().or(edits.request_uri.as_ref());
        if let Some(uri) = new_uri {
            e.set_request_uri(uri);
        }
        e.set_max_forwards(mf);
        if record_route {
            let rr = |i: &Interface, user: &str| {
                let t = if i.transport == Transport::Udp {
                    String::new()
                } else {
                    format!(";transport={}", i.transport.uri_token())
                };
                format!("<sip:{user}{}{t};lr>", i.advertise)
            };
            match (out_if, in_if) {
                (Some(o), Some(i)) if o != i => {
                    // The flow token goes in the entry facing the UA.
                    let (o, i) = (
                        rr(o, "").replace(";lr>", ";lr;r2=on>"),
                        rr(i, &flow_user).replace(";lr>", ";lr;r2=on>"),
                    );
                    e.push_record_route(&o).push_record_route(&i);
                }
                (Some(o), _) => {
                    e.push_record_route(&rr(o, &flow_user));
                }
                _ => {}
            }
        }
        let via = format!(
            "SIP/2.0/{} {advertise};branch={branch};rport",
            to.transport.via_token()
        );
        e.push_via(&via);
        let invite = invite
            .then(|| {
                Some(SentInvite::new(
                    new_uri.map(String::as_str).or(msg.request_uri_str())?,
                    &via,
                    routes,
                    msg.header(HeaderName::From)?,
                    msg.header(HeaderName::To)?,
                    msg.header(HeaderName::CallId)?,
                    msg.cseq().ok()?.seq,
                ))
            })
            .flatten();
        Forwarded {
            data: e.to_bytes(),
            key: TransactionKey::for_client(&branch, msg.method_str().unwrap_or("")),
            invite,
        }
    }

    /// The Contact to put in place of a NATed sender's own (§ [`nat`]): in requests that
    /// set a dialog's remote target, and in their 18x and 2xx.
    pub(super) fn reachable_contact(&self, msg: &Message, from: Peer) -> Option<String> {
        let cseq = msg.cseq().ok()?;
        let sets_target = match cseq.method {
            Method::Invite | Method::Subscribe | Method::Notify | Method::Refer => true,
            Method::Other => cseq.method_str.eq_ignore_ascii_case("UPDATE"),
            _ => false,
        };
        if !sets_target || !nat::behind_nat(msg, from, &self.cfg.nat) {
            return None;
        }
        nat::public_contact(msg, from)
    }

    /// A response from a branch, for upstream: our Via off, and a NATed callee's
    /// Contact made reachable.
    pub(super) fn upstream_response(&self, resp: &Message, from: Peer) -> Bytes {
        let mut e = resp.edit();
        e.remove_top_via();
        if let Some(contact) = self.reachable_contact(resp, from) {
            e.remove_header(HeaderName::Contact);
            e.add_header("Contact", &contact);
        }
        e.to_bytes()
    }

    /// Takes off the Proxy-Authorization values whose realm is one of our domains, and
    /// keeps the others (credentials for proxies further on, §22.3).
    pub(super) fn consume_credentials(&self, msg: &Message, e: &mut sip_msg::Editor<'_>) {
        let ours = |realm: &str| self.cfg.domains.contains(realm);
        let values: Vec<(&str, bool)> = msg
            .header_values(HeaderName::ProxyAuthorization)
            .map(|v| {
                let mine = sip_msg::headers::AuthValue::parse(v, HeaderName::ProxyAuthorization)
                    .ok()
                    .and_then(|a| a.realm())
                    .is_some_and(|r| ours(&r));
                (v, mine)
            })
            .collect();
        if !values.iter().any(|&(_, mine)| mine) {
            return;
        }
        e.remove_header(HeaderName::ProxyAuthorization);
        for (v, _) in values.iter().filter(|&&(_, mine)| !mine) {
            e.add_header("Proxy-Authorization", v);
        }
    }
}

/// Whether `msg` comes straight from a UA that uses RFC 5626 outbound (one Via, `ob` in
/// its Contact URI).
pub(super) fn outbound_ua(msg: &Message) -> bool {
    msg.vias().nth(1).is_none()
        && msg.contacts().flatten().any(|c| match c {
            sip_msg::headers::Contact::Addr(a) => {
                a.uri.as_sip().is_some_and(|u| u.params.has("ob"))
            }
            sip_msg::headers::Contact::Star => false,
        })
}

/// A request as forwarded on one branch.
pub(super) struct Forwarded {
    /// What goes on the wire.
    pub data: Bytes,
    /// Its client transaction's key (our branch, its method).
    pub key: TransactionKey,
    /// For an INVITE, the fields its CANCEL and ACK repeat; `None` for other methods
    /// (and for an INVITE missing a header the sanity checks require).
    pub invite: Option<SentInvite>,
}
