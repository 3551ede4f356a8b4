//! `servalctl` as a user runs it.

use std::path::PathBuf;
use std::process::{Command, Output};

fn servalctl(args: &[&str]) -> Output {
    // An empty SERVAL_CONFIG: no config file, whatever this machine has in /etc/serval.
    Command::new(env!("CARGO_BIN_EXE_servalctl"))
        .env("SERVAL_CONFIG", "")
        .args(args)
        .output()
        .expect("servalctl runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A config file with `content`, unique to `name`.
fn config_file(name: &str, content: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("servalctl-{name}.toml"));
    std::fs::write(&path, content).expect("config written");
    path
}

#[test]
fn help_and_version() {
    let help = servalctl(&["--help"]);
    assert!(help.status.success());
    assert!(stdout(&help).contains("--db <URL>"), "{}", stdout(&help));
    assert!(
        stdout(&help).contains("--config <FILE>"),
        "{}",
        stdout(&help)
    );

    let version = servalctl(&["--version"]);
    assert!(version.status.success());
    assert_eq!(
        stdout(&version).trim(),
        format!("servalctl {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn config_check_shows_the_database_of_a_valid_file() {
    let path = config_file(
        "valid",
        "[database]\nurl = \"postgres://serval:pw@db.test/serval\"\n",
    );
    let path = path.to_str().expect("utf-8 path");
    let output = servalctl(&["config", "check", path]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        format!("{path}: configuration is valid\ndatabase: postgres://serval:***@db.test/serval\n")
    );

    // --db overrides the file's database; -c names the file.
    let output = servalctl(&["--db", "sqlite:other.db", "-c", path, "config", "check"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).ends_with("database: sqlite:other.db\n"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn config_check_reports_the_line_of_an_error() {
    let path = config_file(
        "invalid",
        "[server]\nlisten = [\"udp:0.0.0.0:5060\"]\ncolour = 1\n",
    );
    let path = path.to_str().expect("utf-8 path");
    let output = servalctl(&["config", "check", path]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).starts_with(&format!("{path}:3:1: unknown field `colour`")),
        "{}",
        stderr(&output)
    );
}

#[test]
fn config_check_without_a_file_is_a_usage_error() {
    let output = servalctl(&["config", "check"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no config file"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn serval_config_names_the_config_file_when_c_is_absent() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let database = dir.join("servalctl-env.db");
    let _ = std::fs::remove_file(&database);
    let path = config_file(
        "env",
        &format!(
            "[server]\ndomains = [\"b.example\"]\n[database]\nurl = \"sqlite:{}\"\n",
            database.display()
        ),
    );
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_servalctl"))
            .env("SERVAL_CONFIG", &path)
            .args(args)
            .output()
            .expect("servalctl runs")
    };

    let refused = run(&["user", "add", "carol@c.example", "secret"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains(&format!("add it to [server] domains in {}", path.display())),
        "{}",
        stderr(&refused)
    );
    let added = run(&["user", "add", "bob@b.example", "secret"]);
    assert!(added.status.success(), "{}", stderr(&added));
    let listed = run(&["user", "list"]);
    assert!(
        stdout(&listed).contains("bob@b.example"),
        "{}",
        stdout(&listed)
    );
    assert!(database.exists(), "the file's database was used");
}
