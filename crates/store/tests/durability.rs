//! What the crate doc promises about SQLite: a write that returned `Ok` survives the
//! process being killed with SIGKILL at any moment. The test runs itself again as a
//! child that saves bindings one by one and reports each, kills it mid-stream, and
//! finds every reported binding in the file.

use serval_store::{BindingRecord, Store};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set in the child: the SQLite URL to write to.
const CHILD: &str = "SERVAL_STORE_KILL_TEST_URL";

fn binding(i: u32) -> BindingRecord {
    BindingRecord {
        aor: format!("user{i}@example.com"),
        contact: format!("<sip:user{i}@192.0.2.1>"),
        expires: 1_900_000_000,
        q: 1000,
        call_id: format!("call{i}"),
        cseq: i,
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

/// The child: saves bindings until killed (or for 60 s at most), printing
/// `saved N` after each one is committed.
async fn child(url: &str) {
    let store = Store::connect(url).await.expect("connect");
    let started = Instant::now();
    let mut i = 0;
    while started.elapsed() < Duration::from_secs(60) {
        store.save_binding(&binding(i)).await.expect("save");
        println!("saved {i}");
        i += 1;
    }
}

#[tokio::test]
async fn committed_writes_survive_kill_9() {
    if let Ok(url) = std::env::var(CHILD) {
        child(&url).await;
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite:{}", dir.path().join("serval.db").display());
    let store = Store::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    store.close().await;

    let mut writer = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "committed_writes_survive_kill_9", "--nocapture"])
        .env(CHILD, &url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("child starts");
    let stdout = writer.stdout.take().expect("piped");
    let mut last = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("child output");
        if let Some(n) = line.strip_prefix("saved ") {
            let n: u32 = n.parse().expect("a number");
            last = Some(n);
            if n == 300 {
                writer.kill().expect("SIGKILL");
                break;
            }
        }
    }
    let _ = writer.wait();
    let last = last.expect("the child saved something");

    let store = Store::connect(&url).await.expect("reopen");
    for i in 0..=last {
        let found = store
            .bindings(&format!("user{i}@example.com"))
            .await
            .expect("lookup");
        assert_eq!(
            found,
            vec![binding(i)],
            "binding {i} of 0..={last} was reported saved"
        );
    }
}
