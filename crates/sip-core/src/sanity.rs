//! Request sanity checks (RFC 3261 §8.2.1–§8.2.2 for what we serve, §16.3 for what we
//! relay). They run after the message parsed and before any routing decision; the
//! checks that are RFC obligations cannot be switched off by configuration.

use sip_msg::{Message, ParseError, Uri};
use std::borrow::Cow;

/// Why a request is refused, as the response will say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The status code.
    pub code: u16,
    /// The reason phrase.
    pub reason: Cow<'static, str>,
    /// For 420: the option tags to list in Unsupported.
    pub unsupported: Vec<String>,
}

impl Rejection {
    /// A rejection with no extra header.
    pub fn new(code: u16, reason: impl Into<Cow<'static, str>>) -> Self {
        Rejection {
            code,
            reason: reason.into(),
            unsupported: Vec::new(),
        }
    }
}

impl From<ParseError> for Rejection {
    fn from(e: ParseError) -> Self {
        Rejection::new(e.status(), e.to_string())
    }
}

/// The option tags this server implements (none yet: a proxy passes unknown extensions
/// through unless they are in Proxy-Require).
pub const SUPPORTED_EXTENSIONS: &[&str] = &[];

/// Checks a parsed request. `for_us` says whether the server itself is the UAS (the
/// Request-URI names one of its domains), which decides whether Require applies and
/// whether Max-Forwards 0 still lets the request through (RFC 3261 §16.3 lets a proxy
/// answer an OPTIONS for itself).
pub fn check_request(msg: &Message, for_us: bool) -> Result<(), Rejection> {
    msg.validate()?;
    match msg.request_uri() {
        Some(Uri::Sip(_)) | Some(Uri::Tel(_)) => {}
        _ => return Err(Rejection::new(416, "Unsupported URI Scheme")),
    }
    let mut unsupported: Vec<String> = Vec::new();
    let mut demand =
        |tags: &mut dyn Iterator<Item = Result<&str, ParseError>>| -> Result<(), Rejection> {
            for tag in tags {
                let tag = tag?;
                if !SUPPORTED_EXTENSIONS
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(tag))
                {
                    unsupported.push(tag.to_owned());
                }
            }
            Ok(())
        };
    demand(&mut msg.proxy_require())?;
    if for_us
        && msg.method() != Some(sip_msg::Method::Ack)
        && msg.method() != Some(sip_msg::Method::Cancel)
    {
        demand(&mut msg.require())?;
    }
    if !unsupported.is_empty() {
        return Err(Rejection {
            code: 420,
            reason: "Bad Extension".into(),
            unsupported,
        });
    }
    if msg.max_forwards()? == Some(0) && !(for_us && msg.method() == Some(sip_msg::Method::Options))
    {
        return Err(Rejection::new(483, "Too Many Hops"));
    }
    Ok(())
}
