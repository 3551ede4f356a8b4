//! `;name=value` parameter lists, as they follow a Via, a name-addr, a URI or a media
//! type. A [`Params`] is a validated slice of the message; lookups walk it on demand.

use crate::scan::{
    ByteClass, Cursor, TOKEN, lws_len, quoted_len, trim_lws, trim_lws_start, unquote,
};
use std::borrow::Cow;

/// A validated parameter list: the text from the first `;` to the end of the last
/// parameter (empty when there are none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Params<'a> {
    raw: &'a str,
}

/// One parameter. `value` is the raw text after `=` (quoted strings keep their quotes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// The parameter name as written.
    pub name: &'a str,
    /// The value as written, if there is an `=`.
    pub value: Option<&'a str>,
}

impl<'a> Param<'a> {
    /// The value with the quotes and escapes of a quoted string removed.
    pub fn unquoted(&self) -> Option<Cow<'a, str>> {
        self.value.map(
            |v| match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                Some(inner) => unquote(inner),
                None => Cow::Borrowed(v),
            },
        )
    }
}

/// Characters of a generic-param value: token characters, and the `:`, `[` and `]` that
/// `host` brings (IPv6 references, RFC 5118 §4.5).
static GEN_VALUE: ByteClass = TOKEN.with(b":[]");

/// Characters allowed in URI parameters (`paramchar`, escaped octets included).
static URI_PARAM: ByteClass = TOKEN.with(b"[]/:&+$()");

/// The length of the longest prefix of `b` made of whole URI parameters,
/// `*(";" pname ["=" pvalue])`.
fn uri_params_len(b: &[u8]) -> usize {
    let mut end = 0;
    while b.get(end) == Some(&b';') {
        let name_len = URI_PARAM.run_len(&b[end + 1..]);
        if name_len == 0 {
            break;
        }
        let mut param_end = end + 1 + name_len;
        if b.get(param_end) == Some(&b'=') {
            let value_len = URI_PARAM.run_len(&b[param_end + 1..]);
            if value_len == 0 {
                break;
            }
            param_end += 1 + value_len;
        }
        end = param_end;
    }
    end
}

/// Where the generic-param that starts at `i` of `b` (after its `;`) ends:
/// `token [EQUAL (token / host / quoted-string)]`, white space allowed before the name
/// and around `=`. `None` when it is malformed.
fn header_param_end(b: &[u8], i: usize) -> Option<usize> {
    let name = i + lws_len(&b[i..]);
    let name_end = name + TOKEN.run_len(&b[name..]);
    if name_end == name {
        return None;
    }
    let eq = name_end + lws_len(&b[name_end..]);
    if b.get(eq) != Some(&b'=') {
        return Some(name_end);
    }
    let value = eq + 1 + lws_len(&b[eq + 1..]);
    let value_len = if b.get(value) == Some(&b'"') {
        quoted_len(&b[value..])?
    } else {
        GEN_VALUE.run_len(&b[value..])
    };
    (value_len > 0).then_some(value + value_len)
}

impl<'a> Params<'a> {
    /// No parameters.
    pub const EMPTY: Params<'static> = Params { raw: "" };

    /// Consumes `*(SEMI generic-param)` of a header value (RFC 3261 §25.1), white space
    /// allowed around `;` and `=`. Returns `None` when a parameter is malformed (the
    /// cursor then stays where it was); on success the cursor stands after the last
    /// parameter.
    pub fn parse_header(cur: &mut Cursor<'a>) -> Option<Params<'a>> {
        let rest = cur.rest();
        let b = rest.as_bytes();
        let mut start = None;
        let mut end = 0;
        loop {
            let semi = end + lws_len(&b[end..]);
            if b.get(semi) != Some(&b';') {
                break;
            }
            start.get_or_insert(semi);
            end = header_param_end(b, semi + 1)?;
        }
        cur.set_pos(cur.pos() + end);
        Some(Params {
            raw: start.map_or("", |s| &rest[s..end]),
        })
    }

    /// Validates the parameters of a URI (`;` already split off the host part).
    pub fn parse_uri(raw: &'a str) -> Option<Params<'a>> {
        let params = Params::scan_uri(raw);
        (params.raw.len() == raw.len()).then_some(params)
    }

    /// The URI parameters that start `s`: its longest prefix made of whole parameters
    /// (empty when `s` does not start with one). The caller checks what follows.
    pub(crate) fn scan_uri(s: &'a str) -> Params<'a> {
        // Parameters are ASCII, so their end is a character boundary.
        Params {
            raw: s.get(..uri_params_len(s.as_bytes())).unwrap_or(""),
        }
    }

    /// A list already validated once (a cached parse, [`crate::parsed`]).
    pub(crate) fn from_validated(raw: &'a str) -> Params<'a> {
        Params { raw }
    }

    /// The raw text, from the first `;`.
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Iterates over the parameters in order.
    pub fn iter(&self) -> ParamIter<'a> {
        ParamIter { rest: self.raw }
    }

    /// The first parameter called `name` (case-insensitive): `Some(None)` when it has no
    /// value, `None` when it is absent.
    pub fn get(&self, name: &str) -> Option<Option<&'a str>> {
        self.iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value)
    }

    /// Whether a parameter called `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The value of `name`, unquoted, when present with a value.
    pub fn value(&self, name: &str) -> Option<Cow<'a, str>> {
        self.iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .and_then(|p| p.unquoted())
    }
}

/// Iterator over [`Params`].
#[derive(Debug, Clone)]
pub struct ParamIter<'a> {
    rest: &'a str,
}

impl<'a> Iterator for ParamIter<'a> {
    type Item = Param<'a>;

    fn next(&mut self) -> Option<Param<'a>> {
        let s = trim_lws_start(self.rest);
        let s = s.strip_prefix(';')?;
        let len = param_len(s.as_bytes());
        let item = &s[..len];
        self.rest = &s[len..];
        let (name, value) = match memchr::memchr(b'=', item.as_bytes()) {
            Some(eq) => (trim_lws(&item[..eq]), Some(trim_lws(&item[eq + 1..]))),
            None => (trim_lws(item), None),
        };
        Some(Param { name, value })
    }
}

/// The length of the parameter that starts `b` (after its `;`): up to the next `;`
/// outside a quoted string, or to the end.
fn param_len(b: &[u8]) -> usize {
    let mut quoted = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b';' if !quoted => break,
            _ => {}
        }
        i += 1;
    }
    i.min(b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_params_with_lws_and_quotes() {
        let mut c = Cursor::new(" ;  tag = 98asjd8 ;x=\"a;b\";lr rest");
        let p = Params::parse_header(&mut c).expect("valid");
        assert_eq!(p.value("TAG").as_deref(), Some("98asjd8"));
        assert_eq!(p.value("x").as_deref(), Some("a;b"));
        assert_eq!(p.get("lr"), Some(None));
        assert_eq!(p.get("nope"), None);
        assert_eq!(c.rest(), " rest");
        assert_eq!(p.iter().count(), 3);
    }

    #[test]
    fn malformed_header_params() {
        assert!(Params::parse_header(&mut Cursor::new(";;")).is_none());
        assert!(Params::parse_header(&mut Cursor::new(";a=")).is_none());
        assert!(Params::parse_header(&mut Cursor::new(";a=\"open")).is_none());
    }

    #[test]
    fn ipv6_received_values() {
        let mut c = Cursor::new(";received=[2001:db8::9:255];branch=z9hG4bK1");
        let p = Params::parse_header(&mut c).expect("valid");
        assert_eq!(p.value("received").as_deref(), Some("[2001:db8::9:255]"));
    }

    #[test]
    fn uri_params() {
        let p = Params::parse_uri(";lr;transport=tcp;%6C%72").expect("valid");
        assert_eq!(p.get("lr"), Some(None));
        assert_eq!(p.value("transport").as_deref(), Some("tcp"));
        assert!(Params::parse_uri(";a b").is_none());
        assert!(Params::parse_uri(";").is_none());
    }
}
