//! Authentication headers (RFC 3261 §20.7, §20.27, §20.28, §20.44, §20.6; RFC 7616;
//! RFC 8760): WWW-Authenticate / Proxy-Authenticate challenges, Authorization /
//! Proxy-Authorization credentials and Authentication-Info.
//!
//! These values contain commas of their own, so each header line is one challenge or
//! one set of credentials.

use crate::error::ParseError;
use crate::header::{HeaderName, split_list};
use crate::params::Param;
use crate::scan::{Cursor, is_token, trim_lws};
use std::borrow::Cow;

/// A comma-separated `name=value` list, validated; values may be quoted strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuthParams<'a> {
    raw: &'a str,
}

impl<'a> AuthParams<'a> {
    /// Validates `auth-param *(COMMA auth-param)`; an empty list is allowed.
    pub fn parse(raw: &'a str) -> Option<AuthParams<'a>> {
        for item in split_list(raw) {
            let mut c = Cursor::new(item);
            c.token()?;
            if !c.eat_sep(b'=') {
                return None;
            }
            if c.peek() == Some(b'"') {
                c.quoted()?;
            } else {
                c.take_while(|b| is_token(b) || matches!(b, b'/' | b':' | b'='))?;
            }
            c.skip_lws();
            if !c.is_empty() {
                return None;
            }
        }
        Some(AuthParams { raw })
    }

    /// Iterates over the parameters.
    pub fn iter(&self) -> impl Iterator<Item = Param<'a>> {
        split_list(self.raw).filter_map(|item| {
            let (name, value) = item.split_once('=')?;
            Some(Param {
                name: trim_lws(name),
                value: Some(trim_lws(value)),
            })
        })
    }

    /// The value of `name` (case-insensitive), quotes and escapes removed.
    pub fn get(&self, name: &str) -> Option<Cow<'a, str>> {
        self.iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .and_then(|p| p.unquoted())
    }

    /// Whether `name` is present with a quoted-string value (RFC 7616 says which
    /// parameters must be quoted; a server may check it).
    pub fn is_quoted(&self, name: &str) -> bool {
        self.iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .and_then(|p| p.value)
            .is_some_and(|v| v.starts_with('"'))
    }

    /// The raw text.
    pub fn as_str(&self) -> &'a str {
        self.raw
    }
}

/// `scheme auth-params`, the shape shared by challenges and credentials. A scheme we
/// cannot read the parameters of (e.g. a token68 blob) keeps them in `opaque`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthValue<'a> {
    /// The scheme (`Digest`), as written.
    pub scheme: &'a str,
    /// The parameters, when they are an auth-param list.
    pub params: AuthParams<'a>,
    /// The text after the scheme when it is not an auth-param list.
    pub opaque: Option<&'a str>,
}

impl<'a> AuthValue<'a> {
    /// Parses one header value of the header `name`.
    pub fn parse(s: &'a str, name: HeaderName) -> Result<AuthValue<'a>, ParseError> {
        let mut c = Cursor::new(trim_lws(s));
        let scheme = c.token().ok_or(ParseError::Malformed(name))?;
        c.skip_lws();
        let rest = c.rest();
        Ok(match AuthParams::parse(rest) {
            Some(params) => AuthValue {
                scheme,
                params,
                opaque: None,
            },
            None => AuthValue {
                scheme,
                params: AuthParams::default(),
                opaque: Some(rest),
            },
        })
    }

    /// Whether the scheme is Digest.
    pub fn is_digest(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("digest")
    }

    /// A parameter, unquoted.
    pub fn get(&self, name: &str) -> Option<Cow<'a, str>> {
        self.params.get(name)
    }

    /// `realm`.
    pub fn realm(&self) -> Option<Cow<'a, str>> {
        self.get("realm")
    }
    /// `nonce`.
    pub fn nonce(&self) -> Option<Cow<'a, str>> {
        self.get("nonce")
    }
    /// `opaque`.
    pub fn opaque_param(&self) -> Option<Cow<'a, str>> {
        self.get("opaque")
    }
    /// `algorithm` (absent means MD5).
    pub fn algorithm(&self) -> Option<Cow<'a, str>> {
        self.get("algorithm")
    }
    /// `qop` (a list in a challenge, one value in credentials).
    pub fn qop(&self) -> Option<Cow<'a, str>> {
        self.get("qop")
    }
    /// `stale` in a challenge.
    pub fn stale(&self) -> bool {
        self.get("stale")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
    /// `domain` in a challenge.
    pub fn domain(&self) -> Option<Cow<'a, str>> {
        self.get("domain")
    }
    /// `username` in credentials.
    pub fn username(&self) -> Option<Cow<'a, str>> {
        self.get("username")
    }
    /// `uri` in credentials.
    pub fn uri(&self) -> Option<Cow<'a, str>> {
        self.get("uri")
    }
    /// `response` in credentials.
    pub fn response(&self) -> Option<Cow<'a, str>> {
        self.get("response")
    }
    /// `cnonce` in credentials.
    pub fn cnonce(&self) -> Option<Cow<'a, str>> {
        self.get("cnonce")
    }
    /// `nc` (nonce count, 8 hex digits) in credentials.
    pub fn nc(&self) -> Option<u32> {
        let v = self.get("nc")?;
        (v.len() == 8)
            .then(|| u32::from_str_radix(&v, 16).ok())
            .flatten()
    }
}

/// A challenge (WWW-Authenticate, Proxy-Authenticate).
pub type Challenge<'a> = AuthValue<'a>;
/// Credentials (Authorization, Proxy-Authorization).
pub type Credentials<'a> = AuthValue<'a>;

/// Authentication-Info (RFC 3261 §20.6): `nextnonce`, `qop`, `rspauth`, `cnonce`, `nc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthenticationInfo<'a> {
    /// The parameters.
    pub params: AuthParams<'a>,
}

impl<'a> AuthenticationInfo<'a> {
    /// Parses an Authentication-Info value.
    pub fn parse(s: &'a str) -> Result<Self, ParseError> {
        AuthParams::parse(s)
            .map(|params| AuthenticationInfo { params })
            .ok_or(ParseError::Malformed(HeaderName::AuthenticationInfo))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials() {
        let v = AuthValue::parse(
            "Digest username=\"bob\", realm=\"biloxi.com\",\r\n nonce=\"dcd98b\", uri=\"sip:bob@biloxi.com\", qop=auth, nc=00000001, cnonce=\"0a4f113b\", response=\"6629fae4\", opaque=\"5ccc\", algorithm=SHA-256",
            HeaderName::Authorization,
        )
        .expect("valid");
        assert!(v.is_digest());
        assert_eq!(v.username().as_deref(), Some("bob"));
        assert_eq!(v.uri().as_deref(), Some("sip:bob@biloxi.com"));
        assert_eq!(v.nc(), Some(1));
        assert_eq!(v.qop().as_deref(), Some("auth"));
        assert_eq!(v.algorithm().as_deref(), Some("SHA-256"));
        assert!(v.params.is_quoted("realm"));
    }

    #[test]
    fn challenge_and_unknown_scheme() {
        let c = AuthValue::parse(
            "Digest realm=\"a, b\", qop=\"auth,auth-int\", nonce=\"n\", stale=TRUE",
            HeaderName::WwwAuthenticate,
        )
        .expect("valid");
        assert_eq!(c.realm().as_deref(), Some("a, b"));
        assert!(c.stale());
        let u = AuthValue::parse(
            "NoOneKnowsThisScheme opaque-data=here",
            HeaderName::Authorization,
        )
        .expect("valid");
        assert_eq!(u.scheme, "NoOneKnowsThisScheme");
        let b = AuthValue::parse(
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
            HeaderName::Authorization,
        )
        .expect("valid");
        assert_eq!(b.get("x"), None);
        assert!(AuthValue::parse("", HeaderName::Authorization).is_err());
        let info =
            AuthenticationInfo::parse("nextnonce=\"47364c23432d2e131a5fb210812c\", qop=auth")
                .expect("valid");
        assert_eq!(
            info.params.get("nextnonce").as_deref(),
            Some("47364c23432d2e131a5fb210812c")
        );
    }
}
