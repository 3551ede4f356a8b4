//! Gathering the domains this server treats as its own: the host name, every interface
//! address, every explicit listen address, and the configured domains. What they answer
//! is [`LocalDomains`]'s (sip-msg), which every layer asks.

pub use sip_msg::LocalDomains;
use sip_transport::ListenSpec;
use std::net::IpAddr;

/// The local domains for a server listening on `listen` with `configured` domains.
/// IPv6 addresses are written without brackets.
pub fn local_domains(configured: &[String], listen: &[ListenSpec]) -> LocalDomains {
    let host_name = gethostname::gethostname().to_string_lossy().into_owned();
    let interfaces = match if_addrs::get_if_addrs() {
        Ok(interfaces) => interfaces.into_iter().map(|i| i.ip()).collect(),
        Err(err) => {
            tracing::warn!("cannot list network interfaces: {err}");
            Vec::new()
        }
    };
    combine(&host_name, &interfaces, listen, configured)
}

/// Puts the sources together, in that order (without duplicates: [`LocalDomains::new`]).
fn combine(
    host_name: &str,
    interfaces: &[IpAddr],
    listen: &[ListenSpec],
    configured: &[String],
) -> LocalDomains {
    let listen_ips = listen
        .iter()
        .filter(|spec| !spec.is_wildcard())
        .map(|spec| spec.addr.ip());
    let candidates = std::iter::once(host_name.to_owned())
        .chain(
            interfaces
                .iter()
                .copied()
                .chain(listen_ips)
                .map(|ip| ip.to_string()),
        )
        .chain(configured.iter().cloned());
    LocalDomains::new(candidates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combines_host_interfaces_listen_and_configured_names_once() {
        let interfaces: Vec<IpAddr> =
            vec!["127.0.0.1".parse().expect("ip"), "::1".parse().expect("ip")];
        let listen: Vec<ListenSpec> = [
            "udp:0.0.0.0:5060",
            "tcp:192.0.2.7:5060",
            "udp:127.0.0.1:5070",
        ]
        .iter()
        .map(|s| s.parse().expect("spec"))
        .collect();
        let configured = vec!["example.com".to_owned(), "myhost".to_owned()];
        let domains = combine("MyHost", &interfaces, &listen, &configured);
        assert_eq!(
            domains.names(),
            ["myhost", "127.0.0.1", "::1", "192.0.2.7", "example.com"]
        );
    }

    #[test]
    fn includes_this_host() {
        let domains = local_domains(&[], &[]);
        let host_name = gethostname::gethostname()
            .to_string_lossy()
            .to_ascii_lowercase();
        assert!(domains.contains(&host_name), "{domains:?}");
    }
}
