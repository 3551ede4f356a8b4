//! The Debian package, tested as an operator installs it: built with README's command
//! (`cargo deb -p serval`), its contents and control data checked, installed with
//! `dpkg -i` on this machine, the unit checked with `systemd-analyze verify`, the
//! packaged server run as the user `serval` with the packaged config, a phone (baresip)
//! registered, the binding seen with the packaged `servalctl` (which finds
//! `/etc/serval/serval.toml` by itself), then `dpkg --purge`, after which the machine is
//! as it was: no user, no group, no files.
//!
//! It needs root and a machine without a `serval` package or user (it refuses to touch
//! one that has them). No other test runs in this binary, and cargo runs test binaries
//! one after the other, so nothing else sees `/etc/serval` while it is installed.

#[allow(dead_code)]
#[path = "support/sipp.rs"]
mod sipp;
#[allow(dead_code)]
mod support;

use sipp::free_ports;
use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use support::phones::{Baresip, BaresipAccount, Phone, Transport};
use support::{Serval, workspace_root};

const CONFIG: &str = "/etc/serval/serval.toml";
const STATE: &str = "/var/lib/serval";

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

/// Runs and requires success; returns stdout.
fn ok(program: &str, args: &[&str]) -> String {
    let output = run(program, args);
    assert!(
        output.status.success(),
        "{program} {}: {}\n{}{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What an install may change and a purge must restore: the accounts, and the files
/// where a package's things go.
fn machine_state() -> BTreeSet<String> {
    let mut state = BTreeSet::new();
    for file in ["/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow"] {
        if let Ok(text) = std::fs::read_to_string(file) {
            state.extend(text.lines().map(|l| format!("{file}: {l}")));
        }
    }
    for dir in [
        "/etc/serval",
        "/etc/systemd/system",
        "/lib/systemd/system",
        "/usr/lib/systemd/system",
        "/var/lib/systemd/deb-systemd-helper-enabled",
        "/var/lib/serval",
        "/usr/bin",
        "/usr/share/doc/serval",
    ] {
        let listing = run("find", &[dir]);
        state.extend(
            String::from_utf8_lossy(&listing.stdout)
                .lines()
                .map(str::to_owned),
        );
    }
    state
}

/// Purges the package and stops the server if the test ends early.
struct Installed {
    server: Option<Serval>,
}

impl Drop for Installed {
    fn drop(&mut self) {
        drop(self.server.take());
        let _ = run("dpkg", &["--purge", "serval"]);
    }
}

fn mode_owner(path: &str) -> (u32, String, String) {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let name = |db: &str, id: u32| {
        ok("getent", &[db, &id.to_string()])
            .split(':')
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    (
        meta.mode() & 0o7777,
        name("passwd", meta.uid()),
        name("group", meta.gid()),
    )
}

#[test]
fn the_debian_package_installs_runs_and_purges_cleanly() {
    assert!(
        rustix::process::geteuid().is_root(),
        "the package test installs a package: run the tests as root (CI does)"
    );
    assert!(
        !run("dpkg", &["-s", "serval"]).status.success()
            && !run("getent", &["passwd", "serval"]).status.success(),
        "this machine already has a serval package or user: the package test leaves it alone"
    );
    let before = machine_state();

    // README's command.
    let root = workspace_root();
    let built = Command::new("cargo")
        .args(["deb", "-p", "serval"])
        .current_dir(&root)
        .output()
        .expect("cargo deb runs (cargo install cargo-deb)");
    assert!(
        built.status.success(),
        "cargo deb -p serval: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let deb = String::from_utf8_lossy(&built.stdout)
        .lines()
        .rfind(|l| l.trim_end().ends_with(".deb"))
        .map(|l| root.join(l.trim()))
        .expect("cargo deb prints the package's path");
    let deb = deb.to_str().expect("UTF-8 path").to_owned();

    // Contents and control data.
    let contents = ok("dpkg-deb", &["-c", &deb]);
    for file in [
        "./usr/bin/serval",
        "./usr/bin/servalctl",
        "./etc/serval/serval.toml",
        "/systemd/system/serval.service",
        "./usr/share/doc/serval/copyright",
    ] {
        assert!(
            contents.lines().any(|l| l.contains(file)),
            "{file} is not in the package:\n{contents}"
        );
    }
    let info = ok("dpkg-deb", &["-I", &deb]);
    for field in ["Package: serval", "Section: net", "Depends:"] {
        assert!(info.contains(field), "{field} missing:\n{info}");
    }
    let control = tempfile::tempdir().expect("scratch");
    let control_dir = control.path().to_str().expect("UTF-8").to_owned();
    ok("dpkg-deb", &["-e", &deb, &control_dir]);
    let conffiles = std::fs::read_to_string(control.path().join("conffiles")).unwrap_or_default();
    assert!(
        conffiles.lines().any(|l| l.trim() == CONFIG),
        "{CONFIG} is a conffile: {conffiles:?}"
    );

    // Installed.
    let mut installed = Installed { server: None };
    ok("dpkg", &["-i", &deb]);
    let account = ok("getent", &["passwd", "serval"]);
    let fields: Vec<&str> = account.trim().split(':').collect();
    assert!(
        fields[2].parse::<u32>().expect("uid") < 1000,
        "a system user: {account}"
    );
    assert_eq!(fields[5], STATE, "{account}");
    assert!(fields[6].ends_with("nologin"), "{account}");
    assert_eq!(mode_owner(STATE), (0o750, "serval".into(), "serval".into()));
    assert_eq!(mode_owner(CONFIG), (0o640, "root".into(), "serval".into()));
    let database = format!("{STATE}/serval.db");
    assert_eq!(
        mode_owner(&database).1,
        "serval",
        "the database is serval's"
    );

    // The unit: valid, and as the issue asks.
    let unit = [
        "/lib/systemd/system/serval.service",
        "/usr/lib/systemd/system/serval.service",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
    .expect("serval.service installed");
    let text = std::fs::read_to_string(unit).expect("unit readable");
    for line in [
        "User=serval",
        "ExecStart=/usr/bin/serval -c /etc/serval/serval.toml",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
        "StateDirectory=serval",
    ] {
        assert!(text.lines().any(|l| l == line), "{unit} lacks {line}");
    }
    if Path::new("/usr/bin/systemd-analyze").exists() {
        let verified = run("systemd-analyze", &["verify", unit]);
        assert!(
            verified.status.success() && verified.stderr.is_empty(),
            "systemd-analyze verify {unit}: {}",
            String::from_utf8_lossy(&verified.stderr)
        );
    }
    assert!(
        Path::new("/etc/systemd/system/multi-user.target.wants/serval.service").exists(),
        "the service is enabled"
    );

    // The packaged config is valid, read as the service reads it.
    ok(
        "runuser",
        &[
            "-u",
            "serval",
            "--",
            "/usr/bin/serval",
            "-c",
            CONFIG,
            "--check-config",
        ],
    );

    // The operator names the domain in the config, and adds a user with the packaged
    // servalctl, which finds the config (and so the database) by itself.
    let config = std::fs::read_to_string(CONFIG).expect("config readable");
    let config = config.replace(
        "# domains = [\"example.com\"]",
        "domains = [\"example.com\"]",
    );
    assert!(config.contains("\ndomains = [\"example.com\"]"));
    std::fs::write(CONFIG, config).expect("config edited");
    let add = Command::new("/usr/bin/servalctl")
        .args(["user", "add", "alice@example.com", "--password-stdin"])
        .env_remove("SERVAL_CONFIG")
        .stdin(Stdio::piped())
        .output_with_input("alice-Pa55\n");
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );

    // The packaged binary, as the service runs it: user and group serval and no other
    // group, in /var/lib/serval; on ports of this test.
    let port = free_ports("127.0.0.1".parse().expect("IP"), 1)[0];
    let udp = format!("udp:127.0.0.1:{port}");
    let tcp = format!("tcp:127.0.0.1:{port}");
    let id = |field: usize| -> u32 { fields[field].parse().expect("numeric id") };
    let mut server = Command::new("/usr/bin/serval");
    server
        .args(["-c", CONFIG, "-l", &udp, "-l", &tcp])
        .uid(id(2))
        .gid(id(3))
        .current_dir(STATE);
    installed.server = Some(Serval::spawn(server));

    let mut phone = Baresip::start(BaresipAccount::new(
        "alice@example.com",
        "alice-Pa55",
        &format!("127.0.0.1:{port}"),
        Transport::Udp,
    ));
    phone.wait_registered();
    let listed = ok("/usr/bin/servalctl", &["location", "list"]);
    assert!(
        listed.contains("alice@example.com"),
        "servalctl location list:\n{listed}"
    );
    drop(phone);

    // Purged: the machine as it was. (Dropping the server kills and reaps it.)
    drop(installed.server.take());
    ok("dpkg", &["--purge", "serval"]);
    assert!(!run("dpkg", &["-s", "serval"]).status.success());
    let after = machine_state();
    let added: Vec<_> = after.difference(&before).collect();
    let removed: Vec<_> = before.difference(&after).collect();
    assert!(
        added.is_empty() && removed.is_empty(),
        "after the purge, added: {added:#?}\nremoved: {removed:#?}"
    );
}

/// `Command::output` with `input` on stdin.
trait OutputWithInput {
    fn output_with_input(&mut self, input: &str) -> Output;
}

impl OutputWithInput for Command {
    fn output_with_input(&mut self, input: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("runs");
        child
            .stdin
            .take()
            .expect("stdin piped")
            .write_all(input.as_bytes())
            .expect("input written");
        child.wait_with_output().expect("ends")
    }
}
