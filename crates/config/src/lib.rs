//! Serval's configuration: defaults, the TOML config file, and command-line overrides,
//! all validated before anything is bound; and the domains the server takes as its own
//! ([`local_domains()`]).
//!
//! Its own crate so that what reads the file (the server, and `servalctl`, which finds
//! the database and the served domains there) does not link the proxy: the sections are
//! plain values in the file's terms, and the server maps them onto its parts' settings
//! (the NAT fix-ups, the registrar's expiry limits and storage mode).
//!
//! ```toml
//! [server]
//! listen = ["udp:0.0.0.0:5060", "tcp:0.0.0.0:5060"]
//! domains = ["example.com"]
//! server_header = "Serval"
//! multicast_interface = "192.0.2.1" # where udp:224.0.1.75:5060 joins its group
//!
//! [database]
//! url = "sqlite:serval.db"   # the credentials that write
//! read_only_url = "…"        # optional: the same database, credentials that only read
//!
//! [limits]
//! max_message = 65535        # bytes
//! max_header_section = 16384 # bytes
//! max_connections = 4096
//! tcp_idle_timeout = 300     # seconds
//! udp_recv_buffer = 4194304  # bytes
//!
//! [log]
//! level = "info"
//!
//! [registrar]
//! storage = "write-through"  # memory | write-through | write-back | db-only
//! default_expires = 3600     # seconds
//! min_expires = 60
//! max_expires = 86400
//! max_contacts = 16          # per AOR
//! flush_interval = 10        # write-back: seconds between flushes
//! purge_interval = 60        # seconds between sweeps of expired bindings
//!
//! [auth]
//! enabled = true
//! methods = ["REGISTER", "INVITE", "MESSAGE", "SUBSCRIBE", "PUBLISH", "REFER", "OPTIONS"]
//! trusted = ["192.0.2.10", "198.51.100.0/24"]  # never challenged
//! nonce_lifetime = 300       # seconds
//! secret = "…64 hex digits…" # the same on every node; random at each start when absent
//! algorithms = ["MD5", "SHA-256"] # accepted, preferred first
//! challenges = "one"         # the first, or the one the phone asks for; "all": one each
//! check_digest_uri = true    # the Request-URI or this server; false: any uri
//! cache_ttl = 60             # seconds a subscriber row is reused; 0: read it every time
//!
//! [nat]
//! enabled = true             # detect UAs behind a NAT and make them reachable
//! force = ["203.0.113.0/24"] # sources always treated as behind a NAT
//! stun = true                # answer STUN Binding requests on the SIP UDP ports
//! keepalive_interval = 30    # seconds between OPTIONS pings to NATed UDP bindings; 0: none
//! keepalive_max_missed = 3   # unanswered pings in a row before the binding is removed
//!
//! [routing]                  # see the routing module
//! transport = "rfc3263"
//! relay = "authenticated"
//! ```
//!
//! Every error names the file, line and column (`serval.toml:3:12: reason`).
//!
//! # Layout
//! - `file`: the file as deserialized, every value with its span.
//! - `validate`: from the file to a [`Config`], checking each value where it was written.
//! - [`error`]: [`ConfigError`] and [`Location`].
//! - [`database`], [`domain`], [`log_filter`], [`storage`]: the value types with their
//!   own syntax.
//! - [`mod@local_domains`]: this host's names and addresses, the listen addresses and the
//!   configured domains, as one [`LocalDomains`].

pub mod database;
pub mod domain;
pub mod error;
pub mod local_domains;
pub mod log_filter;
pub mod routing;
pub mod storage;

mod file;
mod seconds;
mod validate;

pub use database::{DatabaseKind, DatabaseUrl, DatabaseUrlError};
pub use domain::{DomainError, parse_domain};
pub use error::{ConfigError, Location};
pub use local_domains::{LocalDomains, local_domains};
pub use log_filter::{LogFilterError, parse_log_filter};
pub use routing::{RelayPolicy, Routing, TransportPolicy};
pub use storage::StorageMode;

use error::Reporter;
use sip_msg::Transport;
use sip_transport::{ListenSpec, TransportConfig};
use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

/// A complete, validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The addresses to listen on.
    pub listen: Vec<ListenSpec>,
    /// Local domains given explicitly (the host name and addresses are added at start).
    pub domains: Vec<String>,
    /// The value of the Server header in responses.
    pub server_header: String,
    /// The interface (one of its IPv4 addresses) where IPv4 multicast listen addresses
    /// join their group; unspecified: the system's choice.
    pub multicast_interface: Ipv4Addr,
    /// The interface index where IPv6 multicast listen addresses join; 0: the system's.
    pub multicast_interface_v6: u32,
    /// Where data is kept, and the credentials that write it.
    pub database: DatabaseUrl,
    /// The same database with read-only credentials (SER's `serro`), for lookups and
    /// reports; `None`: `database` is used for everything.
    pub database_read_only: Option<DatabaseUrl>,
    /// Sizes, counts and timeouts.
    pub limits: Limits,
    /// The log level or filter, when the file sets one.
    pub log_level: Option<String>,
    /// Proxy behaviour.
    pub proxy: Proxy,
    /// The registrar and location service.
    pub registrar: Registrar,
    /// Digest authentication.
    pub auth: Auth,
    /// Routing to other domains.
    pub routing: Routing,
    /// User agents behind a NAT.
    pub nat: Nat,
}

/// `[nat]`: user agents behind a NAT, and the STUN responder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nat {
    /// Detect NATed user agents and make them reachable (on by default).
    pub enabled: bool,
    /// Sources always treated as behind a NAT, whatever they write.
    pub force: Vec<ipnet::IpNet>,
    /// Answer STUN Binding requests on the SIP UDP ports.
    pub stun: bool,
    /// How often NATed UDP bindings get an OPTIONS keep-alive; `None`: never.
    pub keepalive_interval: Option<Duration>,
    /// Unanswered keep-alives in a row after which a binding is removed.
    pub keepalive_max_missed: u32,
}

impl Default for Nat {
    fn default() -> Self {
        Nat {
            enabled: true,
            force: Vec::new(),
            stun: true,
            keepalive_interval: Some(Duration::from_secs(30)),
            keepalive_max_missed: 3,
        }
    }
}

/// `[registrar]`: binding lifetimes and where bindings are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registrar {
    /// Memory, write-through, write-back or db-only.
    pub storage: StorageMode,
    /// Expiry when the UA gives none (seconds).
    pub default_expires: u32,
    /// Shorter registrations are refused with 423 and this Min-Expires.
    pub min_expires: u32,
    /// Longer registrations are shortened to this.
    pub max_expires: u32,
    /// Most bindings one AOR may hold (0: no limit).
    pub max_contacts: usize,
    /// Write-back: how often dirty bindings are written.
    pub flush_interval: Duration,
    /// How often expired bindings are removed.
    pub purge_interval: Duration,
}

impl Default for Registrar {
    fn default() -> Self {
        Registrar {
            storage: StorageMode::default(),
            default_expires: 3600,
            min_expires: 60,
            max_expires: 86400,
            max_contacts: 16,
            flush_interval: Duration::from_secs(10),
            purge_interval: Duration::from_secs(60),
        }
    }
}

/// `[auth]`: who is challenged, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    /// Whether requests are challenged at all.
    pub enabled: bool,
    /// The methods challenged (REGISTER with 401, the others from local users with 407).
    pub methods: Vec<String>,
    /// Sources never challenged (the other domain's router, a trusted gateway).
    pub trusted: Vec<ipnet::IpNet>,
    /// How long a nonce is good for.
    pub nonce_lifetime: Duration,
    /// The nonce key (32 bytes), shared by the nodes of a cluster; random when absent.
    pub secret: Option<[u8; 32]>,
    /// Digest algorithms accepted, in order of preference.
    pub algorithms: Vec<String>,
    /// Which of them a challenge offers: the first (or the one the phone asks for), or
    /// all of them.
    pub challenges: sip_auth::Offer,
    /// Whether the digest `uri` must be the Request-URI (or this server).
    pub check_digest_uri: bool,
    /// How long a subscriber row read from the database is reused (zero: never).
    pub cache_ttl: Duration,
}

/// The methods challenged by default.
pub const DEFAULT_AUTH_METHODS: [&str; 7] = [
    "REGISTER",
    "INVITE",
    "MESSAGE",
    "SUBSCRIBE",
    "PUBLISH",
    "REFER",
    "OPTIONS",
];

impl Default for Auth {
    fn default() -> Self {
        Auth {
            enabled: true,
            methods: DEFAULT_AUTH_METHODS.iter().map(|m| m.to_string()).collect(),
            trusted: Vec::new(),
            nonce_lifetime: Duration::from_secs(300),
            secret: None,
            algorithms: vec!["MD5".into(), "SHA-256".into()],
            challenges: sip_auth::Offer::Preferred,
            check_digest_uri: true,
            cache_ttl: Duration::from_secs(60),
        }
    }
}

/// `[proxy]`: forwarding policy and transaction timers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    /// The host written in Via and Record-Route for wildcard listeners.
    pub advertise: Option<String>,
    /// RFC 3261 T1, T2, T4.
    pub t1: Duration,
    /// See `t1`.
    pub t2: Duration,
    /// See `t1`.
    pub t4: Duration,
    /// Timer C: how long an INVITE branch may ring.
    pub timer_c: Duration,
}

impl Default for Proxy {
    fn default() -> Self {
        Proxy {
            advertise: None,
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            timer_c: Duration::from_secs(180),
        }
    }
}

/// Bounds on what the server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest message, in bytes.
    pub max_message: usize,
    /// The largest header section, in bytes.
    pub max_header_section: usize,
    /// Open TCP connections at most.
    pub max_connections: usize,
    /// Idle TCP connections are closed after this long.
    pub tcp_idle_timeout: Duration,
    /// SO_RCVBUF (and SO_SNDBUF) of UDP sockets, in bytes.
    pub udp_recv_buffer: usize,
}

/// What the command line sets; each given value replaces the file's.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `-l`: replaces `[server] listen` when not empty.
    pub listen: Vec<ListenSpec>,
    /// `-d`: replaces `[server] domains` when not empty.
    pub domains: Vec<String>,
    /// `--db`: replaces `[database] url`.
    pub database: Option<DatabaseUrl>,
}

/// The port SIP listens on by default (RFC 3261 §19.1.1).
const SIP_PORT: u16 = 5060;

impl Default for Config {
    /// UDP and TCP on 0.0.0.0:5060, SQLite in `./serval.db`.
    fn default() -> Config {
        let any = SocketAddr::from((Ipv4Addr::UNSPECIFIED, SIP_PORT));
        let transport = TransportConfig::default();
        let message = sip_msg::Limits::default();
        Config {
            listen: vec![
                ListenSpec::new(Transport::Udp, any),
                ListenSpec::new(Transport::Tcp, any),
            ],
            domains: Vec::new(),
            server_header: concat!("Serval/", env!("CARGO_PKG_VERSION")).to_owned(),
            multicast_interface: transport.multicast_interface,
            multicast_interface_v6: transport.multicast_interface_v6,
            database: DatabaseUrl::default_sqlite(),
            database_read_only: None,
            limits: Limits {
                max_message: message.max_message,
                max_header_section: message.max_header_section,
                max_connections: transport.max_connections,
                tcp_idle_timeout: transport.tcp_idle_timeout,
                udp_recv_buffer: transport.udp_recv_buffer,
            },
            log_level: None,
            proxy: Proxy::default(),
            registrar: Registrar::default(),
            auth: Auth::default(),
            routing: Routing::default(),
            nat: Nat::default(),
        }
    }
}

impl Config {
    /// The configuration from `file` (or the defaults without one), with `overrides`
    /// applied. Nothing is bound or opened.
    pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<Config, ConfigError> {
        let mut config = match file {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        config.apply(overrides)?;
        if let Some(read_only) = &config.database_read_only
            && read_only.kind() != config.database.kind()
        {
            return Err(ConfigError::Options(format!(
                "the database {} is {}, but [database] read_only_url is {}",
                config.database.redacted(),
                config.database.kind().name(),
                read_only.kind().name()
            )));
        }
        Ok(config)
    }

    /// Reads and validates a config file.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let source = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::from_toml(&source, path)
    }

    /// Validates the text of a config file; `path` names it in errors.
    pub fn from_toml(source: &str, path: &Path) -> Result<Config, ConfigError> {
        let report = Reporter { path, source };
        let file = toml::from_str(source).map_err(|err| report.toml(&err))?;
        validate::validate(file, &report)
    }

    /// Replaces what the command line sets.
    pub fn apply(&mut self, overrides: Overrides) -> Result<(), ConfigError> {
        if !overrides.listen.is_empty() {
            let mut seen = HashSet::new();
            if let Some(twice) = overrides.listen.iter().find(|spec| !seen.insert(**spec)) {
                return Err(ConfigError::Options(format!(
                    "--listen {twice} is given twice"
                )));
            }
            self.listen = overrides.listen;
        }
        if !overrides.domains.is_empty() {
            self.domains = overrides.domains;
        }
        if let Some(database) = overrides.database {
            self.database = database;
        }
        Ok(())
    }

    /// The transport settings these limits make.
    pub fn transport_config(&self) -> TransportConfig {
        TransportConfig {
            udp_recv_buffer: self.limits.udp_recv_buffer,
            udp_send_buffer: self.limits.udp_recv_buffer,
            max_connections: self.limits.max_connections,
            tcp_idle_timeout: self.limits.tcp_idle_timeout,
            limits: self.message_limits(),
            multicast_interface: self.multicast_interface,
            multicast_interface_v6: self.multicast_interface_v6,
            stun: self.nat.stun,
            ..TransportConfig::default()
        }
    }

    /// The parser's limits.
    pub fn message_limits(&self) -> sip_msg::Limits {
        sip_msg::Limits {
            max_message: self.limits.max_message,
            max_header_section: self.limits.max_header_section,
            ..sip_msg::Limits::default()
        }
    }
}

#[cfg(test)]
mod tests;
