//! What the location service needs from a database, whatever the back end.

use crate::binding::{Aor, Binding};
use std::future::Future;

/// One write to the location table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Insert or replace the binding of this AOR with this contact.
    Save(Aor, Binding),
    /// Remove the binding of this AOR with this contact.
    Delete(Aor, std::sync::Arc<str>),
}

impl Change {
    /// The AOR and contact the change is about.
    pub fn key(&self) -> (&Aor, &std::sync::Arc<str>) {
        match self {
            Change::Save(aor, b) => (aor, &b.contact),
            Change::Delete(aor, contact) => (aor, contact),
        }
    }
}

/// A database failure, as the back end describes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// A location table in a database. The service calls it from several tasks at once.
pub trait LocationStore: Send + Sync + 'static {
    /// Writes `changes` in one transaction: all or none.
    fn apply(&self, changes: &[Change]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The bindings of one AOR (the db-only mode's lookup), expired ones included.
    fn bindings(&self, aor: &Aor) -> impl Future<Output = Result<Vec<Binding>, StoreError>> + Send;

    /// Hands every binding to `sink`, row by row, to fill the cache at start; says how
    /// many.
    fn load(
        &self,
        sink: impl FnMut(Aor, Binding) + Send,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Removes the bindings expired at `now`; says how many.
    fn purge_expired(&self, now: i64) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// No database: the `memory` mode.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryOnly;

impl LocationStore for MemoryOnly {
    async fn apply(&self, _: &[Change]) -> Result<(), StoreError> {
        Ok(())
    }

    async fn bindings(&self, _: &Aor) -> Result<Vec<Binding>, StoreError> {
        Ok(Vec::new())
    }

    async fn load(&self, _: impl FnMut(Aor, Binding) + Send) -> Result<u64, StoreError> {
        Ok(0)
    }

    async fn purge_expired(&self, _: i64) -> Result<u64, StoreError> {
        Ok(0)
    }
}
