use super::*;
use bytes::Bytes;
use sip_msg::Transport;
use std::sync::Arc;

const NOW: i64 = 1_800_000_000;

/// A store that keeps rows in a map and can be told to fail.
#[derive(Default, Clone)]
struct FakeStore {
    rows: Arc<Mutex<HashMap<(Aor, String), Binding>>>,
    fail: Arc<std::sync::atomic::AtomicBool>,
    transactions: Arc<std::sync::atomic::AtomicUsize>,
}

impl FakeStore {
    fn rows(&self) -> Vec<(String, String)> {
        let mut v: Vec<_> = self
            .rows
            .lock()
            .expect("lock")
            .keys()
            .map(|(a, c)| (a.to_string(), c.clone()))
            .collect();
        v.sort();
        v
    }
    fn failing(&self, on: bool) {
        self.fail.store(on, std::sync::atomic::Ordering::SeqCst);
    }
}

impl LocationStore for FakeStore {
    async fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError("database is down".into()));
        }
        self.transactions
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut rows = self.rows.lock().expect("lock");
        for c in changes {
            match c {
                Change::Save(aor, b) => {
                    rows.insert((aor.clone(), b.contact.to_string()), b.clone());
                }
                Change::Delete(aor, contact) => {
                    rows.remove(&(aor.clone(), contact.to_string()));
                }
            }
        }
        Ok(())
    }
    async fn bindings(&self, aor: &Aor) -> Result<Vec<Binding>, StoreError> {
        Ok(self
            .rows
            .lock()
            .expect("lock")
            .iter()
            .filter(|((a, _), _)| a == aor)
            .map(|(_, b)| b.clone())
            .collect())
    }
    async fn load(&self, mut sink: impl FnMut(Aor, Binding) + Send) -> Result<u64, StoreError> {
        let rows: Vec<_> = self
            .rows
            .lock()
            .expect("lock")
            .clone()
            .into_iter()
            .collect();
        for ((aor, _), b) in &rows {
            sink(aor.clone(), b.clone());
        }
        Ok(rows.len() as u64)
    }
    async fn purge_expired(&self, now: i64) -> Result<u64, StoreError> {
        let mut rows = self.rows.lock().expect("lock");
        let before = rows.len();
        rows.retain(|_, b| b.is_live(now));
        Ok((before - rows.len()) as u64)
    }
}

fn reach() -> Reach {
    Reach {
        transport: Transport::Tcp,
        remote: "203.0.113.5:40000".parse().expect("addr"),
        local: None,
        nat: false,
    }
}

fn register(user: &str, cseq: u32, contact: &str) -> Message {
    Message::parse(Bytes::from(format!(
        "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK{cseq}\r\nMax-Forwards: 70\r\nFrom: <sip:{user}@example.com>;tag=1\r\nTo: <sip:{user}@example.com>\r\nCall-ID: {user}-reg\r\nCSeq: {cseq} REGISTER\r\nContact: {contact}\r\nContent-Length: 0\r\n\r\n"
    )))
    .expect("parses")
}

fn alice() -> Aor {
    Aor::from_text("alice@example.com")
}

#[tokio::test]
async fn write_through_commits_before_answering_and_reloads() {
    let store = FakeStore::default();
    let svc = LocationService::new(
        store.clone(),
        StorageMode::WriteThrough,
        RegistrarConfig::default(),
    );
    let b = svc
        .register(
            &register("alice", 1, "<sip:alice@10.0.0.1>;expires=900"),
            &alice(),
            reach(),
            NOW,
        )
        .await
        .expect("registered");
    assert_eq!(b.len(), 1);
    assert_eq!(
        store.rows(),
        [("alice@example.com".into(), "sip:alice@10.0.0.1".into())]
    );
    // A new node (restart) over the same database finds it.
    let again = LocationService::new(
        store.clone(),
        StorageMode::WriteThrough,
        RegistrarConfig::default(),
    );
    assert_eq!(again.load().await, Ok(1));
    let found = again.lookup(&alice(), NOW).await.expect("lookup");
    assert_eq!(&*found[0].contact, "sip:alice@10.0.0.1");
    assert_eq!(found[0].reach, Some(reach()));
}

#[tokio::test]
async fn write_through_database_failure_changes_nothing() {
    let store = FakeStore::default();
    let svc = LocationService::new(
        store.clone(),
        StorageMode::WriteThrough,
        RegistrarConfig::default(),
    );
    store.failing(true);
    let err = svc
        .register(
            &register("alice", 1, "<sip:alice@10.0.0.1>"),
            &alice(),
            reach(),
            NOW,
        )
        .await
        .expect_err("database down");
    assert!(matches!(err, RegisterError::Store(_)));
    assert!(svc.lookup(&alice(), NOW).await.expect("lookup").is_empty());
}

#[tokio::test]
async fn write_back_writes_at_flush_and_keeps_failed_batches() {
    let store = FakeStore::default();
    let svc = LocationService::new(
        store.clone(),
        StorageMode::WriteBack,
        RegistrarConfig::default(),
    );
    for (i, user) in ["alice", "bob"].iter().enumerate() {
        svc.register(
            &register(user, 1, &format!("<sip:{user}@10.0.0.{i}>")),
            &Aor::from_text(&format!("{user}@example.com")),
            reach(),
            NOW,
        )
        .await
        .expect("registered");
    }
    assert!(store.rows().is_empty(), "nothing written before the flush");
    assert_eq!(svc.lookup(&alice(), NOW).await.expect("lookup").len(), 1);
    store.failing(true);
    assert!(svc.flush().await.is_err());
    store.failing(false);
    assert_eq!(svc.flush().await, Ok(2), "the failed batch is retried");
    assert_eq!(store.rows().len(), 2);
    assert_eq!(
        store.transactions.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one transaction per flush"
    );
    assert_eq!(svc.flush().await, Ok(0));
}

#[tokio::test]
async fn db_only_reads_the_database_every_time() {
    let store = FakeStore::default();
    let a = LocationService::new(
        store.clone(),
        StorageMode::DbOnly,
        RegistrarConfig::default(),
    );
    let b = LocationService::new(
        store.clone(),
        StorageMode::DbOnly,
        RegistrarConfig::default(),
    );
    a.register(
        &register("alice", 1, "<sip:alice@10.0.0.1>"),
        &alice(),
        reach(),
        NOW,
    )
    .await
    .expect("registered on node a");
    assert_eq!(
        b.lookup(&alice(), NOW).await.expect("lookup").len(),
        1,
        "node b sees it"
    );
    b.register(
        &register("alice", 2, "<sip:alice@10.0.0.1>;expires=0"),
        &alice(),
        reach(),
        NOW,
    )
    .await
    .expect("unregistered on node b");
    assert!(a.lookup(&alice(), NOW).await.expect("lookup").is_empty());
    assert_eq!(a.counts(), (0, 0), "no cache");
}

#[tokio::test]
async fn lookup_orders_by_q_and_purge_removes_expired() {
    let svc = LocationService::new(
        FakeStore::default(),
        StorageMode::WriteThrough,
        RegistrarConfig::default(),
    );
    svc.register(
        &register(
            "alice",
            1,
            "<sip:alice@10.0.0.1>;q=0.1;expires=100, <sip:alice@10.0.0.2>;q=0.9",
        ),
        &alice(),
        reach(),
        NOW,
    )
    .await
    .expect("registered");
    let found = svc.lookup(&alice(), NOW).await.expect("lookup");
    assert_eq!(&*found[0].contact, "sip:alice@10.0.0.2");
    assert_eq!(svc.purge(NOW + 200).await, Ok(1));
    assert_eq!(svc.store().rows().len(), 1);
    assert_eq!(svc.counts(), (1, 1));
}

#[tokio::test]
async fn concurrent_registers_of_one_aor_keep_both_contacts() {
    let svc = Arc::new(LocationService::new(
        FakeStore::default(),
        StorageMode::WriteThrough,
        RegistrarConfig::default(),
    ));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let svc = svc.clone();
            tokio::spawn(async move {
                let req = Message::parse(Bytes::from(format!(
                    "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK{i}\r\nMax-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=1\r\nTo: <sip:alice@example.com>\r\nCall-ID: phone-{i}\r\nCSeq: 1 REGISTER\r\nContact: <sip:alice@10.0.0.{i}>\r\nContent-Length: 0\r\n\r\n"
                )))
                .expect("parses");
                svc.register(&req, &alice(), reach(), NOW).await
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task").expect("registered");
    }
    assert_eq!(svc.lookup(&alice(), NOW).await.expect("lookup").len(), 8);
    assert_eq!(svc.store().rows().len(), 8);
}

#[tokio::test]
async fn natted_udp_bindings_are_listed_and_one_can_be_removed() {
    for mode in [StorageMode::WriteThrough, StorageMode::DbOnly] {
        let store = FakeStore::default();
        let svc = LocationService::new(store.clone(), mode, RegistrarConfig::default());
        let natted = Reach {
            transport: Transport::Udp,
            nat: true,
            ..reach()
        };
        for (user, r) in [("alice", natted), ("bob", reach())] {
            let msg = register(user, 1, &format!("<sip:{user}@192.168.1.10>;expires=900"));
            svc.register(
                &msg,
                &Aor::from_text(&format!("{user}@example.com")),
                r,
                NOW,
            )
            .await
            .expect("registered");
        }
        let listed = svc.natted_udp(NOW).await.expect("listed");
        assert_eq!(
            listed.len(),
            1,
            "{mode:?}: only alice's (bob is over TCP, not NATed)"
        );
        assert_eq!(listed[0].0, alice());
        assert!(
            svc.natted_udp(NOW + 1000).await.expect("listed").is_empty(),
            "expired"
        );
        assert!(
            svc.remove(&alice(), "sip:alice@192.168.1.10")
                .await
                .expect("removed")
        );
        assert!(
            svc.lookup(&alice(), NOW).await.expect("lookup").is_empty(),
            "{mode:?}"
        );
        assert_eq!(store.rows().len(), 1, "{mode:?}: the row is gone too");
    }
}

#[tokio::test]
async fn a_closed_flow_takes_its_bindings_with_it() {
    let store = FakeStore::default();
    let svc = LocationService::new(
        store.clone(),
        StorageMode::WriteThrough,
        RegistrarConfig::default(),
    );
    let msg = register(
        "alice",
        1,
        "<sip:alice@10.0.0.1:5070;transport=tcp>;expires=900",
    );
    svc.register(&msg, &alice(), reach(), NOW)
        .await
        .expect("registered");
    let other = Reach {
        remote: "203.0.113.6:40000".parse().expect("addr"),
        ..reach()
    };
    assert_eq!(
        svc.remove_flow(Transport::Tcp, other.remote)
            .await
            .expect("ok"),
        0
    );
    assert_eq!(
        svc.remove_flow(Transport::Udp, reach().remote)
            .await
            .expect("ok"),
        0,
        "another transport"
    );
    assert_eq!(
        svc.remove_flow(Transport::Tcp, reach().remote)
            .await
            .expect("ok"),
        1
    );
    assert!(svc.lookup(&alice(), NOW).await.expect("lookup").is_empty());
    assert!(store.rows().is_empty(), "gone from the database too");
}
