//! Server-side SIP digest authentication (RFC 3261 §22, RFC 7616, RFC 8760), with no
//! I/O: no sockets, no clock (`now` is an argument), no subscriber store.
//!
//! # How a caller plugs it in
//!
//! ```text
//! match auth.credentials(&req, Kind::Www, realm) {
//!     None => {
//!         let asked = auth.asked_algorithm(&req, Kind::Www, realm);
//!         reply 401 with auth.challenges(realm, false, asked, now) as WWW-Authenticate
//!     }
//!     Some(Err(m)) => reply 400 m.reason(),
//!     Some(Ok(creds)) => {
//!         let ha1 = store.ha1(creds.username(), creds.realm(), creds.algorithm());
//!         match auth.verify(&req, &creds, ha1.as_ref(), now) {
//!             Verdict::Authorized => continue,
//!             Verdict::Stale => reply 401 with
//!                 auth.challenges(realm, true, Some(creds.algorithm()), now),
//!             Verdict::Rejected => reply 403,
//!             Verdict::Malformed(m) => reply 400 m.reason(),
//!         }
//!     }
//! }
//! ```
//!
//! A proxy does the same with [`Kind::Proxy`] (407, Proxy-Authenticate,
//! Proxy-Authorization). The store keeps one HA1 per algorithm offered,
//! `H(username:realm:password)` ([`ha1()`]), or the password, from which the caller makes
//! the HA1 with [`Ha1::from_password`].
//!
//! # Design
//!
//! - **One challenge by default.** A 401 offers the preferred algorithm (MD5 by
//!   default, which every phone knows) or the one an initial empty Authorization asks
//!   for (SHA-256 for the UAs that want it, RFC 8760); [`Offer::All`] sends one
//!   challenge per algorithm, which some phones cannot read (baresip 1.0 gives up on
//!   any SHA-256 challenge, SIPp reads only the first).
//! - **Stateless nonces.** A nonce carries its issue time, a salt and an HMAC-SHA256
//!   tag over both, the realm and the algorithm, keyed with a [`Secret`]. Checking one
//!   needs no table, and any node configured with the same secret accepts the nonces of
//!   the others (module `nonce`).
//! - **Response first, then the nonce.** [`Authenticator::verify`] computes the
//!   expected response and compares it in constant time before it looks at the
//!   nonce's age or count. A wrong response is [`Verdict::Rejected`] whatever the
//!   nonce; a right one with an expired, foreign (another secret: a node restarted
//!   with a random one) or replayed nonce is [`Verdict::Stale`], so the client, which
//!   knows the password, retries with a fresh nonce without asking its user
//!   (RFC 7616 §3.3 says to send `stale=true` exactly then).
//! - **Unknown users cost the same.** Without an HA1 (or with one for another
//!   algorithm) the response is computed over a dummy HA1 and the result is masked,
//!   so neither the answer nor the time tells whether a user exists.
//! - **Replay window.** With a qop, each (nonce, nc) is accepted once; counts may
//!   arrive a little out of order (64 below the highest). The windows are kept in
//!   sharded maps, bounded, and only for nonces that authenticated a request
//!   (module `replay`). Without a qop (RFC 2069 clients) there is no count, so such
//!   credentials can be replayed until the nonce expires; we always offer a qop, and
//!   [`DigestConfig::require_qop`] refuses them.
//! - **No allocation per check.** Digests are hashed from borrowed parameters into
//!   fixed hex buffers and compared there.
//!
//! Not covered: `userhash` and `username*` (RFC 7616 §3.4.4), Authentication-Info
//! (`nextnonce`, `rspauth`), the `opaque` parameter (the nonce carries all we need).
//!
//! # Layout
//! - [`authenticator`]: [`Authenticator`], its [`DigestConfig`], [`Kind`] and
//!   [`Verdict`].
//! - [`credentials`]: [`Credentials`] read from a header value, [`Malformed`].
//! - `nonce` (private): issuing and checking nonces.
//! - `replay` (private): the nonce-count windows.
//! - `response` (private): the digest computation; `hex` (private): fixed-size hex
//!   buffers.
//! - [`algorithm`]: [`Algorithm`] and hash dispatch; [`ha1`](mod@ha1): [`Ha1`];
//!   [`secret`]: [`Secret`]; [`error`]: [`Error`].

pub mod algorithm;
pub mod authenticator;
pub mod credentials;
pub mod error;
pub mod ha1;
mod hex;
mod nonce;
mod replay;
mod response;
pub mod secret;

pub use algorithm::Algorithm;
pub use authenticator::{Authenticator, DigestConfig, Kind, Offer, Verdict};
pub use credentials::{Credentials, Malformed, Qop};
pub use error::Error;
pub use ha1::{Ha1, ha1};
pub use secret::Secret;
