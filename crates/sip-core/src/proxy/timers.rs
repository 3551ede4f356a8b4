//! When each transaction needs the proxy next: a timing wheel of deadlines, so that
//! arming a timer and firing a due one cost O(1) whatever the number of transactions.
//!
//! Time is cut into ticks of [`TICK`] (about 17 ms, finer than any SIP timer needs: T1
//! is 500 ms; Kamailio's fast timer ticks at 62.5 ms). A deadline goes into the slot of
//! the first tick at or after it, so a timer never fires early, and at most one tick
//! late. [`SLOTS`] slots cover about 4.6 minutes ahead, beyond Timer C's 3 minutes;
//! anything further waits in a heap. A bitmap of the slots that hold something finds the
//! next deadline without visiting empty slots.
//!
//! Entries are hints: a transaction whose deadline moved keeps its old entry, which is
//! checked against the transaction's real deadline when it comes up, and dropped when
//! stale. Every change to a transaction re-arms it with its new deadline.
//!
//! A binary heap did the same at O(log n) per timer; with the hundreds of thousands of
//! transactions a busy proxy keeps for Timers J and K, its cache misses made popping
//! deadlines a few percent of the CPU spent per call.

use super::Owner;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// The length of a tick: 2^24 ns.
const TICK: Duration = Duration::from_nanos(1 << 24);
/// Slots of the wheel: a power of two.
const SLOTS: u64 = 1 << 14;
const WORDS: usize = (SLOTS / 64) as usize;
/// A slot keeps the room it grew to (slots fill again each turn) unless it is this big.
const KEEP_CAPACITY: usize = 256;

/// The deadlines.
#[derive(Debug)]
pub struct TimerQueue {
    /// Tick 0. Deadlines before it are due at once.
    origin: Instant,
    /// The tick of the last `pop_due` (0 at first): every slot holds deadlines of ticks
    /// from here on; one already past when armed is put here.
    cursor: u64,
    slots: Vec<Vec<Owner>>,
    /// Bit `i` is set when slot `i` holds something.
    occupied: Box<[u64; WORDS]>,
    /// Entries in the slots.
    in_wheel: usize,
    /// Deadlines beyond the wheel's reach.
    far: BinaryHeap<Reverse<(Instant, Owner)>>,
}

impl TimerQueue {
    /// An empty queue whose tick 0 is `origin`: the caller's clock (a sans-IO core is
    /// given the time, it never reads it).
    pub fn new(origin: Instant) -> Self {
        TimerQueue {
            origin,
            cursor: 0,
            slots: (0..SLOTS).map(|_| Vec::new()).collect(),
            occupied: Box::new([0; WORDS]),
            in_wheel: 0,
            far: BinaryHeap::new(),
        }
    }

    /// Tick 0: the instant the queue was made with.
    pub fn origin(&self) -> Instant {
        self.origin
    }

    /// The tick at or after `at`.
    fn tick_after(&self, at: Instant) -> u64 {
        let since = at.saturating_duration_since(self.origin).as_nanos();
        let tick = TICK.as_nanos();
        u64::try_from(since.div_ceil(tick)).unwrap_or(u64::MAX)
    }

    /// The last tick at or before `at`.
    fn tick_before(&self, at: Instant) -> u64 {
        let since = at.saturating_duration_since(self.origin).as_nanos();
        u64::try_from(since / TICK.as_nanos()).unwrap_or(u64::MAX)
    }

    fn instant_of(&self, tick: u64) -> Instant {
        let nanos = u64::try_from(TICK.as_nanos()).unwrap_or(u64::MAX);
        self.origin + Duration::from_nanos(tick.saturating_mul(nanos))
    }

    /// Remembers that `owner` needs attention at `at`.
    pub fn arm(&mut self, at: Instant, owner: Owner) {
        let tick = self.tick_after(at).max(self.cursor);
        if tick - self.cursor >= SLOTS {
            self.far.push(Reverse((at, owner)));
            return;
        }
        let slot = (tick % SLOTS) as usize;
        self.slots[slot].push(owner);
        self.occupied[slot / 64] |= 1 << (slot % 64);
        self.in_wheel += 1;
    }

    /// The first tick from the cursor whose slot holds something.
    fn next_occupied(&self) -> Option<u64> {
        if self.in_wheel == 0 {
            return None;
        }
        let start = (self.cursor % SLOTS) as usize;
        // The words from the cursor's, round the wheel, back to it (its low bits last).
        for step in 0..=WORDS {
            let word = (start / 64 + step) % WORDS;
            let mut bits = self.occupied[word];
            if step == 0 {
                bits &= u64::MAX << (start % 64);
            } else if step == WORDS {
                bits &= !(u64::MAX << (start % 64));
            }
            if bits != 0 {
                let slot = (word * 64 + bits.trailing_zeros() as usize) as u64;
                let ahead = (slot + SLOTS - self.cursor % SLOTS) % SLOTS;
                return Some(self.cursor + ahead);
            }
        }
        None
    }

    /// The earliest deadline, rounded up to its tick (possibly a stale one: waking up
    /// early is harmless).
    pub fn next(&self) -> Option<Instant> {
        let near = self.next_occupied().map(|t| self.instant_of(t));
        let far = self.far.peek().map(|Reverse((at, _))| *at);
        match (near, far) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next owner whose deadline is at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<Owner> {
        if self.far.peek().is_some_and(|Reverse((at, _))| *at <= now) {
            return self.far.pop().map(|Reverse((_, owner))| owner);
        }
        let last = self.tick_before(now);
        while self.cursor <= last {
            let Some(tick) = self.next_occupied().filter(|&t| t <= last) else {
                // Nothing more due. The cursor stays on the current tick: a deadline
                // armed later that is already past goes there, due at once.
                self.cursor = last;
                return None;
            };
            self.cursor = tick;
            let slot = (tick % SLOTS) as usize;
            let entries = &mut self.slots[slot];
            if let Some(owner) = entries.pop() {
                self.in_wheel -= 1;
                if entries.is_empty() {
                    self.occupied[slot / 64] &= !(1 << (slot % 64));
                    if entries.capacity() > KEEP_CAPACITY {
                        *entries = Vec::new();
                    }
                }
                return Some(owner);
            }
        }
        None
    }

    /// How many entries are queued (stale ones included).
    pub fn len(&self) -> usize {
        self.in_wheel + self.far.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(n: u32) -> Owner {
        Owner::Server(crate::transaction::TransactionKey::for_client(
            &n.to_string(),
            "INVITE",
        ))
    }

    fn drain(q: &mut TimerQueue, now: Instant) -> Vec<Owner> {
        std::iter::from_fn(|| q.pop_due(now)).collect()
    }

    #[test]
    fn fires_in_order_never_early_at_most_a_tick_late() {
        let t0 = Instant::now();
        let mut q = TimerQueue::new(t0);
        let deadlines = [500u64, 32_000, 1, 4_000, 180_000, 1_000];
        for (i, ms) in deadlines.iter().enumerate() {
            q.arm(t0 + Duration::from_millis(*ms), owner(i as u32));
        }
        assert_eq!(q.len(), deadlines.len());
        let mut fired = Vec::new();
        while let Some(at) = q.next() {
            let due = drain(&mut q, at);
            assert!(!due.is_empty(), "next() names a due instant");
            for o in due {
                let i = deadlines
                    .iter()
                    .enumerate()
                    .find(|(i, _)| owner(*i as u32) == o)
                    .map(|(i, _)| i)
                    .expect("armed");
                let deadline = t0 + Duration::from_millis(deadlines[i]);
                assert!(at >= deadline, "not before its deadline");
                assert!(at - deadline <= TICK, "at most a tick late");
                fired.push(deadlines[i]);
            }
        }
        assert_eq!(fired, [1, 500, 1_000, 4_000, 32_000, 180_000]);
        assert!(q.is_empty());
    }

    #[test]
    fn nothing_before_its_time_and_past_deadlines_at_once() {
        let t0 = Instant::now();
        let mut q = TimerQueue::new(t0);
        q.arm(t0 + Duration::from_secs(2), owner(1));
        assert!(drain(&mut q, t0 + Duration::from_secs(1)).is_empty());
        // Armed after the cursor moved past its time: due at once.
        q.arm(t0 + Duration::from_millis(10), owner(2));
        assert!(q.next().is_some_and(|at| at <= t0 + Duration::from_secs(1)));
        assert_eq!(drain(&mut q, t0 + Duration::from_secs(1)), [owner(2)]);
        q.arm(t0 + Duration::from_millis(10), owner(2));
        assert_eq!(drain(&mut q, t0 + Duration::from_millis(1_100)), [owner(2)]);
        assert_eq!(drain(&mut q, t0 + Duration::from_secs(3)), [owner(1)]);
    }

    #[test]
    fn beyond_the_wheel_waits_in_the_heap() {
        let t0 = Instant::now();
        let mut q = TimerQueue::new(t0);
        let far = t0 + Duration::from_secs(3_600);
        q.arm(far, owner(1));
        q.arm(t0 + Duration::from_secs(1), owner(2));
        assert_eq!(
            q.next(),
            Some(q.instant_of(q.tick_after(t0 + Duration::from_secs(1))))
        );
        assert_eq!(drain(&mut q, t0 + Duration::from_secs(10)), [owner(2)]);
        assert_eq!(q.next(), Some(far));
        assert!(drain(&mut q, far - Duration::from_secs(1)).is_empty());
        assert_eq!(drain(&mut q, far), [owner(1)]);
        assert_eq!(q.next(), None);
    }

    #[test]
    fn wraps_round_the_wheel() {
        let t0 = Instant::now();
        let mut q = TimerQueue::new(t0);
        let turn = TICK * SLOTS as u32;
        // Several turns, each arming a little ahead of the last drain.
        let mut now = t0;
        for i in 0..10u32 {
            let at = now + turn / 2;
            q.arm(at, owner(i));
            now = at + TICK;
            assert_eq!(drain(&mut q, now), [owner(i)]);
        }
        // One nearly a turn ahead, one a tick ahead: each fires in its own time.
        q.arm(now + turn - TICK * 2, owner(100));
        q.arm(now + TICK, owner(101));
        assert_eq!(drain(&mut q, now + TICK * 2), [owner(101)]);
        assert_eq!(drain(&mut q, now + turn), [owner(100)]);
    }
}
