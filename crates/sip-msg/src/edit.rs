//! Editing a message while writing it, without reparsing (Kamailio's "lumps").
//!
//! An [`Editor`] records insertions and replacements at byte offsets of the original
//! buffer. [`Editor::write`] streams the original bytes, splicing the edits in; what was
//! not edited is copied byte for byte. All inserted text lives in one arena string, so an
//! edit costs no allocation of its own.

use crate::header::{HeaderName, split_list};
use crate::message::{Message, Span};
use bytes::{BufMut, Bytes, BytesMut};
use std::fmt::Write as _;
use std::net::IpAddr;

/// One edit: replace `at..remove_to` of the original with `arena[text]`.
#[derive(Debug, Clone, Copy)]
struct Lump {
    at: u32,
    remove_to: u32,
    text: (u32, u32),
}

/// A list of edits to a message, applied when written.
#[derive(Debug)]
pub struct Editor<'m> {
    msg: &'m Message,
    arena: String,
    lumps: Vec<Lump>,
}

impl Message {
    /// Starts a list of edits on this message.
    pub fn edit(&self) -> Editor<'_> {
        // Room for the usual edits of a forwarded request (Via, Record-Route,
        // received/rport, Max-Forwards) without growing.
        Editor {
            msg: self,
            arena: String::with_capacity(256),
            lumps: Vec::with_capacity(8),
        }
    }
}

impl<'m> Editor<'m> {
    /// The message being edited.
    pub fn message(&self) -> &'m Message {
        self.msg
    }

    /// Records an edit whose text is `parts`, one after the other.
    fn lump(&mut self, at: usize, remove_to: usize, parts: &[&str]) {
        let start = self.arena.len();
        for part in parts {
            self.arena.push_str(part);
        }
        // Kept in offset order, those at one offset in the order made, so that writing
        // needs no sort.
        let lump = Lump {
            at: at as u32,
            remove_to: remove_to.max(at) as u32,
            text: (start as u32, self.arena.len() as u32),
        };
        let pos = self.lumps.partition_point(|l| l.at <= lump.at);
        self.lumps.insert(pos, lump);
    }

    /// Where the first header line starts (right after the start line).
    fn headers_start(&self) -> usize {
        self.msg.start_spans().2.end as usize
    }

    /// Replaces the Request-URI (requests only; no effect on a response).
    pub fn set_request_uri(&mut self, uri: &str) -> &mut Self {
        if self.msg.is_request() {
            let span = self.msg.start_spans().1;
            self.lump(span.start as usize, span.end as usize, &[uri]);
        }
        self
    }

    /// Inserts a Via value above every other (RFC 3261 §16.6 step 8).
    pub fn push_via(&mut self, value: &str) -> &mut Self {
        let at = self.headers_start();
        self.lump(at, at, &["Via: ", value, "\r\n"]);
        self
    }

    /// Removes the top Via value (RFC 3261 §16.7 step 3): the whole line when it holds one
    /// value, else only the first value of the line.
    pub fn remove_top_via(&mut self) -> &mut Self {
        self.remove_first_values(HeaderName::Via, 1)
    }

    /// Inserts a Record-Route value above the existing ones (RFC 3261 §16.6 step 4).
    pub fn push_record_route(&mut self, value: &str) -> &mut Self {
        let at = self
            .msg
            .fields
            .iter()
            .find(|f| f.name == HeaderName::RecordRoute)
            .map_or(self.headers_start(), |f| f.line.start as usize);
        self.lump(at, at, &["Record-Route: ", value, "\r\n"]);
        self
    }

    /// Sets Max-Forwards, replacing the value or adding the header.
    pub fn set_max_forwards(&mut self, n: u32) -> &mut Self {
        let mut digits = itoa::Buffer::new();
        let n = digits.format(n);
        match self
            .msg
            .fields
            .iter()
            .find(|f| f.name == HeaderName::MaxForwards)
            .copied()
        {
            Some(f) => self.lump(f.value.start as usize, f.value.end as usize, &[n]),
            None => {
                let at = self.msg.head_end as usize;
                self.lump(at, at, &["Max-Forwards: ", n, "\r\n"]);
            }
        }
        self
    }

    /// Records where the top Via really came from (RFC 3261 §18.2.1, RFC 3581 §4):
    /// `received` is added (or replaced) when `source` differs from the sent-by host or
    /// when rport was requested; an `rport` without value gets `port`.
    pub fn set_via_received(&mut self, source: IpAddr, port: u16) -> &mut Self {
        let Ok(via) = self.msg.top_via() else {
            return self;
        };
        // One walk over the parameters for the first `rport` and `received`.
        let (mut rport, mut received) = (None, None);
        for p in via.params.iter() {
            if rport.is_none() && p.name.eq_ignore_ascii_case("rport") {
                rport = Some(p);
            } else if received.is_none() && p.name.eq_ignore_ascii_case("received") {
                received = Some(p);
            }
            if rport.is_some() && received.is_some() {
                break;
            }
        }
        // Requested means present without a value: an `rport=junk` is left alone rather
        // than given a second value.
        let rport_requested = rport.is_some_and(|p| p.value.is_none());
        // The rport value goes first: when rport is the last parameter both edits land
        // at the same offset, and edits at one offset are written in the order made.
        if rport_requested
            && let Some(at) = rport
                .and_then(|p| self.msg.offset_of(p.name))
                .map(|a| a + 5)
        {
            self.lump(at, at, &["=", itoa::Buffer::new().format(port)]);
        }
        let received_is_address = received
            .and_then(|p| p.value)
            .is_some_and(|v| crate::headers::via::parse_received(v).is_some());
        if via.host.ip() != Some(source) || rport_requested || received_is_address {
            match received {
                Some(p) => {
                    if let Some(name_at) = self.msg.offset_of(p.name) {
                        // The whole parameter is replaced, `received` without a value too.
                        let end = p
                            .value
                            .and_then(|v| Some(self.msg.offset_of(v)? + v.len()))
                            .unwrap_or(name_at + p.name.len());
                        self.lump(name_at, end, &["received=", &IpText::new(source)]);
                    }
                }
                None => {
                    if let Some(at) = self.msg.offset_of(via.raw).map(|a| a + via.raw.len()) {
                        self.lump(at, at, &[";received=", &IpText::new(source)]);
                    }
                }
            }
        }
        self
    }

    /// Appends a header at the end of the header section.
    pub fn add_header(&mut self, name: &str, value: &str) -> &mut Self {
        let at = self.msg.head_end as usize;
        self.lump(at, at, &[name, ": ", value, "\r\n"]);
        self
    }

    /// Removes every line of the header `name`.
    pub fn remove_header(&mut self, name: HeaderName) -> &mut Self {
        let lines: Vec<Span> = self
            .msg
            .fields
            .iter()
            .filter(|f| f.name == name)
            .map(|f| f.line)
            .collect();
        for l in lines {
            self.lump(l.start as usize, l.end as usize, &[]);
        }
        self
    }

    /// Removes the first `n` values of the list header `name`, across its lines (a proxy
    /// popping its own Route entries, two of them after a double Record-Route).
    pub fn remove_first_values(&mut self, name: HeaderName, n: usize) -> &mut Self {
        let mut left = n;
        let fields: Vec<_> = self
            .msg
            .fields
            .iter()
            .filter(|f| f.name == name)
            .copied()
            .collect();
        for field in fields {
            if left == 0 {
                break;
            }
            let value = self.msg.head_str().get(field.value.range()).unwrap_or("");
            let values: Vec<&str> = split_list(value).collect();
            if values.len() <= left {
                left -= values.len();
                self.lump(field.line.start as usize, field.line.end as usize, &[]);
            } else {
                if let Some(keep_at) = self.msg.offset_of(values[left]) {
                    self.lump(field.value.start as usize, keep_at, &[]);
                }
                left = 0;
            }
        }
        self
    }

    /// Removes the first value of the list header `name`.
    pub fn remove_first_value(&mut self, name: HeaderName) -> &mut Self {
        self.remove_first_values(name, 1)
    }

    /// Writes the edited message.
    pub fn write(&self, out: &mut BytesMut) {
        let len = self.msg.as_bytes().len();
        self.write_range(0, len, out);
    }

    /// Writes bytes `from..to` of the original with the edits that fall inside applied.
    /// Edits are applied in offset order; those at the same offset in the order they were
    /// made. An edit inside a part another edit removed is dropped, but one that starts
    /// exactly where the removed part starts is kept: inserting a Via above the first
    /// line and removing that line are independent, whatever order they were made in.
    pub(crate) fn write_range(&self, from: usize, to: usize, out: &mut BytesMut) {
        let buf = self.msg.as_bytes();
        out.reserve(to - from + self.arena.len());
        let mut cursor = from;
        let mut last_at = None;
        let first = self.lumps.partition_point(|l| (l.at as usize) < from);
        for l in &self.lumps[first..] {
            if l.at as usize > to {
                break;
            }
            let (at, remove_to) = (l.at as usize, l.remove_to as usize);
            if at > to || (at == to && remove_to > to) || (at < cursor && last_at != Some(at)) {
                continue;
            }
            out.put_slice(&buf[cursor.min(at)..at]);
            out.put_slice(&self.arena.as_bytes()[l.text.0 as usize..l.text.1 as usize]);
            cursor = cursor.max(remove_to.min(to).max(at));
            last_at = Some(at);
        }
        out.put_slice(&buf[cursor..to]);
    }

    /// The edited message as new bytes.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::new();
        self.write(&mut out);
        out.freeze()
    }
}

/// An address as written in a Via parameter (IPv6 in brackets, RFC 5118 §4.5 shows
/// both forms; brackets are what most stacks expect), formatted on the stack: it is
/// written into every response and forwarded request, and std's `Display` for
/// addresses costs more than the rest of the edit.
pub(crate) struct IpText {
    buf: [u8; 48],
    len: usize,
}

impl IpText {
    /// Formats `ip`.
    pub(crate) fn new(ip: IpAddr) -> IpText {
        let mut t = IpText {
            buf: [0; 48],
            len: 0,
        };
        match ip {
            IpAddr::V4(a) => {
                for (i, octet) in a.octets().into_iter().enumerate() {
                    if i > 0 {
                        t.push(b".");
                    }
                    t.push(itoa::Buffer::new().format(octet).as_bytes());
                }
            }
            // Rare enough for std's formatter; 47 bytes hold any bracketed address.
            IpAddr::V6(a) => {
                let _ = write!(t, "[{a}]");
            }
        }
        t
    }

    fn push(&mut self, bytes: &[u8]) {
        let end = (self.len + bytes.len()).min(self.buf.len());
        self.buf[self.len..end].copy_from_slice(&bytes[..end - self.len]);
        self.len = end;
    }
}

impl std::fmt::Write for IpText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.push(s.as_bytes());
        Ok(())
    }
}

impl std::ops::Deref for IpText {
    type Target = str;
    fn deref(&self) -> &str {
        // Only ASCII digits, dots, colons, hex letters and brackets are ever pushed.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQ: &str = "INVITE sip:bob@biloxi.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8;rport, SIP/2.0/UDP other;branch=z9hG4bK2\r\n\
Via: SIP/2.0/TCP third;branch=z9hG4bK3\r\n\
Max-Forwards: 70\r\n\
Record-Route: <sip:p1.example.com;lr>\r\n\
To: Bob <sip:bob@biloxi.com>\r\n\
From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710\r\n\
CSeq: 314159 INVITE\r\n\
Content-Length: 0\r\n\r\n";

    fn msg(s: &str) -> Message {
        Message::parse(Bytes::copy_from_slice(s.as_bytes())).expect("parses")
    }

    #[test]
    fn no_edits_is_byte_identical() {
        let m = msg(REQ);
        assert_eq!(&m.edit().to_bytes()[..], REQ.as_bytes());
    }

    #[test]
    fn proxy_edits() {
        let m = msg(REQ);
        let mut e = m.edit();
        e.set_request_uri("sip:bob@192.0.2.4:5062")
            .push_via("SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1")
            .push_record_route("<sip:proxy.example.com;lr>")
            .set_max_forwards(69);
        let out = msg(std::str::from_utf8(&e.to_bytes()).expect("utf8"));
        assert_eq!(out.request_uri_str(), Some("sip:bob@192.0.2.4:5062"));
        let vias: Vec<_> = out
            .vias()
            .map(|v| v.expect("via").host_str.to_owned())
            .collect();
        assert_eq!(
            vias,
            ["proxy.example.com", "pc33.atlanta.com", "other", "third"]
        );
        let rr: Vec<_> = out
            .record_routes()
            .map(|r| r.expect("rr").uri.to_string())
            .collect();
        assert_eq!(rr, ["sip:proxy.example.com;lr", "sip:p1.example.com;lr"]);
        assert_eq!(out.max_forwards(), Ok(Some(69)));
        assert_eq!(out.validate(), Ok(()));
    }

    #[test]
    fn remove_top_via_value_or_line() {
        let m = msg(REQ);
        let once = m.edit().remove_top_via().to_bytes();
        let m1 = Message::parse(once).expect("parses");
        let vias: Vec<_> = m1
            .vias()
            .map(|v| v.expect("via").host_str.to_owned())
            .collect();
        assert_eq!(vias, ["other", "third"]);
        let twice = m1.edit().remove_top_via().to_bytes();
        let m2 = Message::parse(twice).expect("parses");
        assert_eq!(m2.count(HeaderName::Via), 1);
        assert_eq!(m2.top_via().expect("via").host_str, "third");
    }

    #[test]
    fn insert_and_remove_at_the_same_offset_in_any_order() {
        // Found by the property tests: removing the top Via line first made a Via pushed
        // at the same offset (the first header line) disappear.
        let m = msg(&REQ.replace(", SIP/2.0/UDP other;branch=z9hG4bK2", ""));
        for remove_first in [true, false] {
            let mut e = m.edit();
            if remove_first {
                e.remove_top_via()
                    .push_via("SIP/2.0/UDP new;branch=z9hG4bKn");
            } else {
                e.push_via("SIP/2.0/UDP new;branch=z9hG4bKn")
                    .remove_top_via();
            }
            let out = Message::parse(e.to_bytes()).expect("parses");
            let vias: Vec<_> = out
                .vias()
                .map(|v| v.expect("via").host_str.to_owned())
                .collect();
            assert_eq!(vias, ["new", "third"], "remove first: {remove_first}");
        }
    }

    #[test]
    fn received_and_rport() {
        let m = msg(REQ);
        let out = m
            .edit()
            .set_via_received("192.0.2.77".parse().expect("ip"), 40000)
            .to_bytes();
        let m = Message::parse(out).expect("parses");
        let v = m.top_via().expect("via");
        assert_eq!(v.received(), Some("192.0.2.77".parse().expect("ip")));
        assert_eq!(v.rport(), Some(Some(40000)));
        assert_eq!(v.branch(), Some("z9hG4bKnashds8"));
        // Replacing an existing received, no rport requested.
        let m2 = msg(&REQ.replace(";rport", ";received=10.0.0.1"));
        let out = m2
            .edit()
            .set_via_received("192.0.2.78".parse().expect("ip"), 1)
            .to_bytes();
        let v2 = Message::parse(out).expect("parses");
        let v2 = v2.top_via().expect("via");
        assert_eq!(v2.received(), Some("192.0.2.78".parse().expect("ip")));
        assert_eq!(v2.rport(), None);
    }

    #[test]
    fn remove_first_values_across_lines() {
        let m = msg(&REQ.replace(
            "Max-Forwards: 70\r\n",
            "Route: <sip:a;lr>, <sip:b;lr>, <sip:c;lr>\r\nRoute: <sip:d;lr>\r\nMax-Forwards: 70\r\n",
        ));
        let routes = |n: usize| {
            let out = Message::parse(
                m.edit()
                    .remove_first_values(HeaderName::Route, n)
                    .to_bytes(),
            )
            .expect("parses");
            out.list(HeaderName::Route)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(routes(1), ["<sip:b;lr>", "<sip:c;lr>", "<sip:d;lr>"]);
        assert_eq!(routes(2), ["<sip:c;lr>", "<sip:d;lr>"]);
        assert_eq!(routes(3), ["<sip:d;lr>"]);
        assert!(routes(4).is_empty());
    }

    #[test]
    fn received_without_a_value_is_filled_in() {
        // Found by the fuzzer: `;received` with no value was left as it was, so the
        // response carried no received address.
        let m = msg(&REQ.replace(";rport", ";received"));
        let out = m
            .edit()
            .set_via_received("192.0.2.77".parse().expect("ip"), 5060)
            .to_bytes();
        let m = Message::parse(out).expect("parses");
        let v = m.top_via().expect("via");
        assert_eq!(v.received(), Some("192.0.2.77".parse().expect("ip")));
        assert_eq!(v.params.iter().filter(|p| p.name == "received").count(), 1);
        assert_eq!(v.branch(), Some("z9hG4bKnashds8"));
    }

    #[test]
    fn rport_with_a_bad_value_is_not_given_a_second_one() {
        // Found by the fuzzer: `rport=2001:d` read as "rport requested" got `=40000`
        // inserted after its name, which broke the Via.
        let m = msg(&REQ.replace(";rport", ";rport=2001:d"));
        let out = m
            .edit()
            .set_via_received("192.0.2.77".parse().expect("ip"), 40000)
            .to_bytes();
        let m = Message::parse(out).expect("parses");
        let v = m.top_via().expect("the Via still parses");
        assert_eq!(v.params.get("rport"), Some(Some("2001:d")));
        assert_eq!(v.received(), Some("192.0.2.77".parse().expect("ip")));
    }

    #[test]
    fn max_forwards_added_when_absent_and_headers_removed() {
        let m = msg(&REQ.replace("Max-Forwards: 70\r\n", ""));
        let out = Message::parse(
            m.edit()
                .set_max_forwards(70)
                .remove_header(HeaderName::RecordRoute)
                .add_header("X-Test", "1")
                .to_bytes(),
        )
        .expect("parses");
        assert_eq!(out.max_forwards(), Ok(Some(70)));
        assert_eq!(out.count(HeaderName::RecordRoute), 0);
        assert_eq!(out.header_values_by_name("x-test").next(), Some("1"));
    }
}
