//! Which domains are ours: the one answer every layer asks (the proxy for Route and
//! Request-URI, the router for registrations and local users, the admin tool for the
//! subscribers it accepts). It lives here, beside the URIs it judges, so that every
//! layer can ask it without depending on the proxy.
//!
//! The names are given (the server's config gathers its host name, interface addresses
//! and configured domains); this type only keeps them, lower case and each once, with
//! the ones that are IP addresses parsed, and answers the questions.

use crate::{Host, SipUri};
use std::net::{IpAddr, SocketAddr};

/// The local domains and aliases of this server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalDomains {
    /// Lower case, in the order given, each once. IPv6 addresses without brackets.
    names: Vec<String>,
    /// The names that are IP addresses.
    addresses: Vec<IpAddr>,
}

impl LocalDomains {
    /// The domains `names`, in order, without duplicates or empty names.
    pub fn new(names: impl IntoIterator<Item = String>) -> Self {
        let mut domains = LocalDomains::default();
        for name in names {
            let name = name.trim_matches(['[', ']']).to_ascii_lowercase();
            if name.is_empty() || domains.names.contains(&name) {
                continue;
            }
            if let Ok(ip) = name.parse::<IpAddr>() {
                domains.addresses.push(ip);
            }
            domains.names.push(name);
        }
        domains
    }

    /// The names, as given (lower case).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The names that are IP addresses.
    pub fn addresses(&self) -> &[IpAddr] {
        &self.addresses
    }

    /// Whether `name` (a host name, an address, an IPv6 address with or without
    /// brackets) is one of ours; case-insensitive.
    pub fn contains(&self, name: &str) -> bool {
        let bare = name.trim_matches(['[', ']']);
        // By name first (a realm, usually): an address is parsed only when no name
        // matched, for the forms written otherwise (`2001:db8:0::1`).
        self.names.iter().any(|n| n.eq_ignore_ascii_case(bare))
            || bare
                .parse::<IpAddr>()
                .is_ok_and(|ip| self.addresses.contains(&ip))
    }

    /// Whether `host` is one of ours, whatever the port (a registrar's view: an AOR in
    /// one of our domains).
    pub fn contains_host(&self, host: &Host<'_>) -> bool {
        match host {
            Host::Domain(name) => self.names.iter().any(|n| n.eq_ignore_ascii_case(name)),
            _ => host.ip().is_some_and(|ip| self.addresses.contains(&ip)),
        }
    }

    /// Whether `uri` names this server (a proxy's view), whose sockets are bound to
    /// `binds`: one of its domains without a port (RFC 3263 would bring it to us), or
    /// one of its domains or addresses with the port of one of its sockets (no port
    /// meaning the transport's default).
    pub fn is_own_uri(
        &self,
        uri: &SipUri<'_>,
        binds: impl Iterator<Item = SocketAddr> + Clone,
    ) -> bool {
        let host_local = match uri.host {
            Host::Domain(_) => self.contains_host(&uri.host),
            Host::V4(_) | Host::V6(_) => {
                let ip = uri.host.ip();
                self.contains_host(&uri.host) || binds.clone().any(|b| Some(b.ip()) == ip)
            }
        };
        if !host_local {
            return false;
        }
        if uri.port.is_none() && matches!(uri.host, Host::Domain(_)) {
            return true;
        }
        let port = uri.port.unwrap_or(if uri.secure { 5061 } else { 5060 });
        binds.into_iter().any(|b| b.port() == port)
    }

    /// Whether `uri` is for one of our domains (a proxy's view): a domain name of ours
    /// whatever the port; an address of ours only on one of our ports (another port on
    /// the same address is another server).
    pub fn is_local_domain(
        &self,
        uri: &SipUri<'_>,
        binds: impl Iterator<Item = SocketAddr> + Clone,
    ) -> bool {
        match uri.host {
            Host::Domain(_) => self.contains_host(&uri.host),
            _ => self.is_own_uri(uri, binds),
        }
    }
}

impl From<Vec<String>> for LocalDomains {
    fn from(names: Vec<String>) -> Self {
        LocalDomains::new(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Uri;

    fn domains() -> LocalDomains {
        LocalDomains::new(
            [
                "Example.COM",
                "192.0.2.1",
                "[2001:db8::1]",
                "example.com",
                "",
            ]
            .map(String::from),
        )
    }

    fn udp(bind: &str) -> SocketAddr {
        bind.parse().expect("address")
    }

    fn own(uri: &str, binds: &[SocketAddr]) -> (bool, bool) {
        let parsed = Uri::parse(uri).expect("URI");
        let sip = parsed.as_sip().expect("SIP URI");
        let d = domains();
        (
            d.is_own_uri(sip, binds.iter().copied()),
            d.is_local_domain(sip, binds.iter().copied()),
        )
    }

    #[test]
    fn names_are_kept_lower_case_once_with_their_addresses() {
        let d = domains();
        assert_eq!(d.names(), ["example.com", "192.0.2.1", "2001:db8::1"]);
        assert_eq!(d.addresses().len(), 2);
        assert!(
            d.contains("EXAMPLE.com") && d.contains("[2001:db8::1]") && d.contains("2001:DB8::1")
        );
        assert!(!d.contains("example.org") && !d.contains("192.0.2.2"));
    }

    #[test]
    fn a_uri_names_us_by_domain_or_by_address_and_port() {
        let ifaces = [udp("192.0.2.1:5060")];
        assert_eq!(own("sip:example.com", &ifaces), (true, true));
        assert_eq!(
            own("sip:alice@EXAMPLE.com:5099", &ifaces),
            (false, true),
            "our domain, not our port"
        );
        assert_eq!(own("sip:192.0.2.1", &ifaces), (true, true));
        assert_eq!(
            own("sip:192.0.2.1:5070", &ifaces),
            (false, false),
            "another server on our address"
        );
        assert_eq!(own("sip:example.org", &ifaces), (false, false));
        // An interface address is ours though not among the domains.
        assert_eq!(
            own("sip:198.51.100.7", &[udp("198.51.100.7:5060")]),
            (true, true)
        );
    }
}
