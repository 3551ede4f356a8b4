//! Keep-alives for user agents behind a NAT that registered over UDP (SER's nathelper
//! `natping`): every `[nat] keepalive_interval` each such binding gets an OPTIONS from
//! the socket it registered on, which holds the NAT's mapping open; any answer (200,
//! 405, 404...) proves the UA is there. A binding whose last `keepalive_max_missed`
//! pings went unanswered is removed, as its UA is gone and calls to it would only time
//! out.
//!
//! The pings are stateless: their branch starts with [`PING_BRANCH`], and
//! [`Keepalive::pong`] takes their answers before the proxy sees them.

use bytes::Bytes;
use registrar::unix_seconds;
use registrar::{Aor, Binding, LocationService, LocationStore};
use sip_core::proxy::routing::Interface;
use sip_msg::{HeaderName, Message, Transport};
use sip_transport::{Route, Sender};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// The start of every keep-alive's Via branch.
pub const PING_BRANCH: &str = "z9hG4bKnatping-";

/// A binding, by AOR and contact.
type Key = (Aor, std::sync::Arc<str>);

/// The keep-alive state: which pings are out, and how many in a row went unanswered.
pub struct Keepalive {
    interval: Duration,
    max_missed: u32,
    /// Our UDP interfaces: which socket to send from, what to write in Via.
    interfaces: Vec<Interface>,
    seq: AtomicU64,
    /// Pings sent and not answered, by branch.
    outstanding: Mutex<HashMap<String, Key>>,
    /// Consecutive unanswered pings per binding.
    missed: Mutex<HashMap<Key, u32>>,
}

impl Keepalive {
    /// Pings every `interval`, dropping a binding after `max_missed` silent ones, sent
    /// from the UDP sockets among `interfaces`.
    pub fn new(interval: Duration, max_missed: u32, interfaces: &[Interface]) -> Keepalive {
        Keepalive {
            interval,
            max_missed: max_missed.max(1),
            interfaces: interfaces
                .iter()
                .filter(|i| i.transport == Transport::Udp)
                .cloned()
                .collect(),
            seq: AtomicU64::new(0),
            outstanding: Mutex::new(HashMap::new()),
            missed: Mutex::new(HashMap::new()),
        }
    }

    /// How often bindings are pinged.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Takes `msg` if it answers one of our pings; the proxy never sees it.
    pub fn pong(&self, msg: &Message) -> bool {
        // Every response passes here: a look for our branch prefix in the raw top Via
        // line comes before any parsing.
        if msg.is_request()
            || !msg
                .header(HeaderName::Via)
                .is_some_and(|v| v.contains(PING_BRANCH))
        {
            return false;
        }
        let Some(branch) = msg
            .top_via()
            .ok()
            .and_then(|v| v.branch().map(str::to_owned))
        else {
            return false;
        };
        if !branch.starts_with(PING_BRANCH) {
            return false;
        }
        if let Some(key) = lock(&self.outstanding).remove(&branch) {
            lock(&self.missed).remove(&key);
        }
        true
    }

    /// One round: drops the bindings that stopped answering, pings the others.
    pub async fn round<S: LocationStore>(&self, location: &LocationService<S>, sender: &Sender) {
        let now = unix_seconds(SystemTime::now());
        let bindings = match location.natted_udp(now).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!("keep-alives: cannot list the bindings: {e}");
                return;
            }
        };
        lock(&self.outstanding).clear();
        let mut gone = Vec::new();
        let mut pings = Vec::new();
        {
            let mut missed = lock(&self.missed);
            let mut next = HashMap::with_capacity(bindings.len());
            for (aor, binding) in bindings {
                let key = (aor, binding.contact.clone());
                let count = missed.get(&key).copied().unwrap_or(0);
                if count >= self.max_missed {
                    gone.push((key, count));
                } else {
                    // Counted as missed until its answer comes.
                    next.insert(key.clone(), count + 1);
                    pings.push((key, binding));
                }
            }
            // Bindings that are gone (unregistered, expired) are forgotten.
            *missed = next;
        }
        for (key, binding) in &pings {
            self.ping(key, binding, sender);
        }
        for ((aor, contact), count) in gone {
            match location.remove(&aor, &contact).await {
                Ok(_) => tracing::info!(
                    "{aor} at {contact}: {count} keep-alives unanswered, binding removed"
                ),
                Err(e) => tracing::warn!("keep-alives: removing {aor} failed: {e}"),
            }
        }
    }

    /// Sends one OPTIONS to `binding` from the socket it registered on.
    fn ping(&self, key: &Key, binding: &Binding, sender: &Sender) {
        let Some(reach) = binding.reach else { return };
        let Some(iface) = self.interface(reach.local) else {
            return;
        };
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let branch = format!("{PING_BRANCH}{n:x}");
        let contact = &binding.contact;
        let text = format!(
            "OPTIONS {contact} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {via};branch={branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:keepalive@{via}>;tag=ka{n:x}\r\n\
             To: <{contact}>\r\n\
             Call-ID: {branch}@{via}\r\n\
             CSeq: 1 OPTIONS\r\n\
             Content-Length: 0\r\n\r\n",
            via = iface.advertise
        );
        let route = Route::Datagram {
            local: iface.bind,
            remote: reach.remote,
        };
        // Listed before it leaves, so that no answer can come first.
        lock(&self.outstanding).insert(branch.clone(), key.clone());
        if let Err(e) = sender.try_send(&route, Bytes::from(text)) {
            tracing::debug!("keep-alive to {} not sent: {e}", reach.remote);
            lock(&self.outstanding).remove(&branch);
        }
    }

    /// The UDP interface bound to `local`, else the first one of the same family.
    fn interface(&self, local: Option<SocketAddr>) -> Option<&Interface> {
        let local = local?;
        self.interfaces
            .iter()
            .find(|i| i.bind == local)
            .or_else(|| {
                self.interfaces
                    .iter()
                    .find(|i| i.bind.is_ipv4() == local.is_ipv4())
            })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
