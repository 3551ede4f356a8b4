//! When each transaction needs the proxy next: a min-heap of deadlines, so that finding
//! the next one and firing the due ones costs O(log n) per timer instead of a scan of
//! every transaction.
//!
//! Entries are hints: a transaction whose deadline moved keeps its old entry, which is
//! checked against the transaction's real deadline when it comes up, and dropped when
//! stale. Every change to a transaction re-arms it with its new deadline.

use crate::transaction::TransactionKey;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// Which transaction a deadline belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum TimerOwner {
    /// A server transaction.
    Server(TransactionKey),
    /// A client transaction (a branch), including its Timer C.
    Client(TransactionKey),
    /// A CANCEL we sent.
    Cancel(TransactionKey),
}

/// The deadlines.
#[derive(Debug, Default)]
pub struct TimerQueue {
    heap: BinaryHeap<Reverse<(Instant, TimerOwner)>>,
}

impl TimerQueue {
    /// Remembers that `owner` needs attention at `at`.
    pub fn arm(&mut self, at: Instant, owner: TimerOwner) {
        self.heap.push(Reverse((at, owner)));
    }

    /// The earliest deadline (possibly a stale one: waking up early is harmless).
    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    /// The next owner whose deadline is at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<TimerOwner> {
        if self.next()? > now {
            return None;
        }
        self.heap.pop().map(|Reverse((_, owner))| owner)
    }

    /// How many entries are queued (stale ones included).
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}
