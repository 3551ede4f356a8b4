//! A shared list of destinations that failed recently.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::Hop;

/// How many destinations a [`Blocklist`] holds by default.
pub const DEFAULT_CAPACITY: usize = 65_536;

/// Destinations that failed recently, each until its entry expires.
///
/// Thread-safe (a mutex inside): share it by reference or in an `Arc`.
/// It only reorders: [`Blocklist::order`] moves blocked hops after the
/// others and never drops one, so when every destination of a domain failed
/// recently they are all still tried and one failed call does not make
/// every later call to that domain fail.
#[derive(Debug)]
pub struct Blocklist {
    capacity: usize,
    entries: Mutex<HashMap<Hop, Instant>>,
}

impl Default for Blocklist {
    fn default() -> Self {
        Blocklist::new()
    }
}

impl Blocklist {
    /// An empty list holding up to [`DEFAULT_CAPACITY`] destinations.
    pub fn new() -> Self {
        Blocklist::with_capacity(DEFAULT_CAPACITY)
    }

    /// An empty list holding up to `capacity` destinations (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Blocklist {
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<Hop, Instant>> {
        // The map stays consistent even if a holder panicked.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Blocks `hop` for `ttl` from `now` (extending or shortening an
    /// existing entry). When the list is full, expired entries go first,
    /// then the one that expires soonest.
    pub fn block(&self, hop: Hop, ttl: Duration, now: Instant) {
        let until = now
            .checked_add(ttl)
            .or_else(|| now.checked_add(Duration::from_secs(86_400 * 365)))
            .unwrap_or(now);
        let mut entries = self.entries();
        if !entries.contains_key(&hop) && entries.len() >= self.capacity {
            entries.retain(|_, until| *until > now);
            if entries.len() >= self.capacity {
                let soonest = entries
                    .iter()
                    .min_by_key(|(_, until)| **until)
                    .map(|(hop, _)| *hop);
                if let Some(soonest) = soonest {
                    entries.remove(&soonest);
                }
            }
        }
        entries.insert(hop, until);
    }

    /// Whether `hop` is blocked at `now`.
    pub fn is_blocked(&self, hop: &Hop, now: Instant) -> bool {
        self.entries().get(hop).is_some_and(|until| *until > now)
    }

    /// Moves blocked hops after the others (stable), never removes any:
    /// when every destination failed recently they are still tried, so one
    /// failed call never makes every later call to that domain fail.
    pub fn order(&self, hops: Vec<Hop>, now: Instant) -> Vec<Hop> {
        let entries = self.entries();
        let blocked = |hop: &Hop| entries.get(hop).is_some_and(|until| *until > now);
        let (mut open, closed): (Vec<Hop>, Vec<Hop>) = hops.into_iter().partition(|h| !blocked(h));
        open.extend(closed);
        open
    }

    /// Drops expired entries.
    pub fn purge(&self, now: Instant) {
        self.entries().retain(|_, until| *until > now);
    }

    /// How many entries the list holds (expired ones included until purged).
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether the list holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, SocketAddr};

    use super::*;
    use crate::Transport;

    fn hop(last: u8) -> Hop {
        Hop {
            transport: Transport::Udp,
            addr: SocketAddr::from((Ipv4Addr::new(192, 0, 2, last), 5060)),
        }
    }

    const TTL: Duration = Duration::from_secs(30);

    #[test]
    fn blocked_until_expiry() {
        let list = Blocklist::new();
        let t0 = Instant::now();
        list.block(hop(1), TTL, t0);
        assert!(list.is_blocked(&hop(1), t0));
        assert!(list.is_blocked(&hop(1), t0 + Duration::from_secs(29)));
        assert!(!list.is_blocked(&hop(1), t0 + TTL));
        assert!(!list.is_blocked(&hop(2), t0));
        // The transport is part of the destination.
        let tcp = Hop {
            transport: Transport::Tcp,
            ..hop(1)
        };
        assert!(!list.is_blocked(&tcp, t0));
    }

    #[test]
    fn order_moves_blocked_last_and_keeps_all() {
        let list = Blocklist::new();
        let t0 = Instant::now();
        list.block(hop(1), TTL, t0);
        list.block(hop(3), TTL, t0);
        let hops = vec![hop(1), hop(2), hop(3), hop(4)];
        assert_eq!(
            list.order(hops.clone(), t0),
            [hop(2), hop(4), hop(1), hop(3)]
        );
        // All blocked: all kept, in their order.
        list.block(hop(2), TTL, t0);
        list.block(hop(4), TTL, t0);
        assert_eq!(list.order(hops.clone(), t0), hops);
        // Expired: back in place.
        assert_eq!(list.order(hops.clone(), t0 + TTL), hops);
    }

    #[test]
    fn purge_drops_expired_only() {
        let list = Blocklist::new();
        let t0 = Instant::now();
        list.block(hop(1), Duration::from_secs(10), t0);
        list.block(hop(2), Duration::from_secs(60), t0);
        list.purge(t0 + Duration::from_secs(20));
        assert_eq!(list.len(), 1);
        assert!(list.is_blocked(&hop(2), t0 + Duration::from_secs(20)));
        list.purge(t0 + Duration::from_secs(60));
        assert!(list.is_empty());
    }

    #[test]
    fn capacity_evicts_expired_then_soonest() {
        let list = Blocklist::with_capacity(3);
        let t0 = Instant::now();
        list.block(hop(1), Duration::from_secs(5), t0);
        list.block(hop(2), Duration::from_secs(50), t0);
        list.block(hop(3), Duration::from_secs(20), t0);
        // Full, hop 1 expired by now: it goes.
        let t1 = t0 + Duration::from_secs(10);
        list.block(hop(4), TTL, t1);
        assert_eq!(list.len(), 3);
        assert!(list.is_blocked(&hop(2), t1) && list.is_blocked(&hop(3), t1));
        // Full, none expired: the soonest to expire (hop 3) goes.
        list.block(hop(5), TTL, t1);
        assert_eq!(list.len(), 3);
        assert!(!list.is_blocked(&hop(3), t1));
        assert!(list.is_blocked(&hop(2), t1));
        assert!(list.is_blocked(&hop(4), t1));
        assert!(list.is_blocked(&hop(5), t1));
        // Re-blocking a present hop evicts nothing.
        list.block(hop(5), TTL, t1);
        assert_eq!(list.len(), 3);
    }

    #[test]
    fn shared_between_threads() {
        let list = std::sync::Arc::new(Blocklist::new());
        let t0 = Instant::now();
        let handles: Vec<_> = (0..4u8)
            .map(|i| {
                let list = list.clone();
                std::thread::spawn(move || list.block(hop(i), TTL, t0))
            })
            .collect();
        for h in handles {
            h.join().expect("thread");
        }
        assert_eq!(list.len(), 4);
    }
}
