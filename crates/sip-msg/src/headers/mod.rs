//! Typed header values, parsed on demand from the header index, and the [`Message`]
//! accessors that return them. Single-valued headers report [`ParseError::Repeated`]
//! when they appear more than once; list headers iterate over every value of every
//! line.

pub mod auth;
pub mod name_addr;
pub mod values;
pub mod via;

#[cfg(test)]
mod cache_tests;

pub use auth::{AuthParams, AuthValue, AuthenticationInfo, Challenge, Credentials};
pub use name_addr::{Contact, NameAddr};
pub use values::{CSeq, MediaType, RetryAfter, Warning};
pub use via::Via;

use crate::parsed::{Detached, NameAddrRel, ViaRel, cached};

use crate::error::ParseError;
use crate::header::HeaderName;
use crate::message::Message;
use crate::scan::{is_token_str, parse_u32, parse_u32_saturating};

impl Message {
    /// The one value of a single-valued header: `Ok(None)` when absent,
    /// [`ParseError::Repeated`] when there are several (several lines, or commas).
    pub fn single(&self, name: HeaderName) -> Result<Option<&str>, ParseError> {
        let mut it = self.header_values(name);
        let first = it.next();
        if it.next().is_some() {
            return Err(ParseError::Repeated(name));
        }
        Ok(first)
    }

    fn required(&self, name: HeaderName) -> Result<&str, ParseError> {
        self.single(name)?.ok_or(ParseError::Missing(name))
    }

    /// Every Via value, top first.
    pub fn vias(&self) -> impl Iterator<Item = Result<Via<'_>, ParseError>> + '_ {
        self.list(HeaderName::Via).map(Via::parse)
    }

    /// The top Via (parsed once per message).
    pub fn top_via(&self) -> Result<Via<'_>, ParseError> {
        cached(
            &self.parsed.top_via,
            self.head_str(),
            || {
                self.list(HeaderName::Via)
                    .next()
                    .ok_or(ParseError::Missing(HeaderName::Via))
                    .and_then(Via::parse)
            },
            ViaRel::detach,
            ViaRel::attach,
        )
    }

    /// From (parsed once per message).
    pub fn from(&self) -> Result<NameAddr<'_>, ParseError> {
        self.name_addr(&self.parsed.from, HeaderName::From)
    }

    /// To (parsed once per message).
    pub fn to(&self) -> Result<NameAddr<'_>, ParseError> {
        self.name_addr(&self.parsed.to, HeaderName::To)
    }

    fn name_addr(
        &self,
        cell: &std::sync::OnceLock<Detached<NameAddrRel>>,
        name: HeaderName,
    ) -> Result<NameAddr<'_>, ParseError> {
        cached(
            cell,
            self.head_str(),
            || NameAddr::parse(self.required(name)?, name),
            NameAddrRel::detach,
            NameAddrRel::attach,
        )
    }

    /// Call-ID (`word ["@" word]`, any non-white text accepted).
    pub fn call_id(&self) -> Result<&str, ParseError> {
        let v = self.required(HeaderName::CallId)?;
        if v.is_empty() || v.bytes().any(|b| b.is_ascii_whitespace() || b == b',') {
            return Err(ParseError::Malformed(HeaderName::CallId));
        }
        Ok(v)
    }

    /// CSeq.
    pub fn cseq(&self) -> Result<CSeq<'_>, ParseError> {
        CSeq::parse(self.required(HeaderName::CSeq)?)
    }

    /// Every Contact value.
    pub fn contacts(&self) -> impl Iterator<Item = Result<Contact<'_>, ParseError>> + '_ {
        self.list(HeaderName::Contact).map(Contact::parse)
    }

    /// Every Route value, in order.
    pub fn routes(&self) -> impl Iterator<Item = Result<NameAddr<'_>, ParseError>> + '_ {
        self.list(HeaderName::Route)
            .map(|v| NameAddr::parse(v, HeaderName::Route))
    }

    /// Every Record-Route value, in order.
    pub fn record_routes(&self) -> impl Iterator<Item = Result<NameAddr<'_>, ParseError>> + '_ {
        self.list(HeaderName::RecordRoute)
            .map(|v| NameAddr::parse(v, HeaderName::RecordRoute))
    }

    /// Every Path value (RFC 3327), in order.
    pub fn paths(&self) -> impl Iterator<Item = Result<NameAddr<'_>, ParseError>> + '_ {
        self.list(HeaderName::Path)
            .map(|v| NameAddr::parse(v, HeaderName::Path))
    }

    fn number(&self, name: HeaderName, saturate: bool) -> Result<Option<u32>, ParseError> {
        let Some(v) = self.single(name)? else {
            return Ok(None);
        };
        let n = if saturate {
            parse_u32_saturating(v)
        } else {
            parse_u32(v)
        };
        n.map(Some).ok_or(ParseError::Malformed(name))
    }

    /// Max-Forwards (an overlarge value saturates; RFC 4475 §3.1.2.4).
    pub fn max_forwards(&self) -> Result<Option<u32>, ParseError> {
        self.number(HeaderName::MaxForwards, true)
    }

    /// Expires (an overlarge value saturates; the registrar clamps it).
    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        self.number(HeaderName::Expires, true)
    }

    /// Min-Expires.
    pub fn min_expires(&self) -> Result<Option<u32>, ParseError> {
        self.number(HeaderName::MinExpires, true)
    }

    /// Content-Length as written (the parser already framed the body by it).
    pub fn content_length(&self) -> Option<u32> {
        self.header(HeaderName::ContentLength).and_then(parse_u32)
    }

    /// Content-Type.
    pub fn content_type(&self) -> Result<Option<MediaType<'_>>, ParseError> {
        self.single(HeaderName::ContentType)?
            .map(MediaType::parse)
            .transpose()
    }

    /// The option tags or method names of a token-list header (Require, Proxy-Require,
    /// Supported, Unsupported, Allow), with [`ParseError::Malformed`] for an element that
    /// is not a token.
    pub fn tokens(&self, name: HeaderName) -> impl Iterator<Item = Result<&str, ParseError>> + '_ {
        self.list(name).map(move |t| {
            if is_token_str(t) {
                Ok(t)
            } else {
                Err(ParseError::Malformed(name))
            }
        })
    }

    /// Require.
    pub fn require(&self) -> impl Iterator<Item = Result<&str, ParseError>> + '_ {
        self.tokens(HeaderName::Require)
    }

    /// Proxy-Require.
    pub fn proxy_require(&self) -> impl Iterator<Item = Result<&str, ParseError>> + '_ {
        self.tokens(HeaderName::ProxyRequire)
    }

    /// Supported.
    pub fn supported(&self) -> impl Iterator<Item = Result<&str, ParseError>> + '_ {
        self.tokens(HeaderName::Supported)
    }

    /// Unsupported.
    pub fn unsupported(&self) -> impl Iterator<Item = Result<&str, ParseError>> + '_ {
        self.tokens(HeaderName::Unsupported)
    }

    /// Allow.
    pub fn allow(&self) -> impl Iterator<Item = Result<&str, ParseError>> + '_ {
        self.tokens(HeaderName::Allow)
    }

    /// Every challenge of a WWW-Authenticate (`proxy = false`) or Proxy-Authenticate
    /// header.
    pub fn challenges(
        &self,
        proxy: bool,
    ) -> impl Iterator<Item = Result<Challenge<'_>, ParseError>> + '_ {
        let name = if proxy {
            HeaderName::ProxyAuthenticate
        } else {
            HeaderName::WwwAuthenticate
        };
        self.header_values(name)
            .map(move |v| AuthValue::parse(v, name))
    }

    /// Every set of credentials of an Authorization (`proxy = false`) or
    /// Proxy-Authorization header.
    pub fn credentials(
        &self,
        proxy: bool,
    ) -> impl Iterator<Item = Result<Credentials<'_>, ParseError>> + '_ {
        let name = if proxy {
            HeaderName::ProxyAuthorization
        } else {
            HeaderName::Authorization
        };
        self.header_values(name)
            .map(move |v| AuthValue::parse(v, name))
    }

    /// Authentication-Info.
    pub fn authentication_info(&self) -> Result<Option<AuthenticationInfo<'_>>, ParseError> {
        self.single(HeaderName::AuthenticationInfo)?
            .map(AuthenticationInfo::parse)
            .transpose()
    }

    /// User-Agent, as written.
    pub fn user_agent(&self) -> Option<&str> {
        self.header(HeaderName::UserAgent)
    }

    /// Server, as written.
    pub fn server(&self) -> Option<&str> {
        self.header(HeaderName::Server)
    }

    /// Every Warning value.
    pub fn warnings(&self) -> impl Iterator<Item = Result<Warning<'_>, ParseError>> + '_ {
        self.list(HeaderName::Warning).map(Warning::parse)
    }

    /// Retry-After.
    pub fn retry_after(&self) -> Result<Option<RetryAfter<'_>>, ParseError> {
        self.single(HeaderName::RetryAfter)?
            .map(RetryAfter::parse)
            .transpose()
    }
}
