//! `[routing]`: how requests for other domains leave: DNS, ENUM, the outbound transport
//! and who may relay.
//!
//! ```toml
//! [routing]
//! dns_servers = ["192.0.2.53:53"]      # default: the system's /etc/resolv.conf
//! transport = "rfc3263"                 # rfc3263 | inbound | udp | tcp | tls
//! domain_transport = { "enst.fr" = "tcp" } # a fixed transport for named domains
//! enum_suffix = "e164.arpa"             # "" turns ENUM off
//! failover_timeout = 4                  # seconds without any answer before the next server
//! blocklist_ttl = 60                    # seconds a failed server is tried last
//! relay = "authenticated"               # authenticated | local-from | open
//! ```

use super::ConfigError;
use super::error::Reporter;
use super::file::RoutingSection;
use sip_msg::Transport;
use std::net::SocketAddr;
use std::time::Duration;

/// `[routing]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    /// DNS servers to ask; empty: the system's resolver configuration.
    pub dns_servers: Vec<SocketAddr>,
    /// How the transport towards another domain is chosen.
    pub transport: TransportPolicy,
    /// Domains (lower case) always reached over a given transport.
    pub domain_transport: Vec<(String, Transport)>,
    /// The ENUM suffix (RFC 6116); `None` when ENUM is off.
    pub enum_suffix: Option<String>,
    /// How long a branch with another server to try waits for any answer.
    pub failover_timeout: Duration,
    /// How long a server that failed is tried only after the others.
    pub blocklist_ttl: Duration,
    /// Who may send requests to other domains through us.
    pub relay: RelayPolicy,
}

impl Default for Routing {
    fn default() -> Self {
        Routing {
            dns_servers: Vec::new(),
            transport: TransportPolicy::Rfc3263,
            domain_transport: Vec::new(),
            enum_suffix: Some("e164.arpa".to_owned()),
            failover_timeout: Duration::from_secs(4),
            blocklist_ttl: Duration::from_secs(60),
            relay: RelayPolicy::Authenticated,
        }
    }
}

/// The transport for a request to another domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportPolicy {
    /// What the URI says, else what DNS offers (RFC 3263 §4.1).
    Rfc3263,
    /// The transport the request arrived on.
    Inbound,
    /// Always this one (the seed patched SER's source to force TCP).
    Fixed(Transport),
}

/// Who may reach another domain through this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayPolicy {
    /// Authenticated local users and trusted sources (`[auth] trusted`); anyone else 403.
    Authenticated,
    /// Also any request whose From is in a local domain, unauthenticated (a deployment
    /// without `[auth]`; From can be forged, so only behind a firewall).
    LocalFrom,
    /// Anyone: an open relay. Only for tests and closed networks.
    Open,
}

fn transport(text: &str) -> Option<Transport> {
    Transport::from_token(text)
        .filter(|t| matches!(t, Transport::Udp | Transport::Tcp | Transport::Tls))
}

/// Checks `[routing]`.
pub(super) fn routing(
    section: RoutingSection,
    report: &Reporter<'_>,
) -> Result<Routing, ConfigError> {
    let mut out = Routing::default();
    if let Some(servers) = section.dns_servers {
        out.dns_servers = servers
            .into_iter()
            .map(|s| {
                let text = s.get_ref().trim();
                text.parse::<SocketAddr>()
                    .or_else(|_| text.parse::<std::net::IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                    .map_err(|_| {
                        report.at(
                            s.span(),
                            format!("`{text}` is not an IP address with an optional port (192.0.2.53, [2001:db8::53]:53)"),
                        )
                    })
            })
            .collect::<Result<_, _>>()?;
    }
    if let Some(policy) = section.transport {
        let text = policy.get_ref().trim().to_ascii_lowercase();
        out.transport = match text.as_str() {
            "rfc3263" => TransportPolicy::Rfc3263,
            "inbound" => TransportPolicy::Inbound,
            other => TransportPolicy::Fixed(transport(other).ok_or_else(|| {
                report.at(
                    policy.span(),
                    format!("unknown transport policy `{other}` (expected rfc3263, inbound, udp, tcp or tls)"),
                )
            })?),
        };
    }
    if let Some(domains) = section.domain_transport {
        for (domain, t) in domains {
            let name =
                super::parse_domain(&domain).map_err(|e| report.at(t.span(), e.to_string()))?;
            let fixed = transport(t.get_ref()).ok_or_else(|| {
                report.at(
                    t.span(),
                    format!("`{}` is not udp, tcp or tls", t.get_ref()),
                )
            })?;
            out.domain_transport
                .push((name.to_ascii_lowercase(), fixed));
        }
    }
    if let Some(suffix) = section.enum_suffix {
        let text = suffix.get_ref().trim().trim_end_matches('.');
        out.enum_suffix = if text.is_empty() {
            None
        } else {
            Some(super::parse_domain(text).map_err(|e| report.at(suffix.span(), e.to_string()))?)
        };
    }
    let seconds = |v: &Option<toml::Spanned<u64>>, name: &str, default: Duration| {
        super::seconds::positive_seconds(v, name, default, report)
    };
    out.failover_timeout = seconds(
        &section.failover_timeout,
        "failover_timeout",
        out.failover_timeout,
    )?;
    out.blocklist_ttl = seconds(&section.blocklist_ttl, "blocklist_ttl", out.blocklist_ttl)?;
    if let Some(relay) = section.relay {
        out.relay = match relay.get_ref().trim().to_ascii_lowercase().as_str() {
            "authenticated" => RelayPolicy::Authenticated,
            "local-from" => RelayPolicy::LocalFrom,
            "open" => RelayPolicy::Open,
            other => {
                return Err(report.at(
                    relay.span(),
                    format!("unknown relay policy `{other}` (expected authenticated, local-from or open)"),
                ));
            }
        };
    }
    Ok(out)
}
