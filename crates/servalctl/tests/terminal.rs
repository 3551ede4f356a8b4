//! servalctl on a terminal (a real pseudo-terminal, driven as a person types) and off
//! it: passwords asked twice on a terminal, read from standard input, or given as an
//! argument; progress of long work shown on a terminal only; and the bad input of
//! `user add` (twice, a malformed address, a domain not served, a prompt closed
//! early), each one line, exit 1, nothing changed.

use rexpect::process::WaitStatus;
use rexpect::session::{PtySession, spawn_command};
use serval_store::Store;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// A scratch directory with a config file that serves example.com and keeps its
/// database (not created yet) beside it.
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().expect("temporary directory");
        let config = format!(
            "[server]\ndomains = [\"example.com\"]\n[database]\nurl = \"sqlite:{}\"\n",
            dir.path().join("serval.db").display()
        );
        std::fs::write(dir.path().join("serval.toml"), config).expect("config");
        Site { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("serval.toml")
    }

    fn database(&self) -> PathBuf {
        self.dir.path().join("serval.db")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_servalctl"));
        command
            .arg("-c")
            .arg(self.config())
            .args(args)
            .current_dir(self.dir.path());
        command
    }

    /// Runs with `input` on stdin (no terminal).
    fn run(&self, args: &[&str], input: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("servalctl runs");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input.as_bytes()).expect("input written");
        drop(stdin);
        child.wait_with_output().expect("servalctl ends")
    }

    /// Runs on a pseudo-terminal.
    fn on_terminal(&self, args: &[&str]) -> PtySession {
        spawn_command(self.command(args), Some(10_000)).expect("servalctl on a terminal")
    }

    /// The MD5 HA1 stored for `user@example.com`.
    fn ha1(&self, user: &str) -> Option<String> {
        let url = format!("sqlite:{}", self.database().display());
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(async {
                let store = Store::connect(&url).await.expect("connect");
                let s = store.subscriber(user, "example.com").await.expect("lookup");
                store.close().await;
                s.and_then(|s| s.ha1)
            })
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// MD5(user:example.com:password), as the stored HA1 must be.
fn md5_ha1(user: &str, password: &str) -> String {
    use md5::Digest;
    let digest = md5::Md5::digest(format!("{user}:example.com:{password}"));
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The exit code of a finished terminal session.
fn exit_code(session: &mut PtySession) -> i32 {
    match session.process().wait().expect("servalctl ends") {
        WaitStatus::Exited(_, code) => code,
        other => panic!("servalctl did not exit: {other:?}"),
    }
}

#[test]
fn the_password_is_asked_twice_on_a_terminal_and_not_echoed() {
    let site = Site::new();
    let mut tty = site.on_terminal(&["user", "add", "alice@example.com"]);
    tty.exp_string("Password for alice@example.com: ")
        .expect("first prompt");
    tty.send_line("s3cret pass").expect("typed");
    tty.exp_string("Again, to confirm: ")
        .expect("second prompt");
    tty.send_line("s3cret pass").expect("typed");
    let rest = tty.exp_eof().expect("ends");
    assert!(rest.contains("added alice@example.com"), "{rest}");
    assert!(
        !rest.contains("s3cret"),
        "the password is not echoed: {rest}"
    );
    assert_eq!(exit_code(&mut tty), 0);
    assert_eq!(site.ha1("alice"), Some(md5_ha1("alice", "s3cret pass")));

    // passwd asks the same way.
    let mut tty = site.on_terminal(&["user", "passwd", "alice@example.com"]);
    tty.exp_string("Password for alice@example.com: ")
        .expect("first prompt");
    tty.send_line("n3w").expect("typed");
    tty.exp_string("Again, to confirm: ")
        .expect("second prompt");
    tty.send_line("n3w").expect("typed");
    assert!(
        tty.exp_eof()
            .expect("ends")
            .contains("password changed for alice@example.com")
    );
    assert_eq!(exit_code(&mut tty), 0);
    assert_eq!(site.ha1("alice"), Some(md5_ha1("alice", "n3w")));
}

#[test]
fn two_different_passwords_change_nothing() {
    let site = Site::new();
    let mut tty = site.on_terminal(&["user", "add", "alice@example.com"]);
    tty.exp_string("Password for alice@example.com: ")
        .expect("first prompt");
    tty.send_line("one").expect("typed");
    tty.exp_string("Again, to confirm: ")
        .expect("second prompt");
    tty.send_line("two").expect("typed");
    let rest = tty.exp_eof().expect("ends");
    assert!(
        rest.contains("servalctl: the two passwords differ; nothing changed"),
        "{rest}"
    );
    assert_eq!(exit_code(&mut tty), 1);
    assert!(!site.database().exists(), "no database made");
}

#[test]
fn a_prompt_closed_early_changes_nothing() {
    let site = Site::new();
    let mut tty = site.on_terminal(&["user", "add", "alice@example.com"]);
    tty.exp_string("Password for alice@example.com: ")
        .expect("prompt");
    tty.send_control('d').expect("Ctrl-D");
    let rest = tty.exp_eof().expect("ends");
    assert!(
        rest.contains("servalctl: the password prompt was closed; nothing changed"),
        "{rest}"
    );
    assert_eq!(exit_code(&mut tty), 1);
    assert!(!site.database().exists(), "no database made");

    // With a database: the user is still not there.
    let added = site.run(
        &["user", "add", "bob@example.com", "--password-stdin"],
        "pw\n",
    );
    assert!(added.status.success(), "{}", text(&added.stderr));
    let mut tty = site.on_terminal(&["user", "add", "alice@example.com"]);
    tty.exp_string("Password for alice@example.com: ")
        .expect("prompt");
    tty.send_control('d').expect("Ctrl-D");
    tty.exp_eof().expect("ends");
    assert_eq!(exit_code(&mut tty), 1);
    assert_eq!(site.ha1("alice"), None);
}

#[test]
fn the_password_comes_from_standard_input_or_the_argument() {
    let site = Site::new();
    let added = site.run(
        &["user", "add", "alice@example.com", "--password-stdin"],
        "from stdin\nignored\n",
    );
    assert!(added.status.success(), "{}", text(&added.stderr));
    assert_eq!(text(&added.stdout), "added alice@example.com\n");
    assert_eq!(site.ha1("alice"), Some(md5_ha1("alice", "from stdin")));

    // Scripts may still give it as an argument.
    let added = site.run(&["user", "add", "bob@example.com", "argument"], "");
    assert!(added.status.success(), "{}", text(&added.stderr));
    assert_eq!(site.ha1("bob"), Some(md5_ha1("bob", "argument")));

    let changed = site.run(
        &["user", "passwd", "bob@example.com", "--password-stdin"],
        "changed\r\n",
    );
    assert!(changed.status.success(), "{}", text(&changed.stderr));
    assert_eq!(site.ha1("bob"), Some(md5_ha1("bob", "changed")));

    // No terminal and no --password-stdin: say how.
    let refused = site.run(&["user", "add", "carol@example.com"], "typed ahead\n");
    assert_eq!(refused.status.code(), Some(1));
    let message = text(&refused.stderr);
    assert!(
        message.contains("--password-stdin") && message.ends_with("nothing changed\n"),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1, "{message}");
    assert_eq!(site.ha1("carol"), None);
}

/// One line on stderr, exit 1, nothing on stdout.
#[track_caller]
fn refused(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "");
    let message = text(&output.stderr);
    assert_eq!(message.lines().count(), 1, "{message}");
    message
}

#[test]
fn bad_input_is_one_line_and_changes_nothing() {
    let site = Site::new();
    let add = |address: &str, password: &str| {
        site.run(&["user", "add", address, "--password-stdin"], password)
    };
    assert!(add("alice@example.com", "first\n").status.success());

    assert_eq!(
        refused(&add("alice@example.com", "second\n")),
        "servalctl: subscriber alice@example.com already exists\n"
    );
    assert_eq!(site.ha1("alice"), Some(md5_ha1("alice", "first")));

    for (address, reason) in [
        ("alice", "`alice` is not USER@DOMAIN"),
        ("@example.com", "`@example.com`: the user name is empty"),
        (
            "al ice@example.com",
            "`al ice@example.com`: the user name contains ' '",
        ),
        ("bob@", "`bob@`: the domain is empty"),
    ] {
        assert_eq!(
            refused(&add(address, "pw\n")),
            format!("servalctl: {reason}\n"),
            "{address}"
        );
    }

    let message = refused(&add("bob@example.org", "pw\n"));
    assert!(
        message.starts_with("servalctl: example.org is not a domain of this server (it serves ")
            && message.contains("example.com")
            && message.ends_with(&format!(
                "add it to [server] domains in {}; nothing changed\n",
                site.config().display()
            )),
        "{message}"
    );

    assert_eq!(
        refused(&add("carol@example.com", "")),
        "servalctl: no password on standard input; nothing changed\n"
    );
    assert_eq!(
        refused(&add("carol@example.com", "\n")),
        "servalctl: the password is empty; nothing changed\n"
    );

    let list = site.run(&["user", "list"], "");
    assert_eq!(text(&list.stdout), "alice@example.com\n");
}

/// A CSV of `n` subscribers of example.com.
fn users_csv(site: &Site, n: usize) -> PathBuf {
    let mut csv = String::from("user,domain,password\n");
    for i in 0..n {
        csv.push_str(&format!("user{i},example.com,pw{i}\n"));
    }
    let path = site.dir.path().join("users.csv");
    std::fs::write(&path, csv).expect("csv");
    path
}

#[test]
fn long_work_shows_progress_on_a_terminal_and_nothing_in_a_pipe() {
    const ROWS: usize = 60_000;
    let piped = Site::new();
    let csv = users_csv(&piped, ROWS);
    let csv = csv.to_str().expect("UTF-8");
    let import = piped.run(&["user", "import", csv], "");
    assert!(import.status.success(), "{}", text(&import.stderr));
    assert_eq!(
        text(&import.stdout),
        format!("imported {ROWS} subscribers from {csv}\n")
    );
    // Only the note that the database was made: no bar, no control characters.
    assert_eq!(
        text(&import.stderr).lines().count(),
        1,
        "{}",
        text(&import.stderr)
    );
    assert!(!text(&import.stderr).contains('\x1b'));
    let backup = piped.run(&["db", "backup", "-"], "");
    assert!(backup.status.success());
    assert_eq!(
        text(&backup.stderr),
        format!("backed up {ROWS} subscribers and 0 bindings to -\n")
    );

    let tty_site = Site::new();
    let csv = users_csv(&tty_site, ROWS);
    let mut tty = tty_site.on_terminal(&["user", "import", csv.to_str().expect("UTF-8")]);
    let shown = tty.exp_eof().expect("ends");
    assert_eq!(exit_code(&mut tty), 0);
    assert!(
        shown.contains("/60,000 subscribers"),
        "a bar with the total: {shown:?}"
    );
    assert!(shown.contains(&format!("imported {ROWS} subscribers")));
}
