//! SQL storage for Serval: subscribers (who may register, with their digest
//! credentials) and location bindings (where a registered user can be reached), in
//! SQLite, PostgreSQL or MySQL/MariaDB.
//!
//! One code path serves the three back ends: [`sqlx`]'s `Any` driver, plain SQL in the
//! common subset, and a [`Dialect`] for the few differences (placeholders, upsert, key
//! sizes). Values are portable types only: text, 64-bit integers, times as unix seconds.
//!
//! ```no_run
//! # async fn demo() -> Result<(), serval_store::StoreError> {
//! let store = serval_store::Store::connect("sqlite:serval.db").await?;
//! store.migrate().await?;
//! let alice = store.subscriber("alice", "example.com").await?;
//! # Ok(()) }
//! ```
//!
//! # Durability
//! A write that returned `Ok` is committed. SQLite runs in WAL mode with
//! `synchronous=NORMAL`: a commit is in the WAL file when it returns, so it survives
//! the process being killed (`kill -9`) at any point; only an operating-system crash or
//! power loss can lose the last commits (never corrupt the file). PostgreSQL and MySQL
//! give their own server's guarantees.
//!
//! # Layout
//! - [`dialect`]: [`Dialect`], placeholder rendering and upserts.
//! - [`schema`]: versioned migrations, column limits.
//! - `subscriber`: [`Subscriber`] rows and their operations.
//! - `location`: [`BindingRecord`] rows, [`Change`] batches.
//! - `backup`: portable JSON-lines backup and restore.
//! - `url`: URL handling (passwords never shown, SQLite files created).
//! - [`error`]: the error type, [`StoreError`].

pub mod dialect;
pub mod error;
pub mod schema;

mod backup;
mod batch;
mod check;
mod location;
mod subscriber;
mod url;

pub use backup::{BACKUP_FORMAT, BACKUP_VERSION, BackupCounts};
pub use dialect::Dialect;
pub use error::StoreError;
pub use location::{BindingRecord, Change};
pub use schema::{MigrationReport, SCHEMA_VERSION};
pub use subscriber::Subscriber;
pub use url::redact;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Connection, Executor, Transaction};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long connecting to a server may take before it counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection pool to one database. Cloning is cheap and shares the pool.
#[derive(Debug, Clone)]
pub struct Store {
    /// Writes, migrations, and reads that must see the latest write.
    pool: AnyPool,
    /// Lookups and reports: `pool` itself, or a read-only login to the same database.
    reader: AnyPool,
    dialect: Dialect,
}

impl Store {
    /// Opens the database at `url` (`sqlite:PATH`, `postgres://…`, `mysql://…`). An
    /// SQLite file is created when missing. Fails with [`StoreError::Connect`], naming
    /// the URL without its password and the cause, when the database can't be reached.
    /// The schema is not checked: see [`Store::migrate`] and [`Store::check_schema`].
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let dialect = Dialect::from_url(url).ok_or_else(|| StoreError::Url(redact(url)))?;
        let pool = open_pool(url, dialect).await?;
        Ok(Store {
            reader: pool.clone(),
            pool,
            dialect,
        })
    }

    /// Opens the database at `url` for writing, and reads through `read_only_url` (the
    /// same database with credentials that may only read, as SER's `serro`) when one
    /// is given: lookups, lists and backups then never hold write privileges.
    pub async fn connect_split(
        url: &str,
        read_only_url: Option<&str>,
    ) -> Result<Store, StoreError> {
        let mut store = Store::connect(url).await?;
        if let Some(read_only) = read_only_url {
            if Dialect::from_url(read_only) != Some(store.dialect) {
                return Err(StoreError::Url(redact(read_only)));
            }
            store.reader = open_pool(read_only, store.dialect).await?;
        }
        Ok(store)
    }

    /// The rows of `select` (of `domain`, when given: the table has a `domain`
    /// column), ordered by `order`, streamed row by row: a million rows never sit in
    /// one buffer.
    pub(crate) fn rows_of_domain<'a>(
        &'a self,
        select: &'static str,
        order: &'static str,
        domain: Option<String>,
    ) -> impl futures_util::Stream<Item = Result<sqlx::any::AnyRow, StoreError>> + 'a {
        use futures_util::TryStreamExt;
        async_stream::try_stream! {
            let filter = if domain.is_some() { " WHERE domain = ?" } else { "" };
            let sql = self.dialect.sql(&format!("{select}{filter} ORDER BY {order}")).into_owned();
            let mut query = sqlx::query(&sql);
            if let Some(domain) = &domain {
                query = query.bind(domain.as_str());
            }
            let mut rows = query.fetch(&self.reader);
            while let Some(row) = rows.try_next().await? {
                yield row;
            }
        }
    }

    /// The back end.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Closes every connection, waiting for those in use to come back.
    pub async fn close(&self) {
        self.pool.close().await;
        self.reader.close().await;
    }

    /// A transaction for writing. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so a transaction that reads first can't deadlock with
    /// another writer.
    async fn begin_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        Ok(match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres | Dialect::Mysql => self.pool.begin().await?,
        })
    }
}

/// Ends a write transaction: commits when `result` is `Ok`; otherwise rolls back at
/// once, so its locks are gone when the error is returned (a dropped transaction
/// only rolls back when its connection is next used).
async fn finish<T>(
    tx: Transaction<'static, Any>,
    result: Result<T, StoreError>,
) -> Result<T, StoreError> {
    match result {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(err) => {
            // The error that made us stop is the one to report.
            let _ = tx.rollback().await;
            Err(err)
        }
    }
}

/// Now, in unix seconds.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A connection pool to `url`, after one direct connection that says why it failed.
async fn open_pool(url: &str, dialect: Dialect) -> Result<AnyPool, StoreError> {
    sqlx::any::install_default_drivers();
    let failed = |err: sqlx::Error| StoreError::Connect {
        url: redact(url),
        cause: error::cause(&err),
    };
    let options = AnyConnectOptions::from_str(&url::driver_url(url, dialect))
        .map_err(failed)?
        .disable_statement_logging();

    // One direct connection first: the pool retries a refused connection until its
    // timeout and then only says that it timed out; this says why.
    let mut first = tokio::time::timeout(CONNECT_TIMEOUT, AnyConnection::connect_with(&options))
        .await
        .map_err(|_| StoreError::Connect {
            url: redact(url),
            cause: format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        })?
        .map_err(failed)?;
    if dialect == Dialect::Sqlite {
        // Persistent in the file; set once, before other connections exist.
        first
            .execute("PRAGMA journal_mode = WAL")
            .await
            .map_err(failed)?;
    }
    first.close().await.map_err(failed)?;

    AnyPoolOptions::new()
        .max_connections(match dialect {
            Dialect::Sqlite => 4,
            Dialect::Postgres | Dialect::Mysql => 8,
        })
        .acquire_timeout(CONNECT_TIMEOUT)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if dialect == Dialect::Sqlite {
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(failed)
}
