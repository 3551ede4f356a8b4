//! From bindings to the branches of a request (RFC 3261 §16.5–§16.6): one serial group
//! per q value, highest first, its contacts tried in parallel; each branch reaches its UA
//! the way the binding says.

use crate::binding::Binding;
use sip_core::proxy::routing::numeric_next_hop;
use sip_core::proxy::{Peer, Target};
use sip_msg::headers::NameAddr;
use sip_msg::{HeaderName, Uri};

/// The branch for one binding:
/// - through its Path, to the first Path entry (the edge proxy that relayed the
///   REGISTER, which is also where the REGISTER came from when the entry needs DNS);
/// - over the connection the UA registered on, when that was a stream (TCP): its
///   Contact may be an ephemeral port nobody listens on, or behind a NAT;
/// - where the REGISTER came from when the UA is behind a NAT (its Contact is private),
///   or registered a flow (RFC 5626 `reg-id`: requests go down the flow it opened);
/// - else to the Contact's address, or where the REGISTER came from when the Contact
///   names a host that needs DNS.
pub fn target(b: &Binding) -> Option<Target> {
    let reach = b.reach.map(|r| Peer {
        transport: r.transport,
        remote: r.remote,
        local: r.local,
        conn: None,
    });
    let hop_of = |uri: Uri<'_>| {
        uri.as_sip()
            .and_then(|s| numeric_next_hop(s))
            .map(|h| Peer::at(h.transport, h.addr))
    };
    let to = if let Some(first) = b.path.first() {
        let entry = NameAddr::parse(first, HeaderName::Path).ok();
        entry.and_then(|e| hop_of(e.uri)).or(reach)?
    } else {
        match reach {
            Some(r)
                if r.transport.is_stream()
                    || b.reach.is_some_and(|reach| reach.nat)
                    || b.reg_id.is_some() =>
            {
                r
            }
            _ => Uri::parse(&b.contact).ok().and_then(hop_of).or(reach)?,
        }
    };
    Some(Target {
        request_uri: Some(b.contact.to_string()),
        route: b.path.clone(),
        to,
        failover: Vec::new(),
    })
}

/// The branches for `bindings` (highest q first, as [`crate::LocationService::lookup`]
/// returns them): one group per q value.
pub fn targets(bindings: &[Binding]) -> Vec<Vec<Target>> {
    let mut groups: Vec<(u16, Vec<Target>)> = Vec::new();
    for b in bindings {
        let Some(t) = target(b) else { continue };
        match groups.last_mut() {
            Some((q, group)) if *q == b.q => group.push(t),
            _ => groups.push((b.q, vec![t])),
        }
    }
    groups.into_iter().map(|(_, g)| g).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binding::Reach;
    use sip_msg::Transport;

    fn binding(contact: &str, q: u16, transport: Transport, path: &[&str]) -> Binding {
        Binding {
            contact: contact.into(),
            expires: 100,
            q,
            call_id: "c".into(),
            cseq: 1,
            instance: None,
            reg_id: None,
            path: path.iter().map(|p| p.to_string()).collect(),
            reach: Some(Reach {
                transport,
                remote: "203.0.113.5:40000".parse().expect("addr"),
                local: Some("192.0.2.1:5060".parse().expect("addr")),
                nat: false,
            }),
            user_agent: None,
            last_modified: 0,
        }
    }

    #[test]
    fn a_natted_binding_is_reached_at_its_source() {
        let mut b = binding("sip:a@192.168.1.10:5070", 1000, Transport::Udp, &[]);
        b.reach = b.reach.map(|r| Reach { nat: true, ..r });
        let t = target(&b).expect("t");
        assert_eq!(t.to.remote, "203.0.113.5:40000".parse().expect("addr"));
        assert_eq!(t.to.local, Some("192.0.2.1:5060".parse().expect("addr")));
        assert_eq!(
            t.request_uri.as_deref(),
            Some("sip:a@192.168.1.10:5070"),
            "the Request-URI stays the Contact it registered"
        );
    }

    #[test]
    fn udp_goes_to_the_contact_tcp_to_the_connection() {
        let udp = target(&binding("sip:a@10.0.0.1:5070", 1000, Transport::Udp, &[])).expect("t");
        assert_eq!(udp.to.remote, "10.0.0.1:5070".parse().expect("addr"));
        assert_eq!(udp.request_uri.as_deref(), Some("sip:a@10.0.0.1:5070"));
        let tcp = target(&binding(
            "sip:a@10.0.0.1:5070;transport=tcp",
            1000,
            Transport::Tcp,
            &[],
        ))
        .expect("t");
        assert_eq!(
            (tcp.to.transport, tcp.to.remote),
            (Transport::Tcp, "203.0.113.5:40000".parse().expect("addr"))
        );
        let named = target(&binding("sip:a@pc.example.org", 1000, Transport::Udp, &[])).expect("t");
        assert_eq!(named.to.remote, "203.0.113.5:40000".parse().expect("addr"));
    }

    #[test]
    fn path_leads_the_way() {
        let t = target(&binding(
            "sip:a@10.0.0.1",
            1000,
            Transport::Udp,
            &["<sip:198.51.100.7:5080;lr>", "<sip:edge2.example.net;lr>"],
        ))
        .expect("t");
        assert_eq!(t.to.remote, "198.51.100.7:5080".parse().expect("addr"));
        assert_eq!(t.route.len(), 2);
    }

    #[test]
    fn grouped_by_q() {
        let bs = [
            binding("sip:a@10.0.0.1", 900, Transport::Udp, &[]),
            binding("sip:a@10.0.0.2", 900, Transport::Udp, &[]),
            binding("sip:a@10.0.0.3", 500, Transport::Udp, &[]),
        ];
        let groups = targets(&bs);
        assert_eq!(groups.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
    }
}
