//! Subscribers: who may register and with which digest credentials (`subscriber`).
//!
//! Names are compared exactly: callers write domains in lower case.

use crate::batch::{self, BATCH_ROWS, Query};
use crate::schema::limits;
use crate::{Store, StoreError, check, unix_now};
use futures_util::{Stream, TryStreamExt};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::{BTreeMap, HashSet};

/// A subscriber: `username@domain` with its credentials. `domain` is also the digest
/// realm of `ha1` and `ha1_sha256`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscriber {
    /// The user part.
    pub username: String,
    /// The domain (and realm).
    pub domain: String,
    /// The plain password, only when the operator chose to keep it.
    pub password: Option<String>,
    /// Lower-case hex MD5 of `username:domain:password` (RFC 2617 HA1).
    pub ha1: Option<String>,
    /// Lower-case hex SHA-256 of `username:domain:password` (RFC 7616 HA1).
    pub ha1_sha256: Option<String>,
    /// A contact address for the operator.
    pub email: Option<String>,
}

/// A whole `subscriber` row, as stored and as backed up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SubscriberRow {
    pub(crate) username: String,
    pub(crate) domain: String,
    pub(crate) password: Option<String>,
    pub(crate) ha1: Option<String>,
    pub(crate) ha1_sha256: Option<String>,
    pub(crate) email: Option<String>,
    /// When it was added, unix seconds.
    pub(crate) created: i64,
}

/// The columns of `subscriber`, in [`bind`] order.
pub(crate) const COLUMNS: &[&str] = &[
    "username",
    "domain",
    "password",
    "ha1",
    "ha1_sha256",
    "email",
    "created",
];

/// `SELECT` of every column.
pub(crate) const SELECT: &str =
    "SELECT username, domain, password, ha1, ha1_sha256, email, created FROM subscriber";

impl SubscriberRow {
    /// The row for `s`, added at `created`.
    pub(crate) fn new(s: Subscriber, created: i64) -> SubscriberRow {
        SubscriberRow {
            username: s.username,
            domain: s.domain,
            password: s.password,
            ha1: s.ha1,
            ha1_sha256: s.ha1_sha256,
            email: s.email,
            created,
        }
    }

    /// The subscriber, without its bookkeeping.
    pub(crate) fn subscriber(self) -> Subscriber {
        Subscriber {
            username: self.username,
            domain: self.domain,
            password: self.password,
            ha1: self.ha1,
            ha1_sha256: self.ha1_sha256,
            email: self.email,
        }
    }

    /// Checks every value against its column's limit.
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        check::text("username", &self.username, limits::USERNAME)?;
        check::text("domain", &self.domain, limits::DOMAIN)?;
        check::opt_text("password", self.password.as_deref(), limits::PASSWORD)?;
        check::opt_text("ha1", self.ha1.as_deref(), limits::HA1)?;
        check::opt_text("ha1_sha256", self.ha1_sha256.as_deref(), limits::HA1_SHA256)?;
        check::opt_text("email", self.email.as_deref(), limits::EMAIL)
    }

    /// A row of [`SELECT`].
    pub(crate) fn from_row(row: &AnyRow) -> Result<SubscriberRow, StoreError> {
        Ok(SubscriberRow {
            username: row.try_get("username")?,
            domain: row.try_get("domain")?,
            password: row.try_get("password")?,
            ha1: row.try_get("ha1")?,
            ha1_sha256: row.try_get("ha1_sha256")?,
            email: row.try_get("email")?,
            created: row.try_get("created")?,
        })
    }
}

/// Binds `row`'s [`COLUMNS`].
pub(crate) fn bind<'a>(query: Query<'a>, row: &'a SubscriberRow) -> Query<'a> {
    query
        .bind(row.username.as_str())
        .bind(row.domain.as_str())
        .bind(row.password.as_deref())
        .bind(row.ha1.as_deref())
        .bind(row.ha1_sha256.as_deref())
        .bind(row.email.as_deref())
        .bind(row.created)
}

impl Store {
    /// Adds a subscriber; [`StoreError::AlreadyExists`] when `username@domain` is taken.
    pub async fn add_subscriber(&self, s: &Subscriber) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO subscriber ({}) VALUES {}",
            COLUMNS.join(", "),
            crate::Dialect::rows(COLUMNS.len(), 1)
        );
        let row = SubscriberRow::new(s.clone(), unix_now());
        row.check()?;
        let result = bind(sqlx::query(&self.dialect.sql(&sql)), &row)
            .execute(&self.pool)
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if StoreError::is_unique_violation(&err) => Err(StoreError::AlreadyExists {
                user: row.username,
                domain: row.domain,
            }),
            Err(err) => Err(err.into()),
        }
    }

    /// Removes a subscriber; `false` when there was none.
    pub async fn delete_subscriber(&self, user: &str, domain: &str) -> Result<bool, StoreError> {
        let sql = self
            .dialect
            .sql("DELETE FROM subscriber WHERE username = ? AND domain = ?");
        let done = sqlx::query(&sql)
            .bind(user)
            .bind(domain)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Replaces a subscriber's credentials (the plain `password` is stored, or
    /// cleared when `None`); `false` when there is no such subscriber.
    pub async fn update_credentials(
        &self,
        user: &str,
        domain: &str,
        password: Option<&str>,
        ha1: &str,
        ha1_sha256: &str,
    ) -> Result<bool, StoreError> {
        check::opt_text("password", password, limits::PASSWORD)?;
        check::text("ha1", ha1, limits::HA1)?;
        check::text("ha1_sha256", ha1_sha256, limits::HA1_SHA256)?;
        let sql = self.dialect.sql(
            "UPDATE subscriber SET password = ?, ha1 = ?, ha1_sha256 = ? \
             WHERE username = ? AND domain = ?",
        );
        let done = sqlx::query(&sql)
            .bind(password)
            .bind(ha1)
            .bind(ha1_sha256)
            .bind(user)
            .bind(domain)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The subscriber `user@domain`: one primary-key lookup (the registrar's, per
    /// authentication).
    pub async fn subscriber(
        &self,
        user: &str,
        domain: &str,
    ) -> Result<Option<Subscriber>, StoreError> {
        let sql = self
            .dialect
            .sql(&format!("{SELECT} WHERE username = ? AND domain = ?"))
            .into_owned();
        let row = sqlx::query(&sql)
            .bind(user)
            .bind(domain)
            .fetch_optional(&self.reader)
            .await?;
        row.map(|row| SubscriberRow::from_row(&row).map(SubscriberRow::subscriber))
            .transpose()
    }

    /// Every subscriber (of `domain`, when given), ordered by domain then user name,
    /// streamed from the database row by row.
    pub fn subscribers(
        &self,
        domain: Option<&str>,
    ) -> impl Stream<Item = Result<Subscriber, StoreError>> + '_ {
        self.rows_of_domain(SELECT, "domain, username", domain.map(str::to_owned))
            .and_then(|row| {
                std::future::ready(SubscriberRow::from_row(&row).map(SubscriberRow::subscriber))
            })
    }

    /// Adds many subscribers at once: multi-row `INSERT`s of 500 rows, all
    /// in one transaction, so either every row is added or none. A subscriber that
    /// exists (or comes twice) fails the import with [`StoreError::AlreadyExists`].
    /// Returns how many were added.
    pub async fn import_subscribers(
        &self,
        rows: impl Iterator<Item = Subscriber>,
    ) -> Result<u64, StoreError> {
        let now = unix_now();
        let mut tx = self.begin_write().await?;
        let result = async {
            let mut batch = Vec::with_capacity(BATCH_ROWS);
            let mut total = 0u64;
            let mut rows = rows.peekable();
            while let Some(s) = rows.next() {
                let row = SubscriberRow::new(s, now);
                row.check()?;
                batch.push(row);
                if batch.len() == BATCH_ROWS || rows.peek().is_none() {
                    self.import_batch(&mut tx, &batch).await?;
                    total += batch.len() as u64;
                    batch.clear();
                }
            }
            Ok(total)
        }
        .await;
        crate::finish(tx, result).await
    }

    /// Inserts `batch` in `conn`'s transaction after checking that none of its names is
    /// taken, in the database (including this transaction's earlier batches) or twice
    /// in the batch.
    async fn import_batch(
        &self,
        conn: &mut sqlx::AnyConnection,
        batch: &[SubscriberRow],
    ) -> Result<(), StoreError> {
        let taken = |row: &SubscriberRow| StoreError::AlreadyExists {
            user: row.username.clone(),
            domain: row.domain.clone(),
        };
        let mut seen = HashSet::with_capacity(batch.len());
        if let Some(twice) = batch
            .iter()
            .find(|row| !seen.insert((row.username.as_str(), row.domain.as_str())))
        {
            return Err(taken(twice));
        }
        // Per domain, a plain IN list on the (domain, username) index: row-value IN
        // lists are planned poorly by PostgreSQL and MySQL.
        let mut by_domain: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for row in batch {
            by_domain
                .entry(row.domain.as_str())
                .or_default()
                .push(row.username.as_str());
        }
        for (domain, users) in by_domain {
            let sql = format!(
                "SELECT username FROM subscriber WHERE domain = ? AND username IN ({})",
                vec!["?"; users.len()].join(", ")
            );
            let sql = self.dialect.sql(&sql);
            // On PostgreSQL, not prepared once for all: a generic plan made while the
            // table was small (a sequential scan) would stay while this transaction
            // fills it.
            let mut query = sqlx::query(&sql)
                .persistent(self.dialect != crate::Dialect::Postgres)
                .bind(domain);
            for user in users {
                query = query.bind(user);
            }
            if let Some(found) = query.fetch_optional(&mut *conn).await? {
                return Err(StoreError::AlreadyExists {
                    user: found.try_get("username")?,
                    domain: domain.to_owned(),
                });
            }
        }
        batch::insert(conn, self.dialect, "subscriber", COLUMNS, batch, bind).await?;
        Ok(())
    }
}
