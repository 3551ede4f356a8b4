//! Location bindings (`location`): where each address-of-record can be reached, one
//! row per (AOR, Contact), as the registrar saved them (RFC 3261 §10.3).
//!
//! `domain` is a column of its own (the AOR's host, lower case), derived on every
//! write, so that listing one domain is an indexed range.

use crate::batch::Query;
use crate::schema::limits;
use crate::{Dialect, Store, StoreError, check};
use futures_util::{Stream, TryStreamExt};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// One binding of an address-of-record to a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingRecord {
    /// The address-of-record, `user@domain` with the domain in lower case.
    pub aor: String,
    /// The Contact URI as the user agent sent it.
    pub contact: String,
    /// When the binding expires, unix seconds.
    pub expires: i64,
    /// The q-value in thousandths (1000: q=1.0).
    pub q: u16,
    /// The Call-ID of the REGISTER that made or refreshed it.
    pub call_id: String,
    /// Its CSeq number.
    pub cseq: u32,
    /// The `+sip.instance` Contact parameter (RFC 5626).
    pub instance: Option<String>,
    /// The `reg-id` Contact parameter (RFC 5626).
    pub reg_id: Option<u32>,
    /// The Path header values, joined by `", "` (RFC 3327).
    pub path: Option<String>,
    /// Where the REGISTER really came from, e.g. `udp:203.0.113.5:40000`.
    pub received: Option<String>,
    /// The local socket it arrived on, e.g. `udp:192.0.2.1:5060`.
    pub socket: Option<String>,
    /// The User-Agent header.
    pub user_agent: Option<String>,
    /// Flags for the registrar's own use (0: none).
    pub flags: u32,
    /// When the binding was last written, unix seconds.
    pub last_modified: i64,
}

/// One write of a [`Store::apply`] batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Insert or replace the binding of (aor, contact).
    Save(BindingRecord),
    /// Remove one binding.
    Delete {
        /// The address-of-record.
        aor: String,
        /// The contact.
        contact: String,
    },
    /// Remove every binding of an address-of-record.
    DeleteAor(String),
}

/// The columns of `location`, in [`bind`] order.
pub(crate) const COLUMNS: &[&str] = &[
    "aor",
    "contact",
    "domain",
    "expires",
    "q",
    "call_id",
    "cseq",
    "instance",
    "reg_id",
    "path",
    "received",
    "socket",
    "user_agent",
    "flags",
    "last_modified",
];

/// `SELECT` of every column but the derived `domain`.
pub(crate) const SELECT: &str = "SELECT aor, contact, expires, q, call_id, cseq, instance, \
     reg_id, path, received, socket, user_agent, flags, last_modified FROM location";

/// The domain column of `aor`: its host part in lower case ("" without one).
fn domain_of(aor: &str) -> String {
    aor.rsplit_once('@')
        .map_or("", |(_, domain)| domain)
        .to_ascii_lowercase()
}

impl BindingRecord {
    /// Checks every value against its column's limit.
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        check::text("aor", &self.aor, limits::AOR)?;
        check::text("contact", &self.contact, limits::CONTACT)?;
        check::text("domain of the aor", &domain_of(&self.aor), limits::DOMAIN)?;
        check::text("call_id", &self.call_id, limits::CALL_ID)?;
        check::opt_text("instance", self.instance.as_deref(), limits::INSTANCE)?;
        check::opt_text("path", self.path.as_deref(), limits::PATH)?;
        check::opt_text("received", self.received.as_deref(), limits::RECEIVED)?;
        check::opt_text("socket", self.socket.as_deref(), limits::SOCKET)?;
        check::opt_text("user_agent", self.user_agent.as_deref(), limits::USER_AGENT)
    }

    /// A row of [`SELECT`].
    pub(crate) fn from_row(row: &AnyRow) -> Result<BindingRecord, StoreError> {
        let reg_id: Option<i64> = row.try_get("reg_id")?;
        Ok(BindingRecord {
            aor: row.try_get("aor")?,
            contact: row.try_get("contact")?,
            expires: row.try_get("expires")?,
            q: check::int("q", row.try_get("q")?)?,
            call_id: row.try_get("call_id")?,
            cseq: check::int("cseq", row.try_get("cseq")?)?,
            instance: row.try_get("instance")?,
            reg_id: reg_id.map(|id| check::int("reg_id", id)).transpose()?,
            path: row.try_get("path")?,
            received: row.try_get("received")?,
            socket: row.try_get("socket")?,
            user_agent: row.try_get("user_agent")?,
            flags: check::int("flags", row.try_get("flags")?)?,
            last_modified: row.try_get("last_modified")?,
        })
    }
}

/// Binds `b`'s [`COLUMNS`].
pub(crate) fn bind<'a>(query: Query<'a>, b: &'a BindingRecord) -> Query<'a> {
    query
        .bind(b.aor.as_str())
        .bind(b.contact.as_str())
        .bind(domain_of(&b.aor))
        .bind(b.expires)
        .bind(i64::from(b.q))
        .bind(b.call_id.as_str())
        .bind(i64::from(b.cseq))
        .bind(b.instance.as_deref())
        .bind(b.reg_id.map(i64::from))
        .bind(b.path.as_deref())
        .bind(b.received.as_deref())
        .bind(b.socket.as_deref())
        .bind(b.user_agent.as_deref())
        .bind(i64::from(b.flags))
        .bind(b.last_modified)
}

/// The upsert of one binding.
fn upsert_sql(dialect: Dialect) -> String {
    let sql = format!(
        "INSERT INTO location ({}) VALUES {}{}",
        COLUMNS.join(", "),
        Dialect::rows(COLUMNS.len(), 1),
        dialect.upsert(&["aor", "contact"], &COLUMNS[2..])
    );
    dialect.sql(&sql).into_owned()
}

impl Store {
    /// Inserts the binding, or replaces the one with the same aor and contact.
    pub async fn save_binding(&self, b: &BindingRecord) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        save(&mut conn, self.dialect, b).await
    }

    /// Removes one binding; `false` when there was none.
    pub async fn delete_binding(&self, aor: &str, contact: &str) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Ok(delete(&mut conn, self.dialect, aor, contact).await? > 0)
    }

    /// Removes every binding of `aor`; returns how many there were.
    pub async fn delete_aor(&self, aor: &str) -> Result<u64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        delete_aor(&mut conn, self.dialect, aor).await
    }

    /// Applies `changes` in order, in one transaction: all of them or, when one
    /// fails (a value too long, the database refusing), none. The write-back flush.
    pub async fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        let result = async {
            for change in changes {
                match change {
                    Change::Save(b) => save(&mut tx, self.dialect, b).await?,
                    Change::Delete { aor, contact } => {
                        delete(&mut tx, self.dialect, aor, contact).await?;
                    }
                    Change::DeleteAor(aor) => {
                        delete_aor(&mut tx, self.dialect, aor).await?;
                    }
                }
            }
            Ok(())
        }
        .await;
        crate::finish(tx, result).await
    }

    /// The bindings of `aor`, ordered by contact, expired ones included (compare
    /// `expires` with the time).
    pub async fn bindings(&self, aor: &str) -> Result<Vec<BindingRecord>, StoreError> {
        let sql = self
            .dialect
            .sql(&format!("{SELECT} WHERE aor = ? ORDER BY contact"))
            .into_owned();
        let rows = sqlx::query(&sql).bind(aor).fetch_all(&self.reader).await?;
        rows.iter().map(BindingRecord::from_row).collect()
    }

    /// Every binding, in no particular order, streamed (loading the cache at start).
    pub fn all_bindings(&self) -> impl Stream<Item = Result<BindingRecord, StoreError>> + '_ {
        async_stream::try_stream! {
            let mut rows = sqlx::query(SELECT).fetch(&self.reader);
            while let Some(row) = rows.try_next().await? {
                yield BindingRecord::from_row(&row)?;
            }
        }
    }

    /// Every binding (of `domain`, when given), ordered by aor then contact, streamed
    /// row by row: a million bindings never sit in one buffer.
    pub fn list_bindings(
        &self,
        domain: Option<&str>,
    ) -> impl Stream<Item = Result<BindingRecord, StoreError>> + '_ {
        self.rows_of_domain(SELECT, "aor, contact", domain.map(str::to_ascii_lowercase))
            .and_then(|row| std::future::ready(BindingRecord::from_row(&row)))
    }

    /// Removes the bindings that expired at or before `now_unix`; returns how many.
    pub async fn purge_expired(&self, now_unix: i64) -> Result<u64, StoreError> {
        let sql = self.dialect.sql("DELETE FROM location WHERE expires <= ?");
        let done = sqlx::query(&sql).bind(now_unix).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }
}

/// Upserts `b` on `conn`.
async fn save(
    conn: &mut AnyConnection,
    dialect: Dialect,
    b: &BindingRecord,
) -> Result<(), StoreError> {
    b.check()?;
    let sql = upsert_sql(dialect);
    bind(sqlx::query(&sql), b).execute(conn).await?;
    Ok(())
}

/// Deletes one binding on `conn`; returns the rows removed.
async fn delete(
    conn: &mut AnyConnection,
    dialect: Dialect,
    aor: &str,
    contact: &str,
) -> Result<u64, StoreError> {
    let sql = dialect.sql("DELETE FROM location WHERE aor = ? AND contact = ?");
    let done = sqlx::query(&sql)
        .bind(aor)
        .bind(contact)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Deletes every binding of `aor` on `conn`; returns the rows removed.
async fn delete_aor(
    conn: &mut AnyConnection,
    dialect: Dialect,
    aor: &str,
) -> Result<u64, StoreError> {
    let sql = dialect.sql("DELETE FROM location WHERE aor = ?");
    let done = sqlx::query(&sql).bind(aor).execute(conn).await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_is_the_host_in_lower_case() {
        assert_eq!(domain_of("alice@Example.COM"), "example.com");
        assert_eq!(domain_of("a@b@c.test"), "c.test");
        assert_eq!(domain_of("alice"), "");
    }
}
