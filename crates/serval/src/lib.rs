//! Serval, a SIP server in the lineage of SER and Kamailio: the server built from the
//! protocol crates (`sip-msg`, `sip-core`), `sip-transport`, `registrar`, `sip-auth`,
//! `sip-dns` and `serval-store`, configured by `serval-config`.
//!
//! The binary `serval` is a thin `main` over this library.
//!
//! # Layout
//! - [`cli`]: the command line of `serval`.
//! - [`config`]: the `serval-config` crate (the TOML config file, defaults and
//!   command-line overrides, validated with file, line and column in every error; the
//!   local domains), which the admin tool reads without linking this crate.
//! - [`logging`]: `tracing` output and its level (`RUST_LOG`, `-v`, `[log] level`).
//! - [`server`]: binds, serves and stops.
//! - [`settings`]: the config's sections onto the proxy's and the registrar's settings.
//! - [`proxy_shards`]: hands received messages to the sharded sans-IO proxy and sends
//!   what it emits.
//! - [`router`]: the routing pipeline (SER's `route{}`): authentication, registrar,
//!   ENUM, location lookup, relay policy.
//! - [`outbound`]: requests for other domains: RFC 3263 DNS, the transport policy and
//!   the blocklist of servers that failed.
//! - [`authorize`]: who is challenged, and checking digest credentials against the
//!   subscriber table.
//! - [`sql_location`]: the registrar's bindings as rows of the SQL store.
//! - [`subscriber_cache`]: subscriber rows kept in memory for `[auth] cache_ttl`.
//! - [`keepalive`]: OPTIONS pings that hold NATed UDP bindings open, and drop the
//!   ones nobody answers.
//! - [`unavailable`]: the 500 of a layer whose database does not answer.
//! - [`shutdown`]: SIGTERM and SIGINT.

pub mod authorize;
pub mod cli;
pub mod keepalive;
pub mod logging;
pub mod outbound;
pub mod proxy_shards;
pub mod router;
pub mod server;
pub mod settings;
pub mod shutdown;
pub mod sql_location;
pub mod subscriber_cache;
pub mod unavailable;

pub use serval_config as config;
