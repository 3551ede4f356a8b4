//! A STUN Binding responder on the SIP UDP port (RFC 5389, and RFC 3489 for older
//! clients), so that a user agent behind a NAT can learn the public address and port
//! its datagrams arrive from, on the very socket it sends SIP on.
//!
//! Hand-written because it sits on the UDP receive path and needs only one message: a
//! Binding request is told apart from SIP by its first byte (a STUN message starts with
//! two zero bits, a SIP message with a letter or CR/LF), and answered with a Binding
//! success response carrying the source address: XOR-MAPPED-ADDRESS for RFC 5389
//! clients (recognised by the magic cookie), MAPPED-ADDRESS for both, and the
//! SOURCE-ADDRESS and CHANGED-ADDRESS that RFC 3489 clients expect (both ours: this
//! server has no second address to change to). A request asking to be answered from
//! another address or port (RFC 3489 CHANGE-REQUEST, for NAT type discovery) is not
//! answered, which is what that test expects of a server that cannot. Nothing else is
//! kept or answered.

use std::net::{IpAddr, SocketAddr};

/// RFC 5389 §6: the fixed value in bytes 4..8 of every new-style message.
const MAGIC_COOKIE: u32 = 0x2112_A442;
const HEADER: usize = 20;
const BINDING_REQUEST: u16 = 0x0001;
const BINDING_SUCCESS: u16 = 0x0101;
const MAPPED_ADDRESS: u16 = 0x0001;
const CHANGE_REQUEST: u16 = 0x0003;
const SOURCE_ADDRESS: u16 = 0x0004;
const CHANGED_ADDRESS: u16 = 0x0005;
const XOR_MAPPED_ADDRESS: u16 = 0x0020;

/// Whether a datagram is a STUN message rather than SIP: two leading zero bits, a
/// length that matches the datagram, in whole 4-byte words.
pub fn is_stun(data: &[u8]) -> bool {
    data.len() >= HEADER
        && data[0] & 0xC0 == 0
        && usize::from(u16::from_be_bytes([data[2], data[3]])) == data.len() - HEADER
        && (data.len() - HEADER).is_multiple_of(4)
}

/// The answer to a Binding request from `source` received on `local`; `None` for any
/// other datagram (other STUN messages are dropped without an answer).
pub fn binding_response(data: &[u8], source: SocketAddr, local: SocketAddr) -> Option<Vec<u8>> {
    if !is_stun(data)
        || u16::from_be_bytes([data[0], data[1]]) != BINDING_REQUEST
        || asks_for_change(&data[HEADER..])
    {
        return None;
    }
    let modern = u32::from_be_bytes([data[4], data[5], data[6], data[7]]) == MAGIC_COOKIE;
    // Bytes 4..20: the cookie and transaction ID (RFC 5389), or the 128-bit ID (3489).
    let id = &data[4..HEADER];
    let mut out = Vec::with_capacity(96);
    out.extend_from_slice(&BINDING_SUCCESS.to_be_bytes());
    out.extend_from_slice(&[0, 0]); // the length, filled in below
    out.extend_from_slice(id);
    if modern {
        let mut key = [0u8; 16];
        key.copy_from_slice(id);
        address(&mut out, XOR_MAPPED_ADDRESS, xor(source, &key));
    }
    address(&mut out, MAPPED_ADDRESS, source);
    if !modern {
        address(&mut out, SOURCE_ADDRESS, local);
        address(&mut out, CHANGED_ADDRESS, local);
    }
    let length = u16::try_from(out.len() - HEADER).ok()?;
    out[2..4].copy_from_slice(&length.to_be_bytes());
    Some(out)
}

/// Whether the attributes hold a CHANGE-REQUEST with the change-IP or change-port flag.
fn asks_for_change(mut attributes: &[u8]) -> bool {
    while attributes.len() >= 4 {
        let kind = u16::from_be_bytes([attributes[0], attributes[1]]);
        let len = usize::from(u16::from_be_bytes([attributes[2], attributes[3]]));
        let Some(value) = attributes.get(4..4 + len) else {
            return false;
        };
        if kind == CHANGE_REQUEST && value.len() == 4 && value[3] & 0x06 != 0 {
            return true;
        }
        // Values are padded to 4 bytes (RFC 5389 §15).
        attributes = attributes.get(4 + len.next_multiple_of(4)..).unwrap_or(&[]);
    }
    false
}

/// An address attribute: type, length, a zero byte, the family, the port, the address.
fn address(out: &mut Vec<u8>, kind: u16, addr: SocketAddr) {
    let (family, bytes): (u8, Vec<u8>) = match addr.ip() {
        IpAddr::V4(ip) => (1, ip.octets().to_vec()),
        IpAddr::V6(ip) => (2, ip.octets().to_vec()),
    };
    out.extend_from_slice(&kind.to_be_bytes());
    let length = 4 + bytes.len() as u16;
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&[0, family]);
    out.extend_from_slice(&addr.port().to_be_bytes());
    out.extend_from_slice(&bytes);
}

/// RFC 5389 §15.2: the port XORed with the cookie's high half, the address with the
/// cookie (IPv4) or the cookie and transaction ID (IPv6). `key` is bytes 4..20.
fn xor(addr: SocketAddr, key: &[u8; 16]) -> SocketAddr {
    let port = addr.port() ^ u16::from_be_bytes([key[0], key[1]]);
    let ip = match addr.ip() {
        IpAddr::V4(ip) => {
            let mut o = ip.octets();
            o.iter_mut().zip(key).for_each(|(b, k)| *b ^= k);
            IpAddr::from(o)
        }
        IpAddr::V6(ip) => {
            let mut o = ip.octets();
            o.iter_mut().zip(key).for_each(|(b, k)| *b ^= k);
            IpAddr::from(o)
        }
    };
    SocketAddr::new(ip, port)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(cookie: bool) -> Vec<u8> {
        let mut r = vec![0x00, 0x01, 0x00, 0x00];
        if cookie {
            r.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        } else {
            r.extend_from_slice(&[9, 9, 9, 9]);
        }
        r.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        r
    }

    /// The attributes of a response, as (type, value).
    fn attributes(msg: &[u8]) -> Vec<(u16, Vec<u8>)> {
        let mut out = Vec::new();
        let mut rest = &msg[HEADER..];
        while rest.len() >= 4 {
            let kind = u16::from_be_bytes([rest[0], rest[1]]);
            let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
            out.push((kind, rest[4..4 + len].to_vec()));
            rest = &rest[4 + len..];
        }
        out
    }

    fn decode(value: &[u8]) -> SocketAddr {
        let port = u16::from_be_bytes([value[2], value[3]]);
        let ip: IpAddr = match value[1] {
            1 => <[u8; 4]>::try_from(&value[4..8]).expect("4 bytes").into(),
            _ => <[u8; 16]>::try_from(&value[4..20])
                .expect("16 bytes")
                .into(),
        };
        SocketAddr::new(ip, port)
    }

    const LOCAL: &str = "192.0.2.1:5060";

    #[test]
    fn an_rfc5389_request_gets_the_source_xored_and_plain() {
        let source: SocketAddr = "203.0.113.7:40312".parse().expect("addr");
        let req = request(true);
        let resp = binding_response(&req, source, LOCAL.parse().expect("addr")).expect("answered");
        assert_eq!(&resp[0..2], &[0x01, 0x01], "Binding success");
        assert_eq!(&resp[4..20], &req[4..20], "same cookie and transaction ID");
        assert_eq!(
            usize::from(u16::from_be_bytes([resp[2], resp[3]])),
            resp.len() - 20
        );
        let attrs = attributes(&resp);
        let xored = attrs
            .iter()
            .find(|(k, _)| *k == XOR_MAPPED_ADDRESS)
            .expect("XOR-MAPPED");
        // Decoding by hand: port ^ 0x2112, address ^ 0x2112A442.
        let raw = decode(&xored.1);
        assert_eq!(raw.port() ^ 0x2112, 40312);
        let IpAddr::V4(ip) = raw.ip() else {
            panic!("IPv4")
        };
        assert_eq!(
            u32::from(ip) ^ MAGIC_COOKIE,
            u32::from_be_bytes([203, 0, 113, 7])
        );
        let plain = attrs
            .iter()
            .find(|(k, _)| *k == MAPPED_ADDRESS)
            .expect("MAPPED");
        assert_eq!(decode(&plain.1), source);
        assert!(!attrs.iter().any(|(k, _)| *k == CHANGED_ADDRESS));
    }

    #[test]
    fn ipv6_sources_are_xored_with_the_transaction_id_too() {
        let source: SocketAddr = "[2001:db8::7]:40312".parse().expect("addr");
        let req = request(true);
        let resp = binding_response(&req, source, "[2001:db8::1]:5060".parse().expect("addr"))
            .expect("answered");
        let attrs = attributes(&resp);
        let xored = attrs
            .iter()
            .find(|(k, _)| *k == XOR_MAPPED_ADDRESS)
            .expect("XOR-MAPPED");
        let mut key = [0u8; 16];
        key.copy_from_slice(&req[4..20]);
        assert_eq!(xor(decode(&xored.1), &key), source);
    }

    #[test]
    fn an_rfc3489_request_gets_mapped_source_and_changed_addresses() {
        let source: SocketAddr = "198.51.100.9:1024".parse().expect("addr");
        let req = request(false);
        let resp = binding_response(&req, source, LOCAL.parse().expect("addr")).expect("answered");
        assert_eq!(
            &resp[4..20],
            &req[4..20],
            "the 128-bit transaction ID echoed"
        );
        let attrs = attributes(&resp);
        let kinds: Vec<u16> = attrs.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, [MAPPED_ADDRESS, SOURCE_ADDRESS, CHANGED_ADDRESS]);
        assert_eq!(decode(&attrs[0].1), source);
        assert_eq!(decode(&attrs[1].1), LOCAL.parse().expect("addr"));
    }

    #[test]
    fn sip_keep_alives_and_other_stun_messages_are_not_answered() {
        let here: SocketAddr = LOCAL.parse().expect("addr");
        for not_stun in [
            &b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\r\n"[..],
            b"\r\n\r\n",
            &[0u8; 19],
        ] {
            assert!(!is_stun(not_stun));
            assert_eq!(binding_response(not_stun, here, here), None);
        }
        // A Binding response (type 0x0101), or a length that does not match: dropped.
        let mut response = request(true);
        response[1] = 0x01;
        response[0] = 0x01;
        assert_eq!(binding_response(&response, here, here), None);
        let mut short = request(true);
        short[3] = 8;
        assert_eq!(binding_response(&short, here, here), None);
        // RFC 3489 NAT discovery: "answer from another port" cannot be honoured.
        let mut change = request(false);
        change[3] = 8;
        change.extend_from_slice(&[0x00, 0x03, 0x00, 0x04, 0, 0, 0, 0x02]);
        assert_eq!(binding_response(&change, here, here), None);
        change[HEADER + 7] = 0;
        assert!(
            binding_response(&change, here, here).is_some(),
            "no change asked"
        );
    }
}
