//! name-addr / addr-spec values: From, To, Contact, Route, Record-Route, Path
//! (RFC 3261 §20.10, §20.20, §20.30, §20.34, §20.39; RFC 3327; RFC 5626 §4.2).

use crate::error::ParseError;
use crate::header::HeaderName;
use crate::params::Params;
use crate::parsed::{NameAddrRel, Rel, UriRel};
use crate::scan::{ByteClass, Cursor, TOKEN, trim_lws, unquote};
use crate::uri::Uri;
use std::borrow::Cow;

/// An address with its optional display name and its header parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameAddr<'a> {
    /// The display name: the content of the quoted string (still escaped), or the
    /// tokens as written.
    pub display: Option<&'a str>,
    /// Whether the display name was a quoted string.
    pub display_quoted: bool,
    /// The URI.
    pub uri: Uri<'a>,
    /// Whether the URI was enclosed in `<>`.
    pub bracketed: bool,
    /// The header parameters (`tag`, `q`, `expires`...), not the URI's.
    pub params: Params<'a>,
}

impl<'a> NameAddr<'a> {
    /// Parses one value for the header `name` (used in errors).
    pub fn parse(s: &'a str, name: HeaderName) -> Result<NameAddr<'a>, ParseError> {
        let err = ParseError::Malformed(name);
        let mut c = Cursor::new(s);
        c.skip_lws();
        let (display, display_quoted) = display_name(&mut c).ok_or(err)?;
        let bracketed = c.eat(b'<');
        let uri_str = if bracketed {
            let inner = c.until(b'>');
            if !c.eat(b'>') {
                return Err(err);
            }
            inner
        } else {
            addr_spec(&mut c).ok_or(err)?
        };
        let uri = Uri::parse(uri_str).map_err(|_| err)?;
        let params = Params::parse_header(&mut c).ok_or(err)?;
        c.skip_lws();
        if !c.is_empty() {
            return Err(err);
        }
        Ok(NameAddr {
            display,
            display_quoted,
            uri,
            bracketed,
            params,
        })
    }

    /// The display name with quoting removed.
    pub fn display_name(&self) -> Option<Cow<'a, str>> {
        self.display.map(|d| {
            if self.display_quoted {
                unquote(d)
            } else {
                Cow::Borrowed(d)
            }
        })
    }

    /// The `tag` parameter (From, To).
    pub fn tag(&self) -> Option<&'a str> {
        self.params.get("tag").flatten()
    }

    /// The `q` parameter in thousandths (`q=0.33` gives 330), when valid.
    pub fn q(&self) -> Option<u16> {
        parse_qvalue(self.params.get("q").flatten()?)
    }

    /// The `expires` parameter, saturating an overlarge value.
    pub fn expires(&self) -> Option<u32> {
        crate::scan::parse_u32_saturating(self.params.get("expires").flatten()?)
    }

    /// The `+sip.instance` parameter (RFC 5626), without its quotes and angle brackets.
    pub fn instance(&self) -> Option<Cow<'a, str>> {
        let v = self.params.value("+sip.instance")?;
        Some(match v {
            Cow::Borrowed(b) => Cow::Borrowed(
                b.strip_prefix('<')
                    .and_then(|b| b.strip_suffix('>'))
                    .unwrap_or(b),
            ),
            Cow::Owned(o) => Cow::Owned(
                o.strip_prefix('<')
                    .and_then(|b| b.strip_suffix('>'))
                    .unwrap_or(&o)
                    .to_owned(),
            ),
        })
    }

    /// The `reg-id` parameter (RFC 5626).
    pub fn reg_id(&self) -> Option<u32> {
        crate::scan::parse_u32(self.params.get("reg-id").flatten()?)
    }

    /// The `methods` feature parameter (RFC 3840), its quoted list split at commas.
    pub fn methods(&self) -> impl Iterator<Item = &'a str> {
        let raw = self
            .params
            .get("methods")
            .flatten()
            .map(|v| v.trim_matches('"'))
            .unwrap_or("");
        raw.split(',').map(str::trim).filter(|m| !m.is_empty())
    }
}

/// The bytes that may make up an unquoted display name: tokens and white space.
static DISPLAY_WORDS: ByteClass = TOKEN.with(b" \t\r\n");

/// The bytes that end an addr-spec (`;`, white space), or make it invalid (`?`, `,`).
static ADDR_SPEC_END: ByteClass = ByteClass::new(false, b"; \t\r\n?,");

/// Consumes the display name, if any, up to the `<` of a name-addr: a quoted string
/// (which must be followed by `<`), or `*(token LWS)` followed by `<`. Anything else
/// before the first `<` (a `:` after a scheme, a `;`) means an addr-spec, whose
/// parameters may hold a `<` of their own in a quoted string: then nothing is consumed.
/// Returns the name (`None` when absent) and whether it was quoted; `None` when a quoted
/// name is unterminated or not followed by `<`.
fn display_name<'a>(c: &mut Cursor<'a>) -> Option<(Option<&'a str>, bool)> {
    if c.peek() == Some(b'"') {
        let quoted = c.quoted()?;
        c.skip_lws();
        return (c.peek() == Some(b'<')).then_some((Some(quoted), true));
    }
    let rest = c.rest();
    let len = DISPLAY_WORDS.run_len(rest.as_bytes());
    if rest.as_bytes().get(len) != Some(&b'<') {
        return Some((None, false));
    }
    c.set_pos(c.pos() + len);
    let words = trim_lws(&rest[..len]);
    Some(((!words.is_empty()).then_some(words), false))
}

/// Consumes an addr-spec: the URI ends at the first `;` (which starts header parameters)
/// or white space, and may carry neither URI headers nor a comma (RFC 3261 §20).
fn addr_spec<'a>(c: &mut Cursor<'a>) -> Option<&'a str> {
    let rest = c.rest();
    let len = ADDR_SPEC_END.find(rest.as_bytes()).unwrap_or(rest.len());
    if matches!(rest.as_bytes().get(len), Some(b'?' | b',')) {
        return None;
    }
    c.set_pos(c.pos() + len);
    Some(&rest[..len])
}

/// A Contact value: an address, or `*` (only valid in a REGISTER with Expires 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contact<'a> {
    /// `Contact: *`.
    Star,
    /// A contact address.
    Addr(NameAddr<'a>),
}

impl<'a> Contact<'a> {
    /// Parses one Contact value.
    pub fn parse(s: &'a str) -> Result<Contact<'a>, ParseError> {
        if trim_lws(s) == "*" {
            return Ok(Contact::Star);
        }
        NameAddr::parse(s, HeaderName::Contact).map(Contact::Addr)
    }
}

/// Parses a qvalue (`0`, `0.5`, `1.000`) into thousandths.
pub fn parse_qvalue(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_val = (0..3).fold(0u16, |acc, i| {
        acc * 10 + frac.as_bytes().get(i).map_or(0, |d| u16::from(d - b'0'))
    });
    match int {
        "0" => Some(frac_val),
        "1" if frac_val == 0 => Some(1000),
        _ => None,
    }
}

/// Its detached form, cached in the message ([`crate::parsed`]).
impl NameAddrRel {
    pub(crate) fn detach(n: &NameAddr<'_>, base: &str) -> Option<NameAddrRel> {
        Some(NameAddrRel {
            display: Rel::of_opt(base, n.display)?,
            display_quoted: n.display_quoted,
            uri: UriRel::detach(&n.uri, base)?,
            bracketed: n.bracketed,
            params: Rel::of(base, n.params.as_str())?,
        })
    }

    pub(crate) fn attach(self, base: &str) -> NameAddr<'_> {
        NameAddr {
            display: self.display.map(|r| r.get(base)),
            display_quoted: self.display_quoted,
            uri: self.uri.attach(base),
            bracketed: self.bracketed,
            params: Params::from_validated(self.params.get(base)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let a = NameAddr::parse(
            "\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8",
            HeaderName::From,
        )
        .expect("valid");
        assert_eq!(a.display_name().as_deref(), Some("J Rosenberg \\\""));
        assert_eq!(a.tag(), Some("98asjd8"));
        let b = NameAddr::parse("caller<sip:caller@example.com>;tag=323", HeaderName::From)
            .expect("valid");
        assert_eq!(b.display, Some("caller"));
        let c = NameAddr::parse("sip:user@example.com;unknownparam", HeaderName::Contact)
            .expect("valid");
        assert!(c.params.has("unknownparam"));
        assert!(c.uri.as_sip().expect("sip").params.is_empty());
        let d = NameAddr::parse("<sip:user@example.com;unknownparam>", HeaderName::Contact)
            .expect("valid");
        assert!(d.params.is_empty());
        assert!(d.uri.as_sip().expect("sip").params.has("unknownparam"));
        let e = NameAddr::parse("Bob Smith <sip:bob@x>", HeaderName::To).expect("valid");
        assert_eq!(e.display, Some("Bob Smith"));
    }

    #[test]
    fn addr_spec_with_a_quoted_angle_bracket_in_a_parameter() {
        // Found by the property tests: the first `<` anywhere was taken for the start of
        // a name-addr, so this valid addr-spec was refused.
        let a =
            NameAddr::parse("sip:a@b.example;x=\"<1>\";tag=7", HeaderName::From).expect("valid");
        assert!(!a.bracketed);
        assert_eq!(a.uri.as_str(), "sip:a@b.example");
        assert_eq!(a.params.value("x").as_deref(), Some("<1>"));
        assert_eq!(a.tag(), Some("7"));
    }

    #[test]
    fn contact_params() {
        let c = NameAddr::parse(
            "<sip:a@b>;q=0.33;expires=900;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\";reg-id=1;methods=\"INVITE, BYE\"",
            HeaderName::Contact,
        )
        .expect("valid");
        assert_eq!(c.q(), Some(330));
        assert_eq!(c.expires(), Some(900));
        assert_eq!(
            c.instance().as_deref(),
            Some("urn:uuid:00000000-0000-1000-8000-000A95A0E128")
        );
        assert_eq!(c.reg_id(), Some(1));
        assert_eq!(c.methods().collect::<Vec<_>>(), ["INVITE", "BYE"]);
        assert_eq!(Contact::parse(" * "), Ok(Contact::Star));
    }

    #[test]
    fn malformed() {
        for bad in [
            "\"unterminated <sip:a@b>",
            "Bell, Alexander <sip:a.g.bell@bell-tel.com>",
            "<sip:a@b",
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            "<sip:a@b>;;tag=1",
            "<sip:a@b> junk",
            "<sip:user@example.com; lr>",
        ] {
            assert!(NameAddr::parse(bad, HeaderName::To).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn qvalues() {
        assert_eq!(parse_qvalue("1"), Some(1000));
        assert_eq!(parse_qvalue("1.000"), Some(1000));
        assert_eq!(parse_qvalue("0.5"), Some(500));
        assert_eq!(parse_qvalue("1.5"), None);
        assert_eq!(parse_qvalue("0.1234"), None);
    }
}
