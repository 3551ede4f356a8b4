//! Digest credentials read from one Authorization or Proxy-Authorization value
//! (RFC 3261 §22.4 and §25.1 `dig-resp`, RFC 7616 §3.4), checked for what a response
//! computation needs, and the reasons to answer 400 when something is missing.

use crate::algorithm::Algorithm;
use crate::hex::HexBuf;
use sip_msg::headers::AuthValue;
use std::borrow::Cow;

/// Why credentials cannot be checked: the caller answers 400 with [`Malformed::reason`]
/// as the reason phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// The header value is not `scheme auth-params` (only reported when no other value
    /// of the header carries credentials for the realm).
    #[error("{}", self.reason())]
    Syntax,
    /// No `username`.
    #[error("{}", self.reason())]
    MissingUsername,
    /// No `nonce`.
    #[error("{}", self.reason())]
    MissingNonce,
    /// No `uri`.
    #[error("{}", self.reason())]
    MissingUri,
    /// No `response`.
    #[error("{}", self.reason())]
    MissingResponse,
    /// `response` is not a digest of the algorithm's length in hex.
    #[error("{}", self.reason())]
    BadResponse,
    /// An `algorithm` we do not compute or did not offer.
    #[error("{}", self.reason())]
    UnsupportedAlgorithm,
    /// A `qop` other than `auth` and `auth-int`.
    #[error("{}", self.reason())]
    UnsupportedQop,
    /// No `qop`, and the server requires one.
    #[error("{}", self.reason())]
    MissingQop,
    /// `nc` missing with a qop, not 8 hex digits, or zero.
    #[error("{}", self.reason())]
    BadNc,
    /// `cnonce` missing with a qop or a `-sess` algorithm.
    #[error("{}", self.reason())]
    MissingCnonce,
    /// `uri` does not designate the Request-URI (RFC 2617 §3.2.2.5: 400).
    #[error("{}", self.reason())]
    UriMismatch,
    /// Credentials were checked against a response.
    #[error("{}", self.reason())]
    NotARequest,
}

impl Malformed {
    /// A reason phrase for the 400 response.
    pub fn reason(self) -> &'static str {
        match self {
            Malformed::Syntax => "Malformed Authorization header",
            Malformed::MissingUsername => "Digest username missing",
            Malformed::MissingNonce => "Digest nonce missing",
            Malformed::MissingUri => "Digest uri missing",
            Malformed::MissingResponse => "Digest response missing",
            Malformed::BadResponse => "Digest response malformed",
            Malformed::UnsupportedAlgorithm => "Digest algorithm not supported",
            Malformed::UnsupportedQop => "Digest qop not supported",
            Malformed::MissingQop => "Digest qop missing",
            Malformed::BadNc => "Digest nc missing or malformed",
            Malformed::MissingCnonce => "Digest cnonce missing",
            Malformed::UriMismatch => "Digest uri does not match Request-URI",
            Malformed::NotARequest => "Not a request",
        }
    }
}

/// A quality of protection (RFC 7616 §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qop {
    /// `auth`: the method and the uri are covered.
    Auth,
    /// `auth-int`: the body is covered too.
    AuthInt,
}

/// The qop, nonce count and client nonce of credentials that have a qop, with the
/// texts as written (the client hashed those).
#[derive(Debug, Clone)]
pub(crate) struct QopParts<'a> {
    pub qop: Qop,
    pub qop_text: Cow<'a, str>,
    pub nc: u32,
    pub nc_text: Cow<'a, str>,
}

/// Digest credentials whose parameters are all there. The caller looks up the
/// subscriber's HA1 by ([`username`](Self::username), [`realm`](Self::realm)) for
/// [`algorithm`](Self::algorithm) and passes it to
/// [`Authenticator::verify`](crate::Authenticator::verify).
#[derive(Debug, Clone)]
pub struct Credentials<'a> {
    pub(crate) username: Cow<'a, str>,
    pub(crate) realm: Cow<'a, str>,
    pub(crate) nonce: Cow<'a, str>,
    pub(crate) uri: Cow<'a, str>,
    pub(crate) algorithm: Algorithm,
    pub(crate) sess: bool,
    pub(crate) response: HexBuf,
    pub(crate) cnonce: Option<Cow<'a, str>>,
    pub(crate) qop: Option<QopParts<'a>>,
}

impl<'a> Credentials<'a> {
    /// Reads Digest credentials from a parsed header value. `Err` names the first
    /// problem found; the scheme is not checked here.
    pub fn from_auth_value(v: &AuthValue<'a>) -> Result<Credentials<'a>, Malformed> {
        Credentials::from_fields(Fields::scan(v)?)
    }

    /// Checks the parameters read by [`Fields::scan`].
    pub(crate) fn from_fields(p: Fields<'a>) -> Result<Credentials<'a>, Malformed> {
        let username = p.username.ok_or(Malformed::MissingUsername)?;
        let realm = p.realm.unwrap_or(Cow::Borrowed(""));
        let nonce = p.nonce.ok_or(Malformed::MissingNonce)?;
        let uri = p.uri.ok_or(Malformed::MissingUri)?;
        let response = p.response.ok_or(Malformed::MissingResponse)?;
        let (algorithm, sess) = match &p.algorithm {
            None => (Algorithm::Md5, false),
            Some(a) => Algorithm::parse(a).ok_or(Malformed::UnsupportedAlgorithm)?,
        };
        let response =
            HexBuf::parse(&response, algorithm.hex_len()).ok_or(Malformed::BadResponse)?;
        let qop = match p.qop {
            None => None,
            Some(qop_text) => {
                let qop = if qop_text.eq_ignore_ascii_case("auth") {
                    Qop::Auth
                } else if qop_text.eq_ignore_ascii_case("auth-int") {
                    Qop::AuthInt
                } else {
                    return Err(Malformed::UnsupportedQop);
                };
                let nc_text = p.nc.ok_or(Malformed::BadNc)?;
                let nc = parse_nc(&nc_text).ok_or(Malformed::BadNc)?;
                if p.cnonce.is_none() {
                    return Err(Malformed::MissingCnonce);
                }
                Some(QopParts {
                    qop,
                    qop_text,
                    nc,
                    nc_text,
                })
            }
        };
        if sess && p.cnonce.is_none() {
            return Err(Malformed::MissingCnonce);
        }
        Ok(Credentials {
            username,
            realm,
            nonce,
            uri,
            algorithm,
            sess,
            response,
            cnonce: p.cnonce,
            qop,
        })
    }

    /// `username`: with [`realm`](Self::realm), the key of the subscriber's HA1.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// `realm`.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The hash the client used; the HA1 passed to `verify` must be for this one.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Whether the client used a `-sess` variant of the algorithm.
    pub fn is_sess(&self) -> bool {
        self.sess
    }

    /// `nonce`.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// `uri`.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// `qop`, when the client used one.
    pub fn qop(&self) -> Option<Qop> {
        self.qop.as_ref().map(|q| q.qop)
    }

    /// `nc`, when the client used a qop.
    pub fn nc(&self) -> Option<u32> {
        self.qop.as_ref().map(|q| q.nc)
    }

    /// `cnonce`.
    pub fn cnonce(&self) -> Option<&str> {
        self.cnonce.as_deref()
    }
}

/// The parameters we read, in the order of the fields of [`Fields`].
const NAMES: [&str; 9] = [
    "username",
    "realm",
    "nonce",
    "uri",
    "response",
    "algorithm",
    "cnonce",
    "qop",
    "nc",
];

/// The parameters of a credentials value we read, unchecked.
pub(crate) struct Fields<'a> {
    username: Option<Cow<'a, str>>,
    realm: Option<Cow<'a, str>>,
    nonce: Option<Cow<'a, str>>,
    uri: Option<Cow<'a, str>>,
    response: Option<Cow<'a, str>>,
    algorithm: Option<Cow<'a, str>>,
    cnonce: Option<Cow<'a, str>>,
    qop: Option<Cow<'a, str>>,
    nc: Option<Cow<'a, str>>,
}

impl<'a> Fields<'a> {
    /// Reads the parameters in one pass; the first occurrence of a name counts.
    /// `Err` when the value is not an auth-param list.
    pub(crate) fn scan(v: &AuthValue<'a>) -> Result<Fields<'a>, Malformed> {
        if v.opaque.is_some() {
            return Err(Malformed::Syntax);
        }
        let mut f: [Option<Cow<'a, str>>; NAMES.len()] = Default::default();
        for param in v.params.iter() {
            if let Some(i) = NAMES
                .iter()
                .position(|n| n.eq_ignore_ascii_case(param.name))
                && f[i].is_none()
            {
                f[i] = param.unquoted();
            }
        }
        let [
            username,
            realm,
            nonce,
            uri,
            response,
            algorithm,
            cnonce,
            qop,
            nc,
        ] = f;
        Ok(Fields {
            username,
            realm,
            nonce,
            uri,
            response,
            algorithm,
            cnonce,
            qop,
            nc,
        })
    }

    /// `realm`, if present.
    pub(crate) fn realm(&self) -> Option<&str> {
        self.realm.as_deref()
    }

    /// Credentials sent before any challenge: no nonce (or an empty one) and no
    /// response (or an empty one). They are no answer to check.
    pub(crate) fn is_initial(&self) -> bool {
        let empty = |f: &Option<Cow<'a, str>>| f.as_deref().is_none_or(str::is_empty);
        empty(&self.nonce) && empty(&self.response)
    }

    /// The algorithm named, when it is one we know (MD5 when absent, RFC 2617 §3.2.2).
    pub(crate) fn algorithm(&self) -> Option<Algorithm> {
        match self.algorithm.as_deref() {
            None => Some(Algorithm::Md5),
            Some(token) => Algorithm::parse(token).map(|(alg, _)| alg),
        }
    }
}

/// `nc-value = 8LHEX` (RFC 7616 §3.4; upper case tolerated), not zero: a client counts
/// from 1.
fn parse_nc(s: &str) -> Option<u32> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok().filter(|&n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip_msg::HeaderName;

    fn creds(s: &str) -> Result<Credentials<'_>, Malformed> {
        let v = AuthValue::parse(s, HeaderName::Authorization).expect("parses");
        Credentials::from_auth_value(&v)
    }

    const R: &str = "response=\"6629fae49393a05397450978507c4ef1\"";

    #[test]
    fn complete() {
        let s = format!(
            "Digest Username=\"bob\", realm=\"biloxi.com\", nonce=\"n\", uri=\"sip:biloxi.com\", \
             qop=auth, nc=0000000A, cnonce=\"c\", {}, algorithm=MD5-sess, username=\"eve\"",
            R.replace("6629fae4", "6629FAE4")
        );
        let c = creds(&s).expect("complete");
        assert_eq!(
            c.username(),
            "bob",
            "first occurrence, name case-insensitive"
        );
        assert_eq!(c.realm(), "biloxi.com");
        assert_eq!(c.nonce(), "n");
        assert_eq!(c.uri(), "sip:biloxi.com");
        assert_eq!(c.algorithm(), Algorithm::Md5);
        assert!(c.is_sess());
        assert_eq!(c.qop(), Some(Qop::Auth));
        assert_eq!(c.nc(), Some(10));
        assert_eq!(c.cnonce(), Some("c"));
        assert_eq!(c.response.as_str(), "6629fae49393a05397450978507c4ef1");
        let q = c.qop.as_ref().expect("qop");
        assert_eq!(
            q.nc_text, "0000000A",
            "kept as written: the client hashed it"
        );
    }

    #[test]
    fn rfc2069_style() {
        let s = format!("Digest username=\"bob\", nonce=\"n\", uri=\"u\", {R}");
        let c = creds(&s).expect("no qop");
        assert_eq!(c.qop(), None);
        assert_eq!(c.nc(), None);
        assert_eq!(c.algorithm(), Algorithm::Md5);
        assert_eq!(c.realm(), "");
    }

    #[test]
    fn malformed() {
        let base = format!("username=\"bob\", nonce=\"n\", uri=\"u\", {R}");
        let cases = [
            (
                format!("Digest nonce=\"n\", uri=\"u\", {R}"),
                Malformed::MissingUsername,
            ),
            (
                format!("Digest username=\"b\", uri=\"u\", {R}"),
                Malformed::MissingNonce,
            ),
            (
                format!("Digest username=\"b\", nonce=\"n\", {R}"),
                Malformed::MissingUri,
            ),
            (
                "Digest username=\"b\", nonce=\"n\", uri=\"u\"".to_owned(),
                Malformed::MissingResponse,
            ),
            (
                format!("Digest {base}, algorithm=SHA-256"),
                Malformed::BadResponse,
            ),
            (
                format!("Digest {base}, algorithm=SHA-1"),
                Malformed::UnsupportedAlgorithm,
            ),
            (
                format!("Digest {base}, qop=auth-conf"),
                Malformed::UnsupportedQop,
            ),
            (
                format!("Digest {base}, qop=auth, cnonce=\"c\""),
                Malformed::BadNc,
            ),
            (
                format!("Digest {base}, qop=auth, nc=00000000, cnonce=\"c\""),
                Malformed::BadNc,
            ),
            (
                format!("Digest {base}, qop=auth, nc=1, cnonce=\"c\""),
                Malformed::BadNc,
            ),
            (
                format!("Digest {base}, qop=auth, nc=0000000g, cnonce=\"c\""),
                Malformed::BadNc,
            ),
            (
                format!("Digest {base}, qop=auth, nc=00000001"),
                Malformed::MissingCnonce,
            ),
            (
                format!("Digest {base}, algorithm=MD5-sess"),
                Malformed::MissingCnonce,
            ),
            (
                "Digest dGhpcyBpcyBub3QgYXV0aC1wYXJhbXM=".to_owned(),
                Malformed::Syntax,
            ),
        ];
        for (s, want) in cases {
            assert_eq!(creds(&s).err(), Some(want), "{s}");
        }
        assert_eq!(
            creds(&format!("Digest {base}")).map(|c| c.username().to_owned()),
            Ok("bob".to_owned())
        );
        let response =
            "response=\"0000000000000000000000000000000000000000000000000000000000000000\"";
        assert!(
            creds(&format!(
                "Digest username=\"b\", nonce=\"n\", uri=\"u\", {response}, algorithm=sha-256"
            ))
            .is_ok()
        );
        assert_eq!(
            Malformed::UriMismatch.reason(),
            Malformed::UriMismatch.to_string()
        );
    }
}
