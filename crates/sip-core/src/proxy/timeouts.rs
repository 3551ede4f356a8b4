//! Timer handling: which transactions are due (the timing wheel of [`super::timers`]),
//! firing their timers, Timer C and the failover timeout of branches, and re-arming the
//! ones whose deadline moved.

use super::*;

impl Proxy {
    /// Fires due timers and forgets finished transactions.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(owner) = self.timers.pop_due(now) {
            match owner {
                Owner::Server(k) => {
                    if let Some(s) = self.servers.get_mut(&k)
                        && s.tx.poll_timeout().is_some_and(|t| t <= now)
                    {
                        s.tx.handle_timeout(now);
                    }
                    self.flush_server(&k);
                }
                Owner::Client(k) => self.client_timeout(k, now),
                Owner::Cancel(k) => {
                    if let Some((tx, to)) = self.cancels.get_mut(&k) {
                        if tx.poll_timeout().is_some_and(|t| t <= now) {
                            tx.handle_timeout(now);
                        }
                        while let Some(data) = tx.poll_transmit() {
                            self.outbox.push_back(Transmit {
                                to: *to,
                                data,
                                owner: Some(Owner::Cancel(k.clone())),
                            });
                        }
                        while tx.poll_event().is_some() {}
                    }
                    self.touched.push(Owner::Cancel(k));
                }
            }
        }
        self.rearm();
    }

    /// A branch's timers: its transaction's, then Timer C, which cancels a branch that
    /// rang too long, or times it out if it never rang (§16.8).
    pub(super) fn client_timeout(&mut self, k: TransactionKey, now: Instant) {
        let Some(c) = self.clients.get_mut(&k) else {
            return;
        };
        if c.tx.poll_timeout().is_some_and(|t| t <= now) {
            c.tx.handle_timeout(now);
            self.drain_client(&k, now);
        }
        if let Some(c) = self.clients.get_mut(&k)
            && c.failover_at.is_some_and(|t| t <= now)
        {
            // Nothing heard from this destination: on to the next one.
            c.failover_at = None;
            c.tx.abandon();
            let server = c.server.clone();
            self.branch_failed(&server, &k, 408, "Request Timeout", now);
        }
        if let Some(c) = self.clients.get_mut(&k)
            && c.timer_c.is_some_and(|t| t <= now)
        {
            c.timer_c = None;
            let server = c.server.clone();
            if c.provisional {
                self.cancel_branch(&k, now);
            } else {
                self.branch_failed(&server, &k, 408, "Request Timeout", now);
            }
        }
        self.touched.push(Owner::Client(k));
    }

    /// Queues the new deadline of every transaction touched since the last call, and
    /// forgets the ones that are over (a server transaction once its branches are too).
    pub(super) fn rearm(&mut self) {
        while let Some(owner) = self.touched.pop() {
            let deadline = match &owner {
                Owner::Server(k) => {
                    self.settle_server(k);
                    self.servers.get(k).and_then(|s| s.tx.poll_timeout())
                }
                Owner::Client(k) => match self.clients.get(k) {
                    // A branch answered 2xx has nothing left to do here: the 2xx
                    // retransmissions that Timer M would pass on go up by Via anyway
                    // (forward_stray), as RFC 3261 had it. Not keeping it for 32 s
                    // halves the state a call leaves behind.
                    Some(c)
                        if c.tx.is_terminated()
                            || (c.done && c.tx.state() == ClientState::Accepted) =>
                    {
                        let server = c.server.clone();
                        self.clients.remove(k);
                        self.settle_server(&server);
                        None
                    }
                    Some(c) => {
                        let deadline = c.deadline();
                        if c.done {
                            let server = c.server.clone();
                            self.settle_server(&server);
                        }
                        deadline
                    }
                    None => None,
                },
                Owner::Cancel(k) => match self.cancels.get(k) {
                    Some((tx, _)) if tx.is_terminated() => {
                        self.cancels.remove(k);
                        None
                    }
                    Some((tx, _)) => tx.poll_timeout(),
                    None => None,
                },
            };
            if let Some(at) = deadline {
                self.timers.arm(at, owner);
            }
        }
        self.compact_timers();
    }

    /// Rebuilds the timer queue from the live transactions once stale entries (left by
    /// transactions that moved on or ended: an INVITE branch's Timer C entry stays 3
    /// minutes) outnumber them, so that the queue, and the keys its entries hold, stay
    /// in proportion to the transactions. Amortized: a rebuild follows at least as many
    /// pushes as it keeps.
    pub(super) fn compact_timers(&mut self) {
        let live = self.servers.len() + self.clients.len() + self.cancels.len();
        if self.timers.len() <= 2 * live + 4096 {
            return;
        }
        let mut fresh = TimerQueue::new(self.timers.origin());
        for (k, s) in &self.servers {
            if let Some(at) = s.tx.poll_timeout() {
                fresh.arm(at, Owner::Server(k.clone()));
            }
        }
        for (k, c) in &self.clients {
            if let Some(at) = c.deadline() {
                fresh.arm(at, Owner::Client(k.clone()));
            }
        }
        for (k, (tx, _)) in &self.cancels {
            if let Some(at) = tx.poll_timeout() {
                fresh.arm(at, Owner::Cancel(k.clone()));
            }
        }
        self.timers = fresh;
    }
}
