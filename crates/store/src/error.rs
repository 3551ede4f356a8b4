//! [`StoreError`]: what can go wrong between Serval and its database.

/// A failure of a storage operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is not one of `sqlite:PATH`, `postgres://…`, `mysql://…`.
    #[error(
        "unsupported database URL `{0}` (expected sqlite:PATH, postgres://USER@HOST/DB or mysql://USER@HOST/DB)"
    )]
    Url(String),
    /// The database could not be opened or reached. `url` has no password.
    #[error("cannot reach database {url}: {cause}")]
    Connect {
        /// The URL, its password replaced by `***`.
        url: String,
        /// Why, in words (the driver's error without its generic prefix).
        cause: String,
    },
    /// The database holds no Serval schema yet.
    #[error("the database has no Serval schema (create it with `servalctl db init`)")]
    NoSchema,
    /// The schema is older than this program's; migrating updates it.
    #[error(
        "the database schema is at version {found}, this program needs {expected} (update it with `servalctl db migrate`)"
    )]
    OutdatedSchema {
        /// The version in the database.
        found: u32,
        /// The version this program was built for.
        expected: u32,
    },
    /// The schema was made by a newer Serval; this program does not touch it.
    #[error(
        "the database schema is at version {found}, newer than the {known} this program knows: use a newer Serval"
    )]
    NewerSchema {
        /// The version in the database.
        found: u32,
        /// The newest version this program knows.
        known: u32,
    },
    /// Another process holds what this operation needs.
    #[error("{0}")]
    Busy(&'static str),
    /// A subscriber with this name is already there.
    #[error("subscriber {user}@{domain} already exists")]
    AlreadyExists {
        /// The user part.
        user: String,
        /// The domain.
        domain: String,
    },
    /// A value does not fit its column (the same limits on every back end).
    #[error("{field} is {len} characters long, more than the {max} the database keeps")]
    TooLong {
        /// The column.
        field: &'static str,
        /// The value's length in characters.
        len: usize,
        /// The column's limit in characters.
        max: usize,
    },
    /// A value contains a character no back end can store the same way (NUL).
    #[error("{field} contains a NUL character")]
    Nul {
        /// The column.
        field: &'static str,
    },
    /// A stored value is out of the range of its Rust type (a row written by hand).
    #[error("column {column} holds {value}, which is out of range")]
    OutOfRange {
        /// The column.
        column: &'static str,
        /// The value found.
        value: i64,
    },
    /// A backup could not be read: `line` counts from 1.
    #[error("backup line {line}: {reason}")]
    Backup {
        /// The line of the backup file.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading or writing a backup failed.
    #[error("backup I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The database refused or failed a statement.
    #[error("database error: {}", cause(.0))]
    Database(#[from] sqlx::Error),
}

/// The driver's error in words, without sqlx's generic prefixes where the inner error
/// says it all.
pub(crate) fn cause(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Database(db) => db.message().to_owned(),
        sqlx::Error::Configuration(inner) => inner.to_string(),
        sqlx::Error::Tls(inner) => format!("TLS: {inner}"),
        other => other.to_string(),
    }
}

impl StoreError {
    /// Whether the database refused a row because its key is taken.
    pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
        matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
    }
}
