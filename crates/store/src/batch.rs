//! Multi-row `INSERT`s: many rows per statement, for imports and restores.

use crate::Dialect;
use sqlx::any::AnyArguments;
use sqlx::{Any, AnyConnection};

/// A query being bound.
pub(crate) type Query<'q> = sqlx::query::Query<'q, Any, AnyArguments<'q>>;

/// Rows per statement: large enough that a round trip carries a lot, small enough that
/// the parameters (rows × columns) stay far below every back end's limit (SQLite
/// 32 766, PostgreSQL and MySQL 65 535).
pub(crate) const BATCH_ROWS: usize = 500;

/// Inserts `rows` into `table` with one statement; `bind` binds one row's `columns`
/// in order.
pub(crate) async fn insert<T>(
    conn: &mut AnyConnection,
    dialect: Dialect,
    table: &str,
    columns: &[&str],
    rows: &[T],
    bind: impl for<'a> Fn(Query<'a>, &'a T) -> Query<'a>,
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES {}",
        columns.join(", "),
        Dialect::rows(columns.len(), rows.len())
    );
    let sql = dialect.sql(&sql);
    // Only full batches repeat: keep the odd-sized last one out of the statement cache.
    let mut query = sqlx::query(&sql).persistent(rows.len() == BATCH_ROWS);
    for row in rows {
        query = bind(query, row);
    }
    query.execute(conn).await?;
    Ok(())
}
