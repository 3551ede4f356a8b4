//! The registrar end to end, against each SQL back end for real: a test UA (plain UDP
//! sockets, its digest computed by `support/digest.rs`, not by the server's code) talks
//! to a running `serval`, and the test reads the `location` table back.
//!
//! Each test gets a fresh database (`support/databases.rs`): an SQLite file, or a
//! database of its own on the PostgreSQL and MariaDB servers.

#[allow(dead_code)]
mod support;

use serval_store::Subscriber;
use std::net::SocketAddr;
use support::databases::{Database, mariadb, postgres, sqlite, unique_name};
use support::{PATIENCE, Response, Serval, UdpClient, digest, temp_file, with_store};

const DOMAIN: &str = "example.com";

/// Creates the schema and the subscribers: alice with both HA1s stored (as `servalctl
/// user add` does), carol with only a plain password (the server computes HA1).
fn provision(url: &str) {
    support::add_subscribers(url, &[("alice", DOMAIN, "alice-secret")]);
    with_store(url, |store| async move {
        store
            .add_subscriber(&Subscriber {
                username: "carol".into(),
                domain: DOMAIN.into(),
                password: Some("carol-secret".into()),
                ..Subscriber::default()
            })
            .await
            .expect("carol added");
    });
}

/// The contacts stored for `aor`, with their expiry.
fn stored(url: &str, aor: &str) -> Vec<(String, i64)> {
    with_store(url, |store| async move {
        let rows = store.bindings(aor).await.expect("bindings");
        rows.into_iter().map(|r| (r.contact, r.expires)).collect()
    })
}

fn start(db: &Database, extra: &str) -> Serval {
    start_in(db, "write-through", extra)
}

/// A serval for example.com on `db` in storage mode `storage`; `extra` goes on in the
/// `[registrar]` section.
fn start_in(db: &Database, storage: &str, extra: &str) -> Serval {
    let config = temp_file(
        &format!("registrar-{}.toml", unique_name()),
        &format!(
            "[server]\ndomains = [\"{DOMAIN}\"]\n[registrar]\nstorage = \"{storage}\"\n{extra}"
        ),
    );
    Serval::start(&["-c", config.to_str().expect("UTF-8"), "--db", &db.url])
}

/// A UA registering `user@example.com` from its own UDP socket.
struct Ua {
    socket: UdpClient,
    user: &'static str,
    call_id: String,
    cseq: u32,
    nc: u32,
}

impl Ua {
    fn new(user: &'static str) -> Ua {
        Ua {
            socket: UdpClient::bind(),
            user,
            call_id: format!("{}@test", unique_name()),
            cseq: 0,
            nc: 0,
        }
    }

    fn contact(&self) -> String {
        format!("sip:{}@{}", self.user, self.socket.addr())
    }

    /// One REGISTER with `headers` (Contact, Expires...) and, when given, credentials.
    fn register(
        &mut self,
        to: SocketAddr,
        headers: &str,
        authorization: Option<String>,
    ) -> Response {
        self.cseq += 1;
        let auth = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "REGISTER sip:{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP {addr};branch=z9hG4bK{tag}x{cseq};rport\r\nMax-Forwards: 70\r\nFrom: <sip:{user}@{DOMAIN}>;tag=t{cseq}\r\nTo: <sip:{user}@{DOMAIN}>\r\nCall-ID: {call}\r\nCSeq: {cseq} REGISTER\r\n{headers}{auth}Content-Length: 0\r\n\r\n",
            addr = self.socket.addr(),
            call = self.call_id,
            cseq = self.cseq,
            user = self.user,
            tag = self.call_id.trim_end_matches("@test"),
        );
        self.socket.request(to, &request)
    }

    /// The seed's exchange: REGISTER, 401, REGISTER with credentials (answering the
    /// challenge of `algorithm`) for `password`; the final response. For an algorithm
    /// other than MD5 the first REGISTER asks for it, as pjsip does with
    /// `auth_initial_empty`: an Authorization with an empty nonce and response.
    fn register_with(
        &mut self,
        to: SocketAddr,
        headers: &str,
        password: &str,
        algorithm: &str,
    ) -> Response {
        let ask = (algorithm != "MD5").then(|| {
            format!(
                "Digest username=\"{}\", realm=\"{DOMAIN}\", nonce=\"\", uri=\"sip:{DOMAIN}\", response=\"\", algorithm={algorithm}",
                self.user
            )
        });
        let challenge = self.register(to, headers, ask);
        assert_eq!(challenge.code, 401, "{}", challenge.raw);
        let offer = challenge
            .headers("WWW-Authenticate")
            .into_iter()
            .find(|c| digest::params(c).get("algorithm").map(String::as_str) == Some(algorithm))
            .unwrap_or_else(|| panic!("no {algorithm} challenge in {}", challenge.raw))
            .to_owned();
        self.nc += 1;
        let creds = digest::answer(
            &offer,
            "REGISTER",
            &format!("sip:{DOMAIN}"),
            self.user,
            password,
            1,
        );
        self.register(to, headers, Some(creds))
    }
}

/// Seconds left in the 200's Contact for `contact`.
fn expires_of(ok: &Response, contact: &str) -> Option<u32> {
    ok.headers("Contact").into_iter().find_map(|c| {
        c.starts_with(&format!("<{contact}>")).then(|| {
            c.split(";expires=")
                .nth(1)
                .and_then(|e| e.split(';').next())
                .and_then(|e| e.parse().ok())
        })?
    })
}

fn register_refresh_unregister(db: Database) {
    provision(&db.url);
    let server = start(&db, "");
    let aor = format!("alice@{DOMAIN}");

    // 401 with one challenge, MD5: what every phone can answer.
    let mut ua = Ua::new("alice");
    let contact = format!("Contact: <{}>\r\nExpires: 900\r\n", ua.contact());
    let challenge = ua.register(server.udp, &contact, None);
    assert_eq!(challenge.code, 401);
    let algorithms = |challenge: &Response| -> Vec<String> {
        challenge
            .headers("WWW-Authenticate")
            .iter()
            .map(|c| {
                digest::params(c)
                    .get("algorithm")
                    .cloned()
                    .unwrap_or_default()
            })
            .collect()
    };
    assert_eq!(algorithms(&challenge), ["MD5"]);
    // A phone that asks for SHA-256 (an initial empty Authorization) gets SHA-256.
    let ask = format!(
        "Digest username=\"alice\", realm=\"{DOMAIN}\", nonce=\"\", uri=\"sip:{DOMAIN}\", response=\"\", algorithm=SHA-256"
    );
    let asked = ua.register(server.udp, &contact, Some(ask));
    assert_eq!(asked.code, 401, "{}", asked.raw);
    assert_eq!(algorithms(&asked), ["SHA-256"]);
    assert!(
        stored(&db.url, &aor).is_empty(),
        "nothing bound before authentication"
    );

    // SHA-256 credentials: 200 listing the binding with expires=900; the row is there.
    let ok = ua.register_with(server.udp, &contact, "alice-secret", "SHA-256");
    assert_eq!(ok.code, 200, "{}", ok.raw);
    assert_eq!(expires_of(&ok, &ua.contact()), Some(900), "{}", ok.raw);
    assert_eq!(stored(&db.url, &aor).len(), 1);

    // A wrong password: 401, then 403, never 200. An unknown user: the same.
    let mut intruder = Ua::new("alice");
    let bad = intruder.register_with(server.udp, &contact, "guess", "SHA-256");
    assert_eq!(bad.code, 403, "{}", bad.raw);
    let mut nobody = Ua::new("nobody");
    let unknown = nobody.register_with(server.udp, &contact, "guess", "SHA-256");
    assert_eq!(unknown.code, 403, "{}", unknown.raw);

    // MD5 works too, and for a subscriber stored with a plain password only.
    let mut carol = Ua::new("carol");
    let carol_contact = format!("Contact: <{}>\r\n", carol.contact());
    let ok = carol.register_with(server.udp, &carol_contact, "carol-secret", "MD5");
    assert_eq!(ok.code, 200, "{}", ok.raw);
    assert_eq!(expires_of(&ok, &carol.contact()), Some(3600));

    // Refresh: a new expiry.
    let longer = format!("Contact: <{}>\r\nExpires: 1200\r\n", ua.contact());
    let ok = ua.register_with(server.udp, &longer, "alice-secret", "MD5");
    assert_eq!(expires_of(&ok, &ua.contact()), Some(1200), "{}", ok.raw);

    // Too brief: 423 with Min-Expires.
    let brief = format!("Contact: <{}>\r\nExpires: 5\r\n", ua.contact());
    let refused = ua.register_with(server.udp, &brief, "alice-secret", "SHA-256");
    assert_eq!(refused.code, 423);
    assert_eq!(refused.header("Min-Expires"), Some("60"));

    // Unregister everything: Contact: * with Expires: 0.
    let ok = ua.register_with(
        server.udp,
        "Contact: *\r\nExpires: 0\r\n",
        "alice-secret",
        "SHA-256",
    );
    assert_eq!(ok.code, 200, "{}", ok.raw);
    assert!(ok.headers("Contact").is_empty(), "{}", ok.raw);
    assert!(stored(&db.url, &aor).is_empty());
}

/// Write-through: a 200 OK means committed. kill -9 right after it; the restarted
/// server still has the binding.
fn binding_survives_kill_9(db: Database) {
    provision(&db.url);
    let server = start(&db, "");
    let mut ua = Ua::new("alice");
    let contact = format!("Contact: <{}>\r\nExpires: 900\r\n", ua.contact());
    let ok = ua.register_with(server.udp, &contact, "alice-secret", "SHA-256");
    assert_eq!(ok.code, 200);
    server.kill();
    drop(server);
    let restarted = start(&db, "");
    // A query (no Contact) lists what the registrar has for alice.
    let listed = ua.register_with(restarted.udp, "", "alice-secret", "SHA-256");
    assert_eq!(listed.code, 200, "{}", listed.raw);
    let left = expires_of(&listed, &ua.contact()).expect("binding kept");
    assert!((890..=900).contains(&left), "{left}");
}

/// Bindings expire: gone from the 200 and from the table.
fn binding_expires(db: Database) {
    provision(&db.url);
    let server = start(
        &db,
        "min_expires = 1\ndefault_expires = 60\npurge_interval = 1\n",
    );
    let mut ua = Ua::new("alice");
    let contact = format!("Contact: <{}>\r\nExpires: 1\r\n", ua.contact());
    let ok = ua.register_with(server.udp, &contact, "alice-secret", "SHA-256");
    assert_eq!(expires_of(&ok, &ua.contact()), Some(1));
    // Waiting on the effect: the purge removes the row within a few purge intervals.
    let aor = format!("alice@{DOMAIN}");
    let deadline = std::time::Instant::now() + support::PATIENCE;
    while !stored(&db.url, &aor).is_empty() {
        assert!(std::time::Instant::now() < deadline, "binding never purged");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let listed = ua.register_with(server.udp, "", "alice-secret", "SHA-256");
    assert!(listed.headers("Contact").is_empty(), "{}", listed.raw);
}

/// Write-back: nothing is written before the flush; a clean shutdown (SIGTERM) flushes.
fn write_back_flushes_at_shutdown(db: Database) {
    provision(&db.url);
    let server = start_in(&db, "write-back", "flush_interval = 3600\n");
    let mut ua = Ua::new("alice");
    let contact = format!("Contact: <{}>\r\n", ua.contact());
    let ok = ua.register_with(server.udp, &contact, "alice-secret", "SHA-256");
    assert_eq!(ok.code, 200, "{}", ok.raw);
    let aor = format!("alice@{DOMAIN}");
    assert!(stored(&db.url, &aor).is_empty(), "written before the flush");
    server.terminate();
    assert!(server.wait_for_exit().success());
    assert_eq!(stored(&db.url, &aor).len(), 1, "flushed at shutdown");
}

/// db-only: two nodes on one database are one location service. A binding made
/// through one is found through the other, and removed through the other.
fn db_only_nodes_share_the_location(db: Database) {
    provision(&db.url);
    let a = start_in(&db, "db-only", "");
    let b = start_in(&db, "db-only", "");
    let mut ua = Ua::new("alice");
    let contact = format!("Contact: <{}>\r\n", ua.contact());
    let ok = ua.register_with(a.udp, &contact, "alice-secret", "SHA-256");
    assert_eq!(ok.code, 200, "{}", ok.raw);

    // A caller of another domain reaches alice through node b.
    let caller = Ua::new("dave");
    caller
        .socket
        .send(b.udp, invite_for(&caller, "alice", 7).as_bytes());
    let (forwarded, from) = ua
        .socket
        .receive(support::PATIENCE)
        .expect("INVITE through b");
    assert_eq!(from, b.udp, "{forwarded}");
    assert!(
        forwarded.starts_with(&format!("INVITE {} SIP/2.0", ua.contact())),
        "{forwarded}"
    );

    // Unregistered through b (from another socket: alice's keeps receiving b's INVITE
    // retransmissions): node a knows at once.
    let mut other_phone = Ua::new("alice");
    let gone = other_phone.register_with(
        b.udp,
        "Contact: *\r\nExpires: 0\r\n",
        "alice-secret",
        "SHA-256",
    );
    assert_eq!(gone.code, 200, "{}", gone.raw);
    let second_caller = Ua::new("erin");
    let offline = final_response(
        &second_caller,
        a.udp,
        &invite_for(&second_caller, "alice", 8),
    );
    assert_eq!(offline.code, 480, "{}", offline.raw);
}

macro_rules! on_every_backend {
    ($($test:ident),*) => {
        mod sqlite_backend {
            $(#[test] fn $test() { super::$test(super::sqlite()) })*
        }
        mod postgres_backend {
            $(#[test] fn $test() { super::$test(super::postgres()) })*
        }
        mod mariadb_backend {
            $(#[test] fn $test() { super::$test(super::mariadb()) })*
        }
    };
}

on_every_backend!(
    write_back_flushes_at_shutdown,
    db_only_nodes_share_the_location,
    register_refresh_unregister,
    binding_survives_kill_9,
    binding_expires
);

/// An INVITE from another domain (not challenged) for `user@example.com`.
fn invite_for(ua: &Ua, user: &str, n: u32) -> String {
    format!(
        "INVITE sip:{user}@{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP {addr};branch=z9hG4bKinv{n}x{user};rport\r\nMax-Forwards: 70\r\nFrom: <sip:dave@elsewhere.test>;tag=d{n}\r\nTo: <sip:{user}@{DOMAIN}>\r\nCall-ID: inv{n}-{user}@test\r\nCSeq: 1 INVITE\r\nContact: <sip:dave@{addr}>\r\nContent-Length: 0\r\n\r\n",
        addr = ua.socket.addr()
    )
}

/// The final response to an INVITE (skipping 100 Trying).
fn final_response(ua: &Ua, to: SocketAddr, request: &str) -> Response {
    let first = ua.socket.request(to, request);
    if first.code >= 200 {
        return first;
    }
    let (raw, _) = ua
        .socket
        .receive(support::PATIENCE)
        .expect("a final response");
    Response::parse(&raw)
}

/// 404 for a user nobody knows, 480 for a subscriber with no binding; sources in
/// `trusted` register without a challenge; a digest `uri` that names neither the
/// Request-URI nor this server is refused with 400.
#[test]
fn unknown_unavailable_trusted_and_digest_uri() {
    let db = sqlite();
    provision(&db.url);
    let server = start(&db, "");
    let caller = Ua::new("dave");
    let unknown = final_response(&caller, server.udp, &invite_for(&caller, "nobody", 1));
    assert_eq!(unknown.code, 404, "{}", unknown.raw);
    let offline = final_response(&caller, server.udp, &invite_for(&caller, "alice", 2));
    assert_eq!(offline.code, 480, "{}", offline.raw);

    // The digest uri must be the Request-URI or this server (SIPp's form).
    let mut ua = Ua::new("alice");
    let contact = format!("Contact: <{}>\r\n", ua.contact());
    let challenge = ua.register(server.udp, &contact, None);
    let offer = challenge.headers("WWW-Authenticate")[0].to_owned();
    let elsewhere = digest::answer(
        &offer,
        "REGISTER",
        "sip:elsewhere.test",
        "alice",
        "alice-secret",
        1,
    );
    let refused = ua.register(server.udp, &contact, Some(elsewhere));
    assert_eq!(refused.code, 400, "{}", refused.raw);
    assert!(
        refused.reason.to_ascii_lowercase().contains("uri"),
        "{}",
        refused.raw
    );
    drop(server);

    // A trusted source is not challenged.
    let trusted = start(&db, "[auth]\ntrusted = [\"127.0.0.0/8\"]\n");
    let mut ua = Ua::new("alice");
    let contact = format!("Contact: <{}>\r\n", ua.contact());
    let ok = ua.register(trusted.udp, &contact, None);
    assert_eq!(ok.code, 200, "{}", ok.raw);
}

#[test]
fn an_outbound_registration_gets_require_outbound_and_its_flow_used() {
    let db = sqlite();
    provision(&db.url);
    let server = start(&db, "[auth]\ntrusted = [\"127.0.0.0/8\"]\n");
    // RFC 5626: +sip.instance and reg-id; the Contact names a port nobody listens on,
    // the flow (this socket) is where requests must come.
    let mut ua = Ua::new("alice");
    let contact = "Contact: <sip:alice@127.0.0.1:9;ob>;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000a95a0e128>\";reg-id=1\r\nSupported: outbound, path\r\n";
    let ok = ua.register(server.udp, contact, None);
    assert_eq!(ok.code, 200, "{}", ok.raw);
    assert_eq!(ok.header("Require"), Some("outbound"), "{}", ok.raw);
    assert!(
        ok.header("Supported")
            .is_some_and(|s| s.contains("outbound")),
        "{}",
        ok.raw
    );
    // An INVITE for alice reaches this UA's socket, not 127.0.0.1:9.
    let caller = Ua::new("dave");
    caller
        .socket
        .send(server.udp, invite_for(&caller, "alice", 1).as_bytes());
    let mut got_invite = false;
    while let Some((text, _)) = ua.socket.receive(PATIENCE) {
        if text.starts_with("INVITE sip:alice@127.0.0.1:9;ob SIP/2.0") {
            got_invite = true;
            break;
        }
    }
    assert!(got_invite, "the INVITE came down the registered flow");
}

/// Runs `sql` on the test PostgreSQL server's database `database` as its superuser.
fn psql(database: &str, sql: &str) {
    let server = std::env::var("SERVAL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let (user, host, port) = support::databases::host_port(&server, 5432);
    support::databases::run_ok(
        "psql",
        &[
            "-h".into(),
            host,
            "-p".into(),
            port,
            "-U".into(),
            user,
            "-d".into(),
            database.into(),
            "-v".into(),
            "ON_ERROR_STOP=1".into(),
            "-c".into(),
            sql.into(),
        ],
    );
}

/// Two logins of the test PostgreSQL server, dropped at the end (after the database,
/// which is declared after this guard).
struct Roles(Vec<String>);

impl Drop for Roles {
    fn drop(&mut self) {
        for role in &self.0 {
            let _ = std::panic::catch_unwind(|| {
                psql("postgres", &format!("DROP ROLE IF EXISTS {role}"))
            });
        }
    }
}

/// `[database] read_only_url`, as the seed's `ser` and `serro`: a login that may write
/// the location table but may not read subscribers, and one that may only read. The
/// server registers alice with both (her credentials read through the read-only
/// login, her binding written through the other) and fails without the read-only one,
/// which shows that the lookups went through it.
#[test]
fn read_only_credentials_serve_the_lookups_on_postgres() {
    let name = unique_name();
    let (rw, ro) = (format!("{name}_rw"), format!("{name}_ro"));
    let _roles = Roles(vec![rw.clone(), ro.clone()]);
    let db = postgres();
    provision(&db.url);
    let database = db.url.rsplit('/').next().expect("database name").to_owned();
    psql(
        &database,
        &format!(
            "CREATE ROLE {rw} LOGIN; CREATE ROLE {ro} LOGIN; \
         GRANT CREATE, USAGE ON SCHEMA public TO {rw}; GRANT USAGE ON SCHEMA public TO {ro}; \
         GRANT SELECT, INSERT, UPDATE, DELETE ON location, serval_schema TO {rw}; \
         GRANT INSERT, UPDATE, DELETE ON subscriber TO {rw}; \
         GRANT SELECT ON ALL TABLES IN SCHEMA public TO {ro};"
        ),
    );
    let login = |role: &str| db.url.replacen("postgres@", &format!("{role}@"), 1);
    assert_ne!(login(&rw), db.url, "the test server's URL names its user");
    let config = |read_only: Option<&str>| {
        let read_only = read_only
            .map(|url| format!("read_only_url = \"{url}\"\n"))
            .unwrap_or_default();
        temp_file(
            &format!("read-only-{}.toml", unique_name()),
            &format!(
                "[server]\ndomains = [\"{DOMAIN}\"]\n[database]\n{read_only}[auth]\ncache_ttl = 0\n"
            ),
        )
    };

    // Without the read-only login, the subscriber cannot be read: 500.
    let write_only = config(None);
    let write_login = login(&rw);
    let server = Serval::start(&[
        "-c",
        write_only.to_str().expect("UTF-8"),
        "--db",
        &write_login,
    ]);
    let mut ua = Ua::new("alice");
    let contact = format!("Contact: <{}>\r\n", ua.contact());
    let refused = ua.register_with(server.udp, &contact, "alice-secret", "MD5");
    assert_eq!(
        refused.code,
        500,
        "{}\n{:#?}",
        refused.raw,
        server.log_so_far()
    );
    drop(server);

    let split = config(Some(&login(&ro)));
    let server = Serval::start(&["-c", split.to_str().expect("UTF-8"), "--db", &write_login]);
    let mut ua = Ua::new("alice");
    let contact = format!("Contact: <{}>\r\n", ua.contact());
    let ok = ua.register_with(server.udp, &contact, "alice-secret", "MD5");
    assert_eq!(ok.code, 200, "{}", ok.raw);
    assert_eq!(
        stored(&db.url, &format!("alice@{DOMAIN}")).len(),
        1,
        "written through the read-write login"
    );
}
