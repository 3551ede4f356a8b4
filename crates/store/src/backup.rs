//! Backup and restore in a portable format: JSON lines, the same whatever the back
//! end, so a backup of SQLite restores into PostgreSQL or MySQL and back.
//!
//! ```text
//! {"format":"serval-backup","version":1,"schema":1}
//! {"table":"subscriber","username":"alice","domain":"example.com",…,"created":1700000000}
//! {"table":"location","aor":"alice@example.com","contact":"<sip:alice@192.0.2.7>",…}
//! ```
//!
//! The header comes first; then one object per row, tagged by its table, with every
//! column (`null` for NULL). Subscribers come before bindings, each ordered by key.

use crate::batch::{self, BATCH_ROWS};
use crate::location::{self, BindingRecord};
use crate::subscriber::{self, SubscriberRow};
use crate::{Dialect, SCHEMA_VERSION, Store, StoreError};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Executor};
use std::io::{BufRead, BufWriter, Write};

/// The `format` of a backup's header line.
pub const BACKUP_FORMAT: &str = "serval-backup";
/// The version of the backup format written; restore reads this one.
pub const BACKUP_VERSION: u32 = 1;

/// How many rows of each table a backup or restore carried.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackupCounts {
    /// `subscriber` rows.
    pub subscribers: u64,
    /// `location` rows.
    pub bindings: u64,
}

/// The first line.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    /// The schema version of the database backed up (informative).
    #[serde(default)]
    schema: u32,
}

/// Every other line: one row, tagged by its table.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "table", rename_all = "lowercase")]
enum Line {
    Subscriber(SubscriberRow),
    Location(BindingRecord),
}

impl Store {
    /// Writes every subscriber and binding to `out`, from one consistent snapshot of
    /// the database. `out` is written synchronously: a file or stdout, not a socket
    /// that may block for long.
    pub async fn backup(&self, out: impl Write) -> Result<BackupCounts, StoreError> {
        self.check_schema().await?;
        let mut out = BufWriter::new(out);
        write_line(
            &mut out,
            &Header {
                format: BACKUP_FORMAT.to_owned(),
                version: BACKUP_VERSION,
                schema: SCHEMA_VERSION,
            },
        )?;
        let snapshot = match self.dialect {
            Dialect::Sqlite => "BEGIN",
            Dialect::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            Dialect::Mysql => "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
        };
        let mut tx = self.reader.begin_with(snapshot).await?;
        let mut counts = BackupCounts::default();

        let sql = format!("{} ORDER BY username, domain", subscriber::SELECT);
        let mut rows = sqlx::query(&sql).fetch(&mut *tx);
        while let Some(row) = rows.try_next().await? {
            write_line(&mut out, &Line::Subscriber(SubscriberRow::from_row(&row)?))?;
            counts.subscribers += 1;
        }
        drop(rows);

        let sql = format!("{} ORDER BY aor, contact", location::SELECT);
        let mut rows = sqlx::query(&sql).fetch(&mut *tx);
        while let Some(row) = rows.try_next().await? {
            write_line(&mut out, &Line::Location(BindingRecord::from_row(&row)?))?;
            counts.bindings += 1;
        }
        drop(rows);

        tx.commit().await?;
        out.flush()?;
        Ok(counts)
    }

    /// Replaces the subscribers and bindings of the database with those of a backup,
    /// in one transaction: on any error nothing changes. The schema must be current
    /// ([`Store::migrate`] first). Errors on bad input name the line.
    pub async fn restore(&self, input: impl BufRead) -> Result<BackupCounts, StoreError> {
        self.check_schema().await?;
        let mut lines = input.lines();
        let header = lines
            .next()
            .transpose()?
            .ok_or_else(|| StoreError::Backup {
                line: 1,
                reason: "the file is empty".to_owned(),
            })?;
        check_header(&header)?;

        let mut tx = self.begin_write().await?;
        let result = self.restore_rows(&mut tx, lines).await;
        crate::finish(tx, result).await
    }

    /// Restores the rows after the header, in `conn`'s transaction.
    async fn restore_rows(
        &self,
        conn: &mut AnyConnection,
        lines: impl Iterator<Item = std::io::Result<String>>,
    ) -> Result<BackupCounts, StoreError> {
        conn.execute("DELETE FROM location").await?;
        conn.execute("DELETE FROM subscriber").await?;
        let mut batch = Batch::default();
        let mut counts = BackupCounts::default();
        let mut number = 1u64;
        for line in lines {
            let line = line?;
            number += 1;
            if line.trim().is_empty() {
                continue;
            }
            let bad = |reason: String| StoreError::Backup {
                line: number,
                reason,
            };
            let row: Line = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
            match row {
                Line::Subscriber(row) => {
                    row.check().map_err(|e| bad(e.to_string()))?;
                    batch.subscribers.push(row);
                    counts.subscribers += 1;
                }
                Line::Location(row) => {
                    row.check().map_err(|e| bad(e.to_string()))?;
                    batch.bindings.push(row);
                    counts.bindings += 1;
                }
            }
            batch.last = number;
            batch.first = batch.first.min(number);
            if batch.subscribers.len() == BATCH_ROWS || batch.bindings.len() == BATCH_ROWS {
                batch.flush(conn, self.dialect).await?;
            }
        }
        batch.flush(conn, self.dialect).await?;
        Ok(counts)
    }
}

/// Rows read from a backup and not yet inserted, from line `first` to `last`.
struct Batch {
    subscribers: Vec<SubscriberRow>,
    bindings: Vec<BindingRecord>,
    first: u64,
    last: u64,
}

impl Default for Batch {
    fn default() -> Batch {
        Batch {
            subscribers: Vec::with_capacity(BATCH_ROWS),
            bindings: Vec::with_capacity(BATCH_ROWS),
            first: u64::MAX,
            last: 0,
        }
    }
}

impl Batch {
    /// Inserts the rows; a refusal (a key twice) names the lines they came from.
    async fn flush(
        &mut self,
        conn: &mut AnyConnection,
        dialect: Dialect,
    ) -> Result<(), StoreError> {
        let refused = |err: sqlx::Error, first: u64, last: u64| StoreError::Backup {
            line: first,
            reason: format!(
                "the database refused a row of lines {first} to {last}: {}",
                crate::error::cause(&err)
            ),
        };
        batch::insert(
            conn,
            dialect,
            "subscriber",
            subscriber::COLUMNS,
            &self.subscribers,
            subscriber::bind,
        )
        .await
        .map_err(|e| refused(e, self.first, self.last))?;
        batch::insert(
            conn,
            dialect,
            "location",
            location::COLUMNS,
            &self.bindings,
            location::bind,
        )
        .await
        .map_err(|e| refused(e, self.first, self.last))?;
        self.subscribers.clear();
        self.bindings.clear();
        self.first = u64::MAX;
        self.last = 0;
        Ok(())
    }
}

/// Checks the header line.
fn check_header(line: &str) -> Result<(), StoreError> {
    let bad = |reason: String| StoreError::Backup { line: 1, reason };
    let header: Header =
        serde_json::from_str(line).map_err(|e| bad(format!("not a Serval backup header ({e})")))?;
    if header.format != BACKUP_FORMAT {
        return Err(bad(format!(
            "format is `{}`, not `{BACKUP_FORMAT}`",
            header.format
        )));
    }
    if header.version != BACKUP_VERSION {
        return Err(bad(format!(
            "backup format version {} is not the {BACKUP_VERSION} this program reads",
            header.version
        )));
    }
    Ok(())
}

/// Writes `value` as one JSON line.
fn write_line(out: &mut impl Write, value: &impl Serialize) -> Result<(), StoreError> {
    serde_json::to_writer(&mut *out, value).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    Ok(())
}
