//! The server-transaction side: a request arrives, is checked, gets its server
//! transaction (or is absorbed as a retransmission), and is answered: by us (`answer`,
//! statelessly when nothing is left to do, or `reply_stateless` before any state), or
//! with the best response of its branches (`send_upstream`). It keeps the count of
//! transactions at work that `max_transactions` bounds.

use super::*;

impl Proxy {
    pub(super) fn on_request(&mut self, msg: Message, from: Peer, now: Instant) {
        let Ok(key) = TransactionKey::for_request(&msg) else {
            if let Err(e) = msg.validate() {
                self.reply_stateless(&msg, &Reply::from(e), from);
            }
            return;
        };
        let method = msg.method();
        if let Some(server) = self.servers.get_mut(&key) {
            server.tx.on_request(method == Some(Method::Ack), now);
            self.flush_server(&key);
            return;
        }
        if method == Some(Method::Ack) {
            // An ACK for a 2xx: end to end, forwarded without a transaction.
            if check_request(&msg, false).is_ok()
                && let Ok(Routed::Next(edits, hop)) = self.route(&msg, from)
            {
                let target = Target::to_hop(hop);
                let data = self.forwarded(&msg, &edits, &target, from, false).data;
                let to = self.resolve_local(target.to);
                self.outbox.push_back(Transmit {
                    to,
                    data,
                    owner: None,
                });
            }
            return;
        }
        if method == Some(Method::Cancel) {
            self.on_cancel(msg, key, from, now);
            return;
        }
        if self.working >= self.cfg.max_transactions {
            let busy = Reply::new(503, "Server Busy");
            let data = build_reply(
                &msg,
                &busy.header("Retry-After", "1"),
                from.remote,
                &self.cfg.server,
            );
            self.outbox.push_back(Transmit {
                to: from,
                data,
                owner: None,
            });
            return;
        }
        let for_us = msg.request_uri().is_some_and(|u| self.own_uri(&u))
            && msg.count(HeaderName::Route) == 0;
        let reliable = from.transport.is_stream();
        let invite = method == Some(Method::Invite);
        // Checked before the copy kept by the transaction is made: the headers parsed
        // while checking are then parsed for both.
        let checked = check_request(&msg, for_us);
        self.insert_server(
            key.clone(),
            ServerSide::new(
                ServerTransaction::new(invite, reliable, self.cfg.timers),
                msg.clone(),
                from,
            ),
        );
        if let Err(r) = checked {
            return self.answer(&key, &r, now);
        }
        if is_loop(&msg, &self.cfg.interfaces) {
            return self.answer(&key, &Reply::new(482, "Loop Detected"), now);
        }
        if invite {
            self.answer(&key, &Reply::new(100, "Trying"), now);
        }
        match self.route(&msg, from) {
            Err(r) => self.answer(&key, &r, now),
            Ok(Routed::Next(edits, hop)) => {
                self.fork(&key, &msg, &edits, vec![Target::to_hop(hop)], from, now)
            }
            Ok(Routed::Decide(mut edits, destination)) => {
                edits.consume_credentials = true;
                if let Some(w) = self.forwarding(&key) {
                    w.edits = edits;
                }
                self.events.push_back(RoutingRequest {
                    id: key,
                    message: msg,
                    from,
                    destination,
                });
            }
        }
    }

    /// Answers a request from its server transaction.
    pub(super) fn answer(&mut self, key: &TransactionKey, r: &Reply, now: Instant) {
        let Some(s) = self.servers.get_mut(key) else {
            return;
        };
        let Some(w) = s.work.as_deref() else { return };
        let data = build_reply(&w.request, r, s.upstream.remote, &self.cfg.server);
        let stateless =
            r.code >= 200 && w.branches.is_empty() && w.request.method() != Some(Method::Invite);
        s.tx.send_response(r.code, data, now);
        if r.code >= 200 {
            s.final_sent = true;
        }
        self.flush_server(key);
        if stateless {
            // Our own final answer to a non-INVITE request leaves no state behind, as a
            // stateless UAS (RFC 3261 §8.2.7; SER's sl_send_reply): a retransmission is
            // answered by running it again. Keeping the transaction for Timer J (32 s
            // over UDP) would hold a million REGISTERs at 30 000 a second.
            self.remove_server(key);
        }
    }

    pub(super) fn reply_stateless(&mut self, req: &Message, r: &Reply, to: Peer) {
        if req.method() == Some(Method::Ack) {
            return;
        }
        let data = build_reply(req, r, to.remote, &self.cfg.server);
        self.outbox.push_back(Transmit {
            to,
            data,
            owner: None,
        });
    }

    pub(super) fn flush_server(&mut self, key: &TransactionKey) {
        self.touched.push(Owner::Server(key.clone()));
        let Some(s) = self.servers.get_mut(key) else {
            return;
        };
        let to = s.upstream;
        while let Some(data) = s.tx.poll_transmit() {
            self.outbox.push_back(Transmit {
                to,
                data,
                owner: Some(Owner::Server(key.clone())),
            });
        }
        while s.tx.poll_event().is_some() {}
    }

    pub(super) fn send_upstream(
        &mut self,
        server: &TransactionKey,
        code: u16,
        data: Bytes,
        now: Instant,
    ) {
        if let Some(s) = self.servers.get_mut(server) {
            s.tx.send_response(code, data, now);
            if code >= 200 {
                s.final_sent = true;
            }
        }
        self.flush_server(server);
    }

    /// Forgets a terminated server transaction once none of its branches is left, and
    /// drops the forwarding state of one that has nothing left to forward: its final
    /// response is out and every branch has a final response of its own.
    pub(super) fn settle_server(&mut self, key: &TransactionKey) {
        let Some(s) = self.servers.get(key) else {
            return;
        };
        let clients = &self.clients;
        let branches = s.branches();
        if s.tx.is_terminated() && !branches.iter().any(|b| clients.contains_key(b)) {
            self.remove_server(key);
        } else if s.final_sent
            && s.work.is_some()
            && branches
                .iter()
                .all(|b| clients.get(b).is_none_or(|c| c.done))
            && let Some(s) = self.servers.get_mut(key)
        {
            s.work = None;
            self.working -= 1;
        }
    }

    pub(super) fn insert_server(&mut self, key: TransactionKey, server: ServerSide) {
        if let Some(old) = self.servers.insert(key, server)
            && old.work.is_some()
        {
            self.working -= 1;
        }
        self.working += 1;
    }

    pub(super) fn remove_server(&mut self, key: &TransactionKey) {
        if let Some(old) = self.servers.remove(key)
            && old.work.is_some()
        {
            self.working -= 1;
        }
    }
}

/// The response `r` to `req`, built without a transaction: To tag derived from the
/// request, Via with received/rport for `source`, the Server header `server`. For
/// answers given before any state exists (overload shedding, say).
pub fn build_reply(req: &Message, r: &Reply, source: SocketAddr, server: &str) -> Bytes {
    let tag = to_tag(req);
    let mut b = ResponseBuilder::new(req, r.code, &r.reason)
        .to_tag(tag.as_str())
        .received_from(source)
        .header("Server", server);
    for (name, value) in &r.headers {
        b = b.header(name, value);
    }
    if r.code == 405 || r.code == 501 || (r.code == 200 && req.method() == Some(Method::Options)) {
        b = b
            .header("Allow", ALLOWED_METHODS)
            .header("Supported", SUPPORTED_HEADER);
    }
    b.build()
}

/// A To tag derived from the request, so that a retransmitted request answered without
/// state gets the same tag (RFC 3261 §8.2.6.2).
pub(super) fn to_tag(msg: &Message) -> HexTag {
    // The texts as received (a retransmission repeats them byte for byte), not their
    // parsed tag and branch: no parameter walk per answer.
    let mut h = FIXED_HASH.build_hasher();
    msg.header(HeaderName::CallId).hash(&mut h);
    msg.header(HeaderName::From).hash(&mut h);
    msg.top_via().ok().map(|v| v.raw).hash(&mut h);
    HexTag::new(h.finish())
}

/// A 64-bit value as 16 lower-case hex digits, on the stack.
pub(super) struct HexTag([u8; 16]);

impl HexTag {
    fn new(mut n: u64) -> HexTag {
        let mut digits = [b'0'; 16];
        for d in digits.iter_mut().rev() {
            *d = b"0123456789abcdef"[(n & 0xf) as usize];
            n >>= 4;
        }
        HexTag(digits)
    }

    fn as_str(&self) -> &str {
        // Only hex digits are written.
        std::str::from_utf8(&self.0).unwrap_or("0")
    }
}
