//! Transaction identity.
//!
//! A server transaction is found by the top Via's branch, sent-by and the method (ACK
//! counts as INVITE), RFC 3261 §17.2.3; a request whose branch lacks the `z9hG4bK`
//! cookie falls back to the RFC 2543 rule (Request-URI, From tag, Call-ID, CSeq, top
//! Via). A client transaction is found by the branch and CSeq method of the response
//! (§17.1.3).

use sip_msg::{Message, ParseError};
use std::fmt;
use std::sync::Arc;

/// The identity of a transaction: one shared string, so that the copies the proxy keeps
/// (the timer heap, a fork's branch list, each branch's link to its server transaction)
/// cost a reference count, not an allocation each.
///
/// RFC 3261 keys read `METHOD branch sent-by` (sent-by empty for client keys; method
/// is a token and sent-by holds no space, so the string splits one way only); RFC 2543
/// keys start with `|`, which no method token holds.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionKey(Arc<str>);

impl fmt::Debug for TransactionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TransactionKey({})", self.0)
    }
}

fn method_key(method: &str) -> &str {
    if method == "ACK" { "INVITE" } else { method }
}

fn branch_key(method: &str, branch: &str, sent_by: &str) -> TransactionKey {
    let mut k = KeyText::default();
    for part in [method, " ", branch, " ", sent_by] {
        k.push(part);
    }
    k.into_key()
}

/// A server transaction's RFC 3261 key: the top Via's branch and sent-by (host in lower
/// case, port), and the method (ACK already mapped to INVITE).
fn server_branch_key(via: &sip_msg::headers::Via<'_>, method: &str) -> TransactionKey {
    let mut k = KeyText::default();
    for part in [method, " ", via.branch().unwrap_or(""), " "] {
        k.push(part);
    }
    k.push_lowercase(via.host_str);
    k.push(":");
    k.push(itoa::Buffer::new().format(via.sent_by_port()));
    k.into_key()
}

/// A key's text, assembled on the stack (on the heap past [`KeyText::ROOM`] bytes), so
/// that the shared string is the key's only allocation.
struct KeyText {
    stack: [u8; KeyText::ROOM],
    len: usize,
    /// The text once it outgrew the stack.
    spilled: Option<String>,
}

impl Default for KeyText {
    fn default() -> Self {
        KeyText {
            stack: [0; KeyText::ROOM],
            len: 0,
            spilled: None,
        }
    }
}

impl KeyText {
    const ROOM: usize = 192;

    fn push(&mut self, part: &str) {
        if self.spilled.is_none() && self.len + part.len() > Self::ROOM {
            self.spilled = Some(self.text().to_owned());
        }
        match &mut self.spilled {
            Some(s) => s.push_str(part),
            None => {
                self.stack[self.len..self.len + part.len()].copy_from_slice(part.as_bytes());
                self.len += part.len();
            }
        }
    }

    fn push_lowercase(&mut self, part: &str) {
        self.push(part);
        match &mut self.spilled {
            Some(s) => {
                let at = s.len() - part.len();
                s[at..].make_ascii_lowercase();
            }
            None => self.stack[self.len - part.len()..self.len].make_ascii_lowercase(),
        }
    }

    fn text(&self) -> &str {
        match &self.spilled {
            Some(s) => s,
            // Whole strings one after the other, lower-cased in ASCII only: UTF-8.
            None => std::str::from_utf8(&self.stack[..self.len]).unwrap_or_default(),
        }
    }

    fn into_key(self) -> TransactionKey {
        TransactionKey(Arc::from(self.text()))
    }
}

impl TransactionKey {
    /// The key of the server transaction a request belongs to.
    pub fn for_request(msg: &Message) -> Result<TransactionKey, ParseError> {
        let via = msg.top_via()?;
        let method = method_key(msg.method_str().unwrap_or(""));
        if via.has_rfc3261_branch() {
            Ok(server_branch_key(&via, method))
        } else {
            // RFC 2543: Request-URI, From tag, Call-ID, CSeq number, method (ACK as
            // INVITE) and the top Via.
            let cseq = msg.cseq()?;
            let parts = format!(
                "|{}|{}|{}|{}|{}|{}",
                msg.request_uri_str().unwrap_or(""),
                msg.from()?.tag().unwrap_or(""),
                msg.call_id()?,
                cseq.seq,
                method,
                via.raw
            );
            Ok(TransactionKey(parts.into()))
        }
    }

    /// The key of the client transaction a response belongs to.
    pub fn for_response(msg: &Message) -> Result<TransactionKey, ParseError> {
        let via = msg.top_via()?;
        let cseq = msg.cseq()?;
        Ok(branch_key(cseq.method_str, via.branch().unwrap_or(""), ""))
    }

    /// The key of the server transaction that sent the response `msg` upstream (RFC 3261
    /// branches only; a legacy key needs the request).
    pub fn for_sent_response(msg: &Message) -> Option<TransactionKey> {
        let via = msg.top_via().ok()?;
        if !via.has_rfc3261_branch() {
            return None;
        }
        Some(server_branch_key(
            &via,
            method_key(msg.cseq().ok()?.method_str),
        ))
    }

    /// The key a client transaction registers for the request it sends (whose top Via
    /// carries our branch).
    pub fn for_client(branch: &str, method_str: &str) -> TransactionKey {
        branch_key(method_str, branch, "")
    }

    /// Whether this is an RFC 2543 key (a request without the `z9hG4bK` cookie).
    pub fn is_legacy(&self) -> bool {
        self.0.starts_with('|')
    }

    /// The key of the transaction with the same branch and sent-by but another method:
    /// the INVITE a CANCEL cancels (§9.2). An RFC 2543 key is returned unchanged.
    pub fn with_method(&self, method: &str) -> TransactionKey {
        match self.0.split_once(' ') {
            Some((_, rest)) if !self.is_legacy() => {
                let (branch, sent_by) = rest.rsplit_once(' ').unwrap_or((rest, ""));
                branch_key(method, branch, sent_by)
            }
            _ => self.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn msg(s: &str) -> Message {
        Message::parse(Bytes::from(s.replace('\n', "\r\n"))).expect("parses")
    }

    const INVITE: &str = "INVITE sip:b@example.com SIP/2.0\nVia: SIP/2.0/UDP Host.example.com;branch=z9hG4bK1\nFrom: <sip:a@x>;tag=1\nTo: <sip:b@example.com>\nCall-ID: c\nCSeq: 1 INVITE\n\n";

    #[test]
    fn ack_and_cancel_keys() {
        let inv = TransactionKey::for_request(&msg(INVITE)).expect("key");
        let ack = msg(&INVITE
            .replace("INVITE sip", "ACK sip")
            .replace("1 INVITE", "1 ACK")
            .replace("b@example.com>", "b@example.com>;tag=9"));
        assert_eq!(TransactionKey::for_request(&ack).expect("key"), inv);
        let cancel = msg(&INVITE
            .replace("INVITE sip", "CANCEL sip")
            .replace("1 INVITE", "1 CANCEL"));
        let cancel = TransactionKey::for_request(&cancel).expect("key");
        assert_ne!(cancel, inv);
        assert_eq!(cancel.with_method("INVITE"), inv);
        let other_host = msg(&INVITE.replace("Host.example.com", "host.example.com:5060"));
        assert_eq!(TransactionKey::for_request(&other_host).expect("key"), inv);
        let ok = msg(&INVITE
            .replace("INVITE sip:b@example.com SIP/2.0", "SIP/2.0 200 OK")
            .replace("b@example.com>", "b@example.com>;tag=9"));
        assert_eq!(TransactionKey::for_sent_response(&ok), Some(inv));
    }

    #[test]
    fn long_keys_are_whole() {
        let branch = format!("z9hG4bK{}", "x".repeat(300));
        let inv = msg(&INVITE.replace("z9hG4bK1", &branch));
        let key = TransactionKey::for_request(&inv).expect("key");
        assert_eq!(
            format!("{key:?}"),
            format!("TransactionKey(INVITE {branch} host.example.com:5060)")
        );
    }

    #[test]
    fn legacy_keys() {
        let old = INVITE.replace("branch=z9hG4bK1", "branch=1");
        let inv = TransactionKey::for_request(&msg(&old)).expect("key");
        assert!(inv.is_legacy());
        let ack = old
            .replace("INVITE sip", "ACK sip")
            .replace("1 INVITE", "1 ACK")
            .replace("b@example.com>", "b@example.com>;tag=9");
        assert_eq!(TransactionKey::for_request(&msg(&ack)).expect("key"), inv);
    }
}
