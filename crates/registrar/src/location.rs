//! The in-memory location table: AOR → bindings, in shards chosen by a hash of the AOR,
//! each behind its own lock, so that the workers of several cores rarely meet (what
//! usrloc's hash table with per-slot locks does).

use crate::binding::{Aor, Binding};
use foldhash::quality::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// How many shards the table has ([`Location::shard_of`] is below it).
pub(crate) const SHARDS: usize = 64;

/// One shard: foldhash with a per-process random seed (SipHash cost more than the rest
/// of a lookup; the seed keeps collisions out of a registering client's reach).
type Table = HashMap<Aor, Vec<Binding>, RandomState>;

/// The table.
#[derive(Debug)]
pub struct Location {
    shards: Vec<RwLock<Table>>,
    hasher: RandomState,
}

impl Default for Location {
    fn default() -> Self {
        Location {
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            hasher: RandomState::default(),
        }
    }
}

impl Location {
    /// Which shard holds `aor`.
    pub fn shard_of(&self, aor: &Aor) -> usize {
        (self.hasher.hash_one(aor) as usize) % SHARDS
    }

    fn read(&self, i: usize) -> RwLockReadGuard<'_, Table> {
        self.shards[i]
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self, i: usize) -> RwLockWriteGuard<'_, Table> {
        self.shards[i]
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The bindings of `aor` live at `now`.
    pub fn get(&self, aor: &Aor, now: i64) -> Vec<Binding> {
        self.read(self.shard_of(aor))
            .get(aor)
            .map(|bs| bs.iter().filter(|b| b.is_live(now)).cloned().collect())
            .unwrap_or_default()
    }

    /// Replaces the bindings of `aor` (an empty list removes it).
    pub fn set(&self, aor: &Aor, bindings: Vec<Binding>) {
        let mut shard = self.write(self.shard_of(aor));
        if bindings.is_empty() {
            shard.remove(aor);
        } else {
            shard.insert(aor.clone(), bindings);
        }
    }

    /// Adds or replaces one binding (by contact), as loading from a database does.
    pub fn insert(&self, aor: Aor, binding: Binding) {
        let mut shard = self.write(self.shard_of(&aor));
        let list = shard.entry(aor).or_default();
        list.retain(|b| b.contact != binding.contact);
        list.push(binding);
    }

    /// Copies of the bindings `keep` selects, with their AORs.
    pub fn select(&self, keep: impl Fn(&Binding) -> bool) -> Vec<(Aor, Binding)> {
        let mut out = Vec::new();
        for i in 0..SHARDS {
            for (aor, list) in self.read(i).iter() {
                out.extend(
                    list.iter()
                        .filter(|b| keep(b))
                        .map(|b| (aor.clone(), b.clone())),
                );
            }
        }
        out
    }

    /// Removes the binding of `aor` to `contact`; says whether there was one.
    pub fn remove(&self, aor: &Aor, contact: &str) -> bool {
        let mut shard = self.write(self.shard_of(aor));
        let Some(list) = shard.get_mut(aor) else {
            return false;
        };
        let before = list.len();
        list.retain(|b| &*b.contact != contact);
        let removed = list.len() != before;
        if list.is_empty() {
            shard.remove(aor);
        }
        removed
    }

    /// Removes every binding expired at `now`; returns them.
    pub fn purge_expired(&self, now: i64) -> Vec<(Aor, Binding)> {
        let mut gone = Vec::new();
        for i in 0..SHARDS {
            let mut shard = self.write(i);
            shard.retain(|aor, list| {
                list.retain(|b| {
                    let live = b.is_live(now);
                    if !live {
                        gone.push((aor.clone(), b.clone()));
                    }
                    live
                });
                !list.is_empty()
            });
        }
        gone
    }

    /// How many AORs and bindings the table holds.
    pub fn counts(&self) -> (usize, usize) {
        (0..SHARDS).fold((0, 0), |(aors, bindings), i| {
            let shard = self.read(i);
            (
                aors + shard.len(),
                bindings + shard.values().map(Vec::len).sum::<usize>(),
            )
        })
    }
}
