//! The table of open stream connections: by id (to answer on the connection a request
//! came on) and by peer (to reuse a connection for a new message to the same peer).
//!
//! A peer's entry names either a connection to that very address, or a connection
//! aliased to it (RFC 5923: a user agent that reached us on a connection asks, with
//! `;alias` in its Via, that requests to its Via address reuse that connection). The
//! rules, so that an alias never misroutes:
//! - a connection to the address itself always wins: an alias never replaces it, and a
//!   new connection to (or from) the address replaces an alias;
//! - between aliases, the latest wins (the user agent's most recent connection);
//! - an alias goes when its connection closes; an alias that was refused or replaced is
//!   not restored later.
//!
//! The table is sharded so that connections on different tasks seldom contend: each
//! lookup locks one small shard for the time of a hash-map access.

use crate::message::Outgoing;
use crate::{ConnId, SendError};
use sip_msg::Transport;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::mpsc;

/// Shards per map: a power of two well above the number of cores.
const SHARDS: usize = 32;

/// A hash map split into independently locked shards.
struct Sharded<K, V> {
    shards: Box<[Mutex<HashMap<K, V>>]>,
    hasher: RandomState,
}

impl<K: Hash + Eq, V> Sharded<K, V> {
    fn new() -> Self {
        Sharded {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
        }
    }

    fn shard(&self, key: &K) -> MutexGuard<'_, HashMap<K, V>> {
        // Truncating the hash is fine: it only picks a shard.
        let index = self.hasher.hash_one(key) as usize % self.shards.len();
        // A panic while holding a shard cannot leave a map half-updated (critical sections
        // are a few map calls with nothing that panics), so a poisoned lock is usable.
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// An open connection as the table knows it.
struct Entry {
    outgoing: mpsc::Sender<Outgoing>,
    peer_key: PeerKey,
    /// Other peer entries that may name this connection (RFC 5923 aliases).
    aliases: Vec<PeerKey>,
}

/// A peer as seen by connection reuse: the transport and the remote address.
type PeerKey = (Transport, SocketAddr);

/// The connection a peer's entry names, and whether by alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Holder {
    id: ConnId,
    alias: bool,
}

impl Holder {
    fn own(id: ConnId) -> Holder {
        Holder { id, alias: false }
    }
}

/// Every open stream connection.
pub(crate) struct ConnectionTable {
    next_id: AtomicU64,
    by_id: Sharded<ConnId, Entry>,
    /// Locked after `by_id` when both are held, never before.
    by_peer: Sharded<PeerKey, Holder>,
}

impl ConnectionTable {
    pub(crate) fn new() -> ConnectionTable {
        ConnectionTable {
            next_id: AtomicU64::new(1),
            by_id: Sharded::new(),
            by_peer: Sharded::new(),
        }
    }

    /// Adds a connection whose writer reads `outgoing`; it stays in the table until the
    /// returned guard is dropped. It becomes the connection to `peer`, in place of any
    /// older one.
    pub(crate) fn register(
        self: &Arc<Self>,
        transport: Transport,
        peer: SocketAddr,
        outgoing: mpsc::Sender<Outgoing>,
    ) -> Registration {
        let registration = self.add(transport, peer, outgoing);
        let peer_key = (transport, peer);
        self.by_peer
            .shard(&peer_key)
            .insert(peer_key, Holder::own(registration.id));
        registration
    }

    /// Adds a connection to `peer` like [`ConnectionTable::register`], unless one is
    /// already there (two tasks raced to open one): then that one's id is returned and
    /// nothing is added.
    pub(crate) fn register_unless_present(
        self: &Arc<Self>,
        transport: Transport,
        peer: SocketAddr,
        outgoing: mpsc::Sender<Outgoing>,
    ) -> Result<Registration, ConnId> {
        // In `by_id` first: a sender that finds the id by peer must find the entry too.
        let registration = self.add(transport, peer, outgoing);
        let peer_key = (transport, peer);
        let existing = {
            let mut by_peer = self.by_peer.shard(&peer_key);
            match by_peer.get(&peer_key) {
                Some(existing) => Some(existing.id),
                None => {
                    by_peer.insert(peer_key, Holder::own(registration.id));
                    None
                }
            }
        };
        match existing {
            // Dropping the registration takes it out of `by_id` again.
            Some(existing) => Err(existing),
            None => Ok(registration),
        }
    }

    /// Adds an entry by id only.
    fn add(
        self: &Arc<Self>,
        transport: Transport,
        peer: SocketAddr,
        outgoing: mpsc::Sender<Outgoing>,
    ) -> Registration {
        let id = ConnId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let peer_key = (transport, peer);
        let entry = Entry {
            outgoing,
            peer_key,
            aliases: Vec::new(),
        };
        self.by_id.shard(&id).insert(id, entry);
        Registration {
            table: Arc::clone(self),
            id,
        }
    }

    /// Queues `data` on connection `id` without waiting.
    pub(crate) fn send(&self, id: ConnId, data: Outgoing) -> Result<(), SendError> {
        self.queue(id, data).map_err(|(err, _)| err)
    }

    /// Queues `data` on connection `id` without waiting; when it cannot, gives `data`
    /// back with the reason.
    pub(crate) fn queue(&self, id: ConnId, data: Outgoing) -> Result<(), (SendError, Outgoing)> {
        let shard = self.by_id.shard(&id);
        let Some(entry) = shard.get(&id) else {
            return Err((SendError::ConnectionClosed(id), data));
        };
        entry.outgoing.try_send(data).map_err(|err| match err {
            mpsc::error::TrySendError::Full(data) => (SendError::Congested(id), data),
            mpsc::error::TrySendError::Closed(data) => (SendError::ConnectionClosed(id), data),
        })
    }

    /// The open connection to `peer` over `transport`, if there is one.
    pub(crate) fn find(&self, transport: Transport, peer: SocketAddr) -> Option<ConnId> {
        let key = (transport, peer);
        self.by_peer.shard(&key).get(&key).map(|holder| holder.id)
    }

    /// Makes connection `id` the one for `peer` over `transport` as well, by the rules of
    /// the module documentation. `Ok` means that `peer` is now reached without a new
    /// connection: by this one, or by one of its own.
    pub(crate) fn alias(
        &self,
        id: ConnId,
        transport: Transport,
        peer: SocketAddr,
    ) -> Result<(), SendError> {
        let key = (transport, peer);
        // The entry stays locked until the alias is in place, so that the connection
        // cannot close in between and leave a stale alias behind.
        let mut by_id = self.by_id.shard(&id);
        let entry = by_id.get_mut(&id).ok_or(SendError::ConnectionClosed(id))?;
        if entry.peer_key.0 != transport {
            return Err(SendError::AliasTransport {
                conn: id,
                transport,
            });
        }
        if entry.peer_key == key {
            return Ok(());
        }
        let mut by_peer = self.by_peer.shard(&key);
        if by_peer.get(&key).is_some_and(|holder| !holder.alias) {
            return Ok(());
        }
        by_peer.insert(key, Holder { id, alias: true });
        if !entry.aliases.contains(&key) {
            entry.aliases.push(key);
        }
        Ok(())
    }

    fn remove(&self, id: ConnId) {
        let Some(entry) = self.by_id.shard(&id).remove(&id) else {
            return;
        };
        for key in std::iter::once(entry.peer_key).chain(entry.aliases) {
            let mut by_peer = self.by_peer.shard(&key);
            // A newer connection (or alias) may have taken the entry: keep it.
            if by_peer.get(&key).is_some_and(|holder| holder.id == id) {
                by_peer.remove(&key);
            }
        }
    }
}

/// Keeps a connection in the table; dropping it removes the connection.
pub(crate) struct Registration {
    table: Arc<ConnectionTable>,
    id: ConnId,
}

impl Registration {
    pub(crate) fn id(&self) -> ConnId {
        self.id
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.table.remove(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(data: &'static [u8]) -> Outgoing {
        Outgoing {
            data: bytes::Bytes::from_static(data),
            token: None,
        }
    }

    fn peer(port: u16) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, 1], port))
    }

    #[test]
    fn registered_connection_is_found_and_removed_on_drop() {
        let table = Arc::new(ConnectionTable::new());
        let (tx, mut rx) = mpsc::channel(1);
        let registration = table.register(Transport::Tcp, peer(5060), tx);
        let id = registration.id();
        assert_eq!(table.find(Transport::Tcp, peer(5060)), Some(id));
        assert_eq!(table.find(Transport::Udp, peer(5060)), None);
        table.send(id, message(b"x")).expect("queued");
        assert_eq!(
            rx.try_recv().ok().map(|m| m.data),
            Some(bytes::Bytes::from_static(b"x"))
        );
        drop(registration);
        assert_eq!(table.find(Transport::Tcp, peer(5060)), None);
        assert!(matches!(
            table.send(id, message(b"")),
            Err(SendError::ConnectionClosed(_))
        ));
    }

    #[test]
    fn full_queue_is_reported_as_congestion() {
        let table = Arc::new(ConnectionTable::new());
        let (tx, _rx) = mpsc::channel(1);
        let registration = table.register(Transport::Tcp, peer(1), tx);
        table.send(registration.id(), message(b"")).expect("queued");
        assert!(matches!(
            table.send(registration.id(), message(b"")),
            Err(SendError::Congested(_))
        ));
    }

    #[test]
    fn closing_an_older_connection_keeps_the_newer_one_for_the_peer() {
        let table = Arc::new(ConnectionTable::new());
        let (tx, _rx) = mpsc::channel(1);
        let older = table.register(Transport::Tcp, peer(7), tx.clone());
        let newer = table.register(Transport::Tcp, peer(7), tx);
        drop(older);
        assert_eq!(table.find(Transport::Tcp, peer(7)), Some(newer.id()));
    }

    #[test]
    fn a_second_registration_unless_present_yields_to_the_first() {
        let table = Arc::new(ConnectionTable::new());
        let (tx, _rx) = mpsc::channel(1);
        let first = table
            .register_unless_present(Transport::Tcp, peer(9), tx.clone())
            .unwrap_or_else(|_| panic!("first registration"));
        let Err(existing) = table.register_unless_present(Transport::Tcp, peer(9), tx) else {
            panic!("second registration added");
        };
        assert_eq!(existing, first.id());
        assert_eq!(table.find(Transport::Tcp, peer(9)), Some(first.id()));
        // The losing registration left nothing behind by id either.
        assert!(
            table
                .by_id
                .shards
                .iter()
                .map(|s| s.lock().map_or(0, |m| m.len()))
                .sum::<usize>()
                == 1
        );
    }

    #[test]
    fn an_alias_routes_to_its_connection_until_it_closes() {
        let table = Arc::new(ConnectionTable::new());
        let (tx, _rx) = mpsc::channel(1);
        let conn = table.register(Transport::Tcp, peer(40000), tx);
        table
            .alias(conn.id(), Transport::Tcp, peer(5060))
            .expect("aliased");
        assert_eq!(table.find(Transport::Tcp, peer(5060)), Some(conn.id()));
        assert_eq!(table.find(Transport::Tcp, peer(40000)), Some(conn.id()));
        assert_eq!(table.find(Transport::Udp, peer(5060)), None);
        drop(conn);
        assert_eq!(table.find(Transport::Tcp, peer(5060)), None);
        assert_eq!(table.find(Transport::Tcp, peer(40000)), None);
    }

    #[test]
    fn an_alias_never_takes_the_place_of_a_connection_to_that_address() {
        let table = Arc::new(ConnectionTable::new());
        let (tx, _rx) = mpsc::channel(1);
        let real = table.register(Transport::Tcp, peer(5060), tx.clone());
        let other = table.register(Transport::Tcp, peer(40000), tx.clone());
        table
            .alias(other.id(), Transport::Tcp, peer(5060))
            .expect("reachable");
        assert_eq!(table.find(Transport::Tcp, peer(5060)), Some(real.id()));
        // Closing the aliasing connection leaves the real one in place.
        drop(other);
        assert_eq!(table.find(Transport::Tcp, peer(5060)), Some(real.id()));

        // The other way round: a connection to the address replaces an alias...
        let aliased = table.register(Transport::Tcp, peer(40001), tx.clone());
        table
            .alias(aliased.id(), Transport::Tcp, peer(5070))
            .expect("aliased");
        let direct = table.register(Transport::Tcp, peer(5070), tx.clone());
        assert_eq!(table.find(Transport::Tcp, peer(5070)), Some(direct.id()));
        // ...and stays when the aliasing connection closes.
        drop(aliased);
        assert_eq!(table.find(Transport::Tcp, peer(5070)), Some(direct.id()));
        // A pending outbound connection reuses an alias rather than open another.
        let (tx2, _rx2) = mpsc::channel(1);
        let via = table.register(Transport::Tcp, peer(40002), tx);
        table
            .alias(via.id(), Transport::Tcp, peer(5080))
            .expect("aliased");
        assert!(matches!(
            table.register_unless_present(Transport::Tcp, peer(5080), tx2),
            Err(id) if id == via.id()
        ));
    }

    #[test]
    fn the_latest_alias_wins_and_an_older_one_closing_keeps_it() {
        let table = Arc::new(ConnectionTable::new());
        let (tx, _rx) = mpsc::channel(1);
        let older = table.register(Transport::Tcp, peer(40000), tx.clone());
        let newer = table.register(Transport::Tcp, peer(40001), tx);
        for conn in [&older, &newer] {
            table
                .alias(conn.id(), Transport::Tcp, peer(5060))
                .expect("aliased");
        }
        assert_eq!(table.find(Transport::Tcp, peer(5060)), Some(newer.id()));
        drop(older);
        assert_eq!(table.find(Transport::Tcp, peer(5060)), Some(newer.id()));
    }

    #[test]
    fn an_alias_needs_an_open_connection_of_the_same_transport() {
        let table = Arc::new(ConnectionTable::new());
        let (tx, _rx) = mpsc::channel(1);
        let conn = table.register(Transport::Tcp, peer(40000), tx);
        assert!(matches!(
            table.alias(conn.id(), Transport::Tls, peer(5061)),
            Err(SendError::AliasTransport { .. })
        ));
        assert_eq!(table.find(Transport::Tls, peer(5061)), None);
        let id = conn.id();
        drop(conn);
        assert!(matches!(
            table.alias(id, Transport::Tcp, peer(5060)),
            Err(SendError::ConnectionClosed(_))
        ));
        assert_eq!(table.find(Transport::Tcp, peer(5060)), None);
    }
}
