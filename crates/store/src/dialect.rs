//! [`Dialect`]: the few places where SQLite, PostgreSQL and MySQL/MariaDB speak SQL
//! differently. Everything else is written once, in the common subset.
//!
//! Queries are written with `?` placeholders (and never a `?` inside a literal);
//! `Dialect::sql` renders them as `$1, $2, …` for PostgreSQL.

use std::borrow::Cow;

/// Which SQL back end a [`Store`](crate::Store) talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite: an embedded file.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
}

impl Dialect {
    /// The dialect of a URL's scheme (`sqlite:`, `postgres://`, `postgresql://`,
    /// `mysql://`, `mariadb://`), ignoring case.
    pub fn from_url(url: &str) -> Option<Dialect> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(Dialect::Sqlite),
            "postgres" | "postgresql" => Some(Dialect::Postgres),
            "mysql" | "mariadb" => Some(Dialect::Mysql),
            _ => None,
        }
    }

    /// The back end's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "SQLite",
            Dialect::Postgres => "PostgreSQL",
            Dialect::Mysql => "MySQL",
        }
    }

    /// `sql` with its `?` placeholders in this dialect's syntax.
    pub(crate) fn sql(self, sql: &str) -> Cow<'_, str> {
        if self != Dialect::Postgres || !sql.contains('?') {
            return Cow::Borrowed(sql);
        }
        let mut out = String::with_capacity(sql.len() + sql.len() / 4);
        for (n, part) in sql.split('?').enumerate() {
            if n > 0 {
                out.push('$');
                out.push_str(&n.to_string());
            }
            out.push_str(part);
        }
        Cow::Owned(out)
    }

    /// The clause that turns `INSERT INTO t (…) VALUES (…)` into an upsert on the
    /// primary key `key`, replacing `columns` with the new row's values.
    pub(crate) fn upsert(self, key: &[&str], columns: &[&str]) -> String {
        match self {
            Dialect::Sqlite | Dialect::Postgres => {
                let set: Vec<String> = columns
                    .iter()
                    .map(|c| format!("{c} = excluded.{c}"))
                    .collect();
                format!(
                    " ON CONFLICT ({}) DO UPDATE SET {}",
                    key.join(", "),
                    set.join(", ")
                )
            }
            Dialect::Mysql => {
                let set: Vec<String> = columns
                    .iter()
                    .map(|c| format!("{c} = VALUES({c})"))
                    .collect();
                format!(" ON DUPLICATE KEY UPDATE {}", set.join(", "))
            }
        }
    }

    /// `n` rows of `width` placeholders: `(?, ?), (?, ?)`.
    pub(crate) fn rows(width: usize, n: usize) -> String {
        let row = format!("({})", vec!["?"; width].join(", "));
        vec![row; n].join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres_only() {
        let sql = "SELECT a FROM t WHERE b = ? AND c IN (?, ?)";
        assert_eq!(Dialect::Sqlite.sql(sql), sql);
        assert_eq!(Dialect::Mysql.sql(sql), sql);
        assert_eq!(
            Dialect::Postgres.sql(sql),
            "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"
        );
        assert_eq!(Dialect::Postgres.sql("SELECT 1"), "SELECT 1");
        assert_eq!(Dialect::Postgres.sql("?"), "$1");
    }

    #[test]
    fn upserts_per_dialect() {
        assert_eq!(
            Dialect::Postgres.upsert(&["a", "b"], &["c", "d"]),
            " ON CONFLICT (a, b) DO UPDATE SET c = excluded.c, d = excluded.d"
        );
        assert_eq!(
            Dialect::Mysql.upsert(&["a"], &["c"]),
            " ON DUPLICATE KEY UPDATE c = VALUES(c)"
        );
    }

    #[test]
    fn row_placeholders() {
        assert_eq!(Dialect::rows(2, 2), "(?, ?), (?, ?)");
        assert_eq!(Dialect::rows(1, 1), "(?)");
    }

    #[test]
    fn dialect_of_urls() {
        assert_eq!(Dialect::from_url("sqlite:x.db"), Some(Dialect::Sqlite));
        assert_eq!(Dialect::from_url("SQLite://x.db"), Some(Dialect::Sqlite));
        assert_eq!(
            Dialect::from_url("postgresql://h/db"),
            Some(Dialect::Postgres)
        );
        assert_eq!(Dialect::from_url("mariadb://h/db"), Some(Dialect::Mysql));
        assert_eq!(Dialect::from_url("redis://h"), None);
        assert_eq!(Dialect::from_url("x.db"), None);
    }
}
