//! The location service: the in-memory table and the database, kept together as the
//! storage mode says (SER's usrloc `db_mode`).
//!
//! | mode | lookups read | a REGISTER's 200 OK means | at start |
//! | --- | --- | --- | --- |
//! | `memory` | memory | in memory only | empty |
//! | `write-through` | memory | committed to the database | loaded |
//! | `write-back` | memory | in memory; written at the next flush (at most one flush interval is lost on a crash) | loaded |
//! | `db-only` | the database | committed | nothing to load |
//!
//! `db-only` keeps no cache, so several serval nodes can share one database as one
//! location service. REGISTERs for AORs of the same shard are applied one at a time
//! (an async lock per shard), so two concurrent REGISTERs of one AOR cannot lose each
//! other's bindings.

use crate::binding::{Aor, Binding, Reach};
use crate::location::{Location, SHARDS};
use crate::register::{self, Plan, RegistrarConfig};
use crate::store::{Change, LocationStore, StoreError};
use sip_core::Reply;
use sip_msg::Message;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Where bindings live (SER's `db_mode`); the config file names them (`serval-config`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StorageMode {
    /// In memory only; lost at restart.
    Memory,
    /// In memory and in the database, written before the 200 OK.
    #[default]
    WriteThrough,
    /// In memory, written to the database on a timer and at shutdown.
    WriteBack,
    /// In the database only.
    DbOnly,
}

impl StorageMode {
    /// Whether lookups are served from memory (and the table is loaded at start).
    pub fn caches(self) -> bool {
        self != StorageMode::DbOnly
    }
}

/// Why a REGISTER got no 200.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// The request itself is refused (400, 423...).
    #[error("{} {}", .0.code, .0.reason)]
    Refused(Reply),
    /// The database failed: nothing was changed.
    #[error("location database: {0}")]
    Store(StoreError),
}

/// Write-back changes by (AOR, contact).
type Dirty = HashMap<(Aor, Arc<str>), Change>;

/// The location service over a store `S`.
pub struct LocationService<S> {
    mode: StorageMode,
    store: S,
    cache: Location,
    cfg: RegistrarConfig,
    locks: Vec<tokio::sync::Mutex<()>>,
    /// Write-back: the latest change per (AOR, contact) not yet written, in the shards
    /// of `locks` (no lock shared by every REGISTER).
    dirty: Vec<Mutex<Dirty>>,
}

impl<S: LocationStore> LocationService<S> {
    /// A service in `mode` over `store`.
    pub fn new(store: S, mode: StorageMode, cfg: RegistrarConfig) -> Self {
        LocationService {
            mode,
            store,
            cache: Location::default(),
            cfg,
            locks: (0..SHARDS).map(|_| tokio::sync::Mutex::new(())).collect(),
            dirty: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    /// The storage mode.
    pub fn mode(&self) -> StorageMode {
        self.mode
    }

    /// The registrar limits.
    pub fn config(&self) -> &RegistrarConfig {
        &self.cfg
    }

    /// The database.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Fills the cache from the database (caching modes with a database); says how many
    /// bindings were loaded.
    pub async fn load(&self) -> Result<u64, StoreError> {
        if !self.mode.caches() || self.mode == StorageMode::Memory {
            return Ok(0);
        }
        let cache = &self.cache;
        self.store.load(|aor, b| cache.insert(aor, b)).await
    }

    /// Applies a REGISTER for `aor` that arrived over `reach` at `now` (Unix seconds):
    /// the AOR's live bindings after it, or why not.
    pub async fn register(
        &self,
        req: &Message,
        aor: &Aor,
        reach: Reach,
        now: i64,
    ) -> Result<Vec<Binding>, RegisterError> {
        let _turn = self.locks[self.cache.shard_of(aor)].lock().await;
        let current = match self.mode {
            StorageMode::DbOnly => self
                .store
                .bindings(aor)
                .await
                .map_err(RegisterError::Store)?,
            _ => self.cache.get(aor, now),
        };
        let Plan { bindings, changes } = register::plan(req, aor, &current, reach, now, &self.cfg)
            .map_err(RegisterError::Refused)?;
        if changes.is_empty() {
            return Ok(bindings);
        }
        match self.mode {
            StorageMode::Memory => {}
            StorageMode::WriteThrough | StorageMode::DbOnly => self
                .store
                .apply(&changes)
                .await
                .map_err(RegisterError::Store)?,
            StorageMode::WriteBack => self.mark_dirty(changes, true),
        }
        if self.mode.caches() {
            self.cache.set(aor, bindings.clone());
        }
        Ok(bindings)
    }

    /// Queues `changes` for the next flush; `replace` says whether a change replaces
    /// one already queued for the same binding (a newer one does; one put back after a
    /// failed write does not).
    fn mark_dirty(&self, changes: Vec<Change>, replace: bool) {
        for c in changes {
            let (aor, contact) = c.key();
            let key = (aor.clone(), contact.clone());
            let mut dirty = self.dirty[self.cache.shard_of(aor)]
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if replace {
                dirty.insert(key, c);
            } else {
                dirty.entry(key).or_insert(c);
            }
        }
    }

    /// The live bindings of `aor` at `now`, highest q first.
    pub async fn lookup(&self, aor: &Aor, now: i64) -> Result<Vec<Binding>, StoreError> {
        let mut bindings = match self.mode {
            StorageMode::DbOnly => {
                let mut all = self.store.bindings(aor).await?;
                all.retain(|b| b.is_live(now));
                all
            }
            _ => self.cache.get(aor, now),
        };
        bindings.sort_by(|a, b| b.q.cmp(&a.q).then(b.last_modified.cmp(&a.last_modified)));
        Ok(bindings)
    }

    /// The live bindings of UAs behind a NAT that registered over UDP: the ones that need
    /// keep-alives to hold their NAT mapping open. (db-only reads the whole table.)
    pub async fn natted_udp(&self, now: i64) -> Result<Vec<(Aor, Binding)>, StoreError> {
        let wanted = |b: &Binding| {
            b.is_live(now) && b.reach.is_some_and(|r| r.nat && !r.transport.is_stream())
        };
        if self.mode.caches() {
            return Ok(self.cache.select(wanted));
        }
        let mut out = Vec::new();
        self.store
            .load(|aor, b| {
                if wanted(&b) {
                    out.push((aor, b));
                }
            })
            .await?;
        Ok(out)
    }

    /// Removes one binding (a UA that stopped answering), in memory and in the database
    /// as the storage mode says; says whether it was there.
    pub async fn remove(&self, aor: &Aor, contact: &str) -> Result<bool, StoreError> {
        let _turn = self.locks[self.cache.shard_of(aor)].lock().await;
        let cached = self.mode.caches() && self.cache.remove(aor, contact);
        let change = vec![Change::Delete(aor.clone(), contact.into())];
        match self.mode {
            StorageMode::Memory => {}
            StorageMode::WriteThrough | StorageMode::DbOnly => self.store.apply(&change).await?,
            StorageMode::WriteBack => self.mark_dirty(change, true),
        }
        Ok(cached || !self.mode.caches())
    }

    /// Removes the bindings registered over the stream connection from `remote` that
    /// just closed: they were reached only through it (RFC 5626 §5.2: the flow is gone).
    /// Caching modes only (db-only would scan the table); says how many went.
    pub async fn remove_flow(
        &self,
        transport: sip_msg::Transport,
        remote: std::net::SocketAddr,
    ) -> Result<usize, StoreError> {
        if !self.mode.caches() {
            return Ok(0);
        }
        let gone = self.cache.select(|b| {
            b.reach
                .is_some_and(|r| r.transport == transport && r.remote == remote)
        });
        let mut removed = 0;
        for (aor, binding) in gone {
            if self.remove(&aor, &binding.contact).await? {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Write-back: writes the changes made since the last flush in one transaction; on
    /// failure they stay queued for the next one. Says how many were written.
    pub async fn flush(&self) -> Result<usize, StoreError> {
        if self.mode != StorageMode::WriteBack {
            return Ok(0);
        }
        let batch: Vec<Change> = self
            .dirty
            .iter()
            .flat_map(|shard| {
                let mut dirty = shard
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                dirty.drain().map(|(_, c)| c).collect::<Vec<_>>()
            })
            .collect();
        if batch.is_empty() {
            return Ok(0);
        }
        if let Err(e) = self.store.apply(&batch).await {
            // Put them back unless a newer change for the same binding came meanwhile.
            self.mark_dirty(batch, false);
            return Err(e);
        }
        Ok(batch.len())
    }

    /// Removes bindings expired at `now` from memory and from the database; says how many
    /// left memory.
    pub async fn purge(&self, now: i64) -> Result<usize, StoreError> {
        let gone = if self.mode.caches() {
            self.cache.purge_expired(now).len()
        } else {
            0
        };
        if self.mode != StorageMode::Memory {
            self.store.purge_expired(now).await?;
        }
        Ok(gone)
    }

    /// How many AORs and bindings are in memory.
    pub fn counts(&self) -> (usize, usize) {
        self.cache.counts()
    }
}

#[cfg(test)]
mod tests;
