//! Multicast listen addresses (the SIP group 224.0.1.75), on the loopback interface so
//! that no datagram leaves the host. Linux only: membership is read from /proc.

use super::{PATIENCE, options, start};
use sip_msg::Transport;
use sip_transport::{BindError, ListenSpec, TransportConfig, Transports};
use std::net::{Ipv4Addr, SocketAddr};
use tokio::net::UdpSocket;
use tokio::time::timeout;

const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 1, 75);

/// The groups joined on `device`, as /proc/net/igmp (IPv4) or /proc/net/igmp6 (IPv6)
/// writes them.
fn joined(file: &str, device: &str) -> Vec<String> {
    let table = std::fs::read_to_string(file).expect("readable");
    if file.ends_with('6') {
        // "1    lo              ff020000000000000000000000000075     1 00000004 0"
        return table
            .lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace().skip(1);
                (fields.next() == Some(device)).then(|| fields.next().map(str::to_owned))?
            })
            .collect();
    }
    // A device line ("1\tlo        :     2      V3") then its groups, each on a line
    // that starts with a tab ("\t\t\t\t4B0100E0     1 0:00000000\t\t0").
    let mut groups = Vec::new();
    let mut current = false;
    for line in table.lines().skip(1) {
        if line.starts_with('\t') {
            if current {
                groups.extend(line.split_whitespace().next().map(str::to_owned));
            }
        } else {
            current = line.split_whitespace().nth(1) == Some(device);
        }
    }
    groups
}

/// A port free for UDP on every IPv4 address right now.
fn free_udp_port() -> u16 {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").expect("bind");
    socket.local_addr().expect("addr").port()
}

#[tokio::test]
async fn a_datagram_to_the_group_is_delivered_once_and_answered_from_unicast() {
    let port = free_udp_port();
    let config = TransportConfig {
        multicast_interface: Ipv4Addr::LOCALHOST,
        ..TransportConfig::default()
    };
    // A wildcard unicast socket on the same port: it must not get the group's datagrams.
    let mut server = start(
        &[
            &format!("udp:0.0.0.0:{port}"),
            &format!("udp:{GROUP}:{port}"),
        ],
        config,
    );
    // 224.0.1.75 in the kernel's byte order.
    assert!(
        joined("/proc/net/igmp", "lo").contains(&"4B0100E0".to_owned()),
        "group not joined on lo"
    );

    let client =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).expect("socket");
    client
        .set_multicast_if_v4(&Ipv4Addr::LOCALHOST)
        .expect("IP_MULTICAST_IF");
    client
        .set_multicast_loop_v4(true)
        .expect("IP_MULTICAST_LOOP");
    client
        .bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())
        .expect("bind");
    client.set_nonblocking(true).expect("non-blocking");
    let client = UdpSocket::from_std(client.into()).expect("tokio socket");
    let group = SocketAddr::from((GROUP, port));
    let message = options("mcast", "");
    client
        .send_to(message.as_bytes(), group)
        .await
        .expect("sent to the group");

    let inbound = server.next_message().await;
    assert_eq!(inbound.data, message.as_bytes());
    assert_eq!(inbound.local, group);
    assert_eq!(inbound.source, client.local_addr().expect("addr"));
    assert_eq!(inbound.transport, Transport::Udp);
    assert_eq!(inbound.conn, None);

    // The echo along the group's reply route leaves from the unicast socket.
    let mut reply = vec![0; 65_536];
    let (len, from) = timeout(PATIENCE, client.recv_from(&mut reply))
        .await
        .expect("reply within the patience")
        .expect("received");
    assert_eq!(&reply[..len], message.as_bytes());
    assert_eq!(from, SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    // Once only: the wildcard socket did not get a copy.
    server.assert_no_message().await;
}

#[tokio::test]
async fn an_ipv6_group_is_joined_on_the_interface_asked_for() {
    // Delivery is not checked: Linux has no IPv6 multicast route on lo, so a datagram
    // to the group cannot be sent there.
    let lo: u32 = std::fs::read_to_string("/sys/class/net/lo/ifindex")
        .expect("lo")
        .trim()
        .parse()
        .expect("an index");
    let config = TransportConfig {
        multicast_interface_v6: lo,
        ..TransportConfig::default()
    };
    let specs: Vec<ListenSpec> = ["udp:[::1]:0", "udp:[ff02::75]:0"]
        .iter()
        .map(|spec| spec.parse().expect("spec"))
        .collect();
    let transports = Transports::bind(&specs, config).expect("bound");
    let group = transports.local_specs()[1];
    assert!(group.addr.ip().is_multicast(), "{group}");
    assert!(
        joined("/proc/net/igmp6", "lo").contains(&"ff020000000000000000000000000075".to_owned()),
        "group not joined on lo"
    );
}

#[tokio::test]
async fn a_multicast_address_needs_udp_and_a_unicast_socket_to_answer_from() {
    for (specs, expected) in [
        (
            &["udp:224.0.1.75:5060"][..],
            "needs a unicast udp address of the same family",
        ),
        (
            &["udp:[::1]:0", "udp:224.0.1.75:5060"][..],
            "needs a unicast udp address of the same family",
        ),
        (
            &["udp:127.0.0.1:0", "tcp:224.0.1.75:5060"][..],
            "can only be listened on over udp",
        ),
    ] {
        let specs: Vec<ListenSpec> = specs.iter().map(|s| s.parse().expect("spec")).collect();
        let err = match Transports::bind(&specs, TransportConfig::default()) {
            Ok(_) => panic!("{specs:?} bound"),
            Err(err) => err,
        };
        assert!(matches!(err, BindError::Multicast { .. }), "{err}");
        assert!(err.to_string().contains(expected), "{err}");
    }
}
