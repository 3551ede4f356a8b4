//! Request sanity checks (RFC 3261 §8.2.1–§8.2.2 for what we serve, §16.3 for what we
//! relay). They run after the message parsed and before any routing decision; the
//! checks that are RFC obligations cannot be switched off by configuration.

use crate::reply::Reply;
use sip_msg::{Message, Method, ParseError, Uri};

/// The option tags this server implements: `path` (RFC 3327, the registrar stores and
/// follows Path). A proxy passes unknown extensions through unless they are in
/// Proxy-Require.
pub const SUPPORTED_EXTENSIONS: &[&str] = &["path", "outbound"];

/// [`SUPPORTED_EXTENSIONS`] as the value of a Supported header.
pub const SUPPORTED_HEADER: &str = "path, outbound";

/// Checks a parsed request. `for_us` says whether the server itself is the UAS (the
/// Request-URI names one of its domains), which decides whether Require applies and
/// whether Max-Forwards 0 still lets the request through (RFC 3261 §16.3 lets a proxy
/// answer an OPTIONS for itself).
pub fn check_request(msg: &Message, for_us: bool) -> Result<(), Reply> {
    if let Err(e) = msg.validate() {
        // An unknown method whose CSeq disagrees: RFC 4475 §3.1.2.18 allows 400 but
        // prefers 501, which stays right when the method becomes known to a later
        // version. A known method with a mismatch is a plain 400 (§3.1.2.17).
        if e == ParseError::CSeqMethod && msg.method() == Some(Method::Other) {
            return Err(Reply::new(501, "Not Implemented"));
        }
        return Err(e.into());
    }
    match msg.request_uri() {
        Some(Uri::Sip(_)) | Some(Uri::Tel(_)) => {}
        _ => return Err(Reply::new(416, "Unsupported URI Scheme")),
    }
    let mut unsupported: Vec<String> = Vec::new();
    let mut demand =
        |tags: &mut dyn Iterator<Item = Result<&str, ParseError>>| -> Result<(), Reply> {
            for tag in tags {
                let tag = tag?;
                if !SUPPORTED_EXTENSIONS
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(tag))
                {
                    unsupported.push(tag.to_owned());
                }
            }
            Ok(())
        };
    demand(&mut msg.proxy_require())?;
    if for_us && msg.method() != Some(Method::Ack) && msg.method() != Some(Method::Cancel) {
        demand(&mut msg.require())?;
    }
    if !unsupported.is_empty() {
        return Err(Reply::new(420, "Bad Extension").header("Unsupported", unsupported.join(", ")));
    }
    if msg.max_forwards()? == Some(0) && !(for_us && msg.method() == Some(Method::Options)) {
        return Err(Reply::new(483, "Too Many Hops"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn supported_header_lists_the_extensions() {
        assert_eq!(SUPPORTED_HEADER, SUPPORTED_EXTENSIONS.join(", "));
    }

    fn request(first: &str, cseq_method: &str) -> Message {
        Message::parse(Bytes::from(format!(
            "{first}\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c\r\nCSeq: 8 {cseq_method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )))
        .expect("parses")
    }

    #[test]
    fn cseq_mismatch_with_an_unknown_method_is_501() {
        // RFC 4475 §3.1.2.18 (mismatch02).
        let unknown = request("NEWMETHOD sip:user@example.com SIP/2.0", "INVITE");
        assert_eq!(check_request(&unknown, true).map_err(|r| r.code), Err(501));
        assert_eq!(check_request(&unknown, false).map_err(|r| r.code), Err(501));
        // RFC 4475 §3.1.2.17 (mismatch01).
        let known = request("OPTIONS sip:user@example.com SIP/2.0", "INVITE");
        assert_eq!(check_request(&known, true).map_err(|r| r.code), Err(400));
    }
}
