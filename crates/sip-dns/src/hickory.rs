//! The real resolver: hickory-resolver behind [`Lookup`].

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig,
};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{Name, RData, RecordType};

use crate::lookup::{DnsError, Lookup, Naptr, Srv};

/// hickory-resolver behind [`Lookup`].
///
/// Answers are cached for their TTL by hickory's own cache; queries go over
/// UDP and are retried over TCP when an answer comes back truncated. Names
/// are queried as absolute names (no search list). A/AAAA queries are made
/// in parallel and IPv4 addresses come first.
#[derive(Clone)]
pub struct HickoryLookup {
    // A resolver that could not be built answers every query with `Failed`
    // and this message (`with_servers` cannot return an error).
    resolver: Result<TokioResolver, String>,
}

impl std::fmt::Debug for HickoryLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HickoryLookup")
            .field("ready", &self.resolver.is_ok())
            .finish()
    }
}

impl HickoryLookup {
    /// A resolver configured from the system (`/etc/resolv.conf`, and the
    /// hosts file for addresses).
    pub fn from_system() -> Result<Self, DnsError> {
        let mut builder = TokioResolver::builder_tokio()
            .map_err(|e| DnsError::Failed(format!("reading the system DNS configuration: {e}")))?;
        builder.options_mut().ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        let resolver = builder
            .build()
            .map_err(|e| DnsError::Failed(format!("building the resolver: {e}")))?;
        Ok(HickoryLookup {
            resolver: Ok(resolver),
        })
    }

    /// A resolver asking these servers (address and port each), over UDP
    /// with TCP for truncated answers, and not reading the hosts file.
    pub fn with_servers(servers: &[SocketAddr]) -> Self {
        Self::build_with_servers(servers, None)
    }

    /// As [`HickoryLookup::with_servers`], waiting at most `timeout` for each
    /// answer (hickory's default is 5 s, with two attempts).
    pub fn with_servers_timeout(servers: &[SocketAddr], timeout: Duration) -> Self {
        Self::build_with_servers(servers, Some(timeout))
    }

    fn build_with_servers(servers: &[SocketAddr], timeout: Option<Duration>) -> Self {
        let name_servers = servers
            .iter()
            .map(|server| {
                let mut udp = ConnectionConfig::udp();
                udp.port = server.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = server.port();
                NameServerConfig::new(server.ip(), true, vec![udp, tcp])
            })
            .collect();
        let config = ResolverConfig::from_name_servers(name_servers);
        let mut builder =
            TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
        builder.options_mut().ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        builder.options_mut().use_hosts_file = ResolveHosts::Never;
        if let Some(timeout) = timeout {
            builder.options_mut().timeout = timeout;
        }
        HickoryLookup {
            resolver: builder
                .build()
                .map_err(|e| format!("building the resolver: {e}")),
        }
    }

    fn resolver(&self) -> Result<&TokioResolver, DnsError> {
        self.resolver
            .as_ref()
            .map_err(|e| DnsError::Failed(e.clone()))
    }
}

/// The absolute name for `name`; a name that cannot be one does not exist.
fn absolute(name: &str) -> Result<Name, DnsError> {
    let mut name = Name::from_str(name).map_err(|_| DnsError::NotFound)?;
    name.set_fqdn(true);
    Ok(name)
}

/// hickory reports both NXDOMAIN and "no records of this type" (NOERROR
/// with an empty answer) as `NoRecordsFound`; both are `NotFound` here.
fn map_error(err: NetError) -> DnsError {
    if err.is_no_records_found() {
        DnsError::NotFound
    } else {
        DnsError::Failed(err.to_string())
    }
}

/// A domain name as text without its trailing dot (`.` stays `.`).
fn name_text(name: &Name) -> String {
    let text = name.to_string();
    match text.strip_suffix('.') {
        Some(stripped) if !stripped.is_empty() => stripped.to_owned(),
        _ => text,
    }
}

fn bytes_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl Lookup for HickoryLookup {
    async fn naptr(&self, name: &str) -> Result<Vec<Naptr>, DnsError> {
        let name = absolute(name)?;
        let answer = self
            .resolver()?
            .lookup(name, RecordType::NAPTR)
            .await
            .map_err(map_error)?;
        Ok(answer
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                RData::NAPTR(naptr) => Some(Naptr {
                    order: naptr.order,
                    preference: naptr.preference,
                    flags: bytes_text(&naptr.flags),
                    services: bytes_text(&naptr.services),
                    regexp: bytes_text(&naptr.regexp),
                    replacement: name_text(&naptr.replacement),
                }),
                _ => None,
            })
            .collect())
    }

    async fn srv(&self, name: &str) -> Result<Vec<Srv>, DnsError> {
        let name = absolute(name)?;
        let answer = self.resolver()?.srv_lookup(name).await.map_err(map_error)?;
        Ok(answer
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                RData::SRV(srv) => Some(Srv {
                    priority: srv.priority,
                    weight: srv.weight,
                    port: srv.port,
                    target: name_text(&srv.target),
                }),
                _ => None,
            })
            .collect())
    }

    async fn ips(&self, name: &str) -> Result<Vec<IpAddr>, DnsError> {
        let name = absolute(name)?;
        let answer = self.resolver()?.lookup_ip(name).await.map_err(map_error)?;
        Ok(answer.iter().collect())
    }
}
