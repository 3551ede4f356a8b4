//! Header names (with the compact forms of RFC 3261 §7.3.3) and splitting of
//! comma-separated header values (§7.3.1).

use crate::scan::trim_lws;
use memchr::{memchr2, memchr3};

macro_rules! header_names {
    ($( $variant:ident => $canonical:literal $(, $compact:literal)? ; )*) => {
        /// A header field name. Known names are recognised case-insensitively, in long or
        /// compact form; anything else is [`HeaderName::Other`] and keeps its text in the
        /// message.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum HeaderName {
            $(
                #[doc = concat!("`", $canonical, "`")]
                $variant,
            )*
            /// An extension header: its name is in the message buffer.
            Other,
        }

        impl HeaderName {
            /// The name as RFC 3261 spells it (`Other` gives `"Extension"`).
            pub fn canonical(self) -> &'static str {
                match self {
                    $(HeaderName::$variant => $canonical,)*
                    HeaderName::Other => "Extension",
                }
            }

            /// The compact form, when the header has one.
            pub fn compact(self) -> Option<char> {
                match self {
                    $($(HeaderName::$variant => Some($compact),)?)*
                    _ => None,
                }
            }

            /// Recognises a header name (long or compact form, any case).
            pub fn from_name(name: &str) -> HeaderName {
                match name.as_bytes() {
                    [c] => COMPACT[c.to_ascii_lowercase() as usize],
                    _ => long_name(name),
                }
            }
        }

        /// Every header with a name of its own, with that name.
        const KNOWN: &[(HeaderName, &str)] = &[$((HeaderName::$variant, $canonical),)*];

        /// The header of each compact form, by its lower-case letter.
        static COMPACT: [HeaderName; 256] = {
            let mut t = [HeaderName::Other; 256];
            $($(t[$compact as usize] = HeaderName::$variant;)?)*
            t
        };
    };
}

/// The number of slots of [`BY_HASH`]: a power of two, at least twice [`KNOWN`].
const SLOTS: usize = 128;

/// A case-insensitive hash of a long header name, from its length and its first and
/// last bytes (which tell every known name apart but a few, found by probing).
const fn name_hash(b: &[u8]) -> usize {
    let (first, last) = match b {
        [first, .., last] => (*first | 0x20, *last | 0x20),
        _ => (0, 0),
    };
    (b.len() * 31 + first as usize * 7 + last as usize) % SLOTS
}

/// Open addressing over [`KNOWN`]: each slot holds an index into it plus one, or 0 when
/// empty. A name is looked for from the slot of its hash to the next empty one.
static BY_HASH: [u8; SLOTS] = {
    let mut t = [0u8; SLOTS];
    let mut i = 0;
    while i < KNOWN.len() {
        let mut slot = name_hash(KNOWN[i].1.as_bytes());
        while t[slot] != 0 {
            slot = (slot + 1) % SLOTS;
        }
        t[slot] = (i + 1) as u8;
        i += 1;
    }
    t
};

/// Recognises a long header name, in any case.
fn long_name(name: &str) -> HeaderName {
    let mut slot = name_hash(name.as_bytes());
    loop {
        let Some(&(header, canonical)) = KNOWN.get(usize::from(BY_HASH[slot]).wrapping_sub(1))
        else {
            return HeaderName::Other;
        };
        if same_name(name.as_bytes(), canonical.as_bytes()) {
            return header;
        }
        slot = (slot + 1) % SLOTS;
    }
}

/// Whether `name` is `canonical` in any case; quick when it is written in the canonical
/// case, as it usually is.
fn same_name(name: &[u8], canonical: &[u8]) -> bool {
    name.len() == canonical.len()
        && name
            .iter()
            .zip(canonical)
            .all(|(&x, &c)| x == c || (c.is_ascii_alphabetic() && x ^ 0x20 == c))
}

header_names! {
    Via => "Via", 'v';
    From => "From", 'f';
    To => "To", 't';
    CallId => "Call-ID", 'i';
    CSeq => "CSeq";
    Contact => "Contact", 'm';
    MaxForwards => "Max-Forwards";
    Route => "Route";
    RecordRoute => "Record-Route";
    Path => "Path";
    Expires => "Expires";
    MinExpires => "Min-Expires";
    ContentLength => "Content-Length", 'l';
    ContentType => "Content-Type", 'c';
    ContentEncoding => "Content-Encoding", 'e';
    Require => "Require";
    ProxyRequire => "Proxy-Require";
    Supported => "Supported", 'k';
    Unsupported => "Unsupported";
    Allow => "Allow";
    WwwAuthenticate => "WWW-Authenticate";
    Authorization => "Authorization";
    ProxyAuthenticate => "Proxy-Authenticate";
    ProxyAuthorization => "Proxy-Authorization";
    AuthenticationInfo => "Authentication-Info";
    UserAgent => "User-Agent";
    Server => "Server";
    Warning => "Warning";
    RetryAfter => "Retry-After";
    Subject => "Subject", 's';
    Event => "Event", 'o';
    AllowEvents => "Allow-Events", 'u';
    ReferTo => "Refer-To", 'r';
    Accept => "Accept";
    Date => "Date";
    Timestamp => "Timestamp";
}

impl HeaderName {
    /// Whether several values may be combined in one header line with commas
    /// (RFC 3261 §7.3.1). Single-valued headers and the authentication headers, whose
    /// values contain commas themselves, are not lists.
    pub fn is_list(self) -> bool {
        matches!(
            self,
            HeaderName::Via
                | HeaderName::Contact
                | HeaderName::Route
                | HeaderName::RecordRoute
                | HeaderName::Path
                | HeaderName::Require
                | HeaderName::ProxyRequire
                | HeaderName::Supported
                | HeaderName::Unsupported
                | HeaderName::Allow
                | HeaderName::AllowEvents
                | HeaderName::Warning
                | HeaderName::ContentEncoding
                | HeaderName::Accept
        )
    }
}

/// Splits a list header value at the commas that are outside quoted strings and angle
/// brackets. Elements are trimmed; an empty element is yielded as `""` so that typed
/// parsers can refuse it. A value that is empty or all white space yields nothing.
pub fn split_list(value: &str) -> ListIter<'_> {
    let value = trim_lws(value);
    ListIter {
        rest: if value.is_empty() { None } else { Some(value) },
    }
}

/// Iterator returned by [`split_list`].
#[derive(Debug, Clone)]
pub struct ListIter<'a> {
    rest: Option<&'a str>,
}

impl<'a> Iterator for ListIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest?;
        let len = element_len(s.as_bytes());
        self.rest = s.get(len + 1..);
        Some(trim_lws(&s[..len]))
    }
}

/// The length of the list element that starts `b`: up to the first comma outside quoted
/// strings and angle brackets, or to the end. Jumps from one byte that matters in the
/// current state to the next.
fn element_len(b: &[u8]) -> usize {
    let (mut quoted, mut angle) = (false, false);
    let mut i = 0;
    loop {
        let rest = b.get(i..).unwrap_or_default();
        let next = if quoted {
            memchr2(b'"', b'\\', rest)
        } else if angle {
            memchr2(b'"', b'>', rest)
        } else {
            memchr3(b'"', b'<', b',', rest)
        };
        let Some(skip) = next else {
            return b.len();
        };
        i += skip;
        match b[i] {
            b'\\' => i += 1,
            b'"' => quoted = !quoted,
            b'<' => angle = true,
            b'>' => angle = false,
            _ => return i,
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_long_compact_and_case() {
        assert_eq!(
            HeaderName::from_name("MaX-fOrWaRdS"),
            HeaderName::MaxForwards
        );
        assert_eq!(HeaderName::from_name("v"), HeaderName::Via);
        assert_eq!(HeaderName::from_name("I"), HeaderName::CallId);
        assert_eq!(HeaderName::from_name("l"), HeaderName::ContentLength);
        assert_eq!(HeaderName::from_name("k"), HeaderName::Supported);
        assert_eq!(HeaderName::from_name("C%6Fntact"), HeaderName::Other);
        assert_eq!(
            HeaderName::from_name("www-authenticate"),
            HeaderName::WwwAuthenticate
        );
        assert_eq!(HeaderName::CallId.canonical(), "Call-ID");
        assert_eq!(HeaderName::Contact.compact(), Some('m'));
    }

    #[test]
    fn every_known_name_in_any_case() {
        for &(header, canonical) in KNOWN {
            assert_eq!(HeaderName::from_name(canonical), header);
            assert_eq!(HeaderName::from_name(&canonical.to_uppercase()), header);
            assert_eq!(HeaderName::from_name(&canonical.to_lowercase()), header);
            assert_eq!(
                HeaderName::from_name(&format!("X{canonical}")),
                HeaderName::Other
            );
        }
        assert_eq!(HeaderName::from_name("Content\rLength"), HeaderName::Other);
        assert_eq!(HeaderName::from_name(""), HeaderName::Other);
    }

    #[test]
    fn list_splitting_respects_quotes_and_brackets() {
        let v: Vec<_> = split_list(r#""a, \" b" <sip:x@y;p=1,2>;q=1 , <sip:z>,sip:w"#).collect();
        assert_eq!(v, [r#""a, \" b" <sip:x@y;p=1,2>;q=1"#, "<sip:z>", "sip:w"]);
        assert_eq!(split_list("a,,b").collect::<Vec<_>>(), ["a", "", "b"]);
        assert_eq!(split_list("  ").count(), 0);
    }
}
