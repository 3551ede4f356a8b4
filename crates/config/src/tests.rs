//! Every kind of config error names the line and column of the value at fault.

use super::*;

const PATH: &str = "serval.toml";

fn load(source: &str) -> Result<Config, ConfigError> {
    Config::from_toml(source, Path::new(PATH))
}

/// Asserts that `source` is refused at `line` with a reason containing `reason`.
fn assert_error(source: &str, line: usize, reason: &str) {
    let message = match load(source) {
        Ok(config) => panic!("accepted {source:?} as {config:?}"),
        Err(err) => err.to_string(),
    };
    let prefix = format!("{PATH}:{line}:");
    assert!(
        message.starts_with(&prefix),
        "expected {prefix} in: {message}"
    );
    assert!(
        message.contains(reason),
        "expected {reason:?} in: {message}"
    );
}

#[test]
fn an_empty_file_gives_the_defaults() {
    assert_eq!(load("").expect("valid"), Config::default());
}

#[test]
fn defaults_listen_on_udp_and_tcp_5060_with_sqlite() {
    let config = Config::default();
    let listen: Vec<String> = config.listen.iter().map(ToString::to_string).collect();
    assert_eq!(listen, ["udp:0.0.0.0:5060", "tcp:0.0.0.0:5060"]);
    assert_eq!(config.database.as_str(), "sqlite:serval.db");
    assert_eq!(config.limits.max_message, 65_535);
    assert_eq!(config.limits.max_connections, 4096);
    assert_eq!(config.limits.tcp_idle_timeout, Duration::from_secs(300));
    assert_eq!(config.limits.udp_recv_buffer, 4 * 1024 * 1024);
}

#[test]
fn a_full_file_sets_every_value() {
    let config = load(
        r#"
[server]
listen = ["udp:127.0.0.1:5070", "tcp:[::1]:5070"]
domains = ["Example.COM", "192.0.2.1"]
server_header = "Serval test"

[database]
url = "postgres://serval@localhost/serval"

[limits]
max_message = 32768
max_header_section = 8192
max_connections = 10
tcp_idle_timeout = 60
udp_recv_buffer = 1048576

[log]
level = "debug"
"#,
    )
    .expect("valid");
    let listen: Vec<String> = config.listen.iter().map(ToString::to_string).collect();
    assert_eq!(listen, ["udp:127.0.0.1:5070", "tcp:[::1]:5070"]);
    assert_eq!(config.domains, ["example.com", "192.0.2.1"]);
    assert_eq!(config.server_header, "Serval test");
    assert_eq!(config.database.kind(), DatabaseKind::Postgres);
    assert_eq!(
        config.limits,
        Limits {
            max_message: 32768,
            max_header_section: 8192,
            max_connections: 10,
            tcp_idle_timeout: Duration::from_secs(60),
            udp_recv_buffer: 1_048_576,
        }
    );
    assert_eq!(config.log_level.as_deref(), Some("debug"));
    assert_eq!(config.message_limits().max_message, 32768);
    assert_eq!(config.transport_config().max_connections, 10);
}

#[test]
fn the_example_config_is_valid() {
    let source = include_str!("../../../serval.example.toml");
    load(source).expect("serval.example.toml is valid");
}

#[test]
fn toml_syntax_error() {
    assert_error("[server]\nlisten = [\"udp:0.0.0.0:5060\"\n", 2, "");
    assert_error("# comment\n[server\n", 2, "");
}

#[test]
fn unknown_key() {
    assert_error(
        "[server]\nlisten = [\"udp:0.0.0.0:5060\"]\nlisen = []\n",
        3,
        "unknown field `lisen`",
    );
}

#[test]
fn unknown_section() {
    assert_error("\n[servr]\n", 2, "unknown field `servr`");
}

#[test]
fn wrong_type() {
    assert_error("[limits]\nmax_message = \"big\"\n", 2, "invalid type");
    assert_error(
        "[server]\nlisten = \"udp:0.0.0.0:5060\"\n",
        2,
        "invalid type",
    );
    assert_error("[limits]\nmax_connections = -1\n", 2, "");
}

#[test]
fn bad_listen_address() {
    assert_error(
        "[server]\nlisten = [\n  \"udp:0.0.0.0:5060\",\n  \"sctp:0.0.0.0:5060\",\n]\n",
        4,
        "unknown transport `sctp`",
    );
    assert_error("[server]\nlisten = [\"udp:::1:5060\"]\n", 2, "brackets");
}

#[test]
fn bad_listen_address_column_points_at_the_value() {
    let message = load("[server]\nlisten = [\"udp:0.0.0.0:5060\", \"udp:nowhere:5060\"]\n")
        .expect_err("invalid")
        .to_string();
    assert!(message.starts_with("serval.toml:2:31:"), "{message}");
}

#[test]
fn duplicate_listen_address() {
    assert_error(
        "[server]\nlisten = [\n  \"udp:0.0.0.0:5060\",\n  \"UDP:0.0.0.0:5060\",\n]\n",
        4,
        "duplicate listen address udp:0.0.0.0:5060 (already given on line 3)",
    );
}

#[test]
fn empty_listen_list() {
    assert_error("[server]\nlisten = []\n", 2, "at least one address");
}

#[test]
fn bad_domain() {
    assert_error(
        "[server]\ndomains = [\"example.com\", \"bad domain\"]\n",
        2,
        "invalid domain `bad domain`",
    );
}

#[test]
fn bad_server_header() {
    assert_error("[server]\nserver_header = \"a\\nb\"\n", 2, "one line");
}

#[test]
fn bad_database_url() {
    assert_error(
        "[database]\nurl = \"redis://localhost\"\n",
        2,
        "unsupported database URL",
    );
    assert_error("[database]\nurl = \"sqlite:\"\n", 2, "names no file");
}

#[test]
fn zero_limits() {
    for key in [
        "max_message",
        "max_header_section",
        "max_connections",
        "tcp_idle_timeout",
        "udp_recv_buffer",
    ] {
        assert_error(
            &format!("[limits]\n\n{key} = 0\n"),
            3,
            &format!("{key} must be greater than 0"),
        );
    }
}

#[test]
fn header_section_larger_than_message() {
    assert_error(
        "[limits]\nmax_message = 1000\nmax_header_section = 2000\n",
        3,
        "max_header_section (2000) is larger than max_message (1000)",
    );
}

#[test]
fn oversized_socket_buffer() {
    assert_error(
        "[limits]\nudp_recv_buffer = 4294967296\n",
        2,
        "at most 2147483647",
    );
}

#[test]
fn bad_log_level() {
    assert_error("[log]\nlevel = \"loud\"\n", 2, "unknown log level `loud`");
}

#[test]
fn missing_file_is_reported_with_its_path() {
    let message = Config::from_file(Path::new("/nonexistent/serval.toml"))
        .expect_err("missing")
        .to_string();
    assert!(
        message.starts_with("/nonexistent/serval.toml: cannot read"),
        "{message}"
    );
}

#[test]
fn command_line_replaces_file_values() {
    let mut config =
        load("[server]\nlisten = [\"udp:127.0.0.1:5070\"]\ndomains = [\"a.example\"]\n")
            .expect("valid");
    let listen: ListenSpec = "tcp:127.0.0.1:5080".parse().expect("valid");
    config
        .apply(Overrides {
            listen: vec![listen],
            domains: vec!["b.example".to_owned()],
            database: Some("mysql://root@localhost/test".parse().expect("valid")),
        })
        .expect("valid");
    assert_eq!(config.listen, [listen]);
    assert_eq!(config.domains, ["b.example"]);
    assert_eq!(config.database.kind(), DatabaseKind::Mysql);
}

#[test]
fn empty_overrides_keep_file_values() {
    let mut config = load("[server]\ndomains = [\"a.example\"]\n").expect("valid");
    config.apply(Overrides::default()).expect("valid");
    assert_eq!(config.domains, ["a.example"]);
}

#[test]
fn the_same_listen_option_twice_is_refused() {
    let listen: ListenSpec = "udp:127.0.0.1:5070".parse().expect("valid");
    let err = Config::default()
        .apply(Overrides {
            listen: vec![listen, listen],
            ..Overrides::default()
        })
        .expect_err("duplicate");
    assert_eq!(
        err.to_string(),
        "--listen udp:127.0.0.1:5070 is given twice"
    );
}

#[test]
fn a_read_only_login_to_the_same_kind_of_database() {
    let config = load(
        "[database]\nurl = \"postgres://serval:pw@db/serval\"\nread_only_url = \"postgres://serval_ro:pw@db/serval\"\n",
    )
    .expect("valid");
    assert_eq!(
        config.database_read_only.map(|url| url.redacted()),
        Some("postgres://serval_ro:***@db/serval".to_owned())
    );
    assert_error(
        "[database]\nurl = \"postgres://db/serval\"\nread_only_url = \"mysql://ro@db/serval\"\n",
        3,
        "same kind of database as url (PostgreSQL)",
    );
    // Against a --db given instead of the file's url.
    let file = std::env::temp_dir().join(format!("serval-ro-{}.toml", std::process::id()));
    std::fs::write(
        &file,
        "[database]\nread_only_url = \"postgres://ro@db/serval\"\n",
    )
    .expect("written");
    let err = Config::load(Some(&file), Overrides::default()).expect_err("sqlite and postgres");
    assert_eq!(
        err.to_string(),
        "the database sqlite:serval.db is SQLite, but [database] read_only_url is PostgreSQL"
    );
    let overrides = Overrides {
        database: Some("postgres://rw@db/serval".parse().expect("url")),
        ..Overrides::default()
    };
    assert!(Config::load(Some(&file), overrides).is_ok());
    let _ = std::fs::remove_file(&file);
}

#[test]
fn auth_defaults_every_phone_takes() {
    let config = load("").expect("valid");
    assert_eq!(config.auth.algorithms, ["MD5", "SHA-256"]);
    assert_eq!(config.auth.challenges, sip_auth::Offer::Preferred);
    assert!(config.auth.check_digest_uri);
    let all =
        load("[auth]\nchallenges = \"all\"\nalgorithms = [\"SHA-256\", \"MD5\"]\n").expect("valid");
    assert_eq!(all.auth.challenges, sip_auth::Offer::All);
    assert_error(
        "[auth]\nchallenges = \"some\"\n",
        2,
        "challenges must be \"one\" or \"all\"",
    );
}

#[test]
fn registrar_and_auth_sections() {
    let config = load(
        "[registrar]\nstorage = \"write-back\"\nmin_expires = 30\ndefault_expires = 900\nmax_expires = 3600\nmax_contacts = 4\nflush_interval = 2\n\n[auth]\nmethods = [\"register\", \"INVITE\"]\ntrusted = [\"192.0.2.10\", \"198.51.100.0/24\"]\nsecret = \"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"\nalgorithms = [\"MD5\"]\ncheck_digest_uri = false\n",
    )
    .expect("valid");
    assert_eq!(config.registrar.storage, StorageMode::WriteBack);
    assert_eq!(config.registrar.default_expires, 900);
    assert_eq!(config.registrar.max_contacts, 4);
    assert_eq!(config.registrar.flush_interval, Duration::from_secs(2));
    assert_eq!(config.auth.methods, ["REGISTER", "INVITE"]);
    assert_eq!(config.auth.trusted.len(), 2);
    assert_eq!(config.auth.secret.map(|s| s[31]), Some(0x1f));
    assert_eq!(config.auth.algorithms, ["MD5"]);
    assert!(!config.auth.check_digest_uri);
}

#[test]
fn bad_registrar_and_auth_values() {
    assert_error(
        "[registrar]\nstorage = \"sometimes\"\n",
        2,
        "unknown storage mode",
    );
    assert_error(
        "[registrar]\nmin_expires = 600\ndefault_expires = 300\n",
        3,
        "min_expires (600) <= default_expires (300)",
    );
    assert_error(
        "[registrar]\nflush_interval = 0\n",
        2,
        "flush_interval must be",
    );
    assert_error(
        "[auth]\ntrusted = [\"10.0.0.0/33\"]\n",
        2,
        "not an IP address or network",
    );
    assert_error("[auth]\nsecret = \"abc\"\n", 2, "64 hexadecimal digits");
    assert_error(
        "[auth]\nalgorithms = [\"SHA-512\"]\n",
        2,
        "unknown digest algorithm",
    );
    assert_error(
        "[auth]\nmethods = [\"IN VITE\"]\n",
        2,
        "not a SIP method name",
    );
}

#[test]
fn routing_section() {
    let config = load(
        "[routing]\ndns_servers = [\"127.0.0.1:5353\", \"192.0.2.53\"]\ntransport = \"TCP\"\ndomain_transport = { \"Enst.fr\" = \"udp\" }\nenum_suffix = \"e164.example.\"\nfailover_timeout = 2\nblocklist_ttl = 30\nrelay = \"local-from\"\n",
    )
    .expect("valid");
    let r = &config.routing;
    assert_eq!(
        r.dns_servers,
        [
            "127.0.0.1:5353".parse().expect("addr"),
            "192.0.2.53:53".parse().expect("addr")
        ]
    );
    assert_eq!(r.transport, TransportPolicy::Fixed(Transport::Tcp));
    assert_eq!(r.domain_transport, [("enst.fr".to_owned(), Transport::Udp)]);
    assert_eq!(r.enum_suffix.as_deref(), Some("e164.example"));
    assert_eq!(r.failover_timeout, Duration::from_secs(2));
    assert_eq!(r.blocklist_ttl, Duration::from_secs(30));
    assert_eq!(r.relay, RelayPolicy::LocalFrom);
    let off = load("[routing]\nenum_suffix = \"\"\ntransport = \"inbound\"\n").expect("valid");
    assert_eq!(off.routing.enum_suffix, None);
    assert_eq!(off.routing.transport, TransportPolicy::Inbound);
    assert_eq!(Config::default().routing.relay, RelayPolicy::Authenticated);
}

#[test]
fn bad_routing_values() {
    assert_error(
        "[routing]\ndns_servers = [\"dns.example\"]\n",
        2,
        "not an IP address",
    );
    assert_error(
        "[routing]\ntransport = \"sctp\"\n",
        2,
        "unknown transport policy",
    );
    assert_error(
        "[routing]\ndomain_transport = { \"enst.fr\" = \"carrier-pigeon\" }\n",
        2,
        "is not udp, tcp or tls",
    );
    assert_error(
        "[routing]\nfailover_timeout = 0\n",
        2,
        "failover_timeout must be",
    );
    assert_error(
        "[routing]\nrelay = \"everyone\"\n",
        2,
        "unknown relay policy",
    );
}

#[test]
fn nat_section() {
    let config = load(
        "[nat]\nenabled = false\nforce = [\"203.0.113.0/24\", \"198.51.100.7\"]\nstun = false\n",
    )
    .expect("valid");
    assert!(!config.nat.enabled);
    assert_eq!(config.nat.force.len(), 2);
    assert!(!config.nat.stun);
    assert!(!config.transport_config().stun);
    assert!(Config::default().nat.enabled && Config::default().nat.stun);
    assert_error(
        "[nat]\nforce = [\"lan\"]\n",
        2,
        "not an IP address or network",
    );
}
