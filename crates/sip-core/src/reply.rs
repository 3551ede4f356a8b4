//! A status code, a reason phrase and the header lines that go with them: what every
//! layer answers with, from the sanity checks (420 with Unsupported) and the proxy's own
//! answers to the registrar (423 with Min-Expires) and the router. The proxy turns it
//! into a response to the request (To tag, Via, Server header added).

use sip_msg::ParseError;
use std::borrow::Cow;

/// A response to build for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub code: u16,
    /// The reason phrase.
    pub reason: Cow<'static, str>,
    /// Extra header lines, as name and value.
    pub headers: Vec<(Cow<'static, str>, String)>,
}

impl Reply {
    /// A response with no extra header.
    pub fn new(code: u16, reason: impl Into<Cow<'static, str>>) -> Reply {
        Reply {
            code,
            reason: reason.into(),
            headers: Vec::new(),
        }
    }

    /// Adds a header line.
    pub fn header(mut self, name: impl Into<Cow<'static, str>>, value: impl Into<String>) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The value of the first extra header `name` (case-insensitive).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A message that cannot be read: the status its error calls for, with its text.
impl From<ParseError> for Reply {
    fn from(e: ParseError) -> Self {
        Reply::new(e.status(), e.to_string())
    }
}
