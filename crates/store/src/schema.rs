//! The schema and its versioned migrations.
//!
//! `serval_schema` records each applied migration (`version`, `applied` unix seconds);
//! the schema's version is the highest one. [`Store::migrate`] applies the missing
//! migrations in order, each in its own transaction, under a lock so two processes
//! starting together don't both migrate (PostgreSQL advisory lock, MySQL `GET_LOCK`,
//! SQLite's write lock). PostgreSQL and SQLite roll a failed migration back whole;
//! MySQL commits each DDL statement as it runs, so a migration that fails there can
//! leave part of itself behind.
//!
//! A database whose schema is newer than this program's is never touched.

use crate::{Dialect, Store, StoreError, unix_now};
use sqlx::AnyConnection;
use sqlx::{Connection, Executor, Row};

/// Column sizes in characters: the same limits on every back end, checked before a
/// write so that an over-long value fails the same way everywhere.
pub mod limits {
    /// `subscriber.username`.
    pub const USERNAME: usize = 64;
    /// `subscriber.domain` and `location.domain`.
    pub const DOMAIN: usize = 128;
    /// `subscriber.password`.
    pub const PASSWORD: usize = 128;
    /// `subscriber.ha1` (MD5, lower-case hex).
    pub const HA1: usize = 32;
    /// `subscriber.ha1_sha256` (SHA-256, lower-case hex).
    pub const HA1_SHA256: usize = 64;
    /// `subscriber.email`.
    pub const EMAIL: usize = 255;
    /// `location.aor`.
    pub const AOR: usize = 255;
    /// `location.contact`. With `aor`, the most a MySQL utf8mb4 key can hold.
    pub const CONTACT: usize = 512;
    /// `location.call_id`.
    pub const CALL_ID: usize = 255;
    /// `location.instance`.
    pub const INSTANCE: usize = 255;
    /// `location.path`.
    pub const PATH: usize = 2048;
    /// `location.received`.
    pub const RECEIVED: usize = 128;
    /// `location.socket`.
    pub const SOCKET: usize = 128;
    /// `location.user_agent`.
    pub const USER_AGENT: usize = 255;
}

/// The schema version this program reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// What [`Store::migrate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrationReport {
    /// The version found (0: no schema).
    pub from: u32,
    /// The version now.
    pub to: u32,
}

impl MigrationReport {
    /// Whether any migration ran.
    pub fn changed(&self) -> bool {
        self.from != self.to
    }
}

/// One step of the schema's history.
struct Migration {
    version: u32,
    statements: fn(Dialect) -> Vec<String>,
}

/// Every migration, in order; the last one's version is [`SCHEMA_VERSION`].
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    statements: v1,
}];

/// A text column of `n` characters that keys or orders rows: compared byte by byte
/// on every back end, so order and uniqueness are the same everywhere.
fn key(dialect: Dialect, n: usize) -> String {
    match dialect {
        Dialect::Postgres => format!("VARCHAR({n}) COLLATE \"C\""),
        Dialect::Sqlite | Dialect::Mysql => format!("VARCHAR({n})"),
    }
}

/// What follows `CREATE TABLE t (…)`: MySQL gets InnoDB, utf8mb4 and a binary collation
/// (case-sensitive keys, like the others).
fn table_options(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Mysql => " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
        Dialect::Sqlite | Dialect::Postgres => "",
    }
}

/// Version 1: `subscriber` and `location`.
fn v1(d: Dialect) -> Vec<String> {
    use limits::*;
    let opts = table_options(d);
    let location_domain_index = match d {
        // (domain, aor, contact) is wider than a utf8mb4 index may be.
        Dialect::Mysql => "CREATE INDEX location_domain ON location (domain)",
        Dialect::Sqlite | Dialect::Postgres => {
            "CREATE INDEX location_domain ON location (domain, aor, contact)"
        }
    };
    vec![
        format!(
            "CREATE TABLE subscriber (\
             username {user} NOT NULL, \
             domain {domain} NOT NULL, \
             password VARCHAR({PASSWORD}), \
             ha1 VARCHAR({HA1}), \
             ha1_sha256 VARCHAR({HA1_SHA256}), \
             email VARCHAR({EMAIL}), \
             created BIGINT NOT NULL, \
             PRIMARY KEY (username, domain))",
            user = key(d, USERNAME),
            domain = key(d, DOMAIN),
        ) + opts,
        "CREATE INDEX subscriber_domain ON subscriber (domain, username)".to_owned(),
        format!(
            "CREATE TABLE location (\
             aor {aor} NOT NULL, \
             contact {contact} NOT NULL, \
             domain {domain} NOT NULL, \
             expires BIGINT NOT NULL, \
             q BIGINT NOT NULL DEFAULT 1000, \
             call_id VARCHAR({CALL_ID}) NOT NULL, \
             cseq BIGINT NOT NULL, \
             instance VARCHAR({INSTANCE}), \
             reg_id BIGINT, \
             path VARCHAR({PATH}), \
             received VARCHAR({RECEIVED}), \
             socket VARCHAR({SOCKET}), \
             user_agent VARCHAR({USER_AGENT}), \
             flags BIGINT NOT NULL DEFAULT 0, \
             last_modified BIGINT NOT NULL, \
             PRIMARY KEY (aor, contact))",
            aor = key(d, AOR),
            contact = key(d, CONTACT),
            domain = key(d, DOMAIN),
        ) + opts,
        "CREATE INDEX location_expires ON location (expires)".to_owned(),
        location_domain_index.to_owned(),
    ]
}

/// The `serval_schema` table itself, made before the first migration.
fn schema_table(dialect: Dialect) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS serval_schema (\
         version BIGINT NOT NULL PRIMARY KEY, \
         applied BIGINT NOT NULL){}",
        table_options(dialect)
    )
}

/// The newest migration's version (0: none).
fn latest() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

impl Store {
    /// The schema version of the database: 0 when it has no Serval schema.
    pub async fn schema_version(&self) -> Result<u32, StoreError> {
        let mut conn = self.pool.acquire().await?;
        version(&mut conn, self.dialect).await
    }

    /// Succeeds when the database has exactly the schema this program needs;
    /// otherwise says what to do ([`StoreError::NoSchema`],
    /// [`StoreError::OutdatedSchema`], [`StoreError::NewerSchema`]).
    pub async fn check_schema(&self) -> Result<(), StoreError> {
        let found = self.schema_version().await?;
        let expected = latest();
        match found {
            0 => Err(StoreError::NoSchema),
            v if v < expected => Err(StoreError::OutdatedSchema { found, expected }),
            v if v > expected => Err(StoreError::NewerSchema {
                found,
                known: expected,
            }),
            _ => Ok(()),
        }
    }

    /// Creates the schema or brings it up to date; a no-op when it is current.
    /// Refuses ([`StoreError::NewerSchema`]) a schema newer than this program's.
    pub async fn migrate(&self) -> Result<MigrationReport, StoreError> {
        let mut conn = self.pool.acquire().await?;
        lock(&mut conn, self.dialect, true).await?;
        let result = migrate(&mut conn, self.dialect).await;
        let unlocked = lock(&mut conn, self.dialect, false).await;
        let report = result?;
        unlocked?;
        Ok(report)
    }
}

/// Applies the missing migrations on `conn`, which holds the migration lock.
async fn migrate(
    conn: &mut AnyConnection,
    dialect: Dialect,
) -> Result<MigrationReport, StoreError> {
    conn.execute(schema_table(dialect).as_str()).await?;
    let from = version(conn, dialect).await?;
    let known = latest();
    if from > known {
        return Err(StoreError::NewerSchema { found: from, known });
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > from) {
        let mut tx = match dialect {
            Dialect::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres | Dialect::Mysql => conn.begin().await?,
        };
        for statement in (migration.statements)(dialect) {
            tx.execute(statement.as_str()).await?;
        }
        sqlx::query(&dialect.sql("INSERT INTO serval_schema (version, applied) VALUES (?, ?)"))
            .bind(i64::from(migration.version))
            .bind(unix_now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(MigrationReport {
        from,
        to: known.max(from),
    })
}

/// Takes (`take`) or releases the lock that serializes migrations between processes.
/// SQLite needs none: each migration's `BEGIN IMMEDIATE` holds the file's write lock.
async fn lock(conn: &mut AnyConnection, dialect: Dialect, take: bool) -> Result<(), StoreError> {
    /// The advisory lock's key on PostgreSQL ("SRVL").
    const PG_KEY: i64 = 0x5352_564C;
    let sql = match (dialect, take) {
        (Dialect::Sqlite, _) => return Ok(()),
        // pg_advisory_lock() returns `void`, which the Any driver can't decode.
        (Dialect::Postgres, true) => {
            format!("SELECT 1 FROM (SELECT pg_advisory_lock({PG_KEY})) AS locked")
        }
        (Dialect::Postgres, false) => format!("SELECT pg_advisory_unlock({PG_KEY})"),
        (Dialect::Mysql, true) => {
            // 1 when taken, 0 after the timeout.
            let taken: Option<i64> = sqlx::query("SELECT GET_LOCK('serval_schema', 60)")
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?;
            return match taken {
                Some(1) => Ok(()),
                _ => Err(StoreError::Busy(
                    "another process is migrating the schema (waited 60 s)",
                )),
            };
        }
        (Dialect::Mysql, false) => "SELECT RELEASE_LOCK('serval_schema')".to_owned(),
    };
    conn.execute(sql.as_str()).await?;
    Ok(())
}

/// The schema version seen through `conn` (0: no `serval_schema` table, or empty).
async fn version(conn: &mut AnyConnection, dialect: Dialect) -> Result<u32, StoreError> {
    let exists = match dialect {
        Dialect::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'serval_schema'"
        }
        Dialect::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = 'serval_schema'"
        }
        Dialect::Mysql => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_name = 'serval_schema'"
        }
    };
    let count: i64 = sqlx::query(exists)
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    if count == 0 {
        return Ok(0);
    }
    let max: Option<i64> = sqlx::query("SELECT MAX(version) FROM serval_schema")
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    let max = max.unwrap_or(0);
    u32::try_from(max).map_err(|_| StoreError::OutOfRange {
        column: "serval_schema.version",
        value: max,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_count_up_to_the_schema_version() {
        for (i, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(usize::try_from(migration.version).ok(), Some(i + 1));
        }
        assert_eq!(latest(), SCHEMA_VERSION);
    }

    #[test]
    fn every_dialect_has_the_same_statements() {
        let count = |d| v1(d).len();
        assert_eq!(count(Dialect::Sqlite), count(Dialect::Postgres));
        assert_eq!(count(Dialect::Sqlite), count(Dialect::Mysql));
        assert!(v1(Dialect::Mysql)[0].ends_with("COLLATE=utf8mb4_bin"));
        assert!(v1(Dialect::Postgres)[0].contains("VARCHAR(64) COLLATE \"C\""));
    }
}
