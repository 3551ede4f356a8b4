//! The registrar and location service: SER's `registrar` and `usrloc`.
//!
//! A REGISTER (RFC 3261 §10.3) is turned into a [`register::Plan`] by a pure function
//! over the request and the address-of-record's current bindings; the
//! [`LocationService`] applies plans to its in-memory [`Location`] table and to a
//! [`LocationStore`] as the storage mode says (SER's `db_mode`), and answers lookups for
//! requests to local users.
//!
//! # Layout
//! - [`binding`]: one registered contact, with how it was reached (source address,
//!   transport, local socket) so that requests find their way back through a NAT or
//!   over the connection the UA opened.
//! - [`register`]: REGISTER processing as a pure function: expiry, `*`, Call-ID/CSeq
//!   ordering, `+sip.instance`/`reg-id`, Path, the 200's Contact list.
//! - [`respond`]: REGISTER from request to response: our domains, the bindings
//!   updated, the 200's headers (Contact, Supported, Require, Path, Date) or the refusal.
//! - [`forking`]: bindings turned into the branches of a request, grouped by q.
//! - [`location`]: the in-memory table, sharded by AOR so that workers do not contend.
//! - [`store`]: what the service needs from a database ([`LocationStore`]) and the
//!   changes it writes.
//! - [`service`]: storage modes (memory, write-through, write-back, db-only), loading
//!   at start, the write-back flush, expiry purging, and lookups turned into branches.

pub mod binding;
pub mod forking;
pub mod location;
pub mod register;
pub mod respond;
pub mod service;
pub mod store;

pub use binding::{Aor, Binding, Reach};
pub use location::Location;
pub use register::{Plan, RegistrarConfig};
pub use respond::unix_seconds;
pub use service::{LocationService, StorageMode};
pub use store::{Change, LocationStore, MemoryOnly, StoreError};
