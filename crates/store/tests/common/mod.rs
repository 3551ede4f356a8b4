//! Test databases on the three back ends: a fresh SQLite file in a temporary
//! directory, or a fresh database `serval_test_<random>` on the PostgreSQL and
//! MySQL/MariaDB servers, dropped when the [`TestDb`] goes away.
//!
//! The servers come from `SERVAL_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432`) and `SERVAL_TEST_MYSQL` (default
//! `mysql://root@127.0.0.1:3306`). An unreachable server fails the test, unless
//! `SERVAL_TEST_SKIP_SERVERS=1`, which skips the server tests.
//!
//! Shared with servalctl's tests (`#[path]`), so not every item is used by each.
#![allow(dead_code)]

use sqlx::{AnyConnection, Connection, Executor};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A back end under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in a temporary file.
    Sqlite,
    /// The PostgreSQL test server.
    Postgres,
    /// The MySQL/MariaDB test server.
    Mysql,
}

impl Backend {
    /// The server's URL without a database, from the environment or the default.
    fn server(self) -> Option<String> {
        let (var, default) = match self {
            Backend::Sqlite => return None,
            Backend::Postgres => ("SERVAL_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432"),
            Backend::Mysql => ("SERVAL_TEST_MYSQL", "mysql://root@127.0.0.1:3306"),
        };
        let url = std::env::var(var).unwrap_or_else(|_| default.to_owned());
        Some(url.trim_end_matches('/').to_owned())
    }

    /// Where to connect to create and drop databases.
    fn admin_url(self, server: &str) -> String {
        match self {
            Backend::Postgres => format!("{server}/postgres"),
            Backend::Sqlite | Backend::Mysql => server.to_owned(),
        }
    }

    /// The back end's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
            Backend::Mysql => "MySQL/MariaDB",
        }
    }
}

/// Whether server tests are to be skipped (`SERVAL_TEST_SKIP_SERVERS=1`).
pub fn skip_servers() -> bool {
    std::env::var("SERVAL_TEST_SKIP_SERVERS").is_ok_and(|v| v == "1")
}

/// A database name no other test, in this run or another, uses.
fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "serval_test_{:x}_{:x}_{n}",
        std::process::id(),
        nanos & 0xffff_ffff_ffff
    )
}

/// A fresh, empty database, dropped on drop.
pub struct TestDb {
    /// The URL to give the store or servalctl.
    pub url: String,
    /// Which back end.
    pub backend: Backend,
    name: String,
    admin: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A new database on `backend`; `None` when server tests are skipped. Panics with
    /// a clear message when the server can't be reached.
    pub async fn create(backend: Backend) -> Option<TestDb> {
        sqlx::any::install_default_drivers();
        let name = unique_name();
        let Some(server) = backend.server() else {
            let dir = tempfile::tempdir().expect("temporary directory");
            let path = dir.path().join("serval.db");
            return Some(TestDb {
                url: format!("sqlite:{}", path.display()),
                backend,
                name,
                admin: None,
                _dir: Some(dir),
            });
        };
        if skip_servers() {
            eprintln!(
                "SERVAL_TEST_SKIP_SERVERS=1: skipping the {} test",
                backend.name()
            );
            return None;
        }
        let admin = backend.admin_url(&server);
        let mut conn = match AnyConnection::connect(&admin).await {
            Ok(conn) => conn,
            Err(err) => panic!(
                "the {} test server at {} is unreachable: {err}\n\
                 start it, point SERVAL_TEST_{} at one, \
                 or set SERVAL_TEST_SKIP_SERVERS=1 to skip the server tests",
                backend.name(),
                serval_store::redact(&server),
                if backend == Backend::Postgres {
                    "POSTGRES"
                } else {
                    "MYSQL"
                },
            ),
        };
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap_or_else(|err| panic!("CREATE DATABASE {name}: {err}"));
        let _ = conn.close().await;
        Some(TestDb {
            url: format!("{server}/{name}"),
            backend,
            name,
            admin: Some(admin),
            _dir: None,
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(admin) = self.admin.take() else {
            return;
        };
        let (backend, name) = (self.backend, self.name.clone());
        // Drop may run inside a runtime (or while panicking): do it on a thread of
        // its own, with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(drop_database(&admin, backend, &name))
        })
        .join();
        if let Ok(Err(err)) = dropped {
            eprintln!("could not drop test database {}: {err}", self.name);
        }
    }
}

/// Drops the database `name`, first ending the sessions still using it (a test that
/// panicked may have left a transaction open, whose locks would block the drop).
async fn drop_database(admin: &str, backend: Backend, name: &str) -> Result<(), sqlx::Error> {
    let mut conn = AnyConnection::connect(admin).await?;
    match backend {
        Backend::Postgres => {
            conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await?;
        }
        Backend::Mysql => {
            let sessions = sqlx::query(&format!(
                "SELECT id FROM information_schema.processlist WHERE db = '{name}'"
            ))
            .fetch_all(&mut conn)
            .await?;
            for session in sessions {
                let id: i64 = sqlx::Row::try_get(&session, 0)?;
                // It may have ended meanwhile.
                let _ = conn.execute(format!("KILL {id}").as_str()).await;
            }
            conn.execute("SET SESSION lock_wait_timeout = 10").await?;
            conn.execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
                .await?;
        }
        Backend::Sqlite => {}
    }
    conn.close().await
}
