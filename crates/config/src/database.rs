//! The database URL (`--db`, `[database] url`): which back end and where.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// The SQL back ends Serval can keep its data in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    /// An SQLite file (the embedded default).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
    /// A MySQL or MariaDB server.
    Mysql,
}

impl DatabaseKind {
    /// The back end's name, as in messages.
    pub fn name(self) -> &'static str {
        match self {
            DatabaseKind::Sqlite => "SQLite",
            DatabaseKind::Postgres => "PostgreSQL",
            DatabaseKind::Mysql => "MySQL/MariaDB",
        }
    }
}

/// A validated database URL: `sqlite:PATH`, `postgres://…` or `mysql://…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    kind: DatabaseKind,
    url: String,
}

/// Why a string is not a database URL Serval can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatabaseUrlError {
    /// The scheme is not one of the supported back ends.
    #[error(
        "unsupported database URL `{0}` (expected sqlite:PATH, postgres://USER@HOST/DB or mysql://USER@HOST/DB)"
    )]
    Scheme(String),
    /// `sqlite:` with no file.
    #[error("`{0}` names no file (write sqlite:PATH, for example sqlite:serval.db)")]
    SqlitePath(String),
    /// A server URL with no host.
    #[error("`{0}` names no server (write {1}://USER@HOST/DATABASE)")]
    Server(String, &'static str),
}

impl DatabaseUrl {
    /// The default: SQLite in `./serval.db`.
    pub fn default_sqlite() -> DatabaseUrl {
        DatabaseUrl {
            kind: DatabaseKind::Sqlite,
            url: "sqlite:serval.db".to_owned(),
        }
    }

    /// Which back end.
    pub fn kind(&self) -> DatabaseKind {
        self.kind
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The file of an SQLite URL.
    pub fn sqlite_path(&self) -> Option<&Path> {
        (self.kind == DatabaseKind::Sqlite).then(|| Path::new(sqlite_path(&self.url)))
    }

    /// The URL with any password replaced by `***`, for logs and messages.
    pub fn redacted(&self) -> String {
        redact(&self.url)
    }
}

/// The path part of a `sqlite:` URL (`sqlite:PATH` or `sqlite://PATH`).
fn sqlite_path(url: &str) -> &str {
    let rest = url.get("sqlite:".len()..).unwrap_or_default();
    rest.strip_prefix("//").unwrap_or(rest)
}

/// Replaces the password of `scheme://user:password@host` with `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

/// Whether `url` starts with `scheme` followed by `:`, ignoring case.
fn has_scheme(url: &str, scheme: &str) -> bool {
    url.get(..scheme.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(scheme))
        && url.as_bytes().get(scheme.len()) == Some(&b':')
}

impl FromStr for DatabaseUrl {
    type Err = DatabaseUrlError;

    fn from_str(url: &str) -> Result<DatabaseUrl, DatabaseUrlError> {
        let server = |scheme: &'static str, kind| {
            let host = url
                .get(scheme.len() + 1..)
                .and_then(|rest| rest.strip_prefix("//"))
                .ok_or_else(|| DatabaseUrlError::Server(redact(url), scheme))?;
            let authority = host.split('/').next().unwrap_or_default();
            let host_part = authority.rsplit('@').next().unwrap_or_default();
            if host_part.is_empty() || url.chars().any(char::is_whitespace) {
                return Err(DatabaseUrlError::Server(redact(url), scheme));
            }
            Ok(DatabaseUrl {
                kind,
                url: url.to_owned(),
            })
        };
        if has_scheme(url, "sqlite") {
            if sqlite_path(url).trim().is_empty() {
                return Err(DatabaseUrlError::SqlitePath(url.to_owned()));
            }
            return Ok(DatabaseUrl {
                kind: DatabaseKind::Sqlite,
                url: url.to_owned(),
            });
        }
        for (scheme, kind) in [
            ("postgres", DatabaseKind::Postgres),
            ("postgresql", DatabaseKind::Postgres),
            ("mysql", DatabaseKind::Mysql),
            ("mariadb", DatabaseKind::Mysql),
        ] {
            if has_scheme(url, scheme) {
                return server(scheme, kind);
            }
        }
        Err(DatabaseUrlError::Scheme(redact(url)))
    }
}

impl fmt::Display for DatabaseUrl {
    /// Shows the URL without its password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DatabaseUrl, DatabaseUrlError> {
        text.parse()
    }

    #[test]
    fn accepts_the_three_back_ends() {
        assert_eq!(
            parse("sqlite:serval.db").map(|u| u.kind()),
            Ok(DatabaseKind::Sqlite)
        );
        assert_eq!(
            parse("sqlite:///var/lib/serval.db").map(|u| u.kind()),
            Ok(DatabaseKind::Sqlite)
        );
        assert_eq!(
            parse("postgres://serval@localhost/serval").map(|u| u.kind()),
            Ok(DatabaseKind::Postgres)
        );
        assert_eq!(
            parse("postgresql://localhost").map(|u| u.kind()),
            Ok(DatabaseKind::Postgres)
        );
        assert_eq!(
            parse("mysql://root@127.0.0.1:3306/test").map(|u| u.kind()),
            Ok(DatabaseKind::Mysql)
        );
    }

    #[test]
    fn sqlite_path_is_the_file() {
        let url = parse("sqlite:data/serval.db").expect("valid");
        assert_eq!(url.sqlite_path(), Some(Path::new("data/serval.db")));
        let url = parse("sqlite:///var/lib/serval.db").expect("valid");
        assert_eq!(url.sqlite_path(), Some(Path::new("/var/lib/serval.db")));
        assert_eq!(
            DatabaseUrl::default_sqlite().sqlite_path(),
            Some(Path::new("serval.db"))
        );
    }

    #[test]
    fn rejects_other_urls_with_a_reason() {
        for (text, expected) in [
            ("redis://localhost", "unsupported database URL"),
            ("serval.db", "unsupported database URL"),
            ("sqlite:", "names no file"),
            ("postgres://", "names no server"),
            ("postgres:localhost", "names no server"),
            ("mysql://user@/db", "names no server"),
            ("sqlité:x", "unsupported database URL"),
        ] {
            let message = parse(text).expect_err(text).to_string();
            assert!(message.contains(expected), "{text}: {message}");
        }
    }

    #[test]
    fn passwords_are_never_shown() {
        let url = parse("postgres://serval:secret@db.example/serval").expect("valid");
        assert_eq!(url.to_string(), "postgres://serval:***@db.example/serval");
        let message = parse("redis://u:secret@host")
            .expect_err("unsupported")
            .to_string();
        assert!(!message.contains("secret"), "{message}");
    }
}
