//! Client transactions (RFC 3261 §17.1, RFC 6026 §7.2).
//!
//! INVITE: Calling (timer A retransmits over UDP, timer B gives up) → Proceeding on a
//! provisional → Completed on 300–699 (the ACK is sent here, again for every
//! retransmitted final response, until timer D) or Accepted on a 2xx (every 2xx,
//! retransmissions included, goes to the transaction user until timer M, because the
//! ACK for a 2xx is end to end).
//!
//! Non-INVITE: Trying (timer E retransmits, doubling up to T2; timer F gives up) →
//! Proceeding on a provisional (E keeps firing every T2) → Completed on a final
//! response, absorbing retransmissions until timer K.

use super::TimerConfig;
use super::sent_invite::SentInvite;
use bytes::Bytes;
use sip_msg::Message;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Timer D for unreliable transports: at least 32 s (RFC 3261 Table 4).
const TIMER_D: Duration = Duration::from_secs(32);

/// Where a client transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    /// INVITE sent, nothing heard.
    Calling,
    /// Non-INVITE sent, nothing heard.
    Trying,
    /// A provisional response arrived.
    Proceeding,
    /// INVITE answered with 2xx (RFC 6026).
    Accepted,
    /// Final response received (non-2xx for INVITE).
    Completed,
    /// Done: the transaction can be forgotten.
    Terminated,
}

/// What a client transaction tells its user.
#[derive(Debug, Clone)]
// Events are taken out as soon as they are made: boxing the response would cost an
// allocation per response for nothing.
#[allow(clippy::large_enum_variant)]
pub enum ClientEvent {
    /// A response to pass up (provisional, final, or a 2xx retransmission).
    Response(Message),
    /// Timer B or F fired with no final response: act as on a 408 (§8.1.3.1).
    Timeout,
    /// The request could not be sent: act as on a 503 (§8.1.3.1).
    TransportError,
}

/// One client transaction.
#[derive(Debug)]
pub struct ClientTransaction {
    invite: bool,
    reliable: bool,
    timers: TimerConfig,
    state: ClientState,
    /// The request, kept for retransmission until a final response arrives.
    request: Option<Bytes>,
    /// An INVITE's fields, for its CANCEL and the ACK of a non-2xx, until the final
    /// response arrives.
    sent_invite: Option<Box<SentInvite>>,
    ack: Option<Bytes>,
    /// Next retransmission of the request (timer A or E) and the current interval.
    retransmit: Option<(Instant, Duration)>,
    /// Timer B, F, D, K or M, depending on the state.
    deadline: Option<Instant>,
    outbox: VecDeque<Bytes>,
    events: VecDeque<ClientEvent>,
}

impl ClientTransaction {
    /// Starts an INVITE transaction: `request` is queued for sending at once; `sent`
    /// holds its fields for the CANCEL and the ACK.
    pub fn invite(
        request: Bytes,
        sent: SentInvite,
        reliable: bool,
        timers: TimerConfig,
        now: Instant,
    ) -> Self {
        Self::start(request, true, Some(Box::new(sent)), reliable, timers, now)
    }

    /// Starts a non-INVITE transaction: `request` is queued for sending at once.
    pub fn non_invite(request: Bytes, reliable: bool, timers: TimerConfig, now: Instant) -> Self {
        Self::start(request, false, None, reliable, timers, now)
    }

    /// Starts the transaction of a parsed request (an INVITE's fields read from it; one
    /// that lacks them still runs as an INVITE, with no CANCEL or ACK to give).
    pub fn new(request: Message, reliable: bool, timers: TimerConfig, now: Instant) -> Self {
        let invite = request.method() == Some(sip_msg::Method::Invite);
        let sent = invite.then(|| SentInvite::of(&request)).flatten();
        Self::start(
            request.as_bytes().clone(),
            invite,
            sent.map(Box::new),
            reliable,
            timers,
            now,
        )
    }

    fn start(
        request: Bytes,
        invite: bool,
        sent_invite: Option<Box<SentInvite>>,
        reliable: bool,
        timers: TimerConfig,
        now: Instant,
    ) -> Self {
        let mut outbox = VecDeque::new();
        outbox.push_back(request.clone());
        ClientTransaction {
            invite,
            reliable,
            timers,
            state: if invite {
                ClientState::Calling
            } else {
                ClientState::Trying
            },
            ack: None,
            retransmit: (!reliable).then_some((now + timers.t1, timers.t1)),
            deadline: Some(now + timers.timeout()),
            outbox,
            events: VecDeque::new(),
            request: Some(request),
            sent_invite,
        }
    }

    /// The current state.
    pub fn state(&self) -> ClientState {
        self.state
    }

    /// The fields of the INVITE this transaction sends, until its final response
    /// arrives (what is left of the transaction then only absorbs retransmissions).
    pub fn sent_invite(&self) -> Option<&SentInvite> {
        self.sent_invite.as_deref()
    }

    /// Whether the transaction is over.
    pub fn is_terminated(&self) -> bool {
        self.state == ClientState::Terminated
    }

    /// Handles a response matched to this transaction.
    pub fn on_response(&mut self, response: Message, now: Instant) {
        let Some(code) = response.status() else {
            return;
        };
        use ClientState::*;
        match (self.state, code) {
            (Calling | Trying | Proceeding, 100..=199) => {
                if self.invite {
                    // No retransmission and no timer B once the far end is heard.
                    self.retransmit = None;
                    self.deadline = None;
                } else if let Some((at, _)) = self.retransmit {
                    // Timer E now fires every T2.
                    self.retransmit = Some((at, self.timers.t2 / 2));
                }
                self.state = Proceeding;
                self.events.push_back(ClientEvent::Response(response));
            }
            (Calling | Proceeding, 200..=299) if self.invite => {
                self.state = Accepted;
                self.request = None;
                self.sent_invite = None;
                self.retransmit = None;
                self.deadline = Some(now + self.timers.timeout());
                self.events.push_back(ClientEvent::Response(response));
            }
            (Accepted, 200..=299) => self.events.push_back(ClientEvent::Response(response)),
            (Calling | Proceeding, _) if self.invite => {
                self.request = None;
                self.ack = self
                    .sent_invite
                    .take()
                    .zip(response.header(sip_msg::HeaderName::To))
                    .map(|(sent, to)| sent.ack(to));
                if let Some(ack) = &self.ack {
                    self.outbox.push_back(ack.clone());
                }
                self.retransmit = None;
                self.enter_completed(now, TIMER_D);
                self.events.push_back(ClientEvent::Response(response));
            }
            (Completed, 300..) if self.invite => {
                if let Some(ack) = &self.ack {
                    self.outbox.push_back(ack.clone());
                }
            }
            (Trying | Proceeding, 200..) => {
                self.retransmit = None;
                self.request = None;
                self.enter_completed(now, self.timers.t4);
                self.events.push_back(ClientEvent::Response(response));
            }
            // Late provisionals, retransmitted finals after Completed: absorbed.
            _ => {}
        }
    }

    fn enter_completed(&mut self, now: Instant, linger: Duration) {
        if self.reliable {
            self.state = ClientState::Terminated;
            self.deadline = None;
        } else {
            self.state = ClientState::Completed;
            self.deadline = Some(now + linger);
        }
    }

    /// Reports that the transport failed to send the request.
    ///
    /// Once the final response is in, this concerns only the ACK of a non-2xx (all that
    /// is sent then): the transaction stays as it is, absorbing the retransmitted
    /// response and sending the ACK again for each.
    pub fn on_transport_error(&mut self) {
        if matches!(
            self.state,
            ClientState::Calling | ClientState::Trying | ClientState::Proceeding
        ) {
            self.events.push_back(ClientEvent::TransportError);
            self.terminate();
        }
    }

    /// Gives up on a request nobody answered yet, without telling the transaction user
    /// (it is moving on to another destination): no more retransmissions, and a late
    /// response matches nothing.
    pub fn abandon(&mut self) {
        self.events.clear();
        self.terminate();
    }

    fn terminate(&mut self) {
        self.state = ClientState::Terminated;
        self.request = None;
        self.sent_invite = None;
        self.retransmit = None;
        self.deadline = None;
    }

    /// When [`ClientTransaction::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        super::earliest(self.retransmit.map(|(at, _)| at), self.deadline)
    }

    /// Fires the timers that are due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.deadline.is_some_and(|d| d <= now) {
            if matches!(
                self.state,
                ClientState::Calling | ClientState::Trying | ClientState::Proceeding
            ) {
                self.events.push_back(ClientEvent::Timeout);
            }
            self.terminate();
            return;
        }
        if let Some((at, interval)) = self.retransmit.filter(|&(at, _)| at <= now) {
            if let Some(request) = &self.request {
                self.outbox.push_back(request.clone());
            }
            let next = if self.invite {
                interval * 2
            } else {
                (interval * 2).min(self.timers.t2)
            };
            self.retransmit = Some((at + next, next));
        }
    }

    /// The next message to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.outbox.pop_front()
    }

    /// The next event for the transaction user, if any.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }
}
