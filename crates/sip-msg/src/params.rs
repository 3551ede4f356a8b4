//! `;name=value` parameter lists, as they follow a Via, a name-addr, a URI or a media
//! type. A [`Params`] is a validated slice of the message; lookups walk it on demand.

use crate::scan::{Cursor, is_lws, is_token, trim_lws, unquote};
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

/// Characters of a generic-param value besides token characters: `host` brings `:`,
/// `[` and `]` (IPv6 references, RFC 5118 §4.5).
fn is_gen_value(b: u8) -> bool {
    is_token(b) || matches!(b, b':' | b'[' | b']')
}

/// Characters allowed in URI parameters (`paramchar`, escaped octets included).
fn is_uri_param_char(b: u8) -> bool {
    is_token(b)
        || matches!(
            b,
            b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$' | b'(' | b')'
        )
}

impl<'a> Params<'a> {
    /// No parameters.
    pub const EMPTY: Params<'static> = Params { raw: "" };

    /// Consumes `*(SEMI generic-param)` of a header value (RFC 3261 §25.1), white space
    /// allowed around `;` and `=`. Returns `None` when a parameter is malformed; on
    /// success the cursor stands after the last parameter.
    pub fn parse_header(cur: &mut Cursor<'a>) -> Option<Params<'a>> {
        let mut start = None;
        let mut end = cur.pos();
        loop {
            let save = cur.pos();
            cur.skip_lws();
            let semi = cur.pos();
            if !cur.eat(b';') {
                cur.set_pos(save);
                break;
            }
            start.get_or_insert(semi);
            cur.skip_lws();
            cur.token()?;
            if cur.eat_sep(b'=') {
                if cur.peek() == Some(b'"') {
                    cur.quoted()?;
                } else {
                    cur.take_while(is_gen_value)?;
                }
            }
            end = cur.pos();
        }
        Some(Params {
            raw: start.map_or("", |s| cur.slice(s, end)),
        })
    }

    /// Validates the parameters of a URI (`;` already split off the host part).
    pub fn parse_uri(raw: &'a str) -> Option<Params<'a>> {
        if raw.is_empty() {
            return Some(Params { raw });
        }
        let body = raw.strip_prefix(';')?;
        for p in body.split(';') {
            let (name, value) = match p.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (p, None),
            };
            if name.is_empty() || !name.bytes().all(is_uri_param_char) {
                return None;
            }
            if let Some(v) = value
                && (v.is_empty() || !v.bytes().all(is_uri_param_char))
            {
                return None;
            }
        }
        Some(Params { raw })
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
        let s = self
            .rest
            .trim_start_matches(|c: char| c.is_ascii() && is_lws(c as u8));
        let s = s.strip_prefix(';')?;
        // Find the end of this parameter: the next ';' outside a quoted string.
        let b = s.as_bytes();
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
        let i = i.min(b.len());
        let item = &s[..i];
        self.rest = &s[i..];
        let (name, value) = match item.split_once('=') {
            Some((n, v)) => (trim_lws(n), Some(trim_lws(v))),
            None => (trim_lws(item), None),
        };
        Some(Param { name, value })
    }
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
