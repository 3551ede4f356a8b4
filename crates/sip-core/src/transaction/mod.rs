//! Transactions (RFC 3261 §17, with the RFC 6026 `Accepted` state), sans-IO.
//!
//! Each transaction is a plain state machine. The caller feeds it messages and the
//! current time, and polls what to send ([`ClientTransaction::poll_transmit`]), what to
//! tell the transaction user (`poll_event`) and when to wake it (`poll_timeout`), in the
//! manner of quinn-proto. Nothing here reads a clock or touches a socket, so every timer
//! path is tested with virtual time.
//!
//! # Layout
//! - [`key`]: transaction identity, for requests (§17.2.3, with the RFC 2543 fallback)
//!   and responses (§17.1.3).
//! - [`client`]: INVITE and non-INVITE client transactions (§17.1), timers A, B, D, E,
//!   F, K, M.
//! - [`server`]: INVITE and non-INVITE server transactions (§17.2), timers G, H, I, J, L.
//! - [`sent_invite`]: what a client transaction keeps of its INVITE, for the CANCEL
//!   (§9.1) and the ACK of a non-2xx final response (§17.1.1.3).

pub mod client;
pub mod key;
pub mod sent_invite;
pub mod server;

#[cfg(test)]
mod tests;

pub use client::{ClientEvent, ClientTransaction};
pub use key::TransactionKey;
pub use sent_invite::SentInvite;
pub use server::{ServerEvent, ServerTransaction};

use std::time::Duration;

/// The timer base values (RFC 3261 §17.1.1.1, Table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate (default 500 ms).
    pub t1: Duration,
    /// Longest retransmit interval for non-INVITE requests and INVITE responses (4 s).
    pub t2: Duration,
    /// Longest time a message stays in the network (5 s).
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl TimerConfig {
    /// 64 × T1: timers B, F, H, J, L, M.
    pub fn timeout(&self) -> Duration {
        self.t1 * 64
    }
}

/// The earlier of two optional instants (a retransmission timer and a deadline).
fn earliest(
    a: Option<std::time::Instant>,
    b: Option<std::time::Instant>,
) -> Option<std::time::Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
