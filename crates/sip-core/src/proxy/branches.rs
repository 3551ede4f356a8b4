//! Branches and forking: a routing decision becomes groups of branches (parallel
//! within a group, serial between groups, RFC 3261 §16.6–§16.7), each a client
//! transaction; their responses are collected, the best goes upstream, a failed
//! destination fails over to the next one, and the server transaction is finished when
//! nothing is left to try.

use super::peers::via_destination;
use super::*;

impl Proxy {
    pub(super) fn apply_decision(&mut self, id: &TransactionKey, decision: Decision, now: Instant) {
        let Some(s) = self.servers.get_mut(id) else {
            return;
        };
        let final_sent = s.final_sent;
        let Some(w) = s
            .work
            .as_deref_mut()
            .filter(|w| !final_sent && w.branches.is_empty())
        else {
            return;
        };
        match decision {
            Decision::Reply(reply) => self.answer(id, &reply, now),
            Decision::Relay(groups) => {
                w.serial = groups.into_iter().filter(|g| !g.is_empty()).collect();
                if w.serial.is_empty() {
                    return self.answer(id, &Reply::new(480, "Temporarily Unavailable"), now);
                }
                self.next_serial_group(id, now);
            }
        }
    }

    /// Starts the next group of targets; false when none is left.
    pub(super) fn next_serial_group(&mut self, id: &TransactionKey, now: Instant) -> bool {
        let Some(group) = self.forwarding(id).and_then(|w| w.serial.pop_front()) else {
            return false;
        };
        self.fork_more(id, group, now)
    }

    /// Starts more branches of a server transaction's request (the next serial group, a
    /// failover), unless it was cancelled or has its final response.
    pub(super) fn fork_more(
        &mut self,
        id: &TransactionKey,
        targets: Vec<Target>,
        now: Instant,
    ) -> bool {
        let Some(s) = self.servers.get(id) else {
            return false;
        };
        let from = s.upstream;
        let Some(w) = s.work.as_deref().filter(|w| !w.cancelled && !s.final_sent) else {
            return false;
        };
        let (msg, edits) = (w.request.clone(), w.edits.clone());
        self.fork(id, &msg, &edits, targets, from, now);
        true
    }

    /// Starts one client transaction per target (parallel forking, §16.6).
    pub(super) fn fork(
        &mut self,
        key: &TransactionKey,
        msg: &Message,
        edits: &RouteEdits,
        targets: Vec<Target>,
        from: Peer,
        now: Instant,
    ) {
        let dialog_creating = matches!(
            msg.method(),
            Some(Method::Invite | Method::Subscribe | Method::Refer | Method::Notify)
        ) && msg.to().is_ok_and(|t| t.tag().is_none());
        let invite = msg.method() == Some(Method::Invite);
        for target in targets {
            let out = self.forwarded(msg, edits, &target, from, dialog_creating);
            let branch_key = out.key;
            let to = self.resolve_local(target.to);
            let retry = target.next_destination().map(Box::new);
            let failover_at = retry.as_ref().map(|_| now + self.cfg.failover_timeout);
            let (reliable, timers) = (to.transport.is_stream(), self.cfg.timers);
            let mut tx = match out.invite {
                Some(sent) => ClientTransaction::invite(out.data, sent, reliable, timers, now),
                None if invite => continue, // lacks a header the sanity checks require
                None => ClientTransaction::non_invite(out.data, reliable, timers, now),
            };
            while let Some(data) = tx.poll_transmit() {
                self.outbox.push_back(Transmit {
                    to,
                    data,
                    owner: Some(Owner::Client(branch_key.clone())),
                });
            }
            self.clients.insert(
                branch_key.clone(),
                ClientSide {
                    tx,
                    server: key.clone(),
                    to,
                    provisional: false,
                    done: false,
                    cancel: CancelState::None,
                    timer_c: invite.then(|| now + self.cfg.timer_c),
                    retry,
                    failover_at,
                },
            );
            self.touched.push(Owner::Client(branch_key.clone()));
            if let Some(w) = self.forwarding(key) {
                w.branches.push(branch_key);
            }
        }
    }

    pub(super) fn fail_delivery(&mut self, owner: &Owner, now: Instant) {
        match owner {
            Owner::Client(key) => {
                if let Some(c) = self.clients.get_mut(key) {
                    c.tx.on_transport_error();
                    self.drain_client(key, now);
                }
            }
            Owner::Cancel(key) => {
                if let Some((tx, _)) = self.cancels.get_mut(key) {
                    tx.on_transport_error();
                    while tx.poll_event().is_some() {}
                    self.touched.push(owner.clone());
                }
            }
            Owner::Server(key) => {
                if let Some(s) = self.servers.get_mut(key) {
                    s.tx.on_transport_error();
                    self.flush_server(key);
                }
            }
        }
    }

    pub(super) fn on_response(&mut self, msg: Message, now: Instant) {
        let Ok(key) = TransactionKey::for_response(&msg) else {
            return;
        };
        if let Some((tx, to)) = self.cancels.get_mut(&key) {
            tx.on_response(msg, now);
            let to = *to;
            while let Some(data) = tx.poll_transmit() {
                self.outbox.push_back(Transmit {
                    to,
                    data,
                    owner: Some(Owner::Cancel(key.clone())),
                });
            }
            while tx.poll_event().is_some() {}
            self.touched.push(Owner::Cancel(key));
            return;
        }
        if let Some(c) = self.clients.get_mut(&key) {
            c.tx.on_response(msg, now);
            self.drain_client(&key, now);
            return;
        }
        self.forward_stray(&msg);
    }

    /// A final response that matches no transaction goes on by its Via when the top Via
    /// is ours (§16.7, §18.2.2), e.g. a 2xx retransmission after our transaction ended.
    ///
    /// A provisional one does not. Its transaction is over (a branch answered 2xx is let
    /// go at once, see `rearm`) or was never ours, so nothing upstream waits for it; and
    /// it would reach the caller after the final response when the two were reordered
    /// on the way (UDP, or two of our receivers taking them at once). RFC 3261 §16.7
    /// forwards even those; RFC 6026's Accepted state absorbs them, as we do.
    pub(super) fn forward_stray(&mut self, msg: &Message) {
        if msg.status().is_none_or(|code| code < 200) {
            return;
        }
        let mut vias = msg.vias();
        let Some(Ok(top)) = vias.next() else { return };
        if !is_our_via(&top, &self.cfg.interfaces) {
            return;
        }
        let Some(Ok(next)) = vias.next() else { return };
        let Some(to) = via_destination(&next) else {
            return;
        };
        let data = msg.edit().remove_top_via().to_bytes();
        let to = self.resolve_local(to);
        self.outbox.push_back(Transmit {
            to,
            data,
            owner: None,
        });
    }

    pub(super) fn drain_client(&mut self, key: &TransactionKey, now: Instant) {
        self.touched.push(Owner::Client(key.clone()));
        loop {
            let Some(c) = self.clients.get_mut(key) else {
                return;
            };
            let to = c.to;
            while let Some(data) = c.tx.poll_transmit() {
                self.outbox.push_back(Transmit {
                    to,
                    data,
                    owner: Some(Owner::Client(key.clone())),
                });
            }
            let Some(event) = c.tx.poll_event() else {
                return;
            };
            let server = c.server.clone();
            match event {
                ClientEvent::Response(resp) => self.branch_response(&server, key, resp, now),
                ClientEvent::Timeout => {
                    self.branch_failed(&server, key, 408, "Request Timeout", now)
                }
                ClientEvent::TransportError => {
                    self.branch_failed(&server, key, 503, "Service Unavailable", now)
                }
            }
        }
    }

    pub(super) fn branch_response(
        &mut self,
        server: &TransactionKey,
        key: &TransactionKey,
        resp: Message,
        now: Instant,
    ) {
        let Some(code) = resp.status() else { return };
        let Some(c) = self.clients.get_mut(key) else {
            return;
        };
        c.failover_at = None;
        if code == 503 {
            // RFC 3261 §21.5.4: its Retry-After says for how long.
            let retry_after = resp
                .retry_after()
                .ok()
                .flatten()
                .map(|r| Duration::from_secs(u64::from(r.seconds)));
            self.unreachable.push_back(Unreachable {
                peer: c.to,
                retry_after,
            });
            if self.fail_over(server, key, now) {
                return;
            }
        }
        let Some(c) = self.clients.get_mut(key) else {
            return;
        };
        let branch_peer = c.to;
        if code < 200 {
            if code > 100 {
                c.timer_c = c.timer_c.map(|_| now + self.cfg.timer_c);
            }
            c.provisional = true;
            if c.cancel == CancelState::Pending {
                self.cancel_branch(key, now);
            }
            if code > 100 {
                let data = self.upstream_response(&resp, branch_peer);
                self.send_upstream(server, code, data, now);
            }
            return;
        }
        c.done = true;
        c.timer_c = None;
        if (200..300).contains(&code) {
            if let Some(s) = self.servers.get_mut(server) {
                s.final_sent = true;
            }
            let data = self.upstream_response(&resp, branch_peer);
            self.send_upstream(server, code, data, now);
            self.cancel_others(server, key, now);
            return;
        }
        if code >= 600 {
            self.cancel_others(server, key, now);
        }
        let data = resp.edit().remove_top_via().to_bytes();
        if let Some(w) = self.forwarding(server) {
            w.best.offer(code, Some(data));
        }
        self.maybe_finish(server, now);
    }

    pub(super) fn branch_failed(
        &mut self,
        server: &TransactionKey,
        key: &TransactionKey,
        code: u16,
        _reason: &str,
        now: Instant,
    ) {
        if let Some(c) = self.clients.get_mut(key) {
            c.done = true;
            c.timer_c = None;
            self.unreachable.push_back(Unreachable {
                peer: c.to,
                retry_after: None,
            });
        }
        if self.fail_over(server, key, now) {
            return;
        }
        if let Some(w) = self.forwarding(server) {
            w.best.offer(code, None);
        }
        self.maybe_finish(server, now);
    }

    /// Sends a failed branch's request to its target's next destination, as a new client
    /// transaction (RFC 3263 §4.3), unless it has none or the caller cancelled.
    pub(super) fn fail_over(
        &mut self,
        server: &TransactionKey,
        key: &TransactionKey,
        now: Instant,
    ) -> bool {
        let Some(c) = self.clients.get_mut(key) else {
            return false;
        };
        let Some(next) = c.retry.take() else {
            return false;
        };
        c.done = true;
        c.timer_c = None;
        c.failover_at = None;
        self.fork_more(server, vec![*next], now)
    }

    /// Sends the best final response once every branch has one (§16.7 step 6).
    pub(super) fn maybe_finish(&mut self, server: &TransactionKey, now: Instant) {
        let Some(s) = self.servers.get(server) else {
            return;
        };
        let Some(w) = s.work.as_deref().filter(|_| !s.final_sent) else {
            return;
        };
        if !w
            .branches
            .iter()
            .all(|b| self.clients.get(b).is_none_or(|c| c.done))
        {
            return;
        }
        // Serial forking: the next group, unless a 6xx said nobody will answer.
        if w.best.code().is_none_or(|c| c < 600) && self.next_serial_group(server, now) {
            return;
        }
        let Some((code, data)) = self.forwarding(server).and_then(|w| w.best.take()) else {
            return;
        };
        match data {
            // A 503 from downstream becomes 500 upstream (§16.7 step 6).
            Some(_) if code == 503 => {
                self.answer(server, &Reply::new(500, "Server Internal Error"), now)
            }
            Some(data) => self.send_upstream(server, code, data, now),
            None => {
                let r = if code == 408 {
                    Reply::new(408, "Request Timeout")
                } else {
                    Reply::new(500, "Server Internal Error")
                };
                self.answer(server, &r, now)
            }
        }
        if let Some(s) = self.servers.get_mut(server) {
            s.final_sent = true;
        }
    }
}
