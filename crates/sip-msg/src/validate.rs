//! The checks a message must pass before a server acts on it (RFC 3261 §8.1.1, §8.2,
//! §16.3): the mandatory headers are present once and well formed, the CSeq method
//! matches, every Via, Contact, Route and Record-Route value parses.
//!
//! What a server *supports* (URI schemes, extensions, methods) is policy and is checked
//! by the server, not here.

use crate::error::ParseError;
use crate::header::HeaderName;
use crate::message::Message;

impl Message {
    /// Checks the message. The error says what the server answers (for a request) or
    /// why it drops it (for a response).
    pub fn validate(&self) -> Result<(), ParseError> {
        self.call_id()?;
        let cseq = self.cseq()?;
        self.from()?;
        self.to()?;
        if self.count(HeaderName::Via) == 0 {
            return Err(ParseError::Missing(HeaderName::Via));
        }
        // The top one through the message's cache: everyone reads it again.
        self.top_via()?;
        for via in self.vias().skip(1) {
            via?;
        }
        self.max_forwards()?;
        for c in self.contacts() {
            c?;
        }
        for r in self
            .routes()
            .chain(self.record_routes())
            .chain(self.paths())
        {
            r?;
        }
        for t in self.require().chain(self.proxy_require()) {
            t?;
        }
        self.content_type()?;
        for w in self.warnings() {
            w?;
        }
        if let Some(method) = self.method_str() {
            if cseq.method_str != method {
                return Err(ParseError::CSeqMethod);
            }
            self.expires()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn check(text: &str) -> Result<(), ParseError> {
        Message::parse(Bytes::from(text.replace('\n', "\r\n")))?.validate()
    }

    const BASE: &str = "OPTIONS sip:a@example.com SIP/2.0\n\
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\n\
From: <sip:b@example.com>;tag=1\n\
To: <sip:a@example.com>\n\
Call-ID: x@y\n\
CSeq: 1 OPTIONS\n\
Max-Forwards: 70\n\
Content-Length: 0\n\n";

    #[test]
    fn valid_base() {
        assert_eq!(check(BASE), Ok(()));
    }

    #[test]
    fn each_mandatory_header() {
        for (name, h) in [
            ("Call-ID", HeaderName::CallId),
            ("CSeq", HeaderName::CSeq),
            ("From", HeaderName::From),
            ("To", HeaderName::To),
            ("Via", HeaderName::Via),
        ] {
            let without: String = BASE
                .lines()
                .filter(|l| !l.starts_with(&format!("{name}:")))
                .map(|l| format!("{l}\n"))
                .collect();
            assert_eq!(check(&without), Err(ParseError::Missing(h)), "{name}");
        }
    }

    #[test]
    fn repeated_and_mismatched() {
        let twice = BASE.replace("Call-ID: x@y\n", "Call-ID: x@y\nCall-ID: z@y\n");
        assert_eq!(check(&twice), Err(ParseError::Repeated(HeaderName::CallId)));
        let mism = BASE.replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE");
        assert_eq!(check(&mism), Err(ParseError::CSeqMethod));
        let badmf = BASE.replace("Max-Forwards: 70", "Max-Forwards: seventy");
        assert_eq!(
            check(&badmf),
            Err(ParseError::Malformed(HeaderName::MaxForwards))
        );
        let badc = BASE.replace("Max-Forwards: 70", "Contact: <sip:a@b>;;x");
        assert_eq!(
            check(&badc),
            Err(ParseError::Malformed(HeaderName::Contact))
        );
    }
}
