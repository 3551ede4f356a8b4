//! From the file as written to a [`Config`]: every value is checked, and a wrong one is
//! reported at the place it was written.

use super::error::Reporter;
use super::file::{AuthSection, ConfigFile, LimitsSection, ProxySection, RegistrarSection};
use super::seconds::positive_seconds;
use super::{Config, ConfigError, DatabaseUrl, Limits, parse_domain, parse_log_filter};
use sip_transport::ListenSpec;
use std::collections::HashMap;
use std::time::Duration;
use toml::Spanned;

/// The largest socket buffer the kernel interface takes (a C `int`).
const MAX_SOCKET_BUFFER: usize = i32::MAX as usize;

/// Checks every value of `file`, starting from the defaults for what it leaves out.
pub(super) fn validate(file: ConfigFile, report: &Reporter<'_>) -> Result<Config, ConfigError> {
    let mut config = Config::default();
    let server = file.server;
    if let Some(listen) = server.listen {
        config.listen = listen_addresses(listen, report)?;
    }
    if let Some(domains) = server.domains {
        config.domains = domains
            .into_iter()
            .map(|name| {
                parse_domain(name.get_ref()).map_err(|err| report.at(name.span(), err.to_string()))
            })
            .collect::<Result<_, _>>()?;
    }
    if let Some(header) = server.server_header {
        let text = header.get_ref();
        if text.trim().is_empty() || text.chars().any(char::is_control) {
            return Err(report.at(
                header.span(),
                "server_header must be one line of printable text",
            ));
        }
        config.server_header = text.trim().to_owned();
    }
    if let Some(interface) = server.multicast_interface {
        config.multicast_interface = interface.get_ref().trim().parse().map_err(|_| {
            report.at(
                interface.span(),
                "multicast_interface must be an IPv4 address of the interface (192.0.2.1)",
            )
        })?;
    }
    if let Some(index) = server.multicast_interface_v6 {
        config.multicast_interface_v6 = index;
    }
    let file_sets_url = file.database.url.is_some();
    if let Some(url) = file.database.url {
        config.database = url
            .get_ref()
            .parse::<DatabaseUrl>()
            .map_err(|err| report.at(url.span(), err.to_string()))?;
    }
    if let Some(url) = file.database.read_only_url {
        let parsed = url
            .get_ref()
            .parse::<DatabaseUrl>()
            .map_err(|err| report.at(url.span(), err.to_string()))?;
        // Checked here against the file's own url; against a --db given instead,
        // when the command line is applied.
        if file_sets_url && parsed.kind() != config.database.kind() {
            return Err(report.at(
                url.span(),
                format!(
                    "read_only_url must be the same kind of database as url ({})",
                    config.database.kind().name()
                ),
            ));
        }
        config.database_read_only = Some(parsed);
    }
    config.limits = limits(file.limits, config.limits, report)?;
    if let Some(level) = file.log.level {
        let filter = parse_log_filter(level.get_ref())
            .map_err(|err| report.at(level.span(), err.to_string()))?;
        config.log_level = Some(filter);
    }
    config.proxy = proxy(file.proxy, report)?;
    config.registrar = registrar(file.registrar, report)?;
    config.auth = auth(file.auth, report)?;
    config.routing = super::routing::routing(file.routing, report)?;
    if let Some(on) = file.nat.enabled {
        config.nat.enabled = on;
    }
    if let Some(nets) = file.nat.force {
        config.nat.force = networks(nets, report)?;
    }
    if let Some(on) = file.nat.stun {
        config.nat.stun = on;
    }
    if let Some(seconds) = file.nat.keepalive_interval {
        config.nat.keepalive_interval = (seconds > 0).then(|| Duration::from_secs(seconds));
    }
    if let Some(n) = file.nat.keepalive_max_missed {
        if *n.get_ref() == 0 {
            return Err(report.at(n.span(), "keepalive_max_missed must be at least 1"));
        }
        config.nat.keepalive_max_missed = *n.get_ref();
    }
    Ok(config)
}

/// `[registrar]`: a known storage mode; min ≤ default ≤ max expiry; intervals above 0.
fn registrar(
    section: RegistrarSection,
    report: &Reporter<'_>,
) -> Result<super::Registrar, ConfigError> {
    let mut out = super::Registrar::default();
    if let Some(mode) = &section.storage {
        out.storage = mode
            .get_ref()
            .parse()
            .map_err(|e: String| report.at(mode.span(), e))?;
    }
    let limits = &mut out;
    let seconds =
        |v: &Option<Spanned<u32>>, default: u32| v.as_ref().map_or(default, |v| *v.get_ref());
    limits.default_expires = seconds(&section.default_expires, limits.default_expires);
    limits.min_expires = seconds(&section.min_expires, limits.min_expires);
    limits.max_expires = seconds(&section.max_expires, limits.max_expires);
    let span_of = |v: &Option<Spanned<u32>>| v.as_ref().map(Spanned::span);
    if limits.default_expires == 0 {
        return Err(report.at(
            span_of(&section.default_expires).unwrap_or(0..0),
            "default_expires must be greater than 0",
        ));
    }
    if !(limits.min_expires <= limits.default_expires
        && limits.default_expires <= limits.max_expires)
    {
        let span = span_of(&section.default_expires)
            .or(span_of(&section.min_expires))
            .or(span_of(&section.max_expires))
            .unwrap_or(0..0);
        return Err(report.at(
            span,
            format!(
                "expiry limits must satisfy min_expires ({}) <= default_expires ({}) <= max_expires ({})",
                limits.min_expires, limits.default_expires, limits.max_expires
            ),
        ));
    }
    if let Some(n) = &section.max_contacts {
        limits.max_contacts = *n.get_ref();
    }
    let interval = |v: &Option<Spanned<u64>>, name: &str, default: Duration| {
        positive_seconds(v, name, default, report)
    };
    out.flush_interval = interval(
        &section.flush_interval,
        "flush_interval",
        out.flush_interval,
    )?;
    out.purge_interval = interval(
        &section.purge_interval,
        "purge_interval",
        out.purge_interval,
    )?;
    Ok(out)
}

/// `[auth]`: method tokens, addresses or networks, a 64-hex-digit secret, known
/// algorithms.
fn auth(section: AuthSection, report: &Reporter<'_>) -> Result<super::Auth, ConfigError> {
    let mut out = super::Auth::default();
    if let Some(on) = section.enabled {
        out.enabled = on;
    }
    if let Some(methods) = section.methods {
        out.methods = methods
            .into_iter()
            .map(|m| {
                let t = m.get_ref().trim();
                if t.is_empty()
                    || !t
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
                {
                    return Err(report.at(m.span(), format!("`{t}` is not a SIP method name")));
                }
                Ok(t.to_ascii_uppercase())
            })
            .collect::<Result<_, _>>()?;
    }
    if let Some(trusted) = section.trusted {
        out.trusted = networks(trusted, report)?;
    }
    if let Some(life) = &section.nonce_lifetime {
        if *life.get_ref() == 0 {
            return Err(report.at(
                life.span(),
                "nonce_lifetime must be greater than 0 (seconds)",
            ));
        }
        out.nonce_lifetime = Duration::from_secs(*life.get_ref());
    }
    if let Some(secret) = &section.secret {
        out.secret = Some(parse_secret(secret.get_ref()).ok_or_else(|| {
            report.at(
                secret.span(),
                "secret must be 64 hexadecimal digits (32 bytes)",
            )
        })?);
    }
    if let Some(algs) = section.algorithms {
        let span = algs.span();
        let algs = algs.into_inner();
        if algs.is_empty() {
            return Err(report.at(span, "algorithms needs at least one of SHA-256, MD5"));
        }
        out.algorithms = algs
            .into_iter()
            .map(|a| match a.get_ref().to_ascii_uppercase().as_str() {
                "SHA-256" => Ok("SHA-256".to_owned()),
                "MD5" => Ok("MD5".to_owned()),
                other => Err(report.at(
                    a.span(),
                    format!("unknown digest algorithm `{other}` (expected SHA-256 or MD5)"),
                )),
            })
            .collect::<Result<_, _>>()?;
    }
    if let Some(challenges) = &section.challenges {
        out.challenges = match challenges.get_ref().as_str() {
            "one" => sip_auth::Offer::Preferred,
            "all" => sip_auth::Offer::All,
            other => {
                return Err(report.at(
                    challenges.span(),
                    format!("challenges must be \"one\" or \"all\", not `{other}`"),
                ));
            }
        };
    }
    if let Some(check) = section.check_digest_uri {
        out.check_digest_uri = check;
    }
    if let Some(ttl) = section.cache_ttl {
        out.cache_ttl = Duration::from_secs(ttl);
    }
    Ok(out)
}

/// Addresses or networks (`192.0.2.10`, `198.51.100.0/24`).
fn networks(
    list: Vec<Spanned<String>>,
    report: &Reporter<'_>,
) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    list.into_iter()
        .map(|t| {
            let text = t.get_ref().trim();
            text.parse::<ipnet::IpNet>()
                .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    report.at(
                        t.span(),
                        format!(
                            "`{text}` is not an IP address or network (192.0.2.10, 198.51.100.0/24)"
                        ),
                    )
                })
        })
        .collect()
}

/// 64 hexadecimal digits as 32 bytes.
fn parse_secret(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// `[proxy]`: timers greater than zero, T2 not below T1, an advertised host that parses.
fn proxy(section: ProxySection, report: &Reporter<'_>) -> Result<super::Proxy, ConfigError> {
    let mut out = super::Proxy::default();
    let millis = |v: &Option<Spanned<u64>>, name: &str, default: Duration| match v {
        None => Ok(default),
        Some(v) if *v.get_ref() == 0 => {
            Err(report.at(v.span(), format!("{name} must be greater than 0")))
        }
        Some(v) => Ok(Duration::from_millis(*v.get_ref())),
    };
    out.t1 = millis(&section.t1_ms, "t1_ms", out.t1)?;
    out.t2 = millis(&section.t2_ms, "t2_ms", out.t2)?;
    out.t4 = millis(&section.t4_ms, "t4_ms", out.t4)?;
    if out.t2 < out.t1 {
        let span = section
            .t2_ms
            .as_ref()
            .or(section.t1_ms.as_ref())
            .map_or(0..0, |v| v.span());
        return Err(report.at(span, "t2_ms must not be smaller than t1_ms"));
    }
    if let Some(c) = &section.timer_c {
        if *c.get_ref() == 0 {
            return Err(report.at(c.span(), "timer_c must be greater than 0 (seconds)"));
        }
        out.timer_c = Duration::from_secs(*c.get_ref());
    }
    if let Some(host) = section.advertise {
        if sip_msg::Host::parse(host.get_ref()).is_none() {
            return Err(report.at(
                host.span(),
                "advertise must be a host name, an IPv4 address or a bracketed IPv6 address",
            ));
        }
        out.advertise = Some(host.into_inner());
    }
    Ok(out)
}

/// `[server] listen`: at least one address, each valid, none twice.
fn listen_addresses(
    listen: Spanned<Vec<Spanned<String>>>,
    report: &Reporter<'_>,
) -> Result<Vec<ListenSpec>, ConfigError> {
    let list_span = listen.span();
    let entries = listen.into_inner();
    if entries.is_empty() {
        return Err(report.at(list_span, "listen needs at least one address"));
    }
    let mut first_seen: HashMap<ListenSpec, std::ops::Range<usize>> = HashMap::new();
    let mut specs = Vec::with_capacity(entries.len());
    for entry in entries {
        let spec: ListenSpec =
            entry
                .get_ref()
                .parse()
                .map_err(|err: sip_transport::ListenSpecError| {
                    report.at(entry.span(), err.to_string())
                })?;
        if let Some(first) = first_seen.get(&spec) {
            let line = super::Location::of_offset(report.source, first.start).line;
            return Err(report.at(
                entry.span(),
                format!("duplicate listen address {spec} (already given on line {line})"),
            ));
        }
        first_seen.insert(spec, entry.span());
        specs.push(spec);
    }
    Ok(specs)
}

/// `[limits]`: each value greater than zero, and the header section within the message.
fn limits(
    section: LimitsSection,
    defaults: Limits,
    report: &Reporter<'_>,
) -> Result<Limits, ConfigError> {
    let positive = |value: &Option<Spanned<usize>>, name: &str, default: usize| match value {
        None => Ok(default),
        Some(value) if *value.get_ref() == 0 => {
            Err(report.at(value.span(), format!("{name} must be greater than 0")))
        }
        Some(value) => Ok(*value.get_ref()),
    };
    let max_message = positive(&section.max_message, "max_message", defaults.max_message)?;
    let max_header_section = positive(
        &section.max_header_section,
        "max_header_section",
        defaults.max_header_section,
    )?;
    if max_header_section > max_message {
        let reason = format!(
            "max_header_section ({max_header_section}) is larger than max_message ({max_message})"
        );
        let span = match (&section.max_header_section, &section.max_message) {
            (Some(header), _) => header.span(),
            (None, Some(message)) => message.span(),
            (None, None) => 0..0,
        };
        return Err(report.at(span, reason));
    }
    let max_connections = positive(
        &section.max_connections,
        "max_connections",
        defaults.max_connections,
    )?;
    let tcp_idle_timeout = match section.tcp_idle_timeout {
        None => defaults.tcp_idle_timeout,
        Some(seconds) if *seconds.get_ref() == 0 => {
            return Err(report.at(
                seconds.span(),
                "tcp_idle_timeout must be greater than 0 (seconds)",
            ));
        }
        Some(seconds) => Duration::from_secs(*seconds.get_ref()),
    };
    let udp_recv_buffer = match section.udp_recv_buffer {
        Some(bytes) if *bytes.get_ref() > MAX_SOCKET_BUFFER => {
            return Err(report.at(
                bytes.span(),
                format!("udp_recv_buffer must be at most {MAX_SOCKET_BUFFER} bytes"),
            ));
        }
        other => positive(&other, "udp_recv_buffer", defaults.udp_recv_buffer)?,
    };
    Ok(Limits {
        max_message,
        max_header_section,
        max_connections,
        tcp_idle_timeout,
        udp_recv_buffer,
    })
}
