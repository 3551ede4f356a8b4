//! The store against the three back ends, for real: every behaviour runs on SQLite (a
//! temporary file), PostgreSQL and MySQL/MariaDB (a fresh database each). See
//! `common` for the servers used and how to skip them.

mod common;

use common::{Backend, TestDb};
use futures_util::TryStreamExt;
use serval_store::{BindingRecord, Change, MigrationReport, Store, StoreError, Subscriber};
use sqlx::{Executor, Row};
use std::time::Instant;

/// What a behaviour gets: a store on a fresh, empty (unmigrated) database.
struct Ctx {
    store: Store,
    backend: Backend,
    /// The database's URL, for raw connections.
    url: String,
}

impl Ctx {
    /// The store, migrated.
    async fn migrated(&self) -> &Store {
        self.store.migrate().await.expect("migrate");
        &self.store
    }
}

/// Runs `behaviour` on a fresh database of `backend`.
async fn run<F, Fut>(backend: Backend, behaviour: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let store = Store::connect(&db.url).await.expect("connect");
    behaviour(Ctx {
        store: store.clone(),
        backend,
        url: db.url.clone(),
    })
    .await;
    // Every connection closed (and any transaction a failed call left to roll back
    // ended) before the database is dropped.
    store.close().await;
    drop(db);
}

/// One test per back end for each behaviour: `NAME::sqlite`, `NAME::postgres`,
/// `NAME::mysql`.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::common::Backend;
            #[tokio::test]
            async fn sqlite() {
                super::run(Backend::Sqlite, super::$name).await;
            }
            #[tokio::test]
            async fn postgres() {
                super::run(Backend::Postgres, super::$name).await;
            }
            #[tokio::test]
            async fn mysql() {
                super::run(Backend::Mysql, super::$name).await;
            }
        }
    )*};
}

on_every_backend!(
    migrate_creates_the_schema_once,
    a_newer_schema_is_refused,
    subscribers_are_added_read_updated_and_deleted,
    over_long_values_are_refused_everywhere,
    subscribers_stream_in_order,
    import_is_all_or_nothing,
    import_of_100_000_subscribers,
    saving_a_binding_again_updates_it,
    bindings_are_deleted,
    apply_is_atomic,
    bindings_stream_in_order,
    expired_bindings_are_purged,
    restore_replaces_the_contents,
    restore_names_the_bad_line,
);

fn alice() -> Subscriber {
    Subscriber {
        username: "alice".to_owned(),
        domain: "example.com".to_owned(),
        password: None,
        ha1: Some("0123456789abcdef0123456789abcdef".to_owned()),
        ha1_sha256: Some("ab".repeat(32)),
        email: Some("alice@mail.example".to_owned()),
    }
}

fn user(name: &str, domain: &str) -> Subscriber {
    Subscriber {
        username: name.to_owned(),
        domain: domain.to_owned(),
        ..Subscriber::default()
    }
}

fn binding(aor: &str, contact: &str) -> BindingRecord {
    BindingRecord {
        aor: aor.to_owned(),
        contact: contact.to_owned(),
        expires: 1_900_000_000,
        q: 1000,
        call_id: "a84b4c76e66710@pc33.example.com".to_owned(),
        cseq: 314_159,
        instance: None,
        reg_id: None,
        path: None,
        received: None,
        socket: None,
        user_agent: None,
        flags: 0,
        last_modified: 1_800_000_000,
    }
}

/// A binding with every optional field set and the integers at their extremes.
fn full_binding(aor: &str, contact: &str) -> BindingRecord {
    BindingRecord {
        instance: Some("\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"".to_owned()),
        reg_id: Some(u32::MAX),
        path: Some("<sip:p1.example.com;lr>, <sip:p2.example.com;lr>".to_owned()),
        received: Some("udp:203.0.113.5:40000".to_owned()),
        socket: Some("udp:192.0.2.1:5060".to_owned()),
        user_agent: Some("Linphone/5.2 (Ünïcödé)".to_owned()),
        flags: u32::MAX,
        cseq: u32::MAX,
        q: 0,
        expires: i64::from(i32::MAX) + 1,
        ..binding(aor, contact)
    }
}

async fn all_subscribers(store: &Store, domain: Option<&str>) -> Vec<Subscriber> {
    store
        .subscribers(domain)
        .try_collect()
        .await
        .expect("subscribers")
}

async fn listed(store: &Store, domain: Option<&str>) -> Vec<(String, String)> {
    store
        .list_bindings(domain)
        .map_ok(|b| (b.aor, b.contact))
        .try_collect()
        .await
        .expect("bindings")
}

async fn migrate_creates_the_schema_once(ctx: Ctx) {
    let store = &ctx.store;
    assert_eq!(store.schema_version().await.expect("version"), 0);
    assert!(matches!(
        store.check_schema().await,
        Err(StoreError::NoSchema)
    ));
    assert_eq!(
        store.migrate().await.expect("migrate"),
        MigrationReport { from: 0, to: 1 }
    );
    assert_eq!(store.schema_version().await.expect("version"), 1);
    store.check_schema().await.expect("current");
    store.add_subscriber(&alice()).await.expect("add");

    let again = store.migrate().await.expect("migrate again");
    assert_eq!(again, MigrationReport { from: 1, to: 1 });
    assert!(!again.changed());
    assert!(
        store
            .subscriber("alice", "example.com")
            .await
            .expect("get")
            .is_some(),
        "migrating again keeps the data"
    );
}

async fn a_newer_schema_is_refused(ctx: Ctx) {
    let store = ctx.migrated().await;
    let mut raw = sqlx::AnyConnection::connect(&ctx.url).await.expect("raw");
    raw.execute("INSERT INTO serval_schema (version, applied) VALUES (99, 0)")
        .await
        .expect("raw insert");
    let refused = store.migrate().await.expect_err("newer schema");
    assert!(
        matches!(
            refused,
            StoreError::NewerSchema {
                found: 99,
                known: 1
            }
        ),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains("version 99, newer than the 1"),
        "{refused}"
    );
    assert!(matches!(
        store.check_schema().await,
        Err(StoreError::NewerSchema { found: 99, .. })
    ));
    assert_eq!(store.schema_version().await.expect("version"), 99);
}

async fn subscribers_are_added_read_updated_and_deleted(ctx: Ctx) {
    let store = ctx.migrated().await;
    store.add_subscriber(&alice()).await.expect("add");
    assert_eq!(
        store.subscriber("alice", "example.com").await.expect("get"),
        Some(alice())
    );

    let twice = store.add_subscriber(&alice()).await.expect_err("twice");
    assert!(
        matches!(&twice, StoreError::AlreadyExists { user, domain } if user == "alice" && domain == "example.com"),
        "{twice:?}"
    );
    assert_eq!(
        twice.to_string(),
        "subscriber alice@example.com already exists"
    );

    // Names are case-sensitive on every back end (MySQL's default collation is not).
    store
        .add_subscriber(&user("Alice", "example.com"))
        .await
        .expect("Alice is not alice");
    assert_eq!(
        store.subscriber("ALICE", "example.com").await.expect("get"),
        None
    );

    let changed = store
        .update_credentials(
            "alice",
            "example.com",
            Some("secret"),
            &"1".repeat(32),
            &"2".repeat(64),
        )
        .await
        .expect("update");
    assert!(changed);
    // The same values again still count as found (MySQL reports changed rows only
    // unless asked for found rows).
    assert!(
        store
            .update_credentials(
                "alice",
                "example.com",
                Some("secret"),
                &"1".repeat(32),
                &"2".repeat(64)
            )
            .await
            .expect("update")
    );
    let updated = store
        .subscriber("alice", "example.com")
        .await
        .expect("get")
        .expect("alice");
    assert_eq!(updated.password.as_deref(), Some("secret"));
    assert_eq!(updated.ha1, Some("1".repeat(32)));
    assert_eq!(updated.ha1_sha256, Some("2".repeat(64)));
    assert_eq!(updated.email, alice().email);
    assert!(
        !store
            .update_credentials("bob", "example.com", None, "x", "y")
            .await
            .expect("update")
    );

    assert!(
        store
            .delete_subscriber("alice", "example.com")
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_subscriber("alice", "example.com")
            .await
            .expect("delete")
    );
    assert_eq!(
        store.subscriber("alice", "example.com").await.expect("get"),
        None
    );
    assert!(
        store
            .subscriber("Alice", "example.com")
            .await
            .expect("get")
            .is_some()
    );
}

async fn over_long_values_are_refused_everywhere(ctx: Ctx) {
    let store = ctx.migrated().await;
    let long = user(&"u".repeat(65), "example.com");
    let err = store.add_subscriber(&long).await.expect_err("too long");
    assert!(
        matches!(
            err,
            StoreError::TooLong {
                field: "username",
                len: 65,
                max: 64
            }
        ),
        "{err:?}"
    );
    let nul = user("a\0b", "example.com");
    assert!(matches!(
        store.add_subscriber(&nul).await,
        Err(StoreError::Nul { field: "username" })
    ));
    // Exactly at the limits fits, on MySQL too (utf8mb4: 4 bytes a character).
    let wide = "é".repeat(255);
    let at_limit = BindingRecord {
        user_agent: Some(wide.clone()),
        ..binding(
            &format!("{}@{}", "a".repeat(64), "d".repeat(128)),
            &"c".repeat(512),
        )
    };
    store.save_binding(&at_limit).await.expect("at the limits");
    assert_eq!(
        store.bindings(&at_limit.aor).await.expect("bindings"),
        vec![at_limit.clone()]
    );
    let over = BindingRecord {
        contact: "c".repeat(513),
        ..at_limit
    };
    assert!(matches!(
        store.save_binding(&over).await,
        Err(StoreError::TooLong {
            field: "contact",
            ..
        })
    ));
}

async fn subscribers_stream_in_order(ctx: Ctx) {
    let store = ctx.migrated().await;
    for (name, domain) in [
        ("carol", "b.example"),
        ("bob", "a.example"),
        ("alice", "b.example"),
        ("Zed", "b.example"),
        ("dave", "a.example"),
    ] {
        store
            .add_subscriber(&user(name, domain))
            .await
            .expect("add");
    }
    let names = |list: Vec<Subscriber>| -> Vec<String> {
        list.into_iter()
            .map(|s| format!("{}@{}", s.username, s.domain))
            .collect()
    };
    assert_eq!(
        names(all_subscribers(store, None).await),
        [
            "bob@a.example",
            "dave@a.example",
            "Zed@b.example",
            "alice@b.example",
            "carol@b.example"
        ],
        "by domain, then name, byte order on every back end"
    );
    assert_eq!(
        names(all_subscribers(store, Some("a.example")).await),
        ["bob@a.example", "dave@a.example"]
    );
    assert!(all_subscribers(store, Some("c.example")).await.is_empty());
}

async fn import_is_all_or_nothing(ctx: Ctx) {
    let store = ctx.migrated().await;
    let rows = (0..1200).map(|i| Subscriber {
        password: Some(format!("pw{i}")),
        ..user(&format!("user{i:04}"), "example.com")
    });
    assert_eq!(store.import_subscribers(rows).await.expect("import"), 1200);
    let all = all_subscribers(store, None).await;
    assert_eq!(all.len(), 1200);
    assert_eq!(all[1199].username, "user1199");
    assert_eq!(all[7].password.as_deref(), Some("pw7"));

    // One of them exists: the import fails and adds nothing.
    let rows = (0..1000)
        .map(|i| user(&format!("new{i}"), "example.com"))
        .chain([user("user0042", "example.com")]);
    let err = store.import_subscribers(rows).await.expect_err("exists");
    assert!(
        matches!(&err, StoreError::AlreadyExists { user, .. } if user == "user0042"),
        "{err:?}"
    );
    assert_eq!(all_subscribers(store, None).await.len(), 1200);

    // The same name twice in the input, in different batches.
    let rows = (0..800)
        .map(|i| user(&format!("twice{i}"), "other.example"))
        .chain([user("twice3", "other.example")]);
    let err = store.import_subscribers(rows).await.expect_err("twice");
    assert!(
        matches!(&err, StoreError::AlreadyExists { user, .. } if user == "twice3"),
        "{err:?}"
    );
    assert!(
        all_subscribers(store, Some("other.example"))
            .await
            .is_empty()
    );
}

async fn import_of_100_000_subscribers(ctx: Ctx) {
    let store = ctx.migrated().await;
    const N: usize = 100_000;
    let rows = (0..N).map(|i| Subscriber {
        username: format!("user{i:06}"),
        domain: "example.com".to_owned(),
        password: None,
        ha1: Some(format!("{i:032x}")),
        ha1_sha256: Some(format!("{i:064x}")),
        email: None,
    });
    let started = Instant::now();
    let added = store.import_subscribers(rows).await.expect("import");
    let took = started.elapsed();
    println!(
        "{}: imported {N} subscribers in {:.2} s",
        ctx.backend.name(),
        took.as_secs_f64()
    );
    assert_eq!(added, N as u64);
    assert!(took.as_secs() < 60, "import took {took:?}");
    let counted = store
        .subscribers(None)
        .try_fold(0usize, |n, _| async move { Ok(n + 1) })
        .await
        .expect("count");
    assert_eq!(counted, N);
    let last = store
        .subscriber("user099999", "example.com")
        .await
        .expect("get")
        .expect("the last row");
    assert_eq!(last.ha1, Some(format!("{:032x}", N - 1)));
}

async fn saving_a_binding_again_updates_it(ctx: Ctx) {
    let store = ctx.migrated().await;
    let first = binding("alice@example.com", "<sip:alice@192.0.2.7:5060>");
    store.save_binding(&first).await.expect("save");
    assert_eq!(
        store.bindings("alice@example.com").await.expect("get"),
        vec![first.clone()]
    );

    let second = full_binding(&first.aor, &first.contact);
    store.save_binding(&second).await.expect("upsert");
    assert_eq!(
        store.bindings("alice@example.com").await.expect("get"),
        vec![second.clone()],
        "one row, every field replaced, extremes kept"
    );

    // And back: optional fields cleared again.
    store.save_binding(&first).await.expect("upsert");
    assert_eq!(
        store.bindings("alice@example.com").await.expect("get"),
        vec![first]
    );
}

async fn bindings_are_deleted(ctx: Ctx) {
    let store = ctx.migrated().await;
    for contact in [
        "<sip:a@192.0.2.1>",
        "<sip:a@192.0.2.2>",
        "<sip:a@192.0.2.3>",
    ] {
        store
            .save_binding(&binding("alice@example.com", contact))
            .await
            .expect("save");
    }
    store
        .save_binding(&binding("bob@example.com", "<sip:b@192.0.2.9>"))
        .await
        .expect("save");

    assert!(
        store
            .delete_binding("alice@example.com", "<sip:a@192.0.2.2>")
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_binding("alice@example.com", "<sip:a@192.0.2.2>")
            .await
            .expect("delete")
    );
    let contacts: Vec<String> = store
        .bindings("alice@example.com")
        .await
        .expect("get")
        .into_iter()
        .map(|b| b.contact)
        .collect();
    assert_eq!(contacts, ["<sip:a@192.0.2.1>", "<sip:a@192.0.2.3>"]);

    assert_eq!(
        store.delete_aor("alice@example.com").await.expect("delete"),
        2
    );
    assert_eq!(
        store.delete_aor("alice@example.com").await.expect("delete"),
        0
    );
    assert!(
        store
            .bindings("alice@example.com")
            .await
            .expect("get")
            .is_empty()
    );
    assert_eq!(
        store.bindings("bob@example.com").await.expect("get").len(),
        1
    );
}

async fn apply_is_atomic(ctx: Ctx) {
    let store = ctx.migrated().await;
    let kept = binding("carol@example.com", "<sip:carol@192.0.2.3>");
    store.save_binding(&kept).await.expect("save");

    // The third change can't be stored: the first two are undone.
    let failing = [
        Change::Save(binding("alice@example.com", "<sip:alice@192.0.2.1>")),
        Change::DeleteAor("carol@example.com".to_owned()),
        Change::Save(binding(
            "bob@example.com",
            &format!("<sip:{}>", "b".repeat(600)),
        )),
    ];
    let err = store.apply(&failing).await.expect_err("too long");
    assert!(
        matches!(
            err,
            StoreError::TooLong {
                field: "contact",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        listed(store, None).await,
        [(kept.aor.clone(), kept.contact.clone())],
        "nothing of a failed batch is left"
    );

    // A write-back flush: many changes, in order, in one transaction.
    let mut changes = Vec::new();
    for i in 0..1000 {
        changes.push(Change::Save(binding(
            &format!("user{:03}@example.com", i % 100),
            &format!("<sip:ua{i}@192.0.2.1>"),
        )));
    }
    for i in 0..100 {
        changes.push(Change::Delete {
            aor: format!("user{:03}@example.com", i % 100),
            contact: format!("<sip:ua{i}@192.0.2.1>"),
        });
    }
    changes.push(Change::DeleteAor("user099@example.com".to_owned()));
    changes.push(Change::DeleteAor("carol@example.com".to_owned()));
    changes.push(Change::Save(BindingRecord {
        cseq: 2,
        ..binding("user000@example.com", "<sip:ua100@192.0.2.1>")
    }));
    store.apply(&changes).await.expect("apply");
    let all: Vec<BindingRecord> = store.all_bindings().try_collect().await.expect("all");
    assert_eq!(
        all.len(),
        1000 - 100 - 9,
        "saved, less deleted, less user099's 9 left"
    );
    let user0 = store.bindings("user000@example.com").await.expect("get");
    assert_eq!(user0.len(), 9);
    assert!(
        user0
            .iter()
            .any(|b| b.contact == "<sip:ua100@192.0.2.1>" && b.cseq == 2)
    );
    store.apply(&[]).await.expect("nothing to do");
}

async fn bindings_stream_in_order(ctx: Ctx) {
    let store = ctx.migrated().await;
    let keys = [
        ("bob@b.example", "<sip:bob@192.0.2.2>"),
        ("alice@a.example", "<sip:alice@192.0.2.9>"),
        ("Alice@a.example", "<sip:Alice@192.0.2.1>"),
        ("alice@a.example", "<sip:alice@192.0.2.1>"),
        ("carol@A.Example", "<sip:carol@192.0.2.3>"),
    ];
    let changes: Vec<Change> = keys
        .iter()
        .map(|(aor, contact)| Change::Save(binding(aor, contact)))
        .collect();
    store.apply(&changes).await.expect("apply");
    let owned = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(a, c)| ((*a).to_owned(), (*c).to_owned()))
            .collect()
    };
    assert_eq!(
        listed(store, None).await,
        owned(&[
            ("Alice@a.example", "<sip:Alice@192.0.2.1>"),
            ("alice@a.example", "<sip:alice@192.0.2.1>"),
            ("alice@a.example", "<sip:alice@192.0.2.9>"),
            ("bob@b.example", "<sip:bob@192.0.2.2>"),
            ("carol@A.Example", "<sip:carol@192.0.2.3>"),
        ])
    );
    assert_eq!(
        listed(store, Some("A.EXAMPLE")).await,
        owned(&[
            ("Alice@a.example", "<sip:Alice@192.0.2.1>"),
            ("alice@a.example", "<sip:alice@192.0.2.1>"),
            ("alice@a.example", "<sip:alice@192.0.2.9>"),
            ("carol@A.Example", "<sip:carol@192.0.2.3>"),
        ]),
        "the domain matches without regard to case"
    );
    let mut all: Vec<(String, String)> = store
        .all_bindings()
        .map_ok(|b| (b.aor, b.contact))
        .try_collect()
        .await
        .expect("all");
    all.sort();
    assert_eq!(all, listed(store, None).await);
}

async fn expired_bindings_are_purged(ctx: Ctx) {
    let store = ctx.migrated().await;
    let now = 1_800_000_000;
    for (contact, expires) in [
        ("<sip:a@1>", now - 10),
        ("<sip:a@2>", now),
        ("<sip:a@3>", now + 10),
    ] {
        store
            .save_binding(&BindingRecord {
                expires,
                ..binding("alice@example.com", contact)
            })
            .await
            .expect("save");
    }
    assert_eq!(store.purge_expired(now).await.expect("purge"), 2);
    assert_eq!(store.purge_expired(now).await.expect("purge"), 0);
    let left = store.bindings("alice@example.com").await.expect("get");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].contact, "<sip:a@3>");
}

/// Subscribers and bindings with every kind of value.
async fn fill(store: &Store) {
    store.add_subscriber(&alice()).await.expect("add");
    store
        .add_subscriber(&Subscriber {
            password: Some("pä\"ss\\word".to_owned()),
            email: None,
            ..user("bob", "b.example")
        })
        .await
        .expect("add");
    store
        .add_subscriber(&user("Zoë", "b.example"))
        .await
        .expect("add");
    store
        .apply(&[
            Change::Save(full_binding(
                "alice@example.com",
                "<sip:alice@192.0.2.7;transport=tcp>",
            )),
            Change::Save(binding("alice@example.com", "<sip:alice@[2001:db8::7]>")),
            Change::Save(binding("bob@b.example", "sip:bob@198.51.100.1")),
        ])
        .await
        .expect("apply");
}

/// The backup of `store` as text.
async fn backup_text(store: &Store) -> String {
    let mut out = Vec::new();
    store.backup(&mut out).await.expect("backup");
    String::from_utf8(out).expect("UTF-8")
}

async fn restore_replaces_the_contents(ctx: Ctx) {
    let store = ctx.migrated().await;
    fill(store).await;
    let backup = backup_text(store).await;
    let mut lines = backup.lines();
    assert_eq!(
        lines.next(),
        Some(r#"{"format":"serval-backup","version":1,"schema":1}"#)
    );
    assert!(
        lines
            .next()
            .is_some_and(|l| l
                .starts_with(r#"{"table":"subscriber","username":"Zoë","domain":"b.example","#)),
        "{backup}"
    );
    assert_eq!(backup.lines().count(), 1 + 3 + 3);

    // Change everything, then restore: the backup's rows, and only those.
    store
        .delete_subscriber("alice", "example.com")
        .await
        .expect("delete");
    store
        .add_subscriber(&user("mallory", "example.com"))
        .await
        .expect("add");
    store.delete_aor("alice@example.com").await.expect("delete");
    store
        .save_binding(&binding("mallory@example.com", "<sip:m@203.0.113.1>"))
        .await
        .expect("save");
    let counts = store.restore(backup.as_bytes()).await.expect("restore");
    assert_eq!((counts.subscribers, counts.bindings), (3, 3));
    assert_eq!(backup_text(store).await, backup);
}

async fn restore_names_the_bad_line(ctx: Ctx) {
    let store = ctx.migrated().await;
    fill(store).await;
    let before = backup_text(store).await;

    let not_a_backup = "user,domain,password\n";
    let err = store
        .restore(not_a_backup.as_bytes())
        .await
        .expect_err("bad header");
    assert!(
        err.to_string()
            .starts_with("backup line 1: not a Serval backup header"),
        "{err}"
    );

    let mut lines: Vec<&str> = before.lines().collect();
    lines.insert(3, r#"{"table":"subscriber","username":"x"}"#);
    let err = store
        .restore(lines.join("\n").as_bytes())
        .await
        .expect_err("bad row");
    assert!(
        err.to_string()
            .starts_with("backup line 4: missing field `domain`"),
        "{err}"
    );

    let mut lines: Vec<&str> = before.lines().collect();
    lines.push(r#"{"table":"nonsense"}"#);
    let err = store
        .restore(lines.join("\n").as_bytes())
        .await
        .expect_err("bad table");
    assert!(
        err.to_string()
            .starts_with("backup line 8: unknown variant `nonsense`"),
        "{err}"
    );

    let twice = format!("{before}{}\n", before.lines().nth(1).expect("a row"));
    let err = store
        .restore(twice.as_bytes())
        .await
        .expect_err("a key twice");
    assert!(
        err.to_string()
            .contains("the database refused a row of lines 2 to 8"),
        "{err}"
    );

    assert_eq!(
        backup_text(store).await,
        before,
        "a failed restore changes nothing"
    );

    let newer = before.replacen("\"version\":1", "\"version\":2", 1);
    let err = store
        .restore(newer.as_bytes())
        .await
        .expect_err("newer format");
    assert!(err.to_string().contains("backup format version 2"), "{err}");
}

/// A backup taken from SQLite restores into `target` with identical rows.
async fn sqlite_backup_restores_into(target: Backend) {
    let Some(target_db) = TestDb::create(target).await else {
        return;
    };
    let source_db = TestDb::create(Backend::Sqlite).await.expect("sqlite");
    let source = Store::connect(&source_db.url).await.expect("connect");
    source.migrate().await.expect("migrate");
    fill(&source).await;
    let rows = (0..1234).map(|i| user(&format!("u{i:05}"), "bulk.example"));
    source.import_subscribers(rows).await.expect("import");
    let changes: Vec<Change> = (0..777)
        .map(|i| {
            Change::Save(full_binding(
                &format!("u{i:05}@bulk.example"),
                "<sip:x@192.0.2.1>",
            ))
        })
        .collect();
    source.apply(&changes).await.expect("apply");
    let backup = backup_text(&source).await;

    let store = Store::connect(&target_db.url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let counts = store.restore(backup.as_bytes()).await.expect("restore");
    assert_eq!((counts.subscribers, counts.bindings), (1237, 780));
    assert_eq!(backup_text(&store).await, backup, "identical rows");

    // And back into a fresh SQLite file.
    let back_db = TestDb::create(Backend::Sqlite).await.expect("sqlite");
    let back = Store::connect(&back_db.url).await.expect("connect");
    back.migrate().await.expect("migrate");
    back.restore(backup_text(&store).await.as_bytes())
        .await
        .expect("restore");
    assert_eq!(backup_text(&back).await, backup);
    store.close().await;
}

#[tokio::test]
async fn sqlite_backup_restores_into_postgres() {
    sqlite_backup_restores_into(Backend::Postgres).await;
}

#[tokio::test]
async fn sqlite_backup_restores_into_mysql() {
    sqlite_backup_restores_into(Backend::Mysql).await;
}

#[tokio::test]
async fn sqlite_files_are_created_in_wal_mode() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("new.db");
    assert!(!path.exists());
    let url = format!("sqlite:{}", path.display());
    let store = Store::connect(&url).await.expect("connect");
    assert!(path.exists(), "created on first use");
    store.migrate().await.expect("migrate");
    store.close().await;
    let mut raw = sqlx::AnyConnection::connect(&url).await.expect("raw");
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&mut raw)
        .await
        .expect("pragma")
        .get(0);
    assert_eq!(mode, "wal");
}

use sqlx::Connection;

#[tokio::test]
async fn unreachable_databases_are_named_without_password() {
    for url in [
        "postgres://serval:secret@127.0.0.1:1/serval",
        "mysql://serval:secret@127.0.0.1:1/serval",
    ] {
        let err = Store::connect(url)
            .await
            .expect_err("nothing listens on port 1");
        let message = err.to_string();
        let shown = url.replace("secret", "***");
        assert!(
            message.starts_with(&format!("cannot reach database {shown}: ")),
            "{message}"
        );
        assert!(message.contains("refused"), "{message}");
        assert!(!message.contains("secret"), "{message}");
    }

    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite:{}/no/such/dir/x.db", dir.path().display());
    let err = Store::connect(&url).await.expect_err("no directory");
    assert!(
        err.to_string()
            .starts_with(&format!("cannot reach database {url}: ")),
        "{err}"
    );

    let err = Store::connect("redis://localhost")
        .await
        .expect_err("not SQL");
    assert!(matches!(err, StoreError::Url(_)), "{err:?}");
}

/// The registrar runs these on a multi-threaded runtime: their futures and streams
/// must be `Send`.
#[test]
fn futures_and_streams_are_send() {
    fn send<T: Send>(_: &T) {}
    let Some(store) = None::<Store> else {
        return;
    };
    let b = binding("a@b", "c");
    send(&store.save_binding(&b));
    send(&store.apply(&[]));
    send(&store.bindings("a@b"));
    send(&store.subscriber("a", "b"));
    send(&store.subscribers(None));
    send(&store.list_bindings(None));
    send(&store.all_bindings());
    send(&store.purge_expired(0));
    send(&store.import_subscribers(std::iter::empty()));
    send(&store.backup(Vec::new()));
    send(&store.restore(&b""[..]));
    send(&store.migrate());
}
