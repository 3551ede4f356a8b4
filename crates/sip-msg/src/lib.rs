//! Parse and print SIP messages and URIs (RFC 3261 §7, §19, §20, §25), with no I/O.
//!
//! A [`Message`] owns one [`bytes::Bytes`] buffer. Parsing indexes the start line and
//! the header fields as ranges of that buffer and frames the body by Content-Length;
//! nothing is copied. Typed values (Via, From/To, Contact, CSeq, digest credentials...)
//! are parsed on demand from those ranges and borrow from the buffer.
//!
//! Changing a message never reparses it: an [`Editor`] collects edits (insert a Via,
//! remove the top Via, add a Record-Route, replace the Request-URI, set Max-Forwards,
//! fill in `received`/`rport`) and applies them while writing, so the parts that were
//! not touched are written back byte for byte.
//!
//! # Layout
//! - [`scan`]: byte classes and LWS rules shared by every parser.
//! - [`message`]: the start line, the header index, the body, under [`limits`]; the
//!   request [`method`]s.
//! - [`framing`]: [`frame_stream`] for stream transports ("incomplete" is a normal
//!   outcome there, not an error); `head`: the header-section lexing both share.
//! - [`header`]: header names, compact forms, splitting comma-separated lists.
//! - [`uri`]: sip, sips and tel URIs, with comparison by RFC 3261 §19.1.4.
//! - [`domains`]: [`LocalDomains`], which hosts and URIs are ours.
//! - [`headers`]: one module per family of typed header values.
//! - [`validate`]: the checks a request or response must pass before a server acts on it.
//! - [`edit`]: the edit list and the writer.
//! - [`response`]: building a response to a request (RFC 3261 §8.2.6).
//! - [`error`]: one small `Copy` error type whose status code and reason a server can send.

pub mod domains;
pub mod edit;
pub mod error;
pub mod framing;
mod head;
pub mod header;
pub mod headers;
pub mod limits;
pub mod message;
pub mod method;
pub mod params;
mod parsed;
pub mod response;
pub mod scan;
pub mod uri;
pub mod validate;

pub use domains::LocalDomains;
pub use edit::Editor;
pub use error::ParseError;
pub use framing::{Frame, frame_stream};
pub use header::HeaderName;
pub use limits::Limits;
pub use message::{Message, StartLine};
pub use method::Method;
pub use params::Params;
pub use response::ResponseBuilder;
pub use uri::{Host, SipUri, TelUri, Uri};

/// A transport protocol as named in a Via header or a listen address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP (RFC 3261 §18).
    Udp,
    /// TCP (RFC 3261 §18).
    Tcp,
    /// TLS over TCP (RFC 3261 §26).
    Tls,
    /// SCTP (RFC 4168).
    Sctp,
    /// WebSocket (RFC 7118).
    Ws,
    /// Secure WebSocket (RFC 7118).
    Wss,
}

impl Transport {
    /// Recognises a transport token, case-insensitively (`UDP`, `tcp`, `TLS`, `WSS`...).
    pub fn from_token(token: &str) -> Option<Transport> {
        const ALL: [(&str, Transport); 6] = [
            ("udp", Transport::Udp),
            ("tcp", Transport::Tcp),
            ("tls", Transport::Tls),
            ("sctp", Transport::Sctp),
            ("ws", Transport::Ws),
            ("wss", Transport::Wss),
        ];
        ALL.iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(token))
            .map(|&(_, t)| t)
    }

    /// The upper-case token used in a Via header (`UDP`, `TCP`, `TLS`, `SCTP`, `WS`, `WSS`).
    pub fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Sctp => "SCTP",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
        }
    }

    /// The lower-case name used in URI `transport=` parameters and listen addresses.
    pub fn uri_token(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Sctp => "sctp",
            Transport::Ws => "ws",
            Transport::Wss => "wss",
        }
    }

    /// Whether messages on this transport are framed by a byte stream (so Content-Length
    /// is mandatory and a framing error loses the connection).
    pub fn is_stream(self) -> bool {
        !matches!(self, Transport::Udp)
    }

    /// Whether the transport is encrypted (TLS, WSS).
    pub fn is_secure(self) -> bool {
        matches!(self, Transport::Tls | Transport::Wss)
    }

    /// The default port (RFC 3261 §19.1.2, RFC 7118 uses the HTTP ports).
    pub fn default_port(self) -> u16 {
        match self {
            Transport::Tls => 5061,
            Transport::Ws => 80,
            Transport::Wss => 443,
            _ => 5060,
        }
    }
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.via_token())
    }
}
