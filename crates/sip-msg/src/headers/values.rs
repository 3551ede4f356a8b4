//! Single-valued headers with small grammars: CSeq (§20.16), Content-Type (§20.15),
//! Retry-After (§20.33) and Warning (§20.43).

use crate::error::ParseError;
use crate::header::HeaderName;
use crate::message::Method;
use crate::params::Params;
use crate::scan::{Cursor, is_token, parse_u32, parse_u32_saturating, trim_lws};

/// `CSeq: 4711 INVITE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CSeq<'a> {
    /// The sequence number (at most 2^31 - 1 when we generate it; any u32 accepted).
    pub seq: u32,
    /// The method.
    pub method: Method,
    /// The method token as written.
    pub method_str: &'a str,
}

impl<'a> CSeq<'a> {
    /// Parses a CSeq value; an overlarge number is an error (RFC 4475 §3.1.2.4).
    pub fn parse(s: &'a str) -> Result<CSeq<'a>, ParseError> {
        let err = ParseError::Malformed(HeaderName::CSeq);
        let mut c = Cursor::new(trim_lws(s));
        let digits = c.take_while(|b| b.is_ascii_digit()).ok_or(err)?;
        let seq = parse_u32(digits).ok_or(err)?;
        let before = c.pos();
        c.skip_lws();
        if c.pos() == before {
            return Err(err);
        }
        let method_str = c.token().ok_or(err)?;
        if !c.is_empty() {
            return Err(err);
        }
        Ok(CSeq {
            seq,
            method: Method::from_token(method_str),
            method_str,
        })
    }
}

/// `Content-Type: application/sdp;charset=utf-8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaType<'a> {
    /// `application`.
    pub kind: &'a str,
    /// `sdp`.
    pub subtype: &'a str,
    /// Parameters.
    pub params: Params<'a>,
}

impl<'a> MediaType<'a> {
    /// Parses a media type.
    pub fn parse(s: &'a str) -> Result<MediaType<'a>, ParseError> {
        let err = ParseError::Malformed(HeaderName::ContentType);
        let mut c = Cursor::new(trim_lws(s));
        let kind = c.token().ok_or(err)?;
        if !c.eat_sep(b'/') {
            return Err(err);
        }
        let subtype = c.token().ok_or(err)?;
        let params = Params::parse_header(&mut c).ok_or(err)?;
        if !c.is_empty() {
            return Err(err);
        }
        Ok(MediaType {
            kind,
            subtype,
            params,
        })
    }

    /// Whether this is `kind/subtype`, case-insensitively.
    pub fn is(&self, kind: &str, subtype: &str) -> bool {
        self.kind.eq_ignore_ascii_case(kind) && self.subtype.eq_ignore_ascii_case(subtype)
    }
}

/// `Retry-After: 18000;duration=3600 (lunch)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter<'a> {
    /// Seconds to wait (saturating).
    pub seconds: u32,
    /// The comment, without its parentheses.
    pub comment: Option<&'a str>,
    /// Parameters (`duration`).
    pub params: Params<'a>,
}

impl<'a> RetryAfter<'a> {
    /// Parses a Retry-After value.
    pub fn parse(s: &'a str) -> Result<RetryAfter<'a>, ParseError> {
        let err = ParseError::Malformed(HeaderName::RetryAfter);
        let mut c = Cursor::new(trim_lws(s));
        let seconds =
            parse_u32_saturating(c.take_while(|b| b.is_ascii_digit()).ok_or(err)?).ok_or(err)?;
        c.skip_lws();
        let comment = if c.eat(b'(') {
            let inner = c.until_any(b")");
            if !c.eat(b')') {
                return Err(err);
            }
            Some(inner)
        } else {
            None
        };
        let params = Params::parse_header(&mut c).ok_or(err)?;
        c.skip_lws();
        if !c.is_empty() {
            return Err(err);
        }
        Ok(RetryAfter {
            seconds,
            comment,
            params,
        })
    }

    /// The `duration` parameter.
    pub fn duration(&self) -> Option<u32> {
        parse_u32_saturating(self.params.get("duration").flatten()?)
    }
}

/// One Warning value: `301 isi.edu "Incompatible network address type 'E.164'"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Warning<'a> {
    /// The three-digit code.
    pub code: u16,
    /// The warn-agent (host[:port] or pseudonym).
    pub agent: &'a str,
    /// The text, still escaped.
    pub text: &'a str,
}

impl<'a> Warning<'a> {
    /// Parses one Warning value.
    pub fn parse(s: &'a str) -> Result<Warning<'a>, ParseError> {
        let err = ParseError::Malformed(HeaderName::Warning);
        let mut c = Cursor::new(trim_lws(s));
        let code_str = c.take_while(|b| b.is_ascii_digit()).ok_or(err)?;
        if code_str.len() != 3 {
            return Err(err);
        }
        let code = code_str.parse().map_err(|_| err)?;
        c.skip_lws();
        let agent = c
            .take_while(|b| is_token(b) || matches!(b, b':' | b'[' | b']'))
            .ok_or(err)?;
        c.skip_lws();
        let text = c.quoted().ok_or(err)?;
        if !c.is_empty() {
            return Err(err);
        }
        Ok(Warning { code, agent, text })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cseq() {
        let c = CSeq::parse("0009\r\n  INVITE").expect("valid");
        assert_eq!((c.seq, c.method), (9, Method::Invite));
        assert!(CSeq::parse("36893488147419103232 REGISTER").is_err());
        assert!(CSeq::parse("1INVITE").is_err());
        assert!(CSeq::parse("1 INVITE x").is_err());
        assert_eq!(
            CSeq::parse("4711 NEWMETHOD").expect("valid").method,
            Method::Other
        );
    }

    #[test]
    fn small_values() {
        let m = MediaType::parse("multipart/signed;protocol=\"application/pkcs7-signature\"")
            .expect("valid");
        assert!(m.is("Multipart", "SIGNED"));
        assert_eq!(
            m.params.value("protocol").as_deref(),
            Some("application/pkcs7-signature")
        );
        let r = RetryAfter::parse("18000;duration=3600").expect("valid");
        assert_eq!((r.seconds, r.duration()), (18000, Some(3600)));
        let r = RetryAfter::parse("120 (I'm in a meeting)").expect("valid");
        assert_eq!(r.comment, Some("I'm in a meeting"));
        assert_eq!(
            RetryAfter::parse("949302838503028349304023988")
                .expect("valid")
                .seconds,
            u32::MAX
        );
        let w = Warning::parse("370 devnull \"Choose a bigger pipe\"").expect("valid");
        assert_eq!(
            (w.code, w.agent, w.text),
            (370, "devnull", "Choose a bigger pipe")
        );
        assert!(Warning::parse("1812 overture \"In Progress\"").is_err());
    }
}
