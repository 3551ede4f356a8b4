//! Sans-IO SIP request handling: what the server does with a message, given the bytes
//! and where they came from, without touching a socket or a clock.
//!
//! # Layout
//! - [`sanity`]: the RFC checks every request passes before routing (RFC 3261 §8.2,
//!   §16.3): malformed → 400, version → 505, size → 513, URI scheme → 416,
//!   Proxy-Require/Require → 420, Max-Forwards → 483.
//! - [`reply`]: the one answer type (code, reason, header lines) every layer gives.
//! - [`rescue`]: building an error response for a request too broken to parse.
//! - [`LocalDomains`] (from sip-msg, where every layer can ask it): which domains are ours.
//! - [`proxy`]: the stateful proxy (RFC 3261 §16) on top of the transactions, and the
//!   seam where routing decisions (registrar, location, DNS) plug in.
//! - [`transaction`]: client and server transactions (RFC 3261 §17), with virtual time.

pub mod proxy;
pub mod reply;
pub mod rescue;
pub mod sanity;
pub mod transaction;

pub use reply::Reply;
pub use sip_msg::LocalDomains;
