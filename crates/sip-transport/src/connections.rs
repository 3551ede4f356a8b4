//! The table of open stream connections: by id (to answer on the connection a request
//! came on) and by peer (to reuse a connection for a new message to the same peer).
//!
//! The table is sharded so that connections on different tasks seldom contend: each
//! lookup locks one small shard for the time of a hash-map access.

use crate::{ConnId, SendError};
use bytes::Bytes;
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
        // A panic while holding a shard cannot leave a map half-updated (every critical
        // section is one map call), so a poisoned lock is still usable.
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// An open connection as the table knows it.
struct Entry {
    outgoing: mpsc::Sender<Bytes>,
    peer_key: PeerKey,
}

/// A peer as seen by connection reuse: the transport and the remote address.
type PeerKey = (Transport, SocketAddr);

/// Every open stream connection.
pub(crate) struct ConnectionTable {
    next_id: AtomicU64,
    by_id: Sharded<ConnId, Entry>,
    by_peer: Sharded<PeerKey, ConnId>,
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
        outgoing: mpsc::Sender<Bytes>,
    ) -> Registration {
        let registration = self.add(transport, peer, outgoing);
        let peer_key = (transport, peer);
        self.by_peer
            .shard(&peer_key)
            .insert(peer_key, registration.id);
        registration
    }

    /// Adds a connection to `peer` like [`ConnectionTable::register`], unless one is
    /// already there (two tasks raced to open one): then that one's id is returned and
    /// nothing is added.
    pub(crate) fn register_unless_present(
        self: &Arc<Self>,
        transport: Transport,
        peer: SocketAddr,
        outgoing: mpsc::Sender<Bytes>,
    ) -> Result<Registration, ConnId> {
        // In `by_id` first: a sender that finds the id by peer must find the entry too.
        let registration = self.add(transport, peer, outgoing);
        let peer_key = (transport, peer);
        let existing = {
            let mut by_peer = self.by_peer.shard(&peer_key);
            match by_peer.get(&peer_key) {
                Some(&existing) => Some(existing),
                None => {
                    by_peer.insert(peer_key, registration.id);
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
        outgoing: mpsc::Sender<Bytes>,
    ) -> Registration {
        let id = ConnId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let peer_key = (transport, peer);
        self.by_id
            .shard(&id)
            .insert(id, Entry { outgoing, peer_key });
        Registration {
            table: Arc::clone(self),
            id,
        }
    }

    /// Queues `data` on connection `id` without waiting.
    pub(crate) fn send(&self, id: ConnId, data: Bytes) -> Result<(), SendError> {
        self.queue(id, data).map_err(|(err, _)| err)
    }

    /// Queues `data` on connection `id` without waiting; when it cannot, gives `data`
    /// back with the reason.
    pub(crate) fn queue(&self, id: ConnId, data: Bytes) -> Result<(), (SendError, Bytes)> {
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
        self.by_peer.shard(&key).get(&key).copied()
    }

    fn remove(&self, id: ConnId) {
        let Some(entry) = self.by_id.shard(&id).remove(&id) else {
            return;
        };
        let mut by_peer = self.by_peer.shard(&entry.peer_key);
        // A newer connection from the same peer may have taken the slot: keep it.
        if by_peer.get(&entry.peer_key) == Some(&id) {
            by_peer.remove(&entry.peer_key);
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
        table.send(id, Bytes::from_static(b"x")).expect("queued");
        assert_eq!(rx.try_recv().ok(), Some(Bytes::from_static(b"x")));
        drop(registration);
        assert_eq!(table.find(Transport::Tcp, peer(5060)), None);
        assert!(matches!(
            table.send(id, Bytes::new()),
            Err(SendError::ConnectionClosed(_))
        ));
    }

    #[test]
    fn full_queue_is_reported_as_congestion() {
        let table = Arc::new(ConnectionTable::new());
        let (tx, _rx) = mpsc::channel(1);
        let registration = table.register(Transport::Tcp, peer(1), tx);
        table.send(registration.id(), Bytes::new()).expect("queued");
        assert!(matches!(
            table.send(registration.id(), Bytes::new()),
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
}
