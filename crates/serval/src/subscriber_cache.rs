//! Subscriber rows kept in memory for a short while, so that a phone refreshing its
//! registration, or a caller's challenged INVITE, does not cost a database round trip
//! each time (SER and Kamailio read `subscriber` for every authenticated request).
//!
//! A row is kept for `[auth] cache_ttl` after it was read, an unknown user for at most
//! [`NEGATIVE_TTL`] (so that a subscriber just added with `servalctl` can register at
//! once, while a scanner trying user names does not reach the database for each try).
//! A password changed in the database takes effect within `cache_ttl`.
//!
//! Sharded, with a bound on the entries: past it, expired entries are dropped, and if
//! none is, the shard is emptied (the next reads refill it).

use serval_store::{Store, StoreError, Subscriber};
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an unknown user is remembered as unknown, at most.
pub const NEGATIVE_TTL: Duration = Duration::from_secs(5);

const SHARDS: usize = 16;

/// `user@domain` → the row, or `None` for nobody, and when it was read.
type Shard = HashMap<String, (Instant, Option<Arc<Subscriber>>)>;

/// The cache.
pub struct SubscriberCache {
    ttl: Duration,
    per_shard: usize,
    hasher: RandomState,
    shards: Vec<Mutex<Shard>>,
}

impl SubscriberCache {
    /// Rows kept `ttl`, at most about `max` of them.
    pub fn new(ttl: Duration, max: usize) -> SubscriberCache {
        SubscriberCache {
            ttl,
            per_shard: (max / SHARDS).max(1),
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn shard(&self, user: &str, domain: &str) -> std::sync::MutexGuard<'_, Shard> {
        let i = (self.hasher.hash_one((user, domain)) % SHARDS as u64) as usize;
        self.shards[i]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The subscriber `user@domain`: from memory when read recently, else from `store`.
    pub async fn subscriber(
        &self,
        store: &Store,
        user: &str,
        domain: &str,
        now: Instant,
    ) -> Result<Option<Arc<Subscriber>>, StoreError> {
        if let Some(found) = self.cached(user, domain, now) {
            return Ok(found);
        }
        let row = store.subscriber(user, domain).await?.map(Arc::new);
        self.remember(user, domain, row.clone(), now);
        Ok(row)
    }

    fn cached(&self, user: &str, domain: &str, now: Instant) -> Option<Option<Arc<Subscriber>>> {
        let shard = self.shard(user, domain);
        let (at, row) = shard.get(&key(user, domain))?;
        let ttl = if row.is_some() {
            self.ttl
        } else {
            self.ttl.min(NEGATIVE_TTL)
        };
        (now.saturating_duration_since(*at) < ttl).then(|| row.clone())
    }

    fn remember(&self, user: &str, domain: &str, row: Option<Arc<Subscriber>>, now: Instant) {
        if self.ttl.is_zero() {
            return;
        }
        let mut shard = self.shard(user, domain);
        if shard.len() >= self.per_shard {
            let ttl = self.ttl;
            shard.retain(|_, (at, _)| now.saturating_duration_since(*at) < ttl);
            if shard.len() >= self.per_shard {
                shard.clear();
            }
        }
        shard.insert(key(user, domain), (now, row));
    }

    /// Drops the expired entries.
    pub fn purge(&self, now: Instant) {
        for shard in &self.shards {
            let mut shard = shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            shard.retain(|_, (at, row)| {
                let ttl = if row.is_some() {
                    self.ttl
                } else {
                    self.ttl.min(NEGATIVE_TTL)
                };
                now.saturating_duration_since(*at) < ttl
            });
        }
    }

    /// How many entries are held.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .len()
            })
            .sum()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn key(user: &str, domain: &str) -> String {
    let mut k = String::with_capacity(user.len() + domain.len() + 1);
    k.push_str(user);
    k.push('@');
    k.push_str(domain);
    k
}

/// The subscriber table, read through the cache.
pub struct Subscribers {
    store: Store,
    cache: SubscriberCache,
}

impl Subscribers {
    /// `store`'s subscribers, cached for `ttl` (zero: not cached).
    pub fn new(store: Store, ttl: Duration) -> Subscribers {
        Subscribers {
            store,
            cache: SubscriberCache::new(ttl, 1 << 20),
        }
    }

    /// The subscriber `user@domain`, if there is one.
    pub async fn get(
        &self,
        user: &str,
        domain: &str,
    ) -> Result<Option<Arc<Subscriber>>, StoreError> {
        self.cache
            .subscriber(&self.store, user, domain, Instant::now())
            .await
    }

    /// Drops the expired cache entries.
    pub fn purge(&self) {
        self.cache.purge(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("cache.db").display());
        let store = Store::connect(&url).await.expect("store");
        store.migrate().await.expect("schema");
        (store, dir)
    }

    fn alice() -> Subscriber {
        Subscriber {
            username: "alice".into(),
            domain: "example.com".into(),
            password: Some("secret".into()),
            ha1: None,
            ha1_sha256: None,
            email: None,
        }
    }

    #[tokio::test]
    async fn rows_are_reused_for_the_ttl_and_unknown_users_for_at_most_five_seconds() {
        let (store, _dir) = store().await;
        let cache = SubscriberCache::new(Duration::from_secs(60), 1000);
        let t0 = Instant::now();
        // Unknown: remembered as unknown, but only briefly.
        assert!(
            cache
                .subscriber(&store, "alice", "example.com", t0)
                .await
                .expect("read")
                .is_none()
        );
        store.add_subscriber(&alice()).await.expect("added");
        let soon = t0 + Duration::from_secs(1);
        assert!(
            cache
                .subscriber(&store, "alice", "example.com", soon)
                .await
                .expect("read")
                .is_none()
        );
        let later = t0 + NEGATIVE_TTL + Duration::from_secs(1);
        let found = cache
            .subscriber(&store, "alice", "example.com", later)
            .await
            .expect("read");
        assert_eq!(found.map(|s| s.username.clone()).as_deref(), Some("alice"));
        // Deleted in the database: still served from memory within the TTL, not after.
        store
            .delete_subscriber("alice", "example.com")
            .await
            .expect("deleted");
        let within = later + Duration::from_secs(59);
        assert!(
            cache
                .subscriber(&store, "alice", "example.com", within)
                .await
                .expect("read")
                .is_some()
        );
        let past = later + Duration::from_secs(61);
        assert!(
            cache
                .subscriber(&store, "alice", "example.com", past)
                .await
                .expect("read")
                .is_none()
        );
        cache.purge(past + Duration::from_secs(10));
        assert!(cache.is_empty());
    }

    #[tokio::test]
    async fn a_zero_ttl_reads_every_time_and_the_size_is_bounded() {
        let (store, _dir) = store().await;
        let off = SubscriberCache::new(Duration::ZERO, 1000);
        let now = Instant::now();
        assert!(
            off.subscriber(&store, "alice", "example.com", now)
                .await
                .expect("read")
                .is_none()
        );
        store.add_subscriber(&alice()).await.expect("added");
        assert!(
            off.subscriber(&store, "alice", "example.com", now)
                .await
                .expect("read")
                .is_some()
        );
        assert!(off.is_empty());
        let small = SubscriberCache::new(Duration::from_secs(60), SHARDS * 2);
        for n in 0..1000 {
            small
                .subscriber(&store, &format!("user{n}"), "example.com", now)
                .await
                .expect("read");
        }
        assert!(small.len() <= SHARDS * 2, "{}", small.len());
    }
}
