//! README's "First call in five minutes", run as a newcomer runs it: every command of
//! its blocks typed into one bash on a terminal (a pseudo-terminal), in the clone, with
//! a scratch home directory and nothing else prepared; the password prompts answered
//! as a person does; then two baresip phones configured with README's accounts line
//! register and call each other through the server that README's command started.
//!
//! The server listens where README says (UDP and TCP on 0.0.0.0:5060); the phones talk
//! to it on 127.0.0.1 only. No other test runs in this binary.

#[allow(dead_code)]
mod support;

use rexpect::session::{PtySession, spawn_command};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::phones::{Baresip, BaresipAccount, Phone};
use support::workspace_root;

/// How long a command may take; the build block may take much longer (it compiles the
/// release binaries when no earlier step did), and waits in steps of this up to
/// [`BUILD_TIME`].
const STEP_TIME_MS: u64 = 60 * 1000;
const BUILD_TIME: Duration = Duration::from_secs(30 * 60);

/// The prompt of the test's bash, to know when a command is done.
const PROMPT: &str = "FIRST-CALL-READY> ";

/// The code block after `<!-- first-call:NAME -->` in README.md, without its
/// indentation.
fn block(readme: &str, name: &str) -> Vec<String> {
    let marker = format!("<!-- first-call:{name} -->");
    let after = readme
        .split_once(&marker)
        .unwrap_or_else(|| panic!("README.md has no {marker}"))
        .1;
    let mut lines = after.lines().skip_while(|l| l.trim().is_empty());
    let fence = lines.next().expect("a code block after the marker");
    assert!(
        fence.trim().starts_with("```"),
        "{marker} is not followed by a code block"
    );
    let indent = fence.len() - fence.trim_start().len();
    lines
        .take_while(|l| !l.trim().starts_with("```"))
        .map(|l| l.get(indent..).unwrap_or("").to_owned())
        .collect()
}

/// One bash on a terminal, in the clone, with `home` as its home directory.
struct Shell {
    tty: PtySession,
}

/// A test that fails with the server still in the foreground stops it first (Ctrl-C),
/// so that it does not outlive its shell.
impl Drop for Shell {
    fn drop(&mut self) {
        let _ = self.tty.send_control('c');
        let _ = self.tty.send_line("exit");
    }
}

impl Shell {
    fn new(home: &Path) -> Shell {
        let mut command = Command::new("bash");
        command
            .args(["--norc", "--noprofile", "-i"])
            .current_dir(workspace_root())
            .env("HOME", home)
            .env("PS1", PROMPT)
            .env("TERM", "dumb")
            .env_remove("SERVAL_CONFIG");
        let mut tty = spawn_command(command, Some(STEP_TIME_MS)).expect("bash on a terminal");
        // An interactive bash ignores SIGTERM: killed at once when dropped.
        tty.process_mut().set_kill_timeout(Some(500));
        tty.exp_string(PROMPT).expect("the first prompt");
        Shell { tty }
    }

    /// Types `line` and waits for the prompt; returns what was printed.
    fn run(&mut self, line: &str) -> String {
        self.run_for(line, Duration::ZERO)
    }

    /// [`Self::run`] for a command that may take up to `patience` (a build).
    fn run_for(&mut self, line: &str, patience: Duration) -> String {
        eprintln!("$ {line}");
        self.tty.send_line(line).expect("typed");
        let deadline = Instant::now() + patience;
        let mut out = String::new();
        let out = loop {
            match self.tty.exp_string(PROMPT) {
                Ok(rest) => break out + &rest,
                Err(rexpect::error::Error::Timeout { got, .. }) if Instant::now() < deadline => {
                    out.push_str(&got);
                }
                Err(err) => panic!("`{line}` did not end: {err}\n{out}"),
            }
        };
        self.tty.send_line("echo \"status=$?\"").expect("typed");
        let status = self.tty.exp_string(PROMPT).expect("status");
        assert!(
            status.contains("status=0"),
            "`{line}` failed:\n{out}\n{status}"
        );
        out
    }

    /// Types `line`, a `servalctl user add`, and answers its two prompts.
    fn add_user(&mut self, line: &str, address: &str, password: &str) {
        eprintln!("$ {line}");
        self.tty.send_line(line).expect("typed");
        self.tty
            .exp_string(&format!("Password for {address}: "))
            .expect("asked for the password");
        self.tty.send_line(password).expect("typed");
        self.tty
            .exp_string("Again, to confirm: ")
            .expect("asked again");
        self.tty.send_line(password).expect("typed");
        let out = self.tty.exp_string(PROMPT).expect("the command ends");
        assert!(out.contains(&format!("added {address}")), "{out}");
    }
}

#[test]
fn the_readme_first_call_works_as_written() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md");
    let home = tempfile::tempdir().expect("scratch home");
    let mut shell = Shell::new(home.path());
    let passwords = [
        ("alice@example.com", "alice-Pa55"),
        ("bob@example.com", "bob-Pa55"),
    ];

    // 1. Build and PATH.
    for line in block(&readme, "build") {
        shell.run_for(&line, BUILD_TIME);
    }
    let found = shell.run("command -v serval servalctl");
    let release = workspace_root().join("target/release");
    assert!(
        found.contains(&format!("{}/serval", release.display()))
            && found.contains(&format!("{}/servalctl", release.display())),
        "{found}"
    );

    // 2. Users, before any server ever ran: the database is made by servalctl.
    for line in block(&readme, "users") {
        match passwords
            .iter()
            .find(|(address, _)| line.trim() == format!("servalctl user add {address}"))
        {
            Some((address, password)) => shell.add_user(&line, address, password),
            None => {
                shell.run(&line);
            }
        }
    }
    let data = home.path().join("serval");
    assert!(
        data.join("serval.db").exists(),
        "the database is in ~/serval"
    );

    // 3. The server, in the foreground of the same shell.
    let serve = block(&readme, "serve");
    assert_eq!(serve.len(), 1, "{serve:?}");
    eprintln!("$ {}", serve[0]);
    shell.tty.send_line(&serve[0]).expect("typed");
    shell
        .tty
        .exp_string("listening on udp:0.0.0.0:5060")
        .expect("the server listens on UDP 5060");
    shell
        .tty
        .exp_string("listening on tcp:0.0.0.0:5060")
        .expect("the server listens on TCP 5060");

    // 4. Two phones with README's accounts line, the server's address 127.0.0.1.
    let accounts = block(&readme, "accounts");
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    let line_for = |address: &str, password: &str| {
        let user = address.split('@').next().expect("user");
        accounts[0]
            .replace("alice", user)
            .replace("PASSWORD", password)
            .replace("192.0.2.10", "127.0.0.1")
    };
    let mut alice = Baresip::start(BaresipAccount::line(&line_for(
        passwords[0].0,
        passwords[0].1,
    )));
    let mut bob = Baresip::start(BaresipAccount::line(&line_for(
        passwords[1].0,
        passwords[1].1,
    )));
    alice.wait_registered();
    bob.wait_registered();
    eprintln!("both phones registered");

    // README: "call bob@example.com".
    alice.dial("bob@example.com");
    let caller = bob.wait_incoming();
    assert!(caller.contains("sip:alice@example.com"), "{caller}");
    bob.accept();
    alice.wait_established();
    bob.wait_established();
    alice.hangup();
    alice.wait_closed();
    bob.wait_closed();
    drop((alice, bob));

    // Ctrl-C stops the server.
    eprintln!("call done; Ctrl-C");
    shell.tty.send_control('c').expect("Ctrl-C");
    let stopped = shell.tty.exp_string(PROMPT).expect("the server stopped");
    assert!(stopped.contains("stopped"), "{stopped}");
    shell.tty.send_line("exit").expect("typed");
    shell.tty.exp_eof().expect("bash exits");
}
