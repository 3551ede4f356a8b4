//! Header names (with the compact forms of RFC 3261 §7.3.3) and splitting of
//! comma-separated header values (§7.3.1).

use crate::scan::trim_lws;

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
                let b = name.as_bytes();
                if b.len() == 1 {
                    let c = b[0].to_ascii_lowercase() as char;
                    $($(if c == $compact { return HeaderName::$variant; })?)*
                    return HeaderName::Other;
                }
                $(
                    if b.len() == $canonical.len() && name.eq_ignore_ascii_case($canonical) {
                        return HeaderName::$variant;
                    }
                )*
                HeaderName::Other
            }
        }
    };
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
        let b = s.as_bytes();
        let (mut quoted, mut angle) = (false, false);
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\\' if quoted => i += 1,
                b'"' => quoted = !quoted,
                b'<' if !quoted => angle = true,
                b'>' if !quoted => angle = false,
                b',' if !quoted && !angle => {
                    self.rest = Some(&s[i + 1..]);
                    return Some(trim_lws(&s[..i]));
                }
                _ => {}
            }
            i += 1;
        }
        self.rest = None;
        Some(trim_lws(s))
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
    fn list_splitting_respects_quotes_and_brackets() {
        let v: Vec<_> = split_list(r#""a, \" b" <sip:x@y;p=1,2>;q=1 , <sip:z>,sip:w"#).collect();
        assert_eq!(v, [r#""a, \" b" <sip:x@y;p=1,2>;q=1"#, "<sip:z>", "sip:w"]);
        assert_eq!(split_list("a,,b").collect::<Vec<_>>(), ["a", "", "b"]);
        assert_eq!(split_list("  ").count(), 0);
    }
}
