//! Nonce-count replay protection (RFC 7616 §3.3, RFC 2617 §3.2.2): with a qop, a client
//! numbers the requests it sends with one nonce (`nc`), and a server must not accept the
//! same (nonce, nc) twice.
//!
//! For each nonce that has authenticated at least one request we keep a sliding window:
//! the highest nc seen and a 64-bit map of the 64 counts at and below it. A count above
//! the highest moves the window; one inside it is accepted once; one below it is refused.
//! Requests sent with one nonce may so arrive a little out of order (UDP, several
//! transactions in flight) but never twice.
//!
//! The windows live in shards, each a `Mutex<HashMap>` picked by the nonce's MAC tag, so
//! worker threads rarely wait for each other. Each shard holds at most its share of
//! `max_tracked_nonces`. Room is made by dropping expired nonces first, then the one
//! tracked the longest; a dropped nonce must not become usable again, so the shard
//! remembers the newest issue time it dropped before expiry (its floor), and a nonce it
//! does not know that was issued at or before that floor is refused as if replayed
//! (the client then gets a fresh nonce with `stale=true`).
//!
//! Windows are kept per process: nodes of a cluster share nonces but not their counts.

use crate::nonce::Tag;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::{Mutex, PoisonError};

/// Most shards we split the tracker into.
const MAX_SHARDS: usize = 64;
/// How many counts below the highest one are remembered.
const WINDOW: u32 = 64;

/// The seen counts of one nonce.
#[derive(Debug, Clone, Copy)]
struct Window {
    /// The nonce's issue time, unix seconds.
    issued: u64,
    /// The highest nc accepted.
    max: u32,
    /// Bit `i` set: `max - i` was accepted.
    seen: u64,
}

impl Window {
    fn new(issued: u64, nc: u32) -> Window {
        Window {
            issued,
            max: nc,
            seen: 1,
        }
    }

    /// Records `nc`; false when it was seen already or is below the window.
    fn accept(&mut self, nc: u32) -> bool {
        if nc > self.max {
            let shift = nc - self.max;
            self.seen = if shift >= WINDOW {
                0
            } else {
                self.seen << shift
            };
            self.seen |= 1;
            self.max = nc;
            return true;
        }
        let below = self.max - nc;
        if below >= WINDOW {
            return false;
        }
        let bit = 1u64 << below;
        let fresh = self.seen & bit == 0;
        self.seen |= bit;
        fresh
    }
}

/// A map key that hashes as its first 8 bytes: tags are MAC outputs of nonces we have
/// authenticated, so they are already uniform and cannot be chosen by an attacker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key(Tag);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut first = [0u8; 8];
        first.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(first));
    }
}

/// Passes a `u64` through.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[derive(Default)]
struct Shard {
    windows: HashMap<Key, Window, BuildHasherDefault<PassThrough>>,
    /// Tracked nonces in the order they were first tracked, with their issue time.
    order: VecDeque<(u64, Key)>,
    /// The newest issue time among nonces dropped before they expired.
    floor: Option<u64>,
}

impl Shard {
    fn make_room(&mut self, cap: usize, now: u64, lifetime: u64) {
        while let Some(&(issued, key)) = self.order.front() {
            if now.saturating_sub(issued) <= lifetime {
                break;
            }
            self.order.pop_front();
            self.windows.remove(&key);
        }
        while self.windows.len() >= cap {
            let Some((issued, key)) = self.order.pop_front() else {
                break;
            };
            self.windows.remove(&key);
            if now.saturating_sub(issued) <= lifetime {
                self.floor = Some(self.floor.map_or(issued, |f| f.max(issued)));
            }
        }
    }
}

/// The per-nonce windows, sharded.
pub(crate) struct NcTracker {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
}

impl NcTracker {
    /// A tracker for at most `max_nonces` nonces (at least one per shard).
    pub(crate) fn new(max_nonces: usize) -> NcTracker {
        // The largest power of two that is at most both MAX_SHARDS and max_nonces.
        let n = 1usize << max_nonces.clamp(1, MAX_SHARDS).ilog2();
        NcTracker {
            shards: (0..n).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard: max_nonces.max(1).div_ceil(n),
        }
    }

    fn shard(&self, tag: &Tag) -> &Mutex<Shard> {
        let i = usize::from(tag[15]) & (self.shards.len() - 1);
        &self.shards[i]
    }

    /// Records the use of count `nc` with the nonce `tag` issued at `issued`; false
    /// when this (nonce, nc) must be refused as a replay.
    pub(crate) fn accept(&self, tag: Tag, issued: u64, nc: u32, now: u64, lifetime: u64) -> bool {
        let key = Key(tag);
        let mut shard = self
            .shard(&tag)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(w) = shard.windows.get_mut(&key) {
            return w.accept(nc);
        }
        if shard.floor.is_some_and(|f| issued <= f) {
            return false;
        }
        shard.make_room(self.per_shard, now, lifetime);
        shard.windows.insert(key, Window::new(issued, nc));
        shard.order.push_back((issued, key));
        true
    }

    /// Forgets every expired nonce (for a housekeeping timer; tracking also does it
    /// lazily, shard by shard).
    pub(crate) fn purge(&self, now: u64, lifetime: u64) {
        for shard in self.shards.iter() {
            let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            let live = |issued: u64| now.saturating_sub(issued) <= lifetime;
            shard.order.retain(|&(issued, _)| live(issued));
            shard.windows.retain(|_, w| live(w.issued));
        }
    }

    /// How many nonces are tracked.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .windows
                    .len()
            })
            .sum()
    }

    #[cfg(test)]
    fn shard_count(&self) -> usize {
        self.shards.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(i: u8) -> Tag {
        let mut t = [0u8; 16];
        t[0] = i;
        t[15] = i;
        t
    }

    #[test]
    fn window() {
        let mut w = Window::new(0, 1);
        assert!(!w.accept(1), "same nc twice");
        assert!(w.accept(3));
        assert!(w.accept(2), "out of order, inside the window");
        assert!(!w.accept(2));
        assert!(w.accept(100));
        assert!(w.accept(37), "100 - 63");
        assert!(!w.accept(36), "below the window");
        assert!(!w.accept(3));
        assert!(w.accept(99));
        assert!(!w.accept(100));
        assert!(w.accept(u32::MAX));
        assert!(!w.accept(u32::MAX));
        assert!(w.accept(u32::MAX - 63));
        assert!(!w.accept(u32::MAX - 64));
    }

    #[test]
    fn shard_sizes() {
        assert_eq!(NcTracker::new(0).shard_count(), 1);
        assert_eq!(NcTracker::new(1).shard_count(), 1);
        assert_eq!(NcTracker::new(3).shard_count(), 2);
        assert_eq!(NcTracker::new(4).shard_count(), 4);
        assert_eq!(NcTracker::new(1 << 20).shard_count(), MAX_SHARDS);
        assert_eq!(NcTracker::new(1 << 20).per_shard, (1 << 20) / MAX_SHARDS);
    }

    #[test]
    fn replay_and_lifetime() {
        let t = NcTracker::new(1 << 10);
        assert!(t.accept(tag(1), 100, 1, 100, 300));
        assert!(!t.accept(tag(1), 100, 1, 101, 300));
        assert!(t.accept(tag(2), 100, 1, 101, 300), "another nonce");
        assert!(t.accept(tag(1), 100, 2, 101, 300));
        assert_eq!(t.len(), 2);
        t.purge(400, 300);
        assert_eq!(t.len(), 2, "not expired yet");
        t.purge(401, 300);
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn eviction_never_makes_a_nonce_replayable() {
        let t = NcTracker::new(2);
        assert_eq!(t.shard_count(), 2);
        // Tags 0, 2, 4 fall into shard 0, which holds one nonce.
        assert!(t.accept(tag(0), 100, 1, 100, 300));
        assert!(
            t.accept(tag(2), 101, 1, 101, 300),
            "evicts tag 0 (issued 100)"
        );
        assert!(
            !t.accept(tag(0), 100, 1, 102, 300),
            "evicted: refused, not replayable"
        );
        assert!(
            !t.accept(tag(4), 99, 1, 102, 300),
            "unknown and older than the floor"
        );
        assert!(t.accept(tag(4), 102, 1, 102, 300), "newer than the floor");
        assert!(
            t.accept(tag(1), 50, 1, 102, 300),
            "the other shard has no floor"
        );
    }

    #[test]
    fn expired_nonces_make_room_first() {
        let t = NcTracker::new(1);
        assert!(t.accept(tag(0), 100, 1, 100, 300));
        // Tag 0 has expired at 401: dropping it sets no floor.
        assert!(t.accept(tag(1), 350, 1, 401, 300));
        assert!(
            t.accept(tag(2), 360, 1, 402, 300),
            "evicts tag 1, floor 350"
        );
        assert!(!t.accept(tag(3), 350, 1, 402, 300));
        assert!(t.accept(tag(3), 351, 1, 402, 300));
    }
}
