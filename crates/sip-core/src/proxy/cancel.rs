//! CANCEL (RFC 3261 §16.10, §9.1): answered 200 at once, the pending INVITE answered
//! 487, and a CANCEL sent on every branch that had a provisional response (held until
//! one arrives for the others).

use super::*;
use crate::transaction::SentInvite;

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
        let Some(cancel) = c.tx.sent_invite().map(SentInvite::cancel) else {
            return;
        };
        // Its key: the INVITE's branch with method CANCEL (§9.1: the same Via).
        let ckey = key.with_method("CANCEL");
        let mut tx =
            ClientTransaction::non_invite(cancel, to.transport.is_stream(), self.cfg.timers, now);
        while let Some(data) = tx.poll_transmit() {
            self.outbox.push_back(Transmit {
                to,
                data,
                owner: Some(Owner::Cancel(ckey.clone())),
            });
        }
        self.touched.push(Owner::Cancel(ckey.clone()));
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
