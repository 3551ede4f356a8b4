//! The real resolver against a real DNS server: dnsmasq serving a few test
//! zones on a free loopback port.
//!
//! dnsmasq must be installed (`/usr/sbin/dnsmasq` or on the PATH, or
//! `DNSMASQ` naming it): without it this test fails rather than pass
//! without testing.

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sip_dns::{
    DnsError, HickoryLookup, Hop, LocateError, LocateTarget, Locator, Lookup, Transport,
};

/// A dnsmasq child process, killed on drop.
struct Dnsmasq {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// dnsmasq in /usr/sbin (Debian's dnsmasq-base) or on the PATH.
fn find_dnsmasq() -> Option<String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::iter::once(std::path::PathBuf::from("/usr/sbin"))
        .chain(std::env::split_paths(&path))
        .map(|dir| dir.join("dnsmasq"))
        .find(|candidate| candidate.is_file())
        .map(|found| found.to_string_lossy().into_owned())
}

fn free_port() -> u16 {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a UDP socket");
    socket.local_addr().expect("local address").port()
}

/// A DNS query for the A record of `name`, by hand (header, question).
fn a_query(name: &str) -> Vec<u8> {
    let mut packet = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        packet.push(u8::try_from(label.len()).expect("short label"));
        packet.extend_from_slice(label.as_bytes());
    }
    packet.extend_from_slice(&[0, 0, 1, 0, 1]);
    packet
}

impl Dnsmasq {
    fn start(records: &[&str]) -> Dnsmasq {
        let program = std::env::var("DNSMASQ")
            .ok()
            .or_else(find_dnsmasq)
            .unwrap_or_default();
        assert!(
            !program.is_empty() && std::path::Path::new(&program).exists(),
            "dnsmasq is needed for this test and was not found at {program}: \
             install it (apt-get install dnsmasq-base) or name it in DNSMASQ"
        );
        let port = free_port();
        let mut child = Command::new(&program)
            .args([
                "--no-daemon",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                "--listen-address=127.0.0.1",
                "--local-ttl=300",
                // Answer NXDOMAIN/NODATA for these zones instead of REFUSED.
                "--local=/test/",
                "--local=/e164.arpa/",
            ])
            .arg(format!("--port={port}"))
            .args(records)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {program}: {e}"));
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));

        // Wait until it answers a query.
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a UDP socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("read timeout");
        let query = a_query("a-only.test");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().expect("dnsmasq status") {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                panic!("dnsmasq exited ({status}): {stderr}");
            }
            let _ = socket.send_to(&query, addr);
            let mut buf = [0u8; 512];
            if let Ok((n, _)) = socket.recv_from(&mut buf)
                && n >= 12
                && buf[..2] == query[..2]
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "dnsmasq did not answer on {addr}"
            );
        }
        Dnsmasq { child, addr }
    }
}

fn hop(transport: Transport, addr: &str) -> Hop {
    Hop {
        transport,
        addr: addr.parse().expect("test address"),
    }
}

fn plain(host: &str) -> LocateTarget {
    LocateTarget {
        host: host.into(),
        port: None,
        transport: None,
        secure: false,
    }
}

#[tokio::test]
async fn real_resolver_against_dnsmasq() {
    let server = Dnsmasq::start(&[
        "--srv-host=_sip._udp.srv.test,sip1.srv.test,5070,10,60",
        "--srv-host=_sip._udp.srv.test,sip2.srv.test,5071,20,10",
        "--srv-host=_sip._tcp.srv.test,sip1.srv.test,5072,10,0",
        "--host-record=sip1.srv.test,127.0.0.11",
        "--host-record=sip2.srv.test,127.0.0.13",
        "--host-record=a-only.test,127.0.0.12",
        "--host-record=dual.test,127.0.0.14,::1",
        "--naptr-record=naptr.test,10,10,s,SIP+D2T,,_sip._tcp.srv.test",
        "--naptr-record=9.8.7.6.5.4.3.2.1.3.3.e164.arpa,100,10,u,E2U+sip,!^.*$!sip:alice@example.test!",
    ]);
    let lookup = HickoryLookup::with_servers(&[server.addr]);

    // The records themselves, and how "nothing" is reported.
    let srv = lookup.srv("_sip._udp.srv.test").await.expect("SRV");
    assert_eq!(srv.len(), 2);
    assert!(
        srv.iter()
            .any(|r| r.target == "sip1.srv.test" && r.port == 5070)
    );
    assert_eq!(
        lookup.srv("_sip._udp.nx.test").await,
        Err(DnsError::NotFound)
    );
    assert_eq!(
        lookup.srv("_sip._udp.a-only.test").await,
        Err(DnsError::NotFound)
    );
    assert_eq!(lookup.naptr("a-only.test").await, Err(DnsError::NotFound));
    assert_eq!(
        lookup.ips("a-only.test").await,
        Ok(vec!["127.0.0.12".parse().expect("IP")])
    );

    let loc = Locator::new(lookup, vec![Transport::Udp, Transport::Tcp]);
    // SRV, priorities in order, then the TCP SRV.
    assert_eq!(
        loc.locate(&plain("srv.test")).await,
        Ok(vec![
            hop(Transport::Udp, "127.0.0.11:5070"),
            hop(Transport::Udp, "127.0.0.13:5071"),
            hop(Transport::Tcp, "127.0.0.11:5072"),
        ])
    );
    // NAPTR to the TCP SRV.
    assert_eq!(
        loc.locate(&plain("naptr.test")).await,
        Ok(vec![hop(Transport::Tcp, "127.0.0.11:5072")])
    );
    // A only: UDP 5060; IPv4 before IPv6.
    assert_eq!(
        loc.locate(&plain("a-only.test")).await,
        Ok(vec![hop(Transport::Udp, "127.0.0.12:5060")])
    );
    assert_eq!(
        loc.locate(&plain("dual.test")).await,
        Ok(vec![
            hop(Transport::Udp, "127.0.0.14:5060"),
            hop(Transport::Udp, "[::1]:5060"),
        ])
    );
    let nx = loc.locate(&plain("nx.test")).await;
    assert!(matches!(nx, Err(LocateError::NotFound(_))), "{nx:?}");

    // ENUM.
    assert_eq!(
        loc.enum_lookup("+33 1 23 45 67 89", "e164.arpa").await,
        Ok(Some("sip:alice@example.test".into()))
    );
    assert_eq!(
        loc.enum_lookup("+33 1 23 45 67 80", "e164.arpa").await,
        Ok(None)
    );
}

#[tokio::test]
async fn unreachable_server_is_a_failure() {
    // Nothing listens there: UDP gets port unreachable, TCP is refused.
    let port = free_port();
    let lookup = HickoryLookup::with_servers_timeout(
        &[SocketAddr::from((Ipv4Addr::LOCALHOST, port))],
        Duration::from_millis(300),
    );
    let loc = Locator::new(lookup, vec![Transport::Udp]);
    let target = LocateTarget {
        port: Some(5060),
        ..plain("a-only.test")
    };
    let result = tokio::time::timeout(Duration::from_secs(60), loc.locate(&target))
        .await
        .expect("the resolver gives up in time");
    assert!(matches!(result, Err(LocateError::Failed(_))), "{result:?}");
}
