//! The DNS records the locator needs, behind a trait so tests can fake them.

use std::future::Future;
use std::net::IpAddr;

/// Why a DNS query gave no records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    /// The name does not exist (NXDOMAIN) or has no records of that type.
    #[error("no such record")]
    NotFound,
    /// The query failed: timeout, SERVFAIL, refused, unreachable server.
    #[error("DNS query failed: {0}")]
    Failed(String),
}

/// A NAPTR record (RFC 3403 §4.1), with its strings as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naptr {
    /// Records are processed by ascending order; lower first.
    pub order: u16,
    /// Among records of one order, lower preference first.
    pub preference: u16,
    /// Flags such as `s` (next is SRV), `a` (next is A/AAAA), `u` (terminal URI).
    pub flags: String,
    /// The service field, such as `SIP+D2U` or `E2U+sip`.
    pub services: String,
    /// The substitution expression (`!ere!replacement!flags`), often empty.
    pub regexp: String,
    /// The replacement domain name, `.` or empty when none.
    pub replacement: String,
}

/// An SRV record (RFC 2782).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srv {
    /// Lower priorities are tried first.
    pub priority: u16,
    /// Relative weight among records of one priority.
    pub weight: u16,
    /// The port on the target.
    pub port: u16,
    /// The target host name; `.` means the service is not offered.
    pub target: String,
}

/// The DNS queries the locator makes.
///
/// Names are given without a trailing dot and are absolute: an implementation
/// does not apply a search list to them.
pub trait Lookup: Send + Sync + 'static {
    /// The NAPTR records at `name`.
    fn naptr(&self, name: &str) -> impl Future<Output = Result<Vec<Naptr>, DnsError>> + Send;
    /// The SRV records at `name` (such as `_sip._udp.example.com`).
    fn srv(&self, name: &str) -> impl Future<Output = Result<Vec<Srv>, DnsError>> + Send;
    /// The addresses of `name`: its A and AAAA records.
    fn ips(&self, name: &str) -> impl Future<Output = Result<Vec<IpAddr>, DnsError>> + Send;
}
