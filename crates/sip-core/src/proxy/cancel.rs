//! CANCEL (RFC 3261 §16.10, §9.1): answered 200 at once, the pending INVITE answered
//! 487, and a CANCEL sent on every branch that had a provisional response (held until
//! one arrives for the others).

use super::forward::client_key;
use super::*;

impl Proxy {
    pub(super) fn on_cancel(
        &mut self,
        msg: Message,
        key: TransactionKey,
        from: Peer,
        now: Instant,
    ) {
        let invite_key = key.with_method("INVITE");
        let found = self.servers.get(&invite_key).is_some_and(|s| !s.final_sent);
        self.insert_server(
            key.clone(),
            ServerSide::new(
                ServerTransaction::new(false, from.transport.is_stream(), self.cfg.timers),
                msg,
                from,
            ),
        );
        if !found {
            return self.answer(
                &key,
                &Reply::new(481, "Call/Transaction Does Not Exist"),
                now,
            );
        }
        self.answer(&key, &Reply::new(200, "OK"), now);
        let Some(invite) = self.forwarding(&invite_key) else {
            return;
        };
        invite.cancelled = true;
        let branches = invite.branches.clone();
        let live = branches
            .iter()
            .any(|b| self.clients.get(b).is_some_and(|c| !c.done));
        if !live {
            // Still waiting for its routing decision, or between two serial groups.
            return self.answer(&invite_key, &Reply::new(487, "Request Terminated"), now);
        }
        for b in branches {
            self.cancel_branch(&b, now);
        }
    }

    pub(super) fn cancel_branch(&mut self, key: &TransactionKey, now: Instant) {
        let Some(c) = self.clients.get_mut(key) else {
            return;
        };
        if c.done || c.cancel == CancelState::Sent {
            return;
        }
        if !c.provisional {
            c.cancel = CancelState::Pending;
            return;
        }
        c.cancel = CancelState::Sent;
        let to = c.to;
        let Some(cancel) = c.tx.request().and_then(cancel_for) else {
            return;
        };
        let Ok(cancel) = Message::parse(cancel) else {
            return;
        };
        let Ok(ckey) = client_key(&cancel) else {
            return;
        };
        let mut tx = ClientTransaction::new(cancel, to.transport.is_stream(), self.cfg.timers, now);
        while let Some(data) = tx.poll_transmit() {
            self.outbox.push_back(Transmit { to, data });
        }
        self.touched.push(TimerOwner::Cancel(ckey.clone()));
        self.cancels.insert(ckey, (tx, to));
    }

    pub(super) fn cancel_others(
        &mut self,
        server: &TransactionKey,
        except: &TransactionKey,
        now: Instant,
    ) {
        let branches = self
            .servers
            .get(server)
            .map(|s| s.branches().to_vec())
            .unwrap_or_default();
        for b in branches.iter().filter(|b| *b != except) {
            self.cancel_branch(b, now);
        }
    }
}

/// The CANCEL for a request we sent (§9.1): same Request-URI, Call-ID, From, To, CSeq
/// number, Route, and our Via only.
pub(super) fn cancel_for(req: &Message) -> Option<Bytes> {
    let via = req.list(HeaderName::Via).next()?;
    let mut s = format!(
        "CANCEL {} SIP/2.0\r\nVia: {via}\r\n",
        req.request_uri_str()?
    );
    for r in req.header_values(HeaderName::Route) {
        s.push_str(&format!("Route: {r}\r\n"));
    }
    s.push_str(&format!(
        "From: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {} CANCEL\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        req.header(HeaderName::From)?,
        req.header(HeaderName::To)?,
        req.header(HeaderName::CallId)?,
        req.cseq().ok()?.seq
    ));
    Some(Bytes::from(s))
}
