//! A fresh database per test, on each back end:
//! - SQLite: a new file.
//! - PostgreSQL and MariaDB: a database of its own on the servers named by
//!   `SERVAL_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432`) and
//!   `SERVAL_TEST_MYSQL` (default `mysql://root@127.0.0.1:3306`), created and dropped
//!   with `psql` / `mariadb`. An unreachable server fails the test.

use super::fresh_sqlite_url;
use std::process::Command;

/// A database for one test, dropped at the end.
pub struct Database {
    /// Its URL, for `--db`.
    pub url: String,
    drop_with: Option<(String, Vec<String>)>,
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some((program, args)) = &self.drop_with {
            let _ = Command::new(program).args(args).output();
        }
    }
}

pub fn unique_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "serval_e2e_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn run_ok(program: &str, args: &[String]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed (is the server up?): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn host_port(url: &str, default_port: u16) -> (String, String, String) {
    let rest = url.split("://").nth(1).expect("scheme://");
    let (user, hostport) = rest.split_once('@').expect("USER@HOST");
    let hostport = hostport.trim_end_matches('/');
    let (host, port) = hostport
        .rsplit_once(':')
        .map_or((hostport.to_owned(), default_port.to_string()), |(h, p)| {
            (h.to_owned(), p.to_owned())
        });
    (user.to_owned(), host, port)
}

pub fn sqlite() -> Database {
    Database {
        url: fresh_sqlite_url(),
        drop_with: None,
    }
}

pub fn postgres() -> Database {
    let server = std::env::var("SERVAL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let (user, host, port) = host_port(&server, 5432);
    let name = unique_name();
    let args = |sql: String| {
        vec![
            "-h".into(),
            host.clone(),
            "-p".into(),
            port.clone(),
            "-U".into(),
            user.clone(),
            "-d".into(),
            "postgres".into(),
            "-c".into(),
            sql,
        ]
    };
    run_ok("psql", &args(format!("CREATE DATABASE {name}")));
    Database {
        url: format!("{}/{name}", server.trim_end_matches('/')),
        drop_with: Some((
            "psql".into(),
            args(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")),
        )),
    }
}

pub fn mariadb() -> Database {
    let server =
        std::env::var("SERVAL_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
    let (user, host, port) = host_port(&server, 3306);
    let name = unique_name();
    let args = |sql: String| {
        vec![
            "-h".into(),
            host.clone(),
            "-P".into(),
            port.clone(),
            "-u".into(),
            user.clone(),
            "-e".into(),
            sql,
        ]
    };
    run_ok("mariadb", &args(format!("CREATE DATABASE {name}")));
    Database {
        url: format!("{}/{name}", server.trim_end_matches('/')),
        drop_with: Some((
            "mariadb".into(),
            args(format!("DROP DATABASE IF EXISTS {name}")),
        )),
    }
}
