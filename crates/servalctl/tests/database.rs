//! `servalctl` on a real database, as a user runs it: `db`, `user` and `location`
//! commands on a temporary SQLite file, and `user` commands (with a 100 000-row
//! import) on PostgreSQL and MySQL/MariaDB too.

#[path = "../../store/tests/common/mod.rs"]
mod common;

use common::{Backend, TestDb};
use futures_util::TryStreamExt;
use serval_store::{BindingRecord, Store, Subscriber};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

fn servalctl(args: &[&str]) -> Output {
    // An empty SERVAL_CONFIG: no config file, whatever this machine has in /etc/serval.
    Command::new(env!("CARGO_BIN_EXE_servalctl"))
        .env("SERVAL_CONFIG", "")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("servalctl runs")
}

/// Runs `servalctl --db URL ARGS…`.
fn on(url: &str, args: &[&str]) -> Output {
    let mut all = vec!["--db", url];
    all.extend_from_slice(args);
    servalctl(&all)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts success and returns stdout.
#[track_caller]
fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        stdout(&output),
        stderr(&output)
    );
    stdout(&output)
}

/// Asserts exit code 1 with nothing on stdout, and returns stderr.
#[track_caller]
fn fails(output: Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(1),
        "stdout: {}\nstderr: {}",
        stdout(&output),
        stderr(&output)
    );
    assert_eq!(stdout(&output), "");
    stderr(&output)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A fresh SQLite database (not created yet) in a temporary directory.
struct Sqlite {
    dir: tempfile::TempDir,
    url: String,
}

impl Sqlite {
    fn new() -> Sqlite {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite:{}", dir.path().join("serval.db").display());
        Sqlite { dir, url }
    }

    fn file(&self) -> PathBuf {
        self.dir.path().join("serval.db")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Output {
        on(&self.url, args)
    }

    /// `db init`, checked.
    fn init(self) -> Sqlite {
        ok(self.run(&["db", "init"]));
        self
    }
}

/// The subscriber as stored.
fn stored(url: &str, user: &str, domain: &str) -> Option<Subscriber> {
    runtime().block_on(async {
        let store = Store::connect(url).await.expect("connect");
        let s = store.subscriber(user, domain).await.expect("lookup");
        store.close().await;
        s
    })
}

#[test]
fn commands_on_a_new_database_create_it_with_the_schema() {
    for args in [
        &["user", "list"][..],
        &["user", "add", "alice@example.com", "pw"],
        &["location", "list"],
        &["db", "backup", "-"],
    ] {
        let db = Sqlite::new();
        let output = db.run(args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        assert!(
            stderr(&output).starts_with(&format!(
                "created the Serval schema (version 1) in {}\n",
                db.url
            )),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(db.file().exists(), "{args:?}");
        // The second time, nothing is created and nothing is said.
        let again = db.run(&["user", "list"]);
        assert!(again.status.success());
        assert_eq!(stderr(&again), "");
    }

    // A file without the schema (made by something else) gets it too.
    let db = Sqlite::new();
    runtime().block_on(async {
        Store::connect(&db.url)
            .await
            .expect("connect")
            .close()
            .await;
    });
    assert!(db.file().exists());
    ok(db.run(&["user", "add", "bob@example.com", "pw"]));
    assert!(stored(&db.url, "bob", "example.com").is_some());
}

#[test]
fn db_init_and_migrate() {
    let db = Sqlite::new();
    assert_eq!(
        ok(db.run(&["db", "init"])),
        format!("{}: schema created (version 1)\n", db.url)
    );
    assert!(db.file().exists());
    assert_eq!(
        ok(db.run(&["db", "init"])),
        format!("{}: schema is up to date (version 1)\n", db.url)
    );
    assert_eq!(
        ok(db.run(&["db", "migrate"])),
        "schema version 1 → 1 (up to date)\n"
    );
}

#[test]
fn the_database_comes_from_the_config_file() {
    let db = Sqlite::new();
    let config = db.path("serval.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\ndomains = [\"example.com\"]\n[database]\nurl = \"{}\"\n",
            db.url
        ),
    )
    .expect("config");
    let config = config.to_str().expect("UTF-8");
    assert_eq!(
        ok(servalctl(&["-c", config, "db", "init"])),
        format!("{}: schema created (version 1)\n", db.url)
    );
    ok(servalctl(&[
        "-c",
        config,
        "user",
        "add",
        "alice@example.com",
        "pw",
    ]));
    assert_eq!(
        ok(servalctl(&["-c", config, "user", "list"])),
        "alice@example.com\n"
    );
    // --db wins over the file.
    let other = Sqlite::new();
    assert_eq!(
        ok(servalctl(&[
            "-c", config, "--db", &other.url, "user", "list"
        ])),
        ""
    );
    assert!(other.file().exists());
}

#[test]
fn users_are_added_listed_changed_and_deleted() {
    let db = Sqlite::new().init();
    assert_eq!(
        ok(db.run(&[
            "user",
            "add",
            "alice@Example.COM",
            "secret",
            "--email",
            "alice@mail.test"
        ])),
        "added alice@example.com\n"
    );
    let alice = stored(&db.url, "alice", "example.com").expect("alice");
    assert_eq!(
        alice.ha1.as_deref(),
        Some("b1726872c344b6dc8365b774f8fd6412")
    );
    assert_eq!(
        alice.ha1_sha256.as_deref(),
        Some("ed8925b20f9a77b8f8f8d5f8e4467fe32b866f7208ab9e4b20595e9821a0fdee")
    );
    assert_eq!(alice.password, None, "not kept unless asked");
    assert_eq!(alice.email.as_deref(), Some("alice@mail.test"));

    ok(db.run(&["user", "add", "bob@example.com", "pw", "--store-password"]));
    assert_eq!(
        stored(&db.url, "bob", "example.com").and_then(|b| b.password),
        Some("pw".to_owned())
    );
    ok(db.run(&["user", "add", "carol@other.example", "pw"]));

    assert_eq!(
        fails(db.run(&["user", "add", "alice@example.com", "again"])),
        "servalctl: subscriber alice@example.com already exists\n"
    );
    assert_eq!(
        fails(db.run(&["user", "add", "alice", "pw"])),
        "servalctl: `alice` is not USER@DOMAIN\n"
    );

    assert_eq!(
        ok(db.run(&["user", "list"])),
        "alice@example.com\talice@mail.test\nbob@example.com\ncarol@other.example\n"
    );
    assert_eq!(
        ok(db.run(&["user", "list", "--domain", "other.example"])),
        "carol@other.example\n"
    );

    assert_eq!(
        ok(db.run(&["user", "passwd", "alice@example.com", "n3w"])),
        "password changed for alice@example.com\n"
    );
    let alice = stored(&db.url, "alice", "example.com").expect("alice");
    assert_eq!(
        alice.ha1.as_deref(),
        Some("632d20938c01a720b83d285a13f21fc7")
    );
    assert_eq!(
        alice.ha1_sha256.as_deref(),
        Some("885d26ee1102124279501e8613652e646f9ae29ee2e963fb820216509519d6d7")
    );
    assert_eq!(alice.password, None);
    ok(db.run(&["user", "passwd", "bob@example.com", "pw2"]));
    assert_eq!(
        stored(&db.url, "bob", "example.com").and_then(|b| b.password),
        Some("pw2".to_owned()),
        "a kept password stays kept"
    );
    assert_eq!(
        fails(db.run(&["user", "passwd", "dave@example.com", "x"])),
        "servalctl: no subscriber dave@example.com\n"
    );

    assert_eq!(
        ok(db.run(&["user", "del", "alice@example.com"])),
        "deleted alice@example.com\n"
    );
    assert_eq!(
        fails(db.run(&["user", "del", "alice@example.com"])),
        "servalctl: no subscriber alice@example.com\n"
    );
    assert_eq!(
        ok(db.run(&["user", "list"])),
        "bob@example.com\ncarol@other.example\n"
    );
}

#[test]
fn import_checks_every_line_first() {
    let db = Sqlite::new().init();
    let csv = db.path("users.csv");
    std::fs::write(
        &csv,
        "user,domain,password,email\n\
         alice,example.com,secret\n\
         \n\
         \"bob\",Example.com,\"p,w\",bob@mail.test\n",
    )
    .expect("csv");
    let file = csv.to_str().expect("UTF-8");
    assert_eq!(
        ok(db.run(&["user", "import", file])),
        format!("imported 2 subscribers from {file}\n")
    );
    assert_eq!(
        ok(db.run(&["user", "list"])),
        "alice@example.com\nbob@example.com\tbob@mail.test\n"
    );
    assert_eq!(
        stored(&db.url, "alice", "example.com").and_then(|a| a.ha1),
        Some("b1726872c344b6dc8365b774f8fd6412".to_owned())
    );

    std::fs::write(&csv, "carol,example.com,pw\ndave,example.com\n").expect("csv");
    assert_eq!(
        fails(db.run(&["user", "import", file])),
        format!("servalctl: {file}:2: 2 fields, expected user,domain,password[,email]\n")
    );
    std::fs::write(&csv, "carol,example.com,pw\nal ice,example.com,pw\n").expect("csv");
    assert_eq!(
        fails(db.run(&["user", "import", file])),
        format!("servalctl: {file}:2: the user name contains ' '\n")
    );
    std::fs::write(&csv, "carol,example.com,pw\nalice,example.com,pw\n").expect("csv");
    assert_eq!(
        fails(db.run(&["user", "import", file])),
        format!(
            "servalctl: {file}:2: subscriber alice@example.com already exists; nothing imported\n"
        )
    );
    std::fs::write(
        &csv,
        "carol,example.com,pw\ndave,example.com,pw\ncarol,example.com,x\n",
    )
    .expect("csv");
    assert_eq!(
        fails(db.run(&["user", "import", file])),
        format!(
            "servalctl: {file}:3: carol@example.com is in the file twice (first on line 1); nothing imported\n"
        )
    );
    assert_eq!(
        ok(db.run(&["user", "list"])),
        "alice@example.com\nbob@example.com\tbob@mail.test\n",
        "failed imports add nothing"
    );
    let missing = db.path("missing.csv");
    let missing = missing.to_str().expect("UTF-8");
    assert!(
        fails(db.run(&["user", "import", missing]))
            .starts_with(&format!("servalctl: {missing}: No such file"))
    );
}

/// Imports a generated 100 000-row CSV through `servalctl` and checks the count.
fn import_100_000(url: &str, name: &str, dir: &Path) {
    const N: usize = 100_000;
    let csv = dir.join("100k.csv");
    let mut text = String::with_capacity(N * 40);
    text.push_str("user,domain,password\n");
    for i in 0..N {
        text.push_str(&format!("user{i:06},example.com,password{i}\n"));
    }
    std::fs::write(&csv, text).expect("csv");
    let file = csv.to_str().expect("UTF-8");
    let started = Instant::now();
    let output = ok(on(url, &["user", "import", file]));
    let took = started.elapsed();
    println!(
        "{name}: servalctl user import of {N} rows took {:.2} s",
        took.as_secs_f64()
    );
    assert_eq!(output, format!("imported {N} subscribers from {file}\n"));
    assert!(took.as_secs() < 60, "{took:?}");
    let listed = ok(on(url, &["user", "list"]));
    assert_eq!(listed.lines().count(), N);
    assert_eq!(listed.lines().last(), Some("user099999@example.com"));
}

#[test]
fn import_of_100_000_rows_on_sqlite() {
    let db = Sqlite::new().init();
    import_100_000(&db.url, "SQLite", db.dir.path());
}

fn binding(aor: &str, contact: &str, expires: i64) -> BindingRecord {
    BindingRecord {
        aor: aor.to_owned(),
        contact: contact.to_owned(),
        expires,
        q: 1000,
        call_id: "c1@pc33".to_owned(),
        cseq: 7,
        instance: None,
        reg_id: None,
        path: None,
        received: None,
        socket: None,
        user_agent: None,
        flags: 0,
        last_modified: 1_800_000_000,
    }
}

fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    i64::try_from(secs).expect("in range")
}

/// `3600s` give or take the seconds the test took.
fn about(text: &str, seconds: i64) -> bool {
    text.strip_suffix('s')
        .and_then(|n| n.parse::<i64>().ok())
        .is_some_and(|n| (seconds - 5..=seconds).contains(&n))
}

#[test]
fn locations_are_listed_shown_and_deleted() {
    let db = Sqlite::new().init();
    let now = now();
    runtime().block_on(async {
        let store = Store::connect(&db.url).await.expect("connect");
        store
            .save_binding(&BindingRecord {
                q: 500,
                received: Some("udp:203.0.113.5:40000".to_owned()),
                socket: Some("udp:192.0.2.1:5060".to_owned()),
                user_agent: Some("Phone 1.0".to_owned()),
                reg_id: Some(1),
                ..binding("alice@example.com", "<sip:alice@10.0.0.5:5060>", now + 3600)
            })
            .await
            .expect("save");
        store
            .save_binding(&binding(
                "alice@example.com",
                "<sip:alice@192.0.2.9>",
                now - 1,
            ))
            .await
            .expect("save");
        store
            .save_binding(&binding(
                "bob@other.example",
                "<sip:bob@192.0.2.7>",
                now + 60,
            ))
            .await
            .expect("save");
        store.close().await;
    });

    let list = ok(db.run(&["location", "list"]));
    let lines: Vec<Vec<&str>> = list.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), 3, "{list}");
    assert_eq!(
        lines[0][..2],
        ["alice@example.com", "<sip:alice@10.0.0.5:5060>"]
    );
    assert!(about(lines[0][2], 3600), "{list}");
    assert_eq!(
        lines[0][3..],
        ["q=0.5", "udp:203.0.113.5:40000", "Phone 1.0"]
    );
    assert_eq!(
        lines[1],
        [
            "alice@example.com",
            "<sip:alice@192.0.2.9>",
            "expired",
            "q=1",
            "-",
            "-"
        ]
    );
    assert_eq!(lines[2][..2], ["bob@other.example", "<sip:bob@192.0.2.7>"]);
    assert!(about(lines[2][2], 60), "{list}");

    let other = ok(db.run(&["location", "list", "--domain", "Other.Example"]));
    assert_eq!(other.lines().count(), 1);
    assert!(other.starts_with("bob@other.example\t"), "{other}");

    let shown = ok(db.run(&["location", "show", "sip:alice@EXAMPLE.com"]));
    assert!(
        shown.starts_with("alice@example.com\n  contact: <sip:alice@10.0.0.5:5060>\n"),
        "{shown}"
    );
    for expected in [
        "    q: 0.5\n",
        "    call-id: c1@pc33\n",
        "    cseq: 7\n",
        "    reg-id: 1\n",
        "    instance: -\n",
        "    received: udp:203.0.113.5:40000\n",
        "    socket: udp:192.0.2.1:5060\n",
        "    user-agent: Phone 1.0\n",
        "  contact: <sip:alice@192.0.2.9>\n    expires: expired",
    ] {
        assert!(shown.contains(expected), "{expected:?} in\n{shown}");
    }
    assert_eq!(
        fails(db.run(&["location", "show", "carol@example.com"])),
        "servalctl: no bindings for carol@example.com\n"
    );

    assert_eq!(
        ok(db.run(&["location", "del", "alice@example.com"])),
        "deleted 2 bindings of alice@example.com\n"
    );
    assert_eq!(
        fails(db.run(&["location", "del", "alice@example.com"])),
        "servalctl: no bindings for alice@example.com\n"
    );
    assert_eq!(ok(db.run(&["location", "list"])).lines().count(), 1);
}

#[test]
fn backup_and_restore() {
    let db = Sqlite::new().init();
    ok(db.run(&["user", "add", "alice@example.com", "secret"]));
    ok(db.run(&["user", "add", "bob@example.com", "secret"]));
    let backup = db.path("serval.backup");
    let file = backup.to_str().expect("UTF-8");
    assert_eq!(
        ok(db.run(&["db", "backup", file])),
        format!("backed up 2 subscribers and 0 bindings to {file}\n")
    );
    assert!(!db.path("serval.backup.partial").exists());
    let text = std::fs::read_to_string(&backup).expect("backup");
    assert!(
        text.starts_with("{\"format\":\"serval-backup\",\"version\":1"),
        "{text}"
    );

    let to_stdout = db.run(&["db", "backup", "-"]);
    assert_eq!(stdout(&to_stdout), text, "the same on stdout");
    assert_eq!(
        stderr(&to_stdout),
        "backed up 2 subscribers and 0 bindings to -\n"
    );

    ok(db.run(&["user", "del", "alice@example.com"]));
    ok(db.run(&["user", "add", "mallory@example.com", "x"]));
    assert_eq!(
        ok(db.run(&["db", "restore", file])),
        format!("restored 2 subscribers and 0 bindings from {file}\n")
    );
    assert_eq!(
        ok(db.run(&["user", "list"])),
        "alice@example.com\nbob@example.com\n"
    );

    // Into a second database, of another file.
    let other = Sqlite::new().init();
    ok(other.run(&["db", "restore", file]));
    assert_eq!(ok(other.run(&["db", "backup", "-"])), text);

    std::fs::write(&backup, format!("{text}{{\"table\":\"subscriber\"}}\n")).expect("write");
    assert_eq!(
        fails(db.run(&["db", "restore", file])),
        format!("servalctl: {file}:4: missing field `username`\n")
    );
}

#[test]
fn an_unreachable_database_is_one_line() {
    for (url, shown) in [
        (
            "postgres://serval:secret@127.0.0.1:1/serval",
            "postgres://serval:***@127.0.0.1:1/serval",
        ),
        (
            "mysql://serval:secret@127.0.0.1:1/serval",
            "mysql://serval:***@127.0.0.1:1/serval",
        ),
    ] {
        for args in [
            &["user", "list"][..],
            &["db", "init"],
            &["location", "list"],
        ] {
            let message = fails(on(url, args));
            assert_eq!(
                message,
                format!(
                    "servalctl: cannot reach database {shown}: Connection refused (os error 111)\n"
                ),
                "{args:?}"
            );
        }
    }
}

/// `user add`, `list`, `del` and a 100 000-row import on a database server.
fn users_on(backend: Backend) {
    let runtime = runtime();
    let Some(db) = runtime.block_on(TestDb::create(backend)) else {
        return;
    };
    let url = db.url.clone();
    let first = on(&url, &["user", "list"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(stdout(&first), "");
    assert!(
        stderr(&first).starts_with("created the Serval schema (version 1) in "),
        "{}",
        stderr(&first)
    );
    assert!(ok(on(&url, &["db", "init"])).ends_with(": schema is up to date (version 1)\n"));
    assert_eq!(
        ok(on(
            &url,
            &[
                "user",
                "add",
                "alice@example.com",
                "secret",
                "--email",
                "a@mail.test"
            ]
        )),
        "added alice@example.com\n"
    );
    ok(on(&url, &["user", "add", "Alice@example.com", "other"]));
    assert_eq!(
        fails(on(&url, &["user", "add", "alice@example.com", "again"])),
        "servalctl: subscriber alice@example.com already exists\n"
    );
    assert_eq!(
        ok(on(&url, &["user", "list"])),
        "Alice@example.com\nalice@example.com\ta@mail.test\n"
    );
    assert_eq!(
        stored(&url, "alice", "example.com").and_then(|a| a.ha1),
        Some("b1726872c344b6dc8365b774f8fd6412".to_owned())
    );
    assert_eq!(
        ok(on(&url, &["user", "del", "Alice@example.com"])),
        "deleted Alice@example.com\n"
    );
    assert_eq!(
        fails(on(&url, &["user", "del", "Alice@example.com"])),
        "servalctl: no subscriber Alice@example.com\n"
    );
    ok(on(&url, &["user", "del", "alice@example.com"]));

    let dir = tempfile::tempdir().expect("temporary directory");
    import_100_000(&url, backend.name(), dir.path());
    let count = runtime.block_on(async {
        let store = Store::connect(&url).await.expect("connect");
        let n = store
            .subscribers(Some("example.com"))
            .try_fold(0u64, |n, _| async move { Ok(n + 1) })
            .await
            .expect("count");
        store.close().await;
        n
    });
    assert_eq!(count, 100_000);
    drop(db);
}

#[test]
fn users_on_postgres() {
    users_on(Backend::Postgres);
}

#[test]
fn users_on_mysql() {
    users_on(Backend::Mysql);
}
