//! Server transactions (RFC 3261 §17.2, RFC 6026 §7.1).
//!
//! INVITE: Proceeding (a retransmitted request gets the last provisional again) →
//! Completed on 300–699 (timer G retransmits the response over UDP, doubling up to T2;
//! timer H gives up waiting for the ACK) → Confirmed on the ACK (absorbing further ACKs
//! until timer I); or Accepted on a 2xx (retransmitted INVITEs absorbed, further 2xx
//! passed through, until timer L).
//!
//! Non-INVITE: Trying (retransmissions absorbed silently) → Proceeding on a provisional
//! → Completed on a final response, replayed for every retransmission until timer J.

use super::TimerConfig;
use bytes::Bytes;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Where a server transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerState {
    /// Non-INVITE received, no response yet.
    Trying,
    /// A provisional response was sent (INVITE starts here).
    Proceeding,
    /// A final response was sent (non-2xx for INVITE).
    Completed,
    /// INVITE: the ACK for the non-2xx arrived.
    Confirmed,
    /// INVITE: a 2xx was sent (RFC 6026).
    Accepted,
    /// Done.
    Terminated,
}

/// What a server transaction tells its user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerEvent {
    /// Timer H fired: the ACK for a non-2xx final response never came.
    AckTimeout,
    /// The response could not be sent.
    TransportError,
}

/// One server transaction.
#[derive(Debug)]
pub struct ServerTransaction {
    invite: bool,
    reliable: bool,
    timers: TimerConfig,
    state: ServerState,
    last_response: Option<Bytes>,
    /// Timer G: next retransmission of the final response and the current interval.
    retransmit: Option<(Instant, Duration)>,
    /// Timer H, I, J or L.
    deadline: Option<Instant>,
    outbox: VecDeque<Bytes>,
    events: VecDeque<ServerEvent>,
}

impl ServerTransaction {
    /// Creates the transaction for a new request.
    pub fn new(invite: bool, reliable: bool, timers: TimerConfig) -> Self {
        ServerTransaction {
            invite,
            reliable,
            timers,
            state: if invite {
                ServerState::Proceeding
            } else {
                ServerState::Trying
            },
            last_response: None,
            retransmit: None,
            deadline: None,
            outbox: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The current state.
    pub fn state(&self) -> ServerState {
        self.state
    }

    /// Whether the transaction is over.
    pub fn is_terminated(&self) -> bool {
        self.state == ServerState::Terminated
    }

    /// Handles a request matched to this transaction: a retransmission of the original
    /// request, or (INVITE) the ACK for a non-2xx final response. Nothing reaches the
    /// transaction user; the last response is replayed where the RFC says so.
    pub fn on_request(&mut self, is_ack: bool, now: Instant) {
        use ServerState::*;
        match (self.state, is_ack) {
            (Completed, true) if self.invite => {
                self.retransmit = None;
                if self.reliable {
                    self.state = Terminated;
                    self.deadline = None;
                } else {
                    self.state = Confirmed;
                    self.deadline = Some(now + self.timers.t4);
                }
            }
            (Proceeding | Completed, false) => {
                if let Some(r) = &self.last_response {
                    self.outbox.push_back(r.clone());
                }
            }
            // Trying: absorbed silently. Confirmed/Accepted: absorbed.
            _ => {}
        }
    }

    /// Sends a response from the transaction user.
    pub fn send_response(&mut self, code: u16, response: Bytes, now: Instant) {
        use ServerState::*;
        match (self.state, code) {
            (Trying | Proceeding, 100..=199) => {
                self.state = Proceeding;
                self.last_response = Some(response.clone());
                self.outbox.push_back(response);
            }
            (Proceeding, 200..=299) if self.invite => {
                self.state = Accepted;
                // Retransmitted INVITEs are absorbed from now on: no provisional to replay.
                self.last_response = None;
                self.deadline = Some(now + self.timers.timeout());
                self.outbox.push_back(response);
            }
            (Accepted, 200..=299) => self.outbox.push_back(response),
            (Proceeding, 300..) if self.invite => {
                self.state = Completed;
                self.last_response = Some(response.clone());
                self.outbox.push_back(response);
                if !self.reliable {
                    self.retransmit = Some((now + self.timers.t1, self.timers.t1));
                }
                self.deadline = Some(now + self.timers.timeout());
            }
            (Trying | Proceeding, 200..) => {
                self.last_response = Some(response.clone());
                self.outbox.push_back(response);
                if self.reliable {
                    self.state = Terminated;
                } else {
                    self.state = Completed;
                    self.deadline = Some(now + self.timers.timeout());
                }
            }
            // A response after the final one is a transaction-user error: not sent.
            _ => {}
        }
    }

    /// Reports that a response could not be sent.
    pub fn on_transport_error(&mut self) {
        self.events.push_back(ServerEvent::TransportError);
        self.state = ServerState::Terminated;
        self.retransmit = None;
        self.deadline = None;
    }

    /// When [`ServerTransaction::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        super::earliest(self.retransmit.map(|(at, _)| at), self.deadline)
    }

    /// Fires the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.deadline.is_some_and(|d| d <= now) {
            if self.state == ServerState::Completed && self.invite {
                self.events.push_back(ServerEvent::AckTimeout);
            }
            self.state = ServerState::Terminated;
            self.retransmit = None;
            self.deadline = None;
            return;
        }
        if let Some((at, interval)) = self.retransmit.filter(|&(at, _)| at <= now) {
            if let Some(r) = &self.last_response {
                self.outbox.push_back(r.clone());
            }
            let next = (interval * 2).min(self.timers.t2);
            self.retransmit = Some((at + next, next));
        }
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.outbox.pop_front()
    }

    /// The next event for the transaction user.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }
}
