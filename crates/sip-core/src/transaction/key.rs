//! Transaction identity.
//!
//! A server transaction is found by the top Via's branch, sent-by and the method (ACK
//! counts as INVITE), RFC 3261 §17.2.3; a request whose branch lacks the `z9hG4bK`
//! cookie falls back to the RFC 2543 rule (Request-URI, From tag, Call-ID, CSeq, top
//! Via). A client transaction is found by the branch and CSeq method of the response
//! (§17.1.3).

use sip_msg::{Message, ParseError};

/// The identity of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransactionKey {
    /// RFC 3261 matching.
    Branch {
        /// The branch parameter, as written (compared exactly).
        branch: String,
        /// Sent-by host (lower case) and port, empty for client keys.
        sent_by: String,
        /// The method, ACK mapped to INVITE.
        method: String,
    },
    /// RFC 2543 matching for branches without the magic cookie.
    Legacy {
        /// Request-URI, From tag, Call-ID, CSeq number, method (ACK as INVITE) and the
        /// top Via, joined.
        parts: String,
    },
}

fn method_key(method: &str) -> &str {
    if method == "ACK" { "INVITE" } else { method }
}

/// A server transaction's RFC 3261 key: the top Via's branch and sent-by, and the
/// method (ACK already mapped to INVITE).
fn server_branch_key(via: &sip_msg::headers::Via<'_>, method: &str) -> TransactionKey {
    TransactionKey::Branch {
        branch: via.branch().unwrap_or("").to_owned(),
        sent_by: format!(
            "{}:{}",
            via.host_str.to_ascii_lowercase(),
            via.sent_by_port()
        ),
        method: method.to_owned(),
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
            let cseq = msg.cseq()?;
            Ok(TransactionKey::Legacy {
                parts: format!(
                    "{}|{}|{}|{}|{}|{}",
                    msg.request_uri_str().unwrap_or(""),
                    msg.from()?.tag().unwrap_or(""),
                    msg.call_id()?,
                    cseq.seq,
                    method,
                    via.raw
                ),
            })
        }
    }

    /// The key of the client transaction a response belongs to.
    pub fn for_response(msg: &Message) -> Result<TransactionKey, ParseError> {
        let via = msg.top_via()?;
        let cseq = msg.cseq()?;
        Ok(TransactionKey::Branch {
            branch: via.branch().unwrap_or("").to_owned(),
            sent_by: String::new(),
            method: cseq.method_str.to_owned(),
        })
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
        TransactionKey::Branch {
            branch: branch.to_owned(),
            sent_by: String::new(),
            method: method_str.to_owned(),
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
        assert_ne!(TransactionKey::for_request(&cancel).expect("key"), inv);
        let other_host = msg(&INVITE.replace("Host.example.com", "host.example.com:5060"));
        assert_eq!(TransactionKey::for_request(&other_host).expect("key"), inv);
        let ok = msg(&INVITE
            .replace("INVITE sip:b@example.com SIP/2.0", "SIP/2.0 200 OK")
            .replace("b@example.com>", "b@example.com>;tag=9"));
        assert_eq!(TransactionKey::for_sent_response(&ok), Some(inv));
    }

    #[test]
    fn legacy_keys() {
        let old = INVITE.replace("branch=z9hG4bK1", "branch=1");
        let inv = TransactionKey::for_request(&msg(&old)).expect("key");
        assert!(matches!(inv, TransactionKey::Legacy { .. }));
        let ack = old
            .replace("INVITE sip", "ACK sip")
            .replace("1 INVITE", "1 ACK")
            .replace("b@example.com>", "b@example.com>;tag=9");
        assert_eq!(TransactionKey::for_request(&msg(&ack)).expect("key"), inv);
    }
}
