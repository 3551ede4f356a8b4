//! RFC 3263 §4: from a SIP URI's host, port and transport to the ordered
//! list of hops to try; and the ENUM lookup (RFC 6116).

use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use tracing::debug;

use crate::e164::{self, application_unique_string};
use crate::lookup::{DnsError, Lookup, Naptr};
use crate::srv::{self, Rng};
use crate::{Hop, LocateError, LocateTarget, Transport, default_port};

/// At most this many SRV targets are resolved for one `locate`.
pub const MAX_SRV_TARGETS: usize = 16;

/// At most this many non-terminal ENUM NAPTRs are followed.
pub const MAX_ENUM_HOPS: usize = 4;

/// Finds where to send requests, by DNS through `L`.
#[derive(Debug)]
pub struct Locator<L: Lookup> {
    lookup: L,
    supported: Vec<Transport>,
    rng: Mutex<Rng>,
}

/// What went wrong along the way, to choose the error when no hop is found.
#[derive(Debug, Default)]
struct Outcome {
    hops: Vec<Hop>,
    failure: Option<String>,
    unsupported: Option<String>,
    srv_targets: usize,
    // Some SRV record set was found (even one saying "not offered"): then
    // there is no A/AAAA fallback (RFC 3263 §4.2).
    srv_found: bool,
}

impl Outcome {
    fn push(&mut self, hop: Hop) {
        if !self.hops.contains(&hop) {
            self.hops.push(hop);
        }
    }

    fn failed(&mut self, name: &str, err: DnsError) {
        if let DnsError::Failed(why) = err {
            debug!(name, %why, "DNS query failed");
            self.failure.get_or_insert_with(|| format!("{name}: {why}"));
        }
    }

    fn finish(self, host: &str) -> Result<Vec<Hop>, LocateError> {
        if !self.hops.is_empty() {
            Ok(self.hops)
        } else if let Some(why) = self.failure {
            Err(LocateError::Failed(why))
        } else if let Some(why) = self.unsupported {
            Err(LocateError::Unsupported(why))
        } else {
            Err(LocateError::NotFound(format!(
                "no usable DNS records for {host}"
            )))
        }
    }
}

/// The NAPTR service (RFC 3263 §4.1, RFC 7118 §5) for a transport, as
/// `(secure, transport)`.
fn naptr_service(services: &str) -> Option<(bool, Transport)> {
    const SERVICES: [(&str, bool, Transport); 6] = [
        ("SIP+D2U", false, Transport::Udp),
        ("SIP+D2T", false, Transport::Tcp),
        ("SIPS+D2T", true, Transport::Tls),
        ("SIP+D2S", false, Transport::Sctp),
        ("SIP+D2W", false, Transport::Ws),
        ("SIPS+D2W", true, Transport::Wss),
    ];
    SERVICES
        .iter()
        .find(|(name, ..)| name.eq_ignore_ascii_case(services))
        .map(|&(_, secure, transport)| (secure, transport))
}

/// The SRV service name prefix for a transport (`_sip._udp`...), or `None`
/// for WebSocket, which has no SRV (RFC 7118).
fn srv_prefix(transport: Transport) -> Option<&'static str> {
    match transport {
        Transport::Udp => Some("_sip._udp"),
        Transport::Tcp => Some("_sip._tcp"),
        Transport::Tls => Some("_sips._tcp"),
        Transport::Sctp => Some("_sip._sctp"),
        Transport::Ws | Transport::Wss => None,
    }
}

/// The transport to use for a URI's `transport=` parameter: a `sips:` URI
/// turns TCP into TLS and WS into WSS; UDP and SCTP cannot carry it.
fn secured(transport: Transport, secure: bool) -> Option<Transport> {
    if !secure {
        return Some(transport);
    }
    match transport {
        Transport::Tcp | Transport::Tls => Some(Transport::Tls),
        Transport::Ws | Transport::Wss => Some(Transport::Wss),
        Transport::Udp | Transport::Sctp => None,
    }
}

impl<L: Lookup> Locator<L> {
    /// A locator sending on the `supported` transports, given in our order
    /// of preference (such as `[Udp, Tcp, Tls]`). The SRV choice is seeded
    /// from the operating system.
    pub fn new(lookup: L, supported: Vec<Transport>) -> Self {
        Locator {
            lookup,
            supported,
            rng: Mutex::new(Rng::from_entropy()),
        }
    }

    /// As [`Locator::new`] with a fixed seed for the SRV weighted choice, so
    /// that tests get repeatable orders.
    pub fn with_rng_seed(lookup: L, supported: Vec<Transport>, seed: u64) -> Self {
        Locator {
            lookup,
            supported,
            rng: Mutex::new(Rng::seeded(seed)),
        }
    }

    /// The lookup this locator asks.
    pub fn lookup(&self) -> &L {
        &self.lookup
    }

    fn supports(&self, transport: Transport) -> bool {
        self.supported.contains(&transport)
    }

    /// The transport a URI without SRV nor NAPTR records uses: UDP for
    /// `sip:` (TCP if we lack UDP), TLS for `sips:` (RFC 3263 §4.1).
    fn fallback_transport(&self, secure: bool) -> Option<Transport> {
        if secure {
            Some(Transport::Tls).filter(|t| self.supports(*t))
        } else {
            [Transport::Udp, Transport::Tcp]
                .into_iter()
                .find(|t| self.supports(*t))
        }
    }

    /// RFC 3263 §4: the ordered list of hops to try (failover goes down the
    /// list). Hops are unique, in the order found.
    pub async fn locate(&self, target: &LocateTarget) -> Result<Vec<Hop>, LocateError> {
        let host = target
            .host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.');
        if host.is_empty() {
            return Err(LocateError::NotFound("empty host".into()));
        }
        let literal = host.parse::<IpAddr>().ok();

        // The transport is fixed by the URI, or by the lack of DNS choice.
        let fixed = match target.transport {
            Some(param) => Some(secured(param, target.secure).ok_or_else(|| {
                LocateError::Unsupported(format!("{} cannot carry a sips: URI", param.via_token()))
            })?),
            None if literal.is_some() || target.port.is_some() => Some(if target.secure {
                Transport::Tls
            } else {
                Transport::Udp
            }),
            None => None,
        };
        if let Some(transport) = fixed
            && !self.supports(transport)
        {
            return Err(LocateError::Unsupported(format!(
                "{host} needs {}",
                transport.via_token()
            )));
        }

        let mut out = Outcome::default();
        match (fixed, literal) {
            (Some(transport), Some(ip)) => {
                let port = target.port.unwrap_or_else(|| default_port(transport));
                out.push(Hop {
                    transport,
                    addr: SocketAddr::new(ip, port),
                });
            }
            (Some(transport), None) => match target.port {
                Some(port) => self.resolve_host(host, transport, port, &mut out).await,
                None => {
                    if let Some(prefix) = srv_prefix(transport) {
                        self.resolve_srv(&format!("{prefix}.{host}"), transport, &mut out)
                            .await;
                    }
                    if !out.srv_found {
                        self.resolve_host(host, transport, default_port(transport), &mut out)
                            .await;
                    }
                }
            },
            (None, _) => self.resolve_domain(host, target.secure, &mut out).await,
        }
        out.finish(host)
    }

    /// §4.1 without port nor transport: NAPTR, else SRV of every supported
    /// transport, else A/AAAA.
    async fn resolve_domain(&self, host: &str, secure: bool, out: &mut Outcome) {
        match self.lookup.naptr(host).await {
            Ok(records) => {
                let usable = self.usable_naptrs(records, secure, out);
                for (transport, replacement) in usable {
                    // Only SRV-flagged records are used, so one level.
                    self.resolve_srv(&replacement, transport, out).await;
                }
            }
            Err(err) => out.failed(host, err),
        }
        if out.hops.is_empty() {
            let transports: Vec<Transport> = self
                .supported
                .iter()
                .copied()
                .filter(|t| !secure || *t == Transport::Tls)
                .collect();
            for transport in transports {
                if let Some(prefix) = srv_prefix(transport) {
                    self.resolve_srv(&format!("{prefix}.{host}"), transport, out)
                        .await;
                }
            }
        }
        // A NAPTR set offering SIP only over transports we lack says where
        // SIP is: guessing UDP on its A record would go against it.
        if out.hops.is_empty() && !out.srv_found && out.unsupported.is_none() {
            match self.fallback_transport(secure) {
                Some(transport) => {
                    self.resolve_host(host, transport, default_port(transport), out)
                        .await;
                }
                None => {
                    out.unsupported.get_or_insert_with(|| {
                        format!("{host}: no transport for an A/AAAA fallback")
                    });
                }
            }
        }
    }

    /// The NAPTRs to follow, as `(transport, SRV name)` in order, keeping
    /// SIP services with flag `s` over supported transports (secure ones
    /// only for `sips:`).
    fn usable_naptrs(
        &self,
        mut records: Vec<Naptr>,
        secure: bool,
        out: &mut Outcome,
    ) -> Vec<(Transport, String)> {
        records.sort_by_key(|r| (r.order, r.preference));
        let mut usable = Vec::new();
        for record in records {
            let Some((is_secure, transport)) = naptr_service(&record.services) else {
                continue;
            };
            if !record.flags.eq_ignore_ascii_case("s") {
                continue;
            }
            let replacement = record.replacement.trim_end_matches('.');
            if replacement.is_empty() || (secure && !is_secure) {
                continue;
            }
            if !self.supports(transport) {
                out.unsupported
                    .get_or_insert_with(|| format!("NAPTR offers {} only", transport.via_token()));
                continue;
            }
            usable.push((transport, replacement.to_owned()));
        }
        usable
    }

    /// The hops of the SRV records at `name`, in RFC 2782 order.
    async fn resolve_srv(&self, name: &str, transport: Transport, out: &mut Outcome) {
        let records = match self.lookup.srv(name).await {
            Ok(records) => records,
            Err(err) => return out.failed(name, err),
        };
        out.srv_found |= !records.is_empty();
        if srv::not_offered(&records) {
            debug!(name, "SRV says the service is not offered");
            return;
        }
        let ordered = {
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            srv::order(&records, &mut rng)
        };
        for record in ordered {
            if out.srv_targets >= MAX_SRV_TARGETS {
                debug!(name, "SRV target limit reached");
                return;
            }
            out.srv_targets += 1;
            self.resolve_host(&record.target, transport, record.port, out)
                .await;
        }
    }

    /// The hops of a host's A/AAAA records (or of the host itself when it is
    /// an IP literal).
    async fn resolve_host(&self, host: &str, transport: Transport, port: u16, out: &mut Outcome) {
        let host = host.trim_end_matches('.');
        let ips = match host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => match self.lookup.ips(host).await {
                Ok(ips) => ips,
                Err(err) => return out.failed(host, err),
            },
        };
        for ip in ips {
            out.push(Hop {
                transport,
                addr: SocketAddr::new(ip, port),
            });
        }
    }

    /// RFC 6116: the SIP URI for an E.164 number (`"+33123456789"`, visual
    /// separators allowed) under `suffix` (`"e164.arpa"`), or `None` when
    /// the number is malformed or has no SIP record.
    ///
    /// NAPTRs are taken by order then preference; the first `E2U+sip`
    /// record with flag `u` whose expression yields a `sip:`/`sips:` URI
    /// wins. A non-terminal record (empty flags, a replacement) met first
    /// is followed, at most [`MAX_ENUM_HOPS`] times.
    pub async fn enum_lookup(
        &self,
        number: &str,
        suffix: &str,
    ) -> Result<Option<String>, LocateError> {
        let (Some(aus), Some(mut name)) = (
            application_unique_string(number),
            e164::enum_domain(number, suffix),
        ) else {
            return Ok(None);
        };
        for _ in 0..=MAX_ENUM_HOPS {
            let mut records = match self.lookup.naptr(&name).await {
                Ok(records) => records,
                Err(DnsError::NotFound) => return Ok(None),
                Err(DnsError::Failed(why)) => {
                    return Err(LocateError::Failed(format!("{name}: {why}")));
                }
            };
            records.sort_by_key(|r| (r.order, r.preference));
            let mut next = None;
            for record in &records {
                if let Some(uri) = e164::terminal_sip_uri(record, &aus) {
                    return Ok(Some(uri));
                }
                if let Some(domain) = e164::non_terminal_next(record) {
                    next = Some(domain.to_owned());
                    break;
                }
            }
            match next {
                Some(domain) => name = domain,
                None => return Ok(None),
            }
        }
        debug!(number, "ENUM: too many non-terminal NAPTRs");
        Ok(None)
    }
}
