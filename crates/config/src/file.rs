//! The config file as written: TOML sections with every value kept with its place in
//! the file, so that a wrong value can be reported at its line and column.

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfigFile {
    #[serde(default)]
    pub(super) server: ServerSection,
    #[serde(default)]
    pub(super) database: DatabaseSection,
    #[serde(default)]
    pub(super) limits: LimitsSection,
    #[serde(default)]
    pub(super) log: LogSection,
    #[serde(default)]
    pub(super) proxy: ProxySection,
    #[serde(default)]
    pub(super) registrar: RegistrarSection,
    #[serde(default)]
    pub(super) auth: AuthSection,
    #[serde(default)]
    pub(super) routing: RoutingSection,
    #[serde(default)]
    pub(super) nat: NatSection,
}

/// `[nat]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NatSection {
    pub(super) enabled: Option<bool>,
    pub(super) force: Option<Vec<Spanned<String>>>,
    pub(super) stun: Option<bool>,
    pub(super) keepalive_interval: Option<u64>,
    pub(super) keepalive_max_missed: Option<Spanned<u32>>,
}

/// `[routing]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RoutingSection {
    pub(super) dns_servers: Option<Vec<Spanned<String>>>,
    pub(super) transport: Option<Spanned<String>>,
    pub(super) domain_transport: Option<std::collections::BTreeMap<String, Spanned<String>>>,
    pub(super) enum_suffix: Option<Spanned<String>>,
    pub(super) failover_timeout: Option<Spanned<u64>>,
    pub(super) blocklist_ttl: Option<Spanned<u64>>,
    pub(super) relay: Option<Spanned<String>>,
}

/// `[registrar]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RegistrarSection {
    pub(super) storage: Option<Spanned<String>>,
    pub(super) default_expires: Option<Spanned<u32>>,
    pub(super) min_expires: Option<Spanned<u32>>,
    pub(super) max_expires: Option<Spanned<u32>>,
    pub(super) max_contacts: Option<Spanned<usize>>,
    pub(super) flush_interval: Option<Spanned<u64>>,
    pub(super) purge_interval: Option<Spanned<u64>>,
}

/// `[auth]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuthSection {
    pub(super) enabled: Option<bool>,
    pub(super) methods: Option<Vec<Spanned<String>>>,
    pub(super) trusted: Option<Vec<Spanned<String>>>,
    pub(super) nonce_lifetime: Option<Spanned<u64>>,
    pub(super) secret: Option<Spanned<String>>,
    pub(super) algorithms: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) challenges: Option<Spanned<String>>,
    pub(super) check_digest_uri: Option<bool>,
    pub(super) cache_ttl: Option<u64>,
}

/// `[proxy]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProxySection {
    pub(super) advertise: Option<Spanned<String>>,
    pub(super) t1_ms: Option<Spanned<u64>>,
    pub(super) t2_ms: Option<Spanned<u64>>,
    pub(super) t4_ms: Option<Spanned<u64>>,
    pub(super) timer_c: Option<Spanned<u64>>,
}

/// `[server]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ServerSection {
    pub(super) listen: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) domains: Option<Vec<Spanned<String>>>,
    pub(super) server_header: Option<Spanned<String>>,
    pub(super) multicast_interface: Option<Spanned<String>>,
    pub(super) multicast_interface_v6: Option<u32>,
}

/// `[database]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DatabaseSection {
    pub(super) url: Option<Spanned<String>>,
    pub(super) read_only_url: Option<Spanned<String>>,
}

/// `[limits]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LimitsSection {
    pub(super) max_message: Option<Spanned<usize>>,
    pub(super) max_header_section: Option<Spanned<usize>>,
    pub(super) max_connections: Option<Spanned<usize>>,
    pub(super) tcp_idle_timeout: Option<Spanned<u64>>,
    pub(super) udp_recv_buffer: Option<Spanned<usize>>,
}

/// `[log]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LogSection {
    pub(super) level: Option<Spanned<String>>,
}
