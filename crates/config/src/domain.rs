//! Local domain names (`--domain`, `[server] domains`): the host names and addresses
//! that requests for this server carry, as SER's `alias=`.

use std::net::{IpAddr, Ipv6Addr};

/// Why a string is not a domain name or IP address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid domain `{name}`: {reason}")]
pub struct DomainError {
    name: String,
    reason: &'static str,
}

/// The longest domain name (RFC 1035 §2.3.4).
const MAX_NAME: usize = 253;
/// The longest label of a domain name.
const MAX_LABEL: usize = 63;

/// Checks a domain name or IP address and returns its canonical form: lower case, no
/// trailing dot, IPv6 addresses without brackets.
pub fn parse_domain(name: &str) -> Result<String, DomainError> {
    let error = |reason| DomainError {
        name: name.to_owned(),
        reason,
    };
    if let Some(inner) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        return inner
            .parse::<Ipv6Addr>()
            .map(|ip| ip.to_string())
            .map_err(|_| error("not an IPv6 address between the brackets"));
    }
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(ip.to_string());
    }
    let host = name.strip_suffix('.').unwrap_or(name);
    if host.is_empty() {
        return Err(error("empty name"));
    }
    if host.len() > MAX_NAME {
        return Err(error("longer than 253 characters"));
    }
    for label in host.split('.') {
        if label.is_empty() {
            return Err(error("empty label (two dots in a row)"));
        }
        if label.len() > MAX_LABEL {
            return Err(error("a label is longer than 63 characters"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(error(
                "only letters, digits, '-', '_' and '.' are allowed in a host name",
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(error("a label may not start or end with '-'"));
        }
    }
    Ok(host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::parse_domain;

    #[test]
    fn canonical_forms() {
        assert_eq!(parse_domain("Example.COM").as_deref(), Ok("example.com"));
        assert_eq!(
            parse_domain("sip.example.com.").as_deref(),
            Ok("sip.example.com")
        );
        assert_eq!(parse_domain("192.0.2.1").as_deref(), Ok("192.0.2.1"));
        assert_eq!(parse_domain("[2001:DB8::1]").as_deref(), Ok("2001:db8::1"));
        assert_eq!(parse_domain("2001:db8::1").as_deref(), Ok("2001:db8::1"));
        assert_eq!(parse_domain("my_host").as_deref(), Ok("my_host"));
    }

    #[test]
    fn bad_names_say_why() {
        for (name, expected) in [
            ("", "empty name"),
            ("a..b", "empty label"),
            ("exa mple.com", "only letters"),
            ("-example.com", "may not start or end"),
            ("[nope]", "not an IPv6 address"),
            ("sip:example.com", "only letters"),
        ] {
            let message = parse_domain(name).expect_err(name).to_string();
            assert!(message.contains(expected), "{name}: {message}");
        }
    }
}
