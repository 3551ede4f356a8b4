//! Database URLs as the store uses them: the password kept out of messages, and
//! SQLite files created on first use.

use crate::Dialect;

/// `url` with the password of `scheme://user:password@host` replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

/// The URL handed to the driver: for SQLite, `mode=rwc` (create the file) unless the
/// URL chooses a mode itself.
pub(crate) fn driver_url(url: &str, dialect: Dialect) -> String {
    if dialect != Dialect::Sqlite {
        return url.to_owned();
    }
    match url.split_once('?') {
        Some((_, query)) if query.split('&').any(|p| p.starts_with("mode=")) => url.to_owned(),
        Some(_) => format!("{url}&mode=rwc"),
        None => format!("{url}?mode=rwc"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://serval:secret@db.test:5432/serval"),
            "postgres://serval:***@db.test:5432/serval"
        );
        assert_eq!(redact("mysql://root@h/test"), "mysql://root@h/test");
        assert_eq!(redact("sqlite:serval.db"), "sqlite:serval.db");
        assert_eq!(
            redact("mysql://u:p@ss@h/db"),
            "mysql://u:***@h/db",
            "the last @ of the authority ends the password"
        );
    }

    #[test]
    fn sqlite_files_are_created() {
        assert_eq!(
            driver_url("sqlite:a.db", Dialect::Sqlite),
            "sqlite:a.db?mode=rwc"
        );
        assert_eq!(
            driver_url("sqlite:a.db?cache=shared", Dialect::Sqlite),
            "sqlite:a.db?cache=shared&mode=rwc"
        );
        assert_eq!(
            driver_url("sqlite:a.db?mode=ro", Dialect::Sqlite),
            "sqlite:a.db?mode=ro"
        );
        assert_eq!(
            driver_url("postgres://h/db", Dialect::Postgres),
            "postgres://h/db"
        );
    }
}
